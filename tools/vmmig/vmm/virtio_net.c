// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net on a tap device that exists already (ip tuntap add NAME mode
 * tap): queue 0 receives, queue 1 transmits. The tap carries the 12-byte
 * virtio-net header itself (IFF_VNET_HDR), so frames move between the tap
 * and guest memory with one readv or writev. No offloads are offered.
 *
 * Transmit runs on the vCPU that notified. Receive has a thread of its own,
 * which waits for the tap only while the guest has given buffers and the VM
 * runs, and for a kick (eventfd) otherwise.
 *
 * After an incoming migration resumes the VM, that thread also announces the
 * guest on the tap (virtio_net_announce): a few RARP frames from the guest's
 * MAC, so that the bridges between here and the guest's peers learn its new
 * port at once instead of when the guest next sends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "thread.h"
#include "vmlog.h"
#include "vmm.h"

#define RXQ	0
#define TXQ	1
#define HDR_LEN	((int)sizeof(struct virtio_net_hdr_mrg_rxbuf))
#define ANNOUNCE_FRAMES	5
#define ANNOUNCE_GAP_MS	100
#define ETH_RARP	0x8035
#define RARP_REQUEST	3

struct net {
	int tap, kick;
	pthread_t rx;
	bool rx_thread, quit;
	bool rx_waiting;	/* for the guest's buffers, or for the VM to run */
	int announce;		/* RARP frames still to send */
	uint8_t mac[6];
	char name[IFNAMSIZ];
};

