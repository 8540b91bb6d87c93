#!/usr/bin/env bash
# build-initramfs.sh OUT.cpio FILE...: the part of the guest's initramfs that
# is the same for every kernel (fetch.sh makes the modules' part; the kernel
# unpacks the two archives one after the other).
#   /init        tests/kernels/init.sh
#   /bin         busybox-static's applets, with dash as /bin/sh: busybox's
#                shell runs its own applets before any in PATH, so the tests'
#                system("ip ...") would get busybox's ip, which lacks veth
#   /sg/bin      each executable FILE, and iproute2's ip (the tests' and the
#                attach step's veth pairs need more than busybox's ip)
#   /sg/bpf      each other FILE (the BPF objects)
#   the shared libraries of all of them, at the paths ldd names
# Uncompressed: unpacking gzip under TCG costs more than reading the bytes.
set -euo pipefail

out=${1:?usage: build-initramfs.sh OUT.cpio FILE...}
shift
here=$(dirname "$0")

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sg/bin,sg/bpf,etc,proc,sys,dev,tmp,run}

cp "$here/init.sh" "$root/init"
busybox=$(command -v busybox) || {
	echo "build-initramfs: busybox not found (busybox-static; make deps)" >&2
	exit 1
}
ldd "$busybox" >/dev/null 2>&1 && {
	echo "build-initramfs: $busybox is dynamic; the guest needs busybox-static" >&2
	exit 1
}
cp "$busybox" "$root/bin/busybox"
dash=$(command -v dash)
cp "$dash" "$root/bin/sh"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

ip=$(command -v ip) || {
	echo "build-initramfs: ip not found (iproute2; make deps)" >&2
	exit 1
}
exes=("$ip")
for f in "$@"; do
	if [ -x "$f" ]; then exes+=("$f"); else cp "$f" "$root/sg/bpf/"; fi
done
cp "${exes[@]}" "$root/sg/bin/"
for f in "${exes[@]}" "$dash"; do
	# "libx.so => /path (addr)", and the loader as "/path (addr)".
	ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

printf '%s\n' 'root:x:0:0:root:/:/bin/sh' 'nobody:x:65534:65534:nobody:/:/bin/false' \
	>"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
