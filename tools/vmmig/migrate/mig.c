// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfield.h"
#include "mig.h"
#include "vmdef.h"

const char *const mig_compress_names[MIG_NCOMP] = { "none", "lz4", "zstd" };
const char *const mig_on_timeout_names[MIG_NTIMEOUT] = { "cancel", "throttle", "pause" };
const char *const mig_phase_names[MIG_NPHASES] = {
	"queued", "prepare", "precopy", "stopcopy", "commit", "done", "failed", "cancelled",
	"unknown",
};

static const struct jfield opts_fields[] = {
	JFIELD(struct mig_opts, "streams", JF_U32, streams),
	JENUM(struct mig_opts, "compress", compress, mig_compress_names, MIG_NCOMP),
	JFIELD(struct mig_opts, "level", JF_U32, level),
	JFIELD(struct mig_opts, "bandwidth", JF_U64, bandwidth),
	JFIELD(struct mig_opts, "downtime_limit_ms", JF_U32, downtime_limit_ms),
	JFIELD(struct mig_opts, "timeout_s", JF_U32, timeout_s),
	JENUM(struct mig_opts, "on_timeout", on_timeout, mig_on_timeout_names, MIG_NTIMEOUT),
	JFIELD(struct mig_opts, "transport_auth", JF_BOOL, transport_auth),
	JFIELD(struct mig_opts, "verify", JF_BOOL, verify),
	JFIELD(struct mig_opts, "storage", JF_BOOL, storage),
};

static const struct jfield storage_fields[] = {
	JFIELD(struct mig_storage, "include", JF_BOOL, include),
	JFIELD(struct mig_storage, "keep_source", JF_BOOL, keep_source),
	JFIELD(struct mig_storage, "path", JF_STR, path),
};

static const struct jfield progress_fields[] = {
	JENUM(struct mig_progress, "phase", phase, mig_phase_names, MIG_NPHASES),
	JFIELD(struct mig_progress, "round", JF_U32, round),
	JFIELD(struct mig_progress, "total_pages", JF_U64, total_pages),
	JFIELD(struct mig_progress, "sent_pages", JF_U64, sent_pages),
	JFIELD(struct mig_progress, "sent_bytes", JF_U64, sent_bytes),
	JFIELD(struct mig_progress, "raw_bytes", JF_U64, raw_bytes),
	JFIELD(struct mig_progress, "remaining_pages", JF_U64, remaining_pages),
	JFIELD(struct mig_progress, "dirty_rate", JF_U64, dirty_rate),
	JFIELD(struct mig_progress, "throughput", JF_U64, throughput),
	JFIELD(struct mig_progress, "expected_downtime_ms", JF_U64_OR_NULL, expected_downtime_ms),
	JFIELD(struct mig_progress, "throttle_pct", JF_U32, throttle_pct),
	JFIELD(struct mig_progress, "eta_ns", JF_U64, eta_ns),
	JFIELD(struct mig_progress, "elapsed_ns", JF_U64, elapsed_ns),
	JFIELD(struct mig_progress, "disk_bytes", JF_U64, disk_bytes),
	JFIELD(struct mig_progress, "disk_sent_bytes", JF_U64, disk_sent_bytes),
	JFIELD(struct mig_progress, "disk_dirty_bytes", JF_U64, disk_dirty_bytes),
};

void mig_opts_default(struct mig_opts *o)
{
	*o = (struct mig_opts){
		.streams = 1,
		.compress = MIG_COMP_NONE,
		.downtime_limit_ms = MIG_DEFAULT_DOWNTIME_MS,
		.on_timeout = MIG_TIMEOUT_CANCEL,
	};
}

struct json_object *mig_opts_to_json(const struct mig_opts *o)
{
	struct json_object *j = json_object_new_object();

	jfield_encode(j, JFIELDS(opts_fields), o);
	return j;
}

int mig_opts_from_json(struct json_object *j, struct mig_opts *o, char *why)
{
	int err;

	mig_opts_default(o);
	if (!json_object_is_type(j, json_type_object))
		return jfield_bad(why, "migration", "options", "an object");
	err = jfield_decode(j, JFIELDS(opts_fields), o, "migration", why);
	if (err)
		return err;
	if (!o->streams || o->streams > MIG_MAX_STREAMS)
		return jfield_bad(why, "migration", "streams", "1 to 16");
	return 0;
}

struct json_object *mig_progress_to_json(const struct mig_progress *p)
{
	struct json_object *j = json_object_new_object();

	jfield_encode(j, JFIELDS(progress_fields), p);
	return j;
}

