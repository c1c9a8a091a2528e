// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The record types of the contract. Adding a record type: a row in types[]
 * here (and, for a syscall, its arguments in call_args()), then its
 * renderings in loader/report/dump.c.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "madvtrace/build.h"
#include "records.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TYPE(t, nm, st, c) [t] = { t, nm, sizeof(struct st), c }
static const struct mt_type_info types[] = {
	TYPE(MT_MMAP, "mmap", mt_mmap, true),
	TYPE(MT_MUNMAP, "munmap", mt_munmap, true),
	TYPE(MT_MREMAP, "mremap", mt_mremap, true),
	TYPE(MT_MADVISE, "madvise", mt_madvise, true),
	TYPE(MT_BRK, "brk", mt_brk, true),
	TYPE(MT_MPROTECT, "mprotect", mt_mprotect, true),
	TYPE(MT_RSS, "rss", mt_rss, false),
	TYPE(MT_TASK, "task", mt_task, false),
	TYPE(MT_LOST, "lost", mt_lost, false),
	TYPE(MT_STACK, "stack", mt_stack, false),
	TYPE(MT_INFO, "info", mt_info, false),
	TYPE(MT_GOSTAT, "gostat", mt_gostat, false),
	TYPE(MT_RESIDENT, "resident", mt_resident, false),
	TYPE(MT_USTACK, "ustack", mt_ustack, false),
	TYPE(MT_MAPPING, "mapping", mt_mapping, false),
};
#undef TYPE

_Static_assert(ARRAY_SIZE(types) == MT_TYPE_MAX, "every record type needs a row in types[]");

const struct mt_type_info *mt_type_info(uint16_t type)
{
	if (type >= ARRAY_SIZE(types) || !types[type].name)
		return NULL;
	return &types[type];
}

void mt_record_init(void *rec, uint16_t type, uint16_t size, uint32_t pid, uint32_t tid,
		    uint64_t t_ns)
{
	memset(rec, 0, size);
	mt_hdr_fill(rec, type, size, pid, tid, t_ns);
}

bool mt_maps_line__mmap(char *line, struct mt_mmap *m)
{
	unsigned long long start, end, off;
	char perms[8];
	const char *name;
	int pos = -1;

	if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &start, &end, perms, &off, &pos) < 4 ||
	    strlen(perms) < 4)
		return false;
	line[strcspn(line, "\n")] = '\0';
	m->addr = start;
	m->len = end - start;
	m->ret = (int64_t)start;
	m->off = off;
	m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	m->flags = MAP_FIXED | (perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE);
	/* no path: anonymous memory (heaps and stacks have a [name], still anonymous) */
	name = pos < 0 ? "" : line + pos + strspn(line + pos, " ");
	if (!*name || *name == '[')
		m->flags |= MAP_ANONYMOUS;
	m->fd = -1;
	return true;
}

static const char *const rss_reasons[] = {
	[MT_RSS_SYSCALL] = "syscall", [MT_RSS_FAULT] = "fault", [MT_RSS_RECLAIM] = "reclaim",
	[MT_RSS_START] = "start",     [MT_RSS_END] = "end",	[MT_RSS_SAMPLE] = "sample",
};

const char *mt_rss_reason_name(uint32_t reason)
{
	return reason < ARRAY_SIZE(rss_reasons) ? rss_reasons[reason] : NULL;
}

static const char *const task_events[] = {
	[MT_TASK_ATTACH] = "attach", [MT_TASK_LAUNCH] = "launch",
	[MT_TASK_FORK] = "fork",     [MT_TASK_CLONE] = "clone",
	[MT_TASK_EXEC] = "exec",     [MT_TASK_EXIT] = "exit",
	[MT_TASK_THREAD_EXIT] = "thread_exit", [MT_TASK_DETACH] = "detach",
};

const char *mt_task_event_name(uint32_t event)
{
	return event < ARRAY_SIZE(task_events) ? task_events[event] : NULL;
}

static const char *const abi_names[] = { [MT_ABI_X86_64] = "x86_64", [MT_ABI_I386] = "i386",
					 [MT_ABI_X32] = "x32" };

const char *mt_abi_name(uint32_t abi)
{
	return abi < ARRAY_SIZE(abi_names) ? abi_names[abi] : NULL;
}

static const char *const gostat_sources[] = { [MT_GOSTAT_PROMETHEUS] = "prometheus",
					      [MT_GOSTAT_EXPVAR] = "expvar" };

const char *mt_gostat_source_name(uint32_t source)
{
	return source < ARRAY_SIZE(gostat_sources) ? gostat_sources[source] : NULL;
}

static void call_fill(struct mt_call *c, uint64_t addr, uint64_t len, uint64_t bytes, int64_t ret)
{
	c->addr = addr;
	c->len = len;
	c->bytes = bytes;
	c->ret = ret;
	c->err = mt_ret_is_err(ret) ? (int)-ret : 0;
	c->failed = c->err != 0;
}

bool mt_record_call(const struct mt_hdr *rec, struct mt_call *c)
{
	const struct mt_type_info *ti = mt_type_info(rec->type);

	if (!ti || !ti->call)
		return false;
	switch (rec->type) {
	case MT_MMAP: {
		const struct mt_mmap *r = (const void *)rec;

		call_fill(c, r->addr, r->len, r->len, r->ret);
		return true;
	}
	case MT_MUNMAP: {
		const struct mt_munmap *r = (const void *)rec;

		call_fill(c, r->addr, r->len, r->len, r->ret);
		return true;
	}
	case MT_MREMAP: {
		const struct mt_mremap *r = (const void *)rec;

		call_fill(c, r->old_addr, r->old_len, r->new_len, r->ret);
		return true;
	}
	case MT_MADVISE: {
		const struct mt_madvise *r = (const void *)rec;

		call_fill(c, r->addr, r->len, r->len, r->ret);
		return true;
	}
	case MT_BRK: {
		const struct mt_brk *r = (const void *)rec;

		call_fill(c, r->addr, 0, 0, r->ret);
		/* brk(2) fails by returning the unchanged break, not -errno */
		if (r->addr && (uint64_t)r->ret != r->addr)
			c->failed = true;
		return true;
	}
	case MT_MPROTECT: {
		const struct mt_mprotect *r = (const void *)rec;

		call_fill(c, r->addr, r->len, r->len, r->ret);
		return true;
	}
	}
	return false;
}
