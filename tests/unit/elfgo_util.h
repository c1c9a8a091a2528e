/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers of the goinfo and symbolize tests: the binaries built for them,
 * running the oracle tools, temporary copies of binaries, and a writer of
 * small synthetic ELF files (for layouts no toolchain here produces, such
 * as the build info and function tables of old Go releases).
 */
#ifndef MT_ELFGO_UTIL_H
#define MT_ELFGO_UTIL_H

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mt_test_paths.h"

/* Path of the binfo build variant (static, stripped, dynamic, ...), or NULL without Go. */
static inline const char *binfo(const char *variant)
{
	static char path[8][512];
	static int next;
	char *p = path[next++ % 8];

	if (!MT_TEST_GO[0])
		return NULL;
	snprintf(p, sizeof(path[0]), "%s/%s", MT_TEST_BINFO_DIR, variant);
	return access(p, X_OK) ? NULL : p;
}

static inline const char *gotool(const char *tool)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	if (!MT_TEST_GOTOOLDIR[0])
		return NULL;
	snprintf(p, sizeof(path[0]), "%s/%s", MT_TEST_GOTOOLDIR, tool);
	return access(p, X_OK) ? NULL : p;
}

/*
 * Run a shell command, returning its standard output (malloc'd, NUL
 * terminated) and its exit status in *status (-1 if it did not exit).
 */
