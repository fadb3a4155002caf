// SPDX-License-Identifier: GPL-2.0
/* A transient scope unit per VMM (vmscope.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "vmdef.h"
#include "vmscope.h"

static bool user_manager(void)
{
	const char *s = getenv("VMMIG_SYSTEMD");

	return s && !strcmp(s, "user");
}

bool vmscope_wanted(void)
{
	return user_manager() || sd_booted() > 0;
}

/* systemd.unit(5)'s escaping: \xNN for all but [A-Za-z0-9:_.], '.' not first. */
void vmscope_unit(const char *vm, pid_t pid, char *buf, size_t len)
{
	size_t n = snprintf(buf, len, "vmmig-vm-");
	const char *p;

	for (p = vm; *p && n + 5 < len; p++) {
		if (isalnum((unsigned char)*p) || *p == ':' || *p == '_' || (*p == '.' && p != vm))
			buf[n++] = *p;
		else
			n += snprintf(buf + n, len - n, "\\x%02x", (unsigned char)*p);
	}
	snprintf(buf + n, len - n, "-%d.scope", (int)pid);
}

int vmscope_start(const char *vm, pid_t pid, char *why)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	char unit[VMDEF_NAME_MAX * 4 + 32], desc[VMDEF_NAME_MAX + 32];
	sd_bus *bus = NULL;
	int r;

	vmscope_unit(vm, pid, unit, sizeof(unit));
	snprintf(desc, sizeof(desc), "vmmig VM %s", vm);
	r = user_manager() ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(why, VMMIG_ERRLEN, "%.100s: no D-Bus to systemd: %s", unit, strerror(-r));
		return r;
	}
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", desc,
					  "PIDs", "au", 1, (uint32_t)pid,
					  "Slice", "s", "machine.slice",
					  "CollectMode", "s", "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0)
		snprintf(why, VMMIG_ERRLEN, "%.100s: %.140s", unit, strerror(-r));
	else if ((r = sd_bus_call(bus, m, 0, &e, &reply)) < 0)
		snprintf(why, VMMIG_ERRLEN, "%.100s: %.140s", unit, e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}
