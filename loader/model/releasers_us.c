// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unwound release stacks: pairing, unwinding at feed time, one copy per
 * distinct stack, symbolization and allocator attribution at the end
 * (releasers_us.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "releasers_us.h"
#include "unwind.h"

#define NONE UINT32_MAX
#define MAX_PARKED 4096 /* calls waiting for their stack; past it the oldest goes without */
/* stacks whose pc is in no mapping yet, kept (bytes and all) until one comes for their pid */
#define MAX_DEFERRED 256

/* One distinct unwound stack. */
struct ustk {
	uint64_t hash;
	uint32_t n;
	struct mt_uframe *f;
	/* after resolve */
	struct mt_rel_frame *lf;
	uint32_t nlf;
	struct mt_rus_attr attr;
};

/* A stack kept until its process's mappings are known. */
struct deferred {
	struct mt_rus_call c;
	struct mt_ustack *us;
};

/* An unwound call, for releasers.c to count. */
struct ready {
	struct mt_rus_call c;
	uint32_t idx;
};

struct mt_rus {
	struct mt_uw *uw;
	struct deferred deferred[MAX_DEFERRED];
	size_t ndeferred;
	struct ready *ready;
	size_t nready, capready, readpos;
	struct mt_rus_call *parked; /* a ring, oldest at head */
	size_t head, nparked;
	struct ustk *st;
	size_t nst, capst;
	uint32_t *hash; /* open addressing over st[] */
	size_t hashcap;
	char **groups;
	size_t ngroups;
	/* files the frames needed, by unwinder index, with their problem (after resolve) */
	struct mt_rel_file *files;
	size_t nfiles;
	bool *file_used, *file_named;
	uint64_t unmapped;
	struct mt_uframe scratch[MT_UW_MAX_FRAMES];
};

struct mt_rus *mt_rus__new(const char *debug_dir)
{
	struct mt_rus *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->uw = mt_uw__new(debug_dir);
	u->parked = calloc(MAX_PARKED, sizeof(*u->parked));
	if (!u->uw || !u->parked) {
		mt_rus__free(u);
		return NULL;
	}
	return u;
}

void mt_rus__free(struct mt_rus *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nst; i++) {
		free(u->st[i].f);
		free(u->st[i].lf);
	}
	for (size_t i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	for (size_t i = 0; i < u->ndeferred; i++)
		free(u->deferred[i].us);
	free(u->ready);
	free(u->st);
	free(u->hash);
	free(u->parked);
	free(u->files);
	free(u->file_used);
	free(u->file_named);
	mt_uw__free(u->uw);
	free(u);
}

static int retry(struct mt_rus *u, uint32_t pid, bool force);

int mt_rus__record(struct mt_rus *u, const struct mt_hdr *rec)
{
	const struct mt_task *t = (const void *)rec;

	if (rec->type == MT_MAPPING && rec->size >= sizeof(struct mt_mapping)) {
		int err = mt_uw__mapping(u->uw, (const void *)rec);

		return err ? err : retry(u, rec->pid, false);
	}
	if (rec->type != MT_TASK || rec->size < sizeof(*t))
		return 0;
	if (t->event == MT_TASK_FORK && t->other_pid)
		return mt_uw__fork(u->uw, rec->pid, t->other_pid);
	if (t->event == MT_TASK_EXEC) {
		/* the old program's stacks still waiting for mappings: none will come now */
		int err = retry(u, rec->pid, true);

		return err ? err : mt_uw__exec(u->uw, rec->pid, rec->t_ns);
	}
	return 0;
}

bool mt_rus__park(struct mt_rus *u, const struct mt_rus_call *c, struct mt_rus_call *out)
{
	bool full = u->nparked == MAX_PARKED;

	if (full) {
		*out = u->parked[u->head];
		u->head = (u->head + 1) % MAX_PARKED;
		u->nparked--;
	}
	u->parked[(u->head + u->nparked++) % MAX_PARKED] = *c;
	return full;
}

bool mt_rus__unpaired(struct mt_rus *u, struct mt_rus_call *out)
{
	if (!u->nparked)
		return false;
	*out = u->parked[u->head];
	u->head = (u->head + 1) % MAX_PARKED;
	u->nparked--;
	return true;
}

/* Take the parked call of (pid, tid, t_ns), newest first: it usually came just before. */
static bool unpark(struct mt_rus *u, const struct mt_hdr *h, struct mt_rus_call *out)
{
	for (size_t k = u->nparked; k-- > 0;) {
		size_t i = (u->head + k) % MAX_PARKED;
		struct mt_rus_call *c = &u->parked[i];

		if (c->pid != h->pid || c->tid != h->tid || c->t_ns != h->t_ns)
			continue;
		*out = *c;
		/* close the gap: move the newer ones down */
		for (size_t j = k; j + 1 < u->nparked; j++)
			u->parked[(u->head + j) % MAX_PARKED] =
			    u->parked[(u->head + j + 1) % MAX_PARKED];
		u->nparked--;
		return true;
	}
	return false;
}

static uint64_t hash_frames(const struct mt_uframe *f, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < n; i++) {
		uint64_t w[3] = {f[i].pc, f[i].file, f[i].caller};

		for (int k = 0; k < 3; k++) {
			h ^= w[k];
			h *= 0x100000001b3ull;
			h ^= h >> 29;
		}
	}
	return h ^ (uint64_t)n;
}

