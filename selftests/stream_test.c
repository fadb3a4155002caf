// SPDX-License-Identifier: GPL-2.0
/*
 * The migration data path (tools/vmmig/migrate/stream.c, stream_rx.c) on
 * the host: a fake guest memory (random, zero, repeated and text-like pages)
 * goes through the stream writer and reader over socketpairs, a full pass
 * then rounds that send pages again, on 1 and 4 streams with each
 * compressor, and must arrive byte for byte. Corrupt and truncated streams are refused
 * with a reason; the bandwidth cap holds.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "stream.h"
#include "vmdef.h"

#define PAGE		4096UL
#define NPAGES		2048UL		/* 8 MiB, 8 windows */
#define MEM		(NPAGES * PAGE)

struct fake {
	uint8_t *mem;			/* where pages land */
	unsigned int state;		/* non-memory sections seen on stream 0 */
	unsigned int bad_stream;	/* non-memory sections on other streams */
	int fds[MIG_MAX_STREAMS];
	unsigned int n;
	int err;
	char why[VMMIG_ERRLEN];
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Pages as a guest holds them: zero, one repeated page, random, text. */
static void fill_page(uint8_t *p, unsigned int kind)
{
	static const char *const words[] = { "kernel ", "struct ", "return ", "page ", "\n\t",
					     "int ", "0x0000 ", "migration " };
	size_t i, n;

	switch (kind % 6) {
	case 0:
		memset(p, 0, PAGE);
		break;
	case 1:
		for (i = 0; i < PAGE; i++)
			p[i] = i * 7;
		break;
	case 2:
		for (i = 0; i < PAGE; i += 8) {
			uint64_t v = rnd();

			memcpy(p + i, &v, 8);
		}
		break;
	default:
		memset(p, 0, PAGE);
		for (i = 0; i < PAGE / 2; i += n) {
			const char *w = words[rnd() % 8];

			n = strlen(w);
			memcpy(p + i, w, n);
		}
		break;
	}
}

static void fill(uint8_t *mem)
{
	size_t i;

	for (i = 0; i < NPAGES; i++)
		/* window 3 is random only: its chunks do not shrink */
		fill_page(mem + i * PAGE, i / 256 == 3 ? 2 : rnd() % 6);
}

static int apply(void *ctx, unsigned int stream, const struct vmstate_section *s, char *why)
{
	struct fake *f = ctx;
	struct vmstate_mem_chunk c;
	const uint8_t *src = (const uint8_t *)s->data + sizeof(c);
	unsigned int i;

	if (s->type != VMSTATE_MEMORY) {
		if (stream)
			f->bad_stream++;
		else
			f->state++;
		return 0;
	}
	memcpy(&c, s->data, sizeof(c));
	if ((c.flags && c.flags != VMSTATE_CHUNK_ZERO) || c.pages > VMSTATE_CHUNK_PAGES ||
	    c.gpa + c.pages * PAGE > MEM ||
	    s->len != sizeof(c) + (c.flags ? 0 : vmstate_chunk_present(&c) * PAGE)) {
		snprintf(why, VMMIG_ERRLEN, "bad chunk at 0x%llx", (unsigned long long)c.gpa);
		return -EBADMSG;
	}
	for (i = 0; i < c.pages; i++)
		if (c.present[i / 8] & (1 << (i % 8))) {
			if (c.flags) {
				memset(f->mem + c.gpa + i * PAGE, 0, PAGE);
				continue;
			}
			memcpy(f->mem + c.gpa + i * PAGE, src, PAGE);
			src += PAGE;
		}
	return 0;
}

static void *reader(void *arg)
{
	struct fake *f = arg;

	f->err = mig_rx_run(f->fds, f->n, apply, f, f->why);
	return NULL;
}

/*
 * Puts the listed pages (ascending) as precopy does: a chunk per window;
 * zero pages left out (@first: the full pass) or as markers (the rounds).
 */
static int put_pages(struct vmstate_writer *w, const uint8_t *mem, const uint32_t *list,
		     size_t n, bool first)
{
	static uint8_t buf[VMSTATE_CHUNK_PAGES * PAGE];
	static const uint8_t zero[PAGE];
	struct vmstate_mem_chunk c = { 0 }, z = { .flags = VMSTATE_CHUNK_ZERO };
	size_t used = 0, i, k;
	int err = 0;

	for (k = 0; k <= n && !err; k++) {
		uint64_t gpa = k < n ? list[k] * PAGE : UINT64_MAX;

		if (c.pages && (k == n || gpa / MIG_WINDOW != c.gpa / MIG_WINDOW)) {
			if (used)
				err = vmstate_put(w, VMSTATE_MEMORY, 0, &c, sizeof(c), buf, used);
			if (!err && z.pages)
				err = vmstate_put(w, VMSTATE_MEMORY, 0, &z, sizeof(z), NULL, 0);
			memset(&c, 0, sizeof(c));
			memset(&z, 0, sizeof(z));
			z.flags = VMSTATE_CHUNK_ZERO;
			used = 0;
		}
		if (k == n)
			break;
		if (!c.pages)
			c.gpa = z.gpa = gpa & ~(MIG_WINDOW - 1);
		i = (gpa - c.gpa) / PAGE;
		c.pages = i + 1;
		if (!memcmp(mem + gpa, zero, PAGE)) {
			if (!first) {
				z.pages = i + 1;
				z.present[i / 8] |= 1 << (i % 8);
			}
			continue;
		}
		c.present[i / 8] |= 1 << (i % 8);
		memcpy(buf + used, mem + gpa, PAGE);
		used += PAGE;
	}
	return err;
}

struct run {
	unsigned int streams;
	enum mig_compress comp;
	int level;
	uint64_t bandwidth;
	uint32_t hdr_flags;
	int rounds;
	void (*wait_fn)(void *ctx);	/* mig_tx_set_wait(), or NULL */
	void *wait_ctx;
};

/*
 * A full pass, then @rounds rounds that change a quarter of the pages and
 * send them again, then END; the reader must end with @src's bytes.
 */
static int transfer(struct __test_metadata *_metadata, const struct run *r, uint8_t *src,
		    struct fake *f, uint64_t *wire, uint64_t *raw)
{
	static uint32_t list[NPAGES];
	int sv[MIG_MAX_STREAMS][2], tx_fds[MIG_MAX_STREAMS];
	struct mig_opts o;
	struct vmstate_writer w;
	struct mig_tx *tx;
	pthread_t th;
	char why[VMMIG_ERRLEN] = "";
	unsigned int i;
	size_t n, p;
	int err, round;

