#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages, for real, on the build host: dpkg-buildpackage builds
# vmmig and vmmig-dkms from a clean copy of the tree; dpkg installs them into
# this host's root seen through overlays in a mount namespace of the test's
# own (the host itself is untouched), where the package's DKMS builds
# vmmig.ko; a test VM booted on that root loads the DKMS-built module and
# runs the installed vmmig, vmmigd and VMM; `apt-get remove --purge` then
# leaves nothing behind. VMMIG_KERNEL picks the kernel series (default 6.1).
#
# The in-VM part boots a kernel (vm-run); the rest runs natively, as the
# DKMS build would take minutes under TCG.
if [ -z "${PACKAGE_NS:-}" ]; then
	command -v unshare >/dev/null || { echo "# SKIP: no unshare"; exit 4; }
	PACKAGE_NS=1 exec unshare -m "$0" "$@"
fi
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { umount -l /usr /etc /var "$tmp/ov" 2>/dev/null; }
[ "$(id -u)" = 0 ] || skip "needs root (dpkg into an overlay of the root)"
for c in dpkg-buildpackage dh dh_dkms dkms lintian apt-get git; do
	command -v "$c" >/dev/null || skip "$c is not installed (make deps)"
done
git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1 || skip "$REPO is not a git checkout"
series=${VMMIG_KERNEL:-6.1}
kver=$(ls -1 /boot/vmlinuz-"$series".*-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -1)
[ -n "$kver" ] && [ -e "/lib/modules/$kver/build/Makefile" ] ||
	skip "no kernel $series with headers installed"
version=$(sed -n 's/^#define VMMIG_VERSION "\(.*\)"/\1/p' "$REPO/kmod/version.h")

# logged WHAT LOG COMMAND: COMMAND's output into LOG, shown when it fails.
logged() {
	local what=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		pass "$what"
	else
		fail "$what: exit $?; the end of its output:"
		tail -30 "$log" | sed 's/^/#   /'
	fi
}

# 1. The packages, from the tracked files only.
mkdir -p "$tmp/src"
git -C "$REPO" ls-files -z | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$tmp/src"
logged "dpkg-buildpackage -us -uc -b from a clean tree" "$tmp/build.log" \
	bash -c "cd '$tmp/src' && dpkg-buildpackage -us -uc -b"
deb=$tmp/vmmig_${version}_amd64.deb dkmsdeb=$tmp/vmmig-dkms_${version}_all.deb
[ -f "$deb" ] && [ -f "$dkmsdeb" ] || { fail "no packages built"; finish; exit; }
# lintian: no error or warning (information tags are allowed).
logged "lintian finds no error or warning" "$tmp/lintian.log" \
	lintian --fail-on error,warning --tag-display-limit 0 "$deb" "$dkmsdeb"
files() { dpkg-deb -c "$1" | awk '{ print substr($6, 2) }' | grep -v '/$'; }
list=$(files "$deb")
for f in /usr/bin/vmmig /usr/sbin/vmmigd /usr/libexec/vmmig/vmmig-vmm \
	 /lib/systemd/system/vmmigd.service /usr/share/man/man8/vmmig.8.gz \
	 /usr/share/man/man8/vmmigd.8.gz /usr/share/man/man8/vmmig-move.8.gz \
	 /usr/share/bash-completion/completions/vmmig /usr/share/bash-completion/completions/vmmigd; do
	expect_contains "vmmig has $f" "$list" "$f"
done
expect_contains "vmmig-dkms has the module's source" "$(files "$dkmsdeb")" \
	"/usr/src/vmmig-$version/dkms.conf"
expect_contains "and loads it at boot" "$(files "$dkmsdeb")" "/usr/lib/modules-load.d/vmmig.conf"
expect_eq "dkms.conf has the version" \
	"$(dpkg-deb --fsys-tarfile "$dkmsdeb" | tar -xOf - "./usr/src/vmmig-$version/dkms.conf" |
	   sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p')" "$version"

