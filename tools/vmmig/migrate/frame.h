/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host-to-host protocol of vmmigd (Documentation/design/migration.rst):
 * framed messages over mutual TLS. Every frame has a fixed header, checked
 * before anything else is believed: magic, protocol version, a known type,
 * a length under the limit, and the CRC32C of the payload. A payload is one
 * JSON object, except PROBE's, which is bytes.
 */
#ifndef VMMIG_FRAME_H
#define VMMIG_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define FRAME_MAGIC		"VMMF"
#define FRAME_VERSION		2
#define FRAME_MAX		(1U << 20)

enum frame_type {
	FRAME_HELLO = 1,	/* both ways first: host, version, port */
	FRAME_REQUEST,		/* source: a VM to move here */
	FRAME_QUEUED,		/* destination: the request waits for a slot */
	FRAME_ACCEPT,		/* destination: send the streams */
	FRAME_REFUSE,		/* destination: reason; the connection ends */
	FRAME_STREAM,		/* source, on a new connection: token, index */
	FRAME_STREAM_ACK,	/* destination: the stream's bytes may follow */
	FRAME_READY,		/* destination: all state loaded, VM paused */
	FRAME_COMMIT,		/* source: the switchover is decided */
	FRAME_RESUMED,		/* destination: the VM runs here */
	FRAME_ABORT,		/* either side before commit: reason */
	FRAME_PROBE,		/* source: bytes to measure the path */
	FRAME_PROBE_ACK,	/* destination: bytes received */
	FRAME_OUTCOME,		/* destination, on a new connection: token */
	FRAME_OUTCOME_ACK,	/* source: "committed", "aborted" or "unknown" */
	FRAME_CLUSTER,		/* either way, alone on a connection: a cluster view */
	FRAME_CHECK,		/* source, after HELLO: a VM's definition, its devices */
	FRAME_CHECK_REPLY,	/* destination: the issues it sees */
	FRAME_NTYPES
};

struct frame_hdr {
	char magic[4];
	uint8_t version;
	uint8_t type;
	uint16_t flags;		/* 0 */
	uint32_t len;		/* payload bytes */
	uint32_t crc;		/* CRC32C of the payload; a probe's may be 0 */
};

const char *frame_type_name(unsigned int type);
/* The header of a payload. */
void frame_hdr_fill(struct frame_hdr *h, enum frame_type type, const void *payload, uint32_t len);
/* Checks a received header: 0, or -EPROTO with the reason in @why. */
int frame_hdr_check(const struct frame_hdr *h, char *why);
/*
 * The header of a probe of @len bytes without a CRC (0): its filler goes as
 * the streams' memory goes over TLS, which authenticates it. Computed at
 * both ends, the CRC held the probe below the path it measures.
 */
void frame_probe_hdr(struct frame_hdr *h, uint32_t len);
/* Checks the payload against its header's CRC; a probe's, unless it is 0. */
int frame_payload_check(const struct frame_hdr *h, const void *payload, char *why);

#endif
