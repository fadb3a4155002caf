#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live migration between two hosts (network namespaces, each with its
# vmmigd): a workload VM moves while it writes its memory, and keeps
# counting at the destination with the memory it had at the pause (its
# memory hash, compared by vmmigd before the commit with --verify, and the
# guest's own checksum); its definition and UUID move with it, nothing is
# left at the source. Then bad input, refusals, and the limits; last, moves
# through vmmigd's OpenSSL relay (vmmigd --no-ktls), one of them over a link
# that corrupts a byte.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }
# vmmigd's sockets on HOST: what finished moves must not leave behind.
sockets() { find "/proc/${host_pid[$1]}/fd" -lname 'socket:*' | wc -l; }
sock_a=$(sockets a) sock_b=$(sockets b)

expect_rc 0 "create on a" -- H a vm create wl --memory 16M --workload dirty=200,wss=4M,pattern=random
expect_rc 0 "start on a" -- H a vm start wl
wait_for 30 hcounter_above a wl 500 && pass "guest writes on a" || fail "counter stuck"
uuid=$(hjs a wl .uuid)

# Bad input: one line, exit 1 or 2, nothing changed.
expect_rc 2 "move without --to" -- H a move wl
one_line "no --to" "^vmmig: move: where to\? --to HOST"
expect_rc 2 "bad --streams" -- H a move wl --to 10.77.0.2 --streams 17
expect_rc 2 "bad --compress" -- H a move wl --to 10.77.0.2 --compress gzip
expect_rc 2 "bad --on-timeout" -- H a move wl --to 10.77.0.2 --on-timeout wait
expect_rc 1 "unknown VM" -- H a move nosuch --to 10.77.0.2
one_line "unknown VM" "^vmmig: move: .*nosuch"
expect_rc 1 "unknown host" -- H a move wl --to no-such-host.invalid
one_line "unknown host" "^vmmig: move: .*no-such-host.invalid"
expect_rc 1 "move to itself" -- H a move wl --to 10.77.0.1
one_line "itself" "^vmmig: move: .*is this host"
expect_rc 1 "nothing listens" -- H a move wl --to 10.77.0.2:6601
expect_eq "still running on a" "$(hstate a wl)" running
expect_rc 0 "a paused VM" -- H a vm pause wl
expect_rc 1 "move a paused VM" -- H a move wl --to 10.77.0.2
one_line "paused" "^vmmig: move: wl is paused: a live migration needs it running"
expect_rc 0 "resume" -- H a vm resume wl

# Migration off at the destination: refused with that reason, nothing left there.
expect_rc 0 "b: migration off" -- H b host set migration off
expect_rc 1 "move to a host with migration off" -- H a move wl --to 10.77.0.2
one_line "off at b" "^vmmig: move: live migration is off on b"
expect_eq "still running on a" "$(hstate a wl)" running
[ ! -e "$tmp/b/state/wl" ] && pass "nothing at b" || fail "b has $(ls "$tmp/b/state")"
expect_rc 0 "b: migration on" -- H b host set migration on
# ...and at the source.
expect_rc 0 "a: migration off" -- H a host set migration off
expect_rc 1 "move from a host with migration off" -- H a move wl --to 10.77.0.2
one_line "off at a" "^vmmig: move: live migration is off on a"
expect_rc 0 "a: migration on" -- H a host set migration on

# A dry run: the prediction alone, nothing moves.
expect_rc 0 "dry run" -- H a move wl --to 10.77.0.2 --dry-run
expect_match "a prediction" "$(tail -n1 <<<"$out")" "^wl to b: (converges|converges-throttled|never).*, expected total [0-9.]+ s, downtime [0-9]+ ms; dirty rate [0-9]+ pages/s, path "
expect_eq "still running on a" "$(hstate a wl)" running
[ ! -e "$tmp/b/state/wl" ] && pass "nothing at b" || fail "b has wl after a dry run"

