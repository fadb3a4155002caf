/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMMIG_THREAD_H
#define VMMIG_THREAD_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* Names thread @t (15 characters at most) for top -H, perf and /proc. */
static inline __attribute__((format(printf, 2, 3))) void
thread_name(pthread_t t, const char *fmt, ...)
{
	char name[16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	pthread_setname_np(t, name);
}

#endif
