#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The same-guest comparison of issue 11's benchmark, inside one test VM of
# one vCPU (bench/run, from `make bench`): vmmig and QEMU move the SAME
# guest over the SAME path, one after the other. Two hosts as network
# namespaces joined by a veth pair, each with its vmmigd and a certificate
# from one lab CA (selftests/mig_common.sh). The guest: the test VM's own
# kernel with bench/dirtier as /init (bench/dirtier-initrd), MEM MiB, one
# vCPU, a buffer of 160 MiB of data written at RATE pages a second, a
# console heartbeat every 10 ms.
#
#   QEMU   bench/qemu_migrate: source QEMU (-accel kvm) in a's namespace, the
#          destination (-incoming) in b's, over TLS (tls-creds-x509 made from
#          the hosts' certificates of the lab CA, verify-peer on both ends).
#   vmmig  vmmig vm create --kernel ... --initrd ... on host a, then
#          `vmmig -j move NAME --to 10.77.0.2` (over TLS, as every move);
#          build/bench/console_gap reads both VMMs' console.log meanwhile.
#
# For both, the switch gap is what an observer outside sees: from the last
# console byte of the source's guest to the first of the destination's.
# One key=value line per move, then the raw TLS stream of as many bytes
# over the same path (build/bench/tls_bench --between), the ratios and a
# summary table. See "The same-guest comparison" in
# Documentation/admin-guide/testing.rst.
#
# SAME_GUEST_CASES: "MEM_MIB:RATE ..." (default "256:0 256:300 256:1000
# 1024:0"); a case whose two guests do not fit the test VM's memory is
# skipped, saying so. SAME_GUEST_TIMEOUT: seconds before vmmig throttles the
# guest (default 120); QEMU throttles it itself (auto-converge) and is
# cancelled after SAME_GUEST_QEMU_TIMEOUT (default 300). SAME_GUEST_QEMU_TCP
# (default 1; 0: not) adds QEMU over plain TCP on the same path at the first
# case's size and rate, for scale. SAME_GUEST_BUF: the dirtier's buffer in
# MiB (default 160).

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

B=$REPO/build/bench
QEMU=${QEMU:-qemu-system-x86_64}
CASES=${SAME_GUEST_CASES:-"256:0 256:300 256:1000 1024:0"}
TIMEOUT=${SAME_GUEST_TIMEOUT:-120}
QEMU_TIMEOUT=${SAME_GUEST_QEMU_TIMEOUT:-300}
BUF=${SAME_GUEST_BUF:-160}
BUSY_MIB=${SAME_GUEST_BUSY_MIB:-32}
say() { printf 'same_guest: %s\n' "$*"; }

command -v "$QEMU" >/dev/null || skip "$QEMU is not installed"
for f in "$B/qemu_migrate" "$B/console_gap" "$B/dirtier" "$B/tls_bench"; do
	[ -x "$f" ] || skip "$f is not built (make benchmarks)"
done
kver=$(uname -r)
# QEMU boots the ELF vmlinux that vm-run extracted (PVH), vmmig-vmm the
# bzImage it came from: the same kernel.
vmlinux=$(find "$REPO/build/vm/$kver" -maxdepth 1 -name 'vmlinux-*' 2>/dev/null | head -n 1)
[ -n "$vmlinux" ] || vmlinux=/boot/vmlinuz-$kver
bzimage=/boot/vmlinuz-$kver
[ -r "$bzimage" ] || skip "no $bzimage"
"$REPO/bench/dirtier-initrd" "$tmp/dirtier.cpio" || skip "cannot build the guest's initramfs"
# As bench/qemu_migrate's command line, but acpi=noirq (vmmig-vmm's IRQs
# are routed through its ACPI tables).
CMDLINE="console=ttyS0 panic=-1 loglevel=1 nokaslr nox2apic lapic=notscdeadline mitigations=off"
CMDLINE+=" cryptomgr.notests rdinit=/init"

