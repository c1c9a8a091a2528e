// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ranges of one process by state, copied out of its region model (ranges.h). */
#include <errno.h>
#include <stdlib.h>
#include "ranges.h"
#include "regions.h"
#include "timeline_int.h"

struct copy {
	struct mt_state_range *v;
	size_t n, cap;
};

static int add_region(void *ctx, const struct mt_region_info *r)
{
	struct copy *c = ctx;
	struct mt_state_range *last = c->n ? &c->v[c->n - 1] : NULL;

	if (r->state == MT_RS_RESERVED || r->end <= r->start)
		return 0;
	/* the regions split where mappings or protections differ: pagemap does not care */
	if (last && last->end == r->start && last->state == r->state) {
		last->end = r->end;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct mt_state_range *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct mt_state_range){ .start = r->start, .end = r->end,
						.state = r->state };
	return 0;
}

int mt_ranges__copy(const struct mt_timeline *tl, uint32_t pid, struct mt_state_range **out,
		    size_t *n)
{
	const struct proc *p = mt_pidmap__find(&tl->procs, pid);
	struct copy c = { 0 };
	int err;

	*out = NULL;
	*n = 0;
	if (!p || !p->rs)
		return -ESRCH;
	/* the model's regions number about what its ranges do: one allocation, usually */
	c.cap = mt_regions__count(p->rs);
	if (c.cap && !(c.v = malloc(c.cap * sizeof(*c.v))))
		return -ENOMEM;
	err = mt_regions__foreach(p->rs, add_region, &c);
	if (err) {
		free(c.v);
		return err;
	}
	*out = c.v;
	*n = c.n;
	if (!c.n) {
		free(c.v);
		*out = NULL;
	}
	return 0;
}