	mig_opts_default(&o);
	o.streams = r->streams;
	o.compress = r->comp;
	o.level = r->level;
	o.bandwidth = r->bandwidth;
	f->n = r->streams;
	for (i = 0; i < r->streams; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]));
		tx_fds[i] = sv[i][0];
		f->fds[i] = sv[i][1];
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, reader, f));
	err = mig_tx_open(&tx, tx_fds, r->streams, &o, r->hdr_flags, &w, why);
	ASSERT_EQ(0, err) TH_LOG("%s", why);
	if (r->wait_fn)
		mig_tx_set_wait(tx, r->wait_fn, r->wait_ctx);

	err = vmstate_put(&w, VMSTATE_DEFINITION, 0, "{}", 2, NULL, 0);
	for (n = 0; n < NPAGES; n++)
		list[n] = n;
	if (!err)
		err = put_pages(&w, src, list, NPAGES, true);
	for (round = 0; !err && round < r->rounds; round++) {
		for (n = 0, p = 0; p < NPAGES; p++)
			if (rnd() % 4 == 0) {
				fill_page(src + p * PAGE, rnd() % 6);
				list[n++] = p;
			}
		err = put_pages(&w, src, list, n, false);
		if (!err)
			err = mig_tx_drain(tx, why);
	}
	if (!err)
		err = vmstate_put(&w, VMSTATE_CLOCK, 0, "state", 5, NULL, 0);
	if (!err)
		err = vmstate_finish(&w);
	if (!err)
		err = mig_tx_finish(tx, why);
	mig_tx_bytes(tx, wire, raw);
	mig_tx_close(tx);
	for (i = 0; i < r->streams; i++)
		close(sv[i][0]);
	pthread_join(th, NULL);
	for (i = 0; i < r->streams; i++)
		close(sv[i][1]);
	EXPECT_EQ(0, err) TH_LOG("writer: %s", why);
	return f->err;
}

