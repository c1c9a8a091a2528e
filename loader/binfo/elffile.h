/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A read-only view of an ELF file on disk, shared by goinfo (what the
 * program is) and symbolize (names of its addresses). Every byte range it
 * hands out has been checked against the file's size, so callers can parse
 * untrusted files without bounds errors of their own.
 *
 * The file may belong to anyone (the traced program, a path a trace names)
 * and be read as root: it is opened without blocking and only if it is a
 * regular file (mt_elf__open_file), and only the parts asked for are read
 * (headers at open, a section or a range on first use), each part and the
 * total capped by a read budget, so a huge or sparse file costs what its
 * useful parts cost.
 */
#ifndef MT_ELFFILE_H
#define MT_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct mt_elf;

struct mt_elf_sec {
	const char *name;		 /* "" when the name is unreadable */
	uint64_t addr, off, size, flags; /* sh_addr, sh_offset, sh_size, sh_flags */
	uint32_t type;			 /* sh_type */
	uint32_t link;			 /* sh_link */
	uint64_t entsize;		 /* sh_entsize */
};

struct mt_elf_seg {
	uint32_t type, flags; /* p_type, p_flags */
	uint64_t vaddr, off, filesz, memsz, align;
};

/* What mt_elf__open_max reads at most from one file, all parts together, by default. */
#define MT_ELF_READ_MAX (256ull << 20)

/*
 * Open path for reading, safely whoever controls it: never blocks (a FIFO),
 * never opens anything but a regular file (a device is refused before it is
 * opened: the path is resolved with O_PATH, checked, then reopened).
 * Symbolic links are followed: an executable's path legitimately is one
 * (/proc/PID/exe, a /usr/bin alternative). Returns the descriptor, or -1
 * with one line in err; st (if not NULL) gets its fstat.
 */
int mt_elf__open_file(const char *path, struct stat *st, char *err, size_t errlen);

/*
 * Open path (mt_elf__open_file). NULL on failure, with one line in err:
 * cannot open, not a regular file, not an ELF file, truncated or corrupt ELF.
 * read_max: the read budget (0: MT_ELF_READ_MAX).
 */
struct mt_elf *mt_elf__open_max(const char *path, uint64_t read_max, char *err, size_t errlen);
/* The same on fd (the ELF takes it over, closed at mt_elf__free, also on failure). */
struct mt_elf *mt_elf__open_fd(int fd, const char *path, uint64_t read_max, char *err,
			       size_t errlen);
/* Reading is over (what was read stays): the descriptor is closed. */
void mt_elf__close_file(struct mt_elf *e);
void mt_elf__free(struct mt_elf *e);
/* Bytes read from the file so far (all parts, each once). */
uint64_t mt_elf__bytes_read(const struct mt_elf *e);

unsigned mt_elf__class(const struct mt_elf *e); /* 32 or 64 */
uint16_t mt_elf__type(const struct mt_elf *e); /* ET_EXEC, ET_DYN, ... */

size_t mt_elf__nsections(const struct mt_elf *e);
const struct mt_elf_sec *mt_elf__section_at(const struct mt_elf *e, size_t i);
/*
 * The size bytes of a section, read on first use; NULL for SHT_NOBITS, or
 * when the bytes are not in the file or beyond the read budget.
 */
const uint8_t *mt_elf__section_data(struct mt_elf *e, const struct mt_elf_sec *s);
/* First section called name, or NULL. */
const struct mt_elf_sec *mt_elf__section(const struct mt_elf *e, const char *name);
size_t mt_elf__nsegments(const struct mt_elf *e);
const struct mt_elf_seg *mt_elf__segment_at(const struct mt_elf *e, size_t i);
/* The PT_LOAD with the lowest address, or NULL. */
const struct mt_elf_seg *mt_elf__first_load(const struct mt_elf *e);
/* Is there an executable PT_LOAD (or SHF_EXECINSTR section) covering vaddr? (log n) */
bool mt_elf__vaddr_exec(const struct mt_elf *e, uint64_t vaddr);
/* The end of the executable PT_LOAD holding vaddr, or vaddr + 1 if none. (log n) */
uint64_t mt_elf__exec_end(const struct mt_elf *e, uint64_t vaddr);

/*
 * len bytes of the file at off, read on first use and kept until
 * mt_elf__free; NULL if they are not all in the file or over the budget.
 */
const uint8_t *mt_elf__bytes(struct mt_elf *e, uint64_t off, uint64_t len);
/* The len file bytes that a PT_LOAD maps at vaddr, or NULL. */
const uint8_t *mt_elf__at_vaddr(struct mt_elf *e, uint64_t vaddr, uint64_t len);

/* PT_INTERP's path (NUL-terminated in the file), or NULL. */
const char *mt_elf__interp(struct mt_elf *e);
/* ET_DYN that is a program, not a library: PT_INTERP or DF_1_PIE. */
bool mt_elf__pie(struct mt_elf *e);

/*
 * Build ids from the notes: the GNU one (NT_GNU_BUILD_ID) in lowercase hex,
 * and Go's own (the "Go" note of type 4, which the Go linker writes instead
 * of a GNU one). Empty strings when absent.
 */
const char *mt_elf__gnu_build_id(const struct mt_elf *e);
/* A build id's n bytes in lowercase hex into out[len], NUL-terminated (as many as fit). */
void mt_elf__hex(char *out, size_t len, const uint8_t *b, size_t n);
const char *mt_elf__go_build_id(const struct mt_elf *e);
/*
 * The identity a trace records to recognise the file later: the GNU build
 * id in hex, else "go:" and the Go build id, else "" (none).
 */
const char *mt_elf__identity(const struct mt_elf *e);

/*
 * Call fn for each symbol of .symtab (dynamic false) or .dynsym (true);
 * stops early when fn returns non-zero. Returns the number of symbols
 * visited, or -1 when the file has no such table.
 */
typedef int (*mt_elf_sym_fn)(void *ctx, const char *name, uint64_t value, uint64_t size,
			     unsigned type, unsigned shndx);
long mt_elf__foreach_symbol(struct mt_elf *e, bool dynamic, mt_elf_sym_fn fn, void *ctx);
/* The value and size of the first symbol called name in .symtab; false if none. */
bool mt_elf__symbol(struct mt_elf *e, const char *name, uint64_t *value, uint64_t *size);

/* Make a message one line: control characters (from a path or the file) become '?'. */
void mt_elf__one_line(char *s);

/* Integers in the file's byte order. */
uint32_t mt_elf__u32(const struct mt_elf *e, const uint8_t *p);
uint64_t mt_elf__u64(const struct mt_elf *e, const uint8_t *p);
/* A word of width bytes (4 or 8). */
uint64_t mt_elf__word(const struct mt_elf *e, const uint8_t *p, unsigned width);

#endif
