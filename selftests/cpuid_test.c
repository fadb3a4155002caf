// SPDX-License-Identifier: GPL-2.0
/*
 * CPU features and the CPUID policy, inside a booted kernel with vmmig.ko
 * and kvm_amd: HOST_FEATURES against KVM's own KVM_GET_SUPPORTED_CPUID,
 * POLICY_SET/GET and every rejection, privileges, per-namespace state, the
 * audit of a VM made here with raw KVM ioctls, and strict mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/vmmig.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "cpuid.h"
#include "host.h"
#include "kvm_vm.h"
#include "registry.h"
#include "vmmig_test.h"

#define EVENT_TIMEOUT_MS 3000
#define MAX_ENTRIES 256

static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      MAX_ENTRIES * sizeof(c->entries[0]));

	c->nent = MAX_ENTRIES;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c)) {
		free(c);
		return NULL;
	}
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t leaf,
				     uint32_t subleaf)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == leaf &&
		    (c->entries[i].index == subleaf ||
		     !(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return &c->entries[i];
	return NULL;
}

static uint32_t *reg(struct kvm_cpuid_entry2 *e, int word)
{
	const char *r = vmmig_word_reg(word);

	return r[1] == 'a' ? &e->eax : r[1] == 'b' ? &e->ebx :
	       r[1] == 'c' ? &e->ecx : &e->edx;
}

/* A VM with @n vCPUs, all given @cpuid, that halts. */
static int vm_create(struct kvm_test_vm *vm, int n, struct kvm_cpuid2 *cpuid)
{
	static const uint8_t hlt = 0xf4;
	static const uint64_t size = 0x2000;
	int i, err = __kvm_vm_create(vm, &size, 1, n);

	for (i = 0; i < n && !err; i++)
		err = __vcpu_ioctl(&vm->vcpus[i], KVM_SET_CPUID2, cpuid);
	if (!err)
		err = __kvm_vm_load(vm, &hlt, 1);
	if (err)
		kvm_vm_destroy(vm);
	return err;
}

/* The lowest feature of 7.0 EBX that this host has. */
static int some_feature(const uint32_t *host, int *word)
{
	int b;

	*word = VMMIG_WORD_7_0_EBX;
	for (b = 0; b < 32; b++)
		if (host[*word] & (1u << b))
			return b;
	return -1;
}

static const struct vmmig_policy_change reset_all = {
	.reset_common = true, .reset_minimum = true,
	.has_strict = true, .strict = VMMIG_CPU_MODE_OFF,
};

FIXTURE(cpuid) {
	struct vmmig_nl nl;
	uint32_t host[VMMIG_NR_WORDS];
	struct kvm_cpuid2 *supported;
	int kvm;
};

FIXTURE_SETUP(cpuid)
{
	int err = vmmig_nl_open(&self->nl);

	if (err == -ENOENT)
		SKIP(return, "vmmig.ko is not loaded");
	ASSERT_EQ(0, err);
	self->kvm = open("/dev/kvm", O_RDWR);
	if (self->kvm < 0)
		SKIP(return, "no /dev/kvm");
	self->supported = supported_cpuid(self->kvm);
	ASSERT_NE(NULL, self->supported);
	ASSERT_EQ(0, vmmig_host_features(&self->nl, self->host));
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &reset_all));
}

FIXTURE_TEARDOWN(cpuid)
{
	if (self->nl.sk)
		vmmig_policy_set(&self->nl, &reset_all);
	vmmig_nl_close(&self->nl);
	free(self->supported);
	if (self->kvm >= 0)
		close(self->kvm);
}

/* Every word is what KVM_GET_SUPPORTED_CPUID says, where it has the leaf. */
TEST_F(cpuid, host_features_match_kvm)
{
	struct kvm_device_attr attr = { .group = 0, .attr = KVM_X86_XCOMP_GUEST_SUPP };
	uint64_t xcr0 = 0;
	int w, compared = 0;

	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		struct kvm_cpuid_entry2 *e = find(self->supported, vmmig_word_leaf(w),
						  vmmig_word_subleaf(w));
		uint32_t want;

		if (!e) {
			TH_LOG("%s: KVM does not report the leaf", vmmig_word_name(w));
			continue;
		}
		/* 0xD.0 of KVM_GET_SUPPORTED_CPUID leaves out AMX without permission. */
		want = self->host[w];
		if (w == VMMIG_WORD_D_0_EAX)
			want &= ~(1u << 18);
		EXPECT_EQ(want, *reg(e, w)) TH_LOG("word %s", vmmig_word_name(w));
		compared++;
	}
	EXPECT_GE(compared, 10);
	attr.addr = (unsigned long)&xcr0;
	ASSERT_EQ(0, ioctl(self->kvm, KVM_GET_DEVICE_ATTR, &attr));
	EXPECT_EQ(xcr0, (uint64_t)self->host[VMMIG_WORD_D_0_EDX] << 32 |
			self->host[VMMIG_WORD_D_0_EAX]);
	EXPECT_TRUE(self->host[VMMIG_WORD_1_EDX] & (1u << 25));	/* sse */
}

