// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig move NAME --to HOST [...]: a live migration, done by this host's
 * vmmigd; and vmmig migration list|show|cancel, the migrations it knows.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dctl.h"
#include "output.h"
#include "parse.h"
#include "vmdef.h"
#include "vmmig.h"

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}


static const char *mib(uint64_t bytes, char *buf, size_t len)
{
	return fmt_size(bytes, buf, len);
}

/* What a waiting move shows: a bar on a terminal, lines otherwise. */
struct view {
	bool tty;
	bool predicted;			/* the prediction was shown */
	bool dry_run;			/* nothing but the prediction */
	uint64_t eta_ns, eta_at;	/* the ETA shown, and when */
	char last_phase[16];
	unsigned int last_round;
};

static uint64_t eta(struct view *v, const struct mig_progress *p)
{
	uint64_t now = mono_ns(), left, est;

	/* The engine's own estimate (converge.c), else remaining bytes / throughput. */
	if (p->eta_ns) {
		est = p->eta_ns;
	} else {
		if (!p->throughput)
			return v->eta_ns;
		left = p->phase == MIG_PRECOPY && p->round == 0 && p->total_pages > p->sent_pages ?
		       (p->total_pages - p->sent_pages) * 4096 : p->remaining_pages * 4096;
		est = left * 1000000000ULL / p->throughput;
	}
	/* Counts down, never up: a worse estimate waits for the clock. */
	if (v->eta_at) {
		uint64_t counted = v->eta_ns > now - v->eta_at ? v->eta_ns - (now - v->eta_at) : 0;

		if (est > counted)
			est = counted;
	}
	v->eta_ns = est;
	v->eta_at = now;
	return est;
}

static void show_prediction(struct json_object *m)
{
	struct json_object *p = json_object_object_get(m, "prediction");
	char a[32];

	printf("%s to %s: %s", jget_str(m, "vm"), jget_str(m, "peer"), jget_str(p, "verdict"));
	if (jget_u64(p, "throttle_pct"))
		printf(" (vCPUs throttled %" PRIu64 " %%)", jget_u64(p, "throttle_pct"));
	printf(", expected total %.1f s, downtime %" PRIu64 " ms; dirty rate %" PRIu64
	       " pages/s, path %s/s\n", jget_u64(p, "total_ms") / 1e3, jget_u64(p, "downtime_ms"),
	       jget_u64(p, "dirty_rate"), mib(jget_u64(p, "throughput"), a, sizeof(a)));
	fflush(stdout);
}

/* The disks' part of a move's progress: beside the memory's, or alone. */
static void show_disks(const struct mig_progress *p, const char *end)
{
	char a[32], b[32], c[32];

	mib(p->disk_sent_bytes, a, sizeof(a));
	mib(p->disk_bytes, b, sizeof(b));
	mib(p->disk_dirty_bytes, c, sizeof(c));
	if (p->total_pages)
		printf(" | disks sent %s of %s, %s to send again%s", a, b, c, end);
	else
		printf("%s round %u: disks sent %s of %s, %s to send again%s",
		       mig_phase_names[p->phase], p->round, a, b, c, end);
	fflush(stdout);
}

