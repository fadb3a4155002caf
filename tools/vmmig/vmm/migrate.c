// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's side of a live migration (ctl_proto.h, CTL_REQ_MIGRATE and
 * CTL_REQ_INCOMING_END; Documentation/design/migration.rst).
 *
 * Outgoing: vmmigd sends a migrate request with the streams, already
 * connected to the destination. A thread live-saves into them while the
 * control loop keeps serving status and the console; progress lines go to
 * vmmigd on the request's connection. Once the stream is complete the VM is
 * paused and held: nothing but vmmigd's decision on that connection moves
 * it. Abort resumes it; commit ends the VMM, the VM now runs elsewhere. A
 * connection lost without a decision is an abort, unless vmmigd had
 * committed (DIR/migrated): then the VM stays paused, never to run twice.
 *
 * Incoming: `vmmig-vmm --incoming FD,...` restores the streams before the
 * VM starts, paused and held; incoming-end resumes it (commit) or ends the
 * VMM (abort).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "ctl.h"
#include "diskcopy.h"
#include "stream.h"
#include "thread.h"
#include "vmlog.h"
#include "vmm.h"

static void send_line(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);

	/* vmmigd gone: the decision (or its absence) tells what to do. */
	if (send(fd, s, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return;
}

static void progress(void *ctx, const struct mig_progress *p)
{
	struct vm *vm = ctx;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_KEY_PROGRESS, mig_progress_to_json(p));
	pthread_mutex_lock(&vm->mig.send_lock);
	send_line(vm->mig.fd, o);
	pthread_mutex_unlock(&vm->mig.send_lock);
	json_object_put(o);
}

#define SWAP_WAIT_S	60

/*
 * A stream's connection failed (mig_tx_replace_fn): vmmigd is asked for a
 * new one (over another migration network), which the control loop takes
 * in (migrate_out_message()). Its fd, or -1 when vmmigd has none, a cancel
 * came, or nothing within SWAP_WAIT_S.
 */
static int out_replace(void *ctx, unsigned int idx, int err, const char *why)
{
	struct vm *vm = ctx;
	struct vm_migration *m = &vm->mig;
	struct json_object *o = json_object_new_object();
	struct timespec t;
	int fd = -1;

	pthread_mutex_lock(&m->tx_lock);
	if (m->cancel_seen || idx >= MIG_MAX_STREAMS) {
		pthread_mutex_unlock(&m->tx_lock);
		json_object_put(o);
		return -1;
	}
	m->swap[idx] = MIG_SWAP_ASKED;
	pthread_mutex_unlock(&m->tx_lock);
	json_object_object_add(o, CTL_KEY_REPLACE_STREAM, json_object_new_int(idx));
	json_object_object_add(o, CTL_KEY_ERROR, json_object_new_string(why));
	pthread_mutex_lock(&m->send_lock);
	send_line(m->fd, o);
	pthread_mutex_unlock(&m->send_lock);
	json_object_put(o);
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += SWAP_WAIT_S;
	pthread_mutex_lock(&m->tx_lock);
	while (m->swap[idx] == MIG_SWAP_ASKED && !m->cancel_seen)
		if (pthread_cond_timedwait(&m->swap_cond, &m->tx_lock, &t) == ETIMEDOUT)
			break;
	if (m->swap[idx] >= 0)
		fd = m->swap[idx];
	m->swap[idx] = MIG_SWAP_IDLE;
	pthread_mutex_unlock(&m->tx_lock);
	return fd;
}

bool migrate_out_message(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;
	struct json_object *o, *v;
	unsigned int nfds = 1, idx;
	char line[1024];
	int fd = -1;

	if (ctl_recv_line(m->fd, line, sizeof(line), 1000, &fd, &nfds))
		return true;
	o = json_tokener_parse(line);
	if (!o || !json_object_object_get_ex(o, CTL_KEY_STREAM, &v)) {
		json_object_put(o);
		if (nfds)
			close(fd);
		return true;
	}
	idx = json_object_get_int(v);
	json_object_put(o);
	pthread_mutex_lock(&m->tx_lock);
	if (idx < MIG_MAX_STREAMS && m->swap[idx] == MIG_SWAP_ASKED) {
		m->swap[idx] = nfds ? fd : -1;
		fd = -1;
	} else if (nfds && m->tx && !mig_tx_give(m->tx, idx, fd)) {
		/* Unasked: the stream's network failed under another one. */
		fd = -1;
	}
	pthread_cond_broadcast(&m->swap_cond);
	pthread_mutex_unlock(&m->tx_lock);
	if (fd >= 0)
		close(fd);
	return false;
}

/* The thread's reply (put here), and the control loop told it ended. */
static void thread_reply(struct vm *vm, struct json_object *rep)
{
	struct vm_migration *m = &vm->mig;

	pthread_mutex_lock(&m->send_lock);
	send_line(m->fd, rep);
	pthread_mutex_unlock(&m->send_lock);
	json_object_put(rep);
	eventfd_write(m->done_fd, 1);
}

