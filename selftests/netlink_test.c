// SPDX-License-Identifier: GPL-2.0
/*
 * The vmmig generic netlink family, inside a booted kernel with vmmig.ko:
 * every command, every policy rejection with its extack text, privileges,
 * per-namespace state, events and module unload/reload under a listener.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/vmmig.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "host.h"
#include "vmmig_test.h"

#define EVENT_TIMEOUT_MS 3000

/* First line of /proc/cpuinfo whose key is @key, value into @out. */
static int cpuinfo(const char *key, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		size_t klen = strcspn(line, "\t:");

		if (!colon || klen != strlen(key) || strncmp(line, key, klen))
			continue;
		snprintf(out, size, "%s", colon + 2);
		out[strcspn(out, "\n")] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(out, size, f)) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static const struct vmmig_host_settings defaults = {
	.has_migration = true, .migration = false,
	.has_max_migrations = true, .max_migrations = 2,
};

FIXTURE(nl) {
	struct vmmig_nl nl;
};

FIXTURE_SETUP(nl)
{
	int err = vmmig_nl_open(&self->nl);

	if (err == -ENOENT)
		SKIP(return, "vmmig.ko is not loaded");
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, vmmig_host_set(&self->nl, &defaults));
}

FIXTURE_TEARDOWN(nl)
{
	if (self->nl.sk)
		vmmig_host_set(&self->nl, &defaults);
	vmmig_nl_close(&self->nl);
}

/* Every field of HOST_GET agrees with what userspace sees of the system. */
TEST_F(nl, host_get)
{
	struct vmmig_host h;
	struct utsname uts;
	char buf[256];
	uint32_t want_kvm = VMMIG_KVM_NONE;

	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	ASSERT_EQ(0, read_line("/sys/module/vmmig/version", buf, sizeof(buf)));
	EXPECT_STREQ(buf, h.module_version);
	ASSERT_EQ(0, uname(&uts));
	EXPECT_STREQ(uts.release, h.kernel_release);
	ASSERT_EQ(0, cpuinfo("vendor_id", buf, sizeof(buf)));
	EXPECT_STREQ(buf, h.cpu_vendor);
	ASSERT_EQ(0, cpuinfo("cpu family", buf, sizeof(buf)));
	EXPECT_EQ(strtoul(buf, NULL, 10), h.cpu_family);
	ASSERT_EQ(0, cpuinfo("model", buf, sizeof(buf)));
	EXPECT_EQ(strtoul(buf, NULL, 10), h.cpu_model);
	ASSERT_EQ(0, cpuinfo("stepping", buf, sizeof(buf)));
	EXPECT_EQ(strtoul(buf, NULL, 10), h.cpu_stepping);
	ASSERT_EQ(0, cpuinfo("model name", buf, sizeof(buf)));
	EXPECT_STREQ(buf, h.cpu_model_name);
	if (module_loaded("kvm_amd"))
		want_kvm = VMMIG_KVM_AMD;
	else if (module_loaded("kvm_intel"))
		want_kvm = VMMIG_KVM_INTEL;
	EXPECT_EQ(want_kvm, h.kvm);
	EXPECT_EQ(0, h.vm_count);
	EXPECT_EQ(false, h.migration);
	EXPECT_EQ(2, h.max_migrations);
	EXPECT_EQ(2, h.max_storage_migrations);
}

TEST_F(nl, host_set_and_get)
{
	struct vmmig_host_settings s = {
		.has_migration = true, .migration = true,
		.has_max_migrations = true, .max_migrations = 64,
	};
	struct vmmig_host h;

	ASSERT_EQ(0, vmmig_host_set(&self->nl, &s));
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(true, h.migration);
	EXPECT_EQ(64, h.max_migrations);

	/* Only one setting: the other keeps its value. */
	s.has_migration = false;
	s.max_migrations = 1;
	ASSERT_EQ(0, vmmig_host_set(&self->nl, &s));
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(true, h.migration);
	EXPECT_EQ(1, h.max_migrations);
}

static struct nl_msg *host_set_msg(struct vmmig_nl *nl)
{
	return vmmig_nl_msg(nl, VMMIG_CMD_HOST_SET, 0);
}

