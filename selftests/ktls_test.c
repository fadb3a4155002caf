// SPDX-License-Identifier: GPL-2.0
/*
 * In the test VM: whether kTLS engages for our TLS 1.3 sessions (after
 * `modprobe tls`), and that data still flows, checked, through the fd that
 * tls_plain_fd() hands out, for each suite vmmigd offers and for the order
 * it measures. Skips, with the reason, what this kernel or this OpenSSL
 * cannot do.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kselftest_harness.h"
#include "tls_lab.h"
#include "vmmig_test.h"

#define BULK (4 << 20)

FIXTURE(ktls) {
	char dir[64];
	struct tls_side s, c;
};

/* @suites: the one suite offered; NULL: vmmigd's order (tls_suites()). */
FIXTURE_VARIANT(ktls) {
	const char *suites;
};

FIXTURE_VARIANT_ADD(ktls, measured) {
	.suites = NULL,
};

FIXTURE_VARIANT_ADD(ktls, aes128) {
	.suites = "TLS_AES_128_GCM_SHA256",
};

FIXTURE_VARIANT_ADD(ktls, aes256) {
	.suites = "TLS_AES_256_GCM_SHA384",
};

FIXTURE_VARIANT_ADD(ktls, chacha20) {
	.suites = "TLS_CHACHA20_POLY1305_SHA256",
};

FIXTURE_SETUP(ktls)
{
	char why[VMMIG_ERRLEN] = "";
	time_t t0;
	int fd[2];

	signal(SIGPIPE, SIG_IGN);
	memset(&self->s, 0, sizeof(self->s));
	memset(&self->c, 0, sizeof(self->c));
	self->dir[0] = 0;
	if (!module_loaded("tls") && module_probe("tls"))
		SKIP(return, "this kernel has no tls module (CONFIG_TLS)");
	ASSERT_EQ(0, tls_lab_create(self->dir, why)) TH_LOG("%s", why);
	if (variant->suites)
		tls_set_suites(variant->suites);
	self->s.ctx = tls_lab_ctx(self->dir, "hosta", NULL, 0, false, why);
	ASSERT_NE(NULL, self->s.ctx) TH_LOG("%s", why);
	self->c.ctx = tls_lab_ctx(self->dir, "hostb", NULL, 0, false, why);
	ASSERT_NE(NULL, self->c.ctx) TH_LOG("%s", why);
	ASSERT_EQ(0, tcp_pair(fd));
	self->s.fd = fd[0];
	self->c.fd = fd[1];
	t0 = time(NULL);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_NE(NULL, self->s.conn) TH_LOG("server: %s (after %lld s)", self->s.why,
					      (long long)(time(NULL) - t0));
	ASSERT_NE(NULL, self->c.conn) TH_LOG("client: %s", self->c.why);
	/* One suite offered, that one agreed; else the first of the order. */
	ASSERT_EQ(0, strncmp(tls_suites(), tls_cipher(self->c.conn),
			     strlen(tls_cipher(self->c.conn))))
		TH_LOG("agreed on %s, offered %s", tls_cipher(self->c.conn), tls_suites());
	fflush(stdout);
	ksft_print_msg("%s gave the kernel: send %s, receive %s (%s)\n",
		       OpenSSL_version(OPENSSL_VERSION),
		       tls_ktls_send(self->c.conn) ? "yes" : "no",
		       tls_ktls_recv(self->c.conn) ? "yes" : "no", tls_cipher(self->c.conn));
	fflush(stdout);
}

FIXTURE_TEARDOWN(ktls)
{
	tls_free(self->s.conn);
	tls_free(self->c.conn);
	tls_ctx_free(self->s.ctx);
	tls_ctx_free(self->c.ctx);
	if (self->dir[0])
		tls_lab_remove(self->dir);
}

struct job {
	int fd, err;
};

static void *side_a(void *arg)
{
	struct job *j = arg;

	j->err = bulk_both(j->fd, 1, j->fd, 2, BULK);
	return NULL;
}

static bool same_socket(int fd, struct tls_conn *c)
{
	struct stat a, b;

	return !fstat(fd, &a) && !fstat(tls_fd(c), &b) && a.st_ino == b.st_ino;
}

