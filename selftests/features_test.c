// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of the CPU feature algebra (lib/features.c) on the
 * CPUID of real processors, selftests/data/cpuid/ (InstLatx64's dumps):
 * vendors, intersections and what each host lacks, the minimum sets, a
 * table narrowed by a mask, the JSON form and the dump reader's refusals.
 * Every expected feature list below was read off the dumps' registers.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "kselftest_harness.h"
#include "cpuid.h"
#include "features.h"

enum cpu {
	HASWELL, SKYLAKE, CASCADE, ICELAKE,	/* Intel, oldest first */
	ZEN1, ZEN2, ZEN3, ZEN4,			/* AMD, oldest first */
	NR_DUMPS
};

static const char *const dumps[NR_DUMPS] = {
	"intel-haswell-ep", "intel-skylake-sp", "intel-cascade-lake-sp", "intel-ice-lake-sp",
	"amd-zen1-naples", "amd-zen2-rome", "amd-zen3-milan", "amd-zen4-genoa",
};

/* selftests/data/cpuid beside this binary's build/ (or $VMMIG_CPUID_DATA). */
static const char *data_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("VMMIG_CPUID_DATA"))
		return getenv("VMMIG_CPUID_DATA");
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "selftests/data/cpuid";
	exe[n] = '\0';
	/* build/selftests/features_test: three levels up is the checkout. */
	snprintf(dir, sizeof(dir), "%s/selftests/data/cpuid", dirname(dirname(dirname(exe))));
	return dir;
}

static int load_table(enum cpu c, struct vmdef_cpuid **e, int *n, char *why)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s.txt", data_dir(), dumps[c]);
	return cpuid_dump_load(path, e, n, why);
}

static int load(enum cpu c, struct cpu_features *f, char *why)
{
	struct vmdef_cpuid *e;
	int n, err;

	err = load_table(c, &e, &n, why);
	if (err)
		return err;
	features_from_cpuid(f, e, n);
	free(e);
	return 0;
}

#define LOAD(c, f) do { \
	char why_[VMMIG_ERRLEN] = ""; \
	ASSERT_EQ(0, load(c, f, why_)) TH_LOG("%s", why_); \
} while (0)

/* The names of what @a has and @b lacks. */
static const char *lacking(const struct cpu_features *a, const struct cpu_features *b)
{
	static char buf[4096];
	struct cpu_features r;

	features_lacking(&r, a, b);
	return features_names(&r, buf, sizeof(buf));
}

/* @list is @want's names, space separated, in that order. */
static bool names_are(const char *list, const char *const *want)
{
	size_t len;

	for (; *want; want++) {
		len = strlen(*want);
		if (strncmp(list, *want, len) || (list[len] != ' ' && list[len]))
			return false;
		list += len + !!list[len];
	}
	return !*list;
}

#define EXPECT_NAMES(got, ...) do { \
	static const char *const want_[] = { __VA_ARGS__, NULL }; \
	const char *got_ = (got); \
	EXPECT_TRUE(names_are(got_, want_)) TH_LOG("%s", got_); \
} while (0)

static bool has_name(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strstr(list, name); p; p = strstr(p + 1, name))
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
	return false;
}

