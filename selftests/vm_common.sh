#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the tests of `vmmig vm` with workload guests, after common.sh:
# a state directory of the test's own, VMs stopped at the end, and helpers.
[ -c /dev/kvm ] || skip "no /dev/kvm"
command -v jq >/dev/null || skip "jq is not installed"

# $tmp and skip come from common.sh.
# shellcheck disable=SC2154
export VMMIG_STATE_DIR=$tmp/state
V=$VMMIG

stop_vms() {
	local d
	for d in "$VMMIG_STATE_DIR"/*/; do
		[ -e "$d/vm.json" ] && "$V" vm stop "$(basename "$d")" --force
	done
}
cleanup_hook() { stop_vms; }

js() { "$V" -j vm show "$1" | jq -r "$2"; }
counter() { js "$1" .workload.counter; }
state() { js "$1" .state; }
counter_above() { [ "$(counter "$1")" -gt "$2" ]; }

# restored_intact NAME FILE REPORT: FILE (a save of NAME whose JSON report
# is REPORT, with --hash) restores paused with the memory the save reported,
# then runs on from there, its own checksum holding.
restored_intact() {
	local saved
	expect_rc 0 "restore paused" -- "$V" vm restore "$2" --paused
	expect_eq "memory is what the source had when it stopped" \
		"$(js "$1" .memory_hash)" "$(jq -r .memory_hash <<<"$3")"
	saved=$(counter "$1")
	expect_rc 0 "resume" -- "$V" vm resume "$1"
	wait_for 20 counter_above "$1" "$saved" && pass "counter continues from $saved" ||
		fail "counter stuck at $saved"
	expect_rc 0 "the guest's own checksum holds" -- "$V" vm show "$1" --verify
}
