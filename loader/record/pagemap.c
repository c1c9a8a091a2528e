// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "pagemap.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define CHUNK 8192 /* entries per read at most: 64 KiB, 32 MiB of address space */
/*
 * Entries read past the end of a range: a heap released span by span is
 * thousands of small neighbouring ranges, and one read per range would cost
 * more than the kernel's walk of their page tables.
 */
#define READ_AHEAD 1024

struct mt_pagemap {
	int fd;
	uint64_t page_size;
	uint64_t win_page, win_n; /* buf holds the entries of pages [win_page, win_page + win_n) */
	uint64_t buf[CHUNK];
};

struct mt_pagemap *mt_pagemap__open(pid_t pid)
{
	struct mt_pagemap *pm;
	char path[64];
	int err;

	pm = malloc(sizeof(*pm));
	if (!pm)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0) {
		err = errno;
		free(pm);
		errno = err;
		return NULL;
	}
	pm->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	pm->win_page = pm->win_n = 0;
	return pm;
}

/* Make buf hold page's entry, reading up to want + READ_AHEAD entries. 0 or -errno. */
static int fill(struct mt_pagemap *pm, uint64_t page, uint64_t want)
{
	ssize_t got;

	if (page >= pm->win_page && page - pm->win_page < pm->win_n)
		return 0;
	want = want > CHUNK - READ_AHEAD ? CHUNK : want + READ_AHEAD;
	/* the offset of a page's entry overflows off_t past 2^60 bytes: not user space */
	if (page > (uint64_t)INT64_MAX / sizeof(uint64_t) - want)
		return -EINVAL;
	pm->win_n = 0;
	got = pread(pm->fd, pm->buf, want * sizeof(uint64_t), (off_t)(page * sizeof(uint64_t)));
	if (got < 0)
		return -errno;
	if (got < (ssize_t)sizeof(uint64_t))
		return -EIO; /* the process has exited: its mm is gone */
	pm->win_page = page;
	pm->win_n = (uint64_t)got / sizeof(uint64_t);
	return 0;
}

int mt_pagemap__count(struct mt_pagemap *pm, uint64_t start, uint64_t end, uint64_t *budget,
		      struct mt_page_counts *c)
{
	uint64_t ps = pm->page_size, page = start / ps, last;
	int err;

	if (end <= start)
		return 0;
	last = (end - 1) / ps;
	while (page <= last) {
		uint64_t want = last - page + 1, i, n;

		if (!*budget)
			return -ENOSPC;
		if (want > *budget)
			want = *budget;
		err = fill(pm, page, want);
		if (err)
			return err;
		i = page - pm->win_page;
		n = pm->win_n - i < want ? pm->win_n - i : want;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t e = pm->buf[i + k];

			if (e & PM_PRESENT)
				c->present += ps;
			else if (e & PM_SWAPPED)
				c->swapped += ps;
			else
				c->absent += ps;
		}
		page += n;
		*budget -= n;
	}
	return 0;
}

void mt_pagemap__forget(struct mt_pagemap *pm)
{
	pm->win_n = 0;
}

void mt_pagemap__free(struct mt_pagemap *pm)
{
	if (!pm)
		return;
	close(pm->fd);
	free(pm);
}
