/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CPU feature algebra of processor compatibility (issue 12): a host's or
 * a VM's vendor and feature words (enum vmmig_word, the words vmmig.ko's
 * HOST_FEATURES and policy use), their intersection across a cluster, what
 * one lacks against another, the minimum set per vendor, and a CPUID table
 * narrowed by a mask. Pure functions of their arguments: no KVM, no
 * vmmig.ko, so the unit tests run them on dumps of real CPUs.
 */
#ifndef VMMIG_LIB_FEATURES_H
#define VMMIG_LIB_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vmmig.h>

#include "vmdef.h"

struct json_object;

#define CPU_VENDOR_LEN	13	/* "AuthenticAMD" and its NUL */

struct cpu_features {
	char vendor[CPU_VENDOR_LEN];	/* CPUID leaf 0's; "" unknown */
	uint32_t w[VMMIG_NR_WORDS];	/* enum vmmig_word */
};

/* From a CPUID table (KVM_GET_SUPPORTED_CPUID's, a VM's, a dump's). */
void features_from_cpuid(struct cpu_features *f, const struct vmdef_cpuid *e, int n);

/* @r = @a & @b (@r may be either); the vendor stays when both agree, else "". */
void features_and(struct cpu_features *r, const struct cpu_features *a,
		  const struct cpu_features *b);
/* @r = @a | @b, the union (@r may be either); the vendor as features_and(). */
void features_or(struct cpu_features *r, const struct cpu_features *a,
		 const struct cpu_features *b);
/* @r = what @a has and @b lacks: @a & ~@b; the vendor is @a's. */
void features_lacking(struct cpu_features *r, const struct cpu_features *a,
		      const struct cpu_features *b);
bool features_empty(const struct cpu_features *f);
/* Every feature of @a is in @b (vendors are not compared). */
bool features_subset(const struct cpu_features *a, const struct cpu_features *b);
/* Same vendor and words (the struct has padding: never memcmp() it). */
bool features_equal(const struct cpu_features *a, const struct cpu_features *b);
/* Both vendors known and equal. */
bool features_same_vendor(const struct cpu_features *a, const struct cpu_features *b);

/* The name of bit @b of word @w, or "WORD:BIT" in @buf. */
const char *features_bit_name(int w, int b, char *buf, size_t len);
/*
 * The named features of @f, space separated, in word and bit order, as
 * /proc/cpuinfo spells them (cpuid_table.h); a bit without a name as
 * "WORD:BIT" ("7.0.ecx:31"). At most @len - 1 characters, ending in "..."
 * when cut. Returns @buf.
 */
char *features_names(const struct cpu_features *f, char *buf, size_t len);
/* How many bits @f has set. */
unsigned int features_count(const struct cpu_features *f);

/*
 * The minimum feature set of @vendor: x86-64-v2 and the classic features
 * every processor of that vendor has (Documentation/admin-guide/cpu-compat.rst
 * names every bit). -EINVAL for a vendor vmmig does not know.
 */
int features_minimum(struct cpu_features *f, const char *vendor);

/*
 * Narrows a CPUID table in place: every feature word's register ANDed with
 * @mask (VMMIG_NR_WORDS words); the XSAVE sub-leaves (0xD.2 up) of the
 * XCR0 components @mask clears are zeroed (EAX to EDX). Leaves that are not
 * feature words are kept as they are, 0xD.0 ECX (the largest XSAVE area)
 * too: an area larger than the components need is harmless. Bits the
 * kernel ignores in its audit (hypervisor, osxsave, ...: vmmig_policy_get()'s
 * ignored words) are cleared too unless @mask has them: OR them in to keep
 * them.
 */
void features_narrow_cpuid(struct vmdef_cpuid *e, int n, const uint32_t *mask);

/*
 * JSON: {"vendor": "AuthenticAMD", "words": {"1.ecx": "0xf6f83203", ...}},
 * every word named as vmmig_word_name() spells it. _from_json is strict: an
 * unknown word, a value that is not a 32-bit hex number: -EINVAL with @why.
 */
struct json_object *features_to_json(const struct cpu_features *f);
int features_from_json(struct cpu_features *f, struct json_object *o, char *why);

/*
 * A CPUID dump: lines "LEAF SUBLEAF EAX EBX ECX EDX" (hex, 0x optional),
 * '#' comments, each leaf and subleaf once; the entries' flags are 0. @e is
 * malloc'ed. 0, or -errno with @why (file and line).
 */
int cpuid_dump_load(const char *path, struct vmdef_cpuid **e, int *n, char *why);

#endif
