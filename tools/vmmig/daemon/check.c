// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-flight checks of a move (`vmmig check`, the counterpart of Hyper-V's
 * Compare-VM, and the first step of every `vmmig move`): what stops a VM
 * from moving to a host, each with a stable ID, a message and how to fix it
 * (Documentation/admin-guide/cpu-compat.rst lists the IDs). The source
 * checks the VM and itself, then asks the destination over the control
 * connection (CHECK, answered by CHECK_REPLY) for what only it can see: its
 * settings, its CPU, its devices.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>

#include "cpuid.h"
#include "features.h"
#include "vmmigd.h"

#define NAMES_LEN	2048

void issue_add(struct issues *is, enum check_id id, bool error, const char *fix,
	       const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[VMMIG_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!is->a)
		is->a = json_object_new_array();
	json_object_object_add(o, "id", json_object_new_int(id));
	json_object_object_add(o, "severity", json_object_new_string(error ? "error" : "warning"));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (fix)
		json_object_object_add(o, "fix", json_object_new_string(fix));
	json_object_array_add(is->a, o);
	is->errors += error;
}

/* The messages of the errors, "; " between them, into @why. */
void issues_why(const struct issues *is, char *why)
{
	size_t i, len = 0;

	why[0] = '\0';
	for (i = 0; is->a && i < json_object_array_length(is->a); i++) {
		struct json_object *o = json_object_array_get_idx(is->a, i);

		if (strcmp(jstr(o, "severity"), "error"))
			continue;
		len += snprintf(why + len, VMMIG_ERRLEN - len, "%s%s", len ? "; " : "",
				jstr(o, "message"));
		if (len >= VMMIG_ERRLEN)
			break;
	}
}

int check_local(const char *vm, struct vmdef *d, char *dir, size_t dirlen, struct issues *is)
{
	struct vm_status *st = malloc(sizeof(*st));
	char why[VMMIG_ERRLEN];
	struct vmctl c;
	int err;

	if (!st)
		return -ENOMEM;
	vmctl_init(&c, vmmigd.state_dir);
	err = vmctl_dir(&c, vm, dir, dirlen);
	if (!err)
		err = vmctl_load(&c, vm, d);
	if (!err)
		err = vmctl_status(&c, vm, st);
	if (err) {
		issue_add(is, CHECK_VM, true, "vmmig vm list shows the VMs of this host", "%s",
			  c.err[0] ? c.err : strerror(-err));
		free(st);
		return err;
	}
	if (st->state != VM_RUNNING)
		issue_add(is, CHECK_VM_STATE, true, "start or resume it first (vmmig vm start|resume)",
			  "%s is %s: a live migration needs it running", vm,
			  vm_state_names[st->state]);
	else if (st->has_vmm && st->vmm.migration != CTL_MIG_NONE)
		issue_add(is, CHECK_VM_BUSY, true, "wait for it, or vmmig migration cancel",
			  "%s is already migrating", vm);
	if (!settings_migration_enabled(why))
		issue_add(is, CHECK_MIGRATION_OFF, true, "vmmig host set migration on", "%s", why);
	free(st);
	return 0;
}

/* The bridge a tap device is in, or "". */
static void tap_master(const char *tap, char *br, size_t len)
{
	char path[300], link[300];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", tap);
	n = readlink(path, link, sizeof(link) - 1);
	br[0] = '\0';
	if (n > 0) {
		const char *slash;

		link[n] = '\0';
		slash = strrchr(link, '/');
		snprintf(br, len, "%.*s", (int)len - 1, slash ? slash + 1 : link);
	}
}

/* The CHECK frame: the VM's definition and what the source sees of its devices. */
static struct json_object *check_frame(const struct vmdef *d, const struct storage_plan *plan)
{
	struct json_object *o = json_object_new_object(), *nics = json_object_new_array();
	char br[IFNAMSIZ + 1];
	int i;

