/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the in-VM tests: an event listener with a timeout,
 * raw requests, capability dropping and module (re)loading through libkmod.
 */
#ifndef VMMIG_SELFTEST_H
#define VMMIG_SELFTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <netlink/msg.h>

#include "nl.h"

struct listener {
	struct nl_sock *sk;
	int family;		/* vmmig family id seen by this listener */
};

/* Joins vmmig "events" and, with @ctrl, nlctrl "notify". */
int listener_open(struct listener *l, bool ctrl);
void listener_close(struct listener *l);
/*
 * Waits up to @timeout_ms for a message of @type/@cmd (type 0: the vmmig
 * family); copies it to @buf. Returns its length, -ETIMEDOUT or -errno.
 */
int listener_wait(struct listener *l, uint16_t type, uint8_t cmd,
		  void *buf, size_t size, int timeout_ms);

/* Sends @msg and returns the kernel's verdict; @nl->err holds the extack. */
int send_raw(struct vmmig_nl *nl, struct nl_msg *msg);

/* Drops CAP_NET_ADMIN from the effective, permitted and inheritable sets. */
int drop_cap_net_admin(void);

/* Unloads / loads a module by name or by path (libkmod). */
int module_remove(const char *name);
int module_insert_path(const char *path);
int module_probe(const char *name);
bool module_loaded(const char *name);

#endif
