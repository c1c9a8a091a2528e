// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON writer: see json_writer.h. */
#include "json_writer.h"

void mt_jw__init(struct mt_jw *w, char *buf, size_t len, FILE *out, bool spaced)
{
	mt_buf__init(&w->b, buf, len, out);
	w->spaced = spaced;
	w->after_key = false;
	w->brk = false;
	w->depth = 0;
	w->items[0] = w->lines[0] = 0;
}

int64_t mt_jw__flush(struct mt_jw *w)
{
	return mt_buf__flush(&w->b);
}

void mt_json__escape(struct mt_buf *b, const void *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t seq = 0;

		if (c >= 0x20 && c < 0x7f) {
			/* a run of plain bytes in one copy: the common case */
			size_t j = i;

			while (j < n && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
				j++;
			if (j > i) {
				mt_buf__mem(b, p + i, j - i);
				i = j;
				continue;
			}
			mt_buf__chr(b, '\\');
			mt_buf__chr(b, (char)c);
			i++;
			continue;
		}
		/* length of a well-formed UTF-8 sequence starting here, else 0 */
		if (c >= 0xc2 && c <= 0xdf)
			seq = 2;
		else if (c >= 0xe0 && c <= 0xef)
			seq = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			seq = 4;
		if (seq && i + seq <= n) {
			size_t k;

			for (k = 1; k < seq; k++)
				if ((p[i + k] & 0xc0) != 0x80)
					break;
			/* reject overlong, surrogate and out-of-range forms */
			if (k == seq &&
			    ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
			     (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
				k = 0;
			if (k == seq) {
				mt_buf__mem(b, p + i, seq);
				i += seq;
				continue;
			}
		}
		/* a control character, DEL, or a byte that is not UTF-8: its value */
		mt_buf__lit(b, "\\u00");
		mt_buf__chr(b, hex[c >> 4]);
		mt_buf__chr(b, hex[c & 0xf]);
		i++;
	}
}

void mt_jw__sep_slow(struct mt_jw *w)
{
	int d = w->depth;

	if (d == 0)
		return; /* a document: nothing before it */
	if (w->items[d]) {
		mt_buf__chr(&w->b, ',');
		if (w->spaced && !w->brk)
			mt_buf__chr(&w->b, ' ');
	}
	w->items[d] = 1;
	if (w->brk) {
		w->brk = false;
		w->lines[d] = 1;
		mt_buf__chr(&w->b, '\n');
		for (int i = 0; i < d; i++)
			mt_buf__lit(&w->b, "  ");
	}
}

static void start(struct mt_jw *w, char open)
{
	mt_jw__sep(w);
	mt_buf__chr(&w->b, open);
	if (w->depth + 1 >= MT_JW_DEPTH) {
		w->b.err = -1; /* deeper than any document of ours: a bug, said by flush */
		return;
	}
	w->depth++;
	w->items[w->depth] = w->lines[w->depth] = 0;
	w->brk = false;
}

static void end(struct mt_jw *w, char close)
{
	int d = w->depth;

	if (d == 0) {
		w->b.err = -1;
		return;
	}
	if (w->lines[d]) {
		mt_buf__chr(&w->b, '\n');
		for (int i = 1; i < d; i++)
			mt_buf__lit(&w->b, "  ");
	}
	mt_buf__chr(&w->b, close);
	w->depth--;
	w->brk = false;
	w->after_key = false;
}

void mt_jw__start_object(struct mt_jw *w)
{
	start(w, '{');
}

void mt_jw__end_object(struct mt_jw *w)
{
	end(w, '}');
}

void mt_jw__start_array(struct mt_jw *w)
{
	start(w, '[');
}

void mt_jw__end_array(struct mt_jw *w)
{
	end(w, ']');
}

void mt_jw__key(struct mt_jw *w, const char *key)
{
	mt_jw__sep(w);
	mt_buf__chr(&w->b, '"');
	mt_json__escape(&w->b, key, strlen(key));
	mt_buf__chr(&w->b, '"');
	if (w->spaced)
		mt_buf__lit(&w->b, ": ");
	else
		mt_buf__chr(&w->b, ':');
	w->after_key = true;
}

void mt_jw__key_slow(struct mt_jw *w, const char *quoted, size_t n)
{
	mt_jw__sep(w);
	mt_buf__mem(&w->b, quoted, n);
	if (w->spaced)
		mt_buf__lit(&w->b, ": ");
	else
		mt_buf__chr(&w->b, ':');
	w->after_key = true;
}

void mt_jw__bool(struct mt_jw *w, bool v)
{
	mt_jw__sep(w);
	if (v)
		mt_buf__lit(&w->b, "true");
	else
		mt_buf__lit(&w->b, "false");
}

void mt_jw__null(struct mt_jw *w)
{
	mt_jw__sep(w);
	mt_buf__lit(&w->b, "null");
}

void mt_jw__u64_or_null(struct mt_jw *w, uint64_t v, bool known)
{
	if (known)
		mt_jw__u64(w, v);
	else
		mt_jw__null(w);
}

void mt_jw__string_n(struct mt_jw *w, const void *p, size_t n)
{
	mt_jw__sep(w);
	mt_buf__chr(&w->b, '"');
	mt_json__escape(&w->b, p, n);
	mt_buf__chr(&w->b, '"');
}

void mt_jw__string(struct mt_jw *w, const char *s)
{
	if (s)
		mt_jw__string_n(w, s, strlen(s));
	else
		mt_jw__null(w);
}

void mt_jw__hex_string(struct mt_jw *w, uint64_t v)
{
	mt_jw__sep(w);
	mt_buf__chr(&w->b, '"');
	mt_buf__hex(&w->b, v);
	mt_buf__chr(&w->b, '"');
}

void mt_jw__decimal(struct mt_jw *w, uint64_t v, int digits)
{
	uint64_t div = 1;

	for (int i = 0; i < digits; i++)
		div *= 10;
	mt_jw__sep(w);
	mt_buf__u64(&w->b, v / div);
	mt_buf__chr(&w->b, '.');
	mt_buf__dec_w(&w->b, v % div, digits);
}

void mt_jw__string_begin(struct mt_jw *w)
{
	mt_jw__sep(w);
	mt_buf__chr(&w->b, '"');
}
