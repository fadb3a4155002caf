// SPDX-License-Identifier: GPL-2.0
/*
 * vmmigd [--state-dir DIR] [--socket PATH] [--settings FILE] [--tls-dir DIR]
 *        [--port PORT] [--trust NAME]...
 *
 * Runs in the foreground (systemd's vmmigd.service runs it so); SIGTERM or
 * SIGINT ends it. Its host name is the one in its certificate.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "dctl.h"
#include "vmlog.h"
#include "vmmigd.h"

struct daemon vmmigd = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.port = MIG_DEFAULT_PORT,
};

#define MAX_TRUST	64

/* --help: on stdout, status 0; a misuse: on stderr, status 2. */
static void usage_to(FILE *f, int status)
{
	fprintf(f, "usage: vmmigd [--state-dir DIR] [--socket PATH] [--settings FILE] [--tls-dir DIR]\n"
		"              [--port PORT] [--trust HOST]... [--cluster-interval S]\n"
		"              [--advertise-cpu CPUID-DUMP] [--no-ktls]\n"
		"See vmmigd(8) and Documentation/admin-guide/migration.rst.\n");
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

/* The host's name: its certificate's first DNS name, or its CN. */
static int host_name(const char *cert, char *why)
{
	FILE *f = fopen(cert, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	GENERAL_NAMES *san;
	int i, n;

	if (f)
		fclose(f);
	if (!x) {
		snprintf(why, VMMIG_ERRLEN, "%.200s: cannot read the host certificate (vmmig host cert)",
			 cert);
		return -ENOENT;
	}
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; san && i < sk_GENERAL_NAME_num(san) && !vmmigd.host[0]; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);

		if (g->type == GEN_DNS)
			snprintf(vmmigd.host, sizeof(vmmigd.host), "%s",
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(san);
	n = vmmigd.host[0] ? 0 : X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
							 vmmigd.host, sizeof(vmmigd.host));
	X509_free(x);
	if (n < 0 || !vmmigd.host[0]) {
		snprintf(why, VMMIG_ERRLEN, "%.200s names no host", cert);
		return -EINVAL;
	}
	return 0;
}

static void *warm_tls(void *arg)
{
	tls_warm(vmmigd.tls);
	return NULL;
}

static void spawn(void *(*fn)(void *), intptr_t arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, (void *)arg)) {
		close((int)arg);
		return;
	}
	pthread_detach(t);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "settings", required_argument, NULL, 'S' },
		{ "tls-dir", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "trust", required_argument, NULL, 'T' },
		{ "cluster-interval", required_argument, NULL, 'i' },
		{ "advertise-cpu", required_argument, NULL, 'a' },
		{ "no-ktls", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const char *trust[MAX_TRUST];
	char why[VMMIG_ERRLEN] = "", ca[4200], cert[4200], key[4200];
	struct tls_conf tc = { 0 };
	struct pollfd pfd[3];
	unsigned int ntrust = 0, interval = 0;
	const char *advertise = NULL;
	bool no_ktls = false;
	pthread_t t;
	sigset_t set;
	int c, fd;

	vmmigd.socket_path = dctl_socket();
	vmmigd.settings_path = VMMIGD_SETTINGS;
	vmmigd.tls_dir = VMMIG_TLS_DIR;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': vmmigd.state_dir = optarg; break;
		case 's': vmmigd.socket_path = optarg; break;
		case 'S': vmmigd.settings_path = optarg; break;
		case 't': vmmigd.tls_dir = optarg; break;
		case 'p':
			vmmigd.port = strtoul(optarg, NULL, 10);
			if (!vmmigd.port || vmmigd.port > 65535)
				usage();
			break;
		case 'T':
			if (ntrust == MAX_TRUST)
				usage();
			trust[ntrust++] = optarg;
			break;
		case 'i':
			interval = strtoul(optarg, NULL, 10);
			if (!interval || interval > 3600)
				usage();
			break;
		case 'a':
			advertise = optarg;
			break;
		case 'K':
			no_ktls = true;
			break;
		case 'h':
			usage_to(stdout, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	vmlog_init("vmmigd");
	vmctl_init(&vmmigd.vmctl, vmmigd.state_dir);
	vmmigd.state_dir = vmmigd.vmctl.state_dir;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	snprintf(ca, sizeof(ca), "%s/ca.crt", vmmigd.tls_dir);
	snprintf(cert, sizeof(cert), "%s/host.crt", vmmigd.tls_dir);
	snprintf(key, sizeof(key), "%s/host.key", vmmigd.tls_dir);
	tc = (struct tls_conf){ .ca_file = ca, .cert_file = cert, .key_file = key,
				.trusted = trust, .ntrusted = ntrust, .no_ktls = no_ktls };
	if (host_name(cert, why) || !(vmmigd.tls = tls_ctx_new(&tc, why))) {
		vmlog_about(LOG_ERR, NULL, "%s", why);
		return 1;
	}
	pfd[0].fd = control_listen(vmmigd.socket_path, why);
	pfd[1].fd = pfd[0].fd < 0 ? -1 : peer_listen(vmmigd.port, why);
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		vmlog_about(LOG_ERR, NULL, "%s", why);
		return 1;
	}
	/* Its first migration need not wait for OpenSSL and kTLS to set up. */
	if (!pthread_create(&t, NULL, warm_tls, NULL))
		pthread_detach(t);
	pfd[2].fd = signalfd(-1, &set, SFD_CLOEXEC);
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;

	if (settings_load_apply(why))
		vmlog_about(LOG_ERR, NULL, "%s", why);
	dest_recover();
	supervise_start();
	pthread_create(&t, NULL, settings_watch, NULL);
	pthread_detach(t);
	if (networks_init(why))
		vmlog_about(LOG_WARNING, NULL, "%s; no migration networks", why);
	netbpf_start();
	if (cluster_init(advertise, interval, why))
		vmlog_about(LOG_ERR, NULL, "%s", why);
	pthread_create(&t, NULL, cluster_run, NULL);
	pthread_detach(t);
	event(EV_DAEMON_START, NULL, "vmmigd %s started on %s: port %u, %u trusted hosts%s",
	      VMMIG_VERSION, vmmigd.host, vmmigd.port, ntrust, ntrust ? "" : " (any the CA signed)");
	autostart_run();

	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents)
			break;
		if (pfd[0].revents) {
			fd = accept4(pfd[0].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(control_client, fd);
		}
		if (pfd[1].revents) {
			fd = accept4(pfd[1].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(peer_client, fd);
		}
	}
	event(EV_DAEMON_STOP, NULL, "vmmigd stops");
	unlink(vmmigd.socket_path);
	netbpf_stop();
	return 0;
}
