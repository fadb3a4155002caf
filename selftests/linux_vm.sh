#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `vmmig vm` boots a Linux guest: the stock Debian kernel that runs the test
# VM, with a busybox initramfs built here, prints a marker line and reboots,
# which ends the VM. Nested under the test VM's KVM (kvm_amd on QEMU's TCG)
# the guest needs xAPIC and a test VM of one vCPU (selftests/vm-run -c 1:
# QEMU 7.2 delivers an injected interrupt twice otherwise): see "Linux
# guests" in Documentation/admin-guide/vm.rst.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"

[ -c /dev/kvm ] || skip "no /dev/kvm"
command -v jq >/dev/null || skip "jq is not installed"
kernel=/boot/vmlinuz-$(uname -r)
[ -r "$kernel" ] || skip "no readable $kernel"
busybox=$(command -v busybox) || skip "busybox is not installed (busybox-static)"
file -L "$busybox" | grep -q 'statically linked' || skip "$busybox is not static (busybox-static)"
for t in cpio gzip; do command -v $t >/dev/null || skip "$t is not installed"; done

export VMMIG_STATE_DIR=$tmp/state
V=$VMMIG
cleanup_hook() { [ ! -e "$VMMIG_STATE_DIR/lx" ] || "$V" vm stop lx --force; }
state() { "$V" -j vm show "$1" | jq -r .state; }
gone() { sleep 1; [ "$(state "$1")" = off ]; }

mkdir -p "$tmp/root/bin" "$tmp/root/proc"
cp "$busybox" "$tmp/root/bin/busybox"
cat >"$tmp/root/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo "VMMIG-LINUX-UP $(/bin/busybox uname -r) cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo) uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"
/bin/busybox reboot -f
EOS
chmod +x "$tmp/root/init"
(cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.gz"

cmdline="console=ttyS0 panic=-1 loglevel=7 nokaslr nox2apic lapic=notscdeadline"
expect_rc 0 "create a Linux VM" -- "$V" vm create lx --memory 128M --vcpus 1 \
	--kernel "$kernel" --initrd "$tmp/initramfs.gz" --cmdline "$cmdline"
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
expect_match "booted to the marker" "$log" "VMMIG-LINUX-UP $(uname -r) cpus=1 "
echo "# $(grep -a VMMIG-LINUX-UP <<<"$log")"
expect_eq "off after reboot" "$(state lx)" off
expect_match "reboot reached the VMM" "$(cat "$VMMIG_STATE_DIR/lx/vmm.log" 2>/dev/null)" \
	"the guest reset \(reboot\)"
finish
