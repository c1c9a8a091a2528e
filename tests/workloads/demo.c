// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * demo: the README's first command traces this. In about four seconds it
 * shows the difference madvtrace exists to explain: memory released with
 * MADV_FREE stays in RSS (as LazyFree), memory released with MADV_DONTNEED
 * leaves it at once. It narrates each step on stderr with its own RSS, read
 * from /proc, so the trace and the numbers can be read side by side.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEMO_MIB 64

/* A "Key:  123 kB" field of a /proc file, in MiB, or -1. */
static double proc_mib(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	double mib = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			mib = strtod(line + klen + 1, NULL) / 1024;
			break;
		}
	}
	fclose(f);
	return mib;
}

static void say(const char *what)
{
	fprintf(stderr, "demo: %-44s RSS %6.1f MiB, of which LazyFree %5.1f MiB\n", what,
		proc_mib("/proc/self/status", "VmRSS"),
		proc_mib("/proc/self/smaps_rollup", "LazyFree"));
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(void)
{
	const size_t len = (size_t)DEMO_MIB << 20, half = len / 2;
	char *p;

	say("start:");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "demo: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(p, 1, len);
	say("mapped and touched 64 MiB:");
	pause_ms(1000);

	if (madvise(p, half, MADV_FREE)) {
		fprintf(stderr, "demo: madvise(MADV_FREE): %s\n", strerror(errno));
		return 1;
	}
	say("MADV_FREE 32 MiB (RSS stays: lazily freed):");
	pause_ms(1000);

	if (madvise(p + half, half, MADV_DONTNEED)) {
		fprintf(stderr, "demo: madvise(MADV_DONTNEED): %s\n", strerror(errno));
		return 1;
	}
	say("MADV_DONTNEED the other 32 MiB (RSS drops):");
	pause_ms(1000);

	munmap(p, len);
	say("munmap all 64 MiB:");
	return 0;
}
