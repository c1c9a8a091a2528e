// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "text.h"

char *mt_cat(char *buf, size_t len, const char *s)
{
	size_t n = strnlen(buf, len);

	while (*s && n + 1 < len)
		buf[n++] = *s++;
	if (n < len)
		buf[n] = '\0';
	return buf;
}

char *mt_cat_u64(char *buf, size_t len, uint64_t v)
{
	char tmp[21];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return mt_cat(buf, len, tmp + i);
}

bool mt_parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;
	bool any = false;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s >= '0' && *s <= '9') {
		r = r * 10 + (uint64_t)(*s++ - '0');
		any = true;
	}
	if (any)
		*v = r;
	return any;
}

bool mt_kb_field(const char *text, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);
	const char *p = text;
	uint64_t kb;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			if (!mt_parse_u64(p + klen + 1, &kb))
				return false;
			*bytes = kb * 1024;
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

bool mt_parse_status(const char *text, struct mt_counters *c)
{
	c->anon = c->file = c->shmem = c->swap = 0;
	if (!mt_kb_field(text, "RssAnon", &c->anon))
		return false;
	mt_kb_field(text, "RssFile", &c->file);
	mt_kb_field(text, "RssShmem", &c->shmem);
	mt_kb_field(text, "VmSwap", &c->swap);
	return true;
}

bool mt_parse_smaps_rollup(const char *text, uint64_t *rss, uint64_t *lazyfree)
{
	*lazyfree = 0;
	if (!mt_kb_field(text, "Rss", rss))
		return false;
	mt_kb_field(text, "LazyFree", lazyfree);
	return true;
}

static bool is_sep(char c)
{
	return c == ':' || c == ' ' || c == '\t';
}

/* Does entry [s, s + n) name a file called name (as the whole entry or after a '/')? */
static bool entry_is(const char *s, size_t n, const char *name)
{
	size_t len = strlen(name);

	if (n < len || memcmp(s + n - len, name, len))
		return false;
	return n == len || s[n - len - 1] == '/';
}

size_t mt_preload_strip(char *value, const char *name)
{
	char *r = value, *w = value;

	while (*r) {
		char *s;
		size_t n;

		while (is_sep(*r))
			r++;
		s = r;
		while (*r && !is_sep(*r))
			r++;
		n = (size_t)(r - s);
		if (!n || entry_is(s, n, name))
			continue;
		if (w != value)
			*w++ = ':';
		memmove(w, s, n);
		w += n;
	}
	*w = '\0';
	return (size_t)(w - value);
}

bool mt_preload_has(const char *value, const char *name)
{
	const char *r = value;

	while (r && *r) {
		const char *s;

		while (is_sep(*r))
			r++;
		s = r;
		while (*r && !is_sep(*r))
			r++;
		if (r > s && entry_is(s, (size_t)(r - s), name))
			return true;
	}
	return false;
}
