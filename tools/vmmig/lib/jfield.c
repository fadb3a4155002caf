// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "jfield.h"
#include "vmdef.h"

void jfield_encode(struct json_object *o, const struct jfield *f, size_t n, const void *s)
{
	const char *p = s;
	char buf[40];

	for (; n--; f++) {
		const void *v = p + f->off;
		struct json_object *j = NULL;
		unsigned int e;

		if (f->present && !*(const bool *)(p + f->present))
			continue;
		switch (f->type) {
		case JF_U64:
			j = json_object_new_uint64(*(const uint64_t *)v);
			break;
		case JF_U64_OR_NULL:
			if (*(const uint64_t *)v != UINT64_MAX)
				j = json_object_new_uint64(*(const uint64_t *)v);
			break;
		case JF_U32:
			j = json_object_new_uint64(*(const uint32_t *)v);
			break;
		case JF_BOOL:
			j = json_object_new_boolean(*(const bool *)v);
			break;
		case JF_HEX:
			snprintf(buf, sizeof(buf), "0x%" PRIx64, *(const uint64_t *)v);
			j = json_object_new_string(buf);
			break;
		case JF_STR:
			j = json_object_new_string(v);
			break;
		case JF_UUID:
			uuid_unparse_lower(v, buf);
			j = json_object_new_string(buf);
			break;
		case JF_ENUM:
			e = *(const unsigned int *)v;
			j = json_object_new_string(e < f->nnames ? f->names[e] : "unknown");
			break;
		}
		json_object_object_add(o, f->key, j);
	}
}

int jfield_bad(char *why, const char *what, const char *key, const char *want)
{
	snprintf(why, VMMIG_ERRLEN, "%s: '%s' must be %s", what, key, want);
	return -EINVAL;
}

static int decode_one(const struct jfield *f, struct json_object *j, void *v,
		      const char *what, char *why)
{
	const char *s = json_object_get_string(j);
	unsigned int i;
	char *end;

	switch (f->type) {
	case JF_U64_OR_NULL:
		if (!j) {
			*(uint64_t *)v = UINT64_MAX;
			return 0;
		}
		/* fall through */
	case JF_U64:
	case JF_U32:
		if (!json_object_is_type(j, json_type_int) || json_object_get_int64(j) < 0)
			return jfield_bad(why, what, f->key, "a number");
		if (f->type == JF_U32) {
			if (json_object_get_uint64(j) > UINT32_MAX)
				return jfield_bad(why, what, f->key, "a 32-bit number");
			*(uint32_t *)v = json_object_get_uint64(j);
		} else {
			*(uint64_t *)v = json_object_get_uint64(j);
		}
		return 0;
	case JF_BOOL:
		if (!json_object_is_type(j, json_type_boolean))
			return jfield_bad(why, what, f->key, "true or false");
		*(bool *)v = json_object_get_boolean(j);
		return 0;
	case JF_HEX:
		if (!json_object_is_type(j, json_type_string) || strncmp(s, "0x", 2))
			return jfield_bad(why, what, f->key, "a hexadecimal string");
		*(uint64_t *)v = strtoull(s, &end, 16);
		return *end ? jfield_bad(why, what, f->key, "a hexadecimal string") : 0;
	case JF_STR:
		if (!json_object_is_type(j, json_type_string) || strlen(s) >= f->size)
			return jfield_bad(why, what, f->key, "a string");
		strcpy(v, s);
		return 0;
	case JF_UUID:
		if (!json_object_is_type(j, json_type_string) || uuid_parse(s, v))
			return jfield_bad(why, what, f->key, "a UUID");
		return 0;
	case JF_ENUM:
		for (i = 0; json_object_is_type(j, json_type_string) && i < f->nnames; i++)
			if (!strcmp(s, f->names[i])) {
				*(unsigned int *)v = i;
				return 0;
			}
		return jfield_bad(why, what, f->key, "one of the names it takes");
	}
	return -EINVAL;
}

int jfield_decode(struct json_object *o, const struct jfield *f, size_t n, void *s,
		  const char *what, char *why)
{
	struct json_object *j;
	char *p = s;
	int err;

	for (; n--; f++) {
		if (!json_object_object_get_ex(o, f->key, &j))
			continue;
		err = decode_one(f, j, p + f->off, what, why);
		if (err)
			return err;
		if (f->present)
			*(bool *)(p + f->present) = true;
	}
	return 0;
}
