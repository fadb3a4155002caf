#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `vmmig vm` with the workload guest under the test VM's KVM: the guest runs
# and its counter rises; pause, save and restore keep memory, registers,
# counter and checksum; stop, crash and every bad input from issue 3.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
gone() { [ "$(state "$1")" = "$2" ]; }
ns() { date +%s%N; }

# A running workload guest.
expect_rc 0 "create" -- "$V" vm create w --memory 4M --workload dirty=400,wss=1M
expect_eq "created off" "$(state w)" off
expect_rc 0 "start" -- "$V" vm start w
expect_eq "running" "$(state w)" running
wait_for 20 counter_above w 0 && pass "counter rises from 0" || fail "counter stays 0"
c1=$(counter w)
wait_for 20 counter_above w "$c1" && pass "counter keeps rising" || fail "counter stuck at $c1"
expect_rc 0 "show -j" -- "$V" -j vm show w
echo "# start: $(jq -c '{start_us, first_insn_us}' <<<"$out")"
expect_match "first guest instruction timed" "$(jq -r .first_insn_us <<<"$out")" '^[1-9][0-9]*$'
expect_match "checksum" "$(jq -r .workload.checksum <<<"$out")" '^0x[0-9a-f]+$'
expect_rc 0 "list" -- "$V" vm list
expect_match "list text" "$out" "w +running +4.0 MiB +1 "
expect_rc 0 "list -j" -- "$V" -j vm list
expect_eq "list json" "$(jq -r '.[0].name + " " + .[0].state' <<<"$out")" "w running"
# The grammar on a running VM: prefixes, options after the verb and NAME.
expect_rc 0 "vm sh w -j" -- "$V" vm sh w -j
expect_eq "is show -j" "$(jq -r .state <<<"$out")" running
expect_rc 0 "vm dirty-rate, options before NAME" -- "$V" vm dirty-r --sample 64 w -j
expect_eq "sampled as asked" "$(jq .sampled <<<"$out")" 64
expect_rc 2 "vm st is ambiguous" -- "$V" vm st w
one_line "vm st" "^vmmig: 'vmmig vm st' is ambiguous: start, stop$"
expect_eq "still running" "$(state w)" running
expect_rc 0 "dirty-rate of the running VM" -- "$V" -j vm dirty-rate w --seconds 1 --sample 256
expect_match "its workload dirties pages" "$(jq .rate <<<"$out")" '^[1-9][0-9]*$'
expect_rc 1 "dirty-rate of an unknown VM" -- "$V" vm dirty-rate nope
expect_rc 0 "guest verifies its checksum" -- "$V" vm show w --verify
expect_match "verified" "$out" "checksum verified by the guest: on"
expect_rc 0 "console --log" -- "$V" vm console w --log
expect_match "console banner" "$out" "vmmig workload: rate 400 pages/s, working set 256 pages"

# The console: one attached client at a time; input from a pipe ends it.
expect_rc 0 "console attach, input ends at once" -- "$V" vm console w </dev/null
mkfifo "$tmp/con.in"
"$V" vm console w <"$tmp/con.in" >"$tmp/con1.out" 2>&1 &
con1=$!
exec 9>"$tmp/con.in"
attached() { [ "$("$V" -j vm show w | jq .console_attached)" = "$1" ]; }
wait_for 10 attached true && pass "the first client holds the console" || fail "no client attached"
expect_rc 1 "a second client" -- "$V" vm console w </dev/null
one_line "console in use" "^vmmig: vm console: w: another client is attached to the console \(--force takes it over\)$"
expect_rc 0 "--force takes it over" -- "$V" vm console w --force </dev/null
wait_for 10 eval '! kill -0 $con1 2>/dev/null' && pass "the first client was detached" ||
	fail "the first client is still attached"
wait "$con1"
expect_eq "its input was cut short: exit 1" "$?" 1
expect_match "it says so" "$(cat "$tmp/con1.out")" \
	"vm console: w: the console closed before the guest had all the input"
exec 9>&-
wait_for 10 attached false && pass "nobody attached when the last client is done" ||
	fail "a console client is still attached"
# The workload guest never reads its UART: piped input waits, and a client
# that gives up is detached (what it typed goes with it).
expect_rc 124 "input the guest does not read waits" -- timeout 3 "$V" vm console w <<<"abc"
wait_for 10 attached false && pass "a client killed while its input waits is detached" ||
	fail "the killed client is still attached"
