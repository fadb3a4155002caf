#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# extract-vmlinux.sh BZIMAGE OUTPUT: the ELF vmlinux inside a compressed
# kernel image (xz, zstd or gzip), with its .BTF section. Used by
# selftests/vm-run (the test VM's kernel) and by the BPF build (vmlinux.h).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BZIMAGE OUTPUT" >&2; exit 2; }
tmp=$2.tmp.$$
trap 'rm -f "$tmp"' EXIT
while read -r hex tool; do
	command -v "$tool" >/dev/null || continue
	while read -r off; do
		# Trailing data after the stream makes the tools fail: ignore.
		tail -c "+$((off + 1))" "$1" | "$tool" -dc >"$tmp" 2>/dev/null || :
		if [[ $(head -c 4 "$tmp" | od -An -tx1) == " 7f 45 4c 46" ]]; then
			mv -f "$tmp" "$2"
			exit 0
		fi
	done < <(LC_ALL=C grep -obUaP "$hex" "$1" | cut -d: -f1)
done <<'END'
\xfd7zXZ\x00 xz
\x28\xb5\x2f\xfd zstd
\x1f\x8b\x08 gzip
END
echo "$0: cannot find an ELF vmlinux inside $1" >&2
exit 1
