// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rssdrop: touches N MiB of anonymous memory, then gives the first half back
 * with MADV_DONTNEED and the second half with MADV_FREE, pausing between the
 * steps. Around each madvise it reads its own RssAnon from /proc/self/status
 * (the oracle a recording's rss records are checked against): after
 * MADV_DONTNEED it drops by the half's size at once, after MADV_FREE it does
 * not (the pages stay resident, counted as LazyFree, until memory pressure).
 *
 * After each pause it makes a checkpoint: maps, touches and unmaps 1 MiB.
 * The munmap changes RSS inside a traced call, so a recorder emits an rss
 * record right there: the settled value of the pause is in the trace
 * whatever its rate limiting did with the page faults before. (1 MiB, not
 * a page: the kernel's RSS counters are per-CPU and fold into the total,
 * which is what rss_stat and /proc report, only in batches of 32+ pages.)
 *
 * With -k MIB it also maps and writes MIB of memory it keeps to the end (so
 * smaps_rollup's Rss stays well above its LazyFree after the MADV_FREE).
 *
 * Prints "touched BYTES" when the memory is touched, and one JSON object at
 * the end: the steps with the address, length and RssAnon before and after,
 * and after the MADV_FREE step, smaps_rollup's LazyFree and Rss.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct step {
	const char *advice_name;
	int advice;
	uint64_t addr, len;
	int64_t anon_before, anon_after, lazyfree_after, smaps_rss_after;
};

/*
 * A "Key:   123 kB" field of a /proc file, in bytes, or -1. Plain read(): no
 * stdio, so reading it makes no memory syscall of its own.
 */
static int64_t proc_field(const char *path, const char *key)
{
	char buf[8192];
	size_t klen = strlen(key);
	ssize_t n, got = 0;
	char *line;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return (int64_t)strtoll(line + klen + 1, NULL, 10) * 1024;
	}
	return -1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define CHECKPOINT_LEN (1 << 20)

static void checkpoint(void)
{
	char *p = mmap(NULL, CHECKPOINT_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return;
	memset(p, 1, CHECKPOINT_LEN);
	munmap(p, CHECKPOINT_LEN);
}

int main(int argc, char **argv)
{
	long mib = 64, pause = 500, keep = 0;
	uint64_t len, half;
	struct step steps[2] = {
		{ .advice_name = "MADV_DONTNEED", .advice = MADV_DONTNEED },
		{ .advice_name = "MADV_FREE", .advice = MADV_FREE },
	};
	char *p, *kept = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "m:p:k:h")) != -1) {
		switch (opt) {
		case 'm':
			mib = atol(optarg);
			break;
		case 'p':
			pause = atol(optarg);
			break;
		case 'k':
			keep = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: rssdrop [-m MIB] [-p PAUSE_MS] [-k KEEP_MIB]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (mib < 2 || pause < 0 || keep < 0) {
		fprintf(stderr, "rssdrop: -m must be at least 2 and -p not negative\n");
		return 2;
	}
	len = (uint64_t)mib << 20;
	half = len / 2;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "rssdrop: mmap %ld MiB: %s\n", mib, strerror(errno));
		return 1;
	}
	memset(p, 0x5a, len);
	if (keep) {
		kept = mmap(NULL, (size_t)keep << 20, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (kept == MAP_FAILED) {
			fprintf(stderr, "rssdrop: mmap %ld MiB: %s\n", keep, strerror(errno));
			return 1;
		}
		memset(kept, 0x33, (size_t)keep << 20);
	}
	printf("touched %" PRIu64 "\n", len);
	fflush(stdout);
	pause_ms(pause);
	checkpoint();

	for (int i = 0; i < 2; i++) {
		struct step *s = &steps[i];

		s->addr = (uint64_t)(uintptr_t)p + (uint64_t)i * half;
		s->len = half;
		s->anon_before = proc_field("/proc/self/status", "RssAnon");
		if (madvise((void *)(uintptr_t)s->addr, half, s->advice)) {
			fprintf(stderr, "rssdrop: madvise %s: %s\n", s->advice_name,
				strerror(errno));
			return 1;
		}
		s->anon_after = proc_field("/proc/self/status", "RssAnon");
		s->lazyfree_after = proc_field("/proc/self/smaps_rollup", "LazyFree");
		s->smaps_rss_after = proc_field("/proc/self/smaps_rollup", "Rss");
		pause_ms(pause);
		checkpoint();
	}

	printf("{\"pid\":%d,\"touched\":%" PRIu64 ",\"steps\":[", (int)getpid(), len);
	for (int i = 0; i < 2; i++) {
		const struct step *s = &steps[i];

		printf("%s{\"advice\":\"%s\",\"addr\":%" PRIu64 ",\"len\":%" PRIu64
		       ",\"anon_before\":%" PRId64 ",\"anon_after\":%" PRId64
		       ",\"lazyfree_after\":%" PRId64 ",\"smaps_rss_after\":%" PRId64 "}",
		       i ? "," : "", s->advice_name, s->addr, s->len, s->anon_before, s->anon_after,
		       s->lazyfree_after, s->smaps_rss_after);
	}
	printf("]}\n");
	munmap(p, len);
	if (kept)
		munmap(kept, (size_t)keep << 20);
	return 0;
}
