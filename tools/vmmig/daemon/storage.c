// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's disks moving with it (Documentation/admin-guide/storage.rst): the
 * plan of where each goes (the source makes it from the request), the
 * destination's checks of it (paths, free space), the new images it makes
 * (sparse, the source's size) and removes again when the move fails, and
 * the source's images removed after a move that committed.
 *
 * The bytes themselves travel with the memory, in the VMMs' streams
 * (tools/vmmig/vmm/diskcopy.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ctl.h"
#include "vmlog.h"
#include "vmmigd.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * What a copy of the image writes at the other end at most: its data
 * extents, each grain they touch whole (the copy sends whole grains).
 */
static uint64_t grain_bytes(const char *path, uint64_t size)
{
	uint64_t bytes = 0, from, to, last = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t off = 0, end;

	if (fd < 0)
		return 0;
	while ((off = lseek(fd, off, SEEK_DATA)) >= 0 && (uint64_t)off < size) {
		end = lseek(fd, off, SEEK_HOLE);
		if (end < 0)
			break;
		from = (uint64_t)off / MIG_DISK_GRAIN * MIG_DISK_GRAIN;
		to = ((uint64_t)end + MIG_DISK_GRAIN - 1) / MIG_DISK_GRAIN * MIG_DISK_GRAIN;
		if (from < last)
			from = last;	/* a grain two extents share counts once */
		if (to > from)
			bytes += to - from;
		last = to;
		off = end;
	}
	close(fd);
	return bytes;
}

int storage_plan_make(const struct mig_storage *req, const struct vmdef *d,
		      struct storage_plan *p, char *why)
{
	unsigned int i, j;
	struct stat st;
	bool used[VMDEF_MAX_DEVS] = { 0 };

	memset(p, 0, sizeof(*p));
	for (i = 0; i < req->nmaps; i++) {
		for (j = 0; j < (unsigned int)d->ndisks; j++)
			if (d->disks[j].path && !strcmp(d->disks[j].path, req->map[i].src))
				break;
		if (j == (unsigned int)d->ndisks) {
			snprintf(why, VMMIG_ERRLEN, "--disk %s=...: %s has no disk %s", req->map[i].src,
				 d->name, req->map[i].src);
			return -EINVAL;
		}
		if (used[j]) {
			snprintf(why, VMMIG_ERRLEN, "--disk %s given twice", req->map[i].src);
			return -EINVAL;
		}
		used[j] = true;
	}
	for (j = 0; j < (unsigned int)d->ndisks; j++) {
		struct storage_disk *k = &p->d[p->n++];
		const char *src = d->disks[j].path;

		if (!src || strlen(src) >= sizeof(k->src)) {
			snprintf(why, VMMIG_ERRLEN, "disk %u of %s: no path, or a path too long", j,
				 d->name);
			return -EINVAL;
		}
		snprintf(k->src, sizeof(k->src), "%s", src);
		k->readonly = d->disks[j].readonly;
		for (i = 0; i < req->nmaps && strcmp(req->map[i].src, src); i++)
			;
		if (i < req->nmaps)
			snprintf(k->dst, sizeof(k->dst), "%s", req->map[i].dst);
		else if (req->path[0] &&
			 snprintf(k->dst, sizeof(k->dst), "%s/%s", req->path, base_name(src)) >=
			 (int)sizeof(k->dst)) {
			snprintf(why, VMMIG_ERRLEN, "--storage-path %.100s: %.80s in it is a path too long",
				 req->path, base_name(src));
			return -EINVAL;
		} else if (!req->path[0]) {
			snprintf(k->dst, sizeof(k->dst), "%s", src);
		}
		if (stat(src, &st)) {
			snprintf(why, VMMIG_ERRLEN, "disk %s: %s", src, strerror(errno));
			return -errno;
		}
		k->size = st.st_size;
		k->allocated = grain_bytes(src, st.st_size);
		if (k->allocated < (uint64_t)st.st_blocks * 512)
			k->allocated = (uint64_t)st.st_blocks * 512;
		for (i = 0; i + 1 < p->n; i++)
			if (!strcmp(p->d[i].dst, k->dst)) {
				snprintf(why, VMMIG_ERRLEN, "disks %s and %s would both go to %s",
					 p->d[i].src, k->src, k->dst);
				return -EINVAL;
			}
	}
	return 0;
}

struct json_object *storage_plan_to_json(const struct storage_plan *p)
{
	struct json_object *a = json_object_new_array();
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "src", json_object_new_string(p->d[i].src));
		json_object_object_add(e, "dst", json_object_new_string(p->d[i].dst));
		json_object_object_add(e, "size", json_object_new_uint64(p->d[i].size));
		json_object_object_add(e, "allocated", json_object_new_uint64(p->d[i].allocated));
		json_object_object_add(e, "readonly", json_object_new_boolean(p->d[i].readonly));
		json_object_array_add(a, e);
	}
	return a;
}

