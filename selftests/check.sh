#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pre-flight checks (vmmig check, and the same checks at the start of every
# move) between namespace hosts: a and b with this kernel's KVM; c claiming
# an AMD EPYC 7551P (Zen 1) from its CPUID dump (--advertise-cpu: what it
# has of this host's features); d claiming an Intel CPU. Each refusal names
# the problem with its stable ID and a fix; a refused move leaves the VM
# running where it was.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

DUMPS=$REPO/selftests/data/cpuid
[ -c /dev/net/tun ] || modprobe tun || skip "no /dev/net/tun and no tun module"
host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }
host_up c 3 --advertise-cpu "$DUMPS/amd-zen1-naples.txt" || { fail "host c"; finish; exit; }
host_up d 4 --advertise-cpu "$DUMPS/intel-haswell-ep.txt" || { fail "host d"; finish; exit; }

# The IDs of the issues of a `check -j` result, sorted: "2031 2032".
ids() { jq -r '[.issues[].id] | sort | map(tostring) | join(" ")' <<<"$out"; }
errors() { jq -r '[.issues[] | select(.severity == "error") | .id] | sort | map(tostring) | join(" ")' <<<"$out"; }

common_set_at() { [ "$(H "$1" -j host policy | jq -r .common_source)" = set ]; }

# A tap in a bridge at a, so the NIC check has something to compare.
on a ip tuntap add tapck mode tap
on a ip link add brck type bridge
on a ip link set tapck master brck
expect_rc 0 "create on a" -- H a vm create wl --memory 8M --workload dirty=50,wss=1M \
	--nic tap=tapck
expect_rc 0 "start on a" -- H a vm start wl
wait_for 30 hcounter_above a wl 10 && pass "wl runs" || fail "wl does not count"

# Bad input.
expect_rc 2 "check without --to" -- H a check wl
one_line "no --to" "^vmmig: check: where to\? --to HOST"
expect_rc 2 "a bad name" -- H a check 'w/l' --to 10.77.0.2
expect_rc 1 "unknown VM" -- H a -j check nosuch --to 10.77.0.2
expect_eq "2000" "$(ids)" 2000

# b: the same CPU; only the tap is missing there.
expect_rc 1 "check wl to b" -- H a -j check wl --to 10.77.0.2
expect_eq "not compatible" "$(jq -r .compatible <<<"$out")" false
expect_eq "the peer's name" "$(jq -r .peer <<<"$out")" b
expect_eq "only the NIC" "$(errors)" 2040
expect_match "names the tap" "$(jq -r '.issues[0].message' <<<"$out")" "b has no network device tapck"
on b ip tuntap add tapck mode tap
expect_rc 1 "tap outside a bridge" -- H a -j check wl --to 10.77.0.2
expect_match "says the bridge" "$(jq -r '.issues[0].message' <<<"$out")" "in no bridge \(at the source it is in brck\)"
on b ip link add brck type bridge
on b ip link set tapck master brck
expect_rc 0 "compatible with b" -- H a check wl --to 10.77.0.2
expect_match "text result" "$(head -n1 <<<"$out")" "^wl to 10.77.0.2 \(b\): compatible$"

# c: an older CPU than this host's KVM offers: the features are named.
on c ip tuntap add tapck mode tap
on c ip link add brck type bridge
on c ip link set tapck master brck
expect_rc 1 "check wl to c" -- H a -j check wl --to 10.77.0.3
expect_eq "CPU features" "$(errors)" 2032
msg=$(jq -r '.issues[] | select(.id == 2032) | .message' <<<"$out")
expect_match "names them" "$msg" "^c lacks [0-9]+ CPU features? wl sees: [a-z0-9_]"
expect_match "how to fix" "$(jq -r '.issues[] | select(.id == 2032) | .fix' <<<"$out")" "processor-compat common-cluster"
H a check wl --to 10.77.0.3 >"$tmp/out" 2>&1
expect_match "text lists the error" "$(cat "$tmp/out")" "error 2032: c lacks"
# move runs the same checks and refuses with the same message.
expect_rc 1 "move wl to c" -- H a move wl --to 10.77.0.3
expect_contains "refused with the message" "$err" "$msg"
expect_eq "still runs on a" "$(hstate a wl)" running
[ ! -e "$tmp/c/state/wl" ] && pass "nothing at c" || fail "c has wl"

# In a cluster with c, a VM in common-cluster mode sees only what both have:
# it can go to c, and back; its CPUID stays what it started with.
expect_rc 0 "a and c form a cluster" -- H a cluster add 10.77.0.3
wait_for 20 common_set_at a && pass "a's common mask is the cluster's" || fail "a's mask not set"
expect_rc 0 "a common-cluster VM" -- H a vm create cc --memory 8M --workload dirty=50,wss=1M \
	--processor-compat common-cluster
