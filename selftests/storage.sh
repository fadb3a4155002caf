#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared-nothing live migration and storage moves (issue 14): a workload VM
# with two disks (a sparse one with data in two places, a read-only one)
# moves from host a to host b with its disks, which land where asked, hold
# the same bytes (vmmigd compares the disks' hashes at both ends before the
# commit with --verify, and the test the files), stay sparse, and are gone
# from a. Then the checks of the destination (a file there already, no
# directory, no space), a cancel and a destination killed during the copy
# and in stop-and-copy (the source keeps its images, the destination's new
# ones go), the way
# back with --keep-source (read-only images stay at the source: they may
# serve other VMs), and storage moves on one host (the VM runs on,
# on the new images; a failure leaves it on the old ones), queued under
# max-storage-migrations. The guest's own writes during a move:
# selftests/migrate_linux.sh.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
# shellcheck source=selftests/mig_common.sh
source "$(dirname "$0")/mig_common.sh"

# A file system of 1 MiB at $small, in host H's mount namespace (each
# vmmigd has its own: ip netns exec), and what it holds there.
small=$tmp/small
small_up() { nsenter -t "${host_pid[$1]}" -m -r mount -t tmpfs -o size=1M tmpfs "$small"; }
small_ls() { nsenter -t "${host_pid[$1]}" -m -r ls -A "$small"; }

host_up a 1 || { fail "host a"; finish; exit; }
host_up b 2 || { fail "host b"; finish; exit; }

# The images: 16 MiB with 1 MiB of data at 0 and at 8 MiB (holes between),
# and a read-only 2 MiB one full of data.
mkdir -p "$tmp/disks" "$tmp/bdisks" "$tmp/local" "$tmp/s2"
d1=$tmp/disks/d1.img d2=$tmp/disks/d2.img
truncate -s 16M "$d1"
head -c 1M /dev/urandom | dd of="$d1" conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$d1" bs=1M seek=8 conv=notrunc status=none
head -c 2M /dev/urandom >"$d2"
sum() { sha256sum "$1" | cut -d' ' -f1; }
blocks() { stat -c %b "$1"; }
h1=$(sum "$d1") h2=$(sum "$d2") b1=$(blocks "$d1")
echo "# d1: $b1 blocks of 512 bytes allocated (16 MiB, 2 MiB of data)"

expect_rc 0 "create a VM with two disks on a" -- H a vm create st --memory 8M \
	--workload dirty=100,wss=1M --disk "$d1" --disk "$d2,readonly"
expect_rc 0 "start it" -- H a vm start st
wait_for 30 hcounter_above a st 100 && pass "it runs on a" || fail "counter stuck"

# Bad input: one line, nothing changed.
expect_rc 2 "--storage-path without --include-storage" -- \
	H a move st --to 10.77.0.2 --storage-path "$tmp/bdisks"
one_line "without --include-storage" "go with --include-storage"
expect_rc 2 "a relative --disk" -- H a move st --to 10.77.0.2 --include-storage --disk d1.img=x
one_line "relative --disk" "SRC=DST, both absolute paths"
expect_rc 1 "--disk of no disk of the VM" -- \
	H a move st --to 10.77.0.2 --include-storage --disk /nosuch.img=/x.img
one_line "no such disk" "st has no disk /nosuch.img"
expect_rc 1 "two disks to one file" -- H a move st --to 10.77.0.2 --include-storage \
	--storage-path "$tmp/bdisks" --disk "$d2=$tmp/bdisks/d1.img"
one_line "one file" "would both go to $tmp/bdisks/d1.img"

# The destination's checks. Same path there (the hosts share this file
# system here): the file exists, never overwritten.
expect_rc 1 "check: same path at b" -- H a check st --to 10.77.0.2 --include-storage
expect_match "2042: a file there already" "$out" "error 2042: b has a file $d1 already"
expect_rc 1 "check: no such directory at b" -- H a check st --to 10.77.0.2 \
	--include-storage --storage-path "$tmp/nodir"
