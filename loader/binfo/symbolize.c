// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization from the binary on disk.
 *
 * Go's function table (.gopclntab) layouts, as the Go runtime defines them
 * (runtime/symtab.go pcHeader, functab, _func) and debug/gosym reads them:
 * - Go 1.18/1.19 (magic 0xfffffff0) and 1.20+ (0xfffffff1): header words
 *   nfunc, nfiles, textStart, funcnameOffset, cuOffset, filetabOffset,
 *   pctabOffset, pclnOffset; at pclnOffset nfunc+1 pairs of u32
 *   {entryoff, funcoff}; the _func at pclnOffset+funcoff has u32 entryOff
 *   then i32 nameOff into the name table.
 * - Go 1.16/1.17 (0xfffffffa): the same without textStart, and pointer-sized
 *   {entry, funcoff} pairs; _func starts with a pointer-sized entry.
 * - Go 1.2 to 1.15 (0xfffffffb): nfunc at 8, pairs at 8+ptrsize, offsets
 *   (names too) relative to the table's start.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elffile.h"
#include "symbolize.h"

#define GO_MAGIC_12 0xfffffffbu
#define GO_MAGIC_116 0xfffffffau
#define GO_MAGIC_118 0xfffffff0u
#define GO_MAGIC_120 0xfffffff1u
#define MAX_NAME 4096 /* longer "names" are corruption */
#define LINK_PAGE 4096ull
#define BACK_SCAN 16 /* entries looked at below a nested symbol's end */
#define MAX_DEEP_CANDIDATES 8 /* tables found by their magic and walked, at most */

enum src { SRC_PCLNTAB, SRC_SYMTAB, SRC_DYNSYM };

struct sym {
	uint64_t addr, end; /* link-time [addr, end) */
	const char *name;
	uint8_t src;
};

/* What one file says, shared by every handle on it (aliases, other load bases). */
struct table {
	struct mt_elf *elf;
	struct sym *syms;
	size_t n, cap;
	uint64_t link_base;
	uint64_t text; /* runtime.text, looked up once */
	bool text_done;
	bool from[3];
	char source[40];
	unsigned refs;
};

struct mt_symbolizer {
	struct table *t;
	uint64_t bias; /* runtime address = link-time address + bias */
};

static int add(struct table *s, uint64_t addr, uint64_t end, const char *name, enum src src)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct sym *n = realloc(s->syms, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->syms = n;
		s->cap = cap;
	}
	s->syms[s->n++] = (struct sym){addr, end, name, (uint8_t)src};
	return 0;
}

/* ---- Go's function table ---- */

struct pcln {
	const struct mt_elf *e;
	const uint8_t *t;
	uint64_t len;
	unsigned ptr;
};

static bool in(const struct pcln *p, uint64_t off, uint64_t n)
{
	return off <= p->len && n <= p->len - off;
}

static uint64_t word(const struct pcln *p, uint64_t off)
{
	return mt_elf__word(p->e, p->t + off, p->ptr);
}

/* A NUL-terminated name at off, or NULL. */
static const char *name_at(const struct pcln *p, uint64_t off)
{
	uint64_t room;

	if (off >= p->len)
		return NULL;
	room = p->len - off < MAX_NAME ? p->len - off : MAX_NAME;
	return memchr(p->t + off, '\0', room) && p->t[off] ? (const char *)p->t + off : NULL;
}

/* Where the functions of a Go 1.18+ table start, at run time as at link time. */
static uint64_t text_start(struct table *s, uint64_t from_header)
{
	const struct mt_elf_sec *text;
	uint64_t v, sz;

	/* the linker writes it (also for PIEs, where it is relocated again at run time) */
	if (from_header && mt_elf__vaddr_exec(s->elf, from_header))
		return from_header;
	/* once: every candidate table of a magic scan asks */
	if (!s->text_done) {
		s->text_done = true;
		if (mt_elf__symbol(s->elf, "runtime.text", &v, &sz)) {
			s->text = v;
		} else {
			text = mt_elf__section(s->elf, ".text");
			s->text = text ? text->addr : 0;
		}
	}
	return s->text;
}

/*
 * Add the functions of a table; returns how many, or -1 if it is not a
 * valid table (nothing is kept then), -ENOMEM.
 */
