#!/usr/bin/env bash
# run.sh [--verify-only] [KERNEL...]: boots each Debian kernel (see fetch.sh for
# the names) under QEMU with the initramfs that `make` built
# (build-initramfs.sh), whose /init (init.sh) runs the steps:
#   fetch, boot (modules), load:OBJECT (each BPF object, with the verifier's
#   processed instructions per program), test_packets, test_connect,
#   test_sockops, test_localconn, test_subuids, attach, status, detach
#   (smtpguard on a veth, with a bpffs and a cgroup of its own)
# --verify-only stops after the loads (for `make bench`); there, the kernel
# "host" is the running one, with no QEMU. With no KERNEL named, the list is
# $KERNELS (tests/run.sh passes no arguments).
#
# Prints a line per step and kernel ("ok"/"not ok"), then the table of steps
# by kernel with the instruction counts against the verifier's limit, and
# ends with the counts in cmocka's words, which tests/run.sh adds up. A step
# that did not run (kernel not fetched, guest died) is a failure.
# Each guest is bounded by KERNELS_TIMEOUT seconds; its console is kept in
# build/kernels/logs/. KERNELS_JOBS guests (default: one per CPU) boot at once.
set -euo pipefail

here=$(dirname "$0")
CACHE=${KERNELS_CACHE:-build/kernels}
INITRAMFS=$CACHE/base.cpio
VERIFY=$CACHE/sg_verify
OBJECTS=(build/connect.bpf.o build/egress.bpf.o build/ingress.bpf.o build/sockops.bpf.o)
TIMEOUT=${KERNELS_TIMEOUT:-300}
# Guests booted side by side: under TCG each keeps about one core busy.
JOBS=${KERNELS_JOBS:-$(nproc)}

mode=all
if [ "${1:-}" = --verify-only ]; then
	mode=verify
	shift
fi
if [ $# -gt 0 ]; then kernels=("$@"); else read -ra kernels <<<"${KERNELS:-}"; fi
[ ${#kernels[@]} -gt 0 ] || {
	echo "usage: run.sh [--verify-only] KERNEL... (or KERNELS=\"KERNEL...\")" >&2
	exit 2
}
if [[ " ${kernels[*]} " == *" host "* && $mode != verify ]]; then
	echo "run.sh: the host kernel is for --verify-only" >&2
	exit 2
fi
for f in "$INITRAMFS" "$VERIFY" "${OBJECTS[@]}"; do
	[ -e "$f" ] || {
		echo "run.sh: $f is missing; make test-kernels builds it" >&2
		exit 1
	}
done
steps=(fetch boot load:connect load:egress load:ingress load:sockops)
[ "$mode" = verify ] ||
	steps+=(test_packets test_connect test_sockops test_localconn test_subuids attach status detach)

tmp=$(mktemp -d)
# verify_host's bpffs, should it be left mounted.
trap 'umount "$tmp/bpffs" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$CACHE/logs"

# /dev/kvm where there is one; TCG (about ten times slower) anywhere, and
# for a guest KVM could not run (qemu_boot).
TCG=tcg,thread=multi
accel=$TCG
[ -w /dev/kvm ] && accel=kvm

declare -A result detail insns started guest_pid
# The guests running, oldest first.
guests=()
progs=()
versions=()
passed=0
failed=0
n=0

# Takes the guest's SGK lines (init.sh) for kernel $1 from file $2.
parse() {
	local k=$1 tag kind name st rest
	while read -r tag kind name st rest; do
		[ "$tag" = SGK ] || continue
		case "$kind" in
		step)
			result[$k,$name]=$st
			detail[$k,$name]=$rest
			;;
		insns)
			# name is the object; st the program; rest "processed limit".
			[[ " ${progs[*]} " == *" $name/$st "* ]] || progs+=("$name/$st")
			insns[$k,$name/$st]=$rest
			;;
		esac
	done <"$2"
}

# The guest's console, minus the SGK lines already told, under the kernel's name.
show_console() {
	grep -v '^SGK ' "$2" | sed "s/^/  [$1] /" || true
}

