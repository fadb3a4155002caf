#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Convergence of `vmmig vm save --live` (Documentation/design/convergence.rst):
# a workload guest that writes faster than pre-copy sends, under a low
# downtime limit, converges once its vCPUs are throttled, and restores
# intact; with a limit it cannot meet, --timeout 2 --on-timeout cancel fails
# with the reason, and the VM runs on, unthrottled, its memory intact;
# --on-timeout pause switches over anyway.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
[ -d /sys/module/vmmig ] || skip "vmmig.ko is not loaded"

rate=${VMMIG_CONVERGE_RATE:-200000}
expect_rc 0 "create" -- "$V" vm create cv --memory 24M \
	--workload "dirty=$rate,wss=16M,pattern=random"
expect_rc 0 "start" -- "$V" vm start cv
wait_for 30 counter_above cv 1000 && pass "guest writes" || fail "counter stuck at $(counter cv)"

# Bad input: the options need --live and valid values.
expect_rc 2 "options without --live" -- "$V" vm save cv "$tmp/x.state" --timeout 2
one_line "without --live" "need --live"
expect_rc 2 "bad policy" -- "$V" vm save cv "$tmp/x.state" --live --on-timeout wait
one_line "bad policy" "--on-timeout: 'wait' is not cancel, throttle or pause"
expect_rc 2 "zero limit" -- "$V" vm save cv "$tmp/x.state" --live --downtime-limit 0
expect_eq "still running" "$(state cv)" running

# A low limit: rounds stop shrinking, the throttle rises until they do.
t=$(date +%s%N)
expect_rc 0 "live save, 20 ms limit" -- "$V" -j vm save cv "$tmp/cv.state" --live --hash \
	--downtime-limit 20
rep=$out
echo "# dirty=$rate: $(jq -c . <<<"$rep"), $((($(date +%s%N) - t) / 1000000)) ms"
thr=$(jq -r .throttle_pct <<<"$rep")
[ "$thr" -gt 0 ] && pass "converged by throttling the vCPUs to $thr %" ||
	fail "no throttle: $rep"
[ "$(jq -r .expected_downtime_ms <<<"$rep")" -le 20 ] && pass "expected downtime within the limit" ||
	fail "expected downtime over the limit: $rep"
expect_eq "saved" "$(state cv)" saved
restored_intact cv "$tmp/cv.state" "$rep"

# The prediction, sampled without dirty logging, of the same guest.
expect_rc 0 "predict" -- "$V" -j vm predict cv --throughput 4M --downtime-limit 20 --seconds 2
echo "# predict: $out"
jq -e '.dirty_rate > 0 and .total_pages == 6144 and .wss_pages <= 6144 and .wss_pages > 0 and
	.data_pages > 0 and .data_pages <= 6144 and
	(.verdict == "converges" or .verdict == "converges-throttled" or .verdict == "never")' \
	<<<"$out" >/dev/null && pass "a prediction from the sampled rate" || fail "predict: $out"
expect_rc 1 "predict of no VM" -- "$V" vm predict nosuch --throughput 4M
one_line "no VM" "^vmmig: vm predict: nosuch: sampling the dirty rate: "

# A limit below the device state's own cost: never met. Cancel at 2 s.
t=$(date +%s%N)
expect_rc 1 "cancelled at the timeout" -- "$V" vm save cv "$tmp/c.state" --live \
	--downtime-limit 1 --timeout 2 --on-timeout cancel
took=$((($(date +%s%N) - t) / 1000000))
echo "# cancel after $took ms: $err"
one_line "cancel" "^vmmig: vm save: cv: did not converge in 2 s: expected downtime [0-9]+ ms, limit 1 ms"
[ "$took" -lt 30000 ] && pass "gave up in $took ms" || fail "took $took ms"
expect_eq "runs on" "$(state cv)" running
[ ! -e "$tmp/c.state" ] && [ ! -e "$tmp/c.state.tmp" ] && pass "no file left" || fail "c.state left"
c=$(counter cv)
wait_for 20 counter_above cv $((c + rate / 10)) && pass "guest writes on" ||
	fail "counter stuck near $c"
expect_rc 0 "memory intact: the guest's checksum holds" -- "$V" vm show cv --verify

# The same with pause: it switches over above the limit, and restores intact.
expect_rc 0 "paused at the timeout" -- "$V" -j vm save cv "$tmp/p.state" --live --hash \
	--downtime-limit 1 --timeout 2 --on-timeout pause
rep=$out
echo "# pause: $(jq -c . <<<"$rep")"
[ "$(jq -r .expected_downtime_ms <<<"$rep")" -gt 1 ] && pass "switched over above the limit" ||
	fail "expected downtime: $rep"
restored_intact cv "$tmp/p.state" "$rep"
expect_rc 0 "stop" -- "$V" vm stop cv --force
finish
