/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which pages of some address ranges of a process are resident, from
 * /proc/PID/pagemap (present and swapped bits; they need no privilege
 * beyond ptrace-read access to the process, unlike page frame numbers).
 * It knows nothing of what the ranges mean: the caller groups them.
 */
#ifndef MT_PAGEMAP_H
#define MT_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_page_counts {
	uint64_t present; /* bytes in RAM */
	uint64_t swapped; /* bytes in swap */
	uint64_t absent; /* bytes never touched, dropped, or not mapped at all */
};

struct mt_pagemap;

/* Open /proc/PID/pagemap. NULL with errno set (EACCES: not ours and no privilege). */
struct mt_pagemap *mt_pagemap__open(pid_t pid);
/*
 * Add the pages of [start, end) to *c. Reads at most *budget pages (less
 * what it read), in chunks: a caller bounds a whole pass by one budget.
 * 0, -ENOSPC when the budget ran out first (c holds what was counted), or
 * -errno (the process is gone: -ESRCH or -EIO). Entries are read ahead
 * and reused by the next call: give the ranges of a pass in address order.
 */
int mt_pagemap__count(struct mt_pagemap *pm, uint64_t start, uint64_t end, uint64_t *budget,
		      struct mt_page_counts *c);
/* Forget what was read: call before each pass, the pages may have changed since. */
void mt_pagemap__forget(struct mt_pagemap *pm);
void mt_pagemap__free(struct mt_pagemap *pm);

#endif
