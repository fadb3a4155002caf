/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration data path: one VM state stream spread over N streams (each
 * a whole vmstate stream of its own), memory compressed per chunk, a
 * bandwidth cap over all of them. Stream 0 carries every section that is
 * not memory; a memory chunk goes on the stream of its 1 MiB window, so the
 * copies of a page stay in order however the streams are read.
 * Documentation/design/vm-state.rst describes the format.
 */
#ifndef VMMIG_STREAM_H
#define VMMIG_STREAM_H

#include <stdint.h>

#include "mig.h"
#include "vmstate.h"

/* A chunk's window: the stream of every page in it. */
#define MIG_WINDOW	((uint64_t)VMSTATE_CHUNK_PAGES * 4096)

/*
 * The stream of a disk's window (VMSTATE_DISK_WINDOW bytes at @offset):
 * every copy of a block takes the same one; disks start on different ones.
 */
static inline unsigned int mig_disk_stream(unsigned int disk, uint64_t offset, unsigned int n)
{
	return (offset / VMSTATE_DISK_WINDOW + disk) % n;
}

/*
 * The socket buffers of a stream, both ends (the kernel doubles it). Left
 * to autotuning they grow to megabytes: the receiver's would hold what its
 * VMM has not yet taken in, unseen by the source, whose throughput and
 * downtime estimates would then trust a faster path than there is, and
 * whose last pages would wait there during the downtime. A window of this
 * size still carries 2.5 GB/s per stream at a LAN's 50 us round trip, but
 * only about 26 MB/s at 10 ms: over long paths, use more streams.
 */
#define MIG_SOCK_BUF	(128 << 10)

/* mig_tx_finish(): nothing acknowledged for this long, the path is dead. */
#define MIG_ACK_TIMEOUT_S	30

struct mig_tx;

/*
 * Starts a sender thread per fd, each writing the stream header (with
 * @hdr_flags, VMSTATE_F_*). @w becomes the writer the VMM puts sections in:
 * memory goes to the stream of its window, the rest to stream 0, in order;
 * vmstate_finish(@w) ends stream 0. One thread puts sections.
 */
int mig_tx_open(struct mig_tx **txp, const int *fds, unsigned int nfds, const struct mig_opts *o,
		uint32_t hdr_flags, struct vmstate_writer *w, char *why);
/* Waits until every section put so far is written; 0 or the first error, with @why. */
int mig_tx_drain(struct mig_tx *tx, char *why);
/*
 * Ends streams 1..N-1, drains, and waits until the destination acknowledged
 * every byte (a cancel, a failed socket or MIG_ACK_TIMEOUT_S without
 * progress end the wait); stream 0 ends with vmstate_finish().
 */
int mig_tx_finish(struct mig_tx *tx, char *why);
/*
 * A failed stream's replacement (mig-level failover, e.g. to another
 * network): called by the stream's sender when a write fails with @err
 * (@why), it returns a new connection's fd (the stream begins again on it
 * with a header), or < 0 and the stream fails as without it. It may block.
 */
typedef int (*mig_tx_replace_fn)(void *ctx, unsigned int idx, int err, const char *why);
/*
 * From another thread: @fd is stream @idx's new connection, unasked (its
 * network failed under another stream); the old one is shut down, and the
 * stream goes over (drains wait for it). -ECANCELED when the streams end.
 */
int mig_tx_give(struct mig_tx *tx, unsigned int idx, int fd);
/* Allows replacements (@fn), or no more (NULL: from then on a failure fails). */
void mig_tx_set_replace(struct mig_tx *tx, mig_tx_replace_fn fn, void *ctx);
/*
 * The streams replaced since the last call, a bit each: what they held in
 * flight may be lost, so every page of their windows must go again.
 */
uint32_t mig_tx_take_replaced(struct mig_tx *tx);
unsigned int mig_tx_streams(const struct mig_tx *tx);
/* Bytes written on all streams (@wire) and what they held before compression (@raw). */
void mig_tx_bytes(struct mig_tx *tx, uint64_t *wire, uint64_t *raw);
/*
 * Bytes the streams' sockets still hold, not yet acknowledged by the other
 * end (SIOCOUTQ; over kTLS, with the records' overhead); 0 for files. With
 * the relay (no kTLS) the socket is vmmigd's AF_UNIX pair: what the relay
 * has not read yet, not what the path carries.
 */
uint64_t mig_tx_unacked(struct mig_tx *tx);
/* A new bandwidth cap (bytes per second, 0: none), from the next section on. */
void mig_tx_set_rate(struct mig_tx *tx, uint64_t rate);
/*
 * While the thread that puts sections waits (for room in a stream's queue,
 * or in mig_tx_drain()), @fn(@ctx) is called every MIG_WAIT_TICK_MS of it,
 * in that thread, locks released: a slow path's progress is still told.
 * NULL: none. Set and cleared by that thread.
 */
#define MIG_WAIT_TICK_MS	200
void mig_tx_set_wait(struct mig_tx *tx, void (*fn)(void *ctx), void *ctx);
/* From another thread: every stream fails now with @err and @why. */
void mig_tx_cancel(struct mig_tx *tx, int err, const char *why);
/* Stops the threads (shutting the sockets down if a stream failed) and frees @tx. */
void mig_tx_close(struct mig_tx *tx);

/* What a reader gives the sections to: 0, or -errno with @why set. */
typedef int (*mig_rx_fn)(void *ctx, unsigned int stream, const struct vmstate_section *s,
			 char *why);

/*
 * Reads @nfds streams to their END, streams 1..N-1 each in a thread of its
 * own, stream 0 in the caller's, and gives @fn each section, memory
 * decompressed: flags 0 (the present pages follow the chunk header) or
 * VMSTATE_CHUNK_ZERO (no payload: the present pages are zero). Streams 1..N-1 may carry only memory. Returns when
 * every stream ended or one failed (the others are then shut down): 0, or
 * -errno with @why ("stream K: reason" when N > 1).
 */
int mig_rx_run(const int *fds, unsigned int nfds, mig_rx_fn fn, void *ctx, char *why);

/*
 * Replacement connections for the streams of a running mig_rx_run_swap():
 * a stream whose connection fails, or ends without its END, waits up to
 * MIG_SWAP_WAIT_S for one, and reads on from its header; the section it
 * was in comes again. mig_swap_give() (from any thread) shuts the old
 * connection down, so that a read blocked on a dead network returns.
 */
#define MIG_SWAP_WAIT_S		60
struct mig_swap;
struct mig_swap *mig_swap_new(void);
void mig_swap_free(struct mig_swap *sw);
/*
 * The migration is off: every stream fails now, none waits. With @corrupt
 * (a stream's bytes failed their check where the reader could not see it,
 * in vmmigd's TLS relay, which ended that stream) the stream that ended
 * fails with that reason, as -EBADMSG, and the others stop after it.
 */
void mig_swap_abort(struct mig_swap *sw, const char *corrupt);
/* @fd replaces stream @idx's connection (taken over: closed by the reader). */
int mig_swap_give(struct mig_swap *sw, unsigned int idx, int fd);
int mig_rx_run_swap(const int *fds, unsigned int nfds, mig_rx_fn fn, void *ctx,
		    struct mig_swap *swap, char *why);

#endif
