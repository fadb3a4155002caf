#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the log tests, after common.sh: a real syslog daemon or
# journald of the test's own (the test VM has neither), stopped at the end.
#
#   syslog_up           busybox syslogd writing $SYSLOG (or skip)
#   journal_up          systemd-journald run directly (or skip)
#   log_down            stops them and removes their sockets
#   vm_log_checks NAME UUID PID
#                       `vm log` of running VM NAME (its VMM PID): its start,
#                       as JSON, --follow until its stop --force
# shellcheck disable=SC2154
SYSLOG=$tmp/syslog
log_pid=

syslog_up() {
	[ -e /dev/log ] && skip "a syslog daemon listens on /dev/log already"
	[ -e /run/systemd/journal/socket ] && skip "journald runs: vmmig logs there"
	command -v busybox >/dev/null || skip "busybox is not installed"
	busybox syslogd -n -O "$SYSLOG" &
	log_pid=$!
	wait_for 10 test -S /dev/log || skip "busybox syslogd did not start"
	export VMMIG_SYSLOG_FILE=$SYSLOG
	unset VMMIG_LOG
}

journal_up() {
	local jd=/lib/systemd/systemd-journald
	[ -x $jd ] || skip "no $jd (the systemd package)"
	[ -e /run/systemd/journal/socket ] && skip "journald runs already: this test needs its own"
	command -v journalctl >/dev/null || skip "no journalctl"
	mkdir -p /run/systemd/journal
	$jd >"$tmp/journald.out" 2>&1 &
	log_pid=$!
	wait_for 10 test -S /run/systemd/journal/socket ||
		skip "systemd-journald did not start: $(cat "$tmp/journald.out")"
	unset VMMIG_LOG
}

log_down() {
	[ -n "$log_pid" ] || return 0
	kill "$log_pid" 2>/dev/null
	wait "$log_pid" 2>/dev/null
	log_pid=
	rm -rf /dev/log /run/systemd/journal /run/log/journal
}

# jfields FILTER...: journalctl's entries of the filters, JSON, one per line.
jfields() { journalctl --no-pager -o json "$@" 2>/dev/null; }

vm_log_checks() {
	local name=$1 uuid=$2 pid=$3
	expect_rc 0 "vm log" -- "$V" vm log "$name"
	expect_match "shows the start" "$out" "vmmig-vmm\[$pid\]: started, pid $pid"
	expect_rc 0 "vm log -j" -- "$V" -j vm log "$name"
	expect_eq "JSON: VM, UUID, identifier, pid, priority" \
		"$(jq -sc '[.[] | select(.message | startswith("started"))][0] | [.vm, .uuid, .identifier, .pid, .priority]' <<<"$out")" \
		"[\"$name\",\"$uuid\",\"vmmig-vmm\",$pid,6]"
	"$V" vm log "$name" --follow >"$tmp/follow" 2>&1 &
	# shellcheck disable=SC2034 # the test stops it
	follow=$!
	wait_for 10 grep -q started "$tmp/follow" && pass "--follow shows what was there" ||
		fail "--follow: $(cat "$tmp/follow")"
	expect_rc 0 "stop --force" -- "$V" vm stop "$name" --force
	wait_for 10 grep -q "vmmig-vmm\[$pid\]: the VMM ends" "$tmp/follow" &&
		pass "--follow shows the VMM's end as it comes" || fail "--follow: $(cat "$tmp/follow")"
}
