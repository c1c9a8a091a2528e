// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Functions under Rust's symbol names, for the demangler's test (no Rust
 * compiler needed): main -> mycrate::cache::evict (legacy mangling, with
 * its hash) -> mycrate::cache::trim (v0 mangling) -> madvise. What the
 * report must print is the Rust path each symbol encodes. Records itself
 * (uscap.h) into argv[1] ("-": records nothing, for a backend).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "uscap.h"

volatile unsigned long released;

void cache_trim(char *p, size_t n) __asm__("_RNvNtCs_7mycrate5cache4trim");
void cache_evict(char *p, size_t n) __asm__("_ZN7mycrate5cache5evict17h0123456789abcdefE");

__attribute__((noinline, noclone)) void cache_trim(char *p, size_t n)
{
	if (madvise(p, n, MADV_DONTNEED))
		abort();
	released += n;
}

__attribute__((noinline, noclone)) void cache_evict(char *p, size_t n)
{
	memset(p, 1, n);
	cache_trim(p, n);
	released++;
}

int main(int argc, char **argv)
{
	char *p;

	if (argc != 2)
		return 2;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	uscap_start(argv[1]);
	cache_evict(p, 1 << 20);
	uscap_stop(argv[1]);
	printf("%lu\n", released);
	return 0;
}