static void check_run(struct __test_metadata *_metadata, const struct run *r)
{
	uint8_t *src = malloc(MEM);
	struct fake f = { .mem = calloc(1, MEM) };
	uint64_t wire, raw;
	int err;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, f.mem);
	fill(src);
	err = transfer(_metadata, r, src, &f, &wire, &raw);
	ASSERT_EQ(0, err) TH_LOG("reader: %s", f.why);
	EXPECT_EQ(0, memcmp(src, f.mem, MEM));
	EXPECT_EQ(2, f.state);		/* definition and clock */
	EXPECT_EQ(0, f.bad_stream);
	if (r->comp == MIG_COMP_NONE) {
		EXPECT_EQ(wire, raw);
	} else {
		EXPECT_LT(wire, raw * 3 / 4);
	}
	TH_LOG("%u streams, %s: %llu bytes on the wire for %llu", r->streams,
	       mig_compress_names[r->comp], (unsigned long long)wire, (unsigned long long)raw);
	free(src);
	free(f.mem);
}

FIXTURE(stream) {
	int unused;
};

FIXTURE_VARIANT(stream) {
	unsigned int streams;
	enum mig_compress comp;
	uint32_t hdr_flags;
};

FIXTURE_VARIANT_ADD(stream, one_none) { 1, MIG_COMP_NONE, 0 };
FIXTURE_VARIANT_ADD(stream, one_lz4) { 1, MIG_COMP_LZ4, 0 };
FIXTURE_VARIANT_ADD(stream, one_zstd) { 1, MIG_COMP_ZSTD, 0 };
FIXTURE_VARIANT_ADD(stream, four_none) { 4, MIG_COMP_NONE, 0 };
FIXTURE_VARIANT_ADD(stream, four_lz4) { 4, MIG_COMP_LZ4, 0 };
FIXTURE_VARIANT_ADD(stream, four_zstd) { 4, MIG_COMP_ZSTD, 0 };
FIXTURE_VARIANT_ADD(stream, four_zstd_nocrc) { 4, MIG_COMP_ZSTD, VMSTATE_F_NO_MEMORY_CRC };
FIXTURE_VARIANT_ADD(stream, three_none_nocrc) { 3, MIG_COMP_NONE, VMSTATE_F_NO_MEMORY_CRC };

