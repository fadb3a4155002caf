// SPDX-License-Identifier: GPL-2.0
/*
 * The VM state stream. Each section is a 16-byte header (type, version,
 * instance, payload length), the payload, and a CRC32C of header and
 * payload. All fields are little-endian (x86 only).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "vmdef.h"
#include "vmstate.h"

struct section_hdr {
	uint32_t type;
	uint16_t version;
	uint16_t instance;
	uint64_t len;
};

struct file_hdr {
	char magic[8];
	uint32_t version;
	uint32_t flags;
};

static const struct {
	const char *name;
	uint16_t version;
} types[VMSTATE_NTYPES] = {
	[VMSTATE_END] = { "end", 1 },
	[VMSTATE_DEFINITION] = { "definition", 2 },
	[VMSTATE_VM_INFO] = { "vm-info", 1 },
	[VMSTATE_MEMORY] = { "memory", 2 },
	[VMSTATE_DISK] = { "disk", 1 },
	[VMSTATE_VCPU_REGS] = { "vcpu-regs", 1 },
	[VMSTATE_VCPU_SREGS] = { "vcpu-sregs", 1 },
	[VMSTATE_VCPU_XSAVE] = { "vcpu-xsave", 1 },
	[VMSTATE_VCPU_XCRS] = { "vcpu-xcrs", 1 },
	[VMSTATE_VCPU_MSRS] = { "vcpu-msrs", 1 },
	[VMSTATE_VCPU_LAPIC] = { "vcpu-lapic", 1 },
	[VMSTATE_VCPU_MP_STATE] = { "vcpu-mp-state", 1 },
	[VMSTATE_VCPU_EVENTS] = { "vcpu-events", 1 },
	[VMSTATE_VCPU_DEBUGREGS] = { "vcpu-debugregs", 1 },
	[VMSTATE_VCPU_FPU] = { "vcpu-fpu", 1 },
	[VMSTATE_PIC] = { "pic", 1 },
	[VMSTATE_IOAPIC] = { "ioapic", 1 },
	[VMSTATE_PIT] = { "pit", 1 },
	[VMSTATE_CLOCK] = { "kvm-clock", 1 },
	[VMSTATE_UART] = { "uart", 2 },
	[VMSTATE_VIRTIO] = { "virtio", 1 },
	[VMSTATE_ACPI] = { "acpi", 1 },
};

const char *vmstate_type_name(uint32_t type)
{
	return type < VMSTATE_NTYPES && types[type].name ? types[type].name : "unknown";
}

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		for (c = i, j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[i] = c;
	}
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = crc, v;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; n; n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	crc = ~crc;
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_hw(crc, p, n);
	if (!crc_table[1])
		crc_init();
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static int write_all(int fd, struct iovec *iov, int n, uint64_t *bytes)
{
	ssize_t w;

	while (n) {
		w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*bytes += w;
		while (n && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

unsigned int vmstate_chunk_present(const struct vmstate_mem_chunk *c)
{
	unsigned int n = 0, i;
	uint64_t v;

	for (i = 0; i < sizeof(c->present); i += 8) {
		memcpy(&v, c->present + i, 8);
		n += __builtin_popcountll(v);
	}
	return n;
}

bool vmstate_page_zero(const void *page)
{
	const uint64_t *q = page;
	size_t i;

	for (i = 0; i < 4096 / 8; i++)
		if (q[i])
			return false;
	return true;
}

int vmstate_begin_flags(struct vmstate_writer *w, int fd, uint32_t flags)
{
	struct file_hdr h = { .version = VMSTATE_VERSION, .flags = flags };
	struct iovec iov = { &h, sizeof(h) };

	memcpy(h.magic, VMSTATE_MAGIC, 8);
	*w = (struct vmstate_writer){ .fd = fd, .flags = flags };
	return write_all(fd, &iov, 1, &w->bytes);
}

int vmstate_begin(struct vmstate_writer *w, int fd)
{
	return vmstate_begin_flags(w, fd, 0);
}

/*
 * Memory and disk sections of a stream whose transport authenticates go
 * without a CRC (0).
 */
static bool crc_skipped(uint32_t flags, uint32_t type)
{
	return (flags & VMSTATE_F_NO_MEMORY_CRC) &&
	       (type == VMSTATE_MEMORY || type == VMSTATE_DISK);
}

int vmstate_put(struct vmstate_writer *w, uint32_t type, uint16_t instance,
		const void *a, size_t alen, const void *b, size_t blen)
{
	struct section_hdr h = { type, types[type].version, instance, alen + blen };
	uint32_t crc = 0;
	struct iovec iov[4] = {
		{ &h, sizeof(h) }, { (void *)a, alen }, { (void *)b, blen },
		{ &crc, sizeof(crc) },
	};

	if (w->put)
		return w->put(w, type, instance, a, alen, b, blen);
	if (!crc_skipped(w->flags, type))
		crc = crc32c(crc32c(crc32c(0, &h, sizeof(h)), a, alen), b, blen);
	w->sections++;
	return write_all(w->fd, iov, 4, &w->bytes);
}