host_up a 1 || { say "host a did not come up"; exit 1; }
host_up b 2 || { say "host b did not come up"; exit 1; }
# QEMU's TLS: the same hosts' certificates, named as tls-creds-x509 wants.
mkdir -p "$tmp/qtls/src" "$tmp/qtls/dst"
for d in src dst; do cp "$tmp/ca/ca.crt" "$tmp/qtls/$d/ca-cert.pem"; done
cp "$tmp/a/tls/host.crt" "$tmp/qtls/src/client-cert.pem"
cp "$tmp/a/tls/host.key" "$tmp/qtls/src/client-key.pem"
cp "$tmp/b/tls/host.crt" "$tmp/qtls/dst/server-cert.pem"
cp "$tmp/b/tls/host.key" "$tmp/qtls/dst/server-key.pem"

mem_mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024))
say "guest: $bzimage (QEMU: $vmlinux), dirtier buffer $BUF MiB; test VM $kver," \
	"$mem_mib MiB, $(nproc) vCPU(s); hosts a and b as network namespaces, over TLS"

declare -A line=()
fails=0
port=46600
n=0

# qemu_case MEM RATE TRANSPORT: one QEMU migration a -> b; its line in line[qemu-MEM-RATE].
qemu_case() {
	local mem=$1 rate=$2 tr=$3 name out start tls=()
	name=qemu-$mem-$rate
	[ "$tr" = tls ] || name+=-$tr
	port=$((port + 1))
	[ "$tr" = tls ] && tls=(--tls-src "$tmp/qtls/src" --tls-dst "$tmp/qtls/dst" --tls-hostname b)
	start=$SECONDS
	mkdir -p "$tmp/$name"
	out=$("$B/qemu_migrate" --kernel "$vmlinux" --initrd "$tmp/dirtier.cpio" --dir "$tmp/$name" \
		--case "$name" --mem "$mem" --buf "$BUF" --rate "$rate" --port "$port" \
		--downtime-ms 300 --timeout "$QEMU_TIMEOUT" --qemu "$QEMU" --auto-converge on \
		--src-ns "$(ns a)" --dst-ns "$(ns b)" --addr 10.77.0.2 "${tls[@]}" \
		2>"$tmp/$name.err") || {
		fails=$((fails + 1))
		say "case=$name failed after $((SECONDS - start)) s:"
		sed 's/^/  /' "$tmp/$name.err"
		for f in "$tmp/$name/$name"-*.log; do
			[ -s "$f" ] && { echo "  ${f##*/} ends:"; tr -d '\r' <"$f" | sed 's/^\.*//' |
				grep . | tail -n 4 | sed 's/^/    /'; }
		done
	}
	if [ -n "$out" ]; then
		echo "$out"
		line[$name]=$out
	fi
	say "case=$name took $((SECONDS - start)) s"
}

# console HOST VM: the guest's console as text.
console() { tr -d '\r' 2>/dev/null <"$tmp/$1/state/$2/console.log"; }
stat_lines() { console "$1" "$2" | grep -ac 'dirtier: stat'; }
stats_past() { [ "$(stat_lines "$1" "$2")" -gt "$3" ]; }

