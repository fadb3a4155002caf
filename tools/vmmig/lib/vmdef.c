// SPDX-License-Identifier: GPL-2.0
/*
 * VM definitions: checking them against the host, and their JSON form and
 * files. Parsing the command line's specs and settings is in vmdef_parse.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/kvm.h>
#include <uuid/uuid.h>

#include "features.h"
#include "jfield.h"
#include "vmdef.h"
#include "vmdef_int.h"
#include "guest.h"

#define MAX_CPUID 256

int vmdef_fail(char *why, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, VMMIG_ERRLEN, fmt, ap);
	va_end(ap);
	return err;
}

const char *vmmig_state_dir(const char *override)
{
	const char *env = getenv("VMMIG_STATE_DIR");

	if (override)
		return override;
	return env && *env ? env : VMMIG_DEFAULT_STATE_DIR;
}

int vmmig_run_path(const char *vm_dir, const char *file, char *buf, size_t len)
{
	const char *env = getenv("VMMIG_RUN_DIR"), *slash = strrchr(vm_dir, '/');
	size_t parent = slash ? (size_t)(slash - vm_dir) : 0;
	const char *base = NULL;
	int n;

	if (env && *env)
		base = env;
	else if (slash && parent == strlen(VMMIG_DEFAULT_STATE_DIR) &&
		 !strncmp(vm_dir, VMMIG_DEFAULT_STATE_DIR, parent))
		base = VMMIG_DEFAULT_RUN_DIR;
	if (base)
		n = snprintf(buf, len, "%s/%s%s%s", base, slash ? slash + 1 : vm_dir,
			     file ? "/" : "", file ? file : "");
	else
		n = snprintf(buf, len, "%s%s%s", vm_dir, file ? "/" : "", file ? file : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = strchr(buf + 1, '/'); ; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -1;
		if (!p)
			break;
		*p = '/';
	}
	if (stat(path, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int vmdef_check_name(const char *name, char *why)
{
	const char *p;

	if (!*name || strlen(name) > VMDEF_NAME_MAX || name[0] == '.')
		goto bad;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			goto bad;
	return 0;
bad:
	return vmdef_fail(why, -EINVAL, "'%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ -, not starting with .)",
		    name, VMDEF_NAME_MAX);
}

uint64_t meminfo(const char *key)
{
	unsigned long long kb = 0;
	char line[256];
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			sscanf(line + n + 1, "%llu", &kb);
			break;
		}
	fclose(f);
	return (uint64_t)kb << 10;
}

const char *fmt_size(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = b;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
	return buf;
}

static int check_file(const char *what, const char *path, char *why)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK))
		return vmdef_fail(why, -errno, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vmdef_fail(why, -EINVAL, "%s %s: not a regular file", what, path);
	return 0;
}

int vmdef_validate(const struct vmdef *d, char *why)
{
	uint64_t total = meminfo("MemTotal"), min = 4 << 20;
	char a[32], b[32];
	int err = 0;

	if (d->vcpus < 1 || d->vcpus > VMDEF_MAX_VCPUS)
		return vmdef_fail(why, -EINVAL, "--vcpus must be 1-%d", VMDEF_MAX_VCPUS);
	if (d->memory & 0xfff)
		return vmdef_fail(why, -EINVAL, "--memory must be a multiple of 4K");
	if (d->hugepages && (d->memory & ((2 << 20) - 1)))
		return vmdef_fail(why, -EINVAL, "--memory must be a multiple of 2M with --hugepages");
	if (d->workload)
		min = VMMIG_GUEST_WSS + ((d->wl.wss + 4095) & ~4095ULL);
	if (d->memory < min)
		return vmdef_fail(why, -EINVAL, "--memory %s is too small: this VM needs at least %s",
			    fmt_size(d->memory, a, sizeof(a)), fmt_size(min, b, sizeof(b)));
	if (d->workload && d->wl.wss > (3ULL << 30) - VMMIG_GUEST_WSS)
		return vmdef_fail(why, -EINVAL, "workload: wss must stay below 3 GiB");
	if (total && d->memory > total)
		return vmdef_fail(why, -ENOMEM, "--memory %s is more than this host has (%s)",
			    fmt_size(d->memory, a, sizeof(a)), fmt_size(total, b, sizeof(b)));
	if (d->kernel)
		err = check_file("kernel", d->kernel, why);
	if (!err && d->initrd)
		err = check_file("initrd", d->initrd, why);
	return err;
}

int vmdef_cpuid_from_kvm(struct vmdef *d, const uint32_t *mask, char *why)
{
	struct kvm_cpuid2 *c;
	int fd, i, err = 0;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vmdef_fail(why, -errno, "/dev/kvm: %s (is KVM loaded?)", strerror(errno));
	c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(c->entries[0]));
	if (!c) {
		close(fd);
		return vmdef_fail(why, -ENOMEM, "out of memory");
	}
	c->nent = MAX_CPUID;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		err = vmdef_fail(why, -errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	free(d->cpuid);
	d->cpuid = calloc(c->nent, sizeof(*d->cpuid));
	if (!d->cpuid) {
		err = vmdef_fail(why, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < (int)c->nent; i++)
		d->cpuid[i] = (struct vmdef_cpuid){
			c->entries[i].function, c->entries[i].index,
			c->entries[i].flags, c->entries[i].eax, c->entries[i].ebx,
			c->entries[i].ecx, c->entries[i].edx,
		};
	d->ncpuid = c->nent;
	if (mask)
		features_narrow_cpuid(d->cpuid, d->ncpuid, mask);
	for (i = 0; i < d->ncpuid; i++) {
		/*
		 * KVM copies in the APIC ID of the host CPU the ioctl ran on:
		 * not the VM's, and not the same from one call to the next.
		 */
		if (d->cpuid[i].function == 0xb || d->cpuid[i].function == 0x1f)
			d->cpuid[i].edx = 0;
		if (d->cpuid[i].function == 0x8000001e)
			d->cpuid[i].eax = 0;
		if (d->cpuid[i].function != 1)
			continue;
		d->cpuid[i].ebx &= 0x00ffffff;
		/* A VM says so: Linux then looks for KVM's leaves (kvmclock). */
		d->cpuid[i].ecx |= 1U << 31;
		/*
		 * No x2APIC and no TSC-deadline timer for Linux guests: nested
		 * under QEMU's TCG, a Linux guest in x2APIC mode stalls the host
		 * (Documentation/admin-guide/vm.rst); 64 vCPUs need no x2APIC.
		 */
		if (!d->workload)
			d->cpuid[i].ecx &= ~(1U << 21 | 1U << 24);
	}
