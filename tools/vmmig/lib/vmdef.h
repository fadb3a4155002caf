/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM definitions: what `vmmig vm create` records and the VMM runs, kept as
 * STATE_DIR/NAME/vm.json. Other files in that folder belong to a running or
 * stopped VM: control.sock, console.log, vmm.log, vmm.pid (held locked by the
 * VMM while it lives), saved (the path of a saved state) and crashed (why).
 */
#ifndef VMMIG_VMDEF_H
#define VMMIG_VMDEF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <linux/vmmig.h>

#define VMDEF_NAME_MAX	63
#define VMDEF_UUID_LEN	16
#define VMDEF_UUID_STRLEN 37	/* 36 characters and the NUL */
#define VMDEF_MAX_VCPUS	64
#define VMDEF_MAX_DEVS	8
#define VMMIG_ERRLEN	256
#define VMMIG_DEFAULT_STATE_DIR "/var/lib/vmmig"
#define VMMIG_DEFAULT_RUN_DIR	"/run/vmmig/vm"

struct vmdef_cpuid {
	uint32_t function, index, flags, eax, ebx, ecx, edx;
};

struct vmdef_workload {
	uint64_t rate;		/* pages per second */
	uint64_t wss;		/* bytes */
	int pattern;		/* VMMIG_PATTERN_* */
	bool fill;		/* every page of the working set written once first */
};

struct vmdef_disk {
	char *path;
	bool readonly;
};

struct vmdef_nic {
	char *tap;
	char *mac;
};

struct vmdef {
	char name[VMDEF_NAME_MAX + 1];
	/*
	 * The VM's identity: set at create, kept by save, restore (under any
	 * name) and moves, registered with vmmig.ko. All zero: none yet.
	 */
	uint8_t uuid[VMDEF_UUID_LEN];
	uint64_t memory;	/* bytes */
	unsigned int vcpus;
	bool hugepages;
	bool workload;		/* else a Linux kernel */
	struct vmdef_workload wl;
	char *kernel, *initrd, *cmdline;
	struct vmdef_disk disks[VMDEF_MAX_DEVS];
	int ndisks;
	struct vmdef_nic nics[VMDEF_MAX_DEVS];
	int nnics;
	/*
	 * enum vmmig_cpu_mode: the mask that narrows the CPUID at each start
	 * (vmmig-vmm), and the VM's mode in vmmig.ko's registry.
	 */
	uint32_t processor_compat;
	/*
	 * What every vCPU gets: KVM_GET_SUPPORTED_CPUID at create, replaced by
	 * the narrowed table at each start, which save, restore and moves keep.
	 */
	struct vmdef_cpuid *cpuid;
	int ncpuid;
	/* vmmigd starts the VM at its first start after the host booted. */
	bool autostart;
};

/* "off", "common-cluster", "minimum": enum vmmig_cpu_mode's names here. */
extern const char *const vmdef_compat_names[VMMIG_CPU_MODE_MAX + 1];
/* The mode of a name above, or -EINVAL with @why. */
int vmdef_parse_compat(const char *s, char *why);

/*
 * The settings `vmmig vm set NAME KEY VALUE...` changes. @set parses @value
 * into @d (-EINVAL with @why); @what ends the refusal "NAME is running: shut
 * it down to change WHAT" of a setting that needs the VM off.
 */
struct vmdef_setting {
	const char *key;
	const char *what;
	bool live;		/* may change while the VM runs */
	int (*set)(struct vmdef *d, const char *value, char *why);
};
/* The setting of @key; NULL and -EINVAL with @why (naming the keys) if none. */
const struct vmdef_setting *vmdef_setting(const char *key, char *why);

/* Every function below returns 0 or -errno, with the reason in @why. */
int vmdef_check_name(const char *name, char *why);
int vmdef_parse_workload(struct vmdef *d, const char *spec, char *why);
int vmdef_parse_disk(struct vmdef *d, const char *spec, char *why);
int vmdef_parse_nic(struct vmdef *d, const char *spec, char *why);
/* "xx:xx:xx:xx:xx:xx" into @mac; -EINVAL if it is not one. */
int vmdef_parse_mac(const char *s, uint8_t mac[6]);
/* Checks the fields against each other and against this host. */
int vmdef_validate(const struct vmdef *d, char *why);
/*
 * Fills d->cpuid with KVM_GET_SUPPORTED_CPUID, every feature word ANDed with
 * @mask (VMMIG_NR_WORDS words; NULL: all of it), then the VM's own bits: the
 * hypervisor bit, and no x2APIC or TSC-deadline timer for a Linux guest.
 */
int vmdef_cpuid_from_kvm(struct vmdef *d, const uint32_t *mask, char *why);

/* A new random UUID for a definition that has none. */
void vmdef_new_uuid(struct vmdef *d);
bool vmdef_has_uuid(const struct vmdef *d);
/* The UUID's usual text form, lower case, into @buf (VMDEF_UUID_STRLEN). */
const char *vmdef_uuid_str(const uint8_t uuid[VMDEF_UUID_LEN], char *buf);

struct json_object *vmdef_to_json(const struct vmdef *d);
int vmdef_from_json(struct vmdef *d, struct json_object *o, char *why);
/*
 * Reads dir/vm.json. A definition written before VMs had a UUID gets one
 * now, written back, so that it keeps it.
 */
int vmdef_load(struct vmdef *d, const char *dir, char *why);
/* Writes dir/vm.json atomically (write to a temporary file, rename). */
int vmdef_save(const struct vmdef *d, const char *dir, char *why);
/*
 * Reads dir/vm.json into @d, calls @fn (if given) and writes @d back when
 * @fn returns 0 (1: @fn changed nothing), all under the folder's lock: two
 * updates never lose one another's change. A definition without a UUID gets
 * one. @d is filled when it returns 0, freed otherwise.
 */
int vmdef_update(struct vmdef *d, const char *dir,
		 int (*fn)(struct vmdef *d, void *arg, char *why), void *arg, char *why);
void vmdef_free(struct vmdef *d);

/* $VMMIG_STATE_DIR or the default, unless @override is set. */
const char *vmmig_state_dir(const char *override);
/*
 * Where the runtime files (control socket, pid file) of the VM whose folder
 * is @vm_dir live, with @file appended when given: $VMMIG_RUN_DIR/NAME, else
 * /run/vmmig/vm/NAME for the default state folder, else the VM folder itself
 * (a state folder elsewhere keeps them beside it, so two never collide).
 * -ENAMETOOLONG when it does not fit @len.
 */
int vmmig_run_path(const char *vm_dir, const char *file, char *buf, size_t len);
/* mkdir -p: 0 when @path is a folder afterwards, else -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* Writes @s plus a newline to @path atomically. */
int write_file_atomic(const char *path, const char *s);
/* Reads a small file into a NUL-terminated malloc'ed string. */
int read_file(const char *path, char **out);
/* A /proc/meminfo field ("MemTotal", ...) in bytes; 0 if unknown. */
uint64_t meminfo(const char *key);
/* "1.5 GiB"-style. */
const char *fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
