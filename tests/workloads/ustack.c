// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The oracle of the ustack and mapping records (test_ustack.py): releases
 * whose caller knows its own stack. ustack_release() (ustack_release.h) keeps a canary in a local
 * variable and prints the canary's address, its own stack pointer and the
 * canary, then calls madvise(MADV_DONTNEED) through libc; the same is then
 * done by a library opened with dlopen() after start (argv[1]), argv[2] ms
 * after the dlopen (a recorder that cannot see the dynamic loader's mmaps
 * reads the maps again at a release when they are a second old). At the
 * end, argv[2] ms later again (the recorder reads the maps while the
 * process lives), it prints its file mappings as /proc/self/maps shows them.
 * Output: one JSON object.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "ustack_release.h"

int main(int argc, char **argv)
{
	typedef void (*lib_fn)(char *, uint64_t, FILE *);
	char *p = mmap(NULL, USTACK_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[4352];
	struct timespec ts;
	void *h;
	lib_fn fn;
	FILE *f;
	int first = 1;

	if (argc < 3 || p == MAP_FAILED)
		return 2;
	memset(p, 1, USTACK_LEN);
	printf("{\"releases\": [");
	ustack_release("exe", p, 0x5eed0c0ffee0a11dull, stdout);
	h = dlopen(argv[1], RTLD_NOW);
	fn = h ? (lib_fn)dlsym(h, "ustack_lib_release") : NULL;
	if (!fn) {
		fprintf(stderr, "ustack: %s\n", dlerror());
		return 2;
	}
	memset(p, 2, USTACK_LEN);
	ts.tv_sec = atoi(argv[2]) / 1000;
	ts.tv_nsec = (atoi(argv[2]) % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	printf(", ");
	fn(p, 0x11bca11ab1e5eedull, stdout);
	printf("], \"maps\": [");
	/* after the last release: what the recorder must have found */
	nanosleep(&ts, NULL);
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off, ino;
		char perms[8], dev[16], path[4096] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %4095[^\n]", &s, &e, perms, &off, dev,
			   &ino, path) < 7 || path[0] != '/')
			continue;
		printf("%s{\"start\": %llu, \"end\": %llu, \"perms\": \"%s\", \"off\": %llu, "
		       "\"dev\": \"%s\", \"ino\": %llu, \"path\": \"%s\"}",
		       first ? "" : ", ", s, e, perms, off, dev, ino, path);
		first = 0;
	}
	if (f)
		fclose(f);
	/* where the main stack started (the 28th field of /proc/self/stat) */
	f = fopen("/proc/self/stat", "r");
	if (f && fgets(line, sizeof(line), f)) {
		char *q = strrchr(line, ')');

		for (int i = 2; i < 28 && q; i++)
			q = strchr(q + 1, ' ');
		printf("], \"start_stack\": %llu}\n", q ? strtoull(q + 1, NULL, 10) : 0ull);
	} else {
		printf("], \"start_stack\": 0}\n");
	}
	if (f)
		fclose(f);
	return 0;
}
