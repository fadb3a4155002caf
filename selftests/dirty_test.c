// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig.ko's VM registry and in-kernel dirty-page harvesting, with a real
 * KVM VM whose vCPU writes the round number into random pages while the
 * host harvests (in the manner of KVM's dirty_log_test): every page that
 * changed is reported in its round or, when it was written after its
 * harvest, in the next one; none is ever lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/vmmig.h>

#include "kselftest_harness.h"
#include "kvm_vm.h"
#include "registry.h"
#include "vmmig_test.h"

#define MIB		(1024 * 1024ULL)
#define PAGE		4096ULL
#define CTL		0x2000
#define TEST_BASE	(1 * MIB)	/* test area: 1 MiB .. end of memory */
#define ROUNDS		32

static const uint64_t slot_sizes[] = { 8 * MIB, 8 * MIB };
static const uint8_t uuid1[VMMIG_UUID_LEN] = { 1, 2, 3, 4 };
static const uint8_t uuid2[VMMIG_UUID_LEN] = { 5, 6, 7, 8 };

static uint32_t *ctl(struct kvm_test_vm *vm, int word)
{
	return (uint32_t *)kvm_vm_gpa(vm, CTL) + word;
}

FIXTURE(vm) {
	struct vmmig_nl nl;
	struct kvm_test_vm vm;
	uint64_t npages;	/* in the test area */
};

FIXTURE_SETUP(vm)
{
	int err = vmmig_nl_open(&self->nl);

	if (err == -ENOENT)
		SKIP(return, "vmmig.ko is not loaded");
	ASSERT_EQ(0, err);
	err = __kvm_vm_create(&self->vm, slot_sizes, 2, 1);
	if (err == -ENODEV)
		SKIP(return, "/dev/kvm is missing (modprobe kvm_amd)");
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, __kvm_vm_load(&self->vm, dirty_guest_start,
				   dirty_guest_end - dirty_guest_start));
	self->npages = (16 * MIB - TEST_BASE) / PAGE;
	*ctl(&self->vm, 0) = 1;			/* round */
	*ctl(&self->vm, 1) = 12345;		/* seed */
	*ctl(&self->vm, 3) = self->npages;
	*ctl(&self->vm, 4) = TEST_BASE;
	vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("t1"));
}

FIXTURE_TEARDOWN(vm)
{
	if (self->nl.sk)
		vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("t1"));
	kvm_vm_destroy(&self->vm);
	vmmig_nl_close(&self->nl);
}

TEST_F(vm, register_and_get)
{
	struct vmmig_vm_info info;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info));
	EXPECT_STREQ("t1", info.name);
	EXPECT_EQ(0, memcmp(uuid1, info.uuid, VMMIG_UUID_LEN));
	EXPECT_EQ(getpid(), info.pid);
	EXPECT_EQ(1, info.vcpus);
	EXPECT_FALSE(info.dirty);
	ASSERT_EQ(2, info.nslots);
	for (int i = 0; i < 2; i++) {
		int s = info.slots[i].id;

		ASSERT_TRUE(s == 0 || s == 1);
		EXPECT_EQ(self->vm.slots[s].gpa / PAGE, info.slots[i].base_gfn);
		EXPECT_EQ(self->vm.slots[s].size / PAGE, info.slots[i].npages);
		EXPECT_EQ((uintptr_t)self->vm.slots[s].host, info.slots[i].uaddr);
	}
}

