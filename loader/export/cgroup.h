/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Watched cgroups: a directory of a cgroup v1 hierarchy (with a controller)
 * or of cgroup2, resolved to what the eBPF program compares (the controller's
 * id, the directory's level and kernfs id), and its processes listed.
 */
#ifndef MT_EXPORT_CGROUP_H
#define MT_EXPORT_CGROUP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_cgroup_watch {
	char path[PATH_MAX]; /* the directory, resolved */
	char rel[PATH_MAX]; /* its path in the hierarchy, as /proc/PID/cgroup shows it */
	char controller[32]; /* v1: the controller matched on ("memory"); v2: "" */
	int32_t ssid; /* v1: enum cgroup_subsys_id; v2: -1 */
	uint32_t level; /* 0: the hierarchy's root */
	uint64_t id; /* kernfs id: the directory's inode number */
};

/* Resolve path; 0, or -errno with one line in reason. */
int mt_cgroup__resolve(const char *path, struct mt_cgroup_watch *w, char *reason, size_t len);
/* Call fn for every process of the cgroup and of those below it; 0 or -errno. */
int mt_cgroup__procs(const struct mt_cgroup_watch *w, void (*fn)(void *, pid_t), void *ctx);
/*
 * pid's cgroup path in w's hierarchy (w NULL: memory v1 if mounted, else
 * cgroup2) into out; 0 or -errno.
 */
int mt_cgroup__of_pid(pid_t pid, const struct mt_cgroup_watch *w, char *out, size_t len);

#endif
