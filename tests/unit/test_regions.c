// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The region model against hand-worked cases and, for random call sequences,
 * against a page-by-page oracle written independently of the tree code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "regions.h"

#define PG 4096ull
#define BASE 0x10000000ull
#define A(p) (BASE + (uint64_t)(p)*PG)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define FIXED (ANON | MAP_FIXED)

enum {
	M_FREE = 8,
	M_DONTNEED = 4,
	M_REMOVE = 9,
	M_HUGE = 14,
	M_NOHUGE = 15,
	M_WILLNEED = 3,
	M_POP_WRITE = 23,
	M_COLLAPSE = 25
};

/* ---- helpers ---- */

struct seg {
	uint64_t start, end;
	uint8_t state;
};

struct collect {
	struct seg segs[256];
	size_t n;
};

static int collect_fn(void *ctx, const struct mt_region_info *r)
{
	struct collect *c = ctx;

	if (c->n < 256)
		c->segs[c->n++] = (struct seg){r->start, r->end, r->state};
	return 0;
}

/* The regions as "start-end:state" pages relative to BASE, e.g. "0-4:C 4-8:R". */
static char *layout(const struct mt_regions *rs)
{
	static char buf[4096];
	static const char st[] = "RCLE";
	struct collect c = {.n = 0};
	size_t off = 0;

	mt_regions__foreach(rs, collect_fn, &c);
	buf[0] = '\0';
	for (size_t i = 0; i < c.n; i++)
		off += (size_t)snprintf(
		    buf + off, sizeof(buf) - off, "%s%llu-%llu:%c", i ? " " : "",
		    (unsigned long long)((c.segs[i].start - BASE) / PG),
		    (unsigned long long)((c.segs[i].end - BASE) / PG), st[c.segs[i].state]);
	return buf;
}

static uint64_t pages(const struct mt_regions *rs, enum mt_rstate s)
{
	return mt_regions__bytes(rs, s) / PG;
}

static int count_maps_fn(void *ctx, const struct mt_mapping_info *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

static int count_maps(const struct mt_regions *rs)
{
	int n = 0;

	mt_regions__foreach_mapping(rs, count_maps_fn, &n);
	return n;
}

/* ---- hand-worked cases ---- */

static void test_map_unmap_split(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	assert_int_equal(mt_regions__mmap(rs, 1, A(0), 16 * PG, RW, ANON, -1, &d), 0);
	assert_int_equal(d.mapped, 16 * PG);
	assert_string_equal(layout(rs), "0-16:C");
	/* unmapping the middle splits */
	assert_int_equal(mt_regions__munmap(rs, 2, A(4), 4 * PG, &d), 0);
	assert_string_equal(layout(rs), "0-4:C 8-16:C");
	assert_int_equal(pages(rs, MT_RS_COMMITTED), 12);
	assert_int_equal(d.unmapped, 4 * PG);
	/* a partial length is rounded up to whole pages, as the kernel does */
	assert_int_equal(mt_regions__munmap(rs, 3, A(15), 1, NULL), 0);
	assert_string_equal(layout(rs), "0-4:C 8-15:C");
	/* munmap over holes and beyond is fine */
	assert_int_equal(mt_regions__munmap(rs, 4, A(2), 20 * PG, NULL), 0);
	assert_string_equal(layout(rs), "0-2:C");
	assert_int_equal(mt_regions__count(rs), 1);
	mt_regions__free(rs);
}

static void test_reserve_commit_merge(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 4096);

	(void)state;
	/* a runtime reserves address space, then commits it piece by piece */
	assert_int_equal(mt_regions__mmap(rs, 1, A(0), 64 * PG, PROT_NONE, ANON, -1, NULL), 0);
	assert_int_equal(pages(rs, MT_RS_RESERVED), 64);
	assert_int_equal(mt_regions__mmap(rs, 2, A(0), 16 * PG, RW, FIXED, -1, NULL), 0);
	assert_string_equal(layout(rs), "0-16:C 16-64:R");
	assert_int_equal(mt_regions__mmap(rs, 3, A(16), 16 * PG, RW, FIXED, -1, NULL), 0);
	/* the two commits merge: same mapping, same attributes */
	assert_string_equal(layout(rs), "0-32:C 32-64:R");
	assert_int_equal(count_maps(rs), 1);
	assert_int_equal(pages(rs, MT_RS_COMMITTED), 32);
	assert_int_equal(pages(rs, MT_RS_RESERVED), 32);
	/* MAP_FIXED straddling the reservation's end and a hole makes a new mapping */
	assert_int_equal(mt_regions__mmap(rs, 4, A(60), 8 * PG, RW, FIXED, -1, NULL), 0);
	assert_string_equal(layout(rs), "0-32:C 32-60:R 60-68:C");
	assert_int_equal(count_maps(rs), 2);
	mt_regions__free(rs);
}

