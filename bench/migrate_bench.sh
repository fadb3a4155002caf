#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmmig's side of the migration benchmark (issue 11), run inside the test VM
# by bench/run: two hosts as network namespaces joined by a veth pair, each
# with its vmmigd (selftests/mig_common.sh), and workload guests moved from
# a to b with `vmmig move -j`, over TLS as every move. Per case one
# key=value line: total time, downtime (vmmigd's), rounds, bytes, the move's
# own prediction against what was measured, and its throughput against a
# raw TLS stream (build/bench/tls_bench --between) of the same bytes
# between the same two namespaces, in the same run. Then a summary table.
# Its figures against QEMU's moving the same Linux guest: bench/same_guest.sh.
# See "The migration benchmark" in Documentation/admin-guide/testing.rst.
#
# MIG_BENCH_MIB (default 32) sets the guests' memory: the test VM is
# TCG-emulated, TLS runs at a few MB/s there, so the guests are small.

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

MIB=${MIG_BENCH_MIB:-32}
WSS=$((MIB / 2))
TLS_BENCH=$REPO/build/bench/tls_bench
say() { printf 'migrate_bench: %s\n' "$*"; }

[ -x "$TLS_BENCH" ] || skip "$TLS_BENCH is not built (make benchmarks)"
host_up a 1 || { say "host a did not come up"; exit 1; }
host_up b 2 || { say "host b did not come up"; exit 1; }
say "guests of $MIB MiB (working set $WSS MiB), moved from a to b over TLS; $(nproc) vCPU(s)"

# started HOST VM RATE: running, and writing if RATE is not 0 (an idle
# workload's counter stays at 0).
started() { [ "$(hstate "$1" "$2")" = running ] && { [ "$3" = 0 ] || hcounter_above "$1" "$2" 0; }; }

declare -A line=()
order=()
fails=0
n=0
# run_case NAME RATE [MOVE ARGS...]: one workload guest of MIB MiB that
# dirties RATE pages a second, moved a -> b, then removed. WL_EXTRA adds
# to its --workload (",fill=on": its working set written once first).
run_case() {
	local name=$1 rate=$2 vm res t0 rc=0 p m retried
	shift 2
	n=$((n + 1))
	vm=bench$n
	t0=$SECONDS
	if ! H a vm create "$vm" --memory "${MIB}M" --workload "dirty=$rate,wss=${WSS}M${WL_EXTRA:-}" >/dev/null ||
		! H a vm start "$vm" >/dev/null ||
		! wait_for 60 started a "$vm" "$rate"; then
		say "case=$name: the guest did not start"
		fails=$((fails + 1))
		return
	fi
	# A few seconds at its rate before the move samples it.
	sleep 3
	# Every move bounded: after 60 s vmmigd throttles the guest until it
	# converges (throttle_pct says so).
	if ! bench_move "$vm" --timeout 60 --on-timeout throttle "$@"; then
		say "case=$name: the move failed (exit $rc): $(cat "$tmp/err") $res"
		fails=$((fails + 1))
	else
		m=$(jq -r '.migration | [.elapsed_ns / 1e6, .downtime_ns / 1e6, .progress.round,
			.progress.sent_bytes, .progress.raw_bytes, .prediction.verdict,
			.prediction.total_ms, .prediction.downtime_ms, .prediction.throughput,
			.prediction.dirty_rate, .progress.throttle_pct, .copy_ns / 1e6,
			(.transport // "-" | if test("kTLS") then "ktls" elif test("relay") then "relay"
			 else "-" end)] | map(tostring) | join(" ")' <<<"$res")
		read -r tot down rounds sent raw verdict ptot pdown pthr pdirty thr copy tls <<<"$m"
		p="migrate_bench case=$name mem_mib=$MIB rate=$rate args=$(IFS=,; echo "${*:-none}" | tr ' ' ,)"
		p+=" $(awk -v t="$tot" -v d="$down" -v s="$sent" -v r="$raw" -v c="$copy" 'BEGIN {
			printf "total_ms=%.0f downtime_ms=%.0f copy_ms=%.0f sent_mib=%.2f raw_mib=%.2f compress_ratio=%.2f mb_per_s=%.2f e2e_mb_per_s=%.2f",
				t, d, c, s / 1048576, r / 1048576, s ? r / s : 0, c ? s / 1e3 / c : 0, t ? s / 1e3 / t : 0 }')"
		p+=" rounds=$((rounds + 1)) throttle_pct=$thr retried=$retried tls=$tls verdict=$verdict predicted_total_ms=$ptot"
		p+=" predicted_downtime_ms=$pdown predicted_mb_per_s=$(ratio "$pthr" 1e6)"
		p+=" predicted_dirty_rate=$pdirty total_pred_ratio=$(ratio "$ptot" "$tot")"
		p+=" downtime_pred_ratio=$(ratio "$pdown" "$down")"
		echo "$p"
		line[$name]=$p
		order+=("$name")
	fi
	bench_vm_gone "$vm"
	say "case=$name took $((SECONDS - t0)) s"
}

# The rates of bench/same_guest.sh (0, 300, 1000 pages/s) and one more.
run_case idle 0
run_case moderate 300
run_case heavy 1000
run_case extreme 3000
run_case moderate-streams4 300 --streams 4
run_case moderate-lz4 300 --compress lz4
run_case moderate-zstd 300 --compress zstd

