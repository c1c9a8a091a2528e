// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Release calls from many distinct stacks, for the unwinder's benchmark
 * (bench/ustack-bench.sh): each call goes down a path of two mutually
 * recursive functions chosen by the bits of its number (depth 4 to 19),
 * then releases by madvise, or through glibc's free of an mmapped block.
 * Built -O2 -fomit-frame-pointer; records itself (tests/workloads/uscap.h).
 *
 *	usbench CALLS TRACE
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "uscap.h"

volatile unsigned long sink;
static char *area;

__attribute__((noinline, noclone)) void leaf_release(unsigned i)
{
	if (i % 4 == 3) {
		char *p = malloc(256 << 10);

		if (!p)
			abort();
		p[0] = 1;
		free(p);
	} else if (madvise(area, 4096, MADV_DONTNEED)) {
		abort();
	}
	sink++;
}

void walk_b(unsigned i, unsigned bits, int depth);

__attribute__((noinline, noclone)) void walk_a(unsigned i, unsigned bits, int depth)
{
	if (!depth)
		leaf_release(i);
	else if (bits & 1)
		walk_b(i, bits >> 1, depth - 1);
	else
		walk_a(i, bits >> 1, depth - 1);
	sink++;
}

__attribute__((noinline, noclone)) void walk_b(unsigned i, unsigned bits, int depth)
{
	if (!depth)
		leaf_release(i);
	else if (bits & 1)
		walk_a(i, bits >> 1, depth - 1);
	else
		walk_b(i, bits >> 1, depth - 1);
	sink += 2;
}

int main(int argc, char **argv)
{
	unsigned n;

	if (argc != 3) {
		fprintf(stderr, "usage: usbench CALLS TRACE\n");
		return 2;
	}
	n = (unsigned)strtoul(argv[1], NULL, 0);
	area = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 1;
	mallopt(M_MMAP_THRESHOLD, 128 << 10); /* every free of 256 KiB unmaps */
	uscap_start(argv[2]);
	for (unsigned i = 0; i < n; i++)
		walk_a(i, i * 2654435761u, 4 + (int)(i % 16));
	uscap_stop(argv[2]);
	return 0;
}
