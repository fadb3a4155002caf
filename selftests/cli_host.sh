#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The vmmig CLI without vmmig.ko (runs on the build host): the grammar
# (prefixes, ambiguity, options anywhere), usage errors and their exit code,
# --help for every verb, arguments checked before any connection, version,
# and the clear message when the module is not loaded.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

[ -x "$VMMIG" ] || skip "$VMMIG is not built"
if [ -e /sys/module/vmmig ]; then
	skip "vmmig.ko is loaded here; this test is for a host without it"
fi

expect_rc 2 "no object" -- "$VMMIG"
expect_match "usage on stderr" "$err" "^Usage: vmmig"
expect_rc 2 "unknown object" -- "$VMMIG" frobnicate
expect_eq "one line naming the object" "$err" "vmmig: unknown object 'frobnicate' (try 'vmmig help')"
expect_rc 2 "unknown option" -- "$VMMIG" -x host show
expect_rc 2 "unknown host command" -- "$VMMIG" host frob
expect_eq "names the command" "$err" "vmmig: host: unknown command 'frob' (see 'vmmig host help')"
expect_rc 2 "host set without settings" -- "$VMMIG" host set
expect_rc 2 "host set with a bad number" -- "$VMMIG" host set max-migrations 12x
expect_eq "names the bad value" "$err" "vmmig: host set: max-migrations: '12x' is not a number"
expect_rc 2 "host set with a bad switch" -- "$VMMIG" host set migration maybe
expect_rc 2 "host set with a missing value" -- "$VMMIG" host set migration
expect_rc 2 "host show with an extra argument" -- "$VMMIG" host show extra
expect_rc 2 "monitor with an extra argument" -- "$VMMIG" monitor extra
expect_rc 2 "help for an unknown object" -- "$VMMIG" help frob

expect_rc 0 "help" -- "$VMMIG" help
help=$out
for obj in host monitor cluster check version help; do
	expect_match "help lists $obj" "$help" "  $obj "
	expect_rc 0 "help $obj" -- "$VMMIG" help "$obj"
	expect_match "help $obj is a usage" "$out" "^Usage: vmmig $obj"
done
expect_rc 0 "host help" -- "$VMMIG" host help

# Words may be shortened to a prefix unique at their level, never an
# ambiguous one.
expect_rc 1 "host sh is host show" -- "$VMMIG" host sh
expect_eq "as host show" "$err" "vmmig: host show: vmmig.ko is not loaded (modprobe vmmig)"
expect_rc 1 "ho po sh is host policy show" -- "$VMMIG" ho po sh
expect_match "as host policy show" "$err" "^vmmig: host policy show: "
expect_rc 2 "an ambiguous object" -- "$VMMIG" v list
expect_eq "lists the candidates" "$err" "vmmig: 'vmmig v' is ambiguous: vm, version"
expect_rc 2 "an ambiguous verb" -- "$VMMIG" host s
expect_eq "lists the verbs" "$err" "vmmig: 'vmmig host s' is ambiguous: show, set"
expect_rc 2 "an ambiguous object in help" -- "$VMMIG" help v
expect_eq "help lists them too" "$err" "vmmig: 'vmmig v' is ambiguous: vm, version"
expect_rc 0 "ver is version" -- "$VMMIG" ver
expect_match "the version" "$out" "^vmmig [0-9]"

# vmmigd's objects say so when it does not run; their arguments are checked first.
expect_rc 1 "cluster list without vmmigd" -- env VMMIG_SOCKET="$tmp/none.sock" "$VMMIG" cluster list
expect_eq "says so" "$err" "vmmig: cluster list: vmmigd is not running (no $tmp/none.sock)"
expect_rc 2 "cluster add without a host" -- "$VMMIG" cluster add
expect_rc 2 "cluster list takes no argument" -- "$VMMIG" cluster list extra

