#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VMM logs to syslog (a busybox syslogd of the test's own): each line
# names its VM and UUID; `vmmig vm log` shows that VM's lines only, the last
# N with --lines, as JSON with -j, and follows with --follow.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/log_common.sh
source "$(dirname "$0")/log_common.sh"
cleanup_hook() { stop_vms; kill "${follow:-}" 2>/dev/null; log_down; }
syslog_up

expect_rc 0 "create" -- "$V" vm create s --memory 4M --workload dirty=100
expect_rc 0 "create another" -- "$V" vm create s2 --memory 4M --workload dirty=100
uuid=$(js s .uuid)
expect_rc 0 "start" -- "$V" vm start s
expect_rc 0 "start the other" -- "$V" vm start s2
pid=$(cat "$VMMIG_STATE_DIR/s/vmm.pid")
pid2=$(cat "$VMMIG_STATE_DIR/s2/vmm.pid")
wait_for 10 grep -q "vmmig-vmm\[$pid\]: vm s: started, pid $pid, guest memory in .* pages \[uuid=$uuid\]" "$SYSLOG" &&
	pass "syslog has the VMM's start, with its VM and UUID" ||
	fail "syslog: $(grep vmmig "$SYSLOG")"
grep -q " daemon.info vmmig-vmm\[$pid\]: vm s: " "$SYSLOG" && pass "facility daemon" ||
	fail "no daemon.* line: $(grep "vmmig-vmm\[$pid\]" "$SYSLOG")"

# The other VM's start is in syslog too, before vm log must leave it out.
wait_for 10 grep -q "vmmig-vmm\[$pid2\]: vm s2: started" "$SYSLOG" || fail "no start of s2 in syslog"
expect_rc 0 "vm log" -- "$V" vm log s
[[ $out == *"[$pid2]"* ]] && fail "shows the other VM's lines: $out" || pass "only its own VM's lines"
vm_log_checks s "$uuid" "$pid"
expect_rc 0 "start again" -- "$V" vm start s
pid=$(cat "$VMMIG_STATE_DIR/s/vmm.pid")
wait_for 10 grep -q "vmmig-vmm\[$pid\]: started" "$tmp/follow" &&
	pass "--follow: the next VMM's start" || fail "--follow: $(cat "$tmp/follow")"
kill "$follow"
expect_rc 0 "--lines 1" -- "$V" vm log s --lines 1
expect_match "--lines 1: the last line only" "$out" "^[^"$'\n'"]*vmmig-vmm\[$pid\]: started, pid $pid, guest memory in [a-zA-Z0-9 ]* pages$"
expect_rc 2 "--lines 0" -- "$V" vm log s --lines 0
expect_rc 1 "no such VM" -- "$V" vm log nosuch
VMMIG_SYSLOG_FILE=$tmp/none expect_rc 1 "no syslog file" -- "$V" vm log s
one_line "no syslog file" "^vmmig: vm log: $tmp/none: No such file or directory"
finish