static long parse_pclntab(struct table *s, const uint8_t *t, uint64_t len, unsigned *deep)
{
	struct pcln p = {.e = s->elf, .t = t, .len = len};
	uint64_t nfunc, names = 0, ftab, fdata, fsize, text = 0, prev = 0;
	size_t start = s->n;
	uint32_t magic;
	bool v118, v116;

	if (len < 16)
		return -1;
	magic = mt_elf__u32(s->elf, t);
	v118 = magic == GO_MAGIC_118 || magic == GO_MAGIC_120;
	v116 = magic == GO_MAGIC_116;
	if ((!v118 && !v116 && magic != GO_MAGIC_12) || t[4] || t[5] ||
	    (t[6] != 1 && t[6] != 2 && t[6] != 4) || (t[7] != 4 && t[7] != 8))
		return -1;
	p.ptr = t[7];
	if (!in(&p, 8, 8ull * p.ptr))
		return -1;
	nfunc = word(&p, 8);
	if (v118) {
		text = text_start(s, word(&p, 8 + 2 * p.ptr));
		names = word(&p, 8 + 3 * p.ptr);
		ftab = fdata = word(&p, 8 + 7 * p.ptr);
		fsize = 8;
	} else if (v116) {
		names = word(&p, 8 + 2 * p.ptr);
		ftab = fdata = word(&p, 8 + 6 * p.ptr);
		fsize = 2ull * p.ptr;
	} else {
		ftab = 8 + p.ptr;
		fdata = 0;
		fsize = 2ull * p.ptr;
	}
	if (!nfunc || nfunc > len / fsize || !in(&p, ftab, (nfunc + 1) * fsize) || (v118 && !text))
		return -1;
	/* a table walked entry by entry: what a magic scan counts (see load_pclntab) */
	(*deep)++;
	for (uint64_t i = 0; i < nfunc; i++) {
		uint64_t at = ftab + i * fsize, entry, end, func, name;
		int32_t nameoff;
		const char *nm;

		if (v118) {
			entry = text + mt_elf__u32(s->elf, t + at);
			end = text + mt_elf__u32(s->elf, t + at + fsize);
			func = fdata + mt_elf__u32(s->elf, t + at + 4);
			if (!in(&p, func, 8))
				goto bad;
			nameoff = (int32_t)mt_elf__u32(s->elf, t + func + 4);
		} else {
			entry = word(&p, at);
			end = word(&p, at + fsize);
			func = fdata + word(&p, at + p.ptr);
			if (!in(&p, func, p.ptr + 4ull))
				goto bad;
			nameoff = (int32_t)mt_elf__u32(s->elf, t + func + p.ptr);
		}
		/* sorted by address, as the runtime's binary search needs */
		if (entry < prev || end < entry || nameoff < 0)
			goto bad;
		prev = entry;
		name = names + (uint64_t)nameoff;
		nm = name_at(&p, name);
		if (!nm)
			goto bad;
		if (add(s, entry, end > entry ? end : entry + 1, nm, SRC_PCLNTAB))
			return -ENOMEM;
	}
	return (long)(s->n - start);
bad:
	s->n = start;
	return -1;
}

static bool is_magic(const struct mt_elf *e, const uint8_t *p)
{
	uint32_t m = mt_elf__u32(e, p);

	return m == GO_MAGIC_120 || m == GO_MAGIC_118 || m == GO_MAGIC_116 || m == GO_MAGIC_12;
}

/*
 * Find and read the table: its own section (".data.rel.ro.gopclntab" in a
 * PIE), the runtime.pclntab symbol, or, in a stripped PIE linked by the
 * system linker (which merges the section into .data.rel.ro), by its magic.
 */
static long load_pclntab(struct table *s)
{
	static const char *const names[] = {".gopclntab", ".data.rel.ro.gopclntab"};
	struct mt_elf *e = s->elf;
	uint64_t v, sz, ev, esz;
	const uint8_t *p, *d;
	unsigned deep = 0;
	long n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct mt_elf_sec *sec = mt_elf__section(e, names[i]);

		d = sec ? mt_elf__section_data(e, sec) : NULL;
		if (d)
			return parse_pclntab(s, d, sec->size, &deep);
	}
	if (mt_elf__symbol(e, "runtime.pclntab", &v, &sz) &&
	    mt_elf__symbol(e, "runtime.epclntab", &ev, &esz) && ev > v) {
		p = mt_elf__at_vaddr(e, v, ev - v);
		if (p)
			return parse_pclntab(s, p, ev - v, &deep);
	}
	/*
	 * Each candidate that passes the header checks may cost a walk of the
	 * rest of the section: a few at most, or crafted data full of magic
	 * numbers makes the scan quadratic. A real table is the first.
	 */
	for (size_t i = 0; i < mt_elf__nsections(e) && deep < MAX_DEEP_CANDIDATES; i++) {
		const struct mt_elf_sec *sec = mt_elf__section_at(e, i);

		if (sec->type != SHT_PROGBITS || !(sec->flags & SHF_ALLOC) ||
		    (sec->flags & SHF_EXECINSTR))
			continue;
		d = mt_elf__section_data(e, sec);
		if (!d)
			continue;
		for (uint64_t o = (8 - (sec->addr & 7)) & 7;
		     o + 16 <= sec->size && deep < MAX_DEEP_CANDIDATES; o += 8) {
			if (!is_magic(e, d + o))
				continue;
			n = parse_pclntab(s, d + o, sec->size - o, &deep);
			if (n != -1)
				return n;
		}
	}
	return 0;
}

