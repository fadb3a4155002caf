// SPDX-License-Identifier: GPL-2.0
/*
 * The migration data path. The VMM's thread copies each section into a slot
 * of its stream's queue; the stream's sender thread compresses memory,
 * waits for the bandwidth cap and writes. Compression is CPU work that N
 * senders spread over N cores; the copy keeps guest memory out of the
 * senders' hands, so a page the guest writes while it is being sent cannot
 * make a chunk disagree with itself. Receiving is in stream_rx.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <lz4.h>
#include <zstd.h>

#include "stream.h"
#include "thread.h"
#include "vmdef.h"

/* Sections queued per stream: enough to keep a sender busy while the VMM copies. */
#define QDEPTH		4
#define SECTION_OVERHEAD 20	/* section header and CRC */
#define BURST_NS	(50 * 1000000ULL)

struct slot {
	uint32_t type;
	uint16_t instance;
	size_t len;
	uint8_t *buf;
	size_t cap;
};

struct tx_stream {
	struct mig_tx *tx;
	unsigned int idx;
	int fd;
	int orig_fd;			/* the caller's: closed by the caller */
	int pending_fd;			/* a replacement given (mig_tx_give), or -1 */
	pthread_t thread;
	bool started;
	struct vmstate_writer w;
	struct slot slot[QDEPTH];
	unsigned int head, tail;	/* tail - head slots are queued, head is being written */
	uint8_t *zbuf;			/* compressed pages */
	size_t zcap;
	ZSTD_CCtx *cctx;
	uint64_t wire, raw;		/* atomic */
};

