/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which C allocator an executable has linked into itself, from its symbols. */
#ifndef MT_ALLOCSYMS_H
#define MT_ALLOCSYMS_H

#include <stdbool.h>
#include <stddef.h>

/* What the C allocators' own names say, most specific first (glibc is everyone's libc). */
enum mt_static_alloc {
	MT_SALLOC_NONE = 0,
	MT_SALLOC_JEMALLOC,
	MT_SALLOC_TCMALLOC,
	MT_SALLOC_MIMALLOC,
	MT_SALLOC_GLIBC, /* a statically linked glibc: its malloc */
};

struct mt_exe_alloc {
	enum mt_static_alloc alloc; /* defined in the executable itself */
	bool dynamic; /* it has a PT_INTERP: the dynamic loader maps its libraries */
	bool symbols; /* it has a .symtab or .dynsym to look in (false: stripped static) */
};

/*
 * Look at path's symbol tables (.symtab, then .dynsym) for a defined symbol
 * only a C allocator defines (je_malloc/mallocx/mallctl, tc_malloc,
 * mi_malloc, glibc's __libc_malloc), within the ELF reader's read budget.
 * 0, or -errno with one line in err.
 */
int mt_exe_alloc__read(const char *path, struct mt_exe_alloc *out, char *err, size_t errlen);

#endif
