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
#include "vmlog.h"
#include "vmstate.h"

#define VMMIGD_SOCKET		"/run/vmmig/vmmigd.sock"
#define VMMIGD_SETTINGS		"/etc/vmmig/host.json"
#define VMMIGD_HOST_MAX		64
#define MIG_TOKEN_LEN		16

enum mig_dir { MIG_OUT, MIG_IN, MIG_STORAGE };	/* MIG_STORAGE: disks on this host */

/* What bpf/vmmig_net.bpf.c counted of a stream (TCP payload). */
struct net_counts {
	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets, retransmits, srtt_us;
	bool valid;
};

/* The network a stream took: "any" for the address the move was given. */
struct stream_net {
	char network[64];
	char local[48], remote[64];
	unsigned int slot;		/* counted by eBPF now: slot + 1, or 0 */
	struct net_counts counts;	/* what eBPF counted, once it ended */
};

/* One migration, either way; shared with the CLI's watchers under d->lock. */
/* storage.c: the disks of a move with --include-storage, or of a storage move. */
struct storage_disk {
	char src[MIG_PATH_MAX], dst[MIG_PATH_MAX];
	uint64_t size, allocated;	/* bytes; allocated: of the source's image */
	bool readonly;
	bool stays;			/* a storage move on one host: not moved */
	bool created;			/* dst made here, removed if the move fails */
};

struct storage_plan {
	unsigned int n;			/* every disk of the VM, in its order */
	struct storage_disk d[VMDEF_MAX_DEVS];
};

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
	struct mig_storage storage_req;		/* source: as asked */
	struct storage_plan storage;		/* with opts.storage: each disk's way */
	struct mig_progress progress;
	uint64_t start_ns, end_ns, pause_ns, downtime_ns;
	/* Source: the downtime's parts (Documentation/design/migration.rst). */
	uint64_t stopcopy_ns, load_ns, commit_ns;
	/* Source: the streams carried memory from copy_start_ns, copy_ns long. */
	uint64_t copy_start_ns, copy_ns;
	uint64_t queued_ahead;			/* queued: migrations ahead */
	char error[VMMIG_ERRLEN];
	bool cancel;				/* asked to cancel */
	bool done;				/* final phase reached */
	bool slot;				/* holds a slot under max-migrations */
	bool storage_slot;			/* and one under max-storage-migrations */
	bool in_line;				/* waits for a slot (its place: id) */
	/* Source: the stream sockets, shut down to cancel, and their networks. */
	int sock[MIG_MAX_STREAMS];
	unsigned int nsock;
	/* Both ways: the networks of the streams, kept after the end. */
	struct stream_net net[MIG_MAX_STREAMS];
	unsigned int nnet;
	/* Source: every fallback from one network to the next, said as events. */
	struct json_object *fallbacks;
	int vmm_fd;				/* source: the VMM's migrate connection */
	/*
	 * Destination: streams attached so far; taken: handed to the VMM;
	 * closed: the VMM is done with them, and they are freed; resuming:
	 * replacements being handed over, which the close waits for.
	 */
	struct tls_conn *stream[MIG_MAX_STREAMS];
	unsigned int nstreams, resuming;
	bool streams_taken, streams_closed;
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
	unsigned int active;		/* slots taken under max-migrations */
	unsigned int storage_active;	/* under max-storage-migrations */
	bool stopping;
};

extern struct daemon vmmigd;

