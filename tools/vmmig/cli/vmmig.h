/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMMIG_CLI_H
#define VMMIG_CLI_H

#include "cpuid.h"
#include "host.h"
#include "nl.h"

/* Exit codes of every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

int host_main(int argc, char **argv);
int monitor_main(int argc, char **argv);
int kvm_main(int argc, char **argv);
/* "NAME": dirty-page statistics; `vmmig kvm dirty-log`, `vmmig vm dirty-log`. */
int dirty_log_main(int argc, char **argv);
/* "(NAME | --pid PID) [--seconds S] [--sample N]": sampled dirty rate. */
int dirty_rate_main(int argc, char **argv);
int vm_main(int argc, char **argv);
/* cpuid.c: host features, host policy, kvm audit, kvm cpu-mode. */
int host_features_main(int argc, char **argv);
int host_policy_main(int argc, char **argv);
int kvm_audit_main(int argc, char **argv);
int grab_vm_fd(pid_t pid);
int kvm_cpu_mode_main(int argc, char **argv);

/* "vmmig: what: why" on stderr. */
void error_msg(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Connects to vmmig.ko or reports why not; returns EXIT_OK or EXIT_FAIL. */
int cli_connect(struct vmmig_nl *nl, const char *what);
/* Reports a failed request with the kernel's message; returns EXIT_FAIL. */
int cli_nl_error(const struct vmmig_nl *nl, const char *what, int err);
/* Prints an object's usage: to stdout for help, to stderr on misuse. */
int object_help(const char *object, bool misuse);
/* True for "help", "-h" and "--help". */
bool is_help(const char *arg);

void print_host_settings(const struct vmmig_host *h);
void print_host(const struct vmmig_host *h);
void print_audit(const struct vmmig_audit *a);

#endif