# Boots kernel K from DIR under ACCEL; qemu's status, or 125 when KVM stopped
# the guest on an instruction it cannot emulate ("KVM internal error": the
# guest is left paused, not ended). A KVM that runs inside another
# hypervisor can: on one of this project's machines, every Debian kernel
# stopped so in its first second of boot (at cmpxchg16b, then at xrstor
# with cx16 off).
qemu_boot() { # K DIR ACCEL
	local k=$1 dir=$2 pid rc=0
	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel "$3" -cpu max -smp 2 \
		-m 1024 -nodefaults -display none -monitor none -no-reboot \
		-serial "file:$tmp/$k.console" -kernel "$dir/kernel" -initrd "$tmp/$k.initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 sg.steps=$mode" 2>"$tmp/$k.qemu" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if grep -qs 'KVM internal error' "$tmp/$k.qemu"; then
			kill "$pid"
			wait "$pid" || true
			return 125
		fi
		sleep 0.5
	done
	wait "$pid" || rc=$?
	cat "$tmp/$k.qemu" >&2
	return "$rc"
}

# Boots kernel $1 from directory $2 in the background; guest_end collects it.
guest_start() {
	local k=$1 dir=$2
	if ! command -v qemu-system-x86_64 >/dev/null; then
		detail[$k,boot]="qemu-system-x86_64 not found (qemu-system-x86; make deps)"
		result[$k,boot]=fail
		detail[$k,seconds]=0
		return
	fi
	cat "$INITRAMFS" "$dir/modules.cpio" >"$tmp/$k.initrd"
	(
		rc=0
		qemu_boot "$k" "$dir" "$accel" || rc=$?
		if [ "$rc" -eq 125 ]; then
			echo "kernels: $k: KVM could not run the guest (KVM internal error); booting it under TCG"
			rc=0
			qemu_boot "$k" "$dir" "$TCG" || rc=$?
		fi
		echo "$rc $SECONDS" >"$tmp/$k.end"
	) &
	guest_pid[$k]=$!
	guests+=("$k")
}

# Waits for the oldest guest running, then reads its console into its log.
guest_end() {
	local k=${guests[0]} log rc=0 end=$SECONDS
	guests=("${guests[@]:1}")
	log="$CACHE/logs/$k.log"
	wait "${guest_pid[$k]}" || true
	[ ! -e "$tmp/$k.end" ] || read -r rc end <"$tmp/$k.end"
	detail[$k,seconds]=$((end - ${started[$k]}))
	# The tty ends its lines in CR LF.
	tr -d '\r' <"$tmp/$k.console" >"$log"
	parse "$k" "$log"
	if ! grep -q '^SGK end' "$log"; then
		result[$k,boot]=fail
		if [ "$rc" -eq 124 ]; then
			detail[$k,boot]="no end within ${TIMEOUT}s"
		else
			detail[$k,boot]="guest stopped before its end (qemu exit $rc)"
		fi
	fi
	show_console "$k" "$log"
}

# The running kernel: the same objects, loaded here.
verify_host() {
	local k=$1 log=$2 bpffs="$tmp/bpffs"
	result[$k,boot]=ok
	detail[$k,boot]="$(uname -r)"
	mkdir -p "$bpffs"
	if ! mount -t bpf bpf "$bpffs"; then
		result[$k,boot]=fail
		detail[$k,boot]="cannot mount a bpffs (root?)"
		return
	fi
	mkdir "$bpffs/p"
	"$VERIFY" "$bpffs/p" "${OBJECTS[@]}" >"$tmp/verify" 2>&1 || true
	umount "$bpffs"
	sed -n 's/^insns /SGK insns /p; s/^load \([^ ]*\) /SGK step load:\1 /p' "$tmp/verify" >"$log"
	parse "$k" "$log"
	grep -v '^insns \|^load ' "$tmp/verify" | sed "s/^/  [$k] /" || true
}

