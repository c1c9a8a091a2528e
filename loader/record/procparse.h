/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the recorder reads in /proc files, parsed: pure functions of the
 * text (NUL-terminated), nothing opened or printed, so that a fuzzer
 * (tests/fuzz/fuzz_procfs.c) and the unit tests feed them any bytes. The
 * files are the kernel's, but their paths and values are the program's
 * (a mapped file's name is anything its owner chose).
 */
#ifndef MT_PROCPARSE_H
#define MT_PROCPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "madvtrace/record.h"

/* The value of a "Key:   123 kB" line at the start of a line, in bytes; 0 if absent. */
uint64_t mt_procparse__kb(const char *text, const char *key);
/* RssAnon, RssFile, RssShmem, VmSwap of /proc/PID/status into r; -ESRCH without RssAnon (no mm). */
int mt_procparse__status(const char *text, struct mt_rss *r);
/* Rss and LazyFree of /proc/PID/smaps_rollup into r (and MT_F_SMAPS); -ESRCH when empty. */
int mt_procparse__smaps_rollup(const char *text, struct mt_rss *r);

/* One line of /proc/PID/maps: start-end perms offset major:minor inode [path]. */
struct mt_maps_file {
	uint64_t start, end, off, ino;
	unsigned long dev_major, dev_minor;
	uint32_t prot; /* PROT_READ, PROT_WRITE, PROT_EXEC of the perms */
	const char *path; /* into the line; "" when the mapping has none */
	size_t path_len; /* up to the line's end (a newline or the NUL) */
};
/* false when the line is not one (the fields above are then unspecified). */
bool mt_procparse__maps_line(const char *line, struct mt_maps_file *f);

#endif
