// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who released the memory: release tallies per (program, stack id) while
 * streaming, symbolized and classified at the end. See releasers.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "madvtrace/advice.h"
#include "releasers.h"
#include "releasers_us.h"
#include "symbolize.h"

#define NONE UINT32_MAX


/* What one process ran, from its info records; a new one at each exec. */
struct image {
	uint32_t pid;
	char *exe, *build_id;
	uint64_t base;
	bool binary;   /* a "binary=" record: the recorder read the file */
	bool go;       /* a "go_version=" record */
	bool used;     /* a release was counted against it */
	uint32_t prog; /* index into progs once resolved, else NONE */
	/* its load base minus its program's: the processes of one PIE share one symbolizer */
	uint64_t delta;
};

/*
 * A program to symbolize: one per distinct (exe, build id), whatever address
 * each process loaded it at (its image's delta moves the addresses there).
 */
struct prog {
	uint32_t pid;
	char *exe, *build_id; /* exe NULL: not recorded (then never shared) */
	uint64_t base;
	char *error;
	struct mt_symbolizer *sym;
	bool go;
};

struct stack {
	uint32_t id, nr;
	uint64_t *ips;
};

struct entry {
	uint32_t image, stack_id;
	uint32_t stack; /* index into stacks, NONE when missing */
	uint32_t ustack; /* an unwound stack (releasers_us.h), NONE for a kernel stack */
	uint32_t kfrom;	 /* unwound, ending in Go: where the kernel's stack goes on */
	struct mt_rel_tally by[MT_RC_NR];
	uint8_t who;
	int16_t decisive;
};

/* Open addressing from a 64-bit key to an index. */
struct map {
	uint64_t *keys;
	uint32_t *vals;
	size_t n, cap;
};

struct mt_releasers {
	struct image *images;
	size_t nimages, capimages;
	struct map pid_image; /* pid -> its current image */
	struct stack *stacks;
	size_t nstacks, capstacks;
	struct map stack_ids; /* stack id -> stacks[] */
	struct entry *entries;
	size_t nentries, capentries;
	struct map entry_ids; /* image << 32 | stack id -> entries[] */
	struct prog *progs;
	size_t nprogs;
	struct mt_rel_summary sum;
	/* one symbol table per file, whatever paths the (untrusted) trace names it by */
	struct mt_symcache *cache;
	struct mt_rus *rus; /* unwound stacks, made at their first record */
	char *debug_dir;
	struct mt_rel_group *groups;
	size_t ngroups;
	bool resolved;
};

/* ---- names ---- */

static const char *const who_keys[MT_WHO_NR] = {
    [MT_WHO_SCAVENGER] = "bgscavenge",	  [MT_WHO_FREE_OS_MEMORY] = "free_os_memory",
    [MT_WHO_HEAP_GROWTH] = "heap_growth", [MT_WHO_STACK_SPAN] = "stack_span_free",
    [MT_WHO_GO_RUNTIME] = "go_runtime",	  [MT_WHO_GO_PROGRAM] = "go_program",
    [MT_WHO_C_ALLOCATOR] = "c_allocator",
    [MT_WHO_NON_GO] = "non_go",		  [MT_WHO_UNKNOWN] = "unknown",
    [MT_WHO_NO_STACK] = "no_stack",
};

static const char *const who_names[MT_WHO_NR] = {
    [MT_WHO_SCAVENGER] = "background scavenger (runtime.bgscavenge)",
    [MT_WHO_FREE_OS_MEMORY] = "debug.FreeOSMemory",
    [MT_WHO_HEAP_GROWTH] = "heap growth (runtime.(*mheap).grow)",
    [MT_WHO_STACK_SPAN] = "stack or span freeing",
    [MT_WHO_GO_RUNTIME] = "other Go runtime code",
    [MT_WHO_GO_PROGRAM] = "Go code outside the runtime",
    [MT_WHO_C_ALLOCATOR] = "a C allocator (free, purge, trim)",
    [MT_WHO_NON_GO] = "non-Go code (libc, C libraries)",
    [MT_WHO_UNKNOWN] = "unknown (no symbols)",
    [MT_WHO_NO_STACK] = "no stack recorded",
};

static const char *const call_names[MT_RC_NR] = {
    [MT_RC_FREE] = "MADV_FREE",	    [MT_RC_DONTNEED] = "MADV_DONTNEED",
    [MT_RC_REMOVE] = "MADV_REMOVE", [MT_RC_PROT_NONE] = "prot_none_remap",
    [MT_RC_MUNMAP] = "munmap",
};

const char *mt_releaser_key(enum mt_releaser w)
{
	return w < MT_WHO_NR ? who_keys[w] : "?";
}

const char *mt_releaser_name(enum mt_releaser w)
{
	return w < MT_WHO_NR ? who_names[w] : "?";
}

const char *mt_rel_call_name(enum mt_rel_call c)
{
	return c < MT_RC_NR ? call_names[c] : "?";
}

