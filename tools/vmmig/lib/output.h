/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One print path for text and JSON, in the manner of iproute2: each field is
 * printed by one call that names its JSON key and its text format, so the two
 * outputs cannot drift apart.
 */
#ifndef VMMIG_OUTPUT_H
#define VMMIG_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

enum output_type {
	PRINT_FP = 1,		/* text only */
	PRINT_JSON = 2,		/* JSON only */
	PRINT_ANY = PRINT_FP | PRINT_JSON,
};

void output_init(bool json, bool pretty);
bool output_is_json(void);

/*
 * Start and end a nested JSON object or array; text output is not
 * affected. Inside an array, objects take no key (NULL).
 */
void open_object(const char *key);
void close_object(void);
void open_array(const char *key);
void close_array(void);

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value);
void print_uint(enum output_type t, const char *key, const char *fmt,
		uint64_t value);
void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value);
/* Text only. */
void print_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_nl(void);

/* Ends one record: JSON prints the object built so far as one line. */
void output_flush(void);

/*
 * Between these, each record that output_flush() ends goes into one JSON
 * array, printed by output_list_end() (an empty list prints []).
 */
void output_list_begin(void);
void output_list_end(void);

#endif
