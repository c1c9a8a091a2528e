// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The timeline fed with hand-made records: gauges summed over processes,
 * exit and fork handling, RSS attributed to calls, reclaim, bounded
 * sampling on a grid, live gauge lines, top regions and the verdict.
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
#include "live.h"
#include "timeline.h"
#include "tl_feed.h"

#define MiB (1024ull * 1024)
#define MS 1000000ull
#define T0 1000000000000ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mt_timeline *new_tl(uint64_t interval)
{
	struct mt_timeline_opts o = {.start_ns = T0, .interval_ns = interval};
	struct mt_timeline *tl = mt_timeline__new(&o);

	assert_non_null(tl);
	return tl;
}

static void test_lazy_release(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	const struct mt_summary *s;

	(void)state;
	f_task(tl, 10, T0, MT_TASK_LAUNCH, 0);
	f_rss(tl, 10, T0, MT_RSS_START, 1 * MiB, -1);
	f_mmap(tl, 10, T0 + 1 * MS, 0x7f0000000000, 64 * MiB, RW, ANON);
	f_rss(tl, 10, T0 + 2 * MS, MT_RSS_FAULT, 65 * MiB, -1);
	f_madvise(tl, 10, T0 + 3 * MS, 0x7f0000000000, 32 * MiB, 8 /* FREE */, 0);
	f_rss(tl, 10, T0 + 500 * MS, MT_RSS_SAMPLE, 65 * MiB, 32 * MiB);
	assert_int_equal(mt_timeline__finish(tl), 0);
	s = mt_timeline__summary(tl);
	assert_int_equal(s->end.state[MT_RS_LAZY], 32 * MiB);
	assert_int_equal(s->end.state[MT_RS_COMMITTED], 32 * MiB);
	assert_int_equal(mt_gauges_rss(&s->end), 65 * MiB);
	assert_int_equal(s->end.lazyfree, 32 * MiB);
	assert_int_equal(s->advice[8].calls, 1);
	assert_int_equal(s->advice[8].bytes, 32 * MiB);
	assert_int_equal(s->end.free_calls, 1);
	assert_int_equal(s->released_fresh, 32 * MiB);
	assert_int_equal(s->rss_max, 65 * MiB);
	assert_true(has_finding(tl, "lazy_release", "MADV_FREE released 32.0 MiB"));
	assert_true(has_finding(tl, "lazyfree", "Rss - LazyFree = 33.0 MiB"));
	assert_true(has_finding(tl, "no_reclaim", NULL));
	/* not known to be Go: no Go words, and no allocator named without a record */
	assert_false(has_finding(tl, "advice", "GODEBUG"));
	assert_true(has_finding(tl, "advice", "does not say which runtime or allocator"));
	assert_false(has_finding(tl, "allocator", NULL));
	assert_false(has_finding(tl, "reclaim", NULL));
	/* finish is idempotent; no feeding afterwards */
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_int_equal(mt_timeline__feed(tl, &(struct mt_hdr){.type = MT_RSS, .t_ns = T0}),
			 -EINVAL);
	mt_timeline__free(tl);
}

