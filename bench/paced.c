// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * paced: P processes that together make R traced calls per second for S
 * seconds (madvise MADV_FREE of one touched page, then a write that brings
 * it back), the steady load of bench/export-bench.py. Built by that script.
 * With "dontneed" last, MADV_DONTNEED instead: no LazyFree, the processes of
 * a fleet that never release lazily.
 *
 *	paced PROCS RATE SECONDS [dontneed]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void run(double rate, double seconds, int advice)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long n = (long)(rate * seconds), i;
	struct timespec t;

	if (p == MAP_FAILED)
		_exit(1);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; i < n; i++) {
		/* absolute deadlines: the rate holds whatever a call costs */
		long ns = t.tv_nsec + (long)(1e9 / rate);

		t.tv_sec += ns / 1000000000L;
		t.tv_nsec = ns % 1000000000L;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		p[0] = 1;
		madvise(p, 4096, advice);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int procs, i, st, rc = 0, advice;
	double rate, seconds;

	if (argc < 4 || argc > 5 || (procs = atoi(argv[1])) < 1 || (rate = atof(argv[2])) <= 0 ||
	    (seconds = atof(argv[3])) <= 0 || (argc == 5 && strcmp(argv[4], "dontneed"))) {
		fprintf(stderr, "usage: paced PROCS RATE SECONDS [dontneed]\n");
		return 2;
	}
	advice = argc == 5 ? MADV_DONTNEED : MADV_FREE;
	for (i = 0; i < procs; i++)
		if (fork() == 0)
			run(rate / procs, seconds, advice);
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	return rc;
}
