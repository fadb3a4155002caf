// SPDX-License-Identifier: GPL-2.0
#include <linux/atomic.h>

#include "compat.h"

#ifdef VMMIG_EXTACK_RING
static char extack_ring[VMMIG_EXTACK_RING][VMMIG_EXTACK_LEN];
static atomic_t extack_next = ATOMIC_INIT(0);

/**
 * vmmig_extack_buf() - a buffer for one formatted extack message
 *
 * Return: the next buffer of the ring.
 */
char *vmmig_extack_buf(void)
{
	return extack_ring[(unsigned int)atomic_inc_return(&extack_next) %
			   VMMIG_EXTACK_RING];
}
#endif
