// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, inside the test VM: what vmmig-vmm costs, through the
 * `vmmig vm` CLI as a user runs it, under a temporary VMMIG_STATE_DIR:
 *
 * - start: `vmmig vm start` of a small workload VM to the VMM being ready
 *   and to the guest's first instruction (as `vmmig vm show` reports them,
 *   from the CLI's own start), median of several starts, beside a
 *   fork+exec+wait of /bin/true;
 * - save and restore of a workload guest whose whole memory is written,
 *   per GiB of guest memory, each as a ratio to a memcpy of the same size
 *   and to a write (save) or read (restore) of as many bytes in a file in
 *   the same directory, measured alternately in the same run;
 * - the VMM's resident memory beyond the guest memory it maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "bench.h"
#include "vmstate.h"

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PAGE		((uint64_t)4096)
#define STARTS		7
#define REPS		3
#define OUT_MAX		65536
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char vmmig[PATH_MAX], tmpdir[64], statedir[128];

/*
 * Runs ARGV (NULL-terminated) with stdout into @out (when not NULL), stderr
 * passed through; returns its exit status (or -errno), its wall time in @ns.
 */
static int run(char *out, size_t len, uint64_t *ns, char *const *argv)
{
	uint64_t t0 = now_ns();
	char scratch[256];
	size_t got = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		fprintf(stderr, "vmm_bench: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], out ? out + got : scratch,
			 out ? len - 1 - got : sizeof(scratch))) > 0)
		if (out)
			got += n;
	close(p[0]);
	if (out)
		out[got] = '\0';
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (ns)
		*ns = now_ns() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* vmmig ARGS... NULL; 0 or -EIO (vmmig said why on stderr). */
static int vmmig_cmd(char *out, size_t len, uint64_t *ns, ...)
{
	char *argv[16] = { vmmig };
	va_list ap;
	int n = 1, rc;

	va_start(ap, ns);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	rc = run(out, len, ns, argv);
	if (rc) {
		fprintf(stderr, "vmm_bench: vmmig %s %s %s: exit %d\n", argv[1], argv[2],
			argv[3] ? argv[3] : "", rc);
		return -EIO;
	}
	return 0;
}

/* `vmmig -j vm show NAME` as a JSON object (put it), or NULL. */
static struct json_object *show(const char *name)
{
	static char out[OUT_MAX];

	if (vmmig_cmd(out, sizeof(out), NULL, "-j", "vm", "show", (char *)name, NULL))
		return NULL;
	return json_tokener_parse(out);
}

static uint64_t get_u64(struct json_object *o, const char *obj, const char *key)
{
	struct json_object *v;

	if (obj && !json_object_object_get_ex(o, obj, &o))
		return 0;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static void print_stats(const char *what, double *v, int n)
{
	double lo = v[0], hi = v[0];
	int i;

	for (i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	printf("%s median=%.1f min=%.1f max=%.1f n=%d\n", what, median(v, n), lo, hi, n);
}

static const char *fmt_mib(uint64_t size)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 "M", size / MIB);
	return buf;
}

/* ---- start ---- */

static int bench_start(void)
{
	double ready[STARTS], first[STARTS], wall[STARTS], exec_true[STARTS];
	char *const true_argv[] = { "/bin/true", NULL };
	struct json_object *o;
	uint64_t ns;
	int i, t;

	if (vmmig_cmd(NULL, 0, NULL, "vm", "create", "b", "--memory", "16M",
		      "--workload", "dirty=0", NULL))
		return -EIO;
	for (i = 0; i < STARTS; i++) {
		if (run(NULL, 0, &ns, true_argv))
			return -EIO;
		exec_true[i] = ns / 1e6;
		if (vmmig_cmd(NULL, 0, &ns, "vm", "start", "b", NULL))
			return -EIO;
		wall[i] = ns / 1e6;
		/* The guest's first instruction may come after start returns. */
		for (t = 0; t < 250; t++) {
			o = show("b");
			if (!o)
				return -EIO;
			ready[i] = get_u64(o, NULL, "start_us") / 1e3;
			first[i] = get_u64(o, NULL, "first_insn_us") / 1e3;
			json_object_put(o);
			if (first[i] > 0)
				break;
			usleep(20000);
		}
		if (vmmig_cmd(NULL, 0, NULL, "vm", "stop", "b", "--force", NULL))
			return -EIO;
	}
	printf("start of a 16 MiB workload VM (dirty=0), from the CLI's start, %d starts:\n",
	       STARTS);
	print_stats("vmm_start_ms", ready, STARTS);
	print_stats("vmm_first_insn_ms", first, STARTS);
	print_stats("vmm_start_cli_wall_ms", wall, STARTS);
	print_stats("exec_true_ms", exec_true, STARTS);
	printf("vmm_start_ratio_to_exec_true ratio=%.1f\n",
	       median(wall, STARTS) / median(exec_true, STARTS));
	return vmmig_cmd(NULL, 0, NULL, "vm", "delete", "b", NULL);
}

