# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034,SC2154 # sets results for its callers; tmp is common.sh's
# Sourced by the migration benchmarks (bench/*.sh): their key=value lines,
# the raw stream, and moves between the hosts of selftests/mig_common.sh.

# ratio A B: A/B to two decimals, "-" when either is missing or negative, or
# B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "-" || b == "" || b == "-" ||
		b + 0 <= 0 || a + 0 < 0) print "-"; else printf "%.2f\n", a / b }'
}

# field LINE KEY: the value of KEY= in a key=value line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# raw_stream PREFIX NS_A NS_B MIB: MIB MiB one way from a socket in network
# namespace NS_A to one listening on 10.77.0.2 in NS_B, once, over plain TCP
# and over TLS as vmmigd's (kTLS where the kernel and OpenSSL take it, else
# OpenSSL's records through a relay): build/bench/tls_bench --between. Prints
# its output and "PREFIX raw_stream ..."; sets tls_mbs and tcp_mbs (MB/s,
# empty when that stream failed); false when the TLS stream failed.
raw_stream() {
	local raw
	raw=$("$REPO/build/bench/tls_bench" --between "$2" "$3" 10.77.0.2 --mib "$4" --reps 1 \
		--modes plain_tcp,tls_ktls 2>&1)
	sed 's/^/  /' <<<"$raw"
	tls_mbs=$(sed -n 's/^tls_ktls mb_per_s=\([0-9.]*\).*/\1/p' <<<"$raw")
	tcp_mbs=$(sed -n 's/^plain_tcp mb_per_s=\([0-9.]*\).*/\1/p' <<<"$raw")
	echo "$1 raw_stream mib=$4 tls_mb_per_s=${tls_mbs:--} tcp_mb_per_s=${tcp_mbs:--}"
	[ -n "$tls_mbs" ]
}

# raw_tls NS_A NS_B MIB: MB/s of MIB MiB over TLS as vmmigd's (tls_ktls mode of
# build/bench/tls_bench --between), from NS_A to 10.77.0.2 in NS_B; empty when
# the stream failed. For the stream under the same load as a move: with the
# guest running beside it.
raw_tls() {
	"$REPO/build/bench/tls_bench" --between "$1" "$2" 10.77.0.2 --mib "$3" --reps 1 \
		--modes tls_ktls 2>&1 | sed -n 's/^tls_ktls mb_per_s=\([0-9.]*\).*/\1/p'
}

# bench_move VM ARGS...: `vmmig -j move VM --to 10.77.0.2 ARGS` from host a
# (selftests/mig_common.sh). A loaded host can make the TLS handshake under
# TCG exceed vmmigd's limit: then once more (the guest still runs on a).
# Sets res (the result's JSON line), rc (the exit status) and retried (0 or
# 1), leaves stderr in $tmp/err; true when the move is done.
bench_move() {
	local vm=$1 out
	shift
	rc=0
	retried=0
	out=$(H a -j move "$vm" --to 10.77.0.2 "$@" 2>"$tmp/err") || rc=$?
	if [ $rc -ne 0 ] && grep -q "handshake timed out" "$tmp/err"; then
		retried=1
		rc=0
		out=$(H a -j move "$vm" --to 10.77.0.2 "$@" 2>"$tmp/err") || rc=$?
	fi
	res=$(tail -n1 <<<"$out")
	[ $rc -eq 0 ] && [ "$(jq -r .migration.progress.phase <<<"$res" 2>/dev/null)" = "done" ]
}

# bench_vm_gone VM: VM stopped and deleted on hosts a and b, where it is.
bench_vm_gone() {
	local h
	for h in a b; do
		[ -e "$tmp/$h/state/$1/vm.json" ] || continue
		H "$h" vm stop "$1" --force >/dev/null 2>&1
		H "$h" vm delete "$1" >/dev/null 2>&1
	done
}
