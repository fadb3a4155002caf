// SPDX-License-Identifier: GPL-2.0
/*
 * Other hosts: the TCP listener, the TLS handshake, and frames
 * (migrate/frame.h) both ways. A connection's first frame says what it is:
 * HELLO a migration's control connection, STREAM one of its data streams,
 * OUTCOME a destination asking how a switchover ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "stream.h"
#include "vmmigd.h"

#define CONNECT_MS	10000
/*
 * A connection to another host whose bytes go unacknowledged this long, or
 * wait this long behind a window the peer keeps shut, fails
 * (TCP_USER_TIMEOUT): a network that went away mid-move, or a peer that
 * stopped reading, ends the move in seconds, not in the kernel's minutes of
 * retries or never. As long as the wait for the destination's last
 * acknowledgement (MIG_ACK_TIMEOUT_S).
 */
#define PEER_USER_TIMEOUT_MS	(MIG_ACK_TIMEOUT_S * 1000)

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static int send_frame(struct tls_conn *c, const struct frame_hdr *h, const void *p)
{
	int err = tls_write_all(c, h, sizeof(*h));

	return err ? err : tls_write_all(c, p, h->len);
}

int peer_send_probe(struct tls_conn *c, const void *p, uint32_t len, bool unchecked)
{
	struct frame_hdr h;

	if (unchecked)
		frame_probe_hdr(&h, len);
	else
		frame_hdr_fill(&h, FRAME_PROBE, p, len);
	return send_frame(c, &h, p);
}

int peer_send(struct tls_conn *c, enum frame_type type, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct frame_hdr h;

	frame_hdr_fill(&h, type, s, strlen(s));
	return send_frame(c, &h, s);
}

int peer_wait(struct tls_conn *c, int timeout_ms)
{
	struct pollfd p = { tls_fd(c), POLLIN, 0 };
	int r;

	if (timeout_ms < 0)
		return 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r ? -errno : -ETIMEDOUT;
}

int peer_recv(struct tls_conn *c, struct json_object **o, int timeout_ms, char *why)
{
	struct frame_hdr h;
	char *p;
	int err;

	*o = NULL;
	/* OpenSSL may hold a whole record already: only an empty pipe waits. */
	err = peer_wait(c, timeout_ms);
	if (!err)
		err = tls_read_full(c, &h, sizeof(h));
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "%s",
			 err == -ETIMEDOUT ? "the other host did not answer in time" :
			 err == -ENODATA || err == -EPIPE ? "the other host closed the connection" :
			 strerror(-err));
		return err;
	}
	err = frame_hdr_check(&h, why);
	if (err)
		return err;
	p = malloc(h.len + 1);
	if (!p)
		return -ENOMEM;
	err = tls_read_full(c, p, h.len);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "the other host closed the connection in a frame");
		free(p);
		return err;
	}
	err = frame_payload_check(&h, p, why);
	if (!err && h.type == FRAME_PROBE) {
		*o = json_object_new_object();
		json_object_object_add(*o, "bytes", json_object_new_uint64(h.len));
	} else if (!err) {
		p[h.len] = '\0';
		*o = json_tokener_parse(p);
		if (!*o || !json_object_is_type(*o, json_type_object)) {
			snprintf(why, VMMIG_ERRLEN, "corrupt frame: %s is not a JSON object",
				 frame_type_name(h.type));
			json_object_put(*o);
			*o = NULL;
			err = -EPROTO;
		}
	}
	free(p);
	return err ? err : h.type;
}

/* HOST, HOST:PORT, [V6]:PORT */
static int split(const char *to, char *host, size_t len, char *port)
{
	const char *colon;

	if (to[0] == '[') {
		colon = strchr(to, ']');
		if (!colon || (colon[1] && colon[1] != ':'))
			return -EINVAL;
		snprintf(host, len, "%.*s", (int)(colon - to - 1), to + 1);
		colon = colon[1] ? colon + 1 : NULL;
	} else {
		colon = strrchr(to, ':');
		if (colon && strchr(to, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
		snprintf(host, len, "%.*s", colon ? (int)(colon - to) : (int)strlen(to), to);
	}
	snprintf(port, 8, "%u", MIG_DEFAULT_PORT);
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (!colon[1] || *end || !p || p > 65535)
			return -EINVAL;
		snprintf(port, 8, "%lu", p);
	}
	return host[0] ? 0 : -EINVAL;
}

/*
 * connect(2) on a non-blocking socket, given CONNECT_MS: a host that is off
 * (no reset, only silence) fails in seconds, not in the kernel's minutes.
 * 0 with the socket blocking again, or an errno.
 */
static int connect_within(int fd, const struct sockaddr *a, socklen_t len)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	socklen_t el = sizeof(int);
	int err = 0, r;

	if (connect(fd, a, len) && errno != EINPROGRESS)
		return errno;
	do
		r = poll(&p, 1, CONNECT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return ETIMEDOUT;
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
		return errno;
	if (err)
		return err;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ? errno : 0;
}

/* Binds @fd to @local (an address, no port), of @family. */
static int bind_local(int fd, int family, const char *local)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	ss.ss_family = family;
	if (family == AF_INET ? inet_pton(AF_INET, local, &s4->sin_addr) != 1 :
	    inet_pton(AF_INET6, local, &s6->sin6_addr) != 1)
		return EAFNOSUPPORT;
	return bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(*s4) : sizeof(*s6)) ?
	       errno : 0;
}

