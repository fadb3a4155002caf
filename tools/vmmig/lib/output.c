// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "output.h"

#define MAX_DEPTH 8

static bool json;
static int json_flags = JSON_C_TO_STRING_PLAIN;
static struct json_object *stack[MAX_DEPTH];
static int depth;
static struct json_object *list;

void output_init(bool use_json, bool pretty)
{
	json = use_json;
	if (pretty)
		json_flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	depth = 0;
}

bool output_is_json(void)
{
	return json;
}

static struct json_object *top(void)
{
	if (!depth)
		stack[depth++] = json_object_new_object();
	return stack[depth - 1];
}

static void add(const char *key, struct json_object *v)
{
	if (!v) {
		fprintf(stderr, "vmmig: out of memory\n");
		exit(1);
	}
	if (json_object_is_type(top(), json_type_array))
		json_object_array_add(top(), v);
	else
		json_object_object_add(top(), key, v);
}

static void open_nested(const char *key, struct json_object *o)
{
	if (depth >= MAX_DEPTH) {
		fprintf(stderr, "vmmig: JSON nesting too deep\n");
		exit(1);
	}
	add(key, o);
	stack[depth++] = o;
}

void open_object(const char *key)
{
	if (json)
		open_nested(key, json_object_new_object());
}

void open_array(const char *key)
{
	if (json)
		open_nested(key, json_object_new_array());
}

void close_object(void)
{
	if (json && depth > 1)
		depth--;
}

void close_array(void)
{
	close_object();
}

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value)
{
	if (json && (t & PRINT_JSON))
		/* json-c represents null as a NULL object. */
		value ? add(key, json_object_new_string(value)) :
			(void)json_object_object_add(top(), key, NULL);
	else if (!json && (t & PRINT_FP))
		printf(fmt, value ? value : "-");
}

void print_uint(enum output_type t, const char *key, const char *fmt,
		uint64_t value)
{
	if (json && (t & PRINT_JSON))
		add(key, json_object_new_uint64(value));
	else if (!json && (t & PRINT_FP))
		printf(fmt, value);
}

void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value)
{
	if (json && (t & PRINT_JSON))
		add(key, json_object_new_boolean(value));
	else if (!json && (t & PRINT_FP))
		printf(fmt, value ? "on" : "off");
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void print_nl(void)
{
	if (!json)
		putchar('\n');
}

void output_flush(void)
{
	if (json && depth && list) {
		json_object_array_add(list, stack[0]);
		depth = 0;
	} else if (json && depth) {
		puts(json_object_to_json_string_ext(stack[0], json_flags));
		json_object_put(stack[0]);
		depth = 0;
	}
	fflush(stdout);
}

void output_list_begin(void)
{
	if (json)
		list = json_object_new_array();
}

void output_list_end(void)
{
	if (!list)
		return;
	puts(json_object_to_json_string_ext(list, json_flags));
	json_object_put(list);
	list = NULL;
	fflush(stdout);
}