TEST_F(cpuid, policy_defaults)
{
	struct vmmig_policy p;
	struct vmmig_host h;

	ASSERT_EQ(0, vmmig_policy_get(&self->nl, &p));
	EXPECT_FALSE(p.common_set);
	EXPECT_EQ(0, memcmp(p.common, self->host, sizeof(p.common)));
	/* x86-64-v2: sse4_2, popcnt, cx16, lahf_lm, lm; nothing of AVX. */
	EXPECT_TRUE(p.minimum[VMMIG_WORD_1_ECX] & (1u << 20));
	EXPECT_TRUE(p.minimum[VMMIG_WORD_1_ECX] & (1u << 23));
	EXPECT_TRUE(p.minimum[VMMIG_WORD_1_ECX] & (1u << 13));
	EXPECT_TRUE(p.minimum[VMMIG_WORD_8000_0001_ECX] & 1);
	EXPECT_TRUE(p.minimum[VMMIG_WORD_8000_0001_EDX] & (1u << 29));
	/* AMD's copies of leaf 1 EDX: fpu, cmov, fxsr; not its own mmxext. */
	EXPECT_EQ(0x1008001u, p.minimum[VMMIG_WORD_8000_0001_EDX] & 0x1408001u);
	EXPECT_FALSE(p.minimum[VMMIG_WORD_1_ECX] & (1u << 28));
	EXPECT_EQ(0, p.minimum[VMMIG_WORD_7_0_EBX]);
	/* KVM rewrites OSXSAVE and APIC at run time. */
	EXPECT_TRUE(p.ignored[VMMIG_WORD_1_ECX] & (1u << 27));
	EXPECT_TRUE(p.ignored[VMMIG_WORD_1_EDX] & (1u << 9));
	EXPECT_TRUE(p.ignored[VMMIG_WORD_7_0_ECX] & (1u << 4));
	EXPECT_EQ(VMMIG_CPU_MODE_OFF, p.strict);
	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
}

TEST_F(cpuid, policy_set_and_get)
{
	struct vmmig_policy_change c = {};
	struct vmmig_policy p;

	c.common_given = 1u << VMMIG_WORD_7_0_EBX;
	c.common[VMMIG_WORD_7_0_EBX] = 0x8;
	c.minimum_given = 1u << VMMIG_WORD_1_ECX | 1u << VMMIG_WORD_D_0_EAX;
	c.minimum[VMMIG_WORD_1_ECX] = 0x1;
	c.minimum[VMMIG_WORD_D_0_EAX] = 0x7;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	ASSERT_EQ(0, vmmig_policy_get(&self->nl, &p));
	EXPECT_TRUE(p.common_set);
	EXPECT_EQ(0x8, p.common[VMMIG_WORD_7_0_EBX]);
	/* The other words of common were taken from the host. */
	EXPECT_EQ(self->host[VMMIG_WORD_1_ECX], p.common[VMMIG_WORD_1_ECX]);
	EXPECT_EQ(0x1, p.minimum[VMMIG_WORD_1_ECX]);
	EXPECT_EQ(0x7, p.minimum[VMMIG_WORD_D_0_EAX]);

	memset(&c, 0, sizeof(c));
	c.reset_common = true;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	ASSERT_EQ(0, vmmig_policy_get(&self->nl, &p));
	EXPECT_FALSE(p.common_set);
	EXPECT_EQ(self->host[VMMIG_WORD_7_0_EBX], p.common[VMMIG_WORD_7_0_EBX]);
	EXPECT_EQ(0x1, p.minimum[VMMIG_WORD_1_ECX]);
	c.reset_common = false;
	c.reset_minimum = true;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	ASSERT_EQ(0, vmmig_policy_get(&self->nl, &p));
	EXPECT_TRUE(p.minimum[VMMIG_WORD_1_ECX] & (1u << 20));
}

