// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cpuid.h"
#include "features.h"
#include "jfield.h"

#define BIT(n)		(1U << (n))
#define GENMASK(h, l)	(((~0U) >> (31 - (h))) & ~((1U << (l)) - 1))

/*
 * Documentation/admin-guide/cpu-compat.rst names every bit. Both sets are
 * vmmig.ko's minimum_default (kmod/policy.c) less what a processor of the
 * vendor may lack: x2apic (the firmware can leave it off: the EPYC 7551P and
 * 7763 dumps of selftests/data/cpuid show it clear; KVM emulates it, which is
 * why the module's mask keeps it), and on Intel the 0x80000001 EDX copies of
 * leaf 1 EDX, reserved there and read as 0.
 */
#define MINIMUM_BOTH \
	/* pni ssse3 cx16 sse4_1 sse4_2 popcnt */ \
	[VMMIG_WORD_1_ECX] = BIT(0) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(23), \
	/* fpu to apic (0-9), sep to pse36 (11-17), clflush, mmx fxsr sse sse2 */ \
	[VMMIG_WORD_1_EDX] = GENMASK(9, 0) | GENMASK(17, 11) | BIT(19) | GENMASK(26, 23), \
	/* xcr0_x87 xcr0_sse */ \
	[VMMIG_WORD_D_0_EAX] = BIT(0) | BIT(1), \
	/* lahf_lm */ \
	[VMMIG_WORD_8000_0001_ECX] = BIT(0)

/* syscall nx lm */
#define MINIMUM_8000_0001_EDX	(BIT(11) | BIT(20) | BIT(29))

static const uint32_t minimum_amd[VMMIG_NR_WORDS] = {
	MINIMUM_BOTH,
	/* and the copies of fpu to apic, mtrr to pse36, mmx, fxsr */
	[VMMIG_WORD_8000_0001_EDX] = MINIMUM_8000_0001_EDX | GENMASK(9, 0) |
				     GENMASK(17, 12) | BIT(23) | BIT(24),
};

static const uint32_t minimum_intel[VMMIG_NR_WORDS] = {
	MINIMUM_BOTH,
	[VMMIG_WORD_8000_0001_EDX] = MINIMUM_8000_0001_EDX,
};

static const struct {
	const char *vendor;
	const uint32_t *minimum;
} vendors[] = {
	{ "AuthenticAMD", minimum_amd },
	/* Hygon's Dhyana is AMD's Zen under licence, with AMD's CPUID layout. */
	{ "HygonGenuine", minimum_amd },
	{ "GenuineIntel", minimum_intel },
};

/* The register of @e that holds feature word @w. */
static uint32_t *word_reg(struct vmdef_cpuid *e, int w)
{
	uint32_t *regs[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

	return regs[vmmig_word_reg(w)[1] - 'a'];
}

static const struct vmdef_cpuid *find_entry(const struct vmdef_cpuid *e, int n,
					    uint32_t leaf, uint32_t subleaf)
{
	int i;

	for (i = 0; i < n; i++)
		if (e[i].function == leaf && e[i].index == subleaf)
			return &e[i];
	return NULL;
}

void features_from_cpuid(struct cpu_features *f, const struct vmdef_cpuid *e, int n)
{
	const struct vmdef_cpuid *l;
	struct vmdef_cpuid c;
	int i;

	memset(f, 0, sizeof(*f));
	l = find_entry(e, n, 0, 0);
	if (l) {
		memcpy(f->vendor, &l->ebx, 4);
		memcpy(f->vendor + 4, &l->edx, 4);
		memcpy(f->vendor + 8, &l->ecx, 4);
		f->vendor[12] = '\0';
	}
	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		l = find_entry(e, n, vmmig_word_leaf(i), vmmig_word_subleaf(i));
		if (l) {
			c = *l;
			f->w[i] = *word_reg(&c, i);
		}
	}
}

/* @r's vendor: @a's when @b's is the same, else "". */
static void both_vendor(struct cpu_features *r, const struct cpu_features *a,
			const struct cpu_features *b)
{
	if (strcmp(a->vendor, b->vendor))
		r->vendor[0] = '\0';
	else if (r != a)
		memcpy(r->vendor, a->vendor, sizeof(r->vendor));
}

void features_and(struct cpu_features *r, const struct cpu_features *a,
		  const struct cpu_features *b)
{
	int i;

	both_vendor(r, a, b);
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		r->w[i] = a->w[i] & b->w[i];
}

void features_or(struct cpu_features *r, const struct cpu_features *a,
		 const struct cpu_features *b)
{
	int i;

	both_vendor(r, a, b);
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		r->w[i] = a->w[i] | b->w[i];
}

