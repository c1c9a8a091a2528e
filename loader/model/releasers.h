/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who released the memory: the releasing calls of a trace grouped by the
 * code that made them, from the user stack the recorder took of each one:
 * the kernel's frame-pointer walk (hdr.stack_id, MT_STACK records; Go), or
 * registers and stack bytes unwound here with the files' CFI (MT_F_USTACK,
 * MT_USTACK and MT_MAPPING records; releasers_us.h), which are grouped by
 * the C allocator that released and the application frame that called it.
 *
 * Stack records come after the records that reference them, and the
 * binaries are read only once the trace is over, so this streams: feed()
 * adds each release to a tally per (program, stack id), and resolve()
 * symbolizes each distinct stack once at the end (loader/symbolize.h, one
 * symbolizer per program) and classifies it by walking it from the
 * innermost frame outwards to the first frame that names a known releaser.
 * Memory grows with the distinct stacks and programs, not with the records.
 *
 *	r = mt_releasers__new();
 *	mt_releasers__feed(r, rec, remap_bytes);   for every record, in file order
 *	mt_releasers__resolve(r, stderr);          once, at the end
 *	mt_releasers__summary(r), mt_releasers__top(r, ...)
 *	mt_releasers__free(r);
 */
#ifndef MT_RELEASERS_H
#define MT_RELEASERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"

/* The code that released memory, as a user of a Go program thinks of it. */
enum mt_releaser {
	MT_WHO_SCAVENGER = 0,  /* runtime.bgscavenge, runtime.(*scavengerState)... */
	MT_WHO_FREE_OS_MEMORY, /* runtime/debug.FreeOSMemory (runtime.(*mheap).scavengeAll) */
	MT_WHO_HEAP_GROWTH,    /* runtime.(*mheap).grow, allocSpan, sysUsed, sysMap... */
	MT_WHO_STACK_SPAN,     /* runtime.stackfree, runtime.(*mheap).freeSpan, freeManual... */
	MT_WHO_GO_RUNTIME,     /* other Go runtime code */
	MT_WHO_GO_PROGRAM,     /* Go code outside the runtime (syscall.Munmap, x/sys/unix...) */
	MT_WHO_C_ALLOCATOR,    /* a C allocator: glibc's malloc, jemalloc, tcmalloc, mimalloc */
	MT_WHO_NON_GO,	       /* code that is not Go: libc, a C library, a non-Go program */
	MT_WHO_UNKNOWN,	       /* a stack that could not be named (no symbols, stack missing) */
	MT_WHO_NO_STACK,       /* the call was recorded without a stack */
	MT_WHO_NR,
};

/* What a releasing call did. */
enum mt_rel_call {
	MT_RC_FREE = 0,	 /* MADV_FREE */
	MT_RC_DONTNEED,	 /* MADV_DONTNEED, MADV_DONTNEED_LOCKED */
	MT_RC_REMOVE,	 /* MADV_REMOVE */
	MT_RC_PROT_NONE, /* mmap(PROT_NONE, MAP_FIXED) over accessible memory */
	MT_RC_MUNMAP,	 /* munmap: unmapped rather than released */
	MT_RC_NR,
};

struct mt_rel_tally {
	uint64_t calls, bytes;
};

/* Successful calls only; bytes as the timeline counts them (docs/report-format.md). */
struct mt_rel_summary {
	struct mt_rel_tally by[MT_WHO_NR][MT_RC_NR];
	uint64_t calls_with_stack, calls_without_stack; /* releasing calls (munmap included) */
	uint64_t stacks;	 /* distinct (program, stack id) pairs referenced */
	uint64_t missing_stacks; /* ... of which the trace has no stack record */
	uint64_t stack_records;	 /* MT_STACK records read */
	uint64_t programs;	 /* programs with release stacks */
	uint64_t unsymbolized;	 /* ... of which no symbols could be loaded */
	uint64_t unwound_calls;	 /* releasing calls whose registers and stack were unwound */
	uint64_t unwound_stacks; /* ... distinct unwound stacks */
	uint64_t unpaired_calls; /* calls announcing a stack (MT_F_USTACK) that never came */
	uint64_t unmapped_stacks; /* distinct unwound stacks whose pc is in no recorded mapping */
};

/* One frame of a release stack, innermost first. */
struct mt_rel_frame {
	uint64_t ip;	      /* as recorded or unwound (a return address past frame 0) */
	const char *function; /* demangled; NULL: unknown */
	uint64_t offset;      /* from the function's start (not for an inlined frame) */
	const char *file;     /* the mapped file the ip is in; NULL: none known */
	uint64_t file_offset; /* ip as an offset in that file (unwound frames) */
	const char *src;      /* source file; NULL: unknown */
	uint32_t line;	      /* 0: unknown */
	bool inlined;	      /* a call inlined into the next frame */
	bool kernel_walk;     /* from the kernel's frame-pointer walk (MT_STACK) */
	bool go_file;	      /* an unwound frame in a Go program's file (C of cgo too) */
};

