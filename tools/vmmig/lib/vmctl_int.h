/* SPDX-License-Identifier: GPL-2.0 */
/* What vmctl.c and vmspawn.c share, inside the lifecycle library. */
#ifndef VMMIG_VMCTL_INT_H
#define VMMIG_VMCTL_INT_H

#include <limits.h>
#include <stdbool.h>

#include "vmctl.h"

/* Leaves room for a file name after a VM folder, within PATH_MAX. */
#define DIR_MAX		(PATH_MAX / 2)

/* Sets c->err from @fmt; returns @err. */
int vmctl_fail(struct vmctl *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* @file exists in the VM folder @dir. */
bool vmctl_exists(const char *dir, const char *file);
/* The folder of VM @name into @dir (DIR_MAX); -ENOENT when there is none. */
int vmctl_find(struct vmctl *c, const char *name, char *dir);
/* The state of the VM in @dir, with what went wrong in @why. */
enum vm_state vmctl_state_of(const char *dir, char *why);
/* A new VM folder for @d, its vm.json written, into @dir. */
int vmctl_write_new(struct vmctl *c, const struct vmdef *d, char *dir);
/* An absolute path for @file, which need not exist yet (to free); NULL and errno. */
char *vmctl_abs_path(const char *file);
/* Removes a VM folder and its runtime files. */
void vmctl_remove_dir(const char *dir);

#endif
