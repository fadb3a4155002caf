#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install / make uninstall.
#
#   scripts/install.sh {install|uninstall} VERSION KVER REPO
#
# The module goes through DKMS when dkms is installed (and DKMS is not 0), so
# it is rebuilt for new kernels; otherwise into /lib/modules/KVER/updates,
# followed by depmod. Either way `modprobe vmmig` works afterwards. The CLI
# goes to $DESTDIR$PREFIX/bin (PREFIX defaults to /usr/local).
set -euo pipefail
action=$1 version=$2 kver=$3 repo=$4
prefix=${PREFIX:-/usr/local}
bindir=${DESTDIR:-}$prefix/bin
unitdir=${DESTDIR:-}${UNITDIR:-/etc/systemd/system}
use_dkms=0
if [ "${DKMS:-1}" != 0 ] && command -v dkms >/dev/null; then
	use_dkms=1
fi
src=/usr/src/vmmig-$version

die() { echo "install: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

case $action in
install)
	if [ $use_dkms = 1 ]; then
		rm -rf "$src"
		mkdir -p "$src/kmod" "$src/uapi/linux" "$src/include/vmmig" "$src/scripts"
		cp "$repo/Kbuild" "$src/"
		find "$repo/kmod" -maxdepth 1 \( -name '*.[ch]' ! -name '*.mod.c' -o \
			-name Kbuild -o -name kvm-symbols \) -exec cp -t "$src/kmod/" {} +
		cp "$repo/uapi/linux/vmmig.h" "$src/uapi/linux/"
		cp "$repo/include/vmmig/cpuid_table.h" "$src/include/vmmig/"
		cp "$repo/scripts/check-kvm-symbols.sh" "$src/scripts/"
		sed "s/@VERSION@/$version/" "$repo/dkms.conf" >"$src/dkms.conf"
		dkms add -m vmmig -v "$version" 2>/dev/null ||
			dkms status -m vmmig -v "$version" | grep -q . ||
			die "dkms add failed"
		dkms install -m vmmig -v "$version" -k "$kver"
		echo "installed vmmig.ko $version for $kver with DKMS"
	else
		ko=$repo/build/kmod/$kver/vmmig.ko
		[ -f "$ko" ] || die "$ko is not built (make KDIR=/lib/modules/$kver/build)"
		install -D -m 0644 "$ko" "/lib/modules/$kver/updates/vmmig.ko"
		depmod -a "$kver"
		echo "installed vmmig.ko $version into /lib/modules/$kver/updates"
	fi
	install -D -m 0755 "$repo/build/bin/vmmig" "$bindir/vmmig"
	install -D -m 0755 "$repo/build/bin/vmmig-vmm" "$bindir/vmmig-vmm"
	install -D -m 0755 "$repo/build/bin/vmmigd" "$bindir/vmmigd"
	# vmmigd.service, for systemd; where systemd runs: systemctl enable --now vmmigd
	mkdir -p "$unitdir"
	sed -e "s|@BINDIR@|$prefix/bin|" -e "s|@DOCDIR@|$repo/Documentation|" \
		"$repo/tools/vmmig/daemon/systemd/vmmigd.service.in" >"$unitdir/vmmigd.service"
	[ -d /run/systemd/system ] && [ -z "${DESTDIR:-}" ] && systemctl daemon-reload
	echo "installed $bindir/vmmig, vmmigd and $unitdir/vmmigd.service"
	;;
uninstall)
	if [ $use_dkms = 1 ] && dkms status -m vmmig -v "$version" | grep -q .; then
		dkms remove -m vmmig -v "$version" --all
		rm -rf "$src"
	fi
	if [ -e "/lib/modules/$kver/updates/vmmig.ko" ]; then
		rm -f "/lib/modules/$kver/updates/vmmig.ko"
		depmod -a "$kver"
	fi
	rm -f "$bindir/vmmig" "$bindir/vmmig-vmm" "$bindir/vmmigd" "$unitdir/vmmigd.service"
	echo "uninstalled vmmig $version"
	;;
*)
	die "unknown action '$action'"
	;;
esac
