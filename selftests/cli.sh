#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The vmmig CLI against vmmig.ko in a booted kernel: host show/set in text
# and JSON (checked with jq), prefixes, kernel error messages, privileges,
# -n NETNS, and monitor with two listeners and across a module unload and
# reload.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"

[ -e /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
command -v jq >/dev/null || skip "jq is not installed"

monitors=()
cleanup_hook() {
	[ ${#monitors[@]} -eq 0 ] || kill "${monitors[@]}" 2>/dev/null
	[ -e /sys/module/vmmig ] || insmod "${VMMIG_KO:-}" 2>/dev/null
	"$VMMIG" host set migration off max-migrations 2 2>/dev/null
}

"$VMMIG" host set migration off max-migrations 2 ||
	fail "resetting the host settings"

# host show, JSON, against what the system says.
expect_rc 0 "host show -j" -- "$VMMIG" -j host show
j=$out
expect_eq "module version" "$(jq -r .module_version <<<"$j")" "$(cat /sys/module/vmmig/version)"
expect_eq "kernel release" "$(jq -r .kernel <<<"$j")" "$(uname -r)"
expect_eq "cpu vendor" "$(jq -r .cpu.vendor <<<"$j")" \
	"$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)"
expect_eq "cpu family" "$(jq -r .cpu.family <<<"$j")" \
	"$(awk -F': ' '/^cpu family/ { print $2; exit }' /proc/cpuinfo)"
expect_eq "cpu model name" "$(jq -r .cpu.model_name <<<"$j")" \
	"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
want_kvm=none
[ -e /sys/module/kvm_amd ] && want_kvm=amd
[ -e /sys/module/kvm_intel ] && want_kvm=intel
expect_eq "kvm" "$(jq -r .kvm <<<"$j")" "$want_kvm"
expect_eq "vms" "$(jq -r .vms <<<"$j")" 0
expect_eq "migration" "$(jq -r .migration <<<"$j")" false
expect_eq "max_migrations" "$(jq -r .max_migrations <<<"$j")" 2
expect_eq "JSON is one line" "$(wc -l <<<"$j")" 1

expect_rc 0 "host show -p" -- "$VMMIG" -p host show
expect_eq "pretty JSON is the same object" "$(jq -cS . <<<"$out")" "$(jq -cS . <<<"$j")"

# Text: the same facts.
expect_rc 0 "host show" -- "$VMMIG" host show
expect_contains "text has the kernel" "$out" "kernel $(uname -r)"
expect_match "text has kvm" "$out" "kvm $want_kvm"
expect_match "text has the settings" "$out" "migration off max-migrations 2 max-storage-migrations 2 vms 0"
expect_rc 0 "host (default verb)" -- "$VMMIG" host
expect_contains "defaults to show" "$out" "kernel $(uname -r)"
expect_rc 0 "host sh (a unique prefix)" -- "$VMMIG" host sh
expect_contains "is show" "$out" "kernel $(uname -r)"
expect_rc 0 "ho po (host policy show)" -- "$VMMIG" ho po
expect_match "is policy show" "$out" "^strict "

# host set.
expect_rc 0 "host set" -- "$VMMIG" host set migration on max-migrations 8
expect_rc 0 "host show after set" -- "$VMMIG" -j host show
expect_eq "migration set" "$(jq -r .migration <<<"$out")" true
expect_eq "max_migrations set" "$(jq -r .max_migrations <<<"$out")" 8
expect_rc 0 "host set max-storage-migrations" -- "$VMMIG" host set max-storage-migrations 3
expect_rc 0 "host show after storage set" -- "$VMMIG" -j host show
expect_eq "max_storage_migrations set" "$(jq -r .max_storage_migrations <<<"$out")" 3
expect_rc 1 "max-storage-migrations out of range" -- "$VMMIG" host set max-storage-migrations 65
expect_rc 0 "storage limit back" -- "$VMMIG" host set max-storage-migrations 2

# The kernel's own words, on one line, for a value it refuses.
expect_rc 1 "host set out of range" -- "$VMMIG" host set max-migrations 65
expect_eq "kernel extack with range" "$err" \
	"vmmig: host set: integer out of range (valid range 1..64)"
expect_rc 1 "host set zero" -- "$VMMIG" host set max-migrations 0
expect_eq "one line" "$(wc -l <<<"$err")" 1
expect_rc 0 "still the old value" -- "$VMMIG" -j host show
expect_eq "nothing changed" "$(jq -r .max_migrations <<<"$out")" 8

# Without CAP_NET_ADMIN: read yes, change no.
if command -v setpriv >/dev/null; then
	expect_rc 0 "host show without CAP_NET_ADMIN" -- \
		setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$VMMIG" host show
	expect_rc 1 "host set without CAP_NET_ADMIN" -- \
		setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
		"$VMMIG" host set max-migrations 3
	expect_eq "permission message" "$err" \
		"vmmig: host set: permission denied: this command needs CAP_NET_ADMIN"
else
	fail "setpriv (util-linux) is missing"
fi

# Each network namespace is its own host; -n NETNS goes there, as ip -n.
ns=vmmig-cli-$$
ip netns add "$ns"
expect_rc 0 "host show in a new namespace" -- ip netns exec "$ns" "$VMMIG" -j host show
expect_eq "fresh settings there" "$(jq -r .max_migrations <<<"$out")" 2
expect_rc 0 "host set with -n" -- "$VMMIG" -n "$ns" host set max-migrations 5
expect_rc 0 "seen from inside" -- ip netns exec "$ns" "$VMMIG" -j host show
expect_eq "set there" "$(jq -r .max_migrations <<<"$out")" 5
expect_rc 0 "host sh -j -n, options after the verb" -- "$VMMIG" host sh -j -n "$ns"
expect_eq "read there" "$(jq -r .max_migrations <<<"$out")" 5
expect_rc 0 "--netns=NETNS" -- "$VMMIG" --netns="$ns" -j host
expect_eq "the same" "$(jq -r .migration <<<"$out")" false
expect_rc 0 "here, untouched" -- "$VMMIG" -j host show
expect_eq "still 8 here" "$(jq -r .max_migrations <<<"$out")" 8
expect_rc 1 "-n of a namespace gone" -- "$VMMIG" -n "$ns-gone" host show
expect_eq "says so" "$err" "vmmig: -n: network namespace $ns-gone: no such namespace (see 'ip netns list')"
ip netns del "$ns"

# monitor: two listeners, then the module going away and coming back.
start_monitor() {
	"$VMMIG" -j monitor >"$1" 2>"$1.err" &
	monitors+=($!)
}
has_line() { jq -e "select($2)" "$1" >/dev/null 2>&1; }
start_monitor "$tmp/mon1"
start_monitor "$tmp/mon2"
# A monitor is subscribed once it reports a change: nudge until both did.
n=3
nudge() {
	n=$((n == 3 ? 4 : 3))
	"$VMMIG" host set max-migrations $n
	has_line "$tmp/mon1" '.event == "host"' && has_line "$tmp/mon2" '.event == "host"'
}
if wait_for 10 nudge; then
	pass "both monitors see host events"
else
	fail "monitors saw no host event: $(cat "$tmp"/mon*)"
fi
"$VMMIG" host set max-migrations 13
if wait_for 5 has_line "$tmp/mon2" '.event == "host" and .host.max_migrations == 13'; then
	pass "event carries the new host object"
else
	fail "no event with max_migrations 13: $(cat "$tmp/mon2")"
fi

if [ -n "${VMMIG_KO:-}" ]; then
	rmmod vmmig
	if wait_for 5 has_line "$tmp/mon1" '.event == "module" and .name == "vmmig" and .state == "going"'; then
		pass "monitor reports vmmig.ko going"
	else
		fail "no unload event: $(cat "$tmp/mon1")"
	fi
	expect_rc 1 "host show while unloaded" -- "$VMMIG" host show
	expect_match "not-loaded message" "$err" "vmmig.ko is not loaded"
	insmod "$VMMIG_KO"
	if wait_for 5 has_line "$tmp/mon1" '.event == "module" and .name == "vmmig" and .state == "live"'; then
		pass "monitor reports vmmig.ko back"
	else
		fail "no load event: $(cat "$tmp/mon1")"
	fi
	"$VMMIG" host set max-migrations 21
	if wait_for 5 has_line "$tmp/mon1" '.event == "host" and .host.max_migrations == 21'; then
		pass "monitor follows the reloaded module"
	else
		fail "no event after reload: $(cat "$tmp/mon1")"
	fi
	for m in "${monitors[@]}"; do
		if kill -0 "$m" 2>/dev/null; then
			pass "monitor $m still running"
		else
			fail "monitor $m died: $(cat "$tmp"/mon*.err)"
		fi
	done
else
	fail "VMMIG_KO is not set: cannot test the reload"
fi

kill -INT "${monitors[0]}"
rc=0; wait "${monitors[0]}" || rc=$?
expect_eq "monitor exits 0 on SIGINT" "$rc" 0
monitors=("${monitors[@]:1}")

finish
