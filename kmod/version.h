/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_VERSION_H
#define _VMMIG_VERSION_H

#define VMMIG_VERSION "0.1.0"

#endif