static inline char *run(const char *cmd, int *status)
{
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	FILE *f = popen(cmd, "r");
	int st;

	if (status)
		*status = -1;
	if (!out || !f) {
		free(out);
		if (f)
			pclose(f);
		return NULL;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *bigger = realloc(out, cap * 2);

			if (!bigger)
				break;
			out = bigger;
			cap *= 2;
		}
		n = fread(out + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	out[len] = '\0';
	st = pclose(f);
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static inline uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static inline int spit(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* A fresh temporary path (the file does not exist yet). */
static inline const char *tmp_path(const char *tag)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s/mt-%s-%d-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 tag, (int)getpid(), next);
	unlink(p);
	return p;
}

/* ---- synthetic ELF ---- */

struct synth_sec {
	const char *name;
	uint32_t type;	/* SHT_PROGBITS, SHT_NOTE, ... */
	uint64_t flags; /* SHF_ALLOC | SHF_EXECINSTR, ... */
	uint64_t addr;	/* >= base + 0x1000; the bytes go at file offset addr - base */
	const void *data;
	size_t size;
};

/*
 * Write a 64-bit little-endian x86-64 ELF of type e_type: one PT_LOAD (RWX)
 * mapping the whole file at base, the given sections, a .shstrtab.
 */
static inline int synth_elf(const char *path, uint16_t e_type, uint64_t base,
			    const struct synth_sec *secs, size_t n)
{
	size_t end = 0x1000, strsz = 1, off;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	uint8_t *img;
	char *strs;
	int ret;

	for (size_t i = 0; i < n; i++) {
		size_t e = (size_t)(secs[i].addr - base) + secs[i].size;

		end = e > end ? e : end;
		strsz += strlen(secs[i].name) + 1;
	}
	strsz += strlen(".shstrtab") + 1;
	end = (end + 7) & ~(size_t)7;
	off = (end + strsz + 7) & ~(size_t)7; /* section headers */
	img = calloc(1, off + (n + 2) * sizeof(Elf64_Shdr));
	if (!img)
		return -1;
	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = e_type;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_shoff = off;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = (uint16_t)(n + 2);
	eh->e_shstrndx = (uint16_t)(n + 1);
	ph = (Elf64_Phdr *)(img + sizeof(*eh));
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_W | PF_X;
	ph->p_vaddr = ph->p_paddr = base;
	ph->p_filesz = ph->p_memsz = end;
	ph->p_align = 0x1000;
	strs = (char *)img + end;
	sh = (Elf64_Shdr *)(img + off);
	strsz = 1;
	for (size_t i = 0; i < n; i++) {
		memcpy(img + (secs[i].addr - base), secs[i].data, secs[i].size);
		sh[i + 1].sh_name = (uint32_t)strsz;
		strcpy(strs + strsz, secs[i].name);
		strsz += strlen(secs[i].name) + 1;
		sh[i + 1].sh_type = secs[i].type;
		sh[i + 1].sh_flags = secs[i].flags;
		sh[i + 1].sh_addr = secs[i].addr;
		sh[i + 1].sh_offset = secs[i].addr - base;
		sh[i + 1].sh_size = secs[i].size;
		sh[i + 1].sh_addralign = 1;
	}
	sh[n + 1].sh_name = (uint32_t)strsz;
	strcpy(strs + strsz, ".shstrtab");
	strsz += strlen(".shstrtab") + 1;
	sh[n + 1].sh_type = SHT_STRTAB;
	sh[n + 1].sh_offset = end;
	sh[n + 1].sh_size = strsz;
	sh[n + 1].sh_addralign = 1;
	ret = spit(path, img, off + (n + 2) * sizeof(Elf64_Shdr));
	free(img);
	return ret;
}

/* Little-endian stores into a byte buffer. */
static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- Go function tables (.gopclntab) of each layout, for three functions ---- */

#define BASE 0x400000ull     /* where synthetic files are loaded */
#define TEXT (BASE + 0x1000) /* their .text */
#define ETEXT 0x200	     /* its length */
#define NFN 3

enum fmt { F12, F116, F118, F120 };

struct fn {
	const char *name;
	uint32_t off; /* from the text start */
};

/*
 * A table in format f (4096 bytes at t) for main.a at TEXT, main.b at
 * TEXT+0x40 and runtime.c at TEXT+0x100 up to TEXT+ETEXT; returns its size.
 * text_field: what a 1.18+ header says the text start is.
 */
static inline size_t make_pclntab(uint8_t *t, enum fmt f, uint64_t text_field)
{
	static const struct fn fns[NFN] = {{"main.a", 0}, {"main.b", 0x40}, {"runtime.c", 0x100}};
	size_t hdr, names, ftab, o, nameoff[NFN];
	uint32_t magic[] = {0xfffffffb, 0xfffffffa, 0xfffffff0, 0xfffffff1};

	memset(t, 0, 4096);
	put32(t, magic[f]);
	t[6] = 1;
	t[7] = 8;
	hdr = f == F12 ? 16 : f == F116 ? 8 + 7 * 8 : 8 + 8 * 8;
	/* names right after the header (Go 1.2 tables: anywhere, offsets from the start) */
	names = hdr;
	o = names;
	for (int i = 0; i < NFN; i++) {
		nameoff[i] = o - (f == F12 ? 0 : names);
		strcpy((char *)t + o, fns[i].name);
		o += strlen(fns[i].name) + 1;
	}
	ftab = (o + 7) & ~(size_t)7;
	if (f == F12) {
		/* the functab sits at 8 + ptrsize: move the names behind it */
		memmove(t + 16 + (NFN + 1) * 16, t + names, o - names);
		names = 16 + (NFN + 1) * 16;
		for (int i = 0; i < NFN; i++)
			nameoff[i] += names - hdr;
		ftab = 16;
		o = (names + (o - hdr) + 7) & ~(size_t)7;
	} else {
		o = ftab + (NFN + 1) * (f == F116 ? 16 : 8);
	}
	put64(t + 8, NFN);
	if (f == F116) {
		put64(t + 8 + 2 * 8, names);
		put64(t + 8 + 6 * 8, ftab);
	} else if (f >= F118) {
		put64(t + 8 + 2 * 8, text_field);
		put64(t + 8 + 3 * 8, names);
		put64(t + 8 + 7 * 8, ftab);
	}
	for (int i = 0; i <= NFN; i++) {
		uint32_t entry = i < NFN ? fns[i].off : ETEXT;
		/* _func records after the functab, relative to it (1.2: to the table start) */
		size_t func = o + (size_t)i * 16;
		size_t rel = f == F12 ? func : func - ftab;

		if (f >= F118) {
			put32(t + ftab + 8 * i, entry);
			put32(t + ftab + 8 * i + 4, i < NFN ? (uint32_t)rel : 0);
			if (i < NFN) {
				put32(t + func, entry);
				put32(t + func + 4, (uint32_t)nameoff[i]);
			}
		} else {
			put64(t + ftab + 16 * i, TEXT + entry);
			if (i < NFN) {
				put64(t + ftab + 16 * i + 8, rel);
				put64(t + func, TEXT + entry);
				put32(t + func + 8, (uint32_t)nameoff[i]);
			}
		}
	}
	return o + NFN * 16;
}

#endif
