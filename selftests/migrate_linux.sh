#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A Linux guest (selftests/linux_common.sh) with a virtio-net NIC moves from
# host a to host b (selftests/mig_common.sh) while a client holds a TCP
# connection into it. The network: each host has a tap of the same name
# (tap0) in a bridge of its own, joined by a veth pair to the bridge of a
# third namespace, the client's (10.0.3.1); the guest is 10.0.3.15. The
# guest echoes what the client sends (busybox nc), the client sends a line
# every 100 ms and waits for it back, before, during and after the move: the
# connection stays up and no line is lost or changed. The destination VMM
# announces the guest on its tap when it resumes (5 RARP requests, which the
# client's bridge is seen to receive), so that bridge sends to b's port at
# once. The largest gap between two replies is
# the downtime the client sees. The guest's console goes on at b.
#
# Its disk moves with it (--include-storage, issue 14): the guest writes
# it throughout, a numbered 4 KiB record after another over 128 slots,
# each flushed (conv=fsync: the VMM's fdatasync) before the next; vmmigd
# compares the disk's hashes at both ends at the switchover (--verify);
# afterwards the guest, asked on TCP port 8, stops writing and reads back
# every slot: each must hold the last record it wrote there.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/linux_common.sh
source "$(dirname "$0")/linux_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

[ -c /dev/net/tun ] || modprobe tun || skip "no /dev/net/tun and no tun module"
GUEST=10.0.3.15
cleanup_hook() {
	local h
	[ -z "${client:-}" ] || kill "$client" 2>/dev/null
	[ -z "${sniffer:-}" ] || kill "$sniffer" 2>/dev/null
	if [ $failures -gt 0 ]; then
		for h in a b; do
			[ -e "$tmp/$h/state/lx" ] || continue
			echo "# $h: vmm.log:"; sed 's/^/#   /' "$tmp/$h/state/lx/vmm.log"
			echo "# $h: console.log ends:"; console "$h" | tail -n 10 | sed 's/^/#   /'
		done
		[ ! -e "$tmp/client.log" ] || { echo "# client ends:"; tail -n 5 "$tmp/client.log"; }
	fi
	mig_cleanup
}
console() { tr -d '\r' 2>/dev/null <"$tmp/$1/state/lx/console.log"; }
last_tick() { console "$1" | grep -ao 'TICK [0-9]*$' | tail -n 1 | cut -d' ' -f2; }
ticks_past() { [ "$(last_tick "$1")" -ge "$2" ] 2>/dev/null; }
replies() { grep -c '^[0-9.]* [0-9]*$' "$tmp/client.log"; }
replies_past() { [ "$(replies)" -gt "$1" ]; }

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }
c=$(ns c)
ip netns add "$c"
ip -n "$c" link set lo up
ip -n "$c" link add brg type bridge
ip -n "$c" addr add 10.0.3.1/24 dev brg
ip -n "$c" link set brg up
for h in a b; do
	ip -n "$(ns "$h")" tuntap add tap0 mode tap || skip "cannot create a tap device"
	ip -n "$(ns "$h")" link add lbr type bridge
	ip -n "$(ns "$h")" link set tap0 master lbr
	ip link add "u$h" netns "$(ns "$h")" type veth peer name "c$h" netns "$c"
	ip -n "$(ns "$h")" link set "u$h" master lbr
	ip -n "$c" link set "c$h" master brg
	for l in tap0 lbr "u$h"; do ip -n "$(ns "$h")" link set "$l" up; done
	ip -n "$c" link set "c$h" up
done

# The guest's disk writer and, on port 8, its check of what it wrote.
cat >"$tmp/writer" <<'EOF'
i=0
while [ ! -e /tmp/stopw ]; do
	printf '%-4096s' "W$i." | dd of=/dev/vda bs=4096 seek=$((i % 128)) conv=notrunc,fsync 2>/dev/null ||
		{ echo "WRITE-FAILED $i"; break; }
	# Renamed into place: the readback never reads it half written.
	echo $i >/tmp/lastw.new && mv /tmp/lastw.new /tmp/lastw
	i=$((i + 1))
	# Paced: a busy guest would starve the source VMM's end (SCHED_IDLE)
	# on a test VM of one CPU.
	sleep 0.1
