// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
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

struct mt_elf {
	uint8_t *image; /* the whole file, read once */
	size_t size;
	Elf *elf;
	GElf_Ehdr ehdr;
	struct mt_elf_sec *secs;
	size_t nsecs;
	struct mt_elf_seg *segs;
	size_t nsegs;
	char gnu_id[2 * 64 + 1];
	char go_id[256];
	char identity[2 * 64 + 4];
};

/*
 * The file is read into memory rather than mapped: a binary rebuilt in place
 * while we read it would otherwise kill us with SIGBUS.
 */
static int read_whole(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		snprintf(err, errlen, "%s: file too large", path);
		goto cleanup;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory reading %lld bytes", path,
			 (long long)st.st_size);
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break; /* shrank under us: parse what there is */
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	buf = NULL;
	ret = 0;
cleanup:
	free(buf);
	close(fd);
	return ret;
}

static bool range_ok(const struct mt_elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

const uint8_t *mt_elf__bytes(const struct mt_elf *e, uint64_t off, uint64_t len)
{
	return range_ok(e, off, len) ? e->image + off : NULL;
}

uint32_t mt_elf__u32(const struct mt_elf *e, const uint8_t *p)
{
	if (mt_elf__big_endian(e))
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

uint64_t mt_elf__u64(const struct mt_elf *e, const uint8_t *p)
{
	uint64_t lo = mt_elf__u32(e, p), hi = mt_elf__u32(e, p + 4);

	return mt_elf__big_endian(e) ? lo << 32 | hi : hi << 32 | lo;
}

uint64_t mt_elf__word(const struct mt_elf *e, const uint8_t *p, unsigned width)
{
	return width == 8 ? mt_elf__u64(e, p) : mt_elf__u32(e, p);
}

unsigned mt_elf__class(const struct mt_elf *e)
{
	return e->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32;
}

bool mt_elf__big_endian(const struct mt_elf *e)
{
	return e->ehdr.e_ident[EI_DATA] == ELFDATA2MSB;
}

uint16_t mt_elf__type(const struct mt_elf *e)
{
	return e->ehdr.e_type;
}

size_t mt_elf__nsections(const struct mt_elf *e)
{
	return e->nsecs;
}

const struct mt_elf_sec *mt_elf__section_at(const struct mt_elf *e, size_t i)
{
	return i < e->nsecs ? &e->secs[i] : NULL;
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

bool mt_elf__vaddr_exec(const struct mt_elf *e, uint64_t vaddr)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];

		if (s->type == PT_LOAD && (s->flags & PF_X) && vaddr >= s->vaddr &&
		    vaddr - s->vaddr < s->memsz)
			return true;
	}
	for (size_t i = 0; i < e->nsecs; i++) {
		const struct mt_elf_sec *s = &e->secs[i];

		if ((s->flags & SHF_EXECINSTR) && vaddr >= s->addr && vaddr - s->addr < s->size)
			return true;
	}
	return false;
}

const uint8_t *mt_elf__at_vaddr(const struct mt_elf *e, uint64_t vaddr, uint64_t len)
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

const char *mt_elf__interp(const struct mt_elf *e)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		const uint8_t *p;

		if (s->type != PT_INTERP || !s->filesz)
			continue;
		p = mt_elf__bytes(e, s->off, s->filesz);
		/* a path only if NUL-terminated inside the segment */
		if (p && memchr(p, '\0', s->filesz))
			return (const char *)p;
	}
	return NULL;
}

bool mt_elf__has_dynamic(const struct mt_elf *e)
{
	for (size_t i = 0; i < e->nsegs; i++)
		if (e->segs[i].type == PT_DYNAMIC)
			return true;
	return false;
}

/* DT_FLAGS_1 from the PT_DYNAMIC segment, 0 if absent. */
static uint64_t dt_flags_1(const struct mt_elf *e)
{
	unsigned w = mt_elf__class(e) / 8;

	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		const uint8_t *p;

		if (s->type != PT_DYNAMIC)
			continue;
		p = mt_elf__bytes(e, s->off, s->filesz);
		if (!p)
			return 0;
		for (uint64_t o = 0; o + 2 * w <= s->filesz; o += 2 * w) {
			uint64_t tag = mt_elf__word(e, p + o, w);

			if (tag == DT_NULL)
				break;
			if (tag == DT_FLAGS_1)
				return mt_elf__word(e, p + o + w, w);
		}
	}
	return 0;
}

