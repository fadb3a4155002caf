// SPDX-License-Identifier: GPL-2.0
/*
 * A move's streams at the source: one TLS connection each over the
 * migration networks (Documentation/admin-guide/networks.rst), their
 * replacement when one fails mid-copy, and the watch that gives up a
 * stream whose bytes go unacknowledged (Documentation/design/migration.rst,
 * "Stream").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "ctl.h"
#include "source.h"

#define STREAM_STALL_S	MIG_ACK_TIMEOUT_S

/*
 * Stream @i's connection over the best network of the plan that answers;
 * a network that does not is marked failed, with an event, and the next is
 * tried. NULL with @why when none answers.
 */
static struct tls_conn *connect_stream(struct source *s, unsigned int i, struct net_path **pp,
				       int *err, char *why)
{
	struct migration *m = s->m;
	char err_why[VMMIG_ERRLEN] = "";
	struct tls_conn *c;
	int k;

	while ((k = network_stream_path(&s->plan, i)) >= 0) {
		struct net_path *p = &s->plan.path[k];
		int next;

		c = peer_connect_from(p->remote, p->local[0] ? p->local : NULL, err, err_why);
		if (c && !strcmp(tls_peer_name(c), m->peer)) {
			*pp = p;
			return c;
		}
		if (c) {
			snprintf(err_why, sizeof(err_why), "%s answers as %s, not %s", p->remote,
				 tls_peer_name(c), m->peer);
			tls_free(c);
		} else if (*err == -EACCES) {
			/* Refused by TLS: another network would not change it. */
			snprintf(why, VMMIG_ERRLEN, "%s", err_why);
			return NULL;
		}
		p->failed = true;
		next = network_stream_path(&s->plan, i);
		pthread_mutex_lock(&vmmigd.lock);
		if (!m->fallbacks)
			m->fallbacks = json_object_new_array();
		json_object_array_add(m->fallbacks, json_object_new_string(p->network));
		pthread_mutex_unlock(&vmmigd.lock);
		event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed (%s); %s%s", m->vm, i,
		      p->network, err_why, next < 0 ? "no other network" : "falling back to ",
		      next < 0 ? "" : s->plan.path[next].network);
	}
	snprintf(why, VMMIG_ERRLEN, "no migration network reaches %s%s%s", m->peer,
		 err_why[0] ? ": " : "", err_why);
	*err = -ENETUNREACH;
	return NULL;
}

/*
 * Stream @i's connection (@resume: in place of one that failed mid-copy),
 * announced and acknowledged, as a plaintext fd for the VMM in *@fd; the
 * migration knows its socket and network. 0, or -errno with @why.
 */
static int open_stream(struct source *s, unsigned int i, bool resume, int *fd, char *why)
{
	struct migration *m = s->m;
	struct json_object *o, *r = NULL;
	struct tls_conn *c;
	struct net_path *p;
	int type, err;

	c = connect_stream(s, i, &p, &err, why);
	if (!c)
		return err;
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(m->token));
	json_object_object_add(o, "index", json_object_new_int(i));
	if (resume)
		json_object_object_add(o, "resume", json_object_new_boolean(true));
	type = peer_send(c, FRAME_STREAM, o);
	json_object_put(o);
	if (!type)
		type = peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
	json_object_put(r);
	if (type != FRAME_STREAM_ACK) {
		if (type >= 0)
			snprintf(why, VMMIG_ERRLEN, "not acknowledged");
		tls_free(c);
		return type < 0 ? type : -EPROTO;
	}
	*fd = tls_plain_fd(c, why);
	if (*fd < 0) {
		tls_free(c);
		return *fd;
	}
	pthread_mutex_lock(&vmmigd.lock);
	if (!i)
		tls_describe(c, m->transport, sizeof(m->transport));
	/* The old one's socket goes when its connection is freed, below. */
	m->sock[i] = tls_fd(c);
	if (m->nsock <= i)
		m->nsock = i + 1;
	stream_net_fill(&m->net[i], tls_fd(c), p->network);
	if (m->nnet <= i)
		m->nnet = i + 1;
	pthread_mutex_unlock(&vmmigd.lock);
	if (s->streams[i])
		tls_free(s->streams[i]);
	s->streams[i] = c;
	netbpf_stream(m, i, tls_fd(c), p->priority);
	return 0;
}

/* N more connections, each a stream, as plaintext fds for the VMM. */
int source_open_streams(struct source *s, int *fds)
{
	char why[VMMIG_ERRLEN];
	unsigned int i;
	int err;

	for (i = 0; i < s->m->opts.streams; i++) {
		err = open_stream(s, i, false, &fds[i], why);
		if (err)
			return source_fail(s, err, "stream %u: %s", i, why);
	}
	return 0;
}