static void test_rss_at_calls_and_reclaim(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	const struct mt_summary *s;

	(void)state;
	f_rss(tl, 10, T0, MT_RSS_START, 70 * MiB, -1);
	f_mmap(tl, 10, T0 + 1 * MS, 0x10000000, 64 * MiB, RW, ANON);
	f_madvise(tl, 10, T0 + 2 * MS, 0x10000000, 16 * MiB, 4 /* DONTNEED */, 0);
	f_rss(tl, 10, T0 + 2 * MS, MT_RSS_SYSCALL, 54 * MiB, -1);
	f_munmap(tl, 10, T0 + 3 * MS, 0x10000000 + 16 * MiB, 8 * MiB);
	f_rss(tl, 10, T0 + 3 * MS, MT_RSS_SYSCALL, 46 * MiB, -1);
	f_madvise(tl, 10, T0 + 4 * MS, 0x10000000 + 24 * MiB, 40 * MiB, 8 /* FREE */, 0);
	f_rss(tl, 10, T0 + 10 * MS, MT_RSS_RECLAIM, 30 * MiB, -1);
	f_rss(tl, 10, T0 + 20 * MS, MT_RSS_RECLAIM, 6 * MiB, -1);
	{
		/*
		 * a call from another thread, then one from the main thread; the
		 * rss record names the process, and carries the first call's time
		 */
		struct mt_madvise a = { 0 };
		struct mt_rss r = { 0 };

		hdr(&a.h, MT_MADVISE, sizeof(a), 10, T0 + 30 * MS);
		a.h.tid = 12;
		a.addr = 0x10000000 + 24 * MiB;
		a.len = 4 * MiB;
		a.advice = 4;
		a.target_pid = 10;
		assert_int_equal(mt_timeline__feed(tl, &a.h), 0);
		f_madvise(tl, 10, T0 + 31 * MS, 0x10000000 + 40 * MiB, 4096, 15, 0);
		hdr(&r.h, MT_RSS, sizeof(r), 10, T0 + 30 * MS);
		r.anon = 4 * MiB;
		r.reason = MT_RSS_SYSCALL;
		assert_int_equal(mt_timeline__feed(tl, &r.h), 0);
	}
	assert_int_equal(mt_timeline__finish(tl), 0);
	s = mt_timeline__summary(tl);
	assert_int_equal(s->rss_down[MT_CL_DONTNEED], 16 * MiB + 2 * MiB);
	assert_int_equal(s->rss_after[MT_CL_DONTNEED], 2);
	assert_int_equal(s->rss_down[MT_CL_MUNMAP], 8 * MiB);
	assert_int_equal(s->rss_after[MT_CL_FREE], 0);
	assert_int_equal(s->reclaim_records, 2);
	assert_int_equal(s->reclaimed_bytes, 40 * MiB);
	assert_int_equal(s->first_reclaim_ns, T0 + 10 * MS);
	assert_int_equal(s->end.reclaimed_bytes, 40 * MiB);
	assert_int_equal(s->end.state[MT_RS_EAGER], 20 * MiB);
	assert_int_equal(s->end.state[MT_RS_LAZY], 36 * MiB);
	assert_true(has_finding(tl, "rss_at_release", "RSS fell by 18.0 MiB at the MADV_DONTNEED"));
	assert_true(has_finding(tl, "rss_at_release", "RSS did not change at the MADV_FREE"));
	assert_true(has_finding(tl, "reclaim", "RSS fell by 40.0 MiB in 2 steps"));
	mt_timeline__free(tl);
}

static void test_processes(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	const struct mt_summary *s;
	struct mt_madvise pm = {0};

	(void)state;
	f_task(tl, 10, T0, MT_TASK_LAUNCH, 0);
	f_mmap(tl, 10, T0 + 1, 0x10000000, 8 * MiB, RW, ANON);
	f_rss(tl, 10, T0 + 1, MT_RSS_START, 8 * MiB, -1);
	f_task(tl, 10, T0 + 2, MT_TASK_FORK, 11);
	f_rss(tl, 11, T0 + 3, MT_RSS_START, 8 * MiB, -1);
	s = mt_timeline__summary(tl);
	/* the child's copy of the address space counts too while it lives */
	f_madvise(tl, 11, T0 + 4, 0x10000000, 2 * MiB, 8, 0);
	/* process_madvise from the parent on the child's memory */
	hdr(&pm.h, MT_MADVISE, sizeof(pm), 10, T0 + 5);
	pm.h.flags = MT_F_PROCESS_MADVISE;
	pm.addr = 0x10000000 + 2 * MiB;
	pm.len = 2 * MiB;
	pm.advice = 25; /* MADV_COLLAPSE: a refill */
	pm.ret = 2 * MiB;
	pm.target_pid = 11;
	assert_int_equal(mt_timeline__feed(tl, &pm.h), 0);
	f_task(tl, 11, T0 + 6, MT_TASK_EXIT, 0);
	/* records of an exited process are counted, not applied */
	f_madvise(tl, 11, T0 + 7, 0x10000000, 8 * MiB, 4, 0);
	f_madvise(tl, 10, T0 + 8, 0x10000000, 4 * MiB, 4, 0);
	f_rss(tl, 10, T0 + 9, MT_RSS_END, 4 * MiB, -1);
	f_task(tl, 10, T0 + 9, MT_TASK_EXIT, 0);
	assert_int_equal(mt_timeline__finish(tl), 0);
	s = mt_timeline__summary(tl);
	assert_int_equal(s->processes, 2);
	assert_int_equal(s->after_exit_records, 1);
	assert_int_equal(s->process_madvise_records, 1);
	/* the last process keeps its figures: the exit teardown explains nothing */
	assert_true(s->target_exited);
	assert_int_equal(s->target_pid, 10);
	assert_string_equal(s->target_comm, "prog");
	assert_int_equal(s->end.state[MT_RS_EAGER], 4 * MiB);
	assert_int_equal(s->end.state[MT_RS_COMMITTED], 4 * MiB);
	assert_int_equal(s->end.state[MT_RS_LAZY], 0);
	assert_int_equal(mt_gauges_rss(&s->end), 4 * MiB);
	/* the child's release was counted while it lived */
	assert_int_equal(s->released_fresh, 2 * MiB + 4 * MiB);
	mt_timeline__free(tl);
}

