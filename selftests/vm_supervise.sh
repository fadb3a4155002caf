#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmmigd supervises the VMMs of its state directory: `vm start` and `vm
# restore` ask it to start them (its children, reaped), it watches the ones
# it finds at its start, and says how each ended (event 1501: exit status
# or signal, the VM's state); VMMs outlive a restart of vmmigd; without
# vmmigd, or for another state directory, the CLI starts them itself.
# Autostart: the VMs with autostart on start at vmmigd's first start after
# a boot (its marker gone), not at a restart.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"
# shellcheck disable=SC2154
host_up a 1 || { fail "host a"; finish; exit; }
log=$tmp/a/vmmigd.log
vmm_pid() { cat "$tmp/a/state/$1/vmm.pid"; }
ppid_of() { ps -o ppid= -p "$1" | tr -d ' '; }
# logged TEXT: in vmmigd.log, among the lines written since the last mark
# (the log is appended to across vmmigd's restarts).
from=0
mark() { from=$(wc -l <"$log"); }
new_lines() { tail -n +"$((from + 1))" "$log"; }
logged() { want=$1; wait_for 10 eval 'new_lines | grep -q -- "$want"'; }
event_seen() { logged "$2" && pass "$1" || fail "$1: no '$2' in vmmigd.log: $(grep -E ' 1[5][0-9]{2} ' "$log" | tail -n 5)"; }

expect_rc 0 "create" -- H a vm create s --memory 4M --workload dirty=100
mark
expect_rc 0 "start, through vmmigd" -- H a vm start s
pid=$(vmm_pid s)
expect_eq "the VMM is vmmigd's child" "$(ppid_of "$pid")" "${host_pid[a]}"
event_seen "event 1500: started" " 1500 s started: VMM pid $pid"
mark
kill -9 "$pid"
event_seen "event 1501: killed, crashed" \
	" 1501 s: its VMM (pid $pid) was killed by signal 9 (Killed); the VM is crashed"
wait_for 5 eval '[ -z "$(ps -o stat= -p '"$pid"')" ]' && pass "reaped, no zombie" ||
	fail "VMM $pid is $(ps -o stat= -p "$pid")"
expect_eq "show: crashed" "$(hstate a s)" crashed

mark
expect_rc 0 "start again" -- H a vm start s
pid=$(vmm_pid s)
expect_rc 0 "save" -- H a vm save s "$tmp/s.state"
event_seen "event 1501: the end of a save" " 1501 s: its VMM (pid $pid) exited with status 0; the VM is saved"
mark
expect_rc 0 "restore, through vmmigd" -- H a vm restore "$tmp/s.state"
pid=$(vmm_pid s)
expect_eq "the restored VMM is vmmigd's child" "$(ppid_of "$pid")" "${host_pid[a]}"
event_seen "event 1500: restored" " 1500 s restored: VMM pid $pid"

# A restart of vmmigd: the VMM runs on, watched by the new vmmigd.
daemon_down a
kill -0 "$pid" && pass "the VMM outlives vmmigd" || fail "the VMM died with vmmigd"
mark
daemon_up a
c0=$(hcounter a s)
wait_for 20 hcounter_above a s "$c0" && pass "and runs its guest" || fail "counter stuck at $c0"
event_seen "the new vmmigd watches it" "watching 1 running VMMs"
mark
expect_rc 0 "stop --force" -- H a vm stop s --force
event_seen "event 1501: a VMM it found" \
	" 1501 s: its VMM (pid $pid) ended (not vmmigd's child: its exit status is unknown); the VM is off"

# Without vmmigd, or for another state directory, the CLI starts the VMM.
daemon_down a
expect_rc 0 "start without vmmigd" -- H a vm start s
pid=$(vmm_pid s)
[ "$(ppid_of "$pid")" != "${host_pid[a]}" ] && pass "the CLI started it" || fail "ppid"
mark
daemon_up a
event_seen "found at vmmigd's start" "watching 1 running VMMs"
expect_rc 0 "stop" -- H a vm stop s --force
mkdir -p "$tmp/other"
expect_rc 0 "create elsewhere" -- on a env VMMIG_STATE_DIR="$tmp/other" "$V" vm create o \
	--memory 4M --workload dirty=100
expect_rc 0 "start elsewhere" -- on a env VMMIG_STATE_DIR="$tmp/other" "$V" vm start o
opid=$(cat "$tmp/other/o/vmm.pid")
[ "$(ppid_of "$opid")" != "${host_pid[a]}" ] && pass "another state directory: the CLI's" ||
	fail "vmmigd started a VMM of another state directory"
expect_rc 0 "stop it" -- on a env VMMIG_STATE_DIR="$tmp/other" "$V" vm stop o --force

# Autostart.
expect_rc 0 "set autostart on" -- H a vm set s autostart on
expect_eq "show: autostart" "$(hjs a s .autostart)" true
expect_rc 0 "show, text" -- H a vm show s
expect_contains "text: autostart on" "$out" $'\n'"autostart on"$'\n'
expect_rc 2 "a bad value" -- H a vm set s autostart yes
one_line "a bad value" "^vmmig: vm set: autostart: 'yes' is not on or off"
expect_rc 0 "create one without" -- H a vm create n --memory 4M --workload dirty=100
daemon_down a
[ -e "$tmp/a/autostarted" ] && pass "vmmigd left its marker" || fail "no marker"
rm -f "$tmp/a/autostarted"
mark
daemon_up a
wait_for 20 eval '[ "$(hstate a s)" = running ]' && pass "autostarted at the first start" ||
	fail "s is $(hstate a s)"
event_seen "event 1500: autostarted" " 1500 s autostarted: VMM pid"
expect_eq "autostart off: not started" "$(hstate a n)" off
expect_rc 0 "stop" -- H a vm stop s --force
daemon_down a
mark
daemon_up a
logged "autostart: done already since the host booted" && pass "a restart: marker found" ||
	fail "no word of the marker"
# vmmigd decides before it says so: nothing was started.
expect_eq "a restart starts nothing" "$(hstate a s)" off
expect_rc 0 "set autostart off" -- H a vm set s autostart off
expect_eq "show: autostart off" "$(hjs a s .autostart)" false
finish
