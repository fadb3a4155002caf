#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Under systemd, each VMM runs in a transient scope of its own,
# vmmig-vm-NAME-PID.scope (NAME escaped as systemd-escape does), whoever
# started it: the CLI (start, restore) or vmmigd. The test VM has no
# systemd as PID 1: the test runs a real `systemd --user` on a D-Bus
# session bus, in a PID and mount namespace of its own (a private /run that
# says systemd booted), and points vmmig at it ($VMMIG_SYSTEMD=user).
# Without a D-Bus to systemd, the VM runs all the same, with a warning.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"

if [ -z "${VMMIG_SCOPE_INNER:-}" ]; then
	for c in unshare dbus-daemon systemctl systemd-escape; do
		command -v $c >/dev/null || skip "$c is not installed"
	done
	[ -x /lib/systemd/systemd ] || skip "no /lib/systemd/systemd"
	[ -d /run/systemd/system ] && skip "systemd runs this host: its own scopes are the test"
	[ -w /sys/fs/cgroup/cgroup.procs ] || skip "no writable cgroup2 at /sys/fs/cgroup"
	# systemd --user takes the cgroup it starts in as its own.
	cg=/sys/fs/cgroup/vmt$$
	mkdir "$cg" && echo $$ >"$cg/cgroup.procs" || skip "cannot make a cgroup"
	rc=0
	VMMIG_SCOPE_INNER=1 unshare --pid --fork --mount-proc --mount "$0" || rc=$?
	echo $$ >/sys/fs/cgroup/cgroup.procs
	rmdir "$cg" 2>/dev/null
	exit $rc
fi

# Inside: PID 1 of the namespace. Everything here ends with it.
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system /run/user/0
export XDG_RUNTIME_DIR=/run/user/0 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus
dbus-daemon --session --address="$DBUS_SESSION_BUS_ADDRESS" --fork >/dev/null ||
	skip "dbus-daemon did not start"
/lib/systemd/systemd --user >"$tmp/systemd.out" 2>&1 &
sd_up() { case $(systemctl --user is-system-running 2>/dev/null) in running|degraded) ;; *) false ;; esac; }
wait_for 30 sd_up || skip "systemd --user did not come up: $(tail -n 3 "$tmp/systemd.out")"
export VMMIG_SYSTEMD=user

# scoped NAME WHAT: the VMM of NAME runs in its scope, which is active.
# Sets $unit and $spid (the VMM's pid).
scoped() {
	spid=$(cat "$VMMIG_STATE_DIR/$1/vmm.pid")
	unit="vmmig-vm-$(systemd-escape "$1")-$spid.scope"
	expect_eq "$2: $unit is active" "$(systemctl --user is-active "$unit")" active
	expect_match "$2: the VMM is in it" "$(cat "/proc/$spid/cgroup")" "/${unit//\\/\\\\}\$"
}

expect_rc 0 "create web-1" -- "$V" vm create web-1 --memory 4M --workload dirty=100
expect_rc 0 "start (the CLI)" -- "$V" vm start web-1
expect_eq "start: no warning" "$err" ""
scoped web-1 "start"
expect_rc 0 "save" -- "$V" vm save web-1 "$tmp/w.state"
scope_gone() { [ "$(systemctl --user is-active "$1")" != active ]; }
wait_for 10 scope_gone "$unit" &&
	pass "the scope ends with its VMM" || fail "the scope is still active"
expect_rc 0 "restore (the CLI)" -- "$V" vm restore "$tmp/w.state"
scoped web-1 "restore"
# Started again while the scope before still lives (as while a stopped
# VMM frees its memory; here a process kept in it): a scope of its own.
old=$unit
sleep 60 &
holder=$!
echo "$holder" >"/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$spid/cgroup")/cgroup.procs"
expect_rc 0 "stop" -- "$V" vm stop web-1 --force
expect_eq "its old scope lives on" "$(systemctl --user is-active "$old")" active
expect_rc 0 "start again" -- "$V" vm start web-1
expect_eq "no warning" "$err" ""
scoped web-1 "start again"
[ "$unit" != "$old" ] && pass "a scope of its own" || fail "the old scope $unit"
kill "$holder"
expect_rc 0 "stop" -- "$V" vm stop web-1 --force

# vmmigd starts it: a scope all the same, not in vmmigd's cgroup.
host_up a 1 || { fail "host a"; finish; exit; }
expect_rc 0 "create on a" -- H a vm create s --memory 4M --workload dirty=100
expect_rc 0 "start through vmmigd" -- H a vm start s
pid=$(cat "$tmp/a/state/s/vmm.pid")
expect_eq "vmmigd's child" "$(ps -o ppid= -p "$pid" | tr -d ' ')" "${host_pid[a]}"
VMMIG_STATE_DIR=$tmp/a/state scoped s "vmmigd"
expect_rc 0 "stop" -- H a vm stop s --force

# No D-Bus to systemd: a warning, and the VM runs.
expect_rc 0 "start without D-Bus" -- env -u VMMIG_SYSTEMD "$V" vm start web-1
expect_match "a warning says why" "$err" "^vmmig: vm start: warning: the VMM runs outside a scope of its own: vmmig-vm-web.x2d1-[0-9]+.scope: "
expect_eq "the VM runs" "$(state web-1)" running
finish