TEST(vendor_and_words)
{
	/* Each word from its own leaf, subleaf and register; 0 where the
	 * processor has no such leaf (Haswell's 7.1 and 0x80000021).
	 */
	static const struct {
		enum cpu c;
		int word;
		uint32_t value;
	} want[] = {
		{ HASWELL, VMMIG_WORD_1_ECX, 0x7ffefbff },
		{ HASWELL, VMMIG_WORD_1_EDX, 0xbfebfbff },
		{ HASWELL, VMMIG_WORD_7_0_EBX, 0x000037ab },
		{ HASWELL, VMMIG_WORD_7_0_EDX, 0x9c000400 },
		{ HASWELL, VMMIG_WORD_D_0_EAX, 0x00000007 },
		{ HASWELL, VMMIG_WORD_D_1_EAX, 0x00000001 },
		{ HASWELL, VMMIG_WORD_8000_0001_ECX, 0x00000021 },
		{ HASWELL, VMMIG_WORD_8000_0001_EDX, 0x2c100800 },
		{ HASWELL, VMMIG_WORD_7_1_EAX, 0 },
		{ HASWELL, VMMIG_WORD_8000_0021_EAX, 0 },
		{ ZEN4, VMMIG_WORD_7_0_EBX, 0xf1bf97a9 },
		{ ZEN4, VMMIG_WORD_7_1_EAX, 0x00000020 },
		{ ZEN4, VMMIG_WORD_D_0_EAX, 0x000002e7 },
		{ ZEN4, VMMIG_WORD_8000_0008_EBX, 0x79bef25f },
		{ ZEN4, VMMIG_WORD_8000_0021_EAX, 0x00062fcf },
	};
	struct cpu_features f;
	unsigned int i;
	int c;

	for (c = 0; c < NR_DUMPS; c++) {
		LOAD(c, &f);
		EXPECT_STREQ(c < ZEN1 ? "GenuineIntel" : "AuthenticAMD", f.vendor)
			TH_LOG("%s", dumps[c]);
	}
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		LOAD(want[i].c, &f);
		EXPECT_EQ(want[i].value, f.w[want[i].word])
			TH_LOG("%s %s", dumps[want[i].c], vmmig_word_name(want[i].word));
	}
	EXPECT_STREQ("avx512_bf16", lacking(&(struct cpu_features){
		.w[VMMIG_WORD_7_1_EAX] = f.w[VMMIG_WORD_7_1_EAX] }, &(struct cpu_features){}));
}

TEST(intel_intersection)
{
	struct cpu_features f[ZEN1], r;
	int c;

	for (c = HASWELL; c < ZEN1; c++)
		LOAD(c, &f[c]);
	/* Haswell-EP is a subset of Ice Lake-SP: their intersection is Haswell. */
	ASSERT_TRUE(features_subset(&f[HASWELL], &f[ICELAKE]));
	features_and(&r, &f[HASWELL], &f[ICELAKE]);
	EXPECT_TRUE(features_equal(&r, &f[HASWELL]));
	/* Skylake-SP of Cascade Lake-SP, which adds VNNI and the speculation controls. */
	features_and(&r, &f[CASCADE], &f[SKYLAKE]);
	EXPECT_TRUE(features_equal(&r, &f[SKYLAKE]));
	EXPECT_NAMES(lacking(&f[CASCADE], &f[SKYLAKE]), "avx512_vnni", "md_clear", "spec_ctrl",
		     "intel_stibp", "flush_l1d", "arch_capabilities", "spec_ctrl_ssbd");
	/* All four: Haswell but for the controls this Skylake-SP's microcode lacks. */
	r = f[HASWELL];
	for (c = SKYLAKE; c < ZEN1; c++)
		features_and(&r, &r, &f[c]);
	EXPECT_STREQ("GenuineIntel", r.vendor);
	EXPECT_NAMES(lacking(&f[HASWELL], &r), "md_clear", "spec_ctrl", "intel_stibp", "flush_l1d",
		     "spec_ctrl_ssbd");
	EXPECT_TRUE(features_subset(&r, &f[HASWELL]));
	/* No AVX-512 on Haswell, no MPX on Ice Lake, no TSX on this Haswell-EP. */
	EXPECT_FALSE(has_name(lacking(&r, &(struct cpu_features){}), "avx512f"));
	EXPECT_TRUE(has_name(lacking(&f[SKYLAKE], &f[HASWELL]), "avx512f"));
	EXPECT_TRUE(has_name(lacking(&f[SKYLAKE], &f[HASWELL]), "rtm"));
	EXPECT_STREQ("mpx xcr0_mpx_bndregs xcr0_mpx_bndcsr", lacking(&f[CASCADE], &f[ICELAKE]));
	EXPECT_EQ(features_count(&f[HASWELL]) - 5, features_count(&r));
}

