#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Writes the bash completion of vmmig and vmmigd to stdout, from the CLI's
# own command table (`vmmig help --commands`, see
# Documentation/admin-guide/cli.rst) and vmmigd's usage.
#
#   scripts/gen-completion.sh VMMIG VMMIGD >build/completion/vmmig
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 VMMIG VMMIGD" >&2; exit 2; }
table=$("$1" help --commands)
# vmmigd --help prints its usage: "[--state-dir DIR] [--trust HOST]...".
daemon=$("$2" --help 2>&1 || true)
daemon_opts=$(grep -o '\[--[a-z-]*\( [A-Z-]*\)\?\]' <<<"$daemon" | tr -d '[]' | tr ' ' '=' | tr '\n' ' ')
[ -n "$table" ] && [ -n "$daemon_opts" ] || { echo "$0: no command table" >&2; exit 1; }

cat <<'EOF'
# SPDX-License-Identifier: GPL-2.0
# bash completion for vmmig and vmmigd, generated at build time by
# scripts/gen-completion.sh from 'vmmig help --commands': do not edit.

EOF
printf '_vmmig_table=%q\n' "$table"
printf '_vmmigd_opts=%q\n\n' "--help ${daemon_opts% }"
cat <<'EOF'
# The table: a line " : GLOBAL-OPTIONS", then "WORDS : ARGS" per command;
# ARGS are NAME, --flag, --option=VALUE and keyword=VALUE words.

# _vmmig_values TYPE CUR: what a metavariable or a choice list stands for.
_vmmig_values()
{
	local type=$1 cur=$2 dir n
	case $type in
	*'|'*)
		local IFS='|' w out=()
		for w in $type; do
			w=${w%%[[=]*}
			[[ $w == [a-z]* ]] && out+=("$w")
		done
		compgen -W "${out[*]}" -- "$cur"
		;;
	NAME)
		dir=${_vmmig_state_dir:-${VMMIG_STATE_DIR:-/var/lib/vmmig}}
		for n in "$dir"/*/vm.json; do
			[ -e "$n" ] || continue
			n=${n%/vm.json}
			n=${n##*/}
			[[ $n == "$cur"* ]] && printf '%s\n' "$n"
		done
		;;
	HOST | HOST\[:PORT\])
		# The cluster's members, when vmmigd answers; quietly nothing else.
		n=$(timeout 2 vmmig -j cluster list 2>/dev/null) || return 0
		n=$(grep -o '"host": *"[^"]*"' <<<"$n" | sed 's/.*"\([^"]*\)"$/\1/')
		compgen -W "$n" -- "$cur"
		;;
	NETNS)
		compgen -W "$(ls /var/run/netns 2>/dev/null)" -- "$cur"
		;;
	OBJECT)
		compgen -W "$(_vmmig_next '')" -- "$cur"
		;;
	DIR)
		compgen -d -- "$cur"
		;;
	FILE | CSR | BZIMAGE | PATH* | SRC=DST | CPUID-DUMP | SETTINGS)
		compgen -f -- "$cur"
		;;
	esac
}

