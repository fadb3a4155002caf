#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs last: after the suite, the kernel log holds no warning, bug or oops.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

log=$(dmesg)
bad=$(grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace:|kernel BUG|RIP:' <<<"$log" || true)
if [ -n "$bad" ]; then
	fail "kernel log has problems:"
	grep -E -B2 -A20 'WARNING:|BUG:|Oops|general protection' <<<"$log" | head -60
else
	pass "no WARN, BUG or Oops in $(wc -l <<<"$log") lines of dmesg"
fi
vmmig_lines=$(grep -c 'vmmig' <<<"$log" || true)
expect_match "vmmig.ko logged its loads" "$vmmig_lines" "^[1-9]"
finish
