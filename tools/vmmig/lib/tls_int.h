/* SPDX-License-Identifier: GPL-2.0 */
/* Inside lib/: the TLS connection, shared by tls.c, tls_relay.c and ktls.c. */
#ifndef VMMIG_TLS_INT_H
#define VMMIG_TLS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cert.h"

struct tls_conn {
	SSL *ssl;
	int fd;
	const struct tls_ctx *ctx;
	char peer[CERT_NAME_MAX + 1];
	int verify_err;		/* the first X509_V_ERR_* of the peer's chain */
	bool untrusted;		/* signed, but not a name we trust */
	bool handed_off;	/* tls_plain_fd() gave the socket away */
	bool relaying;
	bool rx_kernel;		/* we gave the kernel the receive side */
	uint64_t rx_records;	/* records read under the peer's traffic key */
	unsigned char rx_secret[48];	/* the peer's application traffic secret */
	size_t rx_secret_len;
	pthread_t relay;
	int relay_fd;		/* the relay's end of the socketpair */
	void (*bad_record)(void *ctx);	/* tls_on_bad_record() */
	void *bad_record_ctx;
};

/* tls.c, for tls_relay.c */
long long tls_now_ms(void);
/* @events on @fd by @deadline (ms, tls_now_ms()): 0, or -ETIMEDOUT. */
int tls_wait_fd(int fd, short events, long long deadline);
int tls_set_nonblock(int fd, bool on);
/* The -errno of a failed SSL_read/SSL_write; 0 for a close_notify. */
int tls_io_errno(SSL *ssl, int r);

/* tls_relay.c: the relay thread of tls_plain_fd(). */
void *tls_relay_main(void *arg);

/* ktls.c: the receive side of TLS 1.3 for the kernel (OpenSSL 3.0 gives only the send side). */
void ktls_keylog_cb(const SSL *ssl, const char *line);
void ktls_msg_cb(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl,
		 void *arg);
/* TLS_RX on @c's socket at the next record OpenSSL would read; -errno with @why. */
int ktls_enable_rx(struct tls_conn *c, char *why);

#endif
