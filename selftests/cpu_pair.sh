#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Processor compatibility across two test VMs of different CPUs, joined by
# QEMU's socket networking on 127.0.0.1 (run on the build host by make
# check; boots its own test VMs, one vCPU each):
#
#   a  -cpu max                       (AMD, with avx2)
#   b  -cpu max,avx2=off              then, rebooted by a's request:
#      -cpu max,avx2=off,bmi2=off     (its features shrink)
#      -cpu max,vendor=GenuineIntel   (another vendor: no KVM there)
#
# Each runs selftests/cpu_pair_host.sh with its vmmigd and certificate of
# one lab CA; a drives the test: the cluster's common set, a common-cluster
# VM moving both ways, a mode-off VM refused with the missing features
# named, the set shrinking while a running VM keeps its CPUID, and the
# vendor refusal. VMMIG_KERNEL picks the kernel (vm-run's default).
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cd "$REPO" || exit 1
command -v socat >/dev/null || skip "socat is not installed (make deps)"
V=$VMMIG
dir=$REPO/build/cpu-pair.$$
pids=()
cleanup_hook() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait
	[ "$failures" -ne 0 ] || rm -rf "$dir"
}
rm -rf "$dir"
mkdir -p "$dir/ca"
"$V" host cert ca-create --dir "$dir/ca" --name "vmmig cpu-pair CA" >/dev/null || exit 1
for h in a b; do
	mkdir -p "$dir/$h/tls"
	"$V" host cert request --name "host$h" --dir "$dir/$h/tls" >/dev/null &&
		"$V" host cert sign "$dir/$h/tls/host.csr" --ca "$dir/ca" >/dev/null &&
		cp "$dir/ca/ca.crt" "$dir/$h/tls/" || exit 1
done
port=$((20000 + $$ % 20000))
cpu_b=("" "max,avx2=off" "max,avx2=off,bmi2=off" "max,vendor=GenuineIntel")

# boot ROLE CPU NETDEV-MODE: a test VM running cpu_pair_host.sh ROLE.
boot() {
	local n=1
	[ "$1" = a ] || n=2
	VM_RUN_QEMU_ARGS="-cpu $2 -netdev socket,id=mig,$3 -device virtio-net-pci,netdev=mig,mac=52:54:00:00:79:0$n" \
		VM_RUN_DIR="$dir/vm-$1.$SECONDS" VM_RUN_KEEP=0 \
		selftests/vm-run -c 1 -t 1500 -- selftests/cpu_pair_host.sh "$1" "$dir" \
		>>"$dir/$1.out" 2>&1
}

# a, and when it ends (passed or not), b's last stop.
(
	rc=0
	boot a max "listen=127.0.0.1:$port" || rc=$?
	echo "$rc" >"$dir/a.rc"
	touch "$dir/b.stop"
) &
pids+=($!)
sleep 3
phase=1
while [ "$phase" != 0 ] && [ ! -e "$dir/a.rc" ]; do
	echo "# b, phase $phase: -cpu ${cpu_b[$phase]}"
	rm -f "$dir/b.next"
	# After the first phase, only once a has seen b down.
	if [ "$phase" != 1 ]; then
		wait_for 120 test -e "$dir/b.go" -o -e "$dir/a.rc"
		rm -f "$dir/b.go"
		[ ! -e "$dir/a.rc" ] || break
	fi
	rc=0
	boot b "${cpu_b[$phase]}" "connect=127.0.0.1:$port" || rc=$?
	[ $rc -eq 0 ] || echo "# b's test VM ended with $rc"
	phase=$(cat "$dir/b.next" 2>/dev/null || echo 0)
	[[ $phase =~ ^[0-3]$ ]] || phase=0
done
wait "${pids[0]}"
pids=()
rc=$(cat "$dir/a.rc" 2>/dev/null || echo none)
sed 's/^/a| /' "$dir/a.out"
sed -n 's/^# b/b| # b/p' "$dir/b.out"
expect_eq "a's test passed" "$rc" 0
finish