TEST(amd_intersection)
{
	struct cpu_features f[NR_DUMPS], r;
	int c;

	for (c = ZEN1; c < NR_DUMPS; c++)
		LOAD(c, &f[c]);
	/* Zen 1 is a subset of every later EPYC: the intersection is Zen 1. */
	r = f[ZEN4];
	for (c = ZEN1; c < ZEN4; c++) {
		EXPECT_TRUE(features_subset(&f[ZEN1], &f[c + 1]));
		features_and(&r, &f[c], &r);
	}
	EXPECT_TRUE(features_equal(&r, &f[ZEN1]));
	EXPECT_TRUE(has_name(lacking(&f[ZEN2], &f[ZEN1]), "clwb"));
	EXPECT_TRUE(has_name(lacking(&f[ZEN4], &f[ZEN2]), "avx512f"));
	EXPECT_TRUE(has_name(lacking(&f[ZEN4], &f[ZEN2]), "xcr0_avx512_zmm_hi256"));
	/* This Milan dump has x2apic clear: the one thing Rome has that it lacks. */
	EXPECT_STREQ("x2apic", lacking(&f[ZEN2], &f[ZEN3]));
	EXPECT_FALSE(features_subset(&f[ZEN2], &f[ZEN3]));
}

TEST(lacking_against_union)
{
	struct cpu_features f[NR_DUMPS], u[2];
	int c;

	for (c = 0; c < NR_DUMPS; c++) {
		LOAD(c, &f[c]);
		if (c == HASWELL || c == ZEN1)
			u[c == ZEN1] = f[c];
		else
			features_or(&u[c >= ZEN1], &u[c >= ZEN1], &f[c]);
	}
	EXPECT_STREQ("GenuineIntel", u[0].vendor);
	EXPECT_STREQ("AuthenticAMD", u[1].vendor);
	/* Ice Lake-SP lacks only MPX of all Intel features here. */
	EXPECT_STREQ("mpx xcr0_mpx_bndregs xcr0_mpx_bndcsr", lacking(&u[0], &f[ICELAKE]));
	EXPECT_NAMES(lacking(&u[0], &f[CASCADE]), "sgx", "avx512ifma", "sha_ni", "avx512vbmi",
		     "umip", "avx512_vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512_bitalg", "tme",
		     "avx512_vpopcntdq", "la57", "rdpid", "sgx_lc", "7.0.edx:1", "fsrm", "pconfig",
		     "wbnoinvd");
	/* Genoa lacks Zen 3's branch sampling and two unnamed 0x80000008 bits. */
	EXPECT_STREQ("0x80000008.ebx:8 0x80000008.ebx:10 brs", lacking(&u[1], &f[ZEN4]));
	EXPECT_TRUE(has_name(lacking(&u[1], &f[ZEN1]), "clwb"));
	EXPECT_TRUE(has_name(lacking(&u[1], &f[ZEN1]), "x2apic"));
	EXPECT_TRUE(has_name(lacking(&u[1], &f[ZEN3]), "avx512f"));
	EXPECT_FALSE(has_name(lacking(&u[1], &f[ZEN3]), "vaes"));
	for (c = 0; c < NR_DUMPS; c++)
		EXPECT_TRUE(features_subset(&f[c], &u[c >= ZEN1])) TH_LOG("cpu %d", c);
}

