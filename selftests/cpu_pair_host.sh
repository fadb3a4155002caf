#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One of the two hosts of selftests/cpu_pair.sh, inside its test VM:
#
#   cpu_pair_host.sh a|b DIR
#
# Both configure the link to the other test VM (10.79.0.1 and .2), and run
# vmmigd with the certificate and settings (with cluster.json) under
# DIR/ROLE, which outlive a reboot of the test VM as a host's /etc would.
# b serves: its vmmigd's socket is also reachable from a over the link
# (socat, TCP 7000: the isolated link between two test VMs only), until a
# asks it to stop (DIR/b.stop). a drives the test, and asks cpu_pair.sh for
# b to come back with another CPU (DIR/b.next holds the phase).
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
role=$1 dir=$2
V=$VMMIG
me=$dir/$role
mac=52:54:00:00:79:0$([ "$role" = a ] && echo 1 || echo 2)
addr=10.79.0.$([ "$role" = a ] && echo 1 || echo 2)
# VMs (their control sockets) on the test VM's tmpfs: 9p has no sockets.
export VMMIG_STATE_DIR=$tmp/state VMMIG_SOCKET=$tmp/vmmigd.sock
mkdir -p "$tmp/state"

[ -d /sys/module/vmmig ] || echo "# vmmig.ko is not loaded here"
modprobe virtio_net 2>/dev/null
dev=$(ip -o link | awk -v m="$mac" '$0 ~ m { sub(":", "", $2); print $2 }')
[ -n "$dev" ] || { echo "# no NIC with MAC $mac"; exit 1; }
ip addr add "$addr/24" dev "$dev" && ip link set "$dev" up || exit 1
"$V" host set migration on >/dev/null 2>&1
"$REPO/build/bin/vmmigd" --tls-dir "$me/tls" --settings "$me/host.json" \
	--cluster-interval 2 >>"$me/vmmigd.log" 2>&1 &
daemon=$!
cleanup_hook() { kill "$daemon" 2>/dev/null; kill "${fwd:-}" 2>/dev/null; wait; }
wait_for 20 test -S "$VMMIG_SOCKET" || { echo "# vmmigd did not start"; tail "$me/vmmigd.log"; exit 1; }

if [ "$role" = b ]; then
	socat TCP-LISTEN:7000,bind="$addr",fork,reuseaddr UNIX-CONNECT:"$VMMIG_SOCKET" &
	fwd=$!
	echo "# b: $(awk '/^vendor_id/ { print $3; exit }' /proc/cpuinfo)," \
		"$(grep -o -w 'avx2\|bmi2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
	touch "$dir/b.ready"
	wait_for 900 test -e "$dir/b.stop"
	rm -f "$dir/b.stop" "$dir/b.ready"
	exit 0
fi

# a: b's vmmigd through the link; a's own vmmig.
socat UNIX-LISTEN:"$tmp/b.sock",fork TCP:10.79.0.2:7000 &
fwd=$!
A() { "$V" "$@"; }
B() { VMMIG_SOCKET=$tmp/b.sock "$V" "$@"; }
b_up() { wait_for 300 test -e "$dir/b.ready" && wait_for 30 B cluster list >/dev/null; }
# b stops; cpu_pair.sh boots it again as phase $1 (another CPU), once
# b_down has seen it unreachable (b's test VM reboots in seconds, before a
# sync could notice).
b_next() { echo "$1" >"$dir/b.next"; rm -f "$dir/b.ready"; touch "$dir/b.stop"; }
b_down() {
	wait_for 60 b_is unreachable && pass "b down" || fail "b: $(state_of)"
	touch "$dir/b.go"
}
state_of() { A -j cluster list | jq -r '.[] | select(.host == "hostb") | if .reachable then "up" else "unreachable" end'; }
b_is() { [ "$(state_of)" = "$1" ]; }
common_names() { A -j cluster features | jq -r '.common | join(" ")'; }
common_lacks() { [[ " $(common_names) " != *" $1 "* ]]; }
errors() { jq -r '[.issues[] | select(.severity == "error") | .id] | map(tostring) | join(" ")' <<<"$out"; }
hcount() { A -j vm show "$1" | jq -r .workload.counter; }
counting() { [ "$(hcount "$1")" -gt "$2" ] 2>/dev/null; }

b_up && pass "b is up" || { fail "b did not come up"; finish; exit; }

# The cluster: its common set is the intersection, avx2 is b's lack.
expect_rc 0 "a adds b" -- A cluster add 10.79.0.2
expect_rc 0 "features" -- A -j cluster features
expect_match "b lacks avx2" "$(jq -r '.hosts[] | select(.host == "hostb") | .lacks | join(" ")' <<<"$out")" "(^| )avx2( |$)"
expect_eq "a lacks nothing" "$(jq -r '.hosts[] | select(.host == "hosta") | .lacks | length' <<<"$out")" 0
common_lacks avx2 && pass "the common set has no avx2" || fail "common: $(common_names)"
mask_set() { [ "$(A -j host policy | jq -r .common_source)" = set ]; }
wait_for 20 mask_set && pass "a's vmmig.ko mask is set" || fail "a's mask not set"
expect_eq "a's vmmig.ko mask: no avx2" \
	"$(( $(A -j host policy | jq -r '.common[] | select(.word == "7.0.ebx") | .value') >> 5 & 1 ))" 0
