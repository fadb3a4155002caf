// SPDX-License-Identifier: GPL-2.0
/*
 * The control protocol's messages (ctl_proto.h): each one described by a
 * table of fields, from which one encoder and one decoder build and read
 * them, so that the VMM and its clients cannot disagree on a name or a type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "jfield.h"

const char *const ctl_state_names[CTL_NSTATES] = { "running", "paused" };
const char *const ctl_mig_names[CTL_NMIGS] = { "none", "outgoing", "incoming", "storage" };

const char *const ctl_reg_names[CTL_NREGS] = {
	"rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"cr0", "cr3", "cr4", "efer",
};

static const struct jfield save_args[] = {
	JFIELD(struct ctl_request, CTL_ARG_PATH, JF_STR, path),
	JFIELD(struct ctl_request, CTL_ARG_LIVE, JF_BOOL, live),
	JFIELD(struct ctl_request, CTL_ARG_HASH, JF_BOOL, hash),
	JOPTIONAL(struct ctl_request, CTL_ARG_DOWNTIME_LIMIT, JF_U32, lo.downtime_limit_ms,
		  lo.has_downtime_limit),
	JOPTIONAL(struct ctl_request, CTL_ARG_TIMEOUT, JF_U32, lo.timeout_s, lo.has_timeout),
	JOPTENUM(struct ctl_request, CTL_ARG_ON_TIMEOUT, lo.on_timeout, mig_on_timeout_names,
		 MIG_NTIMEOUT, lo.has_on_timeout),
};

/*
 * status: "disk_hash" (true) also hashes the disks of a paused VM (an
 * incoming move's, --verify); sent only then, so that the VMMs started
 * before it answer every other status as ever.
 */
static const struct jfield status_args[] = {
	JOPTIONAL(struct ctl_request, CTL_ARG_DISK_HASH, JF_BOOL, disk_hash, has_disk_hash),
};

static const struct jfield console_args[] = {
	JFIELD(struct ctl_request, CTL_ARG_FORCE, JF_BOOL, force),
};

/* And CTL_ARG_MIGRATION, an object of its own (mig.c). */
static const struct jfield migrate_args[] = {
	JFIELD(struct ctl_request, CTL_ARG_STREAMS, JF_U32, streams),
};

static const struct jfield incoming_end_args[] = {
	JFIELD(struct ctl_request, CTL_ARG_COMMIT, JF_BOOL, commit),
};

static const struct {
	const char *name;
	const struct jfield *args;
	size_t nargs;
} requests[CTL_NREQS] = {
	[CTL_REQ_STATUS] = { "status", JFIELDS(status_args) },
	[CTL_REQ_PAUSE] = { "pause" },
	[CTL_REQ_RESUME] = { "resume" },
	[CTL_REQ_STOP] = { "stop" },
	[CTL_REQ_QUIT] = { "quit" },
	[CTL_REQ_SAVE] = { "save", JFIELDS(save_args) },
	[CTL_REQ_VERIFY] = { "verify" },
	[CTL_REQ_CONSOLE] = { "console", JFIELDS(console_args) },
	[CTL_REQ_MIGRATE] = { "migrate", JFIELDS(migrate_args) },
	[CTL_REQ_INCOMING_END] = { "incoming-end", JFIELDS(incoming_end_args) },
	[CTL_REQ_STORAGE_MOVE] = { "storage-move" },
};