struct mig_tx {
	unsigned int n;
	enum mig_compress compress;
	int level;
	uint32_t hdr_flags;
	pthread_mutex_t lock;		/* queues, stop, err */
	pthread_cond_t cond;
	bool stop;
	int err;
	char why[VMMIG_ERRLEN];
	/* the bandwidth cap: when the bytes reserved so far are sent at the rate */
	uint64_t rate;
	uint64_t due_ns;
	pthread_mutex_t bw_lock;
	/* A failed stream's replacement (mig_tx_set_replace), under lock. */
	mig_tx_replace_fn replace;
	void *replace_ctx;
	uint32_t replaced;		/* streams replaced, not yet taken */
	/* Told while the putting thread waits (mig_tx_set_wait); that thread's own. */
	void (*wait_fn)(void *ctx);
	void *wait_ctx;
	uint64_t wait_next;		/* when next, CLOCK_MONOTONIC ns */
	struct tx_stream s[MIG_MAX_STREAMS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A token bucket holding BURST_NS of the rate: a stream sends when the cap
 * allows its bytes. The small credit makes up for a sender that woke late,
 * so the rate holds on a busy machine; it never lets through more than
 * BURST_NS worth above the cap.
 */
static void bw_wait(struct mig_tx *tx, uint64_t bytes)
{
	struct timespec ts;
	uint64_t now, due;

	if (!__atomic_load_n(&tx->rate, __ATOMIC_RELAXED))
		return;
	now = mono_ns();
	pthread_mutex_lock(&tx->bw_lock);
	if (tx->due_ns + BURST_NS < now)
		tx->due_ns = now - BURST_NS;
	tx->due_ns += bytes * 1000000000ULL / tx->rate;
	due = tx->due_ns;
	pthread_mutex_unlock(&tx->bw_lock);
	if (due <= now)
		return;
	/* In slices: a cancel, a failure or a lifted cap ends the wait. */
	while (now < due && !__atomic_load_n(&tx->err, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&tx->rate, __ATOMIC_RELAXED)) {
		uint64_t until = due - now > 50000000 ? now + 50000000 : due;

		ts.tv_sec = until / 1000000000ULL;
		ts.tv_nsec = until % 1000000000ULL;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		now = mono_ns();
	}
}

void mig_tx_set_rate(struct mig_tx *tx, uint64_t rate)
{
	pthread_mutex_lock(&tx->bw_lock);
	__atomic_store_n(&tx->rate, rate, __ATOMIC_RELAXED);
	tx->due_ns = 0;
	pthread_mutex_unlock(&tx->bw_lock);
}

void mig_tx_cancel(struct mig_tx *tx, int err, const char *why)
{
	unsigned int i;

	pthread_mutex_lock(&tx->lock);
	if (!tx->err) {
		__atomic_store_n(&tx->err, err, __ATOMIC_RELAXED);
		snprintf(tx->why, sizeof(tx->why), "%s", why);
	}
	/* Senders blocked in a write return at once. */
	for (i = 0; i < tx->n; i++)
		shutdown(tx->s[i].fd, SHUT_RDWR);
	pthread_cond_broadcast(&tx->cond);
	pthread_mutex_unlock(&tx->lock);
}

static void tx_fail(struct mig_tx *tx, struct tx_stream *s, int err, const char *what)
{
	pthread_mutex_lock(&tx->lock);
	if (!tx->err) {
		__atomic_store_n(&tx->err, err, __ATOMIC_RELAXED);
		if (tx->n > 1)
			snprintf(tx->why, sizeof(tx->why), "stream %u: %s: %s", s->idx, what,
				 strerror(-err));
		else
			snprintf(tx->why, sizeof(tx->why), "%s: %s", what, strerror(-err));
	}
	pthread_cond_broadcast(&tx->cond);
	pthread_mutex_unlock(&tx->lock);
}

/* The compressed length of @n bytes at @src in s->zbuf, or 0 when they do not shrink. */
static size_t compress_pages(struct tx_stream *s, const uint8_t *src, size_t n)
{
	size_t r;
	int l;

	if (s->tx->compress == MIG_COMP_LZ4) {
		l = LZ4_compress_default((const char *)src, (char *)s->zbuf, n, n - 1);
		return l > 0 ? (size_t)l : 0;
	}
	r = ZSTD_compressCCtx(s->cctx, s->zbuf, n - 1, src, n,
			      s->tx->level ? s->tx->level : ZSTD_CLEVEL_DEFAULT);
	return ZSTD_isError(r) ? 0 : r;
}

static int send_slot(struct tx_stream *s, struct slot *sl)
{
	struct vmstate_mem_chunk c;
	uint64_t before = s->w.bytes;
	size_t zlen = 0, hl = sizeof(c);
	int err;

	if (sl->type == VMSTATE_END) {
		err = vmstate_finish(&s->w);
	} else if (sl->type == VMSTATE_MEMORY && s->tx->compress != MIG_COMP_NONE &&
		   sl->len > hl) {
		memcpy(&c, sl->buf, hl);
		zlen = compress_pages(s, sl->buf + hl, sl->len - hl);
		if (zlen)
			c.flags = s->tx->compress == MIG_COMP_LZ4 ? VMSTATE_CHUNK_LZ4 :
								    VMSTATE_CHUNK_ZSTD;
		bw_wait(s->tx, SECTION_OVERHEAD + hl + (zlen ? zlen : sl->len - hl));
		err = zlen ? vmstate_put(&s->w, sl->type, sl->instance, &c, hl, s->zbuf, zlen) :
			     vmstate_put(&s->w, sl->type, sl->instance, sl->buf, sl->len, NULL, 0);
	} else {
		bw_wait(s->tx, SECTION_OVERHEAD + sl->len);
		err = vmstate_put(&s->w, sl->type, sl->instance, sl->buf, sl->len, NULL, 0);
	}
	__atomic_add_fetch(&s->wire, s->w.bytes - before, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->raw, sl->type == VMSTATE_END ? s->w.bytes - before :
				    SECTION_OVERHEAD + sl->len, __ATOMIC_RELAXED);
	return err;
}

/* The stream header, on a new connection too. */
static int begin(struct tx_stream *s)
{
	int err = vmstate_begin_flags(&s->w, s->fd, s->tx->hdr_flags);

	__atomic_add_fetch(&s->wire, s->w.bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->raw, s->w.bytes, __ATOMIC_RELAXED);
	return err;
}

/*
 * Stream @s failed with @err: with a replacement allowed, a new connection
 * takes its place and begins with a header (the section being written goes
 * again, whole); what the old one held in flight, the caller sends again
 * (mig_tx_take_replaced()). 0 once replaced, else @err.
 */
static int replace(struct tx_stream *s, int err)
{
	struct mig_tx *tx = s->tx;
	char why[VMMIG_ERRLEN];
	mig_tx_replace_fn fn;
	void *ctx;
	int fd;

	pthread_mutex_lock(&tx->lock);
	fn = tx->err || tx->stop ? NULL : tx->replace;
	ctx = tx->replace_ctx;
	/* One given already (its old connection shut down for it): no need to ask. */
	fd = tx->err ? -1 : s->pending_fd;
	if (fd >= 0)
		s->pending_fd = -1;
	pthread_mutex_unlock(&tx->lock);
	if (fd < 0 && !fn)
		return err;
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(-err));
		fd = fn(ctx, s->idx, err, why);
	}
	if (fd < 0)
		return err;
	pthread_mutex_lock(&tx->lock);
	/* Cancelled meanwhile: the new one is shut down as the others were. */
	if (tx->err)
		shutdown(fd, SHUT_RDWR);
	if (s->fd != s->orig_fd)
		close(s->fd);
	else
		shutdown(s->fd, SHUT_RDWR);
	s->fd = fd;
	tx->replaced |= 1u << s->idx;
	pthread_mutex_unlock(&tx->lock);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ MIG_SOCK_BUF }, sizeof(int));
	return begin(s);
}

