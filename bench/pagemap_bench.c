// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pagemap pass the recorder makes at each sample, at the size the
 * reconciliation promises: a 4 GiB heap cut into 100,000 ranges (as a Go
 * heap released span by span), half of its pages touched. Prints the
 * median time of a pass over all ranges; run it while nothing else loads
 * the machine.
 * Usage: pagemap_bench [GiB] [ranges] [passes]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "pagemap.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 4;
	uint64_t nranges = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000;
	int passes = argc > 3 ? atoi(argv[3]) : 7;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), size = gib << 30, step, *t;
	struct mt_page_counts c;
	struct mt_pagemap *pm;
	char *p;

	if (!nranges || passes < 1 || !gib) {
		fprintf(stderr, "usage: pagemap_bench [GiB] [ranges] [passes]\n");
		return 2;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* every other page written: the kernel's page tables are as full as a real heap's */
	for (uint64_t off = 0; off < size; off += 2 * ps)
		p[off] = 1;
	step = size / nranges / ps * ps;
	pm = mt_pagemap__open(getpid());
	t = calloc((size_t)passes, sizeof(*t));
	if (!pm || !t || !step) {
		perror("pagemap");
		return 1;
	}
	for (int i = 0; i < passes; i++) {
		uint64_t budget = UINT64_MAX, t0 = now_ns();

		c = (struct mt_page_counts){ 0 };
		mt_pagemap__forget(pm);
		for (uint64_t r = 0; r < nranges; r++)
			mt_pagemap__count(pm, (uint64_t)p + r * step, (uint64_t)p + (r + 1) * step,
					  &budget, &c);
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)passes, sizeof(*t), cmp_u64);
	printf("pagemap pass: %llu GiB in %llu ranges: median %.1f ms (min %.1f, max %.1f) over %d "
	       "passes; present %llu MiB, absent %llu MiB\n",
	       (unsigned long long)gib, (unsigned long long)nranges, t[passes / 2] / 1e6, t[0] / 1e6,
	       t[passes - 1] / 1e6, passes, (unsigned long long)(c.present >> 20),
	       (unsigned long long)(c.absent >> 20));
	mt_pagemap__free(pm);
	munmap(p, size);
	return 0;
}