# Global options also after the object and the verb.
export VMMIG_STATE_DIR=$tmp/state
expect_rc 0 "vm list -j" -- "$VMMIG" vm list -j
expect_eq "JSON" "$out" "[]"
expect_rc 0 "-j vm list" -- "$VMMIG" -j vm list
expect_eq "the same JSON" "$out" "[]"
expect_rc 0 "vm -j" -- "$VMMIG" vm --json
expect_eq "vm is vm list" "$out" "[]"
expect_rc 0 "vm li -jp" -- "$VMMIG" vm li -jp
expect_eq "pretty" "$(jq -c . <<<"$out")" "[]"
expect_rc 0 "--state-dir after the verb" -- "$VMMIG" vm list --state-dir "$tmp/none" -j
expect_eq "still JSON" "$out" "[]"

# A VM folder that cannot be read is named on stderr, the list stays valid.
mkdir -p "$tmp/state/broken"
echo '{ "name": ' >"$tmp/state/broken/vm.json"
expect_rc 0 "vm list with unreadable VMs" -- "$VMMIG" -j vm list
expect_eq "JSON still valid" "$(jq -c . <<<"$out")" "[]"
expect_contains "names the broken VM" "$err" "vmmig: vm list: broken: not listed: $tmp/state/broken/vm.json: not valid JSON"
expect_eq "one line" "$(wc -l <<<"$err")" 1
expect_rc 0 "vm list text" -- "$VMMIG" vm list
expect_match "only the header" "$out" "^NAME +STATE +MEMORY +VCPUS +UPTIME$"
rm -rf "$tmp/state"

# -n NETNS, as ip -n.
expect_rc 1 "-n with no such namespace" -- "$VMMIG" -n "vmmig-none-$$" host show
expect_eq "says so" "$err" "vmmig: -n: network namespace vmmig-none-$$: no such namespace (see 'ip netns list')"
expect_rc 1 "-n after the verb" -- "$VMMIG" host show -n "vmmig-none-$$"
expect_match "the same" "$err" "no such namespace"
expect_rc 2 "-n without NETNS" -- "$VMMIG" -n
expect_rc 2 "-n with a path" -- "$VMMIG" -n ../x host show
expect_eq "not a name" "$err" "vmmig: -n: '../x' is not a network namespace name"

# Misuse exits 2 with one line, before anything is connected or created.
misuse() { # DESCRIPTION REGEX -- COMMAND...
	local what=$1 re=$2
	shift 2
	expect_rc 2 "$what" "$@"
	one_line "$what" "$re"
}
misuse "vm show without NAME" "^vmmig: vm show: missing NAME \(see 'vmmig vm show --help'\)$" -- "$VMMIG" vm show
misuse "vm stop without NAME" "^vmmig: vm stop: missing NAME \(see 'vmmig vm stop --help'\)$" -- "$VMMIG" vm stop
misuse "vm save without FILE" "^vmmig: vm save: missing FILE " -- "$VMMIG" vm save x
misuse "vm restore without FILE" "^vmmig: vm restore: missing FILE " -- "$VMMIG" vm restore
misuse "vm create without NAME" "^vmmig: vm create: missing NAME " -- "$VMMIG" vm create --memory 4M --workload dirty=1
misuse "vm create, bad processor-compat" "^vmmig: vm create: processor-compat: 'max' is not off, common-cluster or minimum$" -- \
	"$VMMIG" vm create x --memory 4M --workload dirty=1 --processor-compat max
misuse "vm set without KEY" "^vmmig: vm set: missing KEY " -- "$VMMIG" vm set x
misuse "vm set without VALUE" "^vmmig: vm set: missing the VALUE of processor-compat " -- \
	"$VMMIG" vm set x processor-compat
misuse "vm set, unknown key" "^vmmig: vm set: unknown setting 'colour' \(processor-compat, autostart\)$" -- \
	"$VMMIG" vm set x colour blue
misuse "vm set, bad mode" "^vmmig: vm set: processor-compat: 'max' is not off, common-cluster or minimum$" -- \
	"$VMMIG" vm set x processor-compat minimum processor-compat max
misuse "--vcpus 0" "^vmmig: vm create: --vcpus: 0 is out of range \(1\.\.64\)$" -- \
	"$VMMIG" vm create x --memory 4M --vcpus 0 --workload dirty=1
