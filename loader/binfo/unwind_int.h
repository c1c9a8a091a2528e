/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What unwind.c (files, address spaces, unwinding) and dwsym.c (names) share. */
#ifndef MT_UNWIND_INT_H
#define MT_UNWIND_INT_H

#include <elfutils/libdwfl.h>
#include "unwind.h"

struct uload {
	uint64_t off, filesz, vaddr;
};

/* One mapped file as the trace recorded it (path, device, inode, build id). */
struct ufile {
	char *path;
	uint64_t dev, ino;
	uint8_t bid[MT_BUILD_ID_MAX], bidlen;
	enum mt_uw_state state;
	char *reason;
	bool go;
	uint32_t canon; /* the first file that is the same file on disk: its symbol cache */
	uint64_t disk_dev, disk_ino;
	int fd;
	Elf *elf;
	uint16_t etype;
	struct uload *loads;
	size_t nloads;
	/* the symbolizer's view (dwsym.c): the file alone, at its link-time addresses */
	Dwfl *sym;
	Dwfl_Module *symmod;
	bool sym_tried;
};

/* A symbolized (file, address): entries [first, first + n) of syms. */
struct sres {
	uint32_t file;
	uint64_t vaddr;
	uint32_t first, n;
};

struct mt_uw {
	char *debug_path; /* what libdwfl searches for separate debug files */
	Dwfl_Callbacks cbs;
	struct ufile *files;
	size_t nfiles, capfiles;
	uint32_t *file_hash; /* open addressing over files[], UINT32_MAX empty */
	size_t file_hash_cap;
	uint64_t clock; /* counts unwinds: which process's view was used last */
	size_t nmaps; /* mappings of all processes */
	struct uspace **spaces;
	size_t nspaces, capspaces;
	uint32_t *space_hash;
	size_t space_hash_cap;
	/* dwsym.c's cache */
	struct sres *res;
	size_t nres, capres;
	uint32_t *res_hash;
	size_t res_hash_cap;
	struct mt_usym *syms;
	size_t nsyms, capsyms;
	char **strings; /* demangled names, owned */
	size_t nstrings, capstrings;
};

/* Open file i if it has not been tried yet; true when it can be used. */
bool mt_uw_open_file(struct mt_uw *u, uint32_t i);
/* file offset -> link-time address of file i (opened); false outside its segments */
bool mt_uw_file_vaddr(const struct ufile *f, uint64_t off, uint64_t *vaddr);
void mt_uw_sym_free(struct mt_uw *u);
/* libdwfl's find_debuginfo, opening files safely (dwsym.c); its module owned by u first */
int mt_uw_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			 Dwarf_Addr base, const char *file_name, const char *debuglink,
			 GElf_Word crc, char **debuginfo_file_name);
void mt_uw_module_owner(Dwfl_Module *mod, struct mt_uw *u);

#endif
