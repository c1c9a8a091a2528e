/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The releasers' unwound stacks (model-internal, releasers.c): release calls
 * that carry MT_F_USTACK wait for their MT_USTACK record (same pid, tid and
 * t_ns), which is unwound at once (binfo/unwind.h) and forgotten: only the
 * frames stay, one copy per distinct stack (hashed). At the end each
 * distinct stack is symbolized and attributed: the first frame inside a
 * known C allocator and the first application frame outside it.
 */
#ifndef MT_RELEASERS_US_H
#define MT_RELEASERS_US_H

#include <stdbool.h>
#include <stdint.h>
#include "madvtrace/record.h"
#include "releasers.h"

struct mt_rus;

/* A release call waiting for its stack, or given back without one. */
struct mt_rus_call {
	uint32_t pid, tid;
	uint64_t t_ns;
	uint32_t stack_id; /* the kernel's frame-pointer stack of the same call (Go) */
	uint8_t kind;	   /* enum mt_rel_call */
	uint64_t bytes;
};

struct mt_rus *mt_rus__new(const char *debug_dir);
void mt_rus__free(struct mt_rus *u);

/* MT_MAPPING (kept stacks of its pid are tried again), MT_TASK fork. 0 or -ENOMEM. */
int mt_rus__record(struct mt_rus *u, const struct mt_hdr *rec);
/*
 * Park a release call whose stack follows. When too many wait, the oldest is
 * given back in *out (true): count it without a stack of its own.
 */
bool mt_rus__park(struct mt_rus *u, const struct mt_rus_call *c, struct mt_rus_call *out);
/*
 * An MT_USTACK record: paired with its parked call and unwound, or kept a
 * while when its process's mappings are not known yet (they may come after
 * it). Unwound calls are then taken with mt_rus__take. 0 or -ENOMEM.
 */
int mt_rus__ustack(struct mt_rus *u, const struct mt_hdr *rec);
/* An unwound call and the index of its distinct stack; false when none is ready. */
bool mt_rus__take(struct mt_rus *u, struct mt_rus_call *call, uint32_t *idx);
/* At the end: unwind the kept stacks with what is known. 0 or -ENOMEM. */
int mt_rus__flush(struct mt_rus *u);
/* The calls still parked at the end, one per call; false when none is left. */
bool mt_rus__unpaired(struct mt_rus *u, struct mt_rus_call *out);

/* Attribution of a distinct stack (after mt_rus__resolve). */
struct mt_rus_attr {
	enum mt_releaser who; /* MT_WHO_C_ALLOCATOR, MT_WHO_NON_GO or MT_WHO_UNKNOWN */
	int alloc_frame;      /* the allocator frame that names it, or -1 */
	int app_frame;	      /* the first application frame (outside the allocator), or -1 */
	const char *group;    /* "jemalloc decay purge <- cache_evict (app.c:212)" */
	bool go_tail;	      /* the last frame is in Go code: the kernel's stack goes on */
	uint32_t go_from;     /* where the kernel's frames go on (after the last frame) */
	uint64_t go_pc;	      /* the last frame's pc, looked for in the kernel's stack */
};

/* Symbolize every distinct stack. 0 or -ENOMEM. */
int mt_rus__resolve(struct mt_rus *u);
uint32_t mt_rus__nframes(const struct mt_rus *u, uint32_t idx);
bool mt_rus__frame(const struct mt_rus *u, uint32_t idx, uint32_t i, struct mt_rel_frame *out);
const struct mt_rus_attr *mt_rus__attr(const struct mt_rus *u, uint32_t idx);
/* Distinct stacks whose first frame is in no recorded mapping (after resolve). */
uint64_t mt_rus__unmapped(const struct mt_rus *u);
/* Files the frames needed that could not be used, or that had no symbols. */
bool mt_rus__file(const struct mt_rus *u, size_t i, struct mt_rel_file *out);

#endif