static struct nl_msg *word_msg(struct vmmig_nl *nl, int attr, uint32_t leaf,
			       uint32_t subleaf, int regno, int value, int twice)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	struct nlattr *nest = nla_nest_start(msg, attr), *w;
	int i;

	for (i = 0; i <= twice; i++) {
		w = nla_nest_start(msg, VMMIG_CPUID_A_WORD);
		nla_put_u32(msg, VMMIG_WORD_A_LEAF, leaf);
		nla_put_u32(msg, VMMIG_WORD_A_SUBLEAF, subleaf);
		nla_put_u32(msg, VMMIG_WORD_A_REG, regno);
		if (value >= 0)
			nla_put_u32(msg, VMMIG_WORD_A_VALUE, value);
		nla_nest_end(msg, w);
	}
	nla_nest_end(msg, nest);
	return msg;
}

/* Every rejection says why, and nothing of a rejected request is applied. */
TEST_F(cpuid, policy_reject)
{
	struct vmmig_nl *nl = &self->nl;
	struct vmmig_policy p;
	struct nl_msg *msg;

	EXPECT_EQ(-EINVAL, send_raw(nl, vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0)));
	EXPECT_NE(NULL, strstr(nl->err.msg, "nothing to set"));

	EXPECT_EQ(-EINVAL, send_raw(nl, word_msg(nl, VMMIG_CPUID_A_COMMON, 5, 0, 0, 1, 0)));
	EXPECT_NE(NULL, strstr(nl->err.msg, "not a feature word"));
	EXPECT_TRUE(nl->err.has_offset);

	EXPECT_EQ(-EINVAL, send_raw(nl, word_msg(nl, VMMIG_CPUID_A_MINIMUM, 7, 0, 1, 1, 1)));
	EXPECT_NE(NULL, strstr(nl->err.msg, "given twice"));

	EXPECT_EQ(-EINVAL, send_raw(nl, word_msg(nl, VMMIG_CPUID_A_COMMON, 7, 0, 1, -1, 0)));
	EXPECT_NE(NULL, strstr(nl->err.msg, "needs leaf, subleaf, register and value"));

	EXPECT_EQ(-ERANGE, send_raw(nl, word_msg(nl, VMMIG_CPUID_A_COMMON, 7, 0, 4, 1, 0)));
	EXPECT_STREQ("integer out of range", nl->err.msg);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	nla_put_u32(msg, VMMIG_CPUID_A_RESET, VMMIG_CPU_MODE_OFF);
	EXPECT_EQ(-ERANGE, send_raw(nl, msg));
	EXPECT_STREQ("integer out of range", nl->err.msg);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	nla_put_u32(msg, VMMIG_CPUID_A_STRICT, VMMIG_CPU_MODE_MAX + 1);
	EXPECT_EQ(-ERANGE, send_raw(nl, msg));

	msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	nla_put_u8(msg, VMMIG_CPUID_A_COMMON_SET, 1);
	EXPECT_EQ(-EINVAL, send_raw(nl, msg));
	EXPECT_NE(0, nl->err.msg[0]);
	EXPECT_TRUE(nl->err.has_offset);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_SET, 0);
	vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, VMMIG_BY_NAME("x"));
	EXPECT_EQ(-EINVAL, send_raw(nl, msg));
	EXPECT_NE(NULL, strstr(nl->err.msg, "needs both"));

	/* An unknown VM changes nothing, the masks included. */
	msg = word_msg(nl, VMMIG_CPUID_A_COMMON, 7, 0, 1, 0, 0);
	vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, VMMIG_BY_NAME("no-such-vm"));
	nla_put_u32(msg, VMMIG_CPUID_A_VM_MODE, VMMIG_CPU_MODE_MINIMUM);
	EXPECT_EQ(-ENOENT, send_raw(nl, msg));
	EXPECT_STREQ("no VM of this name is registered here", nl->err.msg);
	ASSERT_EQ(0, vmmig_policy_get(nl, &p));
	EXPECT_FALSE(p.common_set);
	msg = vmmig_nl_msg(nl, VMMIG_CMD_POLICY_GET, 0);
	vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, VMMIG_BY_NAME("no-such-vm"));
	EXPECT_EQ(-ENOENT, send_raw(nl, msg));
	EXPECT_STREQ("no VM of this name is registered here", nl->err.msg);

	/* A good word next to a bad one: nothing applied. */
	msg = word_msg(nl, VMMIG_CPUID_A_COMMON, 7, 0, 1, 0, 1);
	EXPECT_EQ(-EINVAL, send_raw(nl, msg));
	ASSERT_EQ(0, vmmig_policy_get(nl, &p));
	EXPECT_FALSE(p.common_set);
	EXPECT_EQ(self->host[VMMIG_WORD_7_0_EBX], p.common[VMMIG_WORD_7_0_EBX]);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_VM_AUDIT, 0);
	EXPECT_EQ(-EINVAL, send_raw(nl, msg));
	EXPECT_STREQ("vmmig: missing VM handle (name, uuid or file descriptor)",
		     nl->err.msg);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_VM_AUDIT, 0);
	vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, VMMIG_BY_FD(0));
	EXPECT_EQ(-EINVAL, send_raw(nl, msg));
	EXPECT_STREQ("file descriptor is not a KVM VM", nl->err.msg);

	msg = vmmig_nl_msg(nl, VMMIG_CMD_VM_AUDIT, 0);
	vmmig_handle_put(msg, VMMIG_CPUID_A_HANDLE, VMMIG_BY_FD(999));
	EXPECT_EQ(-EBADF, send_raw(nl, msg));
	EXPECT_STREQ("no such file descriptor in the sender", nl->err.msg);
}