/* ---- helpers for running workload VMs ---- */

/*
 * Creates and starts NAME with SIZE of memory, whose guest writes every
 * page of its working set (all of memory above 2 MiB) once, in order; waits
 * until it has, then pauses it unless @keep_running.
 */
static int start_filled(const char *name, uint64_t size, bool keep_running)
{
	uint64_t wss = size - 2 * MIB, deadline = now_ns() + (uint64_t)600 * 1000000000;
	char mem[32], wl[96];
	struct json_object *o;
	uint64_t counter;

	snprintf(mem, sizeof(mem), "%" PRIu64 "K", size / KIB);
	snprintf(wl, sizeof(wl), "dirty=100000,wss=%" PRIu64 "K,pattern=seq", wss / KIB);
	if (vmmig_cmd(NULL, 0, NULL, "vm", "create", (char *)name, "--memory", mem,
		      "--workload", wl, NULL) ||
	    vmmig_cmd(NULL, 0, NULL, "vm", "start", (char *)name, NULL))
		return -EIO;
	do {
		usleep(200000);
		o = show(name);
		if (!o)
			return -EIO;
		counter = get_u64(o, "workload", "counter");
		json_object_put(o);
		if (now_ns() > deadline) {
			fprintf(stderr, "vmm_bench: %s wrote %" PRIu64 " of %" PRIu64 " pages in 600 s\n",
				name, counter, wss / PAGE);
			return -ETIMEDOUT;
		}
	} while (counter < wss / PAGE);
	if (keep_running)
		return 0;
	/* Paused, so that a busy guest does not skew the side-by-side baselines. */
	return vmmig_cmd(NULL, 0, NULL, "vm", "pause", (char *)name, NULL);
}

static int end_vm(const char *name)
{
	if (vmmig_cmd(NULL, 0, NULL, "vm", "stop", (char *)name, "--force", NULL))
		return -EIO;
	return vmmig_cmd(NULL, 0, NULL, "vm", "delete", (char *)name, NULL);
}

/* ---- save and restore ---- */

static void *alloc_touched(uint64_t size)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < size; i += PAGE)
		p[i + (i / PAGE) % PAGE] = i / PAGE + 1;
	return p;
}

/* Writes (or reads back) @size bytes of @buf to (from) @path; ns, or 0. */
static uint64_t file_io(const char *path, void *buf, uint64_t size, bool write_it)
{
	uint64_t t0 = now_ns(), done = 0;
	ssize_t n;
	int fd;

	fd = write_it ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) :
			open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* In 1 MiB pieces, as the VMM writes and reads at most a chunk at a time. */
	while (done < size) {
		uint64_t len = size - done < MIB ? size - done : MIB;

		n = write_it ? write(fd, (char *)buf + done, len) : read(fd, (char *)buf + done, len);
		if (n <= 0)
			break;
		done += n;
	}
	if (write_it && fsync(fd))
		done = 0;
	close(fd);
	return done == size ? now_ns() - t0 : 0;
}