/* ---- ELF symbols ---- */

struct sym_ctx {
	struct table *s;
	enum src src;
	int err;
};

static int sym_fn(void *ctx, const char *name, uint64_t value, uint64_t size, unsigned type,
		  unsigned shndx)
{
	struct sym_ctx *c = ctx;

	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || shndx == SHN_UNDEF || !value ||
	    !name[0] || !mt_elf__vaddr_exec(c->s->elf, value))
		return 0;
	/* end 0: the symbol has no size; it is given one once the table is sorted */
	c->err = add(c->s, value, size ? value + size : 0, name, c->src);
	return c->err;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->src - (int)y->src; /* at one address, prefer Go's name, then .symtab */
}

static void finish_table(struct table *s)
{
	size_t out = 0;

	if (!s->n)
		return;
	qsort(s->syms, s->n, sizeof(*s->syms), cmp_sym);
	for (size_t i = 0; i < s->n; i++) {
		if (out && s->syms[out - 1].addr == s->syms[i].addr)
			continue;
		s->syms[out++] = s->syms[i];
	}
	s->n = out;
	for (size_t i = 0; i < s->n; i++) {
		struct sym *y = &s->syms[i];

		if (y->end)
			continue;
		y->end = mt_elf__exec_end(s->elf, y->addr);
		if (i + 1 < s->n && s->syms[i + 1].addr < y->end)
			y->end = s->syms[i + 1].addr;
	}
}

static uint64_t link_base(const struct mt_elf *e)
{
	const struct mt_elf_seg *best = NULL;

	/* the segment the file-offset-0 mapping comes from */
	for (size_t i = 0; i < mt_elf__nsegments(e); i++) {
		const struct mt_elf_seg *g = mt_elf__segment_at(e, i);

		if (g->type == PT_LOAD && g->off < LINK_PAGE && (!best || g->vaddr < best->vaddr))
			best = g;
	}
	if (!best)
		best = mt_elf__first_load(e);
	return best ? best->vaddr & ~(LINK_PAGE - 1) : 0;
}

static bool build_id_matches(const struct mt_elf *e, const char *want)
{
	const char *gnu = mt_elf__gnu_build_id(e), *go = mt_elf__go_build_id(e);

	if (!strcmp(want, mt_elf__identity(e)))
		return true;
	/* also a bare id of either kind */
	if (gnu[0] && !strcasecmp(want, gnu))
		return true;
	return go[0] && (!strcmp(want, go) || (!strncmp(want, "go:", 3) && !strcmp(want + 3, go)));
}


static void table_put(struct table *t)
{
	if (!t || --t->refs)
		return;
	mt_elf__free(t->elf);
	free(t->syms);
	free(t);
}

/* The functions of the ELF file on fd (taken over). NULL with one line in err. */
static struct table *table_build(int fd, const char *path, uint64_t read_max, char *err,
				 size_t errlen)
{
	struct table *s = calloc(1, sizeof(*s));
	struct sym_ctx c;
	long n;

	if (!s) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->refs = 1;
	s->elf = mt_elf__open_fd(fd, path, read_max, err, errlen);
	if (!s->elf)
		goto fail;
	s->link_base = link_base(s->elf);
	n = load_pclntab(s);
	if (n == -ENOMEM)
		goto nomem;
	s->from[SRC_PCLNTAB] = n > 0;
	for (int src = SRC_SYMTAB; src <= SRC_DYNSYM; src++) {
		size_t before = s->n;

		c = (struct sym_ctx){.s = s, .src = src};
		mt_elf__foreach_symbol(s->elf, src == SRC_DYNSYM, sym_fn, &c);
		if (c.err)
			goto nomem;
		s->from[src] = s->n > before;
	}
	finish_table(s);
	/* the names stay in what was read; the file is not needed any more */
	mt_elf__close_file(s->elf);
	snprintf(s->source, sizeof(s->source), "%s%s%s%s%s", s->from[0] ? "gopclntab" : "",
		 s->from[0] && (s->from[1] || s->from[2]) ? "+" : "", s->from[1] ? "symtab" : "",
		 s->from[1] && s->from[2] ? "+" : "", s->from[2] ? "dynsym" : "");
	if (!s->source[0])
		snprintf(s->source, sizeof(s->source), "none");
	return s;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	mt_elf__one_line(err);
	table_put(s);
	return NULL;
}

