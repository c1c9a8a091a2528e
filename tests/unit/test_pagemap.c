// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pagemap reader against what this process does to its own pages: the
 * pages it wrote are present, the ones it never touched or dropped with
 * MADV_DONTNEED are absent, the ones it released with MADV_FREE stay present
 * (the kernel takes them only under pressure). And its bounds: the budget,
 * a process that is gone.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "pagemap.h"

#define NPAGES 64

static void test_own_pages(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t budget = UINT64_MAX;
	struct mt_page_counts c = { 0 };
	struct mt_pagemap *pm;
	char *p;

	(void)state;
	p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	/* no huge page may fill the untouched half behind our back */
	madvise(p, NPAGES * ps, MADV_NOHUGEPAGE);
	for (int i = 0; i < 32; i++)
		p[i * ps] = 1;
	assert_int_equal(madvise(p, 8 * ps, MADV_DONTNEED), 0);
	assert_int_equal(madvise(p + 8 * ps, 8 * ps, MADV_FREE), 0);

	pm = mt_pagemap__open(getpid());
	assert_non_null(pm);
	assert_int_equal(mt_pagemap__count(pm, (uint64_t)p, (uint64_t)p + NPAGES * ps, &budget, &c), 0);
	assert_int_equal(c.present, 24 * ps);
	assert_int_equal(c.absent, 40 * ps);
	assert_int_equal(c.swapped, 0);
	assert_int_equal(budget, UINT64_MAX - NPAGES);

	/* the budget stops a pass part-way and says so */
	budget = 10;
	c = (struct mt_page_counts){ 0 };
	assert_int_equal(mt_pagemap__count(pm, (uint64_t)p + 8 * ps, (uint64_t)p + NPAGES * ps,
					   &budget, &c),
			 -ENOSPC);
	assert_int_equal(budget, 0);
	assert_int_equal(c.present, 10 * ps);
	assert_int_equal(c.absent, 0);

	/* a new pass sees what changed since the last one */
	p[40 * ps] = 1;
	mt_pagemap__forget(pm);
	budget = UINT64_MAX;
	c = (struct mt_page_counts){ 0 };
	assert_int_equal(mt_pagemap__count(pm, (uint64_t)p, (uint64_t)p + NPAGES * ps, &budget, &c), 0);
	assert_int_equal(c.present, 25 * ps);

	/* ranges of one pass, one after the other, each counted on its own */
	mt_pagemap__forget(pm);
	for (int i = 0; i < NPAGES; i++) {
		struct mt_page_counts one = { 0 };

		budget = UINT64_MAX;
		assert_int_equal(mt_pagemap__count(pm, (uint64_t)p + i * ps,
						   (uint64_t)p + (i + 1) * ps, &budget, &one),
				 0);
		assert_int_equal(one.present, (i >= 8 && i < 32) || i == 40 ? ps : 0);
	}

	/* an empty range counts nothing */
	budget = 5;
	assert_int_equal(mt_pagemap__count(pm, (uint64_t)p, (uint64_t)p, &budget, &c), 0);
	assert_int_equal(budget, 5);
	mt_pagemap__free(pm);
	munmap(p, NPAGES * ps);
}

static void test_unmapped_is_absent(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t budget = UINT64_MAX;
	struct mt_page_counts c = { 0 };
	struct mt_pagemap *pm;
	char *p;

	(void)state;
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	assert_true(p != MAP_FAILED);
	munmap(p, 4 * ps);
	pm = mt_pagemap__open(getpid());
	assert_non_null(pm);
	assert_int_equal(mt_pagemap__count(pm, (uint64_t)p, (uint64_t)p + 4 * ps, &budget, &c), 0);
	assert_int_equal(c.present, 0);
	assert_int_equal(c.absent, 4 * ps);
	mt_pagemap__free(pm);
}

static void test_gone_process(void **state)
{
	uint64_t budget = UINT64_MAX;
	struct mt_page_counts c = { 0 };
	struct mt_pagemap *pm;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		pause();
		_exit(0);
	}
	pm = mt_pagemap__open(pid);
	assert_non_null(pm);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* its address space is gone: an error, not a pass that finds nothing */
	assert_true(mt_pagemap__count(pm, 0x400000, 0x500000, &budget, &c) < 0);
	assert_int_equal(c.present + c.absent + c.swapped, 0);
	mt_pagemap__free(pm);
	assert_null(mt_pagemap__open(pid));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_pages),
		cmocka_unit_test(test_unmapped_is_absent),
		cmocka_unit_test(test_gone_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
