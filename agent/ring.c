// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Multi-producer, single-consumer ring of framed records (see ring.h).
 *
 * A frame is a 4-byte word, then the record. The word goes through three
 * values: 0 (reserved, nothing written yet: freed space is always zeroed),
 * len | MT_RING_BUSY (being written), then len (complete). A frame never
 * wraps: a reservation that would is preceded by a padding frame up to the
 * end of the buffer. Every record length is a multiple of 4, so every frame
 * word is 4-byte aligned.
 *
 * A producer that stops between its reservation and its commit (a thread
 * cancelled asynchronously, a signal handler that longjmps out of a hook)
 * holds up the consumer for good: later records then count as lost when
 * the ring fills. That needs a thread to die inside a few instructions.
 */
#include <string.h>
#include "ring.h"

#define FRAME 4u

static uint32_t *word_at(const struct mt_ring *r, uint64_t off)
{
	return (uint32_t *)(void *)(r->data + off);
}

void mt_ring_init(struct mt_ring *r, void *mem, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->data = mem;
	r->size = size;
}

void *mt_ring_reserve(struct mt_ring *r, uint32_t len)
{
	uint64_t need = FRAME + len, h, t, off, to_end, total;

	h = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	do {
		/* acquire: the consumer zeroed what it freed before moving the tail */
		t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		off = h & (r->size - 1);
		to_end = r->size - off;
		total = need <= to_end ? need : to_end + need;
		if (h + total - t > r->size)
			return NULL;
	} while (!__atomic_compare_exchange_n(&r->head, &h, h + total, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (need > to_end) {
		__atomic_store_n(word_at(r, off), MT_RING_PAD | (uint32_t)to_end, __ATOMIC_RELEASE);
		off = 0;
	}
	__atomic_store_n(word_at(r, off), len | MT_RING_BUSY, __ATOMIC_RELAXED);
	return r->data + off + FRAME;
}

void mt_ring_commit(void *rec)
{
	uint32_t *w = (uint32_t *)rec - 1;
	uint32_t v = __atomic_load_n(w, __ATOMIC_RELAXED);

	/* release: the record's bytes are visible before its length says it is complete */
	__atomic_store_n(w, v & ~MT_RING_BUSY, __ATOMIC_RELEASE);
}

uint32_t mt_ring_peek(struct mt_ring *r, uint64_t *off, uint32_t max)
{
	uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED), start, o;
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t run = 0, w, flen;

	/* padding at the tail: nothing to write, free it now */
	while (pos != head) {
		o = pos & (r->size - 1);
		w = __atomic_load_n(word_at(r, o), __ATOMIC_ACQUIRE);
		if (!(w & MT_RING_PAD))
			break;
		flen = w & MT_RING_LEN_MASK;
		memset(r->data + o, 0, flen);
		pos += flen;
		__atomic_store_n(&r->tail, pos, __ATOMIC_RELEASE);
	}
	start = pos & (r->size - 1);
	while (pos != head) {
		o = pos & (r->size - 1);
		if (o < start)
			break; /* wrapped: the next run starts at the beginning */
		w = __atomic_load_n(word_at(r, o), __ATOMIC_ACQUIRE);
		if (w == 0 || (w & (MT_RING_BUSY | MT_RING_PAD)))
			break;
		flen = FRAME + (w & MT_RING_LEN_MASK);
		if (run && run + flen > max)
			break;
		run += flen;
		pos += flen;
	}
	*off = start;
	return run;
}

void mt_ring_release(struct mt_ring *r, uint32_t len)
{
	uint64_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	/* producers rely on free space being zero (an unwritten frame word reads 0) */
	memset(r->data + (t & (r->size - 1)), 0, len);
	__atomic_store_n(&r->tail, t + len, __ATOMIC_RELEASE);
}
