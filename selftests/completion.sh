#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The generated bash completion (build/completion/vmmig, make completion),
# with bash-completion's helpers and without: every object and its verbs as
# the CLI's usage lists them, the options of every command as its --help
# synopsis names them, the choices of an option and of a keyword, the VM
# names of a state directory (and nothing else there), a prefix that
# narrows, and vmmigd's options. Runs on the build host.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

COMPLETION=${COMPLETION:-$REPO/build/completion/vmmig}
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
[ -x "$VMMIG" ] || skip "$VMMIG is not built"
[ -f "$COMPLETION" ] || { fail "$COMPLETION is missing (make completion)"; finish; exit; }

if command -v shellcheck >/dev/null; then
	expect_rc 0 "shellcheck of the generated file" -- shellcheck -s bash -S warning "$COMPLETION"
fi

# drive with|without: reads one command line per line of stdin (a trailing
# space: completing a new, empty word) and prints the sorted completions.
cat >"$tmp/drive.sh" <<'EOF'
if [ "$1" = with ]; then
	# shellcheck disable=SC1090
	source "$3" || exit 1
	declare -F _init_completion >/dev/null || exit 1
fi
# shellcheck disable=SC1090
source "$2"
while IFS= read -r line; do
	read -ra COMP_WORDS <<<"$line"
	[[ $line != *' ' ]] || COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	case ${COMP_WORDS[0]} in
	vmmigd) _vmmigd ;;
	*) _vmmig ;;
	esac
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
	echo
done
EOF

# The objects as 'vmmig help' lists them, and the words after each object
# in its usage: a verb, or a table and its verb (host policy set).
objects=$("$VMMIG" help | sed -n '/^OBJECTS:/,/^[^ ]/s/^  \([a-z-]*\) .*/\1/p')
expect_match "vmmig help lists objects" "$objects" "^host"
declare -A verbs opts
leaves=()
for o in $objects; do
	[ "$o" = help ] && continue
	while read -r v sub; do
		if [[ $sub == [a-z]* ]]; then
			verbs[$o $v]+="${sub%% *} "
			leaves+=("$o $v ${sub%% *}")
		else
			leaves+=("$o $v")
		fi
		[[ " ${verbs[$o]-} " == *" $v "* ]] || verbs[$o]+="$v "
	done < <("$VMMIG" "$o" help 2>/dev/null | sed -n "s/^\(Usage:\)\? *vmmig $o \([a-z][a-z-]*\)/\2/p")
	[ -n "${verbs[$o]-}" ] || leaves+=("$o")
done
expect_match "vm has verbs" "${verbs[vm]}" "start .*stop"
expect_match "host cert has verbs" "${verbs[host cert]}" "ca-create .*sign"

# Every leaf command, "vm save", with the options of its --help synopsis.
for c in "${leaves[@]}"; do
	# shellcheck disable=SC2086 # the words of the command
	opts[$c]=$("$VMMIG" $c --help 2>/dev/null |
		sed -n '1,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
done
expect_match "vm save has options" "${opts[vm save]}" "--live"

state=$tmp/state
mkdir -p "$state/alpha" "$state/albert" "$state/beta" "$state/notavm"
for n in alpha albert beta; do echo '{}' >"$state/$n/vm.json"; done

queries() {
	echo "vmmig "
	echo "vmmig h"
	for o in "${!verbs[@]}"; do
		echo "vmmig $o "
	done
	for c in "${!opts[@]}"; do
		echo "vmmig $c --"
	done
	echo "vmmig vm st"
	echo "vmmig -j vm save x --on-timeout "
	echo "vmmig host set migration "
	echo "vmmig host set "
	echo "vmmig vm start "
	echo "vmmig vm start al"
	echo "vmmig move "
	echo "vmmig vm --state-dir $state show "
	echo "vmmig vm save alpha $state/al"
	echo "vmmigd --"
	echo "vmmigd --tls-dir $state/b"
}

# offers WHAT COMPLETIONS WORD...: each WORD is among COMPLETIONS.
offers() {
	local what=$1 r=" $2 " w
	shift 2
	for w in "$@"; do
		[[ $r == *" $w "* ]] || fail "$what: '$w' not offered (got:$r)"
	done
}

check_mode() {
	local mode=$1 q r i=0
	local -a qs rs
	mapfile -t qs < <(queries)
	mapfile -t rs < <(queries | VMMIG_STATE_DIR=$state bash "$tmp/drive.sh" "$mode" \
		"$COMPLETION" "$BASH_COMPLETION" 2>"$tmp/drive.err")
	expect_eq "$mode bash-completion: an answer per query" "${#rs[@]}" "${#qs[@]}"
	[ ! -s "$tmp/drive.err" ] || fail "$mode: errors: $(head -3 "$tmp/drive.err")"
	declare -A got
	for q in "${qs[@]}"; do
		got[$q]=${rs[i]-}
		i=$((i + 1))
	done

	# shellcheck disable=SC2086 # lists of words
	offers "$mode: objects" "${got[vmmig ]}" $objects
	pass "$mode: every object offered"
	expect_eq "$mode: prefix h" "${got[vmmig h]}" "help host"
	for o in "${!verbs[@]}"; do
		# shellcheck disable=SC2086
		offers "$mode: verbs of $o" "${got[vmmig $o ]}" ${verbs[$o]}
	done
	pass "$mode: every object's verbs offered"
	for c in "${!opts[@]}"; do
		# shellcheck disable=SC2086
		offers "$mode: options of $c" "${got[vmmig $c --]}" ${opts[$c]}
	done
	pass "$mode: every command's options offered"
	expect_eq "$mode: vm st narrows" "${got[vmmig vm st]}" "start stop"
	expect_eq "$mode: an option's choices" "${got[vmmig -j vm save x --on-timeout ]}" \
		"cancel pause throttle"
	expect_eq "$mode: a keyword's choices" "${got[vmmig host set migration ]}" "off on"
	expect_eq "$mode: keywords" "${got[vmmig host set ]}" \
		"max-migrations max-storage-migrations migration use-any-network"
	expect_eq "$mode: VM names" "${got[vmmig vm start ]}" "albert alpha beta"
	expect_eq "$mode: VM names by prefix" "${got[vmmig vm start al]}" "albert alpha"
	expect_eq "$mode: move's VM names" "${got[vmmig move ]}" "albert alpha beta"
	expect_eq "$mode: VM names of --state-dir" \
		"${got[vmmig vm --state-dir $state show ]}" "albert alpha beta"
	expect_eq "$mode: a file argument" "${got[vmmig vm save alpha $state/al]}" \
		"$state/albert $state/alpha"
	expect_contains "$mode: vmmigd's options" "${got[vmmigd --]}" "--state-dir"
	expect_eq "$mode: vmmigd's directory option" "${got[vmmigd --tls-dir $state/b]}" "$state/beta"
}

check_mode without
if [ -f "$BASH_COMPLETION" ]; then
	check_mode with
else
	echo "# bash-completion is not installed: only without its helpers (make deps)"
fi
finish
