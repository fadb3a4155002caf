// SPDX-License-Identifier: GPL-2.0
/*
 * Mutual TLS 1.3 between hosts (see tls.h): the handshake with a deadline,
 * the refusals in words, kTLS where OpenSSL and the kernel allow it, and
 * otherwise the relay (tls_relay.c) that gives another process the plaintext.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "tls.h"
#include "tls_int.h"
#include "vmdef.h"

/* The suites, the faster of AES-128-GCM and ChaCha20-Poly1305 first (suite_order()). */
#define TLS_SUITES_AES	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:" \
			"TLS_AES_256_GCM_SHA384"
#define TLS_SUITES_CHACHA "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" \
			"TLS_AES_256_GCM_SHA384"
#define SPEED_BUF	(16 * 1024)
#define SPEED_ROUNDS	3
/* The server's word that it accepted the client's certificate. */
#define TLS_ACCEPTED	0x55

struct tls_ctx {
	SSL_CTX *ssl;
	char **trusted;
	unsigned int ntrusted;
};

static int verify_cb(int ok, X509_STORE_CTX *st)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(st, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = SSL_get_app_data(ssl);
	X509 *cert = X509_STORE_CTX_get_current_cert(st);
	unsigned int i;

	if (!ok) {
		if (!c->verify_err)
			c->verify_err = X509_STORE_CTX_get_error(st);
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(st) || !cert)
		return 1;
	cert_peer_name(cert, c->peer, sizeof(c->peer));
	if (!c->ctx->ntrusted)
		return 1;
	for (i = 0; i < c->ctx->ntrusted; i++) {
		if (X509_check_host(cert, c->ctx->trusted[i], 0,
				    X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1) {
			snprintf(c->peer, sizeof(c->peer), "%s", c->ctx->trusted[i]);
			return 1;
		}
	}
	c->untrusted = true;
	if (!c->verify_err)
		c->verify_err = X509_V_ERR_HOSTNAME_MISMATCH;
	X509_STORE_CTX_set_error(st, X509_V_ERR_HOSTNAME_MISMATCH);
	return 0;
}


/* Nanoseconds @cipher takes to seal SPEED_BUF bytes (the best of 4), 0 when it cannot. */
static uint64_t seal_ns(const EVP_CIPHER *cipher, unsigned char *buf)
{
	static const unsigned char key[32], iv[12];
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint64_t best = 0, t;
	struct timespec a, b;
	int i, n;

	for (i = 0; x && cipher && i < 4; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (EVP_EncryptInit_ex(x, cipher, NULL, key, iv) != 1 ||
		    EVP_EncryptUpdate(x, buf, &n, buf, SPEED_BUF) != 1 ||
		    EVP_EncryptFinal_ex(x, buf + n, &n) != 1) {
			best = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (b.tv_sec - a.tv_sec) * 1000000000ULL + b.tv_nsec - a.tv_nsec;
		if (!best || t < best)
			best = t;
	}
	EVP_CIPHER_CTX_free(x);
	return best;
}

static const char *suites = TLS_SUITES_AES;
static pthread_once_t suites_once = PTHREAD_ONCE_INIT;

/*
 * Orders the suites by this CPU's speed. Where the CPU has AES
 * instructions AES-GCM is several times faster than ChaCha20-Poly1305;
 * where it has none (or they are emulated) ChaCha20 is. The kernel runs
 * both for kTLS. Once per process, a few milliseconds.
 */
static void measure_suites(void)
{
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	EVP_CIPHER *chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	unsigned char *buf = calloc(1, SPEED_BUF + 64);
	uint64_t a = 0, c = 0;
	int i;

	for (i = 0; buf && i < SPEED_ROUNDS; i++) {
		a += seal_ns(aes, buf);
		c += seal_ns(chacha, buf);
	}
	if (a && c && c < a)
		suites = TLS_SUITES_CHACHA;
	free(buf);
	EVP_CIPHER_free(aes);
	EVP_CIPHER_free(chacha);
}

static const char *suites_forced;

static const char *suite_order(void)
{
	if (suites_forced)
		return suites_forced;
	pthread_once(&suites_once, measure_suites);
	return suites;
}

void tls_set_suites(const char *list)
{
	suites_forced = list;
}

void tls_ctx_free(struct tls_ctx *t)
{
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i < t->ntrusted; i++)
		free(t->trusted[i]);
	free(t->trusted);
	SSL_CTX_free(t->ssl);
	free(t);
}

struct tls_ctx *tls_ctx_new(const struct tls_conf *c, char *why)
{
	struct tls_ctx *t;
	unsigned int i;

	t = calloc(1, sizeof(*t));
	if (!t || (c->ntrusted && !(t->trusted = calloc(c->ntrusted, sizeof(char *))))) {
		snprintf(why, VMMIG_ERRLEN, "out of memory");
		goto fail;
	}
	for (i = 0; i < c->ntrusted; i++) {
		if (!cert_valid_hostname(c->trusted[i])) {
			snprintf(why, VMMIG_ERRLEN, "trusted host '%s' is not a host name",
				 c->trusted[i]);
			goto fail;
		}
		if (!(t->trusted[t->ntrusted++] = strdup(c->trusted[i]))) {
			snprintf(why, VMMIG_ERRLEN, "out of memory");
			goto fail;
		}
	}
	ERR_clear_error();
	t->ssl = SSL_CTX_new(TLS_method());
	if (!t->ssl || !SSL_CTX_set_min_proto_version(t->ssl, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ssl, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(t->ssl, suite_order())) {
		ossl_fail(why, 0, "cannot set up TLS 1.3");
		goto fail;
	}
	/* No tickets, no renegotiation: after the handshake only data flows. */
	SSL_CTX_set_num_tickets(t->ssl, 0);
	SSL_CTX_set_session_cache_mode(t->ssl, SSL_SESS_CACHE_OFF);
	/* The destination, the server, decrypts the bulk: its order decides. */
	SSL_CTX_set_options(t->ssl, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE |
			    (c->no_ktls ? 0 : SSL_OP_ENABLE_KTLS));
	SSL_CTX_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!c->no_ktls) {
		SSL_CTX_set_keylog_callback(t->ssl, ktls_keylog_cb);
		SSL_CTX_set_msg_callback(t->ssl, ktls_msg_cb);
	}
	if (SSL_CTX_load_verify_locations(t->ssl, c->ca_file, NULL) != 1) {
		ossl_fail(why, 0, "%s: cannot read the CA certificate", c->ca_file);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(t->ssl, c->cert_file) != 1) {
		ossl_fail(why, 0, "%s: cannot read the host certificate", c->cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ssl, c->key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			ossl_fail(why, 0, "%s does not match %s", c->key_file, c->cert_file);
		else
			ossl_fail(why, 0, "%s: cannot read the host key", c->key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(t->ssl) != 1) {
		ossl_fail(why, 0, "%s does not match %s", c->key_file, c->cert_file);
		goto fail;
	}
	/* A host whose own certificate the cluster CA did not sign is refused by all. */
	if (cert_verify_file(c->cert_file, c->ca_file, why))
		goto fail;
	SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(t->ssl, 4);
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

long long tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for @events on @fd until @deadline (ms); 0, or -ETIMEDOUT. */
int tls_wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	do {
		left = deadline - tls_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

static bool version_reason(int r)
{
	return r == SSL_R_UNSUPPORTED_PROTOCOL || r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
	       r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_UNSUPPORTED_SSL_VERSION ||
	       r == SSL_R_NO_PROTOCOLS_AVAILABLE || r == SSL_R_VERSION_TOO_LOW ||
	       r == SSL_R_TLSV13_ALERT_MISSING_EXTENSION;
}

/*
 * One line for a failed handshake (or a refusal read after it); returns
 * EACCES when TLS refused (certificates, trust, version, an alert),
 * ECONNRESET when the connection failed under it.
 */
static int handshake_why(struct tls_conn *c, int ssl_err, char *why)
{
	int cls = EACCES;

	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
	const char *rs = e ? ERR_reason_error_string(e) : NULL;

	if (c->untrusted) {
		snprintf(why, VMMIG_ERRLEN, "peer '%.200s' is not a trusted host", c->peer);
	} else if (c->verify_err) {
		switch (c->verify_err) {
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		case X509_V_ERR_CERT_SIGNATURE_FAILURE:
			snprintf(why, VMMIG_ERRLEN,
				 "peer certificate not signed by the cluster CA");
			break;
		case X509_V_ERR_CERT_HAS_EXPIRED:
			snprintf(why, VMMIG_ERRLEN, "peer certificate has expired");
			break;
		case X509_V_ERR_CERT_NOT_YET_VALID:
			snprintf(why, VMMIG_ERRLEN, "peer certificate is not valid yet");
			break;
		default:
			snprintf(why, VMMIG_ERRLEN, "peer certificate refused: %s",
				 X509_verify_cert_error_string(c->verify_err));
		}
	} else if (version_reason(reason)) {
		snprintf(why, VMMIG_ERRLEN, "TLS version: the peer does not speak TLS 1.3 (%s)", rs);
	} else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(why, VMMIG_ERRLEN, "the peer sent no certificate");
	} else if (reason >= SSL_AD_REASON_OFFSET) {
		snprintf(why, VMMIG_ERRLEN, "the peer refused us: %s", rs);
	} else if (ssl_err == SSL_ERROR_SYSCALL || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
		   ssl_err == SSL_ERROR_ZERO_RETURN) {
		snprintf(why, VMMIG_ERRLEN, "the peer closed the connection during the handshake%s%s",
			 errno && ssl_err == SSL_ERROR_SYSCALL ? ": " : "",
			 errno && ssl_err == SSL_ERROR_SYSCALL ? strerror(errno) : "");
		cls = ECONNRESET;
	} else {
		snprintf(why, VMMIG_ERRLEN, "TLS handshake: %s", rs ? rs : "failed");
	}
	ERR_clear_error();
	return cls;
}

int tls_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

/*
 * Runs @op (the handshake, or one byte of I/O) on the non-blocking socket
 * until it is done or @deadline passes. Returns @op's result (> 0), or 0
 * with SSL_get_error()'s value in *@ssl_err, or -ETIMEDOUT.
 */
static int drive(struct tls_conn *c, int (*op)(SSL *s, void *arg), void *arg,
		 long long deadline, int *ssl_err)
{
	int r, e;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = op(c->ssl, arg);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			*ssl_err = e;
			return 0;
		}
		if (tls_wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
			return -ETIMEDOUT;
	}
}

static int op_accept(SSL *s, void *arg)
{
	return SSL_accept(s);
}

static int op_connect(SSL *s, void *arg)
{
	return SSL_connect(s);
}

static int op_read1(SSL *s, void *arg)
{
	return SSL_read(s, arg, 1);
}

static int op_write1(SSL *s, void *arg)
{
	return SSL_write(s, arg, 1);
}

static struct tls_conn *handshake(struct tls_ctx *t, int fd, bool server, int timeout_ms,
				  char *why)
{
	long long deadline = tls_now_ms() + timeout_ms;
	unsigned char word = TLS_ACCEPTED;
	struct tls_conn *c;
	int r, e = 0, cls = EACCES;

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, VMMIG_ERRLEN, "out of memory");
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->ctx = t;
	c->relay_fd = -1;
	ERR_clear_error();
	c->ssl = SSL_new(t->ssl);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
		ossl_fail(why, 0, "cannot set up TLS");
		goto fail;
	}
	SSL_set_app_data(c->ssl, c);
	if (tls_set_nonblock(fd, true)) {
		snprintf(why, VMMIG_ERRLEN, "socket: %s", strerror(errno));
		goto fail;
	}
	r = drive(c, server ? op_accept : op_connect, NULL, deadline, &e);
	if (r > 0) {
		/*
		 * In TLS 1.3 the client's handshake ends before the server
		 * has checked the client's certificate: the server says that
		 * it accepted it, so that a refusal reaches the client here.
		 */
		r = drive(c, server ? op_write1 : op_read1, &word, deadline, &e);
		if (r > 0 && word != TLS_ACCEPTED) {
			snprintf(why, VMMIG_ERRLEN, "the peer is not a vmmig host");
			goto fail;
		}
	}
	if (r == -ETIMEDOUT) {
		snprintf(why, VMMIG_ERRLEN, "TLS handshake timed out after %d ms", timeout_ms);
		cls = ETIMEDOUT;
		goto fail;
	}
	if (r <= 0) {
		cls = handshake_why(c, e, why);
		goto fail;
	}
	if (tls_set_nonblock(fd, false)) {
		snprintf(why, VMMIG_ERRLEN, "socket: %s", strerror(errno));
		goto fail;
	}
	if (!c->peer[0])
		cert_peer_name(SSL_get0_peer_certificate(c->ssl), c->peer, sizeof(c->peer));
	return c;
fail:
	tls_free(c);
	errno = cls;
	return NULL;
}

struct tls_conn *tls_accept(struct tls_ctx *t, int fd, int timeout_ms, char *why)
{
	return handshake(t, fd, true, timeout_ms, why);
}

struct tls_conn *tls_connect(struct tls_ctx *t, int fd, int timeout_ms, char *why)
{
	return handshake(t, fd, false, timeout_ms, why);
}

const char *tls_peer_name(const struct tls_conn *c)
{
	return c->peer;
}

const char *tls_suites(void)
{
	return suite_order();
}

void tls_describe(const struct tls_conn *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %s", tls_cipher(c),
		 tls_ktls_send(c) && tls_ktls_recv(c) ? "kTLS" : "OpenSSL relay");
}

