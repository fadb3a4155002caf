// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory in transparent huge pages: a file in a tmpfs of the VMM's
 * own (kvm.c's vm_memory() takes a memfd where it cannot be had).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#include "vmm.h"

/* The setting in brackets of a THP sysfs file is not @no (nor unknown). */
static bool thp_setting_not(const char *file, const char *no)
{
	char path[128], *text = NULL;
	bool ok;

	snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", file);
	if (read_file(path, &text))
		return false;
	ok = text[0] && !strstr(text, no);
	free(text);
	return ok;
}

/*
 * The host's THP policy allows huge pages where asked for: "never" does
 * not, nor does shmem's "deny", which overrides a tmpfs's own huge=.
 */
static bool thp_allowed(void)
{
	return thp_setting_not("enabled", "[never]") &&
	       thp_setting_not("shmem_enabled", "[deny]");
}

/*
 * Guest memory in transparent huge pages, as QEMU's anonymous memory with
 * MADV_HUGEPAGE is, so KVM maps the guest 2 MiB at a time rather than
 * taking a nested page fault per 4 KiB page as a guest touches its memory
 * (the first ~40 ms after a move's resume went there). A memfd follows the
 * host's shmem_enabled, "never" on Debian; a tmpfs takes its own huge=. So:
 * a file in a tmpfs of the VMM's own (huge=within_size, sized to the guest),
 * mounted nowhere (fsmount(2) without move_mount(2)), unlinked at once.
 * Returns the file, or -errno where it cannot be had (no CAP_SYS_ADMIN, no
 * THP in the kernel, THP turned off by the host's admin): the caller takes
 * a memfd then.
 */
int thp_memory_file(const char *name, uint64_t size)
{
	int fs, mnt = -1, fd = -1, err = 0;
	char sz[32];

	if (!thp_allowed())
		return -EOPNOTSUPP;
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)((size + (2 << 20) - 1) & ~((2ULL << 20) - 1)));
	if (fsconfig(fs, FSCONFIG_SET_STRING, "huge", "within_size", 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		err = -errno;
	if (!err) {
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
			      MOUNT_ATTR_NOSUID);
		if (mnt < 0)
			err = -errno;
	}
	if (!err) {
		fd = openat(mnt, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			err = -errno;
		else
			unlinkat(mnt, name, 0);
	}
	if (mnt >= 0)
		close(mnt);
	close(fs);
	return err ? err : fd;
}