# Two setups of both daemons side by side: guests whose working set (MIB/2)
# is written once and then left alone, so every move copies the same bytes,
# moved under each setup alternately, three of each; the medians of their
# copy-phase throughput side by side. vmmigd's eBPF programs (counting,
# marking, RTT; issue 13) against none (no CAP_BPF); the streams in kTLS
# against vmmigd's OpenSSL relay (vmmigd --no-ktls), issue 11's "measure
# both".
#
# daemons_as on|off|relay: both daemons again, with their eBPF programs,
# without them, or with them and without kTLS.
daemons_as() {
	local h args=()
	[ "$1" = relay ] && args=(--no-ktls)
	for h in a b; do
		daemon_down "$h"
		[ "$1" = off ] && VMMIGD_WRAP=("${NO_BPF[@]}") || VMMIGD_WRAP=(env)
		daemon_up "$h" "${args[@]}" || return 1
	done
	VMMIGD_WRAP=(env)
	[ "$(H a -j stats | jq -r .bpf.loaded)" = "$([ "$1" = off ] && echo false || echo true)" ]
}
# side_by_side WHAT A B: the comparison line "compare=WHAT_A/WHAT_B".
side_by_side() {
	local what=$1 i mode mbs=() a b tls
	for i in 1 2 3; do
		for mode in "$2" "$3"; do
			if ! daemons_as "$mode"; then
				say "$what $mode: the daemons did not come up as asked"
				fails=$((fails + 1))
				continue
			fi
			WL_EXTRA=,fill=on run_case "filled-$what-$mode-$i" 0
			# The streams as the arm says: kTLS where the kernel has it, else both relay.
			tls=$(field "${line[filled-$what-$mode-$i]:-}" tls)
			if [ "$what" = tls ] && [ -n "$tls" ] &&
				[ "$tls" != "$([ "$mode" = relay ] && echo relay || echo ktls)" ]; then
				say "$what $mode: the streams went over $tls"
				{ [ "$mode" = on ] && ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp; } ||
					fails=$((fails + 1))
			fi
			mbs+=("$mode $(field "${line[filled-$what-$mode-$i]:-}" mb_per_s)")
		done
	done
	daemons_as on >/dev/null || :
	med() { printf '%s\n' "${mbs[@]}" | awk -v m="$1" '$1 == m && $2 != "" { print $2 }' |
		sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
	a=$(med "$2") b=$(med "$3")
	echo "migrate_bench compare=${what}_$2/${what}_$3 $2_mb_per_s=${a:--} $3_mb_per_s=${b:--}" \
		"ratio=$(ratio "$a" "$b")"
}
side_by_side bpf on off
side_by_side tls on relay

# The raw stream: as many bytes as the moderate move sent, from a's
# namespace to b's address (bench/lib.sh).
raw_mib=$(field "${line[moderate]:-}" sent_mib)
raw_mib=$(awk -v m="${raw_mib:-$MIB}" 'BEGIN { printf "%d\n", m < 1 ? 1 : m + 0.999 }')
raw_stream migrate_bench "$(ns a)" "$(ns b)" "$raw_mib" ||
	{ say "the raw TLS stream failed"; fails=$((fails + 1)); }

# Ratios between cases of this run.
base=${line[moderate]:-}
for c in moderate-streams4 moderate-lz4 moderate-zstd; do
	[ -n "$base" ] && [ -n "${line[$c]:-}" ] || continue
	echo "migrate_bench compare=$c/moderate" \
		"total_ratio=$(ratio "$(field "${line[$c]}" total_ms)" "$(field "$base" total_ms)")" \
		"downtime_ratio=$(ratio "$(field "${line[$c]}" downtime_ms)" "$(field "$base" downtime_ms)")" \
		"sent_ratio=$(ratio "$(field "${line[$c]}" sent_mib)" "$(field "$base" sent_mib)")" \
		"compress_ratio=$(field "${line[$c]}" compress_ratio)"
done

echo "== vmmig migration summary (guests of $MIB MiB over TLS; figures in ms," \
	"MB/s; raw TLS stream ${tls_mbs:--} MB/s)"
printf '%-18s %5s %7s %8s %6s %8s %6s %7s %9s %9s %8s %8s\n' case rate total downtime rounds \
	sent_MiB MB/s to_raw verdict pred_tot tot_rat down_rat
for c in "${order[@]}"; do
	l=${line[$c]}
	printf '%-18s %5s %7s %8s %6s %8s %6s %7s %9s %9s %8s %8s\n' "$c" "$(field "$l" rate)" \
		"$(field "$l" total_ms)" "$(field "$l" downtime_ms)" "$(field "$l" rounds)" \
		"$(field "$l" sent_mib)" "$(field "$l" mb_per_s)" \
		"$(ratio "$(field "$l" mb_per_s)" "$tls_mbs")" "$(field "$l" verdict)" \
		"$(field "$l" predicted_total_ms)" "$(field "$l" total_pred_ratio)" \
		"$(field "$l" downtime_pred_ratio)"
done
for c in "${order[@]}"; do
	[ -n "$tls_mbs" ] || break
	echo "migrate_bench throughput case=$c ratio_to_raw_tls=$(ratio "$(field "${line[$c]}" mb_per_s)" "$tls_mbs")"
done
exit $((fails > 0))