/* A handle on t at load_base, if t is the file the trace recorded. */
static struct mt_symbolizer *handle_new(struct table *t, const char *path, uint64_t load_base,
					const char *expected_build_id, char *err, size_t errlen)
{
	struct mt_symbolizer *h;

	if (expected_build_id && expected_build_id[0] &&
	    !build_id_matches(t->elf, expected_build_id)) {
		const char *have = mt_elf__identity(t->elf);

		if (have[0])
			snprintf(err, errlen,
				 "%s: build id %s, but the trace recorded %s: the file changed "
				 "since recording, not symbolizing with it",
				 path, have, expected_build_id);
		else
			snprintf(err, errlen,
				 "%s: no build id, but the trace recorded %s: cannot tell it is "
				 "the same file, not symbolizing with it",
				 path, expected_build_id);
		mt_elf__one_line(err);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->t = t;
	t->refs++;
	if (mt_elf__type(t->elf) == ET_DYN && load_base)
		h->bias = load_base - t->link_base;
	return h;
}

/* ---- the cache: one table per file, whatever path names it ---- */

struct centry {
	dev_t dev;
	ino_t ino;
	struct table *t; /* NULL: the file was refused, for reason err */
	char *err;
};

struct mt_symcache {
	struct centry *v;
	size_t n, cap;
	uint64_t budget; /* bytes all files together may still have read */
};

struct mt_symcache *mt_symcache__new(uint64_t budget)
{
	struct mt_symcache *c = calloc(1, sizeof(*c));

	if (c)
		c->budget = budget ? budget : MT_SYMCACHE_BUDGET;
	return c;
}

void mt_symcache__free(struct mt_symcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		table_put(c->v[i].t);
		free(c->v[i].err);
	}
	free(c->v);
	free(c);
}

struct mt_symbolizer *mt_symcache__open(struct mt_symcache *c, const char *path,
					uint64_t load_base, const char *expected_build_id,
					char *err, size_t errlen)
{
	struct centry *ce = NULL;
	struct stat st;
	uint64_t used;
	int fd = mt_elf__open_file(path, &st, err, errlen);

	if (fd < 0) {
		mt_elf__one_line(err);
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].dev == st.st_dev && c->v[i].ino == st.st_ino) {
			ce = &c->v[i];
			break;
		}
	}
	if (ce) {
		close(fd);
		if (!ce->t) {
			/* refused once: the same words, under this path's name */
			snprintf(err, errlen, "%s: %s", path, ce->err);
			mt_elf__one_line(err);
			return NULL;
		}
		return handle_new(ce->t, path, load_base, expected_build_id, err, errlen);
	}
	if (c->n >= MT_SYMCACHE_MAX_FILES || !c->budget) {
		close(fd);
		snprintf(err, errlen,
			 "%s: not read: the trace names too many programs (%zu files, the "
			 "reading budget spent)",
			 path, c->n);
		mt_elf__one_line(err);
		return NULL;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct centry *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			close(fd);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		c->v = v;
		c->cap = cap;
	}
	ce = &c->v[c->n++];
	*ce = (struct centry){.dev = st.st_dev, .ino = st.st_ino};
	ce->t = table_build(fd, path, c->budget < MT_ELF_READ_MAX ? c->budget : MT_ELF_READ_MAX,
			    err, errlen);
	if (!ce->t) {
		/* kept without the path: another name of the file gets its own */
		size_t plen = strlen(path);
		const char *why = !strncmp(err, path, plen) && !strncmp(err + plen, ": ", 2)
				      ? err + plen + 2
				      : err;

		ce->err = strdup(why);
		if (!ce->err) {
			c->n--;
			snprintf(err, errlen, "out of memory");
		}
		return NULL;
	}
	used = mt_elf__bytes_read(ce->t->elf) + ce->t->cap * sizeof(struct sym);
	c->budget -= used < c->budget ? used : c->budget;
	return handle_new(ce->t, path, load_base, expected_build_id, err, errlen);
}

const char *mt_symbolizer__name(const struct mt_symbolizer *h, uint64_t addr, uint64_t *offset)
{
	const struct table *s = h->t;
	uint64_t link = addr - h->bias; /* modulo 2^64, like the loader's own arithmetic */
	size_t lo = 0, hi = s->n;

	/* the last function starting at or below link */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->syms[mid].addr <= link)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a symbol nested inside a bigger one may end before link: look a little further down */
	for (size_t i = lo, k = 0; i-- > 0 && k < BACK_SCAN; k++) {
		const struct sym *y = &s->syms[i];

		if (link < y->end) {
			if (offset)
				*offset = link - y->addr;
			return y->name;
		}
	}
	return NULL;
}

const char *mt_symbolizer__source(const struct mt_symbolizer *h)
{
	return h->t->source;
}

void mt_symbolizer__free(struct mt_symbolizer *h)
{
	if (!h)
		return;
	table_put(h->t);
	free(h);
}
