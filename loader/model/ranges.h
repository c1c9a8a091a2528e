/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A query of the model for the recorder: the address ranges of one process
 * in each state, copied out so that another thread can look at the pages
 * (pagemap) while the timeline goes on taking records.
 */
#ifndef MT_RANGES_H
#define MT_RANGES_H

#include <stddef.h>
#include <stdint.h>
#include "timeline.h"

struct mt_state_range {
	uint64_t start, end;
	uint32_t state; /* enum mt_rstate: never MT_RS_RESERVED */
	uint32_t _pad;
};

/*
 * pid's committed, lazily and eagerly released ranges (reserved ones are
 * skipped: they have no pages), in address order, neighbours in the same
 * state merged. On 0, *out (malloc'd; NULL when *n is 0) holds *n ranges.
 * -ESRCH when the timeline models no such process, -ENOMEM.
 */
int mt_ranges__copy(const struct mt_timeline *tl, uint32_t pid, struct mt_state_range **out,
		    size_t *n);

#endif
