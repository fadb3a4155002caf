/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Under systemd, each VMM in a transient scope unit of its own,
 * vmmig-vm-NAME-PID.scope (NAME escaped as systemd-escape does), made over
 * D-Bus (StartTransientUnit) with the VMM's pid, as machined does for
 * containers: the VMM then belongs to neither the CLI's login session nor
 * vmmigd.service, and lives on when either ends. Without systemd
 * (sd_booted()), nothing. $VMMIG_SYSTEMD=user puts the scopes under the
 * caller's `systemd --user` instead (selftests/vm_scope.sh).
 */
#ifndef VMMIG_VMSCOPE_H
#define VMMIG_VMSCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* true when systemd runs the host (or $VMMIG_SYSTEMD=user). */
bool vmscope_wanted(void);
/*
 * "vmmig-vm-NAME-PID.scope", NAME escaped: a VMM that starts while the one
 * before it still frees its memory (a stop and start, a move back) gets a
 * scope of its own rather than a clash with the old one's.
 */
void vmscope_unit(const char *vm, pid_t pid, char *buf, size_t len);
/* Moves @pid into a new scope for VM @vm; -errno with @why (VMMIG_ERRLEN). */
int vmscope_start(const char *vm, pid_t pid, char *why);

#endif