TEST(vendors)
{
	struct cpu_features hsw, skx, zen, r;

	LOAD(HASWELL, &hsw);
	LOAD(SKYLAKE, &skx);
	LOAD(ZEN2, &zen);
	EXPECT_TRUE(features_same_vendor(&hsw, &skx));
	EXPECT_FALSE(features_same_vendor(&hsw, &zen));
	EXPECT_FALSE(features_same_vendor(&zen, &hsw));
	features_and(&r, &hsw, &zen);
	EXPECT_STREQ("", r.vendor);
	EXPECT_FALSE(features_empty(&r));	/* sse2 and friends are common */
	EXPECT_FALSE(features_same_vendor(&r, &r));	/* unknown is never the same */
	features_or(&r, &zen, &hsw);
	EXPECT_STREQ("", r.vendor);
	features_lacking(&r, &zen, &hsw);
	EXPECT_STREQ("AuthenticAMD", r.vendor);
	/* In place, @r as @b. */
	r = skx;
	features_and(&r, &hsw, &r);
	EXPECT_STREQ("GenuineIntel", r.vendor);
	EXPECT_NAMES(lacking(&hsw, &r), "md_clear", "spec_ctrl", "intel_stibp", "flush_l1d",
		     "spec_ctrl_ssbd");
}

TEST(minimum)
{
	struct cpu_features f, m, a, i, h;
	char buf[1024];
	int c;

	ASSERT_EQ(0, features_minimum(&a, "AuthenticAMD"));
	ASSERT_EQ(0, features_minimum(&i, "GenuineIntel"));
	ASSERT_EQ(0, features_minimum(&h, "HygonGenuine"));
	/* As Documentation/admin-guide/cpu-compat.rst lists them. */
	EXPECT_NAMES(features_names(&a, buf, sizeof(buf)),
		     "pni", "ssse3", "cx16", "sse4_1", "sse4_2", "popcnt",
		     "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
		     "mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse",
		     "sse2", "xcr0_x87", "xcr0_sse", "lahf_lm",
		     "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic",
		     "syscall", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "nx", "mmx", "fxsr",
		     "lm");
	EXPECT_NAMES(features_names(&i, buf, sizeof(buf)),
		     "pni", "ssse3", "cx16", "sse4_1", "sse4_2", "popcnt",
		     "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
		     "mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse",
		     "sse2", "xcr0_x87", "xcr0_sse", "lahf_lm", "syscall", "nx", "lm");
	EXPECT_STREQ("AuthenticAMD", a.vendor);
	EXPECT_EQ(0, memcmp(a.w, h.w, sizeof(a.w)));
	EXPECT_STREQ("HygonGenuine", h.vendor);
	/* Intel's is AMD's without the 0x80000001 EDX copies of leaf 1. */
	EXPECT_TRUE(features_subset(&i, &a));
	EXPECT_NAMES(lacking(&a, &i), "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8",
		     "apic", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "mmx", "fxsr");
	EXPECT_EQ(-EINVAL, features_minimum(&m, "CentaurHauls"));
	EXPECT_EQ(-EINVAL, features_minimum(&m, ""));
	for (c = 0; c < NR_DUMPS; c++) {
		LOAD(c, &f);
		ASSERT_EQ(0, features_minimum(&m, f.vendor));
		EXPECT_TRUE(features_subset(&m, &f))
			TH_LOG("%s lacks %s of the minimum", dumps[c], lacking(&m, &f));
	}
	/* Those copies are 0 on Intel: AMD's set is not Haswell's. */
	LOAD(HASWELL, &f);
	EXPECT_FALSE(features_subset(&a, &f));
}

/* Entry @leaf.@sub of @e, or NULL. */
static struct vmdef_cpuid *entry(struct vmdef_cpuid *e, int n, uint32_t leaf, uint32_t sub)
{
	int i;

	for (i = 0; i < n; i++)
		if (e[i].function == leaf && e[i].index == sub)
			return &e[i];
	return NULL;
}

/*
 * @new is @old narrowed by @mask: feature words ANDed, XSAVE sub-leaves in
 * @zeroed all 0, everything else as it was.
 */
