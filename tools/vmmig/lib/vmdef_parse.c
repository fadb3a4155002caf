// SPDX-License-Identifier: GPL-2.0
/*
 * VM definitions (vmdef.h): parsing the command line's specs (--workload,
 * --disk, --nic) and the settings `vmmig vm set` changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "parse.h"
#include "vmdef.h"
#include "vmdef_int.h"
#include "guest.h"

/* Splits "a=1,b=2" in place; calls @fn for each key=value. */
static int for_each_kv(char *spec, char *why,
		       int (*fn)(void *ctx, const char *k, const char *v, char *why),
		       void *ctx)
{
	char *save = NULL, *tok, *eq;
	int err;

	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		err = fn(ctx, tok, eq, why);
		if (err)
			return err;
	}
	return 0;
}

static int workload_kv(void *ctx, const char *k, const char *v, char *why)
{
	struct vmdef_workload *wl = ctx;

	if (!v && strcmp(k, "readonly"))
		return vmdef_fail(why, -EINVAL, "workload: '%s' needs a value", k);
	if (!strcmp(k, "dirty")) {
		if (parse_uint("--workload dirty", v, 0, 1000000000, &wl->rate, why))
			return -EINVAL;
	} else if (!strcmp(k, "wss")) {
		if (parse_size("--workload wss", v, 4096, UINT64_MAX, &wl->wss, why))
			return -EINVAL;
	} else if (!strcmp(k, "fill")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return vmdef_fail(why, -EINVAL, "workload: fill=%s is not on or off", v);
		wl->fill = !strcmp(v, "on");
	} else if (!strcmp(k, "pattern")) {
		if (!strcmp(v, "seq"))
			wl->pattern = VMMIG_PATTERN_SEQ;
		else if (!strcmp(v, "random"))
			wl->pattern = VMMIG_PATTERN_RANDOM;
		else
			return vmdef_fail(why, -EINVAL, "workload: pattern=%s is not seq or random", v);
	} else {
		return vmdef_fail(why, -EINVAL, "workload: unknown parameter '%s' (dirty, wss, pattern, fill)", k);
	}
	return 0;
}

int vmdef_parse_workload(struct vmdef *d, const char *spec, char *why)
{
	char *s = strdup(spec);
	int err;

	if (!s)
		return vmdef_fail(why, -ENOMEM, "out of memory");
	d->workload = true;
	d->wl = (struct vmdef_workload){ .rate = 1000, .wss = 1 << 20 };
	err = for_each_kv(s, why, workload_kv, &d->wl);
	free(s);
	return err;
}

static int disk_kv(void *ctx, const char *k, const char *v, char *why)
{
	struct vmdef_disk *disk = ctx;

	if (!disk->path) {
		disk->path = v ? NULL : realpath(k, NULL);
		if (!disk->path)
			return vmdef_fail(why, -ENOENT, "disk %s: %s", k, v ? "expected PATH first" : strerror(errno));
	} else if (!strcmp(k, "readonly") && !v) {
		disk->readonly = true;
	} else {
		return vmdef_fail(why, -EINVAL, "disk: unknown parameter '%s' (readonly)", k);
	}
	return 0;
}

int vmdef_parse_disk(struct vmdef *d, const char *spec, char *why)
{
	struct vmdef_disk *disk = &d->disks[d->ndisks];
	char *s;
	int err;

	if (d->ndisks == VMDEF_MAX_DEVS)
		return vmdef_fail(why, -E2BIG, "at most %d disks", VMDEF_MAX_DEVS);
	s = strdup(spec);
	if (!s)
		return vmdef_fail(why, -ENOMEM, "out of memory");
	err = for_each_kv(s, why, disk_kv, disk);
	free(s);
	if (!err && access(disk->path, disk->readonly ? R_OK : R_OK | W_OK))
		err = vmdef_fail(why, -errno, "disk %s: %s", disk->path, strerror(errno));
	d->ndisks++;	/* freed by vmdef_free() even on error */
	return err;
}

int vmdef_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (!s || strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2],
					    &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

