// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "cpuid.h"

static const struct {
	uint32_t leaf, subleaf;
	uint32_t reg;
	const char *name;
} words[VMMIG_NR_WORDS] = {
#define VMMIG_WORD(w, l, s, r, kcap, n) [w] = { l, s, r, n },
#include <vmmig/cpuid_table.h>
};

/* The same names vmmig.ko uses in its messages. */
static const struct {
	int word, bit;
	const char *name;
} features[] = {
#define VMMIG_FEATURE(w, b, n) { w, b, n },
#include <vmmig/cpuid_table.h>
};

const char *vmmig_word_name(int word)
{
	return word >= 0 && word < VMMIG_NR_WORDS ? words[word].name : "?";
}

int vmmig_word_index(const char *name)
{
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (!strcmp(words[i].name, name))
			return i;
	return -1;
}

const char *vmmig_word_reg(int word)
{
	static const char *const regs[] = { "eax", "ebx", "ecx", "edx" };

	return regs[words[word].reg];
}

uint32_t vmmig_word_leaf(int word)
{
	return words[word].leaf;
}

uint32_t vmmig_word_subleaf(int word)
{
	return words[word].subleaf;
}

const char *vmmig_feature_name(int word, int bit)
{
	size_t i;

	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (features[i].word == word && features[i].bit == bit)
			return features[i].name;
	return NULL;
}

const char *vmmig_cpu_mode_name(uint32_t mode)
{
	static const char *const names[] = {
		[VMMIG_CPU_MODE_OFF] = "off",
		[VMMIG_CPU_MODE_COMMON] = "common",
		[VMMIG_CPU_MODE_MINIMUM] = "minimum",
	};

	return mode <= VMMIG_CPU_MODE_MAX ? names[mode] : "unknown";
}

int vmmig_cpu_mode_parse(const char *s)
{
	uint32_t m;

	for (m = 0; m <= VMMIG_CPU_MODE_MAX; m++)
		if (!strcmp(s, vmmig_cpu_mode_name(m)))
			return m;
	return -1;
}

const char *vmmig_compliance_name(uint32_t c)
{
	static const char *const names[] = {
		[VMMIG_COMPLIANCE_UNKNOWN] = "unknown",
		[VMMIG_COMPLIANCE_OK] = "ok",
		[VMMIG_COMPLIANCE_EXCEEDS] = "exceeds",
	};

	return c <= VMMIG_COMPLIANCE_MAX ? names[c] : "?";
}

static struct nla_policy word_policy[VMMIG_WORD_A_MAX + 1] = {
	[VMMIG_WORD_A_LEAF] = { .type = NLA_U32 },
	[VMMIG_WORD_A_SUBLEAF] = { .type = NLA_U32 },
	[VMMIG_WORD_A_REG] = { .type = NLA_U32 },
	[VMMIG_WORD_A_VALUE] = { .type = NLA_U32 },
	[VMMIG_WORD_A_BIT] = { .type = NLA_U32 },
	[VMMIG_WORD_A_NAME] = { .type = NLA_NUL_STRING },
};

struct nla_policy vmmig_cpuid_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_WORDS] = { .type = NLA_NESTED },
	[VMMIG_CPUID_A_COMMON] = { .type = NLA_NESTED },
	[VMMIG_CPUID_A_COMMON_SET] = { .type = NLA_U8 },
	[VMMIG_CPUID_A_MINIMUM] = { .type = NLA_NESTED },
	[VMMIG_CPUID_A_IGNORED] = { .type = NLA_NESTED },
	[VMMIG_CPUID_A_STRICT] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_HANDLE] = { .type = NLA_NESTED },
	[VMMIG_CPUID_A_VM_MODE] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_COMPLIANCE] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_PID] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_VCPUS] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_EXCESS] = { .type = NLA_NESTED },
};