static int count_vm(const struct vmmig_vm_info *vm, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

TEST_F(vm, register_rejects)
{
	struct kvm_test_vm other;
	int null_fd = open("/dev/null", O_RDONLY), n = 0;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));

	EXPECT_EQ(-EINVAL, vmmig_vm_register(&self->nl, null_fd, "t2", uuid2));
	EXPECT_STREQ("file descriptor is not a KVM VM", self->nl.err.msg);
	EXPECT_EQ(-EINVAL, vmmig_vm_register(&self->nl, self->vm.kvm_fd, "t2", uuid2));
	EXPECT_EQ(-EBADF, vmmig_vm_register(&self->nl, 999, "t2", uuid2));
	EXPECT_STREQ("no such file descriptor in the sender", self->nl.err.msg);
	EXPECT_EQ(-EEXIST, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t2", uuid2));
	EXPECT_STREQ("vmmig: this VM is already registered as 't1'", self->nl.err.msg);
	EXPECT_EQ(-EINVAL, vmmig_vm_register(&self->nl, self->vm.vm_fd, "a b", uuid2));
	EXPECT_STREQ("VM name must be printable, without spaces or '/'", self->nl.err.msg);

	ASSERT_EQ(0, __kvm_vm_create(&other, slot_sizes, 1, 1));
	EXPECT_EQ(-EEXIST, vmmig_vm_register(&self->nl, other.vm_fd, "t1", uuid2));
	EXPECT_STREQ("vmmig: a VM with this name or uuid is already registered",
		     self->nl.err.msg);
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, other.vm_fd, "t2", uuid2));
	ASSERT_EQ(0, vmmig_vm_dump(&self->nl, count_vm, &n));
	EXPECT_EQ(2, n);
	ASSERT_EQ(0, vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("t2")));
	EXPECT_EQ(-ENOENT, vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("t2")));
	EXPECT_STREQ("no VM of this name is registered here", self->nl.err.msg);
	kvm_vm_destroy(&other);
	close(null_fd);

	/* Missing attributes. */
	struct nl_msg *msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_VM_REGISTER, 0);

	vmmig_handle_put(msg, VMMIG_VM_A_HANDLE, VMMIG_BY_FD(self->vm.vm_fd));
	nla_put_string(msg, VMMIG_VM_A_NAME, "t3");
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("vmmig: missing VM uuid", self->nl.err.msg);
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_VM_REGISTER, 0);
	nla_put_string(msg, VMMIG_VM_A_NAME, "t3");
	nla_put(msg, VMMIG_VM_A_UUID, VMMIG_UUID_LEN, uuid2);
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("vmmig: missing VM handle (name, uuid or file descriptor)",
		     self->nl.err.msg);
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_VM_REGISTER, 0);
	vmmig_handle_put(msg, VMMIG_VM_A_HANDLE, VMMIG_BY_NAME("t1"));
	nla_put_string(msg, VMMIG_VM_A_NAME, "t3");
	nla_put(msg, VMMIG_VM_A_UUID, VMMIG_UUID_LEN, uuid2);
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("a VM is registered by its file descriptor", self->nl.err.msg);
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_VM_REGISTER, 0);
	vmmig_handle_put(msg, VMMIG_VM_A_HANDLE, VMMIG_BY_FD(self->vm.vm_fd));
	nla_put_string(msg, VMMIG_VM_A_NAME, "t3");
	nla_put(msg, VMMIG_VM_A_UUID, 15, uuid2);
	EXPECT_EQ(-ERANGE, send_raw(&self->nl, msg));
	EXPECT_STREQ("binary attribute size out of range", self->nl.err.msg);
}

TEST_F(vm, unprivileged)
{
	struct vmmig_vm_info info;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, drop_cap_net_admin());
	EXPECT_EQ(-EPERM, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t9", uuid2));
	EXPECT_EQ(-EPERM, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	EXPECT_EQ(-EPERM, vmmig_vm_unregister(&self->nl, VMMIG_BY_NAME("t1")));
	EXPECT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info));
}

/* One VM handle, three forms: each names the VM, and only one at a time. */
TEST_F(vm, handle_forms)
{
	struct vmmig_vm_info info;
	struct vmmig_dirty_stats st;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info));
	EXPECT_EQ(0, memcmp(uuid1, info.uuid, VMMIG_UUID_LEN));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_UUID(uuid1), &info));
	EXPECT_STREQ("t1", info.name);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, vmmig_vm_get(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), &info));
	EXPECT_STREQ("t1", info.name);

	/* Replies name the VM with the same nest, by name and uuid. */
	ASSERT_EQ(0, vmmig_dirty_get_stats(&self->nl, VMMIG_BY_UUID(uuid1), &st));
	EXPECT_STREQ("t1", st.name);
	EXPECT_EQ(0, memcmp(uuid1, st.uuid, VMMIG_UUID_LEN));

	/* By descriptor, a VM must be registered for most commands. */
	ASSERT_EQ(0, vmmig_vm_unregister(&self->nl, VMMIG_BY_FD(self->vm.vm_fd)));
	EXPECT_EQ(-ENOENT, vmmig_vm_get(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), &info));
	EXPECT_STREQ("this VM is not registered here", self->nl.err.msg);
}

/*
 * Every command that names a VM takes the handle, through one parser: each
 * refuses a missing, empty, doubled or unknown handle with its message.
 */
