#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `vmmig vm` runs a Linux guest (selftests/linux_common.sh) with a virtio-blk
# disk and a virtio-net NIC on a tap in a network namespace that stands for
# the host. The guest reads what the host wrote on its disk and writes back,
# pings the host, then ticks on its console once a second and obeys a
# command the host writes into its disk, while its shell on the serial
# console runs what the host types. The VM is saved and restored, then saved
# live under traffic and restored: the ticks go on, the disk, the network and
# the shell still work.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/linux_common.sh
source "$(dirname "$0")/linux_common.sh"

export VMMIG_STATE_DIR=$tmp/state
V=$VMMIG
ns=vmmig-lx-$$
cleanup_hook() {
	if [ $failures -gt 0 ] || [ "${1:-}" = skip ]; then
		echo "# vmm.log:"; sed 's/^/#   /' "$VMMIG_STATE_DIR/lx/vmm.log"
		echo "# console.log ends:"; console | tail -n 25 | sed 's/^/#   /'
	fi
	[ ! -e "$VMMIG_STATE_DIR/lx" ] || "$V" vm stop lx --force
	ip netns del "$ns"
}
state() { "$V" -j vm show "$1" | jq -r .state; }
attached() { [ "$("$V" -j vm show lx | jq .console_attached)" = "$1" ]; }
# type_in LINE: types LINE and Enter into the guest's console from a pipe.
type_in() { printf '%s\n' "$1" | "$V" vm console lx; }
gone() { sleep 1; [ "$(state "$1")" = off ]; }
console() { tr -d '\r' <"$VMMIG_STATE_DIR/lx/console.log"; }
said() { console | grep -qa "$1"; }
# A tick may follow the shell's prompt or an echoed key on its line.
last_tick() { console | grep -ao 'TICK [0-9]*$' | tail -n 1 | cut -d' ' -f2; }
ticks_past() { [ "$(last_tick)" -ge "$1" ] 2>/dev/null; }
inns() { ip netns exec "$ns" "$@"; }
# The command sector: 2 MiB into the disk.
command() { printf '%-512s' "$1" | dd of="$disk" bs=512 seek=4096 conv=notrunc status=none; }

# The host's side: a tap in its own namespace, 10.0.2.1/24.
[ -c /dev/net/tun ] || modprobe tun || skip "no /dev/net/tun and no tun module"
ip netns add "$ns" || skip "cannot create a network namespace"
inns ip tuntap add tap0 mode tap || skip "cannot create a tap device"
inns ip addr add 10.0.2.1/24 dev tap0
inns ip link set tap0 up
disk=$tmp/disk.img
word=HOST-$RANDOM$RANDOM
truncate -s 8M "$disk"
printf '%s' "$word" | dd of="$disk" conv=notrunc status=none
command ""

linux_initramfs "$tmp/initramfs.gz" '
echo "VMMIG-LINUX-UP $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "DISK-READ $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 15)"
echo "GUEST-$(cat /proc/sys/kernel/random/boot_id)" | dd of=/dev/vda bs=512 seek=2048 conv=sync 2>/dev/null
sync; blockdev --flushbufs /dev/vda
echo "DISK-BACK $(dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c 42)"
for e in /sys/class/input/event*; do
	grep -q "Power Button" "$e/device/name" && ev=/dev/input/${e##*/}
done
# As the init of a distribution does with KEY_POWER from the ACPI power button:
[ -n "$ev" ] && (dd if="$ev" bs=24 count=1 >/dev/null 2>&1; echo POWER-BUTTON; poweroff -f) &
ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
ping -c 2 -W 10 10.0.2.1 >/dev/null 2>&1 && echo PING-OK || echo PING-FAILED
(i=0
while :; do
	echo "TICK $i"; i=$((i + 1))
	blockdev --flushbufs /dev/vda
	case $(dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | head -c 8) in
	HELLO*) [ -n "$seen" ] || echo DISK-COMMAND-SEEN; seen=1 ;;
	esac
	sleep 1
done) &
# An interactive shell on the serial console, with it as controlling tty.
while :; do setsid cttyhack sh; done' virtio_mmio virtio_blk virtio_net button evdev

