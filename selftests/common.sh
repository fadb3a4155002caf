# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the shell tests: small assertions that print TAP-like lines.
# Exit status: 0 pass, 1 fail, 4 skip (kselftest convention).

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMMIG=${VMMIG:-$REPO/build/bin/vmmig}
KSFT_SKIP=4
failures=0
checks=0

pass() { checks=$((checks + 1)); echo "# ok: $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "# FAIL: $*"; }
skip() { echo "# SKIP: $*"; exit $KSFT_SKIP; }

# expect_rc WANT DESCRIPTION -- COMMAND...: runs COMMAND, keeps its output
# in $out and $err, and checks its exit status.
expect_rc() {
	local want=$1 what=$2 rc=0
	shift 3
	out=$("$@" 2>"$tmp/stderr") || rc=$?
	err=$(cat "$tmp/stderr")
	if [ "$rc" = "$want" ]; then
		pass "$what (exit $rc)"
	else
		fail "$what: exit $rc, want $want; stdout: $out; stderr: $err"
	fi
}

# expect_match WHAT STRING REGEX
expect_match() {
	if [[ $2 =~ $3 ]]; then pass "$1"; else fail "$1: '$2' does not match /$3/"; fi
}

# expect_contains WHAT STRING SUBSTRING (taken literally)
expect_contains() {
	if [[ $2 == *"$3"* ]]; then pass "$1"; else fail "$1: '$2' does not contain '$3'"; fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# one_line WHAT REGEX: the last command's stderr is one line matching REGEX.
one_line() { expect_eq "$1: one line" "$(wc -l <<<"$err")" 1; expect_match "$1: says why" "$err" "$2"; }

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# overlay_root: in the test's own mount namespace, /usr, /etc and /var seen
# through overlays whose upper layers (usr/u, etc/u, var/u) are a tmpfs on
# $tmp/ov, so that what is installed there never reaches the host.
overlay_root() {
	local d
	mkdir -p "$tmp/ov"
	mount -t tmpfs tmpfs "$tmp/ov"
	for d in usr etc var; do
		mkdir -p "$tmp/ov/$d/u" "$tmp/ov/$d/w"
		mount -t overlay overlay \
			-o "lowerdir=/$d,upperdir=$tmp/ov/$d/u,workdir=$tmp/ov/$d/w" "/$d" ||
			skip "no overlay on /$d"
	done
}

finish() {
	echo "# $((checks - failures))/$checks checks passed"
	[ $failures -eq 0 ]
}

tmp=$(mktemp -d)
# --one-file-system: never into what a test mounted below $tmp.
trap 'cleanup_hook 2>/dev/null; rm -rf --one-file-system "$tmp"' EXIT