static void test_release_states(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 32 * PG, RW, ANON, -1, NULL);
	assert_int_equal(mt_regions__madvise(rs, 2, A(4), 8 * PG, M_FREE, true, &d), 0);
	assert_string_equal(layout(rs), "0-4:C 4-12:L 12-32:C");
	assert_int_equal(d.released, 8 * PG);
	assert_int_equal(pages(rs, MT_RS_LAZY), 8);
	/* DONTNEED over part of it: lazily freed pages dropped now */
	memset(&d, 0, sizeof(d));
	mt_regions__madvise(rs, 3, A(8), 8 * PG, M_DONTNEED, true, &d);
	assert_string_equal(layout(rs), "0-4:C 4-8:L 8-16:E 16-32:C");
	assert_int_equal(d.escalated, 4 * PG);
	assert_int_equal(d.released, 4 * PG);
	assert_int_equal(d.rereleased, 0);
	/* releasing a released range again counts as re-release */
	memset(&d, 0, sizeof(d));
	mt_regions__madvise(rs, 4, A(4), 4 * PG, M_FREE, true, &d);
	assert_int_equal(d.rereleased, 4 * PG);
	/* advice that changes nothing the model tracks leaves it alone */
	mt_regions__madvise(rs, 5, A(0), 32 * PG, M_WILLNEED, true, NULL);
	assert_string_equal(layout(rs), "0-4:C 4-8:L 8-16:E 16-32:C");
	/* MADV_POPULATE_WRITE refills */
	memset(&d, 0, sizeof(d));
	mt_regions__madvise(rs, 6, A(0), 32 * PG, M_POP_WRITE, true, &d);
	assert_int_equal(d.recommitted, 12 * PG);
	assert_string_equal(layout(rs), "0-32:C");
	assert_int_equal(mt_regions__count(rs), 1);
	mt_regions__free(rs);
}

static void test_release_never_touched(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	/* PROT_NONE that was never accessible has no pages: release does nothing */
	mt_regions__mmap(rs, 1, A(0), 8 * PG, PROT_NONE, ANON, -1, NULL);
	mt_regions__madvise(rs, 2, A(0), 8 * PG, M_DONTNEED, true, &d);
	assert_string_equal(layout(rs), "0-8:R");
	assert_int_equal(d.released, 0);
	/* but once accessible it may have pages, even if PROT_NONE again */
	mt_regions__mprotect(rs, 3, A(0), 8 * PG, RW, true, NULL);
	mt_regions__mprotect(rs, 4, A(0), 8 * PG, PROT_NONE, true, NULL);
	assert_string_equal(layout(rs), "0-8:R");
	mt_regions__madvise(rs, 5, A(0), 8 * PG, M_FREE, true, &d);
	assert_string_equal(layout(rs), "0-8:L");
	assert_int_equal(d.released, 8 * PG);
	mt_regions__free(rs);
}

