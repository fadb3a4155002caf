/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmmigd: one per host (per network namespace in tests). It serves the CLI
 * on a UNIX socket (control.c), listens for other hosts on TCP with mutual
 * TLS (peer.c), moves VMs out (source.c) and takes them in (dest.c), keeps
 * the host settings across restarts (settings.c) and reports events
 * (event.c). Documentation/admin-guide/migration.rst is the user's view,
 * Documentation/design/migration.rst the protocol.
 */
#ifndef VMMIG_VMMIGD_H
#define VMMIG_VMMIGD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "features.h"
#include "frame.h"
#include "mig.h"
#include "tls.h"
#include "vmctl.h"
#include "vmdef.h"
#include "vmstate.h"

#define VMMIGD_SOCKET		"/run/vmmig/vmmigd.sock"
#define VMMIGD_SETTINGS		"/etc/vmmig/host.json"
#define VMMIGD_HOST_MAX		64
#define MIG_TOKEN_LEN		16

enum mig_dir { MIG_OUT, MIG_IN };

/* One migration, either way; shared with the CLI's watchers under d->lock. */
struct migration {
	struct migration *next;
	uint64_t id;
	enum mig_dir dir;
	char vm[VMDEF_NAME_MAX + 1];
	uint8_t uuid[VMDEF_UUID_LEN];
	char peer[VMMIGD_HOST_MAX];		/* the other host's name */
	char to[256];				/* source: as the user gave it */
	char token[2 * MIG_TOKEN_LEN + 1];	/* hex: names the migration to both hosts */
	char transport[64];			/* the streams' TLS suite and record layer */
	struct mig_opts opts;
	struct mig_progress progress;
	uint64_t start_ns, end_ns, pause_ns, downtime_ns;
	/* Source: the downtime's parts (Documentation/design/migration.rst). */
	uint64_t stopcopy_ns, load_ns, commit_ns;
	/* Source: the streams carried memory from copy_start_ns, copy_ns long. */
	uint64_t copy_start_ns, copy_ns;
	uint64_t queued_behind;			/* queued: migrations ahead */
	char error[VMMIG_ERRLEN];
	bool cancel;				/* asked to cancel */
	bool done;				/* final phase reached */
	bool slot;				/* holds a slot under max-migrations */
	/* Source: the stream sockets, shut down to cancel. */
	int sock[MIG_MAX_STREAMS];
	unsigned int nsock;
	int vmm_fd;				/* source: the VMM's migrate connection */
	/* Destination: streams attached so far. */
	struct tls_conn *stream[MIG_MAX_STREAMS];
	unsigned int nstreams;
	pthread_cond_t cond;			/* a stream arrived, a phase changed */
	/* Prediction (source): measured before the move, or alone (dry run). */
	bool dry_run;
	struct json_object *prediction;
};

struct daemon {
	char host[VMMIGD_HOST_MAX];	/* this host's name, from its certificate */
	const char *socket_path, *settings_path, *tls_dir, *state_dir;
	unsigned int port;
	struct tls_ctx *tls;
	struct vmctl vmctl;

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a slot freed, a setting changed */
	struct migration *migrations;	/* newest first */
	uint64_t next_id;
	uint64_t next_ticket, serving;	/* the queue under max-migrations */
	unsigned int active;
	bool stopping;
};

extern struct daemon vmmigd;

