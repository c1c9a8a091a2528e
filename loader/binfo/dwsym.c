// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names for unwound frames (unwind.h, mt_uw__symbolize): one libdwfl view per
 * file on disk at its link-time addresses, which finds .symtab, .dynsym and
 * the separate debug file (by build id under the debug directories, or by
 * .gnu_debuglink) as eu-addr2line does; inlined calls from the DWARF scopes
 * at the address; C++ and Rust names demangled by libiberty. Results are
 * cached per (file, address), at most MAX_RESULTS of them.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <dwarf.h>
#include <errno.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elffile.h"
#include "unwind_int.h"

#define NONE UINT32_MAX
#define MAX_RESULTS (1u << 18) /* cached results (about 25 MiB); past it, computed each time */
#define MAX_INLINE 16

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static uint64_t res_key(uint32_t file, uint64_t vaddr)
{
	return mix(vaddr ^ mix((uint64_t)file + 1));
}

/* A demangled copy of name, owned by u; name itself when it is not mangled. */
static const char *demangle(struct mt_uw *u, const char *name)
{
	const char *at = name ? strchr(name, '@') : NULL;
	char *d = NULL;

	if (!name)
		return NULL;
	if (!strncmp(name, "_Z", 2) || !strncmp(name, "_R", 2))
		d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	/* a symbol version ("__libc_start_main@@GLIBC_2.34") is not part of the name */
	if (!d && at && at != name)
		d = strndup(name, (size_t)(at - name));
	if (!d)
		return name;
	if (u->nstrings == u->capstrings) {
		size_t c = u->capstrings ? 2 * u->capstrings : 64;
		char **v = realloc(u->strings, c * sizeof(*v));

		if (!v) {
			free(d);
			return name;
		}
		u->strings = v;
		u->capstrings = c;
	}
	u->strings[u->nstrings++] = d;
	return d;
}

/* path, opened as every file a trace names is, if it is the debug file of bits (n bytes). */
static int open_debug(const char *path, const unsigned char *bits, int n, char **name)
{
	char err[600];
	const void *id;
	Elf *elf;
	bool ok;
	int fd = mt_elf__open_file(path, NULL, err, sizeof(err));

	if (fd < 0)
		return -1;
	/* another build's debug file names the wrong functions: only the matching one */
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	ok = elf && (n <= 0 || (dwelf_elf_gnu_build_id(elf, &id) == n &&
				!memcmp(id, bits, (size_t)n)));
	if (elf)
		elf_end(elf);
	if (!ok || !(*name = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * libdwfl's find_debuginfo: the separate debug file of a module, by build id
 * under each debug directory, then by its .gnu_debuglink name beside the
 * file, in its .debug/ and under each debug directory; opened safely
 * (dwfl_standard_find_debuginfo opens what it finds as is, and may ask a
 * debuginfod server).
 */
int mt_uw_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			 Dwarf_Addr base, const char *file_name, const char *debuglink,
			 GElf_Word crc, char **debuginfo_file_name)
{
	const struct mt_uw *u = *userdata;
	const unsigned char *bits = NULL;
	char path[4096], hexid[2 * 64 + 1] = "", dir[4096] = "";
	const char *p, *e;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr), fd;

	(void)modname;
	(void)base;
	(void)crc;
	if (!u)
		return -1;
	mt_elf__hex(hexid, sizeof(hexid), bits, n > 0 ? (size_t)n : 0);
	if (file_name && strrchr(file_name, '/'))
		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(file_name, '/') - file_name),
			 file_name);
	/* by build id, in each absolute directory of the debug path */
	for (p = u->debug_path; n > 1 && *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		if (*p != '/')
			continue;
		snprintf(path, sizeof(path), "%.*s/.build-id/%.2s/%s.debug", (int)(e - p), p, hexid,
			 hexid + 2);
		fd = open_debug(path, bits, n, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	if (!debuglink || !debuglink[0] || strchr(debuglink, '/'))
		return -1;
	/* by debuglink: beside the file, in its .debug/, under each debug directory */
	snprintf(path, sizeof(path), "%s/%s", dir, debuglink);
	if (!file_name || strcmp(path, file_name)) {
		fd = open_debug(path, bits, n, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	snprintf(path, sizeof(path), "%s/.debug/%s", dir, debuglink);
	fd = open_debug(path, bits, n, debuginfo_file_name);
	if (fd >= 0)
		return fd;
	for (p = u->debug_path; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		if (*p != '/')
			continue;
		snprintf(path, sizeof(path), "%.*s%s/%s", (int)(e - p), p, dir, debuglink);
		fd = open_debug(path, bits, n, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* The module's debug file is looked for by mt_uw_find_debuginfo, which needs u. */
void mt_uw_module_owner(Dwfl_Module *mod, struct mt_uw *u)
{
	void **ud = NULL;

	if (mod && dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL) && ud)
		*ud = u;
}

static bool sym_open(struct mt_uw *u, struct ufile *f)
{
	int fd;

	if (f->sym_tried)
		return f->symmod != NULL;
	f->sym_tried = true;
	f->sym = dwfl_begin(&u->cbs);
	if (!f->sym)
		return false;
	fd = dup(f->fd);
	if (fd < 0)
		return false;
	dwfl_report_begin(f->sym);
	/* base 0 with add_p_vaddr: the module's addresses are the file's own */
	f->symmod = dwfl_report_elf(f->sym, f->path, f->path, fd, 0, true);
	mt_uw_module_owner(f->symmod, u);
	dwfl_report_end(f->sym, NULL, NULL);
	return f->symmod != NULL;
}

static const char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_linkage_name, &a));

	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &a));
	return n ? n : dwarf_diename(d);
}

