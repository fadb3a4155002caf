#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install, on the build host (after make all), in a mount namespace of
# the test's own: staged into DESTDIR by an unprivileged user (everything,
# the module of each built kernel included, nothing outside DESTDIR), then
# uninstalled; and as root into the system (this host's root seen through
# overlays, so the host itself is untouched) without DKMS, where depmod
# indexes the module for modprobe, then uninstalled leaving nothing behind.
# The Debian packages and DKMS have selftests/package.sh.
if [ -z "${INSTALL_NS:-}" ]; then
	command -v unshare >/dev/null || { echo "# SKIP: no unshare"; exit 4; }
	INSTALL_NS=1 exec unshare -m "$0" "$@"
fi
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
mnt=
# The tree is bind-mounted below $mnt: unmount it before removing anything,
# and never remove across file systems.
cleanup_hook() {
	umount -l /usr /etc /var "$tmp/ov" 2>/dev/null
	[ -n "$mnt" ] || return 0
	umount "$mnt/repo" 2>/dev/null || umount -l "$mnt/repo" 2>/dev/null
	mountpoint -q "$mnt/repo" || rm -rf --one-file-system "$mnt"
}
[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace, setpriv)"
command -v setpriv >/dev/null || skip "setpriv is not installed"
kvers=$(cd "$REPO/build/kmod" 2>/dev/null && ls -d -- */ 2>/dev/null | tr -d / | tr '\n' ' ')
[ -x "$REPO/build/bin/vmmig" ] && [ -n "$kvers" ] || skip "the tree is not built (make all)"
mount --make-rprivate /

# The tree where an unprivileged user reaches it, read-only for it.
mnt=$(mktemp -d /run/vmmig-install.XXXXXX)
chmod 0755 "$mnt"
mkdir -p "$mnt/repo" "$mnt/stage"
mount --bind -o ro "$REPO" "$mnt/repo"
chown nobody "$mnt/stage"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
stage=$mnt/stage

expect_rc 0 "make install DESTDIR= PREFIX=/usr, unprivileged" -- \
	as_nobody make -s -C "$mnt/repo" install DESTDIR="$stage" PREFIX=/usr
for f in usr/bin/vmmig usr/sbin/vmmigd usr/libexec/vmmig/vmmig-vmm \
	 lib/systemd/system/vmmigd.service usr/lib/modules-load.d/vmmig.conf \
	 usr/share/man/man8/vmmig.8 usr/share/man/man8/vmmigd.8 usr/share/man/man8/vmmig-vmm.8 \
	 usr/share/bash-completion/completions/vmmig; do
	[ -f "$stage/$f" ] && pass "staged /$f" || fail "/$f not staged"
done
for k in $kvers; do
	cmp -s "$stage/lib/modules/$k/updates/vmmig.ko" "$REPO/build/kmod/$k/vmmig.ko" &&
		pass "staged vmmig.ko for $k" || fail "vmmig.ko for $k not staged"
done
expect_eq "no depmod run into the stage" "$(find "$stage" -name 'modules.dep*')" ""
expect_match "the unit runs the staged prefix's vmmigd" \
	"$(cat "$stage/lib/systemd/system/vmmigd.service")" $'\nExecStart=/usr/sbin/vmmigd\n'
[ -d "$stage/etc/vmmig" ] && [ -d "$stage/var/lib/vmmig" ] &&
	pass "/etc/vmmig and /var/lib/vmmig made" || fail "no /etc/vmmig or /var/lib/vmmig"
expect_rc 0 "make uninstall DESTDIR=" -- \
	as_nobody make -s -C "$mnt/repo" uninstall DESTDIR="$stage" PREFIX=/usr
expect_eq "only the configuration and VM folders stay" \
	"$(cd "$stage" && find . ! -type d)" ""
expect_rc 2 "make install without root or DESTDIR" -- as_nobody make -s -C "$mnt/repo" install
expect_contains "refused, saying why" "$err" "install: run as root, or stage with DESTDIR="

# Into the system, as root, without DKMS: the root through overlays.
overlay_root
k=${kvers%% *}
expect_rc 0 "make install DKMS=0 KVER=$k" -- make -s -C "$REPO" install DKMS=0 KVER="$k"
expect_eq "modprobe would load it from updates/" "$(modinfo -k "$k" -n vmmig 2>&1)" \
	"/lib/modules/$k/updates/vmmig.ko"
for f in /usr/local/bin/vmmig /usr/local/sbin/vmmigd /usr/local/libexec/vmmig/vmmig-vmm \
	 /etc/systemd/system/vmmigd.service /etc/modules-load.d/vmmig.conf; do
	[ -f "$f" ] && pass "installed $f" || fail "$f not installed"
done
expect_rc 0 "make uninstall" -- make -s -C "$REPO" uninstall DKMS=0 KVER="$k"
expect_rc 1 "modprobe no longer finds it" -- modinfo -k "$k" -n vmmig
# What is left in the upper layers: depmod's indexes, and the folders kept.
expect_eq "nothing else is left" "$(cd "$tmp/ov" && find usr/u etc/u var/u ! -type d |
	grep -v -E '^usr/u/lib/modules/[^/]+/modules\.')" ""
finish
