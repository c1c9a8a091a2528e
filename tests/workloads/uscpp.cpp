// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C++ release whose functions are a namespace's template method and a
 * member function, for the demangler's test: main -> store::Cache::evict ->
 * pool::Arena<int>::trim -> madvise. Records itself (uscap.h) into argv[1]
 * ("-": records nothing, for a backend to record it).
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
extern "C" {
#include "uscap.h"
}

volatile unsigned long released;

namespace pool {
template <typename T> struct Arena {
	T *base;
	size_t bytes;
	__attribute__((noinline, noclone)) void trim(size_t keep)
	{
		if (madvise(reinterpret_cast<char *>(base) + keep, bytes - keep, MADV_DONTNEED))
			abort();
		released += bytes - keep;
	}
};
} // namespace pool

namespace store {
struct Cache {
	pool::Arena<int> arena;
	__attribute__((noinline, noclone)) void evict(int how)
	{
		memset(arena.base, how, arena.bytes);
		arena.trim(4096);
		released++;
	}
};
} // namespace store

int main(int argc, char **argv)
{
	store::Cache c;

	if (argc != 2)
		return 2;
	c.arena.bytes = 2u << 20;
	c.arena.base = static_cast<int *>(mmap(nullptr, c.arena.bytes, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (c.arena.base == MAP_FAILED)
		return 1;
	uscap_start(argv[1]);
	c.evict(1);
	uscap_stop(argv[1]);
	std::printf("%lu\n", released);
	return 0;
}
