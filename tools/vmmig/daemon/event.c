// SPDX-License-Identifier: GPL-2.0
/*
 * Events: a stable numeric ID, a message, the VM and migration they concern.
 * Each goes to the journal when systemd's is there (with the ID, VM name,
 * UUID and migration ID as fields), to stderr otherwise, and to every
 * `vmmig monitor` watching.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <systemd/sd-journal.h>

#include "vmmigd.h"

#define MAX_WATCHERS	32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int watchers[MAX_WATCHERS];
static unsigned int nwatchers;

void event_watch(int fd)
{
	pthread_mutex_lock(&lock);
	if (nwatchers < MAX_WATCHERS)
		watchers[nwatchers++] = fd;
	else
		close(fd);
	pthread_mutex_unlock(&lock);
}

static void broadcast(const char *line)
{
	size_t len = strlen(line);
	unsigned int i = 0;

	while (i < nwatchers) {
		if (send(watchers[i], line, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len) {
			i++;
			continue;
		}
		close(watchers[i]);
		watchers[i] = watchers[--nwatchers];
	}
}

static bool journal(void)
{
	static int have = -1;

	if (have < 0)
		have = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
	return have;
}

void event(enum vmmigd_event id, const struct migration *m, const char *fmt, ...)
{
	char msg[1024], uuid[40] = "", ts[32];
	struct json_object *o = json_object_new_object(), *line;
	struct timespec now;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", gmtime(&now.tv_sec));
	if (m)
		vmdef_uuid_str(m->uuid, uuid);

	json_object_object_add(o, "id", json_object_new_int(id));
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "host", json_object_new_string(vmmigd.host));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (m) {
		json_object_object_add(o, "vm", json_object_new_string(m->vm));
		json_object_object_add(o, "uuid", json_object_new_string(uuid));
		json_object_object_add(o, "migration", json_object_new_uint64(m->id));
	}
	line = json_object_new_object();
	json_object_object_add(line, "event", o);

	pthread_mutex_lock(&lock);
	if (journal())
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", id == EV_MIG_FAILED ||
				id == EV_MIG_UNKNOWN || id == EV_MIG_IN_UNKNOWN ? 3 : 6,
				"VMMIG_EVENT_ID=%d", id, "VMMIG_VM=%s", m ? m->vm : "",
				"VMMIG_VM_UUID=%s", uuid, "VMMIG_MIGRATION=%llu",
				m ? (unsigned long long)m->id : 0ULL, NULL);
	else
		fprintf(stderr, "%s vmmigd[%d]: %d %s\n", ts, getpid(), id, msg);
	snprintf(msg, sizeof(msg), "%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
	broadcast(msg);
	pthread_mutex_unlock(&lock);
	json_object_put(line);
}