# The move. A loaded host (two test VMs side by side) may carry less than
# the guest writes: after 60 s it switches over whatever the downtime.
c0=$(hcounter a wl)
expect_rc 0 "move a -> b" -- H a -j move wl --to 10.77.0.2 --verify --timeout 60 --on-timeout pause
res=$(tail -n1 <<<"$out")
echo "# $(jq -c '.migration | {elapsed_ns, downtime_ns, switchover, progress, prediction}' <<<"$res")"
[ "$(jq -r .migration.prediction.verdict <<<"$res")" != null ] && pass "the move was predicted first" ||
	fail "no prediction: $res"
expect_eq "done" "$(jq -r .migration.progress.phase <<<"$res")" "done"
[ "$(wc -l <<<"$out")" -ge 2 ] && pass "progress lines before the result" || fail "no progress: $out"
expect_eq "ran at b" "$(hstate b wl)" running
expect_eq "same UUID at b" "$(hjs b wl .uuid)" "$uuid"
wait_for 60 gone a wl && pass "gone from a" || fail "a still has wl: $(ls "$tmp/a/state/wl")"
c1=$(hcounter b wl)
[ "$c1" -ge "$c0" ] && pass "counter carried over ($c0 -> $c1)" || fail "counter went back: $c0 -> $c1"
wait_for 30 hcounter_above b wl "$c1" && pass "guest writes on b" || fail "counter stuck on b"
# The downtime the guest saw: its longest gap by its own TSC since the move
# began, recorded at its first turn after the resume (it has written since).
# Its clocks ran on across the move, so the gap holds at least the VMM's
# stop-and-copy, and no more than the whole move.
gap=$(hjs b wl .workload.gap_max_us)
stop_us=$(($(jq -r .migration.switchover.stopcopy_ns <<<"$res") / 1000))
all_us=$(($(jq -r .migration.elapsed_ns <<<"$res") / 1000))
echo "# the guest saw a longest gap of $((gap / 1000)) ms; vmmigd's downtime $(($(jq -r .migration.downtime_ns <<<"$res") / 1000000)) ms, stop-and-copy $((stop_us / 1000)) ms"
[ "$gap" -ge $((stop_us * 9 / 10)) ] && [ "$gap" -le "$all_us" ] &&
	pass "the guest's clock counted the downtime (${gap} us)" ||
	fail "guest gap ${gap} us, stop-and-copy ${stop_us} us, move ${all_us} us"
expect_rc 0 "the guest's own checksum holds on b" -- H b vm show wl --verify
expect_rc 0 "registered at b under its UUID" -- H b -j kvm list
expect_eq "in b's vmmig.ko" "$(jq -r --arg n wl '.[] | select(.name == $n) | .uuid' <<<"$out")" "$uuid"
expect_rc 0 "a: migration list" -- H a -j migration list
expect_eq "a lists it done" "$(jq -r 'select(.vm == "wl") | .progress.phase' <<<"$out" | head -n1)" "done"
expect_rc 0 "b: migration show" -- H b migration show wl
expect_match "b shows it incoming" "$out" "wl incoming from a done"

# And back, text output.
expect_rc 0 "move b -> a" -- H b move wl --to 10.77.0.1 --timeout 60 --on-timeout pause
expect_match "one result line" "$(tail -n1 <<<"$out")" "^wl moved to a in [0-9.]+ s, downtime [0-9]+ ms .* rounds at [0-9.]+ MB/s$"
expect_eq "runs at a again" "$(hstate a wl)" running
wait_for 60 gone b wl && pass "gone from b" || fail "b still has wl"
expect_rc 0 "the checksum holds after two moves" -- H a vm show wl --verify
# The destinations let go of the streams once their VMMs had read them
# (the sources, once their moves ended: perhaps just after the CLI's).
let_go() {
	[ "$(sockets a)" -le "$sock_a" ] && [ "$(sockets b)" -le "$sock_b" ] &&
		[ "$(on a ss -Htan state close-wait | wc -l)" = 0 ] &&
		[ "$(on b ss -Htan state close-wait | wc -l)" = 0 ]
}
wait_for 10 let_go && pass "vmmigd holds no more sockets than before, none half-closed" ||
	fail "sockets: a $(sockets a) (was $sock_a), b $(sockets b) (was $sock_b); $(on a ss -Htan state close-wait) $(on b ss -Htan state close-wait)"