static int stack_index(struct mt_rus *u, const struct mt_uframe *f, int n, uint32_t *idx)
{
	uint64_t h = hash_frames(f, n);
	struct ustk *s;
	size_t i;

	if ((u->nst + 1) * 2 > u->hashcap) {
		size_t c = u->hashcap ? 2 * u->hashcap : 256;
		uint32_t *v = malloc(c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v, 0xff, c * sizeof(*v));
		for (size_t j = 0; j < u->nst; j++) {
			for (i = u->st[j].hash & (c - 1); v[i] != NONE; i = (i + 1) & (c - 1))
				;
			v[i] = (uint32_t)j;
		}
		free(u->hash);
		u->hash = v;
		u->hashcap = c;
	}
	for (i = h & (u->hashcap - 1); u->hash[i] != NONE; i = (i + 1) & (u->hashcap - 1)) {
		s = &u->st[u->hash[i]];
		if (s->hash == h && s->n == (uint32_t)n &&
		    !memcmp(s->f, f, (size_t)n * sizeof(*f))) {
			*idx = u->hash[i];
			return 0;
		}
	}
	if (u->nst == u->capst) {
		size_t c = u->capst ? 2 * u->capst : 64;
		struct ustk *v = realloc(u->st, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->st = v;
		u->capst = c;
	}
	s = &u->st[u->nst];
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->n = (uint32_t)n;
	s->f = malloc((n ? (size_t)n : 1) * sizeof(*f));
	if (!s->f)
		return -ENOMEM;
	memcpy(s->f, f, (size_t)n * sizeof(*f));
	u->hash[i] = (uint32_t)u->nst;
	*idx = (uint32_t)u->nst++;
	return 0;
}

static int push_ready(struct mt_rus *u, const struct mt_rus_call *c, uint32_t idx)
{
	if (u->readpos == u->nready)
		u->readpos = u->nready = 0;
	if (u->nready == u->capready) {
		size_t cap = u->capready ? 2 * u->capready : 16;
		struct ready *v = realloc(u->ready, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->ready = v;
		u->capready = cap;
	}
	u->ready[u->nready++] = (struct ready){*c, idx};
	return 0;
}

/*
 * Unwind us for c. Its pc in no mapping means the mapping records have not
 * come yet (they may follow the stack): kept, unless force or full.
 */
static int unwind(struct mt_rus *u, const struct mt_rus_call *c, const struct mt_ustack *us,
		  bool force, bool *kept)
{
	uint32_t idx;
	int n = mt_uw__unwind(u->uw, us, u->scratch, MT_UW_MAX_FRAMES);

	*kept = false;
	if (n < 0)
		return n;
	if (!force && n >= 1 && u->scratch[0].file == MT_UW_NOFILE &&
	    u->ndeferred < MAX_DEFERRED) {
		struct deferred *d = &u->deferred[u->ndeferred];

		d->us = malloc(us->h.size);
		if (d->us) {
			memcpy(d->us, us, us->h.size);
			d->c = *c;
			u->ndeferred++;
			*kept = true;
			return 0;
		}
	}
	/* the padding of each frame is zero: frames compare as bytes */
	if (stack_index(u, u->scratch, n, &idx))
		return -ENOMEM;
	return push_ready(u, c, idx);
}

/* The kept stacks of pid (0: of all), tried again; with force, unwound as they are. */
static int retry(struct mt_rus *u, uint32_t pid, bool force)
{
	size_t w = 0, n = u->ndeferred;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct deferred d = u->deferred[i];
		bool kept = false;

		if (!err && (!pid || d.c.pid == pid)) {
			u->ndeferred = w; /* what unwind() may keep again goes after the kept */
			err = unwind(u, &d.c, d.us, force, &kept);
			w = u->ndeferred;
			if (kept) {
				/* kept again: the copy it made replaces this one */
				free(d.us);
				continue;
			}
			free(d.us);
			if (!err)
				continue;
			d.us = NULL;
		}
		if (d.us)
			u->deferred[w++] = d;
	}
	u->ndeferred = w;
	return err;
}

int mt_rus__ustack(struct mt_rus *u, const struct mt_hdr *rec)
{
	struct mt_rus_call c;
	bool kept;

	if (rec->size < sizeof(struct mt_ustack) || !unpark(u, rec, &c))
		return 0;
	return unwind(u, &c, (const void *)rec, false, &kept);
}

bool mt_rus__take(struct mt_rus *u, struct mt_rus_call *call, uint32_t *idx)
{
	if (u->readpos == u->nready)
		return false;
	*call = u->ready[u->readpos].c;
	*idx = u->ready[u->readpos].idx;
	u->readpos++;
	return true;
}

int mt_rus__flush(struct mt_rus *u)
{
	return retry(u, 0, true);
}

/* ---- attribution ---- */

enum alloc { A_NONE = -1, A_GLIBC, A_JEMALLOC, A_TCMALLOC, A_MIMALLOC, A_NR };

static const char *const alloc_names[A_NR] = {"glibc malloc", "jemalloc", "tcmalloc", "mimalloc"};
/* the library of each (its own file: every frame in it is the allocator's) */
static const char *const alloc_libs[A_NR] = {NULL, "libjemalloc", "libtcmalloc", "libmimalloc"};

/* Release paths by allocator, most telling first: what a group is named after. */
static const struct {
	enum alloc a;
	const char *sub; /* a part of the function's name */
	const char *what;
} paths[] = {
    {A_GLIBC, "systrim", "systrim (heap top trimmed)"},
    {A_GLIBC, "munmap_chunk", "free of an mmapped chunk (munmap_chunk)"},
    {A_GLIBC, "shrink_heap", "arena heap shrink (shrink_heap)"},
    {A_GLIBC, "heap_trim", "arena heap trim (heap_trim)"},
    {A_GLIBC, "malloc_trim", "malloc_trim"},
    {A_GLIBC, "mremap_chunk", "realloc of an mmapped chunk (mremap_chunk)"},
    {A_GLIBC, "new_heap", "new arena heap, its alignment trimmed (new_heap)"},
    {A_GLIBC, "_int_free", "free (_int_free)"},
    {A_JEMALLOC, "decay", "decay purge"},
    {A_JEMALLOC, "purge", "purge"},
    {A_TCMALLOC, "ReleaseAtLeastNPages", "page-heap release (ReleaseAtLeastNPages)"},
    {A_TCMALLOC, "ReleaseToSystem", "release to system (ReleaseToSystem)"},
    {A_TCMALLOC, "ReleaseFreeMemory", "release of free memory (ReleaseFreeMemory)"},
    {A_TCMALLOC, "IncrementalScavenge", "incremental scavenge"},
    {A_TCMALLOC, "SystemRelease", "system release (TCMalloc_SystemRelease)"},
    {A_MIMALLOC, "purge", "purge"},
    {A_MIMALLOC, "decommit", "decommit"},
    {A_MIMALLOC, "_mi_os_reset", "reset"},
    {A_MIMALLOC, "mi_collect", "collect"},
};

/* glibc's malloc functions (a static program has them too, under these names) */
static const char *const glibc_fns[] = {
    "free", "cfree", "__libc_free", "_int_free", "systrim", "munmap_chunk", "malloc_trim",
    "__malloc_trim", "mtrim", "heap_trim", "shrink_heap", "realloc", "__libc_realloc",
    "_int_realloc", "mremap_chunk", "_int_free_merge_chunk", "_int_free_create_chunk",
    "_int_free_maybe_consolidate", "malloc_consolidate", "tcache_thread_shutdown",
    "arena_thread_freeres", "__libc_freeres", "sysmalloc",
    /* a thread's first malloc makes its arena: new_heap maps twice the size and unmaps the excess */
    "malloc", "__libc_malloc", "_int_malloc", "calloc", "__libc_calloc", "tcache_init",
    "arena_get2", "arena_get_retry", "_int_new_arena", "new_heap", "alloc_new_heap",
};

/* fn is name, or a copy of it the compiler made (name.part.0, name.isra.0, name.cold) */
static bool same_fn(const char *fn, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(fn, name, n) && (fn[n] == '\0' || fn[n] == '.');
}

/* The system-call wrappers the releasing call goes through: never who released it. */
static bool wrapper(const char *fn)
{
	static const char *const w[] = {"madvise", "munmap",  "mremap", "mmap", "mmap64",
					"syscall", "brk",     "sbrk",	"posix_madvise"};

	if (!fn)
		return false;
	if (!strncmp(fn, "__GI_", 5))
		fn += 5;
	while (*fn == '_')
		fn++;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(fn, w[i]))
			return true;
	return false;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static bool is_libc(const char *path)
{
	const char *b = base_name(path);

	return b && (!strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5));
}

