// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The residency pass as the recorder makes it, at the size the
 * reconciliation promises: a 4 GiB heap (this process's own, every other
 * page written) cut into 100,000 ranges, every other one released with
 * MADV_FREE, as a Go heap released span by span. The model learns it from
 * records, as the recorder's timeline does; then, per pass, what the drain
 * thread pays (copying the ranges out of the model: mt_ranges__copy) and
 * what the worker thread pays (the pagemap reads, recworker.c), medians.
 * Usage: resident_bench [GiB] [ranges] [passes]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "madvtrace/advice.h"
#include "handoff.h"
#include "procfs.h"
#include "ranges.h"
#include "recworker.h"
#include "timeline.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void count(void *ctx, const struct mt_hdr *rec)
{
	struct mt_resident *last = ctx;

	if (rec->type == MT_RESIDENT)
		memcpy(last, rec, sizeof(*last));
}

int main(int argc, char **argv)
{
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 4;
	uint64_t nranges = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000;
	int passes = argc > 3 ? atoi(argv[3]) : 7;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), size = gib << 30, step, *tcopy;
	struct mt_timeline_opts to = { .page_size = (uint32_t)ps, .target_pid = (uint32_t)getpid() };
	struct mt_recworker_opts wo = { 0 };
	struct mt_recworker_stats st;
	struct mt_resident last = { 0 };
	struct mt_handoff q;
	struct mt_timeline *tl;
	struct mt_recworker *w;
	struct mt_mmap mm;
	struct mt_madvise ma;
	uint32_t pid = (uint32_t)getpid();
	size_t n = 0;
	char *p;

	if (!nranges || passes < 1 || !gib) {
		fprintf(stderr, "usage: resident_bench [GiB] [ranges] [passes]\n");
		return 2;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	tl = mt_timeline__new(&to);
	tcopy = calloc((size_t)passes, sizeof(*tcopy));
	if (p == MAP_FAILED || !tl || !tcopy) {
		perror("resident_bench");
		return 1;
	}
	for (uint64_t off = 0; off < size; off += 2 * ps)
		p[off] = 1;
	mt_record_init(&mm.h, MT_MMAP, sizeof(mm), pid, pid, mt_now_ns());
	mm.addr = 0;
	mm.len = size;
	mm.ret = (int64_t)(uintptr_t)p;
	mm.prot = PROT_READ | PROT_WRITE;
	mm.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	mm.fd = -1;
	mt_timeline__feed(tl, &mm.h);
	step = size / nranges / ps * ps;
	for (uint64_t r = 0; r < nranges; r += 2) {
		char *a = p + r * step;

		madvise(a, step, MADV_FREE);
		mt_record_init(&ma.h, MT_MADVISE, sizeof(ma), pid, pid, mt_now_ns());
		ma.addr = (uint64_t)(uintptr_t)a;
		ma.len = step;
		ma.ret = 0;
		ma.advice = MT_MADV_FREE;
		ma.target_pid = pid;
		mt_timeline__feed(tl, &ma.h);
	}
	mt_handoff__init(&q);
	wo.out = &q;
	w = mt_recworker__new(&wo);
	if (!w || mt_recworker__start(w)) {
		perror("resident_bench: worker");
		return 1;
	}
	for (int i = 0; i < passes; i++) {
		struct mt_state_range *v;
		uint64_t t0 = mt_now_ns();

		if (mt_ranges__copy(tl, pid, &v, &n)) {
			fprintf(stderr, "resident_bench: the model has no ranges\n");
			return 1;
		}
		tcopy[i] = mt_now_ns() - t0;
		mt_recworker__pass(w, getpid(), (struct mt_rw_range *)v, n);
		/* one pass at a time, as samples come a second apart */
		while (!mt_handoff__pending(&q))
			usleep(1000);
		mt_handoff__drain(&q, count, &last);
	}
	mt_recworker__stats(w, &st);
	qsort(tcopy, (size_t)passes, sizeof(*tcopy), cmp_u64);
	printf("residency pass: %llu GiB in %zu ranges (%u examined%s): copying the ranges out of "
	       "the model (drain thread) median %.2f ms, max %.2f; the pagemap pass (worker "
	       "thread) mean %.1f ms, max %.1f, over %d passes; lazy_present %llu MiB, "
	       "committed_present %llu MiB\n",
	       (unsigned long long)gib, n, last.ranges,
	       last.flags & MT_RES_CAPPED ? ", capped" : "", tcopy[passes / 2] / 1e6,
	       tcopy[passes - 1] / 1e6, st.passes ? st.pass_ns_total / 1e6 / st.passes : 0.0,
	       st.pass_ns_max / 1e6, passes, (unsigned long long)(last.lazy_present >> 20),
	       (unsigned long long)(last.committed_present >> 20));
	mt_recworker__free(w);
	mt_handoff__fini(&q);
	mt_timeline__free(tl);
	munmap(p, size);
	free(tcopy);
	return 0;
}