expect_rc 0 "create a Linux VM with a disk and a NIC" -- inns "$V" vm create lx --memory 128M \
	--vcpus 1 --kernel "$LINUX_KERNEL" --initrd "$tmp/initramfs.gz" --cmdline "$LINUX_CMDLINE" \
	--disk "$disk" --nic tap=tap0,mac=52:54:00:12:34:56
ecx=$(jq '.cpuid[] | select(.[0] == 1) | .[5]' "$VMMIG_STATE_DIR/lx/vm.json")
expect_eq "CPUID 1: hypervisor, no x2APIC, no TSC-deadline" \
	$(((ecx >> 31) & 1))$(((ecx >> 21) & 1))$(((ecx >> 24) & 1)) 100
t=$(date +%s%N)
expect_rc 0 "start" -- inns "$V" vm start lx
if ! wait_for 240 said 'TICK 1$'; then
	# The documented nested stall: the guest (and often the whole test VM)
	# stops making progress. Anything else is a failure.
	last=$(console | tail -n 1)
	[ "$(state lx)" = running ] && ! said "VMMIG-LINUX-UP" && cleanup_hook skip &&
		skip "the Linux guest stalled nested under TCG (Documentation/admin-guide/vm.rst), console ends: $last"
	fail "no tick after 240 s: $(state lx); console ends: $last"
	finish
	exit
fi
pass "the guest booted and ticks after $((($(date +%s%N) - t) / 1000000)) ms"
log=$(console)
echo "# $(grep -a VMMIG-LINUX-UP <<<"$log")"
expect_contains "booted to the marker" "$log" "VMMIG-LINUX-UP $(uname -r) cpus=1"
expect_contains "the guest read what the host wrote on its disk" "$log" "DISK-READ $word"
expect_match "the guest read back what it wrote" "$log" "DISK-BACK GUEST-[0-9a-f-]{36}"
written=$(dd if="$disk" bs=512 skip=2048 count=1 status=none | head -c 42)
expect_contains "the host finds what the guest wrote" "$log" "DISK-BACK $written"
expect_contains "the guest pinged the host over virtio-net" "$log" "PING-OK"
expect_rc 0 "the host pings the guest" -- inns busybox ping -c 2 -W 10 10.0.2.15

# The serial console: the guest's shell runs what the host types, a line
# longer than the UART's FIFO arrives whole, an attached client sees output.
expect_rc 0 "type a command into the console" -- type_in 'echo SHELL-$((6*7))'
wait_for 60 said SHELL-42 && pass "the guest's shell ran it" ||
	fail "no SHELL-42 within 60 s; console ends: $(console | tail -n 3 | tr '\n' '|')"
long=$(printf 'x%.0s' $(seq 300))
expect_rc 0 "type a 300-character line" -- type_in "s=$long; echo LEN-\${#s}"
wait_for 60 said LEN-300 && pass "all 300 characters arrived" ||
	fail "no LEN-300 within 60 s; console ends: $(console | tail -n 3 | tr '\n' '|')"
mkfifo "$tmp/con.in"
"$V" vm console lx <"$tmp/con.in" >"$tmp/con.out" 2>&1 &
con=$!
exec 9>"$tmp/con.in"
wait_for 10 attached true && pass "a client attaches" || fail "no client attached"
printf 'echo ATTACHED-$((7*6))\n' >&9
wait_for 60 grep -qa ATTACHED-42 "$tmp/con.out" && pass "the attached client sees the answer" ||
	fail "the client saw no ATTACHED-42: $(tr -d '\r' <"$tmp/con.out" | tail -n 3 | tr '\n' '|')"
exec 9>&-
wait "$con" && pass "the client detaches when its input ends" || fail "the client ended with $?"