static enum alloc alloc_of(const struct mt_rel_frame *f)
{
	const char *b = base_name(f->file), *fn = f->function;

	for (int a = A_JEMALLOC; a < A_NR; a++)
		if (b && strstr(b, alloc_libs[a]))
			return (enum alloc)a;
	if (!fn)
		return A_NONE;
	if (!strncmp(fn, "__GI_", 5))
		fn += 5;
	/* glibc's malloc, in libc or linked into a static program */
	for (size_t i = 0; i < sizeof(glibc_fns) / sizeof(glibc_fns[0]); i++)
		if (same_fn(fn, glibc_fns[i]))
			return is_libc(f->file) || !strstr(b ? b : "", ".so") ? A_GLIBC : A_NONE;
	if (!strncmp(fn, "je_", 3))
		return A_JEMALLOC;
	if (!strncmp(fn, "mi_", 3) || !strncmp(fn, "_mi_", 4))
		return A_MIMALLOC;
	if (!strncmp(fn, "tcmalloc::", 10) || strstr(fn, "TCMalloc"))
		return A_TCMALLOC;
	return A_NONE;
}

/* "cache_evict (app.c:212)", "cache_evict", "libx.so+0x1f0", "0x7f..." */
static void describe(const struct mt_rel_frame *f, char *buf, size_t len)
{
	const char *src = f->src ? base_name(f->src) : NULL;

	if (f->function && src && f->line)
		snprintf(buf, len, "%s (%s:%u)", f->function, src, f->line);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (f->file)
		snprintf(buf, len, "%s+0x%llx", base_name(f->file),
			 (unsigned long long)f->file_offset);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)f->ip);
}

