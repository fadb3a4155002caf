#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A move's copy phase against a raw kTLS stream of as many bytes over the
# same path, and where the rest of the move's time goes: two hosts as
# network namespaces (selftests/mig_common.sh), a workload VM of MIB + 16
# MiB whose MIB MiB (COPY_PHASE_MIB, default 48) hold data, moved a -> b
# with `vmmig -j move`; then build/bench/tls_bench --between a b. One line:
#   copy_phase mib=... copy_mb_per_s=... raw_mb_per_s=... ratio=...
#              total_ms=... connect_ms=... predicted_at_ms=...
# (predicted_at_ms: when the prediction was done, from the move's start).
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
host_up a 1 || { echo "copy_phase: host a did not come up"; exit 1; }
host_up b 2 || { echo "copy_phase: host b did not come up"; exit 1; }
if ! H a vm create big --memory "$((MIB + 16))M" --workload "dirty=0,wss=${MIB}M,fill=on" >/dev/null ||
	! H a vm start big >/dev/null; then
	echo "copy_phase: the VM did not start"
	exit 1
fi
filled() { [ "$(hjs a big .data_pages)" -ge $((MIB * 256)) ]; }
wait_for 300 filled || { echo "copy_phase: only $(hjs a big .data_pages) pages filled"; exit 1; }
H a -j move big --to 10.77.0.2 >"$tmp/move.json" 2>"$tmp/err" ||
	{ echo "copy_phase: the move failed: $(cat "$tmp/err")"; exit 1; }
m=$(tail -n 1 "$tmp/move.json")
raw=$("$REPO/build/bench/tls_bench" --between "$(ns a)" "$(ns b)" 10.77.0.2 --mib "$MIB" \
	--modes tls_ktls | sed -n 's/^tls_ktls mb_per_s=\([0-9.]*\).*/\1/p')
jq -r --arg raw "${raw:-0}" --arg mib "$MIB" '.migration |
	(.progress.sent_bytes / (.copy_ns / 1e9) / 1e6) as $copy |
	"copy_phase mib=\($mib) copy_mb_per_s=\($copy * 100 | round / 100) raw_mb_per_s=\($raw)" +
	" ratio=\(if ($raw | tonumber) > 0 then ($copy / ($raw | tonumber) * 100 | round / 100) else "-" end)" +
	" total_ms=\(.elapsed_ns / 1e6 | round) connect_ms=\(.prediction.connect_ms)" +
	" predicted_at_ms=\(.prediction.spent_ms)"' <<<"$m"