const char *tls_cipher(const struct tls_conn *c)
{
	return SSL_get_cipher_name(c->ssl);
}

int tls_fd(const struct tls_conn *c)
{
	return c->fd;
}

/* The -errno of a failed SSL_read/SSL_write; 0 for a close_notify. */
int tls_io_errno(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);
	unsigned long err = ERR_peek_last_error();

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -ECONNRESET;
	default:
		if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
		    ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return -ECONNRESET;
		/* A record that failed its check: corrupted (kTLS says EBADMSG too). */
		if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
		    ERR_GET_REASON(err) == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)
			return -EBADMSG;
		/* The peer's alert: one of our records failed its check there. */
		if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
		    ERR_GET_REASON(err) == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC)
			return -EREMOTEIO;
		return -EPROTO;
	}
}

int tls_write_all(struct tls_conn *c, const void *buf, size_t len)
{
	const char *p = buf;
	int r, err;

	while (len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		if (r > 0) {
			p += r;
			len -= r;
			continue;
		}
		err = tls_io_errno(c->ssl, r);
		if (err == -EAGAIN || err == -EINTR)
			continue;
		return err ? err : -EPIPE;
	}
	return 0;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t len)
{
	int r, err;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (r > 0)
			return r;
		err = tls_io_errno(c->ssl, r);
		if (err != -EAGAIN && err != -EINTR)
			return err;
	}
}

