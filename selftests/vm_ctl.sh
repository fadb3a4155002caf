#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VM's identity and its VMM's control protocol: the UUID a VM gets at
# create, keeps through save, restore and restore under a new name, and is
# registered with in vmmig.ko while it runs; a definition from before UUIDs
# gets one; the VMM refuses a request of another protocol version, saying
# which it speaks.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
[ -d /sys/module/vmmig ] || skip "vmmig.ko is not loaded"
cleanup_hook() {
	stop_vms
	[ -e /sys/module/vmmig ] || insmod "${VMMIG_KO:-}" 2>/dev/null
}
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
uuid() { js "$1" .uuid; }
# The registry's entry for NAME, as `vmmig kvm list` shows it.
kvm_uuid() { "$V" -j kvm list | jq -r --arg n "$1" '.[] | select(.name == $n) | .uuid'; }
# ctl NAME LINE: one raw request line to NAME's control socket, its reply.
ctl() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$ARGV[0]: $!\n";
		print $s "$ARGV[1]\n";
		print scalar <$s>;' "$VMMIG_STATE_DIR/$1/control.sock" "$2"
}

expect_rc 0 "create" -- "$V" vm create u --memory 4M --workload dirty=100
u=$(uuid u)
expect_match "a VM has a UUID from create" "$u" "$uuid_re"
expect_eq "vm.json keeps it" "$(jq -r .uuid "$VMMIG_STATE_DIR/u/vm.json")" "$u"
expect_rc 0 "show" -- "$V" vm show u
expect_match "text shows it" "$out" $'\n'"uuid $u"$'\n'
expect_rc 0 "create another" -- "$V" vm create u2 --memory 4M --workload dirty=100
[ "$(uuid u2)" != "$u" ] && pass "each VM its own UUID" || fail "two VMs share $u"
expect_rc 0 "delete it" -- "$V" vm delete u2

# Running, the VM is in vmmig.ko's registry under its name and UUID.
expect_rc 0 "start" -- "$V" vm start u
expect_eq "registered under its UUID" "$(kvm_uuid u)" "$u"
expect_eq "status says so" "$(js u .registered)" true
expect_rc 0 "kvm show" -- "$V" -j kvm show u
expect_eq "kvm show: the VMM's pid" "$(jq -r .pid <<<"$out")" "$(cat "$VMMIG_STATE_DIR/u/vmm.pid")"

# The control protocol: versions, requests and arguments checked.
rep=$(ctl u '{"cmd":"status","version":1}')
# A VMM of version 2 serves version 1 requests, and says it speaks 2.
expect_eq "status with version 1" "$(jq -c '[.ok, .version, .name, .uuid]' <<<"$rep")" \
	"[true,2,\"u\",\"$u\"]"
rep=$(ctl u '{"cmd":"status","version":99}')
expect_eq "version 99 refused" "$(jq -r .ok <<<"$rep")" false
expect_eq "saying which it speaks" "$(jq -r .error <<<"$rep")" \
	"control protocol version 99 is not one this VMM speaks (1-2): restart the VM with this vmmig"
expect_eq "and its version" "$(jq -r .version <<<"$rep")" 2
rep=$(ctl u '{"cmd":"status"}')
expect_eq "no version refused" "$(jq -r .error <<<"$rep")" \
	"the request has no control protocol version (this VMM speaks 1-2)"
rep=$(ctl u '{"cmd":"status","version":1,"path":"/x"}')
expect_eq "an argument status does not take" "$(jq -r .error <<<"$rep")" \
	"status: unknown argument 'path'"
rep=$(ctl u '{"cmd":"save","version":1,"path":"/x","live":"yes"}')
expect_eq "an argument of the wrong type" "$(jq -r .error <<<"$rep")" \
	"save: 'live' must be true or false"
rep=$(ctl u '{"cmd":"reboot","version":1}')
expect_eq "an unknown request" "$(jq -r .error <<<"$rep")" "unknown request 'reboot'"
rep=$(ctl u 'status')
expect_eq "not JSON" "$(jq -r .error <<<"$rep")" "a request must be a JSON object on one line"
expect_eq "the VM runs on" "$(state u)" running

# Save and restore keep it; the registration follows the running VMM.
expect_rc 0 "save" -- "$V" vm save u "$tmp/u.state"
expect_eq "unregistered when saved" "$(kvm_uuid u)" ""
expect_rc 0 "restore" -- "$V" vm restore "$tmp/u.state"
expect_eq "restore keeps the UUID" "$(uuid u)" "$u"
expect_eq "registered again, the same" "$(kvm_uuid u)" "$u"
expect_rc 0 "save again" -- "$V" vm save u "$tmp/u.state"
expect_rc 0 "delete the definition" -- "$V" vm delete u
expect_rc 0 "restore without a definition" -- "$V" vm restore "$tmp/u.state" --paused
expect_eq "the state file carries the UUID" "$(uuid u)" "$u"
expect_rc 0 "save once more" -- "$V" vm save u "$tmp/u.state"

