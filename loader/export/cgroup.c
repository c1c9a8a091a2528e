// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which cgroup a directory is, in the terms of the eBPF program: the program
 * follows task->cgroups to the cgroup of the controller (v1) or of cgroup2,
 * takes its ancestor at our directory's level and compares kernfs ids.
 * Processes that start in the cgroup later are thus traced from their first
 * call, with no rescan in between (the exporter still rescans every second,
 * for the gauges of processes that have made no call yet).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/btf.h>
#include "cgroup.h"

/* The v1 controller's id in this kernel's enum cgroup_subsys_id ("memory" -> memory_cgrp_id). */
static int subsys_id(const char *controller)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char want[64];
	int id, ret = -ENOENT;
	const struct btf_type *t;
	const struct btf_enum *e;
	int i;

	if (!btf)
		return -errno;
	snprintf(want, sizeof(want), "%s_cgrp_id", controller);
	id = btf__find_by_name_kind(btf, "cgroup_subsys_id", BTF_KIND_ENUM);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		e = btf_enum(t);
		for (i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(btf, e->name_off), want)) {
				ret = e->val;
				break;
			}
	}
	btf__free(btf);
	return ret;
}

/*
 * The cgroup mount holding path: its mount point, fs type and super options
 * (the controllers of a v1 hierarchy). Longest matching mount point wins.
 */
static int find_mount(const char *path, char *mnt, size_t mlen, char *fstype, size_t flen,
		      char *opts, size_t olen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t best = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fs[64], so[1024], *dash;
		size_t n;

		/* id parent major:minor root mountpoint opts ... - fstype source superopts */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%63s %*s %1023s", fs, so) != 2)
			continue;
		if (strcmp(fs, "cgroup") && strcmp(fs, "cgroup2"))
			continue;
		n = strlen(mp);
		if (strncmp(path, mp, n) || (path[n] != '/' && path[n] != '\0') || n < best)
			continue;
		best = n;
		snprintf(mnt, mlen, "%s", mp);
		snprintf(fstype, flen, "%s", fs);
		snprintf(opts, olen, "%s", so);
	}
	fclose(f);
	return best ? 0 : -ENOENT;
}

int mt_cgroup__resolve(const char *path, struct mt_cgroup_watch *w, char *reason, size_t len)
{
	char mnt[PATH_MAX], fstype[64], opts[1024], *tok, *save;
	struct statfs sfs;
	struct stat st;
	const char *p;
	int id;

	memset(w, 0, sizeof(*w));
	if (!realpath(path, w->path)) {
		snprintf(reason, len, "--cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	if (stat(w->path, &st) || !S_ISDIR(st.st_mode) || statfs(w->path, &sfs) ||
	    (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC) ||
	    find_mount(w->path, mnt, sizeof(mnt), fstype, sizeof(fstype), opts, sizeof(opts))) {
		snprintf(reason, len, "--cgroup %s: not a cgroup directory (cgroup v1 or v2)", path);
		return -ENOTDIR;
	}
	w->id = st.st_ino;
	p = w->path + strlen(mnt);
	snprintf(w->rel, sizeof(w->rel), "%s", *p ? p : "/");
	for (; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			w->level++;
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		w->ssid = -1;
		return 0;
	}
	/* v1: the first controller of the hierarchy this kernel knows */
	for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || strchr(tok, '='))
			continue;
		id = subsys_id(tok);
		if (id >= 0) {
			w->ssid = id;
			snprintf(w->controller, sizeof(w->controller), "%s", tok);
			return 0;
		}
	}
	snprintf(reason, len,
		 "--cgroup %s: this cgroup v1 hierarchy has no controller (a named hierarchy): "
		 "give a directory of a controller's hierarchy (memory) or of cgroup2",
		 path);
	return -EINVAL;
}

static int procs_in(const char *dir, int depth, void (*fn)(void *, pid_t), void *ctx)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	long pid;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0)
			fn(ctx, (pid_t)pid);
	fclose(f);
	/* descendants too (a pod's containers); bounded, as cgroup.max.depth would be */
	if (depth >= 32 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		procs_in(path, depth + 1, fn, ctx);
	}
	closedir(d);
	return 0;
}

int mt_cgroup__procs(const struct mt_cgroup_watch *w, void (*fn)(void *, pid_t), void *ctx)
{
	return procs_in(w->path, 0, fn, ctx);
}

int mt_cgroup__of_pid(pid_t pid, const struct mt_cgroup_watch *w, char *out, size_t len)
{
	char path[64], line[4096], v2[4096] = "", mem[4096] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* hierarchy-id:controller,list:path */
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *tok, *save;

		if (!c2)
			continue;
		*c1 = '\0';
		*c2++ = '\0';
		c2[strcspn(c2, "\n")] = '\0';
		if (!strcmp(line, "0") && c1[1] == '\0') {
			snprintf(v2, sizeof(v2), "%s", c2);
			continue;
		}
		for (tok = strtok_r(c1 + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (w && w->ssid >= 0 && !strcmp(tok, w->controller)) {
				snprintf(out, len, "%s", c2);
				fclose(f);
				return 0;
			}
			if (!strcmp(tok, "memory"))
				snprintf(mem, sizeof(mem), "%s", c2);
		}
	}
	fclose(f);
	snprintf(out, len, "%s", (w && w->ssid < 0) || !mem[0] ? v2 : mem);
	return 0;
}
