// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF files as madvtrace reads them: the headers at open, anything else on
 * first use, with pread(2) into memory that stays until mt_elf__free.
 *
 * Not mapped: a binary rebuilt in place while we read it would kill us with
 * SIGBUS. Not read whole: the file may be a program padded to gigabytes
 * (sparse) by whoever wants root to spend memory and time on it; the parts
 * madvtrace uses (headers, notes, symbol tables, Go's tables) are a small
 * share of a real binary, and a budget caps them all together.
 *
 * The ELF structures are decoded here (both classes, both byte orders, the
 * extended numbering of section counts), with every offset, count and
 * entry size checked against the file before use.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elffile.h"

#ifndef DF_1_PIE
#define DF_1_PIE 0x08000000
#endif
#define NT_GO_BUILD_ID 4 /* the Go linker's note type for its build id */
/* more are corruption or an attack: real programs have a few dozen of each */
#define MAX_SECTIONS (1u << 18)
#define MAX_SEGMENTS (1u << 16)
/* small parts read whole: a note block, PT_DYNAMIC, PT_INTERP */
#define MAX_NOTES (1u << 20)
#define MAX_DYNAMIC (1u << 20)
#define MAX_INTERP 4096u
/* parts a range is looked up among before it is read again */
#define RECENT_CHUNKS 32

struct chunk {
	struct chunk *next;
	uint64_t off, len;
	uint8_t data[];
};

/* A union of address ranges, sorted and disjoint: lookups by binary search. */
struct ranges {
	uint64_t (*r)[2]; /* [lo, hi) */
	size_t n;
};

struct mt_elf {
	int fd;
	uint64_t size; /* of the file, at open */
	uint64_t read_max, nread;
	struct chunk *chunks;
	bool big, is64;
	uint16_t type;
	struct mt_elf_sec *secs;
	const uint8_t **sdata; /* each section's bytes once read */
	bool *stried;	       /* and whether that was tried */
	size_t nsecs;
	struct mt_elf_seg *segs;
	size_t nsegs;
	struct ranges xload, xall; /* executable PT_LOADs; those and SHF_EXECINSTR sections */
	char gnu_id[2 * 64 + 1];
	char go_id[256];
	char identity[2 * 64 + 4];
};

static const uint8_t empty[1];

int mt_elf__open_file(const char *path, struct stat *st_out, char *err, size_t errlen)
{
	struct stat st, st2;
	char proc[64];
	int pfd, fd = -1;

	/* O_PATH opens nothing: a device's driver is not called, a FIFO does not block */
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(pfd, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	/* reopen that very inode: a path swapped since cannot bring a device in */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st2) || !S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		snprintf(err, errlen, "%s: changed while being opened", path);
		close(fd);
		fd = -1;
		goto cleanup;
	}
	if (st_out)
		*st_out = st2;
cleanup:
	close(pfd);
	return fd;
}