# 2. The root as the packages will change it: overlays, upper layers in tmpfs.
mount --make-rprivate /
overlay_root

logged "dpkg -i vmmig vmmig-dkms" "$tmp/install.log" \
	env DEBIAN_FRONTEND=noninteractive dpkg -i "$dkmsdeb" "$deb"
# The postinst builds for the running and the newest kernel; the test VM's
# kernel may be neither.
dkms status -m vmmig -v "$version" -k "$kver" 2>/dev/null | grep -q installed ||
	logged "dkms install for $kver" "$tmp/dkms.log" dkms install -m vmmig -v "$version" -k "$kver"
expect_match "DKMS built and installed vmmig.ko for $kver" \
	"$(dkms status -m vmmig -v "$version" -k "$kver" 2>/dev/null)" "installed"
ko=$(ls /lib/modules/"$kver"/updates/dkms/vmmig.ko* 2>/dev/null | head -1)
# (compressed as the kernel's own modules are: vmmig.ko.xz on 6.12)
expect_eq "in updates/dkms" "${ko%.ko*}.ko" "/lib/modules/$kver/updates/dkms/vmmig.ko"

# 3. A test VM on that root: the module from DKMS, the programs from the package.
expect_rc 0 "in a booted $kver: modprobe, vmmig host show, a VM started" -- \
	env VM_RUN_DIR="$REPO/build/vm-run/package.$$" "$REPO/selftests/vm-run" -k "$kver" \
	--no-module -t 300 -- bash -c '
		set -e
		echo "module $(modinfo -n vmmig)"
		/usr/bin/vmmig -j host show >/tmp/host.json
		echo "loaded $(cat /sys/module/vmmig/version)"
		echo "host $(jq -r .module_version /tmp/host.json)"
		export VMMIG_STATE_DIR=/tmp/state
		/usr/bin/vmmig vm create p --memory 4M --workload dirty=10 >/dev/null
		/usr/bin/vmmig vm start p
		echo "vm $(/usr/bin/vmmig -j vm show p | jq -r .state)"
		/usr/bin/vmmig vm stop p --force
		/usr/sbin/vmmigd --help >/dev/null 2>&1 && echo "vmmigd runs"'
expect_contains "modprobe finds DKMS's module" "$out" "module /lib/modules/$kver/updates/dkms/vmmig.ko"
expect_contains "the installed vmmig loaded it (by its family alias)" "$out" "loaded $version"
expect_contains "vmmig host show reports it" "$out" "host $version"
expect_contains "the VMM from /usr/libexec/vmmig ran a VM" "$out" "vm running"
expect_contains "vmmigd from /usr/sbin runs" "$out" "vmmigd runs"

# 4. Purge: nothing of either package remains.
logged "apt-get remove --purge vmmig vmmig-dkms" "$tmp/purge.log" \
	env DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y vmmig vmmig-dkms
left=
for f in $(files "$deb") $(files "$dkmsdeb") /usr/src/vmmig-"$version" /var/lib/dkms/vmmig \
	 /etc/vmmig /var/lib/vmmig /lib/modules/*/updates/dkms/vmmig.ko*; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
expect_eq "no file of theirs is left" "$left" ""
expect_eq "modules.dep no longer names vmmig" "$(grep -c vmmig "/lib/modules/$kver/modules.dep")" 0
# Anything else the packages made: files in the upper layers, other than
# dpkg's and apt's own records, logs and caches, depmod's indexes and the
# key DKMS makes on its first build to sign every module it builds.
made=$(cd "$tmp/ov" && find usr/u etc/u var/u \( -type f -o -type l \) |
	grep -v -E '^var/u/(lib/dpkg|lib/apt|log|cache)/|^usr/u/lib/modules/[^/]+/modules\.' |
	grep -v -E '^var/u/lib/dkms/mok\.(key|pub)$' || :)
expect_eq "nothing else left in the root" "$made" ""
finish
