// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm list, show: the state of each VM, from its folder and, while its
 * VMM runs, from the VMM's status reply.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "output.h"
#include "vm.h"

static void print_vm_line(const struct vmdef *d, const struct vm_status *st)
{
	char size[32], up[32];
	uint64_t uptime = reply_u64(st->reply, NULL, "uptime_ns");

	print_string(PRINT_ANY, "name", "%-16s", d->name);
	print_string(PRINT_ANY, "state", " %-9s", state_names[st->state]);
	print_uint(PRINT_JSON, "memory", NULL, d->memory);
	print_string(PRINT_FP, NULL, " %10s", fmt_size(d->memory, size, sizeof(size)));
	print_uint(PRINT_ANY, "vcpus", " %5" PRIu64, d->vcpus);
	print_uint(PRINT_JSON, "uptime_ns", NULL, uptime);
	print_string(PRINT_FP, NULL, " %8s", st->reply ? fmt_uptime(uptime, up, sizeof(up)) : "-");
	print_nl();
}

int vm_list(int argc, char **argv)
{
	struct dirent **ents;
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int i, n;

	if (argc != 1)
		return object_help("vm", true);
	n = scandir(state_dir, &ents, NULL, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			n = 0, ents = NULL;
		else {
			error_msg(what, "%s: %s", state_dir, strerror(errno));
			return EXIT_FAIL;
		}
	}
	print_text("%-16s %-9s %10s %5s %8s\n", "NAME", "STATE", "MEMORY", "VCPUS", "UPTIME");
	output_list_begin();
	for (i = 0; i < n; i++) {
		struct vmdef d;
		struct vm_status st;

		snprintf(dir, sizeof(dir), "%s/%s", state_dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && exists(dir, "vm.json") &&
		    !vmdef_load(&d, dir, why)) {
			get_status(dir, &st);
			print_vm_line(&d, &st);
			output_flush();
			json_object_put(st.reply);
			vmdef_free(&d);
		}
		free(ents[i]);
	}
	free(ents);
	output_list_end();
	return EXIT_OK;
}

static void print_workload(const struct vmdef *d, const struct vm_status *st)
{
	const char *cs = reply_str(st->reply, "workload", "checksum");

	open_object("workload");
	print_uint(PRINT_ANY, "rate", "workload dirty=%" PRIu64, d->wl.rate);
	print_uint(PRINT_ANY, "wss", ",wss=%" PRIu64, d->wl.wss);
	print_string(PRINT_ANY, "pattern", ",pattern=%s", d->wl.pattern ? "random" : "seq");
	if (st->reply) {
		print_uint(PRINT_ANY, "counter", " counter %" PRIu64,
			   reply_u64(st->reply, "workload", "counter"));
		print_string(PRINT_ANY, "checksum", " checksum %s", cs);
		print_uint(PRINT_ANY, "ticks", " ticks %" PRIu64,
			   reply_u64(st->reply, "workload", "ticks"));
	}
	close_object();
	print_nl();
}

static void print_paused(struct json_object *reply)
{
	struct json_object *regs, *v;

	print_string(PRINT_ANY, "memory_hash", "memory-hash %s",
		     reply_str(reply, NULL, "memory_hash"));
	print_nl();
	if (output_is_json() && json_object_object_get_ex(reply, "registers", &regs)) {
		/* The vCPU registers go to JSON as the VMM gave them. */
		open_object("vcpu0");
		json_object_object_foreach(json_object_array_get_idx(regs, 0), k, val)
			print_string(PRINT_JSON, k, NULL, json_object_get_string(val));
		close_object();
	} else if (json_object_object_get_ex(reply, "registers", &regs) &&
		   (v = json_object_array_get_idx(regs, 0))) {
		print_text("vcpu0 rip %s rsp %s rflags %s\n", reply_str(v, NULL, "rip"),
			   reply_str(v, NULL, "rsp"), reply_str(v, NULL, "rflags"));
	}
}

static void print_devices(const struct vmdef *d)
{
	int i;

	open_array("disks");
	for (i = 0; i < d->ndisks; i++) {
		open_object(NULL);
		print_string(PRINT_ANY, "path", "disk %s", d->disks[i].path);
		print_bool(PRINT_JSON, "readonly", NULL, d->disks[i].readonly);
		if (d->disks[i].readonly)
			print_text(" readonly");
		close_object();
		print_nl();
	}
	close_array();
	open_array("nics");
	for (i = 0; i < d->nnics; i++) {
		open_object(NULL);
		print_string(PRINT_ANY, "tap", "nic tap %s", d->nics[i].tap);
		print_string(PRINT_ANY, "mac", " mac %s", d->nics[i].mac ? d->nics[i].mac : "auto");
		close_object();
		print_nl();
	}
	close_array();
}

static void print_show(const struct vmdef *d, const struct vm_status *st)
{
	print_vm_line(d, st);
	if (st->state == VM_CRASHED || st->state == VM_SAVED)
		print_string(PRINT_ANY, st->state == VM_SAVED ? "saved_to" : "reason",
			     st->state == VM_SAVED ? "saved to %s\n" : "reason: %s\n", st->why);
	if (st->reply) {
		print_uint(PRINT_ANY, "start_us", "started in %" PRIu64 " us",
			   reply_u64(st->reply, NULL, "start_ns") / 1000);
		print_uint(PRINT_ANY, "first_insn_us", ", first guest instruction at %" PRIu64 " us",
			   reply_u64(st->reply, NULL, "first_insn_ns") / 1000);
		print_nl();
		print_bool(PRINT_ANY, "console_attached", "console client attached: %s\n",
			   reply_u64(st->reply, NULL, "console_attached"));
	}
	if (d->workload)
		print_workload(d, st);
	else
		print_string(PRINT_ANY, "kernel", "kernel %s\n", d->kernel);
	print_devices(d);
	if (st->state == VM_PAUSED && st->reply)
		print_paused(st->reply);
}

static int verify(const char *dir, const char *name)
{
	struct json_object *rep = NULL, *v;
	char why[VMMIG_ERRLEN];
	bool ok;

	if (ctl_simple(dir, "verify", &rep, 120000, why)) {
		error_msg(what, "%s: verify: %s", name, why);
		return EXIT_FAIL;
	}
	ok = json_object_object_get_ex(rep, "verified", &v) && json_object_get_boolean(v);
	print_bool(PRINT_ANY, "verified", "checksum verified by the guest: %s\n", ok);
	json_object_put(rep);
	if (!ok)
		error_msg(what, "%s: the guest's checksum does not match its memory", name);
	return ok ? EXIT_OK : EXIT_FAIL;
}

int vm_show(int argc, char **argv)
{
	bool want_verify = argc == 3 && !strcmp(argv[2], "--verify");
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	struct vm_status st;
	struct vmdef d;
	int rc = EXIT_OK;

	if (argc < 2 || argc > 3 || (argc == 3 && !want_verify))
		return object_help("vm", true);
	rc = find_vm(argv[1], dir, sizeof(dir));
	if (rc)
		return rc;
	if (vmdef_load(&d, dir, why)) {
		error_msg(what, "%s", why);
		return EXIT_FAIL;
	}
	get_status(dir, &st);
	print_show(&d, &st);
	if (want_verify)
		rc = st.state == VM_RUNNING && d.workload ? verify(dir, d.name) :
		     (error_msg(what, "%s: --verify needs a running workload VM", d.name), EXIT_FAIL);
	output_flush();
	json_object_put(st.reply);
	vmdef_free(&d);
	return rc;
}
