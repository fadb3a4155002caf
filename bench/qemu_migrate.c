// SPDX-License-Identifier: GPL-2.0
/*
 * qemu_migrate: one live migration by QEMU of a small Linux guest that runs
 * bench/dirtier, from a source QEMU to a destination QEMU, driven over QMP:
 * the baseline that vmmig's own move of the same guest is measured against
 * (bench/same_guest.sh runs the cases; "The same-guest comparison" in
 * Documentation/admin-guide/testing.rst says how to read them).
 *
 * By default both QEMUs run here and migrate over TCP to 127.0.0.1:PORT.
 * With --src-ns and --dst-ns each runs in that network namespace (a name
 * under /run/netns) and the destination listens on --addr; with --tls-src
 * and --tls-dst the migration runs over TLS (QEMU's tls-creds-x509, verify-
 * peer on both ends, the destination's name checked as --tls-hostname).
 *
 * It prints one line of key=value pairs: QEMU's own total time and
 * downtime, the largest gap an observer outside the VM saw in the guest's
 * serial heartbeat across the migration (that includes the stop), and the
 * largest gap the guest saw between two ticks of its own clock (which does
 * not: kvmclock stops with the VM).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "bench.h"
#include "jfield.h"
#include "vmdef.h"

static const char usage_text[] =
	"usage: qemu_migrate --kernel FILE --initrd FILE --dir DIR [--case NAME]\n"
	"                    [--mem MIB] [--buf MIB] [--rate PAGES/S] [--port N]\n"
	"                    [--downtime-ms N] [--timeout S] [--qemu PATH]\n"
	"                    [--src-ns NETNS --dst-ns NETNS --addr IP]\n"
	"                    [--tls-src DIR --tls-dst DIR --tls-hostname NAME]\n"
	"                    [--auto-converge on|off]\n";

struct opts {
	const char *kernel, *initrd, *dir, *name, *qemu;
	const char *src_ns, *dst_ns, *addr, *tls_src, *tls_dst, *tls_host;
	unsigned long mem, buf, rate, port, downtime, timeout;
	bool auto_converge;
};

/* A line reader on a socket. */
struct conn {
	int fd;
	char buf[65536];
	size_t len;
};

struct vmside {
	pid_t pid;
	struct conn qmp, con;
	FILE *log;	/* the serial console, as received */
};

/* What query-migrate returns that we keep. */
struct migstat {
	char status[32];
	uint64_t total, downtime, setup, expected, throttle;
};

struct ramstat {
	uint64_t transferred, total, duplicate, normal, syncs, dirty_rate;
	double mbps;
};

static const struct jfield migstat_fields[] = {
	JFIELD(struct migstat, "status", JF_STR, status),
	JFIELD(struct migstat, "total-time", JF_U64, total),
	JFIELD(struct migstat, "downtime", JF_U64, downtime),
	JFIELD(struct migstat, "setup-time", JF_U64, setup),
	JFIELD(struct migstat, "expected-downtime", JF_U64, expected),
	JFIELD(struct migstat, "cpu-throttle-percentage", JF_U64, throttle),
};

static const struct jfield ramstat_fields[] = {
	JFIELD(struct ramstat, "transferred", JF_U64, transferred),
	JFIELD(struct ramstat, "total", JF_U64, total),
	JFIELD(struct ramstat, "duplicate", JF_U64, duplicate),
	JFIELD(struct ramstat, "normal", JF_U64, normal),
	JFIELD(struct ramstat, "dirty-sync-count", JF_U64, syncs),
	JFIELD(struct ramstat, "dirty-pages-rate", JF_U64, dirty_rate),
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qemu_migrate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int connect_unix(const char *path, unsigned int wait_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = now_ns() + wait_ms * 1000000ULL;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		fail("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			fail("socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (now_ns() > end)
			fail("cannot connect to %s: %s", path, strerror(errno));
		usleep(50000);
	}
}

/* Reads what is there (the fd is non-blocking); -1 at end of file. */
static int conn_fill(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	c->len += n;
	c->buf[c->len] = '\0';
	return n;
}

/* Takes one whole line out of @c into @line (at most @size bytes kept). */
static bool conn_line(struct conn *c, char *line, size_t size)
{
	char *nl = memchr(c->buf, '\n', c->len);
	size_t n;

	if (!nl) {
		if (c->len == sizeof(c->buf) - 1)
			c->len = 0;	/* a line longer than we care for */
		return false;
	}
	n = nl - c->buf;
	snprintf(line, size, "%.*s", (int)n, c->buf);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	c->buf[c->len] = '\0';
	return true;
}

/* QEMU may take a while to make its sockets on a loaded host under TCG. */
static void conn_open(struct conn *c, const char *path)
{
	c->fd = connect_unix(path, 120000);
	c->len = 0;
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (w <= 0)
			fail("write: %s", strerror(errno));
		s += w;
		n -= w;
	}
}

