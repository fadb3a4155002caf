// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm list, show: the state of each VM, from its folder and, while its
 * VMM runs, from the VMM's status reply.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "features.h"
#include "output.h"
#include "vm.h"

static const char *fmt_uptime(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	return buf;
}

static const char *hex(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "0x%" PRIx64, v);
	return buf;
}

static void print_vm_line(const struct vmdef *d, const struct vm_status *st)
{
	char size[32], up[32];
	uint64_t uptime = st->vmm.uptime_ns;

	print_string(PRINT_ANY, "name", "%-16s", d->name);
	print_string(PRINT_ANY, "state", " %-9s", vm_state_names[st->state]);
	print_uint(PRINT_JSON, "memory", NULL, d->memory);
	print_string(PRINT_FP, NULL, " %10s", fmt_size(d->memory, size, sizeof(size)));
	print_uint(PRINT_ANY, "vcpus", " %5" PRIu64, d->vcpus);
	print_uint(PRINT_JSON, "uptime_ns", NULL, uptime);
	print_string(PRINT_FP, NULL, " %8s", st->has_vmm ? fmt_uptime(uptime, up, sizeof(up)) : "-");
	print_nl();
}

static int list_one(struct vmctl *c, const char *name, void *arg)
{
	struct vm_status *st = arg;
	struct vmdef d;

	if (vmctl_load(c, name, &d)) {
		/* A VM that cannot be read is said so, not hidden. */
		error_msg(what, "%s: not listed: %s", name, c->err);
		return 0;
	}
	vmctl_status(c, name, st);
	print_vm_line(&d, st);
	output_flush();
	vmdef_free(&d);
	return 0;
}

static int vm_list(int argc, char **argv)
{
	struct vm_status *st;
	int err;

	if (cmd_no_options(argc, argv, ""))
		return EXIT_USAGE;
	st = malloc(sizeof(*st));
	if (!st)
		return error_msg(what, "out of memory"), EXIT_FAIL;
	print_text("%-16s %-9s %10s %5s %8s\n", "NAME", "STATE", "MEMORY", "VCPUS", "UPTIME");
	output_list_begin();
	err = vmctl_list(&vmctl, list_one, st);
	output_list_end();
	free(st);
	return err ? vmctl_failed() : EXIT_OK;
}

const struct cmd vm_list_cmd = {
	.name = "list",
	.fn = vm_list,
	.args = "",
	.help = "every VM: state (off, running, paused, saved, crashed), memory,\n"
		"vCPUs, uptime; with -j one JSON array (also plain 'vmmig vm')\n",
};

static void print_workload(const struct vmdef *d, const struct vm_status *st)
{
	char cs[24];

	open_object("workload");
	print_uint(PRINT_ANY, "rate", "workload dirty=%" PRIu64, d->wl.rate);
	print_uint(PRINT_ANY, "wss", ",wss=%" PRIu64, d->wl.wss);
	print_string(PRINT_ANY, "pattern", ",pattern=%s", d->wl.pattern ? "random" : "seq");
	print_bool(PRINT_JSON, "fill", NULL, d->wl.fill);
	if (d->wl.fill)
		print_text(",fill=on");
	if (st->has_vmm && st->vmm.has_workload) {
		print_uint(PRINT_ANY, "counter", " counter %" PRIu64, st->vmm.wl.counter);
		print_string(PRINT_ANY, "checksum", " checksum %s",
			     hex(st->vmm.wl.checksum, cs, sizeof(cs)));
		print_uint(PRINT_ANY, "ticks", " ticks %" PRIu64, st->vmm.wl.ticks);
		print_uint(PRINT_ANY, "gap_max_us", " longest gap %" PRIu64 " us",
			   st->vmm.wl.gap_max_us);
	}
	close_object();
	print_nl();
}