/* The word a LEAF/SUBLEAF/REG nest names, -1 if none; *bit or *value too. */
static int parse_word(struct nlattr *a, uint32_t *value, uint32_t *bit)
{
	struct nlattr *tb[VMMIG_WORD_A_MAX + 1];
	int i;

	if (nla_parse_nested(tb, VMMIG_WORD_A_MAX, a, word_policy) ||
	    !tb[VMMIG_WORD_A_LEAF] || !tb[VMMIG_WORD_A_SUBLEAF] ||
	    !tb[VMMIG_WORD_A_REG])
		return -1;
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (words[i].leaf == nla_get_u32(tb[VMMIG_WORD_A_LEAF]) &&
		    words[i].subleaf == nla_get_u32(tb[VMMIG_WORD_A_SUBLEAF]) &&
		    words[i].reg == nla_get_u32(tb[VMMIG_WORD_A_REG]))
			break;
	if (i == VMMIG_NR_WORDS)
		return -1;
	if (value)
		*value = tb[VMMIG_WORD_A_VALUE] ? nla_get_u32(tb[VMMIG_WORD_A_VALUE]) : 0;
	if (bit)
		*bit = tb[VMMIG_WORD_A_BIT] ? nla_get_u32(tb[VMMIG_WORD_A_BIT]) : 32;
	return i;
}

/* Words this client does not know (a newer module) are skipped. */
static int parse_words(struct nlattr *nest, uint32_t *w)
{
	struct nlattr *a;
	uint32_t v;
	int rem, i;

	if (!nest)
		return -EBADMSG;
	memset(w, 0, VMMIG_NR_WORDS * sizeof(*w));
	nla_for_each_nested(a, nest, rem) {
		i = parse_word(a, &v, NULL);
		if (i >= 0)
			w[i] = v;
	}
	return 0;
}

static int features_reply(struct nlattr **attrs, int cmd, void *arg)
{
	return parse_words(attrs[VMMIG_CPUID_A_WORDS], arg);
}

int vmmig_host_features(struct vmmig_nl *nl, uint32_t *w)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_HOST_FEATURES, 0);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_cpuid_policy, VMMIG_CPUID_A_MAX,
				features_reply, w);
}

static int policy_reply(struct nlattr **a, int cmd, void *arg)
{
	struct vmmig_policy *p = arg;

	if (parse_words(a[VMMIG_CPUID_A_COMMON], p->common) ||
	    parse_words(a[VMMIG_CPUID_A_MINIMUM], p->minimum) ||
	    parse_words(a[VMMIG_CPUID_A_IGNORED], p->ignored) ||
	    !a[VMMIG_CPUID_A_STRICT])
		return -EBADMSG;
	p->common_set = a[VMMIG_CPUID_A_COMMON_SET] &&
			nla_get_u8(a[VMMIG_CPUID_A_COMMON_SET]);
	p->strict = nla_get_u32(a[VMMIG_CPUID_A_STRICT]);
	return 0;
}

int vmmig_policy_get(struct vmmig_nl *nl, struct vmmig_policy *p)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_GET, 0);

	memset(p, 0, sizeof(*p));
	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_cpuid_policy, VMMIG_CPUID_A_MAX,
				policy_reply, p);
}

static int put_words(struct nl_msg *msg, int attr, uint32_t given,
		     const uint32_t *w)
{
	struct nlattr *nest = nla_nest_start(msg, attr), *word;
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		if (!(given & (1u << i)))
			continue;
		word = nla_nest_start(msg, VMMIG_CPUID_A_WORD);
		if (!word ||
		    nla_put_u32(msg, VMMIG_WORD_A_LEAF, words[i].leaf) ||
		    nla_put_u32(msg, VMMIG_WORD_A_SUBLEAF, words[i].subleaf) ||
		    nla_put_u32(msg, VMMIG_WORD_A_REG, words[i].reg) ||
		    nla_put_u32(msg, VMMIG_WORD_A_VALUE, w[i]))
			return -EMSGSIZE;
		nla_nest_end(msg, word);
	}
	nla_nest_end(msg, nest);
	return 0;
}