done
touch /tmp/wdone
EOF
cat >"$tmp/readback" <<'EOF'
# Every slot written once at least (more than 128 records) before the
# writer stops, however fast the move was; at most 60 s more.
n=0
lastw() {
	l=$(cat /tmp/lastw 2>/dev/null)
	case $l in "" | *[!0-9]*) echo 0 ;; *) echo "$l" ;; esac
}
while [ "$(lastw)" -lt 140 ] && [ $n -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
touch /tmp/stopw
while [ ! -e /tmp/wdone ]; do sleep 0.1; done
last=$(cat /tmp/lastw)
blockdev --flushbufs /dev/vda
bad=0 s=0
while [ $s -lt 128 ] && [ $s -le $last ]; do
	want=W$((last - (last - s) % 128))
	got=$(dd if=/dev/vda bs=4096 skip=$s count=1 2>/dev/null | head -c 16 | cut -d. -f1)
	[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "SLOT $s: $got, wrote $want"; }
	s=$((s + 1))
done
echo "READBACK $((last + 1)) records, $bad bad"
EOF
linux_initramfs "$tmp/initramfs.gz" '
echo "VMMIG-LINUX-UP $(uname -r)"
ip link set eth0 up; ip addr add '"$GUEST"'/24 dev eth0
nc -ll -p 7 -e cat &
mkdir -p /tmp
cat >/bin/writer <<"EOF"
'"$(cat "$tmp/writer")"'
EOF
cat >/bin/readback <<"EOF"
'"$(cat "$tmp/readback")"'
EOF
sh /bin/writer &
nc -ll -p 8 -e sh /bin/readback &
i=0
while :; do echo "TICK $i"; i=$((i + 1)); sleep 1; done' virtio_mmio virtio_net virtio_blk
truncate -s 16M "$tmp/lx.img"
mkdir -p "$tmp/bdisks"

expect_rc 0 "create a Linux VM with a NIC on tap0 on a" -- H a vm create lx --memory 96M \
	--vcpus 1 --kernel "$LINUX_KERNEL" --initrd "$tmp/initramfs.gz" --cmdline "$LINUX_CMDLINE" \
	--nic tap=tap0,mac=52:54:00:12:34:57 --disk "$tmp/lx.img"
t=$(date +%s%N)
expect_rc 0 "start on a" -- H a vm start lx
if ! wait_for 240 ticks_past a 1; then
	last=$(console a | tail -n 1)
	[ "$(hstate a lx)" = running ] && ! console a | grep -qa VMMIG-LINUX-UP &&
		skip "the Linux guest stalled nested under TCG (Documentation/admin-guide/vm.rst), console ends: $last"
	fail "no tick after 240 s: $(hstate a lx); console ends: $last"
	finish
	exit
fi
pass "the guest booted and ticks after $((($(date +%s%N) - t) / 1000000)) ms"

# The client: a line every 100 ms, each echoed before the next; a timestamp
# per reply. It ends with DONE when $tmp/stop appears, with LOST or BAD if a
# reply does not come within 60 s or differs.
cat >"$tmp/client.sh" <<EOF
for t in \$(seq 100); do exec 3<>/dev/tcp/$GUEST/7 && break; sleep 0.5; done 2>/dev/null
[ \$t -lt 100 ] || { echo NO-CONNECTION; exit 1; }
i=0
while [ ! -e "$tmp/stop" ]; do
	echo "line-\$i" >&3
	IFS= read -r -t 60 l <&3 || { echo "LOST \$i"; exit 1; }
	[ "\$l" = "line-\$i" ] || { echo "BAD \$i \$l"; exit 1; }
	echo "\$EPOCHREALTIME \$i"
	i=\$((i + 1))
	sleep 0.1
done
echo "DONE \$i"
EOF
ip netns exec "$c" bash "$tmp/client.sh" >"$tmp/client.log" 2>&1 &
client=$!
wait_for 120 replies_past 10 && pass "the client talks to the guest over TCP" ||
	fail "no replies: $(tail -n 2 "$tmp/client.log")"

# The destination's announce, as the client's bridge receives it: RARP
# frames (EtherType 0x8035) from the guest's MAC.
ip netns exec "$c" python3 -c '
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8035))
s.bind(("brg", 0))
s.settimeout(1)
n, end = 0, time.time() + 600
while n < 5 and time.time() < end:
	try:
		f = s.recv(128)
	except socket.timeout:
		continue
	if f[6:12] == bytes.fromhex("525400123457") and f[20:22] == b"\0\3":
		n += 1
