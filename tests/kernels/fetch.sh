#!/usr/bin/env bash
# fetch.sh KERNEL: a Debian kernel ready to boot, cached under build/kernels/.
# Prints the kernel's directory, which holds:
#   kernel        the package's kernel, uncompressed where it has a PVH entry
#                 (QEMU then boots it directly: no firmware, and no
#                 decompression, which costs about 10 s under TCG); else
#                 its vmlinuz as it is
#   modules.cpio  the modules the guest needs (MODULES below) with what they
#                 depend on per modules.dep (which depmod writes here: the
#                 package has none), as modules/NN-name.ko in load order
#   label         "VERSION PACKAGE", for the table
# On failure, prints why on stderr and exits non-zero.
#
# KERNEL is a Debian kernel package (linux-image-6.1.0-47-amd64, optionally
# =VERSION) or one of these names, resolved from apt's lists:
#   bookworm-oldest     the lowest ABI of Debian 12's linux-image-6.1.0-N-amd64
#   bookworm-newest     the highest
#   bookworm-backports  what linux-image-amd64 in bookworm-backports depends on
#   bullseye            what linux-image-amd64 in Debian 11 (security) depends on;
#                       Debian 11 is not a source of this host, so its lists
#                       are kept in a private apt state under build/kernels/apt
set -euo pipefail

CACHE=${KERNELS_CACHE:-build/kernels}
# clsact is sch_ingress's; tc's direct action needs cls_bpf; the tests use veth pairs.
MODULES=(sch_ingress cls_bpf act_bpf veth)
BOOKWORM_ABI='^linux-image-6\.1\.0-[0-9]+-amd64$'

die() {
	echo "$*" >&2
	exit 1
}

apt_opts=()

# Debian 11's lists, refreshed when a day old.
use_bullseye() {
	local d
	d=$(realpath -m "$CACHE/apt/bullseye")
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	printf '%s\n' 'deb http://deb.debian.org/debian bullseye main' \
		'deb http://deb.debian.org/debian-security bullseye-security main' >"$d/sources.list"
	apt_opts=(-o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache")
	if [ -z "$(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440)" ]; then
		apt-get "${apt_opts[@]}" update -qq >&2 ||
			die "cannot update Debian 11's apt lists (deb.debian.org bullseye unreachable?)"
	fi
}

# The kernel a meta-package (as PKG or PKG/SUITE) depends on, as PKG=VERSION.
meta_dep() {
	local dep
	dep=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1=\2/p' | head -n 1 || true)
	[ -n "$dep" ] || die "apt knows no $1 (missing apt source, or run apt-get update)"
	echo "$dep"
}

bookworm_abi() {
	local pkgs
	pkgs=$(apt-cache pkgnames linux-image-6.1.0- | grep -E "$BOOKWORM_ABI" | sort -V || true)
	[ -n "$pkgs" ] || die "apt knows no linux-image-6.1.0-N-amd64 (run apt-get update)"
	if [ "$1" = oldest ]; then head -n 1 <<<"$pkgs"; else tail -n 1 <<<"$pkgs"; fi
}

case "${1:?usage: fetch.sh KERNEL}" in
bookworm-oldest) spec=$(bookworm_abi oldest) ;;
bookworm-newest) spec=$(bookworm_abi newest) ;;
bookworm-backports) spec=$(meta_dep linux-image-amd64/bookworm-backports) ;;
bullseye) use_bullseye && spec=$(meta_dep linux-image-amd64) ;;
linux-image-*) spec=$1 ;;
*) die "unknown kernel '$1'" ;;
esac

pkg=${spec%%=*}
version=${spec#*=}
if [ "$version" = "$spec" ]; then
	version=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" 2>/dev/null |
		sed -n 's/^Version: //p' || true)
	[ -n "$version" ] || die "apt knows no $pkg"
fi
dir="$CACHE/$pkg=$version"
if [ -e "$dir/label" ]; then
	echo "$dir"
	exit 0
fi

debs="$CACHE/debs"
deb="$debs/${pkg}_${version//:/%3a}_amd64.deb"
mkdir -p "$debs"
if [ ! -e "$deb" ]; then
	echo "fetch: downloading $pkg $version" >&2
	# _apt cannot write here; apt then downloads as root, and says so.
	(cd "$debs" && apt-get "${apt_opts[@]}" download -q "$pkg=$version" 2>&1 |
		grep -v 'unsandboxed' >&2) || true
	[ -e "$deb" ] || die "apt-get download $pkg=$version failed"
fi

# vmlinux BZIMAGE CONFIG: the ELF inside, when the config says how it is packed.
vmlinux() {
	local magic unpack off
	if grep -qx 'CONFIG_KERNEL_XZ=y' "$2"; then
		magic='\xfd7zXZ\x00' unpack='xz -dc --single-stream'
	elif grep -qx 'CONFIG_KERNEL_ZSTD=y' "$2"; then
		magic='\x28\xb5\x2f\xfd' unpack='zstd -dcq'
	else
		return 1
	fi
	off=$(LC_ALL=C grep -obUaP "$magic" "$1" | head -n 1 | cut -d: -f1 || true)
	[ -n "$off" ] || return 1
	# The payload is followed by its size: a trailing word the tools complain of.
	tail -c +$((off + 1)) "$1" | $unpack 2>/dev/null || true
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/x"
moddir=$(echo "$tmp"/x/{usr/,}lib/modules/* | tr ' ' '\n' | grep -v '\*' | head -n 1)
[ -d "$moddir" ] || die "$deb holds no lib/modules"
# The package leaves modules.dep to depmod at installation.
depmod -b "${moddir%/lib/modules/*}" "$(basename "$moddir")"
mkdir -p "$tmp/cpio/modules"

# modules.dep lists a module's whole dependency closure, to be loaded last to first.
order=()
for m in "${MODULES[@]}"; do
	grep -Eq "(^|/)$m\.ko(\.[a-z]+)?$" "$moddir/modules.builtin" && continue
	line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep") ||
		die "$pkg has no module $m, built in or not"
	read -ra deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		order+=("${deps[i]}")
	done
	order+=("${line%%:*}")
done
n=0
declare -A seen=()
for rel in "${order[@]}"; do
	[ -z "${seen[$rel]:-}" ] || continue
	seen[$rel]=1
	name=$(basename "$rel")
	out="$tmp/cpio/modules/$(printf %02d $n)-${name%%.ko*}.ko"
	n=$((n + 1))
	# busybox's insmod takes plain ELF; the signature stays at the end either way.
	case "$rel" in
	*.xz) xz -dc "$moddir/$rel" >"$out" ;;
	*.zst) zstd -qdc "$moddir/$rel" >"$out" ;;
	*.gz) gzip -dc "$moddir/$rel" >"$out" ;;
	*) cp "$moddir/$rel" "$out" ;;
	esac
done

mkdir -p "$dir"
vmlinux "$(echo "$tmp"/x/boot/vmlinuz-*)" "$(echo "$tmp"/x/boot/config-*)" >"$tmp/vmlinux" || true
if grep -qx 'CONFIG_PVH=y' "$tmp"/x/boot/config-* &&
	[ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
	mv "$tmp/vmlinux" "$dir/kernel"
else
	cp "$(echo "$tmp"/x/boot/vmlinuz-*)" "$dir/kernel"
fi
(cd "$tmp/cpio" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$dir/modules.cpio"
echo "$version $pkg" >"$dir/label"
echo "$dir"