static int attribute(struct mt_rus *u, struct ustk *s)
{
	struct mt_rus_attr *at = &s->attr;
	char app[600], alloc[300], *g;
	enum alloc a = A_NONE;
	uint32_t i = 0, run_end;

	at->alloc_frame = at->app_frame = -1;
	at->who = MT_WHO_UNKNOWN;
	while (i < s->nlf && wrapper(s->lf[i].function))
		i++;
	if (i < s->nlf)
		a = alloc_of(&s->lf[i]);
	run_end = i;
	if (a != A_NONE) {
		/* the allocator's frames: its library, its functions, libc wrappers between */
		while (run_end < s->nlf &&
		       (alloc_of(&s->lf[run_end]) == a || wrapper(s->lf[run_end].function)))
			run_end++;
		for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]) && at->alloc_frame < 0; p++)
			for (uint32_t k = i; k < run_end && paths[p].a == a; k++)
				if (s->lf[k].function && strstr(s->lf[k].function, paths[p].sub)) {
					at->alloc_frame = (int)k;
					snprintf(alloc, sizeof(alloc), "%s %s", alloc_names[a],
						 paths[p].what);
					break;
				}
		for (uint32_t k = i; k < run_end && at->alloc_frame < 0; k++)
			if (s->lf[k].function) {
				at->alloc_frame = (int)k;
				snprintf(alloc, sizeof(alloc), "%s %s", alloc_names[a],
					 s->lf[k].function);
			}
		if (at->alloc_frame < 0) {
			at->alloc_frame = (int)i;
			snprintf(alloc, sizeof(alloc), "%s (%s: no symbols)", alloc_names[a],
				 base_name(s->lf[i].file));
		}
		at->who = MT_WHO_C_ALLOCATOR;
	}
	if (run_end < s->nlf) {
		at->app_frame = (int)run_end;
		describe(&s->lf[run_end], app, sizeof(app));
		if (a == A_NONE)
			at->who = s->lf[run_end].function || s->lf[run_end].file ? MT_WHO_NON_GO
										: MT_WHO_UNKNOWN;
	}
	if (a == A_NONE && at->app_frame < 0)
		return 0;
	if (a != A_NONE && at->app_frame >= 0) {
		size_t n = strlen(alloc) + strlen(app) + 8;

		g = malloc(n);
		if (g)
			snprintf(g, n, "%s \u2190 %s", alloc, app);
	} else {
		g = strdup(a != A_NONE ? alloc : app);
	}
	if (!g)
		return -ENOMEM;
	{
		char **v = realloc(u->groups, (u->ngroups + 1) * sizeof(*v));

		if (!v) {
			free(g);
			return -ENOMEM;
		}
		u->groups = v;
		u->groups[u->ngroups++] = g;
	}
	at->group = g;
	return 0;
}