TEST_F(vm, handle_rejects)
{
	static const struct {
		uint8_t cmd;
		int attr;
	} cmds[] = {
		{ VMMIG_CMD_VM_UNREGISTER, VMMIG_VM_A_HANDLE },
		{ VMMIG_CMD_VM_GET, VMMIG_VM_A_HANDLE },
		{ VMMIG_CMD_DIRTY_START, VMMIG_DIRTY_A_HANDLE },
		{ VMMIG_CMD_DIRTY_HARVEST, VMMIG_DIRTY_A_HANDLE },
		{ VMMIG_CMD_DIRTY_STOP, VMMIG_DIRTY_A_HANDLE },
		{ VMMIG_CMD_DIRTY_STATS, VMMIG_DIRTY_A_HANDLE },
		{ VMMIG_CMD_DIRTY_RATE, VMMIG_DIRTY_A_HANDLE },
		{ VMMIG_CMD_VM_AUDIT, VMMIG_CPUID_A_HANDLE },
		{ VMMIG_CMD_POLICY_GET, VMMIG_CPUID_A_HANDLE },
	};
	static const uint8_t nouuid[VMMIG_UUID_LEN] = { 9, 9, 9 };
	int null_fd = open("/dev/null", O_RDONLY);
	struct kvm_test_vm other;
	struct nl_msg *msg;
	size_t i;

	ASSERT_LE(0, null_fd);
	ASSERT_EQ(0, __kvm_vm_create(&other, slot_sizes, 1, 1));
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const bool any = cmds[i].cmd == VMMIG_CMD_DIRTY_RATE ||
				 cmds[i].cmd == VMMIG_CMD_VM_AUDIT;
		const struct {
			struct vmmig_handle h;
			int err;
			const char *msg;
		} bad[] = {
			/* An empty nest (libnl drops an empty nest it ends). */
			{ { .fd = -2 }, -EINVAL,
			  "empty VM handle: give the VM's name, uuid or file descriptor" },
			{ { .name = "t1", .uuid = uuid1, .fd = -1 }, -EINVAL,
			  "VM handle names the VM more than one way: give one of name, uuid, file descriptor" },
			{ { .name = "t1", .fd = self->vm.vm_fd }, -EINVAL,
			  "VM handle names the VM more than one way: give one of name, uuid, file descriptor" },
			{ VMMIG_BY_NAME("nope"), -ENOENT, "no VM of this name is registered here" },
			{ VMMIG_BY_UUID(nouuid), -ENOENT, "no VM with this uuid is registered here" },
			{ VMMIG_BY_FD(999), -EBADF, "no such file descriptor in the sender" },
			{ VMMIG_BY_FD(null_fd), -EINVAL, "file descriptor is not a KVM VM" },
			{ VMMIG_BY_FD(self->vm.kvm_fd), -EINVAL, "file descriptor is not a KVM VM" },
			{ VMMIG_BY_FD(other.vm_fd), any ? 1 : -ENOENT,
			  "this VM is not registered here" },
		};
		size_t j;

		TH_LOG("command %u", cmds[i].cmd);
		msg = vmmig_nl_msg(&self->nl, cmds[i].cmd, 0);
		if (cmds[i].cmd != VMMIG_CMD_POLICY_GET) {
			EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
			EXPECT_STREQ("vmmig: missing VM handle (name, uuid or file descriptor)",
				     self->nl.err.msg);
		} else {
			nlmsg_free(msg);	/* without a handle: the namespace's policy */
		}
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			if (bad[j].err > 0)
				continue;	/* takes a VM that is not registered */
			msg = vmmig_nl_msg(&self->nl, cmds[i].cmd, 0);
			if (bad[j].h.fd == -2) {
				ASSERT_EQ(0, nla_put(msg, cmds[i].attr | NLA_F_NESTED, 0, NULL));
			} else {
				ASSERT_EQ(0, vmmig_handle_put(msg, cmds[i].attr, bad[j].h));
			}
			if (cmds[i].cmd == VMMIG_CMD_DIRTY_RATE)
				nla_put_u32(msg, VMMIG_DIRTY_A_SAMPLE_PAGES, 1);
			EXPECT_EQ(bad[j].err, send_raw(&self->nl, msg));
			EXPECT_STREQ(bad[j].msg, self->nl.err.msg);
		}
	}
	/* Nothing above touched the registered VM. */
	ASSERT_EQ(0, vmmig_vm_unregister(&self->nl, VMMIG_BY_UUID(uuid1)));
	kvm_vm_destroy(&other);
	close(null_fd);
}