expect_eq "b agrees" "$(B -j cluster features | jq -r '.common | join(" ")')" "$(common_names)"

# A common-cluster VM moves both ways and keeps its CPUID.
expect_rc 0 "a common-cluster VM" -- A vm create cc --memory 8M --workload dirty=50,wss=1M \
	--processor-compat common-cluster
expect_rc 0 "start it" -- A vm start cc
wait_for 60 counting cc 10 && pass "cc runs" || fail "cc does not count"
words=$(A -j vm show cc | jq -c .processor.words)
[[ " $(A -j vm show cc | jq -r '.processor.features | join(" ")') " != *" avx2 "* ]] &&
	pass "cc sees no avx2" || fail "cc sees avx2"
expect_rc 0 "check cc to b" -- A check cc --to 10.79.0.2
expect_rc 0 "move cc to b" -- A move cc --to 10.79.0.2
expect_eq "b has it, moved in" "$(B -j migration show cc | jq -r '.direction + " " + .progress.phase')" \
	"incoming done"
expect_rc 0 "move cc back, from b" -- B move cc --to 10.79.0.1
expect_eq "running at a again" "$(A -j vm show cc | jq -r .state)" running
expect_eq "the CPUID it started with" "$(A -j vm show cc | jq -c .processor.words)" "$words"

# A VM without a mode sees avx2: refused, named, left running.
expect_rc 0 "a VM in mode off" -- A vm create off1 --memory 8M --workload dirty=50,wss=1M
expect_rc 0 "start it" -- A vm start off1
expect_rc 1 "check off1 to b" -- A -j check off1 --to 10.79.0.2
expect_eq "CPU features" "$(errors)" 2032
msg=$(jq -r '.issues[] | select(.id == 2032) | .message' <<<"$out")
expect_match "names avx2" "$msg" "^hostb lacks [0-9]+ CPU features? off1 sees: .*avx2"
expect_rc 1 "move off1 to b" -- A move off1 --to 10.79.0.2
expect_contains "refused, the same message" "$err" "$msg"
expect_eq "off1 runs at a" "$(A -j vm show off1 | jq -r .state)" running
expect_rc 1 "a mode change while it runs" -- A vm set off1 processor-compat common-cluster
expect_match "refused" "$err" "off1 is running: shut it down"
expect_rc 0 "stop off1" -- A vm stop off1 --force

# b comes back with fewer features (bmi2 gone too): the set shrinks,
# cc keeps what it started with, so it cannot go to b until it restarts.
before=$(common_names)
b_next 2
b_down
b_up && pass "b back" || { fail "b did not come back"; finish; exit; }
wait_for 60 common_lacks bmi2 && pass "the set lost bmi2" || fail "common: $(common_names)"
[[ " $before " == *" bmi2 "* ]] && pass "it had bmi2 before" || fail "bmi2 was not in the set"
wait_for 30 grep -q " 1302 the cluster's common feature set changed .*lost .*bmi2" "$dir/a/vmmigd.log" &&
	pass "event 1302 names bmi2" || fail "no event 1302 naming bmi2"
expect_eq "cc keeps its CPUID" "$(A -j vm show cc | jq -c .processor.words)" "$words"
expect_rc 1 "cc cannot go to b now" -- A -j check cc --to 10.79.0.2
expect_match "for bmi2" "$(jq -r '.issues[] | select(.id == 2032) | .message' <<<"$out")" "bmi2"
expect_rc 0 "stop cc" -- A vm stop cc --force
expect_rc 0 "start cc again" -- A vm start cc
wait_for 60 counting cc 10 && pass "cc runs" || fail "cc does not count"
expect_rc 0 "now it can" -- A check cc --to 10.79.0.2

# b comes back as an Intel CPU: refused, with the advice.
b_next 3
b_down
b_up && pass "b back as Intel" || { fail "b did not come back"; finish; exit; }
expect_rc 1 "check cc to an Intel b" -- A -j check cc --to 10.79.0.2
expect_match "vendor" "$(errors)" "2031"
expect_match "the advice" "$(jq -r '.issues[] | select(.id == 2031) | .fix' <<<"$out")" \
	"shut the VM down and start it on the destination"
expect_rc 1 "move refused" -- A move cc --to 10.79.0.2
expect_contains "says why" "$err" "GenuineIntel"
expect_eq "cc runs at a" "$(A -j vm show cc | jq -r .state)" running
expect_rc 0 "stop cc" -- A vm stop cc --force

b_next 0
finish
