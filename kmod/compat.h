/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What newer kernels have and Debian's 6.1 lacks. Each entry names the
 * release that brought the real thing.
 */
#ifndef _VMMIG_COMPAT_H
#define _VMMIG_COMPAT_H

#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/version.h>

/* 6.5: get_user_pages_remote() lost its vmas argument. */
static inline long vmmig_get_user_page_remote(struct mm_struct *mm,
					      unsigned long addr,
					      unsigned int flags,
					      struct page **page)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, addr, 1, flags, page, NULL, NULL);
#else
	return get_user_pages_remote(mm, addr, 1, flags, page, NULL);
#endif
}

/*
 * 6.2: formatted extack messages, kept in the extack itself. Before that
 * the message must outlive the handler until the ACK is built, so it goes
 * into one of a ring of buffers; a message is only overwritten after
 * VMMIG_EXTACK_RING later formatted rejections, long after its ACK left.
 */
#ifndef NL_SET_ERR_MSG_FMT_MOD
#define VMMIG_EXTACK_RING	32
#define VMMIG_EXTACK_LEN	128
char *vmmig_extack_buf(void);
#define NL_SET_ERR_MSG_FMT_MOD(extack, fmt, args...) do {		\
	struct netlink_ext_ack *__ex = (extack);			\
	char *__buf;							\
									\
	if (__ex) {							\
		__buf = vmmig_extack_buf();				\
		snprintf(__buf, VMMIG_EXTACK_LEN, KBUILD_MODNAME ": " fmt, ##args); \
		__ex->_msg = __buf;					\
	}								\
} while (0)
#endif

#endif /* _VMMIG_COMPAT_H */