/*
 * The VMM's stream @k failed mid-copy (@vmm_why): its network counts as
 * failed for this move, and a connection over the next one goes to the
 * VMM, which sends again what the old one may have lost. Event 1108.
 */
void source_replace_stream(struct source *s, unsigned int k, const char *vmm_why)
{
	struct migration *m = s->m;
	struct json_object *o = json_object_new_object();
	char why[VMMIG_ERRLEN] = "", failed[64];
	unsigned int i;
	int fd = -1, err = -EINVAL, next;

	if (k < m->opts.streams) {
		pthread_mutex_lock(&vmmigd.lock);
		snprintf(failed, sizeof(failed), "%s", m->net[k].network);
		pthread_mutex_unlock(&vmmigd.lock);
		for (i = 0; i < s->plan.n; i++)
			if (!strcmp(s->plan.path[i].network, failed))
				s->plan.path[i].failed = true;
		pthread_mutex_lock(&vmmigd.lock);
		if (!m->fallbacks)
			m->fallbacks = json_object_new_array();
		json_object_array_add(m->fallbacks, json_object_new_string(failed));
		pthread_mutex_unlock(&vmmigd.lock);
		next = network_stream_path(&s->plan, k);
		event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed mid-move (%s); %s%s", m->vm,
		      k, failed, vmm_why, next < 0 ? "no other network" : "moving it to ",
		      next < 0 ? "" : s->plan.path[next].network);
		/*
		 * The other streams over that network go now, unasked, rather
		 * than each when it next writes (perhaps with the VM paused,
		 * when a failure fails the move).
		 */
		for (i = 0; next >= 0 && i < m->opts.streams; i++) {
			struct json_object *g;
			bool same;
			int gfd;

			pthread_mutex_lock(&vmmigd.lock);
			same = i != k && !strcmp(m->net[i].network, failed);
			pthread_mutex_unlock(&vmmigd.lock);
			if (!same || !s->streams[i])
				continue;
			event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed mid-move; moving it to %s",
			      m->vm, i, failed, s->plan.path[next].network);
			if (open_stream(s, i, true, &gfd, why))
				continue;	/* it asks when it fails */
			pthread_mutex_lock(&vmmigd.lock);
			json_object_array_add(m->fallbacks, json_object_new_string(failed));
			pthread_mutex_unlock(&vmmigd.lock);
			g = json_object_new_object();
			json_object_object_add(g, CTL_KEY_STREAM, json_object_new_int(i));
			ctl_send_line(s->vmm, g, &gfd, 1);
			json_object_put(g);
			close(gfd);
		}
		err = next < 0 ? -ENETUNREACH : open_stream(s, k, true, &fd, why);
		if (next < 0)
			snprintf(why, sizeof(why), "no other migration network reaches %s", m->peer);
	}
	json_object_object_add(o, CTL_KEY_STREAM, json_object_new_int(k));
	if (err)
		json_object_object_add(o, CTL_KEY_ERROR, json_object_new_string(why));
	ctl_send_line(s->vmm, o, &fd, err ? 0 : 1);
	json_object_put(o);
	if (fd >= 0)
		close(fd);
}

/*
 * A stream whose socket holds bytes the destination has not acknowledged
 * for STREAM_STALL_S is dead, however TCP sees it (this host's own device
 * down: no route, nothing sent, nothing for TCP to time out): it is shut
 * down, so that the VMM's write fails and the stream is replaced.
 */
void source_watch_streams(struct source *s)
{
	struct migration *m = s->m;
	uint64_t now = now_ns();
	unsigned int i;

	if (now - s->watched_ns < 1000000000ULL)
		return;
	s->watched_ns = now;
	for (i = 0; i < m->opts.streams && s->streams[i]; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		int fd = tls_fd(s->streams[i]), held = 0;

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || ioctl(fd, SIOCOUTQ, &held))
			continue;
		/* Holding bytes since since_ns, and no acknowledgement for as long. */
		if (fd != s->watch[i].fd || held <= 0) {
			s->watch[i].fd = fd;
			s->watch[i].since_ns = now;
			continue;
		}
		if (now - s->watch[i].since_ns < STREAM_STALL_S * 1000000000ULL ||
		    ti.tcpi_last_ack_recv < STREAM_STALL_S * 1000U)
			continue;
		event(EV_MIG_STALL, m, "%s: stream %u: %d bytes unacknowledged for %u s: its connection is given up",
		      m->vm, i, held, STREAM_STALL_S);
		shutdown(fd, SHUT_RDWR);
		s->watch[i].since_ns = now;
	}
}