int tls_read_full(struct tls_conn *c, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = tls_read(c, (char *)buf + got, len - got);
		if (n < 0)
			return n;
		if (!n)
			return got ? -EPIPE : -ENODATA;
		got += n;
	}
	return 0;
}

int tls_plain_fd(struct tls_conn *c, char *why)
{
	int sv[2], fd, err;

	if (c->relaying || c->handed_off) {
		snprintf(why, VMMIG_ERRLEN, "the connection's plaintext was handed out already");
		return -EBUSY;
	}
	if (tls_ktls(c) && !SSL_has_pending(c->ssl) &&
	    (BIO_get_ktls_recv(SSL_get_rbio(c->ssl)) || c->rx_kernel || !ktls_enable_rx(c, why))) {
		fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(why, VMMIG_ERRLEN, "dup: %s", strerror(errno));
			return -errno;
		}
		c->handed_off = true;
		return fd;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(why, VMMIG_ERRLEN, "socketpair: %s", strerror(errno));
		return -errno;
	}
	c->relay_fd = sv[0];
	err = pthread_create(&c->relay, NULL, tls_relay_main, c);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "relay thread: %s", strerror(err));
		close(sv[0]);
		close(sv[1]);
		c->relay_fd = -1;
		return -err;
	}
	c->relaying = true;
	return sv[1];
}

void tls_free(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->relaying) {
		/* Wakes the relay, which ends both sides. */
		shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->relay, NULL);
	} else if (!c->handed_off && c->ssl && SSL_is_init_finished(c->ssl)) {
		/* close_notify, without waiting for the peer's. */
		tls_set_nonblock(c->fd, true);
		SSL_shutdown(c->ssl);
	}
	ERR_clear_error();
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}