# The name taken at the destination: refused, nothing changes on either side.
expect_rc 0 "another wl on b" -- H b vm create wl --memory 4M --workload dirty=0
expect_rc 1 "move onto a taken name" -- H a move wl --to 10.77.0.2
one_line "taken" "^vmmig: move: a VM named wl exists on b"
expect_eq "still running on a" "$(hstate a wl)" running
expect_eq "b's own wl untouched" "$(hstate b wl)" off
expect_rc 0 "delete b's wl" -- H b vm delete wl

# A certificate from another CA: refused by TLS, the VM stays.
mkdir -p "$tmp/rogue"
"$V" host cert ca-create --dir "$tmp/rogue-ca" >/dev/null
"$V" host cert request --name b --dir "$tmp/rogue" >/dev/null
"$V" host cert sign "$tmp/rogue/host.csr" --ca "$tmp/rogue-ca" >/dev/null
cp "$tmp/rogue-ca/ca.crt" "$tmp/rogue/ca.crt"
daemon_down b
daemon_start b --tls-dir "$tmp/rogue"
expect_rc 1 "move to a host of another CA" -- H a move wl --to 10.77.0.2
one_line "other CA" "^vmmig: move: .*not signed by the cluster CA"
expect_eq "still running on a" "$(hstate a wl)" running
daemon_down b
daemon_up b

# Without kTLS (vmmigd --no-ktls, as on a kernel without the tls module):
# the streams go through vmmigd's OpenSSL relay, and a move works as well.
daemon_down a
daemon_up a --no-ktls
daemon_down b
daemon_up b --no-ktls
expect_rc 0 "move a -> b over the relay" -- H a -j move wl --to 10.77.0.2 --streams 2 \
	--timeout 60 --on-timeout pause
expect_match "over the relay" "$(jq -r .migration.transport <<<"$(tail -n1 <<<"$out")")" "OpenSSL relay"
expect_eq "runs at b" "$(hstate b wl)" running
expect_rc 0 "the checksum holds at b" -- H b vm show wl --verify
expect_rc 0 "and back to a" -- H b move wl --to 10.77.0.1 --timeout 60 --on-timeout pause
expect_eq "runs at a" "$(hstate a wl)" running
wait_for 60 gone b wl && pass "gone from b" || fail "b still has wl"
# One byte flipped in stream 0 (the proxy's second connection, of two
# streams: the other must not end before a hears why either): OpenSSL
# refuses the record in b's relay, which tells b's VMM; it fails at once
# as with kTLS (not after waiting for a replacement), b says why to a, and
# the VM runs on at a with its memory.
on a python3 "$REPO/selftests/lib/flip_proxy.py" 7002 10.77.0.2 6600 1000000 2 \
	>"$tmp/proxy.log" 2>&1 &
wait_for 10 grep -q ready "$tmp/proxy.log" || fail "proxy: $(cat "$tmp/proxy.log")"
t=$SECONDS
expect_rc 1 "a corrupted stream over the relay" -- H a move wl --to "127.0.0.1:7002" --streams 2
one_line "corrupted over the relay" "stream 0: read: a TLS record failed its check"
[ $((SECONDS - t)) -lt 30 ] && pass "failed in $((SECONDS - t)) s" ||
	fail "failed after $((SECONDS - t)) s"
pkill -f "flip_proxy.py 7002 "
expect_eq "still running on a" "$(hstate a wl)" running
expect_rc 0 "the checksum holds at a" -- H a vm show wl --verify
wait_for 20 gone b wl && pass "nothing at b" || fail "b has $(ls "$tmp/b/state/wl" 2>&1)"
daemon_down a
daemon_up a
daemon_down b
daemon_up b

H a vm stop wl --force >/dev/null
finish