static bool range_ok(const struct mt_elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

const uint8_t *mt_elf__bytes(struct mt_elf *e, uint64_t off, uint64_t len)
{
	struct chunk *c;
	uint64_t got = 0;

	if (!range_ok(e, off, len))
		return NULL;
	if (!len)
		return empty;
	/* the recent parts only: a lookup stays O(1) however many were read */
	c = e->chunks;
	for (int k = 0; c && k < RECENT_CHUNKS; c = c->next, k++)
		if (off >= c->off && off - c->off <= c->len && len <= c->len - (off - c->off))
			return c->data + (off - c->off);
	if (e->fd < 0 || len > e->read_max - e->nread)
		return NULL;
	/* counted even if the read fails: a failing file is not read again and again */
	e->nread += len;
	c = malloc(sizeof(*c) + len);
	if (!c)
		return NULL;
	while (got < len) {
		ssize_t n = pread(e->fd, c->data + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* shrank under us, or unreadable: not in the file after all */
			free(c);
			return NULL;
		}
		got += (uint64_t)n;
	}
	c->off = off;
	c->len = len;
	c->next = e->chunks;
	e->chunks = c;
	return c->data;
}

uint64_t mt_elf__bytes_read(const struct mt_elf *e)
{
	return e->nread;
}

static uint16_t u16(const struct mt_elf *e, const uint8_t *p)
{
	return e->big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t mt_elf__u32(const struct mt_elf *e, const uint8_t *p)
{
	if (e->big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

uint64_t mt_elf__u64(const struct mt_elf *e, const uint8_t *p)
{
	uint64_t lo = mt_elf__u32(e, p), hi = mt_elf__u32(e, p + 4);

	return e->big ? lo << 32 | hi : hi << 32 | lo;
}

uint64_t mt_elf__word(const struct mt_elf *e, const uint8_t *p, unsigned width)
{
	return width == 8 ? mt_elf__u64(e, p) : mt_elf__u32(e, p);
}

/* An address-sized field: 8 bytes in ELF64, 4 in ELF32. */
static uint64_t addr(const struct mt_elf *e, const uint8_t *p)
{
	return mt_elf__word(e, p, e->is64 ? 8 : 4);
}

unsigned mt_elf__class(const struct mt_elf *e)
{
	return e->is64 ? 64 : 32;
}

uint16_t mt_elf__type(const struct mt_elf *e)
{
	return e->type;
}

size_t mt_elf__nsections(const struct mt_elf *e)
{
	return e->nsecs;
}

const struct mt_elf_sec *mt_elf__section_at(const struct mt_elf *e, size_t i)
{
	return i < e->nsecs ? &e->secs[i] : NULL;
}

const uint8_t *mt_elf__section_data(struct mt_elf *e, const struct mt_elf_sec *s)
{
	size_t i = (size_t)(s - e->secs);

	if (s < e->secs || i >= e->nsecs || s->type == SHT_NOBITS)
		return NULL;
	if (!e->stried[i]) {
		e->stried[i] = true;
		e->sdata[i] = mt_elf__bytes(e, s->off, s->size);
	}
	return e->sdata[i];
}

const struct mt_elf_sec *mt_elf__section(const struct mt_elf *e, const char *name)
{
	for (size_t i = 0; i < e->nsecs; i++)
		if (!strcmp(e->secs[i].name, name))
			return &e->secs[i];
	return NULL;
}

size_t mt_elf__nsegments(const struct mt_elf *e)
{
	return e->nsegs;
}

const struct mt_elf_seg *mt_elf__segment_at(const struct mt_elf *e, size_t i)
{
	return i < e->nsegs ? &e->segs[i] : NULL;
}

const struct mt_elf_seg *mt_elf__first_load(const struct mt_elf *e)
{
	const struct mt_elf_seg *best = NULL;

	for (size_t i = 0; i < e->nsegs; i++)
		if (e->segs[i].type == PT_LOAD && (!best || e->segs[i].vaddr < best->vaddr))
			best = &e->segs[i];
	return best;
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sort and merge n ranges in place into rs. */
static void ranges_finish(struct ranges *rs)
{
	size_t out = 0;

	if (!rs->n)
		return;
	qsort(rs->r, rs->n, sizeof(rs->r[0]), cmp_range);
	for (size_t i = 0; i < rs->n; i++) {
		if (out && rs->r[i][0] <= rs->r[out - 1][1]) {
			if (rs->r[i][1] > rs->r[out - 1][1])
				rs->r[out - 1][1] = rs->r[i][1];
			continue;
		}
		rs->r[out][0] = rs->r[i][0];
		rs->r[out][1] = rs->r[i][1];
		out++;
	}
	rs->n = out;
}

static void ranges_add(struct ranges *rs, uint64_t lo, uint64_t len)
{
	if (!len)
		return;
	rs->r[rs->n][0] = lo;
	rs->r[rs->n][1] = len > UINT64_MAX - lo ? UINT64_MAX : lo + len;
	rs->n++;
}

/* The range holding v, or NULL. */
static const uint64_t *ranges_find(const struct ranges *rs, uint64_t v)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->r[mid][0] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && v < rs->r[lo - 1][1] ? rs->r[lo - 1] : NULL;
}

bool mt_elf__vaddr_exec(const struct mt_elf *e, uint64_t vaddr)
{
	return ranges_find(&e->xall, vaddr) != NULL;
}

uint64_t mt_elf__exec_end(const struct mt_elf *e, uint64_t vaddr)
{
	const uint64_t *r = ranges_find(&e->xload, vaddr);

	return r ? r[1] : vaddr + 1;
}

const uint8_t *mt_elf__at_vaddr(struct mt_elf *e, uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		uint64_t rel;

		if (s->type != PT_LOAD || vaddr < s->vaddr)
			continue;
		rel = vaddr - s->vaddr;
		if (rel > s->filesz || len > s->filesz - rel)
			continue;
		return mt_elf__bytes(e, s->off + rel, len);
	}
	return NULL;
}

const char *mt_elf__interp(struct mt_elf *e)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		const uint8_t *p;

		if (s->type != PT_INTERP || !s->filesz || s->filesz > MAX_INTERP)
			continue;
		p = mt_elf__bytes(e, s->off, s->filesz);
		/* a path only if NUL-terminated inside the segment */
		if (p && memchr(p, '\0', s->filesz))
			return (const char *)p;
	}
	return NULL;
}

/* DT_FLAGS_1 from the PT_DYNAMIC segment, 0 if absent. */
static uint64_t dt_flags_1(struct mt_elf *e)
{
	unsigned w = mt_elf__class(e) / 8;

	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		uint64_t len = s->filesz < MAX_DYNAMIC ? s->filesz : MAX_DYNAMIC;
		const uint8_t *p;

		if (s->type != PT_DYNAMIC)
			continue;
		p = mt_elf__bytes(e, s->off, len);
		if (!p)
			return 0;
		for (uint64_t o = 0; o + 2 * w <= len; o += 2 * w) {
			uint64_t tag = mt_elf__word(e, p + o, w);

			if (tag == DT_NULL)
				break;
			if (tag == DT_FLAGS_1)
				return mt_elf__word(e, p + o + w, w);
		}
	}
	return 0;
}

