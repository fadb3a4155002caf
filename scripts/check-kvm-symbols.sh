#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Usage: check-kvm-symbols.sh KDIR SYMBOL-LIST
# Fails, naming them, when the kernel in KDIR does not export to every
# module each KVM symbol that SYMBOL-LIST names.
set -eu
kdir=$1
list=$2
symvers=$kdir/Module.symvers
if [ ! -r "$symvers" ]; then
	echo "vmmig: $symvers not found: cannot check the KVM symbols vmmig.ko needs" >&2
	exit 1
fi
missing=
for sym in $(sed -e 's/#.*//' "$list"); do
	# Module.symvers: CRC, symbol, module, export type, namespace. A namespace
	# "module:..." (EXPORT_SYMBOL_FOR_MODULES) lets only the modules it names
	# use the symbol.
	if ! awk -F '\t' -v s="$sym" '$2 == s && $5 !~ /^module:/ { found = 1 }
		END { exit !found }' "$symvers"; then
		missing="$missing $sym"
	fi
done
if [ -n "$missing" ]; then
	echo "vmmig: the kernel in $kdir does not export to other modules these KVM symbols vmmig.ko needs:$missing" >&2
	exit 1
fi
