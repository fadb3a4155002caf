// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, inside the test VM: the migration data path
 * (tools/vmmig/migrate/stream.c) on a buffer shaped like guest memory (a
 * third zero pages, the workload guest's pages of sparse counters, text and
 * code-like pages, some random ones), sent as live migration's first pass:
 * the non-zero pages, chunk by chunk, into socketpairs whose other ends a
 * thread per stream reads and discards. Beside it, in the same run: the
 * same chunks written raw to a socketpair, and CRC32C alone. Each
 * configuration also gives its ratio (wire bytes / page bytes) and how fast
 * a reader absorbs the stream it made (from memory: checks, decompression,
 * pages copied into place). Medians of 5, every configuration in turn.
 * The test VM emulates its vCPUs in one host thread (TCG, thread=single):
 * there, 4 streams show what they cost, not what they gain on real cores.
 *
 *   build/bench/stream_bench [MiB]     (default 16)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "bench.h"
#include "stream.h"
#include "vmdef.h"

#define PAGE		4096UL
#define CPAGES		VMSTATE_CHUNK_PAGES
#define REPS		5
#define NCFG		10

static uint8_t *mem, *dst;
static size_t npages;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Pages in runs, as memory is: zero, workload counters, text, code, random. */
static void shape(void)
{
	static const char *const words[] = { "the ", "kernel ", "return ", "struct ", "if (",
					     "\n\t", "0000 ", "error ", "int ", "= NULL;" };
	size_t i = 0, j, run, k, n;
	unsigned int kind;
	uint8_t *p;

	while (i < npages) {
		kind = rnd() % 10;
		run = 1 + rnd() % 64;
		for (j = 0; j < run && i < npages; j++, i++) {
			p = mem + i * PAGE;
			if (kind < 3)
				continue;			/* zero */
			if (kind < 6) {				/* the workload's counters */
				for (k = 0; k < 1 + rnd() % 16; k++) {
					uint64_t v = rnd() % 100000;

					memcpy(p + (rnd() % (PAGE / 8)) * 8, &v, 8);
				}
			} else if (kind < 8) {			/* text */
				for (k = 0; k + 16 < PAGE; k += n) {
					const char *w = words[rnd() % 10];

					n = strlen(w);
					memcpy(p + k, w, n);
				}
			} else if (kind < 9) {			/* code-like: skewed bytes */
				for (k = 0; k < PAGE; k++)
					p[k] = (rnd() % 4) ? (uint8_t)(rnd() % 32) : (uint8_t)rnd();
			} else {				/* compressed data */
				for (k = 0; k < PAGE; k += 8) {
					uint64_t v = rnd();

					memcpy(p + k, &v, 8);
				}
			}
		}
	}
}

static bool is_zero(const uint8_t *p)
{
	static const uint8_t z[PAGE];

	return !memcmp(p, z, PAGE);
}

/* The first pass: chunk by chunk, its non-zero pages; @w NULL writes them raw to @fd. */
static uint64_t first_pass(struct vmstate_writer *w, int fd, uint8_t *buf)
{
	struct vmstate_mem_chunk c;
	uint64_t bytes = 0;
	size_t i, k, used;

	for (i = 0; i < npages; i += CPAGES) {
		memset(&c, 0, sizeof(c));
		c.gpa = i * PAGE;
		c.pages = npages - i < CPAGES ? npages - i : CPAGES;
		for (k = 0, used = 0; k < c.pages; k++) {
			if (is_zero(mem + (i + k) * PAGE))
				continue;
			c.present[k / 8] |= 1 << (k % 8);
			memcpy(buf + used, mem + (i + k) * PAGE, PAGE);
			used += PAGE;
		}
		if (!used)
			continue;
		bytes += used;
		if (w) {
			if (vmstate_put(w, VMSTATE_MEMORY, 0, &c, sizeof(c), buf, used))
				return 0;
		} else {
			size_t off = 0;
			ssize_t r;

			while (off < used) {
				r = write(fd, buf + off, used - off);
				if (r <= 0)
					return 0;
				off += r;
			}
		}
	}
	return bytes;
}