int storage_plan_from_json(struct json_object *a, const struct vmdef *d, struct storage_plan *p,
			   char *why)
{
	struct json_object *e, *v;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) != (size_t)d->ndisks) {
		snprintf(why, VMMIG_ERRLEN, "the storage plan does not name each of the VM's %d disks",
			 d->ndisks);
		return -EPROTO;
	}
	for (i = 0; i < json_object_array_length(a); i++) {
		struct storage_disk *k = &p->d[p->n++];

		e = json_object_array_get_idx(a, i);
		snprintf(k->src, sizeof(k->src), "%s", jstr(e, "src"));
		snprintf(k->dst, sizeof(k->dst), "%s", jstr(e, "dst"));
		k->size = json_object_object_get_ex(e, "size", &v) ? json_object_get_uint64(v) : 0;
		k->allocated = json_object_object_get_ex(e, "allocated", &v) ?
			       json_object_get_uint64(v) : 0;
		k->readonly = json_object_object_get_ex(e, "readonly", &v) &&
			      json_object_get_boolean(v);
		if (k->dst[0] != '/' || !k->size || k->size % 512) {
			snprintf(why, VMMIG_ERRLEN, "disk %zu: a bad destination (%s, %llu bytes)", i,
				 k->dst, (unsigned long long)k->size);
			return -EPROTO;
		}
	}
	return 0;
}

/* The directory of @path (a copy). */
static void dir_of(const char *path, char *dir, size_t len)
{
	char tmp[MIG_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(dir, len, "%s", dirname(tmp));
}

void storage_check(const struct storage_plan *p, const char *vm, struct issues *is)
{
	uint64_t need[VMDEF_MAX_DEVS] = { 0 };
	unsigned long fsid[VMDEF_MAX_DEVS];
	struct statvfs sv[VMDEF_MAX_DEVS];
	char dir[MIG_PATH_MAX];
	unsigned int i, j, nfs = 0;
	struct statvfs v;

	for (i = 0; i < p->n; i++) {
		const struct storage_disk *k = &p->d[i];

		if (k->stays)
			continue;
		dir_of(k->dst, dir, sizeof(dir));
		if (!access(k->dst, F_OK)) {
			issue_add(is, CHECK_STORAGE_PATH, true,
				  "give another destination (--storage-path DIR, --disk SRC=DST), or remove the file there",
				  "%s has a file %s already (disk %s of %s): a move never overwrites one",
				  vmmigd.host, k->dst, k->src, vm);
			continue;
		}
		if (statvfs(dir, &v) || access(dir, W_OK)) {
			issue_add(is, CHECK_STORAGE_PATH, true, "mkdir -p the directory there",
				  "%s cannot make %s (disk %s of %s): %s", vmmigd.host, k->dst, k->src,
				  vm, strerror(errno));
			continue;
		}
		/* What each file system must hold: the images' data, summed. */
		for (j = 0; j < nfs && fsid[j] != v.f_fsid; j++)
			;
		if (j == nfs) {
			fsid[nfs] = v.f_fsid;
			sv[nfs++] = v;
		}
		need[j] += k->allocated;
	}
	for (j = 0; j < nfs; j++) {
		uint64_t avail = (uint64_t)sv[j].f_bavail * sv[j].f_frsize;

		if (avail < need[j])
			issue_add(is, CHECK_STORAGE_SPACE, true,
				  "free space there, or choose another destination (--storage-path DIR)",
				  "%s has %llu MiB free where %s's disks would go, they need %llu MiB",
				  vmmigd.host, (unsigned long long)(avail >> 20), vm,
				  (unsigned long long)((need[j] + (1 << 20) - 1) >> 20));
	}
}

int storage_create(struct storage_plan *p, int (*made)(void *arg), void *arg, char *why)
{
	unsigned int i;
	int fd;

	for (i = 0; i < p->n; i++) {
		struct storage_disk *k = &p->d[i];

		if (k->stays)
			continue;
		fd = open(k->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(why, VMMIG_ERRLEN, "cannot make %s: %s", k->dst, strerror(errno));
			return -errno;
		}
		k->created = true;
		/* Sparse: the copy writes only what the source holds. */
		if (ftruncate(fd, k->size)) {
			snprintf(why, VMMIG_ERRLEN, "%s: %s", k->dst, strerror(errno));
			close(fd);
			return -errno;
		}
		close(fd);
		if (made && made(arg))
			return -EIO;
	}
	return 0;
}

void storage_remove_made(struct storage_plan *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		struct storage_disk *k = &p->d[i];

		if (!k->created)
			continue;
		if (unlink(k->dst) && errno != ENOENT)
			vmlog_about(LOG_ERR, NULL, "cannot remove %s: %s", k->dst, strerror(errno));
		k->created = false;
	}
}