static void *out_thread(void *arg)
{
	struct vm *vm = arg;
	struct vm_migration *m = &vm->mig;
	struct ctl_save_result res = { .live = true };
	struct precopy_stats pc;
	struct json_object *rep;
	uint64_t t = now_ns();
	unsigned int i;

	m->err = vm_save_live(vm, m->fds, m->nfds, &m->opts, &pc, progress, vm, m->why);
	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
	if (m->err && m->was_running)
		vm_resume(vm);
	rep = ctl_reply_new(m->err, m->why);
	if (!m->err) {
		res.save_ns = now_ns() - t;
		res.rounds = pc.rounds;
		res.resent_pages = pc.resent_pages;
		res.final_pages = pc.final_pages;
		res.downtime_ns = pc.downtime_ns;
		res.has_memory_hash = m->opts.verify;
		if (m->opts.verify)
			res.memory_hash = vm_memory_hash(vm);
		res.has_disk_hash = m->opts.verify && m->opts.storage;
		if (res.has_disk_hash)
			res.disk_hash = vm_disks_hash(vm);
		ctl_save_to_json(rep, &res);
	}
	thread_reply(vm, rep);
	return NULL;
}

int migrate_out_start(struct vm *vm, const struct ctl_request *req, int fd, const int *fds,
		      unsigned int nfds, char *why)
{
	struct vm_migration *m = &vm->mig;
	unsigned int i;

	if (m->role != CTL_MIG_NONE)
		return vmm_fail(why, -EBUSY, "a migration holds this VM already");
	if (nfds != req->streams || !nfds || nfds != req->mig.streams)
		return vmm_fail(why, -EINVAL, "migrate: %u streams announced, %u came", req->streams,
				nfds);
	if (vm_is_paused(vm))
		return vmm_fail(why, -EINVAL, "the VM is paused: a live migration needs it running");
	m->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->done_fd < 0)
		return vmm_fail(why, -errno, "eventfd: %s", strerror(errno));
	for (i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	m->nfds = nfds;
	m->opts = req->mig;
	m->fd = fd;
	m->was_running = true;
	m->cancel_seen = false;
	m->role = CTL_MIG_OUTGOING;
	m->decided = false;
	if (pthread_create(&m->thread, NULL, out_thread, vm)) {
		close(m->done_fd);
		m->role = CTL_MIG_NONE;
		m->nfds = 0;
		return vmm_fail(why, -EAGAIN, "cannot start the migration thread");
	}
	thread_name(m->thread, "mig-out");
	return 0;
}

static void *storage_thread(void *arg)
{
	struct vm *vm = arg;
	struct vm_migration *m = &vm->mig;

	m->err = vm_storage_move(vm, (const char (*)[MIG_PATH_MAX])m->disks, progress, vm,
				 &m->cancel_seen, m->why);
	thread_reply(vm, ctl_reply_new(m->err, m->why));
	return NULL;
}

static void release(struct vm *vm);

void storage_move_end(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;

	if (m->role != CTL_MIG_STORAGE || m->done_fd < 0)
		return;
	migrate_out_cancel(vm);
	pthread_join(m->thread, NULL);
	close(m->done_fd);
	m->done_fd = -1;
	release(vm);
}

int storage_move_start(struct vm *vm, const struct ctl_request *req, int fd, char *why)
{
	struct vm_migration *m = &vm->mig;
	unsigned int i, moving = 0;

	if (m->role != CTL_MIG_NONE)
		return vmm_fail(why, -EBUSY, "a migration holds this VM already");
	if (req->ndisks != (unsigned int)vm->def.ndisks)
		return vmm_fail(why, -EINVAL, "storage-move: %u paths for %d disks", req->ndisks,
				vm->def.ndisks);
	for (i = 0; i < req->ndisks; i++) {
		snprintf(m->disks[i], MIG_PATH_MAX, "%s", req->disks[i]);
		moving += !!req->disks[i][0];
	}
	if (!moving)
		return vmm_fail(why, -EINVAL, "storage-move: no disk to move");
	m->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->done_fd < 0)
		return vmm_fail(why, -errno, "eventfd: %s", strerror(errno));
	m->fd = fd;
	m->cancel_seen = false;
	m->role = CTL_MIG_STORAGE;
	if (pthread_create(&m->thread, NULL, storage_thread, vm)) {
		close(m->done_fd);
		m->done_fd = -1;
		m->role = CTL_MIG_NONE;
		return vmm_fail(why, -EAGAIN, "cannot start the storage thread");
	}
	thread_name(m->thread, "storage");
	return 0;
}

/*
 * The VM runs elsewhere now: what is left here is freeing its memory, CPU
 * time that must not be taken from the VMs that run (on a host that is
 * both ends, the moved VM itself, whose first moments after the resume
 * the guest sees). Every thread of this VMM to SCHED_IDLE.
 */
static void yield_to_running_vms(void)
{
	struct sched_param p = { 0 };
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			sched_setscheduler(atoi(e->d_name), SCHED_IDLE, &p);
	if (d)
		closedir(d);
}

static void release(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;

	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->role = CTL_MIG_NONE;
}