/* The VM's owner closes it: the registry lets go by itself. */
TEST_F(vm, closed_vm_leaves)
{
	struct vmmig_vm_info info;
	struct listener l;
	char buf[8192];
	int i;

	ASSERT_EQ(0, listener_open(&l, false));
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_LT(0, listener_wait(&l, 0, VMMIG_CMD_VM_NTF, buf, sizeof(buf), 3000));
	kvm_vm_destroy(&self->vm);
	for (i = 0; i < 50; i++) {
		if (vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info) == -ENOENT)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(-ENOENT, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info));
	ASSERT_LT(0, listener_wait(&l, 0, VMMIG_CMD_VM_NTF, buf, sizeof(buf), 3000));
	listener_close(&l);
}

TEST_F(vm, dirty_rejects)
{
	struct vmmig_dirty_stats st;
	pid_t pid;
	int status;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	EXPECT_EQ(-ENOTCONN, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), NULL, 0, &st));
	EXPECT_STREQ("vmmig: dirty logging is not started (DIRTY_START)", self->nl.err.msg);
	EXPECT_EQ(-ENOENT, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("nope")));
	ASSERT_EQ(0, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	EXPECT_EQ(-EALREADY, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));

	/* Another process (another mm) may not drive the owner's VM. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmmig_nl nl;

		if (vmmig_nl_open(&nl))
			_exit(10);
		if (vmmig_dirty_harvest(&nl, VMMIG_BY_NAME("t1"), NULL, 0, &st) != -EACCES)
			_exit(11);
		if (!strstr(nl.err.msg, "must be driven by the VM's owner"))
			_exit(12);
		if (vmmig_vm_unregister(&nl, VMMIG_BY_NAME("t1")) != -EBUSY)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, vmmig_dirty_stop(&self->nl, VMMIG_BY_NAME("t1")));
	EXPECT_EQ(-ENOTCONN, vmmig_dirty_stop(&self->nl, VMMIG_BY_NAME("t1")));
}

/* Checks one harvest against guest memory; see the file's comment. */
struct tracker {
	uint32_t *seen;		/* last value the host saw per test page */
	uint8_t *pending;	/* changed after its harvest: due next round */
	uint8_t *reported;
	uint64_t npages, lost, late, reported_pages;
};

static int check_round(struct kvm_test_vm *vm, struct tracker *t,
		       const struct vmmig_dirty_range *r, uint32_t nr)
{
	uint64_t first = TEST_BASE / PAGE, p;
	uint32_t i;

	memset(t->reported, 0, t->npages);
	for (i = 0; i < nr; i++)
		for (p = r[i].gfn; p < r[i].gfn + r[i].npages; p++)
			if (p >= first && p < first + t->npages)
				t->reported[p - first] = 1;
	for (p = 0; p < t->npages; p++) {
		uint32_t v = *(volatile uint32_t *)kvm_vm_gpa(vm, TEST_BASE + p * PAGE);

		if (t->reported[p]) {
			t->reported_pages++;
			t->seen[p] = v;
			t->pending[p] = 0;
			continue;
		}
		if (t->pending[p]) {
			t->lost++;	/* written after a harvest, missed again */
			t->pending[p] = 0;
		}
		if (v != t->seen[p]) {
			t->pending[p] = 1;
			t->late++;
			t->seen[p] = v;
		}
	}
	return 0;
}