struct users {
	const char *vm;		/* the VM moved: its own use does not count */
	const char *path;
	bool used;
};

static int uses(struct vmctl *c, const char *name, void *arg)
{
	struct users *u = arg;
	struct vmdef d = { 0 };
	int i;

	if (!strcmp(name, u->vm) || vmctl_load(c, name, &d))
		return 0;
	for (i = 0; i < d.ndisks; i++)
		u->used |= d.disks[i].path && !strcmp(d.disks[i].path, u->path);
	vmdef_free(&d);
	return 0;
}

void storage_remove_sources(struct migration *m)
{
	unsigned int i, removed = 0, kept = 0;
	struct vmctl c;

	vmctl_init(&c, vmmigd.state_dir);
	for (i = 0; i < m->storage.n; i++) {
		struct storage_disk *k = &m->storage.d[i];
		struct users u = { .vm = m->vm, .path = k->src };

		if (k->stays)
			continue;
		/* A read-only image (an installer, a base) may serve others: it stays. */
		if (!k->readonly)
			vmctl_list(&c, uses, &u);
		if (k->readonly || u.used) {
			kept++;
			continue;
		}
		if (unlink(k->src) && errno != ENOENT)
			event(m->dir == MIG_STORAGE ? EV_STORAGE_DONE : EV_MIG_DONE, m,
			      "%s: cannot remove its old image %s: %s", m->vm, k->src,
			      strerror(errno));
		else
			removed++;
	}
	event(m->dir == MIG_STORAGE ? EV_STORAGE_DONE : EV_MIG_DONE, m,
	      "%s: %u old disk image%s removed here, %u kept (read-only, or another VM's too)",
	      m->vm, removed, removed == 1 ? "" : "s", kept);
}

void storage_apply(const struct storage_plan *p, struct vmdef *d)
{
	unsigned int i;

	for (i = 0; i < p->n && i < (unsigned int)d->ndisks; i++) {
		free(d->disks[i].path);
		d->disks[i].path = strdup(p->d[i].dst);
	}
}

/* ---- a storage move on this host (`vmmig storage move`) ---- */