static int bench_save_restore(uint64_t size)
{
	double save[REPS], save_vmm[REPS], restore[REPS], restore_ready[REPS];
	double cpy[REPS], wr[REPS], rd[REPS], crc[REPS];
	double r_save_cpy[REPS], r_save_wr[REPS], r_rest_cpy[REPS], r_rest_rd[REPS];
	double gib = (double)size / GIB;
	char name[32], file[192], base[192], out[4096];
	uint64_t ns, t0, state_size = 0;
	uint8_t *src, *dst;
	struct json_object *o;
	struct stat sb;
	int i, err;

	snprintf(name, sizeof(name), "s%" PRIu64, size / MIB);
	snprintf(file, sizeof(file), "%s/%s.state", tmpdir, name);
	snprintf(base, sizeof(base), "%s/baseline", tmpdir);
	src = alloc_touched(size);
	dst = alloc_touched(size);
	if (!src || !dst)
		return -ENOMEM;
	err = start_filled(name, size, false);
	for (i = 0; !err && i < REPS; i++) {
		t0 = now_ns();
		memcpy(dst, src, size);
		cpy[i] = (now_ns() - t0) / 1e6;
		t0 = now_ns();
		crc32c(0, src, size);	/* in libvmmig.a: not left out */
		crc[i] = (now_ns() - t0) / 1e6;
		ns = file_io(base, src, size, true);
		unlink(base);
		wr[i] = ns / 1e6;

		o = NULL;
		err = vmmig_cmd(out, sizeof(out), &ns, "-j", "vm", "save", name, file, NULL);
		if (!err)
			o = json_tokener_parse(out);
		save[i] = ns / 1e6;
		save_vmm[i] = get_u64(o, NULL, "save_us") / 1e3;
		json_object_put(o);
		if (!err && stat(file, &sb))
			err = -errno;
		if (err)
			break;
		state_size = sb.st_size;
		ns = file_io(file, dst, size < state_size ? size : state_size, false);
		rd[i] = ns / 1e6;

		err = vmmig_cmd(NULL, 0, &ns, "vm", "restore", file, "--paused", NULL);
		restore[i] = ns / 1e6;
		o = err ? NULL : show(name);
		restore_ready[i] = get_u64(o, NULL, "start_us") / 1e3;
		json_object_put(o);
		unlink(file);
		if (!wr[i] || !rd[i])
			err = -EIO;
		if (err)
			break;
		r_save_cpy[i] = save[i] / cpy[i];
		r_save_wr[i] = save[i] / wr[i];
		r_rest_cpy[i] = restore[i] / cpy[i];
		r_rest_rd[i] = restore[i] / rd[i];
	}
	munmap(src, size);
	munmap(dst, size);
	if (err)
		return err;
	printf("guest of %s, every page written, state file %.1f MiB, median of %d:\n",
	       fmt_mib(size), (double)state_size / MIB, REPS);
	printf("  save size=%s wall_ms=%.1f vmm_ms=%.1f ms_per_gib=%.0f; memcpy ms_per_gib=%.0f, file write ms_per_gib=%.0f\n",
	       fmt_mib(size), median(save, REPS), median(save_vmm, REPS),
	       median(save, REPS) / gib, median(cpy, REPS) / gib, median(wr, REPS) / gib);
	printf("  restore size=%s wall_ms=%.1f ready_ms=%.1f ms_per_gib=%.0f; file read ms_per_gib=%.0f\n",
	       fmt_mib(size), median(restore, REPS), median(restore_ready, REPS),
	       median(restore, REPS) / gib, median(rd, REPS) / gib);
	printf("  crc32c (the stream's checksum, once over the same bytes) ms_per_gib=%.0f\n",
	       median(crc, REPS) / gib);
	printf("save_ratio_to_memcpy size=%s ratio=%.1f\n", fmt_mib(size), median(r_save_cpy, REPS));
	printf("save_ratio_to_file_write size=%s ratio=%.1f\n", fmt_mib(size),
	       median(r_save_wr, REPS));
	printf("restore_ratio_to_memcpy size=%s ratio=%.1f\n", fmt_mib(size),
	       median(r_rest_cpy, REPS));
	printf("restore_ratio_to_file_read size=%s ratio=%.1f\n", fmt_mib(size),
	       median(r_rest_rd, REPS));
	return end_vm(name);
}

/* ---- resident memory ---- */

/*
 * KiB, summed over the mappings of /proc/PID/smaps: exact, unlike the
 * per-thread batched counters of /proc/PID/status.
 */
struct rss {
	uint64_t rss, pss, anon;	/* all mappings */
	uint64_t guest_rss, guest_pss;	/* the guest memory file */
};

