// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "registry.h"

struct nla_policy vmmig_vm_attr_policy[VMMIG_VM_A_MAX + 1] = {
	[VMMIG_VM_A_NAME] = { .type = NLA_NUL_STRING },
	[VMMIG_VM_A_UUID] = { .minlen = VMMIG_UUID_LEN },
	[VMMIG_VM_A_PID] = { .type = NLA_U32 },
	[VMMIG_VM_A_VCPUS] = { .type = NLA_U32 },
	[VMMIG_VM_A_DIRTY] = { .type = NLA_U8 },
	[VMMIG_VM_A_CPU_MODE] = { .type = NLA_U32 },
	[VMMIG_VM_A_COMPLIANCE] = { .type = NLA_U32 },
	[VMMIG_VM_A_MEMSLOTS] = { .type = NLA_NESTED },
	[VMMIG_VM_A_EVENT] = { .type = NLA_U32 },
};

struct nla_policy vmmig_dirty_attr_policy[VMMIG_DIRTY_A_MAX + 1] = {
	[VMMIG_DIRTY_A_HANDLE] = { .type = NLA_NESTED },
	[VMMIG_DIRTY_A_ROUND] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_PAGES] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_BYTES] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_TIME_NS] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_INTERVAL_NS] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_RATE] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_NR_RANGES] = { .type = NLA_U32 },
	[VMMIG_DIRTY_A_SLOTS] = { .type = NLA_NESTED },
	[VMMIG_DIRTY_A_TOTAL_PAGES] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_SAMPLE_PAGES] = { .type = NLA_U32 },
	[VMMIG_DIRTY_A_CHANGED_PAGES] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_ZERO_PAGES] = { .type = NLA_U64 },
};

static uint64_t u64_or0(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

static uint32_t u32_or0(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
}

/* Parses a nest of memslot nests into @slots; returns how many. */
static int parse_slots(struct nlattr *nest, struct vmmig_memslot_info *slots)
{
	struct nlattr *a[VMMIG_MEMSLOT_A_MAX + 1], *one;
	int rem, n = 0;

	if (!nest)
		return 0;
	nla_for_each_nested(one, nest, rem) {
		if (n >= VMMIG_INFO_MAX_SLOTS ||
		    nla_parse_nested(a, VMMIG_MEMSLOT_A_MAX, one, NULL))
			break;
		slots[n].id = u32_or0(a[VMMIG_MEMSLOT_A_ID]);
		slots[n].flags = u32_or0(a[VMMIG_MEMSLOT_A_FLAGS]);
		slots[n].base_gfn = u64_or0(a[VMMIG_MEMSLOT_A_BASE_GFN]);
		slots[n].npages = u64_or0(a[VMMIG_MEMSLOT_A_NPAGES]);
		slots[n].uaddr = u64_or0(a[VMMIG_MEMSLOT_A_UADDR]);
		slots[n].dirty_pages = u64_or0(a[VMMIG_MEMSLOT_A_DIRTY_PAGES]);
		slots[n].rate = u64_or0(a[VMMIG_MEMSLOT_A_RATE]);
		n++;
	}
	return n;
}

int vmmig_vm_parse(struct nlattr **a, struct vmmig_vm_info *vm)
{
	memset(vm, 0, sizeof(*vm));
	if (!a[VMMIG_VM_A_NAME] || !a[VMMIG_VM_A_UUID])
		return -EBADMSG;
	snprintf(vm->name, sizeof(vm->name), "%s", nla_get_string(a[VMMIG_VM_A_NAME]));
	memcpy(vm->uuid, nla_data(a[VMMIG_VM_A_UUID]), VMMIG_UUID_LEN);
	vm->pid = u32_or0(a[VMMIG_VM_A_PID]);
	vm->vcpus = u32_or0(a[VMMIG_VM_A_VCPUS]);
	vm->cpu_mode = u32_or0(a[VMMIG_VM_A_CPU_MODE]);
	vm->compliance = u32_or0(a[VMMIG_VM_A_COMPLIANCE]);
	vm->event = u32_or0(a[VMMIG_VM_A_EVENT]);
	vm->dirty = a[VMMIG_VM_A_DIRTY] && nla_get_u8(a[VMMIG_VM_A_DIRTY]);
	vm->nslots = parse_slots(a[VMMIG_VM_A_MEMSLOTS], vm->slots);
	return 0;
}

static int vm_reply(struct nlattr **attrs, int cmd, void *arg)
{
	return vmmig_vm_parse(attrs, arg);
}

/* A request for @cmd that names @vm in the handle @attr. */
static struct nl_msg *vm_msg(struct vmmig_nl *nl, uint8_t cmd, int attr,
			     struct vmmig_handle vm)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, cmd, 0);

	if (msg && vmmig_handle_put(msg, attr, vm)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int vmmig_vm_register(struct vmmig_nl *nl, int fd, const char *name,
		      const uint8_t uuid[VMMIG_UUID_LEN])
{
	return vmmig_vm_register_mode(nl, fd, name, uuid, VMMIG_CPU_MODE_OFF);
}

int vmmig_vm_register_mode(struct vmmig_nl *nl, int fd, const char *name,
			   const uint8_t uuid[VMMIG_UUID_LEN], uint32_t cpu_mode)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_VM_REGISTER, VMMIG_VM_A_HANDLE,
				    VMMIG_BY_FD(fd));
	struct vmmig_vm_info vm;

	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, VMMIG_VM_A_NAME, name) ||
	    nla_put(msg, VMMIG_VM_A_UUID, VMMIG_UUID_LEN, uuid) ||
	    nla_put_u32(msg, VMMIG_VM_A_CPU_MODE, cpu_mode)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vmmig_nl_request(nl, msg, vmmig_vm_attr_policy, VMMIG_VM_A_MAX,
				vm_reply, &vm);
}