static const struct jfield status_results[] = {
	JFIELD(struct ctl_status, CTL_RES_NAME, JF_STR, name),
	JFIELD(struct ctl_status, CTL_RES_UUID, JF_UUID, uuid),
	JENUM(struct ctl_status, CTL_RES_STATE, state, ctl_state_names, CTL_NSTATES),
	JFIELD(struct ctl_status, CTL_RES_PID, JF_U32, pid),
	JFIELD(struct ctl_status, CTL_RES_UPTIME_NS, JF_U64, uptime_ns),
	JFIELD(struct ctl_status, CTL_RES_DATA_PAGES, JF_U64, data_pages),
	JFIELD(struct ctl_status, CTL_RES_START_NS, JF_U64, start_ns),
	/* Zero after a restore: the guest did not start from its first instruction. */
	JFIELD(struct ctl_status, CTL_RES_FIRST_INSN_NS, JF_U64, first_insn_ns),
	JFIELD(struct ctl_status, CTL_RES_CONSOLE, JF_BOOL, console_attached),
	JFIELD(struct ctl_status, CTL_RES_REGISTERED, JF_BOOL, registered),
	JENUM(struct ctl_status, CTL_RES_MIGRATION, migration, ctl_mig_names, CTL_NMIGS),
	JOPTIONAL(struct ctl_status, CTL_RES_MEMORY_HASH, JF_HEX, memory_hash, has_memory_hash),
	JOPTIONAL(struct ctl_status, CTL_RES_DISK_HASH, JF_HEX, disk_hash, has_disk_hash),
};

static const struct jfield workload_results[] = {
	JFIELD(struct ctl_workload, CTL_RES_COUNTER, JF_U64, counter),
	JFIELD(struct ctl_workload, CTL_RES_CHECKSUM, JF_HEX, checksum),
	JFIELD(struct ctl_workload, CTL_RES_TICKS, JF_U64, ticks),
	JFIELD(struct ctl_workload, CTL_RES_RATE, JF_U64, rate),
	JFIELD(struct ctl_workload, CTL_RES_WSS_PAGES, JF_U64, wss_pages),
	JFIELD(struct ctl_workload, CTL_RES_GAP_MAX_US, JF_U64, gap_max_us),
	JFIELD(struct ctl_workload, CTL_RES_GAP_AT, JF_U64, gap_at),
};

static const struct jfield save_results[] = {
	JFIELD(struct ctl_save_result, CTL_RES_SAVE_NS, JF_U64, save_ns),
	JOPTIONAL(struct ctl_save_result, CTL_RES_ROUNDS, JF_U64, rounds, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_RESENT_PAGES, JF_U64, resent_pages, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_FINAL_PAGES, JF_U64, final_pages, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_DOWNTIME_NS, JF_U64, downtime_ns, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_THROTTLE_PCT, JF_U32, throttle_pct, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_EXP_DOWNTIME_MS, JF_U64_OR_NULL,
		  expected_downtime_ms, live),
	JOPTIONAL(struct ctl_save_result, CTL_RES_MEMORY_HASH, JF_HEX, memory_hash, has_memory_hash),
	JOPTIONAL(struct ctl_save_result, CTL_RES_DISK_HASH, JF_HEX, disk_hash, has_disk_hash),
};

static const struct jfield verify_results[] = {
	JFIELD(struct ctl_verify_result, CTL_RES_VERIFIED, JF_BOOL, verified),
	JFIELD(struct ctl_verify_result, CTL_RES_CHECKSUM, JF_HEX, checksum),
};

void ctl_live_opts_apply(const struct ctl_live_opts *lo, struct mig_opts *o)
{
	mig_opts_default(o);
	if (lo->has_downtime_limit)
		o->downtime_limit_ms = lo->downtime_limit_ms;
	if (lo->has_timeout)
		o->timeout_s = lo->timeout_s;
	if (lo->has_on_timeout)
		o->on_timeout = lo->on_timeout;
}

const char *ctl_req_name(enum ctl_req cmd)
{
	return cmd < CTL_NREQS ? requests[cmd].name : "unknown";
}

