/* SPDX-License-Identifier: GPL-2.0 */
/* What vmdef.c and vmdef_parse.c share. */
#ifndef VMMIG_VMDEF_INT_H
#define VMMIG_VMDEF_INT_H

/* Sets @why (VMMIG_ERRLEN) from @fmt; returns @err. */
int vmdef_fail(char *why, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
