#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# selftests/vm-run's freeze detection, for real, on the build host: a test VM
# of one vCPU first keeps its vCPU busy for longer than the freeze limit (the
# heartbeat must go on), then stops making progress (a SCHED_FIFO busy loop
# above the heartbeat, RT throttling off).  vm-run must report the freeze one
# limit later with status 123 and a capture of the vCPU's registers and code.
# VMMIG_KERNEL picks the kernel (vm-run's default otherwise).
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }
cd "$REPO" || exit 1

limit=20 busy=30
run=$REPO/build/vm-run/freeze-test.$$
rm -rf "$run"
cleanup_hook() { rm -rf "$run"; }

t0=$SECONDS
expect_rc 123 "a guest that stops making progress" -- \
	env VM_RUN_FREEZE=$limit VM_RUN_DIR="$run" selftests/vm-run -c 1 \
	--no-module -t 300 -- bash -c "
		timeout $busy bash -c 'while :; do :; done'
		echo -1 >/proc/sys/kernel/sched_rt_runtime_us &&
		exec chrt -f 50 bash -c 'while :; do :; done'"
took=$((SECONDS - t0))
# Boot takes ~5 s, the capture ~3 s; a loaded host (2 cores, several test
# VMs) has made both take 20 s and more.
if ((took >= busy + limit && took <= busy + limit + 90)); then
	pass "reported after $took s"
else
	fail "reported after $took s, want $((busy + limit))..$((busy + limit + 90)) s"
fi
expect_contains "says where the capture is" "$err" \
	"vm-run: test VM froze (no heartbeat for $limit s); vCPU capture in $run/freeze.txt"

capture=$(cat "$run/freeze.txt" 2>/dev/null)
last=$(sed -n 's/^last heartbeat: guest uptime \([0-9]*\).*/\1/p' <<<"$capture")
if [[ -n $last ]] && ((last >= busy)); then
	pass "the heartbeat went on while the vCPU was busy (last at $last s)"
else
	fail "the heartbeat stopped before the guest froze (last at '${last}' s)"
fi
expect_match "the capture has the registers" "$capture" \
	$'\nRIP=[0-9a-f]{16} RFL=[0-9a-f]{8} [^\n]* CPL=[0-3]'
expect_match "the capture has the code at RIP" "$capture" \
	$'\n## x/16i \\$pc \\(vCPU 0\\)\n0x[0-9a-f]+: '
expect_match "the capture has samples taken while running" "$capture" \
	$'\nvCPU 0: RIP=[0-9a-f]{16}'
[[ -e $run/qmp.in ]] && fail "vm-run left its QMP pipes behind"
finish