# A restore under another name is the same VM: the same UUID, refused
# while the first definition is there.
expect_rc 1 "restore --name next to the original" -- "$V" vm restore "$tmp/u.state" --name r
one_line "same UUID refused" "^vmmig: vm restore: r: the state is of VM u \(uuid $u\), which is still defined: a VM keeps its uuid under a new name, delete u first$"
[ ! -e "$VMMIG_STATE_DIR/r" ] && pass "nothing created" || fail "r created"
expect_rc 0 "delete u" -- "$V" vm delete u
expect_rc 0 "restore --name" -- "$V" vm restore "$tmp/u.state" --name r
expect_eq "renamed, the same UUID" "$(uuid r)" "$u"
expect_eq "registered under the new name" "$(kvm_uuid r)" "$u"
expect_rc 0 "stop r" -- "$V" vm stop r --force
# A VM of that name, but another one.
expect_rc 0 "another VM named r" -- bash -c "'$V' vm delete r && '$V' vm create r --memory 4M --workload dirty=1"
expect_rc 1 "restore into another VM of the name" -- "$V" vm restore "$tmp/u.state" --name r
one_line "other VM refused" "^vmmig: vm restore: r: a VM of that name already exists, with uuid [0-9a-f-]{36}: the state is of uuid $u$"
expect_rc 0 "delete r" -- "$V" vm delete r

# A definition from before UUIDs gets one when first read, and keeps it.
expect_rc 0 "create old" -- "$V" vm create old --memory 4M --workload dirty=1
jq 'del(.uuid)' "$VMMIG_STATE_DIR/old/vm.json" >"$tmp/old.json"
cp "$tmp/old.json" "$VMMIG_STATE_DIR/old/vm.json"
o=$(uuid old)
expect_match "an old definition gets a UUID" "$o" "$uuid_re"
expect_eq "written back" "$(jq -r .uuid "$VMMIG_STATE_DIR/old/vm.json")" "$o"
expect_eq "and kept" "$(uuid old)" "$o"

# Another VM in vmmig.ko under this VM's name: the start is refused.
expect_rc 0 "start old" -- "$V" vm start old
pid=$(cat "$VMMIG_STATE_DIR/old/vmm.pid")
expect_rc 0 "create taken" -- "$V" vm create taken --memory 4M --workload dirty=1
expect_rc 0 "old's VM by hand under the name taken" -- \
	bash -c "'$V' kvm unregister old && '$V' kvm register taken --pid $pid"
expect_rc 1 "start taken" -- "$V" vm start taken
one_line "name taken" "^vmmig: vm start: vmmig.ko refused to register the VM: .*already registered"
expect_eq "taken stays off" "$(state taken)" off
expect_rc 0 "unregister" -- "$V" kvm unregister taken
expect_rc 0 "stop old" -- "$V" vm stop old --force

# A VM still arriving by a move (its folder has "incoming") never starts:
# its source may run it until vmmigd's recovery decides.
echo "b-host" >"$VMMIG_STATE_DIR/old/incoming"
expect_rc 1 "start while arriving" -- "$V" vm start old
one_line "refused" "^vmmig: vm start: old is arriving from another host and its move is not decided yet .*incoming\): vmmigd finishes or removes it$"
expect_eq "stays off" "$(state old)" off
rm "$VMMIG_STATE_DIR/old/incoming"

# Runtime files in a run folder of their own ($VMMIG_RUN_DIR; /run/vmmig/vm
# for the default state folder): the VM folder keeps only its state.
export VMMIG_RUN_DIR=$tmp/run
expect_rc 0 "start with a run folder" -- "$V" vm start old
expect_eq "pid file and socket there" "$(ls "$tmp/run/old")" $'control.sock\nvmm.pid'
expect_eq "none in the VM folder" "$(find "$VMMIG_STATE_DIR/old" -name vmm.pid -o -name control.sock)" ""
expect_eq "the CLI finds it there" "$(state old)" running
expect_rc 0 "vmmig kvm finds its pid" -- "$V" vm dirty-rate old --seconds 1
expect_rc 0 "stop" -- "$V" vm stop old --force
expect_eq "its run folder removed" "$(ls "$tmp/run")" ""
unset VMMIG_RUN_DIR

# Without vmmig.ko the VM runs unregistered, and says so once.
if [ -n "${VMMIG_KO:-}" ]; then
	rmmod vmmig
	expect_rc 0 "start without vmmig.ko" -- "$V" vm start old
	expect_eq "not registered" "$(js old .registered)" false
	expect_eq "vmm.log says so once" "$(grep -c 'vmmig.ko is not loaded: the VM runs unregistered' "$VMMIG_STATE_DIR/old/vmm.log")" 1
	expect_rc 1 "live save without vmmig.ko" -- "$V" vm save old "$tmp/o.state" --live
	one_line "live save needs it" "^vmmig: vm save: old: live save needs vmmig.ko \(modprobe vmmig\)$"
	insmod "$VMMIG_KO"
	expect_rc 0 "live save once it is back" -- "$V" vm save old "$tmp/o.state" --live
	expect_rc 0 "restore" -- "$V" vm restore "$tmp/o.state"
	expect_eq "registered with the same UUID" "$(kvm_uuid old)" "$o"
	expect_rc 0 "stop" -- "$V" vm stop old --force
fi
finish
