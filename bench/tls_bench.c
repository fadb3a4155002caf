// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, inside the test VM: the throughput of one migration stream
 * over TCP loopback, as the VMM would see it (it writes and reads a plain
 * fd), for plain TCP, TLS 1.3 in userspace (tls_plain_fd()'s relay with
 * the record layer in OpenSSL) and TLS 1.3 with kTLS (whatever the kernel
 * and OpenSSL take: the socket itself when both directions are in the
 * kernel, else the relay over a kernel send side). Each transfer moves
 * TLS_BENCH_MIB MiB (default 32) one way, median of REPS; ratios to plain
 * TCP from one run.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench.h"
#include "tls_lab.h"
#include "vmmig_test.h"

#define MIB	(1024 * 1024ULL)
#define SIZE	(size_mib * MIB)
#define REPS	3
#define BUF	(256 * 1024)

static const char *lab;
/* TLS_BENCH_MIB, default 32: TCG in a shared VM does some 10-50 MB/s of AES-GCM. */
static unsigned long long size_mib = 32;

struct sink {
	int fd;
	uint64_t got;
};

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	char *buf = malloc(BUF);
	ssize_t n;

	while (buf && s->got < SIZE && (n = read(s->fd, buf, BUF)) > 0)
		s->got += n;
	free(buf);
	return NULL;
}

/* SIZE bytes from @wfd to @rfd; MB/s, or 0 when they did not arrive. */
static double transfer(int wfd, int rfd)
{
	struct sink s = { .fd = rfd };
	char *buf = calloc(1, BUF);
	uint64_t sent = 0, t0 = now_ns(), ns;
	pthread_t t;
	ssize_t n;

	if (!buf || pthread_create(&t, NULL, sink_main, &s))
		return 0;
	while (sent < SIZE && (n = write(wfd, buf, BUF)) > 0)
		sent += n;
	pthread_join(t, NULL);
	ns = now_ns() - t0;
	free(buf);
	return s.got == SIZE ? (double)SIZE / 1e6 / (ns / 1e9) : 0;
}

enum mode { PLAIN, USERSPACE, KTLS };
static const char *const mode_names[] = { "plain_tcp", "tls_userspace_relay", "tls_ktls" };

/* One transfer in @m; *@how says what carried it. */
static double run(enum mode m, char *how, size_t howlen)
{
	struct tls_side s = {}, c = {};
	char why[VMMIG_ERRLEN];
	int fd[2], pa = -1, pb = -1;
	double mbs = 0;

	if (tcp_pair(fd))
		return 0;
	if (m == PLAIN) {
		snprintf(how, howlen, "TCP");
		mbs = transfer(fd[1], fd[0]);
		close(fd[0]);
		close(fd[1]);
		return mbs;
	}
	s.ctx = tls_lab_ctx(lab, "hosta", NULL, 0, m == USERSPACE, why);
	c.ctx = tls_lab_ctx(lab, "hostb", NULL, 0, m == USERSPACE, why);
	s.fd = fd[0];
	c.fd = fd[1];
	if (!s.ctx || !c.ctx) {
		fprintf(stderr, "tls_bench: %s\n", why);
		close(fd[0]);
		close(fd[1]);
		goto out;
	}
	tls_pair_handshake(&s, &c);
	if (!s.conn || !c.conn) {
		fprintf(stderr, "tls_bench: handshake: %s %s\n", s.why, c.why);
		goto out;
	}
	pa = tls_plain_fd(s.conn, why);
	pb = tls_plain_fd(c.conn, why);
	if (pa < 0 || pb < 0) {
		fprintf(stderr, "tls_bench: %s\n", why);
		goto out;
	}
	snprintf(how, howlen, "%s, send %s, receive %s, %s", tls_cipher(c.conn),
		 tls_ktls_send(c.conn) ? "kernel" : "OpenSSL",
		 tls_ktls_recv(s.conn) ? "kernel" : "OpenSSL",
		 tls_ktls(c.conn) && tls_ktls(s.conn) ? "the socket itself" : "relay");
	mbs = transfer(pb, pa);
out:
	if (pa >= 0)
		close(pa);
	if (pb >= 0)
		close(pb);
	tls_free(s.conn);
	tls_free(c.conn);
	tls_ctx_free(s.ctx);
	tls_ctx_free(c.ctx);
	return mbs;
}

int main(void)
{
	char dir[64], why[VMMIG_ERRLEN], how[3][160];
	double v[3][REPS], med[3];
	int m, i;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("TLS_BENCH_MIB"))
		size_mib = strtoull(getenv("TLS_BENCH_MIB"), NULL, 0) ?: size_mib;
	if (!module_loaded("tls") && module_probe("tls"))
		printf("no tls module in this kernel: kTLS cannot engage\n");
	if (tls_lab_create(dir, why)) {
		fprintf(stderr, "tls_bench: %s\n", why);
		return 1;
	}
	lab = dir;
	printf("%s; one stream over TCP loopback, %llu MiB one way, median of %d\n",
	       OpenSSL_version(OPENSSL_VERSION), SIZE / MIB, REPS);
	/* Interleaved, so that a noisy neighbour hits every mode alike. */
	for (i = 0; i < REPS; i++) {
		for (m = PLAIN; m <= KTLS; m++)
			v[m][i] = run(m, how[m], sizeof(how[m]));
		printf("  run %d: %.1f %.1f %.1f MB/s\n", i + 1, v[PLAIN][i], v[USERSPACE][i], v[KTLS][i]);
	}
	for (m = PLAIN; m <= KTLS; m++) {
		med[m] = median(v[m], REPS);
		printf("%s mb_per_s=%.1f (%s)\n", mode_names[m], med[m], how[m]);
	}
	for (m = USERSPACE; m <= KTLS; m++)
		printf("%s_ratio_to_plain_tcp ratio=%.2f\n", mode_names[m],
		       med[PLAIN] ? med[m] / med[PLAIN] : 0);
	printf("tls_ktls_ratio_to_userspace ratio=%.2f\n",
	       med[USERSPACE] ? med[KTLS] / med[USERSPACE] : 0);
	tls_lab_remove(dir);
	return med[PLAIN] && med[USERSPACE] && med[KTLS] ? 0 : 1;
}