/* The VMM copies (CTL_REQ_STORAGE_MOVE), its progress into @m's; 0 or < 0 with @why. */
static int vmm_copy(struct migration *m, const char *dir, char *why)
{
	struct ctl_request *req = calloc(1, sizeof(*req));
	char *line = malloc(CTL_LINE_MAX);
	struct json_object *o = NULL;
	unsigned int i;
	int fd, err;

	if (!req || !line) {
		free(req);
		free(line);
		snprintf(why, VMMIG_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	req->cmd = CTL_REQ_STORAGE_MOVE;
	req->ndisks = m->storage.n;
	for (i = 0; i < m->storage.n; i++)
		snprintf(req->disks[i], MIG_PATH_MAX, "%s",
			 m->storage.d[i].stays ? "" : m->storage.d[i].dst);
	fd = ctl_open(dir, req, NULL, 0, why);
	free(req);
	if (fd < 0) {
		free(line);
		return fd;
	}
	pthread_mutex_lock(&vmmigd.lock);
	m->vmm_fd = fd;
	m->progress.phase = MIG_PRECOPY;
	if (m->cancel)
		shutdown(fd, SHUT_WR);
	pthread_mutex_unlock(&vmmigd.lock);
	for (;;) {
		err = ctl_read_line(fd, line, CTL_LINE_MAX, -1);
		if (err) {
			snprintf(why, VMMIG_ERRLEN, "the VMM of %s stopped answering: %s", m->vm,
				 strerror(-err));
			break;
		}
		o = json_tokener_parse(line);
		if (migration_progress(m, o)) {
			json_object_put(o);
			continue;
		}
		json_object_put(o);
		o = NULL;
		err = ctl_parse_reply(line, &o, why);
		json_object_put(o);
		break;
	}
	pthread_mutex_lock(&vmmigd.lock);
	m->vmm_fd = -1;
	pthread_mutex_unlock(&vmmigd.lock);
	close(fd);
	free(line);
	return err;
}

/* Where each disk goes on this host; a disk whose destination is its image stays. */
static int local_plan(struct migration *m, const struct vmdef *d, char *why)
{
	struct issues is = { 0 };
	unsigned int i, moving = 0;
	int err;

	if (!m->storage_req.path[0] && !m->storage_req.nmaps) {
		snprintf(why, VMMIG_ERRLEN, "a storage move needs --path DIR or --disk SRC=DST");
		return -EINVAL;
	}
	err = storage_plan_make(&m->storage_req, d, &m->storage, why);
	if (err)
		return err;
	for (i = 0; i < m->storage.n; i++) {
		m->storage.d[i].stays = !strcmp(m->storage.d[i].src, m->storage.d[i].dst);
		moving += !m->storage.d[i].stays;
	}
	if (!moving) {
		snprintf(why, VMMIG_ERRLEN, "every disk of %s is where it would go already", d->name);
		return -EINVAL;
	}
	storage_check(&m->storage, d->name, &is);
	if (is.errors) {
		issues_why(&is, why);
		err = -EEXIST;
	}
	json_object_put(is.a);
	return err;
}

/* Does vm.json name the new image of every disk that moved? */
static bool took_new(struct migration *m, struct vmctl *c)
{
	struct vmdef d = { 0 };
	unsigned int i, moved = 0;
	bool all = true;

	/* Only images made here count: a move that failed before has none. */
	for (i = 0; i < m->storage.n; i++)
		if (!m->storage.d[i].stays && !m->storage.d[i].created)
			return false;
		else
			moved += !m->storage.d[i].stays;
	if (!moved || vmctl_load(c, m->vm, &d))
		return false;
	for (i = 0; i < m->storage.n && i < (unsigned int)d.ndisks; i++)
		if (!m->storage.d[i].stays && (!d.disks[i].path ||
					       strcmp(d.disks[i].path, m->storage.d[i].dst)))
			all = false;
	vmdef_free(&d);
	return all;
}

void *storage_run(void *arg)
{
	struct migration *m = arg;
	char dir[4096], why[VMMIG_ERRLEN] = "";
	struct vmdef d = { 0 };
	struct vm_status st;
	struct vmctl c;
	int err;

	vmctl_init(&c, vmmigd.state_dir);
	err = vmctl_load(&c, m->vm, &d);
	if (err)
		snprintf(why, sizeof(why), "%s", c.err);
	if (!err && (vmctl_status(&c, m->vm, &st) || !st.has_vmm)) {
		snprintf(why, sizeof(why), "%s is not running: a storage move copies a running VM's disks",
			 m->vm);
		err = -EINVAL;
	}
	if (!err) {
		memcpy(m->uuid, d.uuid, sizeof(m->uuid));
		err = local_plan(m, &d, why);
	}
	if (!err && !slot_get(m)) {
		snprintf(why, sizeof(why), "cancelled");
		err = -ECANCELED;
	}
	if (!err) {
		event(EV_STORAGE_START, m, "%s: moving its storage", m->vm);
		err = storage_create(&m->storage, NULL, NULL, why);
	}
	if (!err && vmctl_dir(&c, m->vm, dir, sizeof(dir))) {
		snprintf(why, sizeof(why), "no folder for %s", m->vm);
		err = -ENOENT;
	}
	if (!err)
		err = vmm_copy(m, dir, why);
	if (err && took_new(m, &c)) {
		/* The VMM had switched (vm.json first) and then died: the new ones hold the VM. */
		event(EV_STORAGE_DONE, m, "%s: %s, but its definition names the new images: kept, and the old ones too",
		      m->vm, why);
		err = 0;
		m->storage_req.keep_source = true;
	}
	if (err) {
		storage_remove_made(&m->storage);
		migration_fail(m, m->cancel ? MIG_CANCELLED : MIG_FAILED, "%s", why);
		event(EV_STORAGE_FAILED, m, "%s: storage move failed: %s; it runs on its images", m->vm,
		      why);
	} else {
		unsigned int i;

		for (i = 0; i < m->storage.n; i++)
			m->storage.d[i].created = false;	/* the VM's images now */
		pthread_mutex_lock(&vmmigd.lock);
		m->end_ns = now_ns();
		pthread_mutex_unlock(&vmmigd.lock);
		if (!m->storage_req.keep_source)
			storage_remove_sources(m);
		migration_set_phase(m, MIG_DONE);
		event(EV_STORAGE_DONE, m, "%s: its storage moved in %.1f s", m->vm,
		      (m->end_ns - m->start_ns) / 1e9);
	}
	vmdef_free(&d);
	slot_put(m);
	return NULL;
}
