/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who released the memory, as a sentence of the verdict: the releasers'
 * tallies (releasers.h) said in words and added to the timeline's findings
 * (kind "releasers"), so that every report format carries the same words.
 */
#ifndef MT_RELEASERS_VERDICT_H
#define MT_RELEASERS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "releasers.h"
#include "timeline.h"

/* Any release or unmap tallied, with a stack or without. */
bool mt_releasers__any(const struct mt_rel_summary *rs);

/*
 * The n releasers with a non-zero v[], largest first (ties: the lower
 * index first), into order[]; returns how many.
 */
size_t mt_releasers__rank(const uint64_t *v, int n, int *order);

/*
 * Adds the finding on who released it (or that the trace has no stacks and
 * how to get them) to tl; nothing when nothing was released. r must be
 * resolved (mt_releasers__resolve). 0, or -ENOMEM.
 */
int mt_releasers__add_finding(struct mt_timeline *tl, const struct mt_releasers *r);

#endif