for k in "${kernels[@]}"; do
	started[$k]=$SECONDS
	log="$CACHE/logs/$k.log"
	if [ "$k" = host ]; then
		result[$k,fetch]=ok
		detail[$k,version]="$(uname -r) (running)"
		verify_host "$k" "$log"
		detail[$k,seconds]=$((SECONDS - ${started[$k]}))
	elif dir=$("$here/fetch.sh" "$k" 2>"$tmp/fetch.err"); then
		result[$k,fetch]=ok
		read -r version pkg <"$dir/label"
		detail[$k,version]="${pkg#linux-image-} $version"
		while [ ${#guests[@]} -ge "$JOBS" ]; do
			guest_end
		done
		echo "kernels: booting $pkg $version ($accel)"
		guest_start "$k" "$dir"
	else
		result[$k,fetch]=fail
		detail[$k,fetch]=$(tail -n 1 "$tmp/fetch.err")
		detail[$k,seconds]=$((SECONDS - ${started[$k]}))
	fi
done
while [ ${#guests[@]} -gt 0 ]; do
	guest_end
done

# A load is checked for its headroom too: a count the kernel did not give is a failure.
for k in "${kernels[@]}"; do
	for o in "${OBJECTS[@]}"; do
		o=$(basename "$o" .bpf.o)
		[ "${result[$k,load:$o]:-}" = ok ] || continue
		counted=0
		for p in "${progs[@]}"; do
			[ "${p%%/*}" = "$o" ] && [ -n "${insns[$k,$p]:-}" ] && counted=1
		done
		[ "$counted" -eq 1 ] && continue
		result[$k,load:$o]=fail
		detail[$k,load:$o]="loaded, but no processed-instruction count came back"
	done
done

for k in "${kernels[@]}"; do
	for s in "${steps[@]}"; do
		n=$((n + 1))
		st=${result[$k,$s]:-}
		d=${detail[$k,$s]:-}
		if [ "$st" = ok ]; then
			passed=$((passed + 1))
			echo "ok $n - $k $s${d:+ ($d)}"
		else
			failed=$((failed + 1))
			[ -n "$st" ] || d="not run"
			echo "not ok $n - $k $s${d:+ ($d)}"
		fi
	done
done

cell() {
	local k=$1 s=$2 st=${result[$1,$2]:-}
	case "$st" in
	ok) echo "ok${detail[$k,$s]:+ ${detail[$k,$s]}}" ;;
	'') echo "-" ;;
	*) echo "FAIL${detail[$k,$s]:+ ${detail[$k,$s]}}" ;;
	esac
}

# The programs in the order of OBJECTS, whichever kernel loaded them first.
ordered=()
for o in "${OBJECTS[@]}"; do
	o=$(basename "$o" .bpf.o)
	for p in "${progs[@]}"; do
		[ "${p%%/*}" != "$o" ] || ordered+=("$p")
	done
done

{
	row() { printf '%-30s' "$1"; shift; printf ' %-20s' "$@"; echo; }
	cells=()
	for k in "${kernels[@]}"; do cells+=("$k"); done
	row "kernel" "${cells[@]}"
	cells=()
	for k in "${kernels[@]}"; do
		read -r pkg version <<<"${detail[$k,version]:--}"
		cells+=("$pkg")
		versions+=("${version:--}")
	done
	row "package" "${cells[@]}"
	row "version" "${versions[@]}"
	for s in "${steps[@]}"; do
		cells=()
		for k in "${kernels[@]}"; do
			if [ "$s" = boot ] && [ "${result[$k,$s]:-}" = ok ]; then
				cells+=(ok) # its detail is the module list
			else
				cells+=("$(cell "$k" "$s")")
			fi
		done
		row "$s" "${cells[@]}"
	done
	for p in "${ordered[@]}"; do
		cells=()
		for k in "${kernels[@]}"; do
			read -r c lim <<<"${insns[$k,$p]:-- -}"
			if [ "$c" = - ]; then
				cells+=(-)
			else
				cells+=("$(awk -v c="$c" -v l="$lim" 'BEGIN { printf "%d/%d %.1f%%", c, l, 100 * c / l }')")
			fi
		done
		row "insns $p" "${cells[@]}"
	done
	cells=()
	for k in "${kernels[@]}"; do cells+=("${detail[$k,seconds]}"); done
	row "seconds" "${cells[@]}"
} | tee "$CACHE/last-$mode.txt"

echo "kernels: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
