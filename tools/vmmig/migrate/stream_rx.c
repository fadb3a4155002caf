// SPDX-License-Identifier: GPL-2.0
/*
 * The migration data path, receiving (stream.h; sending is in stream.c):
 * each stream is read in a thread of its own, its sections given to the
 * caller's function with memory decompressed. A stream whose connection
 * fails mid-copy takes the replacement handed over on swap.sock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <lz4.h>
#include <zstd.h>

#include "stream.h"
#include "thread.h"
#include "vmdef.h"

struct rx_stream {
	struct rx *rx;
	unsigned int idx;
	int fd;
	int orig_fd;			/* the caller's: closed by the caller */
	pthread_t thread;
	int err;
	char why[VMMIG_ERRLEN];
	uint8_t *buf;			/* a decompressed chunk */
	ZSTD_DCtx *dctx;
};

/* Replacement connections for a running mig_rx_run(), from another thread. */
struct mig_swap {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cur[MIG_MAX_STREAMS];	/* each stream's connection, -1: none yet */
	int next[MIG_MAX_STREAMS];	/* its replacement, -1: none */
	bool closed;
	char corrupt[VMMIG_ERRLEN];	/* mig_swap_abort()'s reason, if any */
};

struct rx {
	unsigned int n;
	mig_rx_fn fn;
	void *ctx;
	struct mig_swap *swap;
	pthread_mutex_t lock;
	bool failed;
	unsigned int first;		/* the stream that failed first */
	struct rx_stream s[MIG_MAX_STREAMS];
};

static int rx_bad(struct rx_stream *s, const struct vmstate_mem_chunk *c, const char *what)
{
	snprintf(s->why, VMMIG_ERRLEN, "memory section at 0x%llx: %s (corrupt)",
		 (unsigned long long)c->gpa, what);
	return -EBADMSG;
}

/*
 * A memory section as plain pages (decompressed into s->buf; @in itself
 * when it is plain already) or as zero pages (VMSTATE_CHUNK_ZERO, no
 * payload: the receiver knows best how to make pages zero).
 */
static int decode(struct rx_stream *s, const struct vmstate_section *in,
		  struct vmstate_section *out)
{
	struct vmstate_mem_chunk c;
	const size_t hl = sizeof(c);
	size_t used, clen, r;
	uint8_t *dst;

	*out = *in;
	if (in->type != VMSTATE_MEMORY)
		return 0;
	if (in->len < hl) {
		snprintf(s->why, VMMIG_ERRLEN, "memory section too short (corrupt)");
		return -EBADMSG;
	}
	memcpy(&c, in->data, hl);
	if (!c.flags)
		return 0;
	if (in->version < 2 || (c.flags != VMSTATE_CHUNK_LZ4 && c.flags != VMSTATE_CHUNK_ZSTD &&
				c.flags != VMSTATE_CHUNK_ZERO))
		return rx_bad(s, &c, "unknown chunk flags");
	if (c.pages > VMSTATE_CHUNK_PAGES)
		return rx_bad(s, &c, "too many pages");
	used = (size_t)vmstate_chunk_present(&c) * 4096;
	clen = in->len - hl;
	if (c.flags == VMSTATE_CHUNK_ZERO)
		return clen ? rx_bad(s, &c, "zero pages with a payload") : 0;
	if (!used || !clen || clen >= used)
		return rx_bad(s, &c, "compressed length out of bounds");
	if (!s->buf && !(s->buf = malloc(hl + MIG_WINDOW)))
		return -ENOMEM;
	dst = s->buf + hl;
	if (c.flags == VMSTATE_CHUNK_LZ4) {
		int l = LZ4_decompress_safe((const char *)in->data + hl, (char *)dst, clen, used);

		if (l < 0 || (size_t)l != used)
			return rx_bad(s, &c, "lz4 data does not decompress to its pages");
	} else {
		if (!s->dctx && !(s->dctx = ZSTD_createDCtx()))
			return -ENOMEM;
		r = ZSTD_decompressDCtx(s->dctx, dst, used, (const uint8_t *)in->data + hl, clen);
		if (ZSTD_isError(r) || r != used)
			return rx_bad(s, &c, "zstd data does not decompress to its pages");
	}
	c.flags = 0;
	memcpy(s->buf, &c, hl);
	out->data = s->buf;
	out->len = hl + used;
	return 0;
}

struct mig_swap *mig_swap_new(void)
{
	struct mig_swap *sw = calloc(1, sizeof(*sw));
	unsigned int i;

	if (!sw)
		return NULL;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->cond, NULL);
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		sw->cur[i] = sw->next[i] = -1;
	return sw;
}

void mig_swap_free(struct mig_swap *sw)
{
	unsigned int i;

	if (!sw)
		return;
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		if (sw->next[i] >= 0)
			close(sw->next[i]);
	pthread_mutex_destroy(&sw->lock);
	pthread_cond_destroy(&sw->cond);
	free(sw);
}

