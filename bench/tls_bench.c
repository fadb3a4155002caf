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
 *
 * tls_bench --between SRC_NETNS DST_NETNS DST_ADDR [--mib N] [--reps N]
 * [--modes plain_tcp,tls_ktls,...]: the same transfers from a socket in
 * network namespace SRC_NETNS to one listening on DST_ADDR in DST_NETNS
 * (names under /run/netns), the path a migration between two such hosts
 * takes (bench/migrate_bench.sh). --suites LIST offers these TLS 1.3
 * suites instead of vmmigd's (tls_suites(): the faster on this CPU first).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "bench.h"
#include "tls_lab.h"
#include "vmmig_test.h"

#define MIB	(1024 * 1024ULL)
#define SIZE	(size_mib * MIB)
#define MAX_REPS	9
#define BUF	(256 * 1024)

static const char *lab;
static int reps = 3;
/* --between: the namespaces and the listening address; NULL for loopback. */
static const char *src_ns, *dst_ns, *dst_addr;
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

/* Enters network namespace @name (/run/netns/NAME); 0 or -errno. */
static int enter_netns(const char *name)
{
	char path[256];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * A connected TCP pair, fd[0] the receiving end: over loopback, or with
 * --between from SRC_NETNS to DST_ADDR in DST_NETNS. A socket stays in the
 * namespace it was made in, so the thread enters each in turn and returns.
 */
static int stream_pair(int fd[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int home, l = -1, one = 1, rc = -EINVAL;

	if (!src_ns)
		return tcp_pair(fd);
	fd[0] = fd[1] = -1;
	if (inet_pton(AF_INET, dst_addr, &a.sin_addr) != 1)
		return -EINVAL;
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return -errno;
	if ((rc = enter_netns(dst_ns)))
		goto out;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len)) {
		rc = -errno;
		goto out;
	}
	if ((rc = enter_netns(src_ns)))
		goto out;
	fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[1] < 0 || connect(fd[1], (struct sockaddr *)&a, sizeof(a)) ||
	    (fd[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = 0;
out:
	if (setns(home, CLONE_NEWNET) && !rc)
		rc = -errno;
	close(home);
	if (l >= 0)
		close(l);
	if (rc) {
		if (fd[1] >= 0)
			close(fd[1]);
		fd[0] = fd[1] = -1;
	}
	return rc;
}

enum mode { PLAIN, USERSPACE, KTLS };
static const char *const mode_names[] = { "plain_tcp", "tls_userspace_relay", "tls_ktls" };

/* One transfer in @m; *@how says what carried it. */
static double run(enum mode m, char *how, size_t howlen)
{
	struct tls_side s = {}, c = {};
	char why[VMMIG_ERRLEN];
	int fd[2], pa = -1, pb = -1, rc;
	double mbs = 0;

	rc = stream_pair(fd);
	if (rc) {
		fprintf(stderr, "tls_bench: no TCP connection: %s\n", strerror(-rc));
		return 0;
	}
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

static int usage(void)
{
	fprintf(stderr, "usage: tls_bench [--between SRC_NETNS DST_NETNS DST_ADDR] [--mib N] "
		"[--reps 1..%d] [--modes plain_tcp,tls_userspace_relay,tls_ktls] "
		"[--suites OPENSSL_TLS13_SUITES]\n", MAX_REPS);
	return 2;
}

int main(int argc, char **argv)
{
	char dir[64], why[VMMIG_ERRLEN], how[3][160] = {};
	double v[3][MAX_REPS], med[3] = {};
	bool on[3] = { true, true, true };
	const char *modes = NULL;
	int m, i, a, ok = 1;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("TLS_BENCH_MIB"))
		size_mib = strtoull(getenv("TLS_BENCH_MIB"), NULL, 0) ?: size_mib;
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--between") && a + 3 < argc) {
			src_ns = argv[++a];
			dst_ns = argv[++a];
			dst_addr = argv[++a];
		} else if (!strcmp(argv[a], "--mib") && a + 1 < argc) {
			size_mib = strtoull(argv[++a], NULL, 0);
			if (!size_mib)
				return usage();
		} else if (!strcmp(argv[a], "--reps") && a + 1 < argc) {
			reps = atoi(argv[++a]);
			if (reps < 1 || reps > MAX_REPS)
				return usage();
		} else if (!strcmp(argv[a], "--modes") && a + 1 < argc) {
			modes = argv[++a];
		} else if (!strcmp(argv[a], "--suites") && a + 1 < argc) {
			tls_set_suites(argv[++a]);
		} else {
			return usage();
		}
	}
	if (modes) {
		for (m = PLAIN; m <= KTLS; m++) {
			size_t n = strlen(mode_names[m]);
			const char *p = strstr(modes, mode_names[m]);

			on[m] = p && (p == modes || p[-1] == ',') && (!p[n] || p[n] == ',');
		}
		if (!on[PLAIN] && !on[USERSPACE] && !on[KTLS])
			return usage();
	}
	if (!module_loaded("tls") && module_probe("tls"))
		printf("no tls module in this kernel: kTLS cannot engage\n");
	if (tls_lab_create(dir, why)) {
		fprintf(stderr, "tls_bench: %s\n", why);
		return 1;
	}
	lab = dir;
	if (src_ns)
		printf("%s; one stream from netns %s to %s in netns %s, %llu MiB one way, median of %d\n",
		       OpenSSL_version(OPENSSL_VERSION), src_ns, dst_addr, dst_ns, SIZE / MIB, reps);
	else
		printf("%s; one stream over TCP loopback, %llu MiB one way, median of %d\n",
		       OpenSSL_version(OPENSSL_VERSION), SIZE / MIB, reps);
	/* Interleaved, so that a noisy neighbour hits every mode alike. */
	for (i = 0; i < reps; i++) {
		printf("  run %d:", i + 1);
		for (m = PLAIN; m <= KTLS; m++) {
			v[m][i] = on[m] ? run(m, how[m], sizeof(how[m])) : 0;
			if (on[m])
				printf(" %s %.1f", mode_names[m], v[m][i]);
		}
		printf(" MB/s\n");
	}
	for (m = PLAIN; m <= KTLS; m++) {
		if (!on[m])
			continue;
		med[m] = median(v[m], reps);
		printf("%s mb_per_s=%.1f (%s)\n", mode_names[m], med[m], how[m]);
		ok = ok && med[m];
	}
	for (m = USERSPACE; m <= KTLS; m++)
		if (on[m] && on[PLAIN])
			printf("%s_ratio_to_plain_tcp ratio=%.2f\n", mode_names[m],
			       med[PLAIN] ? med[m] / med[PLAIN] : 0);
	if (on[USERSPACE] && on[KTLS])
		printf("tls_ktls_ratio_to_userspace ratio=%.2f\n",
		       med[USERSPACE] ? med[KTLS] / med[USERSPACE] : 0);
	tls_lab_remove(dir);
	return ok ? 0 : 1;
}