expect_match "2042: no directory" "$out" "error 2042: b cannot make $tmp/nodir/d1.img"
mkdir -p "$small"
if small_up b; then
	expect_rc 1 "check: not enough space at b" -- H a check st --to 10.77.0.2 \
		--include-storage --storage-path "$small"
	expect_match "2043: no space" "$out" "error 2043: b has 1 MiB free where st's disks would go, they need [0-9]+ MiB"
	expect_rc 1 "move: not enough space at b" -- H a move st --to 10.77.0.2 \
		--include-storage --storage-path "$small"
	expect_match "refused with the same message" "$err" "b has 1 MiB free where st's disks would go"
	expect_eq "nothing left in the small file system" "$(small_ls b)" ""
else
	fail "cannot mount a tmpfs at b"
fi
expect_rc 0 "check: compatible with a storage path" -- H a check st --to 10.77.0.2 \
	--include-storage --storage-path "$tmp/bdisks"
expect_rc 0 "check without --include-storage: the hosts share the disks' file system here" -- \
	H a check st --to 10.77.0.2
expect_eq "still running on a" "$(hstate a st)" running

# Cancelled during the copy (a 256 KiB/s cap: the disks take seconds): the
# VM runs on at a on its images; b removes what it made.
disk_sent() { [ "$(H a -j migration show st | jq -r '.progress.disk_sent_bytes // 0')" -gt 0 ]; }
expect_rc 0 "move, detached, slowly" -- H a move st --to 10.77.0.2 --include-storage \
	--storage-path "$tmp/bdisks" --bandwidth 256K --detach
wait_for 60 disk_sent && pass "disks under way" || fail "$(H a migration show st)"
[ -e "$tmp/bdisks/d1.img" ] && pass "b made the new image" || fail "no $tmp/bdisks/d1.img"
expect_rc 0 "cancel" -- H a migration cancel st
cancelled() { [ "$(H a -j migration show st | jq -r .progress.phase)" = cancelled ]; }
wait_for 60 cancelled && pass "cancelled" || fail "$(H a migration show st)"
gone_at_b() { [ -z "$(ls -A "$tmp/bdisks")" ] && [ ! -e "$tmp/b/state/st" ]; }
wait_for 30 gone_at_b && pass "cancel: b removed its images and the VM" ||
	fail "b has: $(ls -A "$tmp/bdisks" "$tmp/b/state")"
expect_eq "cancel: running at a" "$(hstate a st)" running
expect_eq "cancel: d1 unchanged" "$(sum "$d1")" "$h1"
expect_eq "cancel: d2 unchanged" "$(sum "$d2")" "$h2"

# The destination's vmmigd and VMM killed during the copy: the move fails,
# the VM runs at a; b's vmmigd, started again, removes the images it made.
expect_rc 0 "move, detached, slowly (again)" -- H a move st --to 10.77.0.2 \
	--include-storage --storage-path "$tmp/bdisks" --bandwidth 256K --detach
wait_for 60 disk_sent && pass "disks under way" || fail "$(H a migration show st)"
daemon_down b KILL
pkill -KILL -f "vmmig-vmm --dir $tmp/b/state/st" || :
failed() { [ "$(H a -j migration show st | jq -r .progress.phase)" = failed ]; }
wait_for 90 failed && pass "the move failed" || fail "$(H a migration show st)"
expect_eq "destination killed: running at a" "$(hstate a st)" running
expect_eq "destination killed: d1 unchanged" "$(sum "$d1")" "$h1"
daemon_up b || fail "b's vmmigd did not start again"
wait_for 30 gone_at_b && pass "b, started again, removed its images and the VM" ||
	fail "b has: $(ls -A "$tmp/bdisks" "$tmp/b/state")"

