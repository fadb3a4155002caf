#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live migration when things go wrong: a cancel while queued, while it
# prepares, during pre-copy and during stop-and-copy, the destination host
# killed during pre-copy and during stop-and-copy, one byte corrupted on the
# wire (control connection, stream), and five moves under a limit of two. In
# every failure the VM runs at the source with its memory intact (the guest's own
# checksum) and nothing remains at the destination. Host settings survive a
# restart of vmmigd.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }

phase() { H a -j migration show "$1" 2>/dev/null | jq -r .progress.phase; }
phase_is() { [ "$(phase "$1")" = "$2" ]; }
# intact NAME WHAT: the VM runs at a, writes, its checksum holds; b has nothing.
intact() {
	local c
	expect_eq "$2: running at a" "$(hstate a "$1")" running
	c=$(hcounter a "$1")
	wait_for 30 hcounter_above a "$1" "$c" && pass "$2: guest writes at a" ||
		fail "$2: counter stuck at $c"
	expect_rc 0 "$2: checksum holds" -- H a vm show "$1" --verify
	wait_for 20 test ! -e "$tmp/b/state/$1" && pass "$2: nothing at b" ||
		fail "$2: b has $(ls "$tmp/b/state/$1" 2>&1)"
}

# 8 MiB of data at 256 KiB/s: the pre-copy lasts long enough to step in.
expect_rc 0 "create" -- H a vm create wl --memory 16M --workload dirty=200,wss=8M,pattern=random
expect_rc 0 "start" -- H a vm start wl
wait_for 30 hcounter_above a wl 200 && pass "guest writes" || fail "counter stuck"
slow=(--bandwidth 128K)
# To stop-and-copy even where the path carries less than the guest writes
# (a loaded host): after 20 s the move switches over whatever the downtime.
to_stop=(--timeout 20 --on-timeout pause)

# cancel_in PHASE SECONDS WHAT MOVE-OPTIONS...: a move of wl (to $to) cancelled
# in PHASE (reached within SECONDS; $also_check, if set, runs there) leaves wl
# running and intact at a.
to=10.77.0.2
cancel_in() {
	local phase=$1 secs=$2 what=$3
	shift 3
	expect_rc 0 "move, detached" -- H a move wl --to "$to" "$@" --detach
	wait_for "$secs" phase_is wl "$phase" && pass "in $phase" ||
		fail "$(H a migration show wl)"
	${also_check:-}
	expect_rc 0 "cancel $what" -- H a migration cancel wl
	wait_for 60 phase_is wl cancelled && pass "cancelled" || fail "$(H a migration show wl)"
	intact wl "cancel $what"
}

# Cancel while the move prepares, then during pre-copy. The dirty-rate
# sample alone makes the preparation last 2 s, which a loaded test VM's
# polls can miss: the control connection goes through a proxy that connects
# it onward 8 s late.
on a python3 "$REPO/selftests/lib/flip_proxy.py" 7002 10.77.0.2 6600 -1 1 8 >"$tmp/proxy.log" 2>&1 &
wait_for 10 grep -q ready "$tmp/proxy.log" || fail "proxy: $(cat "$tmp/proxy.log")"
to=127.0.0.1:7002
cancel_in prepare 30 "while preparing" "${slow[@]}"
pkill -f "flip_proxy.py 7002 "
to=10.77.0.2
# The first copy (64 s of it at 128 KiB/s) shows its progress as it goes.
first_copy() {
	H a -j migration show wl | jq -e '.progress | .phase == "precopy" and .round == 0 and
		.sent_bytes > 0 and .sent_pages > 0 and .remaining_pages > 0 and .throughput > 0 and
		.expected_downtime_ms == null' >/dev/null
}
check_first_copy() {
	wait_for 20 first_copy && pass "the first copy reports its progress" ||
		fail "$(H a -j migration show wl | jq -c .progress)"
}
also_check=check_first_copy
cancel_in precopy 60 "in pre-copy" "${slow[@]}"
also_check=
expect_rc 1 "cancel again" -- H a migration cancel wl
one_line "nothing to cancel" "^vmmig: migration cancel: wl is not migrating on a"

# Cancel while queued, under max-migrations 1.
expect_rc 0 "second VM" -- H a vm create w2 --memory 8M --workload dirty=100,wss=2M
expect_rc 0 "start w2" -- H a vm start w2
expect_rc 0 "max-migrations 1" -- H a host set max-migrations 1
expect_rc 0 "move wl" -- H a move wl --to 10.77.0.2 "${slow[@]}" --detach
expect_rc 0 "move w2" -- H a move w2 --to 10.77.0.2 --detach
wait_for 30 phase_is w2 queued && pass "w2 queued" || fail "w2: $(phase w2)"
expect_rc 0 "list shows it queued" -- H a migration list
expect_match "shows it queued" "$out" "w2 outgoing to 10.77.0.2 queued .*\(0 ahead\)"
expect_rc 0 "cancel w2" -- H a migration cancel w2
wait_for 30 phase_is w2 cancelled && pass "queued move cancelled" || fail "w2: $(phase w2)"
expect_rc 0 "cancel wl" -- H a migration cancel wl
wait_for 30 phase_is wl cancelled && pass "wl cancelled" || fail "wl: $(phase wl)"
intact w2 "cancel while queued"
expect_rc 0 "max-migrations 2" -- H a host set max-migrations 2