static int nic_kv(void *ctx, const char *k, const char *v, char *why)
{
	struct vmdef_nic *nic = ctx;
	uint8_t mac[6];
	char *dup;

	if (!v)
		return vmdef_fail(why, -EINVAL, "nic: '%s' needs a value", k);
	if (!strcmp(k, "mac")) {
		if (vmdef_parse_mac(v, mac))
			return vmdef_fail(why, -EINVAL, "nic: mac=%s is not a MAC address", v);
	} else if (strcmp(k, "tap")) {
		return vmdef_fail(why, -EINVAL, "nic: unknown parameter '%s' (tap, mac)", k);
	}
	dup = strdup(v);
	if (!dup)
		return vmdef_fail(why, -ENOMEM, "out of memory");
	if (!strcmp(k, "mac")) {
		free(nic->mac);
		nic->mac = dup;
	} else {
		free(nic->tap);
		nic->tap = dup;
	}
	return 0;
}

static bool is_tap(const char *ifname)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);
	return !access(path, F_OK);
}

/* As libvirt does: QEMU's prefix 52:54:00, then three random bytes. */
static int random_mac(struct vmdef_nic *nic, char *why)
{
	uint8_t b[3];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return vmdef_fail(why, -errno, "getrandom: %s", strerror(errno));
	if (asprintf(&nic->mac, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]) < 0) {
		nic->mac = NULL;
		return vmdef_fail(why, -ENOMEM, "out of memory");
	}
	return 0;
}

int vmdef_parse_nic(struct vmdef *d, const char *spec, char *why)
{
	struct vmdef_nic *nic = &d->nics[d->nnics];
	char *s;
	int err;

	if (d->nnics == VMDEF_MAX_DEVS)
		return vmdef_fail(why, -E2BIG, "at most %d NICs", VMDEF_MAX_DEVS);
	s = strdup(spec);
	if (!s)
		return vmdef_fail(why, -ENOMEM, "out of memory");
	err = for_each_kv(s, why, nic_kv, nic);
	free(s);
	d->nnics++;
	if (!err && !nic->tap)
		err = vmdef_fail(why, -EINVAL, "nic: tap=IFNAME is required");
	if (!err && !if_nametoindex(nic->tap))
		err = vmdef_fail(why, -ENODEV, "nic: tap device %s does not exist", nic->tap);
	if (!err && !is_tap(nic->tap))
		err = vmdef_fail(why, -ENODEV, "nic: %s is not a tap device", nic->tap);
	if (!err && !nic->mac)
		err = random_mac(nic, why);
	return err;
}

const char *const vmdef_compat_names[VMMIG_CPU_MODE_MAX + 1] = {
	[VMMIG_CPU_MODE_OFF] = "off",
	[VMMIG_CPU_MODE_COMMON] = "common-cluster",
	[VMMIG_CPU_MODE_MINIMUM] = "minimum",
};

int vmdef_parse_compat(const char *s, char *why)
{
	int m;

	for (m = 0; m <= VMMIG_CPU_MODE_MAX; m++)
		if (!strcmp(s, vmdef_compat_names[m]))
			return m;
	return vmdef_fail(why, -EINVAL, "processor-compat: '%s' is not off, common-cluster or minimum", s);
}

static int set_compat(struct vmdef *d, const char *value, char *why)
{
	int m = vmdef_parse_compat(value, why);

	if (m < 0)
		return m;
	d->processor_compat = m;
	return 0;
}

static int set_autostart(struct vmdef *d, const char *value, char *why)
{
	if (strcmp(value, "on") && strcmp(value, "off"))
		return vmdef_fail(why, -EINVAL, "autostart: '%s' is not on or off", value);
	d->autostart = !strcmp(value, "on");
	return 0;
}

static const struct vmdef_setting settings[] = {
	{ "processor-compat", "its processor compatibility", false, set_compat },
	{ "autostart", "its autostart", true, set_autostart },
};

const struct vmdef_setting *vmdef_setting(const char *key, char *why)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(key, settings[i].key))
			return &settings[i];
	vmdef_fail(why, -EINVAL, "unknown setting '%s' (processor-compat, autostart)", key);
	return NULL;
}
