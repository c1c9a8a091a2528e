/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one JSON writer, as bpftool's json_writer.c: `dump`'s JSON Lines and
 * the json and perfetto reports. It keeps the commas and the nesting, and
 * escapes every string the same way (mt_json__escape): `"`, `\` and control
 * characters escaped, valid UTF-8 as is, any other byte as \u00XX (the
 * byte's value), so a name holding any byte reads back the same everywhere.
 *
 * Layout: compact (`"a":1,"b":2`, for dump) or spaced (`"a": 1, "b": 2`,
 * the reports). mt_jw__break() puts the next item on a line of its own,
 * indented two spaces a level; a container that had one closes on a line of
 * its own too. Bytes gather in the caller's buffer (util/buf.h) and go to
 * the FILE when it fills or on mt_jw__flush(): nothing is ever cut.
 */
#ifndef MT_JSON_WRITER_H
#define MT_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "buf.h"

#define MT_JW_DEPTH 16

struct mt_jw {
	struct mt_buf b;
	bool spaced; /* ": " and ", " rather than ":" and "," */
	bool after_key; /* the next value is a member's: no separator */
	bool brk; /* the next item starts a line */
	int depth;
	uint8_t items[MT_JW_DEPTH]; /* the container at that depth has an item */
	uint8_t lines[MT_JW_DEPTH]; /* ...and a line was broken in it */
};

/* A writer to out through buf[len] (len > 0). */
void mt_jw__init(struct mt_jw *w, char *buf, size_t len, FILE *out, bool spaced);
/* Hand what is buffered to the FILE: bytes written in all, or -1 (a write failed, bad nesting). */
int64_t mt_jw__flush(struct mt_jw *w);

/* The body of a JSON string (no quotes) for n bytes of p: the one escaping. */
void mt_json__escape(struct mt_buf *b, const void *p, size_t n);

/* Before an item of the current container: its separator, or none after a key. */
void mt_jw__sep_slow(struct mt_jw *w);
static inline void mt_jw__sep(struct mt_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->spaced && !w->brk && w->items[w->depth]) {
		mt_buf__chr(&w->b, ','); /* dump's path */
		return;
	}
	mt_jw__sep_slow(w);
}

void mt_jw__start_object(struct mt_jw *w);
void mt_jw__end_object(struct mt_jw *w);
void mt_jw__start_array(struct mt_jw *w);
void mt_jw__end_array(struct mt_jw *w);
/* The next item of the current container on a line of its own. */
static inline void mt_jw__break(struct mt_jw *w)
{
	w->brk = true;
}

/* A member's name, escaped. */
void mt_jw__key(struct mt_jw *w, const char *key);
/* A member's name that is a string literal of plain ASCII: not escaped. */
#define mt_jw__key_lit(w, lit) mt_jw__key_raw(w, ",\"" lit "\":", sizeof(lit) + 3)
void mt_jw__key_slow(struct mt_jw *w, const char *quoted, size_t n);
/* sqc: `,"name":`, n bytes; in one copy when compact and not first (dump's path). */
static inline void mt_jw__key_raw(struct mt_jw *w, const char *sqc, size_t n)
{
	if (!w->spaced && !w->brk && !w->after_key && w->items[w->depth]) {
		mt_buf__mem(&w->b, sqc, n);
		w->after_key = true;
		return;
	}
	mt_jw__key_slow(w, sqc + 1, n - 2);
}

static inline void mt_jw__u64(struct mt_jw *w, uint64_t v)
{
	mt_jw__sep(w);
	mt_buf__u64(&w->b, v);
}

static inline void mt_jw__s64(struct mt_jw *w, int64_t v)
{
	mt_jw__sep(w);
	mt_buf__s64(&w->b, v);
}

void mt_jw__bool(struct mt_jw *w, bool v);
void mt_jw__null(struct mt_jw *w);
/* v, or null when it is not known. */
void mt_jw__u64_or_null(struct mt_jw *w, uint64_t v, bool known);
/* A string; NULL is null. */
void mt_jw__string(struct mt_jw *w, const char *s);
/* n bytes of p as a string (they may hold any byte, NUL included). */
void mt_jw__string_n(struct mt_jw *w, const void *p, size_t n);
/* "0x1f": a number in hex, as a string. */
void mt_jw__hex_string(struct mt_jw *w, uint64_t v);
/* v / 10^digits with its digits (1..19) of fraction: 1500 and 3 give 1.500. */
void mt_jw__decimal(struct mt_jw *w, uint64_t v, int digits);

/* A string in pieces: begin, parts (escaped) and raw parts (already JSON), end. */
void mt_jw__string_begin(struct mt_jw *w);
static inline void mt_jw__string_part(struct mt_jw *w, const char *s)
{
	mt_json__escape(&w->b, s, strlen(s));
}
#define mt_jw__string_raw(w, lit) mt_buf__lit(&(w)->b, lit)
static inline void mt_jw__string_end(struct mt_jw *w)
{
	mt_buf__chr(&w->b, '"');
}

/* Bytes between values that are not JSON items: a newline after a document, a separator of ours. */
static inline void mt_jw__verbatim(struct mt_jw *w, const void *p, size_t n)
{
	mt_buf__mem(&w->b, p, n);
}
#define mt_jw__verbatim_lit(w, lit) mt_buf__lit(&(w)->b, lit)

/* Members of one value, the most common pairs. */
#define mt_jw__u64_field(w, key, v)       \
	do {                              \
		mt_jw__key_lit(w, key);   \
		mt_jw__u64(w, v);         \
	} while (0)
#define mt_jw__s64_field(w, key, v)       \
	do {                              \
		mt_jw__key_lit(w, key);   \
		mt_jw__s64(w, v);         \
	} while (0)
#define mt_jw__string_field(w, key, s)    \
	do {                              \
		mt_jw__key_lit(w, key);   \
		mt_jw__string(w, s);      \
	} while (0)

#endif