static void test_map_fixed_over_states(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 16 * PG, PROT_NONE, ANON, -1, NULL);
	mt_regions__mmap(rs, 2, A(0), 8 * PG, RW, FIXED, -1, NULL);
	mt_regions__madvise(rs, 3, A(4), 4 * PG, M_FREE, true, NULL);
	assert_string_equal(layout(rs), "0-4:C 4-8:L 8-16:R");
	/* PROT_NONE over itself: a hard decommit, pages dropped (eager) where there were any */
	assert_int_equal(mt_regions__mmap(rs, 4, A(0), 16 * PG, PROT_NONE, FIXED, -1, &d), 0);
	assert_string_equal(layout(rs), "0-8:E 8-16:R");
	assert_int_equal(d.released, 4 * PG);
	assert_int_equal(d.escalated, 4 * PG);
	assert_int_equal(pages(rs, MT_RS_EAGER), 8);
	assert_int_equal(count_maps(rs), 1);
	/* committing again over the decommitted part: re-commit */
	memset(&d, 0, sizeof(d));
	mt_regions__mmap(rs, 5, A(0), 4 * PG, RW, FIXED, -1, &d);
	assert_int_equal(d.recommitted, 4 * PG);
	assert_string_equal(layout(rs), "0-4:C 4-8:E 8-16:R");
	/* mprotect opening a PROT_NONE-decommitted range also re-commits */
	memset(&d, 0, sizeof(d));
	mt_regions__mprotect(rs, 6, A(4), 4 * PG, RW, true, &d);
	assert_int_equal(d.recommitted, 4 * PG);
	assert_string_equal(layout(rs), "0-8:C 8-16:R");
	/* a file mapping over committed anon memory replaces it */
	mt_regions__mmap(rs, 7, A(2), 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, NULL);
	assert_string_equal(layout(rs), "0-2:C 2-4:C 4-8:C 8-16:R");
	assert_int_equal(count_maps(rs), 2);
	mt_regions__free(rs);
}

static void test_madvise_over_holes(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 4 * PG, RW, ANON, -1, NULL);
	mt_regions__mmap(rs, 1, A(8), 4 * PG, RW, ANON, -1, NULL);
	/* ENOMEM: the kernel applied the advice to the mapped parts only */
	mt_regions__madvise(rs, 2, A(0), 12 * PG, M_FREE, false, &d);
	assert_string_equal(layout(rs), "0-4:L 8-12:L");
	assert_int_equal(d.filled, 0);
	/* ret 0 over a range the model does not know: mapped before the trace */
	memset(&d, 0, sizeof(d));
	mt_regions__madvise(rs, 3, A(0), 16 * PG, M_DONTNEED, true, &d);
	assert_string_equal(layout(rs), "0-4:E 4-8:E 8-12:E 12-16:E");
	assert_int_equal(d.filled, 8 * PG);
	assert_int_equal(d.released, 8 * PG);
	assert_int_equal(d.escalated, 8 * PG);
	/* the two learned holes are separate mappings of kind "before trace" */
	assert_int_equal(count_maps(rs), 4);
	/* adjacent learned ranges share a mapping */
	mt_regions__madvise(rs, 4, A(16), 2 * PG, M_DONTNEED, true, NULL);
	assert_string_equal(layout(rs), "0-4:E 4-8:E 8-12:E 12-18:E");
	assert_int_equal(count_maps(rs), 4);
	mt_regions__free(rs);
}

static void test_mprotect_partial(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 4 * PG, PROT_NONE, ANON, -1, NULL);
	mt_regions__mmap(rs, 1, A(6), 4 * PG, PROT_NONE, ANON, -1, NULL);
	/* ENOMEM: changed up to the first hole */
	mt_regions__mprotect(rs, 2, A(2), 8 * PG, RW, false, NULL);
	assert_string_equal(layout(rs), "0-2:R 2-4:C 6-10:R");
	/* ENOMEM with a hole at the start: nothing changed */
	mt_regions__mprotect(rs, 3, A(4), 4 * PG, RW, false, NULL);
	assert_string_equal(layout(rs), "0-2:R 2-4:C 6-10:R");
	mt_regions__free(rs);
}