static void *discard(void *arg)
{
	static __thread char sink[1 << 16];
	int fd = (int)(long)arg;

	while (read(fd, sink, sizeof(sink)) > 0)
		;
	return NULL;
}

struct cfg {
	const char *name;
	unsigned int streams;
	enum mig_compress comp;
	int level;
	bool crc;
};

static int apply(void *ctx, unsigned int stream, const struct vmstate_section *s, char *why)
{
	struct vmstate_mem_chunk c;
	const uint8_t *src = (const uint8_t *)s->data + sizeof(c);
	unsigned int i;

	if (s->type != VMSTATE_MEMORY)
		return 0;
	memcpy(&c, s->data, sizeof(c));
	for (i = 0; i < c.pages; i++)
		if (c.present[i / 8] & (1 << (i % 8))) {
			if (c.flags == VMSTATE_CHUNK_ZERO) {
				memset(dst + c.gpa + i * PAGE, 0, PAGE);
				continue;
			}
			memcpy(dst + c.gpa + i * PAGE, src, PAGE);
			src += PAGE;
		}
	return 0;
}

/*
 * Sends the first pass over @c->streams socketpairs (the reader discards)
 * or, with @files, into memfds; returns page bytes per second, the wire
 * bytes in @wire.
 */
static double send_pass(const struct cfg *c, uint8_t *buf, int *files, uint64_t *wire)
{
	int sv[MIG_MAX_STREAMS][2], fds[MIG_MAX_STREAMS];
	pthread_t th[MIG_MAX_STREAMS];
	char why[VMMIG_ERRLEN];
	struct vmstate_writer w;
	struct mig_opts o;
	struct mig_tx *tx;
	uint64_t t0, t, bytes, raw;
	unsigned int i;
	int err;

	mig_opts_default(&o);
	o.compress = c->comp;
	o.level = c->level;
	for (i = 0; i < c->streams; i++) {
		if (files) {
			fds[i] = files[i] = memfd_create("stream", MFD_CLOEXEC);
			continue;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]))
			return -1;
		fds[i] = sv[i][0];
		pthread_create(&th[i], NULL, discard, (void *)(long)sv[i][1]);
	}
	t0 = now_ns();
	err = mig_tx_open(&tx, fds, c->streams, &o, c->crc ? 0 : VMSTATE_F_NO_MEMORY_CRC, &w,
			  why);
	if (err) {
		fprintf(stderr, "stream_bench: %s\n", why);
		exit(1);
	}
	bytes = first_pass(&w, -1, buf);
	err = vmstate_finish(&w);
	if (!err)
		err = mig_tx_finish(tx, why);
	t = now_ns() - t0;
	mig_tx_bytes(tx, wire, &raw);
	mig_tx_close(tx);
	if (err || !bytes) {
		fprintf(stderr, "stream_bench: %s: %s\n", c->name, err ? why : "nothing sent");
		exit(1);
	}
	for (i = 0; i < c->streams && !files; i++) {
		close(sv[i][0]);
		pthread_join(th[i], NULL);
		close(sv[i][1]);
	}
	return bytes * 1e9 / t;
}

/* The reader's rate: page bytes per second out of the streams in @files. */
static double receive(const struct cfg *c, int *files, uint64_t bytes)
{
	char why[VMMIG_ERRLEN];
	uint64_t t0, t;
	unsigned int i;
	int err;

	for (i = 0; i < c->streams; i++)
		lseek(files[i], 0, SEEK_SET);
	t0 = now_ns();
	err = mig_rx_run(files, c->streams, apply, NULL, why);
	t = now_ns() - t0;
	for (i = 0; i < c->streams; i++)
		close(files[i]);
	if (err) {
		fprintf(stderr, "stream_bench: reading %s: %s\n", c->name, why);
		exit(1);
	}
	if (memcmp(mem, dst, npages * PAGE)) {
		fprintf(stderr, "stream_bench: %s: the pages read differ\n", c->name);
		exit(1);
	}
	memset(dst, 0, npages * PAGE);
	return bytes * 1e9 / t;
}

