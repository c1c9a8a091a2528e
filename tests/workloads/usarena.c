// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A thread's first malloc makes its arena: glibc maps twice the heap size
 * and unmaps what lies outside the aligned heap (new_heap), a munmap under
 * malloc that releases nothing the program used. Whatever unmaps does so
 * under worker_start -> first_malloc -> malloc. argv[1] is "-" (a backend
 * records it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile unsigned long used;

__attribute__((noinline, noclone)) void first_malloc(void)
{
	char *p = malloc(64); /* CALL:malloc */

	if (!p)
		abort();
	memset(p, 1, 64);
	used += (unsigned char)p[3];
	free(p);
}

static void *worker_start(void *arg)
{
	(void)arg;
	first_malloc(); /* CALL:first_malloc */
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2 || strcmp(argv[1], "-")) {
		fprintf(stderr, "usage: usarena -\n");
		return 2;
	}
	if (pthread_create(&t, NULL, worker_start, NULL) || pthread_join(t, NULL))
		return 1;
	printf("%lu\n", used);
	return 0;
}
