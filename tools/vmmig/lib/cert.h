/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host certificates (OpenSSL 3): EC P-256 keys, SHA-256 signatures, the
 * host name as CN and as the one DNS subjectAltName. A small lab CA signs
 * requests for tests and small setups; an existing CA does as well (see
 * Documentation/admin-guide/certificates.rst). vmmigd reads DIR/ca.crt,
 * DIR/host.crt and DIR/host.key (DIR: VMMIG_TLS_DIR, /etc/vmmig/tls).
 *
 * Every function returns 0 or -errno with one line in @why (VMMIG_ERRLEN);
 * files are written whole (a temporary file renamed into place) or not at
 * all, keys with mode 0600.
 */
#ifndef VMMIG_CERT_H
#define VMMIG_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

#define CERT_NAME_MAX	253
#define CERT_MAX_NAMES	8
#define CERT_CA_DAYS	3650
#define CERT_HOST_DAYS	825

/* A DNS host name: labels of letters, digits and '-', dot-separated. */
bool cert_valid_hostname(const char *name);

/* Creates @dir (mode 0700) when missing, then ca.key and ca.crt in it; never overwrites. */
int cert_ca_create(const char *dir, const char *name, unsigned int days, char *why);
/*
 * @dir/host.key (kept when it exists, so that a renewal keeps the key) and
 * a new @dir/host.csr for @host. *@new_key says which.
 */
int cert_request(const char *dir, const char *host, bool *new_key, char *why);
/*
 * The CA in @ca_dir signs the request @csr for @days into @out: the
 * request's signature is checked, its CN and DNS names are copied, nothing
 * else of it.
 */
int cert_sign(const char *csr, const char *ca_dir, unsigned int days, const char *out,
	      char *why);

struct cert_info {
	char subject[512], issuer[512];
	char names[CERT_MAX_NAMES][CERT_NAME_MAX + 1];
	unsigned int nnames;
	char not_before[32], not_after[32];	/* 2026-12-05T23:40:00Z */
	char fingerprint[96];			/* SHA-256, AB:CD:... */
	bool has_key, key_matches;
	bool has_ca, ca_signed;
	char ca_error[128];			/* why not signed by the CA */
};

/* What @dir/host.crt says, and how it stands with @dir/host.key and @dir/ca.crt. */
int cert_show(const char *dir, struct cert_info *info, char *why);

/* The name a peer goes by: its first DNS subjectAltName, else its CN. */
void cert_peer_name(X509 *cert, char *buf, size_t len);
/*
 * Whether @cert_file (with any chain after it) verifies against @ca_file
 * now; -EKEYREJECTED with the reason.
 */
int cert_verify_file(const char *cert_file, const char *ca_file, char *why);

/* @why as printf, then ": " and OpenSSL's last reason if it has one; returns @err. */
int ossl_fail(char *why, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