# The same in stop-and-copy, the VM paused and its last disk writes on the
# way (the source VMM lingers there: a test hook): a cancel, and the
# destination killed. The VM runs again at a on its images.
phase_is() { [ "$(H a -j migration show st | jq -r .progress.phase)" = "$1" ]; }
expect_rc 0 "stop st" -- H a vm stop st --force
# The test hook reaches the VMM when the CLI starts it rather than vmmigd.
expect_rc 0 "start st slow to switch" -- on a env VMMIG_TEST_STOPCOPY_DELAY_MS=8000 VMMIG_SOCKET="$tmp/none.sock" "$V" vm start st
for how in cancel kill; do
	expect_rc 0 "move with its disks ($how in stop-and-copy)" -- H a move st --to 10.77.0.2 \
		--include-storage --storage-path "$tmp/bdisks" --timeout 20 --on-timeout pause --detach
	wait_for 120 phase_is stopcopy && pass "in stop-and-copy" || fail "$(H a migration show st)"
	if [ "$how" = cancel ]; then
		expect_rc 0 "cancel in stop-and-copy" -- H a migration cancel st
		wait_for 60 phase_is cancelled && pass "cancelled" || fail "$(H a migration show st)"
	else
		daemon_down b KILL
		pkill -KILL -f "vmmig-vmm --dir $tmp/b/state/st" || :
		wait_for 90 phase_is failed && pass "failed" || fail "$(H a migration show st)"
		daemon_up b || fail "b's vmmigd did not start again"
	fi
	expect_eq "$how in stop-and-copy: running at a" "$(hstate a st)" running
	expect_eq "$how in stop-and-copy: d1 unchanged" "$(sum "$d1")" "$h1"
	wait_for 30 gone_at_b && pass "$how in stop-and-copy: b removed its images and the VM" ||
		fail "b has: $(ls -A "$tmp/bdisks" "$tmp/b/state")"
done
expect_rc 0 "stop st" -- H a vm stop st --force
expect_rc 0 "start st" -- H a vm start st

# The move: d1 under the storage path, d2 where --disk says; two streams
# (each disk window takes one, as memory's).
expect_rc 0 "move with its disks" -- H a -j move st --to 10.77.0.2 --include-storage \
	--storage-path "$tmp/bdisks" --disk "$d2=$tmp/bdisks/ro.img" --verify --streams 2
res=$(tail -n1 <<<"$out")
echo "# $(jq -c '.migration | {elapsed_ns, downtime_ns, progress}' <<<"$res")"
expect_eq "done" "$(jq -r .migration.progress.phase <<<"$res")" "done"
[ "$(jq -r .migration.progress.disk_sent_bytes <<<"$res")" -ge $((3 << 20)) ] &&
	pass "the disks' data was sent" || fail "disk_sent_bytes: $(jq .migration.progress <<<"$res")"
expect_eq "runs at b" "$(hstate b st)" running
expect_eq "at b, its disks are the new images" "$(hjs b st '[.disks[].path] | join(" ")')" \
	"$tmp/bdisks/d1.img $tmp/bdisks/ro.img"
expect_eq "d2 still read-only" "$(hjs b st '.disks[1].readonly')" true
expect_eq "d1 arrived whole" "$(sum "$tmp/bdisks/d1.img")" "$h1"
expect_eq "d2 arrived whole" "$(sum "$tmp/bdisks/ro.img")" "$h2"
nb=$(blocks "$tmp/bdisks/d1.img")
echo "# d1 at b: $nb blocks allocated (at a: $b1)"
[ "$nb" -le "$b1" ] && pass "d1 stayed sparse" || fail "d1 at b: $nb blocks, at a $b1"
wait_for 60 test ! -e "$d1" && pass "d1's image at a is gone" || fail "a still has $(ls "$tmp/disks")"
[ -e "$d2" ] && pass "the read-only image stays at a (it may serve others)" || fail "$d2 went"
rm -f "$d2"
wait_for 30 hcounter_above b st 100 && pass "the guest writes on b" || fail "counter stuck on b"

# Back to a with --keep-source: b keeps its images.
expect_rc 0 "back to a, keeping b's images" -- H b move st --to 10.77.0.1 --include-storage \
	--storage-path "$tmp/disks" --disk "$tmp/bdisks/ro.img=$d2" --keep-source
