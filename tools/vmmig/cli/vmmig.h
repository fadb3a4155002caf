/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMMIG_CLI_H
#define VMMIG_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cpuid.h"
#include "host.h"
#include "nl.h"

/* Exit codes of every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/*
 * One word of the command line: an object, or a verb of an object. A verb
 * runs @fn with its own name in argv[0]; an entry with @sub has verbs of its
 * own (`host policy show`), an entry with both (`vm`) runs @fn, which ends
 * in cmd_run(@sub). @help is what `help` and `--help` print: for an object,
 * its first line is the summary `vmmig help` lists.
 */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* the synopsis after "vmmig OBJECT VERB" */
	const char *help;
	const struct cmd_table *sub;
};

struct cmd_table {
	const char *name;		/* "host", "host policy"; "" at the top */
	const struct cmd *const *cmds;
	size_t n;
	const char *dflt;		/* the verb when none is given, or NULL */
	const char *footer;		/* printed after the usage, or NULL */
	void (*usage)(FILE *f);		/* the usage, when not generated */
	const char *opts;		/* what every verb takes too ("--state-dir DIR") */
};

#define CMD_TABLE(tname, list, verb, foot) { .name = tname, .cmds = list, \
	.n = sizeof(list) / sizeof(list[0]), .dflt = verb, .footer = foot }

/*
 * Looks argv[1] up in @t (argv[0] is the word that led to @t) and runs it;
 * `help`, `-h`, `--help` print the usage to stdout. Returns the exit code.
 */
int cmd_run(const struct cmd_table *t, int argc, char **argv);
void cmd_table_usage(const struct cmd_table *t, FILE *f);
/*
 * `vmmig help --commands`, for completion writers: one line per command of
 * @t and its sub-tables, "WORDS : ARGS", ARGS the words of its synopsis
 * (and of @opts, or of its table's) without the brackets: NAME,
 * --flag, --option=VALUE and keyword=VALUE, VALUE a metavariable such as
 * FILE or choices such as on|off.
 */
void cmd_table_list(const struct cmd_table *t, const char *opts, FILE *f);
/* One synopsis @args as cmd_table_list() prints it, each word after a space. */
void cmd_print_args(FILE *f, const char *args);

struct option;
/*
 * getopt_long() over a verb's arguments (long options only, in any order
 * with the positional ones, which end up from optind on): an unknown
 * option or a missing value is reported, as '?'.
 */
int cmd_getopt(int argc, char **argv, const struct option *lo);
/*
 * After cmd_getopt(): exactly the positional arguments @names ("NAME FILE")
 * from optind on, else "missing FILE" or "unexpected argument" is reported
 * and EXIT_USAGE returned.
 */
int cmd_args(int argc, char **argv, const char *names);
/* cmd_args() for a verb that takes no options. */
int cmd_no_options(int argc, char **argv, const char *names);

/* The running command, "vm show", for messages; set by cmd_run(). */
extern char what[64];

/* "vmmig: @context: why" on stderr. */
void error_msg(const char *context, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "vmmig: vm show: why (see 'vmmig vm show --help')"; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Connects to vmmig.ko or reports why not; returns EXIT_OK or EXIT_FAIL. */
int cli_connect(struct vmmig_nl *nl, const char *context);
/*
 * Closes @nl after a request that returned @err: a -errno is reported with
 * the kernel's message (a positive @err was reported already). Returns the
 * exit code.
 */
int cli_close(struct vmmig_nl *nl, int err);

/* The objects. */
extern const struct cmd host_cmd, monitor_cmd, kvm_cmd, vm_cmd, move_cmd, migration_cmd,
	cluster_cmd, check_cmd, network_cmd, stats_cmd, storage_cmd, version_cmd;
/* network.c: `host set use-any-network on|off`, through vmmigd. */
int network_use_any(bool on);
/* host_cert.c: `host cert`. */
extern const struct cmd host_cert_cmd;

/*
 * kvm.c: what `vm dirty-log`, `vm dirty-rate` and `vm audit` share. With
 * @vmm_pid, NAME is a VM of `vmmig vm`, which stands for the pid of its
 * running VMM (0, or an exit code after a message).
 */
int kvm_dirty_log(int argc, char **argv);
int kvm_dirty_rate(int argc, char **argv, int (*vmm_pid)(const char *name, pid_t *pid));
int kvm_audit(int argc, char **argv, int (*vmm_pid)(const char *name, pid_t *pid));

void print_host_settings(const struct vmmig_host *h);
void print_host(const struct vmmig_host *h);

/*
 * daemon.c: one request to vmmigd and its reply (*@reply, to put), or -1
 * after a message; a string or number member of a reply ("" or 0).
 */
struct dctl_request;
struct json_object;
int vmmigd_call(const struct dctl_request *r, struct json_object **reply);
uint64_t jget_u64(struct json_object *o, const char *key);
const char *jget_str(struct json_object *o, const char *key);
void print_json_line(struct json_object *o);
/* After cmd_getopt(): NAME, a valid VM name, into @r->vm; --to given. */
int vm_and_to(int argc, char **argv, struct dctl_request *r);
/*
 * The storage options of move, check and storage move, as getopt codes:
 * --include-storage, --storage-path DIR (--path DIR), --disk SRC=DST,
 * --keep-source. 0 when @c was one of them, EXIT_USAGE after a message for
 * a bad one, -1 when @c is another option.
 */
#define OPT_INCLUDE_STORAGE	0x100
#define OPT_STORAGE_PATH	0x101
#define OPT_DISK		0x102
#define OPT_KEEP_SOURCE		0x103
struct mig_storage;
int storage_option(int c, const char *arg, struct mig_storage *st);

#endif
