/* PAGEMAP_SCAN (Linux 6.7) and userfaultfd write-protect definitions that
 * Debian 12's kernel headers (6.1) do not have yet. */
#ifndef CELL_CKPT_PAGEMAP_H
#define CELL_CKPT_PAGEMAP_H

#include <linux/ioctl.h>
#include <stdint.h>

struct ck_page_region {
	uint64_t start, end, categories;
};

struct ck_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define CK_PAGEMAP_SCAN _IOWR('f', 16, struct ck_pm_scan_arg)
#define CK_PAGE_IS_WPALLOWED (1u << 0)
#define CK_PAGE_IS_WRITTEN (1u << 1)
#define CK_PAGE_IS_FILE (1u << 2)
#define CK_PAGE_IS_PRESENT (1u << 3)
#define CK_PAGE_IS_SWAPPED (1u << 4)
#define CK_PAGE_IS_PFNZERO (1u << 5)
#define CK_PAGE_IS_HUGE (1u << 6)
#define CK_PAGE_IS_GUARD (1u << 8)
#define CK_PM_SCAN_WP_MATCHING (1u << 0)
#define CK_PM_SCAN_CHECK_WPASYNC (1u << 1)

#define CK_UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1u << 12)
#define CK_UFFD_FEATURE_WP_UNPOPULATED (1u << 13)
#define CK_UFFD_FEATURE_WP_ASYNC (1u << 15)
#define CK_UFFD_USER_MODE_ONLY 1

#endif