uint64_t mt_rel_released(const struct mt_rel_tally by[MT_RC_NR], uint64_t *calls)
{
	uint64_t b = 0, c = 0;

	for (int k = 0; k < MT_RC_NR; k++) {
		if (k == MT_RC_MUNMAP)
			continue;
		b += by[k].bytes;
		c += by[k].calls;
	}
	if (calls)
		*calls = c;
	return b;
}

/* ---- the map ---- */

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static uint32_t map_get(const struct map *m, uint64_t key)
{
	if (!m->cap)
		return NONE;
	for (size_t i = mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->vals[i] == NONE)
			return NONE;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

/* Insert or overwrite. 0 or -ENOMEM. */
static int map_put(struct map *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *keys = malloc(cap * sizeof(*keys));
		uint32_t *vals = malloc(cap * sizeof(*vals));

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		memset(vals, 0xff, cap * sizeof(*vals));
		for (size_t j = 0; j < m->cap; j++) {
			if (m->vals[j] == NONE)
				continue;
			for (i = mix(m->keys[j]) & (cap - 1); vals[i] != NONE;
			     i = (i + 1) & (cap - 1))
				;
			keys[i] = m->keys[j];
			vals[i] = m->vals[j];
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = cap;
	}
	for (i = mix(key) & (m->cap - 1); m->vals[i] != NONE; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
}

/* Room for one more element of size sz in *arr. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*arr, c * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- images ---- */

static uint32_t new_image(struct mt_releasers *r, uint32_t pid)
{
	struct image *im;

	if (grow((void **)&r->images, &r->capimages, r->nimages, sizeof(*im)))
		return NONE;
	im = &r->images[r->nimages];
	memset(im, 0, sizeof(*im));
	im->pid = pid;
	im->prog = NONE;
	if (map_put(&r->pid_image, pid, (uint32_t)r->nimages))
		return NONE;
	return (uint32_t)r->nimages++;
}

/* The image pid runs now; a new, empty one if nothing is known of it yet. */
static uint32_t image_of(struct mt_releasers *r, uint32_t pid)
{
	uint32_t i = map_get(&r->pid_image, pid);

	return i != NONE ? i : new_image(r, pid);
}

static bool image_empty(const struct image *im)
{
	return !im->exe && !im->build_id && !im->binary && !im->go && !im->base && !im->used;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int on_info(struct mt_releasers *r, const struct mt_hdr *rec)
{
	const struct mt_info *in = (const void *)rec;
	size_t n = rec->size > sizeof(*in) ? rec->size - sizeof(*in) : 0;
	const char *eq, *v;
	struct image *im;
	size_t klen, vlen;
	uint32_t i;

	n = strnlen(in->text, n);
	eq = memchr(in->text, '=', n);
	if (!eq)
		return 0;
	klen = (size_t)(eq - in->text);
	v = eq + 1;
	vlen = n - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(in->text, k, klen))
	if (!KEY("exe") && !KEY("exe_base") && !KEY("build_id") && !KEY("binary") &&
	    !KEY("go_version"))
		return 0;
	i = image_of(r, rec->pid);
	if (i == NONE)
		return -ENOMEM;
	/* a second exe for the same process: it runs something else now */
	if (KEY("exe") && r->images[i].exe && (i = new_image(r, rec->pid)) == NONE)
		return -ENOMEM;
	im = &r->images[i];
	if (KEY("exe")) {
		im->exe = dup_n(v, vlen);
		if (!im->exe)
			return -ENOMEM;
	} else if (KEY("build_id")) {
		free(im->build_id);
		im->build_id = dup_n(v, vlen);
		if (!im->build_id)
			return -ENOMEM;
	} else if (KEY("exe_base")) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%.*s", (int)vlen, v);
		im->base = strtoull(buf, NULL, 0);
	} else if (KEY("binary")) {
		im->binary = true;
	} else {
		im->go = true;
	}
#undef KEY
	return 0;
}

static int on_task(struct mt_releasers *r, const struct mt_hdr *rec)
{
	const struct mt_task *t = (const void *)rec;
	uint32_t i;

	if (t->event == MT_TASK_EXEC) {
		/* a new program: its info records follow */
		i = map_get(&r->pid_image, rec->pid);
		if (i != NONE && image_empty(&r->images[i]))
			return 0;
		return new_image(r, rec->pid) == NONE ? -ENOMEM : 0;
	}
	if (t->event == MT_TASK_FORK && t->other_pid) {
		/* the child runs its parent's program until it execs */
		i = image_of(r, rec->pid);
		if (i == NONE)
			return -ENOMEM;
		return map_put(&r->pid_image, t->other_pid, i);
	}
	return 0;
}

static int on_stack(struct mt_releasers *r, const struct mt_hdr *rec)
{
	const struct mt_stack *st = (const void *)rec;
	size_t room = rec->size > sizeof(*st) ? (rec->size - sizeof(*st)) / sizeof(uint64_t) : 0;
	uint32_t nr = st->nr;
	struct stack *s;

	r->sum.stack_records++;
	if (!st->id || map_get(&r->stack_ids, st->id) != NONE)
		return 0; /* written once per id; a repeat adds nothing */
	if (nr > room)
		nr = (uint32_t)room;
	if (nr > MT_MAX_STACK)
		nr = MT_MAX_STACK;
	if (grow((void **)&r->stacks, &r->capstacks, r->nstacks, sizeof(*s)))
		return -ENOMEM;
	s = &r->stacks[r->nstacks];
	s->id = st->id;
	s->nr = nr;
	s->ips = malloc((nr ? nr : 1) * sizeof(uint64_t));
	if (!s->ips)
		return -ENOMEM;
	memcpy(s->ips, st->ips, nr * sizeof(uint64_t));
	if (map_put(&r->stack_ids, st->id, (uint32_t)r->nstacks)) {
		free(s->ips);
		return -ENOMEM;
	}
	r->nstacks++;
	return 0;
}

/* What a record released, if anything: its call kind and bytes. */
static bool release_of(const struct mt_hdr *rec, uint64_t remap_bytes, enum mt_rel_call *k,
		       uint64_t *bytes)
{
	switch (rec->type) {
	case MT_MADVISE: {
		const struct mt_madvise *a = (const void *)rec;
		bool pm = rec->flags & MT_F_PROCESS_MADVISE;

		if (pm ? a->ret < 0 : a->ret != 0)
			return false;
		switch (mt_advice_class(a->advice)) {
		case MT_AC_LAZY:
			*k = MT_RC_FREE;
			break;
		case MT_AC_EAGER:
			*k = MT_RC_DONTNEED;
			break;
		case MT_AC_REMOVE:
			*k = MT_RC_REMOVE;
			break;
		default:
			return false;
		}
		*bytes = a->len;
		return true;
	}
	case MT_MUNMAP: {
		const struct mt_munmap *m = (const void *)rec;

		if (m->ret != 0)
			return false;
		*k = MT_RC_MUNMAP;
		*bytes = m->len;
		return true;
	}
	case MT_MMAP:
		if (!remap_bytes || rec->flags & MT_F_SYNTH)
			return false;
		*k = MT_RC_PROT_NONE;
		*bytes = remap_bytes;
		return true;
	default:
		return false;
	}
}

/* One release of pid by the stack (stack_id, or the unwound stack ustack). */
static int tally(struct mt_releasers *r, uint32_t pid, uint32_t stack_id, uint32_t ustack,
		 enum mt_rel_call k, uint64_t bytes)
{
	struct mt_rel_tally *t;
	struct entry *e;
	uint32_t im, i;
	uint64_t key;

	if (!stack_id && ustack == NONE) {
		r->sum.calls_without_stack++;
		t = &r->sum.by[MT_WHO_NO_STACK][k];
		t->calls++;
		t->bytes += bytes;
		return 0;
	}
	r->sum.calls_with_stack++;
	im = image_of(r, pid);
	if (im == NONE)
		return -ENOMEM;
	r->images[im].used = true;
	/* an unwound stack's key has the top bit set: never a stack id's */
	key = ustack != NONE ? 1ull << 63 | (uint64_t)im << 32 | ustack
			     : (uint64_t)im << 32 | stack_id;
	i = map_get(&r->entry_ids, key);
	if (i == NONE) {
		if (grow((void **)&r->entries, &r->capentries, r->nentries, sizeof(*e)))
			return -ENOMEM;
		e = &r->entries[r->nentries];
		memset(e, 0, sizeof(*e));
		e->image = im;
		e->stack_id = stack_id;
		e->stack = NONE;
		e->ustack = ustack;
		e->who = MT_WHO_UNKNOWN;
		e->decisive = -1;
		i = (uint32_t)r->nentries;
		if (map_put(&r->entry_ids, key, i))
			return -ENOMEM;
		r->nentries++;
	}
	t = &r->entries[i].by[k];
	t->calls++;
	t->bytes += bytes;
	return 0;
}

static int on_release(struct mt_releasers *r, const struct mt_hdr *rec, enum mt_rel_call k,
		      uint64_t bytes)
{
	struct mt_rus_call c = {rec->pid, rec->tid, rec->t_ns, rec->stack_id, (uint8_t)k, bytes},
			   old;

	if (!(rec->flags & MT_F_USTACK))
		return tally(r, rec->pid, rec->stack_id, NONE, k, bytes);
	if (!r->rus && !(r->rus = mt_rus__new(r->debug_dir)))
		return -ENOMEM;
	/* its registers and stack come in a record of their own, soon */
	if (!mt_rus__park(r->rus, &c, &old))
		return 0;
	r->sum.unpaired_calls++;
	return tally(r, old.pid, old.stack_id, NONE, (enum mt_rel_call)old.kind, old.bytes);
}

/* Count the calls the unwinder has finished with. */
static int take_unwound(struct mt_releasers *r)
{
	struct mt_rus_call c;
	uint32_t idx;
	int err;

	while (r->rus && mt_rus__take(r->rus, &c, &idx)) {
		r->sum.unwound_calls++;
		err = tally(r, c.pid, c.stack_id, idx, (enum mt_rel_call)c.kind, c.bytes);
		if (err)
			return err;
	}
	return 0;
}

static int on_ustack(struct mt_releasers *r, const struct mt_hdr *rec)
{
	int err;

	if (!r->rus)
		return 0; /* no call announced it */
	err = mt_rus__ustack(r->rus, rec);
	return err ? err : take_unwound(r);
}

/* ---- lifecycle and feeding ---- */

int mt_releasers__debug_dir(struct mt_releasers *r, const char *dirs)
{
	free(r->debug_dir);
	r->debug_dir = dirs ? strdup(dirs) : NULL;
	return dirs && !r->debug_dir ? -ENOMEM : 0;
}

struct mt_releasers *mt_releasers__new(void)
{
	struct mt_releasers *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cache = mt_symcache__new(0);
	if (!r->cache) {
		free(r);
		return NULL;
	}
	return r;
}

int mt_releasers__feed(struct mt_releasers *r, const struct mt_hdr *rec, uint64_t remap_bytes)
{
	enum mt_rel_call k;
	uint64_t bytes;

	if (r->resolved)
		return -EINVAL;
	switch (rec->type) {
	case MT_INFO:
		return on_info(r, rec);
	case MT_TASK:
		if (r->rus || (r->rus = mt_rus__new(r->debug_dir))) {
			int err = mt_rus__record(r->rus, rec);

			if (err)
				return err;
		}
		return on_task(r, rec);
	case MT_MAPPING: {
		int err;

		if (!r->rus && !(r->rus = mt_rus__new(r->debug_dir)))
			return -ENOMEM;
		err = mt_rus__record(r->rus, rec);
		return err ? err : take_unwound(r);
	}
	case MT_USTACK:
		return on_ustack(r, rec);
	case MT_STACK:
		return on_stack(r, rec);
	default:
		if (!release_of(rec, remap_bytes, &k, &bytes))
			return 0;
		return on_release(r, rec, k, bytes);
	}
}

/* ---- classification ---- */

struct pattern {
	const char *name; /* a function; "...." ending in '.': every method or function under it */
	enum mt_releaser who;
};

/*
 * Functions of the Go runtime that say why memory is released, from Go 1.12
 * to today (runtime/mgcscavenge.go, mheap.go, stack.go). The first frame
 * from the innermost outwards that matches decides; frames inside these
 * paths (runtime.madvise, sysUnused, (*pageAlloc).scavenge) match nothing.
 */
static const struct pattern patterns[] = {
    {"runtime.bgscavenge", MT_WHO_SCAVENGER},
    {"runtime.(*scavengerState).", MT_WHO_SCAVENGER},
    {"runtime.scavengeSleep", MT_WHO_SCAVENGER},
    /* Go 1.19: runtime.runtime_debug_freeOSMemory.func1; older: debug.freeOSMemory */
    {"runtime.runtime_debug_freeOSMemory", MT_WHO_FREE_OS_MEMORY},
    {"runtime/debug.FreeOSMemory", MT_WHO_FREE_OS_MEMORY},
    {"runtime/debug.freeOSMemory", MT_WHO_FREE_OS_MEMORY},
    {"runtime.(*mheap).scavengeAll", MT_WHO_FREE_OS_MEMORY}, /* only FreeOSMemory calls it */
    {"runtime.(*mheap).grow", MT_WHO_HEAP_GROWTH},
    {"runtime.(*mheap).allocSpan", MT_WHO_HEAP_GROWTH}, /* Go 1.19+: scavenges when it grows */
    {"runtime.(*mheap).sysAlloc", MT_WHO_HEAP_GROWTH},
    {"runtime.(*pageAlloc).grow", MT_WHO_HEAP_GROWTH},
    {"runtime.sysUsed", MT_WHO_HEAP_GROWTH},
    {"runtime.sysUsedOS", MT_WHO_HEAP_GROWTH},
    {"runtime.sysMap", MT_WHO_HEAP_GROWTH},
    {"runtime.sysMapOS", MT_WHO_HEAP_GROWTH},
    {"runtime.stackfree", MT_WHO_STACK_SPAN},
    {"runtime.stackpoolfree", MT_WHO_STACK_SPAN},
    {"runtime.stackcacherelease", MT_WHO_STACK_SPAN},
    {"runtime.stackcache_clear", MT_WHO_STACK_SPAN},
    {"runtime.freeStackSpans", MT_WHO_STACK_SPAN},
    {"runtime.(*mheap).freeSpan", MT_WHO_STACK_SPAN},
    {"runtime.(*mheap).freeSpanLocked", MT_WHO_STACK_SPAN},
    {"runtime.(*mheap).freeManual", MT_WHO_STACK_SPAN},
};

/* name is pat, or one of its closures (pat.func1, pat.func2.1); pat "x." matches all under it */
static bool matches(const char *name, const char *pat)
{
	size_t n = strlen(pat);

	if (strncmp(name, pat, n))
		return false;
	return pat[n - 1] == '.' || !name[n] || !strncmp(name + n, ".func", 5);
}

/* How the runtime maps and unmaps memory through libc in a cgo program (runtime/cgo/mmap.go). */
static bool cgo_mmap_wrapper(const char *name)
{
	static const char *const w[] = {"x_cgo_mmap",	       "x_cgo_munmap",
					"_cgo_mmap",	       "_cgo_munmap",
					"runtime.callCgoMmap", "runtime.callCgoMunmap"};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(name, w[i]))
			return true;
	return false;
}

