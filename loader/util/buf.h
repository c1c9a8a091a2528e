/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one byte builder under every rendering: the names of util/xlat.c, the
 * text lines of the live view, the JSON writer (util/json_writer.h).
 *
 * Two uses, one type:
 *  - a stream: bytes gather in a buffer (usually on the stack) and go to a
 *    FILE when it is full or on mt_buf__flush(); nothing is ever cut, and
 *    a record's line normally leaves in one fwrite;
 *  - a bounded string (mt_buf__init_str): the bytes go into the caller's
 *    char[] and what does not fit is cut, as snprintf() would.
 * The appenders are inline: `dump` calls them a few dozen times a record
 * over millions of records.
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct mt_buf {
	char *p;
	size_t len, cap; /* a bounded string keeps one byte of p for its NUL */
	FILE *out; /* NULL: a bounded string */
	uint64_t written; /* bytes already handed to out */
	int err; /* a write to out failed: the rest is dropped */
};

/* A stream to out through the caller's buffer (len > 0). */
static inline void mt_buf__init(struct mt_buf *b, char *buf, size_t len, FILE *out)
{
	b->p = buf;
	b->len = 0;
	b->cap = len;
	b->out = out;
	b->written = 0;
	b->err = 0;
}

/* A bounded string in buf[len] (len > 0); mt_buf__cstr() terminates it. */
static inline void mt_buf__init_str(struct mt_buf *b, char *buf, size_t len)
{
	mt_buf__init(b, buf, len - 1, NULL);
}

/* What does not fit: a stream flushes, a string is cut. Out of line: the rare path. */
void mt_buf__spill(struct mt_buf *b, const char *p, size_t n);
/* Hand the buffered bytes to the FILE; bytes in all, or -1 when a write failed. */
int64_t mt_buf__flush(struct mt_buf *b);

/* The bounded string, terminated. */
static inline char *mt_buf__cstr(struct mt_buf *b)
{
	b->p[b->len] = '\0';
	return b->p;
}

static inline void mt_buf__mem(struct mt_buf *b, const void *p, size_t n)
{
	if (n <= b->cap - b->len) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	} else {
		mt_buf__spill(b, p, n);
	}
}

/* A string literal: its length known at compile time. */
#define mt_buf__lit(b, lit) mt_buf__mem(b, "" lit, sizeof(lit) - 1)

static inline void mt_buf__str(struct mt_buf *b, const char *s)
{
	mt_buf__mem(b, s, strlen(s));
}

static inline void mt_buf__chr(struct mt_buf *b, char c)
{
	if (b->len < b->cap)
		b->p[b->len++] = c;
	else
		mt_buf__spill(b, &c, 1);
}

static inline void mt_buf__u64(struct mt_buf *b, uint64_t v)
{
	char tmp[20];
	int i = 20;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mt_buf__mem(b, tmp + i, (size_t)(20 - i));
}

static inline void mt_buf__s64(struct mt_buf *b, int64_t v)
{
	if (v < 0) {
		mt_buf__chr(b, '-');
		mt_buf__u64(b, -(uint64_t)v);
	} else {
		mt_buf__u64(b, (uint64_t)v);
	}
}

/* "0x1f": lower-case hex with its prefix. */
static inline void mt_buf__hex(struct mt_buf *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18];
	int i = 18;

	do {
		tmp[--i] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	mt_buf__mem(b, tmp + i, (size_t)(18 - i));
}

/* Zero-padded decimal of exactly width (1..20) digits. */
static inline void mt_buf__dec_w(struct mt_buf *b, uint64_t v, int width)
{
	char tmp[20];

	for (int i = width - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	mt_buf__mem(b, tmp, (size_t)width);
}

#endif
