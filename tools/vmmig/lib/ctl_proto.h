/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control protocol of a VMM, spoken over STATE_DIR/NAME/control.sock:
 * one JSON object per line, one request and one reply per connection.
 *
 *   request  {"cmd": REQUEST, "version": CTL_PROTO_VERSION, ARGUMENTS...}
 *   reply    {"ok": true, "version": V, RESULTS...}
 *            {"ok": false, "version": V, "error": "why"}
 *
 * Every name of the protocol is defined here, and every message is built
 * and read by ctl_proto.c from the tables there: the client (ctl.c, the
 * lifecycle library) and the server (vmm/control.c) use nothing else.
 * Documentation/design/control-protocol.rst describes it for people.
 */
#ifndef VMMIG_CTL_PROTO_H
#define VMMIG_CTL_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "mig.h"
#include "vmdef.h"

/*
 * The version a client sends and a VMM speaks. A VMM serves requests of
 * versions CTL_PROTO_MIN_VERSION..CTL_PROTO_VERSION and refuses others
 * with the range it speaks. New optional results need no new version (a
 * client ignores results it does not know); a new argument, request or a
 * changed meaning does.
 */
#define CTL_PROTO_VERSION	2
#define CTL_PROTO_MIN_VERSION	1

#define CTL_SOCKET		"control.sock"
/* An incoming VMM's, while it reads the streams: {"stream": K} and an fd. */
#define CTL_SWAP_SOCKET		"swap.sock"
/* No message is longer, its newline included. */
#define CTL_LINE_MAX		(64 << 10)

enum ctl_req {
	CTL_REQ_STATUS,		/* -> struct ctl_status */
	CTL_REQ_PAUSE,
	CTL_REQ_RESUME,
	CTL_REQ_STOP,		/* ask the guest to power off */
	CTL_REQ_QUIT,		/* end the VMM now */
	CTL_REQ_SAVE,		/* path, live, hash, [live options] -> struct ctl_save_result;
				 * the VMM ends */
	CTL_REQ_VERIFY,		/* workload guest -> struct ctl_verify_result */
	CTL_REQ_CONSOLE,	/* force; the connection then carries the console */
	/*
	 * Version 2. migration, streams; the request carries that many stream
	 * fds (SCM_RIGHTS). The VMM live-saves into them and sends progress
	 * lines {"progress": {...}} (mig.h), then its reply: on success the VM
	 * is paused and held by the migration; the connection stays open for
	 * the decision, one line {"commit": true|false}, answered by a reply:
	 * commit ends the VMM, abort resumes the VM. A connection that closes
	 * without a decision is an abort unless DIR/migrated exists (the
	 * daemon committed): the VM then stays paused and held.
	 */
	CTL_REQ_MIGRATE,
	/* Version 2. commit: an incoming VM (vmmig-vmm --incoming) resumes, or its VMM ends. */
	CTL_REQ_INCOMING_END,
	/*
	 * Version 2. disks: for each disk of the VM, the path of its new image
	 * (made, sparse, of its size) or "" (it stays). The VMM copies them
	 * while the VM runs, with progress lines as migrate sends, the last
	 * writes with the vCPUs paused; then vm.json and the devices take the
	 * new images, and the reply comes. Any line from the client, or its
	 * end, cancels it: the VM stays on its images.
	 */
	CTL_REQ_STORAGE_MOVE,
	CTL_NREQS
};

/* Keys of every message. */
#define CTL_KEY_CMD		"cmd"
#define CTL_KEY_VERSION		"version"
#define CTL_KEY_OK		"ok"
#define CTL_KEY_ERROR		"error"

/* Arguments of a request; each request takes only its own. */
#define CTL_ARG_PATH		"path"		/* save: absolute path of the file */
#define CTL_ARG_LIVE		"live"		/* save: pre-copy while running */
#define CTL_ARG_HASH		"hash"		/* save: report the memory hash */
#define CTL_ARG_DISK_HASH	"disk_hash"	/* status: the disks' hash too (optional) */
#define CTL_ARG_FORCE		"force"		/* console: take over from another client */
/* save, live, optional (a VMM of before them refuses them, by name): */
#define CTL_ARG_DOWNTIME_LIMIT	"downtime_limit_ms"
#define CTL_ARG_TIMEOUT		"timeout_s"
#define CTL_ARG_ON_TIMEOUT	"on_timeout"	/* mig_on_timeout_names */

