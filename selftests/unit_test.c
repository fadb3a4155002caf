// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of the user-space library: the text/JSON print path
 * and the decoding of the kernel's extended ACK.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <json-c/json.h>

#include "kselftest_harness.h"
#include "host.h"
#include "nl.h"
#include "output.h"

/* Runs @fn with stdout redirected into @buf. */
static void capture(void (*fn)(void), char *buf, size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	size_t n;

	fflush(stdout);
	dup2(fileno(tmp), STDOUT_FILENO);
	fn();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static const struct vmmig_host sample = {
	.module_version = "0.1.0",
	.kernel_release = "6.1.0-56-amd64",
	.cpu_vendor = "AuthenticAMD",
	.cpu_family = 25, .cpu_model = 1, .cpu_stepping = 1,
	.cpu_model_name = "AMD EPYC 7543 32-Core Processor",
	.kvm = 1, .vm_count = 3, .migration = true, .max_migrations = 4,
};

/* The CLI's printer lives in the CLI; the unit test prints the same way. */
static void print_sample(void)
{
	print_string(PRINT_ANY, "module_version", "vmmig.ko %s", sample.module_version);
	open_object("cpu");
	print_string(PRINT_ANY, "vendor", " cpu %s", sample.cpu_vendor);
	print_uint(PRINT_ANY, "family", " family %lu", sample.cpu_family);
	close_object();
	print_string(PRINT_ANY, "kvm", " kvm %s", vmmig_kvm_name(sample.kvm));
	print_bool(PRINT_ANY, "migration", " migration %s", sample.migration);
	print_string(PRINT_JSON, "absent", NULL, NULL);
	print_text(" text-only");
	print_nl();
	output_flush();
}

TEST(text_output)
{
	char buf[1024];

	output_init(false, false);
	capture(print_sample, buf, sizeof(buf));
	EXPECT_STREQ("vmmig.ko 0.1.0 cpu AuthenticAMD family 25 kvm amd "
		     "migration on text-only\n", buf);
}

TEST(json_output)
{
	struct json_object *o, *cpu, *v;
	char buf[1024];

	output_init(true, false);
	capture(print_sample, buf, sizeof(buf));
	/* One object, one line. */
	ASSERT_EQ(1, (int)(strchr(buf, '\n') - buf + 1 == (long)strlen(buf)));
	o = json_tokener_parse(buf);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "module_version", &v));
	EXPECT_STREQ("0.1.0", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(o, "cpu", &cpu));
	ASSERT_TRUE(json_object_object_get_ex(cpu, "family", &v));
	EXPECT_EQ(25, json_object_get_int(v));
	ASSERT_TRUE(json_object_object_get_ex(o, "kvm", &v));
	EXPECT_STREQ("amd", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(o, "migration", &v));
	EXPECT_TRUE(json_object_get_boolean(v));
	ASSERT_TRUE(json_object_object_get_ex(o, "absent", &v));
	EXPECT_EQ(NULL, v);
	EXPECT_EQ(NULL, strstr(buf, "text-only"));
	json_object_put(o);
}

/* Builds an error message the way the kernel does; returns its length. */
static size_t build_ack(char *buf, int error, bool capped, const char *text,
			bool range)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = NLMSG_DATA(h);
	size_t len = NLMSG_HDRLEN + sizeof(*e);
	struct nlattr *a;

	memset(buf, 0, 1024);
	e->error = error;
	e->msg.nlmsg_len = NLMSG_HDRLEN + 24;	/* the request */
	if (!capped)
		len += 24;
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);

	a = (struct nlattr *)(buf + len);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = NLA_HDRLEN + strlen(text) + 1;
	strcpy((char *)a + NLA_HDRLEN, text);
	len += NLA_ALIGN(a->nla_len);

	a = (struct nlattr *)(buf + len);
	a->nla_type = NLMSGERR_ATTR_OFFS;
	a->nla_len = NLA_HDRLEN + 4;
	*(uint32_t *)((char *)a + NLA_HDRLEN) = 20;
	len += NLA_ALIGN(a->nla_len);

	if (range) {
		struct nlattr *nest = (struct nlattr *)(buf + len);
		uint64_t v;

		nest->nla_type = NLMSGERR_ATTR_POLICY | NLA_F_NESTED;
		len += NLA_HDRLEN;
		a = (struct nlattr *)(buf + len);
		a->nla_type = NL_POLICY_TYPE_ATTR_MIN_VALUE_U;
		a->nla_len = NLA_HDRLEN + 8;
		v = 1;
		memcpy((char *)a + NLA_HDRLEN, &v, 8);
		len += NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)(buf + len);
		a->nla_type = NL_POLICY_TYPE_ATTR_MAX_VALUE_U;
		a->nla_len = NLA_HDRLEN + 8;
		v = 64;
		memcpy((char *)a + NLA_HDRLEN, &v, 8);
		len += NLA_ALIGN(a->nla_len);
		nest->nla_len = (char *)buf + len - (char *)nest;
	}
	h->nlmsg_len = len;
	return len;
}

TEST(extack_capped_with_range)
{
	struct vmmig_nl nl = {};
	char buf[1024];

	build_ack(buf, -ERANGE, true, "integer out of range", true);
	vmmig_nl_parse_ack((struct nlmsghdr *)buf, &nl.err);
	EXPECT_EQ(-ERANGE, nl.err.error);
	EXPECT_STREQ("integer out of range", nl.err.msg);
	EXPECT_TRUE(nl.err.has_offset);
	EXPECT_EQ(20, nl.err.offset);
	ASSERT_TRUE(nl.err.has_range);
	EXPECT_EQ(1, nl.err.min);
	EXPECT_EQ(64, nl.err.max);
	EXPECT_STREQ("integer out of range (valid range 1..64)",
		     vmmig_nl_strerror(&nl, -ERANGE));
}

TEST(extack_uncapped)
{
	struct vmmig_nl nl = {};
	char buf[1024];

	build_ack(buf, -EINVAL, false, "vmmig: no host setting given", false);
	vmmig_nl_parse_ack((struct nlmsghdr *)buf, &nl.err);
	EXPECT_STREQ("vmmig: no host setting given", nl.err.msg);
	EXPECT_FALSE(nl.err.has_range);
	EXPECT_STREQ("vmmig: no host setting given",
		     vmmig_nl_strerror(&nl, -EINVAL));
}

TEST(errors_without_extack)
{
	struct vmmig_nl nl = {};

	EXPECT_STREQ("vmmig.ko is not loaded (modprobe vmmig)",
		     vmmig_nl_strerror(&nl, -ENOENT));
	EXPECT_STREQ("permission denied: this command needs CAP_NET_ADMIN",
		     vmmig_nl_strerror(&nl, -EPERM));
	EXPECT_STREQ(strerror(EOPNOTSUPP), vmmig_nl_strerror(&nl, -EOPNOTSUPP));
}

TEST(enum_names)
{
	EXPECT_STREQ("none", vmmig_kvm_name(0));
	EXPECT_STREQ("intel", vmmig_kvm_name(2));
	EXPECT_STREQ("unknown", vmmig_kvm_name(99));
	EXPECT_STREQ("going", vmmig_module_state_name(1));
	EXPECT_STREQ("unknown", vmmig_module_state_name(7));
}

TEST_HARNESS_MAIN