print(n, flush=True)' >"$tmp/rarp" 2>&1 &
sniffer=$!
before=$(last_tick a)
r0=$(replies)
# Under the load of a nested TCG guest, vmmigd's TLS handshake can time
# out: that move is aborted, the guest runs on at a, and it is tried once more.
mv_args=(--include-storage --storage-path "$tmp/bdisks" --verify)
if H a -j move lx --to 10.77.0.2 "${mv_args[@]}" >"$tmp/move.out" 2>"$tmp/move.err"; then
	pass "move a -> b"
	out=$(cat "$tmp/move.out")
else
	echo "# the first move failed: $(cat "$tmp/move.err")"
	expect_eq "still running at a after the failed move" "$(hstate a lx)" running
	expect_rc 0 "move a -> b (again)" -- H a -j move lx --to 10.77.0.2 "${mv_args[@]}"
fi
res=$(tail -n1 <<<"$out")
if [ "$(hstate b lx)" != running ]; then
	fail "the guest did not move"
	finish
	exit
fi
r1=$(replies)
echo "# $(jq -c '.migration | {elapsed_ns, downtime_ns}' <<<"$res" 2>/dev/null)"
[ "$r1" -gt "$r0" ] && pass "replies during the move ($((r1 - r0)))" || fail "no reply during the move"
wait_for 60 gone a lx && pass "gone from a" || fail "a still has lx"
wait_for 10 test -s "$tmp/rarp"
expect_eq "b announced the guest: RARP requests seen by the client's bridge" "$(cat "$tmp/rarp")" 5
kill "$sniffer" 2>/dev/null
wait_for 60 replies_past $((r1 + 20)) && pass "the connection carries data after the move" ||
	fail "the connection stalled after the move: $(tail -n 2 "$tmp/client.log")"
wait_for 60 ticks_past b $((before + 2)) &&
	pass "the console goes on at b (tick $before at a, $(last_tick b) at b)" ||
	fail "no tick past $before at b; console ends: $(console b | tail -n 1)"
touch "$tmp/stop"
wait "$client" && pass "the connection stayed up" || fail "the client ended with $?"
client=
expect_match "no line lost or changed" "$(tail -n 1 "$tmp/client.log")" "^DONE [0-9]+$"
gap=$(awk 'NF == 2 { if (p != "" && $1 - p > m) m = $1 - p; p = $1 } END { printf "%d", m * 1000 }' \
	"$tmp/client.log")
echo "# downtime the client saw: $gap ms (largest gap between replies, one every 100 ms)," \
	"vmmigd measured $(($(jq -r .migration.downtime_ns <<<"$res") / 1000000)) ms"
[ "$gap" -lt 30000 ] && pass "the client's gap is under 30 s" || fail "a gap of $gap ms"
expect_rc 0 "a new connection to the guest at b" -- ip netns exec "$c" \
	bash -c "exec 3<>/dev/tcp/$GUEST/7 && echo again >&3 && read -r -t 30 l <&3 && [ \"\$l\" = again ]"

# The disk: the disks' hashes were equal at the switchover (--verify, else
# no commit); the image is b's now; the guest reads back all it wrote.
expect_eq "the disk is b's image now" "$(hjs b lx '.disks[0].path')" "$tmp/bdisks/lx.img"
wait_for 60 test ! -e "$tmp/lx.img" && pass "a's image is gone" || fail "a still has $tmp/lx.img"
[ "$(jq -r .migration.progress.disk_sent_bytes <<<"$res")" -gt 0 ] &&
	pass "the disk went with the memory" || fail "no disk bytes: $(jq -c .migration.progress <<<"$res")"
rb=$(ip netns exec "$c" bash -c "exec 3<>/dev/tcp/$GUEST/8 && timeout 120 cat <&3")
echo "# guest: $(tail -n 1 <<<"$rb")"
expect_match "the guest reads back every record it wrote, before and after the move" \
	"$(tail -n 1 <<<"$rb")" "^READBACK [0-9]+ records, 0 bad$"
[ "$(grep -o '^READBACK [0-9]*' <<<"$rb" | cut -d' ' -f2)" -gt 128 ] 2>/dev/null &&
	pass "it wrote more than once over every slot" || fail "too few records: $rb"

H b vm stop lx --force >/dev/null
finish