/* A Go function name: a package path, a dot, a name; not a C function with a GCC suffix. */
static bool go_name(const char *name)
{
	static const char *const c_suffix[] = {".part.", ".isra.", ".constprop.", ".lto_priv.",
					       ".cold"};

	if (!strchr(name, '.'))
		return false;
	for (size_t i = 0; i < sizeof(c_suffix) / sizeof(c_suffix[0]); i++)
		if (strstr(name, c_suffix[i]))
			return false;
	return true;
}

/* The system-call plumbing of Go's standard library and x/sys: whoever called it decides. */
static bool syscall_plumbing(const char *name)
{
	return !strncmp(name, "syscall.", 8) || !strncmp(name, "runtime/internal/syscall.", 25) ||
	       !strncmp(name, "internal/syscall/", 17) ||
	       !strncmp(name, "golang.org/x/sys/unix.", 22);
}

static bool runtime_name(const char *name)
{
	return !strncmp(name, "runtime.", 8) || !strncmp(name, "runtime/", 8);
}

/* The names of one image's addresses: its program's symbolizer, at its load address. */
struct namer {
	const struct mt_symbolizer *sym;
	uint64_t delta;
};

static const char *frame_name(const struct namer *nm, const struct stack *s, uint32_t i,
			      uint64_t *offset)
{
	uint64_t ip = s->ips[i] - nm->delta, off = 0;
	const char *name;

	if (!nm->sym)
		return NULL;
	/* a return address points after its call, possibly into the next function */
	name = mt_symbolizer__name(nm->sym, i ? ip - 1 : ip, &off);
	if (offset)
		*offset = i ? off + 1 : off;
	return name;
}