/* Reading is for everyone; POLICY_SET needs CAP_NET_ADMIN. */
TEST_F(cpuid, unprivileged)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vmmig_policy_change c = { .reset_common = true };
		uint32_t w[VMMIG_NR_WORDS];
		struct vmmig_policy p;
		struct vmmig_nl nl;

		if (drop_cap_net_admin() || vmmig_nl_open(&nl))
			_exit(10);
		if (vmmig_host_features(&nl, w) || vmmig_policy_get(&nl, &p))
			_exit(11);
		_exit(vmmig_policy_set(&nl, &c) == -EPERM ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Each namespace has its own policy. */
TEST_F(cpuid, netns_isolation)
{
	struct vmmig_policy_change c = { .has_strict = false };
	pid_t pid;
	int status;

	c.common_given = 1u << VMMIG_WORD_1_EDX;
	c.common[VMMIG_WORD_1_EDX] = 1;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vmmig_policy p;
		struct vmmig_nl nl;

		if (unshare(CLONE_NEWNET) || vmmig_nl_open(&nl) ||
		    vmmig_policy_get(&nl, &p))
			_exit(10);
		_exit(!p.common_set && p.common[VMMIG_WORD_1_EDX] != 1 ? 0 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The next AUDIT_NTF event. */
static int audit_event(struct listener *l, struct vmmig_audit *a)
{
	struct nlattr *attrs[VMMIG_CPUID_A_MAX + 1];
	char buf[8192];

	if (listener_wait(l, 0, VMMIG_CMD_AUDIT_NTF, buf, sizeof(buf),
			  EVENT_TIMEOUT_MS) <= 0 ||
	    genlmsg_parse((struct nlmsghdr *)buf, 0, attrs, VMMIG_CPUID_A_MAX,
			  vmmig_cpuid_policy))
		return -1;
	return vmmig_audit_parse(attrs, a);
}

/* The common mask without one feature the host has. */
static int narrow_common(struct vmmig_nl *nl, const uint32_t *host, int *word)
{
	struct vmmig_policy_change c = {};
	int bit = some_feature(host, word);

	if (bit < 0)
		return -1;
	c.common_given = 1u << *word;
	c.common[*word] = host[*word] & ~(1u << bit);
	return vmmig_policy_set(nl, &c) ? -1 : bit;
}

/* A VM given one feature beyond its mask is caught, and the feature named. */
TEST_F(cpuid, audit_names_extra_feature)
{
	struct vmmig_audit a;
	struct listener l;
	struct kvm_test_vm vm;
	int word, bit, w;

	bit = narrow_common(&self->nl, self->host, &word);
	ASSERT_GE(bit, 0);
	ASSERT_EQ(0, listener_open(&l, false));
	ASSERT_EQ(0, vm_create(&vm, 2, self->supported));

	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_FD(vm.vm_fd), VMMIG_CPU_MODE_COMMON, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_EXCEEDS, a.compliance);
	EXPECT_EQ(2, a.vcpus);
	EXPECT_EQ(getpid(), a.pid);
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		EXPECT_EQ(w == word ? 1u << bit : 0, a.excess[w])
			TH_LOG("word %s", vmmig_word_name(w));
	}
	TH_LOG("extra feature: %s", vmmig_feature_name(word, bit));

	ASSERT_EQ(0, audit_event(&l, &a));
	EXPECT_EQ(1u << bit, a.excess[word]);

	/* The same VM fits the host's own features, and minimum is exceeded. */
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &(struct vmmig_policy_change){
		.reset_common = true }));
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_FD(vm.vm_fd), VMMIG_CPU_MODE_COMMON, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_OK, a.compliance);
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_FD(vm.vm_fd), VMMIG_CPU_MODE_MINIMUM, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_EXCEEDS, a.compliance);
	EXPECT_TRUE(a.excess[VMMIG_WORD_7_0_EBX]);
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_FD(vm.vm_fd), VMMIG_CPU_MODE_OFF, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_OK, a.compliance);
	kvm_vm_destroy(&vm);
	listener_close(&l);
}

