/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file mappings of a traced process as MT_MAPPING records, so that a
 * report can unwind and symbolize without the process (and elsewhere):
 * path, range, offset, device, inode, protection and the file's GNU build
 * id. Read from /proc/PID/maps by the recorder's worker (recworker.c), never
 * on the event-draining path; each mapping is written once per process.
 *
 * The files belong to whoever runs the traced program and may be read as
 * root: each is reached through the process's own root directory
 * (/proc/PID/root, resolved inside it), opened without following a final
 * symbolic link and without blocking, only if it is a regular file and the
 * very inode the process maps (a file replaced or deleted since gives no
 * build id), and read only for its headers and notes, within a size cap.
 */
#ifndef MT_MAPPINGS_H
#define MT_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "madvtrace/record.h"
#include "procfs.h"

/* A mapping record with room for the longest path. */
union mt_mapping_rec {
	struct mt_mapping m;
	unsigned char b[sizeof(struct mt_mapping) + MT_MAPPING_PATH_MAX];
};

/*
 * One line of /proc/PID/maps as a mapping record (header not set, no build
 * id): false for a line without a file (anonymous memory, [stack], [vdso]),
 * a path too long for the record, or a malformed line. The path keeps a
 * " (deleted)" suffix the kernel adds. Sets r->m.h.size.
 */
bool mt_maps_line__mapping(const char *line, union mt_mapping_rec *r);

/*
 * The GNU build id of the ELF file open on fd (taken over and closed), into
 * id: its length (1..MT_BUILD_ID_MAX), or 0 when the file has none, is no
 * ELF file, or its notes are corrupt or longer than the record holds.
 */
unsigned mt_mapping__build_id(int fd, uint8_t id[MT_BUILD_ID_MAX]);

/* Build ids by file (device, inode), so that each file is read once. */
struct mt_bidcache;
struct mt_bidcache *mt_bidcache__new(void);
void mt_bidcache__free(struct mt_bidcache *c);

/*
 * Is this mapping new for the process? Called for each file mapping before
 * its build id is read; true to have it written (the caller remembers it).
 */
typedef bool (*mt_mapping_fresh_fn)(void *ctx, const struct mt_mapping *m);

/*
 * Every file mapping of pid that fresh() calls new, as an MT_MAPPING record
 * (MT_F_SYNTH) with its build id, through emit. 0, emit's error, or -errno
 * when /proc/PID/maps cannot be read (the process is gone).
 */
int mt_mappings__scan(pid_t pid, struct mt_bidcache *bc, mt_mapping_fresh_fn fresh,
		      void *fresh_ctx, mt_proc_emit_fn emit, void *ctx);

/* The mappings written for one process, for dedupe and to tell whether an address is in one. */
struct mt_mapset {
	struct mt_mapset_ent {
		uint64_t start, end, ino;
		uint32_t prot;
	} *v; /* sorted by start */
	size_t n, cap;
};
/*
 * Add a mapping unless one of the same start, end, inode and protection is
 * there (mprotect makes code of data, as a JIT or the loader's RELRO does):
 * true if added.
 */
bool mt_mapset__add(struct mt_mapset *s, uint64_t start, uint64_t end, uint64_t ino,
		    uint32_t prot);
/* Is addr inside one of the mappings? */
bool mt_mapset__covers(const struct mt_mapset *s, uint64_t addr);
void mt_mapset__clear(struct mt_mapset *s);

#endif
