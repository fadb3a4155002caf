// SPDX-License-Identifier: GPL-2.0
/*
 * Host keys, requests, the lab CA and certificate checks (see cert.h), on
 * OpenSSL 3's EVP and X509 interfaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "vmdef.h"

int ossl_fail(char *why, int err, const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(why, VMMIG_ERRLEN, fmt, ap);
	va_end(ap);
	if (r && n >= 0 && n < VMMIG_ERRLEN)
		snprintf(why + n, VMMIG_ERRLEN - n, ": %s", r);
	ERR_clear_error();
	return err;
}

bool cert_valid_hostname(const char *name)
{
	size_t len = strlen(name), label = 0;
	const char *p;

	if (!len || len > CERT_NAME_MAX)
		return false;
	for (p = name; *p; p++) {
		if (*p == '.') {
			if (!label || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
		if (*p == '-' && !label)
			return false;
		if (++label > 63)
			return false;
	}
	return label && p[-1] != '-';
}

static int path_in(char *buf, size_t len, const char *dir, const char *file, char *why)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, file) >= len) {
		snprintf(why, VMMIG_ERRLEN, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * A temporary file beside @path, written by @fn and synced; renamed into
 * place by pem_commit(). Returns the temporary name in @tmp.
 */
typedef int (*pem_fn)(FILE *f, const void *obj);

static int pem_write_tmp(const char *path, mode_t mode, pem_fn fn, const void *obj,
			 char *tmp, size_t tmplen, char *why)
{
	FILE *f;
	int fd;

	if ((size_t)snprintf(tmp, tmplen, "%s.tmpXXXXXX", path) >= tmplen) {
		snprintf(why, VMMIG_ERRLEN, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fchmod(fd, mode) || !(f = fdopen(fd, "w"))) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	if (!fn(f, obj) || fflush(f) || fsync(fd)) {
		ossl_fail(why, 0, "%s: cannot write", path);
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	if (fclose(f)) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int write_key(FILE *f, const void *k)
{
	return PEM_write_PrivateKey(f, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, const void *x)
{
	return PEM_write_X509(f, (X509 *)x);
}

static int write_req(FILE *f, const void *r)
{
	return PEM_write_X509_REQ(f, (X509_REQ *)r);
}

/* Up to two files, each written whole, then both renamed, or neither left. */
struct pem_out {
	const char *path;
	mode_t mode;
	pem_fn fn;
	const void *obj;
};

static int pem_write(const struct pem_out *o, int n, char *why)
{
	char tmp[2][PATH_MAX + 16];
	int i, j, err = 0;

	for (i = 0; i < n && !err; i++)
		err = pem_write_tmp(o[i].path, o[i].mode, o[i].fn, o[i].obj, tmp[i],
				    sizeof(tmp[i]), why);
	if (err) {
		for (j = 0; j < i - 1; j++)
			unlink(tmp[j]);
		return err;
	}
	for (i = 0; i < n; i++) {
		if (rename(tmp[i], o[i].path)) {
			err = -errno;
			snprintf(why, VMMIG_ERRLEN, "%s: %s", o[i].path, strerror(errno));
			for (j = 0; j < n; j++)
				unlink(j < i ? o[j].path : tmp[j]);
			return err;
		}
	}
	return 0;
}

static EVP_PKEY *read_key(const char *path, char *why)
{
	EVP_PKEY *k;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		ossl_fail(why, 0, "%s: not a PEM private key", path);
	return k;
}

/* The first certificate of @path; the ones after it into *@chain if asked. */
static X509 *read_cert(const char *path, STACK_OF(X509) **chain, char *why)
{
	X509 *x, *more;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (!x) {
		ossl_fail(why, 0, "%s: not a PEM certificate", path);
	} else if (chain) {
		*chain = sk_X509_new_null();
		while (*chain && (more = PEM_read_X509(f, NULL, NULL, NULL)))
			if (!sk_X509_push(*chain, more))
				X509_free(more);
		ERR_clear_error();
	}
	fclose(f);
	return x;
}

static EVP_PKEY *new_key(char *why)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (!k)
		ossl_fail(why, 0, "cannot make an EC P-256 key");
	return k;
}

static X509_NAME *cn_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n && !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
					     (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		n = NULL;
	}
	return n;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!e)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* Serial: 127 random bits, positive. */
static int set_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	b[0] &= 0x7f;
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok;
}

static X509 *new_cert(EVP_PKEY *pub, const X509_NAME *subject, const X509_NAME *issuer,
		      unsigned int days)
{
	X509 *x = X509_new();

	if (!x || !X509_set_version(x, X509_VERSION_3) || !set_serial(x) ||
	    !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, issuer) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_set_pubkey(x, pub)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int cert_ca_create(const char *dir, const char *name, unsigned int days, char *why)
{
	char key_path[PATH_MAX], crt_path[PATH_MAX];
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int err;

	if (!*name || strlen(name) > 64) {
		snprintf(why, VMMIG_ERRLEN, "the CA name must have 1 to 64 characters");
		return -EINVAL;
	}
	err = path_in(key_path, sizeof(key_path), dir, "ca.key", why) ?:
	      path_in(crt_path, sizeof(crt_path), dir, "ca.crt", why);
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!access(key_path, F_OK) || !access(crt_path, F_OK)) {
		snprintf(why, VMMIG_ERRLEN, "%s: a CA is already there (ca.key, ca.crt)", dir);
		return -EEXIST;
	}
	err = -EIO;
	if (!(k = new_key(why)))
		goto out;
	n = cn_name(name);
	x = n ? new_cert(k, n, n, days) : NULL;
	if (!x || !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !X509_sign(x, k, EVP_sha256())) {
		ossl_fail(why, 0, "cannot make the CA certificate");
		goto out;
	}
	err = pem_write((const struct pem_out[]){
		{ key_path, 0600, write_key, k },
		{ crt_path, 0644, write_cert, x },
	}, 2, why);
out:
	X509_free(x);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return err;
}

int cert_request(const char *dir, const char *host, bool *new_key_made, char *why)
{
	char key_path[PATH_MAX], csr_path[PATH_MAX], san[CERT_NAME_MAX + 8];
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *e = NULL;
	X509_REQ *req = NULL;
	X509_NAME *n = NULL;
	EVP_PKEY *k = NULL;
	int err;

	if (!cert_valid_hostname(host)) {
		snprintf(why, VMMIG_ERRLEN, "'%s' is not a host name (letters, digits, '-' and '.')",
			 host);
		return -EINVAL;
	}
	err = path_in(key_path, sizeof(key_path), dir, "host.key", why) ?:
	      path_in(csr_path, sizeof(csr_path), dir, "host.csr", why);
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	*new_key_made = access(key_path, F_OK) != 0;
	k = *new_key_made ? new_key(why) : read_key(key_path, why);
	if (!k)
		return -EIO;
	err = -EIO;
	snprintf(san, sizeof(san), "DNS:%s", host);
	n = cn_name(host);
	req = X509_REQ_new();
	exts = sk_X509_EXTENSION_new_null();
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (!n || !req || !exts || !e || !sk_X509_EXTENSION_push(exts, e) ||
	    !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, n) ||
	    !X509_REQ_set_pubkey(req, k) || !X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_sign(req, k, EVP_sha256())) {
		if (!sk_X509_EXTENSION_num(exts))
			X509_EXTENSION_free(e);
		ossl_fail(why, 0, "cannot make the request");
		goto out;
	}
	if (*new_key_made)
		err = pem_write((const struct pem_out[]){
			{ key_path, 0600, write_key, k },
			{ csr_path, 0644, write_req, req },
		}, 2, why);
	else
		err = pem_write((const struct pem_out[]){
			{ csr_path, 0644, write_req, req },
		}, 1, why);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return err;
}