TEST_F(nl, reject_out_of_range)
{
	static const uint32_t bad[] = { 0, VMMIG_MAX_MIGRATIONS_LIMIT + 1, UINT32_MAX };
	struct vmmig_host h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nl_msg *msg = host_set_msg(&self->nl);

		ASSERT_EQ(0, nla_put_u32(msg, VMMIG_HOST_A_MAX_MIGRATIONS, bad[i]));
		EXPECT_EQ(-ERANGE, send_raw(&self->nl, msg));
		EXPECT_STREQ("integer out of range", self->nl.err.msg);
		EXPECT_TRUE(self->nl.err.has_offset);
		ASSERT_TRUE(self->nl.err.has_range);
		EXPECT_EQ(1, self->nl.err.min);
		EXPECT_EQ(VMMIG_MAX_MIGRATIONS_LIMIT, self->nl.err.max);
	}

	struct nl_msg *msg = host_set_msg(&self->nl);

	ASSERT_EQ(0, nla_put_u8(msg, VMMIG_HOST_A_MIGRATION, 2));
	EXPECT_EQ(-ERANGE, send_raw(&self->nl, msg));
	EXPECT_STREQ("integer out of range", self->nl.err.msg);

	/* Nothing of a rejected request was applied. */
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(2, h.max_migrations);
	EXPECT_EQ(false, h.migration);
}

TEST_F(nl, reject_wrong_type)
{
	struct nl_msg *msg = host_set_msg(&self->nl);
	uint16_t two_bytes = 4;

	/* A u32 attribute carrying two bytes. */
	ASSERT_EQ(0, nla_put(msg, VMMIG_HOST_A_MAX_MIGRATIONS, 2, &two_bytes));
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("invalid attribute length", self->nl.err.msg);
	EXPECT_TRUE(self->nl.err.has_offset);

	/* A u8 switch carrying a string. */
	msg = host_set_msg(&self->nl);
	ASSERT_EQ(0, nla_put_string(msg, VMMIG_HOST_A_MIGRATION, "on"));
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("invalid attribute length", self->nl.err.msg);
}

TEST_F(nl, reject_missing_attribute)
{
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, host_set_msg(&self->nl)));
	EXPECT_STREQ("vmmig: no host setting given (migration, max-migrations, max-storage-migrations)",
		     self->nl.err.msg);
}

TEST_F(nl, reject_read_only_attribute)
{
	struct nl_msg *msg = host_set_msg(&self->nl);

	ASSERT_EQ(0, nla_put_u32(msg, VMMIG_HOST_A_KVM, VMMIG_KVM_INTEL));
	ASSERT_EQ(0, nla_put_u32(msg, VMMIG_HOST_A_MAX_MIGRATIONS, 3));
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("Attribute failed policy validation", self->nl.err.msg);
	EXPECT_TRUE(self->nl.err.has_offset);
}

TEST_F(nl, reject_unknown_attribute)
{
	struct nl_msg *msg = host_set_msg(&self->nl);

	ASSERT_EQ(0, nla_put_u32(msg, VMMIG_HOST_A_MAX + 1, 1));
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("Unknown attribute type", self->nl.err.msg);

	/* HOST_GET takes no attributes at all. */
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_HOST_GET, 0);
	ASSERT_EQ(0, nla_put_u32(msg, VMMIG_HOST_A_MAX_MIGRATIONS, 3));
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_NE(0, strlen(self->nl.err.msg));
	TH_LOG("kernel says: %s", self->nl.err.msg);
}

TEST_F(nl, reject_unknown_command)
{
	EXPECT_EQ(-EOPNOTSUPP,
		  send_raw(&self->nl, vmmig_nl_msg(&self->nl, VMMIG_CMD_MAX + 1, 0)));
	EXPECT_EQ(-EOPNOTSUPP,
		  send_raw(&self->nl, vmmig_nl_msg(&self->nl, VMMIG_CMD_UNSPEC, 0)));
	/* Notifications are not requests. */
	EXPECT_EQ(-EOPNOTSUPP,
		  send_raw(&self->nl, vmmig_nl_msg(&self->nl, VMMIG_CMD_HOST_NTF, 0)));
}