static void test_mremap(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 8 * PG, RW, ANON, -1, NULL);
	mt_regions__madvise(rs, 2, A(2), 2 * PG, M_FREE, true, NULL);
	/* grow in place: the new tail is committed like the last region */
	assert_int_equal(mt_regions__mremap(rs, 3, A(0), 8 * PG, A(0), 12 * PG, 0, NULL), 0);
	assert_string_equal(layout(rs), "0-2:C 2-4:L 4-12:C");
	/* shrink in place */
	mt_regions__mremap(rs, 4, A(0), 12 * PG, A(0), 10 * PG, 0, NULL);
	assert_string_equal(layout(rs), "0-2:C 2-4:L 4-10:C");
	/* move and grow: states travel with the pages */
	mt_regions__mremap(rs, 5, A(0), 10 * PG, A(100), 16 * PG, MREMAP_MAYMOVE, NULL);
	assert_string_equal(layout(rs), "100-102:C 102-104:L 104-116:C");
	assert_int_equal(pages(rs, MT_RS_COMMITTED), 14);
	assert_int_equal(pages(rs, MT_RS_LAZY), 2);
	/* MREMAP_FIXED onto an existing mapping replaces it; shrinking while moving drops the rest
	 */
	mt_regions__mmap(rs, 6, A(200), 4 * PG, PROT_NONE, ANON, -1, NULL);
	mt_regions__mremap(rs, 7, A(100), 16 * PG, A(198), 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			   NULL);
	assert_string_equal(layout(rs), "198-200:C 200-202:L 202-204:R");
	assert_int_equal(count_maps(rs), 2);
	/* moving down */
	mt_regions__mremap(rs, 8, A(198), 4 * PG, A(10), 4 * PG, MREMAP_MAYMOVE, NULL);
	assert_string_equal(layout(rs), "10-12:C 12-14:L 202-204:R");
	/* DONTUNMAP: the old range stays mapped */
	mt_regions__mremap(rs, 9, A(10), 4 * PG, A(50), 4 * PG,
			   MREMAP_MAYMOVE | 4 /* MREMAP_DONTUNMAP */, NULL);
	assert_string_equal(layout(rs), "10-12:C 12-14:L 50-52:C 52-54:L 202-204:R");
	/* unaligned addresses are refused without change */
	assert_int_equal(mt_regions__mremap(rs, 10, A(10) + 1, PG, A(60), PG, 1, NULL), -EINVAL);
	assert_string_equal(layout(rs), "10-12:C 12-14:L 50-52:C 52-54:L 202-204:R");
	mt_regions__free(rs);
}

static void test_mremap_unknown_source(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);

	(void)state;
	/* a successful mremap proves the old range was mapped */
	mt_regions__mremap(rs, 1, A(0), 4 * PG, A(20), 8 * PG, MREMAP_MAYMOVE, NULL);
	assert_string_equal(layout(rs), "20-28:C");
	mt_regions__free(rs);
}

static void test_brk(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	/* the first break seen only tells where the heap ends */
	mt_regions__brk(rs, 1, A(0) + 100, &d);
	assert_int_equal(mt_regions__count(rs), 0);
	mt_regions__brk(rs, 2, A(8) + 100, &d);
	assert_string_equal(layout(rs), "1-9:C");
	assert_int_equal(d.mapped, 8 * PG);
	mt_regions__brk(rs, 3, A(12), NULL);
	assert_string_equal(layout(rs), "1-12:C");
	assert_int_equal(count_maps(rs), 1);
	mt_regions__brk(rs, 4, A(4) + 1, NULL);
	assert_string_equal(layout(rs), "1-5:C");
	mt_regions__free(rs);
}

