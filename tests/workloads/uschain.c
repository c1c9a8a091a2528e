// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Releases through a known chain, for the unwinder's tests (built without
 * frame pointers): main -> worker -> pool_trim -> madvise(MADV_DONTNEED)
 * (through trim_pages, inlined into pool_trim),
 * and main -> release_big -> free() of a chunk above glibc's mmap threshold
 * (glibc unmaps it: munmap_chunk -> munmap). Records its own calls and
 * stacks (uscap.h) into argv[1]
 * ("-": records nothing, for a backend to record it). The lines marked CALL: are the calls the
 * test expects the report to name, with their source lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "uscap.h"

#define POOL (4u << 20)
#define BIG (8u << 20)

volatile unsigned long released;
char *pool;

/* inlined into pool_trim: with DWARF, a frame of its own */
static inline __attribute__((always_inline)) void trim_pages(char *p, size_t len)
{
	if (madvise(p, len, MADV_DONTNEED)) /* CALL:madvise */
		abort();
}

__attribute__((noinline, noclone)) void pool_trim(char *p, size_t len)
{
	trim_pages(p, len); /* CALL:trim_pages */
	released += len; /* no tail call: pool_trim keeps its frame */
}

__attribute__((noinline, noclone)) void worker(int round)
{
	memset(pool, round + 1, POOL);
	pool_trim(pool, POOL); /* CALL:pool_trim */
	released++;
}

__attribute__((noinline, noclone)) void release_big(char *p)
{
	free(p); /* CALL:free */
	released++;
}

int main(int argc, char **argv)
{
	char *big;

	if (argc != 2) {
		fprintf(stderr, "usage: uschain TRACE\n");
		return 2;
	}
	pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool == MAP_FAILED)
		return 1;
	uscap_start(argv[1]);
	for (int i = 0; i < 3; i++)
		worker(i); /* CALL:worker */
	big = malloc(BIG);
	if (!big)
		return 1;
	memset(big, 1, BIG);
	release_big(big); /* CALL:release_big */
	uscap_stop(argv[1]);
	printf("%lu\n", released);
	/*
	 * recorded by a backend: live a little longer than the recorder's first
	 * readings of its mappings (under bpf nothing holds a program at its
	 * exit; test_sec_shortlived is about programs that do not wait)
	 */
	if (!strcmp(argv[1], "-"))
		usleep(100 * 1000);
	return 0;
}
