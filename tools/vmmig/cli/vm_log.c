// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm log NAME [--follow] [--lines N]: what vmmigd and the VM's VMMs
 * logged about it (lib/vmlog.h), from the journal (matched by the VM's
 * UUID) or from the syslog file (matched by "vm NAME: ").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "output.h"
#include "parse.h"
#include "vm.h"
#include "vmlog.h"

#define FOLLOW_POLL_US	200000

static void print_entry(const struct vmlog_entry *e)
{
	struct json_object *o;

	if (output_is_json()) {
		o = vmlog_entry_to_json(e);
		print_json_line(o);
		json_object_put(o);
		return;
	}
	if (e->event)
		printf("%s %s[%u]: %u %s\n", e->time, e->ident, e->pid, e->event, e->message);
	else
		printf("%s %s[%u]: %s\n", e->time, e->ident, e->pid, e->message);
	fflush(stdout);
}

/* ---- the journal ---- */

static void jstr(sd_journal *j, const char *field, char *out, size_t len)
{
	size_t flen = strlen(field), n;
	const void *d;

	*out = '\0';
	if (sd_journal_get_data(j, field, &d, &n) < 0 || n <= flen + 1)
		return;
	snprintf(out, len, "%.*s", (int)(n - flen - 1), (const char *)d + flen + 1);
}

static uint64_t jnum(sd_journal *j, const char *field)
{
	char buf[32];

	jstr(j, field, buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

static void journal_entry(sd_journal *j, struct vmlog_entry *e)
{
	uint64_t usec = 0;
	struct tm tm;
	time_t t;
	char ts[32];

	memset(e, 0, sizeof(*e));
	sd_journal_get_realtime_usec(j, &usec);
	t = usec / 1000000;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(e->time, sizeof(e->time), "%s.%03uZ", ts, (unsigned int)(usec / 1000 % 1000));
	jstr(j, "SYSLOG_IDENTIFIER", e->ident, sizeof(e->ident));
	jstr(j, "VMMIG_VM", e->vm, sizeof(e->vm));
	jstr(j, "VMMIG_VM_UUID", e->uuid, sizeof(e->uuid));
	jstr(j, "MESSAGE", e->message, sizeof(e->message));
	e->pid = jnum(j, "_PID");
	e->priority = jnum(j, "PRIORITY");
	e->event = jnum(j, "VMMIG_EVENT_ID");
	e->migration = jnum(j, "VMMIG_MIGRATION");
}

static int journal_log(const char *uuid, bool follow, uint64_t lines)
{
	struct vmlog_entry e;
	bool have = false;
	char match[64];
	sd_journal *j;
	int r;

	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		error_msg(what, "cannot open the journal: %s", strerror(-r));
		return EXIT_FAIL;
	}
	snprintf(match, sizeof(match), "VMMIG_VM_UUID=%s", uuid);
	r = sd_journal_add_match(j, match, 0);
	/* --lines N: from the N-th last entry (or the first, if fewer), itself included. */
	if (r >= 0 && lines) {
		r = sd_journal_seek_tail(j);
		if (r >= 0)
			r = sd_journal_previous_skip(j, lines);
		have = r > 0;
	} else if (r >= 0) {
		r = sd_journal_seek_head(j);
	}
	while (r >= 0) {
		if (!have) {
			r = sd_journal_next(j);
			have = r > 0;
		}
		if (have) {
			journal_entry(j, &e);
			print_entry(&e);
			have = false;
			continue;
		}
		if (r < 0 || !follow)
			break;
		r = sd_journal_wait(j, (uint64_t)-1);
	}
	sd_journal_close(j);
	if (r < 0) {
		error_msg(what, "journal: %s", strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- the syslog file ---- */

struct ring {
	struct vmlog_entry *e;
	uint64_t cap, n;	/* n: entries seen; the last cap kept */
};

/* The file's lines about @vm from @*off to its end, to print or into @r. */
static void syslog_read(FILE *f, const char *vm, struct ring *r, long *off)
{
	char *line = NULL;
	size_t cap = 0;
	struct vmlog_entry e;

	fseek(f, *off, SEEK_SET);
	while (getline(&line, &cap, f) > 0) {
		/* A line written half: read again once it is whole. */
		if (line[strlen(line) - 1] != '\n')
			break;
		*off = ftell(f);
		if (!vmlog_parse_syslog(line, vm, &e))
			continue;
		if (r && r->cap)
			r->e[r->n++ % r->cap] = e;
		else
			print_entry(&e);
	}
	clearerr(f);
	free(line);
}

static int syslog_log(const char *vm, bool follow, uint64_t lines)
{
	const char *path = vmlog_syslog_file();
	struct ring r = { .cap = lines };
	struct stat st, now;
	long off = 0;
	uint64_t i;
	FILE *f = fopen(path, "r");

	if (!f) {
		error_msg(what, "%s: %s (no journal either; $VMMIG_SYSLOG_FILE names another file)",
			  path, strerror(errno));
		return EXIT_FAIL;
	}
	if (lines) {
		r.e = calloc(lines, sizeof(*r.e));
		if (!r.e) {
			fclose(f);
			error_msg(what, "out of memory");
			return EXIT_FAIL;
		}
	}
	syslog_read(f, vm, &r, &off);
	for (i = r.n > r.cap ? r.n - r.cap : 0; i < r.n; i++)
		print_entry(&r.e[i % r.cap]);
	free(r.e);
	fstat(fileno(f), &st);
	while (follow) {
		usleep(FOLLOW_POLL_US);
		/* Rotated or truncated: the new file, from its start. */
		if (!stat(path, &now) && (now.st_ino != st.st_ino || now.st_size < off)) {
			FILE *g = fopen(path, "r");

			if (g) {
				syslog_read(f, vm, NULL, &off);
				fclose(f);
				f = g;
				off = 0;
				fstat(fileno(f), &st);
			}
		}
		syslog_read(f, vm, NULL, &off);
	}
	fclose(f);
	return EXIT_OK;
}

static int vm_log(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'l' },
		{}
	};
	char why[VMMIG_ERRLEN], uuid[VMDEF_UUID_STRLEN];
	const char *name;
	uint64_t lines = 0;
	bool follow = false;
	struct vmdef d;
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'f')
			follow = true;
		if (c == 'l' && parse_uint("--lines", optarg, 1, 1000000, &lines, why))
			return usage_error("%s", why);
	}
	if (cmd_args(argc, argv, "NAME"))
		return EXIT_USAGE;
	name = argv[optind];
	if (check_name(name))
		return EXIT_USAGE;
	if (vmctl_load(&vmctl, name, &d))
		return vmctl_failed();
	vmdef_uuid_str(d.uuid, uuid);
	vmdef_free(&d);
	if (vmlog_choose() == VMLOG_JOURNAL)
		return journal_log(uuid, follow, lines);
	return syslog_log(name, follow, lines);
}

const struct cmd vm_log_cmd = {
	.name = "log",
	.fn = vm_log,
	.args = "NAME [ --follow ] [ --lines N ]",
	.help = "what vmmigd and the VM's VMMs logged about it: from the journal\n"
		"(its entries with the VM's UUID) when journald runs, else from\n"
		"the syslog file ($VMMIG_SYSLOG_FILE, else /var/log/syslog, else\n"
		"/var/log/messages); --lines: the last N only; --follow: then\n"
		"waits for more; -j: one JSON object per line\n",
};
