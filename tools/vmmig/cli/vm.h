/* SPDX-License-Identifier: GPL-2.0 */
/* `vmmig vm`: what its files share (vm.c, vm_console.c, vm_save.c, vm_show.c). */
#ifndef VMMIG_CLI_VM_H
#define VMMIG_CLI_VM_H

#include <limits.h>
#include <stdbool.h>

#include "vmctl.h"
#include "vmmig.h"

/* Leaves room for a file name after a VM folder, within PATH_MAX. */
#define DIR_MAX (PATH_MAX / 2)

extern struct vmctl vmctl;	/* the state directory's VMs */
extern char what[64];		/* "vm create", ... for error messages */

/* EXIT_OK, or EXIT_USAGE for a name no VM can have (said why). */
int check_name(const char *name);
/* Reports the last vmctl call's failure; EXIT_FAIL. */
int vmctl_failed(void);

/* vm_show.c */
int vm_list(int argc, char **argv);
int vm_show(int argc, char **argv);

/* vm_console.c */
int vm_console(int argc, char **argv);

/* vm_save.c */
int vm_save(int argc, char **argv);
int vm_restore(int argc, char **argv);

#endif
