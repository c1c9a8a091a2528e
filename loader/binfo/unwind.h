/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwinding a copied user stack without frame pointers, as perf's
 * --call-graph dwarf does (tools/perf/util/unwind-libdw.c): the registers
 * and the top of the stack a recorder copied at a release call (MT_USTACK)
 * are walked with the call-frame information of the files the process had
 * mapped (MT_MAPPING), through elfutils' libdwfl. libdw reads .eh_frame,
 * .eh_frame_hdr and .debug_frame and falls back to the frame-pointer chain
 * where a function has no CFI.
 *
 * The files are the trace's: they are opened as the symbolizer opens a
 * trace's programs (mt_elf__open_file: O_PATH first, regular files only,
 * never blocking), one per device and inode, at most MT_UW_MAX_FILES, and
 * a file whose build id is not the one the trace recorded is not used: its
 * frames are shown as file+offset, and the reason is kept (mt_uw__file).
 *
 *	u = mt_uw__new(debug_path);
 *	mt_uw__mapping(u, pid, mapping);   for every MT_MAPPING record
 *	mt_uw__fork(u, parent, child);
 *	n = mt_uw__unwind(u, ustack, frames, max);
 *	mt_uw__symbolize(u, &frames[i], out, max)  (loader/binfo/dwsym.c)
 *	mt_uw__free(u);
 */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "madvtrace/record.h"

#define MT_UW_MAX_FRAMES 128
#define MT_UW_MAX_FILES 4096 /* distinct files a trace may make report open */
#define MT_UW_NOFILE UINT32_MAX

/* One frame of an unwound stack. */
struct mt_uframe {
	uint64_t pc;   /* the instruction (frame 0) or the return address (callers) */
	uint64_t rel;  /* pc as an offset in the mapped file (file+0xrel) */
	uint32_t file; /* mt_uw__file index, or MT_UW_NOFILE (not in a file mapping) */
	uint8_t caller; /* pc is a return address: the call is at pc - 1 */
	uint8_t go;	/* pc is in a Go file: the kernel's frame-pointer walk goes on */
	uint8_t _pad[2];
};

/* What became of a mapped file. */
enum mt_uw_state {
	MT_UWF_UNREAD = 0, /* no frame needed it yet */
	MT_UWF_OK,
	MT_UWF_UNOPENED,      /* cannot be opened here, or not a regular ELF file */
	MT_UWF_BUILD_ID,      /* the file here is another build than the one mapped */
	MT_UWF_TOO_MANY,      /* over MT_UW_MAX_FILES */
};

struct mt_uw_file {
	const char *path; /* as the trace recorded it */
	enum mt_uw_state state;
	const char *reason; /* one line, when the state is not OK */
	bool go;	    /* a Go program (Go's build id or function table) */
};

struct mt_uw;

/*
 * debug_path: extra directories holding .build-id/xx/yyyy.debug files
 * (colon-separated, may be NULL), searched after the file's own directory,
 * its .debug/ and /usr/lib/debug. NULL with errno on failure.
 */
struct mt_uw *mt_uw__new(const char *debug_path);
void mt_uw__free(struct mt_uw *u);

/* A file mapping of pid; it supersedes what it overlaps. 0 or -ENOMEM. */
int mt_uw__mapping(struct mt_uw *u, const struct mt_mapping *m);
/* The child starts with its parent's mappings. 0 or -ENOMEM. */
int mt_uw__fork(struct mt_uw *u, uint32_t parent, uint32_t child);
/*
 * pid exec'd at t_ns: the mappings read before then are the old program's
 * and go (a file mapped by both, at two places, would otherwise hide the new
 * one from the unwinder: one module per file); those read since stay (the
 * recorder may write them before the exec record), and any read before
 * t_ns that comes later is ignored. 0.
 */
int mt_uw__exec(struct mt_uw *u, uint32_t pid, uint64_t t_ns);

/*
 * Unwind the stack of us (its pid's mappings as fed so far) into at most max
 * frames, innermost first. Returns the number of frames (at least 1 when
 * the record has registers), or -ENOMEM.
 */
int mt_uw__unwind(struct mt_uw *u, const struct mt_ustack *us, struct mt_uframe *out, int max);

/* The file of index i; false past the last. */
bool mt_uw__file(const struct mt_uw *u, uint32_t i, struct mt_uw_file *out);

/*
 * The memory callback of the unwinder: 8 bytes at addr of the copied stack
 * [sp, sp + len) or, failing that, of a read-only file mapping of pid.
 * Exposed for tests. true when read.
 */
bool mt_uw__read_word(struct mt_uw *u, uint32_t pid, const struct mt_ustack *us, uint64_t addr,
		      uint64_t *out);

/* A symbolized frame (one physical frame gives one per inlined call, innermost first). */
struct mt_usym {
	const char *function; /* demangled; NULL: unknown */
	uint64_t offset;      /* from the function's start (not for inlined frames) */
	const char *src;      /* source file, NULL: unknown */
	uint32_t line;
	bool inlined; /* a call inlined into the next frame */
};

/*
 * Symbolize frame f: up to max entries into out, innermost inline first;
 * returns how many (0: nothing known: show file+offset). The strings live
 * as long as u. Results are cached per (file, address).
 */
int mt_uw__symbolize(struct mt_uw *u, const struct mt_uframe *f, struct mt_usym *out, int max);

#endif
