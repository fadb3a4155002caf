#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Migration networks: two namespace hosts joined by their management
# bridge (10.77.0.0/24) and by two more veth pairs, one per migration
# network (10.81.0.0/24 priority 1, 10.82.0.0/24 priority 2). Moves take the
# best network both hosts have; one that does not answer is an event and a
# fallback to the next, shown by `migration show`; use-any-network off
# without a shared network refuses the move (and `check` says why); the
# networks persist across a restart of vmmigd.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }

# link N: veth pair n$N between a (10.8N.0.1) and b (10.8N.0.2).
link() {
	ip link add "n$1$NS_PREFIX" netns "$(ns a)" type veth peer name "n$1$NS_PREFIX" \
		netns "$(ns b)" || return 1
	ip -n "$(ns a)" addr add "10.8$1.0.1/24" dev "n$1$NS_PREFIX"
	ip -n "$(ns b)" addr add "10.8$1.0.2/24" dev "n$1$NS_PREFIX"
	ip -n "$(ns a)" link set "n$1$NS_PREFIX" up && ip -n "$(ns b)" link set "n$1$NS_PREFIX" up
}
link 1 && link 2 || { fail "links"; finish; exit; }
net1=10.81.0.0/24 net2=10.82.0.0/24

# Bad input: one line, exit 2 (usage) or 1 (refused), nothing kept.
expect_rc 1 "add without a prefix" -- H a network add 10.81.0.1
one_line "no prefix" "^vmmig: network add: .*ADDR/PREFIX"
expect_rc 1 "add a bad address" -- H a network add 10.81.300.0/24
one_line "bad address" "^vmmig: network add: .*'10.81.300.0' is not an IPv4 or IPv6 address"
expect_rc 1 "add a bad prefix length" -- H a network add 10.81.0.0/33
one_line "bad length" "^vmmig: network add: .*prefix length.*33"
expect_rc 2 "priority 0" -- H a network add "$net1" --priority 0
one_line "priority 0" "^vmmig: network add: .*priority.*out of range"
expect_rc 1 "del what is not there" -- H a network del "$net1"
one_line "not there" "^vmmig: network del: 10.81.0.0/24 is not a migration network of a"
expect_eq "nothing kept" "$(H a -j network list | jq -c .networks)" "[]"
expect_eq "use-any-network on by default" "$(H a -j network list | jq -r .use_any_network)" true

# The networks, on both hosts; host bits are cleared.
for h in a b; do
	expect_rc 0 "$h: add $net1" -- H $h network add 10.81.0.7/24 --priority 1
	expect_rc 0 "$h: add $net2 (after it)" -- H $h network add "$net2"
done
expect_rc 1 "added twice" -- H a network add "$net1"
one_line "twice" "is a migration network already"
expect_rc 0 "list" -- H a -j network list
expect_eq "a's networks, best first" "$(jq -c '[.networks[] | [.network, .priority, .address, .interface]]' <<<"$out")" \
	"[[\"$net1\",1,\"10.81.0.1\",\"n1$NS_PREFIX\"],[\"$net2\",2,\"10.82.0.1\",\"n2$NS_PREFIX\"]]"
expect_rc 0 "text list" -- H a network list
expect_match "text" "$(sed -n 2p <<<"$out")" "^10.81.0.0/24 +1 +10.81.0.1 +n1$NS_PREFIX$"
grep -q " 1004 migration network 10.81.0.0/24 added, priority 1" "$tmp/a/vmmigd.log" &&
	pass "event 1004" || fail "no event 1004"

# Kept across a restart of vmmigd.
daemon_down a && daemon_up a || fail "a's vmmigd again"
expect_eq "kept" "$(H a -j network list | jq -r '[.networks[].network] | join(" ")')" "$net1 $net2"

expect_rc 0 "create on a" -- H a vm create wl --memory 8M --workload dirty=50,wss=2M
expect_rc 0 "start on a" -- H a vm start wl
wait_for 30 hcounter_above a wl 100 && pass "guest writes on a" || fail "counter stuck"

# streams_of HOST: each stream's network, as migration show has it.
streams_of() { H "$1" -j migration show wl | jq -r '[.streams[].network] | join(" ")'; }

