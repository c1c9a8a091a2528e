/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The renderings of one record every consumer uses: the JSON Lines object of
 * `madvtrace dump` (docs/dump-format.md) and the strace-like line of the
 * live view. Names of constants are util/xlat.h's.
 */
#ifndef MT_DUMP_H
#define MT_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"
#include "records.h"

/* One JSON object (no newline) for rec: bytes written, or -1 when a write failed. */
int mt_record_json(FILE *out, const struct mt_hdr *rec);
/*
 * One strace-like line (no newline), e.g.
 *   "12:00:01.123456 1234/1235 madvise(0x7f..., 64 KiB, MADV_FREE) = 0"
 * clock_offset_ns turns t_ns into wall-clock time (0: print seconds since boot).
 * Bytes written, or -1 when a write failed.
 */
int mt_record_text(FILE *out, const struct mt_hdr *rec, int64_t clock_offset_ns);

#endif
