#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The generated man pages (build/man/*.8, make man): each renders with
# man -l without a single groff warning and no line wider than the page;
# each has the sections a man page must have; every object of the CLI
# (as 'vmmig help' lists them) has its page, vmmig-OBJECT(8), or a section
# "vmmig OBJECT" in vmmig(8); a page names every command of its object.
# Runs on the build host.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

MANDIR=${MANDIR:-$REPO/build/man}
[ -x "$VMMIG" ] || skip "$VMMIG is not built"
command -v man >/dev/null || skip "man (man-db) is not installed: make deps"
pages=("$MANDIR"/*.8)
[ -e "${pages[0]}" ] || { fail "no pages in $MANDIR (make man)"; finish; exit; }
for src in "$REPO"/Documentation/man/*.8.rst; do
	p=$(basename "$src" .rst)
	[ -f "$MANDIR/$p" ] || fail "$p: not built from $src (make man)"
done

for page in "${pages[@]}"; do
	p=$(basename "$page")
	# man-db passes -w to groff: every warning category.
	warn=$(MANWIDTH=80 man --warnings=w -E UTF-8 -l "$page" 2>&1 >/dev/null)
	expect_eq "$p renders without warnings" "$warn" ""
	text=$(MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null)
	wide=$(awk 'length > 80' <<<"$text")
	expect_eq "$p: no line wider than 80 columns" "$wide" ""
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" FILES ENVIRONMENT EXAMPLES \
		 "SEE ALSO"; do
		grep -qx "$s" <<<"$text" || fail "$p: no $s section"
	done
	pass "$p: every section"
done

objects=$("$VMMIG" help | sed -n '/^OBJECTS:/,/^[^ ]/s/^  \([a-z-]*\) .*/\1/p')
expect_match "vmmig help lists objects" "$objects" "^host"
for o in $objects; do
	if [ -f "$MANDIR/vmmig-$o.8" ]; then
		page=$MANDIR/vmmig-$o.8
	elif grep -qx "\.SS vmmig $o" "$MANDIR/vmmig.8"; then
		page=$MANDIR/vmmig.8
	else
		fail "object $o has neither vmmig-$o(8) nor a section 'vmmig $o' in vmmig(8)"
		continue
	fi
	# Each command, as its usage names it, in the page's roff source
	# (bold words there: \fBvm save\fP, and \fBvm\fP [\fBlist\fP] for the default).
	src=$(sed 's/\\f[BIPR]//g; s/\\-/-/g; s/\[\([a-z-]*\)\]/\1/g' "$page")
	while read -r v; do
		[[ $src == *"$o $v"* ]] || fail "$(basename "$page"): no 'vmmig $o $v'"
	done < <("$VMMIG" "$o" help 2>/dev/null |
		sed -n "s/^\(Usage:\)\? *vmmig $o \([a-z][a-z-]*\( [a-z][a-z-]*\)\?\).*/\2/p")
	pass "object $o: documented in $(basename "$page")"
done
finish
