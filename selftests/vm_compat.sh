#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-VM processor compatibility modes (`vm create --processor-compat`,
# `vm set NAME processor-compat`): a minimum VM sees no feature outside
# vmmig.ko's minimum mask and its audit says so; a common-cluster VM started
# under a narrowed common mask lacks the bit taken out, and keeps its set
# when the mask grows again, across a live save and restore, until a cold
# start; `vm set` is refused while the VM runs, is paused or saved, bad
# modes are refused, and a mode needs vmmig.ko.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
[ -d /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
cleanup_hook() {
	stop_vms
	[ -e /sys/module/vmmig ] || insmod "${VMMIG_KO:-}"
	"$V" host policy set common default
}

# WORD's value (a number) in the array KEY of `vmmig -j host policy` or
# `host features` output JSON.
word_of() { jq -r --arg k "$2" --arg w "$3" '.[$k][] | select(.word == $w) | .value' <<<"$1"; }
# VM's CPUID word WORD (vm show -j), as a number.
vm_word() { printf '%d' "$(js "$1" ".processor.words[\"$2\"]")"; }
words=$(jq -r '.words[].word' <<<"$("$V" -j host features)")

# outside VM KEY: the words of VM with bits outside the policy's KEY mask
# (and the bits no audit checks), "WORD=0xBITS ...".
outside() {
	local policy w v m ign res=
	policy=$("$V" -j host policy)
	for w in $words; do
		v=$(vm_word "$1" "$w")
		m=$(word_of "$policy" "$2" "$w")
		ign=$(word_of "$policy" ignored "$w")
		(( v & ~(m | ign) )) && res+=$(printf '%s=0x%x ' "$w" $((v & ~(m | ign))))
	done
	echo "$res"
}

# Bad input: nothing is created.
expect_rc 2 "create with a bad mode" -- "$V" vm create bad --memory 4M --workload dirty=0 \
	--processor-compat maximum
one_line "bad mode" "^vmmig: vm create: processor-compat: 'maximum' is not off, common-cluster or minimum$"
[ ! -e "$VMMIG_STATE_DIR/bad" ] && pass "no VM created" || fail "bad was created"

# Minimum: nothing outside the minimum mask, and the audit agrees.
expect_rc 0 "create minimum" -- "$V" vm create m --memory 4M --workload dirty=100 \
	--processor-compat minimum
expect_eq "mode in the definition" "$(jq -r .processor_compat "$VMMIG_STATE_DIR/m/vm.json")" minimum
expect_rc 0 "start" -- "$V" vm start m
wait_for 20 counter_above m 0 && pass "the guest runs" || fail "counter stays 0"
expect_eq "show: its mode" "$(js m .processor.mode)" minimum
expect_eq "show: the vendor" "$(js m .processor.vendor)" "$("$V" -j host show | jq -r .cpu.vendor)"
expect_eq "no feature outside the minimum mask" "$(outside m minimum)" ""
expect_rc 0 "show (text)" -- "$V" vm show m
expect_match "text: mode and vendor" "$out" $'\nprocessor-compat minimum vendor [A-Za-z]+\nfeatures [a-z]'
# The host has features outside the minimum set, so narrowing took some.
host=$("$V" -j host features)
lost=
for w in $words; do
	(( $(word_of "$host" words "$w") & ~$(vm_word m "$w") )) && lost+="$w "
done
[ -n "$lost" ] && pass "narrowed: the VM lacks host features in $lost" ||
	fail "the VM has every host feature"
expect_rc 0 "audit against minimum" -- "$V" vm audit m --mode minimum
expect_match "compliant" "$out" "^m: pid [0-9]+ cpu-mode minimum vcpus 1 compliance ok"
expect_rc 0 "kvm list -j" -- "$V" -j kvm list
expect_eq "registered in mode minimum" \
	"$(jq -r '.[] | select(.name == "m") | .cpu_mode + " " + .compliance' <<<"$out")" "minimum ok"

# vm set: refused while running or paused, one line, nothing changed.
before=$(cat "$VMMIG_STATE_DIR/m/vm.json")
expect_rc 1 "set while running" -- "$V" vm set m processor-compat off
one_line "running" "^vmmig: vm set: m is running: shut it down to change its processor compatibility$"
expect_rc 0 "pause" -- "$V" vm pause m
expect_rc 1 "set while paused" -- "$V" vm set m processor-compat off
one_line "paused" "^vmmig: vm set: m is paused: shut it down to change its processor compatibility$"
expect_rc 0 "resume" -- "$V" vm resume m
expect_rc 2 "set a bad mode" -- "$V" vm set m processor-compat maximum
one_line "bad mode" "^vmmig: vm set: processor-compat: 'maximum' is not off, common-cluster or minimum$"
expect_rc 2 "set an unknown key" -- "$V" vm set m colour blue
one_line "unknown key" "^vmmig: vm set: unknown setting 'colour' \(processor-compat, autostart\)$"
expect_rc 2 "set without a value" -- "$V" vm set m processor-compat
expect_eq "the definition is unchanged" "$(cat "$VMMIG_STATE_DIR/m/vm.json")" "$before"
expect_rc 0 "stop" -- "$V" vm stop m
expect_rc 0 "set while off" -- "$V" vm set m processor-compat off processor-compat common-cluster
expect_eq "the last value counts" "$(jq -r .processor_compat "$VMMIG_STATE_DIR/m/vm.json")" common-cluster
expect_rc 0 "show -j of a VM that is off" -- "$V" -j vm show m
expect_eq "its new mode" "$(jq -r .processor.mode <<<"$out")" common-cluster

# Common-cluster: a feature taken out of the common mask is not there.
policy=$("$V" -j host policy)
ebx=$(word_of "$policy" common 7.0.ebx)
bit=
names=([3]=bmi1 [5]=avx2 [8]=bmi2)
for b in 5 8 3; do
	(( ebx & (1 << b) )) && { bit=$b; break; }
done
[ -n "$bit" ] || skip "the test VM's CPU has none of avx2, bmi2, bmi1"
name=${names[$bit]}
narrow=$(printf '0x%x' $((ebx & ~(1 << bit))))
echo "# common 7.0.ebx $(printf '0x%x' "$ebx") -> $narrow (bit $bit)"
expect_rc 0 "narrow the common mask" -- "$V" host policy set common 7.0.ebx "$narrow"
expect_rc 0 "create common-cluster" -- "$V" vm create c --memory 4M --workload dirty=100 \
	--processor-compat common-cluster
has_bit() { (( $(vm_word "$1" 7.0.ebx) & (1 << bit) )); }
has_bit c && pass "created: what KVM offers (bit $bit)" || fail "created without bit $bit"
expect_rc 0 "start" -- "$V" vm start c
wait_for 20 counter_above c 0 && pass "the guest runs" || fail "counter stays 0"
has_bit c && fail "started with bit $bit" || pass "started without bit $bit"
expect_eq "show -j: $name is not among its features" \
	"$(js c "[.processor.features[] | select(. == \"$name\")] | length")" 0
expect_eq "nothing outside the common mask" "$(outside c common)" ""
expect_rc 0 "audit in its own mode" -- "$V" vm audit c
expect_match "compliant" "$out" "^c: pid [0-9]+ cpu-mode common vcpus 1 compliance ok"

# The mask grows again: the running VM keeps its set, across a live save.
expect_rc 0 "common mask back to the host's" -- "$V" host policy set common default
has_bit c && fail "the running VM gained bit $bit" || pass "the running VM keeps its set"
expect_rc 0 "live save" -- "$V" -j vm save c "$tmp/c.state" --live --hash
report=$out
expect_eq "saved" "$(state c)" saved
expect_rc 1 "set while saved" -- "$V" vm set c processor-compat off
one_line "saved" "^vmmig: vm set: c has a saved state \(.*c\.state\): restore and shut it down, or discard it with 'vmmig vm stop c', to change its processor compatibility$"
restored_intact c "$tmp/c.state" "$report"
has_bit c && fail "restored with bit $bit" || pass "restored without bit $bit"
# vmmig.ko sees the vCPUs' own CPUID: it fits the narrowed mask again.
expect_rc 0 "narrow the common mask again" -- "$V" host policy set common 7.0.ebx "$narrow"
expect_rc 0 "audit after the restore" -- "$V" -j vm audit c
expect_eq "the vCPUs lack it: compliant" "$(jq -r .compliance <<<"$out")" ok
expect_rc 0 "common mask back" -- "$V" host policy set common default

# A cold start takes the mask as it is now.
expect_rc 0 "stop" -- "$V" vm stop c
expect_rc 0 "start cold" -- "$V" vm start c
has_bit c && pass "a cold start has bit $bit again" || fail "still without bit $bit"
expect_eq "show -j: $name is among its features" \
	"$(js c "[.processor.features[] | select(. == \"$name\")] | length")" 1
expect_rc 0 "stop" -- "$V" vm stop c

# A saved VM that ran on another CPU restores only where the CPU fits, as
# when a saved VM's folder is carried to another host: its definition is
# made to say it saw avx512f (the test VM's CPU has none), then that it ran
# on an Intel CPU. Refused with the reason; the state is kept.
expect_rc 0 "start" -- "$V" vm start c
expect_rc 0 "save" -- "$V" vm save c "$tmp/c2.state"
def=$VMMIG_STATE_DIR/c/vm.json
cp "$def" "$tmp/c.json"
jq -c '.cpuid |= map(if .[0] == 7 and .[1] == 0 and ((.[4] / 65536 | floor) % 2) == 0
	then .[4] += 65536 else . end)' "$tmp/c.json" >"$def"
expect_rc 1 "restore where avx512f is missing" -- "$V" vm restore "$tmp/c2.state"
one_line "avx512f" "^vmmig: vm restore: .*this host lacks 1 CPU feature c runs with: avx512f; restore it on a host that has them"
expect_eq "still saved" "$(state c)" saved
jq -c '.cpuid |= map(if .[0] == 0 then .[4] = 1970169159 | .[5] = 1818588270 | .[6] = 1231384169
	else . end)' "$tmp/c.json" >"$def"
expect_rc 1 "restore on another vendor" -- "$V" vm restore "$tmp/c2.state"
one_line "vendor" "^vmmig: vm restore: .*c ran on a GenuineIntel CPU and this host's is AuthenticAMD: a VM does not move between CPU vendors"
expect_eq "still saved" "$(state c)" saved
cp "$tmp/c.json" "$def"
expect_rc 0 "restore as it was" -- "$V" vm restore "$tmp/c2.state"
expect_eq "runs" "$(state c)" running
expect_rc 0 "stop" -- "$V" vm stop c

# Without vmmig.ko a mode cannot start: the mask lives there.
if [ -n "${VMMIG_KO:-}" ]; then
	stop_vms
	expect_rc 0 "rmmod vmmig" -- rmmod vmmig
	expect_rc 1 "start minimum without vmmig.ko" -- "$V" vm start m
	one_line "needs vmmig.ko" "^vmmig: vm start: processor-compat common-cluster needs vmmig.ko, which holds its mask, and it is not loaded$"
	expect_eq "m stays off" "$(state m)" off
	expect_rc 0 "set off" -- "$V" vm set m processor-compat off
	expect_rc 0 "an off VM starts without it" -- "$V" vm start m
	expect_rc 0 "stop" -- "$V" vm stop m
	expect_rc 0 "insmod" -- insmod "$VMMIG_KO"
fi
finish