/* A file the unwound frames needed and could not use (or that had no symbols). */
struct mt_rel_file {
	const char *path;
	const char *problem; /* one line */
};

/* One distinct stack and what its calls released. */
struct mt_rel_stack {
	uint32_t pid; /* the process the stack was taken in (the first, if several) */
	uint32_t stack_id;
	enum mt_releaser who;
	int decisive; /* the frame that classified it, or -1 (a fallback) */
	struct mt_rel_tally by[MT_RC_NR];
	uint32_t nframes;    /* 0 when the stack record is missing */
	const uint64_t *ips; /* innermost first, as recorded */
	const char *exe;     /* the program's path, or NULL when none was recorded */
	uint32_t entry;	     /* for mt_releasers__frame */
	bool unwound;	     /* from registers and stack bytes (mt_releasers__frame_at) */
	int alloc_frame;     /* the C allocator's frame that names its group, or -1 */
	int app_frame;	     /* the first application frame above the allocator, or -1 */
	const char *group;   /* "jemalloc decay purge <- cache_evict (app.c:212)", or NULL */
};

/* Release calls grouped by allocator path and application frame (unwound stacks). */
struct mt_rel_group {
	const char *label;
	enum mt_releaser who;
	struct mt_rel_tally by[MT_RC_NR];
};

/* "bgscavenge", "free_os_memory", ...: stable keys (json). */
const char *mt_releaser_key(enum mt_releaser w);
/* "background scavenger (runtime.bgscavenge)", ...: for people. */
const char *mt_releaser_name(enum mt_releaser w);
/* "MADV_FREE", "MADV_DONTNEED", "MADV_REMOVE", "prot_none_remap", "munmap". */
const char *mt_rel_call_name(enum mt_rel_call c);
/* Bytes released (not unmapped): every call kind but munmap. */
uint64_t mt_rel_released(const struct mt_rel_tally by[MT_RC_NR], uint64_t *calls);

struct mt_releasers;

struct mt_releasers *mt_releasers__new(void);
/*
 * Directories holding .build-id/xx/yyyy.debug files, colon-separated, searched
 * after /usr/lib/debug for the unwound stacks' files (report --debug-dir,
 * MADVTRACE_DEBUGINFO_PATH). Before the first record. 0 or -ENOMEM.
 */
int mt_releasers__debug_dir(struct mt_releasers *r, const char *dirs);
/*
 * One record, in file order. remap_bytes: for an mmap record, the bytes the
 * timeline's region model says it took out of use (a PROT_NONE remap over
 * accessible memory); ignored for other records. 0, or -ENOMEM.
 */
int mt_releasers__feed(struct mt_releasers *r, const struct mt_hdr *rec, uint64_t remap_bytes);
/*
 * Symbolize and classify every stack. A program whose symbols cannot be
 * loaded gets one line on warn ("madvtrace: warning: ..."); its stacks
 * count as unknown (or as non-Go code when the trace says the program is
 * not Go). Idempotent. 0, or -ENOMEM.
 */
int mt_releasers__resolve(struct mt_releasers *r, FILE *warn);
const struct mt_rel_summary *mt_releasers__summary(const struct mt_releasers *r);
/* The stacks that released the most (released bytes, then unmapped bytes), up to max. */
size_t mt_releasers__top(const struct mt_releasers *r, struct mt_rel_stack *out, size_t max);
/* Every distinct (process, stack id), in the order first seen; false past the last. */
bool mt_releasers__stack_at(const struct mt_releasers *r, size_t i, struct mt_rel_stack *out);
/*
 * The function of frame i of s (NULL: unknown), *offset from its start to
 * the recorded address. Return addresses are looked up at ip - 1: the call,
 * not the instruction after it.
 */
const char *mt_releasers__frame(const struct mt_releasers *r, const struct mt_rel_stack *s,
				uint32_t i, uint64_t *offset);
/* Frame i of s, for either kind of stack; false past the last. */
bool mt_releasers__frame_at(const struct mt_releasers *r, const struct mt_rel_stack *s, uint32_t i,
			    struct mt_rel_frame *out);
/* The groups of unwound stacks, most released bytes first; false past the last. */
bool mt_releasers__group(const struct mt_releasers *r, size_t i, struct mt_rel_group *out);
/* The files unwound frames needed and could not use; false past the last. */
bool mt_releasers__file(const struct mt_releasers *r, size_t i, struct mt_rel_file *out);
/*
 * The programs whose stacks were symbolized, for each: pid, path (NULL: not
 * recorded), where the names came from ("gopclntab+symtab"; NULL on
 * failure) and why it failed (NULL on success). false past the last.
 */
bool mt_releasers__program(const struct mt_releasers *r, size_t i, uint32_t *pid, const char **exe,
			   const char **source, const char **error);
void mt_releasers__free(struct mt_releasers *r);

#endif