/* One QMP command; returns its "return" object (a reference the caller drops). */
static struct json_object *qmp(struct conn *q, const char *what, const char *cmd)
{
	uint64_t end = now_ns() + 30000000000ULL;
	struct json_object *o, *r;
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	char line[65536];

	send_all(q->fd, cmd);
	send_all(q->fd, "\n");
	for (;;) {
		while (conn_line(q, line, sizeof(line))) {
			o = json_tokener_parse(line);
			if (!o)
				continue;
			if (json_object_object_get_ex(o, "return", &r)) {
				json_object_get(r);
				json_object_put(o);
				return r;
			}
			if (json_object_object_get_ex(o, "error", &r))
				fail("%s: QMP %s: %s", what, cmd, json_object_to_json_string(r));
			json_object_put(o);	/* an event */
		}
		if (now_ns() > end)
			fail("%s: no QMP answer to %s within 30 s", what, cmd);
		poll(&p, 1, 1000);
		if (conn_fill(q) < 0)
			fail("%s: QMP connection closed (QEMU ended?)", what);
	}
}

static void qmp_do(struct conn *q, const char *what, const char *cmd)
{
	json_object_put(qmp(q, what, cmd));
}

static pid_t start_qemu(const struct opts *o, const char *side, bool incoming)
{
	char append[512], mem[32], qmpsock[512], consock[512], chardev[600], qmparg[600];
	char logpath[512], tlsobj[600];
	const char *netns = incoming ? o->dst_ns : o->src_ns;
	const char *tls = incoming ? o->tls_dst : o->tls_src;
	const char *argv[64];
	int n = 0, fd;
	pid_t pid;

	snprintf(append, sizeof(append),
		 "console=ttyS0 panic=-1 loglevel=1 nokaslr nox2apic lapic=notscdeadline "
		 "mitigations=off acpi=noirq cryptomgr.notests rdinit=/init "
		 "DIRTY_RATE=%lu DIRTY_MIB=%lu", o->rate, o->buf);
	snprintf(mem, sizeof(mem), "%luM", o->mem);
	snprintf(qmpsock, sizeof(qmpsock), "%s/%s.qmp", o->dir, side);
	snprintf(consock, sizeof(consock), "%s/%s.con", o->dir, side);
	snprintf(chardev, sizeof(chardev), "socket,id=con,path=%s,server=on,wait=off", consock);
	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", qmpsock);
	snprintf(logpath, sizeof(logpath), "%s/%s-%s.qemu.log", o->dir, o->name, side);
	if (tls)
		snprintf(tlsobj, sizeof(tlsobj),
			 "tls-creds-x509,id=tls0,dir=%s,endpoint=%s,verify-peer=on", tls,
			 incoming ? "server" : "client");
	unlink(qmpsock);
	unlink(consock);

	argv[n++] = o->qemu;
	argv[n++] = "-machine";
	argv[n++] = "pc";
	argv[n++] = "-accel";
	argv[n++] = "kvm";
	argv[n++] = "-cpu";
	argv[n++] = "host";
	argv[n++] = "-smp";
	argv[n++] = "1";
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-vga";
	argv[n++] = "none";
	argv[n++] = "-net";
	argv[n++] = "none";
	argv[n++] = "-no-reboot";
	argv[n++] = "-kernel";
	argv[n++] = o->kernel;
	argv[n++] = "-initrd";
	argv[n++] = o->initrd;
	argv[n++] = "-append";
	argv[n++] = append;
	argv[n++] = "-chardev";
	argv[n++] = chardev;
	argv[n++] = "-serial";
	argv[n++] = "chardev:con";
	argv[n++] = "-qmp";
	argv[n++] = qmparg;
	if (tls) {
		argv[n++] = "-object";
		argv[n++] = tlsobj;
	}
	/* The listener is opened over QMP, once its parameters (TLS) are set. */
	if (incoming) {
		argv[n++] = "-incoming";
		argv[n++] = "defer";
	}
	argv[n] = NULL;

	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("%s: %s", logpath, strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		if (netns) {
			char nspath[300];
			int nsfd;

			snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
			nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
			if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
				dprintf(fd, "network namespace %s: %s\n", nspath, strerror(errno));
				_exit(127);
			}
			close(nsfd);
		}
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	return pid;
}