static void *sender(void *arg)
{
	struct tx_stream *s = arg;
	struct mig_tx *tx = s->tx;
	int err;

	err = begin(s);
	while (err) {
		err = replace(s, err);
		if (err) {
			tx_fail(tx, s, err, "write");
			return NULL;
		}
	}
	for (;;) {
		pthread_mutex_lock(&tx->lock);
		while (!tx->stop && !tx->err && s->head == s->tail && s->pending_fd < 0)
			pthread_cond_wait(&tx->cond, &tx->lock);
		if (!tx->err && s->pending_fd >= 0) {
			/* Given a new connection while idle: over to it now. */
			pthread_mutex_unlock(&tx->lock);
			err = replace(s, -ECONNRESET);
			pthread_mutex_lock(&tx->lock);
			pthread_cond_broadcast(&tx->cond);
			pthread_mutex_unlock(&tx->lock);
			if (err) {
				tx_fail(tx, s, err, "write");
				return NULL;
			}
			continue;
		}
		if (tx->err || s->head == s->tail) {
			pthread_mutex_unlock(&tx->lock);
			return NULL;
		}
		pthread_mutex_unlock(&tx->lock);
		err = send_slot(s, &s->slot[s->head % QDEPTH]);
		/* Replaced: the same slot again, on the new connection. */
		if (err && !(err = replace(s, err)))
			continue;
		if (err) {
			tx_fail(tx, s, err, "write");
			return NULL;
		}
		pthread_mutex_lock(&tx->lock);
		s->head++;
		pthread_cond_broadcast(&tx->cond);
		pthread_mutex_unlock(&tx->lock);
	}
}

void mig_tx_set_wait(struct mig_tx *tx, void (*fn)(void *ctx), void *ctx)
{
	tx->wait_fn = fn;
	tx->wait_ctx = ctx;
	tx->wait_next = mono_ns() + MIG_WAIT_TICK_MS * 1000000ULL;
}

/*
 * The putting thread waits for the senders, under tx->lock. wait_fn is
 * told at each MIG_WAIT_TICK_MS however often the senders wake the thread
 * (every section they write does): its deadline is kept across wakeups.
 */
static void wait_senders(struct mig_tx *tx)
{
	struct timespec until;
	uint64_t now;

	if (!tx->wait_fn) {
		pthread_cond_wait(&tx->cond, &tx->lock);
		return;
	}
	now = mono_ns();
	if (now < tx->wait_next) {
		until.tv_sec = tx->wait_next / 1000000000ULL;
		until.tv_nsec = tx->wait_next % 1000000000ULL;
		if (pthread_cond_timedwait(&tx->cond, &tx->lock, &until) != ETIMEDOUT)
			return;
		now = mono_ns();
	}
	tx->wait_next = now + MIG_WAIT_TICK_MS * 1000000ULL;
	pthread_mutex_unlock(&tx->lock);
	tx->wait_fn(tx->wait_ctx);
	pthread_mutex_lock(&tx->lock);
}

/* Copies a section into a slot of stream @idx, waiting for one to be free. */
static int enqueue(struct mig_tx *tx, unsigned int idx, uint32_t type, uint16_t instance,
		   const void *a, size_t alen, const void *b, size_t blen)
{
	struct tx_stream *s = &tx->s[idx];
	struct slot *sl;
	int err;

	pthread_mutex_lock(&tx->lock);
	while (!tx->err && s->tail - s->head == QDEPTH)
		wait_senders(tx);
	err = tx->err;
	pthread_mutex_unlock(&tx->lock);
	if (err)
		return err;
	sl = &s->slot[s->tail % QDEPTH];
	if (alen + blen > sl->cap) {
		uint8_t *nb = realloc(sl->buf, alen + blen);

		if (!nb)
			return -ENOMEM;
		sl->buf = nb;
		sl->cap = alen + blen;
	}
	*sl = (struct slot){ type, instance, alen + blen, sl->buf, sl->cap };
	if (alen)
		memcpy(sl->buf, a, alen);
	if (blen)
		memcpy(sl->buf + alen, b, blen);
	pthread_mutex_lock(&tx->lock);
	s->tail++;
	pthread_cond_broadcast(&tx->cond);
	pthread_mutex_unlock(&tx->lock);
	return 0;
}