static void harvest_rounds(struct __test_metadata *_metadata,
			   FIXTURE_DATA(vm) *self, bool pause, bool use_buf)
{
	struct tracker t = { .npages = self->npages };
	size_t bufsize = (16 * MIB / PAGE / 2 + 1) * sizeof(struct vmmig_dirty_range);
	struct vmmig_dirty_range *buf = use_buf ? malloc(bufsize) : NULL;
	struct vmmig_dirty_stats st;
	uint32_t writes_before;
	int round;

	t.seen = calloc(t.npages, sizeof(*t.seen));
	t.pending = calloc(t.npages, 1);
	t.reported = calloc(t.npages, 1);
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	ASSERT_EQ(0, __kvm_vm_start(&self->vm));

	for (round = 1; round <= ROUNDS; round++) {
		*ctl(&self->vm, 0) = round;
		writes_before = *ctl(&self->vm, 2);
		usleep(20 * 1000);
		/* Under nested emulation the vCPU may need longer to get going. */
		for (int i = 0; i < 400 && writes_before == *ctl(&self->vm, 2); i++)
			usleep(5 * 1000);
		if (pause)
			kvm_vm_pause(&self->vm);
		ASSERT_EQ(0, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), buf,
						 use_buf ? bufsize : 0, &st)) {
			TH_LOG("round %d: %s", round, vmmig_nl_strerror(&self->nl, -1));
		}
		EXPECT_EQ(round, st.round);
		EXPECT_EQ(st.pages * PAGE, st.bytes);
		check_round(&self->vm, &t, use_buf ? buf : st.ranges, st.nr_ranges);
		free(st.ranges);
		if (pause) {
			/* Nothing can be late with the vCPU stopped. */
			EXPECT_EQ(0, t.late);
			kvm_vm_resume(&self->vm);
		}
		EXPECT_NE(writes_before, *ctl(&self->vm, 2));
	}
	/* A last harvest with the vCPU stopped settles every late page. */
	kvm_vm_pause(&self->vm);
	ASSERT_EQ(0, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), buf, use_buf ? bufsize : 0, &st));
	check_round(&self->vm, &t, use_buf ? buf : st.ranges, st.nr_ranges);
	free(st.ranges);
	ASSERT_EQ(0, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), buf, use_buf ? bufsize : 0, &st));
	/* Stopped and just harvested: only the control page can be dirty. */
	EXPECT_GE(1, st.pages);
	free(st.ranges);

	TH_LOG("%d rounds, %llu pages reported, %llu written after their harvest, %llu lost, %u guest writes",
	       ROUNDS, (unsigned long long)t.reported_pages,
	       (unsigned long long)t.late, (unsigned long long)t.lost,
	       *ctl(&self->vm, 2));
	EXPECT_EQ(0, t.lost);
	EXPECT_LT(0, t.reported_pages);
	for (uint64_t p = 0; p < t.npages; p++)
		ASSERT_EQ(0, t.pending[p]);

	ASSERT_EQ(0, vmmig_dirty_get_stats(&self->nl, VMMIG_BY_NAME("t1"), &st));
	EXPECT_EQ(ROUNDS + 2, st.round);
	EXPECT_EQ(2, st.nslots);
	ASSERT_EQ(0, vmmig_dirty_stop(&self->nl, VMMIG_BY_NAME("t1")));
	free(buf);
	free(t.seen);
	free(t.pending);
	free(t.reported);
}

TEST_F(vm, harvest_running)
{
	harvest_rounds(_metadata, self, false, false);
}

TEST_F(vm, harvest_paused)
{
	harvest_rounds(_metadata, self, true, false);
}

TEST_F(vm, harvest_into_buffer)
{
	harvest_rounds(_metadata, self, false, true);
}

/* A buffer too small: refused, and nothing is lost for the next harvest. */
TEST_F(vm, harvest_small_buffer)
{
	struct vmmig_dirty_range small[2];
	struct vmmig_dirty_stats st;
	uint64_t p, first = TEST_BASE / PAGE, found = 0;
	uint32_t i;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	ASSERT_EQ(0, __kvm_vm_start(&self->vm));
	for (i = 0; i < 1000 && *ctl(&self->vm, 2) < 16; i++)
		usleep(5 * 1000);
	kvm_vm_pause(&self->vm);
	ASSERT_EQ(-ENOSPC, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), small, sizeof(small), &st));
	EXPECT_NE(NULL, strstr(self->nl.err.msg, "nothing was cleared"));
	ASSERT_EQ(0, vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), NULL, 0, &st));
	/* Every page the guest wrote (non-zero) is in this harvest. */
	for (p = 0; p < self->npages; p++) {
		bool in = false;

		if (!*(uint32_t *)kvm_vm_gpa(&self->vm, TEST_BASE + p * PAGE))
			continue;
		for (i = 0; i < st.nr_ranges && !in; i++)
			in = first + p >= st.ranges[i].gfn &&
			     first + p < st.ranges[i].gfn + st.ranges[i].npages;
		EXPECT_TRUE(in);
		found++;
	}
	EXPECT_LT(2, found);
	free(st.ranges);
}

