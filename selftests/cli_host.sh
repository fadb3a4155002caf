#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The vmmig CLI without vmmig.ko (runs on the build host): usage errors,
# help, version, and the clear message when the module is not loaded.
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
expect_match "names the command" "$err" "unknown command 'frob'"
expect_rc 2 "host set without settings" -- "$VMMIG" host set
expect_rc 2 "host set with a bad number" -- "$VMMIG" host set max-migrations 12x
expect_match "names the bad value" "$err" "max-migrations: '12x' is not a number"
expect_rc 2 "host set with a bad switch" -- "$VMMIG" host set migration maybe
expect_rc 2 "host set with a missing value" -- "$VMMIG" host set migration
expect_rc 2 "host show with an extra argument" -- "$VMMIG" host show extra
expect_rc 2 "monitor with an extra argument" -- "$VMMIG" monitor extra
expect_rc 2 "help for an unknown object" -- "$VMMIG" help frob

expect_rc 0 "help" -- "$VMMIG" help
help=$out
for obj in host monitor version help; do
	expect_match "help lists $obj" "$help" "  $obj "
	expect_rc 0 "help $obj" -- "$VMMIG" help "$obj"
	expect_match "help $obj is a usage" "$out" "^Usage: vmmig $obj"
done
expect_rc 0 "host help" -- "$VMMIG" host help

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
