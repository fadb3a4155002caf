/* SPDX-License-Identifier: GPL-2.0 */
/* `vmmig vm`: what its files share (vm.c, vm_console.c, vm_log.c, vm_save.c, vm_show.c). */
#ifndef VMMIG_CLI_VM_H
#define VMMIG_CLI_VM_H

#include <limits.h>
#include <stdbool.h>

#include "dctl.h"
#include "vmctl.h"
#include "vmmig.h"

/* Leaves room for a file name after a VM folder, within PATH_MAX. */
#define DIR_MAX (PATH_MAX / 2)

extern struct vmctl vmctl;	/* the state directory's VMs */

/* EXIT_OK, or EXIT_USAGE for a name no VM can have (said why). */
int check_name(const char *name);
/* Reports the last vmctl call's failure; EXIT_FAIL. */
int vmctl_failed(void);

/*
 * vm start, vm restore: asks vmmigd to start the VMM (@r: DCTL_VM_START or
 * DCTL_VM_RESTORE), which then supervises it. -1 when vmmigd does not (it
 * does not run, or serves another state directory): the CLI starts it.
 */
int vm_spawn_by_daemon(struct dctl_request *r);
/* After vmctl_start() or vmctl_restore(): its warning, if any; EXIT_OK. */
int vm_spawned(void);

/* The verbs of the other files: vm_show.c, vm_console.c, vm_save.c, vm_log.c. */
extern const struct cmd vm_list_cmd, vm_show_cmd, vm_console_cmd, vm_save_cmd,
	vm_restore_cmd, vm_log_cmd;

#endif
