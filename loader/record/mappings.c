// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The file mappings of a traced process as records (mappings.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "elffile.h"
#include "mappings.h"
#include "procparse.h"
#include "records.h"

/* What is read of a mapped file at most: its headers and notes are near its start or end. */
#define BID_READ_MAX (4u << 20)
#define BIDCACHE_MAX 4096

bool mt_maps_line__mapping(const char *line, union mt_mapping_rec *r)
{
	struct mt_maps_file f;

	if (!mt_procparse__maps_line(line, &f) || f.end <= f.start)
		return false;
	/* anonymous memory, and the kernel's [names] (vdso, stack, heap) */
	if (!f.path_len || f.path[0] != '/' || f.path_len >= MT_MAPPING_PATH_MAX)
		return false;
	memset(&r->m, 0, sizeof(r->m));
	r->m.start = f.start;
	r->m.end = f.end;
	r->m.off = f.off;
	r->m.dev = makedev(f.dev_major, f.dev_minor);
	r->m.ino = f.ino;
	r->m.prot = f.prot;
	memcpy(r->m.path, f.path, f.path_len);
	r->m.path[f.path_len] = '\0';
	r->m.h.size = (uint16_t)((sizeof(r->m) + f.path_len + 1 + 7) & ~(size_t)7);
	/* the rounding's bytes are the record's: zero, not what the buffer held */
	memset(r->m.path + f.path_len + 1, 0, r->m.h.size - sizeof(r->m) - f.path_len - 1);
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

unsigned mt_mapping__build_id(int fd, uint8_t id[MT_BUILD_ID_MAX])
{
	char err[256];
	struct mt_elf *e = mt_elf__open_fd(fd, "mapped file", BID_READ_MAX, err, sizeof(err));
	const char *hex;
	size_t n;
	unsigned i;

	if (!e)
		return 0;
	hex = mt_elf__gnu_build_id(e);
	n = strlen(hex);
	/* a longer id would be cut: an identity that matches nothing is worse than none */
	if (!n || n % 2 || n / 2 > MT_BUILD_ID_MAX) {
		mt_elf__free(e);
		return 0;
	}
	for (i = 0; i < n / 2; i++)
		id[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	mt_elf__free(e);
	return (unsigned)(n / 2);
}

/*
 * The mapped file, opened for reading as the process maps it: the path as
 * /proc/PID/maps shows it (relative to our root), opened with O_PATH (no
 * device or FIFO is opened) without following a final link, kept only if
 * it is a regular file and the mapped inode. -1 if not.
 */
static int open_mapped(const struct mt_mapping *m)
{
	struct stat st;
	char proc[64];
	int pfd, fd;

	/* not elffile's opener: a final symbolic link is refused here, not followed */
	pfd = open(m->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	if (fstat(pfd, &st) || !S_ISREG(st.st_mode) || st.st_ino != m->ino ||
	    st.st_dev != m->dev) {
		close(pfd);
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	return fd;
}

struct bid {
	uint64_t dev, ino;
	uint8_t len;
	uint8_t id[MT_BUILD_ID_MAX];
};

struct mt_bidcache {
	struct bid *v;
	size_t n, cap;
};

struct mt_bidcache *mt_bidcache__new(void)
{
	return calloc(1, sizeof(struct mt_bidcache));
}

void mt_bidcache__free(struct mt_bidcache *c)
{
	if (c)
		free(c->v);
	free(c);
}

static void build_id_of(struct mt_bidcache *c, struct mt_mapping *m)
{
	struct bid *b = NULL;
	int fd;

	for (size_t i = 0; c && i < c->n; i++) {
		if (c->v[i].dev == m->dev && c->v[i].ino == m->ino) {
			m->build_id_len = c->v[i].len;
			memcpy(m->build_id, c->v[i].id, MT_BUILD_ID_MAX);
			return;
		}
	}
	fd = open_mapped(m);
	m->build_id_len = fd < 0 ? 0 : (uint8_t)mt_mapping__build_id(fd, m->build_id);
	if (fd < 0)
		return; /* not cached: the file may be back at the next scan */
	if (c && c->n == c->cap && c->cap < BIDCACHE_MAX) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct bid *v = realloc(c->v, cap * sizeof(*v));

		if (v) {
			c->v = v;
			c->cap = cap;
		}
	}
	if (c && c->n < c->cap)
		b = &c->v[c->n++];
	if (b) {
		b->dev = m->dev;
		b->ino = m->ino;
		b->len = m->build_id_len;
		memcpy(b->id, m->build_id, MT_BUILD_ID_MAX);
	}
}

struct scan_ctx {
	pid_t pid;
	struct mt_bidcache *bc;
	mt_mapping_fresh_fn fresh;
	void *fresh_ctx;
	mt_proc_emit_fn emit;
	void *ctx;
};

static int scan_line(void *ctx, char *line)
{
	struct scan_ctx *c = ctx;
	union mt_mapping_rec r;
	uint16_t size;

	if (!mt_maps_line__mapping(line, &r) || !c->fresh(c->fresh_ctx, &r.m))
		return 0;
	build_id_of(c->bc, &r.m);
	size = r.m.h.size;
	/* the header alone: the rest is filled */
	mt_record_init(&r.m.h, MT_MAPPING, sizeof(r.m.h), c->pid, c->pid, mt_now_ns());
	r.m.h.size = size;
	r.m.h.flags = MT_F_SYNTH;
	return c->emit(c->ctx, &r.m.h);
}

int mt_mappings__scan(pid_t pid, struct mt_bidcache *bc, mt_mapping_fresh_fn fresh,
		      void *fresh_ctx, mt_proc_emit_fn emit, void *ctx)
{
	struct scan_ctx c = { pid, bc, fresh, fresh_ctx, emit, ctx };
	/* a longer line's path is too long for a record: skipped whole */
	char line[MT_MAPPING_PATH_MAX + 128];

	return mt_proc_maps_each(pid, line, sizeof(line), scan_line, &c);
}

bool mt_mapset__add(struct mt_mapset *s, uint64_t start, uint64_t end, uint64_t ino,
		    uint32_t prot)
{
	size_t lo = 0, hi = s->n;

	/* first entry with a start >= start */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->n && s->v[i].start == start; i++)
		if (s->v[i].end == end && s->v[i].ino == ino && s->v[i].prot == prot)
			return false;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct mt_mapset_ent *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return true; /* written again later rather than never */
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(*s->v));
	s->v[lo] = (struct mt_mapset_ent){ start, end, ino, prot };
	s->n++;
	return true;
}

bool mt_mapset__covers(const struct mt_mapset *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	/* the entries starting at or below addr; mappings do not nest, a few may overlap (stale) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && lo - i <= 8;)
		if (addr < s->v[i].end)
			return true;
	return false;
}

void mt_mapset__clear(struct mt_mapset *s)
{
	free(s->v);
	*s = (struct mt_mapset){ 0 };
}
