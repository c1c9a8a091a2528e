/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The address-space model of one traced process.
 *
 * Every page-aligned range the process maps is tracked through the states
 * below, driven by the calls it makes (mmap, munmap, mremap, madvise,
 * mprotect, brk). Unmapped ranges are simply absent. Ranges are kept in a
 * balanced tree keyed by start address, split and merged as calls cut them,
 * so memory is proportional to the number of live regions, not to the
 * number of calls, and every update costs O(log n) per region touched.
 *
 * The model only knows what the calls say: it never sees writes. A range
 * mapped before tracing began becomes known when a call that succeeded on
 * it proves it is mapped (kind MT_RK_UNKNOWN).
 */
#ifndef MT_REGIONS_H
#define MT_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mt_rstate {
	MT_RS_RESERVED = 0,  /* mapped PROT_NONE and not released: address space */
	MT_RS_COMMITTED = 1, /* mapped accessible and not released */
	MT_RS_LAZY = 2,	     /* released with MADV_FREE: resident until reclaimed or rewritten */
	MT_RS_EAGER = 3,     /* released with MADV_DONTNEED/REMOVE or a PROT_NONE remap: dropped */
	MT_RS_NR,
};

enum mt_rkind {
	MT_RK_ANON = 0, /* MAP_PRIVATE|MAP_ANONYMOUS */
	MT_RK_SHARED_ANON = 1,
	MT_RK_FILE = 2, /* private file mapping */
	MT_RK_SHARED_FILE = 3,
	MT_RK_HEAP = 4,	   /* the brk heap */
	MT_RK_UNKNOWN = 5, /* mapped before tracing began ("pre-trace") */
	MT_RK_STACK = 6,   /* MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK: a thread stack (glibc's) */
	MT_RK_NR,
};

/* Transparent huge page advice last given to a range. */
enum mt_thp {
	MT_THP_DEFAULT = 0,
	MT_THP_HUGE = 1,   /* MADV_HUGEPAGE */
	MT_THP_NOHUGE = 2, /* MADV_NOHUGEPAGE */
};

/*
 * A mapping: what one mmap (or the heap, or a range known from before the
 * trace) created. Regions cut from it keep pointing to it, so releases can
 * be reported per mapping ("top regions").
 */
struct mt_mapping_info {
	uint32_t pid;
	uint64_t start, end;  /* extent when created, moved along by mremap */
	uint64_t created_ns;  /* 0: mapped before tracing began */
	uint64_t unmapped_ns; /* when its last region went away; 0 while mapped */
	uint32_t prot;	      /* at creation */
	uint8_t kind;	      /* enum mt_rkind */
	bool unmapped;
	uint64_t released_lazy;	 /* bytes put in MT_RS_LAZY by calls, cumulative */
	uint64_t released_eager; /* bytes put in MT_RS_EAGER by calls, cumulative */
	uint64_t rereleased;	 /* part of the two above that was already released */
	uint64_t recommitted;	 /* released bytes made usable again by an explicit call */
	uint64_t release_calls;	 /* calls that released some of it */
	uint64_t first_release_ns, last_release_ns;
	uint64_t cur[MT_RS_NR]; /* bytes in each state now */
};

/* What one operation did, summed over the regions it touched (bytes). */
struct mt_rdelta {
	uint64_t mapped;      /* added to the model */
	uint64_t unmapped;    /* removed from the model */
	uint64_t released;    /* committed (accessible, not released) -> released */
	uint64_t rereleased;  /* released again: lazy->lazy, eager->eager, eager->lazy */
	uint64_t escalated;   /* lazily released -> eagerly released (pages dropped now) */
	uint64_t recommitted; /* released -> committed by an explicit call */
	uint64_t hp_released; /* released bytes given MADV_HUGEPAGE */
	uint64_t filled;      /* learned to be mapped from before tracing began */
};

struct mt_region_info {
	uint64_t start, end;
	uint32_t prot;
	uint8_t state; /* enum mt_rstate */
	uint8_t kind;  /* enum mt_rkind */
	uint8_t thp;   /* enum mt_thp */
	bool touched;  /* was accessible at some point since mapped: may have pages */
	const struct mt_mapping_info *map;
};

struct mt_regions;

/* Called with a mapping's final figures when its last region goes away. */
typedef void (*mt_retire_fn)(void *ctx, const struct mt_mapping_info *m);

/* An empty address space; page_size 0 means 4096. NULL on ENOMEM. */
struct mt_regions *mt_regions__new(uint32_t pid, uint32_t page_size);
/* A copy for a forked child (mappings are copied with their figures). */
struct mt_regions *mt_regions__clone(const struct mt_regions *src, uint32_t pid);
/* Free everything; the retire callback is not called. */
void mt_regions__free(struct mt_regions *rs);
void mt_regions__set_retire(struct mt_regions *rs, mt_retire_fn fn, void *ctx);

/*
 * The operations, applied for calls that succeeded (the caller decides; see
 * madvise/mprotect for partial success). Lengths are rounded up to pages.
 * d (may be NULL) is added to, not cleared. Return 0, -EINVAL for a range
 * the kernel would have refused (unaligned, wrapping) without change, or
 * -ENOMEM.
 */
int mt_regions__mmap(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
		     uint32_t prot, uint32_t flags, int32_t fd, struct mt_rdelta *d);
int mt_regions__munmap(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
		       struct mt_rdelta *d);
/* new_addr is where the range ended up (the call's return value). */
int mt_regions__mremap(struct mt_regions *rs, uint64_t t_ns, uint64_t old_addr, uint64_t old_len,
		       uint64_t new_addr, uint64_t new_len, uint32_t flags, struct mt_rdelta *d);
/*
 * all_mapped: the call returned 0, so every page of the range is mapped and
 * ranges unknown to the model are learned as mapped before tracing began.
 * Otherwise (-ENOMEM: holes in the range) the advice is applied to the
 * regions the model knows, as the kernel applies it to the mapped parts.
 */
int mt_regions__madvise(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
			int advice, bool all_mapped, struct mt_rdelta *d);
/* !all_mapped (-ENOMEM): applied up to the first hole, as the kernel does. */
int mt_regions__mprotect(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
			 uint32_t prot, bool all_mapped, struct mt_rdelta *d);
/* The program break is now brk (the call's return value). */
int mt_regions__brk(struct mt_regions *rs, uint64_t t_ns, uint64_t brk, struct mt_rdelta *d);
/* Everything unmapped (execve); mappings are retired. */
void mt_regions__clear(struct mt_regions *rs, uint64_t t_ns);

uint64_t mt_regions__bytes(const struct mt_regions *rs, enum mt_rstate state);
size_t mt_regions__count(const struct mt_regions *rs);
/* Bytes in a released state whose last huge-page advice is MADV_HUGEPAGE. */
uint64_t mt_regions__released_thp(const struct mt_regions *rs);

/* Visit regions in address order; a non-zero return from fn stops and is returned. */
int mt_regions__foreach(const struct mt_regions *rs,
			int (*fn)(void *ctx, const struct mt_region_info *r), void *ctx);
/* Visit live mappings (creation order). */
int mt_regions__foreach_mapping(const struct mt_regions *rs,
				int (*fn)(void *ctx, const struct mt_mapping_info *m), void *ctx);

/* "anon", "shared anon", "file", "shared file", "heap", "pre-trace", "stack" */
const char *mt_rkind_name(enum mt_rkind k);

#endif