bool mt_elf__pie(struct mt_elf *e)
{
	return e->type == ET_DYN && (mt_elf__interp(e) || (dt_flags_1(e) & DF_1_PIE));
}

void mt_elf__hex(char *out, size_t len, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 3 <= len; i++) {
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 15];
	}
	if (len)
		out[o] = '\0';
}

const char *mt_elf__gnu_build_id(const struct mt_elf *e)
{
	return e->gnu_id;
}

const char *mt_elf__go_build_id(const struct mt_elf *e)
{
	return e->go_id;
}

const char *mt_elf__identity(const struct mt_elf *e)
{
	return e->identity;
}

/* Walk one block of notes (a SHT_NOTE section or PT_NOTE segment) for the build ids. */
static void scan_notes(struct mt_elf *e, const uint8_t *p, uint64_t len, uint64_t align)
{
	uint64_t o = 0;

	align = align == 8 ? 8 : 4;
	while (o + 12 <= len) {
		uint32_t namesz = mt_elf__u32(e, p + o), descsz = mt_elf__u32(e, p + o + 4);
		uint32_t type = mt_elf__u32(e, p + o + 8);
		uint64_t name = o + 12, desc = name + ((namesz + align - 1) & ~(align - 1));

		if (desc > len || descsz > len - desc)
			return; /* corrupt: stop at what was readable */
		if (namesz == 4 && !memcmp(p + name, "GNU", 4) && type == NT_GNU_BUILD_ID &&
		    !e->gnu_id[0] && descsz && descsz <= 64) {
			mt_elf__hex(e->gnu_id, sizeof(e->gnu_id), p + desc, descsz);
		} else if (namesz == 4 && !memcmp(p + name, "Go\0\0", 4) &&
			   type == NT_GO_BUILD_ID && !e->go_id[0] && descsz &&
			   descsz < sizeof(e->go_id)) {
			memcpy(e->go_id, p + desc, descsz);
			e->go_id[descsz] = '\0';
			/* an id with a NUL inside is cut there; an empty one is none */
		}
		o = desc + ((descsz + align - 1) & ~(align - 1));
	}
}

