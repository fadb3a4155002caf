/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol between the CLI and vmmigd, over its UNIX socket (root
 * only): one JSON request per connection, with a version; replies
 * {"ok": true|false, "version": V, "error": "why", RESULTS...}. A move that
 * waits first sends lines {"migration": {...}} as it progresses, then its
 * reply. monitor's reply is followed by lines {"event": {...}}.
 * Documentation/design/migration.rst describes the objects.
 */
#ifndef VMMIG_DCTL_H
#define VMMIG_DCTL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "mig.h"
#include "vmdef.h"

#define DCTL_VERSION		1
#define DCTL_LINE_MAX		(64 << 10)
#define DCTL_DEFAULT_SOCKET	"/run/vmmig/vmmigd.sock"

#define DCTL_KEY_CMD		"cmd"
#define DCTL_KEY_VERSION	"version"
#define DCTL_KEY_OK		"ok"
#define DCTL_KEY_ERROR		"error"
#define DCTL_KEY_STORAGE	"storage"
#define DCTL_KEY_MIGRATION	"migration"	/* one migration's object */
#define DCTL_KEY_MIGRATIONS	"migrations"
#define DCTL_KEY_EVENT		"event"
#define DCTL_KEY_MEMBERS	"members"	/* cluster-list */
#define DCTL_KEY_FEATURES	"features"	/* cluster-features */
#define DCTL_KEY_NETWORKS	"networks"	/* network-*: {use_any_network, networks} */
#define DCTL_KEY_STATS		"stats"		/* stats: {bpf, networks, streams} */
#define DCTL_KEY_CHECK		"check"		/* check: {vm, to, peer, compatible, issues} */
/* vm-start, vm-restore: false when vmmigd serves another state directory. */
#define DCTL_KEY_SUPERVISED	"supervised"
#define DCTL_KEY_VM		"vm"		/* vm-restore: the VM's name */
#define DCTL_KEY_PID		"pid"		/* vm-start, vm-restore: the VMM's */
#define DCTL_KEY_WARNING	"warning"	/* vm-start, vm-restore: the VM runs, but */

enum dctl_cmd {
	DCTL_STATUS,
	DCTL_MOVE,		/* vm, to, options, storage, detach */
	DCTL_LIST,		/* vm (optional) */
	DCTL_SHOW,		/* vm */
	DCTL_CANCEL,		/* vm */
	DCTL_MONITOR,
	DCTL_CLUSTER_ADD,	/* to */
	DCTL_CLUSTER_REMOVE,	/* to: the member's host name */
	DCTL_CLUSTER_LIST,
	DCTL_CLUSTER_FEATURES,
	DCTL_CHECK,		/* vm, to, storage */
	DCTL_NETWORK_ADD,	/* network, priority (0: after the others) */
	DCTL_NETWORK_DEL,	/* network */
	DCTL_NETWORK_SET,	/* network, priority */
	DCTL_NETWORK_LIST,
	DCTL_NETWORK_ANY,	/* on: use-any-network */
	DCTL_STATS,
	DCTL_STORAGE_MOVE,	/* vm, storage, detach: its disks elsewhere on this host */
	/*
	 * vm, paused, state_dir: vmmigd starts the VMM, its child and
	 * supervised (Documentation/admin-guide/vm.rst), if state_dir is its.
	 */
	DCTL_VM_START,
	DCTL_VM_RESTORE,	/* path (absolute), vm (a new name, or ""), paused, state_dir */
	DCTL_NCMDS
};

struct dctl_request {
	enum dctl_cmd cmd;
	char vm[VMDEF_NAME_MAX + 1];
	char to[256];
	bool detach;
	bool dry_run;		/* move: predict only */
	struct mig_opts mig;
	struct mig_storage storage;
	char network[64];	/* ADDR/PREFIX */
	uint32_t priority;
	bool on;
	bool paused;
	char path[1024];
	char state_dir[1024];
};

/* $VMMIG_SOCKET or the default. */
const char *dctl_socket(void);
struct json_object *dctl_request_to_json(const struct dctl_request *r);
int dctl_request_from_json(struct json_object *o, struct dctl_request *r, char *why);
/*
 * Connects and sends @r: the connection, or -errno with @why ("vmmigd is
 * not running (no SOCKET)" when nobody listens).
 */
int dctl_open(const struct dctl_request *r, char *why);
/*
 * Reads the next line: 1 and a progress or event object in *@o, 0 and the
 * reply (ok) in *@o, or -errno: -EREMOTEIO with vmmigd's reason in @why.
 */
int dctl_next(int fd, struct json_object **o, char *why);

#endif
