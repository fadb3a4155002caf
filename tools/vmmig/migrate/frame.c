// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "vmdef.h"
#include "vmstate.h"

static const char *const names[FRAME_NTYPES] = {
	[FRAME_HELLO] = "hello", [FRAME_REQUEST] = "request", [FRAME_QUEUED] = "queued",
	[FRAME_ACCEPT] = "accept", [FRAME_REFUSE] = "refuse", [FRAME_STREAM] = "stream",
	[FRAME_STREAM_ACK] = "stream-ack", [FRAME_READY] = "ready", [FRAME_COMMIT] = "commit",
	[FRAME_RESUMED] = "resumed", [FRAME_ABORT] = "abort", [FRAME_PROBE] = "probe",
	[FRAME_PROBE_ACK] = "probe-ack", [FRAME_OUTCOME] = "outcome",
	[FRAME_OUTCOME_ACK] = "outcome-ack", [FRAME_CLUSTER] = "cluster", [FRAME_CHECK] = "check",
	[FRAME_CHECK_REPLY] = "check-reply",
};

const char *frame_type_name(unsigned int type)
{
	return type && type < FRAME_NTYPES ? names[type] : "unknown";
}

static void hdr(struct frame_hdr *h, enum frame_type type, uint32_t len, uint32_t crc)
{
	memcpy(h->magic, FRAME_MAGIC, 4);
	h->version = FRAME_VERSION;
	h->type = type;
	h->flags = 0;
	h->len = len;
	h->crc = crc;
}

void frame_hdr_fill(struct frame_hdr *h, enum frame_type type, const void *payload, uint32_t len)
{
	hdr(h, type, len, crc32c(0, payload, len));
}

void frame_probe_hdr(struct frame_hdr *h, uint32_t len)
{
	hdr(h, FRAME_PROBE, len, 0);
}

int frame_hdr_check(const struct frame_hdr *h, char *why)
{
	if (memcmp(h->magic, FRAME_MAGIC, 4)) {
		snprintf(why, VMMIG_ERRLEN, "corrupt frame: not a vmmig frame");
		return -EPROTO;
	}
	if (h->version != FRAME_VERSION) {
		snprintf(why, VMMIG_ERRLEN, "protocol version %u: this host speaks %u", h->version,
			 FRAME_VERSION);
		return -EPROTO;
	}
	if (!h->type || h->type >= FRAME_NTYPES || h->flags) {
		snprintf(why, VMMIG_ERRLEN, "corrupt frame: type %u, flags %#x", h->type, h->flags);
		return -EPROTO;
	}
	if (h->len > FRAME_MAX) {
		snprintf(why, VMMIG_ERRLEN, "corrupt frame: %u bytes", h->len);
		return -EPROTO;
	}
	return 0;
}

int frame_payload_check(const struct frame_hdr *h, const void *payload, char *why)
{
	/* A probe's filler without a CRC: TLS authenticates it (frame.h). */
	if (h->type == FRAME_PROBE && !h->crc)
		return 0;
	if (crc32c(0, payload, h->len) != h->crc) {
		snprintf(why, VMMIG_ERRLEN, "corrupt frame: %s payload fails its CRC",
			 frame_type_name(h->type));
		return -EPROTO;
	}
	return 0;
}