misuse "--vcpus 65" "out of range \(1\.\.64\)$" -- "$VMMIG" vm create x --memory 4M --vcpus 65 --workload dirty=1
misuse "--memory 4Q" "^vmmig: vm create: --memory: '4Q' is not a size" -- \
	"$VMMIG" vm create x --memory 4Q --workload dirty=1
misuse "--memory without a value" "^vmmig: vm create: --memory needs a value " -- "$VMMIG" vm create x --memory
misuse "wss below 4K" "^vmmig: vm create: --workload wss: 1K is out of range \(at least 4K\)$" -- \
	"$VMMIG" vm create x --memory 4M --workload wss=1K
misuse "vm create, a bad name" "is not a valid name" -- "$VMMIG" vm create ../x --memory 4M --workload dirty=1
misuse "vm show, an unknown option" "^vmmig: vm show: unknown option '--frob' " -- "$VMMIG" vm show x --frob
misuse "vm start, one NAME too many" "^vmmig: vm start: unexpected argument 'y' " -- "$VMMIG" vm start x y
misuse "vm console --log --force" "^vmmig: vm console: --force is for attaching" -- "$VMMIG" vm console x --log --force
misuse "vm dirty-rate --pid" "^vmmig: vm dirty-rate: --pid is for 'vmmig kvm dirty-rate' " -- "$VMMIG" vm dirty-rate --pid 1
[ ! -e "$tmp/state" ] && pass "nothing was created" || fail "misuse created $tmp/state"
# Well formed, it goes as far as this host allows: KVM, or the lack of it.
if [ ! -e /dev/kvm ]; then
	expect_rc 1 "vm create with the defaults" -- "$VMMIG" vm create x --memory 4M --workload dirty=1
	one_line "vm create with the defaults" "^vmmig: vm create: /dev/kvm: "
fi
unset VMMIG_STATE_DIR
misuse "kvm show without NAME" "^vmmig: kvm show: missing NAME " -- "$VMMIG" kvm show
misuse "kvm list, an extra argument" "^vmmig: kvm list: unexpected argument 'x' " -- "$VMMIG" kvm list x
misuse "kvm register without --pid" "^vmmig: kvm register: missing --pid PID " -- "$VMMIG" kvm register x
misuse "kvm register, a bad pid" "^vmmig: kvm register: --pid: 'x' is not a number" -- "$VMMIG" kvm register n --pid x
misuse "kvm register, a bad UUID" "^vmmig: kvm register: --uuid: '12' is not a UUID$" -- \
	"$VMMIG" kvm register n --pid 1 --uuid 12
misuse "kvm unregister without NAME" "^vmmig: kvm unregister: missing NAME " -- "$VMMIG" kvm unregister
misuse "kvm dirty-log without NAME" "^vmmig: kvm dirty-log: missing NAME " -- "$VMMIG" kvm dirty-log
misuse "vm predict without --throughput" "^vmmig: vm predict: --throughput RATE is needed" -- "$VMMIG" vm predict x
misuse "vm predict --seconds 61" "^vmmig: vm predict: --seconds: 61 is out of range \(1\.\.60\)" -- \
	"$VMMIG" vm predict x --throughput 1M --seconds 61
misuse "vm save --on-timeout" "^vmmig: vm save: --on-timeout: 'wait' is not cancel, throttle or pause" -- \
	"$VMMIG" vm save x /tmp/x --live --on-timeout wait
misuse "kvm dirty-rate without a VM" "^vmmig: kvm dirty-rate: missing NAME or --pid PID " -- "$VMMIG" kvm dirty-rate
misuse "kvm dirty-rate with both" "NAME or --pid PID, not both" -- "$VMMIG" kvm dirty-rate x --pid 1
misuse "kvm dirty-rate --seconds x" "^vmmig: kvm dirty-rate: --seconds: 'x' is not a number$" -- \
	"$VMMIG" kvm dirty-rate x --seconds x
misuse "kvm dirty-rate --sample 0" "^vmmig: kvm dirty-rate: --sample: 0 is out of range" -- \
	"$VMMIG" kvm dirty-rate x --sample 0