/* A Go function's name ("runtime.asmcgocall.abi0"), not a C one of a cgo program. */
static bool go_function(const char *name)
{
	return name && strchr(name, '.') && !strchr(name, ' ') && strncmp(name, "_cgo", 4) &&
	       !strstr(name, ".part.") && !strstr(name, ".isra.") && !strstr(name, ".constprop.");
}

/* Every logical frame of s (inlined calls expanded), and what the files said. */
static int symbolize(struct mt_rus *u, struct ustk *s)
{
	struct mt_usym sy[17];
	size_t cap = s->n + 8;

	s->lf = calloc(cap, sizeof(*s->lf));
	if (!s->lf)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct mt_uframe *f = &s->f[i];
		struct mt_uw_file fi = {0};
		int n = mt_uw__symbolize(u->uw, f, sy, 17);
		bool have_file = mt_uw__file(u->uw, f->file, &fi);

		/* the preload agent's own frames, where it took the stack: not the program's */
		if (have_file && !s->nlf && !strncmp(base_name(fi.path), "libmadvtrace-agent", 18))
			continue;
		/* a Go program's frames are the kernel's walk's to name (.gopclntab) */
		if (have_file && !f->go) {
			u->file_used[f->file] = true;
			u->file_named[f->file] |= n > 0;
		}
		if (s->nlf + (size_t)(n ? n : 1) > cap) {
			struct mt_rel_frame *v;

			cap = 2 * cap + (size_t)n;
			v = realloc(s->lf, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			s->lf = v;
		}
		for (int k = 0; k < (n ? n : 1); k++) {
			struct mt_rel_frame *o = &s->lf[s->nlf++];

			*o = (struct mt_rel_frame){.ip = f->pc, .file = have_file ? fi.path : NULL,
						   .file_offset = f->rel, .go_file = f->go};
			if (!n)
				continue;
			o->function = sy[k].function;
			o->offset = sy[k].offset;
			o->src = sy[k].src;
			o->line = sy[k].line;
			o->inlined = sy[k].inlined;
		}
		/*
		 * Go code (not the C of a cgo program, in the same file): the unwinder
		 * cannot follow Go's switch from the system stack back to the
		 * goroutine's, so the kernel's walk of the call goes on from here.
		 */
		/* (a stripped Go program names nothing here: the kernel's walk names it) */
		if (!s->attr.go_tail && f->go &&
		    (!n || go_function(s->lf[s->nlf - 1].function))) {
			s->attr.go_tail = true;
			s->attr.go_from = s->nlf;
			s->attr.go_pc = f->pc;
			break;
		}
	}
	return attribute(u, s);
}

