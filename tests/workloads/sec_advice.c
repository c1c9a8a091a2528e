// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * COUNT madvise calls on one page of its own with advice values no kernel
 * knows (from 1000 up: never a real one, never MADV_HWPOISON's 100), each
 * refused with EINVAL; "distinct" gives each call a value of its own,
 * "same" gives them all 1000 (the baseline: the same calls, one value).
 * Prints what it did as JSON: its own tally is the test's oracle
 * (test_sec_advice.py, issue 13 defect 9).
 *
 *   sec_advice distinct|same COUNT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FIRST 1000

int main(int argc, char **argv)
{
	long count, einval = 0, other = 0;
	int distinct;
	void *p;

	if (argc != 3 || (strcmp(argv[1], "distinct") && strcmp(argv[1], "same")) ||
	    (count = strtol(argv[2], NULL, 10)) <= 0 || count > 1000000) {
		fprintf(stderr, "usage: sec_advice distinct|same COUNT (at most 1000000)\n");
		return 2;
	}
	distinct = !strcmp(argv[1], "distinct");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		if (!madvise(p, 4096, FIRST + (distinct ? (int)i : 0)))
			other++;
		else if (errno == EINVAL)
			einval++;
		else
			other++;
	}
	printf("{\"calls\":%ld,\"einval\":%ld,\"other\":%ld,\"first\":%d,\"last\":%ld}\n", count,
	       einval, other, FIRST, FIRST + (distinct ? count - 1 : 0));
	return 0;
}