static void read_build_ids(struct mt_elf *e)
{
	bool any = false;

	for (size_t i = 0; i < e->nsecs; i++) {
		const struct mt_elf_sec *s = &e->secs[i];
		const uint8_t *p;

		if (s->type != SHT_NOTE || s->size > MAX_NOTES)
			continue;
		p = mt_elf__section_data(e, s);
		if (p) {
			scan_notes(e, p, s->size, 4);
			any = true;
		}
	}
	/* sectionless files (sstrip): the notes are still in PT_NOTE */
	for (size_t i = 0; !any && i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		const uint8_t *p = s->type == PT_NOTE && s->filesz <= MAX_NOTES
					   ? mt_elf__bytes(e, s->off, s->filesz)
					   : NULL;

		if (p)
			scan_notes(e, p, s->filesz, s->align);
	}
	if (e->gnu_id[0])
		snprintf(e->identity, sizeof(e->identity), "%s", e->gnu_id);
	else if (e->go_id[0])
		snprintf(e->identity, sizeof(e->identity), "go:%.*s",
			 (int)(sizeof(e->identity) - 4), e->go_id);
}

/* A table of n entries of entsize at off, checked against the file before it is read. */
static int check_table(const struct mt_elf *e, const char *path, const char *what, uint64_t off,
		       uint64_t n, uint64_t entsize, uint64_t minsize, char *err, size_t errlen)
{
	if (!n)
		return 0;
	if (entsize < minsize) {
		snprintf(err, errlen, "%s: corrupt ELF header (%s with entries of size %llu)",
			 path, what, (unsigned long long)entsize);
		return -1;
	}
	if (n <= UINT32_MAX && range_ok(e, off, n * entsize))
		return 0;
	snprintf(err, errlen,
		 "%s: truncated ELF file (%s end at %llu, the file has %llu bytes)", path, what,
		 (unsigned long long)(off + n * entsize), (unsigned long long)e->size);
	return -1;
}

/* Section header i of the table at shoff, decoded. */
static void decode_shdr(const struct mt_elf *e, const uint8_t *p, struct mt_elf_sec *s,
			uint32_t *name)
{
	*name = mt_elf__u32(e, p);
	s->type = mt_elf__u32(e, p + 4);
	if (e->is64) {
		s->flags = mt_elf__u64(e, p + 8);
		s->addr = mt_elf__u64(e, p + 16);
		s->off = mt_elf__u64(e, p + 24);
		s->size = mt_elf__u64(e, p + 32);
		s->link = mt_elf__u32(e, p + 40);
		s->entsize = mt_elf__u64(e, p + 56);
	} else {
		s->flags = mt_elf__u32(e, p + 8);
		s->addr = mt_elf__u32(e, p + 12);
		s->off = mt_elf__u32(e, p + 16);
		s->size = mt_elf__u32(e, p + 20);
		s->link = mt_elf__u32(e, p + 24);
		s->entsize = mt_elf__u32(e, p + 36);
	}
}

