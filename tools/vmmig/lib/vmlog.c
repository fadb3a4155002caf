// SPDX-License-Identifier: GPL-2.0
/* The log of vmmigd and the VMMs (vmlog.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "jfield.h"
#include "vmlog.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_ident = "vmmig";
static enum vmlog_sink sink = VMLOG_STDERR;
static bool to_stderr = true;
static char own_vm[VMDEF_NAME_MAX + 1], own_uuid[VMDEF_UUID_STRLEN];

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it gave as stderr. */
static bool stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return s && sscanf(s, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
	       st.st_dev == dev && st.st_ino == ino;
}

enum vmlog_sink vmlog_choose(void)
{
	const char *want = getenv("VMMIG_LOG");

	if (want && !strcmp(want, "stderr"))
		return VMLOG_STDERR;
	if (want && !strcmp(want, "syslog"))
		return VMLOG_SYSLOG;
	if ((want && !strcmp(want, "journal")) || !access(JOURNAL_SOCKET, W_OK))
		return VMLOG_JOURNAL;
	return VMLOG_SYSLOG;
}

void vmlog_init(const char *ident)
{
	log_ident = ident;
	sink = vmlog_choose();
	if (sink == VMLOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_stderr = !(sink == VMLOG_JOURNAL && stderr_is_journal());
}

enum vmlog_sink vmlog_sink(void)
{
	return sink;
}

void vmlog_set_vm(const char *name, const uint8_t uuid[VMDEF_UUID_LEN])
{
	pthread_mutex_lock(&lock);
	snprintf(own_vm, sizeof(own_vm), "%s", name);
	if (uuid && memcmp(uuid, (uint8_t[VMDEF_UUID_LEN]){ 0 }, VMDEF_UUID_LEN))
		vmdef_uuid_str(uuid, own_uuid);
	pthread_mutex_unlock(&lock);
}

/* " [event=ID migration=N uuid=UUID]", the parts that apply, or "". */
static void tail_of(const struct vmlog_about *a, char *buf, size_t len)
{
	char in[128] = "";
	int n = 0;

	if (a->event)
		n += snprintf(in + n, sizeof(in) - n, " event=%u", a->event);
	if (a->migration)
		n += snprintf(in + n, sizeof(in) - n, " migration=%" PRIu64, a->migration);
	if (a->uuid && *a->uuid)
		n += snprintf(in + n, sizeof(in) - n, " uuid=%s", a->uuid);
	if (n)
		snprintf(buf, len, " [%s]", in + 1);
	else
		*buf = '\0';
}

static void journal(int prio, const struct vmlog_about *a, const char *msg)
{
	char f[6][VMDEF_NAME_MAX + 64];
	struct iovec iov[8];
	size_t n = 0, i;
	char *m;

	if (asprintf(&m, "MESSAGE=%s", msg) < 0)
		return;
	iov[n++] = (struct iovec){ m, strlen(m) };
	snprintf(f[0], sizeof(f[0]), "PRIORITY=%d", prio);
	snprintf(f[1], sizeof(f[1]), "SYSLOG_IDENTIFIER=%s", log_ident);
	i = 2;
	if (a->vm && *a->vm)
		snprintf(f[i++], sizeof(f[0]), "VMMIG_VM=%s", a->vm);
	if (a->uuid && *a->uuid)
		snprintf(f[i++], sizeof(f[0]), "VMMIG_VM_UUID=%s", a->uuid);
	if (a->event)
		snprintf(f[i++], sizeof(f[0]), "VMMIG_EVENT_ID=%u", a->event);
	if (a->migration)
		snprintf(f[i++], sizeof(f[0]), "VMMIG_MIGRATION=%" PRIu64, a->migration);
	while (n <= i)
		iov[n] = (struct iovec){ f[n - 1], strlen(f[n - 1]) }, n++;
	sd_journal_sendv(iov, n);
	free(m);
}

static void emit(int prio, const struct vmlog_about *a, const char *msg)
{
	char tail[160], ts[40], vm[VMDEF_NAME_MAX + 8] = "";
	struct timespec now;
	struct tm tm;

	tail_of(a, tail, sizeof(tail));
	if (a->vm && *a->vm)
		snprintf(vm, sizeof(vm), "vm %s: ", a->vm);
	pthread_mutex_lock(&lock);
	if (sink == VMLOG_JOURNAL)
		journal(prio, a, msg);
	else if (sink == VMLOG_SYSLOG)
		syslog(prio, "%s%s%s", vm, msg, tail);
	if (to_stderr) {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		/* An event's message names its VM: "ID MESSAGE", as vmmigd always wrote. */
		if (a->event)
			fprintf(stderr, "%s.%03ldZ %s[%d]: %u %s%s\n", ts, now.tv_nsec / 1000000,
				log_ident, getpid(), a->event, msg, tail);
		else
			fprintf(stderr, "%s.%03ldZ %s[%d]: %s%s%s\n", ts, now.tv_nsec / 1000000,
				log_ident, getpid(), vm, msg, tail);
	}
	pthread_mutex_unlock(&lock);
}

void vmlog_about(int prio, const struct vmlog_about *a, const char *fmt, ...)
{
	static const struct vmlog_about none;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prio, a ? a : &none, msg);
}

