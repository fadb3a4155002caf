#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install / make uninstall inside the test VM (its /lib/modules is an
# overlay, so the build host is untouched): afterwards `modprobe vmmig`
# loads the installed module, and after uninstall it no longer can.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"

kver=$(uname -r)
cleanup_hook() {
	make -s -C "$REPO" uninstall DKMS=0 KVER="$kver" PREFIX="$tmp/prefix" UNITDIR="$tmp/units" >/dev/null 2>&1
	[ -e /sys/module/vmmig ] || insmod "$VMMIG_KO"
}
[ -n "${VMMIG_KO:-}" ] || skip "VMMIG_KO is not set"
touch "/lib/modules/$kver/.vmmig-write-test" 2>/dev/null ||
	skip "/lib/modules/$kver is read-only here (vm-run gives it an overlay)"
rm -f "/lib/modules/$kver/.vmmig-write-test"

rmmod vmmig
expect_rc 0 "make install" -- make -s -C "$REPO" install DKMS=0 KVER="$kver" PREFIX="$tmp/prefix" \
	UNITDIR="$tmp/units"
expect_rc 0 "vmmigd installed" -- test -x "$tmp/prefix/bin/vmmigd"
expect_match "vmmigd.service runs it" "$(cat "$tmp/units/vmmigd.service")" "ExecStart=$tmp/prefix/bin/vmmigd"
# No modprobe: resolving the "vmmig" family loads the module by its alias.
expect_rc 0 "installed CLI works, loading the module" -- "$tmp/prefix/bin/vmmig" host show
expect_eq "first use of the family loaded it" "$(cat /sys/module/vmmig/version 2>/dev/null)" \
	"$(modinfo -F version "$VMMIG_KO")"
expect_eq "by its alias" "$(modinfo -F alias "$VMMIG_KO")" "net-pf-16-proto-16-family-vmmig"
expect_rc 0 "modprobe vmmig" -- modprobe vmmig
expect_eq "modprobe found it in updates/" "$(modinfo -n vmmig)" "/lib/modules/$kver/updates/vmmig.ko"
expect_rc 0 "modprobe -r vmmig" -- modprobe -r vmmig
expect_rc 0 "make uninstall" -- make -s -C "$REPO" uninstall DKMS=0 KVER="$kver" PREFIX="$tmp/prefix" \
	UNITDIR="$tmp/units"
expect_eq "unit removed" "$(ls "$tmp/units" 2>/dev/null)" ""
expect_rc 1 "modprobe after uninstall" -- modprobe vmmig
expect_eq "CLI removed" "$(ls "$tmp/prefix/bin" 2>/dev/null)" ""
insmod "$VMMIG_KO"
finish
