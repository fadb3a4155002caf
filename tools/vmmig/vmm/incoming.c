// SPDX-License-Identifier: GPL-2.0
/*
 * A move's incoming VM: the VMM reads the migration streams (state.c's
 * sections, on as many threads as streams) while a UNIX socket of its own,
 * CTL_SWAP_SOCKET, takes from vmmigd a stream's new connection or the word
 * that the move is off.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"
#include "diskcopy.h"
#include "stream.h"
#include "vmlog.h"
#include "vmm.h"

/*
 * While the streams come in: vmmigd hands a stream's new connection (over
 * another migration network, the old one having failed) to CTL_SWAP_SOCKET,
 * {"stream": K} with its fd, answered by a reply.
 */
struct swap_server {
	int fd;
	struct mig_swap *sw;
	pthread_t thread;
};

static void *swap_serve(void *arg)
{
	struct swap_server *ss = arg;
	struct json_object *o, *v, *rep;
	char line[1024], why[VMMIG_ERRLEN];
	unsigned int nfds;
	int c, fd, err;

	while ((c = accept4(ss->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		nfds = 1;
		fd = -1;
		err = ctl_recv_line(c, line, sizeof(line), 5000, &fd, &nfds);
		o = err ? NULL : json_tokener_parse(line);
		/*
		 * {"abort": true}: the source gave up, no stream waits; with
		 * "corrupt", a stream's bytes failed their check (the relay's
		 * TLS), which fails the read.
		 */
		if (!err && o && json_object_object_get_ex(o, CTL_KEY_ABORT, &v)) {
			mig_swap_abort(ss->sw, json_object_object_get_ex(o, CTL_KEY_CORRUPT, &v) ?
					       json_object_get_string(v) : NULL);
			err = nfds ? -EINVAL : 0;
		} else if (!err && (!nfds || !o || !json_object_object_get_ex(o, CTL_KEY_STREAM, &v))) {
			err = -EINVAL;
		} else if (!err) {
			err = mig_swap_give(ss->sw, json_object_get_int(v), fd);
		}
		if (err && nfds)
			close(fd);
		snprintf(why, sizeof(why), "stream: %s", strerror(-err));
		rep = ctl_reply_new(err, why);
		ctl_send_line(c, rep, NULL, 0);
		json_object_put(rep);
		json_object_put(o);
		close(c);
	}
	return NULL;
}

static int swap_open(struct vm *vm, struct swap_server *ss)
{
	struct sockaddr_un sun;
	unsigned int len;

	ss->fd = -1;
	ss->sw = mig_swap_new();
	if (!ss->sw || ctl_swap_sockaddr(vm->dir, &sun, &len))
		return -ENOMEM;
	unlink(sun.sun_path);
	ss->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ss->fd < 0 || bind(ss->fd, (struct sockaddr *)&sun, len) || listen(ss->fd, 4) ||
	    pthread_create(&ss->thread, NULL, swap_serve, ss)) {
		if (ss->fd >= 0)
			close(ss->fd);
		ss->fd = -1;
		return -errno;
	}
	return 0;
}

static void swap_close(struct vm *vm, struct swap_server *ss)
{
	struct sockaddr_un sun;
	unsigned int len;

	if (ss->fd >= 0) {
		shutdown(ss->fd, SHUT_RDWR);
		pthread_join(ss->thread, NULL);
		close(ss->fd);
		if (!ctl_swap_sockaddr(vm->dir, &sun, &len))
			unlink(sun.sun_path);
	}
	mig_swap_free(ss->sw);
}

int vm_restore_streams(struct vm *vm, const int *fds, unsigned int nfds, char *why)
{
	struct swap_server ss;
	int err;

	vm->clock_runs_on = true;
	vm->restore_start_ns = now_ns();
	/* Without it, a stream that fails fails the move, as before. */
	if (swap_open(vm, &ss))
		vmlog(LOG_ERR, "no %s: a failed stream fails the move", CTL_SWAP_SOCKET);
	err = mig_rx_run_swap(fds, nfds, vm_restore_one, vm, ss.fd >= 0 ? ss.sw : NULL, why);
	swap_close(vm, &ss);
	/* The disks are on this host's storage before the source may commit. */
	if (!err && vm->disks_in)
		err = vm_disks_sync(vm, why);
	return err;
}
