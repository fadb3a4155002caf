// SPDX-License-Identifier: GPL-2.0
/*
 * The one number reader of the CLI and the VM definitions (see parse.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "vmdef.h"

static const char suffixes[] = "KMGT";

/* "4K", "3G" where exact, else the plain number. */
static const char *fmt_bound(uint64_t v, bool size, char *buf, size_t len)
{
	int i = -1;

	while (size && v && !(v & 1023) && i < 3) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, suffixes[i]);
	return buf;
}

/* "1..64", "at least 4K", or nothing when any 32- or 64-bit value will do. */
static void fmt_range(uint64_t min, uint64_t max, bool size, char *buf, size_t len)
{
	char a[32], b[32];

	if (min <= 1 && (max == UINT64_MAX || max == UINT32_MAX))
		*buf = '\0';
	else if (max == UINT64_MAX)
		snprintf(buf, len, "at least %s", fmt_bound(min, size, a, sizeof(a)));
	else
		snprintf(buf, len, "%s..%s", fmt_bound(min, size, a, sizeof(a)),
			 fmt_bound(max, size, b, sizeof(b)));
}

/* The digits of @s; *end points past them. */
static int read_number(const char *s, uint64_t *v, const char **end)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *e;

	if (!isdigit((unsigned char)s[0]) || (hex && !isxdigit((unsigned char)s[2])))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &e, hex ? 16 : 10);
	*end = e;
	return errno ? -ERANGE : 0;
}

static int parse(const char *name, const char *s, uint64_t min, uint64_t max,
		 bool size, uint64_t *out, char *why)
{
	const char *end;
	unsigned int shift = 0;
	char range[80];
	uint64_t v = 0;
	int err;

	fmt_range(min, max, size, range, sizeof(range));
	err = read_number(s, &v, &end);
	if (!err && size && *end) {
		const char *p = strchr(suffixes, toupper((unsigned char)*end));

		if (!p)
			err = -EINVAL;
		else if (end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B"))
			err = -EINVAL;
		shift = p ? 10 * (p - suffixes + 1) : 0;
		end = "";
	}
	if (!err && *end)
		err = -EINVAL;
	if (err == -EINVAL) {
		if (size)
			snprintf(why, VMMIG_ERRLEN, "%s: '%s' is not a size (bytes, or with K, M, G or T%s%s)",
				 name, s, *range ? "; " : "", range);
		else
			snprintf(why, VMMIG_ERRLEN, "%s: '%s' is not a number%s%s%s", name, s,
				 *range ? " (" : "", range, *range ? ")" : "");
		return -EINVAL;
	}
	if (!err && v > (UINT64_MAX >> shift))
		err = -ERANGE;
	if (!err)
		v <<= shift;
	if (err || v < min || v > max) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s is out of range (%s)", name, s,
			 *range ? range : max == UINT32_MAX ? "32 bits" : "64 bits");
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int parse_uint(const char *name, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out, char *why)
{
	return parse(name, s, min, max, false, out, why);
}

int parse_size(const char *name, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out, char *why)
{
	return parse(name, s, min, max, true, out, why);
}

int parse_u32(const char *name, const char *s, uint32_t min, uint32_t max,
	      uint32_t *out, char *why)
{
	uint64_t v;
	int err = parse(name, s, min, max, false, &v, why);

	if (!err)
		*out = v;
	return err;
}