static int check_narrowed(const struct vmdef_cpuid *old, const struct vmdef_cpuid *new, int n,
			  const uint32_t *mask, uint64_t zeroed, char *why)
{
	struct vmdef_cpuid want;
	const char *r;
	uint32_t *reg;
	int i, w;

	for (i = 0; i < n; i++) {
		want = old[i];
		for (w = 0; w < VMMIG_NR_WORDS; w++) {
			if (want.function != vmmig_word_leaf(w) ||
			    want.index != vmmig_word_subleaf(w))
				continue;
			r = vmmig_word_reg(w);
			reg = r[1] == 'a' ? &want.eax : r[1] == 'b' ? &want.ebx :
			      r[1] == 'c' ? &want.ecx : &want.edx;
			*reg &= mask[w];
		}
		if (want.function == 0xd && want.index < 64 && (zeroed & (1ULL << want.index)))
			want = (struct vmdef_cpuid){ .function = want.function,
						     .index = want.index, .flags = want.flags };
		if (memcmp(&want, &new[i], sizeof(want))) {
			snprintf(why, VMMIG_ERRLEN, "%#x.%u: %x %x %x %x, not %x %x %x %x",
				 new[i].function, new[i].index, new[i].eax, new[i].ebx, new[i].ecx,
				 new[i].edx, want.eax, want.ebx, want.ecx, want.edx);
			return -1;
		}
	}
	return 0;
}

TEST(narrow_cpuid)
{
	struct vmdef_cpuid *skx, *old, *genoa;
	struct cpu_features hsw, rome, f, g, want;
	char why[VMMIG_ERRLEN] = "";
	int n, ng;

	LOAD(HASWELL, &hsw);
	LOAD(ZEN2, &rome);
	ASSERT_EQ(0, load_table(SKYLAKE, &skx, &n, why)) TH_LOG("%s", why);
	old = malloc(n * sizeof(*old));
	ASSERT_NE(NULL, old);
	memcpy(old, skx, n * sizeof(*old));
	features_from_cpuid(&f, skx, n);
	features_and(&want, &f, &hsw);

	/* A Skylake-SP host in a cluster with a Haswell-EP one. */
	features_narrow_cpuid(skx, n, hsw.w);
	features_from_cpuid(&g, skx, n);
	EXPECT_TRUE(features_equal(&g, &want));
	EXPECT_STREQ("", lacking(&g, &hsw));
	/* MPX (3, 4) and AVX-512 (5, 6, 7) state gone, AVX's (2) kept. */
	EXPECT_EQ(0, check_narrowed(old, skx, n, hsw.w, 0xf8, why)) TH_LOG("%s", why);
	EXPECT_EQ(0x100, entry(skx, n, 0xd, 2)->eax);
	EXPECT_EQ(0, entry(skx, n, 0xd, 6)->eax);
	EXPECT_EQ(0x00000007, entry(skx, n, 0xd, 0)->eax);
	/* Not feature words: leaf 0, the signature, the largest XSAVE area. */
	EXPECT_EQ(0, memcmp(entry(old, n, 0, 0), entry(skx, n, 0, 0), sizeof(*skx)));
	EXPECT_EQ(0x00050654, entry(skx, n, 1, 0)->eax);
	EXPECT_EQ(0x00000a88, entry(skx, n, 0xd, 0)->ecx);
	/* Narrowing again by the same mask changes nothing. */
	memcpy(old, skx, n * sizeof(*old));
	features_narrow_cpuid(skx, n, hsw.w);
	EXPECT_EQ(0, memcmp(old, skx, n * sizeof(*old)));
	free(skx);
	free(old);

	/* Genoa with Rome: AVX-512 state goes; PKRU (9) stays, and so do the
	 * CET sub-leaves (0xb, 0xc), supervisor state that XCR0 never enables.
	 */
	ASSERT_EQ(0, load_table(ZEN4, &genoa, &ng, why)) TH_LOG("%s", why);
	old = malloc(ng * sizeof(*old));
	ASSERT_NE(NULL, old);
	memcpy(old, genoa, ng * sizeof(*old));
	features_narrow_cpuid(genoa, ng, rome.w);
	EXPECT_EQ(0, check_narrowed(old, genoa, ng, rome.w, 0xe0, why)) TH_LOG("%s", why);
	EXPECT_EQ(0x207, entry(genoa, ng, 0xd, 0)->eax);
	EXPECT_EQ(0x980, entry(genoa, ng, 0xd, 9)->ebx);
	EXPECT_EQ(0x10, entry(genoa, ng, 0xd, 0xb)->eax);
	EXPECT_EQ(0, entry(genoa, ng, 7, 1)->eax);	/* avx512_bf16 */
	features_from_cpuid(&g, genoa, ng);
	EXPECT_TRUE(features_subset(&g, &rome));
	free(genoa);
	free(old);
}