int vmstate_finish(struct vmstate_writer *w)
{
	uint64_t n = w->sections;

	return vmstate_put(w, VMSTATE_END, 0, &n, sizeof(n), NULL, 0);
}

static int fail(struct vmstate_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vmstate_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, VMMIG_ERRLEN, fmt, ap);
	va_end(ap);
	return err;
}

/* 0, or -EPIPE at a short read (a truncated stream). */
static int read_all(struct vmstate_reader *r, void *p, size_t n)
{
	ssize_t got;

	while (n) {
		got = read(r->fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		/* kTLS: a record failed its authentication, corrupted on the way. */
		if (got < 0 && errno == EBADMSG)
			return fail(r, -EBADMSG, VMSTATE_CORRUPT_RECORD);
		if (got < 0)
			return fail(r, -errno, "read: %s", strerror(errno));
		if (!got)
			return fail(r, -EPIPE, "truncated after %llu bytes",
				    (unsigned long long)r->bytes);
		r->bytes += got;
		p = (char *)p + got;
		n -= got;
	}
	return 0;
}

int vmstate_open(struct vmstate_reader *r, int fd, char *why)
{
	struct file_hdr h;
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->why = why;
	err = read_all(r, &h, sizeof(h));
	if (err)
		return err;
	if (memcmp(h.magic, VMSTATE_MAGIC, 8))
		return fail(r, -EINVAL, "not a vmmig state file");
	if (h.version > VMSTATE_VERSION)
		return fail(r, -EPROTONOSUPPORT, "format version %u is newer than this vmmig's (%u)",
			    h.version, VMSTATE_VERSION);
	if (h.flags & ~VMSTATE_F_ALL || (h.version < 2 && h.flags))
		return fail(r, -EPROTONOSUPPORT, "unknown header flags 0x%x (corrupt, or from a newer vmmig)",
			    h.flags);
	r->flags = h.flags;
	return 0;
}

static int check_header(struct vmstate_reader *r, const struct section_hdr *h)
{
	const char *name = vmstate_type_name(h->type);

	if (h->type >= VMSTATE_NTYPES || !types[h->type].name)
		return fail(r, -EPROTONOSUPPORT,
			    "section %llu has unknown type %u (corrupt, or from a newer vmmig)",
			    (unsigned long long)r->sections, h->type);
	if (h->version > types[h->type].version)
		return fail(r, -EPROTONOSUPPORT, "%s section version %u is newer than this vmmig's (%u)",
			    name, h->version, types[h->type].version);
	if (h->len > VMSTATE_MAX_SECTION)
		return fail(r, -EBADMSG, "%s section %llu is %llu bytes long (corrupt)", name,
			    (unsigned long long)r->sections, (unsigned long long)h->len);
	return 0;
}

int vmstate_next(struct vmstate_reader *r, struct vmstate_section *s)
{
	struct section_hdr h;
	uint32_t crc, want;
	int err;

	err = read_all(r, &h, sizeof(h));
	if (!err)
		err = check_header(r, &h);
	if (err)
		return err;
	if (h.len > r->cap) {
		void *nb = realloc(r->buf, h.len);

		if (!nb)
			return fail(r, -ENOMEM, "out of memory");
		r->buf = nb;
		r->cap = h.len;
	}
	err = read_all(r, r->buf, h.len);
	if (!err)
		err = read_all(r, &want, sizeof(want));
	if (err)
		return err;
	crc = crc_skipped(r->flags, h.type) ? 0 : crc32c(crc32c(0, &h, sizeof(h)), r->buf, h.len);
	if (crc != want)
		return fail(r, -EBADMSG, "%s section %llu fails its checksum (corrupt)",
			    vmstate_type_name(h.type), (unsigned long long)r->sections);
	*s = (struct vmstate_section){ h.type, h.version, h.instance, h.len, r->buf };
	if (h.type == VMSTATE_END) {
		uint64_t n = 0;

		memcpy(&n, r->buf, h.len < 8 ? h.len : 8);
		if (n != r->sections)
			return fail(r, -EBADMSG, "%llu sections, but the end says %llu",
				    (unsigned long long)r->sections, (unsigned long long)n);
		return 1;
	}
	r->sections++;
	return 0;
}

void vmstate_close(struct vmstate_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

int vmstate_check_file(const char *path, char **definition, char *why)
{
	struct vmstate_reader r;
	struct vmstate_section s;
	char *def = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, VMMIG_ERRLEN, "%s", strerror(errno));
		return -errno;
	}
	err = vmstate_open(&r, fd, why);
	while (!err) {
		err = vmstate_next(&r, &s);
		if (!err && s.type == VMSTATE_DEFINITION && !def)
			def = strndup(s.data, s.len);
	}
	vmstate_close(&r);
	close(fd);
	if (err == 1 && !def) {
		snprintf(why, VMMIG_ERRLEN, "no definition section");
		err = -EINVAL;
	}
	if (err < 0) {
		free(def);
		return err;
	}
	*definition = def;
	return 0;
}