	json_object_object_add(o, "definition", vmdef_to_json(d));
	json_object_object_add(o, "state_version", json_object_new_int(VMSTATE_VERSION));
	for (i = 0; i < d->nnics; i++) {
		struct json_object *n = json_object_new_object();

		tap_master(d->nics[i].tap, br, sizeof(br));
		json_object_object_add(n, "tap", json_object_new_string(d->nics[i].tap));
		json_object_object_add(n, "bridge", json_object_new_string(br));
		json_object_array_add(nics, n);
	}
	json_object_object_add(o, "nics", nics);
	if (plan)
		json_object_object_add(o, "storage", storage_plan_to_json(plan));
	return o;
}

/* The CPU: vendor, then every feature the VM sees that this host's KVM lacks. */
static void check_cpu(const struct vmdef *d, struct issues *is)
{
	struct cpu_features vm, host, lack, mask = { 0 };
	struct vmmig_policy pol;
	struct vmmig_nl nl;
	char why[VMMIG_ERRLEN], *names;
	int i, err = cluster_self(&host, why);
	bool has_pol = false;

	features_from_cpuid(&vm, d->cpuid, d->ncpuid);
	/* The vendor first: a host without KVM still knows its CPU's. */
	if (!features_same_vendor(&vm, &host)) {
		issue_add(is, CHECK_VENDOR, true,
			  "shut the VM down and start it on the destination (vmmig vm stop, copy its definition, vmmig vm start there)",
			  "%s has a %s CPU and %s a %s one: a VM does not move live between CPU vendors",
			  d->name, vm.vendor[0] ? vm.vendor : "unknown", vmmigd.host,
			  host.vendor[0] ? host.vendor : "unknown");
		return;
	}
	if (err) {
		issue_add(is, CHECK_NO_KVM, true, "modprobe kvm_amd (or kvm_intel) and vmmig",
			  "%s cannot run the VM: %s", vmmigd.host, why);
		return;
	}
	/* Bits KVM or the VMM rewrite at run time are not the CPU's to lack. */
	if (!vmmig_nl_open(&nl)) {
		has_pol = !vmmig_policy_get(&nl, &pol);
		vmmig_nl_close(&nl);
	}
	for (i = 0; has_pol && i < VMMIG_NR_WORDS; i++)
		vm.w[i] &= ~pol.ignored[i];
	names = malloc(NAMES_LEN);
	if (!names)
		return;
	features_lacking(&lack, &vm, &host);
	if (!features_empty(&lack))
		issue_add(is, CHECK_CPU_FEATURES, true,
			  "start the VM in processor-compat common-cluster mode (vmmig vm set NAME processor-compat common-cluster, then stop and start it), or move it to a host that has them",
			  "%s lacks %u CPU feature%s %s sees: %s", vmmigd.host, features_count(&lack),
			  features_count(&lack) == 1 ? "" : "s", d->name,
			  features_names(&lack, names, NAMES_LEN));
	/* Its mode's mask here: vmmig.ko refuses a VM beyond it at registration. */
	if (has_pol && d->processor_compat != VMMIG_CPU_MODE_OFF) {
		for (i = 0; i < VMMIG_NR_WORDS; i++)
			mask.w[i] = d->processor_compat == VMMIG_CPU_MODE_MINIMUM ?
				    pol.minimum[i] : pol.common[i];
		features_lacking(&lack, &vm, &mask);
		if (!features_empty(&lack))
			issue_add(is, CHECK_MODE_MASK, true,
				  "make both hosts members of one cluster (vmmig cluster add), or stop and start the VM to narrow it to the cluster's set",
				  "%s's %s mask lacks %u CPU feature%s %s sees: %s", vmmigd.host,
				  vmdef_compat_names[d->processor_compat], features_count(&lack),
				  features_count(&lack) == 1 ? "" : "s", d->name,
				  features_names(&lack, names, NAMES_LEN));
	}
	free(names);
}

static void check_devices(const struct vmdef *d, struct json_object *nics, bool storage,
			  struct issues *is)
{
	char br[IFNAMSIZ + 1];
	int i;