static int tx_put(struct vmstate_writer *w, uint32_t type, uint16_t instance,
		  const void *a, size_t alen, const void *b, size_t blen)
{
	struct mig_tx *tx = w->ctx;
	unsigned int idx = 0;
	uint64_t gpa;

	if (type == VMSTATE_MEMORY && alen >= sizeof(gpa)) {
		memcpy(&gpa, a, sizeof(gpa));
		idx = gpa / MIG_WINDOW % tx->n;
	} else if (type == VMSTATE_DISK && alen >= sizeof(gpa)) {
		memcpy(&gpa, a, sizeof(gpa));
		idx = mig_disk_stream(instance, gpa, tx->n);
	}
	w->sections++;
	return enqueue(tx, idx, type, instance, a, alen, b, blen);
}

int mig_tx_open(struct mig_tx **txp, const int *fds, unsigned int nfds, const struct mig_opts *o,
		uint32_t hdr_flags, struct vmstate_writer *w, char *why)
{
	pthread_condattr_t ca;
	struct mig_tx *tx;
	unsigned int i;
	int err;

	*txp = NULL;
	if (!nfds || nfds > MIG_MAX_STREAMS || o->compress >= MIG_NCOMP) {
		snprintf(why, VMMIG_ERRLEN, "%u streams, compression %d: 1 to %d streams and none, lz4 or zstd",
			 nfds, o->compress, MIG_MAX_STREAMS);
		return -EINVAL;
	}
	tx = calloc(1, sizeof(*tx));
	if (!tx)
		goto nomem;
	*tx = (struct mig_tx){ .n = nfds, .compress = o->compress, .level = o->level,
			       .hdr_flags = hdr_flags, .rate = o->bandwidth };
	pthread_mutex_init(&tx->lock, NULL);
	pthread_mutex_init(&tx->bw_lock, NULL);
	/* Its one timed wait (wait_senders()) counts monotonic time. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tx->cond, &ca);
	pthread_condattr_destroy(&ca);
	*txp = tx;
	for (i = 0; i < nfds; i++) {
		struct tx_stream *s = &tx->s[i];

		s->tx = tx;
		s->idx = i;
		s->fd = s->orig_fd = fds[i];
		s->pending_fd = -1;
		/* A socket (not a file): what it holds the path carries soon. */
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &(int){ MIG_SOCK_BUF }, sizeof(int));
		if (o->compress != MIG_COMP_NONE) {
			s->zcap = MIG_WINDOW;
			s->zbuf = malloc(s->zcap);
			if (!s->zbuf)
				goto nomem;
		}
		if (o->compress == MIG_COMP_ZSTD && !(s->cctx = ZSTD_createCCtx()))
			goto nomem;
	}
	for (i = 0; i < nfds; i++) {
		err = -pthread_create(&tx->s[i].thread, NULL, sender, &tx->s[i]);
		if (err) {
			snprintf(why, VMMIG_ERRLEN, "cannot start a sender thread: %s",
				 strerror(-err));
			goto fail;
		}
		thread_name(tx->s[i].thread, "mig-tx%u", i);
		tx->s[i].started = true;
	}
	*w = (struct vmstate_writer){ .fd = -1, .flags = hdr_flags, .put = tx_put, .ctx = tx };
	return 0;
nomem:
	snprintf(why, VMMIG_ERRLEN, "out of memory");
	err = -ENOMEM;
fail:
	mig_tx_close(tx);
	*txp = NULL;
	return err;
}

int mig_tx_drain(struct mig_tx *tx, char *why)
{
	unsigned int i;
	int err;

	pthread_mutex_lock(&tx->lock);
	for (i = 0; i < tx->n && !tx->err; i++)
		while (!tx->err && (tx->s[i].head != tx->s[i].tail || tx->s[i].pending_fd >= 0))
			wait_senders(tx);
	err = tx->err;
	if (err)
		snprintf(why, VMMIG_ERRLEN, "%s", tx->why);
	pthread_mutex_unlock(&tx->lock);
	return err;
}

uint64_t mig_tx_unacked(struct mig_tx *tx)
{
	uint64_t sum = 0;
	unsigned int i;
	int v;

	for (i = 0; i < tx->n; i++)
		if (!ioctl(tx->s[i].fd, SIOCOUTQ, &v) && v > 0)
			sum += v;
	return sum;
}

