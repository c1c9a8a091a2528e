// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * churn: the benchmark loop. Each iteration maps 64 KiB of anonymous memory,
 * touches one page, gives it back with MADV_FREE or MADV_DONTNEED
 * (alternately) and unmaps it: three traced syscalls and a page fault, the
 * pattern of an allocator returning memory. With -g it calls getppid()
 * instead, a syscall no backend traces, to measure the cost a tracer adds to
 * syscalls it does not record (what a ptrace backend pays on every call).
 *
 * At the end it prints one JSON object: mode, iterations, elapsed_ns and
 * cpu_ns (its CPU time over the loop, the kernel's work for its calls
 * included: less moved than elapsed_ns by other programs on a busy machine).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHURN_LEN (64 * 1024)

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int churn_once(uint64_t i)
{
	char *p = mmap(NULL, CHURN_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	p[0] = 1;
	if (madvise(p, CHURN_LEN, (i & 1) ? MADV_DONTNEED : MADV_FREE))
		return -errno;
	if (munmap(p, CHURN_LEN))
		return -errno;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: churn [-n ITERATIONS | -s SECONDS] [-g] [-p MS]\n"
			"  -n N   run N iterations (default 100000)\n"
			"  -s S   run for S seconds instead\n"
			"  -g     call getppid() instead of mmap/madvise/munmap\n"
			"  -p MS  print \"progress <ms since start> <iterations>\" every MS ms\n");
}

int main(int argc, char **argv)
{
	uint64_t iterations = 100000, i, start, cpu0, now, deadline = 0, next_progress = 0;
	uint64_t progress_ns = 0;
	bool getppid_mode = false;
	int opt, err;

	while ((opt = getopt(argc, argv, "n:s:gp:h")) != -1) {
		switch (opt) {
		case 'n':
			iterations = strtoull(optarg, NULL, 0);
			break;
		case 's':
			deadline = (uint64_t)(atof(optarg) * 1e9);
			iterations = UINT64_MAX;
			break;
		case 'g':
			getppid_mode = true;
			break;
		case 'p':
			progress_ns = strtoull(optarg, NULL, 0) * 1000000ULL;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	/* line-buffered so a reader sees progress as it happens */
	setvbuf(stdout, NULL, _IOLBF, 0);

	start = now_ns();
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (deadline)
		deadline += start;
	next_progress = start + progress_ns;
	for (i = 0; i < iterations; i++) {
		if (getppid_mode) {
			getppid();
		} else {
			err = churn_once(i);
			if (err) {
				fprintf(stderr, "churn: iteration %" PRIu64 ": %s\n", i,
					strerror(-err));
				return 1;
			}
		}
		/* clock_gettime is a vDSO call, but keep it off most iterations anyway */
		if ((deadline || progress_ns) && (i & 63) == 0) {
			now = now_ns();
			if (progress_ns && now >= next_progress) {
				printf("progress %" PRIu64 " %" PRIu64 "\n",
				       (now - start) / 1000000, i);
				next_progress += progress_ns;
			}
			if (deadline && now >= deadline)
				break;
		}
	}
	now = now_ns();
	printf("{\"mode\":\"%s\",\"iterations\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64
	       ",\"cpu_ns\":%" PRIu64 "}\n",
	       getppid_mode ? "getppid" : "madvise", i, now - start,
	       clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
	return 0;
}
