/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the contract's records are: each type's name and size, the names of
 * its enums, and the arguments every syscall record has. Linked by madvtrace
 * and by the LD_PRELOAD agent (the format library).
 */
#ifndef MT_RECORDS_H
#define MT_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include "madvtrace/record.h"

struct mt_type_info {
	uint16_t type;
	const char *name; /* "mmap", "madvise", ... as in the JSON "type" key */
	uint16_t size; /* sizeof the record struct this contract defines */
	bool call; /* a syscall record: mt_record_call() reads it */
};

/* Info for a record type, or NULL if unknown. */
const struct mt_type_info *mt_type_info(uint16_t type);

/* Name of an rss reason ("syscall"), a task event ("exit") or an ABI ("i386"); NULL when unknown. */
const char *mt_rss_reason_name(uint32_t reason);
const char *mt_task_event_name(uint32_t event);
const char *mt_abi_name(uint32_t abi);
const char *mt_gostat_source_name(uint32_t source); /* "prometheus", "expvar" */

/* A record of type and size for pid/tid at t_ns: all zero but its header. */
void mt_record_init(void *rec, uint16_t type, uint16_t size, uint32_t pid, uint32_t tid,
		    uint64_t t_ns);

/*
 * A line of /proc/PID/maps as the mmap call that would have made it (no
 * header): for the mappings a process had before tracing began. line loses
 * its newline. False when the line is not a mapping.
 */
bool mt_maps_line__mmap(char *line, struct mt_mmap *m);

/* The arguments every syscall record has, whatever its type. */
struct mt_call {
	uint64_t addr; /* mremap: old_addr; brk: the requested break */
	uint64_t len; /* mremap: old_len; brk: 0 */
	uint64_t bytes; /* what the call is about: len, or new_len for mremap */
	int64_t ret;
	int err; /* errno when ret is -errno, else 0 */
	bool failed; /* err != 0, or a brk that did not move the break as asked */
};
/* Fill call for a syscall record (mmap munmap mremap madvise brk mprotect); false for others. */
bool mt_record_call(const struct mt_hdr *rec, struct mt_call *call);

#endif
