// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * burst: the loss tests' workload. It makes a known number of traced calls
 * as fast as it can, each one record and nothing else: a zero-length
 * madvise(BURST_ADDR + thread * page, 0, MADV_NORMAL), which succeeds without
 * touching memory, so no rss record comes with it. A recording of it holds
 * exactly one madvise record per call at those addresses, or counts the call
 * in a lost record: recorded + lost == the calls it made.
 *
 *   -n N   calls per thread (default 100000)
 *   -t N   threads making calls (default 1: the main thread)
 *   -w S   print "ready PID" on stderr, then wait for SIGUSR1 (at most S s);
 *          while waiting it calls madvise(PROBE, 0, MADV_NORMAL) every 50 ms
 *   -D     make the calls in a pthread key destructor of each thread (so,
 *          under the preload agent, after the agent's own destructor gave the
 *          thread's record buffer back: its records go through the agent's
 *          shared ring). Each thread first makes one call in its body.
 *
 * Prints "done" on stderr when every call is made, then one JSON object on
 * stdout: pid, tids, calls (the total), per_thread, addr, page, the calls
 * that did not return 0 (failed) and elapsed_ns (from the end of the wait,
 * or the start, to the last call).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BURST_ADDR 0x5b000000UL
#define BURST_PROBE 0x5a1d0000UL
#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	uint64_t failed;
};

static long page;
static uint64_t per_thread = 100000;
static bool in_destructor;
static pthread_key_t key;
static struct worker workers[MAX_THREADS];
static int nthreads = 1;
static pthread_barrier_t barrier;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void calls(struct worker *w, uint64_t n)
{
	unsigned long addr = BURST_ADDR + (unsigned long)w->index * (unsigned long)page;

	for (uint64_t i = 0; i < n; i++) {
		/* glibc's madvise: what a program calls, and what the preload agent hooks */
		if (madvise((void *)addr, 0, MADV_NORMAL))
			w->failed++;
	}
}

static void destructor(void *v)
{
	calls(v, per_thread - 1);
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&barrier);
	if (!in_destructor) {
		calls(w, per_thread);
		return NULL;
	}
	/* one call here: the agent gives this thread its buffer (and its own destructor) */
	calls(w, 1);
	pthread_setspecific(key, w);
	return NULL;
}

int main(int argc, char **argv)
{
	double wait_s = -1;
	sigset_t usr1;
	uint64_t t0, t1, failed = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:w:Dh")) != -1) {
		switch (opt) {
		case 'n':
			per_thread = strtoull(optarg, NULL, 0);
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'w':
			wait_s = atof(optarg);
			break;
		case 'D':
			in_destructor = true;
			break;
		default:
			fprintf(stderr, "usage: burst [-n CALLS] [-t THREADS] [-w SECONDS] [-D]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || per_thread < 1 || optind != argc) {
		fprintf(stderr, "burst: bad arguments\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	/* created after the agent's (its constructor ran first): its destructor runs later */
	if (pthread_key_create(&key, destructor) ||
	    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1)) {
		fprintf(stderr, "burst: cannot set up threads\n");
		return 1;
	}
	if (wait_s >= 0) {
		const struct timespec step = { 0, 50 * 1000 * 1000 };
		uint64_t end = mono_ns() + (uint64_t)(wait_s * 1e9);

		fprintf(stderr, "ready %d\n", (int)getpid());
		do {
			syscall(SYS_madvise, BURST_PROBE, 0UL, MADV_NORMAL);
			if (sigtimedwait(&usr1, NULL, &step) == SIGUSR1)
				break;
		} while (mono_ns() < end);
	}
	t0 = mono_ns();
	for (int t = 0; t < nthreads; t++) {
		workers[t].index = t;
		if (pthread_create(&workers[t].thread, NULL, thread_main, &workers[t])) {
			fprintf(stderr, "burst: pthread_create failed\n");
			_exit(1);
		}
	}
	pthread_barrier_wait(&barrier);
	for (int t = 0; t < nthreads; t++) {
		pthread_join(workers[t].thread, NULL);
		failed += workers[t].failed;
	}
	t1 = mono_ns();
	fprintf(stderr, "done\n");
	printf("{\"pid\":%d,\"tids\":[", (int)getpid());
	for (int t = 0; t < nthreads; t++)
		printf("%s%d", t ? "," : "", (int)workers[t].tid);
	printf("],\"threads\":%d,\"per_thread\":%" PRIu64 ",\"calls\":%" PRIu64
	       ",\"addr\":%lu,\"page\":%ld,\"failed\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 "}\n",
	       nthreads, per_thread, per_thread * (uint64_t)nthreads, BURST_ADDR, page, failed,
	       t1 - t0);
	return failed ? 1 : 0;
}