# eBPF: loaded and pinned by each vmmigd (ip netns exec gives each a /sys
# of its own: its bpffs is seen from its mount namespace).
expect_eq "a: eBPF loaded" "$(H a -j stats | jq -r .bpf.loaded)" true
in_a() { nsenter -t "${host_pid[a]}" -m -r "$@"; }
pins=$(in_a ls /sys/fs/bpf/vmmig/a 2>&1 | tr '\n' ' ')
expect_eq "pinned under /sys/fs/bpf/vmmig/a" "$pins" "by_tuple counters events vmmig_egress vmmig_ingress "
progs() { bpftool prog show -j | jq '[.[] | select(.name == "vmmig_egress")] | length'; }
expect_eq "a's and b's programs" "$(progs)" 2

# The best network: both streams over 10.81, marked AF41 (DSCP 34, TOS
# 0x88) on the wire, as b's end of the link sees it.
on b tcpdump -i "n1$NS_PREFIX" -nn -v -c 20 "tcp and src host 10.81.0.1 and greater 1400" \
	>"$tmp/dump" 2>/dev/null &
dump=$!
sleep 1
expect_rc 0 "move a -> b" -- H a -j move wl --to 10.77.0.2 --streams 2
res=$(tail -n1 <<<"$out")
dump_done() { ! kill -0 "$dump" 2>/dev/null; }
wait_for 10 dump_done
kill "$dump" 2>/dev/null; wait "$dump" 2>/dev/null
expect_eq "20 packets seen at b" "$(grep -c '^[0-9].* IP (tos ' "$tmp/dump")" 20
expect_eq "all marked AF41" "$(grep -c '^[0-9].* IP (tos 0x88' "$tmp/dump")" 20
# The kernel's count of the streams' payload against the engine's.
sent=$(jq -r .migration.progress.sent_bytes <<<"$res")
counted=$(H a -j migration show wl | jq '[.streams[].bpf.tx_bytes] | add')
echo "# engine sent $sent bytes, eBPF counted $counted"
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'; }
within "$counted" "$sent" 1 && pass "eBPF counts within 1 % of the engine's" ||
	fail "eBPF $counted, engine $sent"
net_tx() { H "$1" -j stats | jq -r --arg n "$2" '[.networks[] | select(.network == $n) | .tx_bytes] | add // 0'; }
expect_eq "the network's total" "$(net_tx a "$net1")" "$counted"
expect_eq "nothing over 10.82" "$(net_tx a "$net2")" 0
rx=$(H b -j migration show wl | jq '[.streams[].bpf.rx_bytes] | add')
within "$rx" "$counted" 1 && pass "b received what a sent ($rx)" || fail "b counted $rx, a $counted"
expect_eq "b's network" "$(H b -j migration show wl | jq -r '[.streams[].network] | unique | join(" ")')" "$net1"
expect_eq "over $net1" "$(streams_of a)" "$net1 $net1"
expect_match "from a's address in it" "$(H a -j migration show wl | jq -r '.streams[0].local')" "^10\.81\.0\.1:[0-9]+$"
expect_match "to b's" "$(H a -j migration show wl | jq -r '.streams[0].remote')" "^10\.81\.0\.2:6600$"
expect_rc 0 "text show" -- H a migration show wl
expect_match "names the network" "$out" "stream 1: network 10.81.0.0/24, 10.81.0.1:[0-9]+ -> 10.81.0.2:6600"
expect_eq "runs at b" "$(hstate b wl)" running

# 10.81 dead at a's end: b's streams fall back to 10.82, with an event.
ip -n "$(ns a)" link set "n1$NS_PREFIX" down
b_net1=$(net_tx b "$net1")
expect_rc 0 "move b -> a, 10.81 down" -- H b move wl --to 10.77.0.1 --streams 2
expect_eq "over $net2" "$(streams_of b)" "$net2 $net2"
expect_eq "b: nothing more sent over 10.81" "$(net_tx b "$net1")" "$b_net1"
[ "$(net_tx b "$net2")" -gt 1000000 ] && pass "b: sent over 10.82" || fail "b: $(net_tx b "$net2") over 10.82"
expect_eq "the fallback shows" "$(H b -j migration show wl | jq -r '.fallbacks | join(" ")')" "$net1"
expect_rc 0 "text show" -- H b migration show wl
expect_contains "says so" "$out" "fell back from network 10.81.0.0/24"
grep -q " 1108 wl: stream 0: network 10.81.0.0/24 failed (.*); falling back to 10.82.0.0/24" \
	"$tmp/b/vmmigd.log" && pass "event 1108" || fail "no event 1108: $(grep 1108 "$tmp/b/vmmigd.log")"
