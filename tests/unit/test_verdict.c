// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verdict per process (model/pview.c, verdict.c): which processes it
 * explains and in which order, whose end figures, what a blind backend
 * cannot conclude, and what an allocator's settings let it say
 * (alloc_verdict.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "timeline.h"
#include "tl_feed.h"

#define MiB (1024ull * 1024)
#define MS 1000000ull
#define T0 1000000000000ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define FREE 8
#define DONTNEED 4

static struct mt_timeline *tl_of(uint32_t backend)
{
	struct mt_timeline_opts o = {.start_ns = T0, .backend = backend};
	struct mt_timeline *tl = mt_timeline__new(&o);

	assert_non_null(tl);
	return tl;
}

/* Where a finding says words (its index), or -1. */
static int finding_at(const struct mt_timeline *tl, const char *words)
{
	size_t n;
	const struct mt_finding *f = mt_timeline__findings(tl, &n);

	for (size_t i = 0; i < n; i++)
		if (strstr(f[i].text, words))
			return (int)i;
	return -1;
}

/* A process that maps 32 MiB and releases len of it with advice. */
static void worker(struct mt_timeline *tl, uint32_t pid, uint64_t t, uint64_t len, int advice)
{
	uint64_t a = 0x7f0000000000ull + (uint64_t)pid * 0x100000000ull;

	f_rss(tl, pid, t, MT_RSS_START, 2 * MiB, -1);
	f_mmap(tl, pid, t + 1, a, 32 * MiB, RW, ANON);
	f_rss(tl, pid, t + 2, MT_RSS_FAULT, 34 * MiB, -1);
	f_madvise(tl, pid, t + 3, a, len, advice, 0);
}

/* A parent forks two children releasing 4 and 24 MiB: the one that released more comes first. */
static void test_order(void **state)
{
	struct mt_timeline *tl = tl_of(MT_BACKEND_BPF);
	size_t n;
	const struct mt_finding *f;
	int big, small;

	(void)state;
	f_task(tl, 10, T0, MT_TASK_LAUNCH, 0);
	f_rss(tl, 10, T0, MT_RSS_START, 3 * MiB, -1);
	f_task(tl, 10, T0 + 1, MT_TASK_FORK, 11);
	f_task(tl, 10, T0 + 2, MT_TASK_FORK, 12);
	worker(tl, 11, T0 + 10, 4 * MiB, DONTNEED);
	worker(tl, 12, T0 + 20, 24 * MiB, FREE);
	assert_int_equal(mt_timeline__finish(tl), 0);
	big = finding_at(tl, "pid 12 (prog): MADV_FREE released 24.0 MiB");
	small = finding_at(tl, "pid 11 (prog): MADV_DONTNEED released 4.0 MiB");
	assert_true(big > 0 && small > big);
	assert_true(finding_at(tl, "pid 10 (prog) started 2 processes and released nothing") > 0);
	assert_true(finding_at(tl, "pid 10 (prog): ") < 0); /* the launcher: one line */
	f = mt_timeline__findings(tl, &n);
	assert_int_equal(f[big].pid, 12);
	assert_int_equal(f[0].pid, 0); /* the scope is about the trace */
	mt_timeline__free(tl);
}

/*
 * The main process's end figures are its own last rss record, even when a
 * process without any outlives it (the summed gauges then end at 0).
 */
static void test_own_end(void **state)
{
	struct mt_timeline *tl = tl_of(MT_BACKEND_BPF);

	(void)state;
	f_task(tl, 20, T0, MT_TASK_LAUNCH, 0);
	f_task(tl, 20, T0 + 1, MT_TASK_FORK, 21);
	worker(tl, 20, T0 + 10, 8 * MiB, DONTNEED);
	f_rss(tl, 20, T0 + 50 * MS, MT_RSS_END, 108 * MiB, -1);
	f_task(tl, 20, T0 + 50 * MS, MT_TASK_EXIT, 0);
	f_task(tl, 21, T0 + 60 * MS, MT_TASK_EXIT, 0);
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_int_equal(mt_gauges_rss(&mt_timeline__summary(tl)->end), 0);
	assert_true(finding_at(tl, "RSS was 108.0 MiB (anon 108.0 MiB") > 0);
	assert_true(finding_at(tl, "At the end (+0.050s, just before the exit teardown)") > 0);
	assert_true(finding_at(tl, "RSS was 0 B") < 0);
	mt_timeline__free(tl);
}

/* A Go program under the preload agent: no release seen is not no release, unless it caught. */
static void test_blind(void **state)
{
	static const struct {
		uint32_t backend;
		const char *catch_kv;
		bool blind;
	} cases[] = {
	    {MT_BACKEND_PRELOAD, "agent.catch=a Go program that is not position-independent", true},
	    {MT_BACKEND_PRELOAD, NULL, true},		/* not said: not known */
	    {0, "agent.catch=MADVTRACE_CATCH=0", true}, /* a live session: the agent speaks */
	    {MT_BACKEND_PRELOAD, "agent.catch=on", false},
	    {MT_BACKEND_BPF, NULL, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_timeline *tl = tl_of(cases[i].backend);

		f_task(tl, 30, T0, MT_TASK_EXEC, 0);
		if (cases[i].catch_kv)
			f_info(tl, 30, T0, cases[i].catch_kv);
		f_info(tl, 30, T0, "go_version=go1.21.4");
		f_rss(tl, 30, T0 + 1, MT_RSS_START, 60 * MiB, -1);
		f_rss(tl, 30, T0 + 2, MT_RSS_RECLAIM, 40 * MiB, -1);
		assert_int_equal(mt_timeline__finish(tl), 0);
		assert_int_equal(finding_at(tl, "No memory was released") < 0, cases[i].blind);
		assert_int_equal(finding_at(tl, "cannot tell whether there was none") >= 0,
				 cases[i].blind);
		assert_int_equal(finding_at(tl, "--backend=bpf") >= 0, cases[i].blind);
		assert_int_equal(finding_at(tl, "Reclaim seen") < 0, cases[i].blind);
		mt_timeline__free(tl);
	}
}

/* Events lost after a process exited cannot hide its calls; lost before, they can. */
static void test_lost(void **state)
{
	for (int after = 0; after < 2; after++) {
		struct mt_timeline *tl = tl_of(MT_BACKEND_BPF);
		struct mt_lost l = {0};

		(void)state;
		f_task(tl, 40, T0, MT_TASK_LAUNCH, 0);
		f_rss(tl, 40, T0, MT_RSS_START, 2 * MiB, -1);
		hdr(&l.h, MT_LOST, sizeof(l), 0, after ? T0 + 20 : T0 + 5);
		l.count = 3;
		if (!after)
			assert_int_equal(mt_timeline__feed(tl, &l.h), 0);
		f_task(tl, 40, T0 + 10, MT_TASK_EXIT, 0);
		if (after)
			assert_int_equal(mt_timeline__feed(tl, &l.h), 0);
		assert_int_equal(mt_timeline__finish(tl), 0);
		assert_int_equal(
		    finding_at(tl, "events were lost: releases may be among them") >= 0, !after);
		assert_int_equal(finding_at(tl, "No memory was released with madvise") >= 0, after);
		mt_timeline__free(tl);
	}
}

/* An allocator's settings against what the calls show; nothing without an allocator record. */
static void test_allocator(void **state)
{
	static const struct {
		const char *alloc, *version, *env;
		int advice;
		const char *says;
	} cases[] = {
	    {"jemalloc", "5.3.0", "env.MALLOC_CONF=muzzy_decay_ms:0", FREE,
	     "Not as expected: muzzy_decay_ms is 0 (MALLOC_CONF)"},
	    {"jemalloc", "5.3.0", "env.JE_MALLOC_CONF=dirty_decay_ms:-1", DONTNEED,
	     "JE_MALLOC_CONF sets dirty_decay_ms:-1 (never purge), yet memory was released"},
	    {"glibc", "2.36", "env.GLIBC_TUNABLES=glibc.malloc.trim_threshold=65536", FREE,
	     "cannot be glibc's malloc"},
	    {"glibc", "2.36", "env.GLIBC_TUNABLES=glibc.malloc.trim_threshold=65536", DONTNEED,
	     "No brk trim was seen although glibc.malloc.trim_threshold=65536"},
	    {"tcmalloc", NULL, "env.TCMALLOC_RELEASE_RATE=0", DONTNEED,
	     "Not as expected from TCMALLOC_RELEASE_RATE=0"},
	    {"mimalloc", "1.8.2", NULL, DONTNEED,
	     "Not as expected: mimalloc 1.x purges with MADV_FREE"},
	    {"mimalloc", "2.1.2", "env.MIMALLOC_PURGE_DECOMMITS=0", FREE,
	     "As expected with MIMALLOC_PURGE_DECOMMITS=0: the purges are MADV_FREE"},
	    {NULL, NULL, NULL, FREE, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_timeline *tl = tl_of(MT_BACKEND_BPF);
		char kv[96];

		f_task(tl, 50, T0, MT_TASK_EXEC, 0);
		if (cases[i].alloc) {
			snprintf(kv, sizeof(kv), "allocator=%s", cases[i].alloc);
			f_info(tl, 50, T0, kv);
		}
		if (cases[i].version) {
			snprintf(kv, sizeof(kv), "allocator_version=%s", cases[i].version);
			f_info(tl, 50, T0, kv);
		}
		f_info(tl, 50, T0, "env_read=1");
		if (cases[i].env)
			f_info(tl, 50, T0, cases[i].env);
		worker(tl, 50, T0 + 10, 8 * MiB, cases[i].advice);
		assert_int_equal(mt_timeline__finish(tl), 0);
		if (cases[i].says)
			assert_true(finding_at(tl, cases[i].says) >= 0);
		else
			assert_true(finding_at(tl, "allocates with") < 0);
		assert_true(finding_at(tl, "GODEBUG") < 0);
		mt_timeline__free(tl);
	}
}

/* An exec forgets the facts of the program before it. */
static void test_exec_forgets(void **state)
{
	struct mt_timeline *tl = tl_of(MT_BACKEND_BPF);

	(void)state;
	f_task(tl, 60, T0, MT_TASK_LAUNCH, 0);
	f_info(tl, 60, T0, "allocator=jemalloc");
	f_info(tl, 60, T0, "go_version=go1.14.2");
	f_task(tl, 60, T0 + 1, MT_TASK_EXEC, 0);
	worker(tl, 60, T0 + 10, 8 * MiB, FREE);
	assert_int_equal(mt_timeline__finish(tl), 0);
	assert_true(finding_at(tl, "allocates with") < 0);
	assert_true(finding_at(tl, "Go program") < 0);
	mt_timeline__free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),     cmocka_unit_test(test_own_end),
	    cmocka_unit_test(test_blind),     cmocka_unit_test(test_lost),
	    cmocka_unit_test(test_allocator), cmocka_unit_test(test_exec_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