/* Bits KVM rewrites at run time never count, even outside every mask. */
TEST_F(cpuid, audit_ignores_runtime_bits)
{
	struct kvm_cpuid2 *c = supported_cpuid(self->kvm);
	struct vmmig_policy_change pc = {};
	struct vmmig_audit a;
	struct kvm_test_vm vm;

	ASSERT_NE(NULL, c);
	find(c, 1, 0)->ecx |= 1u << 31 | 1u << 24;	/* hypervisor, tsc-deadline */
	pc.common_given = 1u << VMMIG_WORD_1_ECX | 1u << VMMIG_WORD_1_EDX;
	pc.common[VMMIG_WORD_1_ECX] = self->host[VMMIG_WORD_1_ECX] & ~(1u << 27);
	pc.common[VMMIG_WORD_1_EDX] = self->host[VMMIG_WORD_1_EDX] & ~(1u << 9);
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &pc));
	ASSERT_EQ(0, vm_create(&vm, 1, c));
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_FD(vm.vm_fd), VMMIG_CPU_MODE_COMMON, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_OK, a.compliance);
	kvm_vm_destroy(&vm);
	free(c);
}

/* Runs a VM with @cpuid in a new network namespace, whose strict mode is off. */
static int run_in_new_netns(struct kvm_cpuid2 *cpuid)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct kvm_test_vm vm;

		if (unshare(CLONE_NEWNET) || vm_create(&vm, 1, cpuid))
			_exit(2);
		_exit(__vcpu_ioctl(&vm.vcpus[0], KVM_RUN, 0) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Strict mode: a VM that exceeds the strict mask never enters the guest and
 * is dead for good (every ioctl -EIO), with an event naming the feature; one
 * that fits runs; another namespace, strict mode off, is not affected.
 */
TEST_F(cpuid, strict_mode)
{
	struct vmmig_policy_change c = { .has_strict = true,
					 .strict = VMMIG_CPU_MODE_COMMON };
	struct kvm_cpuid2 *fits;
	struct kvm_regs regs;
	struct vmmig_policy p;
	struct vmmig_host h;
	struct vmmig_audit a;
	struct listener l;
	struct kvm_test_vm vm;
	int word, bit, err;

	ASSERT_EQ(0, vmmig_host_get(&self->nl, &h));
	err = vmmig_policy_set(&self->nl, &c);
	if (!h.cpuid_strict) {
		EXPECT_EQ(-EOPNOTSUPP, err);
		EXPECT_NE(NULL, strstr(self->nl.err.msg, "not supported"));
		SKIP(return, "strict mode is not supported by this kernel");
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, vmmig_policy_get(&self->nl, &p));
	EXPECT_EQ(VMMIG_CPU_MODE_COMMON, p.strict);
	bit = narrow_common(&self->nl, self->host, &word);
	ASSERT_GE(bit, 0);
	ASSERT_EQ(0, listener_open(&l, false));

	fits = supported_cpuid(self->kvm);
	*reg(find(fits, vmmig_word_leaf(word), vmmig_word_subleaf(word)), word) &=
		~(1u << bit);
	ASSERT_EQ(0, vm_create(&vm, 1, fits));
	EXPECT_EQ(0, __vcpu_ioctl(&vm.vcpus[0], KVM_RUN, 0));
	kvm_vm_destroy(&vm);
	free(fits);

	ASSERT_EQ(0, vm_create(&vm, 2, self->supported));
	EXPECT_EQ(-EIO, __vcpu_ioctl(&vm.vcpus[0], KVM_RUN, 0));
	EXPECT_EQ(-EIO, __vcpu_ioctl(&vm.vcpus[1], KVM_GET_REGS, &regs));
	EXPECT_EQ(-EIO, __vm_ioctl(&vm, KVM_CREATE_VCPU, 2));

	ASSERT_EQ(0, audit_event(&l, &a));
	EXPECT_EQ(getpid(), a.pid);
	EXPECT_EQ(VMMIG_CPU_MODE_COMMON, a.mode);
	EXPECT_EQ(VMMIG_COMPLIANCE_EXCEEDS, a.compliance);
	EXPECT_EQ(1u << bit, a.excess[word]);
	kvm_vm_destroy(&vm);
	listener_close(&l);

	/* Another namespace has its own policy, strict mode off. */
	EXPECT_EQ(0, run_in_new_netns(self->supported));

	/* Off again: the same VM runs here too. */
	c.strict = VMMIG_CPU_MODE_OFF;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	ASSERT_EQ(0, vm_create(&vm, 1, self->supported));
	EXPECT_EQ(0, __vcpu_ioctl(&vm.vcpus[0], KVM_RUN, 0));
	kvm_vm_destroy(&vm);
}

/*
 * A registered VM: refused registration when it exceeds the mask of the
 * mode it registers with (the extack names the feature); audited by name;
 * its mode changed with POLICY_SET.
 */
TEST_F(cpuid, registered_vm)
{
	static const uint8_t uuid[VMMIG_UUID_LEN] = { 1, 2, 3 };
	struct vmmig_policy_change c = {};
	struct vmmig_vm_info info;
	struct vmmig_audit a;
	struct nl_msg *msg;
	struct kvm_test_vm vm;
	int word, bit;

	bit = narrow_common(&self->nl, self->host, &word);
	ASSERT_GE(bit, 0);
	ASSERT_EQ(0, vm_create(&vm, 1, self->supported));

	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_VM_REGISTER, 0);
	vmmig_handle_put(msg, VMMIG_VM_A_HANDLE, VMMIG_BY_FD(vm.vm_fd));
	nla_put_string(msg, VMMIG_VM_A_NAME, "cpuid-test");
	nla_put(msg, VMMIG_VM_A_UUID, sizeof(uuid), uuid);
	nla_put_u32(msg, VMMIG_VM_A_CPU_MODE, VMMIG_CPU_MODE_COMMON);
	EXPECT_EQ(-EPERM, send_raw(&self->nl, msg));
	TH_LOG("%s", self->nl.err.msg);
	EXPECT_NE(NULL, strstr(self->nl.err.msg, "outside the common mask"));
	EXPECT_NE(NULL, strstr(self->nl.err.msg, vmmig_feature_name(word, bit)));
	EXPECT_EQ(-ENOENT, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("cpuid-test"), &info));

	/* Mode off (the default) registers; common then reports it. */
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, vm.vm_fd, "cpuid-test", uuid));
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_NAME("cpuid-test"), -1, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_OK, a.compliance);
	EXPECT_STREQ("cpuid-test", a.name);
	EXPECT_EQ(0, memcmp(uuid, a.uuid, VMMIG_UUID_LEN));
	c.vm_name = "cpuid-test";
	c.vm_mode = VMMIG_CPU_MODE_COMMON;
	ASSERT_EQ(0, vmmig_policy_set(&self->nl, &c));
	ASSERT_EQ(0, vmmig_vm_audit(&self->nl, VMMIG_BY_NAME("cpuid-test"), -1, &a));
	EXPECT_EQ(VMMIG_COMPLIANCE_EXCEEDS, a.compliance);
	EXPECT_EQ(VMMIG_CPU_MODE_COMMON, a.mode);
	EXPECT_EQ(1u << bit, a.excess[word]);
	ASSERT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("cpuid-test"), &info));
	EXPECT_EQ(VMMIG_CPU_MODE_COMMON, info.cpu_mode);
	EXPECT_EQ(VMMIG_COMPLIANCE_EXCEEDS, info.compliance);

	EXPECT_EQ(-ENOENT, vmmig_vm_audit(&self->nl, VMMIG_BY_NAME("no-such-vm"), -1, &a));
	EXPECT_NE(0, self->nl.err.msg[0]);
	EXPECT_EQ(0, vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("cpuid-test")));
	kvm_vm_destroy(&vm);
}

TEST_HARNESS_MAIN