/* No frame named a known releaser: the innermost code that made the call decides. */
static enum mt_releaser fallback(const struct namer *nm, const struct stack *s, bool go)
{
	for (uint32_t i = 0; i < s->nr; i++) {
		const char *name = frame_name(nm, s, i, NULL);

		if (!name) {
			/* outside the program's functions (libc, a shared library)... */
			uint32_t j = i + 1;
			const char *next = NULL;

			while (j < s->nr && !(next = frame_name(nm, s, j, NULL)))
				j++;
			/* ...unless it is libc's mmap called by the runtime of a cgo program */
			return next && cgo_mmap_wrapper(next) ? MT_WHO_GO_RUNTIME : MT_WHO_NON_GO;
		}
		if (cgo_mmap_wrapper(name))
			return MT_WHO_GO_RUNTIME;
		if (!go || !go_name(name))
			return MT_WHO_NON_GO;
		if (syscall_plumbing(name))
			continue;
		return runtime_name(name) ? MT_WHO_GO_RUNTIME : MT_WHO_GO_PROGRAM;
	}
	return s->nr ? MT_WHO_GO_PROGRAM : MT_WHO_UNKNOWN;
}

/*
 * Where the kernel's stack s goes on after an unwound stack ending in Go code
 * at go_pc: after that frame, or, when the kernel's walk skipped it (from C
 * code, its frame-pointer chain leads straight into Go's frames), at its
 * first frame past the first that names a Go function; s->nr (nothing) when
 * none does.
 */