struct json_object *ctl_request_to_json(const struct ctl_request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_KEY_CMD, json_object_new_string(requests[r->cmd].name));
	json_object_object_add(o, CTL_KEY_VERSION, json_object_new_int(CTL_PROTO_VERSION));
	jfield_encode(o, requests[r->cmd].args, requests[r->cmd].nargs, r);
	if (r->cmd == CTL_REQ_MIGRATE)
		json_object_object_add(o, CTL_ARG_MIGRATION, mig_opts_to_json(&r->mig));
	if (r->cmd == CTL_REQ_STORAGE_MOVE) {
		struct json_object *a = json_object_new_array();
		unsigned int i;

		for (i = 0; i < r->ndisks; i++)
			json_object_array_add(a, json_object_new_string(r->disks[i]));
		json_object_object_add(o, CTL_ARG_DISKS, a);
	}
	return o;
}

static bool known_arg(enum ctl_req cmd, const char *key)
{
	size_t i;

	if (!strcmp(key, CTL_KEY_CMD) || !strcmp(key, CTL_KEY_VERSION))
		return true;
	if (cmd == CTL_REQ_MIGRATE && !strcmp(key, CTL_ARG_MIGRATION))
		return true;
	if (cmd == CTL_REQ_STORAGE_MOVE && !strcmp(key, CTL_ARG_DISKS))
		return true;
	for (i = 0; i < requests[cmd].nargs; i++)
		if (!strcmp(key, requests[cmd].args[i].key))
			return true;
	return false;
}

int ctl_request_from_json(struct json_object *o, struct ctl_request *r, char *why)
{
	struct json_object *v;
	const char *cmd;
	int64_t version;
	int i;

	memset(r, 0, sizeof(*r));
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(why, VMMIG_ERRLEN, "a request must be a JSON object on one line");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, CTL_KEY_VERSION, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(why, VMMIG_ERRLEN,
			 "the request has no control protocol version (this VMM speaks %d-%d)",
			 CTL_PROTO_MIN_VERSION, CTL_PROTO_VERSION);
		return -EPROTONOSUPPORT;
	}
	version = json_object_get_int64(v);
	if (version < CTL_PROTO_MIN_VERSION || version > CTL_PROTO_VERSION) {
		snprintf(why, VMMIG_ERRLEN,
			 "control protocol version %" PRId64 " is not one this VMM speaks (%d-%d): restart the VM with this vmmig",
			 version, CTL_PROTO_MIN_VERSION, CTL_PROTO_VERSION);
		return -EPROTONOSUPPORT;
	}
	r->version = version;
	if (!json_object_object_get_ex(o, CTL_KEY_CMD, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(why, VMMIG_ERRLEN, "the request has no \"%s\"", CTL_KEY_CMD);
		return -EINVAL;
	}
	cmd = json_object_get_string(v);
	for (i = 0; i < CTL_NREQS && strcmp(cmd, requests[i].name); i++)
		;
	if (i == CTL_NREQS) {
		snprintf(why, VMMIG_ERRLEN, "unknown request '%s'", cmd);
		return -EINVAL;
	}
	r->cmd = i;
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!known_arg(r->cmd, key)) {
			snprintf(why, VMMIG_ERRLEN, "%s: unknown argument '%s'", cmd, key);
			return -EINVAL;
		}
	}
	if (r->cmd == CTL_REQ_MIGRATE) {
		if (!json_object_object_get_ex(o, CTL_ARG_MIGRATION, &v))
			return jfield_bad(why, cmd, CTL_ARG_MIGRATION, "given");
		if (mig_opts_from_json(v, &r->mig, why))
			return -EINVAL;
	}
	if (r->cmd == CTL_REQ_STORAGE_MOVE) {
		size_t k;

		if (!json_object_object_get_ex(o, CTL_ARG_DISKS, &v) ||
		    !json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > VMDEF_MAX_DEVS)
			return jfield_bad(why, cmd, CTL_ARG_DISKS, "an array of paths");
		for (k = 0; k < json_object_array_length(v); k++) {
			struct json_object *e = json_object_array_get_idx(v, k);
			const char *p = json_object_get_string(e);

			if (!json_object_is_type(e, json_type_string) ||
			    (*p && *p != '/') || strlen(p) >= MIG_PATH_MAX)
				return jfield_bad(why, cmd, CTL_ARG_DISKS,
						  "an array of absolute paths, or \"\"");
			snprintf(r->disks[k], MIG_PATH_MAX, "%s", p);
		}
		r->ndisks = k;
	}
	return jfield_decode(o, requests[i].args, requests[i].nargs, r, cmd, why);
}