# Typed into a paused VM, a line waits in the UART's receive FIFO (16 bytes),
# which the save carries: the restored guest reads it.
expect_rc 0 "pause" -- "$V" vm pause lx
# With Enter, exactly the FIFO's 16 bytes: more would wait in the socket
# and the client with them (timeout, exit 124).
printf 'echo FF$((4*4))\n' >"$tmp/typed"
expect_rc 0 "type 16 bytes into the paused VM" -- timeout 30 "$V" vm console lx <"$tmp/typed"
said FF16 && fail "the paused guest ran it" || pass "the paused guest did not run it"

# Save and restore: the console goes on from where it was.
expect_rc 0 "save" -- "$V" vm save lx "$tmp/lx.state"
before=$(last_tick)
expect_eq "saved VM is not running" "$(state lx)" saved
expect_rc 0 "restore" -- inns "$V" vm restore "$tmp/lx.state"
if wait_for 60 ticks_past $((before + 2)); then
	pass "the console goes on after restore (tick $before, then $(last_tick))"
else
	fail "no tick after $before within 60 s of the restore; console ends: $(console | tail -n 1)"
fi
expect_eq "each tick once" "$(console | grep -ac "TICK $((before + 1))$")" 1
wait_for 60 said FF16 && pass "the restored guest read the line typed before the save" ||
	fail "no FF16 within 60 s of the restore"
expect_rc 0 "type into the restored guest" -- type_in 'echo RESTORED-$((5*5))'
wait_for 60 said RESTORED-25 && pass "its shell keeps working" || fail "no RESTORED-25 within 60 s"
expect_rc 0 "the host pings the restored guest" -- inns busybox ping -c 2 -W 10 10.0.2.15

# Live save while the host pings the guest and the guest reads its disk:
# the pages the devices write (received frames, disk reads, used rings) must
# be in the stream, which the memory hash of the restored VM shows.
if [ -e /sys/module/vmmig ]; then
	inns busybox ping -i 0.1 -c 100 -q 10.0.2.15 >/dev/null 2>&1 &
	pinger=$!
	expect_rc 0 "live save under traffic" -- "$V" -j vm save lx "$tmp/live.state" --live --hash
	rep=$out
	echo "# $(jq -c . <<<"$rep")"
	wait "$pinger"
	expect_rc 0 "restore paused" -- inns "$V" vm restore "$tmp/live.state" --paused
	expect_eq "memory is what the source had when it stopped" \
		"$("$V" -j vm show lx | jq -r .memory_hash)" "$(jq -r .memory_hash <<<"$rep")"
	before=$(last_tick)
	expect_rc 0 "resume" -- "$V" vm resume lx
	wait_for 60 ticks_past $((before + 2)) && pass "ticks go on after the live save" ||
		fail "no tick after $before within 60 s; console ends: $(console | tail -n 1)"
	expect_rc 0 "the host pings the guest after the live save" -- \
		inns busybox ping -c 2 -W 10 10.0.2.15
	expect_rc 0 "type into the guest after the live save" -- type_in 'echo LIVE-$((8*8))'
	wait_for 60 said LIVE-64 && pass "its shell works after the live save" ||
		fail "no LIVE-64 within 60 s"
else
	fail "vmmig.ko is not loaded: no live save"
fi

# The guest reads its disk after the restores too.
command HELLO
wait_for 60 said DISK-COMMAND-SEEN && pass "the restored guest reads what the host writes on its disk" ||
	fail "the guest did not see the command on its disk within 60 s"

# vm stop: the ACPI power button, which the guest's init answers by powering
# off (reboot: linux_power.sh).
expect_rc 0 "stop: the power button" -- "$V" vm stop lx
expect_eq "off" "$(state lx)" off
expect_contains "the guest saw the power button" "$(console)" POWER-BUTTON
expect_match "the guest powered off" "$(cat "$VMMIG_STATE_DIR/lx/vmm.log" 2>/dev/null)" \
	"the guest powered off"
finish
