/* SPDX-License-Identifier: GPL-2.0 */
/* `vmmig vm`: what its files share (vm.c, vm_console.c, vm_save.c, vm_show.c). */
#ifndef VMMIG_CLI_VM_H
#define VMMIG_CLI_VM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "vmdef.h"
#include "vmmig.h"

enum vm_state { VM_OFF, VM_RUNNING, VM_PAUSED, VM_SAVED, VM_MIGRATING, VM_CRASHED,
		VM_STARTING };

extern const char *const state_names[];

struct vm_status {
	enum vm_state state;
	struct json_object *reply;	/* the VMM's status, when it runs */
	char why[VMMIG_ERRLEN];		/* crashed: why */
};

/* Leaves room for a file name after a VM folder, within PATH_MAX. */
#define DIR_MAX (PATH_MAX / 2)


extern const char *state_dir;
extern char what[64];		/* "vm create", ... for error messages */

int vm_dir(const char *name, char *buf, size_t len);
bool exists(const char *dir, const char *file);
int vmm_alive(const char *dir, pid_t *pid);
enum vm_state state_of(const char *dir, char *why, size_t len);
bool is_live(enum vm_state s);
uint64_t reply_u64(struct json_object *o, const char *path1, const char *key);
const char *reply_str(struct json_object *o, const char *path1, const char *key);
void remove_vm_dir(const char *dir);
int write_new_vm(const struct vmdef *d, char *dir, size_t len);
int spawn_vmm(const char *dir, const char *restore, bool paused);
int wait_gone(const char *dir, int ms);
int find_vm(const char *name, char *dir, size_t len);
void get_status(const char *dir, struct vm_status *st);
const char *fmt_uptime(uint64_t ns, char *buf, size_t len);

/* vm_show.c */
int vm_list(int argc, char **argv);
int vm_show(int argc, char **argv);

/* vm_console.c */
int vm_console(int argc, char **argv);

/* vm_save.c */
int vm_save(int argc, char **argv);
int vm_restore(int argc, char **argv);

#endif
