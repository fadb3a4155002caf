// SPDX-License-Identifier: GPL-2.0
/*
 * dirtier: /init of a small Linux guest for the migration benchmarks. It
 * fills a buffer with data (so that no page of it is a zero page), then
 * writes one word in RATE pages of it a second, in order, paced by
 * CLOCK_MONOTONIC, and wakes every TICK microseconds. On the serial
 * console (ttyS0) it prints
 *
 *   "dirtier: ready ..."   once the buffer is filled;
 *   "."                    every BEAT milliseconds: a heartbeat that an
 *                          observer outside the VM timestamps;
 *   "dirtier: stat ..."    every second: pages written, the rate achieved,
 *                          and the largest gap between two ticks of its own
 *                          clock since the last reset.
 *
 * and the gaps of more than GAP_MIN_US, as "at_ms+len_ms" on its own clock
 * from the last reset (the MAX_GAPS longest, in time order). A byte 'r' on the console
 * resets the largest gap and the list; 'p' prints a stat line at once. Parameters come from the kernel command line, which passes them
 * to init as environment variables: DIRTY_RATE (pages/s, default 0),
 * DIRTY_MIB (buffer, default 64), DIRTY_TICK_US (default 1000) and
 * DIRTY_BEAT_MS (default 10).
 *
 * The guest's clock stops while its VM is stopped (QEMU's kvmclock does
 * not count the time the VM is paused): the largest tick gap shows the
 * stalls of the running guest, not the stop. The heartbeat shows the stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define GAP_MIN_US 50000
#define MAX_GAPS 16

static int con = -1;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(con, buf, n) < 0)
		return;
}

/*
 * Keeps the MAX_GAPS longest gaps, in time order: a new one replaces the
 * shortest when the list is full and it is longer.
 */
static void keep_gap(uint64_t (*gaps)[2], unsigned int *n, uint64_t at, uint64_t len)
{
	unsigned int i, min = 0;

	if (*n == MAX_GAPS) {
		for (i = 1; i < *n; i++)
			if (gaps[i][1] < gaps[min][1])
				min = i;
		if (len <= gaps[min][1])
			return;
		memmove(gaps[min], gaps[min + 1], (*n - min - 1) * sizeof(gaps[0]));
		(*n)--;
	}
	gaps[*n][0] = at;
	gaps[(*n)++][1] = len;
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 0);
	return errno || *end ? def : v;
}

static void open_console(void)
{
	struct termios t;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	con = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (con < 0)
		con = open("/dev/console", O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (con < 0)
		return;
	if (!tcgetattr(con, &t)) {
		cfmakeraw(&t);
		tcsetattr(con, TCSANOW, &t);
	}
}

int main(void)
{
	unsigned long rate = env_ul("DIRTY_RATE", 0);
	unsigned long mib = env_ul("DIRTY_MIB", 64);
	uint64_t tick = env_ul("DIRTY_TICK_US", 1000);
	uint64_t beat = env_ul("DIRTY_BEAT_MS", 10) * 1000;
	unsigned long pages = mib * 1024 * 1024 / PAGE, i;
	uint64_t start, last, next, next_beat, next_stat, stat_start;
	uint64_t sched = 0, done = 0, stat_done = 0, gap = 0, due, mark;
	uint64_t gaps[MAX_GAPS][2];
	char list[MAX_GAPS * 48];
	unsigned int ngaps = 0, n, len;
	struct timespec ts;
	unsigned char *buf;
	char c;

	open_console();
	if (!pages || !tick) {
		say("dirtier: bad parameters\n");
		goto off;
	}
	buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		say("dirtier: cannot map %lu MiB: %s\n", mib, strerror(errno));
		goto off;
	}
	start = now_us();
	for (i = 0; i < pages * PAGE / 8; i++)
		((uint64_t *)buf)[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	say("dirtier: ready mib=%lu rate=%lu tick_us=%llu beat_ms=%llu fill_ms=%llu\n",
	    mib, rate, (unsigned long long)tick, (unsigned long long)beat / 1000,
	    (unsigned long long)(now_us() - start) / 1000);

	start = last = mark = now_us();
	next = start + tick;
	next_beat = start + beat;
	next_stat = start + 1000000;
	stat_start = start;
	for (;;) {
		uint64_t now = now_us(), el = now - start;

		if (now - last > gap)
			gap = now - last;
		if (now - last > GAP_MIN_US)
			keep_gap(gaps, &ngaps, last - mark, now - last);
		last = now;
		due = el / 1000000 * rate + el % 1000000 * rate / 1000000;
		/* After a stall, catch up by a quarter of a second's worth at most. */
		if (due > sched + rate / 4 + 16)
			sched = due - rate / 4 - 16;
		for (; sched < due; sched++, done++)
			((volatile uint64_t *)buf)[(sched % pages) * (PAGE / 8) +
						   sched % (PAGE / 8)] = sched;
		while (read(con, &c, 1) == 1) {
			if (c == 'r') {
				gap = ngaps = 0;
				mark = now;
			}
			else if (c == 'p')
				next_stat = now;
		}
		if (now >= next_beat) {
			say(".");
			next_beat = now + beat;
		}
		if (now >= next_stat) {
			for (n = len = 0; n < ngaps && len < sizeof(list) - 48; n++)
				len += snprintf(list + len, sizeof(list) - len, "%s%llu+%llu",
						n ? "," : "",
						(unsigned long long)gaps[n][0] / 1000,
						(unsigned long long)gaps[n][1] / 1000);
			list[len] = '\0';
			say("\ndirtier: stat t_ms=%llu pages=%llu rate=%llu max_gap_us=%llu gaps=%s\n",
			    (unsigned long long)el / 1000, (unsigned long long)done,
			    (unsigned long long)((done - stat_done) * 1000000 /
						 (now - stat_start ? now - stat_start : 1)),
			    (unsigned long long)gap, ngaps ? list : "none");
			stat_done = done;
			stat_start = now;
			next_stat = now + 1000000;
		}
		next += tick;
		if (next < now)
			next = now + tick;
		ts.tv_sec = next / 1000000;
		ts.tv_nsec = next % 1000000 * 1000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
off:
	sleep(1);
	reboot(RB_POWER_OFF);
	return 1;
}