expect_rc 0 "start it" -- H a vm start cc
wait_for 30 hcounter_above a cc 10 && pass "cc runs" || fail "cc does not count"
words=$(hjs a cc .processor.words)
expect_rc 0 "cc can go to c" -- H a check cc --to 10.77.0.3
expect_rc 0 "move cc to c" -- H a move cc --to 10.77.0.3
expect_eq "runs at c" "$(hstate c cc)" running
expect_eq "the same CPUID at c" "$(hjs c cc .processor.words)" "$words"
expect_rc 0 "and back" -- H c move cc --to 10.77.0.1
expect_eq "runs at a" "$(hstate a cc)" running
# b, outside the cluster, with a common mask narrower than cc's CPUID:
# vmmig.ko there would refuse cc, so the check does.
w=$(printf '%d' "$(hjs a cc '.processor.words["7.0.ebx"]')")
expect_rc 0 "b's common mask narrowed by hand" -- H b host policy set common 7.0.ebx $(( w & (w - 1) ))
expect_rc 1 "cc cannot go to b" -- H a -j check cc --to 10.77.0.2
expect_eq "2033" "$(errors)" 2033
expect_match "names the mask" "$(jq -r '.issues[] | select(.id == 2033) | .message' <<<"$out")" \
	"^b's common-cluster mask lacks 1 CPU feature cc sees: "
expect_rc 0 "b's mask back" -- H b host policy set common default
expect_rc 0 "stop cc" -- H a vm stop cc --force
# wl (mode off) still cannot: it sees all of a's features.
expect_rc 1 "wl still cannot go to c" -- H a -j check wl --to 10.77.0.3
expect_eq "CPU features" "$(errors)" 2032

# A disk the destination cannot see (gone from the shared path).
truncate -s 1M "$tmp/dk.img"
expect_rc 0 "a VM with a disk" -- H a vm create dk --memory 8M --workload dirty=1 --disk "$tmp/dk.img"
expect_rc 0 "start it" -- H a vm start dk
rm -f "$tmp/dk.img"
expect_rc 1 "check dk to b" -- H a -j check dk --to 10.77.0.2
expect_eq "2041" "$(errors)" 2041
expect_match "names the disk" "$(jq -r '.issues[] | select(.id == 2041) | .message' <<<"$out")" \
	"^b cannot read and write disk $tmp/dk.img: No such file or directory"
expect_rc 0 "stop dk" -- H a vm stop dk --force

# d: another vendor.
expect_rc 1 "check wl to d" -- H a -j check wl --to 10.77.0.4
expect_match "vendor" "$(errors)" "2031"
expect_match "says why" "$(jq -r '.issues[] | select(.id == 2031) | .message' <<<"$out")" \
	"AuthenticAMD CPU and d a GenuineIntel one"
expect_match "the advice" "$(jq -r '.issues[] | select(.id == 2031) | .fix' <<<"$out")" \
	"shut the VM down and start it on the destination"

# Migration off at b, a VM of that name there, the VM paused, and itself.
expect_rc 0 "migration off at b" -- H b host set migration off
expect_rc 1 "check" -- H a -j check wl --to 10.77.0.2
expect_eq "2003" "$(errors)" 2003
expect_rc 0 "migration on at b" -- H b host set migration on
expect_rc 0 "a VM named wl at b" -- H b vm create wl --memory 4M --workload dirty=0
expect_rc 1 "check" -- H a -j check wl --to 10.77.0.2
expect_eq "2022" "$(errors)" 2022
expect_rc 0 "delete it" -- H b vm delete wl
expect_rc 0 "pause wl" -- H a vm pause wl
expect_rc 1 "check a paused VM" -- H a -j check wl --to 10.77.0.2
expect_eq "2001" "$(errors)" 2001
expect_rc 0 "resume wl" -- H a vm resume wl
expect_rc 1 "check to itself" -- H a -j check wl --to 10.77.0.1
expect_eq "2012" "$(errors)" 2012
expect_rc 1 "nothing listens" -- H a -j check wl --to 10.77.0.2:6601
expect_eq "2010" "$(errors)" 2010

# A certificate of another CA: authentication refused.
mkdir -p "$tmp/other"
"$V" host cert ca-create --dir "$tmp/other/ca" --name "another CA" >/dev/null
"$V" host cert request --name e --dir "$tmp/other" >/dev/null
"$V" host cert sign "$tmp/other/host.csr" --ca "$tmp/other/ca" >/dev/null
cp "$tmp/other/ca/ca.crt" "$tmp/other/ca.crt"
daemon_down b
daemon_up b --tls-dir "$tmp/other"
expect_rc 1 "check to a host of another CA" -- H a -j check wl --to 10.77.0.2
expect_eq "2011" "$(errors)" 2011

expect_eq "wl ran throughout" "$(hstate a wl)" running
expect_rc 0 "its memory is intact" -- H a vm show wl --verify
finish
