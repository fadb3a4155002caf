#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VMM outlives the `vmmig vm start` or `vm restore` that started it, when
# that CLI is killed mid-command: SIGKILL, or SIGHUP and SIGINT to its
# process group as a terminal that goes away or a Ctrl-C sends them, while
# the VMM starts and right after it was spawned. The VM then runs (its
# counter advances), `vm list` and `vm show` say so, and the VMM is a
# session of its own that holds none of the CLI's files.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=selftests/vm_common.sh
source "$(dirname "$0")/vm_common.sh"
command -v setsid >/dev/null || skip "setsid is not installed"

# The VMM the CLI spawns, through a wrapper that says when it was spawned
# and makes the VMM's start last $WRAP_DELAY seconds.
real_vmm=$REPO/build/bin/vmmig-vmm
cat >"$tmp/vmm" <<EOS
#!/bin/bash
echo \$\$ >"$tmp/spawned"
sleep "\${WRAP_DELAY:-0}"
exec "$real_vmm" "\$@"
EOS
chmod +x "$tmp/vmm"
export VMMIG_VMM=$tmp/vmm

vmm_pid() { cat "$VMMIG_STATE_DIR/$1/vmm.pid" 2>/dev/null; }
listed() { "$V" -j vm list | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }

# killed NAME SIGNAL TARGET DELAY VERB ARGS...: runs `vmmig vm VERB ARGS...`
# as a terminal's job (a process group of its own, holding fd 7 open on a
# file of its own), and once it spawned the VMM sends SIGNAL to the CLI
# (TARGET cli) or to its group (TARGET group), or stops the CLI until the VM
# runs and then sends SIGNAL and SIGCONT to its group (TARGET stopped). The
# VM must then run.
killed() {
	local name=$1 sig=$2 target=$3 delay=$4 what="$5 $2 to the $3 (${4}s)" cli pid c0
	shift 4
	rm -f "$tmp/spawned"
	WRAP_DELAY=$delay setsid "$V" vm "$@" 7>"$tmp/cli-only" >/dev/null 2>&1 &
	cli=$!
	if ! wait_for 20 test -s "$tmp/spawned"; then
		fail "$what: no VMM was spawned"
		return
	fi
	case $target in
	cli) kill -"$sig" "$cli" ;;
	group) kill -"$sig" -- -"$cli" ;;
	# A job stopped (Ctrl-Z) until its VM runs, then its terminal goes away.
	stopped)
		kill -STOP "$cli"
		wait_for 30 eval '[ "$(state '"$name"')" = running ]'
		kill -"$sig" -- -"$cli"
		kill -CONT -- -"$cli"
		;;
	esac
	wait "$cli" 2>/dev/null
	kill -0 "$cli" 2>/dev/null && fail "$what: the CLI lives on"
	wait_for 30 eval '[ "$(state '"$name"')" = running ]' && pass "$what: the VM runs" ||
		{ fail "$what: the VM is $(state "$name")"; return; }
	c0=$(counter "$name")
	wait_for 20 counter_above "$name" "$c0" && pass "$what: its counter advances" ||
		fail "$what: its counter is stuck at $c0"
	expect_eq "$what: vm list says running" "$(listed "$name")" running
	pid=$(vmm_pid "$name")
	expect_eq "$what: the VMM is a session of its own" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
	if find "/proc/$pid/fd" -lname "$tmp/cli-only" | grep -q .; then
		fail "$what: the VMM holds a file of the CLI's"
	else
		pass "$what: the VMM holds none of the CLI's files"
	fi
}

expect_rc 0 "create" -- "$V" vm create d --memory 4M --workload dirty=200

# While the VMM starts: the CLI waits for its "ok", which then meets a closed pipe.
killed d KILL cli 1 start d
expect_contains "the VMM saw the CLI gone (EPIPE, not SIGPIPE)" \
	"$(cat "$VMMIG_STATE_DIR/d/vmm.log")" "ready fd: Broken pipe"
expect_rc 0 "stop" -- "$V" vm stop d --force
killed d HUP group 1 start d
expect_rc 0 "stop" -- "$V" vm stop d --force
killed d INT group 1 start d

# restore: the same, from a saved state.
expect_rc 0 "save" -- "$V" vm save d "$tmp/d.state"
killed d KILL cli 1 restore "$tmp/d.state"
expect_rc 0 "save again" -- "$V" vm save d "$tmp/d.state"
# The CLI stopped while the VMM starts and runs; then its terminal hangs up.
killed d HUP stopped 1 restore "$tmp/d.state"
expect_rc 0 "stop" -- "$V" vm stop d --force
finish