bool mt_elf__pie(const struct mt_elf *e)
{
	return e->ehdr.e_type == ET_DYN && (mt_elf__interp(e) || (dt_flags_1(e) & DF_1_PIE));
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
			for (uint32_t i = 0; i < descsz; i++)
				snprintf(e->gnu_id + 2 * i, 3, "%02x", p[desc + i]);
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

		if (s->type == SHT_NOTE && s->data) {
			scan_notes(e, s->data, s->size, 4);
			any = true;
		}
	}
	/* sectionless files (sstrip): the notes are still in PT_NOTE */
	for (size_t i = 0; !any && i < e->nsegs; i++) {
		const struct mt_elf_seg *s = &e->segs[i];
		const uint8_t *p = s->type == PT_NOTE ? mt_elf__bytes(e, s->off, s->filesz) : NULL;

		if (p)
			scan_notes(e, p, s->filesz, s->align);
	}
	if (e->gnu_id[0])
		snprintf(e->identity, sizeof(e->identity), "%s", e->gnu_id);
	else if (e->go_id[0])
		snprintf(e->identity, sizeof(e->identity), "go:%.*s",
			 (int)(sizeof(e->identity) - 4), e->go_id);
}

/* A table of n entries of entsize at off, checked against the file before libelf reads it. */
static int check_table(const struct mt_elf *e, const char *path, const char *what, uint64_t off,
		       uint64_t n, uint64_t entsize, char *err, size_t errlen)
{
	if (!n)
		return 0;
	if (!entsize) {
		snprintf(err, errlen, "%s: corrupt ELF header (%s with entries of size 0)", path,
			 what);
		return -1;
	}
	if (n <= UINT32_MAX && range_ok(e, off, n * entsize))
		return 0;
	snprintf(err, errlen, "%s: truncated ELF file (%s end at %llu, the file has %zu bytes)",
		 path, what, (unsigned long long)(off + n * entsize), e->size);
	return -1;
}

static int load_headers(struct mt_elf *e, const char *path, char *err, size_t errlen)
{
	size_t phnum, shnum, shstrndx;

	if (!gelf_getehdr(e->elf, &e->ehdr)) {
		snprintf(err, errlen, "%s: corrupt ELF header: %s", path, elf_errmsg(-1));
		return -1;
	}
	/*
	 * A file cut short loses its section headers (at the end for most
	 * linkers) or the data of its sections (the Go linker puts the headers
	 * first): say "truncated", not what libelf would trip over.
	 */
	if (check_table(e, path, "program headers", e->ehdr.e_phoff,
			e->ehdr.e_phnum == PN_XNUM ? 1 : e->ehdr.e_phnum, e->ehdr.e_phentsize, err,
			errlen) ||
	    check_table(e, path, "section headers", e->ehdr.e_shoff,
			e->ehdr.e_shnum ? e->ehdr.e_shnum : e->ehdr.e_shoff != 0,
			e->ehdr.e_shentsize, err, errlen))
		return -1;
	if (elf_getphdrnum(e->elf, &phnum) || elf_getshdrnum(e->elf, &shnum)) {
		snprintf(err, errlen, "%s: corrupt ELF header: %s", path, elf_errmsg(-1));
		return -1;
	}
	if (check_table(e, path, "program headers", e->ehdr.e_phoff, phnum, e->ehdr.e_phentsize,
			err, errlen) ||
	    check_table(e, path, "section headers", e->ehdr.e_shoff, shnum, e->ehdr.e_shentsize,
			err, errlen))
		return -1;
	e->segs = calloc(phnum ? phnum : 1, sizeof(*e->segs));
	e->secs = calloc(shnum ? shnum : 1, sizeof(*e->secs));
	if (!e->segs || !e->secs) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph)) {
			snprintf(err, errlen, "%s: corrupt program header %zu: %s", path, i,
				 elf_errmsg(-1));
			return -1;
		}
		e->segs[e->nsegs++] =
		    (struct mt_elf_seg){ph.p_type,   ph.p_flags, ph.p_vaddr, ph.p_offset,
					ph.p_filesz, ph.p_memsz, ph.p_align};
	}
	if (elf_getshdrstrndx(e->elf, &shstrndx))
		shstrndx = SHN_UNDEF; /* sections stay usable, nameless */
	for (size_t i = 0; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(e->elf, i);
		struct mt_elf_sec *s = &e->secs[e->nsecs];
		const char *name = NULL;
		GElf_Shdr sh;

		if (!scn || !gelf_getshdr(scn, &sh)) {
			snprintf(err, errlen, "%s: corrupt section header %zu: %s", path, i,
				 elf_errmsg(-1));
			return -1;
		}
		if (shstrndx != SHN_UNDEF)
			name = elf_strptr(e->elf, shstrndx, sh.sh_name);
		s->name = name ? name : "";
		s->addr = sh.sh_addr;
		s->off = sh.sh_offset;
		s->size = sh.sh_size;
		s->flags = sh.sh_flags;
		s->type = sh.sh_type;
		s->data =
		    sh.sh_type == SHT_NOBITS ? NULL : mt_elf__bytes(e, sh.sh_offset, sh.sh_size);
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL && !s->data) {
			snprintf(err, errlen,
				 "%s: truncated ELF file (section %s ends at %llu, the file has "
				 "%zu bytes)",
				 path, s->name[0] ? s->name : "?",
				 (unsigned long long)(sh.sh_offset + sh.sh_size), e->size);
			return -1;
		}
		e->nsecs++;
	}
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct mt_elf_seg *g = &e->segs[i];

		if (g->type == PT_LOAD && !range_ok(e, g->off, g->filesz)) {
			snprintf(err, errlen,
				 "%s: truncated ELF file (a loadable segment ends at %llu, the "
				 "file has %zu bytes)",
				 path, (unsigned long long)(g->off + g->filesz), e->size);
			return -1;
		}
	}
	return 0;
}