int vmmig_policy_set(struct vmmig_nl *nl, const struct vmmig_policy_change *c)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	int err = 0;

	if (!msg)
		return -ENOMEM;
	/* The kernel takes one reset per request; common first. */
	if (c->reset_common)
		err = nla_put_u32(msg, VMMIG_CPUID_A_RESET, VMMIG_CPU_MODE_COMMON);
	else if (c->reset_minimum)
		err = nla_put_u32(msg, VMMIG_CPUID_A_RESET, VMMIG_CPU_MODE_MINIMUM);
	if (!err && c->common_given)
		err = put_words(msg, VMMIG_CPUID_A_COMMON, c->common_given, c->common);
	if (!err && c->minimum_given)
		err = put_words(msg, VMMIG_CPUID_A_MINIMUM, c->minimum_given, c->minimum);
	if (!err && c->has_strict)
		err = nla_put_u32(msg, VMMIG_CPUID_A_STRICT, c->strict);
	if (!err && c->vm_name)
		err = vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE,
				       VMMIG_BY_NAME(c->vm_name)) ||
		      nla_put_u32(msg, VMMIG_CPUID_A_VM_MODE, c->vm_mode);
	if (err) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	err = vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
	/* Both resets: the second in its own request. */
	if (!err && c->reset_common && c->reset_minimum) {
		msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
		if (!msg)
			return -ENOMEM;
		if (nla_put_u32(msg, VMMIG_CPUID_A_RESET, VMMIG_CPU_MODE_MINIMUM)) {
			nlmsg_free(msg);
			return -EMSGSIZE;
		}
		err = vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
	}
	return err;
}

int vmmig_audit_parse(struct nlattr **a, struct vmmig_audit *r)
{
	struct nlattr *f;
	uint32_t bit;
	int rem, w;

	memset(r, 0, sizeof(*r));
	if (!a[VMMIG_CPUID_A_COMPLIANCE] || !a[VMMIG_CPUID_A_EXCESS])
		return -EBADMSG;
	/* No handle: the VM is not registered. */
	if (a[VMMIG_CPUID_A_HANDLE] &&
	    vmmig_handle_parse(a[VMMIG_CPUID_A_HANDLE], r->name, r->uuid))
		return -EBADMSG;
	r->compliance = nla_get_u32(a[VMMIG_CPUID_A_COMPLIANCE]);
	r->pid = a[VMMIG_CPUID_A_PID] ? nla_get_u32(a[VMMIG_CPUID_A_PID]) : 0;
	r->mode = a[VMMIG_CPUID_A_VM_MODE] ? nla_get_u32(a[VMMIG_CPUID_A_VM_MODE]) : 0;
	r->vcpus = a[VMMIG_CPUID_A_VCPUS] ? nla_get_u32(a[VMMIG_CPUID_A_VCPUS]) : 0;
	nla_for_each_nested(f, a[VMMIG_CPUID_A_EXCESS], rem) {
		w = parse_word(f, NULL, &bit);
		if (w >= 0 && bit < 32)
			r->excess[w] |= 1u << bit;
	}
	return 0;
}

static int audit_reply(struct nlattr **attrs, int cmd, void *arg)
{
	return vmmig_audit_parse(attrs, arg);
}

int vmmig_vm_audit(struct vmmig_nl *nl, struct vmmig_handle vm, int mode,
		   struct vmmig_audit *a)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_VM_AUDIT, 0);
	int err;

	if (!msg)
		return -ENOMEM;
	err = vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, vm) ||
	      (mode >= 0 && nla_put_u32(msg, VMMIG_CPUID_A_VM_MODE, mode));
	if (err) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vmmig_nl_request(nl, msg, vmmig_cpuid_policy, VMMIG_CPUID_A_MAX,
				audit_reply, a);
}
