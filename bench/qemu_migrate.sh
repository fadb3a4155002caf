#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The QEMU baseline of the migration benchmark, run inside the test VM
# (bench/run qemu, from `make bench`, in a test VM of one vCPU): QEMU
# (-accel kvm) migrates a small Linux guest whose /init is bench/dirtier to
# a second QEMU on 127.0.0.1, at several guest sizes and dirty rates.
# One key=value line per case (build/bench/qemu_migrate), then a summary.
# See "QEMU baseline" in Documentation/admin-guide/benchmarks.rst.
#
# QEMU_BENCH_CASES overrides the cases: "NAME:MEM_MIB:RATE ..." (RATE in
# 4 KiB pages per second). Cases of 1 GiB run only if the test VM has the
# memory for two such guests (vm-run -m 3G).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
B=$REPO/build/bench
QEMU=${QEMU:-qemu-system-x86_64}

say() { printf 'qemu_migrate: %s\n' "$*"; }
skip() { say "not run: $*"; exit 4; }

[ -c /dev/kvm ] || skip "no /dev/kvm in this VM"
command -v "$QEMU" >/dev/null || skip "$QEMU is not installed"
for f in "$B/qemu_migrate" "$B/dirtier"; do
	[ -x "$f" ] || skip "$f is not built (make benchmarks)"
done

tmp=$(mktemp -d /tmp/qemu_migrate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The nested guest boots the test VM's own kernel: the ELF vmlinux that
# vm-run extracted (PVH boot, no decompression), else the bzImage.
kver=$(uname -r)
kernel=$(find "$REPO/build/vm/$kver" -maxdepth 1 -name 'vmlinux-*' 2>/dev/null | head -n 1)
[ -n "$kernel" ] || kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || skip "no kernel for the guest ($kernel)"
"$REPO/bench/dirtier-initrd" "$tmp/initrd.cpio" || skip "cannot build the guest's initramfs"

mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
cases=${QEMU_BENCH_CASES:-"idle-256:256:0 moderate-256:256:300 heavy-256:256:1000"}
say "guest kernel $kernel, test VM $kver with $((mem_kib / 1024)) MiB, $(nproc) vCPU(s)"
lines=()
fails=0
port=46600
for c in $cases; do
	IFS=: read -r name mem rate <<<"$c"
	# Two guests of MEM (source and destination) and the test VM's own needs.
	if [ $((mem * 2 + 512)) -gt $((mem_kib / 1024)) ]; then
		say "case=$name not run: two guests of $mem MiB do not fit in $((mem_kib / 1024)) MiB (vm-run -m)"
		continue
	fi
	# What the kernel leaves free in a guest of 256 MiB is about 190 MiB.
	buf=$((mem - 96))
	port=$((port + 1))
	start=$(date +%s)
	if out=$("$B/qemu_migrate" --kernel "$kernel" --initrd "$tmp/initrd.cpio" --dir "$tmp" \
		--case "$name" --mem "$mem" --buf "$buf" --rate "$rate" --port "$port" \
		--downtime-ms 300 --timeout 90 --qemu "$QEMU" 2>"$tmp/$name.err"); then
		:
	else
		fails=$((fails + 1))
		say "case=$name failed after $(($(date +%s) - start)) s:"
		sed 's/^/  /' "$tmp/$name.err"
		for f in "$tmp/$name"-*.qemu.log; do
			[ -s "$f" ] && { echo "  ${f##*/}:"; tail -n 5 "$f" | sed 's/^/    /'; }
		done
		for f in "$tmp/$name"-*.serial.log; do
			[ -s "$f" ] && { echo "  ${f##*/} ends:"; tr -d '\r' <"$f" |
				sed 's/^\.*//' | grep . | tail -n 3 | sed 's/^/    /'; }
		done
		mkdir -p "$B/qemu_migrate.logs" && cp "$tmp/$name"-*.log "$B/qemu_migrate.logs/"
		say "logs kept in $B/qemu_migrate.logs"
	fi
	if [ -n "$out" ]; then
		echo "$out"
		lines+=("$out")
	fi
	say "case=$name took $(($(date +%s) - start)) s"
done

# field LINE KEY: the value of KEY= in a key=value line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
echo "== QEMU baseline summary (downtime limit 300 ms; figures in ms)"
printf '%-14s %5s %5s %11s %7s %8s %10s %8s %9s %8s\n' case rate 'done' status total \
	downtime switch_gap seen_gap guest_gap sent_MiB
for l in "${lines[@]}"; do
	printf '%-14s %5s %5s %11s %7s %8s %10s %8s %9s %8s\n' "$(field "$l" case)" \
		"$(field "$l" rate)" "$(field "$l" rate_achieved)" "$(field "$l" status)" \
		"$(field "$l" total_ms)" "$(field "$l" downtime_ms)" "$(field "$l" switch_gap_ms)" \
		"$(field "$l" seen_gap_ms)" "$(field "$l" guest_gap_ms)" \
		"$(field "$l" transferred_mib)"
done
exit $((fails > 0))