static uint32_t kernel_from(const struct namer *nm, const struct stack *s, uint64_t go_pc)
{
	for (uint32_t i = 0; i < s->nr; i++)
		if (s->ips[i] == go_pc)
			return i + 1;
	for (uint32_t i = 1; nm->sym && i < s->nr; i++) {
		const char *name = frame_name(nm, s, i, NULL);

		if (name && go_name(name))
			return i;
	}
	return s->nr;
}

/* An unwound stack: its allocator and application frames; its Go part as Go's are. */
static bool classify_us(struct mt_releasers *r, struct entry *e, const struct namer *nm)
{
	const struct mt_rus_attr *at;
	const struct stack *s;
	uint32_t from;

	if (e->ustack == NONE)
		return false;
	at = mt_rus__attr(r->rus, e->ustack);
	e->who = (uint8_t)at->who;
	e->decisive = (int16_t)(at->alloc_frame >= 0 ? at->alloc_frame : at->app_frame);
	e->kfrom = e->stack != NONE ? r->stacks[e->stack].nr : 0;
	if (!at->go_tail || e->stack == NONE || !nm->sym)
		return true;
	/* cgo: the C side was unwound, the Go side is the kernel's walk */
	s = &r->stacks[e->stack];
	from = e->kfrom = kernel_from(nm, s, at->go_pc);
	for (uint32_t i = from; i < s->nr; i++) {
		const char *name = frame_name(nm, s, i, NULL);

		for (size_t k = 0; name && k < sizeof(patterns) / sizeof(patterns[0]); k++) {
			if (matches(name, patterns[k].name)) {
				e->who = (uint8_t)patterns[k].who;
				e->decisive = (int16_t)(at->go_from + (i - from));
				return true;
			}
		}
	}
	return true;
}