# On a terminal (script(1) gives it one): raw mode, Ctrl-] detaches. The
# key is sent until it works: keys typed before raw mode are flushed.
ctrl_bracket() { for _ in $(seq 40); do sleep 0.5; printf '\035'; done; }
expect_rc 0 "console on a terminal" -- \
	bash -c "$(declare -f ctrl_bracket); ctrl_bracket |
		 timeout 30 script -qec '$V vm console w && stty -a' /dev/null"
expect_contains "it says how to detach" "$out" "Connected to w (escape character is ^])"
expect_contains "Ctrl-] detached it" "$out" "Disconnected from w"
expect_match "the terminal is back in canonical mode with echo" "$out" "[^-]icanon .*[^-]echo "
expect_rc 2 "console --log --force" -- "$V" vm console w --log --force
expect_rc 2 "console, unknown option" -- "$V" vm console w --frobnicate
expect_rc 1 "console of an unknown VM" -- "$V" vm console nope </dev/null
one_line "console of an unknown VM" "nope"

# Pause, save, restore: the same memory, registers, counter and checksum.
expect_rc 0 "pause" -- "$V" vm pause w
expect_rc 0 "show paused" -- "$V" -j vm show w
before=$out
sleep 0.3
expect_eq "paused counter holds" "$(counter w)" "$(jq -r .workload.counter <<<"$before")"
t=$(ns)
expect_rc 0 "save" -- "$V" vm save w "$tmp/w.state"
echo "# save of 4 MiB: $((($(ns) - t) / 1000)) us total, $(stat -c %s "$tmp/w.state") bytes"
expect_eq "saved" "$(state w)" saved
t=$(ns)
expect_rc 0 "restore paused" -- "$V" vm restore "$tmp/w.state" --paused
echo "# restore of 4 MiB: $((($(ns) - t) / 1000)) us total"
expect_rc 0 "show restored" -- "$V" -j vm show w
after=$out
for f in .workload.counter .workload.checksum .memory_hash .vcpu0; do
	expect_eq "restore keeps $f" "$(jq -c "$f" <<<"$after")" "$(jq -c "$f" <<<"$before")"
done
expect_eq "rip is there" "$(jq -r .vcpu0.rip <<<"$after" | cut -c1-2)" 0x
expect_rc 0 "resume" -- "$V" vm resume w
saved_counter=$(jq -r .workload.counter <<<"$before")
wait_for 20 counter_above w "$saved_counter" && pass "counter continues after restore" ||
	fail "counter stuck after restore"
expect_rc 0 "verify after restore" -- "$V" vm show w --verify

# Save while running. A restore under another name is the same VM (its
# UUID), refused while the original is defined: vm_ctl.sh restores one
# renamed. A second VM runs beside the first.
expect_rc 0 "save running" -- "$V" vm save w "$tmp/w2.state"
expect_rc 0 "start saved" -- "$V" vm start w
expect_rc 1 "restore --name next to the original" -- "$V" vm restore "$tmp/w2.state" --name w2
one_line "the same VM" "^vmmig: vm restore: w2: the state is of VM w \(uuid [0-9a-f-]{36}\), which is still defined"
expect_rc 0 "a second VM" -- "$V" vm create w2 --memory 4M --workload dirty=400,wss=1M
expect_rc 0 "start it" -- "$V" vm start w2
expect_eq "w2 running" "$(state w2)" running
c=$(counter w2)
wait_for 20 counter_above w2 "$c" && pass "w2 runs" || fail "w2 stuck"
expect_rc 0 "verify w2" -- "$V" vm show w2 --verify

# Stop: the guest powers off; --force ends the VMM.
expect_rc 0 "stop" -- "$V" vm stop w2
expect_eq "w2 off" "$(state w2)" off
expect_match "guest powered off" "$(cat "$VMMIG_STATE_DIR/w2/console.log")" "power off"
expect_rc 0 "stop --force" -- "$V" vm stop w --force
expect_eq "w off" "$(state w)" off
expect_rc 1 "console of a VM that is off" -- "$V" vm console w </dev/null
one_line "console of a VM that is off" "^vmmig: vm console: w is not running: nothing to attach to \(--log prints its console log\)$"

