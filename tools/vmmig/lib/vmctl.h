/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM lifecycle: the VMs of a state directory, each a folder
 * STATE_DIR/NAME with its definition (vm.json, vmdef.h), and while it runs a
 * VMM process reached through the control protocol (ctl_proto.h). The CLI
 * and the daemon both manage VMs through these calls.
 *
 * Every call returns 0 or -errno, with the reason in c->err (naming the VM
 * where that helps); none exits or prints. The state lives in the folders:
 * several processes may manage the same VMs. A VMM that start or restore
 * spawns is the caller's child: a caller that outlives it reaps it.
 */
#ifndef VMMIG_VMCTL_H
#define VMMIG_VMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl_proto.h"
#include "vmdef.h"

struct vmctl {
	const char *state_dir;	/* the folder of VM folders */
	/* CLOCK_MONOTONIC ns when the caller's request began: start timing. */
	uint64_t t0_ns;
	char err[VMMIG_ERRLEN];	/* why the last call failed */
	/* After a start or restore: the VMM it spawned, and what to warn of, or "". */
	pid_t vmm_pid;
	char warn[VMMIG_ERRLEN];
};

enum vm_state {
	VM_OFF,
	VM_RUNNING,
	VM_PAUSED,
	VM_SAVED,	/* stopped by a save: start restores it */
	VM_CRASHED,	/* the guest or its VMM died: stop makes it off */
	VM_STARTING,	/* a VMM runs but does not answer yet */
	VM_NSTATES
};
extern const char *const vm_state_names[VM_NSTATES];

struct vm_status {
	enum vm_state state;
	bool has_vmm;		/* a VMM answered: @vmm is its status */
	struct ctl_status vmm;
	char why[VMMIG_ERRLEN];	/* saved: the state file; crashed: why */
};

/* Live: a VMM runs the VM. */
bool vm_state_live(enum vm_state s);

/* $VMMIG_STATE_DIR or the default, unless @state_dir is set. */
void vmctl_init(struct vmctl *c, const char *state_dir);
/* STATE_DIR/NAME into @buf; -EINVAL for a name that is not valid. */
int vmctl_dir(struct vmctl *c, const char *name, char *buf, size_t len);
/* The definition of a VM; -ENOENT if there is no such VM. */
int vmctl_load(struct vmctl *c, const char *name, struct vmdef *d);
/* Calls @fn for each VM folder, in name order; @fn's non-zero return ends it. */
int vmctl_list(struct vmctl *c, int (*fn)(struct vmctl *c, const char *name, void *arg),
	       void *arg);

/* A new VM, off, from a checked definition; it gets a UUID if it has none. */
int vmctl_create(struct vmctl *c, struct vmdef *d);
/* Off or crashed: boots it; saved: restores its saved state. */
int vmctl_start(struct vmctl *c, const char *name, bool paused);
/* Asks the guest to power off and waits for it; @force ends the VMM. */
int vmctl_stop(struct vmctl *c, const char *name, bool force);
/*
 * Starts the VMM of an incoming migration on its streams (vmmig-vmm
 * --incoming) and waits until it has read them all: the VM is then
 * paused, held until CTL_REQ_INCOMING_END.
 */
int vmctl_start_incoming(struct vmctl *c, const char *name, const int *fds, unsigned int nfds);
int vmctl_pause(struct vmctl *c, const char *name);
int vmctl_resume(struct vmctl *c, const char *name);
/*
 * Saves the VM to @path, plain or live (with the options @lo, or NULL); the
 * VM is then saved (its VMM ends).
 */
int vmctl_save(struct vmctl *c, const char *name, const char *path, bool live, bool hash,
	       const struct ctl_live_opts *lo, struct ctl_save_result *res);
/*
 * Starts the VM saved in @path: into its definition if the state directory
 * has it (the same UUID), else a new definition from the file, named @name
 * if given. A restore under another name is the same VM, with the same
 * UUID: it is refused while another definition here has that UUID.
 * @restored (VMDEF_NAME_MAX + 1 bytes, or NULL) receives the VM's name.
 */
int vmctl_restore(struct vmctl *c, const char *path, const char *name, bool paused,
		  char *restored);
/* The state of a VM and, while its VMM runs, the VMM's status. */
int vmctl_status(struct vmctl *c, const char *name, struct vm_status *st);
/* The pages the running VM's memory file holds (its status' data_pages); 0: unknown. */
uint64_t vmctl_data_pages(struct vmctl *c, const char *name);
/* Waits until no VMM runs the VM; -ETIMEDOUT after @timeout_ms. */
int vmctl_wait(struct vmctl *c, const char *name, int timeout_ms);
/*
 * Changes settings of a VM's definition: @kv holds @n KEY VALUE pairs
 * (vmdef_setting()). -EINVAL for an unknown key or a bad value; -EBUSY for a
 * setting that needs the VM off while it runs or has a saved state. Nothing
 * changes unless all of them do.
 */
int vmctl_set(struct vmctl *c, const char *name, char *const *kv, int n);
/* Removes a VM that is not live, and its folder. */
int vmctl_delete(struct vmctl *c, const char *name);

/* A workload guest rechecks its checksum. */
int vmctl_verify(struct vmctl *c, const char *name, struct ctl_verify_result *res);
/* Attaches to the console: returns the connection, which then carries it. */
int vmctl_console(struct vmctl *c, const char *name, bool force);
/* The pid of the VMM of a running VM. */
int vmctl_vmm_pid(struct vmctl *c, const char *name, pid_t *pid);

#endif