TEST(json_round_trip)
{
	struct cpu_features f, g;
	struct json_object *o, *p, *w;
	char why[VMMIG_ERRLEN];
	int c;

	for (c = 0; c < NR_DUMPS; c++) {
		LOAD(c, &f);
		o = features_to_json(&f);
		p = json_tokener_parse(json_object_to_json_string(o));
		ASSERT_NE(NULL, p);
		memset(&g, 0xff, sizeof(g));
		EXPECT_EQ(0, features_from_json(&g, p, why)) TH_LOG("%s: %s", dumps[c], why);
		EXPECT_TRUE(features_equal(&f, &g)) TH_LOG("%s", dumps[c]);
		if (c == HASWELL) {
			ASSERT_TRUE(json_object_object_get_ex(p, "words", &w));
			ASSERT_TRUE(json_object_object_get_ex(w, "7.0.ebx", &w));
			EXPECT_STREQ("0x37ab", json_object_get_string(w));
			w = json_object_object_get(p, "words");
			EXPECT_EQ(VMMIG_NR_WORDS, json_object_object_length(w));
		}
		json_object_put(o);
		json_object_put(p);
	}
}

TEST(json_refused)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"vendor\": \"GenuineIntel\", \"words\": {\"7.2.edx\": \"0x1\"}}",
		  "unknown feature word '7.2.edx'" },
		{ "{\"vendor\": \"GenuineIntel\", \"words\": {\"1.ecx\": \"0xzz\"}}",
		  "'1.ecx' must be a hexadecimal string" },
		{ "{\"vendor\": \"GenuineIntel\", \"words\": {\"1.ecx\": \"1f\"}}",
		  "'1.ecx' must be a hexadecimal string" },
		{ "{\"vendor\": \"GenuineIntel\", \"words\": {\"1.ecx\": 31}}",
		  "'1.ecx' must be a hexadecimal string" },
		{ "{\"vendor\": \"GenuineIntel\", \"words\": {\"1.edx\": \"0x100000000\"}}",
		  "'1.edx' must be a 32-bit hexadecimal string" },
		{ "{\"vendor\": \"GenuineIntelX\", \"words\": {}}", "'vendor' must be a string" },
		{ "{\"vendor\": 1, \"words\": {}}", "'vendor' must be a string" },
		{ "{\"vendor\": \"\", \"words\": []}", "'words' must be an object" },
		{ "{\"vendor\": \"\", \"words\": {}, \"mode\": 1}", "unknown key 'mode'" },
		{ "{\"words\": {}}", "an object with 'vendor' and 'words' expected" },
		{ "[]", "an object with 'vendor' and 'words' expected" },
	};
	char why[VMMIG_ERRLEN];
	struct cpu_features f;
	struct json_object *o;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		o = json_tokener_parse(bad[i].json);
		ASSERT_NE(NULL, o) TH_LOG("%s", bad[i].json);
		why[0] = '\0';
		EXPECT_EQ(-EINVAL, features_from_json(&f, o, why)) TH_LOG("%s", bad[i].json);
		EXPECT_NE(NULL, strstr(why, bad[i].why)) TH_LOG("%s: %s", bad[i].json, why);
		EXPECT_EQ(NULL, strchr(why, '\n'));
		json_object_put(o);
	}
	/* Words left out are 0; an unknown vendor is kept as it is. */
	o = json_tokener_parse("{\"vendor\": \"CentaurHauls\", \"words\": {\"1.edx\": \"0x1\"}}");
	ASSERT_EQ(0, features_from_json(&f, o, why)) TH_LOG("%s", why);
	EXPECT_STREQ("CentaurHauls", f.vendor);
	EXPECT_EQ(1, features_count(&f));
	EXPECT_STREQ("fpu", lacking(&f, &(struct cpu_features){}));
	json_object_put(o);
}