static bool committed(struct vm *vm)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", vm->dir, CTL_MIGRATED_FILE);
	return !access(path, F_OK);
}

/* The stream is complete (or failed): the loop joins the thread. */
int migrate_out_done(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;
	eventfd_t n;

	eventfd_read(m->done_fd, &n);
	pthread_join(m->thread, NULL);
	close(m->done_fd);
	m->done_fd = -1;
	/* A storage move has replied: nothing waits for a decision. */
	if (m->err || m->role == CTL_MIG_STORAGE) {
		release(vm);
		return -1;
	}
	return m->fd;	/* the loop now waits for the decision on it */
}

/* The decision, or the connection's end. Returns true when the VMM ends. */
bool migrate_out_decide(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;
	struct json_object *o = NULL, *v, *rep;
	char line[256], why[VMMIG_ERRLEN] = "";
	int err = ctl_read_line(m->fd, line, sizeof(line), 1000);
	bool commit = false, known = false;

	if (!err) {
		o = json_tokener_parse(line);
		known = o && json_object_object_get_ex(o, CTL_ARG_COMMIT, &v) &&
			json_object_is_type(v, json_type_boolean);
		commit = known && json_object_get_boolean(v);
		json_object_put(o);
	}
	if (!known) {
		/* No decision: vmmigd died or spoke nonsense. */
		if (committed(vm)) {
			vmlog(LOG_ERR, "vmmigd left after committing the migration: the VM stays paused");
			close(m->fd);
			m->fd = -1;
			return false;
		}
		vmlog(LOG_ERR, "the migration ended without a decision: resuming");
		vm_resume(vm);
		release(vm);
		return false;
	}
	if (!commit)
		vm_resume(vm);
	rep = ctl_reply_new(0, why);
	send_line(m->fd, rep);
	json_object_put(rep);
	release(vm);
	if (commit) {
		m->role = CTL_MIG_OUTGOING;	/* held until the VMM is gone */
		yield_to_running_vms();
	}
	return commit;
}

int migrate_incoming_end(struct vm *vm, bool commit, char *why, bool *end)
{
	struct vm_migration *m = &vm->mig;
	int i;

	if (m->role != CTL_MIG_INCOMING)
		return vmm_fail(why, -EINVAL, "this VM is not an incoming migration");
	m->role = CTL_MIG_NONE;
	*end = !commit;
	if (commit) {
		/*
		 * A guest with kvmclock learns it was stopped, so its lockup
		 * watchdogs do not count the move; others refuse (EINVAL).
		 */
		for (i = 0; i < vm->nvcpus; i++)
			ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0);
		vm_resume(vm);
		/* The guest is here now: tell the network (virtio_net.c). */
		virtio_net_announce(vm);
	}
	return 0;
}

void migrate_attach_tx(struct vm *vm, struct mig_tx *tx)
{
	unsigned int i;

	pthread_mutex_lock(&vm->mig.tx_lock);
	vm->mig.tx = tx;
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		vm->mig.swap[i] = MIG_SWAP_IDLE;
	/* A cancel that came before the streams opened stops them now. */
	if (tx && vm->mig.cancel_seen)
		mig_tx_cancel(tx, -ECANCELED, "cancelled by vmmigd");
	pthread_mutex_unlock(&vm->mig.tx_lock);
	/* vmmigd's streams: a failed one may be replaced, over another network. */
	if (tx && vm->mig.role == CTL_MIG_OUTGOING && vm->mig.fd >= 0)
		mig_tx_set_replace(tx, out_replace, vm);
}

/*
 * During the copy vmmigd says nothing on the connection: anything it sends,
 * or its end, is a cancel (`vmmig migration cancel`, or vmmigd died). The
 * streams fail at once, the live save returns, and the VM resumes.
 */
void migrate_out_cancel(struct vm *vm)
{
	struct vm_migration *m = &vm->mig;

	pthread_mutex_lock(&m->tx_lock);
	m->cancel_seen = true;
	if (m->tx)
		mig_tx_cancel(m->tx, -ECANCELED, "cancelled by vmmigd");
	pthread_cond_broadcast(&m->swap_cond);
	pthread_mutex_unlock(&m->tx_lock);
}

/* Requests that would move a VM a migration holds. */
bool migrate_holds(struct vm *vm, enum ctl_req cmd, char *why)
{
	static const char *const role[] = {
		[CTL_MIG_OUTGOING] = "is migrating to another host",
		[CTL_MIG_INCOMING] = "is arriving from another host",
		[CTL_MIG_STORAGE] = "is moving its storage",
	};

	if (vm->mig.role == CTL_MIG_NONE)
		return false;
	switch (cmd) {
	case CTL_REQ_PAUSE:
	case CTL_REQ_RESUME:
	case CTL_REQ_STOP:
	case CTL_REQ_QUIT:
	case CTL_REQ_SAVE:
	case CTL_REQ_MIGRATE:
	case CTL_REQ_STORAGE_MOVE:
		vmm_fail(why, -EBUSY, "%s %s: cancel the migration first", vm->def.name,
			 role[vm->mig.role]);
		return true;
	default:
		return false;
	}
}