/* The convergence options of a live save, each sent only when set. */
struct ctl_live_opts {
	uint32_t downtime_limit_ms, timeout_s;
	enum mig_on_timeout on_timeout;
	bool has_downtime_limit, has_timeout, has_on_timeout;
};
#define CTL_ARG_MIGRATION	"migration"	/* migrate: struct mig_opts */
#define CTL_ARG_STREAMS		"streams"	/* migrate: fds that come with it */
#define CTL_ARG_DISKS		"disks"		/* storage-move: the new images */
#define CTL_ARG_COMMIT		"commit"	/* the decision of a migration */
#define CTL_KEY_PROGRESS	"progress"	/* a progress line of migrate */
/*
 * Mid-copy, migrate's other lines: the VMM asks for a new connection for a
 * stream that failed ({"replace_stream": K, "error": why}); vmmigd answers
 * {"stream": K} with the new connection's fd attached, or without an fd
 * ({"stream": K, "error": why}) when it has none. vmmigd may also send
 * {"stream": K} and an fd unasked (K's network failed under another
 * stream). Anything else from vmmigd, or the connection's end, is a cancel.
 */
#define CTL_KEY_REPLACE_STREAM	"replace_stream"
#define CTL_KEY_STREAM		"stream"
#define CTL_KEY_ABORT		"abort"		/* to swap.sock: no stream waits any more */
#define CTL_KEY_CORRUPT		"corrupt"	/* and why: a stream's bytes failed their check */
/* The source's marker that the switchover committed: the VM never resumes here. */
#define CTL_MIGRATED_FILE	"migrated"
/* The destination's marker of a VM that has not committed yet. */
#define CTL_INCOMING_FILE	"incoming"
/* Beside it, the disk images vmmigd made for it, one path a line: removed if it fails. */
#define CTL_INCOMING_DISKS_FILE	"incoming-disks"

struct ctl_request {
	enum ctl_req cmd;
	unsigned int version;
	char path[4096];
	bool live, hash, force, commit;
	bool disk_hash, has_disk_hash;	/* status */
	struct ctl_live_opts lo;
	uint32_t streams;
	struct mig_opts mig;
	char disks[VMDEF_MAX_DEVS][MIG_PATH_MAX];	/* storage-move */
	unsigned int ndisks;
};

/* The options of a live save: the engine's defaults and those of @lo. */
void ctl_live_opts_apply(const struct ctl_live_opts *lo, struct mig_opts *o);

/* Results of status. */
#define CTL_RES_NAME		"name"
#define CTL_RES_UUID		"uuid"
#define CTL_RES_STATE		"state"		/* CTL_STATE_NAMES */
#define CTL_RES_PID		"pid"
#define CTL_RES_UPTIME_NS	"uptime_ns"
#define CTL_RES_DATA_PAGES	"data_pages"
#define CTL_RES_START_NS	"start_ns"
#define CTL_RES_FIRST_INSN_NS	"first_insn_ns"
#define CTL_RES_CONSOLE		"console_attached"
#define CTL_RES_REGISTERED	"registered"	/* with vmmig.ko */
#define CTL_RES_MIGRATION	"migration"	/* CTL_MIG_NAMES: what holds the VM */
#define CTL_RES_WORKLOAD	"workload"	/* object, workload guests only */
#define CTL_RES_COUNTER		"counter"
#define CTL_RES_CHECKSUM	"checksum"
#define CTL_RES_TICKS		"ticks"
#define CTL_RES_GAP_MAX_US	"gap_max_us"
#define CTL_RES_GAP_AT		"gap_at"
#define CTL_RES_RATE		"rate"
#define CTL_RES_WSS_PAGES	"wss_pages"
#define CTL_RES_MEMORY_HASH	"memory_hash"	/* paused VMs (status), save with hash */
#define CTL_RES_DISK_HASH	"disk_hash"	/* the same, of the disks a move carried */
#define CTL_RES_REGISTERS	"registers"	/* paused VMs: one object per vCPU */
/* Results of save and verify. */
#define CTL_RES_SAVE_NS		"save_ns"
#define CTL_RES_ROUNDS		"rounds"
#define CTL_RES_RESENT_PAGES	"resent_pages"
#define CTL_RES_FINAL_PAGES	"final_pages"
#define CTL_RES_DOWNTIME_NS	"downtime_ns"
#define CTL_RES_THROTTLE_PCT	"throttle_pct"	/* the highest vCPU throttle */
#define CTL_RES_EXP_DOWNTIME_MS	"expected_downtime_ms"	/* at the switchover */
#define CTL_RES_VERIFIED	"verified"