/* Every connection between hosts, control or stream, either way. */
static void peer_sock(int fd)
{
	unsigned int ms = PEER_USER_TIMEOUT_MS;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

static int tcp_connect(const char *to, const char *local, char *why)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[8];
	int fd = -1, err;

	if (split(to, host, sizeof(host), port)) {
		snprintf(why, VMMIG_ERRLEN, "'%s' is not HOST or HOST:PORT", to);
		return -EINVAL;
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "%.100s: %s", host, gai_strerror(err));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		err = local ? bind_local(fd, ai->ai_family, local) : 0;
		if (!err)
			err = connect_within(fd, ai->ai_addr, ai->ai_addrlen);
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, VMMIG_ERRLEN, "%.100s port %s: %s", host, port, strerror(err));
		return -err;
	}
	peer_sock(fd);
	return fd;
}

struct tls_conn *peer_connect(const char *to, int *err, char *why)
{
	return peer_connect_from(to, NULL, err, why);
}

struct tls_conn *peer_connect_from(const char *to, const char *local, int *err, char *why)
{
	char msg[VMMIG_ERRLEN];
	struct tls_conn *c;
	int fd = tcp_connect(to, local, why);

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	c = tls_connect(vmmigd.tls, fd, VMMIG_TLS_TIMEOUT_MS, msg);
	if (!c) {
		/* TLS refused (-EACCES), or the network failed under it. */
		*err = errno == EACCES ? -EACCES : -(errno ? errno : ECONNRESET);
		snprintf(why, VMMIG_ERRLEN, "%.60s: %.180s", to, msg);
	}
	return c;
}

void sockaddr_str(const struct sockaddr_storage *ss, unsigned int port, char *out, size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	char ip[INET6_ADDRSTRLEN] = "";

	if (ss->ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, port ? port : ntohs(s6->sin6_port));
		return;
	}
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
	snprintf(out, len, "%s:%u", ip,
		 port ? port : ntohs(ss->ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port));
}

struct json_object *peer_hello(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "host", json_object_new_string(vmmigd.host));
	json_object_object_add(o, "port", json_object_new_int(vmmigd.port));
	json_object_object_add(o, "version", json_object_new_int(FRAME_VERSION));
	json_object_object_add(o, "probe_crc", json_object_new_boolean(false));
	networks_advertise(o);
	return o;
}

int peer_listen(unsigned int port, char *why)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	if (fd < 0) {
		snprintf(why, VMMIG_ERRLEN, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		snprintf(why, VMMIG_ERRLEN, "TCP port %u: %s", port, strerror(errno));
		close(fd);
		return -EADDRINUSE;
	}
	return fd;
}

/* A connection from another host: the handshake, then its first frame. */
void *peer_client(void *arg)
{
	int fd = (int)(intptr_t)arg, type;
	char why[VMMIG_ERRLEN];
	struct json_object *o;
	struct tls_conn *c;

	peer_sock(fd);
	c = tls_accept(vmmigd.tls, fd, VMMIG_TLS_TIMEOUT_MS, why);
	if (!c) {
		event(EV_PEER_REFUSED, NULL, "refused a connection: %s", why);
		return NULL;
	}
	type = peer_recv(c, &o, VMMIG_TLS_TIMEOUT_MS, why);
	switch (type) {
	case FRAME_HELLO:
		dest_session(c, o);
		break;
	case FRAME_STREAM:
		dest_stream(c, o);
		c = NULL;	/* the migration owns it */
		break;
	case FRAME_OUTCOME:
		source_outcome_reply(c, o);
		break;
	case FRAME_CLUSTER:
		cluster_serve(c, o);
		break;
	default:
		if (type > 0)
			snprintf(why, VMMIG_ERRLEN, "a connection began with %s",
				 frame_type_name(type));
		event(EV_PEER_REFUSED, NULL, "%s: %s", tls_peer_name(c), why);
		break;
	}
	json_object_put(o);
	if (c)
		tls_free(c);
	return NULL;
}
