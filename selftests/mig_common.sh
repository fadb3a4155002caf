#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the migration tests, after common.sh and vm_common.sh: hosts as
# network namespaces joined by a veth pair, each with its own state
# directory, vmmigd, settings file and certificate from one lab CA.
#
#   host_up NAME ADDR [VMMIGD ARGS...]
#                         makes host NAME (10.77.0.ADDR) and starts its vmmigd
#   on NAME CMD...        runs CMD as host NAME (namespace and environment)
#   H NAME ARGS...        vmmig ARGS on host NAME, ended after $H_TIMEOUT s
#                         (default 300; 0: never) so that a hung command fails
#                         the test with its hosts' logs, not the suite's timeout
#   daemon_up NAME / daemon_down NAME [SIGNAL]
# shellcheck disable=SC2154
[ -d /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
command -v ip >/dev/null || skip "iproute2 is not installed"
VMMIGD=${VMMIGD:-$REPO/build/bin/vmmigd}
# A command vmmigd runs under (env: none), as setpriv to take capabilities.
VMMIGD_WRAP=(env)
# ...as without the capabilities eBPF needs (vmmigd's programs do not load).
# shellcheck disable=SC2034
NO_BPF=(setpriv --bounding-set "-bpf,-perfmon,-sys_admin" --)
NS_PREFIX=vmt$$
declare -A host_pid=()

ns() { echo "$NS_PREFIX$1"; }

on() {
	local h=$1
	shift
	ip netns exec "$(ns "$h")" env VMMIG_STATE_DIR="$tmp/$h/state" \
		VMMIG_SOCKET="$tmp/$h/vmmigd.sock" "$@"
}

H_TIMEOUT=${H_TIMEOUT:-300}
H() { local h=$1; shift; on "$h" timeout -k 5 "$H_TIMEOUT" "$V" "$@"; }

mig_ca() {
	[ -e "$tmp/ca/ca.crt" ] || "$V" host cert ca-create --dir "$tmp/ca" --name "vmmig test CA" >/dev/null
}

# daemon_up NAME [EXTRA VMMIGD ARGS...]
daemon_up() {
	local h=$1
	shift
	daemon_start "$h" --tls-dir "$tmp/$h/tls" "$@"
}

# daemon_start NAME VMMIGD-ARGS...: $! is vmmigd itself (ip and env exec).
daemon_start() {
	local h=$1
	shift
	ip netns exec "$(ns "$h")" env VMMIG_STATE_DIR="$tmp/$h/state" \
		VMMIG_SOCKET="$tmp/$h/vmmigd.sock" "${VMMIGD_WRAP[@]}" "$VMMIGD" \
		--settings "$tmp/$h/host.json" "$@" \
		>>"$tmp/$h/vmmigd.log" 2>&1 &
	host_pid[$h]=$!
	wait_for 10 test -S "$tmp/$h/vmmigd.sock" || { cat "$tmp/$h/vmmigd.log"; return 1; }
}

daemon_down() {
	local h=$1 sig=${2:-TERM}
	[ -n "${host_pid[$h]:-}" ] || return 0
	kill -"$sig" "${host_pid[$h]}" 2>/dev/null
	wait "${host_pid[$h]}" 2>/dev/null
	host_pid[$h]=
	rm -f "$tmp/$h/vmmigd.sock"
}

host_up() {
	local h=$1 addr=$2
	shift 2
	mkdir -p "$tmp/$h/state" "$tmp/$h/tls"
	ip netns add "$(ns "$h")"
	ip -n "$(ns "$h")" link set lo up
	if [ "$addr" != 1 ]; then
		ip link add "v$NS_PREFIX$h" netns "$(ns "$h")" type veth peer name "p$NS_PREFIX$h" \
			netns "$(ns "${first_host}")"
		ip -n "$(ns "$h")" addr add "10.77.0.$addr/24" dev "v$NS_PREFIX$h"
		ip -n "$(ns "$h")" link set "v$NS_PREFIX$h" up
		ip -n "$(ns "$first_host")" link set "p$NS_PREFIX$h" master "br$NS_PREFIX"
		ip -n "$(ns "$first_host")" link set "p$NS_PREFIX$h" up
	else
		first_host=$h
		ip -n "$(ns "$h")" link add "br$NS_PREFIX" type bridge
		ip -n "$(ns "$h")" addr add "10.77.0.1/24" dev "br$NS_PREFIX"
		ip -n "$(ns "$h")" link set "br$NS_PREFIX" up
	fi
	mig_ca
	"$V" host cert request --name "$h" --dir "$tmp/$h/tls" >/dev/null &&
		"$V" host cert sign "$tmp/$h/tls/host.csr" --ca "$tmp/ca" >/dev/null &&
		cp "$tmp/ca/ca.crt" "$tmp/$h/tls/ca.crt" || return 1
	H "$h" host set migration on >/dev/null || return 1
	daemon_up "$h" "$@"
}

mig_cleanup() {
	local h
	# A failed test shows what each vmmigd said last (events, errors).
	if [ "${failures:-0}" -gt 0 ]; then
		for h in "${!host_pid[@]}"; do
			[ -S "$tmp/$h/vmmigd.sock" ] &&
				echo "# $h: migrations:" && H_TIMEOUT=10 H "$h" migration list 2>&1 | sed 's/^/#   /'
			[ -s "$tmp/$h/vmmigd.log" ] || continue
			echo "# $h: vmmigd.log ends:"
			tail -n 40 "$tmp/$h/vmmigd.log" | sed 's/^/#   /'
		done
	fi
	for h in "${!host_pid[@]}"; do
		for d in "$tmp/$h/state"/*/; do
			[ -e "$d/vm.json" ] && H "$h" vm stop "$(basename "$d")" --force
		done
		daemon_down "$h"
	done
	for h in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX"); do
		ip netns pids "$h" | xargs -r kill -9
		ip netns del "$h"
	done
}
cleanup_hook() { mig_cleanup; }

# The workload guest's numbers on host NAME.
hjs() { H "$1" -j vm show "$2" | jq -r "$3"; }
hcounter() { hjs "$1" "$2" .workload.counter; }
hstate() { hjs "$1" "$2" .state 2>/dev/null || echo none; }
hcounter_above() { [ "$(hcounter "$1" "$2")" -gt "$3" ]; }
# gone HOST VM: VM's folder is not on HOST (a move's source removes it once its VMM ended).
gone() { [ ! -e "$tmp/$1/state/$2" ]; }
