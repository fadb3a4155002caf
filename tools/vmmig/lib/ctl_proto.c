// SPDX-License-Identifier: GPL-2.0
/*
 * The control protocol's messages (ctl_proto.h): each one described by a
 * table of fields, from which one encoder and one decoder build and read
 * them, so that the VMM and its clients cannot disagree on a name or a type.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "ctl_proto.h"

const char *const ctl_state_names[CTL_NSTATES] = { "running", "paused" };

const char *const ctl_reg_names[CTL_NREGS] = {
	"rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"cr0", "cr3", "cr4", "efer",
};

enum field_type {
	F_U64,
	F_U32,
	F_BOOL,
	F_HEX,		/* a u64 as a "0x..." string: JSON readers lose bits above 2^53 */
	F_STR,		/* char[size] */
	F_UUID,		/* uint8_t[16] as "xxxxxxxx-xxxx-..." */
	F_STATE,	/* enum ctl_run_state as its name */
};

struct field {
	const char *key;
	enum field_type type;
	size_t off, size;
	size_t present;	/* offset of a bool set when the key is there, or 0 */
};

#define FIELD(st, key, type, member) { key, type, offsetof(st, member), sizeof(((st *)0)->member), 0 }
#define OPTIONAL(st, key, type, member, flag) \
	{ key, type, offsetof(st, member), sizeof(((st *)0)->member), offsetof(st, flag) }

static const struct field save_args[] = {
	FIELD(struct ctl_request, CTL_ARG_PATH, F_STR, path),
	FIELD(struct ctl_request, CTL_ARG_LIVE, F_BOOL, live),
	FIELD(struct ctl_request, CTL_ARG_HASH, F_BOOL, hash),
};

static const struct field console_args[] = {
	FIELD(struct ctl_request, CTL_ARG_FORCE, F_BOOL, force),
};

#define FIELDS(a) a, sizeof(a) / sizeof(a[0])

static const struct {
	const char *name;
	const struct field *args;
	size_t nargs;
} requests[CTL_NREQS] = {
	[CTL_REQ_STATUS] = { "status" },
	[CTL_REQ_PAUSE] = { "pause" },
	[CTL_REQ_RESUME] = { "resume" },
	[CTL_REQ_STOP] = { "stop" },
	[CTL_REQ_QUIT] = { "quit" },
	[CTL_REQ_SAVE] = { "save", FIELDS(save_args) },
	[CTL_REQ_VERIFY] = { "verify" },
	[CTL_REQ_CONSOLE] = { "console", FIELDS(console_args) },
};

static const struct field status_results[] = {
	FIELD(struct ctl_status, CTL_RES_NAME, F_STR, name),
	FIELD(struct ctl_status, CTL_RES_UUID, F_UUID, uuid),
	FIELD(struct ctl_status, CTL_RES_STATE, F_STATE, state),
	FIELD(struct ctl_status, CTL_RES_PID, F_U32, pid),
	FIELD(struct ctl_status, CTL_RES_UPTIME_NS, F_U64, uptime_ns),
	FIELD(struct ctl_status, CTL_RES_START_NS, F_U64, start_ns),
	/* Zero after a restore: the guest did not start from its first instruction. */
	FIELD(struct ctl_status, CTL_RES_FIRST_INSN_NS, F_U64, first_insn_ns),
	FIELD(struct ctl_status, CTL_RES_CONSOLE, F_BOOL, console_attached),
	FIELD(struct ctl_status, CTL_RES_REGISTERED, F_BOOL, registered),
	OPTIONAL(struct ctl_status, CTL_RES_MEMORY_HASH, F_HEX, memory_hash, has_memory_hash),
};

static const struct field workload_results[] = {
	FIELD(struct ctl_workload, CTL_RES_COUNTER, F_U64, counter),
	FIELD(struct ctl_workload, CTL_RES_CHECKSUM, F_HEX, checksum),
	FIELD(struct ctl_workload, CTL_RES_TICKS, F_U64, ticks),
	FIELD(struct ctl_workload, CTL_RES_RATE, F_U64, rate),
	FIELD(struct ctl_workload, CTL_RES_WSS_PAGES, F_U64, wss_pages),
};

static const struct field save_results[] = {
	FIELD(struct ctl_save_result, CTL_RES_SAVE_NS, F_U64, save_ns),
	OPTIONAL(struct ctl_save_result, CTL_RES_ROUNDS, F_U64, rounds, live),
	OPTIONAL(struct ctl_save_result, CTL_RES_RESENT_PAGES, F_U64, resent_pages, live),
	OPTIONAL(struct ctl_save_result, CTL_RES_FINAL_PAGES, F_U64, final_pages, live),
	OPTIONAL(struct ctl_save_result, CTL_RES_DOWNTIME_NS, F_U64, downtime_ns, live),
	OPTIONAL(struct ctl_save_result, CTL_RES_MEMORY_HASH, F_HEX, memory_hash, has_memory_hash),
};

static const struct field verify_results[] = {
	FIELD(struct ctl_verify_result, CTL_RES_VERIFIED, F_BOOL, verified),
	FIELD(struct ctl_verify_result, CTL_RES_CHECKSUM, F_HEX, checksum),
};

const char *ctl_req_name(enum ctl_req cmd)
{
	return cmd < CTL_NREQS ? requests[cmd].name : "unknown";
}