	for (i = 0; i < d->nnics; i++) {
		struct json_object *n = nics && (size_t)i < json_object_array_length(nics) ?
					json_object_array_get_idx(nics, i) : NULL;
		const char *want = n ? jstr(n, "bridge") : "";

		if (!d->nics[i].tap || strlen(d->nics[i].tap) >= IFNAMSIZ) {
			issue_add(is, CHECK_DEFINITION, true, NULL,
				  "NIC %d of %s names no valid tap device", i, d->name);
			continue;
		}
		if (!if_nametoindex(d->nics[i].tap)) {
			issue_add(is, CHECK_NIC, true, "ip tuntap add NAME mode tap, in the bridge the source uses",
				  "%s has no network device %s (NIC %d of %s)", vmmigd.host,
				  d->nics[i].tap, i, d->name);
			continue;
		}
		tap_master(d->nics[i].tap, br, sizeof(br));
		if (*want && !br[0])
			issue_add(is, CHECK_NIC, true, "ip link set TAP master BRIDGE",
				  "%s's tap %s is in no bridge (at the source it is in %s): the VM would be cut off",
				  vmmigd.host, d->nics[i].tap, want);
		else if (*want && strcmp(want, br))
			issue_add(is, CHECK_NIC, false, NULL,
				  "%s's tap %s is in bridge %s, at the source in %s", vmmigd.host,
				  d->nics[i].tap, br, want);
	}
	/* Disks that move with the VM: storage_check() looks at their destinations. */
	for (i = 0; !storage && i < d->ndisks; i++)
		if (!d->disks[i].path)
			issue_add(is, CHECK_DEFINITION, true, NULL, "disk %d of %s has no path", i,
				  d->name);
		else if (access(d->disks[i].path, d->disks[i].readonly ? R_OK : R_OK | W_OK))
			issue_add(is, CHECK_DISK, true,
				  "share the disk with the destination at the same path, or move it with the VM (--include-storage)",
				  "%s cannot %s disk %s: %s", vmmigd.host,
				  d->disks[i].readonly ? "read" : "read and write", d->disks[i].path,
				  strerror(errno));
}

/* The destination's side: everything it can see, into CHECK_REPLY. */
void check_serve(struct tls_conn *c, struct json_object *frame)
{
	struct json_object *o = json_object_new_object(), *v, *nics = NULL, *st = NULL;
	struct storage_plan plan;
	struct issues is = { 0 };
	struct vmdef def = { 0 }, other;
	char why[VMMIG_ERRLEN];
	uint64_t avail;
	struct vmctl vc;

	if (!json_object_object_get_ex(frame, "definition", &v) || vmdef_from_json(&def, v, why)) {
		issue_add(&is, CHECK_DEFINITION, true, "use the same version of vmmig on both hosts",
			  "%s cannot read the VM's definition: %s", vmmigd.host, why);
		goto out;
	}
	if (!json_object_object_get_ex(frame, "state_version", &v) ||
	    json_object_get_int(v) > VMSTATE_VERSION)
		issue_add(&is, CHECK_STATE_VERSION, true, "update vmmig on the destination",
			  "%s reads VM state up to version %d", vmmigd.host, VMSTATE_VERSION);
	if (!settings_migration_enabled(why))
		issue_add(&is, CHECK_MIGRATION_OFF, true, "vmmig host set migration on, there", "%s",
			  why);
	else if (settings_max_migrations() <= vmmigd.active)
		issue_add(&is, CHECK_LIMIT, false, NULL,
			  "%s runs %u of its max-migrations %u: the move would wait in line",
			  vmmigd.host, vmmigd.active, settings_max_migrations());
	vmctl_init(&vc, vmmigd.state_dir);
	if (!vmctl_load(&vc, def.name, &other)) {
		vmdef_free(&other);
		issue_add(&is, CHECK_NAME_TAKEN, true, "rename or remove the VM there",
			  "a VM named %s exists on %s", def.name, vmmigd.host);
	}
	check_cpu(&def, &is);
	json_object_object_get_ex(frame, "nics", &nics);
	json_object_object_get_ex(frame, "storage", &st);
	check_devices(&def, nics, st, &is);
	if (st && storage_plan_from_json(st, &def, &plan, why))
		issue_add(&is, CHECK_DEFINITION, true, "use the same version of vmmig on both hosts",
			  "%s cannot read where the disks would go: %s", vmmigd.host, why);
	else if (st)
		storage_check(&plan, def.name, &is);
	avail = meminfo("MemAvailable");
	if (avail && avail < def.memory)
		issue_add(&is, CHECK_MEMORY, false, NULL,
			  "%s has %llu MiB of memory available, the VM has %llu MiB", vmmigd.host,
			  (unsigned long long)(avail >> 20), (unsigned long long)(def.memory >> 20));
out:
	vmdef_free(&def);
	json_object_object_add(o, "issues", is.a ? is.a : json_object_new_array());
	peer_send(c, FRAME_CHECK_REPLY, o);
	json_object_put(o);
}

