#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install / make uninstall, and the module's DKMS source tree.
#
#   scripts/install.sh {install|uninstall} VERSION "KVER..." REPO
#   scripts/install.sh dkms-source VERSION DIR REPO
#
# With DESTDIR everything is staged under it, as a package build does: no
# root needed, nothing run, the module built for each KVER copied into
# lib/modules/KVER/updates. Without, as root, into the system: the module
# through DKMS when dkms is installed (and DKMS is not 0), so that it is
# rebuilt for new kernels, else into /lib/modules/KVER/updates and depmod.
# MODULE=0 leaves the module out (the vmmig package: vmmig-dkms carries it).
# The layout is Documentation/admin-guide/install.rst's.
set -euo pipefail
action=$1 version=$2 kvers=$3 repo=$4
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
if [ "$prefix" = /usr ]; then
	unitdir=${UNITDIR:-/lib/systemd/system}
	modloaddir=/usr/lib/modules-load.d
else
	unitdir=${UNITDIR:-/etc/systemd/system}
	modloaddir=/etc/modules-load.d
fi
bindir=$prefix/bin
sbindir=$prefix/sbin
# vmmig and vmmigd find vmmig-vmm here, relative to themselves.
libexecdir=$prefix/libexec/vmmig
mandir=$prefix/share/man
compdir=$prefix/share/bash-completion/completions
use_dkms=0
if [ -z "$dest" ] && [ "${DKMS:-1}" != 0 ] && command -v dkms >/dev/null; then
	use_dkms=1
fi

die() { echo "install: $*" >&2; exit 1; }

# dkms_source DIR: the files DKMS builds vmmig.ko from (the vmmig-dkms package).
dkms_source() {
	local src=$1
	rm -rf "$src"
	mkdir -p "$src/kmod" "$src/uapi/linux" "$src/include/vmmig" "$src/scripts"
	cp "$repo/Kbuild" "$src/"
	find "$repo/kmod" -maxdepth 1 \( -name '*.[ch]' ! -name '*.mod.c' -o \
		-name Kbuild -o -name kvm-symbols \) -exec cp -t "$src/kmod/" {} +
	cp "$repo/uapi/linux/vmmig.h" "$src/uapi/linux/"
	cp "$repo/include/vmmig/cpuid_table.h" "$src/include/vmmig/"
	cp "$repo/scripts/check-kvm-symbols.sh" "$src/scripts/"
	sed "s/#MODULE_VERSION#/$version/" "$repo/dkms.conf" >"$src/dkms.conf"
}

install_module() {
	local kver ko src=/usr/src/vmmig-$version
	if [ $use_dkms = 1 ]; then
		dkms_source "$src"
		dkms add -m vmmig -v "$version" 2>/dev/null ||
			dkms status -m vmmig -v "$version" | grep -q . ||
			die "dkms add failed"
	fi
	for kver in $kvers; do
		if [ $use_dkms = 1 ]; then
			dkms install -m vmmig -v "$version" -k "$kver"
			echo "installed vmmig.ko $version for $kver with DKMS"
			continue
		fi
		ko=$repo/build/kmod/$kver/vmmig.ko
		[ -f "$ko" ] || die "$ko is not built (make KDIR=/lib/modules/$kver/build)"
		install -D -m 0644 "$ko" "$dest/lib/modules/$kver/updates/vmmig.ko"
		[ -n "$dest" ] || depmod -a "$kver"
		echo "installed vmmig.ko $version into $dest/lib/modules/$kver/updates"
	done
	# systemd loads it at boot (modules-load.d(5)).
	mkdir -p "$dest$modloaddir"
	echo vmmig >"$dest$modloaddir/vmmig.conf"
}

uninstall_module() {
	local kver
	if [ $use_dkms = 1 ] && dkms status -m vmmig -v "$version" | grep -q .; then
		dkms remove -m vmmig -v "$version" --all
		rm -rf "/usr/src/vmmig-$version"
	fi
	for kver in $kvers; do
		if [ -e "$dest/lib/modules/$kver/updates/vmmig.ko" ]; then
			rm -f "$dest/lib/modules/$kver/updates/vmmig.ko"
			[ -n "$dest" ] || depmod -a "$kver"
		fi
	done
	rm -f "$dest$modloaddir/vmmig.conf"
}

[ -n "$dest" ] || [ "$action" = dkms-source ] || [ "$(id -u)" = 0 ] ||
	die "run as root, or stage with DESTDIR="

case $action in
install)
	[ "${MODULE:-1}" = 0 ] || install_module
	install -D -m 0755 "$repo/build/bin/vmmig" "$dest$bindir/vmmig"
	install -D -m 0755 "$repo/build/bin/vmmigd" "$dest$sbindir/vmmigd"
	install -D -m 0755 "$repo/build/bin/vmmig-vmm" "$dest$libexecdir/vmmig-vmm"
	mkdir -p "$dest$unitdir"
	sed -e "s|@SBINDIR@|$sbindir|" \
		"$repo/tools/vmmig/daemon/systemd/vmmigd.service.in" >"$dest$unitdir/vmmigd.service"
	chmod 0644 "$dest$unitdir/vmmigd.service"
	for f in "$repo"/build/man/*.[1-8]; do
		[ -e "$f" ] && install -D -m 0644 "$f" "$dest$mandir/man${f##*.}/$(basename "$f")"
	done
	if [ -e "$repo/build/completion/vmmig" ]; then
		install -D -m 0644 "$repo/build/completion/vmmig" "$dest$compdir/vmmig"
		# bash-completion loads a command's completion by its name.
		ln -sf vmmig "$dest$compdir/vmmigd"
	fi
	# Configuration, and the VMs' folders (libvirt's /etc and /var/lib).
	install -d -m 0755 "$dest/etc/vmmig" "$dest/var/lib/vmmig"
	[ -n "$dest" ] || [ ! -d /run/systemd/system ] || systemctl daemon-reload
	echo "installed $dest$bindir/vmmig, $dest$sbindir/vmmigd, $dest$libexecdir/vmmig-vmm and $dest$unitdir/vmmigd.service"
	;;
uninstall)
	[ "${MODULE:-1}" = 0 ] || uninstall_module
	rm -f "$dest$bindir/vmmig" "$dest$sbindir/vmmigd" "$dest$libexecdir/vmmig-vmm" \
		"$dest$unitdir/vmmigd.service" "$dest$compdir/vmmig" "$dest$compdir/vmmigd"
	rmdir "$dest$libexecdir" 2>/dev/null || :
	for f in "$repo"/build/man/*.[1-8]; do
		[ -e "$f" ] && rm -f "$dest$mandir/man${f##*.}/$(basename "$f")"
	done
	# /etc/vmmig and /var/lib/vmmig hold the host's configuration and VMs: kept.
	echo "uninstalled vmmig $version (kept /etc/vmmig and /var/lib/vmmig)"
	;;
dkms-source)
	dkms_source "$kvers"
	;;
*)
	die "unknown action '$action'"
	;;
esac