static void test_invalid(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);

	(void)state;
	assert_null(mt_regions__new(1, 3000));
	assert_int_equal(mt_regions__mmap(rs, 1, A(0) + 12, PG, RW, ANON, -1, NULL), -EINVAL);
	assert_int_equal(mt_regions__munmap(rs, 1, UINT64_MAX - PG + 1, 2 * PG, NULL), -EINVAL);
	assert_int_equal(mt_regions__madvise(rs, 1, 0, UINT64_MAX, M_FREE, true, NULL), -EINVAL);
	assert_int_equal(mt_regions__mmap(rs, 1, A(0), 0, RW, ANON, -1, NULL), 0);
	assert_int_equal(mt_regions__count(rs), 0);
	mt_regions__free(rs);
}

struct retired {
	int n;
	struct mt_mapping_info last;
};

static void on_retire(void *ctx, const struct mt_mapping_info *m)
{
	struct retired *r = ctx;

	r->n++;
	r->last = *m;
}

static void test_retire_and_stats(void **state)
{
	struct mt_regions *rs = mt_regions__new(7, 0);
	struct retired r = {0};

	(void)state;
	mt_regions__set_retire(rs, on_retire, &r);
	mt_regions__mmap(rs, 10, A(0), 16 * PG, RW, ANON, -1, NULL);
	mt_regions__madvise(rs, 20, A(0), 4 * PG, M_FREE, true, NULL);
	mt_regions__madvise(rs, 30, A(4), 4 * PG, M_DONTNEED, true, NULL);
	mt_regions__madvise(rs, 40, A(0), 4 * PG, M_FREE, true, NULL);
	mt_regions__munmap(rs, 50, A(0), 8 * PG, NULL);
	assert_int_equal(r.n, 0); /* half of it is still mapped */
	mt_regions__munmap(rs, 60, A(8), 8 * PG, NULL);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.last.pid, 7);
	assert_int_equal(r.last.created_ns, 10);
	assert_true(r.last.unmapped);
	assert_int_equal(r.last.unmapped_ns, 60);
	assert_int_equal(r.last.released_lazy, 8 * PG);
	assert_int_equal(r.last.released_eager, 4 * PG);
	assert_int_equal(r.last.rereleased, 4 * PG);
	assert_int_equal(r.last.release_calls, 3);
	assert_int_equal(r.last.first_release_ns, 20);
	assert_int_equal(r.last.last_release_ns, 40);
	assert_int_equal(r.last.start, A(0));
	assert_int_equal(r.last.end, A(16));
	mt_regions__free(rs);
}

static void test_clone_and_clear(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0), *child;
	struct retired r = {0};

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 8 * PG, RW, ANON, -1, NULL);
	mt_regions__madvise(rs, 2, A(0), 2 * PG, M_FREE, true, NULL);
	mt_regions__brk(rs, 3, A(100), NULL);
	child = mt_regions__clone(rs, 2);
	assert_non_null(child);
	assert_string_equal(layout(child), "0-2:L 2-8:C");
	mt_regions__set_retire(child, on_retire, &r);
	/* independent: changing the child leaves the parent alone */
	mt_regions__munmap(child, 4, A(0), 8 * PG, NULL);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.last.pid, 2);
	assert_string_equal(layout(rs), "0-2:L 2-8:C");
	mt_regions__brk(child, 5, A(101), NULL);
	assert_string_equal(layout(child), "100-101:C"); /* the break was inherited */
	mt_regions__clear(child, 6);
	assert_int_equal(mt_regions__count(child), 0);
	assert_int_equal(mt_regions__bytes(child, MT_RS_COMMITTED), 0);
	assert_int_equal(r.n, 2);
	mt_regions__free(child);
	mt_regions__free(rs);
}

