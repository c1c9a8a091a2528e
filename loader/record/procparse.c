// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /proc files parsed (procparse.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "procparse.h"

uint64_t mt_procparse__kb(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key))) {
		if ((p == text || p[-1] == '\n') && p[klen] == ':')
			return strtoull(p + klen + 1, NULL, 10) * 1024;
		p += klen;
	}
	return 0;
}

int mt_procparse__status(const char *text, struct mt_rss *r)
{
	/* a zombie, or a kernel thread: no mm */
	if (strncmp(text, "RssAnon:", 8) && !strstr(text, "\nRssAnon:"))
		return -ESRCH;
	r->anon = mt_procparse__kb(text, "RssAnon");
	r->file = mt_procparse__kb(text, "RssFile");
	r->shmem = mt_procparse__kb(text, "RssShmem");
	r->swap = mt_procparse__kb(text, "VmSwap");
	return 0;
}

int mt_procparse__smaps_rollup(const char *text, struct mt_rss *r)
{
	if (!*text)
		return -ESRCH;
	r->smaps_rss = mt_procparse__kb(text, "Rss");
	r->lazyfree = mt_procparse__kb(text, "LazyFree");
	r->h.flags |= MT_F_SMAPS;
	return 0;
}

bool mt_procparse__maps_line(const char *line, struct mt_maps_file *f)
{
	unsigned long long start, end, off, ino;
	char perms[8];
	int pos = -1;

	/* perms are four letters (rwxp): anything else is not a line the kernel wrote */
	if (sscanf(line, "%llx-%llx %7s %llx %lx:%lx %llu%n", &start, &end, perms, &off,
		   &f->dev_major, &f->dev_minor, &ino, &pos) < 7 ||
	    pos < 0 || strlen(perms) != 4)
		return false;
	f->start = start;
	f->end = end;
	f->off = off;
	f->ino = ino;
	f->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	/* the kernel pads the inode's column with spaces before the path */
	f->path = line + pos + strspn(line + pos, " ");
	f->path_len = strcspn(f->path, "\n");
	return true;
}