out:
	free(c);
	close(fd);
	return err;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

void vmdef_new_uuid(struct vmdef *d)
{
	uuid_generate_random(d->uuid);
}

bool vmdef_has_uuid(const struct vmdef *d)
{
	return !uuid_is_null(d->uuid);
}

const char *vmdef_uuid_str(const uint8_t uuid[VMDEF_UUID_LEN], char *buf)
{
	uuid_unparse_lower(uuid, buf);
	return buf;
}

/* The fields of vm.json that take a table; the others are older. */
static const struct jfield def_fields[] = {
	JFIELD(struct vmdef, "autostart", JF_BOOL, autostart),
};

struct json_object *vmdef_to_json(const struct vmdef *d)
{
	struct json_object *o = json_object_new_object(), *a, *e;
	char uuid[VMDEF_UUID_STRLEN];
	int i;

	add_str(o, "name", d->name);
	if (vmdef_has_uuid(d))
		add_str(o, "uuid", vmdef_uuid_str(d->uuid, uuid));
	json_object_object_add(o, "memory", json_object_new_uint64(d->memory));
	json_object_object_add(o, "vcpus", json_object_new_int(d->vcpus));
	json_object_object_add(o, "hugepages", json_object_new_boolean(d->hugepages));
	add_str(o, "processor_compat", vmdef_compat_names[d->processor_compat]);
	jfield_encode(o, JFIELDS(def_fields), d);
	if (d->workload) {
		e = json_object_new_object();
		json_object_object_add(e, "rate", json_object_new_uint64(d->wl.rate));
		json_object_object_add(e, "wss", json_object_new_uint64(d->wl.wss));
		add_str(e, "pattern", d->wl.pattern ? "random" : "seq");
		if (d->wl.fill)
			json_object_object_add(e, "fill", json_object_new_boolean(true));
		json_object_object_add(o, "workload", e);
	}
	add_str(o, "kernel", d->kernel);
	add_str(o, "initrd", d->initrd);
	add_str(o, "cmdline", d->cmdline);
	a = json_object_new_array();
	for (i = 0; i < d->ndisks; i++) {
		e = json_object_new_object();
		add_str(e, "path", d->disks[i].path);
		json_object_object_add(e, "readonly", json_object_new_boolean(d->disks[i].readonly));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "disks", a);
	a = json_object_new_array();
	for (i = 0; i < d->nnics; i++) {
		e = json_object_new_object();
		add_str(e, "tap", d->nics[i].tap);
		add_str(e, "mac", d->nics[i].mac);
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "nics", a);
	a = json_object_new_array();
	for (i = 0; i < d->ncpuid; i++) {
		const struct vmdef_cpuid *c = &d->cpuid[i];

		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int64(c->function));
		json_object_array_add(e, json_object_new_int64(c->index));
		json_object_array_add(e, json_object_new_int64(c->flags));
		json_object_array_add(e, json_object_new_int64(c->eax));
		json_object_array_add(e, json_object_new_int64(c->ebx));
		json_object_array_add(e, json_object_new_int64(c->ecx));
		json_object_array_add(e, json_object_new_int64(c->edx));
		json_object_array_add(a, e);
	}
	/* function, index, flags, eax, ebx, ecx, edx */
	json_object_object_add(o, "cpuid", a);
	return o;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static char *dup_str(struct json_object *o, const char *k)
{
	const char *s = get_str(o, k);

	return s ? strdup(s) : NULL;
}