void features_lacking(struct cpu_features *r, const struct cpu_features *a,
		      const struct cpu_features *b)
{
	int i;

	if (r != a)
		memcpy(r->vendor, a->vendor, sizeof(r->vendor));
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		r->w[i] = a->w[i] & ~b->w[i];
}

bool features_empty(const struct cpu_features *f)
{
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (f->w[i])
			return false;
	return true;
}

bool features_subset(const struct cpu_features *a, const struct cpu_features *b)
{
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

bool features_equal(const struct cpu_features *a, const struct cpu_features *b)
{
	return !strcmp(a->vendor, b->vendor) && !memcmp(a->w, b->w, sizeof(a->w));
}

bool features_same_vendor(const struct cpu_features *a, const struct cpu_features *b)
{
	return a->vendor[0] && !strcmp(a->vendor, b->vendor);
}

const char *features_bit_name(int w, int b, char *buf, size_t len)
{
	const char *name = vmmig_feature_name(w, b);

	if (name)
		return name;
	snprintf(buf, len, "%s:%d", vmmig_word_name(w), b);
	return buf;
}

char *features_names(const struct cpu_features *f, char *buf, size_t len)
{
	size_t pos = 0, room;
	char bit[32];
	const char *name;
	int w, b, k;

	if (!len)
		return buf;
	room = len - 1;
	buf[0] = '\0';
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		for (b = 0; b < 32; b++) {
			if (!(f->w[w] & BIT(b)))
				continue;
			name = features_bit_name(w, b, bit, sizeof(bit));
			k = pos ? 1 : 0;
			if (pos + k + strlen(name) <= room) {
				pos += snprintf(buf + pos, len - pos, "%s%s", k ? " " : "", name);
				continue;
			}
			/* Whole names only, then " ..." within @len. */
			while (pos && pos + 4 > room) {
				while (pos && buf[pos - 1] != ' ')
					pos--;
				if (pos)
					pos--;
			}
			snprintf(buf + pos, len - pos, "%s", pos ? " ..." : "...");
			return buf;
		}
	}
	return buf;
}

unsigned int features_count(const struct cpu_features *f)
{
	unsigned int n = 0;
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		n += __builtin_popcount(f->w[i]);
	return n;
}

int features_minimum(struct cpu_features *f, const char *vendor)
{
	size_t i;

	for (i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		if (strcmp(vendor, vendors[i].vendor))
			continue;
		memset(f, 0, sizeof(*f));
		snprintf(f->vendor, sizeof(f->vendor), "%s", vendor);
		memcpy(f->w, vendors[i].minimum, sizeof(f->w));
		return 0;
	}
	return -EINVAL;
}

/* Is XSAVE component @c enabled in XCR0 words @eax/@edx (0xd.0)? */
static bool xcr0_has(uint32_t eax, uint32_t edx, uint32_t c)
{
	return c < 32 ? eax & BIT(c) : edx & BIT(c - 32);
}

void features_narrow_cpuid(struct vmdef_cpuid *e, int n, const uint32_t *mask)
{
	const struct vmdef_cpuid *xcr0 = find_entry(e, n, 0xd, 0);
	uint32_t eax = 0, edx = 0;
	int i, w;

	/* The user components the table offered before narrowing. */
	if (xcr0) {
		eax = xcr0->eax;
		edx = xcr0->edx;
	}
	for (i = 0; i < n; i++) {
		for (w = 0; w < VMMIG_NR_WORDS; w++)
			if (e[i].function == vmmig_word_leaf(w) &&
			    e[i].index == vmmig_word_subleaf(w))
				*word_reg(&e[i], w) &= mask[w];
		/*
		 * A sub-leaf of a component the guest may not enable would
		 * still give it the component's size and offset. 0xd.0 and
		 * 0xd.1 describe the leaf itself; the supervisor components
		 * (IA32_XSS: PT, CET, ...) are not XCR0's and stay.
		 */
		if (e[i].function != 0xd || e[i].index < 2 || e[i].index >= 64 ||
		    !xcr0_has(eax, edx, e[i].index) ||
		    xcr0_has(mask[VMMIG_WORD_D_0_EAX], mask[VMMIG_WORD_D_0_EDX], e[i].index))
			continue;
		e[i].eax = 0;
		e[i].ebx = 0;
		e[i].ecx = 0;
		e[i].edx = 0;
	}
}

static const struct jfield vendor_fields[] = {
	JFIELD(struct cpu_features, "vendor", JF_STR, vendor),
};

struct json_object *features_to_json(const struct cpu_features *f)
{
	struct json_object *o = json_object_new_object(), *words;
	uint64_t v[VMMIG_NR_WORDS];
	struct jfield wf[VMMIG_NR_WORDS];
	int i;

