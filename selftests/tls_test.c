// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of lib/tls and lib/cert: mutual TLS 1.3 between two hosts
 * of a lab made through lib/cert, over TCP loopback with a thread per side:
 * the handshake and the names each side sees, the refusals (a certificate
 * of another CA in both directions, an untrusted name both ways, a TLS 1.2
 * peer both ways, a silent peer), tls_read/tls_write_all with EOF, and the
 * plaintext fd (the relay) carrying several MiB both ways, checked, ending
 * on close, on shutdown and on tls_free.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "kselftest_harness.h"
#include "tls_lab.h"

#define BULK (8 << 20)

static const char *const trust_b[] = { "hostb" };
static const char *const trust_a[] = { "hosta" };
static const char *const trust_z[] = { "hostz" };

FIXTURE(tls) {
	char dir[64];
	int fd[2];
	struct tls_side s, c;
};

FIXTURE_SETUP(tls)
{
	char why[VMMIG_ERRLEN] = "";

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, tls_lab_create(self->dir, why)) TH_LOG("%s", why);
	ASSERT_EQ(0, tcp_pair(self->fd));
	memset(&self->s, 0, sizeof(self->s));
	memset(&self->c, 0, sizeof(self->c));
	self->s.fd = self->fd[0];
	self->c.fd = self->fd[1];
}

FIXTURE_TEARDOWN(tls)
{
	tls_free(self->s.conn);
	tls_free(self->c.conn);
	tls_ctx_free(self->s.ctx);
	tls_ctx_free(self->c.ctx);
	tls_lab_remove(self->dir);
}

static struct tls_ctx *ctx(const char *dir, const char *host, const char *const *trusted,
			   unsigned int n, bool no_ktls)
{
	char why[VMMIG_ERRLEN];
	struct tls_ctx *t = tls_lab_ctx(dir, host, trusted, n, no_ktls, why);

	if (!t)
		fprintf(stderr, "# %s: %s\n", host, why);
	return t;
}

TEST_F(tls, handshake)
{
	char buf[6] = "";
	size_t n;

	self->s.ctx = ctx(self->dir, "hosta", trust_b, 1, false);
	self->c.ctx = ctx(self->dir, "hostb", trust_a, 1, false);
	ASSERT_TRUE(self->s.ctx && self->c.ctx);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_NE(NULL, self->s.conn) TH_LOG("server: %s", self->s.why);
	ASSERT_NE(NULL, self->c.conn) TH_LOG("client: %s", self->c.why);
	EXPECT_STREQ("hostb", tls_peer_name(self->s.conn));
	EXPECT_STREQ("hosta", tls_peer_name(self->c.conn));
	/* Both ends order the suites by this CPU's speed: the first is agreed. */
	n = strlen(tls_cipher(self->c.conn));
	EXPECT_EQ(0, strncmp(tls_suites(), tls_cipher(self->c.conn), n));
	EXPECT_TRUE(tls_suites()[n] == ':' || !tls_suites()[n])
		TH_LOG("agreed on %s, offered %s", tls_cipher(self->c.conn), tls_suites());
	TH_LOG("kTLS send %d recv %d", tls_ktls_send(self->c.conn), tls_ktls_recv(self->c.conn));

	/* Data, then the peer's close_notify: EOF, told apart from a short read. */
	ASSERT_EQ(0, tls_write_all(self->c.conn, "hello", 5));
	ASSERT_EQ(0, tls_read_full(self->s.conn, buf, 5));
	EXPECT_STREQ("hello", buf);
	tls_free(self->c.conn);
	self->c.conn = NULL;
	EXPECT_EQ(-ENODATA, tls_read_full(self->s.conn, buf, 5));
}

TEST_F(tls, any_host_the_ca_signed)
{
	self->s.ctx = ctx(self->dir, "hosta", NULL, 0, false);
	self->c.ctx = ctx(self->dir, "hostb", NULL, 0, false);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_NE(NULL, self->s.conn) TH_LOG("server: %s", self->s.why);
	ASSERT_NE(NULL, self->c.conn) TH_LOG("client: %s", self->c.why);
	EXPECT_STREQ("hostb", tls_peer_name(self->s.conn));
	EXPECT_STREQ("hosta", tls_peer_name(self->c.conn));
}

/*
 * A handshake one side refuses: @refuser (the server or the client) says
 * @why, and the other side hears that it was refused.
 */
static void refused(struct __test_metadata *_metadata, FIXTURE_DATA(tls) *self,
		    const char *shost, const char *const *strust,
		    const char *chost, const char *const *ctrust,
		    bool server_refuses, const char *why)
{
	struct tls_side *r = server_refuses ? &self->s : &self->c;
	struct tls_side *o = server_refuses ? &self->c : &self->s;

	self->s.ctx = ctx(self->dir, shost, strust, strust ? 1 : 0, false);
	self->c.ctx = ctx(self->dir, chost, ctrust, ctrust ? 1 : 0, false);
	ASSERT_TRUE(self->s.ctx && self->c.ctx);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_EQ(NULL, self->s.conn);
	ASSERT_EQ(NULL, self->c.conn);
	EXPECT_STREQ(why, r->why);
	EXPECT_EQ(0, strncmp(o->why, "the peer refused us: ", 21)) TH_LOG("%s", o->why);
}