FIXTURE_SETUP(stream)
{
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(stream)
{
}

TEST_F(stream, rounds)
{
	struct run r = { .streams = variant->streams, .comp = variant->comp,
			 .hdr_flags = variant->hdr_flags, .rounds = 3 };

	check_run(_metadata, &r);
}

/*
 * A stream's connection dies mid-transfer (its reading end shut down, what
 * it held lost): the sender asks for a replacement, which the reader gets
 * through its swap; the pages of that stream's windows go again, as
 * precopy sends them, and everything arrives.
 */
struct swapper {
	struct mig_swap *sw;
	unsigned int calls;
};

static int give_new(void *ctx, unsigned int idx, int err, const char *why)
{
	struct swapper *sp = ctx;
	int sv[2];

	sp->calls++;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	if (mig_swap_give(sp->sw, idx, sv[1])) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return sv[0];
}

struct swap_reader {
	struct fake *f;
	struct mig_swap *sw;
};

static void *swap_reader(void *arg)
{
	struct swap_reader *r = arg;

	r->f->err = mig_rx_run_swap(r->f->fds, r->f->n, apply, r->f, r->sw, r->f->why);
	return NULL;
}

TEST(replaced)
{
	static uint32_t list[NPAGES];
	uint8_t *src = malloc(MEM);
	struct fake f = { .mem = calloc(1, MEM), .n = 2 };
	struct swapper sp = { .sw = mig_swap_new() };
	struct swap_reader rd = { .f = &f, .sw = sp.sw };
	int sv[2][2], tx_fds[2], err, round;
	char why[VMMIG_ERRLEN] = "";
	struct vmstate_writer w;
	struct mig_opts o;
	struct mig_tx *tx;
	uint32_t lost, got = 0;
	unsigned int i;
	pthread_t th;
	size_t n, p;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_NE(NULL, sp.sw);
	fill(src);
	mig_opts_default(&o);
	o.streams = 2;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]));
		tx_fds[i] = sv[i][0];
		f.fds[i] = sv[i][1];
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, swap_reader, &rd));
	ASSERT_EQ(0, mig_tx_open(&tx, tx_fds, 2, &o, 0, &w, why)) TH_LOG("%s", why);
	mig_tx_set_replace(tx, give_new, &sp);
	err = vmstate_put(&w, VMSTATE_DEFINITION, 0, "{}", 2, NULL, 0);
	for (n = 0; n < NPAGES; n++)
		list[n] = n;
	if (!err)
		err = put_pages(&w, src, list, NPAGES, true);
	for (round = 0; !err && round < 4; round++) {
		/* Stream 1's first connection dies under the second round. */
		if (round == 1)
			shutdown(sv[1][1], SHUT_RDWR);
		lost = mig_tx_take_replaced(tx);
		got |= lost;
		for (n = 0, p = 0; p < NPAGES; p++)
			if (lost & (1u << (p * PAGE / MIG_WINDOW % 2)) || rnd() % 4 == 0) {
				if (!(lost & (1u << (p * PAGE / MIG_WINDOW % 2))))
					fill_page(src + p * PAGE, rnd() % 6);
				list[n++] = p;
			}
		err = put_pages(&w, src, list, n, false);
		if (!err)
			err = mig_tx_drain(tx, why);
	}
	mig_tx_set_replace(tx, NULL, NULL);
	lost = mig_tx_take_replaced(tx);
	got |= lost;
	for (n = 0, p = 0; p < NPAGES; p++)
		if (lost & (1u << (p * PAGE / MIG_WINDOW % 2)))
			list[n++] = p;
	if (!err && n)
		err = put_pages(&w, src, list, n, false);
	if (!err)
		err = vmstate_finish(&w);
	if (!err)
		err = mig_tx_finish(tx, why);
	mig_tx_close(tx);
	for (i = 0; i < 2; i++)
		close(sv[i][0]);
	pthread_join(th, NULL);
	for (i = 0; i < 2; i++)
		close(sv[i][1]);
	mig_swap_free(sp.sw);
	ASSERT_EQ(0, err) TH_LOG("writer: %s", why);
	ASSERT_EQ(0, f.err) TH_LOG("reader: %s", f.why);
	EXPECT_EQ(1, sp.calls);
	EXPECT_EQ(2u, got);
	EXPECT_EQ(0, memcmp(src, f.mem, MEM));
	free(src);
	free(f.mem);
}

/* A whole stream in a memfd, to be damaged and read back. */
static int one_stream(enum mig_compress comp, uint32_t hdr_flags, const uint8_t *src, char *why)
{
	int fd = memfd_create("stream", MFD_CLOEXEC);
	static uint32_t list[NPAGES];
	struct mig_opts o;
	struct vmstate_writer w;
	struct mig_tx *tx;
	size_t i;
	int err;

	mig_opts_default(&o);
	o.compress = comp;
	for (i = 0; i < NPAGES; i++)
		list[i] = i;
	err = mig_tx_open(&tx, &fd, 1, &o, hdr_flags, &w, why);
	if (err)
		return err;
	err = put_pages(&w, src, list, NPAGES, true);
	if (!err)
		err = vmstate_finish(&w);
	if (!err)
		err = mig_tx_finish(tx, why);
	mig_tx_close(tx);
	return err ? err : fd;
}

/* The file offset of the @nth memory section's chunk header whose flags are @flags. */
static long find_chunk(int fd, uint32_t flags, int nth)
{
	struct { uint32_t type; uint16_t version, instance; uint64_t len; } h;
	struct vmstate_mem_chunk c;
	off_t off = 16;

	while (pread(fd, &h, sizeof(h), off) == sizeof(h)) {
		if (h.type == VMSTATE_MEMORY &&
		    pread(fd, &c, sizeof(c), off + 16) == sizeof(c) && c.flags == flags &&
		    !nth--)
			return off + 16;
		off += 16 + h.len + 4;
	}
	return -1;
}