static void test_sampling_bounded(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	size_t n;
	const struct mt_gauges *g;
	uint64_t iv, max_rss = 0;

	(void)state;
	/* an hour of records every 3.7 ms, with one short RSS spike */
	for (uint64_t i = 0; i < 1000000; i++) {
		uint64_t t = T0 + i * 3700000ull;
		uint64_t rss = i == 123457 ? 900 * MiB : (1 + i % 7) * MiB;

		f_rss(tl, 10, t, MT_RSS_FAULT, rss, -1);
	}
	assert_int_equal(mt_timeline__finish(tl), 0);
	g = mt_timeline__samples(tl, &n);
	iv = mt_timeline__interval(tl);
	assert_true(n <= 4096);
	assert_true(n >= 4096 / 5);
	/* the automatic interval is 1, 2, 10, 20, 100 ... ms */
	assert_true(iv % MS == 0);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal((g[i].t_ns - T0) % iv, 0);
		assert_true(i == 0 || g[i].t_ns == g[i - 1].t_ns + iv);
		if (g[i].rss_peak > max_rss)
			max_rss = g[i].rss_peak;
	}
	/* the last sample is the end of the trace */
	assert_int_equal(g[n - 1].t_ns, T0 + 999999 * 3700000ull);
	/* a spike between samples survives as a peak */
	assert_int_equal(max_rss, 900 * MiB);
	assert_false(mt_timeline__interval_raised(tl));
	mt_timeline__free(tl);
}

static void test_fixed_interval(void **state)
{
	struct mt_timeline *tl = new_tl(250 * MS);
	size_t n;
	const struct mt_gauges *g;

	(void)state;
	f_rss(tl, 10, T0 + 100 * MS, MT_RSS_START, 1 * MiB, -1);
	f_rss(tl, 10, T0 + 600 * MS, MT_RSS_FAULT, 2 * MiB, -1);
	f_rss(tl, 10, T0 + 1100 * MS, MT_RSS_FAULT, 3 * MiB, -1);
	assert_int_equal(mt_timeline__finish(tl), 0);
	g = mt_timeline__samples(tl, &n);
	/* 0, 250, 500, 750, 1000 ms and the end */
	assert_int_equal(n, 6);
	assert_false(g[0].have_rss);
	assert_int_equal(mt_gauges_rss(&g[1]), 1 * MiB);
	assert_int_equal(mt_gauges_rss(&g[2]), 1 * MiB);
	assert_int_equal(mt_gauges_rss(&g[3]), 2 * MiB);
	assert_int_equal(g[4].t_ns, T0 + 1000 * MS);
	assert_int_equal(mt_gauges_rss(&g[5]), 3 * MiB);
	mt_timeline__free(tl);

	/* a fixed interval that would hold too many samples is raised */
	tl = new_tl(1000);
	f_rss(tl, 10, T0, MT_RSS_START, 1 * MiB, -1);
	f_rss(tl, 10, T0 + 1000 * MS, MT_RSS_FAULT, 2 * MiB, -1);
	assert_int_equal(mt_timeline__finish(tl), 0);
	g = mt_timeline__samples(tl, &n);
	assert_true(mt_timeline__interval_raised(tl));
	assert_true(n <= 65536);
	assert_int_equal(mt_gauges_rss(&g[n - 1]), 2 * MiB);
	mt_timeline__free(tl);
}

