/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of constants, as strace's src/xlat: advice (from the one table,
 * include/madvtrace/advice.h), errno values, signals, protections, mmap and
 * mremap flags, backends. Every renderer takes its names from here.
 *
 * Each rendering comes two ways: appended to a byte builder (buf.h), for
 * renderers that build a line, and into a char[] (always NUL-terminated,
 * cut when too small), returning it.
 */
#ifndef MT_XLAT_H
#define MT_XLAT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* name, or prefix and v in decimal for a value this version has no name for ("MADV_#77"). */
void mt_xlat__name_or_num(struct mt_buf *b, const char *name, const char *prefix, int64_t v);

/* "MADV_FREE"; NULL when the value has no name. */
const char *mt_advice_name(int advice);
/* "MADV_FREE", or "MADV_#N" for a value without a name. */
void mt_xlat__advice(struct mt_buf *b, int advice);

/* "ENOMEM" (also the kernel-internal ERESTART* codes a tracer sees); NULL when unknown. */
const char *mt_errno_name(int err);
/* "Cannot allocate memory": not localized, never NULL. */
const char *mt_errno_desc(int err);
/* "ENOMEM", or "E#N" for a value without a name. */
void mt_xlat__errno(struct mt_buf *b, int err);

/* "SIGKILL", "SIGRTMIN+3", or "SIG<n>". */
char *mt_signal_name(char *buf, size_t len, int sig);

/* "bpf", "ptrace", "preload", "unknown": the trace header's backend. */
const char *mt_backend_name(uint32_t backend);

/* "PROT_READ|PROT_WRITE", "PROT_NONE"; unknown bits in hex. */
void mt_xlat__prot(struct mt_buf *b, uint32_t prot);
char *mt_prot_str(char *buf, size_t len, uint32_t prot);
/* "rw-": the short form of the read, write and exec bits, as /proc/PID/maps. */
char *mt_prot_rwx(char *buf, size_t len, uint32_t prot);
/* "MAP_PRIVATE|MAP_ANONYMOUS", with the mapping type and the huge page size decoded. */
void mt_xlat__mmap_flags(struct mt_buf *b, uint32_t flags);
char *mt_mmap_flags_str(char *buf, size_t len, uint32_t flags);
/* "MREMAP_MAYMOVE|MREMAP_FIXED", "0". */
void mt_xlat__mremap_flags(struct mt_buf *b, uint32_t flags);

#endif
