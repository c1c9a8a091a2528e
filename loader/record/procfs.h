/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small readers of /proc/PID, shared by the backends and tests. */
#ifndef MT_PROCFS_H
#define MT_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "madvtrace/record.h"
#include "records.h"

/* CLOCK_MONOTONIC now, in ns (the clock of every record). */
uint64_t mt_now_ns(void);
/* Fill an rss record (anon/file/shmem/swap) from /proc/PID/status; 0 or -errno. */
int mt_proc_rss(pid_t pid, struct mt_rss *r);
/* Add smaps_rollup's Rss and LazyFree (sets MT_F_SMAPS); 0 or -errno. */
int mt_proc_smaps(pid_t pid, struct mt_rss *r);
/* Command name of pid into comm[MT_COMM_LEN]; 0 or -errno. */
int mt_proc_comm(pid_t pid, char comm[MT_COMM_LEN]);
/* Does pid exist (as a process, not a zombie)? */
bool mt_proc_alive(pid_t pid);
/* Where pid's main stack started (startstack of /proc/PID/stat: argc's address); 0 or -errno. */
int mt_proc_start_stack(pid_t pid, uint64_t *start);
typedef int (*mt_proc_emit_fn)(void *ctx, const struct mt_hdr *rec);
/* One "key=value" info record (MT_INFO) for pid; a value too long is skipped. emit's error, or 0. */
int mt_proc_emit_kv(pid_t pid, const char *key, const char *value, mt_proc_emit_fn emit,
		    void *ctx);
/* What the info records said of a process's program, for the backend's own decisions. */
struct mt_proc_image {
	bool go; /* a Go program (its build info was found) */
};
/*
 * Info records (MT_INFO) about pid's program, for the report to symbolize
 * and explain later: exe=PATH, exe_base=0x..., build_id, binary (a one-line
 * description), for Go go_version, go_module, go_build.KEY, and the
 * environment the runtime reads: env_read=1 then env.GODEBUG, env.GOGC,
 * env.GOMEMLIMIT and the C allocators' settings (env.MALLOC_CONF...) when
 * set. img (may be NULL) gets what the backend decides on. Returns emit's
 * error, or 0. The allocator itself is found later (alloc.h): at an exec
 * the dynamic loader has not mapped the libraries yet.
 */
int mt_proc_emit_info(pid_t pid, struct mt_proc_image *img, mt_proc_emit_fn emit, void *ctx);
typedef int (*mt_proc_line_fn)(void *ctx, char *line);
/*
 * Each line of /proc/PID/maps (pid 0: /proc/self/maps), read into line[len]
 * and given to fn NUL-terminated with its newline, until fn returns non-zero.
 * A line longer than len is skipped whole: its tail is no line of its own (a
 * mapped file's name is anything its owner chose). fn's non-zero value, 0 at
 * the end, -errno when the file cannot be opened, -EIO on a read error.
 */
int mt_proc_maps_each(pid_t pid, char *line, size_t len, mt_proc_line_fn fn, void *ctx);
/*
 * The same, the program named by exe_fd (an O_PATH descriptor of
 * /proc/PID/exe opened while pid ran; -1: /proc/PID/exe now): exe=,
 * build_id, binary and Go's build info even once pid has exited; exe_base
 * and the environment only while it runs.
 */
int mt_proc_emit_info_at(pid_t pid, int exe_fd, struct mt_proc_image *img, mt_proc_emit_fn emit,
			 void *ctx);
/*
 * The mappings pid already has, as synthetic mmap records (MT_F_SYNTH), so a
 * timeline started at attach knows the memory mapped before it.
 */
int mt_proc_emit_maps(pid_t pid, mt_proc_emit_fn emit, void *ctx);

#endif
