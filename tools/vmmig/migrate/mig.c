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
	JFIELD(struct mig_progress, "expected_downtime_ms", JF_U64, expected_downtime_ms),
	JFIELD(struct mig_progress, "throttle_pct", JF_U32, throttle_pct),
	JFIELD(struct mig_progress, "eta_ns", JF_U64, eta_ns),
	JFIELD(struct mig_progress, "elapsed_ns", JF_U64, elapsed_ns),
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