# _vmmig_next PREFIX: the words that may follow the command words PREFIX.
_vmmig_next()
{
	local line words
	while IFS= read -r line; do
		words=${line%% :*}
		[ -n "$words" ] || continue
		if [ -z "$1" ]; then
			printf '%s\n' "${words%% *}"
		elif [[ $words == "$1 "* ]]; then
			words=${words#"$1 "}
			printf '%s\n' "${words%% *}"
		fi
	done <<<"$_vmmig_table" | sort -u
}

# _vmmig_match WORD: the line of stdin WORD spells, or the lines it begins.
_vmmig_match()
{
	local line out=()
	while IFS= read -r line; do
		[ "$line" = "$1" ] && { printf '%s\n' "$line"; return; }
		[[ $line == "$1"* ]] && out+=("$line")
	done
	[ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}"
}

# _vmmig_args WORDS: the ARGS of command WORDS, or the global options.
_vmmig_args()
{
	local line
	while IFS= read -r line; do
		if [ "${line%% :*}" = "$1" ]; then
			printf '%s\n' "${line#* :}"
			return
		fi
	done <<<"$_vmmig_table"
}

# _vmmig_complete_args ARGS CUR PREV POSITIONALS: options, keywords and
# arguments of a command whose ARGS are known.
_vmmig_complete_args()
{
	local args=$1 cur=$2 prev=$3 npos=$4 a opts=() keys=() pos=()
	for a in $args; do
		case $a in
		-*) opts+=("$a") ;;
		[a-z]*) keys+=("$a") ;;
		*) pos+=("$a") ;;
		esac
	done
	# The value of the option or keyword before, or after its '='.
	if [[ $cur == --*=* ]]; then
		for a in "${opts[@]}"; do
			if [[ $a == "${cur%%=*}="* ]]; then
				_vmmig_values "${a#*=}" "${cur#*=}" | sed "s|^|${cur%%=*}=|"
				return
			fi
		done
		return
	fi
	for a in "${opts[@]}" "${keys[@]}"; do
		if [[ $a == "$prev="* ]]; then
			_vmmig_values "${a#*=}" "$cur"
			return
		fi
	done
	if [[ $cur == -* ]]; then
		compgen -W "${opts[*]%%=*} --help" -- "$cur"
		return
	fi
	[ ${#keys[@]} -eq 0 ] || compgen -W "${keys[*]%%=*}" -- "$cur"
	[ "$npos" -ge ${#pos[@]} ] || _vmmig_values "${pos[$npos]}" "$cur"
}

_vmmig()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n =: || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${words[cword]}
		prev=${words[cword - 1]}
	fi
	local i=1 w path='' args='' npos=0 next _vmmig_state_dir='' global
	global=$(_vmmig_args '')
	# The command words, global options and their values taken out.
	while [ $i -lt "$cword" ]; do
		w=${words[i]}
		case $w in
		-n | --netns) i=$((i + 2)); continue ;;
		--state-dir) _vmmig_state_dir=${words[i + 1]}; i=$((i + 2)); continue ;;
		--state-dir=*) _vmmig_state_dir=${w#*=} ;;
		-*) ;;
		*)
			if [ -z "$args" ]; then
				next=$(_vmmig_next "$path" | _vmmig_match "$w")
				if [ "$(wc -l <<<"$next")" = 1 ] && [ -n "$next" ]; then
					path=${path:+$path }$next
					args=$(_vmmig_args "$path")
				elif [ "$w" = help ]; then
					path=help
					args=$(_vmmig_args help)
				fi
				[ -z "$args" ] || args=${args:- }
			else
				# Not a value of the option or keyword before, nor a keyword.
				case " $args " in
				*" ${words[i - 1]}="* | *" $w="*) ;;
				*) npos=$((npos + 1)) ;;
				esac
			fi
			;;
		esac
		i=$((i + 1))
	done
	case $prev in
	-n | --netns) mapfile -t COMPREPLY < <(_vmmig_values NETNS "$cur"); return ;;
	--state-dir) mapfile -t COMPREPLY < <(_vmmig_values DIR "$cur"); return ;;
	esac
	if [ -n "$args" ]; then
		if [ "$path" = help ]; then
			# help OBJECT COMMAND
			if [ $npos -eq 0 ]; then
				mapfile -t COMPREPLY < <(_vmmig_values OBJECT "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -W "$(_vmmig_next "${words[cword - 1]}")" -- "$cur")
			fi
			return
		fi
		mapfile -t COMPREPLY < <(_vmmig_complete_args "$args" "$cur" "$prev" "$npos")
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(sed 's/=[^ ]*//g' <<<"$global") --help" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$(_vmmig_next "$path") ${path:+help}" -- "$cur")
	fi
	# Paths: let bash quote them and mark directories.
	for w in "${COMPREPLY[@]}"; do
		if [[ $w == */* ]] || [ -e "$w" ]; then
			compopt -o filenames 2>/dev/null
			break
		fi
	done
	if declare -F __ltrim_colon_completions >/dev/null; then
		__ltrim_colon_completions "$cur"
	fi
}
complete -F _vmmig vmmig

_vmmigd()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} o
	for o in $_vmmigd_opts; do
		if [ "${o%%=*}" = "$prev" ] && [ "$o" != "$prev" ]; then
			case ${o#*=} in
			DIR) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
			PATH | FILE | CPUID-DUMP) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
			*) COMPREPLY=() ;;
			esac
			return
		fi
	done
	mapfile -t COMPREPLY < <(compgen -W "$(sed 's/=[^ ]*//g' <<<"$_vmmigd_opts")" -- "$cur")
}
complete -F _vmmigd vmmigd
EOF
