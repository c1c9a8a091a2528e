/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the trace-file writer (tracefile.c) and reader (tracefile_read.c)
 * share: the v1 layout (docs/trace-format.md), little-endian fields and the
 * header's key/value entries. Private to loader/format.
 */
#ifndef MT_TRACEFILE_INT_H
#define MT_TRACEFILE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "madvtrace/record.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "records are stored in host order, which must be little-endian");

#define MT_MAGIC "MADVTRC\0"
#define MT_MAGIC_LEN 8
/* magic, version, header length: enough to decide whether we can read the rest */
#define PREFIX_LEN 16
/* prefix + page_size, clock_id, clock_offset_ns, start_ns, backend, target_pid, entry count */
#define FIXED_LEN 52
#define CRC_LEN 4
#define MIN_HEADER_LEN (FIXED_LEN + CRC_LEN)
/* The header holds command lines; 1 MiB bounds what a reader allocates for it. */
#define MAX_HEADER_LEN (1u << 20)
#define MAX_KEY_LEN 255
#define FRAME_LEN 4
#define MIN_RECORD_LEN ((uint32_t)sizeof(struct mt_hdr))
#define MAX_RECORD_LEN 65535u /* mt_hdr.size is a __u16 */

/* Numeric fields that are also visible through mt_reader__get(); not settable as entries. */
#define MT_TF_NUMERIC_KEYS 7
extern const char *const mt_tf__numeric_keys[MT_TF_NUMERIC_KEYS];

static inline void mt_tf__put_u16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline void mt_tf__put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static inline void mt_tf__put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static inline uint16_t mt_tf__get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mt_tf__get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mt_tf__get_u64(const unsigned char *p)
{
	return (uint64_t)mt_tf__get_u32(p) | (uint64_t)mt_tf__get_u32(p + 4) << 32;
}

/* A header entry. */
struct mt_tf_entry {
	char *key;
	char *value;
};

/* Set key (klen bytes) to value (vlen bytes) in *ents, replacing an equal key. 0 or -ENOMEM. */
int mt_tf__entries_set(struct mt_tf_entry **ents, size_t *n, const char *key, size_t klen,
		       const char *value, size_t vlen);
void mt_tf__entries_free(struct mt_tf_entry *ents, size_t n);

#endif
