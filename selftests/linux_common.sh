# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154 # tmp comes from common.sh
# Sourced by the tests that boot Linux guests (after common.sh): the stock
# Debian kernel that runs the test VM, with a busybox initramfs built here.
# Nested under the test VM's KVM (kvm_amd on QEMU's TCG) the guest needs
# xAPIC and a test VM of one vCPU (selftests/vm-run -c 1: QEMU 7.2 delivers
# an injected interrupt twice otherwise): see "Linux guests" in
# Documentation/admin-guide/vm.rst.

[ -c /dev/kvm ] || skip "no /dev/kvm"
command -v jq >/dev/null || skip "jq is not installed"
LINUX_KVER=${LINUX_KVER:-$(uname -r)}
LINUX_KERNEL=/boot/vmlinuz-$LINUX_KVER
[ -r "$LINUX_KERNEL" ] || skip "no readable $LINUX_KERNEL"
busybox=$(command -v busybox) || skip "busybox is not installed (busybox-static)"
file -L "$busybox" | grep -q 'statically linked' || skip "$busybox is not static (busybox-static)"
for t in cpio gzip xz modprobe; do command -v $t >/dev/null || skip "$t is not installed"; done

# shellcheck disable=SC2034 # used by the tests that source this
LINUX_CMDLINE="console=ttyS0 panic=-1 loglevel=7 nokaslr nox2apic lapic=notscdeadline"

# linux_initramfs OUT INIT [MODULE...]: a gzipped initramfs at OUT whose
# /init is busybox sh running the script INIT (text) after loading MODULE and
# what it depends on, decompressed (busybox insmod takes plain .ko files only)
# and given their parameters from the kernel command line.
linux_initramfs() {
	local out=$1 init=$2 root mod what path f deps=
	shift 2
	for mod in "$@"; do
		deps+=$(modprobe -S "$LINUX_KVER" --show-depends "$mod") ||
			skip "no module $mod for $LINUX_KVER"
		deps+=$'\n'
	done
	root=$(mktemp -d "$tmp/initramfs.XXXXXX")
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules"
	cp "$busybox" "$root/bin/busybox"
	{
		echo '#!/bin/busybox sh'
		echo '/bin/busybox --install -s /bin'
		echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
		# As modprobe does: MODULE.PARAM=VALUE on the kernel command line.
		echo 'load() { p=; for a in $(cat /proc/cmdline); do case $a in "$1".*) p="$p ${a#"$1".}" ;; esac; done; insmod "/lib/modules/$1.ko" $p; }'
		while read -r what path _; do
			[ "$what" = insmod ] || continue
			f=$root/lib/modules/$(basename "${path%%.ko*}").ko
			[ -e "$f" ] && continue
			case $path in
			*.xz) xz -dc "$path" ;;
			*) cat "$path" ;;
			esac >"$f"
			f=${f##*/}
			echo "load ${f%.ko}"
		done <<<"$deps"
		printf '%s\n' "$init"
	} >"$root/init"
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}