int check_remote(struct tls_conn *c, const struct vmdef *d, const struct storage_plan *plan,
		 struct issues *is, char *why)
{
	struct json_object *o = check_frame(d, plan), *r = NULL, *a;
	size_t i;
	int type;

	type = peer_send(c, FRAME_CHECK, o);
	json_object_put(o);
	if (!type)
		type = peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
	if (type != FRAME_CHECK_REPLY || !json_object_object_get_ex(r, "issues", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		if (type >= 0)
			snprintf(why, VMMIG_ERRLEN, "%s answered %s to the checks",
				 tls_peer_name(c), frame_type_name(type));
		json_object_put(r);
		return type < 0 ? type : -EPROTO;
	}
	for (i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *v;
		bool error = !strcmp(jstr(e, "severity"), "error");

		issue_add(is, json_object_object_get_ex(e, "id", &v) ? json_object_get_int(v) : 0,
			  error, *jstr(e, "fix") ? jstr(e, "fix") : NULL, "%s", jstr(e, "message"));
	}
	json_object_put(r);
	return 0;
}

struct json_object *check_run(const char *vm, const char *to, const struct mig_storage *storage)
{
	struct json_object *o = json_object_new_object(), *hello, *r = NULL;
	struct storage_plan sp;
	struct issues is = { 0 };
	char dir[4096], why[VMMIG_ERRLEN] = "";
	struct vmdef d = { 0 };
	struct tls_conn *c = NULL;
	int err, type;

	json_object_object_add(o, "vm", json_object_new_string(vm));
	json_object_object_add(o, "to", json_object_new_string(to));
	if (check_local(vm, &d, dir, sizeof(dir), &is))
		goto out;
	if (storage->include && storage_plan_make(storage, &d, &sp, why)) {
		issue_add(&is, CHECK_STORAGE_PATH, true, NULL, "%s", why);
		goto out;
	}
	c = peer_connect(to, &err, why);
	if (!c) {
		issue_add(&is, err == -EACCES ? CHECK_AUTH : CHECK_UNREACHABLE, true,
			  err == -EACCES ? "both hosts need certificates of the same CA, and each must trust the other's name (vmmigd --trust)" :
			  "is vmmigd running there, on this port, and the network up?", "%s", why);
		goto out;
	}
	hello = peer_hello();
	type = peer_send(c, FRAME_HELLO, hello);
	json_object_put(hello);
	if (!type)
		type = peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
	if (type == FRAME_HELLO && strcmp(tls_peer_name(c), vmmigd.host)) {
		struct net_plan plan;

		if (network_plan(r, to, &plan, why))
			issue_add(&is, CHECK_NETWORK, true,
				  "vmmig network add ADDR/PREFIX on both hosts, or vmmig host set use-any-network on",
				  "%s", why);
	}
	json_object_put(r);
	if (type != FRAME_HELLO) {
		issue_add(&is, CHECK_UNREACHABLE, true, NULL, "%s: %s", to,
			  type < 0 ? why : "no HELLO");
		goto out;
	}
	json_object_object_add(o, "peer", json_object_new_string(tls_peer_name(c)));
	if (!strcmp(tls_peer_name(c), vmmigd.host)) {
		issue_add(&is, CHECK_SAME_HOST, true, "name another host", "%s is this host (%s)",
			  to, vmmigd.host);
		goto out;
	}
	if (check_remote(c, &d, storage->include ? &sp : NULL, &is, why))
		issue_add(&is, CHECK_UNREACHABLE, true, NULL, "%s", why);
out:
	if (c)
		tls_free(c);
	vmdef_free(&d);
	json_object_object_add(o, "compatible", json_object_new_boolean(!is.errors));
	json_object_object_add(o, "issues", is.a ? is.a : json_object_new_array());
	return o;
}
