// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of the user-space library: the text/JSON print path,
 * the decoding of the kernel's extended ACK, the VMM control protocol's
 * messages, and the number reader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <json-c/json.h>

#include "kselftest_harness.h"
#include "ctl_proto.h"
#include "dctl.h"
#include "frame.h"
#include "host.h"
#include "mig.h"
#include "nl.h"
#include "output.h"
#include "parse.h"
#include "vmdef.h"

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

/* Parses @line as the VMM does; the result, and the reason in @why. */
static int parse_request(const char *line, struct ctl_request *r, char *why)
{
	struct json_object *o = json_tokener_parse(line);
	int err = ctl_request_from_json(o, r, why);

	json_object_put(o);
	return err;
}

TEST(ctl_request_round_trip)
{
	struct ctl_request a = { .cmd = CTL_REQ_SAVE, .live = true, .path = "/tmp/x.state" }, b;
	struct json_object *o = ctl_request_to_json(&a);
	char why[VMMIG_ERRLEN];
	struct json_object *v;

	ASSERT_TRUE(json_object_object_get_ex(o, CTL_KEY_VERSION, &v));
	EXPECT_EQ(CTL_PROTO_VERSION, json_object_get_int(v));
	ASSERT_EQ(0, ctl_request_from_json(o, &b, why));
	EXPECT_EQ(CTL_REQ_SAVE, b.cmd);
	EXPECT_STREQ("/tmp/x.state", b.path);
	EXPECT_TRUE(b.live);
	EXPECT_FALSE(b.hash);
	json_object_put(o);
}

/* The options of a live save travel only when given, and come back as given. */
TEST(ctl_request_live_opts)
{
	struct ctl_request a = { .cmd = CTL_REQ_SAVE, .live = true, .path = "/x" }, b;
	struct json_object *o = ctl_request_to_json(&a), *v;
	char why[VMMIG_ERRLEN];
	struct mig_opts m;

	EXPECT_FALSE(json_object_object_get_ex(o, CTL_ARG_DOWNTIME_LIMIT, &v));
	EXPECT_FALSE(json_object_object_get_ex(o, CTL_ARG_ON_TIMEOUT, &v));
	json_object_put(o);
	a.lo = (struct ctl_live_opts){ .timeout_s = 2, .has_timeout = true,
				       .on_timeout = MIG_TIMEOUT_PAUSE, .has_on_timeout = true };
	o = ctl_request_to_json(&a);
	EXPECT_FALSE(json_object_object_get_ex(o, CTL_ARG_DOWNTIME_LIMIT, &v));
	ASSERT_TRUE(json_object_object_get_ex(o, CTL_ARG_ON_TIMEOUT, &v));
	EXPECT_STREQ("pause", json_object_get_string(v));
	ASSERT_EQ(0, ctl_request_from_json(o, &b, why));
	json_object_put(o);
	ctl_live_opts_apply(&b.lo, &m);
	EXPECT_EQ(MIG_DEFAULT_DOWNTIME_MS, m.downtime_limit_ms);
	EXPECT_EQ(2, m.timeout_s);
	EXPECT_EQ(MIG_TIMEOUT_PAUSE, m.on_timeout);
	EXPECT_EQ(-EINVAL, parse_request("{\"cmd\":\"save\",\"version\":1,\"on_timeout\":\"wait\"}", &b, why));
	EXPECT_STREQ("save: 'on_timeout' must be one of the names it takes", why);
}