TEST_F(tls, client_of_another_ca)
{
	refused(_metadata, self, "hosta", NULL, "hostc", NULL, true,
		"peer certificate not signed by the cluster CA");
}

TEST_F(tls, server_of_another_ca)
{
	refused(_metadata, self, "hostc", NULL, "hosta", NULL, false,
		"peer certificate not signed by the cluster CA");
}

TEST_F(tls, untrusted_client)
{
	refused(_metadata, self, "hosta", trust_z, "hostb", trust_a, true,
		"peer 'hostb' is not a trusted host");
}

TEST_F(tls, untrusted_server)
{
	refused(_metadata, self, "hosta", trust_b, "hostb", trust_z, false,
		"peer 'hosta' is not a trusted host");
}

/* A TLS 1.2-only OpenSSL peer with hostb's certificate (the CA is right). */
struct old_peer {
	const char *dir;
	int fd;
	bool server;
	int ret;
};

static void *old_peer_run(void *arg)
{
	struct old_peer *o = arg;
	char path[128];
	SSL_CTX *x = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
	SSL *s;

	SSL_CTX_set_max_proto_version(x, TLS1_2_VERSION);
	snprintf(path, sizeof(path), "%s/hostb/host.crt", o->dir);
	SSL_CTX_use_certificate_file(x, path, SSL_FILETYPE_PEM);
	snprintf(path, sizeof(path), "%s/hostb/host.key", o->dir);
	SSL_CTX_use_PrivateKey_file(x, path, SSL_FILETYPE_PEM);
	snprintf(path, sizeof(path), "%s/hostb/ca.crt", o->dir);
	SSL_CTX_load_verify_locations(x, path, NULL);
	s = SSL_new(x);
	SSL_set_fd(s, o->fd);
	o->ret = o->server ? SSL_accept(s) : SSL_connect(s);
	SSL_free(s);
	SSL_CTX_free(x);
	close(o->fd);
	return NULL;
}

TEST_F(tls, tls12_client)
{
	struct old_peer o = { .dir = self->dir, .fd = self->fd[1] };
	pthread_t t;

	self->s.ctx = ctx(self->dir, "hosta", NULL, 0, false);
	ASSERT_EQ(0, pthread_create(&t, NULL, old_peer_run, &o));
	self->s.conn = tls_accept(self->s.ctx, self->fd[0], LAB_TIMEOUT_MS, self->s.why);
	pthread_join(t, NULL);
	ASSERT_EQ(NULL, self->s.conn);
	EXPECT_EQ(0, strncmp(self->s.why, "TLS version: ", 13)) TH_LOG("%s", self->s.why);
	EXPECT_NE(1, o.ret);
}

TEST_F(tls, tls12_server)
{
	struct old_peer o = { .dir = self->dir, .fd = self->fd[0], .server = true };
	pthread_t t;

	self->c.ctx = ctx(self->dir, "hosta", NULL, 0, false);
	ASSERT_EQ(0, pthread_create(&t, NULL, old_peer_run, &o));
	self->c.conn = tls_connect(self->c.ctx, self->fd[1], LAB_TIMEOUT_MS, self->c.why);
	pthread_join(t, NULL);
	ASSERT_EQ(NULL, self->c.conn);
	EXPECT_EQ(0, strncmp(self->c.why, "TLS version: ", 13)) TH_LOG("%s", self->c.why);
	EXPECT_NE(1, o.ret);
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

TEST_F(tls, silent_peer_times_out)
{
	long long t0 = ms_now();

	self->c.ctx = ctx(self->dir, "hosta", NULL, 0, false);
	self->c.conn = tls_connect(self->c.ctx, self->fd[1], 300, self->c.why);
	ASSERT_EQ(NULL, self->c.conn);
	EXPECT_STREQ("TLS handshake timed out after 300 ms", self->c.why);
	EXPECT_LT(ms_now() - t0, 2000);
	close(self->fd[0]);
}

TEST_F(tls, context_refusals)
{
	char why[VMMIG_ERRLEN], ca[128], crt[128], key[128];
	struct tls_conf c = { .ca_file = ca, .cert_file = crt, .key_file = key };

	snprintf(ca, sizeof(ca), "%s/hosta/ca.crt", self->dir);
	snprintf(crt, sizeof(crt), "%s/hosta/host.crt", self->dir);
	snprintf(key, sizeof(key), "%s/hostb/host.key", self->dir);
	EXPECT_EQ(NULL, tls_ctx_new(&c, why));
	EXPECT_NE(NULL, strstr(why, "does not match")) TH_LOG("%s", why);
	snprintf(crt, sizeof(crt), "%s/hostc/host.crt", self->dir);
	snprintf(key, sizeof(key), "%s/hostc/host.key", self->dir);
	EXPECT_EQ(NULL, tls_ctx_new(&c, why));
	EXPECT_NE(NULL, strstr(why, "is not signed by")) TH_LOG("%s", why);
	snprintf(ca, sizeof(ca), "%s/nothing/ca.crt", self->dir);
	EXPECT_EQ(NULL, tls_ctx_new(&c, why));
	EXPECT_NE(NULL, strstr(why, "cannot read the CA certificate")) TH_LOG("%s", why);
	close(self->fd[0]);
	close(self->fd[1]);
}

struct bulk_arg {
	int fd, err;
};

static void *bulk_a(void *arg)
{
	struct bulk_arg *b = arg;

	b->err = bulk_both(b->fd, 1, b->fd, 2, BULK);
	return NULL;
}

/* EOF on @fd within @ms. */
static int eof_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	return read(fd, &c, 1) == 0 ? 0 : -EBADMSG;
}