# vmmig_case MEM RATE: the same guest moved by vmmig a -> b; line[vmmig-MEM-RATE].
vmmig_case() {
	local mem=$1 rate=$2 name vm start boot rc=0 out res gap gpid retried=0 moved m l busy
	name=vmmig-$mem-$rate
	n=$((n + 1))
	vm=dirtier$n
	start=$SECONDS
	if ! H a vm create "$vm" --memory "${mem}M" --vcpus 1 --kernel "$bzimage" \
		--initrd "$tmp/dirtier.cpio" \
		--cmdline "$CMDLINE DIRTY_RATE=$rate DIRTY_MIB=$BUF" >/dev/null ||
		! H a vm start "$vm" >/dev/null; then
		say "case=$name: the guest did not start"
		fails=$((fails + 1))
		return
	fi
	# Booted and filled its buffer, then three stat lines at its rate (as
	# bench/qemu_migrate waits).
	if ! wait_for 300 stats_past a "$vm" 0; then
		say "case=$name: no stat line from the guest after 300 s; console ends:" \
			"$(console a "$vm" | tail -c 300 | tr '\n' ' ')"
		fails=$((fails + 1))
		H a vm stop "$vm" --force >/dev/null 2>&1
		return
	fi
	boot=$((SECONDS - start))
	wait_for 60 stats_past a "$vm" 3
	# The raw stream while this guest runs: what the path carries with the
	# guest's vCPU on the test VM's CPU too, as during the move.
	busy=$(raw_tls "$(ns a)" "$(ns b)" "$BUSY_MIB")
	l=$(console a "$vm" | grep -a 'dirtier: stat' | tail -n 1)
	"$B/console_gap" "$tmp/a/state/$vm/console.log" "$tmp/b/state/$vm/console.log" \
		>"$tmp/$name.gap" &
	gpid=$!
	bench_move "$vm" --timeout "$TIMEOUT" --on-timeout throttle
	moved=$?
	# The destination's heartbeat, a second of it.
	wait_for 10 stats_past b "$vm" 0
	kill -TERM "$gpid"
	wait "$gpid"
	gap=$(cat "$tmp/$name.gap")
	if [ $moved -ne 0 ]; then
		say "case=$name: the move failed (exit $rc): $(cat "$tmp/err") $res"
		fails=$((fails + 1))
	else
		m=$(jq -r '.migration | [.elapsed_ns / 1e6, .downtime_ns / 1e6, .progress.round,
			.progress.sent_bytes, .prediction.verdict, .prediction.total_ms,
			.prediction.downtime_ms, .prediction.throughput, .progress.throttle_pct,
			.copy_ns / 1e6] | map(tostring) | join(" ")' <<<"$res")
		read -r tot down rounds sent verdict ptot pdown pthr thr copy <<<"$m"
		out="vmmig_move case=$name mem_mib=$mem buf_mib=$BUF rate=$rate"
		out+=" rate_achieved=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$l")"
		out+=" $(awk -v t="$tot" -v d="$down" -v s="$sent" -v c="$copy" 'BEGIN {
			printf "total_ms=%.0f downtime_ms=%.0f copy_ms=%.0f sent_mib=%.1f mb_per_s=%.2f e2e_mb_per_s=%.2f",
				t, d, c, s / 1048576, c ? s / 1e3 / c : 0, t ? s / 1e3 / t : 0 }')"
		out+=" raw_busy_mb_per_s=${busy:--} $gap rounds=$((rounds + 1)) throttle_pct=$thr retried=$retried boot_s=$boot"
		out+=" verdict=$verdict predicted_total_ms=$ptot predicted_downtime_ms=$pdown"
		out+=" predicted_mb_per_s=$(ratio "$pthr" 1e6)"
		out+=" total_pred_ratio=$(ratio "$ptot" "$tot") downtime_pred_ratio=$(ratio "$pdown" "$down")"
		echo "$out"
		line[$name]=$out
	fi
	bench_vm_gone "$vm"
	say "case=$name took $((SECONDS - start)) s"
}

ran=()
for c in $CASES; do
	IFS=: read -r mem rate <<<"$c"
	# Source and destination of MEM each, and the test VM's own needs.
	if [ $((mem * 2 + 512)) -gt "$mem_mib" ]; then
		say "case $mem MiB rate $rate not run: two guests of $mem MiB do not fit in" \
			"$mem_mib MiB (vm-run -m)"
		continue
	fi
	say "== $mem MiB, $rate pages/s: QEMU, then vmmig"
	qemu_case "$mem" "$rate" tls
	vmmig_case "$mem" "$rate"
	ran+=("$mem-$rate")
