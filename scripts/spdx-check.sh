#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every file git tracks names its license in an SPDX line: the first line,
# or the second after a "#!" line (see COPYING). Lists the files that do not
# and fails. Exempt, by kind (keep this list short and say why):
#   COPYING                  the license text itself
#   selftests/data/*         third-party measurements; their README names the source
#   debian/changelog, debian/copyright, debian/source/*, debian/compat
#                            formats that hold no comments (copyright states
#                            the licenses itself)
#
#   scripts/spdx-check.sh [FILE...]     (default: git ls-files)
set -u
cd "$(dirname "$0")/.." || exit 2

exempt() {
	case $1 in
	COPYING | selftests/data/* | debian/changelog | debian/copyright | \
	debian/source/* | debian/compat) return 0 ;;
	esac
	return 1
}

# The comment a file of this kind carries the line in.
how() {
	case $1 in
	*.c) echo '// SPDX-License-Identifier: GPL-2.0' ;;
	*.h | *.S | *.lds) echo '/* SPDX-License-Identifier: GPL-2.0 */' ;;
	*.rst) echo '.. SPDX-License-Identifier: GPL-2.0' ;;
	*.md | *.html) echo '<!-- SPDX-License-Identifier: GPL-2.0 -->' ;;
	*) echo '# SPDX-License-Identifier: GPL-2.0' ;;
	esac
}

if [ $# -gt 0 ]; then
	files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files)
else
	echo "# SKIP not a git checkout: the files to check are those git tracks"
	exit 4
fi

bad=0 n=0
for f in "${files[@]}"; do
	exempt "$f" && continue
	# A file deleted in the work tree but still in the index.
	[ -f "$f" ] || continue
	n=$((n + 1))
	first=$(head -c 4096 "$f" | head -n 2)
	case $first in
	'#!'*) first=$(sed -n 2p <<<"$first") ;;
	*) first=$(head -n 1 <<<"$first") ;;
	esac
	[[ $first == *SPDX-License-Identifier:\ ?* ]] && continue
	if [ $bad -eq 0 ]; then
		echo "Files without an SPDX license line (see COPYING):"
	fi
	printf '  %-50s add as line %s: %s\n' "$f" "$(head -c 2 "$f" | grep -q '^#!' && echo 2 || echo 1)" \
		"$(how "$f")"
	bad=$((bad + 1))
done
if [ $bad -gt 0 ]; then
	echo "$bad of $n files lack it; a file that cannot hold a comment goes in the"
	echo "exempt list of scripts/spdx-check.sh, with the reason"
	exit 1
fi
echo "$n files carry an SPDX license line"