TEST(ctl_request_refused)
{
	static const struct {
		const char *line, *why;
		int err;
	} bad[] = {
		{ "{\"cmd\":\"status\",\"version\":3}", "control protocol version 3 is not one this VMM speaks (1-2): restart the VM with this vmmig", -EPROTONOSUPPORT },
		{ "{\"cmd\":\"status\",\"version\":0}", "control protocol version 0 is not one this VMM speaks (1-2): restart the VM with this vmmig", -EPROTONOSUPPORT },
		{ "{\"cmd\":\"status\"}", "the request has no control protocol version (this VMM speaks 1-2)", -EPROTONOSUPPORT },
		{ "{\"cmd\":\"status\",\"version\":\"1\"}", "the request has no control protocol version (this VMM speaks 1-2)", -EPROTONOSUPPORT },
		{ "{\"version\":1}", "the request has no \"cmd\"", -EINVAL },
		{ "{\"cmd\":\"halt\",\"version\":1}", "unknown request 'halt'", -EINVAL },
		{ "{\"cmd\":\"pause\",\"version\":1,\"force\":true}", "pause: unknown argument 'force'", -EINVAL },
		{ "{\"cmd\":\"save\",\"version\":1,\"hash\":1}", "save: 'hash' must be true or false", -EINVAL },
		{ "{\"cmd\":\"save\",\"version\":1,\"path\":7}", "save: 'path' must be a string", -EINVAL },
		{ "[1]", "a request must be a JSON object on one line", -EINVAL },
		{ "status", "a request must be a JSON object on one line", -EINVAL },
	};
	struct ctl_request r;
	char why[VMMIG_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		EXPECT_EQ(bad[i].err, parse_request(bad[i].line, &r, why)) TH_LOG("%s", bad[i].line);
		EXPECT_STREQ(bad[i].why, why);
	}
	EXPECT_EQ(0, parse_request("{\"cmd\":\"console\",\"version\":1,\"force\":true}", &r, why));
	EXPECT_EQ(CTL_REQ_CONSOLE, r.cmd);
	EXPECT_TRUE(r.force);
}

TEST(ctl_status_round_trip)
{
	static struct ctl_status a = {
		.name = "w", .uuid = { 0x12, 0x34, [6] = 0x40, [8] = 0x80, [15] = 0xff },
		.state = CTL_PAUSED, .pid = 42, .uptime_ns = 1ULL << 40, .registered = true,
		.has_workload = true, .wl = { .counter = 7, .checksum = 0xfedcba9876543210ULL },
		.has_memory_hash = true, .memory_hash = ~0ULL, .nvcpus = 2,
	}, b;
	struct json_object *o = ctl_reply_new(0, NULL), *v;
	char why[VMMIG_ERRLEN];

	a.regs[1][CTL_REG_EFER] = 0xd01;
	ctl_status_to_json(o, &a);
	ASSERT_TRUE(json_object_object_get_ex(o, CTL_RES_UUID, &v));
	EXPECT_STREQ("12340000-0000-4000-8000-0000000000ff", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(o, CTL_RES_STATE, &v));
	EXPECT_STREQ("paused", json_object_get_string(v));
	ASSERT_EQ(0, ctl_status_from_json(o, &b, why));
	EXPECT_EQ(CTL_PROTO_VERSION, b.version);
	EXPECT_STREQ("w", b.name);
	EXPECT_EQ(0, memcmp(a.uuid, b.uuid, sizeof(a.uuid)));
	EXPECT_EQ(CTL_PAUSED, b.state);
	EXPECT_EQ(42, b.pid);
	EXPECT_EQ(1ULL << 40, b.uptime_ns);
	EXPECT_TRUE(b.registered);
	EXPECT_FALSE(b.console_attached);
	EXPECT_TRUE(b.has_workload);
	EXPECT_EQ(0xfedcba9876543210ULL, b.wl.checksum);
	EXPECT_TRUE(b.has_memory_hash);
	EXPECT_EQ(~0ULL, b.memory_hash);
	EXPECT_EQ(2, b.nvcpus);
	EXPECT_EQ(0xd01, b.regs[1][CTL_REG_EFER]);
	json_object_put(o);

	/* Running: no memory hash, no registers. */
	a.state = CTL_RUNNING;
	a.has_memory_hash = false;
	a.nvcpus = 0;
	o = ctl_reply_new(0, NULL);
	ctl_status_to_json(o, &a);
	EXPECT_FALSE(json_object_object_get_ex(o, CTL_RES_MEMORY_HASH, NULL));
	EXPECT_FALSE(json_object_object_get_ex(o, CTL_RES_REGISTERS, NULL));
	ASSERT_EQ(0, ctl_status_from_json(o, &b, why));
	EXPECT_FALSE(b.has_memory_hash);
	EXPECT_EQ(0, b.nvcpus);
	json_object_put(o);
}