static int get_u64(struct json_object *o, const char *k, uint64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	*out = json_object_get_uint64(v);
	return 0;
}

static int cpuid_from_json(struct vmdef *d, struct json_object *a)
{
	uint32_t v[7];
	size_t i, j, n = json_object_array_length(a);

	d->cpuid = calloc(n ? n : 1, sizeof(*d->cpuid));
	if (!d->cpuid)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_array) ||
		    json_object_array_length(e) != 7)
			return -EINVAL;
		for (j = 0; j < 7; j++)
			v[j] = json_object_get_int64(json_object_array_get_idx(e, j));
		d->cpuid[i] = (struct vmdef_cpuid){ v[0], v[1], v[2], v[3], v[4], v[5], v[6] };
	}
	d->ncpuid = n;
	return 0;
}

static void devs_from_json(struct vmdef *d, struct json_object *o)
{
	struct json_object *a, *e, *v;
	size_t i;

	if (json_object_object_get_ex(o, "disks", &a) && json_object_is_type(a, json_type_array))
		for (i = 0; i < json_object_array_length(a) && d->ndisks < VMDEF_MAX_DEVS; i++) {
			e = json_object_array_get_idx(a, i);
			d->disks[d->ndisks].path = dup_str(e, "path");
			d->disks[d->ndisks++].readonly =
				json_object_object_get_ex(e, "readonly", &v) &&
				json_object_get_boolean(v);
		}
	if (json_object_object_get_ex(o, "nics", &a) && json_object_is_type(a, json_type_array))
		for (i = 0; i < json_object_array_length(a) && d->nnics < VMDEF_MAX_DEVS; i++) {
			e = json_object_array_get_idx(a, i);
			d->nics[d->nnics].tap = dup_str(e, "tap");
			d->nics[d->nnics++].mac = dup_str(e, "mac");
		}
}

