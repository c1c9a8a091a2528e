/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The release tests/workloads/ustack.c makes from its own code and
 * ustack_lib.c from a library opened later: each includes it, so that each
 * object has its own copy (a return address in the program, in the library).
 */
#ifndef USTACK_RELEASE_H
#define USTACK_RELEASE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define USTACK_LEN (1 << 20)

/*
 * Keeps canary in a local, prints where, its own stack pointer, the
 * canary's address and value, then madvise(MADV_DONTNEED)s p through libc.
 */
__attribute__((noinline, unused)) static void ustack_release(const char *where, char *p,
							       uint64_t canary, FILE *out)
{
	volatile uint64_t local = canary;
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	fprintf(out, "{\"where\": \"%s\", \"sp\": %llu, \"canary_addr\": %llu, \"canary\": %llu, "
		     "\"addr\": %llu, \"len\": %d, \"ret\": %d}",
		where, (unsigned long long)sp, (unsigned long long)(uintptr_t)&local,
		(unsigned long long)local, (unsigned long long)(uintptr_t)p, USTACK_LEN,
		madvise(p, USTACK_LEN, MADV_DONTNEED));
	__asm__ volatile("" : : "r"(&local) : "memory");
}

#endif