static void kick(struct net *n)
{
	uint64_t one = 1;

	if (write(n->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vmlog(LOG_ERR, "virtio-net kick: %m");
}

/* Moves frames from the tap into the guest's buffers until one runs out. */
static void rx_some(struct virtio_dev *d, struct net *n)
{
	struct virtio_net_hdr_mrg_rxbuf *hdr;
	struct virtq_chain c;
	bool irq = false;
	ssize_t r;
	int got;

	for (;;) {
		got = virtq_pop(d, RXQ, &c);
		if (got <= 0) {
			if (got < 0)
				virtio_fail(d, "broken receive queue (%s)", strerror(-got));
			n->rx_waiting = true;
			break;
		}
		if (c.nout || c.in_len < HDR_LEN || c.iov[0].iov_len < (size_t)HDR_LEN) {
			virtio_fail(d, "receive buffer without room for the header");
			break;
		}
		r = readv(n->tap, c.iov, c.nin);
		if (r < 0) {
			virtq_unpop(d, RXQ);
			if (errno != EAGAIN && errno != EINTR)
				vmlog(LOG_ERR, "virtio-net: tap read: %m");
			break;
		}
		/*
		 * The tap writes the first 10 bytes of the header; num_buffers
		 * is 1 without VIRTIO_NET_F_MRG_RXBUF. Nothing is written before
		 * the frame is in: a read that finds none must leave the buffer
		 * as it was, unmarked for a live save.
		 */
		hdr = c.iov[0].iov_base;
		hdr->num_buffers = 1;
		irq |= virtq_push(d, RXQ, &c, r);
	}
	if (irq)
		virtio_interrupt(d);
}

/*
 * One RARP request from the guest's MAC to everyone, as a guest that asks
 * for its own address would send: a switch learns the MAC's port from it,
 * nobody answers it, and no IP address is claimed.
 */
static void announce(struct net *n)
{
	uint8_t f[HDR_LEN + 60] = { 0 };	/* a zero virtio-net header: no offload */
	uint8_t *e = f + HDR_LEN, *a = e + 14;

	memset(e, 0xff, 6);
	memcpy(e + 6, n->mac, 6);
	e[12] = ETH_RARP >> 8;
	e[13] = ETH_RARP & 0xff;
	a[1] = 1;			/* hardware: Ethernet */
	a[2] = 0x08;			/* protocol: IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = RARP_REQUEST;
	memcpy(a + 8, n->mac, 6);	/* sender MAC; sender IP 0 */
	memcpy(a + 18, n->mac, 6);	/* target MAC; target IP 0 */
	if (write(n->tap, f, sizeof(f)) < 0)
		vmlog(LOG_ERR, "virtio-net %s: announce: %s", n->name, strerror(errno));
}

static void *rx_thread(void *arg)
{
	struct virtio_dev *d = arg;
	struct net *n = d->priv;
	struct pollfd p[2] = { { .fd = n->kick, .events = POLLIN }, { .fd = n->tap } };
	int timeout;
	uint64_t v;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (n->quit) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		n->rx_waiting = false;
		rx_some(d, n);
		p[1].events = n->rx_waiting ? 0 : POLLIN;
		timeout = -1;
		if (n->announce > 0) {
			announce(n);
			if (--n->announce)
				timeout = ANNOUNCE_GAP_MS;
		}
		pthread_mutex_unlock(&d->lock);
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			vmlog(LOG_ERR, "virtio-net: poll: %m");
		if (p[0].revents && read(n->kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
			vmlog(LOG_ERR, "virtio-net: kick: %m");
	}
}

static void tx(struct virtio_dev *d, struct net *n)
{
	struct virtq_chain c;
	bool irq = false;
	int got;

	while ((got = virtq_pop(d, TXQ, &c)) > 0) {
		/* A frame the tap refuses is dropped, as a wire would. */
		if (c.nin || writev(n->tap, c.iov, c.nout) < 0)
			vmlog(LOG_ERR, "virtio-net %s: frame dropped: %s", n->name,
				c.nin ? "writable buffer in the transmit queue" : strerror(errno));
		irq |= virtq_push(d, TXQ, &c, 0);
	}
	if (got < 0)
		virtio_fail(d, "broken transmit queue (%s)", strerror(-got));
	if (irq)
		virtio_interrupt(d);
}

static void net_notify(struct virtio_dev *d, uint32_t q)
{
	struct net *n = d->priv;

	if (q == TXQ)
		tx(d, n);
	else if (n->rx_waiting)
		kick(n);
}

static void net_changed(struct virtio_dev *d)
{
	kick(d->priv);
}

static void net_config(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len,
		       bool write)
{
	struct net *n = d->priv;
	struct virtio_net_config cfg = { .status = VIRTIO_NET_S_LINK_UP };

	memcpy(cfg.mac, n->mac, sizeof(cfg.mac));
	if (!write && off < 8 && len <= 8 - off)
		memcpy(data, (uint8_t *)&cfg + off, len);
}

static void net_destroy(struct virtio_dev *d)
{
	struct net *n = d->priv;

	if (!n)
		return;
	if (n->rx_thread) {
		pthread_mutex_lock(&d->lock);
		n->quit = true;
		kick(n);
		pthread_mutex_unlock(&d->lock);
		pthread_join(n->rx, NULL);
	}
	if (n->tap >= 0)
		close(n->tap);
	if (n->kick >= 0)
		close(n->kick);
}

const struct virtio_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.config = net_config,
	.notify = net_notify,
	.changed = net_changed,
	.destroy = net_destroy,
};

void virtio_net_announce(struct vm *vm)
{
	struct virtio_dev *d;
	struct net *n;
	int i;

	for (i = 0; i < vm->nvirtio; i++) {
		d = vm->virtio[i];
		if (d->ops != &virtio_net_ops || !d->priv)
			continue;
		n = d->priv;
		pthread_mutex_lock(&d->lock);
		n->announce = ANNOUNCE_FRAMES;
		kick(n);
		pthread_mutex_unlock(&d->lock);
	}
}

/*
 * A definition written by hand may lack the MAC `vmmig vm create` records:
 * a locally administered one from the VM's name, the same at every start.
 */
static void default_mac(struct virtio_dev *d, uint8_t *mac)
{
	uint32_t h = crc32c(d->index, d->vm->def.name, strlen(d->vm->def.name));

	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = h >> 24;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}

static int open_tap(struct net *n, const char *tap, char *why)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	char path[64];
	int hdr = HDR_LEN;

	/* TUNSETIFF would create a missing device: it must exist already. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", tap);
	if (strlen(tap) >= IFNAMSIZ || !if_nametoindex(tap))
		return vmm_fail(why, -ENODEV, "nic: tap device %s does not exist", tap);
	if (access(path, F_OK))
		return vmm_fail(why, -ENODEV, "nic: %s is not a tap device", tap);
	snprintf(n->name, sizeof(n->name), "%s", tap);
	memcpy(ifr.ifr_name, n->name, sizeof(ifr.ifr_name));
	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0)
		return vmm_fail(why, -errno, "nic %s: /dev/net/tun: %s%s", tap, strerror(errno),
				errno == ENOENT ? " (modprobe tun)" : "");
	if (ioctl(n->tap, TUNSETIFF, &ifr))
		return vmm_fail(why, -errno, "nic %s: cannot attach to the tap device: %s", tap,
				strerror(errno));
	if (ioctl(n->tap, TUNSETVNETHDRSZ, &hdr))
		return vmm_fail(why, -errno, "nic %s: TUNSETVNETHDRSZ: %s", tap, strerror(errno));
	return 0;
}

int virtio_net_init(struct virtio_dev *d, const char *tap, const char *mac, char *why)
{
	struct net *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return vmm_fail(why, -ENOMEM, "out of memory");
	d->priv = n;
	n->tap = -1;
	n->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->kick < 0)
		return vmm_fail(why, -errno, "eventfd: %s", strerror(errno));
	if (vmdef_parse_mac(mac, n->mac))
		default_mac(d, n->mac);
	err = open_tap(n, tap, why);
	if (err)
		return err;
	d->features |= 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS;
	err = pthread_create(&n->rx, NULL, rx_thread, d);
	if (err)
		return vmm_fail(why, -err, "pthread_create: %s", strerror(err));
	thread_name(n->rx, "net-rx");
	n->rx_thread = true;
	return 0;
}
