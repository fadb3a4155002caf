#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `vmmig vm` boots a Linux guest of two vCPUs (selftests/linux_common.sh),
# which prints a marker line and reboots, which ends the VM.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/linux_common.sh
source "$(dirname "$0")/linux_common.sh"

export VMMIG_STATE_DIR=$tmp/state
V=$VMMIG
cleanup_hook() { [ ! -e "$VMMIG_STATE_DIR/lx" ] || "$V" vm stop lx --force; }
state() { "$V" -j vm show "$1" | jq -r .state; }
gone() { sleep 1; [ "$(state "$1")" = off ]; }

linux_initramfs "$tmp/initramfs.gz" '
echo "VMMIG-LINUX-UP $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online)"
reboot -f'

expect_rc 0 "create a Linux VM of two vCPUs" -- "$V" vm create lx --memory 128M --vcpus 2 \
	--kernel "$LINUX_KERNEL" --initrd "$tmp/initramfs.gz" --cmdline "$LINUX_CMDLINE"
ecx=$(jq '.cpuid[] | select(.[0] == 1) | .[5]' "$VMMIG_STATE_DIR/lx/vm.json")
expect_eq "CPUID 1: hypervisor, no x2APIC, no TSC-deadline" \
	$(((ecx >> 31) & 1))$(((ecx >> 21) & 1))$(((ecx >> 24) & 1)) 100
t=$(date +%s%N)
expect_rc 0 "start" -- "$V" vm start lx
if ! wait_for 170 gone lx; then
	# The documented nested stall: the guest (and often the whole test VM)
	# stops making progress. Anything else is a failure.
	last=$(tail -n 1 "$VMMIG_STATE_DIR/lx/console.log" | tr -d '\r')
	[ "$(state lx)" = running ] && ! grep -qa "VMMIG-LINUX-UP" "$VMMIG_STATE_DIR/lx/console.log" &&
		skip "the Linux guest stalled nested under TCG (Documentation/admin-guide/vm.rst), console ends: $last"
	fail "not off after 170 s: $(state lx)"
fi
pass "the guest ended the VM after $((($(date +%s%N) - t) / 1000000)) ms"
log=$(cat "$VMMIG_STATE_DIR/lx/console.log")
expect_match "booted to the marker with both vCPUs" "$log" "VMMIG-LINUX-UP $(uname -r) cpus=2 online=0-1"
echo "# $(grep -a VMMIG-LINUX-UP <<<"$log")"
expect_eq "off after reboot" "$(state lx)" off
expect_match "reboot reached the VMM" "$(cat "$VMMIG_STATE_DIR/lx/vmm.log" 2>/dev/null)" \
	"the guest reset \(reboot\)"
finish
