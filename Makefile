# smtpguard: `make` builds ./smtpguard; `make test`, `make run`, `make bench`, `make deb`; see README.md.

BUILD     := build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
# Deferred (=): on a fresh machine the compiler comes from `deps`, in the same run.
TRIPLET    = $(shell $(CC) -dumpmachine)
PREFIX    ?= /usr/local

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	     -Iinclude -Iuser -I$(BUILD)
LDLIBS    := -lbpf -lelf -lz -ljansson -linih -lmicrohttpd -lsystemd -lyaml -lcrypt
BPF_CFLAGS = -g -O2 -target bpf $(BPF_CPU) -Wall -Iinclude -Ibpf -I/usr/include/$(TRIPLET)
BPF_CPU   := -mcpu=v3
# v3's code makes the verifier walk egress's paths a sixth longer (43 -> 50 %
# of its limit on 6.18) for no measured gain per packet: it keeps v1's.
$(BUILD)/egress.bpf.o: BPF_CPU := -mcpu=v1

BPF_PROGS := connect egress ingress sockops
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/*.h)
SKELS     := $(BPF_PROGS:%=$(BUILD)/%.skel.h)

# user/ by layer; tests/layers.sh says which folder may include which.
LAYERS    := util core kern host mail notify fleet daemon cli
USER_SRCS := $(filter-out user/cli/main.c,$(foreach l,$(LAYERS),$(wildcard user/$(l)/*.c)))
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
USER_HDRS := $(foreach l,$(LAYERS),$(wildcard user/$(l)/*.h))
LIB       := $(BUILD)/libsmtpguard.a

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/*.c))
TOOLS      := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
BENCH      := $(BUILD)/tests/bench
# libFuzzer targets: each links only the pure code it fuzzes.
FUZZERS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      -D_GNU_SOURCE -Iinclude -Iuser
# Seconds per target: brief in `make test`, long in `make fuzz`.
FUZZ_TEST_SECONDS ?= 5
FUZZ_SECONDS      ?= 600

.PHONY: all deps test test-unit test-bpf test-integration test-fuzz fuzz chaos run bench demo install \
	clean format test-kernels previous man deb
.DELETE_ON_ERROR:
# The BPF objects are worth keeping (llvm-objdump, bpftool prog load).
.SECONDARY: $(BPF_PROGS:%=$(BUILD)/%.bpf.o) $(BUILD)/empty.bpf.o

all: smtpguard

# The man pages, smtpguard(8) and smtpguard.conf(5), from their scdoc sources.
MAN_PAGES := $(BUILD)/man/smtpguard.8 $(BUILD)/man/smtpguard.conf.5
man: $(MAN_PAGES)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@

deps:
	@scripts/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) include/smtpguard.h include/sg_bucket.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(USER_OBJS)
	$(AR) rcs $@ $^

smtpguard: $(BUILD)/user/cli/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(filter %.c,$^) $(LIB) $(LDLIBS) -lcmocka -o $@

# The daemon's mail objects, one fixture for the tests of its mail side.
$(BUILD)/tests/test_inband $(BUILD)/tests/test_fleethold: tests/unit/mailfix.c tests/unit/mailfix.h

$(BUILD)/tests/%: tests/bpf/%.c $(wildcard tests/bpf/*.h) $(LIB) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -lcmocka -o $@

$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

FUZZ_SRCS  := $(addprefix user/mail/,logline.c mtalog.c postfix_log.c exim_log.c dovecot_log.c)
# sg_mta_parse_time is the cursor's only: its fuzzer links the cursor alone.
$(BUILD)/fuzz/fuzz_time: FUZZ_SRCS := user/mail/logline.c
# The policy request parser is pure: its fuzzer links it alone.
$(BUILD)/fuzz/fuzz_policy: FUZZ_SRCS := user/mail/policyproto.c
$(BUILD)/fuzz/fuzz_policy: user/mail/policyproto.c user/mail/policyproto.h
# The exporter's request handling, whole (its own code and libmicrohttpd on a socketpair),
# and its web config and Authorization parsers alone.
EXPORTER_FUZZ_SRCS := $(addprefix user/,daemon/exporter.c daemon/exporter_net.c \
		      host/sockowner.c core/webconfig.c core/quota.c kern/state.c kern/subuids.c \
		      core/subid.c kern/maps.c kern/banbits.c kern/bits.c kern/pinlock.c util/log.c util/unixsock.c)
$(BUILD)/fuzz/fuzz_exporter: FUZZ_SRCS := $(EXPORTER_FUZZ_SRCS)
$(BUILD)/fuzz/fuzz_exporter: FUZZ_LIBS := -lmicrohttpd -lyaml -lcrypt -lz -lbpf
$(BUILD)/fuzz/fuzz_exporter: $(EXPORTER_FUZZ_SRCS) $(USER_HDRS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_SRCS) user/mail/mtalog.h \
		 user/mail/logline.h user/core/mailrec.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) $(FUZZ_LIBS) -o $@

# The whole log pipeline's fuzzer: the parsers and the core they feed.
PIPELINE_SRCS := $(addprefix user/core/,mailstats.c mailorder.c mailwindow.c detect.c baseline.c brute.c config.c mailrec.c notice.c) \
		 $(addprefix user/util/,htab.c parse.c render.c log.c tmpfile.c safepath.c)
$(BUILD)/fuzz/fuzz_pipeline: FUZZ_SRCS += $(PIPELINE_SRCS)
$(BUILD)/fuzz/fuzz_pipeline: FUZZ_LIBS := -ljansson -lz -lbpf -lelf -lsystemd
$(BUILD)/fuzz/fuzz_pipeline: $(PIPELINE_SRCS) $(USER_HDRS) include/sg_bucket.h

# The config reader: inih, our line reader and the keys' parsers, pure but for the file.
CONFIG_SRCS := $(addprefix user/core/,config.c config_load.c mailrec.c notice.c) \
	       $(addprefix user/util/,parse.c render.c log.c safepath.c)
$(BUILD)/fuzz/fuzz_config: FUZZ_SRCS := $(CONFIG_SRCS)
$(BUILD)/fuzz/fuzz_config: FUZZ_LIBS := -linih -ljansson -lbpf
$(BUILD)/fuzz/fuzz_config: $(CONFIG_SRCS) $(USER_HDRS) include/sg_bucket.h

$(BUILD)/empty.skel.h: $(BUILD)/empty.bpf.o
$(BENCH): tests/bench/bench.c $(LIB) $(SKELS) $(BUILD)/empty.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

# Debian kernels booted under QEMU by tests/kernels/run.sh (fetch.sh says what
# each name resolves to): Debian 12's oldest and newest 6.1 in `make test`;
# bookworm-backports' too in `make test-kernels`. Debian 11's 5.10
# (bullseye) refuses the programs (tests/README.md, "Kernels").
KERNELS_TEST ?= bookworm-oldest bookworm-newest
KERNELS_ALL  ?= $(KERNELS_TEST) bookworm-backports
# `make bench` watches the verifier's headroom: those kernels and this machine's.
KERNELS_BENCH ?= host $(KERNELS_TEST)
KERNELS_INITRAMFS := $(BUILD)/kernels/base.cpio
KERNELS_FILES := smtpguard $(BPF_TESTS) $(BUILD)/kernels/sg_verify \
		 $(BPF_PROGS:%=$(BUILD)/%.bpf.o)

# The upgrade test's fixture: ./smtpguard as built before the pinned maps carried
# layout versions (tag layout-1), named by its commit so that a clone without
# the tag builds it too. The script does nothing when it is built already.
PREVIOUS_COMMIT := 059141ee518ed9339b01ea2640b216937bbb1d8a
previous:
	@scripts/build-previous.sh $(PREVIOUS_COMMIT) $(BUILD)/previous

# The fleet tests' CrowdSec LAPI: Debian's package unpacked, never installed.
CROWDSEC := $(BUILD)/crowdsec/VERSION
$(CROWDSEC): scripts/fetch-crowdsec.sh
	@scripts/fetch-crowdsec.sh $(BUILD)/crowdsec

# Integration tests at once (tests/integration/run.sh -j), each worker in a world
# of its own: one per CPU, most of a test's time being waits on daemons and
# mail servers. INTEGRATION_JOBS=1 runs them one after another.
INTEGRATION_JOBS ?= $(shell nproc)

# What the tests run on; the integration tests put an empty program on clsact
# as another tool's filter. Built once the packages are in, one job per CPU
# unless make was given -j.
TEST_BUILD = all $(UNIT_TESTS) $(BPF_TESTS) $(TOOLS) $(FUZZERS) $(BUILD)/empty.bpf.o \
	$(KERNELS_INITRAMFS) previous deb $(CROWDSEC)

test: deps
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc)) $(TEST_BUILD)
	@FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) KERNELS="$(KERNELS_TEST)" INTEGRATION_JOBS=$(INTEGRATION_JOBS) \
		tests/run.sh tests/layout/run.sh \
		$(UNIT_TESTS) $(BPF_TESTS) tests/fuzz/run.sh tests/integration/run.sh \
		tests/prometheus/run.sh tests/man/run.sh tests/kernels/run.sh

$(BUILD)/kernels/sg_verify: tests/kernels/sg_verify.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -lbpf -lelf -lz -o $@

$(KERNELS_INITRAMFS): tests/kernels/build-initramfs.sh tests/kernels/init.sh $(KERNELS_FILES)
	tests/kernels/build-initramfs.sh $@ $(KERNELS_FILES)

test-kernels: deps $(KERNELS_INITRAMFS)
	@KERNELS="$(KERNELS_ALL)" tests/run.sh tests/kernels/run.sh

test-unit: $(UNIT_TESTS)
	@tests/run.sh $(UNIT_TESTS)

test-bpf: all $(BPF_TESTS)
	@tests/run.sh $(BPF_TESTS)

test-fuzz: $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) tests/run.sh tests/fuzz/run.sh

# Each parser's fuzzer for FUZZ_SECONDS, its corpus kept under build/fuzz.
fuzz: deps $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh tests/fuzz/run.sh

test-integration: all $(TOOLS) $(BUILD)/empty.bpf.o previous deb $(CROWDSEC)
	@INTEGRATION_JOBS=$(INTEGRATION_JOBS) tests/run.sh tests/integration/run.sh

# The fault suite at full size; `make test` runs a short pass of it.
chaos: deps all $(TOOLS) $(BUILD)/empty.bpf.o previous
	@CHAOS_SCALE=long tests/run.sh tests/chaos/run.sh

# The daemon in the foreground on /etc/smtpguard/smtpguard.conf if present,
# else the built-in default. Programs stay attached after Ctrl-C;
# `./smtpguard detach` removes them.
run: deps all
	./smtpguard run

bench: deps all $(BENCH) $(BUILD)/tools/sg_fill $(BUILD)/tools/sg_sink $(BUILD)/tools/sg_policy \
	$(BUILD)/tools/sg_connect $(BUILD)/empty.bpf.o $(KERNELS_INITRAMFS) $(CROWDSEC)
	@scripts/install-deps.sh --bench
	$(BENCH)
	scripts/bench-connect.sh
	tests/kernels/run.sh --verify-only $(KERNELS_BENCH)
	scripts/bench-daemon.sh
	scripts/bench-containment.sh
	scripts/bench-bruteforce.sh
	scripts/bench-policy.sh
	scripts/bench-inband.sh
	scripts/bench-fleet.sh
	scripts/bench-fleetpush.sh

# S6 replayed in the lab (scripts/lab.sh), narrated; under a minute, leaves nothing behind.
demo: deps all $(TOOLS)
	scripts/demo.sh

# The config and the owner's notice are installed only where there are none: an upgrade keeps the administrator's.
# The Debian package installs the unit with the system's (UNITDIR=/lib/systemd/system).
UNITDIR ?= /etc/systemd/system
install: all man
	install -D -m 0755 smtpguard $(DESTDIR)$(PREFIX)/sbin/smtpguard
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/smtpguard
	install -d -m 0700 $(DESTDIR)/var/lib/smtpguard
	sed 's|/usr/local/|$(PREFIX)/|' dist/smtpguard.service >$(DESTDIR)$(UNITDIR)/smtpguard.service
	[ -e $(DESTDIR)/etc/smtpguard/smtpguard.conf ] || \
		install -m 0644 dist/smtpguard.conf $(DESTDIR)/etc/smtpguard/smtpguard.conf
	[ -e $(DESTDIR)/etc/smtpguard/owner-notice.txt ] || \
		install -m 0644 dist/owner-notice.txt $(DESTDIR)/etc/smtpguard/owner-notice.txt
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/smtpguard/README.md
	install -D -m 0644 $(BUILD)/man/smtpguard.8 $(DESTDIR)$(PREFIX)/share/man/man8/smtpguard.8
	install -D -m 0644 $(BUILD)/man/smtpguard.conf.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/smtpguard.conf.5
	install -D -m 0644 dist/smtpguard.logrotate $(DESTDIR)/etc/logrotate.d/smtpguard
	install -D -m 0644 dist/smtpguard.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/smtpguard
	install -D -m 0755 -t $(DESTDIR)$(PREFIX)/share/smtpguard/hooks dist/hooks/*

# The Debian package, by dpkg-buildpackage in a copy of the tree's files (edits
# not yet committed included) under build/deb/, where smtpguard_VERSION_ARCH.deb lands;
# its version is debian/changelog's, which the build checks against `smtpguard --version`.
DEB_FILE = $(BUILD)/deb/smtpguard_$(shell dpkg-parsechangelog -S Version)_$(shell dpkg --print-architecture).deb
deb: $(DEB_FILE)
# The package is as old as its copy: a file edited during the build makes it out of date.
$(DEB_FILE): $(wildcard $(shell git ls-files 2>/dev/null))
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/smtpguard
	touch $(BUILD)/deb/copied
	git ls-files -z --cached --others --exclude-standard | \
		tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(BUILD)/deb/smtpguard
	cd $(BUILD)/deb/smtpguard && dpkg-buildpackage -us -uc -b
	touch -r $(BUILD)/deb/copied $@

format:
	clang-format -i bpf/*.c bpf/*.h include/*.h user/*/*.c user/*/*.h tests/*/*.c

clean:
	rm -rf $(BUILD) smtpguard