static void test_gauge_lines(void **state)
{
	struct mt_timeline_opts o = {.start_ns = T0, .gauges_interval_ns = 1000 * MS};
	struct mt_timeline *tl;
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *out = open_memstream(&buf, &len);
	struct mt_live_gauges lg = {.out = out};

	(void)state;
	assert_non_null(out);
	o.on_gauge = mt_live__gauge;
	o.gauge_ctx = &lg;
	tl = mt_timeline__new(&o);
	f_rss(tl, 10, T0 + 500 * MS, MT_RSS_START, 5 * MiB, -1);
	f_rss(tl, 10, T0 + 1500 * MS, MT_RSS_FAULT, 7 * MiB, -1); /* line for 1 s */
	mt_timeline__tick(tl, T0 + 2100 * MS);			  /* line for 2 s */
	mt_timeline__tick(tl, T0 + 9500 * MS);			  /* idle: one line, not seven */
	mt_timeline__free(tl);
	fclose(out);
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 4); /* header + 3 */
	assert_non_null(strstr(buf, "LazyFree"));
	assert_non_null(strstr(buf, "+1.000s"));
	assert_non_null(strstr(buf, "5.0 MiB"));
	assert_non_null(strstr(buf, "7.0 MiB"));
	free(buf);
}

static void test_top_regions(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	struct mt_mapping_info top[3];
	size_t n;

	(void)state;
	for (int i = 0; i < 5; i++) {
		uint64_t a = 0x10000000ull + (uint64_t)i * 0x1000000;

		f_mmap(tl, 10, T0 + 1, a, 4 * MiB, RW, ANON);
		f_madvise(tl, 10, T0 + 2, a, (uint64_t)(i + 1) * 512 * 1024, 4, 0);
	}
	/* the biggest one goes away, and must still be reported */
	f_munmap(tl, 10, T0 + 3, 0x10000000ull + 4 * 0x1000000, 4 * MiB);
	assert_int_equal(mt_timeline__finish(tl), 0);
	n = mt_timeline__top_regions(tl, top, 3);
	assert_int_equal(n, 3);
	assert_int_equal(top[0].released_eager, 5 * 512 * 1024);
	assert_true(top[0].unmapped);
	assert_int_equal(top[1].released_eager, 4 * 512 * 1024);
	assert_int_equal(top[2].released_eager, 3 * 512 * 1024);
	assert_int_equal(top[2].cur[MT_RS_EAGER], 3 * 512 * 1024);
	mt_timeline__free(tl);
}

static void test_empty_and_odd(void **state)
{
	struct mt_timeline *tl = new_tl(0);
	struct {
		struct mt_hdr h;
		uint64_t x;
	} odd;

	(void)state;
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_true(has_finding(tl, "empty", NULL));
	mt_timeline__free(tl);

	tl = new_tl(0);
	hdr(&odd.h, 77, sizeof(odd), 10, T0 + 5);
	assert_int_equal(mt_timeline__feed(tl, &odd.h), 0);
	/* the unwinder's records are known, only not the timeline's: not "unknown" */
	hdr(&odd.h, MT_USTACK, sizeof(odd), 10, T0 + 5);
	assert_int_equal(mt_timeline__feed(tl, &odd.h), 0);
	hdr(&odd.h, MT_MAPPING, sizeof(odd), 10, T0 + 5);
	assert_int_equal(mt_timeline__feed(tl, &odd.h), 0);
	/* out of order by a little: time does not run backwards */
	f_rss(tl, 10, T0 + 3, MT_RSS_START, 1 * MiB, -1);
	/* an unaligned address with ret 0 cannot have happened: counted, not applied */
	f_madvise(tl, 10, T0 + 6, 0x1001, 4096, 8, 0);
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_int_equal(mt_timeline__summary(tl)->unknown_records, 1);
	assert_int_equal(mt_timeline__summary(tl)->inconsistent, 1);
	assert_int_equal(mt_timeline__summary(tl)->end_ns, T0 + 6);
	assert_true(has_finding(tl, "unknown_records", NULL));
	mt_timeline__free(tl);
}

