#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make htmldocs (Sphinx over Documentation/, every warning an error) builds
# without a warning, into a temporary folder. Runs on the build host.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

command -v sphinx-build >/dev/null || skip "sphinx-build is not installed: make deps"
expect_rc 0 "make htmldocs" -- make -s -C "$REPO" htmldocs BUILD="$tmp"
[ -z "$err" ] || echo "$err" | sed 's/^/# /'
[ -f "$tmp/htmldocs/index.html" ] && pass "index.html built" || fail "no index.html"
[ -f "$tmp/htmldocs/man/vmmig.8.html" ] && pass "the man pages built" || fail "no man/vmmig.8.html"
finish
