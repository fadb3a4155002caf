/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Numbers from the command line and from VM definitions: one reader, so that
 * every option takes the same forms and says the same thing when it cannot.
 *
 * A number is decimal, or hexadecimal after 0x; never signed, never octal. A
 * size is a number of bytes with an optional K, M, G or T (powers of 1024,
 * "KiB" and "KB" alike). Each function returns 0, or -EINVAL (not a number)
 * or -ERANGE (outside [min, max]) with one line in @why (VMMIG_ERRLEN bytes)
 * that names @name, the value and the range, e.g.
 * "--vcpus: 0 is out of range (1..64)".
 */
#ifndef VMMIG_PARSE_H
#define VMMIG_PARSE_H

#include <stdint.h>

int parse_uint(const char *name, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out, char *why);
int parse_size(const char *name, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out, char *why);
/* parse_uint() into 32 bits. */
int parse_u32(const char *name, const char *s, uint32_t min, uint32_t max,
	      uint32_t *out, char *why);

#endif
