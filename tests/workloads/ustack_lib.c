// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The library tests/workloads/ustack.c opens with dlopen(): a release from a late mapping. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define LEN (1 << 20)

__attribute__((noinline)) void ustack_lib_release(char *p, uint64_t canary, FILE *out)
{
	volatile uint64_t local = canary;
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	fprintf(out, "{\"where\": \"lib\", \"sp\": %llu, \"canary_addr\": %llu, \"canary\": %llu, "
		     "\"addr\": %llu, \"len\": %d, \"ret\": %d}",
		(unsigned long long)sp, (unsigned long long)(uintptr_t)&local,
		(unsigned long long)local, (unsigned long long)(uintptr_t)p, LEN,
		madvise(p, LEN, MADV_DONTNEED));
	__asm__ volatile("" : : "r"(&local) : "memory");
}