/* event.c: stable IDs; Documentation/admin-guide/migration.rst lists them. */
enum vmmigd_event {
	EV_DAEMON_START = 1000,
	EV_DAEMON_STOP = 1001,
	EV_SETTINGS = 1002,
	EV_PEER_REFUSED = 1003,
	EV_MIG_QUEUED = 1100,
	EV_MIG_START = 1101,
	EV_MIG_SWITCHOVER = 1102,
	EV_MIG_DONE = 1103,
	EV_MIG_FAILED = 1104,
	EV_MIG_CANCELLED = 1105,
	EV_MIG_UNKNOWN = 1106,
	EV_MIG_THROTTLE = 1107,
	EV_MIG_IN_START = 1200,
	EV_MIG_IN_DONE = 1201,
	EV_MIG_IN_FAILED = 1202,
	EV_MIG_IN_UNKNOWN = 1203,
	EV_CLUSTER_JOIN = 1300,
	EV_CLUSTER_LEAVE = 1301,
	EV_CLUSTER_FEATURES = 1302,
	EV_CLUSTER_UNREACHABLE = 1303,
	EV_CLUSTER_REACHABLE = 1304,
};
void event(enum vmmigd_event id, const struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A CLI watcher of events (vmmig monitor): lines go to @fd until it fails. */
void event_watch(int fd);

/* control.c */
int control_listen(const char *path, char *why);
void *control_client(void *arg);

/* peer.c: frames over TLS. */
int peer_send(struct tls_conn *c, enum frame_type type, struct json_object *o);
int peer_send_raw(struct tls_conn *c, enum frame_type type, const void *p, uint32_t len);
/* 0 once @c has bytes to read, -ETIMEDOUT after @timeout_ms (< 0: at once 0). */
int peer_wait(struct tls_conn *c, int timeout_ms);
/*
 * Receives a frame within @timeout_ms (-1: none): its type, and its payload
 * as JSON in *@o; a PROBE's payload is bytes, skipped, and *@o says how many
 * ({"bytes": N}). -errno with @why.
 */
int peer_recv(struct tls_conn *c, struct json_object **o, int timeout_ms, char *why);
/*
 * Connects to HOST[:PORT] and does the handshake; NULL with @why and *@err:
 * -EACCES when TLS refused, another -errno when the host was not reached.
 */
struct tls_conn *peer_connect(const char *to, int *err, char *why);
int peer_listen(unsigned int port, char *why);
/* This host's HELLO: its name, protocol version and listener port. */
struct json_object *peer_hello(void);
void *peer_client(void *arg);
/* A string member of a frame's object, or "". */
const char *jstr(struct json_object *o, const char *key);

/* source.c, dest.c */
struct migration *migration_new(enum mig_dir dir, const char *vm);
void migration_set_phase(struct migration *m, enum mig_phase phase);
void migration_fail(struct migration *m, enum mig_phase phase, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct json_object *migration_to_json(const struct migration *m);
struct migration *migration_find(const char *vm, bool live_only);
/* Under vmmigd.lock: the migration of that direction and token, or NULL. */
struct migration *migration_by_token(enum mig_dir dir, const char *token);
uint64_t now_ns(void);
/* Waits for a slot under max-migrations, in order; false if cancelled meanwhile. */
bool slot_get(struct migration *m);
void slot_put(struct migration *m);
/* Source: checks, then the whole move; the migration ends in a final phase. */
void *source_run(void *arg);
/* Destination: a control connection that began with HELLO; a stream connection. */
void dest_session(struct tls_conn *c, struct json_object *hello);
void dest_stream(struct tls_conn *c, struct json_object *frame);
void source_outcome_reply(struct tls_conn *c, struct json_object *frame);
/* At start: incoming VMs left behind by a daemon that died. */
void dest_recover(void);

/*
 * cluster.c: the members, their features, the common set in vmmig.ko.
 * cluster_init() reads the saved members (@advertise: a CPUID dump whose
 * CPU this host claims, narrowed by its own; @interval: seconds between
 * syncs, 0: the default); cluster_run() syncs with every member forever.
 */
int cluster_init(const char *advertise, unsigned int interval, char *why);
void *cluster_run(void *arg);
void cluster_serve(struct tls_conn *c, struct json_object *frame);
int cluster_add(const char *to, char *why);
int cluster_remove(const char *host, char *why);
struct json_object *cluster_list_json(void);
struct json_object *cluster_features_json(void);
/* The common set into vmmig.ko again (it was loaded anew). */
void cluster_apply(void);

/* This host's CPU as the cluster knows it (--advertise-cpu applied); -errno, @why. */
int cluster_self(struct cpu_features *f, char *why);

/*
 * check.c: the pre-flight checks of a move. Stable IDs, listed in
 * Documentation/admin-guide/cpu-compat.rst.
 */
enum check_id {
	CHECK_VM = 2000,		/* no such VM, or unreadable */
	CHECK_VM_STATE = 2001,		/* not running */
	CHECK_VM_BUSY = 2002,		/* migrating already */
	CHECK_MIGRATION_OFF = 2003,	/* at the source or the destination */
	CHECK_UNREACHABLE = 2010,
	CHECK_AUTH = 2011,		/* TLS refused either way */
	CHECK_SAME_HOST = 2012,
	CHECK_DEFINITION = 2020,	/* the destination cannot read vm.json */
	CHECK_STATE_VERSION = 2021,
	CHECK_NAME_TAKEN = 2022,
	CHECK_LIMIT = 2023,		/* warning: max-migrations reached, it would queue */
	CHECK_MEMORY = 2024,		/* warning: less memory available than the VM's */
	CHECK_NO_KVM = 2030,		/* no KVM or vmmig.ko at the destination */
	CHECK_VENDOR = 2031,
	CHECK_CPU_FEATURES = 2032,
	CHECK_MODE_MASK = 2033,		/* beyond the destination's mask of its mode */
	CHECK_NIC = 2040,		/* tap missing, or not in a bridge */
	CHECK_DISK = 2041,		/* a disk path the destination cannot use */
};

/* The issues found: a JSON array of {id, severity, message, fix}. */
struct issues {
	struct json_object *a;
	unsigned int errors;
};
void issue_add(struct issues *is, enum check_id id, bool error, const char *fix,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void issues_why(const struct issues *is, char *why);
/* The VM here (loaded into @d, its folder into @dir) and this host; -errno if no VM. */
int check_local(const char *vm, struct vmdef *d, char *dir, size_t dirlen, struct issues *is);
/* CHECK over a control connection after HELLO: the destination's issues. */
int check_remote(struct tls_conn *c, const struct vmdef *d, struct issues *is, char *why);
void check_serve(struct tls_conn *c, struct json_object *frame);
/* `vmmig check`: {vm, to, peer, compatible, issues}. */
struct json_object *check_run(const char *vm, const char *to);

/* settings.c */
int settings_load_apply(char *why);
void *settings_watch(void *arg);
bool settings_migration_enabled(char *why);
unsigned int settings_max_migrations(void);

#endif