int mig_progress_from_json(struct json_object *j, struct mig_progress *p, char *why)
{
	memset(p, 0, sizeof(*p));
	if (!json_object_is_type(j, json_type_object))
		return jfield_bad(why, "progress", "progress", "an object");
	return jfield_decode(j, JFIELDS(progress_fields), p, "progress", why);
}

const char *mig_downtime_str(uint64_t ms, char *buf, size_t len)
{
	if (ms == UINT64_MAX)
		return "unknown";
	snprintf(buf, len, "%llu ms", (unsigned long long)ms);
	return buf;
}

int mig_parse_compress(const char *s, enum mig_compress *c, int *level, char *why)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	unsigned int i;
	char *end;
	long l;

	*level = 0;
	for (i = 0; i < MIG_NCOMP; i++)
		if (strlen(mig_compress_names[i]) == n && !strncmp(s, mig_compress_names[i], n))
			break;
	if (i == MIG_NCOMP) {
		snprintf(why, VMMIG_ERRLEN, "unknown compression '%s' (zstd[:LEVEL], lz4, none)", s);
		return -EINVAL;
	}
	*c = i;
	if (!colon)
		return 0;
	l = strtol(colon + 1, &end, 10);
	if (i != MIG_COMP_ZSTD || !colon[1] || *end || l < 1 || l > 19) {
		snprintf(why, VMMIG_ERRLEN, "'%s': only zstd takes a level, from 1 to 19", s);
		return -EINVAL;
	}
	*level = l;
	return 0;
}

struct json_object *mig_storage_to_json(const struct mig_storage *s)
{
	struct json_object *j = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;

	jfield_encode(j, JFIELDS(storage_fields), s);
	for (i = 0; i < s->nmaps; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "src", json_object_new_string(s->map[i].src));
		json_object_object_add(e, "dst", json_object_new_string(s->map[i].dst));
		json_object_array_add(a, e);
	}
	json_object_object_add(j, "disks", a);
	return j;
}

static bool absolute(const char *p, size_t len)
{
	return p[0] == '/' && strlen(p) < len;
}

int mig_storage_add_map(struct mig_storage *s, const char *arg, char *why)
{
	const char *eq = strchr(arg, '=');
	struct mig_disk_map *m;
	size_t n = eq ? (size_t)(eq - arg) : 0;

	if (!eq || !n || n >= MIG_PATH_MAX || !absolute(arg, MIG_PATH_MAX + n) ||
	    !absolute(eq + 1, MIG_PATH_MAX)) {
		snprintf(why, VMMIG_ERRLEN,
			 "--disk '%s': SRC=DST, both absolute paths of at most %d bytes", arg,
			 MIG_PATH_MAX - 1);
		return -EINVAL;
	}
	if (s->nmaps >= VMDEF_MAX_DEVS) {
		snprintf(why, VMMIG_ERRLEN, "at most %d --disk", VMDEF_MAX_DEVS);
		return -EINVAL;
	}
	m = &s->map[s->nmaps++];
	snprintf(m->src, sizeof(m->src), "%.*s", (int)n, arg);
	snprintf(m->dst, sizeof(m->dst), "%s", eq + 1);
	return 0;
}

int mig_storage_from_json(struct json_object *j, struct mig_storage *s, char *why)
{
	struct json_object *a, *e, *v;
	char arg[2 * MIG_PATH_MAX + 2];
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	if (!json_object_is_type(j, json_type_object))
		return jfield_bad(why, "storage", "storage", "an object");
	err = jfield_decode(j, JFIELDS(storage_fields), s, "storage", why);
	if (err)
		return err;
	if (s->path[0] && !absolute(s->path, sizeof(s->path)))
		return jfield_bad(why, "storage", "path", "an absolute path");
	if (!json_object_object_get_ex(j, "disks", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return jfield_bad(why, "storage", "disks", "an array");
	for (i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_object_get_ex(e, "src", &v) ||
		    !json_object_is_type(v, json_type_string))
			return jfield_bad(why, "storage", "disks", "an array of {src, dst}");
		snprintf(arg, sizeof(arg), "%s=", json_object_get_string(v));
		if (!json_object_object_get_ex(e, "dst", &v) ||
		    !json_object_is_type(v, json_type_string))
			return jfield_bad(why, "storage", "disks", "an array of {src, dst}");
		strncat(arg, json_object_get_string(v), sizeof(arg) - strlen(arg) - 1);
		err = mig_storage_add_map(s, arg, why);
		if (err)
			return err;
	}
	return 0;
}