static void side_open(const struct opts *o, struct vmside *s, const char *side)
{
	char path[512];
	struct json_object *r;

	snprintf(path, sizeof(path), "%s/%s.qmp", o->dir, side);
	conn_open(&s->qmp, path);
	/* The greeting first, then capabilities negotiation. */
	r = qmp(&s->qmp, side, "{\"execute\": \"qmp_capabilities\"}");
	json_object_put(r);
	snprintf(path, sizeof(path), "%s/%s.con", o->dir, side);
	conn_open(&s->con, path);
	snprintf(path, sizeof(path), "%s/%s-%s.serial.log", o->dir, o->name, side);
	s->log = fopen(path, "w");
	if (!s->log)
		fail("%s: %s", path, strerror(errno));
}

/*
 * Serial console bookkeeping across both sides: the time of the last byte
 * received from the guest, the largest gap between two receptions while
 * measuring, and the last stat line's figures.
 */
struct watch {
	bool measuring, ready;
	uint64_t last_rx, max_gap, rx_ns;
	uint64_t src_last_rx, dst_first_rx;	/* around the switchover */
	uint64_t stat_t, stat_gap_us, stat_rate, stat_lines;
	char ready_line[256];
	char gaps[400];	/* the guest's own list of stalls, "at_ms+len_ms,..." */
};

static void watch_side(struct watch *w, struct vmside *s, bool is_dst, const char *side)
{
	char line[512];
	uint64_t t, g, r;
	int n;

	if (s->con.fd < 0)
		return;
	n = conn_fill(&s->con);
	if (n < 0) {
		close(s->con.fd);
		s->con.fd = -1;
		return;
	}
	if (!n)
		return;
	w->rx_ns = now_ns();
	if (w->measuring && w->last_rx && w->rx_ns - w->last_rx > w->max_gap)
		w->max_gap = w->rx_ns - w->last_rx;
	w->last_rx = w->rx_ns;
	if (!is_dst)
		w->src_last_rx = w->rx_ns;
	else if (!w->dst_first_rx)
		w->dst_first_rx = w->rx_ns;
	fwrite(s->con.buf + s->con.len - n, 1, n, s->log);
	fflush(s->log);
	while (conn_line(&s->con, line, sizeof(line))) {
		char *d = strstr(line, "dirtier: ");

		if (!d)
			continue;
		if (!strncmp(d, "dirtier: ready", 14)) {
			w->ready = true;
			snprintf(w->ready_line, sizeof(w->ready_line), "%s", d + 15);
		} else if (sscanf(d, "dirtier: stat t_ms=%" SCNu64 " pages=%*u rate=%" SCNu64
				  " max_gap_us=%" SCNu64, &t, &r, &g) == 3) {
			w->stat_t = t;
			w->stat_rate = r;
			w->stat_gap_us = g;
			w->stat_lines++;
			d = strstr(d, " gaps=");
			snprintf(w->gaps, sizeof(w->gaps), "%s", d ? d + 6 : "?");
		} else {
			fprintf(stderr, "qemu_migrate: %s guest: %s\n", side, d);
		}
	}
}

static void watch_for(struct watch *w, struct vmside *src, struct vmside *dst,
		      unsigned int ms)
{
	uint64_t end = now_ns() + ms * 1000000ULL;
	struct pollfd p[2] = {
		{ .fd = src->con.fd, .events = POLLIN },
		{ .fd = dst ? dst->con.fd : -1, .events = POLLIN },
	};

	while (now_ns() < end) {
		if (poll(p, 2, 20) <= 0)
			continue;
		watch_side(w, src, false, "source");
		if (dst)
			watch_side(w, dst, true, "destination");
		p[0].fd = src->con.fd;
		p[1].fd = dst ? dst->con.fd : -1;
	}
}

static void stop_side(struct vmside *s, const char *side)
{
	int i, st;

	if (s->pid <= 0)
		return;
	if (s->qmp.fd >= 0) {
		send_all(s->qmp.fd, "{\"execute\": \"quit\"}\n");
		for (i = 0; i < 50; i++) {
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				s->pid = 0;
				return;
			}
			usleep(100000);
		}
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
}

static struct vmside src = { .qmp.fd = -1, .con.fd = -1 };
static struct vmside dst = { .qmp.fd = -1, .con.fd = -1 };