static void test_thp(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	struct mt_rdelta d = {0};

	(void)state;
	mt_regions__mmap(rs, 1, A(0), 1024 * PG, RW, ANON, -1, NULL);
	mt_regions__madvise(rs, 2, A(0), 512 * PG, M_FREE, true, NULL);
	mt_regions__madvise(rs, 3, A(0), 1024 * PG, M_HUGE, true, &d);
	assert_int_equal(d.hp_released, 512 * PG);
	assert_int_equal(mt_regions__released_thp(rs), 512 * PG);
	mt_regions__madvise(rs, 4, A(0), 256 * PG, M_NOHUGE, true, NULL);
	assert_int_equal(mt_regions__released_thp(rs), 256 * PG);
	/* MADV_COLLAPSE fills released ranges back */
	memset(&d, 0, sizeof(d));
	mt_regions__madvise(rs, 5, A(0), 1024 * PG, M_COLLAPSE, true, &d);
	assert_int_equal(d.recommitted, 512 * PG);
	assert_int_equal(pages(rs, MT_RS_LAZY), 0);
	mt_regions__free(rs);
}

/* Many fragments merge back into one region when they become alike again. */
static void test_fragmentation(void **state)
{
	struct mt_regions *rs = mt_regions__new(1, 0);
	const int n = 20000;

	(void)state;
	mt_regions__mmap(rs, 1, A(0), (uint64_t)2 * n * PG, RW, ANON, -1, NULL);
	for (int i = 0; i < n; i++)
		mt_regions__madvise(rs, 2, A(2 * i), PG, M_FREE, true, NULL);
	assert_int_equal(mt_regions__count(rs), 2 * n);
	assert_int_equal(pages(rs, MT_RS_LAZY), n);
	for (int i = n - 1; i >= 0; i--)
		mt_regions__madvise(rs, 3, A(2 * i + 1), PG, M_FREE, true, NULL);
	assert_int_equal(mt_regions__count(rs), 1);
	assert_int_equal(pages(rs, MT_RS_LAZY), 2 * n);
	mt_regions__free(rs);
}

/* ---- random sequences against a page oracle ---- */

#define NP 96

struct page {
	bool known; /* in the model */
	uint32_t prot;
	uint8_t rel; /* 0 none, 1 lazy, 2 eager */
	uint8_t thp, kind;
	bool touched;
};

struct oracle {
	bool truth[NP]; /* mapped in the "kernel", including mappings from before the trace */
	struct page p[NP];
};

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

static uint8_t page_state(const struct page *p)
{
	if (p->rel == 1)
		return MT_RS_LAZY;
	if (p->rel == 2)
		return MT_RS_EAGER;
	return p->prot ? MT_RS_COMMITTED : MT_RS_RESERVED;
}

static void learn(struct oracle *o, int s, int e)
{
	for (int i = s; i < e; i++)
		if (!o->p[i].known)
			o->p[i] = (struct page){
			    .known = true, .prot = RW, .kind = MT_RK_UNKNOWN, .touched = true};
}

static void o_mmap(struct oracle *o, int s, int e, uint32_t prot, uint8_t kind)
{
	for (int i = s; i < e; i++) {
		struct page old = o->p[i];

		o->truth[i] = true;
		o->p[i] =
		    (struct page){.known = true, .prot = prot, .kind = kind, .touched = prot != 0};
		if (!prot && old.known && (old.touched || old.rel))
			o->p[i].rel = 2;
	}
}

static void o_madvise(struct oracle *o, int s, int e, int adv, bool all)
{
	/* only advice the model acts on teaches it about ranges from before the trace */
	if (all && adv != M_WILLNEED)
		learn(o, s, e);
	for (int i = s; i < e; i++) {
		struct page *p = &o->p[i];

		if (!p->known)
			continue;
		switch (adv) {
		case M_FREE:
		case M_DONTNEED:
			if (p->touched || p->rel)
				p->rel = adv == M_FREE ? 1 : 2;
			break;
		case M_HUGE:
			p->thp = MT_THP_HUGE;
			break;
		case M_NOHUGE:
			p->thp = MT_THP_NOHUGE;
			break;
		case M_POP_WRITE:
			if (p->rel && p->prot)
				p->rel = 0;
			break;
		}
	}
}

