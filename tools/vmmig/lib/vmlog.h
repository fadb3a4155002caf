/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The log of vmmigd and of each VMM: to the journal when journald is there,
 * with fields (SYSLOG_IDENTIFIER, PRIORITY, VMMIG_VM, VMMIG_VM_UUID,
 * VMMIG_EVENT_ID, VMMIG_MIGRATION where they apply), else to syslog
 * (facility daemon) with the same facts in the message. Each line also goes
 * to stderr with a timestamp, unless stderr is the journal already.
 * $VMMIG_LOG (journal, syslog, stderr) overrides the choice.
 *
 * A syslog message reads "vm NAME: TEXT [event=ID migration=N uuid=UUID]"
 * (the parts that apply); vmlog_parse_syslog() reads one back, for
 * `vmmig vm log` (Documentation/admin-guide/vm.rst).
 */
#ifndef VMMIG_VMLOG_H
#define VMMIG_VMLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "vmdef.h"

enum vmlog_sink { VMLOG_JOURNAL, VMLOG_SYSLOG, VMLOG_STDERR };

/* What a line concerns: all optional (NULL, 0). */
struct vmlog_about {
	const char *vm;
	const char *uuid;	/* text form */
	unsigned int event;	/* a stable event ID */
	uint64_t migration;
};

/* Where the log goes: $VMMIG_LOG, else the journal if journald listens, else syslog. */
enum vmlog_sink vmlog_choose(void);
/* Once per process: its identifier ("vmmigd", "vmmig-vmm"); picks the sink. */
void vmlog_init(const char *ident);
enum vmlog_sink vmlog_sink(void);
/* The VM every later vmlog() line of this process concerns (a VMM's own). */
void vmlog_set_vm(const char *name, const uint8_t uuid[VMDEF_UUID_LEN]);
/* A line at syslog priority @prio (LOG_ERR, LOG_INFO...) about the process's VM. */
void vmlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about @a (NULL: nothing in particular). */
void vmlog_about(int prio, const struct vmlog_about *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The syslog file `vmmig vm log` reads: $VMMIG_SYSLOG_FILE, /var/log/syslog, /var/log/messages. */
const char *vmlog_syslog_file(void);

/* A line of the log as `vmmig vm log` shows it. */
struct vmlog_entry {
	char time[40];		/* as the log had it */
	char ident[32];
	uint32_t pid;
	uint32_t priority;	/* syslog's; 6 (info) when the file does not say */
	char vm[VMDEF_NAME_MAX + 1];
	char uuid[VMDEF_UUID_STRLEN];
	uint32_t event;
	uint64_t migration;
	char message[1024];
};

/*
 * A line of a syslog file that vmmigd or a VMM wrote about VM @vm into @e:
 * true if it is one, false for any other line.
 */
bool vmlog_parse_syslog(const char *line, const char *vm, struct vmlog_entry *e);
/* @e as JSON, through a jfield table. */
struct json_object *vmlog_entry_to_json(const struct vmlog_entry *e);

#endif