/* "DNS:a,DNS:b" of the request's subjectAltName, or of its CN. */
static int req_names(X509_REQ *req, char *san, size_t len, char *cn, char *why)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	size_t used = 0;
	int i, idx;

	if (X509_NAME_get_text_by_NID(subj, NID_commonName, cn, CERT_NAME_MAX + 1) <= 0 ||
	    !cert_valid_hostname(cn)) {
		snprintf(why, VMMIG_ERRLEN, "the request's CN is not a host name");
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		return -EINVAL;
	}
	idx = exts ? X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) : -1;
	if (idx >= 0)
		gens = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, idx));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	san[0] = 0;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && i < CERT_MAX_NAMES; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *s;

		if (g->type != GEN_DNS)
			continue;
		s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		if (ASN1_STRING_length(g->d.dNSName) != (int)strlen(s) ||
		    !cert_valid_hostname(s)) {
			snprintf(why, VMMIG_ERRLEN, "the request names a host '%.64s' that is not a host name", s);
			GENERAL_NAMES_free(gens);
			return -EINVAL;
		}
		used += snprintf(san + used, len - used, "%sDNS:%s", used ? "," : "", s);
	}
	GENERAL_NAMES_free(gens);
	if (!used)
		snprintf(san, len, "DNS:%s", cn);
	return 0;
}

