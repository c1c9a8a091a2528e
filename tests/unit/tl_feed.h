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

static inline void f_madvise(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t addr, uint64_t len,
		      int advice, int64_t ret)
{
	struct mt_madvise r = {0};

	hdr(&r.h, MT_MADVISE, sizeof(r), pid, t);
	r.addr = addr;
	r.len = len;
	r.advice = advice;
	r.ret = ret;
	r.target_pid = pid;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static inline void f_munmap(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t addr, uint64_t len)
{
	struct mt_munmap r = {0};

	hdr(&r.h, MT_MUNMAP, sizeof(r), pid, t);
	r.addr = addr;
	r.len = len;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static inline void f_rss(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint32_t reason, uint64_t anon,
		  int64_t lazyfree)
{
	struct mt_rss r = {0};

	hdr(&r.h, MT_RSS, sizeof(r), pid, t);
	r.anon = anon;
	r.reason = reason;
	if (lazyfree >= 0) {
		r.h.flags = MT_F_SMAPS;
		r.lazyfree = (uint64_t)lazyfree;
		r.smaps_rss = anon;
	}
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static inline void f_task(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint32_t ev, uint32_t other)
{
	struct mt_task r = {0};

	hdr(&r.h, MT_TASK, sizeof(r), pid, t);
	r.event = ev;
	r.other_pid = other;
	strcpy(r.comm, "prog");
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static inline void f_info(struct mt_timeline *tl, uint32_t pid, uint64_t t, const char *kv)
{
	struct {
		struct mt_info i;
		char text[64];
	} r;

	hdr(&r.i.h, MT_INFO, (uint16_t)(sizeof(r.i) + strlen(kv) + 1), pid, t);
	strcpy(r.i.text, kv);
	assert_int_equal(mt_timeline__feed(tl, &r.i.h), 0);
}

static inline bool has_finding(const struct mt_timeline *tl, const char *kind, const char *words)
{
	size_t n;
	const struct mt_finding *f = mt_timeline__findings(tl, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].kind, kind) && (!words || strstr(f[i].text, words)))
			return true;
	return false;
}

#endif