static int read_back(int fd, uint8_t *mem, char *why)
{
	struct fake f = { .mem = mem };

	lseek(fd, 0, SEEK_SET);
	f.err = mig_rx_run(&fd, 1, apply, &f, why);
	return f.err;
}

TEST(corrupt)
{
	uint8_t *src = malloc(MEM), *dst = calloc(1, MEM), b;
	struct vmstate_mem_chunk c;
	char why[VMMIG_ERRLEN] = "";
	long off;
	int fd;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	fill(src);

	/* With the CRC: a byte of zstd data. */
	fd = one_stream(MIG_COMP_ZSTD, 0, src, why);
	ASSERT_LE(0, fd) TH_LOG("%s", why);
	ASSERT_EQ(0, read_back(fd, dst, why)) TH_LOG("%s", why);
	ASSERT_EQ(0, memcmp(src, dst, MEM));
	off = find_chunk(fd, VMSTATE_CHUNK_ZSTD, 1);
	ASSERT_LT(0, off);
	ASSERT_EQ(1, pread(fd, &b, 1, off + sizeof(c) + 100));
	b ^= 0x10;
	ASSERT_EQ(1, pwrite(fd, &b, 1, off + sizeof(c) + 100));
	EXPECT_EQ(-EBADMSG, read_back(fd, dst, why));
	EXPECT_NE(NULL, strstr(why, "checksum")) TH_LOG("%s", why);
	close(fd);

	/* Without it (the transport authenticates): a broken zstd frame... */
	fd = one_stream(MIG_COMP_ZSTD, VMSTATE_F_NO_MEMORY_CRC, src, why);
	ASSERT_LE(0, fd) TH_LOG("%s", why);
	off = find_chunk(fd, VMSTATE_CHUNK_ZSTD, 0);
	ASSERT_LT(0, off);
	ASSERT_EQ(1, pread(fd, &b, 1, off + sizeof(c)));
	b ^= 0xff;
	ASSERT_EQ(1, pwrite(fd, &b, 1, off + sizeof(c)));
	EXPECT_EQ(-EBADMSG, read_back(fd, dst, why));
	EXPECT_NE(NULL, strstr(why, "zstd data does not decompress")) TH_LOG("%s", why);
	close(fd);

	/* ...lz4 data that claims one page more than it holds... */
	fd = one_stream(MIG_COMP_LZ4, VMSTATE_F_NO_MEMORY_CRC, src, why);
	ASSERT_LE(0, fd) TH_LOG("%s", why);
	off = find_chunk(fd, VMSTATE_CHUNK_LZ4, 0);
	ASSERT_LT(0, off);
	ASSERT_EQ(sizeof(c), pread(fd, &c, sizeof(c), off));
	ASSERT_NE(0xff, c.present[31]);
	c.present[31] = 0xff;
	c.pages = VMSTATE_CHUNK_PAGES;
	ASSERT_EQ(sizeof(c), pwrite(fd, &c, sizeof(c), off));
	EXPECT_EQ(-EBADMSG, read_back(fd, dst, why));
	EXPECT_NE(NULL, strstr(why, "lz4 data does not decompress")) TH_LOG("%s", why);

	/* ...and flags no reader knows. */
	c.flags = 0x80;
	ASSERT_EQ(sizeof(c), pwrite(fd, &c, sizeof(c), off));
	EXPECT_EQ(-EBADMSG, read_back(fd, dst, why));
	EXPECT_NE(NULL, strstr(why, "unknown chunk flags")) TH_LOG("%s", why);
	close(fd);
	free(src);
	free(dst);
}

