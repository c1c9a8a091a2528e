// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * allocfree: what a C program does to its allocator, in a known pattern, so
 * that the allocator's own way of giving memory back shows in a trace:
 * ROUNDS rounds of malloc'ing 64 KiB..4 MiB blocks (every page written),
 * freeing them all; then, with -t, malloc_trim(0) when the allocator is
 * glibc's; then idle for -i SECONDS (decay and purge timers run out), with
 * one small malloc/free per 100 ms so that an allocator that purges only
 * when called into (jemalloc without a background thread) gets the chance.
 * Prints one line: "allocfree: N blocks, B bytes" on stdout.
 *
 *   allocfree [-r ROUNDS] [-i SECONDS] [-t]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NBLOCKS 48

int main(int argc, char **argv)
{
	static void *blocks[NBLOCKS];
	unsigned long long total = 0;
	int rounds = 3, idle_s = 3, trim = 0, c;
	struct timespec tick = { 0, 100 * 1000000L };

	while ((c = getopt(argc, argv, "r:i:t")) != -1) {
		switch (c) {
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'i':
			idle_s = atoi(optarg);
			break;
		case 't':
			trim = 1;
			break;
		default:
			fprintf(stderr, "usage: allocfree [-r ROUNDS] [-i SECONDS] [-t]\n");
			return 2;
		}
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < NBLOCKS; i++) {
			/* 64 KiB, 128 KiB ... 4 MiB, again: both sides of every mmap threshold */
			size_t sz = (size_t)64 << 10 << (i % 7);

			blocks[i] = malloc(sz);
			if (!blocks[i]) {
				perror("malloc");
				return 1;
			}
			memset(blocks[i], r + 1, sz);
			total += sz;
		}
		for (int i = 0; i < NBLOCKS; i++)
			free(blocks[i]);
	}
	if (trim) {
		/* glibc's only: other allocators do not define it (or it does nothing) */
		int (*mt)(size_t) = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");

		if (mt)
			mt(0);
	}
	printf("allocfree: %d blocks, %llu bytes\n", NBLOCKS * rounds, total);
	fflush(stdout);
	for (int i = 0; i < idle_s * 10; i++) {
		free(malloc(64));
		nanosleep(&tick, NULL);
	}
	return 0;
}
