// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "procfs.h"
#include "procparse.h"
#include "goinfo.h"

uint64_t mt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read a small /proc file whole; returns bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

int mt_proc_rss(pid_t pid, struct mt_rss *r)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return mt_procparse__status(buf, r);
}

int mt_proc_smaps(pid_t pid, struct mt_rss *r)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return mt_procparse__smaps_rollup(buf, r);
}

int mt_proc_comm(pid_t pid, char comm[MT_COMM_LEN])
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	memset(comm, 0, MT_COMM_LEN);
	memcpy(comm, buf, n < MT_COMM_LEN - 1 ? (size_t)n : MT_COMM_LEN - 1);
	return 0;
}

bool mt_proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	/* state follows the last ')' (comm may contain parentheses) */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int mt_proc_start_stack(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	/* fields after comm (which may hold anything): the state is the 3rd, startstack the 28th */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	for (field = 2; field < 28 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &v) != 1 || !v)
		return -EINVAL;
	*start = v;
	return 0;
}

int mt_proc_emit_kv(pid_t pid, const char *key, const char *value, mt_proc_emit_fn emit,
		    void *ctx)
{
	union {
		struct mt_info in;
		char b[sizeof(struct mt_info) + MT_MAX_INFO];
	} u;
	int n;

	n = snprintf(u.b + sizeof(struct mt_info), MT_MAX_INFO, "%s=%s", key, value);
	if (n < 0 || n >= MT_MAX_INFO)
		return 0; /* a value this long is of no use to the report: skip it */
	mt_record_init(&u.in.h, MT_INFO, sizeof(struct mt_info), pid, pid, mt_now_ns());
	/* mt_record_init cleared only the header: the text is already in place */
	u.in.h.size = (uint16_t)(sizeof(struct mt_info) + n + 1);
	return emit(ctx, &u.in.h);
}

