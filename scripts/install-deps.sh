#!/usr/bin/env bash
# Installs the Debian packages that building and testing smtpguard need.
# Idempotent: when every package is present it only runs dpkg-query and exits.
# With --bench, also those `make bench` alone needs (iptables, nftables, perf).
set -euo pipefail

packages=(
	make gcc libc6-dev clang pkg-config git
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev bpftool
	libjansson-dev libcmocka-dev libinih-dev libmicrohttpd-dev libsystemd-dev
	libcurl4-openssl-dev libyaml-dev libcrypt-dev openssl
	iproute2 util-linux passwd uidmap procps jq curl
	prometheus prometheus-alertmanager php-fpm libfcgi-bin systemd
	scdoc man-db groff-base
	libclang-rt-14-dev
	postfix dovecot-core dovecot-imapd dovecot-pop3d swaks
	fail2ban dnsmasq-base
	libsqlite3-0
	qemu-system-x86 busybox-static cpio kmod xz-utils zstd
	debhelper dpkg-dev fakeroot lintian bash-completion
)
# `make bench` only: the firewalls it compares smtpguard with, and perf for the hooks' share (scripts/bench-connect.sh).
[ "${1:-}" != --bench ] || packages+=(iptables nftables linux-perf)

# libsqlite3-0: the fleet tests' CrowdSec LAPI (scripts/fetch-crowdsec.sh unpacks
# the crowdsec package, which is never installed: its post-install needs the internet).

# `make test-kernels` boots the bookworm-backports kernel too (tests/kernels/).
# Backports is pinned low by its Release file: adding it installs nothing from it.
backports=/etc/apt/sources.list.d/smtpguard-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	if [ "$(id -u)" -ne 0 ]; then
		# Only `make test-kernels` needs it, and says so there.
		echo "install-deps: no bookworm-backports apt source; run as root to add it" >&2
	else
		printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
			'Suites: bookworm-backports' 'Components: main' \
			'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$backports"
		apt-get update -qq
	fi
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The tests run private Postfix instances; the system's own stays unconfigured.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests run their own Dovecot; on a systemd host the package starts one
# for the whole machine, which nothing here asked for.
if [[ " ${missing[*]} " == *" dovecot-core "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
# The same for fail2ban, which the brute-force test runs beside smtpguard:
# its package would start a server banning on the host's own firewall.
if [[ " ${missing[*]} " == *" fail2ban "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now fail2ban.service >/dev/null 2>&1 || true
fi
# The same for Alertmanager: the notification test starts its own on its loopback.
if [[ " ${missing[*]} " == *" prometheus-alertmanager "* ]] && [ -d /run/systemd/system ]; then
	systemctl disable --now prometheus-alertmanager.service >/dev/null 2>&1 || true
fi
