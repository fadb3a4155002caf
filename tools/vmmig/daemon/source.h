/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A move out, inside vmmigd: the state source.c's steps share with the
 * path's measure (source_predict.c) and the streams (source_stream.c).
 */
#ifndef VMMIGD_SOURCE_H
#define VMMIGD_SOURCE_H

#include "stream.h"
#include "vmmigd.h"

struct source_sample;

struct source {
	struct migration *m;
	struct tls_conn *ctl;			/* control connection */
	struct tls_conn *streams[MIG_MAX_STREAMS];
	struct net_plan plan;			/* the networks the streams may take */
	struct {
		int fd;
		uint64_t since_ns;		/* holding unacknowledged bytes since */
	} watch[MIG_MAX_STREAMS];
	uint64_t watched_ns;
	int vmm;				/* connection to the VMM, or -1 */
	struct source_sample *sample;		/* the dirty-rate sample, running */
	struct json_object *ready;		/* READY, when it came early */
	uint64_t stream_end_ns, ready_ns;	/* the VMM's reply, READY */
	uint64_t connect_ns;			/* the control connection's setup */
	bool probe_unchecked;			/* the destination takes CRC-less probes */
	bool has_hash, has_disk_hash;
	uint64_t disk_hash;
	uint64_t hash;				/* memory at the pause (--verify) */
	char dir[4096];
	char why[VMMIG_ERRLEN];
	/* The destination failed during the copy (ABORT, or gone): why; "" if not. */
	char peer_why[VMMIG_ERRLEN];
};

/* Sets s->why from @fmt; returns @err. */
int source_fail(struct source *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The VM's dirty rate, sampled by vmmig.ko for 2 s in a thread of its own:
 * started once the move has its slot, so that it overlaps the connection.
 * Dropped by the prediction, or by a move that ends before it (the thread
 * then ends alone).
 */
int source_sample_start(struct source *s);
void source_sample_drop(struct source *s);
/* The path's throughput, then the sample's end: the prediction. */
int source_predict(struct source *s);
/* The migration's streams, their plaintext in @fds for the VMM. */
int source_open_streams(struct source *s, int *fds);
/* The VMM's stream @k failed mid-copy: a connection over the next network. */
void source_replace_stream(struct source *s, unsigned int k, const char *vmm_why);
/* Gives up streams whose bytes go unacknowledged (at most once a second). */
void source_watch_streams(struct source *s);

#endif