int cert_sign(const char *csr, const char *ca_dir, unsigned int days, const char *out,
	      char *why)
{
	char key_path[PATH_MAX], crt_path[PATH_MAX], cn[CERT_NAME_MAX + 1];
	char san[CERT_MAX_NAMES * (CERT_NAME_MAX + 6)];
	EVP_PKEY *ca_key = NULL, *pub;
	X509 *ca = NULL, *x = NULL;
	X509_NAME *n = NULL;
	X509_REQ *req = NULL;
	FILE *f;
	int err;

	err = path_in(key_path, sizeof(key_path), ca_dir, "ca.key", why) ?:
	      path_in(crt_path, sizeof(crt_path), ca_dir, "ca.crt", why);
	if (err)
		return err;
	f = fopen(csr, "r");
	if (!f) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", csr, strerror(errno));
		return -errno;
	}
	req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	err = -EINVAL;
	if (!req) {
		ossl_fail(why, 0, "%s: not a PEM certificate request", csr);
		goto out;
	}
	pub = X509_REQ_get0_pubkey(req);
	if (!pub || X509_REQ_verify(req, pub) != 1) {
		ossl_fail(why, 0, "%s: the request's signature does not verify", csr);
		goto out;
	}
	if (req_names(req, san, sizeof(san), cn, why))
		goto out;
	err = -EIO;
	if (!(ca = read_cert(crt_path, NULL, why)) || !(ca_key = read_key(key_path, why)))
		goto out;
	if (X509_check_private_key(ca, ca_key) != 1) {
		ossl_fail(why, 0, "%s: ca.key does not match ca.crt", ca_dir);
		goto out;
	}
	n = cn_name(cn);
	x = n ? new_cert(pub, n, X509_get_subject_name(ca), days) : NULL;
	if (!x || !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !add_ext(x, ca, NID_subject_alt_name, san) ||
	    !add_ext(x, ca, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(x, ca_key, EVP_sha256())) {
		ossl_fail(why, 0, "cannot make the certificate");
		goto out;
	}
	err = pem_write((const struct pem_out[]){ { out, 0644, write_cert, x } }, 1, why);
out:
	X509_free(x);
	X509_NAME_free(n);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	X509_REQ_free(req);
	return err;
}

void cert_peer_name(X509 *cert, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int i;

	buf[0] = 0;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			snprintf(buf, len, "%.*s", ASN1_STRING_length(g->d.dNSName),
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	if (!buf[0] &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, len) < 0)
		buf[0] = 0;
}

/* Verifies @x (with @chain) against @ca_file; 0, or -EKEYREJECTED with the reason. */
static int verify(X509 *x, STACK_OF(X509) *chain, const char *ca_file, char *why,
		  size_t len)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int err = -EIO;

	if (!store || !ctx || X509_STORE_load_file(store, ca_file) != 1 ||
	    !X509_STORE_CTX_init(ctx, store, x, chain)) {
		snprintf(why, len, "%s: cannot read the CA certificate", ca_file);
		goto out;
	}
	if (X509_verify_cert(ctx) == 1) {
		err = 0;
	} else {
		snprintf(why, len, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		err = -EKEYREJECTED;
	}
	ERR_clear_error();
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

int cert_verify_file(const char *cert_file, const char *ca_file, char *why)
{
	STACK_OF(X509) *chain = NULL;
	char reason[128];
	X509 *x = read_cert(cert_file, &chain, why);
	int err;

	if (!x)
		return -EIO;
	err = verify(x, chain, ca_file, reason, sizeof(reason));
	if (err == -EIO)
		snprintf(why, VMMIG_ERRLEN, "%s", reason);
	else
	if (err)
		snprintf(why, VMMIG_ERRLEN, "%s is not signed by %s: %s", cert_file, ca_file, reason);
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	return err;
}

static void fmt_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static void name_text(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long l;

	buf[0] = 0;
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	l = BIO_get_mem_data(b, &p);
	snprintf(buf, len, "%.*s", (int)l, p);
	BIO_free(b);
}

int cert_show(const char *dir, struct cert_info *in, char *why)
{
	char crt_path[PATH_MAX], key_path[PATH_MAX], ca_path[PATH_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	STACK_OF(X509) *chain = NULL;
	GENERAL_NAMES *gens;
	EVP_PKEY *k;
	unsigned int mdlen, i;
	X509 *x;
	int err;

	memset(in, 0, sizeof(*in));
	err = path_in(crt_path, sizeof(crt_path), dir, "host.crt", why) ?:
	      path_in(key_path, sizeof(key_path), dir, "host.key", why) ?:
	      path_in(ca_path, sizeof(ca_path), dir, "ca.crt", why);
	if (err)
		return err;
	x = read_cert(crt_path, &chain, why);
	if (!x)
		return -ENOENT;
	name_text(X509_get_subject_name(x), in->subject, sizeof(in->subject));
	name_text(X509_get_issuer_name(x), in->issuer, sizeof(in->issuer));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < (unsigned int)sk_GENERAL_NAME_num(gens) &&
	     in->nnames < CERT_MAX_NAMES; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			snprintf(in->names[in->nnames++], sizeof(in->names[0]), "%.*s",
				 ASN1_STRING_length(g->d.dNSName),
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	fmt_time(X509_get0_notBefore(x), in->not_before, sizeof(in->not_before));
	fmt_time(X509_get0_notAfter(x), in->not_after, sizeof(in->not_after));
	if (X509_digest(x, EVP_sha256(), md, &mdlen))
		for (i = 0; i < mdlen && 3 * i + 3 <= sizeof(in->fingerprint); i++)
			snprintf(in->fingerprint + 3 * i, 4, "%02X%s", md[i],
				 i + 1 < mdlen ? ":" : "");
	if (!access(key_path, F_OK)) {
		in->has_key = true;
		k = read_key(key_path, why);
		in->key_matches = k && X509_check_private_key(x, k) == 1;
		EVP_PKEY_free(k);
	}
	if (!access(ca_path, F_OK)) {
		in->has_ca = true;
		in->ca_signed = !verify(x, chain, ca_path, in->ca_error, sizeof(in->ca_error));
	}
	ERR_clear_error();
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}
