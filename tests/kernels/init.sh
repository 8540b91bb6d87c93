#!/bin/sh
# /init of the guest that tests/kernels/run.sh boots: busybox's shell as PID 1.
# Loads the modules, runs the steps named by sg.steps= on the kernel command
# line ("all", or "verify" for the instruction counts only) and powers off.
# It tells run.sh what happened in lines on the serial console:
#   SGK step NAME ok|fail [DETAIL]
#   SGK insns OBJECT PROGRAM PROCESSED LIMIT
#   SGK uptime SECONDS      (after each step, for the log)
#   SGK end
# A failed step's output follows its line, indented; so do the kernel's own
# messages, if any come. PID 1 must not exit (the kernel would panic), so no
# set -e: every step's failure is reported and the next one still runs.

PATH=/sg/bin:/bin
# No ld.so.cache in the guest.
LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
export PATH LD_LIBRARY_PATH

mount -t devtmpfs dev /dev
# The kernel found no /dev/console in the archive to give us.
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
ip link set lo up

log=/tmp/step.log
steps=all
# shellcheck disable=SC2013 # the command line is words
for arg in $(cat /proc/cmdline); do
	case "$arg" in sg.steps=*) steps=${arg#sg.steps=} ;; esac
done

# report NAME STATUS [DETAIL]: the result line; a failure's output under it.
report() {
	echo "SGK step $1 $2${3:+ $3}"
	echo "SGK uptime $(cut -d' ' -f1 /proc/uptime)" # the log says where the time went
	[ "$2" = ok ] || sed 's/^/    /' "$log" | tail -n 25
}

# step NAME COMMAND...: the command's exit status is the step's result.
step() {
	name=$1
	shift
	if "$@" >"$log" 2>&1; then report "$name" ok; else report "$name" fail; fi
}

boot() {
	for ko in /modules/*.ko; do
		[ -e "$ko" ] || continue
		insmod "$ko" || return 1
		ko=${ko#/modules/??-}
		echo "${ko%.ko}"
	done
}

# Each object loaded on its own, with the verifier's count of each program;
# what sg_verify says before an object's load line is that object's detail.
verify() {
	mkdir -p /sys/fs/bpf/sgk-verify
	sg_verify /sys/fs/bpf/sgk-verify /sg/bpf/*.bpf.o >/tmp/verify.log 2>&1
	: >"$log"
	while read -r line; do
		case "$line" in
		insns\ *) echo "SGK $line" ;;
		load\ *)
			obj=${line#load }
			report "load:${obj% *}" "${line##* }"
			: >"$log"
			;;
		*) echo "$line" >>"$log" ;;
		esac
	done </tmp/verify.log
	rm -rf /sys/fs/bpf/sgk-verify
}

# A cmocka binary; its detail is passed/run.
kernel_test() {
	"/sg/bin/$1" >"$log" 2>&1
	rc=$?
	passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	run=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$run" ]; then st=ok; else st=fail; fi
	report "$1" "$st" "${passed:-0}/${run:-?}"
}

# attach, status and detach on a veth, with a bpffs and a cgroup of their own.
export SMTPGUARD_PIN_DIR=/run/sgk/bpffs/smtpguard
CG=/sys/fs/cgroup/sgk

cli_setup() {
	mkdir -p /run/sgk/bpffs "$CG" &&
		mount -t bpf bpf /run/sgk/bpffs &&
		ip link add sgk0 type veth peer name sgk1 &&
		ip link set sgk0 up && ip link set sgk1 up
}

attach() {
	smtpguard attach -i sgk0 --cgroup "$CG" || return 1
	ip link show sgk0 | grep -q xdp || { echo "no XDP program on sgk0 after attach"; return 1; }
}

status() {
	smtpguard status || return 1
	smtpguard status | grep -q sgk0 || { echo "status does not name sgk0"; return 1; }
}

detach() {
	smtpguard detach || return 1
	! ip link show sgk0 | grep -q xdp || { echo "XDP program left on sgk0"; return 1; }
	[ ! -e "$SMTPGUARD_PIN_DIR" ] || { echo "pins left in $SMTPGUARD_PIN_DIR"; return 1; }
}

echo "SGK kernel $(uname -r)"
if boot >"$log" 2>&1; then
	report boot ok "$(tr '\n' ' ' <"$log" | sed 's/ $//')"
	verify
	if [ "$steps" = all ]; then
		kernel_test test_packets
		kernel_test test_connect
		kernel_test test_sockops
		kernel_test test_localconn
		kernel_test test_subuids
		if cli_setup >"$log" 2>&1; then
			step attach attach
			step status status
			step detach detach
		else
			report attach fail "setting up the veth, bpffs and cgroup"
		fi
	fi
else
	report boot fail "insmod"
fi
echo "SGK end"
sync
poweroff -f