static int read_rss(const char *name, struct rss *r)
{
	char path[256], line[512], memfd[80], tmpfs[80];
	uint64_t a, b, v;
	bool guest = false;
	pid_t pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/vmm.pid", statedir, name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%d", &pid) != 1)
		pid = 0;
	if (f)
		fclose(f);
	if (!pid)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	/*
	 * Guest memory is a file named after the VM: a memfd, or an unlinked
	 * file at the root of the VMM's own tmpfs (transparent huge pages).
	 */
	snprintf(memfd, sizeof(memfd), "/memfd:%s ", name);
	snprintf(tmpfs, sizeof(tmpfs), " /%s (deleted)\n", name);
	*r = (struct rss){};
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line: "start-end perms offset dev inode  name". */
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &a, &b) == 2) {
			guest = strstr(line, memfd) || strstr(line, tmpfs);
		} else if (sscanf(line, "Rss: %" SCNu64, &v) == 1) {
			r->rss += v;
			r->guest_rss += guest ? v : 0;
		} else if (sscanf(line, "Pss: %" SCNu64, &v) == 1) {
			r->pss += v;
			r->guest_pss += guest ? v : 0;
		} else if (sscanf(line, "Anonymous: %" SCNu64, &v) == 1) {
			r->anon += v;
		}
	}
	fclose(f);
	return 0;
}

static void print_rss(const char *what, const struct rss *r)
{
	printf("  %s: Rss %" PRIu64 " KiB (Pss %" PRIu64 "), of which guest memory %" PRIu64
	       ", anonymous %" PRIu64 ", files and other mappings %" PRIu64 "\n",
	       what, r->rss, r->pss, r->guest_rss, r->anon, r->rss - r->guest_rss - r->anon);
	printf("rss_overhead_kib=%" PRIu64 " pss_overhead_kib=%" PRIu64 " (%s)\n",
	       r->rss - r->guest_rss, r->pss - r->guest_pss, what);
}

static int bench_rss(void)
{
	struct rss small, big;
	int err;

	err = vmmig_cmd(NULL, 0, NULL, "vm", "create", "r16", "--memory", "16M",
			"--workload", "dirty=0", NULL);
	if (!err)
		err = vmmig_cmd(NULL, 0, NULL, "vm", "start", "r16", NULL);
	if (!err)
		err = start_filled("r256", 256 * MIB, true);
	if (!err)
		err = read_rss("r16", &small);
	if (!err)
		err = read_rss("r256", &big);
	if (err)
		return err;
	printf("resident memory of a running vmmig-vmm (1 vCPU) beyond the guest memory it maps (Pss: shared pages divided among their users):\n");
	print_rss("16 MiB guest, dirty=0", &small);
	print_rss("256 MiB guest, all written", &big);
	err = end_vm("r16");
	return end_vm("r256") ?: err;
}

/* Stops every VM left in the state directory (after a failure), removes it. */
static void cleanup(void)
{
	char *const rm[] = { "/bin/rm", "-rf", tmpdir, NULL };
	struct dirent *e;
	DIR *d = opendir(statedir);

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			run(NULL, 0, NULL, (char *const[]){ vmmig, "vm", "stop", e->d_name,
							    "--force", NULL });
	if (d)
		closedir(d);
	if (run(NULL, 0, NULL, rm))
		fprintf(stderr, "vmm_bench: could not remove %s\n", tmpdir);
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 64 * MIB, 256 * MIB };
	ssize_t n;
	size_t i;
	char *slash;
	int err;

	/* build/bench/vmm_bench runs build/bin/vmmig (and its vmmig-vmm). */
	n = readlink("/proc/self/exe", vmmig, sizeof(vmmig) - 32);
	if (n < 0)
		return perror("vmm_bench: /proc/self/exe"), 1;
	vmmig[n] = '\0';
	slash = strrchr(vmmig, '/');
	*slash = '\0';
	slash = strrchr(vmmig, '/');
	strcpy(slash ? slash + 1 : vmmig, "bin/vmmig");
	if (getenv("VMMIG"))
		snprintf(vmmig, sizeof(vmmig), "%s", getenv("VMMIG"));
	strcpy(tmpdir, "/tmp/vmm_bench.XXXXXX");
	if (!mkdtemp(tmpdir))
		return perror("vmm_bench: mkdtemp"), 1;
	snprintf(statedir, sizeof(statedir), "%s/state", tmpdir);
	setenv("VMMIG_STATE_DIR", statedir, 1);
	unsetenv("VMMIG_VMM");

	err = bench_start();
	if (!err)
		err = bench_rss();
	for (i = 0; !err && i < ARRAY_SIZE(sizes); i++)
		err = bench_save_restore(sizes[i]);
	cleanup();
	if (err) {
		fprintf(stderr, "vmm_bench: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
