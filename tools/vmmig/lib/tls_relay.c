// SPDX-License-Identifier: GPL-2.0
/*
 * The relay (tls.h, tls_plain_fd()): where the kernel cannot take the TLS
 * session, a thread pumps the plaintext between the session and one end of
 * a socketpair, whose other end another process reads and writes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "tls_int.h"

#define RELAY_BUF	(256 * 1024)
#define FLUSH_MS	1000
#define PEER_REFUSED_MS	10000	/* tls_on_bad_record() */

/* The relay: plaintext between the socketpair and the TLS session. */
struct relay {
	struct tls_conn *c;
	char *in, *out;		/* from TLS to the pair, from the pair to TLS */
	size_t ilen, ioff, olen, ooff;
	bool pair_eof, tls_eof, failed;
	bool bad_record;	/* a record from the peer failed its check */
	bool peer_refused;	/* one of ours failed the peer's check (its alert) */
	bool want_write;	/* OpenSSL waits for the socket to be writable */
};

/* Best effort, within FLUSH_MS: what is left of both directions, then close_notify. */
static void relay_finish(struct relay *r)
{
	struct tls_conn *c = r->c;
	long long deadline = tls_now_ms() + FLUSH_MS;
	ssize_t n;
	int w;

	while (!r->failed && r->ioff < r->ilen) {
		n = send(c->relay_fd, r->in + r->ioff, r->ilen - r->ioff, MSG_NOSIGNAL);
		if (n > 0)
			r->ioff += n;
		else if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			 tls_wait_fd(c->relay_fd, POLLOUT, deadline))
			break;
	}
	while (!r->failed && !r->tls_eof && r->ooff < r->olen) {
		ERR_clear_error();
		w = SSL_write(c->ssl, r->out + r->ooff, r->olen - r->ooff);
		if (w > 0) {
			r->ooff += w;
			continue;
		}
		if (tls_io_errno(c->ssl, w) != -EAGAIN || tls_wait_fd(c->fd, POLLOUT, deadline))
			r->failed = true;
	}
	if (!r->failed && !r->tls_eof && !c->bad_record) {
		ERR_clear_error();
		while (SSL_shutdown(c->ssl) < 0 && SSL_get_error(c->ssl, -1) == SSL_ERROR_WANT_WRITE &&
		       !tls_wait_fd(c->fd, POLLOUT, deadline))
			ERR_clear_error();
	}
	ERR_clear_error();
	/*
	 * A corrupted record: the peer is told why by other means (vmmigd's
	 * control connection), and must not learn of it first from this
	 * connection's end. Here, the reader sees its stream end; there (the
	 * peer refused ours), the writer blocks until told.
	 */
	if (!r->bad_record && !r->peer_refused && !c->bad_record)
		shutdown(c->fd, SHUT_RDWR);
	if (!r->peer_refused)
		shutdown(c->relay_fd, SHUT_RDWR);
}

/* One pass over both directions; true if anything moved. */
static bool relay_step(struct relay *r)
{
	struct tls_conn *c = r->c;
	bool moved = false;
	ssize_t n;
	int w, err;

	if (!r->pair_eof && !r->olen) {
		n = read(c->relay_fd, r->out, RELAY_BUF);
		if (n > 0) {
			r->olen = n;
			r->ooff = 0;
			moved = true;
		} else if (!n || (errno != EAGAIN && errno != EINTR)) {
			r->pair_eof = true;
		}
	}
	if (r->ooff < r->olen) {
		ERR_clear_error();
		errno = 0;
		w = SSL_write(c->ssl, r->out + r->ooff, r->olen - r->ooff);
		r->want_write = false;
		if (w > 0) {
			r->ooff += w;
			if (r->ooff == r->olen)
				r->olen = r->ooff = 0;
			moved = true;
		} else if ((err = tls_io_errno(c->ssl, w)) == -EAGAIN) {
			r->want_write = SSL_get_error(c->ssl, w) == SSL_ERROR_WANT_WRITE;
		} else {
			r->failed = true;
			return false;
		}
	}
	if (!r->tls_eof && !r->ilen) {
		ERR_clear_error();
		errno = 0;
		w = SSL_read(c->ssl, r->in, RELAY_BUF);
		if (w > 0) {
			r->ilen = w;
			r->ioff = 0;
			moved = true;
		} else if ((err = tls_io_errno(c->ssl, w)) != -EAGAIN) {
			r->tls_eof = true;
			r->failed = err != 0;
			r->bad_record = err == -EBADMSG;
			r->peer_refused = err == -EREMOTEIO;
		}
	}
	if (r->ioff < r->ilen) {
		n = send(c->relay_fd, r->in + r->ioff, r->ilen - r->ioff, MSG_NOSIGNAL);
		if (n > 0) {
			r->ioff += n;
			if (r->ioff == r->ilen)
				r->ilen = r->ioff = 0;
			moved = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			r->pair_eof = true;
			r->ilen = r->ioff = 0;
		}
	}
	return moved;
}

void *tls_relay_main(void *arg)
{
	struct relay r = { .c = arg };
	struct tls_conn *c = r.c;
	struct pollfd p[2];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	r.in = malloc(RELAY_BUF);
	r.out = malloc(RELAY_BUF);
	if (!r.in || !r.out || tls_set_nonblock(c->fd, true) || tls_set_nonblock(c->relay_fd, true)) {
		r.failed = true;
		goto out;
	}
	for (;;) {
		if (relay_step(&r))
			continue;
		/* Either side's EOF ends both, once what it sent has gone through. */
		if (r.failed || (r.pair_eof && !r.olen) || (r.tls_eof && !r.ilen))
			break;
		p[0] = (struct pollfd){ .fd = c->relay_fd };
		p[1] = (struct pollfd){ .fd = c->fd };
		if (!r.pair_eof && !r.olen)
			p[0].events |= POLLIN;
		if (r.ioff < r.ilen)
			p[0].events |= POLLOUT;
		if (!r.tls_eof && !r.ilen)
			p[1].events |= POLLIN;
		if (r.want_write)
			p[1].events |= POLLOUT;
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			r.failed = true;
			break;
		}
		/* A hang-up where nothing is read would wake us forever. */
		if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].events & POLLIN))
			r.pair_eof = true, r.ilen = r.ioff = 0;
		if ((p[1].revents & (POLLHUP | POLLERR)) && !(p[1].events & POLLIN))
			r.tls_eof = r.failed = true;
	}
out:
	relay_finish(&r);
	if (r.bad_record && c->bad_record)
		c->bad_record(c->bad_record_ctx);
	/*
	 * The peer refused our record: the writer on the socketpair waits to
	 * be told why, but not for ever (its owner may have let go of it): the
	 * pair ends when tls_free() shuts the connection, the peer closes it,
	 * or after PEER_REFUSED_MS.
	 */
	if (r.peer_refused) {
		poll(&(struct pollfd){ .fd = c->fd, .events = POLLRDHUP }, 1, PEER_REFUSED_MS);
		shutdown(c->relay_fd, SHUT_RDWR);
	}
	free(r.in);
	free(r.out);
	return NULL;
}

void tls_on_bad_record(struct tls_conn *c, void (*fn)(void *ctx), void *ctx)
{
	c->bad_record = fn;
	c->bad_record_ctx = ctx;
}

int tls_relay_wait(struct tls_conn *c, int timeout_ms)
{
	struct timespec ts;
	int err;

	if (!c->relaying)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	err = pthread_timedjoin_np(c->relay, NULL, &ts);
	if (err)
		return -err;
	c->relaying = false;
	return 0;
}
