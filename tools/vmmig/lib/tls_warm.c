// SPDX-License-Identifier: GPL-2.0
/*
 * tls_warm() (tls.h): a daemon's first handshake, with itself, as it
 * starts, so that what a first handshake sets up (OpenSSL's methods, the
 * kernel's TLS and crypto modules) is ready before its first migration.
 */
#include <pthread.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tls.h"
#include "vmdef.h"

#define WARM_MS		30000

struct warm {
	struct tls_ctx *t;
	int fd;
};

static void *warm_server(void *arg)
{
	struct warm *w = arg;
	char why[VMMIG_ERRLEN];

	tls_free(tls_accept(w->t, w->fd, WARM_MS, why));
	return NULL;
}

/*
 * A connected TCP pair over loopback, on which the kernel's TLS can be set
 * up too (its module, the suite's crypto modules: loaded at first use, a
 * second under emulation); without loopback, a socket pair.
 */
static int warm_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sv[0] = sv[1] = -1;
	if (l >= 0 && !bind(l, (struct sockaddr *)&a, len) && !listen(l, 1) &&
	    !getsockname(l, (struct sockaddr *)&a, &len)) {
		sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sv[1] >= 0 && !connect(sv[1], (struct sockaddr *)&a, len))
			sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	}
	if (l >= 0)
		close(l);
	if (sv[0] >= 0)
		return 0;
	if (sv[1] >= 0)
		close(sv[1]);
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

void tls_warm(struct tls_ctx *t)
{
	char why[VMMIG_ERRLEN];
	struct warm w = { .t = t };
	pthread_t server;
	int sv[2];

	if (warm_pair(sv))
		return;
	w.fd = sv[0];
	if (pthread_create(&server, NULL, warm_server, &w)) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	tls_free(tls_connect(t, sv[1], WARM_MS, why));
	pthread_join(server, NULL);
}
