/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_SAMPLE_H
#define _VMMIG_SAMPLE_H

#include <net/genetlink.h>

int vmmig_dirty_rate_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _VMMIG_SAMPLE_H */
