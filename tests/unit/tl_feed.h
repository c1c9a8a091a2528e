/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hand-made records fed to a timeline, shared by the unit tests of the
 * model (include after cmocka.h).
 */
#ifndef MT_TEST_TL_FEED_H
#define MT_TEST_TL_FEED_H

#include <string.h>
#include "timeline.h"

static inline void hdr(struct mt_hdr *h, uint16_t type, uint16_t size, uint32_t pid, uint64_t t)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->size = size;
	h->pid = pid;
	h->tid = pid;
	h->t_ns = t;
}

/* A successful anonymous or file-less mmap at addr. */
static inline void f_mmap(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t addr,
			  uint64_t len, uint32_t prot, uint32_t flags)
{
	struct mt_mmap r = {0};

	hdr(&r.h, MT_MMAP, sizeof(r), pid, t);
	r.addr = addr;
	r.len = len;
	r.prot = prot;
	r.flags = flags;
	r.fd = -1;
	r.ret = (int64_t)addr;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

#endif