expect_eq "runs at a" "$(hstate a wl)" running
wait_for 30 hcounter_above a wl "$(hcounter a wl)" && pass "guest writes on a" || fail "counter stuck"
ip -n "$(ns a)" link set "n1$NS_PREFIX" up

# The live view while a move runs (held to 0.25 MB/s): each stream, its
# network and its rate, from the eBPF counters.
expect_rc 0 "move a -> b, slowly, detached" -- H a move wl --to 10.77.0.2 --bandwidth 250K --downtime-limit 2000 --detach
streaming() { [ "$(H a -j stats | jq '[.streams[] | select(.vm == "wl")] | length')" -ge 1 ]; }
wait_for 30 streaming && pass "its stream runs" || fail "no stream: $(H a -j stats)"
expect_rc 0 "monitor --traffic" -- H a -j monitor --traffic --interval 1 --count 2
sample=$(tail -n1 <<<"$out")
expect_eq "two samples" "$(wc -l <<<"$out")" 2
expect_eq "the stream and its network" "$(jq -r '[.streams[] | select(.vm == "wl") | .network] | join(" ")' <<<"$sample")" "$net1"
[ "$(jq '[.streams[] | select(.vm == "wl") | .tx_bytes] | add' <<<"$sample")" -gt 0 ] &&
	pass "its bytes counted" || fail "no bytes: $sample"
expect_rc 0 "text view" -- H a monitor --traffic --interval 1 --count 2
expect_match "a rate" "$out" "wl stream 0 over 10.81.0.0/24: out +[0-9.]+ MB/s"
expect_match "the network's line" "$out" "network 10.81.0.0/24 +out +[0-9.]+ MB/s in +[0-9.]+ MB/s, [0-9]+ retransmits"
moved() { [ "$(H a -j migration show wl | jq -r .progress.phase)" = "done" ]; }
wait_for 120 moved && pass "moved" || fail "not done: $(H a -j migration show wl | jq -c .progress)"
expect_eq "runs at b" "$(hstate b wl)" running
expect_rc 0 "back to a" -- H b move wl --to 10.77.0.1

# 10.81 fails in the middle of a move (a's end set down during the
# pre-copy): both streams go on over 10.82, the move completes, the memory
# hashes equal at the switchover (--verify), the VM runs at b.
expect_rc 0 "move a -> b, slowly, detached" -- H a move wl --to 10.77.0.2 --streams 2 \
	--bandwidth 500K --downtime-limit 2000 --verify --detach
sending() { [ "$(H a -j stats | jq '[.streams[] | select(.vm == "wl") | .tx_bytes] | add // 0')" -gt 300000 ]; }
wait_for 60 sending && pass "its streams carry" || fail "no stream carries: $(H a -j stats)"
ip -n "$(ns a)" link set "n1$NS_PREFIX" down
t0=$SECONDS
ended() { [[ $(H a -j migration show wl | jq -r .progress.phase) =~ ^(done|failed|cancelled|unknown)$ ]]; }
wait_for 180 ended || fail "still moving: $(H a -j migration show wl | jq -c .progress)"
echo "# ended $((SECONDS - t0)) s after the link went down"
expect_eq "done" "$(H a -j migration show wl | jq -r '.progress.phase + " " + (.error // "")')" "done "
expect_eq "over $net2 now" "$(streams_of a)" "$net2 $net2"
expect_eq "the fallback shows" "$(H a -j migration show wl | jq -r '.fallbacks | join(" ")')" "$net1 $net1"
grep -q " 1108 wl: stream [01]: network 10.81.0.0/24 failed mid-move (.*); moving it to 10.82.0.0/24" \
	"$tmp/a/vmmigd.log" && pass "event 1108, mid-move" || fail "no event 1108: $(grep 1108 "$tmp/a/vmmigd.log")"
grep -q " 1204 wl: stream [01] comes again, over network 10.82.0.0/24" "$tmp/b/vmmigd.log" &&
	pass "event 1204 at b" || fail "no event 1204 at b"