static void decode_phdr(const struct mt_elf *e, const uint8_t *p, struct mt_elf_seg *g)
{
	g->type = mt_elf__u32(e, p);
	if (e->is64) {
		g->flags = mt_elf__u32(e, p + 4);
		g->off = mt_elf__u64(e, p + 8);
		g->vaddr = mt_elf__u64(e, p + 16);
		g->filesz = mt_elf__u64(e, p + 32);
		g->memsz = mt_elf__u64(e, p + 40);
		g->align = mt_elf__u64(e, p + 48);
	} else {
		g->off = mt_elf__u32(e, p + 4);
		g->vaddr = mt_elf__u32(e, p + 8);
		g->filesz = mt_elf__u32(e, p + 16);
		g->memsz = mt_elf__u32(e, p + 20);
		g->flags = mt_elf__u32(e, p + 24);
		g->align = mt_elf__u32(e, p + 28);
	}
}

/*
 * A string table's usable length: up to and including its last NUL, so
 * that any name starting before it is terminated (each lookup O(1)).
 */
static uint64_t strtab_len(const uint8_t *p, uint64_t size)
{
	while (size && p[size - 1])
		size--;
	return size;
}

static int load_headers(struct mt_elf *e, const char *path, char *err, size_t errlen)
{
	uint64_t phoff, shoff, phnum, shnum, shstrndx, ehsize = e->is64 ? 64 : 52;
	uint64_t phentsize, shentsize, minph = e->is64 ? 56 : 32, minsh = e->is64 ? 64 : 40;
	const uint8_t *h, *tab, *names = NULL;
	uint64_t nameslen = 0;
	uint32_t *nameoff;

	h = mt_elf__bytes(e, 0, ehsize);
	if (!h) {
		snprintf(err, errlen, "%s: truncated ELF file (%llu bytes, no whole ELF header)",
			 path, (unsigned long long)e->size);
		return -1;
	}
	e->type = u16(e, h + 16);
	phoff = addr(e, h + (e->is64 ? 32 : 28));
	shoff = addr(e, h + (e->is64 ? 40 : 32));
	phentsize = u16(e, h + (e->is64 ? 54 : 42));
	phnum = u16(e, h + (e->is64 ? 56 : 44));
	shentsize = u16(e, h + (e->is64 ? 58 : 46));
	shnum = u16(e, h + (e->is64 ? 60 : 48));
	shstrndx = u16(e, h + (e->is64 ? 62 : 50));
	/* extended numbering: the real counts in section header 0 */
	if (shoff && (!shnum || shstrndx == SHN_XINDEX || phnum == PN_XNUM)) {
		struct mt_elf_sec s0;
		uint32_t nm;

		if (check_table(e, path, "section headers", shoff, 1, shentsize, minsh, err,
				errlen))
			return -1;
		tab = mt_elf__bytes(e, shoff, minsh);
		if (!tab) {
			snprintf(err, errlen, "%s: cannot read the section headers", path);
			return -1;
		}
		decode_shdr(e, tab, &s0, &nm);
		if (!shnum)
			shnum = s0.size;
		if (shstrndx == SHN_XINDEX)
			shstrndx = s0.link;
		if (phnum == PN_XNUM)
			phnum = mt_elf__u32(e, tab + (e->is64 ? 44 : 28)); /* sh_info */
	}
	if (!shoff)
		shnum = 0;
	if (phnum > MAX_SEGMENTS || shnum > MAX_SECTIONS) {
		snprintf(err, errlen, "%s: corrupt ELF header (%llu segments, %llu sections)",
			 path, (unsigned long long)phnum, (unsigned long long)shnum);
		return -1;
	}
	/*
	 * A file cut short loses its section headers (at the end for most
	 * linkers) or the data of its sections (the Go linker puts the headers
	 * first): say "truncated".
	 */
	if (check_table(e, path, "program headers", phoff, phnum, phentsize, minph, err, errlen) ||
	    check_table(e, path, "section headers", shoff, shnum, shentsize, minsh, err, errlen))
		return -1;
	e->segs = calloc(phnum ? phnum : 1, sizeof(*e->segs));
	e->secs = calloc(shnum ? shnum : 1, sizeof(*e->secs));
	e->sdata = calloc(shnum ? shnum : 1, sizeof(*e->sdata));
	e->stried = calloc(shnum ? shnum : 1, sizeof(*e->stried));
	e->xload.r = calloc(phnum + 1, sizeof(e->xload.r[0]));
	e->xall.r = calloc(phnum + shnum + 1, sizeof(e->xall.r[0]));
	if (!e->segs || !e->secs || !e->sdata || !e->stried || !e->xload.r || !e->xall.r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	tab = phnum ? mt_elf__bytes(e, phoff, phnum * phentsize) : empty;
	if (!tab) {
		snprintf(err, errlen, "%s: cannot read the program headers", path);
		return -1;
	}
	for (size_t i = 0; i < phnum; i++) {
		struct mt_elf_seg *g = &e->segs[e->nsegs++];

		decode_phdr(e, tab + i * phentsize, g);
		if (g->type == PT_LOAD && !range_ok(e, g->off, g->filesz)) {
			snprintf(err, errlen,
				 "%s: truncated ELF file (a loadable segment ends at %llu, the "
				 "file has %llu bytes)",
				 path, (unsigned long long)(g->off + g->filesz),
				 (unsigned long long)e->size);
			return -1;
		}
		if (g->type == PT_LOAD && (g->flags & PF_X)) {
			ranges_add(&e->xload, g->vaddr, g->memsz);
			ranges_add(&e->xall, g->vaddr, g->memsz);
		}
	}
	tab = shnum ? mt_elf__bytes(e, shoff, shnum * shentsize) : empty;
	if (!tab) {
		snprintf(err, errlen, "%s: cannot read the section headers", path);
		return -1;
	}
	nameoff = calloc(shnum ? shnum : 1, sizeof(*nameoff));

	if (!nameoff) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (size_t i = 0; i < shnum; i++) {
		struct mt_elf_sec *s = &e->secs[e->nsecs++];

		decode_shdr(e, tab + i * shentsize, s, &nameoff[i]);
		s->name = "";
		if (s->type != SHT_NOBITS && s->type != SHT_NULL && !range_ok(e, s->off, s->size)) {
			snprintf(err, errlen,
				 "%s: truncated ELF file (section %zu ends at %llu, the file has "
				 "%llu bytes)",
				 path, i, (unsigned long long)(s->off + s->size),
				 (unsigned long long)e->size);
			free(nameoff);
			return -1;
		}
		if (s->flags & SHF_EXECINSTR)
			ranges_add(&e->xall, s->addr, s->size);
	}
	/* names: sections stay usable, nameless, when the name table is unreadable */
	if (shstrndx < e->nsecs && e->secs[shstrndx].type == SHT_STRTAB) {
		names = mt_elf__section_data(e, &e->secs[shstrndx]);
		nameslen = names ? strtab_len(names, e->secs[shstrndx].size) : 0;
	}
	for (size_t i = 0; names && i < e->nsecs; i++)
		if (nameoff[i] < nameslen)
			e->secs[i].name = (const char *)names + nameoff[i];
	free(nameoff);
	ranges_finish(&e->xload);
	ranges_finish(&e->xall);
	return 0;
}

void mt_elf__one_line(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

struct mt_elf *mt_elf__open_fd(int fd, const char *path, uint64_t read_max, char *err,
			       size_t errlen)
{
	struct mt_elf *e = calloc(1, sizeof(*e));
	const uint8_t *id;
	struct stat st;

	if (!e) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->fd = fd;
	e->read_max = read_max ? read_max : MT_ELF_READ_MAX;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	e->size = (uint64_t)st.st_size;
	id = mt_elf__bytes(e, 0, e->size < EI_NIDENT ? e->size : EI_NIDENT);
	if (!id || e->size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto fail;
	}
	if ((id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64) ||
	    (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB)) {
		snprintf(err, errlen, "%s: unreadable ELF file: unknown class or byte order",
			 path);
		goto fail;
	}
	e->is64 = id[EI_CLASS] == ELFCLASS64;
	e->big = id[EI_DATA] == ELFDATA2MSB;
	if (load_headers(e, path, err, errlen))
		goto fail;
	read_build_ids(e);
	return e;
fail:
	mt_elf__one_line(err);
	mt_elf__free(e);
	return NULL;
}

struct mt_elf *mt_elf__open_max(const char *path, uint64_t read_max, char *err, size_t errlen)
{
	int fd = mt_elf__open_file(path, NULL, err, errlen);

	if (fd < 0) {
		mt_elf__one_line(err);
		return NULL;
	}
	return mt_elf__open_fd(fd, path, read_max, err, errlen);
}

void mt_elf__close_file(struct mt_elf *e)
{
	if (e && e->fd >= 0) {
		close(e->fd);
		e->fd = -1;
	}
}

void mt_elf__free(struct mt_elf *e)
{
	struct chunk *c, *next;

	if (!e)
		return;
	mt_elf__close_file(e);
	for (c = e->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(e->secs);
	free(e->sdata);
	free(e->stried);
	free(e->segs);
	free(e->xload.r);
	free(e->xall.r);
	free(e);
}

long mt_elf__foreach_symbol(struct mt_elf *e, bool dynamic, mt_elf_sym_fn fn, void *ctx)
{
	uint32_t want = dynamic ? SHT_DYNSYM : SHT_SYMTAB;
	uint64_t minent = e->is64 ? 24 : 16;

	for (size_t i = 0; i < e->nsecs; i++) {
		const struct mt_elf_sec *s = &e->secs[i];
		const uint8_t *p, *strs = NULL;
		uint64_t n, strslen = 0;
		long visited = 0;

		if (s->type != want || s->entsize < minent)
			continue;
		p = mt_elf__section_data(e, s);
		if (!p)
			continue; /* its bytes are not in the file, or over the budget */
		if (s->link < e->nsecs && s->link != i) {
			const struct mt_elf_sec *str = &e->secs[s->link];

			strs = mt_elf__section_data(e, str);
			strslen = strs ? strtab_len(strs, str->size) : 0;
		}
		n = s->size / s->entsize;
		for (uint64_t k = 0; k < n; k++) {
			const uint8_t *y = p + k * s->entsize;
			uint32_t name = mt_elf__u32(e, y);
			uint64_t value, size;
			unsigned info, shndx;

			if (e->is64) {
				info = y[4];
				shndx = u16(e, y + 6);
				value = mt_elf__u64(e, y + 8);
				size = mt_elf__u64(e, y + 16);
			} else {
				value = mt_elf__u32(e, y + 4);
				size = mt_elf__u32(e, y + 8);
				info = y[12];
				shndx = u16(e, y + 14);
			}
			visited++;
			if (fn(ctx, name < strslen ? (const char *)strs + name : "", value, size,
			       info & 0xf, shndx))
				return visited;
		}
		return visited;
	}
	return -1;
}

struct find_sym {
	const char *name;
	uint64_t value, size;
	bool found;
};

static int find_sym_fn(void *ctx, const char *name, uint64_t value, uint64_t size, unsigned type,
		       unsigned shndx)
{
	struct find_sym *f = ctx;

	(void)type;
	if (shndx == SHN_UNDEF || strcmp(name, f->name))
		return 0;
	f->value = value;
	f->size = size;
	f->found = true;
	return 1;
}

bool mt_elf__symbol(struct mt_elf *e, const char *name, uint64_t *value, uint64_t *size)
{
	struct find_sym f = {.name = name};

	mt_elf__foreach_symbol(e, false, find_sym_fn, &f);
	if (f.found) {
		*value = f.value;
		*size = f.size;
	}
	return f.found;
}