/*
 * The owner closes the VM's descriptor while harvests go on: each harvest
 * either works (the registry still holds the VM) or, once the reaper has
 * let the VM go, finds no such VM; nothing else, and nothing breaks.
 */
TEST_F(vm, vm_closed_during_harvest)
{
	struct vmmig_dirty_stats st;
	struct vmmig_vm_info info;
	int i, err, ok = 0, gone = 0;

	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	ASSERT_EQ(0, __kvm_vm_start(&self->vm));
	for (i = 0; i < 20; i++) {
		if (i == 5) {
			close(self->vm.vm_fd);
			self->vm.vm_fd = -1;
		}
		err = vmmig_dirty_harvest(&self->nl, VMMIG_BY_NAME("t1"), NULL, 0, &st);
		if (!err) {
			ok++;
			free(st.ranges);
			EXPECT_EQ(0, gone);
		} else {
			EXPECT_EQ(-ENOENT, err);
			gone++;
		}
	}
	EXPECT_LE(6, ok);	/* at least the one right after the close */
	for (i = 0; i < 50 && vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info) != -ENOENT; i++)
		usleep(100 * 1000);
	EXPECT_EQ(-ENOENT, vmmig_vm_get(&self->nl, VMMIG_BY_NAME("t1"), &info));
}

/*
 * Unloading vmmig.ko (by an administrator's rmmod, another process) with a
 * VM registered and logging: the VM lives on, and as only the owner can
 * turn KVM's logging off, a new start after the reload is refused rather
 * than sharing the log.
 */