# A VMM that dies leaves the definition and shows the VM crashed.
sum=$(md5sum <"$VMMIG_STATE_DIR/w/vm.json")
expect_rc 0 "start again" -- "$V" vm start w
kill -9 "$(cat "$VMMIG_STATE_DIR/w/vmm.pid")"
wait_for 10 gone w crashed && pass "crashed" || fail "not shown crashed: $(state w)"
expect_eq "definition intact after crash" "$(md5sum <"$VMMIG_STATE_DIR/w/vm.json")" "$sum"
expect_rc 0 "list crashed" -- "$V" vm list
expect_match "list shows crashed" "$out" "w +crashed"
expect_rc 0 "stop a crashed VM" -- "$V" vm stop w
expect_eq "then off" "$(state w)" off

# Bad input: one line, exit status, nothing created, nothing damaged.
no_vm() { [ ! -e "$VMMIG_STATE_DIR/$1" ] && pass "$2: nothing created" || fail "$2: $1 created"; }

expect_rc 1 "duplicate name" -- "$V" vm create w --memory 8M --workload dirty=1
one_line "duplicate" "^vmmig: vm create: w: a VM of that name already exists$"
expect_eq "duplicate leaves the definition" "$(md5sum <"$VMMIG_STATE_DIR/w/vm.json")" "$sum"
expect_rc 2 "unknown option" -- "$V" vm create x --memory 8M --workload dirty=1 --frobnicate
expect_match "unknown option named" "$err" "^vmmig: vm create: unknown option '--frobnicate'"
no_vm x "unknown option"
expect_rc 1 "missing kernel" -- "$V" vm create x --memory 64M --kernel /nonexistent/bzImage
one_line "missing kernel" "^vmmig: vm create: kernel /nonexistent/bzImage: No such file or directory$"
no_vm x "missing kernel"
expect_rc 1 "missing disk" -- "$V" vm create x --memory 8M --workload dirty=1 --disk /nonexistent.img
one_line "missing disk" "disk /nonexistent.img: No such file or directory"
no_vm x "missing disk"
expect_rc 1 "missing tap" -- "$V" vm create x --memory 8M --workload dirty=1 --nic tap=vmmignotap0
one_line "missing tap" "tap device vmmignotap0 does not exist"
no_vm x "missing tap"
expect_rc 1 "not a tap" -- "$V" vm create x --memory 8M --workload dirty=1 --nic tap=lo
one_line "not a tap" "^vmmig: vm create: nic: lo is not a tap device$"
no_vm x "not a tap"
expect_rc 1 "too much memory" -- "$V" vm create x --memory 64T --workload dirty=1
one_line "too much memory" "^vmmig: vm create: --memory 64.0 TiB is more than this host has"
no_vm x "too much memory"
expect_rc 2 "bad workload" -- "$V" vm create x --memory 8M --workload dirty=fast
one_line "bad workload" "^vmmig: vm create: --workload dirty: 'fast' is not a number \\(0\\.\\.1000000000\\)$"
expect_rc 1 "working set larger than memory" -- "$V" vm create x --memory 4M --workload wss=8M
one_line "wss > memory" "is too small"
no_vm x "bad workload"
expect_rc 1 "KVM absent" -- unshare -m sh -c \
	'mount -t tmpfs none /dev && exec "$0" vm create x --memory 8M --workload dirty=1' "$V"
one_line "KVM absent" "^vmmig: vm create: /dev/kvm: No such file or directory \(is KVM loaded\?\)$"
no_vm x "KVM absent"

# Disks and NICs are recorded, and shown; one that went away fails the start.
[ -c /dev/net/tun ] || modprobe tun
ip tuntap add vmmigt$$ mode tap
truncate -s 1M "$tmp/d.img"
expect_rc 0 "create with a disk and a NIC" -- "$V" vm create dn --memory 8M --workload dirty=1 \
	--disk "$tmp/d.img,readonly" --nic tap=vmmigt$$
expect_rc 0 "show them" -- "$V" -j vm show dn
expect_eq "the disk, read-only" "$(jq -c '.disks' <<<"$out")" "[{\"path\":\"$tmp/d.img\",\"readonly\":true}]"
expect_match "the NIC, with a random MAC" "$(jq -r '.nics[0] | .tap + " " + .mac' <<<"$out")" \
	"^vmmigt$$ 52:54:00(:[0-9a-f]{2}){3}$"
ip link del vmmigt$$
expect_rc 1 "start without its tap" -- "$V" vm start dn
one_line "tap gone" "^vmmig: vm start: nic: tap device vmmigt$$ does not exist$"
expect_eq "stays off" "$(state dn)" off
rm "$tmp/d.img"
ip tuntap add vmmigt$$ mode tap
expect_rc 1 "start without its disk" -- "$V" vm start dn
one_line "disk gone" "^vmmig: vm start: disk $tmp/d.img: No such file or directory$"
expect_eq "stays off" "$(state dn)" off
ip link del vmmigt$$
expect_rc 0 "delete" -- "$V" vm delete dn

