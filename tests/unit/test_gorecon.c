// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reconciliation of Go's numbers with the kernel's: its arithmetic
 * (model/gorecon.c) on hand-made figures, and the timeline fed with
 * gostat and resident records (gauges, findings, the live gauge lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "gorecon.h"
#include "live.h"
#include "timeline.h"
#include "tl_feed.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define MS 1000000ull
#define T0 1000000000000ull
#define RW (PROT_READ | PROT_WRITE)
#define ALL_GO                                                                                     \
	(MT_GS_HEAP_RELEASED | MT_GS_HEAP_IDLE | MT_GS_HEAP_INUSE | MT_GS_HEAP_SYS | MT_GS_SYS |   \
	 MT_GS_STACK_INUSE)

static uint64_t released_sum(const struct mt_recon *r)
{
	return r->lazy_resident + r->lazy_reclaimed + r->eager_out + r->never_touched +
	       (uint64_t)r->unexplained;
}

static uint64_t rss_sum(const struct mt_recon *r)
{
	return r->heap_inuse + r->stack_inuse + r->idle_kept + r->rss_lazyfree + (uint64_t)r->other;
}

/* A Go process whose every figure is known. */
static struct mt_recon base(void)
{
	struct mt_recon r = {.pid = 7, .have_res = true, .have_rss = true, .have_smaps = true};

	r.go.have = ALL_GO;
	r.go.heap_released = 100 * MiB;
	r.go.heap_idle = 110 * MiB;
	r.go.heap_inuse = 30 * MiB;
	r.go.stack_inuse = 1 * MiB;
	r.rss = 150 * MiB;
	r.lazyfree = 60 * MiB;
	r.res.lazy_present = 64 * MiB; /* 4 MiB of it written again */
	r.res.lazy_absent = 10 * MiB;
	r.res.eager_present = 2 * MiB;
	r.res.eager_absent = 20 * MiB;
	r.res.committed_absent = 40 * MiB;
	r.heap_candidates = 30 * MiB;
	r.not_heap = 16 * MiB;
	return r;
}

static void test_parts_sum(void **state)
{
	struct mt_recon r = base();

	(void)state;
	mt_recon__compute(&r);
	assert_true(r.have_released);
	assert_int_equal(r.lazy_resident, 60 * MiB); /* LazyFree, not all of lazy_present */
	assert_int_equal(r.lazy_rewritten, 4 * MiB);
	assert_int_equal(r.lazy_reclaimed, 10 * MiB);
	assert_int_equal(r.eager_out, 20 * MiB);
	/* 100 - 90 left: within committed_absent and the heap candidates */
	assert_int_equal(r.never_touched, 10 * MiB);
	assert_int_equal(r.unexplained, 0);
	assert_int_equal(r.absent_other, 30 * MiB);
	assert_int_equal(released_sum(&r), r.go.heap_released);
	/* RSS 150 = 30 + 1 + (110 - 100) + 60 + 49 */
	assert_true(r.have_rss_parts);
	assert_int_equal(r.idle_kept, 10 * MiB);
	assert_int_equal(r.other, 49 * MiB);
	assert_int_equal(r.faulted_back, 2 * MiB);
	assert_int_equal(rss_sum(&r), r.rss);
	assert_false(r.partial);
}

/* Never touched is bounded by what can be heap; the rest is unexplained, either way. */
static void test_unexplained(void **state)
{
	struct mt_recon r = base();

	(void)state;
	r.go.heap_released = 200 * MiB; /* 110 left, only 30 MiB can be heap */
	mt_recon__compute(&r);
	assert_int_equal(r.never_touched, 30 * MiB);
	assert_int_equal(r.unexplained, (int64_t)(80 * MiB));
	assert_int_equal(released_sum(&r), r.go.heap_released);

	r = base();
	r.heap_candidates = 100 * MiB;
	r.res.committed_absent = 5 * MiB; /* the kernel's absent bytes bound it too */
	mt_recon__compute(&r);
	assert_int_equal(r.never_touched, 5 * MiB);
	assert_int_equal(r.unexplained, (int64_t)(5 * MiB));

	r = base();
	r.go.heap_released = 50 * MiB; /* less than madvise shows released: negative */
	mt_recon__compute(&r);
	assert_int_equal(r.never_touched, 0);
	assert_int_equal(r.unexplained, -(int64_t)(40 * MiB));
	assert_int_equal(released_sum(&r), r.go.heap_released);
	/* RSS smaller than Go's parts: the rest is negative, the sum still exact */
	r.rss = 20 * MiB;
	mt_recon__compute(&r);
	assert_true(r.other < 0);
	assert_int_equal(rss_sum(&r), r.rss);
}

static void test_partial_and_missing(void **state)
{
	struct mt_recon r = base();

	(void)state;
	r.res.flags = MT_RES_CAPPED;
	mt_recon__compute(&r);
	assert_true(r.partial);
	assert_true(r.have_released);

	/* no smaps sample: all of lazy_present counts as still lazily free */
	r = base();
	r.have_smaps = false;
	mt_recon__compute(&r);
	assert_int_equal(r.lazy_resident, 64 * MiB);
	assert_int_equal(r.lazy_rewritten, 0);
	assert_int_equal(r.rss_lazyfree, 0);
	assert_int_equal(released_sum(&r), r.go.heap_released);

	/* HeapReleased not reported: no parts; no pagemap pass: none either */
	r = base();
	r.go.have = ALL_GO & ~MT_GS_HEAP_RELEASED;
	mt_recon__compute(&r);
	assert_false(r.have_released);
	assert_true(r.have_rss_parts);
	assert_int_equal(r.idle_kept, 0);
	r = base();
	r.have_res = false;
	mt_recon__compute(&r);
	assert_false(r.have_released);
	assert_int_equal(r.faulted_back, 0);
	r = base();
	r.go.have = MT_GS_HEAP_RELEASED;
	mt_recon__compute(&r);
	assert_false(r.have_rss_parts);
}

/* ---- through the timeline ---- */

static void f_gostat(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint32_t have,
		     uint64_t released, uint64_t inuse)
{
	struct mt_gostat r = {0};

	hdr(&r.h, MT_GOSTAT, sizeof(r), pid, t);
	r.h.flags = MT_F_SYNTH;
	r.have = have;
	r.heap_released = released;
	r.heap_inuse = inuse;
	r.heap_idle = released;
	r.source = MT_GOSTAT_PROMETHEUS;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static void f_resident(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t lazy,
		       uint64_t absent, uint32_t flags)
{
	struct mt_resident r = {0};

	hdr(&r.h, MT_RESIDENT, sizeof(r), pid, t);
	r.h.flags = MT_F_SYNTH;
	r.lazy_present = lazy;
	r.committed_absent = absent;
	r.flags = flags;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static void f_smaps(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t anon,
		    uint64_t lazyfree)
{
	struct mt_rss r = {0};

	hdr(&r.h, MT_RSS, sizeof(r), pid, t);
	r.h.flags = MT_F_SYNTH | MT_F_SMAPS;
	r.anon = anon;
	r.smaps_rss = anon;
	r.lazyfree = lazyfree;
	r.reason = MT_RSS_SAMPLE;
	assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
}

static struct mt_timeline *new_tl(void)
{
	struct mt_timeline_opts o = {.start_ns = T0};
	struct mt_timeline *tl = mt_timeline__new(&o);

	assert_non_null(tl);
	return tl;
}

static size_t findings_of(const struct mt_timeline *tl, const char *kind, const char *words)
{
	size_t n, k = 0;
	const struct mt_finding *f = mt_timeline__findings(tl, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].kind, kind) && (!words || strstr(f[i].text, words)))
			k++;
	return k;
}

/* Resident records alone (a program that is not Go): counted, no reconciliation, no sentence. */
static void test_no_gostat(void **state)
{
	struct mt_timeline *tl = new_tl();
	size_t n;

	(void)state;
	f_mmap(tl, 10, T0 + 1 * MS, 0x7f0000000000ull, 8 * MiB, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	f_smaps(tl, 10, T0 + 2 * MS, 4 * MiB, 0);
	f_resident(tl, 10, T0 + 2 * MS, 0, 4 * MiB, 0);
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_int_equal(mt_timeline__summary(tl)->unknown_records, 0);
	assert_int_equal(mt_timeline__summary(tl)->resident_records, 1);
	assert_false(mt_timeline__summary(tl)->any_go_numbers);
	mt_timeline__recon(tl, &n, NULL);
	assert_int_equal(n, 0);
	assert_int_equal(findings_of(tl, "reconciliation", NULL), 0);
	assert_false(mt_timeline__summary(tl)->end.have_go_released);
	mt_timeline__free(tl);
}

/* The never-touched case: heap candidates from the model; a MAP_STACK mapping is not heap. */
static void test_timeline_untouched_capped(void **state)
{
	struct mt_timeline *tl = new_tl();
	const struct mt_recon *r;
	size_t n;

	(void)state;
	f_mmap(tl, 11, T0 + 1 * MS, 0xc000000000ull, 4 * MiB, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	f_mmap(tl, 11, T0 + 1 * MS, 0x7f0000000000ull, 8 * MiB, RW,
	       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK);
	f_smaps(tl, 11, T0 + 2 * MS, 1 * MiB, 0);
	/* 11 MiB absent, of which at most the 4 MiB of anon can be heap */
	f_resident(tl, 11, T0 + 2 * MS, 0, 11 * MiB, MT_RES_CAPPED);
	f_gostat(tl, 11, T0 + 3 * MS, MT_GS_HEAP_RELEASED | MT_GS_HEAP_INUSE, 5 * MiB, 512 * KiB);
	assert_int_equal(mt_timeline__finish(tl), 0);
	r = mt_timeline__recon(tl, &n, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(r->heap_candidates, 4 * MiB);
	assert_int_equal(r->not_heap, 8 * MiB);
	assert_int_equal(r->never_touched, 4 * MiB);
	assert_int_equal(r->unexplained, (int64_t)(1 * MiB));
	assert_true(r->partial);
	assert_int_equal(findings_of(tl, "reconciliation", "madvise released nothing"), 1);
	assert_int_equal(findings_of(tl, "reconciliation", "capped"), 1);
	assert_int_equal(findings_of(tl, "reconciliation", "1.0 MiB more as released"), 1);
	assert_true(mt_timeline__summary(tl)->end.have_go_released);
	assert_int_equal(mt_timeline__summary(tl)->end.go_heap_released, 5 * MiB);
	mt_timeline__free(tl);
}

/* HeapReleased missing from the endpoint: said so; HeapInuse still a gauge. */
static void test_gostat_without_released(void **state)
{
	struct mt_timeline *tl = new_tl();
	const struct mt_recon *r;
	size_t n;

	(void)state;
	f_smaps(tl, 12, T0 + 1 * MS, 8 * MiB, 0);
	f_resident(tl, 12, T0 + 1 * MS, 0, 0, 0);
	f_gostat(tl, 12, T0 + 2 * MS, MT_GS_HEAP_INUSE, 0, 6 * MiB);
	assert_int_equal(mt_timeline__finish(tl), 0);
	r = mt_timeline__recon(tl, &n, NULL);
	assert_int_equal(n, 1);
	assert_false(r->have_released);
	assert_int_equal(findings_of(tl, "reconciliation", "do not include HeapReleased"), 1);
	assert_int_equal(findings_of(tl, "reconciliation", "Go reports"), 0);
	assert_int_equal(findings_of(tl, "reconciliation", "RSS 8.0 MiB = HeapInuse 6.0 MiB"), 1);
	assert_false(mt_timeline__summary(tl)->end.have_go_released);
	assert_true(mt_timeline__summary(tl)->end.have_go_inuse);
	mt_timeline__free(tl);
}

/* Go's columns appear in the live gauge lines once its numbers are known, with a new header. */
static void test_gauge_columns(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct mt_live_gauges lg = {.out = out};
	struct mt_timeline_opts o = {.start_ns = T0,
				     .on_gauge = mt_live__gauge,
				     .gauge_ctx = &lg,
				     .gauges_interval_ns = 1000 * MS};
	struct mt_timeline *tl = mt_timeline__new(&o);

	(void)state;
	assert_non_null(tl);
	f_smaps(tl, 13, T0 + 500 * MS, 8 * MiB, 0);
	f_gostat(tl, 13, T0 + 1500 * MS, MT_GS_HEAP_RELEASED | MT_GS_HEAP_INUSE, 3 * MiB, 5 * MiB);
	mt_timeline__tick(tl, T0 + 2500 * MS);
	fclose(out);
	/* first line without, then a header with Go's columns and a row with its figures */
	assert_non_null(strstr(buf, "reclaimed\n"));
	assert_non_null(strstr(buf, "Go.rel   Go.inuse\n"));
	assert_non_null(strstr(buf, "3.0 MiB    5.0 MiB\n"));
	assert_true(strstr(buf, "reclaimed\n") < strstr(buf, "Go.rel"));
	free(buf);
	mt_timeline__free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parts_sum),
	    cmocka_unit_test(test_unexplained),
	    cmocka_unit_test(test_partial_and_missing),
	    cmocka_unit_test(test_no_gostat),
	    cmocka_unit_test(test_timeline_untouched_capped),
	    cmocka_unit_test(test_gostat_without_released),
	    cmocka_unit_test(test_gauge_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