TEST(names)
{
	char full[4096], cut[64], tiny[4];
	struct cpu_features f = { .vendor = "" };
	size_t len;

	LOAD(ZEN4, &f);
	features_names(&f, full, sizeof(full));
	/* One name per bit set. */
	len = 1;
	for (char *p = full; *p; p++)
		len += *p == ' ';
	EXPECT_EQ(features_count(&f), len);
	features_names(&f, cut, sizeof(cut));
	len = strlen(cut);
	EXPECT_LT(len, sizeof(cut));
	EXPECT_STREQ(" ...", cut + len - 4);
	/* Whole names only: what is before " ..." starts the full list. */
	EXPECT_EQ(0, strncmp(full, cut, len - 4));
	EXPECT_EQ(' ', full[len - 4]);
	features_names(&f, tiny, sizeof(tiny));
	EXPECT_STREQ("...", tiny);
	memset(&f, 0, sizeof(f));
	f.w[VMMIG_WORD_7_0_ECX] = 1U << 31 | 1U << 1;
	EXPECT_STREQ("avx512vbmi 7.0.ecx:31", features_names(&f, full, sizeof(full)));
	memset(&f, 0, sizeof(f));
	EXPECT_STREQ("", features_names(&f, full, sizeof(full)));
	EXPECT_TRUE(features_empty(&f));
}

/* cpuid_dump_load() of @text, written to a temporary file. */
static int load_text(const char *text, struct vmdef_cpuid **e, int *n, char *why)
{
	char path[] = "/tmp/features_test.XXXXXX";
	int fd = mkstemp(path), err;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -EIO;
	close(fd);
	err = cpuid_dump_load(path, e, n, why);
	unlink(path);
	return err;
}

TEST(dump_reader)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "# x\n0 0 1 2 3\n", ":2: LEAF SUBLEAF EAX EBX ECX EDX expected" },
		{ "0 0 1 2 3 4 5\n", ":1: LEAF SUBLEAF EAX EBX ECX EDX expected" },
		{ "0 0 1 2 3 0xg\n", ":1: '0xg' is not a 32-bit hexadecimal number" },
		{ "0 0 1 2 3 0x100000000\n", ":1: '0x100000000' is not a 32-bit" },
		{ "7 0 1 2 3 -1\n", ":1: '-1' is not a 32-bit" },
		{ "7 0 1 2 3 4\n\n7 0x0 1 2 3 4\n", ":3: leaf 0x7.0 given twice" },
	};
	struct vmdef_cpuid *e;
	char why[VMMIG_ERRLEN];
	unsigned int i;
	int n;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		EXPECT_EQ(-EINVAL, load_text(bad[i].text, &e, &n, why)) TH_LOG("%s", bad[i].text);
		EXPECT_NE(NULL, strstr(why, bad[i].why)) TH_LOG("%s", why);
		EXPECT_EQ(NULL, e);
	}
	ASSERT_EQ(0, load_text("# comment\n\t\n0x7 1 0x20 0 0 0 # avx512_bf16\n"
			       "7 0 0 0xF1BF97A9 0 0\n", &e, &n, why)) TH_LOG("%s", why);
	ASSERT_EQ(2, n);
	EXPECT_EQ(7, e[0].function);
	EXPECT_EQ(1, e[0].index);
	EXPECT_EQ(0x20, e[0].eax);
	EXPECT_EQ(0xf1bf97a9, e[1].ebx);
	EXPECT_EQ(0, e[1].flags);
	free(e);
	EXPECT_EQ(-ENOENT, cpuid_dump_load("/nonexistent/cpuid.txt", &e, &n, why));
	EXPECT_NE(NULL, strstr(why, "/nonexistent/cpuid.txt: "));
}

TEST_HARNESS_MAIN