int vmdef_from_json(struct vmdef *d, struct json_object *o, char *why)
{
	struct json_object *v, *wl;
	const char *name = get_str(o, "name");
	uint64_t n;

	memset(d, 0, sizeof(*d));
	if (!name || strlen(name) > VMDEF_NAME_MAX)
		return vmdef_fail(why, -EINVAL, "definition has no valid name");
	strcpy(d->name, name);
	if (json_object_object_get_ex(o, "uuid", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     uuid_parse(json_object_get_string(v), d->uuid) || !vmdef_has_uuid(d)))
		return vmdef_fail(why, -EINVAL, "definition of %s: bad uuid", name);
	if (get_u64(o, "memory", &d->memory) || get_u64(o, "vcpus", &n) ||
	    !n || n > VMDEF_MAX_VCPUS)
		return vmdef_fail(why, -EINVAL, "definition of %s: bad memory or vcpus", name);
	d->vcpus = n;
	d->hugepages = json_object_object_get_ex(o, "hugepages", &v) && json_object_get_boolean(v);
	/* Definitions from before the modes: off. */
	if (json_object_object_get_ex(o, "processor_compat", &v)) {
		int m = json_object_is_type(v, json_type_string) ?
			vmdef_parse_compat(json_object_get_string(v), why) : -EINVAL;

		if (m < 0)
			return vmdef_fail(why, -EINVAL, "definition of %s: bad processor_compat", name);
		d->processor_compat = m;
	}
	if (jfield_decode(o, JFIELDS(def_fields), d, "definition", why))
		return -EINVAL;
	if (json_object_object_get_ex(o, "workload", &wl)) {
		const char *p = get_str(wl, "pattern");

		d->workload = true;
		if (get_u64(wl, "rate", &d->wl.rate) || get_u64(wl, "wss", &d->wl.wss))
			return vmdef_fail(why, -EINVAL, "definition of %s: bad workload", name);
		d->wl.pattern = p && !strcmp(p, "random") ? VMMIG_PATTERN_RANDOM : VMMIG_PATTERN_SEQ;
		d->wl.fill = json_object_object_get_ex(wl, "fill", &v) && json_object_get_boolean(v);
	}
	d->kernel = dup_str(o, "kernel");
	d->initrd = dup_str(o, "initrd");
	d->cmdline = dup_str(o, "cmdline");
	devs_from_json(d, o);
	if (json_object_object_get_ex(o, "cpuid", &v) && json_object_is_type(v, json_type_array) &&
	    cpuid_from_json(d, v))
		return vmdef_fail(why, -EINVAL, "definition of %s: bad cpuid", name);
	if (!d->workload && !d->kernel)
		return vmdef_fail(why, -EINVAL, "definition of %s: neither kernel nor workload", name);
	return 0;
}

int read_file(const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);

			if (!nb) {
				n = -1;
				errno = ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n > 0)
			len += n;
	} while (n > 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int load(struct vmdef *d, const char *dir, char *why)
{
	struct json_object *o;
	char path[4096], *text;
	int err;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	err = read_file(path, &text);
	if (err)
		return vmdef_fail(why, err, "%s: %s", path, strerror(-err));
	o = json_tokener_parse(text);
	free(text);
	if (!o)
		return vmdef_fail(why, -EINVAL, "%s: not valid JSON", path);
	err = vmdef_from_json(d, o, why);
	json_object_put(o);
	if (err)
		vmdef_free(d);
	return err;
}

int vmdef_update(struct vmdef *d, const char *dir,
		 int (*fn)(struct vmdef *d, void *arg, char *why), void *arg, char *why)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;
	bool new_uuid;

	memset(d, 0, sizeof(*d));
	if (fd < 0 || flock(fd, LOCK_EX)) {
		err = vmdef_fail(why, -errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	err = load(d, dir, why);
	if (err)
		goto out;
	/* Two readers cannot give it two UUIDs. */
	new_uuid = !vmdef_has_uuid(d);
	if (new_uuid)
		vmdef_new_uuid(d);
	err = fn ? fn(d, arg, why) : 1;
	if (err > 0)
		err = new_uuid ? 0 : 1;
	if (!err)
		err = vmdef_save(d, dir, why);
	err = err > 0 ? 0 : err;
out:
	if (fd >= 0)
		close(fd);
	if (err)
		vmdef_free(d);
	return err;
}

int vmdef_load(struct vmdef *d, const char *dir, char *why)
{
	int err = load(d, dir, why);

	if (!err && !vmdef_has_uuid(d)) {
		vmdef_free(d);
		err = vmdef_update(d, dir, NULL, NULL, why);
	}
	return err;
}

int write_file_atomic(const char *path, const char *s)
{
	char tmp[4200];
	size_t len = strlen(s);
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int vmdef_save(const struct vmdef *d, const char *dir, char *why)
{
	struct json_object *o = vmdef_to_json(d);
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/vm.json", dir);
	err = write_file_atomic(path, json_object_to_json_string_ext(o,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	if (err)
		return vmdef_fail(why, err, "%s: %s", path, strerror(-err));
	return 0;
}

void vmdef_free(struct vmdef *d)
{
	int i;

	free(d->kernel);
	free(d->initrd);
	free(d->cmdline);
	for (i = 0; i < d->ndisks; i++)
		free(d->disks[i].path);
	for (i = 0; i < d->nnics; i++) {
		free(d->nics[i].tap);
		free(d->nics[i].mac);
	}
	free(d->cpuid);
	memset(d, 0, sizeof(*d));
}
