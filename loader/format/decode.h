/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding of records: the one table of record types, names of advice, prot,
 * flags and errno values, and the two renderings every consumer uses: the
 * strace-like line of the live view and the JSON Lines object of `dump`.
 */
#ifndef MT_DECODE_H
#define MT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"
#include "records.h"
#include "fmt.h"
#include "xlat.h"

/* A syscall return value: "0x7f12...", "0", or "-1 ENOMEM (Cannot allocate memory)". */
char *mt_ret_str(char *buf, size_t len, const struct mt_hdr *rec);

/* One JSON object (no newline) for rec, as documented in docs/dump-format.md. */
int mt_record_json(FILE *out, const struct mt_hdr *rec);
/*
 * One strace-like line (no newline), e.g.
 *   "12:00:01.123456 1234/1235 madvise(0x7f..., 64 KiB, MADV_FREE) = 0"
 * clock_offset_ns turns t_ns into wall-clock time (0: print seconds since boot).
 */
int mt_record_text(FILE *out, const struct mt_hdr *rec, int64_t clock_offset_ns);

#endif