static void cleanup(void)
{
	stop_side(&src, "source");
	stop_side(&dst, "destination");
}

static unsigned long num(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end)
		fail("%s: not a number: %s", opt, s);
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	int i;

	*o = (struct opts){ .name = "case", .qemu = "qemu-system-x86_64", .mem = 256,
			    .buf = 192, .port = 46600, .downtime = 300, .timeout = 120 };
	for (i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			fail("%s needs a value\n%s", k, usage_text);
		if (!strcmp(k, "--kernel"))
			o->kernel = v;
		else if (!strcmp(k, "--initrd"))
			o->initrd = v;
		else if (!strcmp(k, "--dir"))
			o->dir = v;
		else if (!strcmp(k, "--case"))
			o->name = v;
		else if (!strcmp(k, "--qemu"))
			o->qemu = v;
		else if (!strcmp(k, "--mem"))
			o->mem = num(v, k);
		else if (!strcmp(k, "--buf"))
			o->buf = num(v, k);
		else if (!strcmp(k, "--rate"))
			o->rate = num(v, k);
		else if (!strcmp(k, "--port"))
			o->port = num(v, k);
		else if (!strcmp(k, "--downtime-ms"))
			o->downtime = num(v, k);
		else if (!strcmp(k, "--timeout"))
			o->timeout = num(v, k);
		else if (!strcmp(k, "--src-ns"))
			o->src_ns = v;
		else if (!strcmp(k, "--dst-ns"))
			o->dst_ns = v;
		else if (!strcmp(k, "--addr"))
			o->addr = v;
		else if (!strcmp(k, "--tls-src"))
			o->tls_src = v;
		else if (!strcmp(k, "--tls-dst"))
			o->tls_dst = v;
		else if (!strcmp(k, "--tls-hostname"))
			o->tls_host = v;
		else if (!strcmp(k, "--auto-converge") && (!strcmp(v, "on") || !strcmp(v, "off")))
			o->auto_converge = !strcmp(v, "on");
		else
			fail("unknown option %s\n%s", k, usage_text);
	}
	if (!o->kernel || !o->initrd || !o->dir)
		fail("--kernel, --initrd and --dir are required\n%s", usage_text);
	if (!o->src_ns != !o->dst_ns || !o->src_ns != !o->addr)
		fail("--src-ns, --dst-ns and --addr go together\n%s", usage_text);
	if (!o->tls_src != !o->tls_dst || !o->tls_src != !o->tls_host)
		fail("--tls-src, --tls-dst and --tls-hostname go together\n%s", usage_text);
	if (!o->addr)
		o->addr = "127.0.0.1";
}