void vmlog(int prio, const char *fmt, ...)
{
	struct vmlog_about a = { .vm = own_vm, .uuid = own_uuid };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prio, &a, msg);
}

const char *vmlog_syslog_file(void)
{
	const char *env = getenv("VMMIG_SYSLOG_FILE");

	if (env && *env)
		return env;
	return access("/var/log/syslog", F_OK) && !access("/var/log/messages", F_OK) ?
	       "/var/log/messages" : "/var/log/syslog";
}

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};

/* "daemon.info" (busybox syslogd writes it before the identifier): its level. */
static bool parse_level(const char *s, size_t len, uint32_t *prio)
{
	const char *dot = memchr(s, '.', len);
	size_t i, n;

	if (!dot)
		return false;
	n = len - (dot + 1 - s);
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (n >= 3 && !strncmp(dot + 1, level_names[i], n < 4 ? n : 4)) {
			*prio = i;
			return true;
		}
	return false;
}

/* " [event=ID migration=N uuid=UUID]" at the end of @msg: into @e, and cut. */
static void parse_tail(char *msg, struct vmlog_entry *e)
{
	char *open = strrchr(msg, '['), *p, *save;
	size_t len = strlen(msg);

	if (!open || open == msg || open[-1] != ' ' || msg[len - 1] != ']' ||
	    (strncmp(open + 1, "event=", 6) && strncmp(open + 1, "migration=", 10) &&
	     strncmp(open + 1, "uuid=", 5)))
		return;
	msg[len - 1] = '\0';
	for (p = strtok_r(open + 1, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		if (!strncmp(p, "event=", 6))
			e->event = strtoul(p + 6, NULL, 10);
		else if (!strncmp(p, "migration=", 10))
			e->migration = strtoull(p + 10, NULL, 10);
		else if (!strncmp(p, "uuid=", 5))
			snprintf(e->uuid, sizeof(e->uuid), "%s", p + 5);
	}
	open[-1] = '\0';
}

bool vmlog_parse_syslog(const char *line, const char *vm, struct vmlog_entry *e)
{
	static const char *const idents[] = { "vmmigd[", "vmmig-vmm[" };
	char want[VMDEF_NAME_MAX + 8], *end;
	const char *id = NULL, *p, *prev;
	size_t i, tlen;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < 2 && !id; i++) {
		for (p = strstr(line, idents[i]); p && !id; p = strstr(p + 1, idents[i]))
			if (p > line && p[-1] == ' ')
				id = p;
	}
	if (!id)
		return false;
	snprintf(e->ident, sizeof(e->ident), "%.*s", (int)(strchr(id, '[') - id), id);
	e->pid = strtoul(strchr(id, '[') + 1, &end, 10);
	if (strncmp(end, "]: ", 3))
		return false;
	snprintf(want, sizeof(want), "vm %s: ", vm);
	if (strncmp(end + 3, want, strlen(want)))
		return false;
	snprintf(e->vm, sizeof(e->vm), "%s", vm);
	snprintf(e->message, sizeof(e->message), "%s", end + 3 + strlen(want));
	e->message[strcspn(e->message, "\n")] = '\0';
	parse_tail(e->message, e);
	/* "Mmm dd hh:mm:ss" or an RFC 3339 time, then the host or the facility.level. */
	tlen = line[3] == ' ' && strlen(line) > 15 ? 15 : strcspn(line, " ");
	snprintf(e->time, sizeof(e->time), "%.*s", (int)tlen, line);
	e->priority = LOG_INFO;
	for (prev = id - 1; prev > line && prev[-1] != ' '; prev--)
		;
	if (prev > line)
		parse_level(prev, id - 1 - prev, &e->priority);
	return true;
}

static const struct jfield entry_fields[] = {
	JFIELD(struct vmlog_entry, "time", JF_STR, time),
	JFIELD(struct vmlog_entry, "identifier", JF_STR, ident),
	JFIELD(struct vmlog_entry, "pid", JF_U32, pid),
	JFIELD(struct vmlog_entry, "priority", JF_U32, priority),
	JFIELD(struct vmlog_entry, "vm", JF_STR, vm),
	JFIELD(struct vmlog_entry, "uuid", JF_STR, uuid),
	JFIELD(struct vmlog_entry, "event", JF_U32, event),
	JFIELD(struct vmlog_entry, "migration", JF_U64, migration),
	JFIELD(struct vmlog_entry, "message", JF_STR, message),
};

struct json_object *vmlog_entry_to_json(const struct vmlog_entry *e)
{
	struct json_object *o = json_object_new_object();

	jfield_encode(o, JFIELDS(entry_fields), e);
	return o;
}
