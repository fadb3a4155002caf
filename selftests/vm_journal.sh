#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VMM logs to the journal (systemd-journald run directly, without
# systemd) with its fields: SYSLOG_IDENTIFIER, PRIORITY, VMMIG_VM,
# VMMIG_VM_UUID; `vmmig vm log` reads the VM's entries by UUID and follows.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/log_common.sh
source "$(dirname "$0")/log_common.sh"
cleanup_hook() { stop_vms; kill "${follow:-}" 2>/dev/null; log_down; }
journal_up

expect_rc 0 "create" -- "$V" vm create j --memory 4M --workload dirty=100
uuid=$(js j .uuid)
expect_rc 0 "start" -- "$V" vm start j
pid=$(cat "$VMMIG_STATE_DIR/j/vmm.pid")
started() { jfields "VMMIG_VM_UUID=$uuid" | jq -c 'select(.MESSAGE | startswith("started"))'; }
wait_for 10 eval '[ -n "$(started)" ]' && pass "the journal has the VMM's start" ||
	fail "nothing in the journal: $(jfields -n 20)"
expect_eq "its fields" "$(started | jq -c '[.SYSLOG_IDENTIFIER, .PRIORITY, .VMMIG_VM, .VMMIG_VM_UUID, ._PID]')" \
	"[\"vmmig-vmm\",\"6\",\"j\",\"$uuid\",\"$pid\"]"
grep -q "started, pid $pid" "$VMMIG_STATE_DIR/j/vmm.log" &&
	pass "vmm.log has it too, timestamped" || fail "vmm.log: $(cat "$VMMIG_STATE_DIR/j/vmm.log")"

vm_log_checks j "$uuid" "$pid"
kill "$follow"
expect_rc 0 "--lines 1" -- "$V" vm log j --lines 1
expect_match "--lines 1: the last entry only" "$out" "^[^"$'\n'"]*vmmig-vmm\[$pid\]: the VMM ends$"
finish