int main(int argc, char **argv)
{
	struct migstat ms = { 0 };
	struct ramstat rs = { 0 };
	struct watch w = { 0 };
	struct json_object *r, *ram;
	char cmd[512], why[VMMIG_ERRLEN];
	uint64_t t0, boot_ns, mig_start, deadline, pre_rate, fill_ms, throttle = 0;
	const char *fill;
	struct opts o;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	t0 = now_ns();
	src.pid = start_qemu(&o, "src", false);
	side_open(&o, &src, "src");
	deadline = now_ns() + 300000000000ULL;
	while (!w.ready) {
		if (now_ns() > deadline)
			fail("%s: the guest did not say ready within 300 s (see %s/%s-src.serial.log)",
			     o.name, o.dir, o.name);
		if (waitpid(src.pid, NULL, WNOHANG) == src.pid) {
			src.pid = 0;
			fail("%s: the source QEMU ended (see %s/%s-src.qemu.log)", o.name, o.dir,
			     o.name);
		}
		watch_for(&w, &src, NULL, 200);
	}
	boot_ns = now_ns() - t0;
	/* Settle: let the rate reach its pace, and see it in a stat line. */
	w.stat_lines = 0;
	deadline = now_ns() + 60000000000ULL;
	while (w.stat_lines < 3) {
		if (now_ns() > deadline)
			fail("%s: no stat line from the guest within 60 s of ready", o.name);
		watch_for(&w, &src, NULL, 200);
	}
	pre_rate = w.stat_rate;
	fill = strstr(w.ready_line, "fill_ms=");
	fill_ms = fill ? strtoull(fill + 8, NULL, 10) : 0;

	dst.pid = start_qemu(&o, "dst", true);
	side_open(&o, &dst, "dst");

	if (o.tls_dst) {
		qmp_do(&dst.qmp, "destination",
		       "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
		       "{\"tls-creds\": \"tls0\"}}");
	}
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"tcp:%s:%lu\"}}",
		 o.addr, o.port);
	qmp_do(&dst.qmp, "destination", cmd);
	if (o.auto_converge)
		qmp_do(&src.qmp, "source",
		       "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
		       "{\"capabilities\": [{\"capability\": \"auto-converge\", "
		       "\"state\": true}]}}");
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
		 "{\"downtime-limit\": %lu, \"max-bandwidth\": %llu%s%s%s}}",
		 o.downtime, 64ULL << 30,
		 o.tls_src ? ", \"tls-creds\": \"tls0\", \"tls-hostname\": \"" : "",
		 o.tls_src ? o.tls_host : "", o.tls_src ? "\"" : "");
	qmp_do(&src.qmp, "source", cmd);
	send_all(src.con.fd, "r");
	watch_for(&w, &src, &dst, 100);
	w.measuring = true;
	w.max_gap = 0;
	w.last_rx = now_ns();
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"tcp:%s:%lu\"}}",
		 o.addr, o.port);
	mig_start = now_ns();
	qmp_do(&src.qmp, "source", cmd);
	deadline = mig_start + o.timeout * 1000000000ULL;
	for (;;) {
		watch_for(&w, &src, &dst, 200);
		r = qmp(&src.qmp, "source", "{\"execute\": \"query-migrate\"}");
		if (jfield_decode(r, JFIELDS(migstat_fields), &ms, "query-migrate", why))
			fail("%s", why);
		if (json_object_object_get_ex(r, "ram", &ram)) {
			struct json_object *mbps;

			if (jfield_decode(ram, JFIELDS(ramstat_fields), &rs, "query-migrate ram",
					  why))
				fail("%s", why);
			if (json_object_object_get_ex(ram, "mbps", &mbps))
				rs.mbps = json_object_get_double(mbps);
		}
		json_object_put(r);
		if (ms.throttle > throttle)
			throttle = ms.throttle;
		if (!strcmp(ms.status, "completed") || !strcmp(ms.status, "failed") ||
		    !strcmp(ms.status, "cancelled"))
			break;
		if (now_ns() > deadline) {
			qmp_do(&src.qmp, "source", "{\"execute\": \"migrate_cancel\"}");
			snprintf(ms.status, sizeof(ms.status), "not-converged");
			ms.total = (now_ns() - mig_start) / 1000000;
			break;
		}
	}
	if (!strcmp(ms.status, "completed")) {
		/* The destination guest's next stat lines carry its largest tick gap. */
		uint64_t lines = w.stat_lines;

		deadline = now_ns() + 10000000000ULL;
		while (w.stat_lines < lines + 2 && now_ns() < deadline)
			watch_for(&w, &src, &dst, 200);
		if (dst.con.fd >= 0)
			send_all(dst.con.fd, "p");
		watch_for(&w, &src, &dst, 500);
	}
	printf("qemu_migrate case=%s mem_mib=%lu buf_mib=%lu rate=%lu transport=%s"
	       " auto_converge=%d rate_achieved=%" PRIu64
	       " downtime_limit_ms=%lu status=%s total_ms=%" PRIu64 " downtime_ms=%" PRIu64
	       " setup_ms=%" PRIu64 " switch_gap_ms=%.1f seen_gap_ms=%.1f guest_gap_ms=%.1f"
	       " throttle_pct=%" PRIu64 " transferred_mib=%.1f"
	       " dirty_syncs=%" PRIu64 " zero_pages=%" PRIu64 " normal_pages=%" PRIu64
	       " mbps=%.0f boot_s=%.1f fill_s=%.1f guest_gaps=%s\n",
	       o.name, o.mem, o.buf, o.rate, o.tls_src ? "tls" : "tcp", o.auto_converge, pre_rate,
	       o.downtime, ms.status, ms.total, ms.downtime, ms.setup,
	       w.dst_first_rx > w.src_last_rx ? (w.dst_first_rx - w.src_last_rx) / 1e6 : -1.0,
	       w.max_gap / 1e6,
	       !strcmp(ms.status, "completed") ? w.stat_gap_us / 1e3 : -1.0,
	       throttle, rs.transferred / 1048576.0, rs.syncs, rs.duplicate, rs.normal, rs.mbps,
	       boot_ns / 1e9, fill_ms / 1e3,
	       !strcmp(ms.status, "completed") ? w.gaps : "?");
	/* Not converging in time is a result; a failed migration is not. */
	return strcmp(ms.status, "completed") && strcmp(ms.status, "not-converged");
}