# A kernel VM whose kernel is no bzImage (Linux guests: linux_vm.sh).
printf 'not really a kernel' >"$tmp/bzImage"
expect_rc 0 "create a kernel VM" -- "$V" vm create k --memory 64M --kernel "$tmp/bzImage"
expect_rc 1 "start a kernel VM" -- "$V" vm start k
one_line "kernel VM" "^vmmig: vm start: kernel .*bzImage: not a bzImage$"
expect_eq "kernel VM stays off" "$(state k)" off

# Broken state files.
size=$(stat -c %s "$tmp/w.state")
head -c $((size / 2)) "$tmp/w.state" >"$tmp/trunc.state"
expect_rc 1 "truncated" -- "$V" vm restore "$tmp/trunc.state" --name t
one_line "truncated" "^vmmig: vm restore: .*trunc.state: truncated after"
no_vm t "truncated"
cp "$tmp/w.state" "$tmp/flip.state"
printf '\x5a' | dd of="$tmp/flip.state" bs=1 seek=$((size / 3)) conv=notrunc status=none
expect_rc 1 "bit flip" -- "$V" vm restore "$tmp/flip.state" --name t
one_line "bit flip" "fails its checksum \(corrupt\)$"
no_vm t "bit flip"
cp "$tmp/w.state" "$tmp/new.state"
printf '\x03' | dd of="$tmp/new.state" bs=1 seek=8 conv=notrunc status=none
expect_rc 1 "newer version" -- "$V" vm restore "$tmp/new.state" --name t
one_line "newer version" "format version 3 is newer than this vmmig's \(2\)$"
no_vm t "newer version"
expect_rc 1 "restore over a running VM" -- bash -c "'$V' vm start w && '$V' vm restore '$tmp/w.state'"
one_line "restore over running" "^vmmig: vm restore: w is already running$"
expect_rc 1 "missing state file" -- "$V" vm restore "$tmp/none.state"
one_line "missing state file" "none.state: No such file or directory$"
expect_rc 1 "delete a running VM" -- "$V" vm delete w
one_line "delete running" "stop it first"
expect_rc 0 "stop w" -- "$V" vm stop w
expect_rc 0 "delete" -- "$V" vm delete w
no_vm w "delete"

# fill=on: the guest writes its whole working set first, then publishes its
# checksum; memory in use shows it (in huge pages, whole 2 MiB pages).
expect_rc 0 "create a filling guest" -- "$V" vm create f --memory 8M --workload dirty=0,wss=4M,fill=on
expect_rc 0 "start it" -- "$V" vm start f
data_pages() { "$V" -j vm show f | jq -r .data_pages; }
# wss_filled NAME: its working set written, and memory in use shows it.
wss_filled() {
	"$V" -j vm show "$1" | jq -e '.data_pages >= 1024 and .workload.checksum != "0x0"' >/dev/null
}
# half_zeros NAME: about half of the 8 MiB guest's sampled pages hold only
# zeros (its 4 MiB working set and its code hold data): 819 to 1126 of 2048,
# the sample's standard error 1.1 %.
half_zeros() {
	"$V" -j vm dirty-rate "$1" --sample 2048 | jq -e '.zero >= 819 and .zero <= 1126' >/dev/null
}
# saved_and_restored NAME: saved, restored, its data and checksum intact;
# then stopped and deleted. A restore writes the pages with write(2) (but
# in hugetlb pages): they are in the page cache, mapped only once the guest
# touches them (as --verify does), and the sample still finds them.
saved_and_restored() {
	expect_rc 0 "save $1" -- "$V" vm save "$1" "$tmp/$1.state"
	expect_rc 0 "restore $1" -- "$V" vm restore "$tmp/$1.state"
	half_zeros "$1" && pass "after restore, the sample finds half of it zeros" ||
		fail "zero pages sampled: $("$V" -j vm dirty-rate "$1" --sample 2048)"
	expect_rc 0 "the checksum holds after restore" -- "$V" vm show "$1" --verify
	expect_rc 0 "stop $1" -- "$V" vm stop "$1" --force
	expect_rc 0 "delete $1" -- "$V" vm delete "$1"
}
wait_for 60 wss_filled f && pass "its 1024 pages hold data ($(data_pages) in use)" ||
	fail "memory in use: $(data_pages) pages"
