/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structs as JSON objects, described by tables of fields: one encoder and
 * one strict decoder for every message the tools exchange (the VMM control
 * protocol, the daemon's protocols, the migration engine's options and
 * progress), so that no two ends can disagree on a name or a type.
 */
#ifndef VMMIG_JFIELD_H
#define VMMIG_JFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

enum jfield_type {
	JF_U64,
	JF_U64_OR_NULL,	/* a u64 whose UINT64_MAX (not known) is null */
	JF_U32,
	JF_BOOL,
	JF_HEX,		/* a u64 as a "0x..." string: JSON readers lose bits above 2^53 */
	JF_STR,		/* char[size] */
	JF_UUID,	/* uint8_t[16] as "xxxxxxxx-xxxx-..." */
	JF_ENUM,	/* an enum as its name, from names[] */
};

struct jfield {
	const char *key;
	enum jfield_type type;
	size_t off, size;
	size_t present;	/* offset of a bool set when the key is there, or 0 */
	const char *const *names;	/* JF_ENUM */
	unsigned int nnames;
};

#define JFIELD(st, key, type, member) \
	{ key, type, offsetof(st, member), sizeof(((st *)0)->member), 0, NULL, 0 }
#define JOPTIONAL(st, key, type, member, flag) \
	{ key, type, offsetof(st, member), sizeof(((st *)0)->member), offsetof(st, flag), NULL, 0 }
#define JENUM(st, key, member, names, n) \
	{ key, JF_ENUM, offsetof(st, member), sizeof(((st *)0)->member), 0, names, n }
#define JOPTENUM(st, key, member, names, n, flag) \
	{ key, JF_ENUM, offsetof(st, member), sizeof(((st *)0)->member), offsetof(st, flag), names, n }
#define JFIELDS(a) a, sizeof(a) / sizeof(a[0])

/* Adds the fields of @s to @o (optional ones only when their flag is set). */
void jfield_encode(struct json_object *o, const struct jfield *f, size_t n, const void *s);
/*
 * Reads the fields of @f from @o into @s; a key not there leaves its field
 * as it is. -EINVAL with "@what: 'key' must be ..." in @why (VMMIG_ERRLEN).
 */
int jfield_decode(struct json_object *o, const struct jfield *f, size_t n, void *s,
		  const char *what, char *why);
/* The message of a malformed field: -EINVAL. */
int jfield_bad(char *why, const char *what, const char *key, const char *want);

#endif