/* Several MiB both ways at once through tls_plain_fd(), checked, then EOF. */
static void relay_both_ways(struct __test_metadata *_metadata, FIXTURE_DATA(tls) *self,
			    bool no_ktls)
{
	struct bulk_arg a;
	char why[VMMIG_ERRLEN];
	pthread_t t;
	int pb;

	self->s.ctx = ctx(self->dir, "hosta", trust_b, 1, no_ktls);
	self->c.ctx = ctx(self->dir, "hostb", trust_a, 1, no_ktls);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_NE(NULL, self->s.conn) TH_LOG("server: %s", self->s.why);
	ASSERT_NE(NULL, self->c.conn) TH_LOG("client: %s", self->c.why);
	if (no_ktls)
		EXPECT_FALSE(tls_ktls_send(self->s.conn));
	TH_LOG("kTLS send %d recv %d", tls_ktls_send(self->s.conn), tls_ktls_recv(self->s.conn));
	a.fd = tls_plain_fd(self->s.conn, why);
	ASSERT_LE(0, a.fd) TH_LOG("%s", why);
	pb = tls_plain_fd(self->c.conn, why);
	ASSERT_LE(0, pb) TH_LOG("%s", why);
	EXPECT_GT(0, tls_plain_fd(self->c.conn, why));
	ASSERT_EQ(0, pthread_create(&t, NULL, bulk_a, &a));
	EXPECT_EQ(0, bulk_both(pb, 2, pb, 1, BULK));
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.err);
	/* The client's side closes: the server's side sees EOF, both relays end. */
	if (!tls_ktls(self->c.conn))
		EXPECT_EQ(-ETIMEDOUT, tls_relay_wait(self->c.conn, 100));
	close(pb);
	EXPECT_EQ(0, eof_within(a.fd, LAB_TIMEOUT_MS));
	close(a.fd);
	EXPECT_EQ(0, tls_relay_wait(self->c.conn, LAB_TIMEOUT_MS));
	EXPECT_EQ(0, tls_relay_wait(self->s.conn, LAB_TIMEOUT_MS));
}

TEST_F(tls, relay_userspace)
{
	relay_both_ways(_metadata, self, true);
}

TEST_F(tls, plain_fd_ktls_if_possible)
{
	relay_both_ways(_metadata, self, false);
}

TEST_F(tls, relay_ends_on_socket_shutdown)
{
	char why[VMMIG_ERRLEN];
	int pa, pb;

	self->s.ctx = ctx(self->dir, "hosta", NULL, 0, true);
	self->c.ctx = ctx(self->dir, "hostb", NULL, 0, true);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_TRUE(self->s.conn && self->c.conn);
	pa = tls_plain_fd(self->s.conn, why);
	pb = tls_plain_fd(self->c.conn, why);
	ASSERT_TRUE(pa >= 0 && pb >= 0);
	ASSERT_EQ(0, bulk_write(pb, 3, 4096));
	ASSERT_EQ(0, bulk_read(pa, 3, 4096));
	shutdown(tls_fd(self->s.conn), SHUT_RDWR);
	EXPECT_EQ(0, eof_within(pa, LAB_TIMEOUT_MS));
	EXPECT_EQ(0, eof_within(pb, LAB_TIMEOUT_MS));
	close(pa);
	close(pb);
}

TEST_F(tls, free_ends_an_idle_relay)
{
	char why[VMMIG_ERRLEN];
	long long t0;
	int pa, pb;

	self->s.ctx = ctx(self->dir, "hosta", NULL, 0, true);
	self->c.ctx = ctx(self->dir, "hostb", NULL, 0, true);
	tls_pair_handshake(&self->s, &self->c);
	ASSERT_TRUE(self->s.conn && self->c.conn);
	pa = tls_plain_fd(self->s.conn, why);
	pb = tls_plain_fd(self->c.conn, why);
	ASSERT_TRUE(pa >= 0 && pb >= 0);
	t0 = ms_now();
	tls_free(self->s.conn);
	self->s.conn = NULL;
	EXPECT_LT(ms_now() - t0, 2000);
	EXPECT_EQ(0, eof_within(pa, LAB_TIMEOUT_MS));
	EXPECT_EQ(0, eof_within(pb, LAB_TIMEOUT_MS));
	t0 = ms_now();
	tls_free(self->c.conn);
	self->c.conn = NULL;
	EXPECT_LT(ms_now() - t0, 2000);
	close(pa);
	close(pb);
}

TEST_HARNESS_MAIN