struct json_object *ctl_reply_new(int err, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_KEY_OK, json_object_new_boolean(!err));
	json_object_object_add(o, CTL_KEY_VERSION, json_object_new_int(CTL_PROTO_VERSION));
	if (err)
		json_object_object_add(o, CTL_KEY_ERROR, json_object_new_string(why));
	return o;
}

void ctl_status_to_json(struct json_object *rep, const struct ctl_status *s)
{
	struct json_object *o, *a;
	unsigned int i, r;
	char buf[24];

	jfield_encode(rep, JFIELDS(status_results), s);
	if (s->has_workload) {
		o = json_object_new_object();
		jfield_encode(o, JFIELDS(workload_results), &s->wl);
		json_object_object_add(rep, CTL_RES_WORKLOAD, o);
	}
	if (!s->nvcpus)
		return;
	a = json_object_new_array();
	for (i = 0; i < s->nvcpus; i++) {
		o = json_object_new_object();
		for (r = 0; r < CTL_NREGS; r++) {
			snprintf(buf, sizeof(buf), "0x%" PRIx64, s->regs[i][r]);
			json_object_object_add(o, ctl_reg_names[r], json_object_new_string(buf));
		}
		json_object_array_add(a, o);
	}
	json_object_object_add(rep, CTL_RES_REGISTERS, a);
}

int ctl_status_from_json(struct json_object *rep, struct ctl_status *s, char *why)
{
	struct json_object *o, *v;
	unsigned int i, r;
	char *end;
	int err;

	memset(s, 0, sizeof(*s));
	if (json_object_object_get_ex(rep, CTL_KEY_VERSION, &v))
		s->version = json_object_get_int(v);
	err = jfield_decode(rep, JFIELDS(status_results), s, "status", why);
	if (err)
		return err;
	if (json_object_object_get_ex(rep, CTL_RES_WORKLOAD, &o)) {
		s->has_workload = true;
		err = jfield_decode(o, JFIELDS(workload_results), &s->wl, "status", why);
		if (err)
			return err;
	}
	if (!json_object_object_get_ex(rep, CTL_RES_REGISTERS, &o) ||
	    !json_object_is_type(o, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(o) && i < VMDEF_MAX_VCPUS; i++) {
		v = json_object_array_get_idx(o, i);
		for (r = 0; r < CTL_NREGS; r++) {
			struct json_object *reg;

			if (!json_object_object_get_ex(v, ctl_reg_names[r], &reg))
				continue;
			s->regs[i][r] = strtoull(json_object_get_string(reg), &end, 16);
			if (*end)
				return jfield_bad(why, "status", ctl_reg_names[r], "a hexadecimal string");
		}
	}
	s->nvcpus = i;
	return 0;
}

void ctl_save_to_json(struct json_object *rep, const struct ctl_save_result *s)
{
	jfield_encode(rep, JFIELDS(save_results), s);
}

int ctl_save_from_json(struct json_object *rep, struct ctl_save_result *s, char *why)
{
	memset(s, 0, sizeof(*s));
	return jfield_decode(rep, JFIELDS(save_results), s, "save", why);
}

void ctl_verify_to_json(struct json_object *rep, const struct ctl_verify_result *s)
{
	jfield_encode(rep, JFIELDS(verify_results), s);
}

int ctl_verify_from_json(struct json_object *rep, struct ctl_verify_result *s, char *why)
{
	memset(s, 0, sizeof(*s));
	return jfield_decode(rep, JFIELDS(verify_results), s, "verify", why);
}
