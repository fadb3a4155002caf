#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 14's benchmark, run inside the test VM by bench/run (bench/run
# storage): two hosts as network namespaces with their vmmigd
# (selftests/mig_common.sh).
#
# 1. The disk copy against cp: an image of STORAGE_BENCH_GIB GiB (default
#    1) holding STORAGE_BENCH_DATA_MIB MiB of data (default 64) in 8
#    extents, the rest holes, attached to a running workload VM on host a,
#    moved with `vmmig storage move` to another directory of the same file
#    system; and the same image copied there with `cp --sparse=always`.
#    Alternately, three of each; the medians of their rates (data bytes
#    over wall time) side by side, and their ratio.
# 2. A Linux guest (selftests/linux_common.sh) with a disk of that size
#    and data moved a -> b with --include-storage, its guest idle, then
#    b -> a while it writes its disk as fast as it can (a 4 KiB record at a
#    time, each fsync'ed, over 16 MiB): the total move time, the downtime,
#    the bytes sent and the guest's write rate (its own count).
# One key=value line per measurement, "storage_bench ...".

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/../selftests/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$REPO/selftests/vm_common.sh"
# A bench's moves may be long: vmmig commands end after 20 min, not 5.
: "${H_TIMEOUT:=1200}"
# shellcheck source=selftests/mig_common.sh
source "$REPO/selftests/mig_common.sh"