half_zeros f && pass "the sample finds half of it zeros" ||
	fail "zero pages sampled: $("$V" -j vm dirty-rate f --sample 2048)"
expect_rc 0 "its checksum holds" -- "$V" vm show f --verify
expect_eq "definition says fill" "$("$V" -j vm show f | jq -r .workload.fill)" true
expect_rc 2 "bad fill" -- "$V" vm create g --memory 8M --workload dirty=0,fill=maybe
one_line "bad fill" "fill=maybe is not on or off"
expect_rc 0 "stop f" -- "$V" vm stop f --force
expect_rc 0 "delete f" -- "$V" vm delete f

# Guest memory in transparent huge pages where the host allows them: KVM
# maps what the guest touched 2 MiB at a time. THP turned off by the host's
# admin: a memfd in 4 KiB pages, and the guest runs as well.
THP=/sys/kernel/mm/transparent_hugepage/enabled
if [ -w $THP ] && [ -w ${THP%/*}/shmem_enabled ]; then
	thp_was=$(sed 's/.*\[\(.*\)\].*/\1/' $THP)
	cleanup_hook() { echo "$thp_was" >$THP; stop_vms; }
	# The "ShmemPmdMapped" (KiB) of VM $1's guest memory file.
	pmd_kib() {
		awk -v n=" /$1 (deleted)" 'index($0, n) { on = 1; next } /^[0-9a-f]+-/ { on = 0 }
			on && /^ShmemPmdMapped:/ { print $2 }' "/proc/$(cat "$VMMIG_STATE_DIR/$1/vmm.pid")/smaps"
	}
	backing() { grep -ao "guest memory in [a-zA-Z0-9 ]* pages" "$VMMIG_STATE_DIR/$1/vmm.log" | tail -1; }
	for mode in always never; do
		echo $mode >$THP
		expect_rc 0 "create under THP $mode" -- "$V" vm create h --memory 8M --workload dirty=0,wss=4M,fill=on
		expect_rc 0 "start it" -- "$V" vm start h
		wait_for 60 wss_filled h && pass "it wrote its working set" ||
			fail "memory in use: $("$V" -j vm show h)"
		if [ $mode = always ]; then
			expect_eq "the VMM says huge pages" "$(backing h)" "guest memory in transparent huge pages"
			[ "$(pmd_kib h)" -ge 4096 ] && pass "$(pmd_kib h) KiB mapped in huge pages" ||
				fail "ShmemPmdMapped: $(pmd_kib h) KiB"
			expect_eq "no tmpfs in the host's mounts" \
				"$(grep -c "huge=within_size" /proc/self/mountinfo)" 0
		else
			expect_eq "the VMM says 4 KiB pages" "$(backing h)" "guest memory in 4 KiB pages"
			grep -q "/memfd:h " "/proc/$(cat "$VMMIG_STATE_DIR/h/vmm.pid")/maps" &&
				pass "a memfd" || fail "no memfd mapped"
		fi
		expect_rc 0 "its checksum holds" -- "$V" vm show h --verify
		saved_and_restored h
	done
	echo "$thp_was" >$THP
else
	echo "# SKIP the THP checks: no $THP to write"
fi

# --hugepages: guest memory in hugetlb pages, reserved at start; the sample
# reads them through the VMM's mapping, and they save and restore.
HP=/proc/sys/vm/nr_hugepages
if [ -w $HP ]; then
	hp_was=$(cat $HP)
	cleanup_hook() { echo "$hp_was" >$HP; stop_vms; }
	echo $((hp_was + 8)) >$HP
	expect_rc 0 "create in huge pages" -- "$V" vm create u --memory 8M --hugepages \
		--workload dirty=0,wss=4M,fill=on
	expect_rc 0 "start it" -- "$V" vm start u
	wait_for 60 wss_filled u && pass "it wrote its working set" || fail "$("$V" -j vm show u)"
	expect_eq "the VMM says hugetlb pages" \
		"$(grep -ao "guest memory in [a-zA-Z0-9 ]* pages" "$VMMIG_STATE_DIR/u/vmm.log" | tail -1)" \
		"guest memory in hugetlb pages"
	half_zeros u && pass "the sample finds half of it zeros" ||
		fail "zero pages sampled: $("$V" -j vm dirty-rate u --sample 2048)"
	saved_and_restored u
	echo "$hp_was" >$HP
else
	echo "# SKIP the hugetlb checks: no $HP to write"
fi
finish
