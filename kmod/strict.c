// SPDX-License-Identifier: GPL-2.0
/*
 * Strict CPUID mode: a VM of any VMM whose vCPU CPUID exceeds the mask its
 * namespace's strict mode names never enters the guest.
 *
 * KVM offers no hook on KVM_SET_CPUID2 or KVM_RUN, so a kprobe sits at the
 * entry of kvm_arch_vcpu_ioctl_run(), which kvm_vcpu_ioctl() calls with
 * vcpu->mutex held, after its own check of kvm->vm_dead. Until a vCPU has
 * entered the guest once (arch.last_vmentry_cpu is -1) its CPUID is audited
 * there against the caller's namespace policy; a VM that exceeds it is
 * stopped KVM's own way: kvm->vm_dead makes every later ioctl of the VM fail
 * with -EIO, and KVM_REQ_VM_DEAD makes vcpu_enter_guest() return -EIO
 * before the first entry. After the first entry KVM refuses any
 * KVM_SET_CPUID2 that would change the CPUID, so nothing is left to check
 * and the handler returns at once. The probe is enabled only while some
 * namespace has strict mode on.
 */

#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "cpuid.h"
#include "netlink.h"
#include "policy.h"
#include "strict.h"

/* What the handler cannot do itself: kick the other vCPUs and report. */
struct strict_refusal {
	struct work_struct work;
	struct kvm *kvm;
	struct net *net;
	enum vmmig_cpu_mode mode;
	u32 excess[VMMIG_NR_WORDS];
};

static struct workqueue_struct *strict_wq;
static DEFINE_MUTEX(strict_lock);	/* strict_users, the probe's state */
static unsigned int strict_users;
static bool strict_registered;

static void strict_refused(struct work_struct *work)
{
	struct strict_refusal *s = container_of(work, struct strict_refusal, work);
	struct vmmig_cpuid_report r = { .compliance = VMMIG_COMPLIANCE_EXCEEDS };
	char buf[256];

	kvm_make_all_cpus_request(s->kvm, KVM_REQ_VM_DEAD);
	memcpy(r.excess, s->excess, sizeof(r.excess));
	r.vcpus = atomic_read(&s->kvm->online_vcpus);
	vmmig_cpuid_excess_str(buf, sizeof(buf), &r, s->mode);
	pr_notice_ratelimited("strict mode stopped the VM of pid %d before its first run: %s\n",
			      s->kvm->userspace_pid, buf);
	vmmig_nl_audit_event(s->net, NULL, s->kvm->userspace_pid, s->mode, &r);
	put_net(s->net);
	kvm_put_kvm(s->kvm);
	kfree(s);
}

static int strict_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs_get_kernel_argument(regs, 0);
	u32 mask[VMMIG_NR_WORDS], excess[VMMIG_NR_WORDS] = {};
	struct kvm *kvm = vcpu->kvm;
	struct strict_refusal *s;
	enum vmmig_cpu_mode mode;
	struct net *net;

	if (READ_ONCE(vcpu->arch.last_vmentry_cpu) != -1 || READ_ONCE(kvm->vm_dead))
		return 0;
	/* The caller's own namespace: current is the task in the ioctl. */
	net = current->nsproxy->net_ns;
	mode = vmmig_policy_strict(net, mask);
	if (mode == VMMIG_CPU_MODE_OFF ||
	    !vmmig_cpuid_audit_entries(vcpu->arch.cpuid_entries,
				       vcpu->arch.cpuid_nent, mask, excess))
		return 0;

	WRITE_ONCE(kvm->vm_dead, true);
	kvm_make_request(KVM_REQ_VM_DEAD, vcpu);
	s = kzalloc(sizeof(*s), GFP_ATOMIC);
	if (!s)
		return 0;	/* stopped all the same, only not reported */
	INIT_WORK(&s->work, strict_refused);
	kvm_get_kvm(kvm);
	s->kvm = kvm;
	s->net = get_net(net);
	s->mode = mode;
	memcpy(s->excess, excess, sizeof(excess));
	queue_work(strict_wq, &s->work);
	return 0;
}

static struct kprobe strict_probe = {
	.symbol_name = "kvm_arch_vcpu_ioctl_run",
	.pre_handler = strict_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

/**
 * vmmig_strict_supported() - whether strict mode can be enforced here
 *
 * Return: true if the probe is in place.
 */
bool vmmig_strict_supported(void)
{
	return READ_ONCE(strict_registered);
}

/**
 * vmmig_strict_get() - a namespace turns strict mode on
 *
 * Return: 0, or a negative errno if the probe cannot be enabled.
 */
int vmmig_strict_get(void)
{
	int ret = 0;

	mutex_lock(&strict_lock);
	if (!strict_registered)
		ret = -EOPNOTSUPP;
	else if (!strict_users)
		ret = enable_kprobe(&strict_probe);
	if (!ret)
		strict_users++;
	mutex_unlock(&strict_lock);
	return ret;
}

/**
 * vmmig_strict_put() - a namespace turns strict mode off, or goes away
 */
void vmmig_strict_put(void)
{
	mutex_lock(&strict_lock);
	if (!WARN_ON_ONCE(!strict_users) && !--strict_users)
		disable_kprobe(&strict_probe);
	mutex_unlock(&strict_lock);
}

/**
 * vmmig_strict_init() - place the (disabled) probe
 *
 * A kernel without kprobes, or whose KVM has no kvm_arch_vcpu_ioctl_run(),
 * loads the module all the same and reports strict mode unsupported.
 *
 * Return: 0 or -ENOMEM.
 */
int vmmig_strict_init(void)
{
	int ret;

	strict_wq = alloc_workqueue("vmmig_strict", 0, 0);
	if (!strict_wq)
		return -ENOMEM;
	ret = register_kprobe(&strict_probe);
	if (ret)
		pr_info("strict CPUID mode unavailable: cannot probe kvm_arch_vcpu_ioctl_run (%d)\n",
			ret);
	strict_registered = !ret;
	return 0;
}

/**
 * vmmig_strict_uninit() - remove the probe once no handler runs, and wait
 * for the reports still queued
 */
void vmmig_strict_uninit(void)
{
	if (strict_registered)
		unregister_kprobe(&strict_probe);
	strict_registered = false;
	destroy_workqueue(strict_wq);
}