misuse "kvm audit --mode with a NAME" "^vmmig: kvm audit: --mode goes with --pid" -- "$VMMIG" kvm audit x --mode common
misuse "kvm audit, a bad mode" "^vmmig: kvm audit: --mode: expected off, common or minimum, not 'max'$" -- \
	"$VMMIG" kvm audit --pid 1 --mode max
misuse "kvm cpu-mode without MODE" "^vmmig: kvm cpu-mode: missing MODE " -- "$VMMIG" kvm cpu-mode x
misuse "kvm cpu-mode, a bad MODE" "^vmmig: kvm cpu-mode: MODE: expected off, common or minimum, not 'max'$" -- \
	"$VMMIG" kvm cpu-mode x max
misuse "host policy set, a bad strict" "^vmmig: host policy set: strict: expected off, common or minimum" -- \
	"$VMMIG" host policy set strict max
misuse "host policy set, a bad value" "^vmmig: host policy set: 1.ecx: 'x' is not a number$" -- \
	"$VMMIG" host policy set common 1.ecx x
misuse "host policy set, a bad word" "^vmmig: host policy set: expected 'default' or WORD VALUE" -- \
	"$VMMIG" host policy set common 9.eax 1
misuse "monitor, an extra argument" "^vmmig: monitor: unexpected argument 'x' " -- "$VMMIG" monitor x
misuse "version, an extra argument" "^vmmig: version: unexpected argument 'x' " -- "$VMMIG" version x

# --help and -h for every verb that `vmmig help` lists: its usage on
# stdout, status 0, whatever else is on the line.
verbs=$("$VMMIG" help | sed -n 's/^  \([a-z]\+\) .*/\1/p' | while read -r obj; do
	"$VMMIG" help "$obj" | sed -n 's/^\(Usage: \|       \)vmmig \([a-z -]*[a-z]\).*/\2/p'
done | sed 's/ *$//' | sort -u)
[ "$(wc -l <<<"$verbs")" -ge 25 ] && pass "help lists the verbs" || fail "help lists only: $verbs"
while read -r -a words; do
	for h in --help -h; do
		expect_rc 0 "${words[*]} $h" -- "$VMMIG" "${words[@]}" $h
		expect_match "${words[*]} $h: its usage" "$(head -1 <<<"$out")" "^Usage: vmmig ${words[*]}( .*)?$"
		expect_eq "${words[*]} $h: quiet" "$err" ""
	done
	expect_rc 0 "help ${words[*]}" -- "$VMMIG" help "${words[@]}"
	expect_match "help ${words[*]}: its usage" "$(head -1 <<<"$out")" "^Usage: vmmig ${words[*]}( .*)?$"
	synopsis=$("$VMMIG" help "${words[@]}" | head -1)
	if [[ $synopsis == "Usage: vmmig ${words[*]} NAME"* ]]; then
		expect_rc 2 "${words[*]} without NAME" -- "$VMMIG" "${words[@]}"
		expect_eq "${words[*]}: one line" "$err" \
			"vmmig: ${words[*]}: missing NAME (see 'vmmig ${words[*]} --help')"
	fi
done <<<"$verbs"
expect_rc 0 "vm create --help with other arguments" -- "$VMMIG" vm create --memory x --help
expect_eq "no complaint about NAME" "$err" ""

expect_rc 1 "host show without the module" -- "$VMMIG" host show
expect_eq "not-loaded message" "$err" "vmmig: host show: vmmig.ko is not loaded (modprobe vmmig)"
expect_eq "nothing on stdout" "$out" ""
expect_rc 1 "host set without the module" -- "$VMMIG" host set migration on
expect_rc 1 "monitor without the module" -- "$VMMIG" monitor
expect_match "monitor says why" "$err" "vmmig.ko is not loaded"

expect_rc 0 "version without the module" -- "$VMMIG" version
expect_match "CLI version" "$out" "^vmmig [0-9]+\.[0-9]+\.[0-9]+"
expect_match "module absent" "$out" "vmmig.ko not loaded"
expect_rc 0 "version -j" -- "$VMMIG" -j version
expect_eq "JSON module_version is null" "$(jq -c .module_version <<<"$out")" "null"
expect_rc 0 "-V" -- "$VMMIG" -V

finish