expect_eq "runs at b" "$(hstate b wl)" running
wait_for 60 gone a wl && pass "gone from a" || fail "a still has wl"
c=$(hcounter b wl)
wait_for 30 hcounter_above b wl "$c" && pass "guest writes on b" || fail "counter stuck on b"
ip -n "$(ns a)" link set "n1$NS_PREFIX" up
expect_rc 0 "back to a" -- H b move wl --to 10.77.0.1

# Equal priorities: streams spread over both.
for h in a b; do
	expect_rc 0 "$h: $net2 priority 1" -- H $h network set "$net2" priority 1
done
expect_rc 2 "set priority 1001" -- H a network set "$net2" priority 1001
expect_rc 2 "set what" -- H a network set "$net2" mtu 1
one_line "set what" "^vmmig: network set: unknown setting 'mtu'"
expect_rc 0 "move a -> b, equal priorities" -- H a move wl --to 10.77.0.2 --streams 4
expect_eq "spread" "$(streams_of a)" "$net1 $net2 $net1 $net2"

# No network shared, any network allowed: the address given.
expect_rc 0 "a: only 10.82" -- H a network del "$net1"
expect_rc 0 "b: only 10.81" -- H b network del "$net2"
expect_rc 0 "move b -> a over any network" -- H b move wl --to 10.77.0.1 --streams 1
expect_eq "over the address given" "$(streams_of b)" "any"
# ...and with use-any-network off at the destination: refused, VM kept.
expect_rc 0 "a: use-any-network off" -- H a host set use-any-network off
expect_eq "off" "$(H a -j network list | jq -r .use_any_network)" false
expect_rc 1 "check a -> b" -- H a -j check wl --to 10.77.0.2
expect_eq "check names it" "$(jq -r '[.issues[].id] | map(tostring) | join(" ")' <<<"$out")" 2050
expect_match "and why" "$(jq -r '.issues[0].message' <<<"$out")" "^a and b share no migration network, and a has use-any-network off"
expect_rc 1 "move refused" -- H a move wl --to 10.77.0.2
one_line "refused" "^vmmig: move: a and b share no migration network, and a has use-any-network off"
expect_eq "still runs at a" "$(hstate a wl)" running
[ ! -e "$tmp/b/state/wl" ] && pass "nothing at b" || fail "b has wl"
expect_rc 0 "a: use-any-network on" -- H a host set use-any-network on


# vmmigd's stop takes its programs away: nothing pinned, no tc filter left.
filters() {
	local d dir
	for d in "n1$NS_PREFIX" "n2$NS_PREFIX" "br$NS_PREFIX"; do
		for dir in ingress egress; do
			tc -n "$(ns a)" -j filter show dev "$d" "$dir"
		done
	done | jq -s 'add | length'
}
[ "$(filters)" -gt 0 ] && pass "a has tc filters" || fail "a has no tc filter"
# A process that keeps a's mount namespace (and its bpffs) after vmmigd.
nsenter -t "${host_pid[a]}" -m -r sleep 600 &
holder=$!
wait_for 5 nsenter -t "$holder" -m -r test -e /sys/fs/bpf/vmmig/a || fail "no holder"
daemon_down a
expect_eq "no tc filter left on a's devices" "$(filters)" 0
expect_eq "a's programs gone, b's stay" "$(progs)" 1
nsenter -t "$holder" -m -r test -e /sys/fs/bpf/vmmig/a && fail "a's pins stay" || pass "a's pins removed"
kill "$holder"

# Without eBPF (no CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): said once, and
# moves work as before.
VMMIGD_WRAP=("${NO_BPF[@]}")
daemon_up a || fail "a's vmmigd without eBPF"
VMMIGD_WRAP=(env)
expect_eq "a: not loaded" "$(H a -j stats | jq -r .bpf.loaded)" false
expect_match "says why" "$(H a -j stats | jq -r .bpf.error)" "."
expect_eq "event 1005, once" "$(grep -c ' 1005 eBPF programs not loaded: .*migrations go on without' "$tmp/a/vmmigd.log")" 1
expect_rc 0 "move a -> b without eBPF" -- H a move wl --to 10.77.0.2
expect_eq "runs at b" "$(hstate b wl)" running
expect_eq "no counts" "$(H a -j migration show wl | jq -c '[.streams[].bpf]')" "[null]"

expect_rc 0 "stop" -- H b vm stop wl --force
finish
