/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mutual TLS 1.3 between hosts (OpenSSL 3): the migration listener of
 * vmmigd and its outgoing connections. Both ends present a certificate
 * signed by the cluster CA; each accepts only peers whose name (a DNS
 * subjectAltName, or the CN of a certificate without one) it trusts.
 *
 * Where the kernel has kTLS (the `tls` module) and OpenSSL hands it the
 * session, the kernel does the record layer; tls_plain_fd() gives a file
 * descriptor carrying the plaintext, for the VMM, either way.
 *
 * A process using this ignores SIGPIPE (OpenSSL writes to the socket with
 * write(2)); the relay thread blocks it for itself.
 */
#ifndef VMMIG_TLS_H
#define VMMIG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VMMIG_TLS_DIR		"/etc/vmmig/tls"
#define VMMIG_TLS_TIMEOUT_MS	30000

struct tls_conf {
	const char *ca_file, *cert_file, *key_file;
	/* Peer names accepted; none (0) = any host the CA signed. */
	const char *const *trusted;
	unsigned int ntrusted;
	bool no_ktls;		/* keep the record layer in OpenSSL (vmmigd --no-ktls) */
};

struct tls_ctx;
struct tls_conn;

/*
 * One context for both roles: TLS 1.3 only, a peer certificate required
 * both ways. NULL with one line in @why (VMMIG_ERRLEN) when a file cannot
 * be read or the key does not match the certificate.
 */
struct tls_ctx *tls_ctx_new(const struct tls_conf *c, char *why);
void tls_ctx_free(struct tls_ctx *t);
/*
 * One handshake of @t with itself over loopback, whatever its outcome (a
 * host need not trust its own name). What a first handshake sets up is
 * then ready: OpenSSL 3's methods and decoders, built at their first use,
 * and the kernel's TLS with the suite's crypto, whose modules load at
 * their first use. Under emulation that is a second or more, which a
 * daemon pays as it starts rather than in its first migration.
 */
void tls_warm(struct tls_ctx *t);

/*
 * The handshake on the connected TCP socket @fd, within @timeout_ms; the
 * connection owns @fd from then on (also when it fails: @fd is closed).
 * The server confirms with one byte that it accepted the client's
 * certificate, so that a refused client learns why in tls_connect() rather
 * than at its first read. NULL with one line in @why: "peer certificate not
 * signed by the cluster CA", "peer 'X' is not a trusted host", "TLS
 * version: ...", "handshake timed out after N ms", "the peer refused us:
 * ...", and errno: EACCES when TLS refused, ETIMEDOUT, or ECONNRESET when
 * the connection failed under the handshake.
 */
struct tls_conn *tls_accept(struct tls_ctx *t, int fd, int timeout_ms, char *why);
struct tls_conn *tls_connect(struct tls_ctx *t, int fd, int timeout_ms, char *why);

/* The peer's name: the trusted name it matched, else its first DNS name or CN. */
const char *tls_peer_name(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);
/*
 * The TLS 1.3 suites contexts made from now on offer, in order: by default
 * the faster of AES-128-GCM and ChaCha20-Poly1305 on this CPU first
 * (measured once); tls_set_suites() imposes an OpenSSL suite list instead.
 */
const char *tls_suites(void);
/* "SUITE, kTLS" or "SUITE, OpenSSL relay": what carries @c's data since tls_plain_fd(). */
void tls_describe(const struct tls_conn *c, char *buf, size_t len);
void tls_set_suites(const char *list);

/* 0 or -errno (-EPIPE: the peer closed). */
int tls_write_all(struct tls_conn *c, const void *buf, size_t len);
/* Bytes read, 0 at the peer's close_notify, or -errno (-ECONNRESET: EOF without it). */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t len);
/* 0 when @len bytes were read; -ENODATA at EOF before the first byte, -EPIPE after it. */
int tls_read_full(struct tls_conn *c, void *buf, size_t len);

int tls_fd(const struct tls_conn *c);
bool tls_ktls_send(const struct tls_conn *c);
bool tls_ktls_recv(const struct tls_conn *c);
/*
 * The kernel does the record layer both ways, or will once tls_plain_fd()
 * hands the socket over: OpenSSL 3.0 gives the kernel the send side of TLS
 * 1.3 only, and tls_plain_fd() programs the receive side itself (from the
 * peer's traffic secret and the records read so far).
 */
bool tls_ktls(const struct tls_conn *c);

/*
 * A file descriptor carrying the connection's plaintext both ways, for
 * another process (over SCM_RIGHTS), owned by the caller: with kTLS both
 * ways a duplicate of the socket itself; otherwise one end of a socketpair
 * whose other end a relay thread pumps through OpenSSL. EOF or an error on
 * either side ends both (what was read is delivered first); closing the
 * returned fd, or shutting the socket down, ends the relay. Once per
 * connection; use neither tls_read() nor tls_write_all() after it. On
 * the socket itself a record that is not data (the peer's close_notify)
 * reads as EIO; a plain close reads as EOF. -errno with @why.
 */
int tls_plain_fd(struct tls_conn *c, char *why);

/*
 * Before tls_plain_fd(), on a connection that only receives (a migration
 * stream at the destination): @fn(@ctx) runs in the relay's thread, if
 * there is one, when a record from the peer failed its check (corrupted on
 * the way). However the relay ends (that, EOF, the reader gone), it ends
 * its side of the socketpair but never the connection, which tls_free()
 * ends: the peer hears no close_notify or FIN before the owner has told it
 * why by other means. A relay whose own records the peer refused (its
 * bad_record_mac alert) stops and leaves the socketpair open, so that the
 * writer blocks until told why, for 10 s at most.
 */
void tls_on_bad_record(struct tls_conn *c, void (*fn)(void *ctx), void *ctx);

/*
 * Waits up to @timeout_ms for the relay to end by itself (both sides done):
 * 0, or -ETIMEDOUT. 0 at once without a relay.
 */
int tls_relay_wait(struct tls_conn *c, int timeout_ms);

/* Ends the relay (if any), sends close_notify when it can, closes the socket. */
void tls_free(struct tls_conn *c);

#endif
