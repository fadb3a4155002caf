/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the TLS tests and the TLS benchmark share: a lab of two CAs and three
 * hosts in a temporary folder, made through lib/cert, TCP loopback pairs,
 * a handshake with a thread per side, and a checked bulk transfer.
 *
 *   DIR/ca1, DIR/ca2          two CAs (ca.key, ca.crt)
 *   DIR/hosta, DIR/hostb      signed by ca1, trusting ca1
 *   DIR/hostc                 signed by ca2, trusting ca1 and ca2
 */
#ifndef VMMIG_TLS_LAB_H
#define VMMIG_TLS_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"
#include "vmdef.h"

/* Handshakes and waits: generous, for a loaded machine under emulation. */
#define LAB_TIMEOUT_MS	30000

/* Makes the lab in a new folder of /tmp, its path in @dir (64 bytes). */
int tls_lab_create(char *dir, char *why);
void tls_lab_remove(const char *dir);
/* The context of @host of the lab. */
struct tls_ctx *tls_lab_ctx(const char *dir, const char *host, const char *const *trusted,
			    unsigned int ntrusted, bool no_ktls, char *why);

/* A connected TCP pair over 127.0.0.1: fd[0] accepted, fd[1] connected. */
int tcp_pair(int fd[2]);

struct tls_side {
	struct tls_ctx *ctx;
	int fd;
	int timeout_ms;
	struct tls_conn *conn;		/* NULL when refused: see why */
	char why[VMMIG_ERRLEN];
};

/* tls_accept() for @server on a thread, tls_connect() for @client here. */
void tls_pair_handshake(struct tls_side *server, struct tls_side *client);

/*
 * @len bytes of a pattern from @seed written to @wfd on a thread while
 * @rfd's @len bytes are read and checked against @seed2's pattern, then
 * both done; 0, or -EBADMSG (a byte differs), -EPIPE (EOF early), -errno.
 */
int bulk_both(int wfd, uint64_t seed, int rfd, uint64_t seed2, size_t len);
/* Writes @len bytes of @seed's pattern to @fd; 0 or -errno. */
int bulk_write(int fd, uint64_t seed, size_t len);
/* Reads and checks @len bytes; 0, -EBADMSG, -EPIPE or -errno. */
int bulk_read(int fd, uint64_t seed, size_t len);

#endif
