#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A move's events reach the journal (systemd-journald run directly) with
# their fields at both hosts: VMMIG_EVENT_ID, VMMIG_VM, VMMIG_VM_UUID,
# VMMIG_MIGRATION, SYSLOG_IDENTIFIER vmmigd; and `vmmig vm log` at the
# destination shows the VM's arrival and its VMM's lines.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"
# shellcheck source=selftests/log_common.sh
source "$(dirname "$0")/log_common.sh"
cleanup_hook() { mig_cleanup; log_down; }
journal_up

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }
expect_rc 0 "create on a" -- H a vm create wl --memory 16M --workload dirty=100
expect_rc 0 "start on a" -- H a vm start wl
uuid=$(hjs a wl .uuid)
expect_rc 0 "move to b" -- H a move wl --to 10.77.0.2
expect_eq "running on b" "$(hstate b wl)" running
mig_of() { H "$1" -j migration list | jq -r 'select(.vm == "wl") | .id' | head -n 1; }
mig=$(mig_of a)

# fields HOST ID: the journal's entry of event ID from HOST's vmmigd, its fields.
fields() {
	jfields "VMMIG_EVENT_ID=$2" "_PID=${host_pid[$1]}" |
		jq -c '[.SYSLOG_IDENTIFIER, .PRIORITY, .VMMIG_VM, .VMMIG_VM_UUID, .VMMIG_MIGRATION]' | tail -n 1
}
for e in a:1101 a:1102 a:1103 b:1200 b:1201; do
	h=${e%:*} id=${e#*:}
	want="[\"vmmigd\",\"6\",\"wl\",\"$uuid\",\"$(mig_of "$h")\"]"
	wait_for 10 eval '[ "$(fields '"$h $id"')" = "$want" ]' && pass "$h: event $id with its fields" ||
		fail "$h: event $id: '$(fields "$h" "$id")', want '$want'"
done
expect_eq "a: vmmigd's start, no VM" \
	"$(jfields VMMIG_EVENT_ID=1000 "_PID=${host_pid[a]}" | jq -c '[.SYSLOG_IDENTIFIER, .VMMIG_VM]')" \
	'["vmmigd",null]'
[ -n "$mig" ] && pass "a: migration $mig" || fail "no migration id"

expect_rc 0 "b: vm log" -- H b vm log wl
expect_match "b: the arrival" "$out" "vmmigd\[${host_pid[b]}\]: 1201 "
expect_match "b: the VMM's start" "$out" "vmmig-vmm\[[0-9]+\]: incoming migration loaded"
expect_match "b: and a's lines of the same VM (its UUID)" "$out" "vmmigd\[${host_pid[a]}\]: 1103 "
finish