TEST(ctl_save_result_live_only)
{
	struct ctl_save_result a = { .save_ns = 5, .rounds = 3 }, b;
	struct json_object *o = json_object_new_object();
	char why[VMMIG_ERRLEN];

	ctl_save_to_json(o, &a);
	EXPECT_FALSE(json_object_object_get_ex(o, CTL_RES_ROUNDS, NULL));
	ASSERT_EQ(0, ctl_save_from_json(o, &b, why));
	EXPECT_FALSE(b.live);
	EXPECT_EQ(5, b.save_ns);
	json_object_put(o);
	a.live = true;
	o = json_object_new_object();
	ctl_save_to_json(o, &a);
	ASSERT_EQ(0, ctl_save_from_json(o, &b, why));
	EXPECT_TRUE(b.live);
	EXPECT_EQ(3, b.rounds);
	json_object_put(o);
}

/* A downtime not known yet is null in JSON, for scripts, and back on reading. */
TEST(progress_unknown_downtime)
{
	struct mig_progress a = { .round = 2, .expected_downtime_ms = UINT64_MAX }, b;
	struct json_object *o = mig_progress_to_json(&a), *v;
	char why[VMMIG_ERRLEN];

	ASSERT_TRUE(json_object_object_get_ex(o, "expected_downtime_ms", &v));
	EXPECT_EQ(NULL, v);
	ASSERT_EQ(0, mig_progress_from_json(o, &b, why));
	EXPECT_EQ(UINT64_MAX, b.expected_downtime_ms);
	EXPECT_EQ(2, b.round);
	json_object_put(o);
	a.expected_downtime_ms = 40;
	o = mig_progress_to_json(&a);
	ASSERT_EQ(0, mig_progress_from_json(o, &b, why));
	EXPECT_EQ(40, b.expected_downtime_ms);
	json_object_put(o);
	o = json_tokener_parse("{\"expected_downtime_ms\": \"soon\"}");
	EXPECT_EQ(-EINVAL, mig_progress_from_json(o, &b, why));
	json_object_put(o);
}

TEST(save_result_unknown_downtime)
{
	struct ctl_save_result a = { .live = true, .rounds = 3,
				     .expected_downtime_ms = UINT64_MAX }, b;
	struct json_object *o = json_object_new_object(), *v;
	char why[VMMIG_ERRLEN];

	ctl_save_to_json(o, &a);
	ASSERT_TRUE(json_object_object_get_ex(o, CTL_RES_EXP_DOWNTIME_MS, &v));
	EXPECT_EQ(NULL, v);
	ASSERT_EQ(0, ctl_save_from_json(o, &b, why));
	EXPECT_EQ(UINT64_MAX, b.expected_downtime_ms);
	EXPECT_EQ(3, b.rounds);
	json_object_put(o);
	a.expected_downtime_ms = 12;
	o = json_object_new_object();
	ctl_save_to_json(o, &a);
	ASSERT_EQ(0, ctl_save_from_json(o, &b, why));
	EXPECT_EQ(12, b.expected_downtime_ms);
	json_object_put(o);
}