	jfield_encode(o, JFIELDS(vendor_fields), f);
	words = json_object_new_object();
	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		wf[i] = (struct jfield){ vmmig_word_name(i), JF_HEX, i * sizeof(v[0]),
					 sizeof(v[0]), 0, NULL, 0 };
		v[i] = f->w[i];
	}
	jfield_encode(words, wf, VMMIG_NR_WORDS, v);
	json_object_object_add(o, "words", words);
	return o;
}

int features_from_json(struct cpu_features *f, struct json_object *o, char *why)
{
	static const char what[] = "CPU features";
	struct jfield wf[VMMIG_NR_WORDS];
	uint64_t v[VMMIG_NR_WORDS] = { 0 };
	struct json_object *words, *vendor;
	int i, err;

	memset(f, 0, sizeof(*f));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "vendor", &vendor) ||
	    !json_object_object_get_ex(o, "words", &words)) {
		snprintf(why, VMMIG_ERRLEN, "%s: an object with 'vendor' and 'words' expected",
			 what);
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "vendor") && strcmp(key, "words")) {
			snprintf(why, VMMIG_ERRLEN, "%s: unknown key '%s'", what, key);
			return -EINVAL;
		}
	}
	err = jfield_decode(o, JFIELDS(vendor_fields), f, what, why);
	if (err)
		return err;
	if (!json_object_is_type(words, json_type_object))
		return jfield_bad(why, what, "words", "an object");
	json_object_object_foreach(words, name, wv) {
		(void)wv;
		if (vmmig_word_index(name) < 0) {
			snprintf(why, VMMIG_ERRLEN, "%s: unknown feature word '%s'", what, name);
			return -EINVAL;
		}
	}
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		wf[i] = (struct jfield){ vmmig_word_name(i), JF_HEX, i * sizeof(v[0]),
					 sizeof(v[0]), 0, NULL, 0 };
	err = jfield_decode(words, wf, VMMIG_NR_WORDS, v, what, why);
	if (err)
		return err;
	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		if (v[i] > UINT32_MAX)
			return jfield_bad(why, what, vmmig_word_name(i),
					  "a 32-bit hexadecimal string");
		f->w[i] = v[i];
	}
	return 0;
}

/* A hexadecimal number of at most 32 bits, "0x" optional. */
static int parse_hex32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s || !strchr("0123456789abcdefABCDEF", *s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 16);
	if (*end || errno || x > UINT32_MAX)
		return -EINVAL;
	*v = x;
	return 0;
}

int cpuid_dump_load(const char *path, struct vmdef_cpuid **e, int *n, char *why)
{
	struct vmdef_cpuid *t = NULL, *nt;
	char *line = NULL, *tok[7], *p, *save;
	uint32_t v[6];
	int count = 0, cap = 0, lineno = 0, k, err = 0;
	size_t size = 0;
	FILE *f;

	*e = NULL;
	*n = 0;
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		return err;
	}
	while (getline(&line, &size, f) > 0) {
		lineno++;
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		for (k = 0, p = line; k < 7; k++, p = NULL) {
			tok[k] = strtok_r(p, " \t\r\n", &save);
			if (!tok[k])
				break;
		}
		if (!k)
			continue;
		if (k != 6) {
			snprintf(why, VMMIG_ERRLEN,
				 "%s:%d: LEAF SUBLEAF EAX EBX ECX EDX expected", path, lineno);
			err = -EINVAL;
			break;
		}
		for (k = 0; k < 6 && !parse_hex32(tok[k], &v[k]); k++)
			;
		if (k < 6) {
			snprintf(why, VMMIG_ERRLEN,
				 "%s:%d: '%s' is not a 32-bit hexadecimal number",
				 path, lineno, tok[k]);
			err = -EINVAL;
			break;
		}
		if (find_entry(t, count, v[0], v[1])) {
			snprintf(why, VMMIG_ERRLEN, "%s:%d: leaf %#x.%#x given twice",
				 path, lineno, v[0], v[1]);
			err = -EINVAL;
			break;
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 32;
			nt = realloc(t, cap * sizeof(*t));
			if (!nt) {
				snprintf(why, VMMIG_ERRLEN, "%s: out of memory", path);
				err = -ENOMEM;
				break;
			}
			t = nt;
		}
		t[count++] = (struct vmdef_cpuid){ .function = v[0], .index = v[1], .eax = v[2],
						   .ebx = v[3], .ecx = v[4], .edx = v[5] };
	}
	if (!err && ferror(f)) {
		err = -EIO;
		snprintf(why, VMMIG_ERRLEN, "%s: read error", path);
	}
	free(line);
	fclose(f);
	if (err) {
		free(t);
		return err;
	}
	*e = t;
	*n = count;
	return 0;
}
