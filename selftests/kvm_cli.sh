#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmmig kvm: registering another VMM's VM by pid, listing and showing it in
# text and JSON, its dirty-log statistics, the refusals, and the registry
# letting go of a VM whose process exits.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"

[ -e /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
[ -e /dev/kvm ] || skip "/dev/kvm is missing"
HOLD=$REPO/build/selftests/kvm_hold
pids=()
cleanup_hook() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; wait; }

start_hold() { # output-file args...
	local out=$1
	shift
	"$HOLD" "$@" >"$out" 2>&1 &
	pids+=($!)
	wait_for 60 grep -q ready "$out" || fail "kvm_hold did not start: $(cat "$out")"
}

start_hold "$tmp/h1"
p1=${pids[0]}
expect_rc 0 "register another process's VM" -- "$VMMIG" kvm register guest1 --pid "$p1"
expect_rc 0 "kvm list -j" -- "$VMMIG" -j kvm list
expect_eq "one VM listed" "$(jq length <<<"$out")" 1
expect_eq "its name" "$(jq -r '.[0].name' <<<"$out")" guest1
expect_eq "its owner" "$(jq -r '.[0].pid' <<<"$out")" "$p1"
expect_eq "its vCPUs" "$(jq -r '.[0].vcpus' <<<"$out")" 1
expect_eq "its memory" "$(jq -r '.[0].memory' <<<"$out")" 16
expect_rc 0 "kvm show" -- "$VMMIG" kvm show guest1
expect_match "text names the VM" "$out" "^guest1 uuid [0-9a-f-]{36} pid $p1 vcpus 1 memory 16MiB dirty-log off"
expect_match "text lists the memslot" "$out" "memslot 0 gfn 0 pages 4096"
expect_rc 0 "kvm show -j" -- "$VMMIG" -j kvm show guest1
expect_eq "JSON memslot pages" "$(jq '.memslots[0].pages' <<<"$out")" 4096

expect_rc 1 "the same VM twice" -- "$VMMIG" kvm register guest2 --pid "$p1"
expect_eq "names the first registration" "$err" \
	"vmmig: kvm register: vmmig: this VM is already registered as 'guest1'"
expect_rc 1 "a process without a VM" -- "$VMMIG" kvm register nope --pid $$
expect_eq "says so" "$err" "vmmig: kvm register: process $$ has no KVM VM"
expect_rc 2 "not a pid" -- "$VMMIG" kvm register nope --pid abc
one_line "not a pid" "^vmmig: kvm register: --pid: 'abc' is not a number \\(1\\.\\.2147483647\\)$"
expect_rc 2 "bad uuid" -- "$VMMIG" kvm register x --pid "$p1" --uuid 1234
one_line "bad uuid" "^vmmig: kvm register: --uuid: '1234' is not a UUID$"
expect_rc 2 "the old grammar" -- "$VMMIG" kvm register "$p1" x uuid 1234
expect_rc 1 "dirty-log of a VM that nobody harvests" -- "$VMMIG" kvm dirty-log nope
expect_eq "unknown VM" "$err" "vmmig: kvm dirty-log: no VM of this name is registered here"
expect_rc 1 "unregister without CAP_NET_ADMIN" -- \
	setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$VMMIG" kvm unregister guest1
expect_rc 0 "dirty-rate of another process's VM" -- \
	"$VMMIG" -j kvm dirty-rate --pid "$p1" --seconds 1 --sample 512
expect_eq "sampled pages" "$(jq .sampled <<<"$out")" 512
expect_match "zero pages among them" "$(jq .zero <<<"$out")" "^[0-9]+$"
expect_match "its guest dirties pages" "$(jq .rate <<<"$out")" "^[1-9][0-9]*$"
expect_rc 0 "dirty-rate by name, text" -- "$VMMIG" kvm dirty-rate guest1 --sample 64
expect_match "text" "$out" "^rate [0-9]+ pages/s \\([0-9]+ KiB/s\\) sampled 64 changed [0-9]+ of 4096 pages over [0-9]+ ns, [0-9]+ sampled pages only zeros$"
expect_rc 2 "dirty-rate without a VM" -- "$VMMIG" kvm dirty-rate
expect_rc 2 "dirty-rate bad seconds" -- "$VMMIG" kvm dirty-rate guest1 --seconds x
expect_rc 1 "dirty-rate seconds out of range" -- "$VMMIG" kvm dirty-rate guest1 --seconds 99
expect_eq "kernel range" "$err" "vmmig: kvm dirty-rate: integer out of range (valid range 1..60)"
expect_rc 0 "unregister" -- "$VMMIG" kvm unregister guest1
expect_rc 0 "empty list" -- "$VMMIG" -j kvm list
expect_eq "empty JSON array" "$out" "[]"
# Prefixes, and a UUID of our choosing.
expect_rc 0 "register with a UUID" -- \
	"$VMMIG" kvm reg guest3 --uuid 0123456789abcdef0123456789abcdef --pid "$p1"
expect_rc 0 "its UUID" -- "$VMMIG" kvm sh guest3 -j
expect_eq "the UUID given" "$(jq -r .uuid <<<"$out")" 01234567-89ab-cdef-0123-456789abcdef
expect_rc 0 "unregister it" -- "$VMMIG" kvm unr guest3

# A VMM that harvests its own VM: statistics for everyone to read.
start_hold "$tmp/h2" --harvest guest2
p2=${pids[1]}
sleep 0.5
expect_rc 0 "dirty-log -j" -- "$VMMIG" -j kvm dirty-log guest2
expect_match "rounds are counted" "$(jq .round <<<"$out")" "^[1-9][0-9]*$"
expect_eq "bytes are pages" "$(jq '.bytes == .pages * 4096' <<<"$out")" true
expect_eq "one memslot" "$(jq '.memslots | length' <<<"$out")" 1
expect_rc 0 "dirty-log text" -- "$VMMIG" kvm dirty-log guest2
expect_match "text" "$out" "^guest2 round [0-9]+ pages [0-9]+ bytes [0-9]+ ranges"
expect_rc 0 "kvm list shows logging" -- "$VMMIG" -j kvm list
expect_eq "dirty_log on" "$(jq '.[0].dirty_log' <<<"$out")" true

# The VMM exits: its VM leaves the registry by itself.
kill "$p2"
wait "$p2" || true
gone() { [ "$("$VMMIG" -j kvm list | jq length)" = 0 ]; }
if wait_for 10 gone; then pass "exited VMM's VM left the registry"; else fail "VM still registered"; fi

finish