TEST_F(nl, reject_bad_header)
{
	struct nl_msg *msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_HOST_GET, 0);
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	gh->reserved = 1;
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("genlmsghdr.reserved field is not 0", self->nl.err.msg);

	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_HOST_GET, NLM_F_REPLACE);
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("ambiguous or reserved bits set in nlmsg_flags",
		     self->nl.err.msg);

	/* A dump of a command that has none. */
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_HOST_GET, NLM_F_DUMP);
	EXPECT_EQ(-EOPNOTSUPP, send_raw(&self->nl, msg));
}

/* Without CAP_NET_ADMIN, reading works and changing does not. */
TEST_F(nl, unprivileged)
{
	struct vmmig_host_settings s = {
		.has_max_migrations = true, .max_migrations = 9,
	};
	struct vmmig_host h;

	ASSERT_EQ(0, drop_cap_net_admin());
	EXPECT_EQ(-EPERM, vmmig_host_set(&self->nl, &s));
	EXPECT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(2, h.max_migrations);
}

/* Each network namespace is its own host, with its own events. */
TEST_F(nl, netns_isolation)
{
	struct vmmig_host_settings s = {
		.has_max_migrations = true, .max_migrations = 7,
	};
	struct listener outer, inner;
	struct vmmig_nl nl2;
	struct vmmig_host h;
	char buf[4096];

	ASSERT_EQ(0, listener_open(&outer, false));
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, listener_open(&inner, false));
	ASSERT_EQ(0, vmmig_nl_open(&nl2));
	ASSERT_EQ(0, vmmig_host_get(&nl2, &h));
	EXPECT_EQ(2, h.max_migrations);

	ASSERT_EQ(0, vmmig_host_set(&nl2, &s));
	ASSERT_EQ(0, vmmig_host_get(&nl2, &h));
	EXPECT_EQ(7, h.max_migrations);
	EXPECT_LT(0, listener_wait(&inner, 0, VMMIG_CMD_HOST_NTF, buf,
				   sizeof(buf), EVENT_TIMEOUT_MS));
	EXPECT_EQ(-ETIMEDOUT, listener_wait(&outer, 0, VMMIG_CMD_HOST_NTF, buf,
					    sizeof(buf), 500));

	/* The first socket still talks to the first namespace. */
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(2, h.max_migrations);
	vmmig_nl_close(&nl2);
	listener_close(&inner);
	listener_close(&outer);
}

static int ntf_max_migrations(const void *buf)
{
	const struct nlmsghdr *h = buf;
	struct nlattr *a[VMMIG_HOST_A_MAX + 1];
	struct vmmig_host host;

	if (genlmsg_parse((struct nlmsghdr *)h, 0, a, VMMIG_HOST_A_MAX,
			  vmmig_host_policy) || vmmig_host_parse(a, &host))
		return -1;
	return host.max_migrations;
}

/* Two listeners both get the event; an unchanged setting sends none. */
TEST_F(nl, host_events)
{
	struct vmmig_host_settings s = {
		.has_max_migrations = true, .max_migrations = 5,
	};
	struct listener a, b;
	char buf[4096];

	ASSERT_EQ(0, listener_open(&a, false));
	ASSERT_EQ(0, listener_open(&b, false));
	ASSERT_EQ(0, vmmig_host_set(&self->nl, &s));
	ASSERT_LT(0, listener_wait(&a, 0, VMMIG_CMD_HOST_NTF, buf, sizeof(buf),
				   EVENT_TIMEOUT_MS));
	EXPECT_EQ(5, ntf_max_migrations(buf));
	ASSERT_LT(0, listener_wait(&b, 0, VMMIG_CMD_HOST_NTF, buf, sizeof(buf),
				   EVENT_TIMEOUT_MS));
	EXPECT_EQ(5, ntf_max_migrations(buf));

	ASSERT_EQ(0, vmmig_host_set(&self->nl, &s));
	EXPECT_EQ(-ETIMEDOUT, listener_wait(&a, 0, VMMIG_CMD_HOST_NTF, buf,
					    sizeof(buf), 500));
	listener_close(&a);
	listener_close(&b);
}

