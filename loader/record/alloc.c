// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which C allocator a process's program uses (alloc.h). */
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "alloc.h"
#include "allocsyms.h"
#include "goinfo.h"
#include "procparse.h"

#define MAPS_LINES_MAX 262144 /* a process with more mappings than this: look no further */

enum { A_GLIBC, A_JEMALLOC, A_TCMALLOC, A_MIMALLOC, A_NR };
static const char *const names[A_NR] = { "glibc", "jemalloc", "tcmalloc", "mimalloc" };
/* how their shared objects are named (basename prefixes) */
static const struct {
	const char *prefix;
	int a;
} sonames[] = {
	{ "libjemalloc.so", A_JEMALLOC },  { "libtcmalloc.so", A_TCMALLOC },
	{ "libtcmalloc_minimal.so", A_TCMALLOC }, { "libtcmalloc_and_profiler.so", A_TCMALLOC },
	{ "libtcmalloc_debug.so", A_TCMALLOC }, { "libmimalloc.so", A_MIMALLOC },
	{ "libmimalloc-secure.so", A_MIMALLOC }, { "libc.so.6", A_GLIBC },
};

struct mapped {
	bool lib[A_NR];
	unsigned long libc_dev_major, libc_dev_minor;
	unsigned long long libc_ino;
};

struct maps_ctx {
	struct mapped *m;
	unsigned lines;
};

/* The base name of a line's mapped file (cut out of the line), or NULL for no file. */
static const char *mapped_base(char *line, struct mt_maps_file *mf)
{
	if (!mt_procparse__maps_line(line, mf) || mf->path[0] != '/')
		return NULL;
	line[mf->path + mf->path_len - line] = '\0';
	return strrchr(mf->path, '/') + 1;
}

static int maps_line(void *ctx, char *line)
{
	struct maps_ctx *c = ctx;
	struct mt_maps_file mf;
	const char *base;

	if (++c->lines > MAPS_LINES_MAX)
		return 1;
	if (!(base = mapped_base(line, &mf)))
		return 0;
	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++) {
		if (strncmp(base, sonames[i].prefix, strlen(sonames[i].prefix)))
			continue;
		c->m->lib[sonames[i].a] = true;
		if (sonames[i].a == A_GLIBC) {
			c->m->libc_dev_major = mf.dev_major;
			c->m->libc_dev_minor = mf.dev_minor;
			c->m->libc_ino = mf.ino;
		}
	}
	return 0;
}

static int read_maps(pid_t pid, struct mapped *m)
{
	struct maps_ctx c = { m, 0 };
	char line[4352];
	int err = mt_proc_maps_each(pid, line, sizeof(line), maps_line, &c);

	return err > 0 ? 0 : err;
}

static int libc_line(void *ctx, char *line)
{
	const struct mapped *m = ctx;
	struct mt_maps_file mf;
	const char *base = mapped_base(line, &mf);

	return base && !strcmp(base, "libc.so.6") && mf.dev_major == m->libc_dev_major &&
	       mf.dev_minor == m->libc_dev_minor && mf.ino == m->libc_ino;
}

/* glibc's version, when the process maps the very libc.so.6 we run on: cheap and exact. */
static const char *glibc_version(const struct mapped *m)
{
	char line[4352];

	if (mt_proc_maps_each(0, line, sizeof(line), libc_line, (void *)m) != 1)
		return NULL;
	return gnu_get_libc_version();
}

int mt_alloc__emit(pid_t pid, mt_proc_emit_fn emit, void *ctx)
{
	char exe[64], why[256];
	struct mt_exe_alloc ex;
	struct mapped m = { 0 };
	struct mt_goinfo *g;
	const char *version = NULL;
	bool go, is_static = false;
	int a = -1, err;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	err = mt_exe_alloc__read(exe, &ex, why, sizeof(why));
	if (err)
		return err;
	err = read_maps(pid, &m);
	if (err)
		return err;
	/* at an exec the loader has yet to map the libraries, libc last or nearly */
	if (ex.dynamic && !m.lib[A_GLIBC])
		return 0;
	g = mt_goinfo__open(exe, why, sizeof(why));
	go = g && mt_goinfo__kind(g) != MT_GO_NONE;
	mt_goinfo__free(g);

	/* a preloaded or linked allocator's object wins over the libc malloc it replaces */
	for (int i = A_JEMALLOC; a < 0 && i < A_NR; i++)
		if (m.lib[i])
			a = i;
	if (a < 0 && ex.alloc && ex.alloc != MT_SALLOC_GLIBC) {
		static const int of[] = { [MT_SALLOC_JEMALLOC] = A_JEMALLOC,
					  [MT_SALLOC_TCMALLOC] = A_TCMALLOC,
					  [MT_SALLOC_MIMALLOC] = A_MIMALLOC };

		a = of[ex.alloc];
		is_static = true;
	}
	/* glibc: a C program's; never a Go program's (its heap is the runtime's) */
	if (a < 0 && !go) {
		if (m.lib[A_GLIBC]) {
			a = A_GLIBC;
			version = glibc_version(&m);
		} else if (ex.alloc == MT_SALLOC_GLIBC) {
			a = A_GLIBC;
			is_static = true;
		}
	}
	if (a < 0)
		return 1;
	err = mt_proc_emit_kv(pid, "allocator", names[a], emit, ctx);
	if (!err)
		err = mt_proc_emit_kv(pid, "allocator_linked", is_static ? "static" : "dynamic", emit, ctx);
	if (!err && version)
		err = mt_proc_emit_kv(pid, "allocator_version", version, emit, ctx);
	return err ? err : 1;
}
