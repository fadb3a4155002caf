/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_HOST_H
#define _VMMIG_HOST_H

#include "uapi/linux/vmmig.h"

enum vmmig_kvm vmmig_host_kvm(void);
int vmmig_host_init(void);
void vmmig_host_uninit(void);

#endif /* _VMMIG_HOST_H */