TEST_F(vm, unload_with_registered_vm)
{
	const char *ko = getenv("VMMIG_KO");
	uint32_t writes;
	int status;
	pid_t pid;

	if (!ko)
		SKIP(return, "VMMIG_KO (path of the built vmmig.ko) is not set");
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	ASSERT_EQ(0, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	ASSERT_EQ(0, __kvm_vm_start(&self->vm));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(module_remove("vmmig") ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	writes = *ctl(&self->vm, 2);
	usleep(50 * 1000);
	EXPECT_NE(writes, *ctl(&self->vm, 2));
	ASSERT_EQ(0, module_insert_path(ko));
	vmmig_nl_close(&self->nl);
	ASSERT_EQ(0, vmmig_nl_open(&self->nl));
	/* Logging is still on in KVM: a new start is refused, not doubled. */
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	EXPECT_EQ(-EBUSY, vmmig_dirty_start(&self->nl, VMMIG_BY_NAME("t1")));
	EXPECT_NE(NULL, strstr(self->nl.err.msg, "another program is tracking this VM"));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Sampling estimates a rate that a paced guest sets: within 25 % of the
 * pages the guest really wrote per second while the sample ran.
 */
TEST_F(vm, dirty_rate_sampling)
{
	struct vmmig_dirty_rate r;
	uint32_t before, after;
	uint64_t t0, t1;
	double truth, err;

	ASSERT_EQ(0, __kvm_vm_load(&self->vm, rate_guest_start,
				   rate_guest_end - rate_guest_start));
	*ctl(&self->vm, 3) = 12 * MIB / PAGE;	/* area: 1 MiB .. 13 MiB */
	*ctl(&self->vm, 5) = 12 * MIB / PAGE;	/* first step touches it all */
	self->vm.hlt_sleep_us = 10000;
	ASSERT_EQ(0, __kvm_vm_start(&self->vm));
	/* Every first touch is a nested exit: give a loaded host time. */
	for (int i = 0; i < 3000 && *ctl(&self->vm, 7) < 12 * MIB / PAGE; i++)
		usleep(10 * 1000);
	ASSERT_LE(12 * MIB / PAGE, *ctl(&self->vm, 7));
	*ctl(&self->vm, 5) = 4;		/* then 4 pages every 10 ms */
	usleep(200 * 1000);

	before = *ctl(&self->vm, 7);
	t0 = now_ns();
	ASSERT_EQ(0, vmmig_dirty_sample(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), 2, 1024, &r));
	t1 = now_ns();
	after = *ctl(&self->vm, 7);

	truth = (after - before) * 1e9 / (t1 - t0);
	err = (r.rate - truth) / truth;
	TH_LOG("guest wrote %.0f pages/s, sampling estimates %llu pages/s (%+.0f %%): %u of %u sampled pages changed",
	       truth, (unsigned long long)r.rate, err * 100,
	       (unsigned)r.changed_pages, r.sample_pages);
	EXPECT_EQ(1024, r.sample_pages);
	EXPECT_EQ(16 * MIB / PAGE, r.total_pages);
	EXPECT_LT(after - before, 12 * MIB / PAGE);	/* no page counted twice */
	EXPECT_GT(0.25, err);
	EXPECT_LT(-0.25, err);

	/* A registered VM by name; a guest at rest shows no change. */
	ASSERT_EQ(0, vmmig_vm_register(&self->nl, self->vm.vm_fd, "t1", uuid1));
	kvm_vm_pause(&self->vm);
	ASSERT_EQ(0, vmmig_dirty_sample(&self->nl, VMMIG_BY_NAME("t1"), 1, 4096, &r));
	EXPECT_EQ(0, r.changed_pages);
	EXPECT_EQ(0, r.rate);
	/*
	 * The guest wrote into every page of its 12 MiB area, none of the
	 * other 4 MiB but its code and control pages: a quarter is zeros (a
	 * sample of 4096 pages has a standard error of 0.7 %).
	 */
	TH_LOG("%llu of %u sampled pages hold only zeros",
	       (unsigned long long)r.zero_pages, r.sample_pages);
	EXPECT_LT(0.20 * r.sample_pages, r.zero_pages);
	EXPECT_GT(0.30 * r.sample_pages, r.zero_pages);
}

/*
 * A VMM that restored its guest with write(2) has the pages in its memory
 * file's page cache, not in its page tables until the guest touches them:
 * the sample reads them there, and counts them as data, not zeros.
 */
TEST_F(vm, dirty_rate_reads_the_page_cache)
{
	void *host = self->vm.slots[1].host;
	uint64_t size = self->vm.slots[1].size, i;
	struct vmmig_dirty_rate r;
	char page[PAGE];
	int fd;

	/* The second slot (8 MiB) in a memfd: its first half written, never mapped. */
	fd = memfd_create("dirty_test", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	for (i = 0; i < size / 2 / PAGE; i++) {
		memset(page, 0, sizeof(page));
		memcpy(page + 64, &i, sizeof(i));
		page[0] = 1;
		ASSERT_EQ(PAGE, pwrite(fd, page, PAGE, i * PAGE));
	}
	ASSERT_EQ(host, mmap(host, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0));
	close(fd);

	/*
	 * 1024 of the guest's 4096 pages hold data there, a few more in the
	 * first slot (code, control): three quarters are zeros.
	 */
	ASSERT_EQ(0, vmmig_dirty_sample(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), 1, 4096, &r));
	TH_LOG("%llu of %u sampled pages hold only zeros, %llu changed",
	       (unsigned long long)r.zero_pages, r.sample_pages,
	       (unsigned long long)r.changed_pages);
	EXPECT_LT(0.70 * r.sample_pages, r.zero_pages);
	EXPECT_GT(0.80 * r.sample_pages, r.zero_pages);
	EXPECT_EQ(0, r.changed_pages);
}

TEST_F(vm, dirty_rate_rejects)
{
	struct vmmig_dirty_rate r;
	int null_fd = open("/dev/null", O_RDONLY);
	struct nl_msg *msg;

	EXPECT_EQ(-EINVAL, vmmig_dirty_sample(&self->nl, VMMIG_BY_FD(null_fd), 1, 16, &r));
	EXPECT_STREQ("file descriptor is not a KVM VM", self->nl.err.msg);
	EXPECT_EQ(-ENOENT, vmmig_dirty_sample(&self->nl, VMMIG_BY_NAME("nope"), 1, 16, &r));
	EXPECT_EQ(-ERANGE, vmmig_dirty_sample(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), 61, 16, &r));
	EXPECT_STREQ("integer out of range", self->nl.err.msg);
	msg = vmmig_nl_msg(&self->nl, VMMIG_CMD_DIRTY_RATE, 0);
	EXPECT_EQ(-EINVAL, send_raw(&self->nl, msg));
	EXPECT_STREQ("vmmig: missing VM handle (name, uuid or file descriptor)",
		     self->nl.err.msg);
	ASSERT_EQ(0, drop_cap_net_admin());
	EXPECT_EQ(-EPERM, vmmig_dirty_sample(&self->nl, VMMIG_BY_FD(self->vm.vm_fd), 1, 16, &r));
	close(null_fd);
}

TEST_HARNESS_MAIN
