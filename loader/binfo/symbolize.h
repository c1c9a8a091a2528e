/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function names for user addresses of a process's executable, after
 * recording, from the binary on disk: its .symtab and .dynsym, and for Go
 * programs Go's own function table (.gopclntab), which survives stripping.
 * The table is built once and sorted; each lookup is a binary search.
 */
#ifndef MT_SYMBOLIZE_H
#define MT_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct mt_symbolizer;

/*
 * A symbolizer (mt_symcache__open, below) has the functions of the
 * executable at path, as it was mapped with its first file-offset-0
 * mapping at load_base (the trace's exe_base; ignored
 * for ET_EXEC, whose addresses are absolute; 0 for a PIE means addresses are
 * the file's own, unrelocated ones).
 *
 * expected_build_id (NULL or "": no check) is the identity the trace
 * recorded (mt_goinfo__build_id: the GNU build id in hex, or "go:" + the Go
 * build id); if the file's differs, the file changed since recording and
 * this refuses. NULL on failure, with one line in err.
 */
/*
 * Name of the function containing the runtime address addr, with *offset
 * (if not NULL) set to addr minus the function's start; NULL if unknown.
 * The string lives as long as the symbolizer.
 */
const char *mt_symbolizer__name(const struct mt_symbolizer *s, uint64_t addr, uint64_t *offset);
/* Where the functions came from: "symtab", "gopclntab+symtab", ..., "none". */
const char *mt_symbolizer__source(const struct mt_symbolizer *s);
void mt_symbolizer__free(struct mt_symbolizer *s);

/*
 * Symbolizers for the programs a trace names, which anyone may have written:
 * one table per file (device and inode), whatever path names it (/p/x,
 * /p//x, /p/./x, a hard link) and whatever its load base; each file opened
 * safely and read within a budget (mt_elf__open_file, MT_ELF_READ_MAX), and
 * all files together within the cache's budget, a file refused once being
 * refused again without being read.
 */
#define MT_SYMCACHE_BUDGET (1ull << 30)
#define MT_SYMCACHE_MAX_FILES 4096
struct mt_symcache;

/* budget: bytes all files may take together (0: MT_SYMCACHE_BUDGET). NULL on ENOMEM. */
struct mt_symcache *mt_symcache__new(uint64_t budget);
/*
 * A symbolizer for path (above), through the cache. The handle is freed with
 * mt_symbolizer__free, before or after the cache.
 */
struct mt_symbolizer *mt_symcache__open(struct mt_symcache *c, const char *path,
					uint64_t load_base, const char *expected_build_id,
					char *err, size_t errlen);
void mt_symcache__free(struct mt_symcache *c);

#endif