void mt_elf__one_line(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

struct mt_elf *mt_elf__open(const char *path, char *err, size_t errlen)
{
	struct mt_elf *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		goto fail;
	}
	if (read_whole(path, &e->image, &e->size, err, errlen))
		goto fail;
	if (e->size < EI_NIDENT || memcmp(e->image, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto fail;
	}
	e->elf = elf_memory((char *)e->image, e->size);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s: unreadable ELF file: %s", path, elf_errmsg(-1));
		goto fail;
	}
	if (load_headers(e, path, err, errlen))
		goto fail;
	read_build_ids(e);
	return e;
fail:
	mt_elf__one_line(err);
	mt_elf__free(e);
	return NULL;
}

void mt_elf__free(struct mt_elf *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	free(e->secs);
	free(e->segs);
	free(e->image);
	free(e);
}

long mt_elf__foreach_symbol(const struct mt_elf *e, bool dynamic, mt_elf_sym_fn fn, void *ctx)
{
	uint32_t want = dynamic ? SHT_DYNSYM : SHT_SYMTAB;
	long visited = -1;

	for (size_t i = 0; i < e->nsecs; i++) {
		Elf_Scn *scn;
		Elf_Data *d;
		GElf_Shdr sh;
		size_t n;

		if (e->secs[i].type != want)
			continue;
		scn = elf_getscn(e->elf, i);
		if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue; /* its bytes are not in the file */
		visited = 0;
		n = d->d_size / sh.sh_entsize;
		for (size_t k = 0; k < n; k++) {
			const char *name;
			GElf_Sym sym;

			if (!gelf_getsym(d, (int)k, &sym))
				break;
			name = elf_strptr(e->elf, sh.sh_link, sym.st_name);
			visited++;
			if (fn(ctx, name ? name : "", sym.st_value, sym.st_size,
			       GELF_ST_TYPE(sym.st_info), sym.st_shndx))
				return visited;
		}
		break;
	}
	return visited;
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

bool mt_elf__symbol(const struct mt_elf *e, const char *name, uint64_t *value, uint64_t *size)
{
	struct find_sym f = {.name = name};

	mt_elf__foreach_symbol(e, false, find_sym_fn, &f);
	if (f.found) {
		*value = f.value;
		*size = f.size;
	}
	return f.found;
}