enum ctl_run_state { CTL_RUNNING, CTL_PAUSED, CTL_NSTATES };
/* A VM held by a migration refuses pause, resume, stop, save and quit. */
enum ctl_mig_role { CTL_MIG_NONE, CTL_MIG_OUTGOING, CTL_MIG_INCOMING, CTL_MIG_STORAGE, CTL_NMIGS };
extern const char *const ctl_mig_names[CTL_NMIGS];	/* "none", "outgoing", "incoming" */
extern const char *const ctl_state_names[CTL_NSTATES];	/* "running", "paused" */

/* The vCPU registers of a paused VM's status: "rip", "rsp", ... "efer". */
enum {
	CTL_REG_RIP, CTL_REG_RSP, CTL_REG_RFLAGS, CTL_REG_RAX, CTL_REG_RBX,
	CTL_REG_RCX, CTL_REG_RDX, CTL_REG_RSI, CTL_REG_RDI, CTL_REG_RBP,
	CTL_REG_R8, CTL_REG_R9, CTL_REG_R10, CTL_REG_R11, CTL_REG_R12,
	CTL_REG_R13, CTL_REG_R14, CTL_REG_R15, CTL_REG_CR0, CTL_REG_CR3,
	CTL_REG_CR4, CTL_REG_EFER, CTL_NREGS
};
extern const char *const ctl_reg_names[CTL_NREGS];

struct ctl_workload {
	uint64_t counter, checksum, ticks, rate, wss_pages;
	uint64_t gap_max_us, gap_at;	/* the guest's longest gap (guest.h) */
};

struct ctl_status {
	unsigned int version;		/* the VMM's protocol version */
	char name[VMDEF_NAME_MAX + 1];
	uint8_t uuid[VMDEF_UUID_LEN];
	enum ctl_run_state state;
	uint32_t pid;
	uint64_t uptime_ns, start_ns, first_insn_ns;
	uint64_t data_pages;		/* guest pages ever touched (not holes) */
	bool console_attached, registered;
	enum ctl_mig_role migration;
	bool has_workload;
	struct ctl_workload wl;
	/* Only for a paused VM: it holds still long enough for these. */
	bool has_memory_hash;
	uint64_t memory_hash;
	bool has_disk_hash;
	uint64_t disk_hash;
	unsigned int nvcpus;		/* registers of vCPUs 0..nvcpus-1 */
	uint64_t regs[VMDEF_MAX_VCPUS][CTL_NREGS];
};

struct ctl_save_result {
	uint64_t save_ns;
	bool live;
	uint64_t rounds, resent_pages, final_pages, downtime_ns;
	uint32_t throttle_pct;
	uint64_t expected_downtime_ms;
	bool has_memory_hash;
	uint64_t memory_hash;
	bool has_disk_hash;
	uint64_t disk_hash;
};

struct ctl_verify_result {
	bool verified;
	uint64_t checksum;
};

const char *ctl_req_name(enum ctl_req cmd);

/* Client: the request as JSON, with its command and version. */
struct json_object *ctl_request_to_json(const struct ctl_request *r);
/*
 * Server: reads and checks a request: a version it serves, a known
 * command, only that command's arguments, each of its type. 0, or -EINVAL,
 * -EPROTONOSUPPORT (version) with @why set.
 */
int ctl_request_from_json(struct json_object *o, struct ctl_request *r, char *why);

/* Server: a reply with "ok", "version" and, on failure, "error". */
struct json_object *ctl_reply_new(int err, const char *why);

/* Results: the server encodes them into a reply, the client decodes them. */
void ctl_status_to_json(struct json_object *rep, const struct ctl_status *s);
int ctl_status_from_json(struct json_object *rep, struct ctl_status *s, char *why);
void ctl_save_to_json(struct json_object *rep, const struct ctl_save_result *s);
int ctl_save_from_json(struct json_object *rep, struct ctl_save_result *s, char *why);
void ctl_verify_to_json(struct json_object *rep, const struct ctl_verify_result *s);
int ctl_verify_from_json(struct json_object *rep, struct ctl_verify_result *s, char *why);

#endif
