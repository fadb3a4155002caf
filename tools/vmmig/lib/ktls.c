// SPDX-License-Identifier: GPL-2.0
/*
 * kTLS for our TLS 1.3 sessions (see tls.h): whether the kernel holds each
 * side, and the receive side, which OpenSSL 3.0 does not hand over, given
 * to the kernel by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "tls_int.h"
#include "vmdef.h"

/*
 * OpenSSL 3.0 hands the kernel only the send side of TLS 1.3. For the
 * receive side we keep the peer's traffic secret (the key-log callback is
 * the one place 3.0 shows it) and count the records read under it, so that
 * tls_plain_fd() can program TLS_RX at the right sequence number.
 */
static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

void ktls_keylog_cb(const SSL *ssl, const char *line)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const char *want = SSL_is_server(ssl) ? "CLIENT_TRAFFIC_SECRET_0 " :
			   "SERVER_TRAFFIC_SECRET_0 ";
	const char *p;
	size_t n = 0;
	int hi, lo;

	if (strncmp(line, want, strlen(want)))
		return;
	p = strchr(line + strlen(want), ' ');	/* after the client random */
	if (!p)
		return;
	for (p++; (hi = hexval(p[0])) >= 0 && (lo = hexval(p[1])) >= 0 &&
	     n < sizeof(c->rx_secret); p += 2)
		c->rx_secret[n++] = hi << 4 | lo;
	c->rx_secret_len = *p ? 0 : n;
}

void ktls_msg_cb(int write_p, int version, int type, const void *buf, size_t len,
		 SSL *ssl, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	if (!write_p && type == SSL3_RT_HEADER && c && SSL_is_init_finished(ssl))
		c->rx_records++;
}

bool tls_ktls_send(const struct tls_conn *c)
{
	return BIO_get_ktls_send(SSL_get_wbio(c->ssl));
}

bool tls_ktls_recv(const struct tls_conn *c)
{
	return c->rx_kernel || BIO_get_ktls_recv(SSL_get_rbio(c->ssl));
}

/* The suite's kernel cipher, key and digest sizes; false if kTLS has none. */
static bool rx_suite(const struct tls_conn *c, int *cipher, size_t *keylen, const EVP_MD **md)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
	uint32_t id = ci ? SSL_CIPHER_get_id(ci) : 0;

	if (id == TLS1_3_CK_AES_128_GCM_SHA256) {
		*cipher = TLS_CIPHER_AES_GCM_128;
		*keylen = 16;
		*md = EVP_sha256();
	} else if (id == TLS1_3_CK_AES_256_GCM_SHA384) {
		*cipher = TLS_CIPHER_AES_GCM_256;
		*keylen = 32;
		*md = EVP_sha384();
	} else if (id == TLS1_3_CK_CHACHA20_POLY1305_SHA256) {
		*cipher = TLS_CIPHER_CHACHA20_POLY1305;
		*keylen = 32;
		*md = EVP_sha256();
	} else {
		return false;
	}
	return c->rx_secret_len == (size_t)EVP_MD_get_size(*md);
}

static bool rx_possible(const struct tls_conn *c)
{
	const EVP_MD *md;
	size_t keylen;
	int cipher;

	return tls_ktls_send(c) && rx_suite(c, &cipher, &keylen, &md);
}

bool tls_ktls(const struct tls_conn *c)
{
	return tls_ktls_send(c) && (tls_ktls_recv(c) || rx_possible(c));
}

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446. */
static int expand_label(const EVP_MD *md, const unsigned char *secret, size_t slen,
			const char *label, unsigned char *out, size_t len)
{
	unsigned char info[32];
	size_t n = 0, l = strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)EVP_MD_get0_name(md), 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 0),
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_end(),
	};

	info[n++] = len >> 8;
	info[n++] = len;
	info[n++] = 6 + l;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, l);
	n += 6 + l;
	info[n++] = 0;
	p[2].data_size = n;
	ok = k && EVP_KDF_derive(k, out, len, p) == 1;
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

static void fill_rx(unsigned char *civ, unsigned char *ckey, unsigned char *salt,
		    unsigned char *rec_seq, const unsigned char *iv, const unsigned char *key,
		    size_t keylen, const unsigned char *seq)
{
	memcpy(salt, iv, 4);
	memcpy(civ, iv + 4, 8);
	memcpy(ckey, key, keylen);
	memcpy(rec_seq, seq, 8);
}

/* Gives the kernel the receive side, at the next record OpenSSL would read. */
int ktls_enable_rx(struct tls_conn *c, char *why)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
		struct tls12_crypto_info_chacha20_poly1305 cc;
	} ci;
	unsigned char key[32], iv[12], seq[8];
	const EVP_MD *md;
	size_t keylen, size;
	int cipher, i, err, one = 1;

	if (!rx_suite(c, &cipher, &keylen, &md) || SSL_has_pending(c->ssl)) {
		snprintf(why, VMMIG_ERRLEN, "kTLS receive: not possible with this session");
		return -EOPNOTSUPP;
	}
	if (expand_label(md, c->rx_secret, c->rx_secret_len, "key", key, keylen) ||
	    expand_label(md, c->rx_secret, c->rx_secret_len, "iv", iv, sizeof(iv))) {
		snprintf(why, VMMIG_ERRLEN, "kTLS receive: cannot derive the key");
		return -EIO;
	}
	for (i = 0; i < 8; i++)
		seq[i] = c->rx_records >> (56 - 8 * i);
	/*
	 * AES-GCM: the header, then iv[8], key, salt[4], rec_seq[8]: the
	 * static IV's first 4 bytes are the salt. ChaCha20: iv[12], key[32],
	 * no salt, rec_seq[8].
	 */
	memset(&ci, 0, sizeof(ci));
	ci.g128.info.version = TLS_1_3_VERSION;
	ci.g128.info.cipher_type = cipher;
	if (cipher == TLS_CIPHER_AES_GCM_128) {
		fill_rx(ci.g128.iv, ci.g128.key, ci.g128.salt, ci.g128.rec_seq, iv, key, 16, seq);
		size = sizeof(ci.g128);
	} else if (cipher == TLS_CIPHER_AES_GCM_256) {
		fill_rx(ci.g256.iv, ci.g256.key, ci.g256.salt, ci.g256.rec_seq, iv, key, 32, seq);
		size = sizeof(ci.g256);
	} else {
		memcpy(ci.cc.iv, iv, sizeof(ci.cc.iv));
		memcpy(ci.cc.key, key, sizeof(ci.cc.key));
		memcpy(ci.cc.rec_seq, seq, sizeof(ci.cc.rec_seq));
		size = sizeof(ci.cc);
	}
	err = setsockopt(c->fd, SOL_TLS, TLS_RX, &ci, size) ? -errno : 0;
	OPENSSL_cleanse(&ci, sizeof(ci));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(c->rx_secret, sizeof(c->rx_secret));
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "kTLS receive: %s", strerror(-err));
		return err;
	}
	/* Decrypt in place where the sender adds no padding (6.0 and later). */
	setsockopt(c->fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(one));
	c->rx_kernel = true;
	return 0;
}