static void show_progress(struct view *v, struct json_object *m)
{
	struct json_object *pj;
	struct mig_progress p;
	char why[VMMIG_ERRLEN], a[32], b[32], d[32];
	uint64_t pct, e;

	if (!json_object_object_get_ex(m, DCTL_KEY_MIGRATION, &pj))
		return;
	if (!v->predicted && json_object_object_get(pj, "prediction")) {
		v->predicted = true;
		if (v->tty)
			printf("\r\033[K");
		show_prediction(pj);
	}
	if (v->dry_run || !json_object_object_get_ex(pj, "progress", &pj) ||
	    mig_progress_from_json(pj, &p, why))
		return;
	e = eta(v, &p);
	pct = p.total_pages ? (p.sent_pages > p.total_pages ? 100 : p.sent_pages * 100 / p.total_pages) : 0;
	/* A storage move on this host: its disks alone. */
	if (!p.total_pages && p.disk_bytes) {
		if (v->tty)
			printf("\r\033[K");
		else if (!strcmp(v->last_phase, mig_phase_names[p.phase]) && v->last_round == p.round)
			return;
		snprintf(v->last_phase, sizeof(v->last_phase), "%s", mig_phase_names[p.phase]);
		v->last_round = p.round;
		show_disks(&p, v->tty ? "" : "\n");
		return;
	}
	if (v->tty) {
		char bar[21];
		unsigned int i, fill = pct / 5;

		for (i = 0; i < 20; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[20] = '\0';
		printf("\r\033[K%-8s [%s] round %u sent %s dirty %" PRIu64 " pg/s %s/s ETA %" PRIu64
		       "s downtime ~%s", mig_phase_names[p.phase], bar, p.round,
		       mib(p.sent_bytes, a, sizeof(a)), p.dirty_rate, mib(p.throughput, b, sizeof(b)),
		       (uint64_t)((e + 999999999) / 1000000000ULL),
		       mig_downtime_str(p.expected_downtime_ms, d, sizeof(d)));
		if (p.throttle_pct)
			printf(" throttle %u%%", p.throttle_pct);
		if (p.disk_bytes)
			show_disks(&p, "");
		fflush(stdout);
		return;
	}
	/* Plain lines: one per phase or round. */
	if (!strcmp(v->last_phase, mig_phase_names[p.phase]) && v->last_round == p.round)
		return;
	snprintf(v->last_phase, sizeof(v->last_phase), "%s", mig_phase_names[p.phase]);
	v->last_round = p.round;
	printf("%s round %u sent %s remaining %" PRIu64 " pages dirty %" PRIu64
	       " pages/s throughput %s/s expected downtime %s",
	       mig_phase_names[p.phase], p.round, mib(p.sent_bytes, a, sizeof(a)),
	       p.remaining_pages, p.dirty_rate, mib(p.throughput, b, sizeof(b)),
	       mig_downtime_str(p.expected_downtime_ms, d, sizeof(d)));
	if (p.throttle_pct)
		printf(" throttle %u%%", p.throttle_pct);
	if (p.disk_bytes)
		show_disks(&p, "");
	printf("\n");
	fflush(stdout);
}

static void print_result(struct json_object *o, bool ok)
{
	struct json_object *m, *sw, *p;
	uint64_t copy_ns, sent;
	char a[32];

	if (!json_object_object_get_ex(o, DCTL_KEY_MIGRATION, &m))
		return;
	if (!ok)
		return;
	sw = json_object_object_get(m, "switchover");
	p = json_object_object_get(m, "progress");
	sent = jget_u64(p, "sent_bytes");
	copy_ns = jget_u64(m, "copy_ns");
	printf("%s moved to %s in %.1f s, downtime %.0f ms (stop-and-copy %.0f, load %.0f, commit %.0f), %s sent in %" PRIu64 " rounds",
	       jget_str(m, "vm"), jget_str(m, "peer"), jget_u64(m, "elapsed_ns") / 1e9,
	       jget_u64(m, "downtime_ns") / 1e6, jget_u64(sw, "stopcopy_ns") / 1e6,
	       jget_u64(sw, "load_ns") / 1e6, jget_u64(sw, "commit_ns") / 1e6,
	       mib(sent, a, sizeof(a)), jget_u64(p, "round"));
	if (copy_ns)
		printf(" at %.1f MB/s", sent * 1e3 / copy_ns);
	if (jget_u64(p, "disk_bytes"))
		printf(", disks: %s of data sent", mib(jget_u64(p, "disk_sent_bytes"), a, sizeof(a)));
	printf("\n");
}

/*
 * Sends @r and shows its progress until vmmigd's reply, into *@o (to put):
 * 0, -errno with @why, or -ENOTCONN after a message (no vmmigd).
 */
static int watch_request(const struct dctl_request *r, struct view *v, struct json_object **o,
			 char *why)
{
	int fd, err;

	*o = NULL;
	fd = dctl_open(r, why);
	if (fd < 0) {
		error_msg(what, "%s", why);
		return -ENOTCONN;
	}
	while ((err = dctl_next(fd, o, why)) == 1) {
		if (output_is_json())
			print_json_line(*o);
		else if (!r->dry_run || !v->predicted)
			show_progress(v, *o);
		json_object_put(*o);
	}
	close(fd);
	if (v->tty)
		printf("\n");
	return err;
}

static int move_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "streams", required_argument, NULL, 's' },
		{ "compress", required_argument, NULL, 'c' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "downtime-limit", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "on-timeout", required_argument, NULL, 'o' },
		{ "detach", no_argument, NULL, 'D' },
		{ "verify", no_argument, NULL, 'v' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "include-storage", no_argument, NULL, OPT_INCLUDE_STORAGE },
		{ "storage-path", required_argument, NULL, OPT_STORAGE_PATH },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "keep-source", no_argument, NULL, OPT_KEEP_SOURCE },
		{}
	};
	struct dctl_request r = { .cmd = DCTL_MOVE };
	struct view v = { .tty = isatty(STDOUT_FILENO) && !output_is_json() };
	char why[VMMIG_ERRLEN];
	struct json_object *o;
	uint64_t n;
	unsigned int i;
	int c, err;

	mig_opts_default(&r.mig);
	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		err = storage_option(c, optarg, &r.storage);
		if (err > 0)
			return err;
		if (!err)
			continue;
		switch (c) {
		case 't':
			if (strlen(optarg) >= sizeof(r.to))
				return usage_error("--to: name too long");
			strcpy(r.to, optarg);
			break;
		case 's':
			if (parse_u32("--streams", optarg, 1, MIG_MAX_STREAMS, &r.mig.streams, why))
				return usage_error("%s", why);
			break;
		case 'c':
			if (mig_parse_compress(optarg, &r.mig.compress, &r.mig.level, why))
				return usage_error("--compress: %s", why);
			break;
		case 'b':
			if (parse_size("--bandwidth", optarg, 1, UINT64_MAX, &n, why))
				return usage_error("%s", why);
			r.mig.bandwidth = n;
			break;
		case 'd':
			if (parse_u32("--downtime-limit", optarg, 1, 3600000, &r.mig.downtime_limit_ms,
				      why))
				return usage_error("%s", why);
			break;
		case 'T':
			if (parse_u32("--timeout", optarg, 1, 86400, &r.mig.timeout_s, why))
				return usage_error("%s", why);
			break;
		case 'o':
			for (i = 0; i < MIG_NTIMEOUT && strcmp(optarg, mig_on_timeout_names[i]); i++)
				;
			if (i == MIG_NTIMEOUT)
				return usage_error("--on-timeout: '%s' is not cancel, throttle or pause",
						   optarg);
			r.mig.on_timeout = i;
			break;
		case 'D':
			r.detach = true;
			break;
		case 'v':
			r.mig.verify = true;
			break;
		case 'n':
			r.dry_run = v.dry_run = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	err = vm_and_to(argc, argv, &r);
	if (err)
		return err;
	if (!r.storage.include && (r.storage.path[0] || r.storage.nmaps || r.storage.keep_source))
		return usage_error("--storage-path, --disk and --keep-source go with --include-storage");
	err = watch_request(&r, &v, &o, why);
	if (err == -ENOTCONN)
		return EXIT_FAIL;
	if (output_is_json() && o)
		print_json_line(o);
	else if (!err && r.dry_run && !v.predicted)
		show_prediction(json_object_object_get(o, DCTL_KEY_MIGRATION));
	else if (!err && r.dry_run)
		;
	else if (!err && r.detach)
		printf("%s: moving to %s (migration %" PRIu64 "); see 'vmmig migration show %s'\n",
		       r.vm, r.to, jget_u64(json_object_object_get(o, DCTL_KEY_MIGRATION), "id"),
		       r.vm);
	else
		print_result(o, !err);
	json_object_put(o);
	if (err) {
		error_msg(what, "%s", why);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct cmd move_cmd = {
	.name = "move",
	.fn = move_main,
	.args = "NAME --to HOST[:PORT] [ --streams N ] [ --compress zstd[:LEVEL]|lz4|none ]\n"
		"\t[ --bandwidth RATE ] [ --downtime-limit MS ] [ --timeout S ]\n"
		"\t[ --on-timeout cancel|throttle|pause ] [ --verify ] [ --detach ] [ --dry-run ]\n"
		"\t[ --include-storage [ --storage-path DIR ] [ --disk SRC=DST ]... [ --keep-source ] ]",
	.help = "Moves a running VM live to another host (this host's vmmigd does it)\n"
		"The VM keeps running while its memory is copied, then pauses for the last\n"
		"pages and its device state and resumes on HOST. Until the destination has\n"
		"the whole VM, any failure or a cancel leaves it running here, unchanged.\n"
		"  --to HOST         the destination's vmmigd (port 6600 unless given)\n"
		"  --streams N       TCP streams, 1..16 (default 1)\n"
		"  --compress ALG    zstd (optionally :LEVEL 1..19), lz4 or none (default)\n"
		"  --bandwidth RATE  bytes per second over all streams, e.g. 100M\n"
		"  --downtime-limit MS  switch over once the expected downtime is below\n"
		"                    (default 300)\n"
		"  --timeout S       then --on-timeout: cancel (default), throttle the\n"
		"                    vCPUs, or pause the VM and switch over\n"
		"  --verify          compare the memory at both ends before the switchover\n"
		"                    (a hash of all memory on each side, inside the downtime;\n"
		"                    of the disks too with --include-storage)\n"
		"  --include-storage the disks move too, while the VM runs (shared-nothing):\n"
		"                    copied sparse beside the memory, the guest's writes\n"
		"                    again each round, the last with the VM paused\n"
		"  --storage-path DIR  there, each disk as DIR/ITS-FILE-NAME (default: the\n"
		"                    same path as here)\n"
		"  --disk SRC=DST    disk SRC to DST there (repeat per disk; before DIR)\n"
		"  --keep-source     keep the images here after the move (else removed once\n"
		"                    the VM runs there)\n"
		"  --detach          return once started ('vmmig migration show NAME')\n"
		"  --dry-run         only predict: sample the VM's dirty rate through\n"
		"                    vmmig.ko, measure the path, and say whether the move\n"
		"                    converges, its expected total time and downtime\n"
		"Every move begins with that prediction (about 3 s) and shows it.\n"
		"Waits and shows the progress (JSON lines with -j).\n",
};

/* Each stream's network and ends; the networks that failed before. */
static void print_streams(struct json_object *m)
{
	struct json_object *a, *e, *b;
	char tx[32];
	size_t i;

	if (json_object_object_get_ex(m, "streams", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			printf("  stream %zu: network %s, %s -> %s", i, jget_str(e, "network"),
			       jget_str(e, "local"), jget_str(e, "remote"));
			if (json_object_object_get_ex(e, "bpf", &b))
				printf(", tx %s, %" PRIu64 " retransmits, RTT %" PRIu64 " us (eBPF)",
				       mib(jget_u64(b, "tx_bytes"), tx, sizeof(tx)),
				       jget_u64(b, "retransmits"), jget_u64(b, "srtt_us"));
			printf("\n");
		}
	if (json_object_object_get_ex(m, "fallbacks", &a))
		for (i = 0; i < json_object_array_length(a); i++)
			printf("  fell back from network %s\n",
			       json_object_get_string(json_object_array_get_idx(a, i)));
}

static void print_migration(struct json_object *m)
{
	struct json_object *p = json_object_object_get(m, "progress");
	char a[32];

	if (output_is_json()) {
		print_json_line(m);
		return;
	}
	printf("%" PRIu64 " %s %s", jget_u64(m, "id"), jget_str(m, "vm"), jget_str(m, "direction"));
	if (strcmp(jget_str(m, "direction"), "storage"))
		printf(" %s %s", !strcmp(jget_str(m, "direction"), "outgoing") ? "to" : "from",
		       jget_str(m, "peer"));
	printf(" %s round %" PRIu64 " sent %s elapsed %.1f s", jget_str(p, "phase"),
	       jget_u64(p, "round"), mib(jget_u64(p, "sent_bytes"), a, sizeof(a)),
	       jget_u64(m, "elapsed_ns") / 1e9);
	if (jget_u64(p, "disk_bytes"))
		printf(" disks sent %s", mib(jget_u64(p, "disk_sent_bytes"), a, sizeof(a)));
	if (jget_u64(m, "downtime_ns"))
		printf(" downtime %.0f ms", jget_u64(m, "downtime_ns") / 1e6);
	if (!strcmp(jget_str(p, "phase"), "queued"))
		printf(" (%" PRIu64 " ahead)", jget_u64(m, "queued_ahead"));
	if (*jget_str(m, "transport"))
		printf(" over %s", jget_str(m, "transport"));
	if (*jget_str(m, "error"))
		printf("\n  %s", jget_str(m, "error"));
	printf("\n");
	print_streams(m);
}

static int migration_request(struct dctl_request *r)
{
	struct json_object *o, *a;
	size_t i;

	if (vmmigd_call(r, &o))
		return EXIT_FAIL;
	if (json_object_object_get_ex(o, DCTL_KEY_MIGRATIONS, &a)) {
		for (i = 0; i < json_object_array_length(a); i++)
			if (r->cmd == DCTL_LIST || i == 0)
				print_migration(json_object_array_get_idx(a, i));
	}
	json_object_put(o);
	return EXIT_OK;
}

static int migration_list(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_LIST };
	int err = cmd_no_options(argc, argv, "");

	return err ? err : migration_request(&r);
}

static int migration_show_cancel(int argc, char **argv, enum dctl_cmd cmd)
{
	struct dctl_request r = { .cmd = cmd };
	int err = cmd_no_options(argc, argv, "NAME");

	if (err)
		return err;
	snprintf(r.vm, sizeof(r.vm), "%s", argv[optind]);
	err = migration_request(&r);
	if (!err && cmd == DCTL_CANCEL && !output_is_json())
		printf("%s: cancelling; it keeps running here\n", r.vm);
	return err;
}

static int migration_show(int argc, char **argv)
{
	return migration_show_cancel(argc, argv, DCTL_SHOW);
}

static int migration_cancel(int argc, char **argv)
{
	return migration_show_cancel(argc, argv, DCTL_CANCEL);
}

static const struct cmd list_cmd = {
	.name = "list", .fn = migration_list, .args = "",
	.help = "The migrations of this host, both ways, newest first: running, queued,\n"
		"and the last finished ones with how they ended; each with its phase,\n"
		"round, bytes sent, and what carries its streams (the TLS suite, and\n"
		"kTLS or the OpenSSL relay)\n",
};
static const struct cmd show_cmd = {
	.name = "show", .fn = migration_show, .args = "NAME",
	.help = "The latest migration of VM NAME\n",
};
static const struct cmd cancel_cmd = {
	.name = "cancel", .fn = migration_cancel, .args = "NAME",
	.help = "Cancels the outgoing migration of VM NAME before its switchover:\n"
		"the VM keeps running here, unchanged\n",
};
static const struct cmd *const migration_cmds[] = { &list_cmd, &show_cmd, &cancel_cmd };
static const struct cmd_table migration_table = CMD_TABLE("migration", migration_cmds, "list",
							   NULL);

const struct cmd migration_cmd = {
	.name = "migration",
	.args = "{ list | show NAME | cancel NAME }",
	.help = "Live migrations of this host (vmmigd): list, show, cancel\n",
	.sub = &migration_table,
};

static int storage_move_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "path", required_argument, NULL, OPT_STORAGE_PATH },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "keep-source", no_argument, NULL, OPT_KEEP_SOURCE },
		{ "detach", no_argument, NULL, 'D' },
		{}
	};
	struct dctl_request r = { .cmd = DCTL_STORAGE_MOVE };
	struct view v = { .tty = isatty(STDOUT_FILENO) && !output_is_json() };
	struct json_object *o, *m, *p;
	char why[VMMIG_ERRLEN], a[32];
	int c, err;

	r.storage.include = true;
	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		err = storage_option(c, optarg, &r.storage);
		if (err > 0)
			return err;
		if (err && c != 'D')
			return EXIT_USAGE;
		r.detach |= c == 'D';
	}
	err = cmd_args(argc, argv, "NAME");
	if (err)
		return err;
	if (vmdef_check_name(argv[optind], why))
		return usage_error("%s", why);
	snprintf(r.vm, sizeof(r.vm), "%s", argv[optind]);
	if (!r.storage.path[0] && !r.storage.nmaps)
		return usage_error("where to? --path DIR or --disk SRC=DST");
	err = watch_request(&r, &v, &o, why);
	if (err == -ENOTCONN)
		return EXIT_FAIL;
	m = json_object_object_get(o, DCTL_KEY_MIGRATION);
	p = json_object_object_get(m, "progress");
	if (output_is_json() && o)
		print_json_line(o);
	else if (!err && r.detach)
		printf("%s: moving its storage (migration %" PRIu64 "); see 'vmmig migration show %s'\n",
		       r.vm, jget_u64(m, "id"), r.vm);
	else if (!err)
		printf("%s: its storage moved in %.1f s, %s copied in %" PRIu64 " rounds\n", r.vm,
		       jget_u64(m, "elapsed_ns") / 1e9,
		       mib(jget_u64(p, "disk_sent_bytes"), a, sizeof(a)), jget_u64(p, "round") + 1);
	json_object_put(o);
	if (err) {
		error_msg(what, "%s", why);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static const struct cmd storage_move_cmd = {
	.name = "move", .fn = storage_move_main,
	.args = "NAME { --path DIR | --disk SRC=DST }... [ --keep-source ] [ --detach ]",
	.help = "Moves a running VM's disks to other images on this host (Move-VMStorage)\n"
		"Each disk is copied sparse while the VM runs, then what the guest wrote\n"
		"meanwhile, round after round; the last writes are copied with the vCPUs\n"
		"paused, then the VM goes on with the new images, and its definition\n"
		"names them. A failure or a cancel ('vmmig migration cancel NAME') leaves\n"
		"it on its images and removes the new ones. Counted against the host's\n"
		"max-storage-migrations.\n"
		"  --path DIR        each disk as DIR/ITS-FILE-NAME\n"
		"  --disk SRC=DST    disk SRC to DST (repeat per disk; before --path); a\n"
		"                    disk given neither stays where it is\n"
		"  --keep-source     keep the old images (else removed once it is done)\n"
		"  --detach          return once started ('vmmig migration show NAME')\n",
};
static const struct cmd *const storage_cmds[] = { &storage_move_cmd };
static const struct cmd_table storage_table = CMD_TABLE("storage", storage_cmds, NULL, NULL);

const struct cmd storage_cmd = {
	.name = "storage",
	.args = "move NAME --path DIR ...",
	.help = "A running VM's disks, moved on this host (vmmigd)\n",
	.sub = &storage_table,
};