void mig_swap_abort(struct mig_swap *sw, const char *corrupt)
{
	unsigned int i;

	pthread_mutex_lock(&sw->lock);
	sw->closed = true;
	if (corrupt && !sw->corrupt[0])
		snprintf(sw->corrupt, sizeof(sw->corrupt), "%s", corrupt);
	/*
	 * A corrupt stream has ended already (its relay ended it): it fails
	 * first, and the others stop after it (rx_stop()), so that the move's
	 * reason names it.
	 */
	for (i = 0; i < MIG_MAX_STREAMS && !corrupt; i++)
		if (sw->cur[i] >= 0)
			shutdown(sw->cur[i], SHUT_RDWR);
	pthread_cond_broadcast(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

int mig_swap_give(struct mig_swap *sw, unsigned int idx, int fd)
{
	int err = 0;

	if (idx >= MIG_MAX_STREAMS)
		return -EINVAL;
	pthread_mutex_lock(&sw->lock);
	if (sw->closed || sw->cur[idx] < 0) {
		err = -ENOENT;
	} else {
		if (sw->next[idx] >= 0)
			close(sw->next[idx]);
		sw->next[idx] = fd;
		/* A read blocked on the dead connection returns now. */
		shutdown(sw->cur[idx], SHUT_RDWR);
		pthread_cond_broadcast(&sw->cond);
	}
	pthread_mutex_unlock(&sw->lock);
	return err;
}

/*
 * Stream @s's connection failed (@err), or ended without its END: the
 * replacement, when one comes within MIG_SWAP_WAIT_S, takes its place (true).
 * Bytes that failed their check (-EBADMSG: a TLS record kTLS refused, a
 * section's length or checksum) were corrupted, not lost: the path cannot be
 * trusted and the source, whose writes still succeed, would not know to
 * replace the connection. The move fails at once.
 */
static bool rx_swap(struct rx_stream *s, int err)
{
	struct mig_swap *sw = s->rx->swap;
	struct timespec t;
	bool failed;
	int fd = -1;

	if (!sw || err == -EBADMSG)
		return false;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += MIG_SWAP_WAIT_S;
	pthread_mutex_lock(&sw->lock);
	for (;;) {
		pthread_mutex_lock(&s->rx->lock);
		failed = s->rx->failed;
		pthread_mutex_unlock(&s->rx->lock);
		if (failed || sw->closed || sw->next[s->idx] >= 0)
			break;
		if (pthread_cond_timedwait(&sw->cond, &sw->lock, &t) == ETIMEDOUT)
			break;
	}
	if (!failed && sw->next[s->idx] >= 0) {
		fd = sw->next[s->idx];
		sw->next[s->idx] = -1;
		sw->cur[s->idx] = fd;
	}
	pthread_mutex_unlock(&sw->lock);
	if (fd < 0)
		return false;
	pthread_mutex_lock(&s->rx->lock);
	if (s->fd != s->orig_fd)
		close(s->fd);
	s->fd = fd;
	pthread_mutex_unlock(&s->rx->lock);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ MIG_SOCK_BUF }, sizeof(int));
	return true;
}

static int rx_read(struct rx_stream *s)
{
	struct vmstate_section sec, dec;
	struct vmstate_reader r;
	int err;

	err = vmstate_open(&r, s->fd, s->why);
	while (err && err != -ECANCELED && rx_swap(s, err))
		err = vmstate_open(&r, s->fd, s->why);
	while (!err) {
		err = vmstate_next(&r, &sec);
		/*
		 * The connection failed under a section, or ended early:
		 * a new one begins with its header, and the section again.
		 */
		if (err < 0 && rx_swap(s, err)) {
			vmstate_close(&r);
			err = vmstate_open(&r, s->fd, s->why);
			while (err && rx_swap(s, err))
				err = vmstate_open(&r, s->fd, s->why);
			continue;
		}
		if (err)
			break;
		if (s->idx && sec.type != VMSTATE_MEMORY && sec.type != VMSTATE_DISK) {
			err = -EBADMSG;
			snprintf(s->why, VMMIG_ERRLEN, "a %s section: only stream 0 carries state",
				 vmstate_type_name(sec.type));
			break;
		}
		err = decode(s, &sec, &dec);
		if (err == -ENOMEM)
			snprintf(s->why, VMMIG_ERRLEN, "out of memory");
		if (!err)
			err = s->rx->fn(s->rx->ctx, s->idx, &dec, s->why);
		if (!err) {
			pthread_mutex_lock(&s->rx->lock);
			err = s->rx->failed ? -ECANCELED : 0;
			pthread_mutex_unlock(&s->rx->lock);
			if (err)
				snprintf(s->why, VMMIG_ERRLEN, "stopped: another stream failed");
		}
	}
	vmstate_close(&r);
	/* Its bytes failed their check in vmmigd's relay: that is why it ended. */
	if (err < 0 && err != -EBADMSG && err != -ECANCELED && s->rx->swap) {
		pthread_mutex_lock(&s->rx->swap->lock);
		if (s->rx->swap->corrupt[0]) {
			snprintf(s->why, VMMIG_ERRLEN, "%s", s->rx->swap->corrupt);
			err = -EBADMSG;
		}
		pthread_mutex_unlock(&s->rx->swap->lock);
	}
	return err == 1 ? 0 : err;
}