int vmmig_vm_unregister(struct vmmig_nl *nl, struct vmmig_handle vm)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_VM_UNREGISTER,
				    VMMIG_VM_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
}

int vmmig_vm_get(struct vmmig_nl *nl, struct vmmig_handle vm,
		 struct vmmig_vm_info *info)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_VM_GET, VMMIG_VM_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_vm_attr_policy, VMMIG_VM_A_MAX,
				vm_reply, info);
}

struct dump_ctx {
	int (*fn)(const struct vmmig_vm_info *vm, void *arg);
	void *arg;
};

static int dump_one(struct nlattr **attrs, int cmd, void *arg)
{
	struct dump_ctx *ctx = arg;
	struct vmmig_vm_info *vm = malloc(sizeof(*vm));
	int err;

	if (!vm)
		return -ENOMEM;
	err = vmmig_vm_parse(attrs, vm);
	if (!err)
		err = ctx->fn(vm, ctx->arg);
	free(vm);
	return err;
}

int vmmig_vm_dump(struct vmmig_nl *nl,
		  int (*fn)(const struct vmmig_vm_info *vm, void *arg), void *arg)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_VM_GET, NLM_F_DUMP);
	struct dump_ctx ctx = { fn, arg };

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_vm_attr_policy, VMMIG_VM_A_MAX,
				dump_one, &ctx);
}