/* A stream's socket failed (reset, unreachable): its error, else 0. */
static int sock_failed(struct mig_tx *tx)
{
	unsigned int i;
	int e;

	for (i = 0; i < tx->n; i++)
		if (!getsockopt(tx->s[i].fd, SOL_SOCKET, SO_ERROR, &e, &(socklen_t){ sizeof(e) }) &&
		    e)
			return -e;
	return 0;
}

int mig_tx_finish(struct mig_tx *tx, char *why)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t held, least = UINT64_MAX, since = mono_ns();
	unsigned int i;
	int err = 0;

	for (i = 1; i < tx->n && !err; i++)
		err = enqueue(tx, i, VMSTATE_END, 0, NULL, 0, NULL, 0);
	err = mig_tx_drain(tx, why) ?: err;
	if (err)
		return err;
	/*
	 * Sent means at the destination: not in this host's socket buffers.
	 * A cancel, a failed socket, or nothing acknowledged for
	 * MIG_ACK_TIMEOUT_S ends the wait with an error.
	 */
	while ((held = mig_tx_unacked(tx))) {
		if (held < least) {
			least = held;
			since = mono_ns();
		}
		err = __atomic_load_n(&tx->err, __ATOMIC_RELAXED);
		if (err)
			return mig_tx_drain(tx, why) ?: err;
		err = sock_failed(tx);
		if (!err && mono_ns() - since > MIG_ACK_TIMEOUT_S * 1000000000ULL)
			err = -ETIMEDOUT;
		if (err) {
			snprintf(why, VMMIG_ERRLEN, "the destination did not take the last %llu bytes: %s",
				 (unsigned long long)held, strerror(-err));
			return err;
		}
		nanosleep(&ms, NULL);
	}
	return 0;
}

int mig_tx_give(struct mig_tx *tx, unsigned int idx, int fd)
{
	struct tx_stream *s;
	int err = 0;

	if (idx >= tx->n)
		return -EINVAL;
	s = &tx->s[idx];
	pthread_mutex_lock(&tx->lock);
	if (tx->err || tx->stop) {
		err = -ECANCELED;
	} else {
		if (s->pending_fd >= 0)
			close(s->pending_fd);
		s->pending_fd = fd;
		/* A write blocked on the dead connection fails now. */
		shutdown(s->fd, SHUT_RDWR);
		pthread_cond_broadcast(&tx->cond);
	}
	pthread_mutex_unlock(&tx->lock);
	return err;
}

void mig_tx_set_replace(struct mig_tx *tx, mig_tx_replace_fn fn, void *ctx)
{
	pthread_mutex_lock(&tx->lock);
	tx->replace = fn;
	tx->replace_ctx = ctx;
	pthread_mutex_unlock(&tx->lock);
}

uint32_t mig_tx_take_replaced(struct mig_tx *tx)
{
	uint32_t r;

	pthread_mutex_lock(&tx->lock);
	r = tx->replaced;
	tx->replaced = 0;
	pthread_mutex_unlock(&tx->lock);
	return r;
}

unsigned int mig_tx_streams(const struct mig_tx *tx)
{
	return tx->n;
}

void mig_tx_bytes(struct mig_tx *tx, uint64_t *wire, uint64_t *raw)
{
	unsigned int i;

	*wire = *raw = 0;
	for (i = 0; i < tx->n; i++) {
		*wire += __atomic_load_n(&tx->s[i].wire, __ATOMIC_RELAXED);
		*raw += __atomic_load_n(&tx->s[i].raw, __ATOMIC_RELAXED);
	}
}

void mig_tx_close(struct mig_tx *tx)
{
	unsigned int i, j;

	if (!tx)
		return;
	pthread_mutex_lock(&tx->lock);
	tx->stop = true;
	/* A sender blocked on a peer that stopped reading must not hold us. */
	if (tx->err)
		for (i = 0; i < tx->n; i++)
			shutdown(tx->s[i].fd, SHUT_RDWR);
	pthread_cond_broadcast(&tx->cond);
	pthread_mutex_unlock(&tx->lock);
	for (i = 0; i < tx->n; i++) {
		struct tx_stream *s = &tx->s[i];

		if (s->started)
			pthread_join(s->thread, NULL);
		if (s->fd != s->orig_fd)
			close(s->fd);
		if (s->pending_fd >= 0)
			close(s->pending_fd);
		for (j = 0; j < QDEPTH; j++)
			free(s->slot[j].buf);
		free(s->zbuf);
		ZSTD_freeCCtx(s->cctx);
	}
	pthread_mutex_destroy(&tx->lock);
	pthread_mutex_destroy(&tx->bw_lock);
	pthread_cond_destroy(&tx->cond);
	free(tx);
}