# The destination host dies during pre-copy: its daemon and VMMs killed.
kill_b() { ip netns pids "$(ns b)" | xargs -r kill -9; wait "${host_pid[b]}" 2>/dev/null; host_pid[b]=; }
expect_rc 0 "move" -- H a move wl --to 10.77.0.2 "${slow[@]}" --detach
wait_for 60 phase_is wl precopy && pass "in pre-copy" || fail "$(H a migration show wl)"
kill_b
wait_for 60 phase_is wl failed && pass "failed" || fail "$(H a migration show wl)"
expect_rc 0 "why" -- H a migration show wl
echo "# $out"
rm -f "$tmp/b/vmmigd.sock"
daemon_up b
intact wl "destination killed in pre-copy"

# ...and during stop-and-copy: the source VMM lingers there (a test hook,
# in the VMM's environment: the CLI starts it, not vmmigd, whose children
# have vmmigd's environment).
expect_rc 0 "stop wl" -- H a vm stop wl --force
expect_rc 0 "start wl slow to switch" -- on a env VMMIG_TEST_STOPCOPY_DELAY_MS=8000 VMMIG_SOCKET="$tmp/none.sock" "$V" vm start wl
wait_for 30 hcounter_above a wl 100 && pass "guest writes" || fail "counter stuck"
expect_rc 0 "move" -- H a move wl --to 10.77.0.2 "${to_stop[@]}" --detach
wait_for 120 phase_is wl stopcopy && pass "in stop-and-copy" || fail "$(H a migration show wl)"
kill_b
wait_for 60 phase_is wl failed && pass "failed" || fail "$(H a migration show wl)"
rm -f "$tmp/b/vmmigd.sock"
daemon_up b
intact wl "destination killed in stop-and-copy"
# A cancel in stop-and-copy: the VM was paused, it runs again at a.
cancel_in stopcopy 120 "in stop-and-copy" "${to_stop[@]}"
expect_rc 0 "stop wl" -- H a vm stop wl --force
expect_rc 0 "start wl" -- H a vm start wl

# One byte flipped on the wire, which the TCP checksum let through: TLS
# refuses the record, on the control connection (the path's probe, the
# proxy's first connection) and on stream 0 (the first copy of memory, its
# second), where the move fails at once rather than wait for a replacement.
# A proxy of its own for each (ip netns exec forks: $! is not the proxy).
corrupt() {
	local what=$1 port=$2 offset=$3 conn=$4 why=$5
	on a python3 "$REPO/selftests/lib/flip_proxy.py" "$port" 10.77.0.2 6600 "$offset" "$conn" \
		>"$tmp/proxy.log" 2>&1 &
	wait_for 10 grep -q ready "$tmp/proxy.log" || fail "proxy: $(cat "$tmp/proxy.log")"
	expect_rc 1 "move through a link corrupting the $what" -- H a move wl --to "127.0.0.1:$port"
	expect_match "$what: says why" "$err" "$why"
	pkill -f "flip_proxy.py $port "
	intact wl "corrupted $what"
}
corrupt "control connection" 7000 300000 1 "measuring the path to b failed"
corrupt "stream" 7001 1000000 2 "a TLS record failed its check"

# Five moves under a limit of two: queued in order, all complete.
expect_rc 0 "stop w2" -- H a vm stop w2 --force
expect_rc 0 "delete w2" -- H a vm delete w2
for i in 1 2 3 4 5; do
	H a vm create "q$i" --memory 4M --workload dirty=50,wss=512K >/dev/null
	H a vm start "q$i" >/dev/null
done
on a "$V" -j monitor >"$tmp/events" 2>/dev/null &
mon=$!
sleep 1
for i in 1 2 3 4 5; do
	expect_rc 0 "move q$i" -- H a move "q$i" --to 10.77.0.2 --bandwidth 256K \
		--downtime-limit 5000 --detach
done
all_done() { [ "$(H a -j migration list | jq -r 'select(.vm | startswith("q")) | select(.progress.phase == "done") | .vm' | sort -u | wc -l)" = 5 ]; }
wait_for 300 all_done && pass "all five moved" || fail "$(H a migration list)"
for i in 1 2 3 4 5; do
	expect_eq "q$i runs at b" "$(hstate b "q$i")" running
done
kill "$mon"
ev() { jq -r --arg id "$1" 'select(.migration.id == $id) | .migration.vm' "$tmp/events" | tr '\n' ' '; }
queued=$(ev 1100)
echo "# queued: $queued; started in order: $(ev 1101)"
[ "$(wc -w <<<"$queued")" -ge 3 ] && pass "three waited for a slot" || fail "queued: '$queued'"
expect_eq "they started in the order asked" "$(ev 1101)" "q1 q2 q3 q4 q5 "

# Settings survive a restart of vmmigd, applied to vmmig.ko at start.
expect_rc 0 "b: max-storage-migrations 7" -- H b host set max-storage-migrations 7
saved7() { [ "$(jq -r .max_storage_migrations "$tmp/b/host.json" 2>/dev/null)" = 7 ]; }
wait_for 10 saved7 && pass "persisted" || fail "$(cat "$tmp/b/host.json")"
daemon_down b
expect_rc 0 "changed while vmmigd is down" -- H b host set max-storage-migrations 3
daemon_up b
expect_rc 0 "b: host show" -- H b -j host show
expect_eq "vmmigd applied its settings" "$(jq -r .max_storage_migrations <<<"$out")" 7

finish