static void classify(struct mt_releasers *r, struct entry *e)
{
	const struct image *im = &r->images[e->image];
	const struct prog *p = im->prog != NONE ? &r->progs[im->prog] : NULL;
	struct namer nm = {p ? p->sym : NULL, im->delta};
	const struct stack *s;

	e->decisive = -1;
	e->who = MT_WHO_UNKNOWN;
	if (classify_us(r, e, &nm) || e->stack == NONE)
		return;
	s = &r->stacks[e->stack];
	if (!nm.sym) {
		/* without names, a program the trace says is not Go is still non-Go code */
		if (im->binary && !im->go && s->nr)
			e->who = MT_WHO_NON_GO;
		return;
	}
	for (uint32_t i = 0; i < s->nr; i++) {
		const char *name = frame_name(&nm, s, i, NULL);

		if (!name || strncmp(name, "runtime", 7))
			continue;
		for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
			if (matches(name, patterns[k].name)) {
				e->who = (uint8_t)patterns[k].who;
				e->decisive = (int16_t)i;
				return;
			}
		}
	}
	e->who = (uint8_t)fallback(&nm, s, p->go);
}

/* The program of an image: one symbolizer per distinct binary and load address. */
static int image_prog(struct mt_releasers *r, struct image *im, FILE *warn)
{
	char err[512];
	struct prog *p;

	if (im->prog != NONE)
		return 0;
	for (size_t i = 0; im->exe && i < r->nprogs; i++) {
		const struct prog *o = &r->progs[i];

		/* an unknown base (0) means unrelocated addresses: not the same */
		if (o->exe && !strcmp(o->exe, im->exe) && !o->base == !im->base &&
		    !strcmp(o->build_id, im->build_id ? im->build_id : "")) {
			im->prog = (uint32_t)i;
			im->delta = im->base - o->base;
			return 0;
		}
	}
	p = realloc(r->progs, (r->nprogs + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->progs = p;
	p = &r->progs[r->nprogs];
	memset(p, 0, sizeof(*p));
	p->pid = im->pid;
	p->go = im->go;
	im->prog = (uint32_t)r->nprogs++;
	r->sum.programs++;
	if (!im->exe) {
		r->sum.unsymbolized++;
		p->error = strdup("the trace does not say which program it ran (no exe record)");
		if (!p->error)
			return -ENOMEM;
		if (warn)
			fprintf(warn,
				"madvtrace: warning: pid %" PRIu32 ": the trace does not say which "
				"program it ran: its release stacks are counted as unknown\n",
				im->pid);
		return 0;
	}
	p->exe = strdup(im->exe);
	p->build_id = strdup(im->build_id ? im->build_id : "");
	p->base = im->base;
	if (!p->exe || !p->build_id)
		return -ENOMEM;
	p->sym = mt_symcache__open(r->cache, im->exe, im->base, im->build_id, err, sizeof(err));
	if (!p->sym) {
		r->sum.unsymbolized++;
		p->error = strdup(err);
		if (!p->error)
			return -ENOMEM;
		if (warn)
			fprintf(
			    warn,
			    "madvtrace: warning: no symbols for the release stacks of pid %" PRIu32
			    ": %s; they are counted as %s\n",
			    im->pid, err,
			    im->binary && !im->go ? "non-Go code" : "unknown (no symbols)");
		return 0;
	}
	/* Go's function table means Go, whatever the info records say */
	p->go = p->go || strstr(mt_symbolizer__source(p->sym), "gopclntab");
	return 0;
}

static bool go_from_start(const struct mt_releasers *r, const struct entry *e)
{
	const struct mt_rus_attr *at = mt_rus__attr(r->rus, e->ustack);

	return at->go_tail && at->go_from <= 1;
}

/* The unwound stacks' groups: one per label, with what its stacks released. */
static int add_group(struct mt_releasers *r, const struct entry *e)
{
	const struct mt_rus_attr *at = mt_rus__attr(r->rus, e->ustack);
	struct mt_rel_group *g = NULL;

	if (!at || !at->group)
		return 0;
	for (size_t i = 0; i < r->ngroups && !g; i++)
		if (!strcmp(r->groups[i].label, at->group))
			g = &r->groups[i];
	if (!g) {
		g = realloc(r->groups, (r->ngroups + 1) * sizeof(*g));
		if (!g)
			return -ENOMEM;
		r->groups = g;
		g = &r->groups[r->ngroups++];
		memset(g, 0, sizeof(*g));
		g->label = at->group;
		g->who = (enum mt_releaser)e->who;
	}
	for (int k = 0; k < MT_RC_NR; k++) {
		g->by[k].calls += e->by[k].calls;
		g->by[k].bytes += e->by[k].bytes;
	}
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct mt_rel_group *x = a, *y = b;
	uint64_t ux = x->by[MT_RC_MUNMAP].bytes, uy = y->by[MT_RC_MUNMAP].bytes;
	uint64_t rx = mt_rel_released(x->by, NULL), ry = mt_rel_released(y->by, NULL);

	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (ux != uy)
		return ux > uy ? -1 : 1;
	return strcmp(x->label, y->label);
}

int mt_releasers__resolve(struct mt_releasers *r, FILE *warn)
{
	struct mt_rus_call c;
	int err;

	if (r->resolved)
		return 0;
	/* calls whose stack never came: counted with the kernel's stack, if any */
	while (r->rus && mt_rus__unpaired(r->rus, &c)) {
		r->sum.unpaired_calls++;
		err = tally(r, c.pid, c.stack_id, NONE, (enum mt_rel_call)c.kind, c.bytes);
		if (err)
			return err;
	}
	if (r->rus) {
		err = mt_rus__flush(r->rus);
		if (!err)
			err = take_unwound(r);
		if (!err)
			err = mt_rus__resolve(r->rus);
		if (err)
			return err;
		r->sum.unmapped_stacks = mt_rus__unmapped(r->rus);
	}
	for (size_t i = 0; i < r->nentries; i++) {
		struct entry *e = &r->entries[i];

		e->stack = e->stack_id ? map_get(&r->stack_ids, e->stack_id) : NONE;
		/* Go from its first frame: the kernel's walk is the Go path, as without --stacks */
		if (e->ustack != NONE && e->stack != NONE && go_from_start(r, e))
			e->ustack = NONE;
		if (e->stack == NONE && e->ustack == NONE)
			r->sum.missing_stacks++;
		if (e->ustack != NONE)
			r->sum.unwound_stacks++;
		/* an unwound stack needs the program's names only for its Go part */
		if (e->ustack == NONE || e->stack != NONE) {
			err = image_prog(r, &r->images[e->image], warn);
			if (err)
				return err;
		}
		classify(r, e);
		for (int k = 0; k < MT_RC_NR; k++) {
			r->sum.by[e->who][k].calls += e->by[k].calls;
			r->sum.by[e->who][k].bytes += e->by[k].bytes;
		}
		if (e->ustack != NONE && (err = add_group(r, e)))
			return err;
	}
	if (r->ngroups)
		qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_group);
	if (r->sum.unpaired_calls && warn)
		fprintf(warn,
			"madvtrace: warning: %" PRIu64 " releasing call%s announced a user stack "
			"that is not in the trace (cut short?)\n",
			r->sum.unpaired_calls, r->sum.unpaired_calls == 1 ? "" : "s");
	if (r->sum.unmapped_stacks && warn)
		fprintf(warn,
			"madvtrace: warning: %" PRIu64 " release stack%s start%s in no file "
			"mapping the trace recorded (no mapping records for the process?): "
			"shown as addresses\n",
			r->sum.unmapped_stacks, r->sum.unmapped_stacks == 1 ? "" : "s",
			r->sum.unmapped_stacks == 1 ? "s" : "");
	r->sum.stacks = r->nentries;
	if (r->sum.missing_stacks && warn)
		fprintf(warn,
			"madvtrace: warning: %" PRIu64 " release stack%s referenced by records %s "
			"missing from the trace (cut short?): counted as unknown\n",
			r->sum.missing_stacks, r->sum.missing_stacks == 1 ? "" : "s",
			r->sum.missing_stacks == 1 ? "is" : "are");
	r->resolved = true;
	return 0;
}

const struct mt_rel_summary *mt_releasers__summary(const struct mt_releasers *r)
{
	return &r->sum;
}

static uint64_t entry_rank(const struct entry *e, uint64_t *unmapped)
{
	*unmapped = e->by[MT_RC_MUNMAP].bytes;
	return mt_rel_released(e->by, NULL);
}

static bool ranks_before(const struct mt_releasers *r, const struct entry *a, const struct entry *b)
{
	uint64_t ua, ub, ra = entry_rank(a, &ua), rb = entry_rank(b, &ub);

	if (ra != rb)
		return ra > rb;
	if (ua != ub)
		return ua > ub;
	if (r->images[a->image].pid != r->images[b->image].pid)
		return r->images[a->image].pid < r->images[b->image].pid;
	return a->stack_id < b->stack_id;
}

static void fill(const struct mt_releasers *r, const struct entry *e, struct mt_rel_stack *o)
{
	const struct image *im = &r->images[e->image];

	memset(o, 0, sizeof(*o));
	o->pid = im->pid;
	o->stack_id = e->stack_id;
	o->who = (enum mt_releaser)e->who;
	o->decisive = e->decisive;
	memcpy(o->by, e->by, sizeof(o->by));
	o->alloc_frame = o->app_frame = -1;
	if (e->ustack != NONE) {
		const struct mt_rus_attr *at = mt_rus__attr(r->rus, e->ustack);

		o->unwound = true;
		o->nframes = mt_rus__nframes(r->rus, e->ustack);
		o->alloc_frame = at->alloc_frame;
		o->app_frame = at->app_frame;
		o->group = at->group;
		if (at->go_tail && e->stack != NONE) {
			const struct stack *s = &r->stacks[e->stack];

			o->nframes = at->go_from + s->nr - e->kfrom;
		}
	} else if (e->stack != NONE) {
		o->nframes = r->stacks[e->stack].nr;
		o->ips = r->stacks[e->stack].ips;
	}
	o->exe = im->exe;
	o->entry = (uint32_t)(e - r->entries);
}

size_t mt_releasers__top(const struct mt_releasers *r, struct mt_rel_stack *out, size_t max)
{
	const struct entry *best[16];
	size_t n = 0;

	if (max > sizeof(best) / sizeof(best[0]))
		max = sizeof(best) / sizeof(best[0]);
	for (size_t i = 0; i < r->nentries && max; i++) {
		const struct entry *e = &r->entries[i];
		size_t j;

		if (n == max && !ranks_before(r, e, best[n - 1]))
			continue;
		j = n < max ? n++ : n - 1;
		while (j > 0 && ranks_before(r, e, best[j - 1])) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = e;
	}
	for (size_t i = 0; i < n; i++)
		fill(r, best[i], &out[i]);
	return n;
}

bool mt_releasers__stack_at(const struct mt_releasers *r, size_t i, struct mt_rel_stack *out)
{
	if (i >= r->nentries)
		return false;
	fill(r, &r->entries[i], out);
	return true;
}

const char *mt_releasers__frame(const struct mt_releasers *r, const struct mt_rel_stack *s,
				uint32_t i, uint64_t *offset)
{
	struct mt_rel_frame f;

	if (!mt_releasers__frame_at(r, s, i, &f))
		return NULL;
	if (offset)
		*offset = f.offset;
	return f.function;
}

bool mt_releasers__frame_at(const struct mt_releasers *r, const struct mt_rel_stack *st, uint32_t i,
			    struct mt_rel_frame *out)
{
	const struct entry *e;
	const struct image *im;
	const struct stack *s;
	uint32_t k;

	if (st->entry >= r->nentries || i >= st->nframes)
		return false;
	e = &r->entries[st->entry];
	im = &r->images[e->image];
	memset(out, 0, sizeof(*out));
	if (e->ustack != NONE) {
		const struct mt_rus_attr *at = mt_rus__attr(r->rus, e->ustack);

		if (!at->go_tail || e->stack == NONE || i < at->go_from)
			return mt_rus__frame(r->rus, e->ustack, i, out);
		s = &r->stacks[e->stack];
		k = i - at->go_from + e->kfrom;
	} else {
		if (e->stack == NONE)
			return false;
		s = &r->stacks[e->stack];
		k = i;
	}
	if (k >= s->nr)
		return false;
	out->ip = s->ips[k];
	out->kernel_walk = true;
	out->file = im->exe;
	if (im->prog != NONE)
		out->function = frame_name(&(struct namer){r->progs[im->prog].sym, im->delta}, s, k,
					   &out->offset);
	return true;
}

bool mt_releasers__group(const struct mt_releasers *r, size_t i, struct mt_rel_group *out)
{
	if (i >= r->ngroups)
		return false;
	*out = r->groups[i];
	return true;
}

bool mt_releasers__file(const struct mt_releasers *r, size_t i, struct mt_rel_file *out)
{
	return r->rus && r->resolved && mt_rus__file(r->rus, i, out);
}

bool mt_releasers__program(const struct mt_releasers *r, size_t i, uint32_t *pid, const char **exe,
			   const char **source, const char **error)
{
	const struct prog *p;

	if (i >= r->nprogs)
		return false;
	p = &r->progs[i];
	*pid = p->pid;
	*exe = p->exe;
	*source = p->sym ? mt_symbolizer__source(p->sym) : NULL;
	*error = p->error;
	return true;
}

void mt_releasers__free(struct mt_releasers *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nimages; i++) {
		free(r->images[i].exe);
		free(r->images[i].build_id);
	}
	for (size_t i = 0; i < r->nstacks; i++)
		free(r->stacks[i].ips);
	for (size_t i = 0; i < r->nprogs; i++) {
		free(r->progs[i].exe);
		free(r->progs[i].build_id);
		free(r->progs[i].error);
		mt_symbolizer__free(r->progs[i].sym);
	}
	free(r->images);
	free(r->stacks);
	free(r->entries);
	free(r->progs);
	map_free(&r->pid_image);
	map_free(&r->stack_ids);
	map_free(&r->entry_ids);
	mt_symcache__free(r->cache);
	mt_rus__free(r->rus);
	free(r->groups);
	free(r->debug_dir);
	free(r);
}