static void o_mprotect(struct oracle *o, int s, int e, uint32_t prot, bool all)
{
	if (all) {
		learn(o, s, e);
	} else {
		int i = s;

		while (i < e && o->p[i].known)
			i++;
		e = i;
	}
	for (int i = s; i < e; i++) {
		struct page *p = &o->p[i];

		if (prot) {
			if (p->rel == 2 && !p->prot)
				p->rel = 0;
			p->touched = true;
		}
		p->prot = prot;
	}
}

struct cmp_ctx {
	const struct oracle *o;
	int next; /* first page not yet covered by a region */
	const struct mt_region_info *prev;
	struct mt_region_info prev_copy;
	bool have_prev;
};

static int cmp_fn(void *ctx, const struct mt_region_info *r)
{
	struct cmp_ctx *c = ctx;
	int s = (int)((r->start - BASE) / PG), e = (int)((r->end - BASE) / PG);

	assert_true(r->start >= BASE && r->end <= A(NP) && r->start < r->end);
	assert_int_equal((r->start - BASE) % PG, 0);
	for (int i = c->next; i < s; i++)
		assert_false(c->o->p[i].known);
	for (int i = s; i < e; i++) {
		const struct page *p = &c->o->p[i];

		assert_true(p->known);
		assert_int_equal(page_state(p), r->state);
		assert_int_equal(p->prot, r->prot);
		assert_int_equal(p->thp, r->thp);
		assert_int_equal(p->kind, r->kind);
		assert_int_equal(p->touched, r->touched);
	}
	/* canonical: no two touching regions that could be one */
	if (c->have_prev && c->prev_copy.end == r->start) {
		const struct mt_region_info *a = &c->prev_copy;

		assert_false(a->map == r->map && a->prot == r->prot && a->state == r->state &&
			     a->kind == r->kind && a->thp == r->thp && a->touched == r->touched);
	}
	c->prev_copy = *r;
	c->have_prev = true;
	c->next = e;
	return 0;
}

static void compare(const struct mt_regions *rs, const struct oracle *o)
{
	struct cmp_ctx c = {.o = o};
	uint64_t bytes[MT_RS_NR] = {0};

	mt_regions__foreach(rs, cmp_fn, &c);
	for (int i = c.next; i < NP; i++)
		assert_false(o->p[i].known);
	for (int i = 0; i < NP; i++)
		if (o->p[i].known)
			bytes[page_state(&o->p[i])] += PG;
	for (int s = 0; s < MT_RS_NR; s++)
		assert_int_equal(mt_regions__bytes(rs, s), bytes[s]);
}

static bool all_truth(const struct oracle *o, int s, int e)
{
	for (int i = s; i < e; i++)
		if (!o->truth[i])
			return false;
	return true;
}