/*
 * Both plaintext fds carry BULK bytes each way, checked, then EOF; with
 * @socket, both must be the TCP sockets themselves.
 */
static int exchange(struct tls_conn *s, struct tls_conn *c, bool socket, char *why)
{
	struct job a;
	pthread_t t;
	int pb, err;
	char x;

	a.fd = tls_plain_fd(s, why);
	if (a.fd < 0)
		return a.fd;
	pb = tls_plain_fd(c, why);
	if (pb < 0) {
		close(a.fd);
		return pb;
	}
	if (socket && (!same_socket(a.fd, s) || !same_socket(pb, c))) {
		snprintf(why, VMMIG_ERRLEN, "tls_plain_fd() did not give the socket itself");
		close(a.fd);
		close(pb);
		return -EPROTO;
	}
	pthread_create(&t, NULL, side_a, &a);
	err = bulk_both(pb, 2, pb, 1, BULK);
	pthread_join(t, NULL);
	err = err ?: a.err;
	if (err)
		snprintf(why, VMMIG_ERRLEN, "bulk transfer: %s", strerror(-err));
	shutdown(pb, SHUT_RDWR);
	close(pb);
	if (!err && read(a.fd, &x, 1) != 0) {
		snprintf(why, VMMIG_ERRLEN, "no EOF after the peer's close");
		err = -EPROTO;
	}
	close(a.fd);
	return err;
}

TEST_F(ktls, send)
{
	char why[VMMIG_ERRLEN] = "";

	if (!tls_ktls_send(self->c.conn) || !tls_ktls_send(self->s.conn))
		SKIP(return, "OpenSSL did not hand the send side of TLS 1.3 to the kernel");
	EXPECT_EQ(0, exchange(self->s.conn, self->c.conn, false, why)) TH_LOG("%s", why);
}

/*
 * The receive side programmed at the right record: a few records through
 * OpenSSL first, each way, then the sockets themselves.
 */
TEST_F(ktls, both_ways_socket_itself)
{
	char why[VMMIG_ERRLEN] = "", buf[8];
	int i;

	if (!tls_ktls(self->c.conn) || !tls_ktls(self->s.conn))
		SKIP(return, "%s cannot give the kernel the receive side of TLS 1.3",
		     OpenSSL_version(OPENSSL_VERSION));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, tls_write_all(self->c.conn, "ping", 4));
		ASSERT_EQ(0, tls_read_full(self->s.conn, buf, 4));
	}
	ASSERT_EQ(0, tls_write_all(self->s.conn, "pong", 4));
	ASSERT_EQ(0, tls_read_full(self->c.conn, buf, 4));
	EXPECT_EQ(0, exchange(self->s.conn, self->c.conn, true, why)) TH_LOG("%s", why);
	EXPECT_TRUE(tls_ktls_recv(self->s.conn) && tls_ktls_recv(self->c.conn));
}

/* A host with kTLS and a host without it: the socket against the relay. */
TEST_F(ktls, against_userspace_peer)
{
	struct tls_side s = {}, c = {};
	char why[VMMIG_ERRLEN] = "";
	int fd[2];

	if (!tls_ktls(self->c.conn))
		SKIP(return, "no kTLS both ways here");
	s.ctx = tls_lab_ctx(self->dir, "hosta", NULL, 0, true, why);
	ASSERT_NE(NULL, s.ctx) TH_LOG("%s", why);
	c.ctx = self->c.ctx;
	ASSERT_EQ(0, tcp_pair(fd));
	s.fd = fd[0];
	c.fd = fd[1];
	tls_pair_handshake(&s, &c);
	ASSERT_TRUE(s.conn && c.conn) TH_LOG("%s %s", s.why, c.why);
	EXPECT_FALSE(tls_ktls_send(s.conn));
	EXPECT_EQ(0, exchange(s.conn, c.conn, false, why)) TH_LOG("%s", why);
	EXPECT_TRUE(tls_ktls_recv(c.conn));
	tls_free(s.conn);
	tls_free(c.conn);
	tls_ctx_free(s.ctx);
}

TEST_HARNESS_MAIN
