#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `vmmig vm save --live`: the VMM copies memory while the workload guest
# writes it, harvesting dirty pages through vmmig.ko, then pauses for the
# rest. The restored VM has exactly the memory the source had when it
# stopped (memory hash), its counter continues and its own checksum holds.
# Failures leave the source running, with its memory. The VM is registered
# with vmmig.ko under its UUID while it runs, before and after.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
[ -d /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
registered() { "$V" -j kvm list | jq -e --arg n "$1" 'map(select(.name == $n)) | length == 1' >/dev/null; }

# 16 MiB guest writing 3000 pages/s over 8 MiB, at random.
expect_rc 0 "create" -- "$V" vm create lv --memory 16M \
	--workload dirty=3000,wss=8M,pattern=random
expect_rc 0 "start" -- "$V" vm start lv
wait_for 30 counter_above lv 2000 && pass "guest writes" || fail "counter stuck at $(counter lv)"

# The CPUID audit of a running vmmig VM: its CPUID is what KVM supports
# here, so it fits the host's own (common) mask and exceeds x86-64-v2.
expect_rc 0 "audit" -- "$V" vm audit lv
expect_match "fits the common mask, named as registered" "$out" "^lv: pid [0-9]+ cpu-mode common vcpus 1 compliance ok"
expect_rc 0 "audit against minimum" -- "$V" -j vm audit lv --mode minimum
expect_eq "exceeds the minimum mask" "$(jq -r .compliance <<<"$out")" exceeds
[ "$(jq '.excess | length' <<<"$out")" -gt 0 ] && pass "names $(jq -c '[.excess[].feature]' <<<"$out")" ||
	fail "no feature named: $out"
# x86-64-v2 features (also AMD's copies in 0x80000001) are never outside it.
expect_eq "no baseline feature named" "$(jq -c '[.excess[].feature | select(. == "fpu" or . == "cmov" or . == "fxsr" or . == "sse2" or . == "popcnt")]' <<<"$out")" "[]"
expect_rc 2 "audit with a bad mode" -- "$V" vm audit lv --mode strictest
expect_rc 1 "audit of no VM" -- "$V" vm audit nosuch
one_line "no VM" "^vmmig: vm audit: nosuch"

# Bad input first: a paused VM is not saved live; the VM stays as it was.
expect_rc 0 "pause" -- "$V" vm pause lv
expect_rc 1 "live save of a paused VM" -- "$V" vm save lv "$tmp/p.state" --live
one_line "paused" "^vmmig: vm save: lv: a live save needs a running VM"
expect_eq "still paused" "$(state lv)" paused
[ ! -e "$tmp/p.state" ] && pass "no file left" || fail "p.state left behind"
expect_rc 0 "resume" -- "$V" vm resume lv
expect_rc 2 "unknown option" -- "$V" vm save lv "$tmp/x.state" --lve

# The VM runs registered with vmmig.ko, under its UUID.
kvm_uuid() { "$V" -j kvm list | jq -r --arg n "$1" '.[] | select(.name == $n) | .uuid'; }
lv_uuid=$(js lv .uuid)
expect_eq "registered under its UUID" "$(kvm_uuid lv)" "$lv_uuid"

# Its name in vmmig.ko taken by another VM: refused, the VM keeps running.
expect_rc 0 "another VM" -- "$V" vm create other --memory 4M --workload dirty=0
expect_rc 0 "start other" -- "$V" vm start other
pid=$(cat "$VMMIG_STATE_DIR/other/vmm.pid")
expect_rc 0 "register it as lv" -- \
	bash -c "'$V' kvm unregister lv && '$V' kvm unregister other && '$V' kvm register lv --pid $pid"
expect_rc 0 "audit it by name" -- "$V" kvm audit lv
expect_match "audited as registered" "$out" "^lv: pid $pid cpu-mode off vcpus [0-9]+ compliance ok"
expect_rc 1 "live save with the name taken" -- "$V" vm save lv "$tmp/t.state" --live
one_line "name taken" "^vmmig: vm save: lv: vmmig.ko refused to register the VM: .*already registered"
expect_eq "running after the refusal" "$(state lv)" running
c=$(counter lv)
wait_for 20 counter_above lv "$c" && pass "guest still writes" || fail "counter stuck at $c"
[ ! -e "$tmp/t.state" ] && [ ! -e "$tmp/t.state.tmp" ] && pass "no file left" || fail "t.state left behind"
expect_rc 0 "unregister" -- "$V" kvm unregister lv
expect_rc 0 "stop other" -- "$V" vm stop other --force

# The live save itself.
t=$(date +%s%N)
expect_rc 0 "live save" -- "$V" -j vm save lv "$tmp/lv.state" --live --hash
rep=$out
echo "# $(jq -c . <<<"$rep"), $((($(date +%s%N) - t) / 1000000)) ms, $(stat -c %s "$tmp/lv.state") bytes"
expect_eq "saved" "$(state lv)" saved
rounds=$(jq -r .rounds <<<"$rep")
[ "$rounds" -ge 1 ] && pass "pre-copy ran $rounds rounds" || fail "no pre-copy round: $rep"
[ "$(jq -r .resent_pages <<<"$rep")" -gt 0 ] && pass "pages written during the copy were sent again" ||
	fail "nothing resent: $rep"
registered lv && fail "lv still registered with vmmig.ko" || pass "registration gone with the VMM"

restored_intact lv "$tmp/lv.state" "$rep"
expect_eq "restored with its UUID" "$(js lv .uuid)" "$lv_uuid"
expect_eq "registered again under it" "$(kvm_uuid lv)" "$lv_uuid"
expect_rc 0 "stop" -- "$V" vm stop lv --force
finish