static void test_random_vs_oracle(void **state)
{
	(void)state;
	for (int round = 0; round < 60; round++) {
		struct mt_regions *rs = mt_regions__new(1, 0);
		struct oracle o;

		memset(&o, 0, sizeof(o));
		/* some memory mapped before tracing began: the kernel knows it, the model does not
		 */
		for (int i = 0; i < NP; i++)
			o.truth[i] = rnd(4) == 0;
		for (int step = 0; step < 400; step++) {
			int s = (int)rnd(NP), len = 1 + (int)rnd(16),
			    e = s + len > NP ? NP : s + len;
			int op = (int)rnd(7);

			switch (op) {
			case 0: {
				uint32_t prot = rnd(3) ? RW : PROT_NONE;
				bool shared = rnd(6) == 0;

				mt_regions__mmap(rs, step, A(s), (uint64_t)(e - s) * PG, prot,
						 (shared ? MAP_SHARED : MAP_PRIVATE) |
						     MAP_ANONYMOUS | MAP_FIXED,
						 -1, NULL);
				o_mmap(&o, s, e, prot, shared ? MT_RK_SHARED_ANON : MT_RK_ANON);
				break;
			}
			case 1:
				mt_regions__munmap(rs, step, A(s), (uint64_t)(e - s) * PG, NULL);
				for (int i = s; i < e; i++) {
					o.truth[i] = false;
					o.p[i].known = false;
				}
				break;
			case 2:
			case 3: {
				static const int advs[] = {M_FREE,   M_DONTNEED,  M_HUGE,
							   M_NOHUGE, M_POP_WRITE, M_WILLNEED};
				int adv = advs[rnd(6)];
				bool all = all_truth(&o, s, e);

				mt_regions__madvise(rs, step, A(s), (uint64_t)(e - s) * PG, adv,
						    all, NULL);
				o_madvise(&o, s, e, adv, all);
				break;
			}
			case 4: {
				uint32_t prot = rnd(2) ? RW : PROT_NONE;
				bool all = all_truth(&o, s, e);

				if (!all && !o.truth[s])
					break; /* the kernel fails at once: no call recorded as
						  applied */
				mt_regions__mprotect(rs, step, A(s), (uint64_t)(e - s) * PG, prot,
						     all, NULL);
				o_mprotect(&o, s, e, prot, all);
				break;
			}
			case 5:
			case 6: {
				/* mremap of a mapped range to a random place (or in place) */
				int ns = (int)rnd(NP), nl = 1 + (int)rnd(16), keep;
				struct page tmp[NP];
				bool fixed = op == 6;

				if (!all_truth(&o, s, e))
					break;
				if (!fixed)
					ns = s; /* in place: the space after must be free */
				if (ns + nl > NP)
					nl = NP - ns;
				if (!fixed && ns + nl > e) {
					bool free_after = true;

					for (int i = e; i < ns + nl; i++)
						free_after &= !o.truth[i];
					if (!free_after)
						break;
				}
				if (fixed && ns < e && s < ns + nl)
					break; /* the kernel refuses overlapping ranges */
				mt_regions__mremap(rs, step, A(s), (uint64_t)(e - s) * PG, A(ns),
						   (uint64_t)nl * PG,
						   fixed ? MREMAP_MAYMOVE | MREMAP_FIXED : 0, NULL);
				learn(&o, s, e);
				keep = nl < e - s ? nl : e - s;
				memcpy(tmp, &o.p[s], (size_t)keep * sizeof(tmp[0]));
				for (int i = s; i < e; i++) {
					if (fixed || i >= s + nl) {
						o.truth[i] = false;
						o.p[i].known = false;
					}
				}
				for (int i = ns; i < ns + nl; i++) {
					o.truth[i] = true;
					if (i - ns < keep) {
						o.p[i] = tmp[i - ns];
					} else {
						o.p[i] = tmp[keep - 1];
						o.p[i].rel = 0;
						o.p[i].touched = o.p[i].prot != 0;
					}
				}
				break;
			}
			}
			if (getenv("MT_TEST_VERBOSE")) {
				fprintf(stderr,
					"round %d step %d op %d s %d e %d: %s\n  oracle:", round,
					step, op, s, e, layout(rs));
				for (int i = 0; i < NP; i++)
					if (o.p[i].known)
						fprintf(stderr, " %d:%c", i,
							"RCLE"[page_state(&o.p[i])]);
				fputc('\n', stderr);
			}
			compare(rs, &o);
			if (step % 97 == 96) {
				/* carry on in a fork's copy: it must behave the same */
				struct mt_regions *c = mt_regions__clone(rs, 2);

				assert_non_null(c);
				mt_regions__free(rs);
				rs = c;
				compare(rs, &o);
			}
		}
		mt_regions__free(rs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_unmap_split),
		cmocka_unit_test(test_reserve_commit_merge),
		cmocka_unit_test(test_release_states),
		cmocka_unit_test(test_release_never_touched),
		cmocka_unit_test(test_map_fixed_over_states),
		cmocka_unit_test(test_madvise_over_holes),
		cmocka_unit_test(test_mprotect_partial),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_mremap_unknown_source),
		cmocka_unit_test(test_brk),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_retire_and_stats),
		cmocka_unit_test(test_clone_and_clear),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_random_vs_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