TEST(parse_numbers)
{
	char why[VMMIG_ERRLEN];
	uint32_t u32 = 7;
	uint64_t v = 7;

	ASSERT_EQ(0, parse_uint("--n", "42", 0, 100, &v, why));
	EXPECT_EQ(42, v);
	ASSERT_EQ(0, parse_uint("--n", "0x1f", 0, 100, &v, why));
	EXPECT_EQ(31, v);
	/* A leading zero is decimal, never octal. */
	ASSERT_EQ(0, parse_uint("--n", "010", 0, 100, &v, why));
	EXPECT_EQ(10, v);
	ASSERT_EQ(0, parse_uint("--n", "18446744073709551615", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(UINT64_MAX, v);
	ASSERT_EQ(0, parse_u32("--n", "4294967295", 0, UINT32_MAX, &u32, why));
	EXPECT_EQ(UINT32_MAX, u32);

	v = 7;
	EXPECT_EQ(-EINVAL, parse_uint("--n", "", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--n", "-1", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--n", "+1", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--n", " 1", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--n", "0x", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--n", "1K", 0, 100, &v, why));
	EXPECT_EQ(-EINVAL, parse_uint("--vcpus", "12x", 1, 64, &v, why));
	EXPECT_STREQ("--vcpus: '12x' is not a number (1..64)", why);
	EXPECT_EQ(-ERANGE, parse_uint("--vcpus", "0", 1, 64, &v, why));
	EXPECT_STREQ("--vcpus: 0 is out of range (1..64)", why);
	EXPECT_EQ(-ERANGE, parse_uint("--n", "18446744073709551616", 0, UINT64_MAX, &v, why));
	EXPECT_STREQ("--n: 18446744073709551616 is out of range (64 bits)", why);
	EXPECT_EQ(-ERANGE, parse_u32("--n", "4294967296", 0, UINT32_MAX, &u32, why));
	EXPECT_STREQ("--n: 4294967296 is out of range (32 bits)", why);
	EXPECT_EQ(-EINVAL, parse_u32("--n", "x", 0, UINT32_MAX, &u32, why));
	EXPECT_STREQ("--n: 'x' is not a number", why);
	EXPECT_EQ(-ERANGE, parse_uint("--n", "3", 5, UINT64_MAX, &v, why));
	EXPECT_STREQ("--n: 3 is out of range (at least 5)", why);
	/* Nothing is written on failure. */
	EXPECT_EQ(7, v);
	EXPECT_EQ(UINT32_MAX, u32);
}

TEST(parse_sizes)
{
	char why[VMMIG_ERRLEN];
	uint64_t v = 7;

	ASSERT_EQ(0, parse_size("--memory", "4096", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, parse_size("--memory", "4k", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, parse_size("--memory", "2M", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(2 << 20, v);
	ASSERT_EQ(0, parse_size("--memory", "3GiB", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(3ULL << 30, v);
	ASSERT_EQ(0, parse_size("--memory", "1TB", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(1ULL << 40, v);
	ASSERT_EQ(0, parse_size("--memory", "0x10M", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(16 << 20, v);

	v = 7;
	EXPECT_EQ(-EINVAL, parse_size("--memory", "M", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(-EINVAL, parse_size("--memory", "4MM", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(-EINVAL, parse_size("--memory", "4Mx", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(-EINVAL, parse_size("--memory", "4B", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(-EINVAL, parse_size("--memory", "8Q", 0, UINT64_MAX, &v, why));
	EXPECT_STREQ("--memory: '8Q' is not a size (bytes, or with K, M, G or T)", why);
	EXPECT_EQ(-EINVAL, parse_size("wss", "x", 4096, 3ULL << 30, &v, why));
	EXPECT_STREQ("wss: 'x' is not a size (bytes, or with K, M, G or T; 4K..3G)", why);
	EXPECT_EQ(-ERANGE, parse_size("wss", "1K", 4096, UINT64_MAX, &v, why));
	EXPECT_STREQ("wss: 1K is out of range (at least 4K)", why);
	/* The shift must not overflow quietly. */
	EXPECT_EQ(-ERANGE, parse_size("--memory", "17179869184G", 0, UINT64_MAX, &v, why));
	EXPECT_EQ(-ERANGE, parse_size("--memory", "4097", 0, 4096, &v, why));
	EXPECT_EQ(7, v);
}

/* vmmigd's frames: every field of the header is checked, then the payload. */
TEST(frame_checks)
{
	const char payload[] = "{\"host\":\"a\"}";
	struct frame_hdr h, bad;
	char why[VMMIG_ERRLEN], copy[sizeof(payload)];

	frame_hdr_fill(&h, FRAME_HELLO, payload, sizeof(payload) - 1);
	EXPECT_EQ(0, frame_hdr_check(&h, why));
	EXPECT_EQ(0, frame_payload_check(&h, payload, why));
	bad = h;
	bad.magic[0] ^= 1;
	EXPECT_EQ(-EPROTO, frame_hdr_check(&bad, why));
	EXPECT_STREQ("corrupt frame: not a vmmig frame", why);
	bad = h;
	bad.version = 1;	/* before the cluster and check frames */
	EXPECT_EQ(-EPROTO, frame_hdr_check(&bad, why));
	EXPECT_STREQ("protocol version 1: this host speaks 2", why);
	bad = h;
	bad.type = FRAME_NTYPES;
	EXPECT_EQ(-EPROTO, frame_hdr_check(&bad, why));
	bad = h;
	bad.len = FRAME_MAX + 1;
	EXPECT_EQ(-EPROTO, frame_hdr_check(&bad, why));
	memcpy(copy, payload, sizeof(copy));
	copy[3] ^= 0x10;
	EXPECT_EQ(-EPROTO, frame_payload_check(&h, copy, why));
	EXPECT_STREQ("corrupt frame: hello payload fails its CRC", why);
	/* A probe without a CRC: any filler passes; with one, it is checked. */
	frame_probe_hdr(&h, sizeof(copy));
	EXPECT_EQ(0, h.crc);
	EXPECT_EQ(sizeof(copy), h.len);
	EXPECT_EQ(FRAME_PROBE, h.type);
	EXPECT_EQ(0, frame_hdr_check(&h, why));
	EXPECT_EQ(0, frame_payload_check(&h, copy, why));
	frame_hdr_fill(&h, FRAME_PROBE, copy, sizeof(copy));
	EXPECT_NE(0, h.crc);
	EXPECT_EQ(0, frame_payload_check(&h, copy, why));
	copy[0] ^= 1;
	EXPECT_EQ(-EPROTO, frame_payload_check(&h, copy, why));
	EXPECT_STREQ("corrupt frame: probe payload fails its CRC", why);
}

/* The CLI's requests to vmmigd: a round trip, and what is refused. */
TEST(dctl_requests)
{
	struct dctl_request r = { .cmd = DCTL_MOVE, .detach = true }, back;
	struct json_object *o;
	char why[VMMIG_ERRLEN];

	strcpy(r.vm, "wl");
	strcpy(r.to, "hostb:6601");
	mig_opts_default(&r.mig);
	r.mig.streams = 4;
	r.mig.compress = MIG_COMP_ZSTD;
	o = dctl_request_to_json(&r);
	ASSERT_EQ(0, dctl_request_from_json(o, &back, why));
	EXPECT_EQ(DCTL_MOVE, back.cmd);
	EXPECT_STREQ("wl", back.vm);
	EXPECT_STREQ("hostb:6601", back.to);
	EXPECT_EQ(4, back.mig.streams);
	EXPECT_EQ(MIG_COMP_ZSTD, back.mig.compress);
	EXPECT_EQ(true, back.detach);
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"move\",\"version\":1,\"migration\":{\"streams\":17}}");
	EXPECT_EQ(-EINVAL, dctl_request_from_json(o, &back, why));
	EXPECT_STREQ("migration: 'streams' must be 1 to 16", why);
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"fly\",\"version\":1}");
	EXPECT_EQ(-EINVAL, dctl_request_from_json(o, &back, why));
	EXPECT_STREQ("unknown request 'fly'", why);
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"list\",\"version\":9}");
	EXPECT_EQ(-EPROTONOSUPPORT, dctl_request_from_json(o, &back, why));
	json_object_put(o);
}

/* A move's storage: --disk SRC=DST checked, and the whole request across vmmigd's socket. */
TEST(dctl_storage)
{
	struct dctl_request r = { .cmd = DCTL_MOVE }, back;
	struct json_object *o;
	char why[VMMIG_ERRLEN];

	strcpy(r.vm, "wl");
	strcpy(r.to, "b");
	mig_opts_default(&r.mig);
	r.storage.include = true;
	r.storage.keep_source = true;
	strcpy(r.storage.path, "/srv/vm");
	ASSERT_EQ(0, mig_storage_add_map(&r.storage, "/a/d1.img=/b/one.img", why));
	EXPECT_EQ(-EINVAL, mig_storage_add_map(&r.storage, "d1.img=/b/x.img", why));
	EXPECT_STREQ("--disk 'd1.img=/b/x.img': SRC=DST, both absolute paths of at most 255 bytes",
		     why);
	EXPECT_EQ(-EINVAL, mig_storage_add_map(&r.storage, "/a/d1.img", why));
	EXPECT_EQ(-EINVAL, mig_storage_add_map(&r.storage, "/a/d1.img=", why));
	o = dctl_request_to_json(&r);
	ASSERT_EQ(0, dctl_request_from_json(o, &back, why));
	EXPECT_TRUE(back.storage.include);
	EXPECT_TRUE(back.storage.keep_source);
	EXPECT_STREQ("/srv/vm", back.storage.path);
	ASSERT_EQ(1, back.storage.nmaps);
	EXPECT_STREQ("/a/d1.img", back.storage.map[0].src);
	EXPECT_STREQ("/b/one.img", back.storage.map[0].dst);
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"storage-move\",\"version\":1,\"vm\":\"wl\","
			       "\"storage\":{\"path\":\"rel\"}}");
	EXPECT_EQ(-EINVAL, dctl_request_from_json(o, &back, why));
	EXPECT_STREQ("storage: 'path' must be an absolute path", why);
	json_object_put(o);
}

/* The VMM's storage-move request: a path or "" per disk, nothing else. */
TEST(ctl_storage_move)
{
	struct ctl_request a = { .cmd = CTL_REQ_STORAGE_MOVE, .ndisks = 2 }, *b = malloc(sizeof(*b));
	struct json_object *o;
	char why[VMMIG_ERRLEN];

	strcpy(a.disks[0], "/new/d1.img");
	o = ctl_request_to_json(&a);
	ASSERT_EQ(0, ctl_request_from_json(o, b, why));
	EXPECT_EQ(2, b->ndisks);
	EXPECT_STREQ("/new/d1.img", b->disks[0]);
	EXPECT_STREQ("", b->disks[1]);
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"storage-move\",\"version\":2,\"disks\":[\"x\"]}");
	EXPECT_EQ(-EINVAL, ctl_request_from_json(o, b, why));
	json_object_put(o);
	o = json_tokener_parse("{\"cmd\":\"storage-move\",\"version\":2}");
	EXPECT_EQ(-EINVAL, ctl_request_from_json(o, b, why));
	json_object_put(o);
	free(b);
}

/* Where a VM's runtime files go: /run for the default state folder only. */
TEST(run_path)
{
	char p[108];

	unsetenv("VMMIG_RUN_DIR");
	ASSERT_EQ(0, vmmig_run_path("/var/lib/vmmig/web", "control.sock", p, sizeof(p)));
	EXPECT_STREQ("/run/vmmig/vm/web/control.sock", p);
	ASSERT_EQ(0, vmmig_run_path("/var/lib/vmmig/web", NULL, p, sizeof(p)));
	EXPECT_STREQ("/run/vmmig/vm/web", p);
	/* Another state folder keeps them beside the VM: two never collide. */
	ASSERT_EQ(0, vmmig_run_path("/srv/vms/web", "vmm.pid", p, sizeof(p)));
	EXPECT_STREQ("/srv/vms/web/vmm.pid", p);
	ASSERT_EQ(0, vmmig_run_path("/var/lib/vmmig2/web", "vmm.pid", p, sizeof(p)));
	EXPECT_STREQ("/var/lib/vmmig2/web/vmm.pid", p);
	setenv("VMMIG_RUN_DIR", "/tmp/r", 1);
	ASSERT_EQ(0, vmmig_run_path("/srv/vms/web", "vmm.pid", p, sizeof(p)));
	EXPECT_STREQ("/tmp/r/web/vmm.pid", p);
	unsetenv("VMMIG_RUN_DIR");
	/* A socket path longer than sun_path is refused, not cut. */
	EXPECT_EQ(-ENAMETOOLONG, vmmig_run_path("/var/lib/vmmig/a-rather-long-vm-name-that-"
						"goes-on-and-on-and-on-and-on-and-on", "control.sock",
						p, 60));
}

TEST_HARNESS_MAIN
