#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What `make demo` runs inside the test VM: two hosts (network namespaces,
# each with its vmmigd and a certificate of one lab CA), and a workload VM
# that moves live from one to the other and back while it keeps counting.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$REPO/build/bin:$PATH
# shellcheck source=selftests/common.sh
source "$REPO/selftests/common.sh"
V=$VMMIG
# shellcheck source=selftests/mig_common.sh
source "$REPO/selftests/mig_common.sh"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
# on host A or B: vmmig ARGS
A() { printf '\n\033[1ma$ vmmig %s\033[0m\n' "$*"; H a "$@"; }
B() { printf '\n\033[1mb$ vmmig %s\033[0m\n' "$*"; H b "$@"; }

say "booted $(uname -r) under QEMU; kvm_amd and vmmig.ko are loaded"
step vmmig host show

say "two hosts: network namespaces a (10.77.0.1) and b (10.77.0.2), a lab CA, vmmigd on each"
host_up a 1 && host_up b 2 || { echo "demo: the hosts did not come up"; exit 1; }
step "$V" host cert show --dir "$tmp/a/tls"
A host show

# Small, as everything runs emulated here (TLS at a few MB/s).
say "a VM on host a: 16 MiB, its guest writes 200 pages/s over 2 MiB and counts them"
A vm create demo --memory 16M --workload dirty=200,wss=2M,pattern=random
A vm start demo
sleep 2

# The guest's counter, once a second, from the host that runs it.
(
	while sleep 1; do
		for h in a b; do
			c=$(H "$h" -j vm show demo 2>/dev/null | jq -r 'select(.state == "running") | .workload.counter')
			[ -n "$c" ] && printf '    [guest] on %s: %s pages written\n' "$h" "$c"
		done
	done
) &
ticker=$!
on a "$V" monitor > >(sed -u 's/^/    [monitor a] /') 2>/dev/null &
mon=$!
sleep 3

say "the live move: memory copied while the guest writes, then a short pause"
A move demo --to 10.77.0.2 --verify
B vm show demo
sleep 3
A migration list
B migration show demo

say "and back, over 2 streams with lz4"
B move demo --to 10.77.0.1 --streams 2 --compress lz4
sleep 3
A vm show demo --verify

say "a move that fails changes nothing: migration off at b"
H b host set migration off
A move demo --to 10.77.0.2 || true
A vm show demo

kill "$ticker" "$mon" 2>/dev/null
wait 2>/dev/null
say "done"
