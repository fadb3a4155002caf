#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deps: the Debian bookworm packages that building and testing need.
# As root, installs what is missing; otherwise names it and fails.
set -euo pipefail

pkgs=(
	gcc make pkg-config libc6-dev
	libnl-3-dev libnl-genl-3-dev libjson-c-dev libkmod-dev uuid-dev
	libssl-dev openssl libzstd-dev liblz4-dev libsystemd-dev
	jq kmod iproute2 util-linux cpio xz-utils zstd python3-docutils socat
	python3-sphinx bash-completion man-db groff-base
	dpkg-dev debhelper dh-dkms dkms lintian apt
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev tcpdump
	qemu-system-x86 busybox-static
	linux-source-6.1
	linux-image-amd64 linux-headers-amd64
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		missing+=("$p")
done

# The 6.12 kernel has no meta-package in bookworm: take the newest version
# whose signed image and headers are both available, unless one is installed.
have_612() {
	local k v
	for k in /boot/vmlinuz-6.12.*-amd64; do
		[ -e "$k" ] || continue
		v=${k#/boot/vmlinuz-}
		[ -e "/lib/modules/$v/build/Makefile" ] && return 0
	done
	return 1
}
pick_612() {
	local v
	v=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
		awk '{ print $1 }' | sed 's/^linux-headers-//' | sort -V | tail -1)
	[ -n "$v" ] || return 1
	echo "linux-image-$v linux-headers-$v"
}
if ! have_612; then
	if [ "$(id -u)" = 0 ] && [ -z "$(pick_612 2>/dev/null)" ]; then
		apt-get update -qq
	fi
	if p612=$(pick_612); then
		# shellcheck disable=SC2206
		missing+=($p612)
	else
		missing+=("linux-image-6.12.*+deb12-amd64" "linux-headers-6.12.*+deb12-amd64")
	fi
fi

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them as root (apt-get install ...) or run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
	apt-get update -qq
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