int mt_rus__resolve(struct mt_rus *u)
{
	struct mt_uw_file fi;
	size_t nf = 0;
	int err;

	while (mt_uw__file(u->uw, (uint32_t)nf, &fi))
		nf++;
	u->file_used = calloc(nf + 1, sizeof(bool));
	u->file_named = calloc(nf + 1, sizeof(bool));
	u->files = calloc(nf + 1, sizeof(*u->files));
	if (!u->file_used || !u->file_named || !u->files)
		return -ENOMEM;
	for (size_t i = 0; i < u->nst; i++) {
		err = symbolize(u, &u->st[i]);
		if (err)
			return err;
		u->unmapped += u->st[i].n && u->st[i].f[0].file == MT_UW_NOFILE;
	}
	for (uint32_t i = 0; i < nf; i++) {
		if (!u->file_used[i] || !mt_uw__file(u->uw, i, &fi))
			continue;
		if (fi.state != MT_UWF_OK)
			u->files[u->nfiles++] = (struct mt_rel_file){fi.path, fi.reason};
		else if (!u->file_named[i])
			u->files[u->nfiles++] = (struct mt_rel_file){
			    fi.path, "no symbol covers the frames in it (stripped of its "
				     "internal functions, and no debug file found by build id or "
				     "debuglink)"};
	}
	return 0;
}

uint32_t mt_rus__nframes(const struct mt_rus *u, uint32_t idx)
{
	return idx < u->nst ? u->st[idx].nlf : 0;
}

bool mt_rus__frame(const struct mt_rus *u, uint32_t idx, uint32_t i, struct mt_rel_frame *out)
{
	if (idx >= u->nst || i >= u->st[idx].nlf)
		return false;
	*out = u->st[idx].lf[i];
	return true;
}

const struct mt_rus_attr *mt_rus__attr(const struct mt_rus *u, uint32_t idx)
{
	return idx < u->nst ? &u->st[idx].attr : NULL;
}

uint64_t mt_rus__unmapped(const struct mt_rus *u)
{
	return u->unmapped;
}

bool mt_rus__file(const struct mt_rus *u, size_t i, struct mt_rel_file *out)
{
	if (i >= u->nfiles)
		return false;
	*out = u->files[i];
	return true;
}
