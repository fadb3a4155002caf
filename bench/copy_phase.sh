#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A move's copy phase against a raw kTLS stream of as many bytes over the
# same path, and where the rest of the move's time goes: two hosts as
# network namespaces (selftests/mig_common.sh), a workload VM of MIB + 16
# MiB whose MIB MiB (COPY_PHASE_MIB, default 48) hold data, moved between
# a and b with `vmmig -j move`, and build/bench/tls_bench --between the same
# two hosts in the same direction beside each move. On a shared host the
# path's pace moves by tens of percent from one minute to the next, so the
# figure is the median of PAIRS such pairs (COPY_PHASE_PAIRS, default 5),
# the VM going back and forth, the raw stream before the move in every
# other pair. One line per pair, then the summary:
#   copy_phase pair=N from=a to=b mib=... copy_mb_per_s=... raw_mb_per_s=...
#              ratio=... total_ms=... connect_ms=... predicted_at_ms=...
#              probe_mb_per_s=... probe_to_copy=...
#   copy_phase_summary pairs=N ratio_median=... ratio_min=... ratio_max=...
#              copy_mb_per_s_median=... raw_mb_per_s_median=...
#              probe_to_copy_median=...
# (predicted_at_ms: when the prediction was done, from the move's start;
# probe_mb_per_s: the path as the prediction's probe measured it, and
# probe_to_copy that over the copy's own pace).
# Run it in a test VM (bench/run copy; by hand: selftests/vm-run -k 6.1 -c 1
# -m 2G -- bench/copy_phase.sh).

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

MIB=${COPY_PHASE_MIB:-48}
PAIRS=${COPY_PHASE_PAIRS:-5}
declare -A addr=([a]=10.77.0.1 [b]=10.77.0.2)
host_up a 1 || { echo "copy_phase: host a did not come up"; exit 1; }
host_up b 2 || { echo "copy_phase: host b did not come up"; exit 1; }
if ! H a vm create big --memory "$((MIB + 16))M" --workload "dirty=0,wss=${MIB}M,fill=on" >/dev/null ||
	! H a vm start big >/dev/null; then
	echo "copy_phase: the VM did not start"
	exit 1
fi
# Its working set written: the guest publishes its checksum after its fill
# (memory in use, in huge pages, counts whole 2 MiB pages).
filled() { [ "$(hjs a big .data_pages)" -ge $((MIB * 256)) ] && [ "$(hjs a big .workload.checksum)" != 0x0 ]; }
wait_for 300 filled || { echo "copy_phase: only $(hjs a big .data_pages) pages filled"; exit 1; }

# raw FROM TO: the raw kTLS stream's MB/s, FROM's namespace to TO's address.
raw() {
	"$REPO/build/bench/tls_bench" --between "$(ns "$1")" "$(ns "$2")" "${addr[$2]}" \
		--mib "$MIB" --modes tls_ktls | sed -n 's/^tls_ktls mb_per_s=\([0-9.]*\).*/\1/p'
}

from=a
to=b
for ((i = 1; i <= PAIRS; i++)); do
	r=
	[ $((i % 2)) = 0 ] && r=$(raw "$from" "$to")
	H "$from" -j move big --to "${addr[$to]}" >"$tmp/move.json" 2>"$tmp/err" ||
		{ echo "copy_phase: move $i ($from -> $to) failed: $(cat "$tmp/err")"; exit 1; }
	[ $((i % 2)) = 1 ] && r=$(raw "$from" "$to")
	jq -r --arg raw "${r:-0}" --arg mib "$MIB" --arg i "$i" --arg from "$from" --arg to "$to" \
		'.migration | (.progress.sent_bytes / (.copy_ns / 1e9) / 1e6) as $copy |
		"copy_phase pair=\($i) from=\($from) to=\($to) mib=\($mib)" +
		" copy_mb_per_s=\($copy * 100 | round / 100) raw_mb_per_s=\($raw)" +
		" ratio=\(if ($raw | tonumber) > 0 then ($copy / ($raw | tonumber) * 100 | round / 100) else "-" end)" +
		" total_ms=\(.elapsed_ns / 1e6 | round) connect_ms=\(.prediction.connect_ms)" +
		" predicted_at_ms=\(.prediction.spent_ms)" +
		" probe_mb_per_s=\((.prediction.throughput // 0) / 1e4 | round / 100)" +
		" probe_to_copy=\(if $copy > 0 then ((.prediction.throughput // 0) / 1e6 / $copy * 100 | round / 100) else "-" end)"' \
		<<<"$(tail -n 1 "$tmp/move.json")" |
		tee -a "$tmp/pairs"
	t=$from
	from=$to
	to=$t
done
# values KEY: KEY's values over the pairs, sorted; a raw stream that failed
# (ratio "-", raw 0) gives none.
values() {
	sed -n "s/.* $1=\([0-9][0-9.]*\).*/\1/p" "$tmp/pairs" | awk '$1 > 0' | sort -g
}
# median KEY: the median of KEY over the pairs (the lower middle of an even count).
median() {
	values "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
echo "copy_phase_summary pairs=$(grep -c . "$tmp/pairs") ratio_median=$(median ratio)" \
	"ratio_min=$(values ratio | head -n 1)" "ratio_max=$(values ratio | tail -n 1)" \
	"copy_mb_per_s_median=$(median copy_mb_per_s) raw_mb_per_s_median=$(median raw_mb_per_s)" \
	"probe_to_copy_median=$(median probe_to_copy)"
