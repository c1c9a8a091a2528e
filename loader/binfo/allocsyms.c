// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which C allocator an executable has linked into itself (allocsyms.h). */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include "allocsyms.h"
#include "elffile.h"

/* Names only the allocator defines: its own API beside malloc (a prefixed build's too). */
static const struct {
	const char *name;
	enum mt_static_alloc alloc;
} markers[] = {
	{ "je_malloc", MT_SALLOC_JEMALLOC },
	{ "je_mallocx", MT_SALLOC_JEMALLOC },
	{ "mallocx", MT_SALLOC_JEMALLOC },
	{ "mallctl", MT_SALLOC_JEMALLOC },
	{ "je_mallctl", MT_SALLOC_JEMALLOC },
	{ "tc_malloc", MT_SALLOC_TCMALLOC },
	{ "TCMallocInternalMalloc", MT_SALLOC_TCMALLOC }, /* Google's tcmalloc */
	{ "mi_malloc", MT_SALLOC_MIMALLOC },
	{ "__libc_malloc", MT_SALLOC_GLIBC },
};

static int on_symbol(void *ctx, const char *name, uint64_t value, uint64_t size, unsigned type,
		     unsigned shndx)
{
	enum mt_static_alloc *found = ctx;

	(void)value;
	(void)size;
	(void)type;
	if (shndx == SHN_UNDEF)
		return 0; /* imported from a library: the maps say which */
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		/* glibc's only counts when nothing more specific is there */
		if (strcmp(name, markers[i].name) || (*found && *found != MT_SALLOC_GLIBC))
			continue;
		*found = markers[i].alloc;
		return *found == MT_SALLOC_GLIBC ? 0 : 1;
	}
	return 0;
}

int mt_exe_alloc__read(const char *path, struct mt_exe_alloc *out, char *err, size_t errlen)
{
	struct mt_elf *e = mt_elf__open_max(path, 0, err, errlen);
	enum mt_static_alloc found = MT_SALLOC_NONE;
	long n, m;

	*out = (struct mt_exe_alloc){ 0 };
	if (!e)
		return errno ? -errno : -ENOEXEC;
	out->dynamic = mt_elf__interp(e) != NULL;
	n = mt_elf__foreach_symbol(e, false, on_symbol, &found);
	m = found && found != MT_SALLOC_GLIBC ? 0 : mt_elf__foreach_symbol(e, true, on_symbol, &found);
	out->symbols = n >= 0 || m >= 0;
	out->alloc = found;
	mt_elf__free(e);
	return 0;
}
