/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Text helpers the agent may use anywhere, a signal handler or its own
 * thread included: no allocation, no locale, no stdio, no errno.
 */
#ifndef MT_AGENT_TEXT_H
#define MT_AGENT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The counters of an rss record, in bytes. */
struct mt_counters {
	uint64_t anon, file, shmem, swap;
};

/* Append the decimal form of v to buf (of size len, kept NUL-terminated); returns buf. */
char *mt_cat_u64(char *buf, size_t len, uint64_t v);
/* Append s. */
char *mt_cat(char *buf, size_t len, const char *s);

/* A decimal number at the start of s (leading blanks skipped); false if none. */
bool mt_parse_u64(const char *s, uint64_t *v);

/* "Key:   123 kB" in /proc text (a line starting with key), as bytes; false if absent. */
bool mt_kb_field(const char *text, const char *key, uint64_t *bytes);

/* RssAnon, RssFile, RssShmem and VmSwap of /proc/PID/status; false if RssAnon is missing. */
bool mt_parse_status(const char *text, struct mt_counters *c);

/* Rss and LazyFree of /proc/PID/smaps_rollup; false if Rss is missing. */
bool mt_parse_smaps_rollup(const char *text, uint64_t *rss, uint64_t *lazyfree);

/*
 * Remove from an LD_PRELOAD value (entries separated by ':' or blanks) every
 * entry whose file name is name; in place. Returns the new length.
 */
size_t mt_preload_strip(char *value, const char *name);

/* Does an LD_PRELOAD value name a file called name? */
bool mt_preload_has(const char *value, const char *name);

#endif
