#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A Linux guest powers off and reboots through the VMM's ACPI tables
# (tools/vmmig/vmm/acpi.c). `poweroff -f` ends the VM cleanly, without the
# panic of a kernel that cannot power off; `reboot -f` boots the same
# definition again in the same VMM, which stays running. Each guest shows
# that it found its ACPI tables and every vCPU (the MADT). Needs a test VM of
# one vCPU, see selftests/linux_common.sh.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/linux_common.sh
source "$(dirname "$0")/linux_common.sh"

export VMMIG_STATE_DIR=$tmp/state
V=$VMMIG
# The power-off guest boots two vCPUs (SMP through the MADT) in a 6.1 test
# VM; the reboot guest one. Nested guests froze the whole 6.12 test VM now
# and then (Documentation/admin-guide/vm.rst): fewer nested vCPUs there.
case $(uname -r) in
6.1.*) VCPUS=2 ;;
*) VCPUS=1; echo "# $(uname -r) test VM: one vCPU per nested guest" ;;
esac
cleanup_hook() {
	local vm
	for vm in off rb; do
		[ ! -e "$VMMIG_STATE_DIR/$vm/vmm.pid" ] || "$V" vm stop "$vm" --force
	done
}
state() { "$V" -j vm show "$1" | jq -r .state; }
gone() { sleep 1; [ "$(state "$1")" = off ]; }
console() { tr -d '\r' <"$VMMIG_STATE_DIR/$1/console.log"; }
vmm_log() { cat "$VMMIG_STATE_DIR/$1/vmm.log" 2>/dev/null; }
boots() { console "$1" | grep -ac '^VMMIG-LINUX-UP'; }
booted() { [ "$(boots "$1")" -ge "$2" ]; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# The guest says what it found, then does what vmmig.test= on its command
# line asks.
linux_initramfs "$tmp/initramfs.gz" '
act=
for a in $(cat /proc/cmdline); do case $a in vmmig.test=*) act=${a#vmmig.test=} ;; esac; done
echo "VMMIG-LINUX-UP cpus=$(grep -c ^processor /proc/cpuinfo) acpi=$(ls /sys/firmware/acpi/tables | tr "\n" ,) boot=$(cat /proc/sys/kernel/random/boot_id)"
case $act in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
esac
echo "VMMIG-LINUX-STILL-UP"
sleep 100000'

# create NAME WORD: a VM whose guest does WORD once booted.
create() {
	expect_rc 0 "create $1 ($VCPUS vCPUs, vmmig.test=$2)" -- "$V" vm create "$1" --memory 128M \
		--vcpus $VCPUS --kernel "$LINUX_KERNEL" --initrd "$tmp/initramfs.gz" \
		--cmdline "$LINUX_CMDLINE vmmig.test=$2"
}

# found NAME: what the guest's first boot says it found.
found() {
	local up

	up=$(console "$1" | grep -a -m1 '^VMMIG-LINUX-UP')
	echo "# $up"
	expect_contains "$1: the guest sees its $VCPUS vCPUs" "$up" " cpus=$VCPUS "
	expect_match "$1: the guest found the FADT, MADT and DSDT" "$up" \
		" acpi=(.*,)?APIC,(.*,)?DSDT,(.*,)?FACP,"
	expect_contains "$1: ACPI offers S5" "$(console "$1")" "(supports S0 S5)"
}

# fail_boot NAME WHY: the guest did not get where it should; the console
# says how far it got.
fail_boot() {
	fail "$1: $2; state $(state "$1")"
	console "$1" | tail -n 20 | sed 's/^/#   /'
	finish
	exit
}

# Power-off: the VMM ends, the VM is off.
create off poweroff
t=$(date +%s%N)
expect_rc 0 "start off" -- "$V" vm start off
wait_for 300 gone off || fail_boot off "not off after 300 s"
pass "off: the guest powered the VM off $(ms_since "$t") ms after the start"
found off
expect_contains "off: the VMM saw the power-off" "$(vmm_log off)" "off: the guest powered off"
log=$(console off)
expect_eq "off: no panic" "$(grep -ac 'Kernel panic' <<<"$log")" 0
expect_eq "off: poweroff did not return" "$(grep -ac VMMIG-LINUX-STILL-UP <<<"$log")" 0

# Reboot: a second boot in the same VMM; the guest goes on rebooting.
VCPUS=1
create rb reboot
t=$(date +%s%N)
expect_rc 0 "start rb" -- "$V" vm start rb
pid=$(cat "$VMMIG_STATE_DIR/rb/vmm.pid")
# A console client attached from the start stays attached across the reboot.
mkfifo "$tmp/con.in"
"$V" vm console rb <"$tmp/con.in" >"$tmp/con.out" 2>&1 &
con=$!
exec 9>"$tmp/con.in"
wait_for 300 booted rb 1 || fail_boot rb "no marker after 300 s"
t1=$(date +%s%N)
pass "rb: first boot after $(ms_since "$t") ms"
wait_for 300 booted rb 2 || fail_boot rb "no second boot 300 s after the first"
pass "rb: second boot $(ms_since "$t1") ms after the first"
found rb
show=$("$V" -j vm show rb)
expect_eq "rb: running after the reboot" "$(jq -r .state <<<"$show")" running
uptime_ms=$(($(jq -r .uptime_ns <<<"$show") / 1000000))
since_ms=$(ms_since "$t1")
if [ "$uptime_ms" -le $((since_ms + 1000)) ]; then
	pass "rb: the uptime restarted (${uptime_ms} ms, first boot seen ${since_ms} ms ago)"
else
	fail "rb: uptime ${uptime_ms} ms, but the first boot was seen ${since_ms} ms ago"
fi
expect_eq "rb: the same VMM process" "$(cat "$VMMIG_STATE_DIR/rb/vmm.pid")" "$pid"
expect_eq "rb: the console client is still attached" "$(jq .console_attached <<<"$show")" true
n=$(tr -d '\r' <"$tmp/con.out" | grep -ac '^VMMIG-LINUX-UP')
[ "$n" -ge 2 ] && pass "rb: it saw both boots ($n markers)" || fail "rb: it saw $n boots"
ids=$(console rb | sed -n 's/^VMMIG-LINUX-UP .* boot=//p' | head -n 2 | sort -u | wc -l)
expect_eq "rb: two boots, two boot ids" "$ids" 2
log=$(vmm_log rb)
expect_contains "rb: the guest reset through the ACPI reset register" "$log" \
	"rb: the guest reset (reboot): the VM restarts"
expect_eq "rb: not through the i8042" "$(grep -c i8042 <<<"$log")" 0
expect_eq "rb: no panic" "$(console rb | grep -ac 'Kernel panic')" 0
expect_rc 0 "rb: stop --force" -- "$V" vm stop rb --force
expect_eq "rb: off after stop --force" "$(state rb)" off
wait_for 10 eval '! kill -0 $con 2>/dev/null' && pass "rb: the console client ends with the VM" ||
	fail "rb: the console client is still there"
exec 9>&-
wait "$con"
expect_eq "rb: its input (still open) was cut short: exit 1" "$?" 1
finish