static int module_ntf(const void *buf, char *name, size_t size, uint32_t *state)
{
	static struct nla_policy pol[VMMIG_MODULE_A_MAX + 1] = {
		[VMMIG_MODULE_A_NAME] = { .type = NLA_NUL_STRING },
		[VMMIG_MODULE_A_STATE] = { .type = NLA_U32 },
		[VMMIG_MODULE_A_VERSION] = { .type = NLA_NUL_STRING },
	};
	struct nlattr *a[VMMIG_MODULE_A_MAX + 1];

	if (genlmsg_parse((struct nlmsghdr *)buf, 0, a, VMMIG_MODULE_A_MAX, pol) ||
	    !a[VMMIG_MODULE_A_NAME] || !a[VMMIG_MODULE_A_STATE])
		return -1;
	snprintf(name, size, "%s", nla_get_string(a[VMMIG_MODULE_A_NAME]));
	*state = nla_get_u32(a[VMMIG_MODULE_A_STATE]);
	return 0;
}

/* Waits for a MODULE_NTF and checks that it is @want going to @want_state. */
static int wait_module_ntf(struct listener *l, const char *want,
			   uint32_t want_state)
{
	char buf[4096], name[64];
	uint32_t state;
	int n;

	n = listener_wait(l, 0, VMMIG_CMD_MODULE_NTF, buf, sizeof(buf),
			  EVENT_TIMEOUT_MS);
	if (n < 0)
		return n;
	if (module_ntf(buf, name, sizeof(name), &state))
		return -EBADMSG;
	if (strcmp(name, want) || state != want_state) {
		fprintf(stderr, "# module event: %s %u, want %s %u\n",
			name, state, want, want_state);
		return -EPROTO;
	}
	return 0;
}

/* KVM's vendor module going and coming is reported. */
TEST_F(nl, kvm_module_events)
{
	struct listener l;
	struct vmmig_host h;

	if (!module_loaded("kvm_amd"))
		SKIP(return, "kvm_amd is not loaded");
	ASSERT_EQ(0, listener_open(&l, false));
	ASSERT_EQ(0, module_remove("kvm_amd"));
	ASSERT_EQ(0, wait_module_ntf(&l, "kvm_amd", VMMIG_MODULE_GOING));
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(VMMIG_KVM_NONE, h.kvm);

	ASSERT_EQ(0, module_probe("kvm_amd"));
	ASSERT_EQ(0, wait_module_ntf(&l, "kvm_amd", VMMIG_MODULE_LIVE));
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(VMMIG_KVM_AMD, h.kvm);
	listener_close(&l);
}

/*
 * Unloading vmmig.ko with a listener subscribed and a request socket open:
 * the listener hears the module go, requests fail cleanly, and after a
 * reload the controller announces the family again and state is fresh.
 */
TEST_F(nl, module_reload_with_listener)
{
	const char *ko = getenv("VMMIG_KO");
	struct vmmig_host_settings s = {
		.has_max_migrations = true, .max_migrations = 11,
	};
	struct listener l;
	struct vmmig_host h;
	char buf[8192];

	if (!ko)
		SKIP(return, "VMMIG_KO (path of the built vmmig.ko) is not set");
	ASSERT_EQ(0, vmmig_host_set(&self->nl, &s));
	ASSERT_EQ(0, listener_open(&l, true));

	ASSERT_EQ(0, module_remove("vmmig"));
	ASSERT_EQ(0, wait_module_ntf(&l, "vmmig", VMMIG_MODULE_GOING));
	ASSERT_LT(0, listener_wait(&l, GENL_ID_CTRL, CTRL_CMD_DELFAMILY, buf,
				   sizeof(buf), EVENT_TIMEOUT_MS));
	EXPECT_EQ(-ENOENT, vmmig_host_get(&self->nl, &h));

	ASSERT_EQ(0, module_insert_path(ko));
	ASSERT_LT(0, listener_wait(&l, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, buf,
				   sizeof(buf), EVENT_TIMEOUT_MS));
	listener_close(&l);
	vmmig_nl_close(&self->nl);
	ASSERT_EQ(0, vmmig_nl_open(&self->nl));
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	EXPECT_EQ(2, h.max_migrations);
}

TEST_HARNESS_MAIN
