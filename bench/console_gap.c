// SPDX-License-Identifier: GPL-2.0
/*
 * console_gap SRC_LOG DST_LOG: the switch gap of a vmmig move seen from
 * outside the VM, as bench/qemu_migrate measures QEMU's: from the last byte
 * the source's guest wrote to its console to the first the destination's
 * wrote, the guest being bench/dirtier (a heartbeat every 10 ms). The
 * consoles are the VMMs' console.log files (each byte the guest writes is
 * written there at once); SRC_LOG must exist, DST_LOG (the VM's file on the
 * destination host) may appear later, with its directory. inotify wakes
 * this at each write, on either side; a poll every 20 ms catches what it
 * might miss (a directory made before its watch).
 *
 * It runs until SIGTERM or SIGINT, then prints one line:
 *
 *   switch_gap_ms=N seen_gap_ms=N src_bytes=N dst_bytes=N
 *
 * switch_gap_ms is -1 when the destination wrote nothing; seen_gap_ms is the
 * largest gap between two writes seen on either side.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "bench.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One console log: its size when last seen, and when it last grew. */
struct side {
	const char *path;
	int fd;
	off_t size;
	uint64_t first, last;	/* ns, 0 when it never grew */
};

/* Records growth of @s at @t; true when it grew. */
static bool side_check(struct side *s, uint64_t t)
{
	struct stat st;

	if (s->fd < 0) {
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return false;
	}
	/* The open fd: the source's file is unlinked when its VM leaves. */
	if (fstat(s->fd, &st) || st.st_size <= s->size)
		return false;
	s->size = st.st_size;
	if (!s->first)
		s->first = t;
	s->last = t;
	return true;
}

/* Watches @path's directory, and the one above it until the directory exists. */
static void watch_dirs(int in, const char *path)
{
	char dir[PATH_MAX], up[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(up, sizeof(up), "%s", dirname(dir));
	inotify_add_watch(in, up, IN_MODIFY | IN_CREATE);
	inotify_add_watch(in, dirname(up), IN_CREATE);
}

int main(int argc, char **argv)
{
	struct side src = { .fd = -1 }, dst = { .fd = -1 };
	uint64_t last_any = 0, max_gap = 0, src_before = 0, t;
	char ev[4096] __attribute__((aligned(8)));
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd p;
	bool a, b;

	if (argc != 3) {
		fprintf(stderr, "usage: console_gap SRC_LOG DST_LOG\n");
		return 2;
	}
	src.path = argv[1];
	dst.path = argv[2];
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	p.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	p.events = POLLIN;
	if (p.fd < 0) {
		perror("console_gap: inotify_init1");
		return 1;
	}
	if (!side_check(&src, 0) && src.fd < 0) {
		fprintf(stderr, "console_gap: %s: %s\n", src.path, strerror(errno));
		return 1;
	}
	src.first = src.last = 0;
	watch_dirs(p.fd, src.path);
	watch_dirs(p.fd, dst.path);
	while (!stop) {
		if (poll(&p, 1, 20) > 0) {
			while (read(p.fd, ev, sizeof(ev)) > 0)
				;
			/* A directory made since: watch it too (a repeat is harmless). */
			if (dst.fd < 0)
				watch_dirs(p.fd, dst.path);
		}
		t = now_ns();
		a = side_check(&src, t);
		b = side_check(&dst, t);
		if (!a && !b)
			continue;
		if (last_any && t - last_any > max_gap)
			max_gap = t - last_any;
		last_any = t;
		/* The source's last write before the destination's first. */
		if (a && !dst.first)
			src_before = t;
		else if (a && b && dst.first == t)
			src_before = t;
	}
	printf("switch_gap_ms=%.1f seen_gap_ms=%.1f src_bytes=%lld dst_bytes=%lld\n",
	       dst.first && src_before ? (dst.first - src_before) / 1e6 : -1.0, max_gap / 1e6,
	       (long long)src.size, (long long)dst.size);
	return 0;
}