static void print_paused(const struct ctl_status *vmm)
{
	char buf[24];
	int r;

	print_string(PRINT_ANY, "memory_hash", "memory-hash %s",
		     hex(vmm->memory_hash, buf, sizeof(buf)));
	print_nl();
	if (!vmm->nvcpus)
		return;
	/* All of vCPU 0's registers in JSON, the three that tell most in text. */
	open_object("vcpu0");
	for (r = 0; r < CTL_NREGS; r++)
		print_string(PRINT_JSON, ctl_reg_names[r], NULL, hex(vmm->regs[0][r], buf, sizeof(buf)));
	close_object();
	print_string(PRINT_FP, NULL, "vcpu0 rip %s", hex(vmm->regs[0][CTL_REG_RIP], buf, sizeof(buf)));
	print_string(PRINT_FP, NULL, " rsp %s", hex(vmm->regs[0][CTL_REG_RSP], buf, sizeof(buf)));
	print_string(PRINT_FP, NULL, " rflags %s\n", hex(vmm->regs[0][CTL_REG_RFLAGS], buf, sizeof(buf)));
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

/* What the VM sees: its mode, and the features of its definition's CPUID. */
static void print_processor(const struct vmdef *d)
{
	struct cpu_features f;
	char buf[32];
	int k, b;

	features_from_cpuid(&f, d->cpuid, d->ncpuid);
	open_object("processor");
	print_string(PRINT_ANY, "mode", "processor-compat %s",
		     vmdef_compat_names[d->processor_compat]);
	print_string(PRINT_ANY, "vendor", " vendor %s\n", f.vendor[0] ? f.vendor : "unknown");
	print_text("features");
	open_array("features");
	for (k = 0; k < VMMIG_NR_WORDS; k++)
		for (b = 0; b < 32; b++) {
			if (!(f.w[k] & 1u << b))
				continue;
			print_string(PRINT_ANY, NULL, " %s", features_bit_name(k, b, buf, sizeof(buf)));
		}
	close_array();
	print_nl();
	open_object("words");
	for (k = 0; k < VMMIG_NR_WORDS; k++) {
		snprintf(buf, sizeof(buf), "0x%08x", f.w[k]);
		print_string(PRINT_JSON, vmmig_word_name(k), NULL, buf);
	}
	close_object();
	close_object();
}

static void print_show(const struct vmdef *d, const struct vm_status *st)
{
	char uuid[VMDEF_UUID_STRLEN];

	print_vm_line(d, st);
	print_string(PRINT_ANY, "uuid", "uuid %s\n", vmdef_uuid_str(d->uuid, uuid));
	print_bool(PRINT_JSON, "autostart", NULL, d->autostart);
	print_text("autostart %s\n", d->autostart ? "on" : "off");
	if (st->state == VM_CRASHED || st->state == VM_SAVED)
		print_string(PRINT_ANY, st->state == VM_SAVED ? "saved_to" : "reason",
			     st->state == VM_SAVED ? "saved to %s\n" : "reason: %s\n", st->why);
	print_processor(d);
	if (st->has_vmm) {
		print_uint(PRINT_ANY, "start_us", "started in %" PRIu64 " us",
			   st->vmm.start_ns / 1000);
		print_uint(PRINT_ANY, "first_insn_us", ", first guest instruction at %" PRIu64 " us",
			   st->vmm.first_insn_ns / 1000);
		print_nl();
		print_bool(PRINT_ANY, "console_attached", "console client attached: %s\n",
			   st->vmm.console_attached);
		print_bool(PRINT_ANY, "registered", "registered with vmmig.ko: %s\n",
			   st->vmm.registered);
		print_uint(PRINT_ANY, "data_pages", "memory in use %" PRIu64 " pages\n",
			   st->vmm.data_pages);
	}
	if (d->workload)
		print_workload(d, st);
	else
		print_string(PRINT_ANY, "kernel", "kernel %s\n", d->kernel);
	print_devices(d);
	if (st->state == VM_PAUSED && st->has_vmm && st->vmm.has_memory_hash)
		print_paused(&st->vmm);
}

static int verify(const char *name)
{
	struct ctl_verify_result res;

	if (vmctl_verify(&vmctl, name, &res)) {
		error_msg(what, "verify: %s", vmctl.err);
		return EXIT_FAIL;
	}
	print_bool(PRINT_ANY, "verified", "checksum verified by the guest: %s\n", res.verified);
	if (!res.verified)
		error_msg(what, "%s: the guest's checksum does not match its memory", name);
	return res.verified ? EXIT_OK : EXIT_FAIL;
}

static int vm_show(int argc, char **argv)
{
	static const struct option lo[] = { { "verify", no_argument, NULL, 'v' }, {} };
	bool want_verify = false;
	struct vm_status *st;
	struct vmdef d;
	int c, rc = EXIT_OK;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		want_verify = true;
	}
	if (cmd_args(argc, argv, "NAME"))
		return EXIT_USAGE;
	argv += optind - 1;
	if (check_name(argv[1]))
		return EXIT_USAGE;
	if (vmctl_load(&vmctl, argv[1], &d))
		return vmctl_failed();
	st = malloc(sizeof(*st));
	if (!st || vmctl_status(&vmctl, argv[1], st)) {
		vmdef_free(&d);
		free(st);
		return st ? vmctl_failed() : (error_msg(what, "out of memory"), EXIT_FAIL);
	}
	print_show(&d, st);
	if (want_verify)
		rc = st->state == VM_RUNNING && d.workload ? verify(d.name) :
		     (error_msg(what, "%s: --verify needs a running workload VM", d.name), EXIT_FAIL);
	output_flush();
	free(st);
	vmdef_free(&d);
	return rc;
}

const struct cmd vm_show_cmd = {
	.name = "show",
	.fn = vm_show,
	.args = "NAME [ --verify ]",
	.help = "one VM: its UUID, its processor compatibility mode and the CPU\n"
		"features it sees (those of its last start), whether vmmig.ko\n"
		"has it registered (while it runs), a workload guest's progress\n"
		"counter, checksum and longest gap (after a move: the downtime it\n"
		"saw); when paused, the memory hash and vCPU 0 registers;\n"
		"--verify has the guest recheck its checksum against its memory\n",
};