int mt_proc_maps_each(pid_t pid, char *line, size_t len, mt_proc_line_fn fn, void *ctx)
{
	char path[64];
	int err = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, (int)len, f)) {
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		err = fn(ctx, line);
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

struct exe_base_ctx {
	const char *path;
	size_t plen;
	uint64_t base;
};

static int exe_base_line(void *ctx, char *line)
{
	struct exe_base_ctx *c = ctx;
	struct mt_maps_file m;

	if (!mt_procparse__maps_line(line, &m) || m.off != 0 || m.path_len != c->plen ||
	    memcmp(m.path, c->path, c->plen))
		return 0;
	c->base = m.start;
	return 1;
}

/* Start of the lowest mapping of path with file offset 0: the load base. */
static bool exe_base(pid_t pid, const char *path, uint64_t *base)
{
	struct exe_base_ctx c = { .path = path, .plen = strlen(path) };
	char line[4352];

	if (mt_proc_maps_each(pid, line, sizeof(line), exe_base_line, &c) != 1)
		return false;
	*base = c.base;
	return true;
}

/* What the binary is: its identity for symbolization later, and for Go, what the runtime is. */
static int emit_binary_info(pid_t pid, const char *path, struct mt_proc_image *img,
			    mt_proc_emit_fn emit, void *ctx)
{
	static const char *const settings[] = { "CGO_ENABLED", "GOARCH", "-ldflags" };
	char err[256], desc[256];
	struct mt_goinfo *g;
	const char *v;
	size_t i;
	int e = 0;

	/* through /proc: the very file the process runs, even if replaced on disk since */
	g = mt_goinfo__open(path, err, sizeof(err));
	if (!g)
		return 0;
	if ((v = mt_goinfo__build_id(g)))
		e = mt_proc_emit_kv(pid, "build_id", v, emit, ctx);
	if (!e)
		e = mt_proc_emit_kv(pid, "binary", mt_goinfo__describe(g, desc, sizeof(desc)), emit, ctx);
	if (mt_goinfo__kind(g) != MT_GO_NONE && img)
		img->go = true;
	if (!e && mt_goinfo__kind(g) != MT_GO_NONE) {
		v = mt_goinfo__version(g);
		e = mt_proc_emit_kv(pid, "go_version", v ? v : "unknown", emit, ctx);
		if (!e && (v = mt_goinfo__module(g)))
			e = mt_proc_emit_kv(pid, "go_module", v, emit, ctx);
		for (i = 0; !e && i < sizeof(settings) / sizeof(settings[0]); i++) {
			char key[64];

			if (!(v = mt_goinfo__setting(g, settings[i])))
				continue;
			snprintf(key, sizeof(key), "go_build.%s", settings[i]);
			e = mt_proc_emit_kv(pid, key, v, emit, ctx);
		}
	}
	mt_goinfo__free(g);
	return e;
}

/*
 * The settings the Go runtime and the C allocators read from the
 * environment at start-up, as the process was started with them (only those
 * set): what docs/dump-format.md lists as env.KEY.
 */
static const char *const env_keys[] = {
	"GODEBUG", "GOGC", "GOMEMLIMIT",
	/* jemalloc (the second: a build with the je_ prefix) */
	"MALLOC_CONF", "JE_MALLOC_CONF",
	/* tcmalloc (gperftools) */
	"TCMALLOC_RELEASE_RATE", "TCMALLOC_AGGRESSIVE_DECOMMIT",
	/* mimalloc 2.x, and 1.x's names */
	"MIMALLOC_PURGE_DELAY", "MIMALLOC_PURGE_DECOMMITS", "MIMALLOC_RESET_DELAY",
	"MIMALLOC_RESET_DECOMMITS",
	/* glibc malloc */
	"MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
	"GLIBC_TUNABLES",
};
#define NENV (sizeof(env_keys) / sizeof(env_keys[0]))

static int emit_env(pid_t pid, mt_proc_emit_fn emit, void *ctx)
{
	char vals[NENV][MT_MAX_INFO];
	struct mt_env_var vars[NENV];
	char key[64];
	size_t i;
	int e;

	for (i = 0; i < NENV; i++)
		vars[i] = (struct mt_env_var){ .name = env_keys[i], .out = vals[i],
					       .len = sizeof(vals[i]) };
	if (mt_proc_env_read(pid, vars, NENV))
		return 0;
	e = mt_proc_emit_kv(pid, "env_read", "1", emit, ctx);
	for (i = 0; !e && i < NENV; i++) {
		/* a cut value would say something the process was not told */
		if (!vars[i].set || vars[i].truncated)
			continue;
		snprintf(key, sizeof(key), "env.%s", env_keys[i]);
		e = mt_proc_emit_kv(pid, key, vals[i], emit, ctx);
	}
	return e;
}

int mt_proc_emit_info(pid_t pid, struct mt_proc_image *img, mt_proc_emit_fn emit, void *ctx)
{
	return mt_proc_emit_info_at(pid, -1, img, emit, ctx);
}

int mt_proc_emit_info_at(pid_t pid, int exe_fd, struct mt_proc_image *img, mt_proc_emit_fn emit,
			 void *ctx)
{
	char link[64], path[4096], val[32];
	uint64_t base;
	ssize_t n;
	int err;

	if (img)
		*img = (struct mt_proc_image){ 0 };
	if (exe_fd >= 0)
		snprintf(link, sizeof(link), "/proc/self/fd/%d", exe_fd);
	else
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	path[n] = '\0';
	err = mt_proc_emit_kv(pid, "exe", path, emit, ctx);
	if (!err && exe_base(pid, path, &base)) {
		snprintf(val, sizeof(val), "0x%llx", (unsigned long long)base);
		err = mt_proc_emit_kv(pid, "exe_base", val, emit, ctx);
	}
	if (!err)
		err = emit_binary_info(pid, link, img, emit, ctx);
	if (!err)
		err = emit_env(pid, emit, ctx);
	return err;
}

struct emit_maps_ctx {
	pid_t pid;
	mt_proc_emit_fn emit;
	void *ctx;
};

static int emit_maps_line(void *ctx, char *line)
{
	struct emit_maps_ctx *c = ctx;
	struct mt_mmap m;

	mt_record_init(&m, MT_MMAP, sizeof(m), c->pid, c->pid, mt_now_ns());
	if (!mt_maps_line__mmap(line, &m))
		return 0;
	m.h.flags = MT_F_SYNTH;
	return c->emit(c->ctx, &m.h);
}

int mt_proc_emit_maps(pid_t pid, mt_proc_emit_fn emit, void *ctx)
{
	struct emit_maps_ctx c = { pid, emit, ctx };
	char line[4352];

	return mt_proc_maps_each(pid, line, sizeof(line), emit_maps_line, &c);
}