static const char *call_file(Dwarf_Die *cu, Dwarf_Die *d, uint32_t *line)
{
	Dwarf_Attribute a;
	Dwarf_Word fi = 0, ln = 0;
	Dwarf_Files *files;
	size_t nfiles;

	*line = 0;
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &a), &ln) == 0)
		*line = (uint32_t)ln;
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &a), &fi) ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) || fi >= nfiles)
		return NULL;
	return dwarf_filesrc(files, fi, NULL, NULL);
}

/* Fill out[] for vaddr of f: innermost inlined call first, the function last. */
static int lookup(struct mt_uw *u, struct ufile *f, uint64_t vaddr, struct mt_usym *out, int max)
{
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name, *src = NULL;
	int line = 0, n = 0, nsc;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu, *scopes = NULL;
	Dwfl_Line *dl;

	if (!sym_open(u, f) || max <= 0)
		return 0;
	name = dwfl_module_addrinfo(f->symmod, vaddr, &off, &sym, NULL, NULL, NULL);
	dl = dwfl_module_getsrc(f->symmod, vaddr);
	if (dl)
		src = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
	cu = dwfl_module_addrdie(f->symmod, vaddr, &bias);
	nsc = cu ? dwarf_getscopes(cu, vaddr - bias, &scopes) : 0;
	/* scopes run from the innermost out: each inlined call was made from the next scope */
	for (int i = 0; nsc > 0 && i < nsc && n < max - 1 && n < MAX_INLINE; i++) {
		uint32_t cl;
		const char *cf;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		out[n++] = (struct mt_usym){.function = demangle(u, die_name(&scopes[i])),
					    .src = src, .line = (uint32_t)line, .inlined = true};
		cf = call_file(cu, &scopes[i], &cl);
		src = cf;
		line = (int)cl;
	}
	free(scopes);
	if (!name && !src && !n)
		return 0;
	out[n++] = (struct mt_usym){.function = demangle(u, name), .offset = off, .src = src,
				    .line = (uint32_t)(line > 0 ? line : 0)};
	return n;
}

static int res_room(struct mt_uw *u, size_t more)
{
	if (u->nsyms + more > u->capsyms) {
		size_t c = u->capsyms ? 2 * u->capsyms : 256;
		struct mt_usym *v;

		while (c < u->nsyms + more)
			c *= 2;
		v = realloc(u->syms, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->syms = v;
		u->capsyms = c;
	}
	if (u->nres == u->capres) {
		size_t c = u->capres ? 2 * u->capres : 256;
		struct sres *v = realloc(u->res, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->res = v;
		u->capres = c;
	}
	if ((u->nres + 1) * 2 > u->res_hash_cap) {
		size_t c = u->res_hash_cap ? 2 * u->res_hash_cap : 512;
		uint32_t *h = malloc(c * sizeof(*h));

		if (!h)
			return -ENOMEM;
		memset(h, 0xff, c * sizeof(*h));
		for (size_t j = 0; j < u->nres; j++) {
			size_t i = res_key(u->res[j].file, u->res[j].vaddr) & (c - 1);

			while (h[i] != NONE)
				i = (i + 1) & (c - 1);
			h[i] = (uint32_t)j;
		}
		free(u->res_hash);
		u->res_hash = h;
		u->res_hash_cap = c;
	}
	return 0;
}

int mt_uw__symbolize(struct mt_uw *u, const struct mt_uframe *fr, struct mt_usym *out, int max)
{
	struct mt_usym tmp[MAX_INLINE + 1];
	struct ufile *f;
	uint64_t vaddr;
	uint32_t canon;
	size_t i;
	int n;

	if (fr->file == MT_UW_NOFILE || fr->file >= u->nfiles || !mt_uw_open_file(u, fr->file))
		return 0;
	canon = u->files[fr->file].canon;
	f = &u->files[canon];
	/* a return address: the call is the instruction before it */
	if (!mt_uw_file_vaddr(f, fr->rel - (fr->caller ? 1 : 0), &vaddr))
		return 0;
	if (u->res_hash_cap) {
		for (i = res_key(canon, vaddr) & (u->res_hash_cap - 1); u->res_hash[i] != NONE;
		     i = (i + 1) & (u->res_hash_cap - 1)) {
			const struct sres *r = &u->res[u->res_hash[i]];

			if (r->file == canon && r->vaddr == vaddr) {
				n = (int)r->n < max ? (int)r->n : max;
				memcpy(out, &u->syms[r->first], (size_t)n * sizeof(*out));
				goto done;
			}
		}
	}
	n = lookup(u, f, vaddr, tmp, MAX_INLINE + 1);
	if (u->nres < MAX_RESULTS && !res_room(u, (size_t)n)) {
		for (i = res_key(canon, vaddr) & (u->res_hash_cap - 1); u->res_hash[i] != NONE;
		     i = (i + 1) & (u->res_hash_cap - 1))
			;
		u->res_hash[i] = (uint32_t)u->nres;
		u->res[u->nres++] = (struct sres){canon, vaddr, (uint32_t)u->nsyms, (uint32_t)n};
		memcpy(&u->syms[u->nsyms], tmp, (size_t)n * sizeof(*tmp));
		u->nsyms += (size_t)n;
	}
	if (n > max)
		n = max;
	memcpy(out, tmp, (size_t)n * sizeof(*out));
done:
	/* a return address's offset is from the function to the address itself */
	if (n && fr->caller)
		out[n - 1].offset += 1;
	return n;
}

void mt_uw_sym_free(struct mt_uw *u)
{
	for (size_t i = 0; i < u->nfiles; i++)
		if (u->files[i].sym)
			dwfl_end(u->files[i].sym);
	for (size_t i = 0; i < u->nstrings; i++)
		free(u->strings[i]);
	free(u->strings);
	free(u->res);
	free(u->res_hash);
	free(u->syms);
}
