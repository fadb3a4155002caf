#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A cluster of three namespace hosts in one kernel, each with its vmmigd: a
# with this kernel's KVM features; b claiming a real AMD EPYC (Zen 2) CPU
# from a dump of its CPUID (--advertise-cpu: its features that this host
# also has); c claiming an Intel CPU. Membership both ways and by gossip, the
# common set as the intersection of the AMD members' features, pushed into
# each member's vmmig.ko as the common-cluster mask, a member whose features
# change, one that goes away, removal, persistence, and bad input.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

DUMPS=$REPO/selftests/data/cpuid
IV=(--cluster-interval 2)
host_up a 1 "${IV[@]}" || { fail "host a"; finish; exit; }
host_up b 2 "${IV[@]}" --advertise-cpu "$DUMPS/amd-zen2-rome.txt" || { fail "host b"; finish; exit; }
host_up c 3 "${IV[@]}" --advertise-cpu "$DUMPS/intel-haswell-ep.txt" || { fail "host c"; finish; exit; }

# The members a host lists, sorted: "a b".
members() { H "$1" -j cluster list | jq -r '[.[].host] | sort | join(" ")'; }
# A member's state as host $1 sees it: "up" or "unreachable".
state_of() {
	H "$1" -j cluster list |
		jq -r --arg h "$2" '.[] | select(.host == $h) | if .reachable then "up" else "unreachable" end'
}
# Word $3 of member $2's features as host $1 knows them, as a number.
word_of() {
	printf '%d' "$(H "$1" -j cluster list |
		jq -r --arg h "$2" --arg w "$3" '.[] | select(.host == $h) | .features.words[$w]')"
}
# Word $2 of host $1's common-cluster mask in its vmmig.ko.
mask_of() {
	H "$1" -j host policy | jq -r --arg w "$2" '.common[] | select(.word == $w) | .value'
}
common_word() {
	printf '%d' "$(H "$1" -j cluster features | jq -r --arg w "$2" '.common_words.words[$w]')"
}
# On a failure: what the hosts know and said.
diag() {
	local h
	for h in "$@"; do
		echo "# $h's view: $(H "$h" -j cluster list | jq -c '[.[] | {host, reachable, last_seen, error}]')"
		tail -n 8 "$tmp/$h/vmmigd.log" | sed "s/^/# $h: /"
	done
	date +'# now %s'
}
# For wait_for, which runs its command again and again: tests that look anew.
members_are() { [ "$(members "$1")" = "$2" ]; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
common_is() { [ "$(common_word "$1" "$2")" = "$3" ]; }
mask_is() { [ "$(mask_of "$1" "$2")" = "$3" ]; }
# vmmig.ko's common mask: "set" by vmmigd, or following the "host".
source_is() { [ "$(H "$1" -j host policy | jq -r .common_source)" = "$2" ]; }
WORDS="1.ecx 1.edx 7.0.ebx 7.0.ecx 7.0.edx 7.1.eax 0xd.0.eax 0xd.1.eax 0x80000001.ecx 0x80000001.edx 0x80000008.ebx"

# Alone: itself only, its own features.
expect_eq "a alone" "$(members a)" "a"
expect_rc 0 "features of a alone" -- H a cluster features
expect_match "counts itself" "$out" "common to 1 host of AuthenticAMD"
expect_eq "b claims AMD" "$(H b -j cluster list | jq -r '.[0].vendor')" AuthenticAMD
expect_eq "c claims Intel" "$(H c -j cluster list | jq -r '.[0].vendor')" GenuineIntel

# Bad input: one line, exit 1, nothing changed.
expect_rc 2 "add without a host" -- H a cluster add
expect_rc 1 "add itself" -- H a cluster add 10.77.0.1
one_line "itself" "^vmmig: cluster add: .*is this host"
expect_rc 1 "nothing listens" -- H a cluster add 10.77.0.2:6601
one_line "unreachable" "^vmmig: cluster add: cannot add 10.77.0.2:6601: .*refused"
expect_rc 1 "remove a stranger" -- H a cluster remove nosuch
one_line "stranger" "^vmmig: cluster remove: nosuch is not a member"
expect_eq "a still alone" "$(members a)" "a"

# a adds b: both count each other; the common set is the intersection.
expect_rc 0 "a adds b" -- H a cluster add 10.77.0.2
expect_match "add prints the members" "$out" "^HOST .*LAST SEEN"
expect_eq "a has a b" "$(members a)" "a b"
expect_eq "b has a b" "$(members b)" "a b"
expect_eq "b up at a" "$(state_of a b)" up
# Each pushes its mask once it has answered: wait for both.
wait_for 20 source_is a set && wait_for 20 source_is b set && pass "both masks set" ||
	fail "a: $(H a -j host policy | jq -r .common_source), b: $(H b -j host policy | jq -r .common_source)"
ok=1
list=$(H a -j cluster list)
feat=$(H a -j cluster features)
pol_a=$(H a -j host policy)
pol_b=$(H b -j host policy)
for w in $WORDS; do
	fa=$(jq -r --arg w "$w" '.[] | select(.host == "a") | .features.words[$w]' <<<"$list")
	fb=$(jq -r --arg w "$w" '.[] | select(.host == "b") | .features.words[$w]' <<<"$list")
	want=$(( fa & fb ))
	got=$(printf '%d' "$(jq -r --arg w "$w" '.common_words.words[$w]' <<<"$feat")")
	ma=$(jq -r --arg w "$w" '.common[] | select(.word == $w) | .value' <<<"$pol_a")
	mb=$(jq -r --arg w "$w" '.common[] | select(.word == $w) | .value' <<<"$pol_b")
	[ "$got" = "$want" ] || { ok=0; echo "# $w: common $got, a & b $want"; }
	[ "$ma" = "$want" ] || { ok=0; echo "# $w: a's vmmig.ko mask $ma, want $want"; }
	[ "$mb" = "$want" ] || { ok=0; echo "# $w: b's vmmig.ko mask $mb, want $want"; }
done
[ $ok = 1 ] && pass "common set = a & b, in both vmmig.ko" || fail "common set"
expect_eq "a's mask is set" "$(H a -j host policy | jq -r .common_source)" set
# Zen 2 has no AVX-512: if a's KVM offers avx512f, a lacks nothing and b lacks it.
if H a -j cluster list | jq -e '.[] | select(.host == "a") | .features.words["7.0.ebx"]' >/dev/null &&
   [ $(( $(word_of a a 7.0.ebx) & (1 << 16) )) -ne 0 ]; then
	expect_rc 0 "features" -- H a -j cluster features
	expect_match "b lacks avx512f" "$(jq -r '.hosts[] | select(.host == "b") | .lacks | join(" ")' <<<"$out")" "avx512f"
else
	expect_rc 0 "features" -- H a -j cluster features
	expect_eq "a lacks nothing b has" "$(jq -r '.hosts[] | select(.host == "a") | .lacks | length' <<<"$out")" 0
fi
expect_rc 0 "text view" -- H a cluster features
expect_match "names the features" "$out" "common to 2 hosts of AuthenticAMD: [0-9]+ features"
expect_match "per host" "$out" "b: [0-9]+ features, lacks"

# c (Intel) joins through a; b learns of it by gossip; c is not counted.
before=$(common_word a 1.ecx)
expect_rc 0 "a adds c" -- H a cluster add 10.77.0.3
wait_for 40 members_are b "a b c" && pass "b learned c" || { fail "b has $(members b)"; diag a b; }
wait_for 40 state_is b c up && pass "b reaches c" || fail "b: c $(state_of b c)"
expect_rc 0 "features" -- H a -j cluster features
expect_match "c not counted" "$(jq -r '.hosts[] | select(.host == "c") | .why' <<<"$out")" "another CPU vendor"
expect_eq "c leaves the common set alone" "$(common_word a 1.ecx)" "$before"

# b comes back as a Zen 1 (a "new CPU" after a reboot): the set follows.
daemon_down b
wait_for 40 state_is a b unreachable && pass "b unreachable" || { fail "b still up"; diag a; }
expect_match "says why" "$(H a -j cluster list | jq -r '.[] | select(.host == "b") | .error')" "refused|reset"
expect_eq "b's features still count" "$(common_word a 1.ecx)" "$before"
daemon_up b "${IV[@]}" --advertise-cpu "$DUMPS/amd-zen1-naples.txt"
wait_for 40 state_is a b up && pass "b back" || fail "b not back"
zen1=$(word_of a b 7.0.ebx)
wait_for 40 common_is a 7.0.ebx $(( $(word_of a a 7.0.ebx) & zen1 )) &&
	pass "the set follows b's new CPU" || fail "7.0.ebx $(common_word a 7.0.ebx)"
wait_for 20 mask_is a 7.0.ebx "$(common_word a 7.0.ebx)" && pass "into a's vmmig.ko" ||
	fail "a's mask $(mask_of a 7.0.ebx), the set $(common_word a 7.0.ebx)"
wait_for 20 grep -q " 1302 the cluster's common feature set changed .*lost" "$tmp/a/vmmigd.log" &&
	pass "event 1302 says what was lost" || fail "no event 1302 with a change in a's log"

# Persistence: a restarts and still has its members.
daemon_down a
daemon_up a "${IV[@]}"
expect_eq "a kept its members" "$(members a)" "a b c"
wait_for 40 state_is a b up && pass "a reaches b again" || fail "a: b $(state_of a b)"

# Removal while c is down: b is told and is alone, its mask follows it
# again; c, back, learns it from a (or from b), and its gossip does not
# bring b back.
daemon_down c
expect_rc 0 "a removes b" -- H a cluster remove b
expect_eq "a: a c" "$(members a)" "a c"
expect_eq "b alone" "$(members b)" "b"
wait_for 20 source_is b host && pass "b's mask follows b" || fail "b's mask is still set"
daemon_up c "${IV[@]}" --advertise-cpu "$DUMPS/intel-haswell-ep.txt"
wait_for 40 members_are c "a c" && pass "c, back, forgot b" || { fail "c has $(members c)"; diag c; }
sleep 5
expect_eq "gossip does not bring b back to a" "$(members a)" "a c"
expect_eq "nor to c" "$(members c)" "a c"
expect_eq "b still alone" "$(members b)" "b"
# Added again, it is a member again.
expect_rc 0 "a adds b again" -- H a cluster add 10.77.0.2
expect_eq "a: a b c" "$(members a)" "a b c"
wait_for 40 members_are c "a b c" && pass "c learned b again" || fail "c has $(members c)"

finish
