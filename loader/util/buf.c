// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The byte builder's slow paths: a full buffer. See buf.h. */
#include "buf.h"

static void put_out(struct mt_buf *b, const void *p, size_t n)
{
	if (b->err || !n)
		return;
	/* the renderers run single-threaded over a FILE of their own */
	if (fwrite_unlocked(p, 1, n, b->out) != n) {
		b->err = -1;
		return;
	}
	b->written += n;
}

void mt_buf__spill(struct mt_buf *b, const char *p, size_t n)
{
	size_t room = b->cap - b->len;

	if (!b->out) {
		/* a bounded string: keep what fits, like snprintf */
		memcpy(b->p + b->len, p, room);
		b->len = b->cap;
		return;
	}
	put_out(b, b->p, b->len);
	b->len = 0;
	if (n > b->cap) {
		put_out(b, p, n);
		return;
	}
	memcpy(b->p, p, n);
	b->len = n;
}

int64_t mt_buf__flush(struct mt_buf *b)
{
	if (b->out) {
		put_out(b, b->p, b->len);
		b->len = 0;
	}
	return b->err ? -1 : (int64_t)b->written;
}