/* Stream @idx failed: the others stop at their next read. */
static void rx_stop(struct rx *rx, unsigned int idx)
{
	unsigned int i;

	pthread_mutex_lock(&rx->lock);
	if (!rx->failed) {
		rx->first = idx;
		for (i = 0; i < rx->n && rx->n > 1; i++)
			shutdown(rx->s[i].fd, SHUT_RDWR);
	}
	rx->failed = true;
	pthread_mutex_unlock(&rx->lock);
	/* A stream waiting for its replacement stops waiting. */
	if (rx->swap) {
		pthread_mutex_lock(&rx->swap->lock);
		pthread_cond_broadcast(&rx->swap->cond);
		pthread_mutex_unlock(&rx->swap->lock);
	}
}

static void *receiver(void *arg)
{
	struct rx_stream *s = arg;

	s->err = rx_read(s);
	if (s->err)
		rx_stop(s->rx, s->idx);
	return NULL;
}

int mig_rx_run(const int *fds, unsigned int nfds, mig_rx_fn fn, void *ctx, char *why)
{
	return mig_rx_run_swap(fds, nfds, fn, ctx, NULL, why);
}

int mig_rx_run_swap(const int *fds, unsigned int nfds, mig_rx_fn fn, void *ctx,
		    struct mig_swap *swap, char *why)
{
	struct rx *rx;
	unsigned int i, started = 1;
	int err = 0;

	if (!nfds || nfds > MIG_MAX_STREAMS) {
		snprintf(why, VMMIG_ERRLEN, "%u streams: 1 to %d", nfds, MIG_MAX_STREAMS);
		return -EINVAL;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		snprintf(why, VMMIG_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	*rx = (struct rx){ .n = nfds, .fn = fn, .ctx = ctx, .swap = swap };
	pthread_mutex_init(&rx->lock, NULL);
	if (swap) {
		pthread_mutex_lock(&swap->lock);
		for (i = 0; i < nfds; i++)
			swap->cur[i] = fds[i];
		pthread_mutex_unlock(&swap->lock);
	}
	for (i = 0; i < nfds; i++) {
		rx->s[i] = (struct rx_stream){ .rx = rx, .idx = i, .fd = fds[i], .orig_fd = fds[i] };
		/* The source sees this end's own pace (MIG_SOCK_BUF). */
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &(int){ MIG_SOCK_BUF }, sizeof(int));
	}
	for (; started < nfds; started++) {
		err = -pthread_create(&rx->s[started].thread, NULL, receiver, &rx->s[started]);
		if (!err)
			thread_name(rx->s[started].thread, "mig-rx%u", started);
		if (err) {
			rx->s[0].err = err;
			snprintf(rx->s[0].why, VMMIG_ERRLEN, "cannot start a receiver thread: %s",
				 strerror(-err));
			rx_stop(rx, 0);
			break;
		}
	}
	if (!err) {
		rx->s[0].err = rx_read(&rx->s[0]);
		if (rx->s[0].err)
			rx_stop(rx, 0);
	}
	for (i = 1; i < started; i++)
		pthread_join(rx->s[i].thread, NULL);
	if (swap) {
		/* The connections that replaced the first ones are the caller's no more. */
		pthread_mutex_lock(&swap->lock);
		swap->closed = true;
		for (i = 0; i < nfds; i++) {
			if (rx->s[i].fd != rx->s[i].orig_fd)
				close(rx->s[i].fd);
			swap->cur[i] = -1;
		}
		pthread_cond_broadcast(&swap->cond);
		pthread_mutex_unlock(&swap->lock);
	}
	/* The first failure is the reason; the others followed from it. */
	err = rx->failed ? rx->s[rx->first].err : 0;
	if (err && nfds > 1)
		snprintf(why, VMMIG_ERRLEN, "stream %u: %s", rx->first, rx->s[rx->first].why);
	else if (err)
		snprintf(why, VMMIG_ERRLEN, "%s", rx->s[0].why);
	for (i = 0; i < nfds; i++) {
		free(rx->s[i].buf);
		ZSTD_freeDCtx(rx->s[i].dctx);
	}
	pthread_mutex_destroy(&rx->lock);
	free(rx);
	return err;
}