GIB=${STORAGE_BENCH_GIB:-1}
DATA=${STORAGE_BENCH_DATA_MIB:-64}
say() { printf 'storage_bench: %s\n' "$*"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

host_up a 1 || { say "host a did not come up"; exit 1; }
host_up b 2 || { say "host b did not come up"; exit 1; }

# make_image PATH: GIB GiB, DATA MiB of random data in 8 extents.
make_image() {
	local i
	truncate -s "${GIB}G" "$1"
	for i in 0 1 2 3 4 5 6 7; do
		head -c $((DATA / 8))M /dev/urandom |
			dd of="$1" bs=1M seek=$((i * GIB * 128)) conv=notrunc status=none
	done
}

# 1. storage move against cp --sparse=always, same file system.
mkdir -p "$tmp/src" "$tmp/cp"
make_image "$tmp/src/disk.img"
say "image: ${GIB} GiB, $DATA MiB of data, $(du -k "$tmp/src/disk.img" | cut -f1) KiB allocated, in $(stat -f -c %T "$tmp")"
H a vm create sb --memory 8M --workload dirty=0 --disk "$tmp/src/disk.img" >/dev/null &&
	H a vm start sb >/dev/null || { say "the VM did not start"; exit 1; }
mv_rates=() cp_rates=() cur=$tmp/src
for i in 1 2 3; do
	dst=$tmp/m$i
	mkdir -p "$dst"
	t0=$(now_ms)
	if H a storage move sb --path "$dst" >/dev/null 2>"$tmp/err"; then
		ms=$(($(now_ms) - t0))
		mv_rates+=("$(awk -v b="$DATA" -v t="$ms" 'BEGIN { printf "%.1f", b * 1.048576 / (t / 1000) }')")
		echo "storage_bench copy=storage_move rep=$i ms=$ms data_mib=$DATA mb_per_s=${mv_rates[-1]}"
		rmdir "$cur" 2>/dev/null
		cur=$dst
	else
		say "storage move $i failed: $(cat "$tmp/err")"
	fi
	sync
	t0=$(now_ms)
	cp --sparse=always "$cur/disk.img" "$tmp/cp/disk.img"
	ms=$(($(now_ms) - t0))
	cp_rates+=("$(awk -v b="$DATA" -v t="$ms" 'BEGIN { printf "%.1f", b * 1.048576 / (t / 1000) }')")
	echo "storage_bench copy=cp_sparse rep=$i ms=$ms data_mib=$DATA mb_per_s=${cp_rates[-1]} allocated_kib=$(du -k "$tmp/cp/disk.img" | cut -f1)"
	rm -f "$tmp/cp/disk.img"
done
mv=$(printf '%s\n' "${mv_rates[@]}" | median)
cp=$(printf '%s\n' "${cp_rates[@]}" | median)
echo "storage_bench compare=storage_move/cp_sparse move_mb_per_s=${mv:--} cp_mb_per_s=${cp:--} ratio=$(ratio "$mv" "$cp")"
H a vm stop sb --force >/dev/null
H a vm delete sb >/dev/null
rm -rf "$tmp"/m[123] "$tmp/src"

# 2. A Linux guest moved with its disk, idle, then writing.
# shellcheck source=selftests/linux_common.sh
source "$REPO/selftests/linux_common.sh"
mkdir -p "$tmp/a-disks" "$tmp/b-disks"
make_image "$tmp/a-disks/lx.img"
# The guest writes while its disk's sector 8 MiB + 4 KiB holds GO (the host
# writes it there while no move runs), and prints its count each second.
linux_initramfs "$tmp/initramfs.gz" '
echo "VMMIG-LINUX-UP $(uname -r)"
i=0 t=$(date +%s)
while :; do
	blockdev --flushbufs /dev/vda
	if [ "$(dd if=/dev/vda bs=4096 skip=2049 count=1 2>/dev/null | head -c 2)" = GO ]; then
		for k in 1 2 3 4 5 6 7 8; do
			printf "%-4096s" "R$i" | dd of=/dev/vda bs=4096 seek=$((4096 + i % 4096)) conv=notrunc,fsync 2>/dev/null
			i=$((i + 1))
		done
	else
		sleep 0.2
	fi
	[ "$(date +%s)" = "$t" ] || { t=$(date +%s); echo "WROTE $i"; }
done' virtio_mmio virtio_blk
H a vm create lx --memory 96M --vcpus 1 --kernel "$LINUX_KERNEL" --initrd "$tmp/initramfs.gz" \
	--cmdline "$LINUX_CMDLINE" --disk "$tmp/a-disks/lx.img" >/dev/null &&
	H a vm start lx >/dev/null || { say "the Linux guest did not start"; exit 1; }
wrote() { tr -d '\r' <"$tmp/$1/state/lx/console.log" | grep -ao 'WROTE [0-9]*' | tail -n 1 | cut -d' ' -f2; }
up() { [ -n "$(wrote "$1")" ]; }
wait_for 300 up a || { say "the Linux guest did not come up"; exit 1; }

# case NAME FROM TO DIR: one move with the disk, a line of its figures.
case_line() {
	local name=$1 from=$2 to=$3 dir=$4 out rc=0 w0 w1 t0 ms
	w0=$(wrote "$from")
	t0=$(now_ms)
	out=$(H "$from" -j move lx --to "10.77.0.$to" --include-storage --storage-path "$dir" \
		--timeout 300 --on-timeout pause 2>"$tmp/err") || rc=$?
	ms=$(($(now_ms) - t0))
	res=$(tail -n 1 <<<"$out")
	if [ $rc -ne 0 ]; then
		say "case=$name: the move failed: $(cat "$tmp/err")"
		return 1
	fi
	w1=$(wrote "$([ "$to" = 2 ] && echo b || echo a)")
	echo "storage_bench case=$name disk_gib=$GIB data_mib=$DATA wall_ms=$ms" \
		"total_ms=$(($(jq -r .migration.elapsed_ns <<<"$res") / 1000000))" \
		"downtime_ms=$(($(jq -r .migration.downtime_ns <<<"$res") / 1000000))" \
		"rounds=$(jq -r .migration.progress.round <<<"$res")" \
		"sent_mib=$(jq -r '.migration.progress.sent_bytes / 1048576 | floor' <<<"$res")" \
		"disk_sent_mib=$(jq -r '.migration.progress.disk_sent_bytes / 1048576 | floor' <<<"$res")" \
		"guest_records_written=$((w1 - w0))" \
		"guest_kib_per_s=$(awk -v n="$((w1 - w0))" -v t="$ms" 'BEGIN { printf "%.0f", n * 4 / (t / 1000) }')"
}
case_line idle a 2 "$tmp/b-disks"
printf '%-4096s' GO | on b dd of="$tmp/b-disks/lx.img" bs=4096 seek=2049 conv=notrunc status=none
sleep 10
case_line writing b 1 "$tmp/a-disks"
H a vm stop lx --force >/dev/null
