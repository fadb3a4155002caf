// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm console NAME [--force]            attach: type into the guest's
 *                                            serial console, see its output
 * vmmig vm console NAME --log [--follow]     print (and follow) its log
 *
 * Attached, the connection to the VMM's control socket carries the console
 * both ways (control.c, serial.c). On a terminal the CLI puts it in raw mode
 * and Ctrl-] detaches, as with `virsh console`. Input from a pipe or a file
 * is sent whole; the CLI detaches once the VMM has taken all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/socket.h>

#include "vm.h"

#define ESCAPE	0x1d	/* Ctrl-] */

static struct termios saved_tio;
static bool raw_tty;

static void tty_restore(void)
{
	if (raw_tty)
		tcsetattr(0, TCSAFLUSH, &saved_tio);
	raw_tty = false;
}

static void on_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_raw(void)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
	struct termios t;
	unsigned int i;

	if (tcgetattr(0, &saved_tio))
		return;
	t = saved_tio;
	cfmakeraw(&t);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	if (!tcsetattr(0, TCSAFLUSH, &t))
		raw_tty = true;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Input for the guest waits here while the VMM does not take it (the guest
 * is paused, or does not read its console): on a terminal, keys typed
 * beyond it are dropped, but Ctrl-] is still seen; a pipe is read no
 * further until there is room.
 */
struct pending {
	char buf[64 << 10];
	size_t len;
};

/* Reads stdin; 1 at its end, -1 on Ctrl-] (on a terminal), else 0. */
static int take_input(struct pending *in, bool tty)
{
	char scratch[4096], *p = in->buf + in->len, *esc;
	size_t room = sizeof(in->buf) - in->len;
	ssize_t n;

	if (!room)
		p = scratch, room = sizeof(scratch);	/* only when on a terminal */
	n = read(0, p, room);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	if (!n)
		return 1;
	esc = tty ? memchr(p, ESCAPE, n) : NULL;
	if (esc)
		n = esc - p;
	if (p != scratch)
		in->len += n;
	return esc ? -1 : 0;
}

static void give_input(struct pending *in, int sock)
{
	ssize_t n = send(sock, in->buf, in->len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n > 0) {
		in->len -= n;
		memmove(in->buf, in->buf + n, in->len);
	}
}

/*
 * Copies between the terminal (or pipe) and the console until one ends.
 * 0 when the user detached, input ended and the VMM took it all, or (on a
 * terminal) the VMM closed the console; -EPIPE when it closed the console
 * before it had all input from a pipe.
 */
static int relay(int sock, bool tty)
{
	static struct pending in;
	struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { 0, POLLIN, 0 } };
	bool eof = false, shut = false;
	char buf[4096];
	ssize_t n;
	int r;

	for (;;) {
		pfd[0].events = POLLIN | (in.len ? POLLOUT : 0);
		pfd[1].fd = !eof && (tty || in.len < sizeof(in.buf)) ? 0 : -1;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(sock, buf, sizeof(buf));
			if (n <= 0)	/* the VMM ended, or detached us */
				return tty || (eof && !in.len) ? 0 : -EPIPE;
			if (write_all(1, buf, n))
				return -errno;
		}
		if (pfd[0].revents & POLLOUT)
			give_input(&in, sock);
		if (pfd[1].fd >= 0 && pfd[1].revents) {
			r = take_input(&in, tty);
			if (r < 0)
				return 0;
			eof = r > 0;
			if (in.len)
				give_input(&in, sock);
		}
		/* Input ended: the VMM closes once the guest's FIFO has it all. */
		if (eof && !in.len && !shut)
			shut = !shutdown(sock, SHUT_WR);
	}
}

static int attach(const char *name, bool force)
{
	bool tty = isatty(0);
	int fd, err;

	fd = vmctl_console(&vmctl, name, force);
	if (fd == -ESRCH) {
		error_msg(what, "%s (--log prints its console log)", vmctl.err);
		return EXIT_FAIL;
	}
	if (fd < 0)
		return vmctl_failed();
	signal(SIGPIPE, SIG_IGN);
	if (tty) {
		fprintf(stderr, "Connected to %s (escape character is ^])\n", name);
		tty_raw();
	}
	err = relay(fd, tty);
	tty_restore();
	close(fd);
	if (tty)
		fprintf(stderr, "\nDisconnected from %s\n", name);
	if (err == -EPIPE) {
		error_msg(what, "%s: the console closed before the guest had all the input (the VM stopped, or another client took over)",
			  name);
		return EXIT_FAIL;
	}
	if (err) {
		error_msg(what, "%s: %s", name, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int print_log(const char *name, bool follow)
{
	char path[PATH_MAX], buf[4096];
	pid_t pid;
	ssize_t n;
	int fd;

	if (vmctl_dir(&vmctl, name, path, DIR_MAX))
		return vmctl_failed();
	strcat(path, "/console.log");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_msg(what, "%s: no console output yet", name);
		return EXIT_FAIL;
	}
	for (;;) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write_all(1, buf, n))
				break;
		if (!follow || vmctl_vmm_pid(&vmctl, name, &pid))
			break;
		usleep(100000);
	}
	close(fd);
	return EXIT_OK;
}

static int vm_console(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", no_argument, NULL, 'l' },
		{ "follow", no_argument, NULL, 'F' },
		{ "force", no_argument, NULL, 'f' },
		{}
	};
	bool log = false, follow = false, force = false;
	struct vmdef d;
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		log |= c == 'l' || c == 'F';
		follow |= c == 'F';
		force |= c == 'f';
	}
	if (cmd_args(argc, argv, "NAME"))
		return EXIT_USAGE;
	if (log && force)
		return usage_error("--force is for attaching, not with --log or --follow");
	argv += optind - 1;
	if (check_name(argv[1]))
		return EXIT_USAGE;
	if (vmctl_load(&vmctl, argv[1], &d))
		return vmctl_failed();
	vmdef_free(&d);
	return log ? print_log(argv[1], follow) : attach(argv[1], force);
}

const struct cmd vm_console_cmd = {
	.name = "console",
	.fn = vm_console,
	.args = "NAME [ --force | --log [ --follow ] ]",
	.help = "attaches to the running VM's serial console: what you type goes\n"
		"to the guest, Ctrl-] detaches; input from a pipe is sent whole,\n"
		"then it detaches; --force takes the console from another client;\n"
		"--log prints what the guest wrote (all of it is kept in\n"
		"console.log), --follow goes on printing\n",
};