static int dirty_request(struct vmmig_nl *nl, uint8_t cmd,
			 struct vmmig_handle vm)
{
	struct nl_msg *msg = vm_msg(nl, cmd, VMMIG_DIRTY_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
}

int vmmig_dirty_start(struct vmmig_nl *nl, struct vmmig_handle vm)
{
	return dirty_request(nl, VMMIG_CMD_DIRTY_START, vm);
}

int vmmig_dirty_stop(struct vmmig_nl *nl, struct vmmig_handle vm)
{
	return dirty_request(nl, VMMIG_CMD_DIRTY_STOP, vm);
}

int vmmig_dirty_parse(struct nlattr **a, struct vmmig_dirty_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (vmmig_handle_parse(a[VMMIG_DIRTY_A_HANDLE], st->name, st->uuid) ||
	    !a[VMMIG_DIRTY_A_ROUND])
		return -EBADMSG;
	st->round = nla_get_u64(a[VMMIG_DIRTY_A_ROUND]);
	st->pages = u64_or0(a[VMMIG_DIRTY_A_PAGES]);
	st->bytes = u64_or0(a[VMMIG_DIRTY_A_BYTES]);
	st->time_ns = u64_or0(a[VMMIG_DIRTY_A_TIME_NS]);
	st->interval_ns = u64_or0(a[VMMIG_DIRTY_A_INTERVAL_NS]);
	st->rate = u64_or0(a[VMMIG_DIRTY_A_RATE]);
	st->total_pages = u64_or0(a[VMMIG_DIRTY_A_TOTAL_PAGES]);
	st->nr_ranges = u32_or0(a[VMMIG_DIRTY_A_NR_RANGES]);
	st->nslots = parse_slots(a[VMMIG_DIRTY_A_SLOTS], st->slots);
	if (a[VMMIG_DIRTY_A_RANGES]) {
		size_t len = nla_len(a[VMMIG_DIRTY_A_RANGES]);

		if (len != st->nr_ranges * sizeof(*st->ranges))
			return -EBADMSG;
		st->ranges = malloc(len ?: 1);
		if (!st->ranges)
			return -ENOMEM;
		memcpy(st->ranges, nla_data(a[VMMIG_DIRTY_A_RANGES]), len);
	}
	return 0;
}

static int dirty_reply(struct nlattr **attrs, int cmd, void *arg)
{
	return vmmig_dirty_parse(attrs, arg);
}

int vmmig_dirty_harvest(struct vmmig_nl *nl, struct vmmig_handle vm,
			struct vmmig_dirty_range *buf, uint32_t size,
			struct vmmig_dirty_stats *st)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_DIRTY_HARVEST,
				    VMMIG_DIRTY_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	if (buf && (nla_put_u64(msg, VMMIG_DIRTY_A_BUF_ADDR, (uintptr_t)buf) ||
		    nla_put_u32(msg, VMMIG_DIRTY_A_BUF_SIZE, size))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	memset(st, 0, sizeof(*st));
	return vmmig_nl_request(nl, msg, vmmig_dirty_attr_policy,
				VMMIG_DIRTY_A_MAX, dirty_reply, st);
}

int vmmig_dirty_get_stats(struct vmmig_nl *nl, struct vmmig_handle vm,
			  struct vmmig_dirty_stats *st)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_DIRTY_STATS,
				    VMMIG_DIRTY_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_dirty_attr_policy,
				VMMIG_DIRTY_A_MAX, dirty_reply, st);
}

static int rate_reply(struct nlattr **a, int cmd, void *arg)
{
	struct vmmig_dirty_rate *r = arg;

	if (!a[VMMIG_DIRTY_A_RATE] || !a[VMMIG_DIRTY_A_SAMPLE_PAGES])
		return -EBADMSG;
	r->sample_pages = nla_get_u32(a[VMMIG_DIRTY_A_SAMPLE_PAGES]);
	r->changed_pages = u64_or0(a[VMMIG_DIRTY_A_CHANGED_PAGES]);
	r->zero_pages = u64_or0(a[VMMIG_DIRTY_A_ZERO_PAGES]);
	r->total_pages = u64_or0(a[VMMIG_DIRTY_A_TOTAL_PAGES]);
	r->interval_ns = u64_or0(a[VMMIG_DIRTY_A_INTERVAL_NS]);
	r->rate = nla_get_u64(a[VMMIG_DIRTY_A_RATE]);
	return 0;
}

int vmmig_dirty_sample(struct vmmig_nl *nl, struct vmmig_handle vm,
		       uint32_t seconds, uint32_t sample_pages,
		       struct vmmig_dirty_rate *out)
{
	struct nl_msg *msg = vm_msg(nl, VMMIG_CMD_DIRTY_RATE,
				    VMMIG_DIRTY_A_HANDLE, vm);

	if (!msg)
		return -ENOMEM;
	if ((seconds && nla_put_u32(msg, VMMIG_DIRTY_A_SECONDS, seconds)) ||
	    (sample_pages && nla_put_u32(msg, VMMIG_DIRTY_A_SAMPLE_PAGES, sample_pages))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	memset(out, 0, sizeof(*out));
	return vmmig_nl_request(nl, msg, vmmig_dirty_attr_policy,
				VMMIG_DIRTY_A_MAX, rate_reply, out);
}