static double raw_write(uint8_t *buf, uint64_t *bytes)
{
	int sv[2];
	pthread_t th;
	uint64_t t0, t;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	pthread_create(&th, NULL, discard, (void *)(long)sv[1]);
	t0 = now_ns();
	*bytes = first_pass(NULL, sv[0], buf);
	t = now_ns() - t0;
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	return *bytes * 1e9 / t;
}

int main(int argc, char **argv)
{
	static const struct cfg cfgs[NCFG] = {
		{ "1 stream, CRC", 1, MIG_COMP_NONE, 0, true },
		{ "1 stream, no CRC", 1, MIG_COMP_NONE, 0, false },
		{ "1 stream, lz4", 1, MIG_COMP_LZ4, 0, false },
		{ "1 stream, zstd:1", 1, MIG_COMP_ZSTD, 1, false },
		{ "1 stream, zstd:3", 1, MIG_COMP_ZSTD, 3, false },
		{ "4 streams, CRC", 4, MIG_COMP_NONE, 0, true },
		{ "4 streams, no CRC", 4, MIG_COMP_NONE, 0, false },
		{ "4 streams, lz4", 4, MIG_COMP_LZ4, 0, false },
		{ "4 streams, zstd:1", 4, MIG_COMP_ZSTD, 1, false },
		{ "4 streams, zstd:3", 4, MIG_COMP_ZSTD, 3, false },
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 16, i;
	uint8_t *buf = malloc(VMSTATE_CHUNK_PAGES * PAGE);
	int files[MIG_MAX_STREAMS];
	uint64_t bytes = 0, wire, wires[NCFG], t0;
	double raw, rate, raws[REPS], crcs[REPS], rates[NCFG][REPS], rxs[NCFG][REPS];
	uint32_t sum = 0;
	int r;

	signal(SIGPIPE, SIG_IGN);
	npages = mib * 256;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!buf || mem == MAP_FAILED || dst == MAP_FAILED) {
		fprintf(stderr, "stream_bench: out of memory\n");
		return 1;
	}
	shape();
	memset(dst, 0, npages * PAGE);

	/* Round robin, so that every configuration sees the same machine. */
	for (r = 0; r < REPS; r++) {
		raws[r] = raw_write(buf, &bytes);
		t0 = now_ns();
		sum = crc32c(0, mem, npages * PAGE);
		crcs[r] = npages * PAGE * 1e9 / (now_ns() - t0);
		for (i = 0; i < NCFG; i++) {
			rates[i][r] = send_pass(&cfgs[i], buf, NULL, &wire);
			send_pass(&cfgs[i], buf, files, &wires[i]);
			rxs[i][r] = receive(&cfgs[i], files, bytes);
		}
	}
	raw = median(raws, REPS);
	printf("guest memory: %zu MiB, %.0f %% of it in non-zero pages (%llu MiB); medians of %d\n",
	       mib, 100.0 * bytes / (npages * PAGE), (unsigned long long)(bytes >> 20), REPS);
	printf("raw write to a socketpair: %.0f MB/s\n", raw / 1e6);
	printf("CRC32C alone (%s): %.0f MB/s (sum %08x)\n",
	       __builtin_cpu_supports("sse4.2") ? "SSE4.2 crc32" : "table",
	       median(crcs, REPS) / 1e6, sum);
	printf("%-20s %10s %10s %8s %12s\n", "configuration", "send MB/s", "x raw", "wire/raw",
	       "receive MB/s");
	for (i = 0; i < NCFG; i++) {
		rate = median(rates[i], REPS);
		printf("%-20s %10.0f %10.2f %8.3f %12.0f\n", cfgs[i].name, rate / 1e6, rate / raw,
		       (double)wires[i] / bytes, median(rxs[i], REPS) / 1e6);
	}
	return 0;
}