static void encode(struct json_object *o, const struct field *f, size_t n, const void *s)
{
	const char *p = s;
	char buf[40];

	for (; n--; f++) {
		const void *v = p + f->off;
		struct json_object *j = NULL;

		if (f->present && !*(const bool *)(p + f->present))
			continue;
		switch (f->type) {
		case F_U64:
			j = json_object_new_uint64(*(const uint64_t *)v);
			break;
		case F_U32:
			j = json_object_new_uint64(*(const uint32_t *)v);
			break;
		case F_BOOL:
			j = json_object_new_boolean(*(const bool *)v);
			break;
		case F_HEX:
			snprintf(buf, sizeof(buf), "0x%" PRIx64, *(const uint64_t *)v);
			j = json_object_new_string(buf);
			break;
		case F_STR:
			j = json_object_new_string(v);
			break;
		case F_UUID:
			uuid_unparse_lower(v, buf);
			j = json_object_new_string(buf);
			break;
		case F_STATE:
			j = json_object_new_string(ctl_state_names[*(const enum ctl_run_state *)v]);
			break;
		}
		json_object_object_add(o, f->key, j);
	}
}

static int bad(char *why, const char *what, const char *key, const char *want)
{
	snprintf(why, VMMIG_ERRLEN, "%s: '%s' must be %s", what, key, want);
	return -EINVAL;
}

static int decode_one(const struct field *f, struct json_object *j, void *v,
		      const char *what, char *why)
{
	const char *s = json_object_get_string(j);
	unsigned int i;
	char *end;

	switch (f->type) {
	case F_U64:
	case F_U32:
		if (!json_object_is_type(j, json_type_int) || json_object_get_int64(j) < 0)
			return bad(why, what, f->key, "a number");
		if (f->type == F_U32)
			*(uint32_t *)v = json_object_get_uint64(j);
		else
			*(uint64_t *)v = json_object_get_uint64(j);
		return 0;
	case F_BOOL:
		if (!json_object_is_type(j, json_type_boolean))
			return bad(why, what, f->key, "true or false");
		*(bool *)v = json_object_get_boolean(j);
		return 0;
	case F_HEX:
		if (!json_object_is_type(j, json_type_string) || strncmp(s, "0x", 2))
			return bad(why, what, f->key, "a hexadecimal string");
		*(uint64_t *)v = strtoull(s, &end, 16);
		return *end ? bad(why, what, f->key, "a hexadecimal string") : 0;
	case F_STR:
		if (!json_object_is_type(j, json_type_string) || strlen(s) >= f->size)
			return bad(why, what, f->key, "a string");
		strcpy(v, s);
		return 0;
	case F_UUID:
		if (!json_object_is_type(j, json_type_string) || uuid_parse(s, v))
			return bad(why, what, f->key, "a UUID");
		return 0;
	case F_STATE:
		for (i = 0; json_object_is_type(j, json_type_string) && i < CTL_NSTATES; i++)
			if (!strcmp(s, ctl_state_names[i])) {
				*(enum ctl_run_state *)v = i;
				return 0;
			}
		return bad(why, what, f->key, "a VM state");
	}
	return -EINVAL;
}

/* Reads the fields of @f from @o; a key not there leaves its field as it is. */
static int decode(struct json_object *o, const struct field *f, size_t n, void *s,
		  const char *what, char *why)
{
	struct json_object *j;
	char *p = s;
	int err;

	for (; n--; f++) {
		if (!json_object_object_get_ex(o, f->key, &j))
			continue;
		err = decode_one(f, j, p + f->off, what, why);
		if (err)
			return err;
		if (f->present)
			*(bool *)(p + f->present) = true;
	}
	return 0;
}

struct json_object *ctl_request_to_json(const struct ctl_request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_KEY_CMD, json_object_new_string(requests[r->cmd].name));
	json_object_object_add(o, CTL_KEY_VERSION, json_object_new_int(CTL_PROTO_VERSION));
	encode(o, requests[r->cmd].args, requests[r->cmd].nargs, r);
	return o;
}

static bool known_arg(enum ctl_req cmd, const char *key)
{
	size_t i;

	if (!strcmp(key, CTL_KEY_CMD) || !strcmp(key, CTL_KEY_VERSION))
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
	return decode(o, requests[i].args, requests[i].nargs, r, cmd, why);
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

	encode(rep, FIELDS(status_results), s);
	if (s->has_workload) {
		o = json_object_new_object();
		encode(o, FIELDS(workload_results), &s->wl);
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
	err = decode(rep, FIELDS(status_results), s, "status", why);
	if (err)
		return err;
	if (json_object_object_get_ex(rep, CTL_RES_WORKLOAD, &o)) {
		s->has_workload = true;
		err = decode(o, FIELDS(workload_results), &s->wl, "status", why);
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
				return bad(why, "status", ctl_reg_names[r], "a hexadecimal string");
		}
	}
	s->nvcpus = i;
	return 0;
}

void ctl_save_to_json(struct json_object *rep, const struct ctl_save_result *s)
{
	encode(rep, FIELDS(save_results), s);
}

int ctl_save_from_json(struct json_object *rep, struct ctl_save_result *s, char *why)
{
	memset(s, 0, sizeof(*s));
	return decode(rep, FIELDS(save_results), s, "save", why);
}

void ctl_verify_to_json(struct json_object *rep, const struct ctl_verify_result *s)
{
	encode(rep, FIELDS(verify_results), s);
}

int ctl_verify_from_json(struct json_object *rep, struct ctl_verify_result *s, char *why)
{
	memset(s, 0, sizeof(*s));
	return decode(rep, FIELDS(verify_results), s, "verify", why);
}