done
if [ "${SAME_GUEST_QEMU_TCP:-1}" = 1 ] && [ ${#ran[@]} -gt 0 ]; then
	IFS=- read -r mem rate <<<"${ran[0]}"
	say "== for scale: QEMU over plain TCP, $mem MiB, $rate pages/s"
	qemu_case "$mem" "$rate" tcp
	q=${line[qemu-$mem-$rate]:-}
	t=${line[qemu-$mem-$rate-tcp]:-}
	echo "same_guest qemu_tcp_vs_tls case=$mem-$rate" \
		"total_ratio=$(ratio "$(field "$t" total_ms)" "$(field "$q" total_ms)")" \
		"switch_gap_ratio=$(ratio "$(field "$t" switch_gap_ms)" "$(field "$q" switch_gap_ms)")"
fi

# The raw stream: as many bytes as the largest vmmig move sent (at most
# 256 MiB: a throttled move sends several times its memory), one way from
# a's namespace to b's address: TLS as vmmigd's (kTLS where the kernel and
# OpenSSL take it), and plain TCP for scale.
raw_mib=1
for k in "${ran[@]}"; do
	raw_mib=$(awk -v a="$raw_mib" -v b="$(field "${line[vmmig-$k]:-}" sent_mib)" \
		'BEGIN { b += 0.999; b = b > 256 ? 256 : b; printf "%d\n", (b > a ? b : a) }')
done
raw_stream same_guest "$(ns a)" "$(ns b)" "$raw_mib" ||
	{ say "the raw TLS stream failed"; fails=$((fails + 1)); }

# total_ratio K: vmmig's total over QEMU's; "<R" when QEMU did not finish
# (cancelled after R times vmmig's total).
total_ratio() {
	local r
	r=$(ratio "$(field "${line[vmmig-$1]:-}" total_ms)" "$(field "${line[qemu-$1]:-}" total_ms)")
	[ "$r" = - ] || [ "$(field "${line[qemu-$1]:-}" status)" = completed ] || r="<$r"
	echo "$r"
}
for k in "${ran[@]}"; do
	v=${line[vmmig-$k]:-}
	q=${line[qemu-$k]:-}
	echo "same_guest vs_qemu case=$k mem_mib=${k%-*} rate=${k#*-}" \
		"qemu_status=$(field "$q" status)" \
		"total_ratio=$(total_ratio "$k")" \
		"downtime_ratio=$(ratio "$(field "$v" switch_gap_ms)" "$(field "$q" switch_gap_ms)")" \
		"own_downtime_ratio=$(ratio "$(field "$v" downtime_ms)" "$(field "$q" downtime_ms)")" \
		"vmmig_to_raw_tls=$(ratio "$(field "$v" mb_per_s)" "$tls_mbs")" \
		"vmmig_to_raw_tls_busy=$(ratio "$(field "$v" mb_per_s)" "$(field "$v" raw_busy_mb_per_s)")"
done

echo "== same guest, vmmig against QEMU (over TLS between namespaces a and b; ms; raw TLS" \
	"stream ${tls_mbs:--} MB/s, plain TCP ${tcp_mbs:--} MB/s)"
# fld LINE KEY: field, "-" when it is not there.
fld() { local f; f=$(field "$1" "$2"); echo "${f:--}"; }
printf '%-9s %8s %8s %8s %8s %8s %8s %6s %6s %6s %7s %7s %7s %7s %8s %8s\n' case v_total q_total \
	v_gap q_gap v_down q_down tot_r down_r to_raw to_busy v_MB/s v_e2e q_e2e pred_tot pred_dn
for k in "${ran[@]}"; do
	v=${line[vmmig-$k]:-}
	q=${line[qemu-$k]:-}
	qt=$(field "$q" total_ms)
	[ "$(field "$q" status)" = completed ] || qt="${qt:+>$qt}"
	printf '%-9s %8s %8s %8s %8s %8s %8s %6s %6s %6s %7s %7s %7s %7s %8s %8s\n' "$k" \
		"$(fld "$v" total_ms)" "${qt:--}" "$(fld "$v" switch_gap_ms)" \
		"$(fld "$q" switch_gap_ms)" "$(fld "$v" downtime_ms)" "$(fld "$q" downtime_ms)" \
		"$(total_ratio "$k")" "$(ratio "$(field "$v" switch_gap_ms)" "$(field "$q" switch_gap_ms)")" \
		"$(ratio "$(field "$v" mb_per_s)" "$tls_mbs")" \
		"$(ratio "$(field "$v" mb_per_s)" "$(field "$v" raw_busy_mb_per_s)")" "$(fld "$v" mb_per_s)" \
		"$(fld "$v" e2e_mb_per_s)" "$(awk -v m="$(field "$q" transferred_mib)" -v t="$(field "$q" total_ms)" \
			'BEGIN { if (t > 0) printf "%.2f", m * 1.048576 / (t / 1e3); else print "-" }')" \
		"$(fld "$v" predicted_total_ms)" "$(fld "$v" predicted_downtime_ms)"
done
echo "targets: tot_r (vmmig/QEMU total) <= 0.7, down_r (switch gap) <= 0.5, to_raw >= 0.9" \
	"(to_busy: against the raw stream with the guest running beside it); v_MB/s: vmmig's" \
	"throughput while the streams carried memory (copy_ms), v_e2e and q_e2e: bytes over the" \
	"whole move;" \
	"pred_tot, pred_dn: vmmig's prediction (ms) before the move; >: QEMU cancelled, not converged"
exit $((fails > 0))