/* Stream 2 of 4 ends early: the reader says which and why, and returns. */
TEST(truncated)
{
	uint8_t *src = malloc(MEM), *dst = calloc(1, MEM);
	struct fake f = { .mem = dst, .n = 4 };
	char why[VMMIG_ERRLEN] = "";
	int fd, i, sv[4][2];
	off_t size;
	pthread_t th;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	signal(SIGPIPE, SIG_IGN);
	fill(src);
	fd = one_stream(MIG_COMP_LZ4, 0, src, why);
	ASSERT_LE(0, fd) TH_LOG("%s", why);
	size = lseek(fd, 0, SEEK_END);
	ASSERT_EQ(0, ftruncate(fd, size / 2));
	EXPECT_EQ(-EPIPE, read_back(fd, dst, why));
	EXPECT_NE(NULL, strstr(why, "truncated")) TH_LOG("%s", why);
	close(fd);

	/* Streams 0, 1 and 3 stay open and silent: the failure must end them. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]));
		f.fds[i] = sv[i][1];
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, reader, &f));
	ASSERT_EQ(16, write(sv[2][0], "VMMIGSTA\2\0\0\0\0\0\0\0", 16));
	ASSERT_EQ(5, write(sv[2][0], "\3\0\0\0\2", 5));
	close(sv[2][0]);
	pthread_join(th, NULL);
	EXPECT_EQ(-EPIPE, f.err);
	EXPECT_NE(NULL, strstr(f.why, "stream 2: truncated")) TH_LOG("%s", f.why);
	for (i = 0; i < 4; i++) {
		if (i != 2)
			close(sv[i][0]);
		close(sv[i][1]);
	}
	free(src);
	free(dst);
}

/* MEM of random pages, which no compressor shrinks; NULL without memory. */
static uint8_t *random_pages(void)
{
	uint8_t *p = malloc(MEM);
	size_t i;

	for (i = 0; p && i < NPAGES; i++)
		fill_page(p + i * PAGE, 2);
	return p;
}

/* 2 streams under a cap of 6 MiB/s, 8 MiB of random pages: within 10 %. */
TEST(bandwidth)
{
	struct run r = { .streams = 2, .comp = MIG_COMP_NONE, .bandwidth = 6 << 20 };
	uint8_t *src = random_pages();
	struct fake f = { .mem = calloc(1, MEM) };
	struct timespec t0, t1;
	uint64_t wire, raw, ns;
	double rate;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, f.mem);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, transfer(_metadata, &r, src, &f, &wire, &raw)) TH_LOG("%s", f.why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
	rate = wire * 1e9 / ns;
	TH_LOG("%llu bytes in %.3f s: %.2f MiB/s under a cap of 6", (unsigned long long)wire,
	       ns / 1e9, rate / (1 << 20));
	EXPECT_EQ(0, memcmp(src, f.mem, MEM));
	EXPECT_LT(rate, 6.0 * (1 << 20) * 1.1);
	EXPECT_GT(rate, 6.0 * (1 << 20) * 0.9);
	free(src);
	free(f.mem);
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

struct ticks {
	uint64_t last, max_gap;
	unsigned int n;
};

static void tick(void *ctx)
{
	struct ticks *k = ctx;
	uint64_t now = mono_ns();

	if (now - k->last > k->max_gap)
		k->max_gap = now - k->last;
	k->last = now;
	k->n++;
}

/*
 * A slow path fills the streams' queues: the putting thread waits, and is
 * told every MIG_WAIT_TICK_MS of it (a move's first copy reports from
 * there), however often the senders wake it meanwhile.
 */
TEST(wait_ticks)
{
	struct ticks k = { 0 };
	struct run r = { .streams = 2, .comp = MIG_COMP_NONE, .bandwidth = 2 << 20,
			 .wait_fn = tick, .wait_ctx = &k };
	uint8_t *src = random_pages();
	struct fake f = { .mem = calloc(1, MEM) };
	uint64_t wire, raw, t0;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, f.mem);
	signal(SIGPIPE, SIG_IGN);
	t0 = k.last = mono_ns();
	ASSERT_EQ(0, transfer(_metadata, &r, src, &f, &wire, &raw)) TH_LOG("%s", f.why);
	TH_LOG("%u ticks in %.2f s, the longest gap %.0f ms", k.n, (mono_ns() - t0) / 1e9,
	       k.max_gap / 1e6);
	EXPECT_EQ(0, memcmp(src, f.mem, MEM));
	/* 8 MiB at 2 MiB/s: some 20 ticks; a loaded host delays some. */
	EXPECT_GE(k.n, 10);
	EXPECT_LT(k.max_gap, 600 * 1000000ULL);
	free(src);
	free(f.mem);
}

TEST_HARNESS_MAIN