/* event.c: stable IDs; Documentation/admin-guide/migration.rst lists them. */
enum vmmigd_event {
	EV_DAEMON_START = 1000,
	EV_DAEMON_STOP = 1001,
	EV_SETTINGS = 1002,
	EV_PEER_REFUSED = 1003,
	EV_NETWORK = 1004,		/* a migration network added, removed, changed */
	EV_BPF = 1005,			/* eBPF programs loaded, or not, and why */
	EV_MIG_QUEUED = 1100,
	EV_MIG_START = 1101,
	EV_MIG_SWITCHOVER = 1102,
	EV_MIG_DONE = 1103,
	EV_MIG_FAILED = 1104,
	EV_MIG_CANCELLED = 1105,
	EV_MIG_UNKNOWN = 1106,
	EV_MIG_THROTTLE = 1107,
	EV_MIG_FALLBACK = 1108,		/* a stream took the next network */
	EV_MIG_STALL = 1109,		/* a stream retransmits (eBPF) */
	EV_MIG_IN_START = 1200,
	EV_MIG_IN_DONE = 1201,
	EV_MIG_IN_FAILED = 1202,
	EV_MIG_IN_UNKNOWN = 1203,
	EV_MIG_IN_STREAM = 1204,	/* a stream came again over another network */
	EV_STORAGE_START = 1400,	/* a storage move on this host */
	EV_STORAGE_DONE = 1401,
	EV_STORAGE_FAILED = 1402,
	EV_CLUSTER_JOIN = 1300,
	EV_CLUSTER_LEAVE = 1301,
	EV_CLUSTER_FEATURES = 1302,
	EV_CLUSTER_UNREACHABLE = 1303,
	EV_CLUSTER_REACHABLE = 1304,
	EV_VM_START = 1500,		/* vmmigd started a VMM: start, restore, autostart */
	EV_VM_END = 1501,		/* a VMM ended: how */
	EV_VM_AUTOSTART_FAILED = 1502,
	EV_VM_SCOPE_FAILED = 1503,	/* a VMM runs outside a scope of its own: why */
};
void event(enum vmmigd_event id, const struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An event about VM @vm (UUID @uuid, or NULL) outside a migration. */
void event_vm(enum vmmigd_event id, const char *vm, const uint8_t *uuid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A CLI watcher of events (vmmig monitor): lines go to @fd until it fails. */
void event_watch(int fd);

/* control.c */
int control_listen(const char *path, char *why);
void *control_client(void *arg);

/* peer.c: frames over TLS. */
int peer_send(struct tls_conn *c, enum frame_type type, struct json_object *o);
/*
 * A PROBE of @len bytes of filler; without a CRC when @unchecked (to a
 * destination whose HELLO says "probe_crc": false).
 */
int peer_send_probe(struct tls_conn *c, const void *p, uint32_t len, bool unchecked);
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
/* The same from this host's address @local (NULL: any). */
struct tls_conn *peer_connect_from(const char *to, const char *local, int *err, char *why);
int peer_listen(unsigned int port, char *why);
/* "ADDR:PORT" ([ADDR]:PORT for IPv6) of @ss, with @port unless 0. */
struct sockaddr_storage;
void sockaddr_str(const struct sockaddr_storage *ss, unsigned int port, char *out, size_t len);
/*
 * This host's HELLO: its name, protocol version, listener port, networks,
 * and "probe_crc": false (it takes probes without a CRC).
 */
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
/* A VMM's line: a progress line ({"progress": ...}) taken into @m's, true; else false. */
bool migration_progress(struct migration *m, struct json_object *line);
struct migration *migration_find(const char *vm, bool live_only);
/* Under vmmigd.lock: the migration of that direction and token, or NULL. */
struct migration *migration_by_token(enum mig_dir dir, const char *token);
uint64_t now_ns(void);
/* Waits for a slot under max-migrations, in order; false if cancelled meanwhile. */
void slot_join(struct migration *m);
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
	CHECK_STORAGE_PATH = 2042,	/* --include-storage: a destination file exists, no dir */
	CHECK_STORAGE_SPACE = 2043,	/* --include-storage: not enough free space */
	CHECK_NETWORK = 2050,		/* no migration network the two share */
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
int check_remote(struct tls_conn *c, const struct vmdef *d, const struct storage_plan *plan,
		 struct issues *is, char *why);
void check_serve(struct tls_conn *c, struct json_object *frame);
/* `vmmig check`: {vm, to, peer, compatible, issues}. */
struct json_object *check_run(const char *vm, const char *to, const struct mig_storage *storage);

/* storage.c */
/* Where each of @d's disks goes, as @req asks; -EINVAL with @why. */
int storage_plan_make(const struct mig_storage *req, const struct vmdef *d,
		      struct storage_plan *p, char *why);
struct json_object *storage_plan_to_json(const struct storage_plan *p);
int storage_plan_from_json(struct json_object *a, const struct vmdef *d, struct storage_plan *p,
			   char *why);
/* This host's view of the plan's destinations: paths and free space. */
void storage_check(const struct storage_plan *p, const char *vm, struct issues *is);
/*
 * Makes each destination image, sparse, of the source's size; @made (if
 * set) after each, to keep a list of them (an error stops it: -EIO).
 */
int storage_create(struct storage_plan *p, int (*made)(void *arg), void *arg, char *why);
/* Removes the destination images made here (a move that failed). */
void storage_remove_made(struct storage_plan *p);
/*
 * After a move with its disks, or a storage move: the old images, but for a
 * read-only one or one another VM of this host names; an event says so.
 */
void storage_remove_sources(struct migration *m);
/* The definition's disks at their destinations. */
void storage_apply(const struct storage_plan *p, struct vmdef *d);
/* The thread of a storage move on this host (DCTL_STORAGE_MOVE). */
void *storage_run(void *arg);

/*
 * network.c: the migration networks (Documentation/admin-guide/networks.rst).
 * Priority 1 is the best; "any" (the address the move was given) comes
 * after all when both hosts have use-any-network on.
 */
#define NETWORK_MAX		16
#define NETWORK_PRIORITY_MAX	1000

struct mig_network {
	char name[64];			/* ADDR/PREFIX, host bits cleared */
	int family;
	uint8_t addr[16];
	unsigned int plen, priority;
	char local[48], ifname[16];	/* this host's address in it, its device */
};

struct net_path {
	char network[64];
	char local[48], ifname[16];	/* empty for "any" */
	char remote[64];		/* ADDR:PORT, or the move's HOST[:PORT] */
	unsigned int priority;
	bool failed;
};

struct net_plan {
	struct net_path path[NETWORK_MAX + 1];
	unsigned int n;
};

int networks_init(char *why);
int network_parse(const char *spec, struct mig_network *n, char *why);
bool network_local(const struct mig_network *n, char *addr, size_t alen, char *ifname);
int network_add(const char *spec, unsigned int priority, char *why);
int network_del(const char *spec, char *why);
int network_set_priority(const char *spec, unsigned int priority, char *why);
int network_use_any(bool on, char *why);
/* {use_any_network, networks: [{network, priority, address, interface}]} */
struct json_object *networks_json(void);
/* Into this host's HELLO: the networks it has an address in. */
void networks_advertise(struct json_object *hello);
/*
 * The paths a move's streams may take to the host of @hello (its HELLO),
 * best first; -ENETUNREACH with @why when there is none.
 */
int network_plan(struct json_object *hello, const char *to, struct net_plan *p, char *why);
/* The path stream @stream takes: of the best not failed, spread; -1: none. */
int network_stream_path(const struct net_plan *p, unsigned int stream);

/* The priority of network @name here; after all of them for "any". */
unsigned int network_priority(const char *name);
/* The network of this host's address @ip (no port), or "any". */
void network_name_of(const char *ip, char *out, size_t len);
/* Stream @fd's ends and network (@network, or found by its address) into @n. */
void stream_net_fill(struct stream_net *n, int fd, const char *network);

/*
 * netbpf.c: bpf/vmmig_net.bpf.c (Documentation/design/bpf.rst). Without
 * it (it said why once, event 1005) the rest are no-ops.
 */
void netbpf_start(void);
void netbpf_stop(void);
/* Counts and marks stream @i of @m (m->net[i] filled), on socket @fd. */
void netbpf_stream(struct migration *m, unsigned int i, int fd, unsigned int priority);
/* @m ended: its streams' counts into m->net[] and the networks' totals. */
void netbpf_forget(struct migration *m);
/* A stream's counters (live, or at its end), or NULL. */
struct json_object *netbpf_stream_json(const struct stream_net *n);
/* `vmmig stats`: {bpf, networks, streams}. */
struct json_object *netbpf_stats_json(void);

/*
 * supervise.c: the VMMs of the state directory. supervise_start() watches
 * the ones running already; supervise_started() reports and watches one
 * vmmigd just started (@c: the vmctl of that start, @how: "started"...).
 */
void supervise_start(void);
void supervise_add(const char *vm, pid_t pid, bool child);
void supervise_started(struct vmctl *c, const char *vm, const char *how);
/* At vmmigd's first start since boot: the VMs with autostart on. */
void autostart_run(void);

/* settings.c */
int settings_load_apply(char *why);
void *settings_watch(void *arg);
bool settings_migration_enabled(char *why);
unsigned int settings_max_migrations(void);
unsigned int settings_max_storage_migrations(void);

#endif