/* The verdict says what to change when the records tell the Go version and GODEBUG. */
static void test_go_facts(void **state)
{
	static const struct {
		const char *version, *godebug, *says;
	} cases[] = {
		{ "go1.19.8", "env.GODEBUG=gctrace=1,madvdontneed=0",
		  "GODEBUG=madvdontneed=0 is why it releases with MADV_FREE" },
		{ "go1.14.2", NULL, "run it with GODEBUG=madvdontneed=1" },
		{ "go1.21.0", "env.GODEBUG=", "which it is not" },
		{ "go1.10", NULL, "come from other code" },
		{ NULL, NULL, "does not say which runtime or allocator" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_timeline *tl = new_tl(0);
		const struct mt_summary *s;

		f_task(tl, 10, T0, MT_TASK_LAUNCH, 0);
		if (cases[i].version) {
			char kv[48];

			snprintf(kv, sizeof(kv), "go_version=%s", cases[i].version);
			f_info(tl, 10, T0 + 1, kv);
		}
		if (cases[i].godebug)
			f_info(tl, 10, T0 + 1, cases[i].godebug);
		f_info(tl, 11, T0 + 1, "go_version=go1.99"); /* another process: ignored */
		f_info(tl, 10, T0 + 1, "no equals sign");
		f_mmap(tl, 10, T0 + 2, 0x10000000, 8 * MiB, RW, ANON);
		f_madvise(tl, 10, T0 + 3, 0x10000000, 4 * MiB, 8, 0);
		assert_int_equal(mt_timeline__finish(tl), 0);
		s = mt_timeline__summary(tl);
		assert_string_equal(s->go_version, cases[i].version ? cases[i].version : "");
		assert_int_equal(s->godebug_known, cases[i].godebug != NULL);
		assert_int_equal(s->info_records, cases[i].version ? 3 + !!cases[i].godebug : 2);
		assert_true(has_finding(tl, "advice", cases[i].says));
		mt_timeline__free(tl);
	}
}

/*
 * What the Go runtime should release with (mt_go_release_advice: the Go
 * version and GODEBUG) against the advice the trace shows, and the
 * runtime's huge-page advice (mt_go_thp_advice) against what was seen.
 */
static void test_go_expectations(void **state)
{
	static const struct {
		const char *version;
		const char *env[3]; /* info records after go_version, in order */
		bool exec_between;  /* an exec after env, then go_version and env_read again */
		int advice;	    /* released with; 0: nothing released */
		int thp;	    /* huge-page advice also seen; 0: none */
		const char *kind, *says, *thp_says;
	} cases[] = {
		{"go1.19.8", {"env_read=1", "env.GODEBUG=madvdontneed=1"}, false, 8, 0,
		 "go_mismatch", "GODEBUG=\"madvdontneed=1\" is set, so go1.19.8 should release "
				"memory with MADV_DONTNEED, but MADV_FREE was observed", NULL},
		{"go1.19.8", {"env_read=1"}, false, 4, 14, "go_release",
		 "As expected for go1.19.8 with GODEBUG unset, the releases are MADV_DONTNEED",
		 "As expected for go1.19.8"},
		{"go1.14.2", {"env_read=1"}, false, 4, 0, "go_mismatch",
		 "MADV_DONTNEED was observed", NULL},
		{"go1.14.2", {"env.GODEBUG=gctrace=1,madvdontneed=1"}, false, 4, 0, "go_release",
		 "As expected", NULL},
		/* the exec'd program's environment has no GODEBUG: the old one no longer counts */
		{"go1.19.8", {"env_read=1", "env.GODEBUG=madvdontneed=0"}, true, 8, 0, "go_mismatch",
		 "with GODEBUG unset should release memory with MADV_DONTNEED", NULL},
		/* the environment read again: GODEBUG is gone */
		{"go1.19.8", {"env.GODEBUG=madvdontneed=0", "env_read=1"}, false, 4, 0, "go_release",
		 "GODEBUG unset", NULL},
		{"go1.19.8", {NULL}, false, 0, 0, "go_release",
		 "its GODEBUG was not recorded: taken as unset) should release memory with "
		 "MADV_DONTNEED", NULL},
		{"go1.21.2", {"env_read=1"}, false, 4, 15, "go_release", "As expected",
		 "Not expected from the runtime of go1.21.2"},
		{"go1.22.0", {"env_read=1"}, false, 4, 25, "go_release", "As expected",
		 "Not expected from the runtime of go1.22.0"},
		{"unknown", {"env_read=1"}, false, 8, 14, NULL, NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_timeline *tl = new_tl(0);
		char kv[48];
		size_t nf;
		const struct mt_finding *f;

		f_task(tl, 10, T0, MT_TASK_LAUNCH, 0);
		snprintf(kv, sizeof(kv), "go_version=%s", cases[i].version);
		f_info(tl, 10, T0 + 1, kv);
		for (size_t k = 0; k < 3 && cases[i].env[k]; k++)
			f_info(tl, 10, T0 + 1, cases[i].env[k]);
		if (cases[i].exec_between) {
			f_task(tl, 10, T0 + 1, MT_TASK_EXEC, 10);
			assert_string_equal(mt_timeline__summary(tl)->go_version, "");
			f_info(tl, 10, T0 + 1, kv);
			f_info(tl, 10, T0 + 1, "env_read=1");
		}
		f_mmap(tl, 10, T0 + 2, 0x10000000, 8 * MiB, RW, ANON);
		if (cases[i].advice)
			f_madvise(tl, 10, T0 + 3, 0x10000000, 4 * MiB, cases[i].advice, 0);
		if (cases[i].thp)
			f_madvise(tl, 10, T0 + 4, 0x10400000, 2 * MiB, cases[i].thp, 0);
		/* not before the verdict is made */
		assert_int_equal(mt_timeline__add_finding(tl, "releasers", "x"), -EINVAL);
		assert_int_equal(mt_timeline__finish(tl), 0);
		if (cases[i].kind) {
			if (!has_finding(tl, cases[i].kind, cases[i].says))
				fail_msg("case %zu: no %s finding saying %s", i, cases[i].kind,
					 cases[i].says);
			/* one or the other */
			assert_true(has_finding(tl, "go_release", NULL) !=
				    has_finding(tl, "go_mismatch", NULL));
		} else {
			assert_false(has_finding(tl, "go_release", NULL));
			assert_false(has_finding(tl, "go_mismatch", NULL));
		}
		if (cases[i].thp_says && !has_finding(tl, "hugepage", cases[i].thp_says))
			fail_msg("case %zu: no hugepage finding saying %s", i, cases[i].thp_says);
		assert_int_equal(mt_timeline__add_finding(tl, "releasers", "who released it"), 0);
		f = mt_timeline__findings(tl, &nf);
		assert_string_equal(f[nf - 1].kind, "releasers");
		assert_string_equal(f[nf - 1].text, "who released it");
		mt_timeline__free(tl);
	}
}

/* Garbage records (a damaged file the reader framed correctly) neither crash nor hang it. */
static void test_garbage(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	(void)state;
	for (int round = 0; round < 20; round++) {
		struct mt_timeline_opts o = { .interval_ns = round % 2 ? 1 : 0,
					      .on_gauge = NULL };
		struct mt_timeline *tl = mt_timeline__new(&o);
		size_t n;

		assert_non_null(tl);
		for (int i = 0; i < 5000; i++) {
			union {
				struct mt_hdr h;
				uint64_t w[32];
			} r;
			uint16_t type;

			for (int k = 0; k < 32; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				/* small values are the interesting ones for addresses and pids */
				r.w[k] = k % 3 ? x : x % 8 * 4096;
			}
			type = (uint16_t)(1 + r.w[1] % 12);
			r.h.type = type;
			r.h.size = type < 12 ? sizeof(r) : sizeof(r.h);
			r.h.pid = (uint32_t)(r.w[2] % 4);
			r.h.t_ns = i % 1000 == 999 ? UINT64_MAX - r.w[4] % 3 : r.w[4] % (1ull << 40);
			if (type == MT_INFO)
				((char *)&r)[sizeof(r) - 1] = '\0';
			if (mt_timeline__feed(tl, &r.h))
				break;
		}
		assert_int_equal(mt_timeline__finish(tl), 0);
		mt_timeline__samples(tl, &n);
		assert_true(n >= 1 && n <= 65536);
		mt_timeline__free(tl);
	}
}

static void test_fmt_bytes(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), 0), "0 B");
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), 1023), "1023 B");
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), 1024), "1.0 KiB");
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), 1536 * 1024), "1.5 MiB");
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), 1024 * MiB - 1), "1.0 GiB");
	assert_string_equal(mt_fmt_bytes(b, sizeof(b), UINT64_MAX), "16.0 EiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_release),
		cmocka_unit_test(test_rss_at_calls_and_reclaim),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_sampling_bounded),
		cmocka_unit_test(test_fixed_interval),
		cmocka_unit_test(test_gauge_lines),
		cmocka_unit_test(test_top_regions),
		cmocka_unit_test(test_empty_and_odd),
		cmocka_unit_test(test_go_facts),
		cmocka_unit_test(test_go_expectations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_fmt_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
