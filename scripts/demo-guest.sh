#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What `make demo` runs inside the test VM.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$REPO/build/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }

say "booted $(uname -r) under QEMU; kvm_amd and vmmig.ko are loaded"
step lsmod | grep -E '^(vmmig|kvm_amd|kvm) ' || true
step vmmig host show
step vmmig -p host show

say "vmmig monitor in the background prints events as they arrive"
vmmig monitor > >(sed -u 's/^/    [monitor] /') &
mon=$!
sleep 1
step vmmig host set migration on max-migrations 4
sleep 0.5
step modprobe -r kvm_amd
sleep 0.5
step modprobe kvm_amd
sleep 0.5
step rmmod vmmig
sleep 0.5
step insmod "$VMMIG_KO"
sleep 0.5
step vmmig host set max-migrations 8
sleep 1
kill -INT $mon
wait $mon || true
step vmmig host show
say "errors are one line, with the kernel's own message"
step vmmig host set max-migrations 100 || true

say "a workload VM under vmmig's own VMM, nested under the test VM's KVM"
export VMMIG_STATE_DIR=/tmp/vmmig
step vmmig vm create demo --memory 4M --workload dirty=400,wss=1M
step vmmig vm start demo
sleep 2
step vmmig vm list
step vmmig vm show demo
say "vmmig.ko samples its dirty rate from the outside, without dirty logging"
step vmmig vm dirty-rate demo --seconds 1
say "complete save and restore: the guest continues where it stopped"
step vmmig vm save demo /tmp/demo.state
step vmmig vm restore /tmp/demo.state
sleep 1
step vmmig vm show demo
step vmmig vm stop demo --force
