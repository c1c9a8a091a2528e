/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sizes, durations and times for people: the one place madvtrace formats
 * them, so a figure reads the same in the live view, dump and every report.
 * Each writes into buf (always NUL-terminated) and returns buf.
 */
#ifndef MT_FMT_H
#define MT_FMT_H

#include <stddef.h>
#include <stdint.h>

/* A figure: "512.0 MiB", "4.0 KiB", "100 B" (binary units, one decimal). */
char *mt_fmt_bytes(char *buf, size_t len, uint64_t bytes);
/* A size that may be exact: "4096 B" below 10 KiB, "64 KiB" when whole, else "1.5 GiB". */
char *mt_size_str(char *buf, size_t len, uint64_t bytes);
/* A syscall argument, exact: "1368 KiB" in the largest unit that divides it, else "65537 B". */
char *mt_size_arg_str(char *buf, size_t len, uint64_t bytes);

/* "250 ms", "2 s", "1500 us": the largest unit that divides ns. */
char *mt_fmt_duration(char *buf, size_t len, uint64_t ns);
/* "+1.234s": t relative to t0 (0 before it), in milliseconds. */
char *mt_fmt_rel(char *buf, size_t len, uint64_t t, uint64_t t0);

/* "1.5", "250ms", "2m", "1h"...: a positive duration, seconds without a unit. 0, or -EINVAL. */
int mt_parse_duration(const char *s, uint64_t *ns);

#endif