expect_eq "runs at a" "$(hstate a st)" running
expect_eq "d1 back at a" "$(sum "$d1")" "$h1"
[ -e "$tmp/bdisks/d1.img" ] && pass "--keep-source: b kept its image" || fail "b's image went"
rm -f "$tmp/bdisks"/*

# A storage move on a: the VM runs on, on the new images.
expect_rc 2 "storage move without a destination" -- H a storage move st
expect_rc 1 "storage move to a directory it cannot write" -- H a storage move st --path "$tmp/nodir"
one_line "no directory" "a cannot make $tmp/nodir/d1.img"
if small_up a; then
	expect_rc 1 "storage move: not enough space" -- H a storage move st --path "$small"
	one_line "no space" "a has 1 MiB free where st's disks would go"
	expect_eq "nothing left in the small file system" "$(small_ls a)" ""
else
	fail "cannot mount a tmpfs at a"
fi
c0=$(hcounter a st)
expect_rc 0 "storage move on a" -- H a storage move st --path "$tmp/local"
echo "# $out"
expect_eq "runs on" "$(hstate a st)" running
expect_eq "its disks are the new images" "$(hjs a st '[.disks[].path] | join(" ")')" \
	"$tmp/local/d1.img $tmp/local/d2.img"
expect_eq "d1 copied whole" "$(sum "$tmp/local/d1.img")" "$h1"
expect_eq "d2 copied whole" "$(sum "$tmp/local/d2.img")" "$h2"
[ "$(blocks "$tmp/local/d1.img")" -le "$b1" ] && pass "sparse" || fail "$(blocks "$tmp/local/d1.img") blocks"
[ ! -e "$d1" ] && pass "the old image is gone" || fail "old image still there"
[ -e "$d2" ] && pass "the old read-only image stays" || fail "$d2 went"
rm -f "$d2"
wait_for 30 hcounter_above a st "$c0" && pass "the guest writes on" || fail "counter stuck"
expect_match "listed as a storage migration" "$(H a migration list)" " st storage done "

# One disk back with --disk, the other stays; the old image kept.
expect_rc 0 "storage move of one disk, keeping the old image" -- H a storage move st \
	--disk "$tmp/local/d2.img=$d2" --keep-source
expect_eq "one disk moved" "$(hjs a st '[.disks[].path] | join(" ")')" "$tmp/local/d1.img $d2"
[ -e "$tmp/local/d2.img" ] && pass "--keep-source kept it" || fail "old image went"

# Under max-storage-migrations 1: a storage move waits for a move with its
# disks (capped: it holds its slot for seconds), then runs.
expect_rc 0 "a: max-storage-migrations 1" -- H a host set max-storage-migrations 1
expect_rc 0 "create a second VM" -- H a vm create s2 --memory 8M --workload dirty=0 \
	--disk "$tmp/local/d2.img"
expect_rc 0 "start it" -- H a vm start s2
expect_rc 0 "move st with its disks, slowly" -- H a move st --to 10.77.0.2 --include-storage \
	--storage-path "$tmp/bdisks" --bandwidth 512K --detach
expect_rc 0 "storage move of s2, detached" -- H a storage move s2 --path "$tmp/s2" --detach
queued() { [ "$(H a -j migration show s2 | jq -r .progress.phase)" = queued ]; }
wait_for 10 queued && pass "s2 waits for the storage slot" || fail "$(H a migration show s2)"
s2_done() { [ "$(H a -j migration show s2 | jq -r .progress.phase)" = "done" ]; }
wait_for 120 s2_done && pass "then it ran" || fail "$(H a migration list)"
st_phase() { H a -j migration show st | jq -r .progress.phase; }
st_done() { [ "$(st_phase)" = "done" ]; }
wait_for 120 st_done && pass "st moved with its disks meanwhile" || fail "$(H a migration show st)"
expect_eq "st at b" "$(hstate b st)" running
expect_eq "s2 on its new image" "$(hjs a s2 '.disks[0].path')" "$tmp/s2/d2.img"
finish
