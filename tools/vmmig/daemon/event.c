// SPDX-License-Identifier: GPL-2.0
/*
 * Events: a stable numeric ID, a message, the VM and migration they concern.
 * Each goes to the log (lib/vmlog.h: the journal with the ID, VM name, UUID
 * and migration ID as fields, or syslog) and to every `vmmig monitor`
 * watching.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "vmlog.h"
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

static int priority(enum vmmigd_event id)
{
	switch (id) {
	case EV_MIG_FAILED:
	case EV_MIG_UNKNOWN:
	case EV_MIG_IN_UNKNOWN:
	case EV_VM_AUTOSTART_FAILED:
		return LOG_ERR;
	case EV_VM_END:
		return LOG_NOTICE;
	default:
		return LOG_INFO;
	}
}

/* To the log (vmlog.h) and to every watcher, as {"event": {...}}. */
static void emit(enum vmmigd_event id, const char *vm, const uint8_t *uuid_bytes, uint64_t mig,
		 const char *msg)
{
	struct json_object *o = json_object_new_object(), *line;
	struct vmlog_about a = { .vm = vm, .event = id, .migration = mig };
	char uuid[VMDEF_UUID_STRLEN] = "", ts[32], *text;
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (uuid_bytes)
		a.uuid = vmdef_uuid_str(uuid_bytes, uuid);

	json_object_object_add(o, "id", json_object_new_int(id));
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "host", json_object_new_string(vmmigd.host));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (vm) {
		json_object_object_add(o, "vm", json_object_new_string(vm));
		if (uuid_bytes)
			json_object_object_add(o, "uuid", json_object_new_string(uuid));
	}
	if (mig)
		json_object_object_add(o, "migration", json_object_new_uint64(mig));
	line = json_object_new_object();
	json_object_object_add(line, "event", o);

	vmlog_about(priority(id), &a, "%s", msg);
	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN)) > 0) {
		pthread_mutex_lock(&lock);
		broadcast(text);
		pthread_mutex_unlock(&lock);
		free(text);
	}
	json_object_put(line);
}

void event(enum vmmigd_event id, const struct migration *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(id, m ? m->vm : NULL, m ? m->uuid : NULL, m ? m->id : 0, msg);
}

void event_vm(enum vmmigd_event id, const char *vm, const uint8_t *uuid, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(id, vm, uuid, 0, msg);
}
