// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A cache that fills and evicts large blocks through malloc and free, for
 * the allocator attribution test: run as is (glibc) and under each of
 * Debian's jemalloc, tcmalloc and mimalloc by LD_PRELOAD, told to give
 * memory back at once. Whatever releases memory does so under
 * main -> cache_evict -> free. Records itself (uscap.h) into argv[1]
 * ("-": records nothing, for a backend to record it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uscap.h"

#define BLOCKS 32
#define BLOCK (1u << 20)
#define ROUNDS 4

volatile unsigned long evicted;
static char *blocks[BLOCKS];

__attribute__((noinline, noclone)) void cache_fill(int round)
{
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		if (!blocks[i])
			abort();
		memset(blocks[i], round + i, BLOCK);
	}
}

__attribute__((noinline, noclone)) void cache_evict(void)
{
	for (int i = 0; i < BLOCKS; i++) {
		free(blocks[i]); /* CALL:free */
		blocks[i] = NULL;
	}
	evicted++;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: usalloc TRACE\n");
		return 2;
	}
	uscap_start(argv[1]);
	for (int r = 0; r < ROUNDS; r++) {
		cache_fill(r);
		cache_evict(); /* CALL:cache_evict */
	}
	uscap_stop(argv[1]);
	printf("%lu\n", evicted);
	return 0;
}
