/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's record buffer: one ring per process, many producers (every
 * thread's hooks, signal handlers included, and the agent thread), one
 * consumer (the agent thread, or a thread on its way out of the process).
 *
 * The ring holds records already in trace-file framing (a 4-byte length,
 * then the record), so the consumer writes spans of it out as they are.
 * Reserving is a compare-and-swap on the head and committing a release
 * store of the length: no lock, no system call, safe in a signal handler
 * and in a signal handler that interrupted a reservation on the same thread.
 */
#ifndef MT_AGENT_RING_H
#define MT_AGENT_RING_H

#include <stdbool.h>
#include <stdint.h>

/* Frame word of a record being written (the length is in the low bits). */
#define MT_RING_BUSY 0x80000000u
/* Frame word of padding up to the end of the buffer (length includes the word). */
#define MT_RING_PAD 0x40000000u
#define MT_RING_LEN_MASK 0x0000ffffu

struct mt_ring {
	uint64_t head; /* bytes reserved since the start (not wrapped) */
	char _pad0[56];
	uint64_t tail; /* bytes consumed since the start */
	char _pad1[56];
	uint64_t lost; /* records not stored: the ring was full */
	uint64_t size; /* a power of two */
	unsigned char *data;
};

/* mem: size bytes, zero-filled, 8-byte aligned; size a power of two >= 4096. */
void mt_ring_init(struct mt_ring *r, void *mem, uint64_t size);

/*
 * Room for a record of len bytes (a multiple of 4, 32..65535). Returns where
 * to write the record, or NULL if the ring is full (nothing reserved).
 */
void *mt_ring_reserve(struct mt_ring *r, uint32_t len);

/* The record at rec (from mt_ring_reserve) is complete. */
void mt_ring_commit(void *rec);

/*
 * Consumer: the longest run of complete frames at the tail, contiguous in
 * memory and at most max bytes (but at least one frame). Padding at the tail
 * is skipped on the way. Returns the run's length (0: nothing complete yet)
 * and its offset in r->data in *off.
 */
uint32_t mt_ring_peek(struct mt_ring *r, uint64_t *off, uint32_t max);

/* Consumer: the len bytes mt_ring_peek returned are written out; free them. */
void mt_ring_release(struct mt_ring *r, uint32_t len);

#endif
