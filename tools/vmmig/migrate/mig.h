/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration engine's shared vocabulary: what a move asks for (from
 * `vmmig move` through vmmigd to the source VMM) and how far it got (from
 * the source VMM back to vmmigd and the CLI). Both travel as JSON; every
 * name is here and mig.c converts them. Documentation/design/migration.rst
 * describes the engine and the protocol.
 */
#ifndef VMMIG_MIG_H
#define VMMIG_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define MIG_MAX_STREAMS		16
#define MIG_DEFAULT_DOWNTIME_MS	300
#define MIG_DEFAULT_PORT	6600

enum mig_compress { MIG_COMP_NONE, MIG_COMP_LZ4, MIG_COMP_ZSTD, MIG_NCOMP };
enum mig_on_timeout { MIG_TIMEOUT_CANCEL, MIG_TIMEOUT_THROTTLE, MIG_TIMEOUT_PAUSE, MIG_NTIMEOUT };

extern const char *const mig_compress_names[MIG_NCOMP];	/* "none", "lz4", "zstd" */
extern const char *const mig_on_timeout_names[MIG_NTIMEOUT];	/* "cancel", "throttle", "pause" */

/* What a move asks of the engine. */
struct mig_opts {
	unsigned int streams;		/* 1..MIG_MAX_STREAMS */
	enum mig_compress compress;
	int level;			/* zstd level, 0: the library's default */
	uint64_t bandwidth;		/* bytes per second over all streams, 0: no cap */
	uint32_t downtime_limit_ms;	/* switch over below this estimate */
	uint32_t timeout_s;		/* 0: none */
	enum mig_on_timeout on_timeout;
	/*
	 * Set by vmmigd, never by a user: the transport authenticates every
	 * byte (TLS), so memory sections go without their CRC32C.
	 */
	bool transport_auth;
	bool verify;			/* compare memory hashes before the commit */
	bool storage;			/* the disks' content goes too (--include-storage) */
};

void mig_opts_default(struct mig_opts *o);

enum mig_phase {
	MIG_QUEUED,		/* waits for a slot under max-migrations */
	MIG_PREPARE,		/* checks, connection, prediction */
	MIG_PRECOPY,		/* memory while the VM runs */
	MIG_STOPCOPY,		/* VM paused: last pages and state */
	MIG_COMMIT,		/* destination ready; the switchover protocol */
	MIG_DONE,		/* runs at the destination */
	MIG_FAILED,		/* runs at the source */
	MIG_CANCELLED,		/* runs at the source */
	MIG_UNKNOWN,		/* fate unknown: paused on both sides, reported */
	MIG_NPHASES
};
extern const char *const mig_phase_names[MIG_NPHASES];

/* How far a move got. Rates are measured over the last round. */
struct mig_progress {
	enum mig_phase phase;
	unsigned int round;		/* 0: the first copy of all memory */
	uint64_t total_pages;		/* guest memory */
	uint64_t sent_pages;		/* pages sent so far, resent ones included */
	uint64_t sent_bytes;		/* bytes on the wire */
	uint64_t raw_bytes;		/* bytes before compression */
	uint64_t remaining_pages;	/* still to send in this round, or dirty */
	uint64_t dirty_rate;		/* pages per second the guest dirties */
	uint64_t throughput;		/* bytes per second on the wire */
	uint64_t expected_downtime_ms;
	unsigned int throttle_pct;	/* of the vCPUs' time taken away */
	uint64_t eta_ns;		/* expected time left, 0: unknown; never grows */
	uint64_t elapsed_ns;
	/* With storage: the disks' sizes, their runs sent, and what is to send. */
	uint64_t disk_bytes, disk_sent_bytes, disk_dirty_bytes;
};

/* JSON: every field, named as in mig.c; *_from_json is strict (-EINVAL, @why). */
struct json_object *mig_opts_to_json(const struct mig_opts *o);
int mig_opts_from_json(struct json_object *j, struct mig_opts *o, char *why);
struct json_object *mig_progress_to_json(const struct mig_progress *p);
int mig_progress_from_json(struct json_object *j, struct mig_progress *p, char *why);
/* An expected downtime: "N ms", or "unknown" (UINT64_MAX: nothing acknowledged yet). */
const char *mig_downtime_str(uint64_t ms, char *buf, size_t len);

/*
 * A move's storage, as asked (`vmmig move --include-storage`, `vmmig storage
 * move`): each disk goes to its --disk SRC=DST, else to --storage-path DIR
 * under its file's name, else (a move to another host) to the same path.
 */
#define MIG_PATH_MAX	256
/* The unit in which a moving disk's writes are tracked and its data sent. */
#define MIG_DISK_GRAIN	(64ULL << 10)
struct mig_disk_map {
	char src[MIG_PATH_MAX], dst[MIG_PATH_MAX];
};

struct mig_storage {
	bool include;			/* the disks move with the VM */
	bool keep_source;		/* the source's images stay after the move */
	char path[MIG_PATH_MAX];	/* --storage-path DIR */
	unsigned int nmaps;
	struct mig_disk_map map[8];	/* --disk SRC=DST (VMDEF_MAX_DEVS) */
};

struct json_object *mig_storage_to_json(const struct mig_storage *s);
int mig_storage_from_json(struct json_object *j, struct mig_storage *s, char *why);
/* "SRC=DST", both absolute, into @s; -EINVAL with @why. */
int mig_storage_add_map(struct mig_storage *s, const char *arg, char *why);

/* "zstd", "zstd:LEVEL", "lz4", "none"; -EINVAL with @why. */
int mig_parse_compress(const char *s, enum mig_compress *c, int *level, char *why);

#endif
