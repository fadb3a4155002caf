// SPDX-License-Identifier: GPL-2.0
/* The TLS lab of the tests and the benchmark (see tls_lab.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cert.h"
#include "tls_lab.h"

static int copy_file(const char *from, const char *to, bool append)
{
	char buf[4096];
	FILE *in = fopen(from, "r"), *out = in ? fopen(to, append ? "a" : "w") : NULL;
	size_t n;
	int err = 0;

	if (!out)
		err = -errno;
	while (out && (n = fread(buf, 1, sizeof(buf), in)))
		if (fwrite(buf, 1, n, out) != n)
			err = -EIO;
	if (out && fclose(out))
		err = -EIO;
	if (in)
		fclose(in);
	return err;
}

static int make_host(const char *dir, const char *host, const char *ca, char *why)
{
	char hd[PATH_MAX], csr[PATH_MAX + 16], crt[PATH_MAX + 16], cad[PATH_MAX], from[PATH_MAX + 16];
	bool new_key;
	int err;

	snprintf(hd, sizeof(hd), "%s/%s", dir, host);
	snprintf(cad, sizeof(cad), "%s/%s", dir, ca);
	snprintf(csr, sizeof(csr), "%s/host.csr", hd);
	snprintf(crt, sizeof(crt), "%s/host.crt", hd);
	err = cert_request(hd, host, &new_key, why) ?: cert_sign(csr, cad, 30, crt, why);
	if (err)
		return err;
	snprintf(from, sizeof(from), "%s/ca.crt", cad);
	snprintf(crt, sizeof(crt), "%s/ca.crt", hd);
	return copy_file(from, crt, false);
}

int tls_lab_create(char *dir, char *why)
{
	char ca[PATH_MAX], from[PATH_MAX + 16], to[PATH_MAX + 16];
	int err;

	snprintf(dir, 64, "/tmp/vmmig-tls-XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(why, VMMIG_ERRLEN, "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	snprintf(ca, sizeof(ca), "%s/ca1", dir);
	err = cert_ca_create(ca, "lab CA one", 30, why);
	snprintf(ca, sizeof(ca), "%s/ca2", dir);
	err = err ?: cert_ca_create(ca, "lab CA two", 30, why);
	err = err ?: make_host(dir, "hosta", "ca1", why) ?: make_host(dir, "hostb", "ca1", why) ?:
	      make_host(dir, "hostc", "ca2", why);
	if (err)
		return err;
	/* hostc trusts both CAs: only the others' checks can refuse it. */
	snprintf(from, sizeof(from), "%s/ca1/ca.crt", dir);
	snprintf(to, sizeof(to), "%s/hostc/ca.crt", dir);
	err = copy_file(from, to, true);
	if (err)
		snprintf(why, VMMIG_ERRLEN, "hostc/ca.crt: %s", strerror(-err));
	return err;
}

void tls_lab_remove(const char *dir)
{
	char cmd[128];

	if (strncmp(dir, "/tmp/vmmig-tls-", 15) || strchr(dir, '\''))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", dir);
}

struct tls_ctx *tls_lab_ctx(const char *dir, const char *host, const char *const *trusted,
			    unsigned int ntrusted, bool no_ktls, char *why)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	struct tls_conf c = {
		.ca_file = ca, .cert_file = crt, .key_file = key,
		.trusted = trusted, .ntrusted = ntrusted, .no_ktls = no_ktls,
	};

	snprintf(ca, sizeof(ca), "%s/%s/ca.crt", dir, host);
	snprintf(crt, sizeof(crt), "%s/%s/host.crt", dir, host);
	snprintf(key, sizeof(key), "%s/%s/host.key", dir, host);
	return tls_ctx_new(&c, why);
}

int tcp_pair(int fd[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l, one = 1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto fail;
	fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[1] < 0)
		goto fail;
	if (connect(fd[1], (struct sockaddr *)&a, sizeof(a))) {
		close(fd[1]);
		goto fail;
	}
	fd[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (fd[0] < 0) {
		close(fd[1]);
		goto fail;
	}
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
	return 0;
fail:
	close(l);
	return -errno;
}

static void *accept_thread(void *arg)
{
	struct tls_side *s = arg;

	s->conn = tls_accept(s->ctx, s->fd, s->timeout_ms ?: LAB_TIMEOUT_MS, s->why);
	return NULL;
}

void tls_pair_handshake(struct tls_side *server, struct tls_side *client)
{
	pthread_t t;

	server->why[0] = client->why[0] = 0;
	if (pthread_create(&t, NULL, accept_thread, server)) {
		snprintf(server->why, VMMIG_ERRLEN, "pthread_create failed");
		snprintf(client->why, VMMIG_ERRLEN, "pthread_create failed");
		close(server->fd);
		close(client->fd);
		server->conn = client->conn = NULL;
		return;
	}
	client->conn = tls_connect(client->ctx, client->fd, client->timeout_ms ?: LAB_TIMEOUT_MS,
				   client->why);
	pthread_join(t, NULL);
}

/* The pattern: byte p of stream @seed. */
static void fill(unsigned char *buf, uint64_t seed, uint64_t pos, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, pos++) {
		uint64_t x = (pos >> 3) * 0x9e3779b97f4a7c15ULL + seed;

		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ULL;
		buf[i] = x >> (8 * (pos & 7));
	}
}

#define CHUNK (64 * 1024)

int bulk_write(int fd, uint64_t seed, size_t len)
{
	unsigned char *buf = malloc(CHUNK);
	size_t pos = 0, n;
	ssize_t w;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < len && !err) {
		n = len - pos < CHUNK ? len - pos : CHUNK;
		fill(buf, seed, pos, n);
		w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w > 0)
			pos += w;
		else if (errno != EINTR)
			err = -errno;
	}
	free(buf);
	return err;
}

int bulk_read(int fd, uint64_t seed, size_t len)
{
	unsigned char *buf = malloc(CHUNK), *want = malloc(CHUNK);
	size_t pos = 0, n;
	ssize_t r;
	int err = 0;

	if (!buf || !want)
		err = -ENOMEM;
	while (pos < len && !err) {
		n = len - pos < CHUNK ? len - pos : CHUNK;
		r = read(fd, buf, n);
		if (r > 0) {
			fill(want, seed, pos, r);
			if (memcmp(buf, want, r))
				err = -EBADMSG;
			pos += r;
		} else if (!r) {
			err = -EPIPE;
		} else if (errno != EINTR) {
			err = -errno;
		}
	}
	free(buf);
	free(want);
	return err;
}

struct bulk_job {
	int fd, err;
	uint64_t seed;
	size_t len;
};

static void *write_thread(void *arg)
{
	struct bulk_job *j = arg;

	j->err = bulk_write(j->fd, j->seed, j->len);
	return NULL;
}

int bulk_both(int wfd, uint64_t seed, int rfd, uint64_t seed2, size_t len)
{
	struct bulk_job j = { .fd = wfd, .seed = seed, .len = len };
	pthread_t t;
	int err;

	if (pthread_create(&t, NULL, write_thread, &j))
		return -EAGAIN;
	err = bulk_read(rfd, seed2, len);
	pthread_join(t, NULL);
	return err ?: j.err;
}
