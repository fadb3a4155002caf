/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_STRICT_H
#define _VMMIG_STRICT_H

#include <linux/types.h>

bool vmmig_strict_supported(void);
int vmmig_strict_get(void);
void vmmig_strict_put(void);
int vmmig_strict_init(void);
void vmmig_strict_uninit(void);

#endif /* _VMMIG_STRICT_H */
