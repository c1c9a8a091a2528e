// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The collector: every interval it takes in the processes the watch lists
 * name (-p, --cgroup, --comm) that the program has not caught yet, finds the
 * processes the program traces (the bitmap, and the counters of any that
 * came and went in between), reads their /proc gauges, and drops the series
 * of processes gone for longer than the grace period. /proc is read without
 * the lock: only the collector changes the table, and a scrape must not wait
 * on a slow smaps_rollup.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "madvtrace/record.h"
#include "madvtrace/syscalls.h"
#include "buf.h"
#include "procfs.h"
#include "export_int.h"

struct info {
	char exe[1024], go_version[64], godebug[512];
};

static int on_info(void *ctx, const struct mt_hdr *rec)
{
	const struct mt_info *in = (const void *)rec;
	struct info *i = ctx;
	size_t n = rec->size - sizeof(*in);
	char text[MT_MAX_INFO + 1];
	const char *v;

	if (rec->type != MT_INFO || n == 0 || n > MT_MAX_INFO)
		return 0;
	memcpy(text, in->text, n);
	text[n] = '\0';
	if (!(v = strchr(text, '=')))
		return 0;
	v++;
	if (!strncmp(text, "exe=", 4))
		snprintf(i->exe, sizeof(i->exe), "%s", v);
	else if (!strncmp(text, "go_version=", 11))
		snprintf(i->go_version, sizeof(i->go_version), "%s", v);
	else if (!strncmp(text, "env.GODEBUG=", 12))
		snprintf(i->godebug, sizeof(i->godebug), "%s", v);
	return 0;
}

/* An OpenMetrics label value: backslash, double quote and newline escaped. */
static void label(struct mt_buf *b, const char *name, const char *v)
{
	if (!v || !*v)
		return; /* an empty value is the same as no label: leave it out */
	if (b->len)
		mt_buf__chr(b, ',');
	mt_buf__str(b, name);
	mt_buf__lit(b, "=\"");
	for (; *v; v++) {
		if (*v == '\\')
			mt_buf__lit(b, "\\\\");
		else if (*v == '"')
			mt_buf__lit(b, "\\\"");
		else if (*v == '\n')
			mt_buf__lit(b, "\\n");
		else
			mt_buf__chr(b, *v);
	}
	mt_buf__chr(b, '"');
}

/* The label set of pid, from /proc now (what is unknown is left out). */
static char *make_labels(struct mt_export *x, pid_t pid, char comm[16], bool *go)
{
	struct info in = { "", "", "" };
	char cg[4096] = "", pidstr[16], buf[8192];
	struct mt_buf b;

	if (mt_proc_comm(pid, comm))
		comm[0] = '\0';
	mt_proc_emit_info(pid, NULL, on_info, &in);
	if (mt_cgroup__of_pid(pid, x->o->ncgroups ? &x->o->cgroups[0] : NULL, cg, sizeof(cg)))
		cg[0] = '\0';
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	mt_buf__init_str(&b, buf, sizeof(buf));
	label(&b, "pid", pidstr);
	label(&b, "comm", comm);
	label(&b, "exe", in.exe);
	label(&b, "cgroup", cg);
	label(&b, "go_version", in.go_version);
	label(&b, "godebug", in.godebug);
	*go = in.go_version[0] != '\0';
	return strdup(mt_buf__cstr(&b));
}

/*
 * /proc/PID/{status,smaps_rollup}, kept open and re-read from offset 0 each
 * pass: with 200 processes, opening and closing them every second cost more
 * CPU than everything else the exporter does. When descriptors run out, the
 * file is opened for the one read.
 */
static ssize_t reread(int *fd, pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n, total = 0;
	bool keep = true;

	if (*fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0 && errno == EMFILE) {
			keep = false;
			*fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (*fd < 0)
			return -errno;
	}
	while ((size_t)total < len - 1) {
		n = pread(*fd, buf + total, len - 1 - total, total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				total = -errno;
			break;
		}
		total += n;
	}
	if (!keep || total < 0) {
		close(*fd);
		*fd = -1;
	}
	if (total >= 0)
		buf[total] = '\0';
	return total;
}

/* "Key:   123 kB" as bytes; false if absent. */
static bool kb(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = text;

	for (; (p = strstr(p, key)); p += klen)
		if ((p == text || p[-1] == '\n') && p[klen] == ':') {
			*out = strtoull(p + klen + 1, NULL, 10) * 1024;
			return true;
		}
	return false;
}

/*
 * One read of status, and of smaps_rollup unless LazyFree is known to be
 * still 0 (see free_calls): then Rss - LazyFree is status's RSS. comm from
 * status's Name: (an exec changes it).
 */
static void sample(struct mt_eproc *p, char comm[MT_COMM_LEN])
{
	char buf[4096];
	struct mt_eproc_gauges *g = &p->next;
	const char *name;

	g->valid = false;
	comm[0] = '\0';
	/* a zombie's status has no RssAnon: it has no memory left, it counts as gone */
	if (reread(&p->status_fd, p->pid, "status", buf, sizeof(buf)) <= 0 ||
	    !kb(buf, "RssAnon", &g->anon))
		return;
	kb(buf, "RssFile", &g->file);
	kb(buf, "RssShmem", &g->shmem);
	g->swap = 0;
	kb(buf, "VmSwap", &g->swap);
	if (!strncmp(buf, "Name:\t", 6)) {
		name = buf + 6;
		snprintf(comm, MT_COMM_LEN, "%.*s", (int)strcspn(name, "\n"), name);
	}
	if (p->free_calls_smaps == p->free_calls && p->g.valid && !p->g.lazyfree) {
		g->lazyfree = 0;
		g->smaps_rss = g->anon + g->file + g->shmem;
		g->valid = true;
		return;
	}
	p->free_calls_smaps = p->free_calls;
	if (reread(&p->smaps_fd, p->pid, "smaps_rollup", buf, sizeof(buf)) <= 0 ||
	    !kb(buf, "Rss", &g->smaps_rss))
		return;
	g->lazyfree = 0;
	kb(buf, "LazyFree", &g->lazyfree);
	g->valid = true;
}

static void close_fds(struct mt_eproc *p)
{
	if (p->status_fd >= 0)
		close(p->status_fd);
	if (p->smaps_fd >= 0)
		close(p->smaps_fd);
	p->status_fd = p->smaps_fd = -1;
}

/* pids to look at this pass: a growable set */
struct pidset {
	pid_t *v;
	size_t n, cap;
};

static void pidset_add(void *ctx, pid_t pid)
{
	struct pidset *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		pid_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = pid;
}

struct claim_ctx {
	struct mt_export *x;
	uint32_t refused;
};

static void claim(void *ctx, pid_t pid)
{
	struct claim_ctx *c = ctx;

	if (mt_count_bpf__trace(c->x->cb, pid) == -ENOSPC)
		c->refused++;
}

/* Processes named by --comm, from /proc: they get gauges before their first call. */
static void scan_comms(struct mt_export *x, struct claim_ctx *c)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char comm[MT_COMM_LEN];
	uint32_t i;

	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (mt_count_bpf__is_traced(x->cb, pid) || mt_proc_comm(pid, comm))
			continue;
		for (i = 0; i < x->o->ncomms; i++)
			if (!strncmp(comm, x->o->comms[i], 15)) {
				claim(c, pid);
				break;
			}
	}
	closedir(d);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_exited(const void *a, const void *b)
{
	const struct mt_eproc *p = *(const struct mt_eproc *const *)a;
	const struct mt_eproc *q = *(const struct mt_eproc *const *)b;

	return p->exited_ns < q->exited_ns ? -1 : p->exited_ns > q->exited_ns;
}

static void drop(struct mt_export *x, struct mt_eproc *p, const struct mt_counter *all, size_t n)
{
	mt_count_bpf__forget(x->cb, p->pid, all, n);
	mt_pidmap__delete(&x->procs, p->pid);
	close_fds(p);
	free(p->labels);
	free(p);
	x->expired++;
}

/* Each process's MADV_FREE calls, from a counter read (the table's processes; under the lock). */
static void note_free_calls(struct mt_export *x, const struct mt_counter *all, size_t n)
{
	size_t it, j;
	uint32_t pid;
	void *val;

	for (it = 0; mt_pidmap__next(&x->procs, &it, &pid, &val);) {
		struct mt_eproc *p = val;
		uint64_t calls = 0;

		for (j = mt_counter__find(all, n, pid); j < n && all[j].tgid == pid; j++)
			if ((all[j].sc == MT_SC_MADVISE || all[j].sc == MT_SC_PROCESS_MADVISE) &&
			    all[j].advice == MADV_FREE)
				calls += all[j].calls;
		p->free_calls = calls;
	}
}

void mt_export__collect(struct mt_export *x, uint64_t now)
{
	struct claim_ctx c = { .x = x };
	struct pidset seen = { 0 };
	const struct mt_counter *all;
	struct mt_eproc *p, **exited = NULL;
	size_t i, n = 0, it, nexited = 0;
	uint32_t pid, traced;
	void *val;

	/* the watch lists: processes the program has not caught at a call yet */
	for (i = 0; i < x->o->npids; i++)
		if (mt_proc_alive(x->o->pids[i]))
			claim(&c, x->o->pids[i]);
	for (i = 0; i < x->o->ncgroups; i++)
		mt_cgroup__procs(&x->o->cgroups[i], claim, &c);
	if (x->o->ncomms)
		scan_comms(x, &c);
	traced = mt_count_bpf__recount(x->cb);

	/* who is traced, or was: the bitmap, and the counters' processes */
	mt_count_bpf__for_each_traced(x->cb, pidset_add, &seen);
	pthread_mutex_lock(&x->lock);
	if (!mt_count_bpf__read(x->cb, &all, &n)) {
		for (i = 0; i < n; i++)
			if (!i || all[i].tgid != all[i - 1].tgid)
				pidset_add(&seen, all[i].tgid);
		note_free_calls(x, all, n);
	}
	pthread_mutex_unlock(&x->lock);
	if (seen.n)
		qsort(seen.v, seen.n, sizeof(*seen.v), cmp_pid);
	for (i = 0; i < seen.n; i++) {
		if ((i && seen.v[i] == seen.v[i - 1]) || mt_pidmap__find(&x->procs, seen.v[i]))
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			break;
		p->pid = seen.v[i];
		p->status_fd = p->smaps_fd = -1;
		p->free_calls_smaps = UINT64_MAX; /* the first pass reads smaps_rollup */
		p->labels = make_labels(x, p->pid, p->comm, &p->go);
		if (!p->labels) {
			free(p);
			break;
		}
		if (p->go)
			mt_gowork__watch(x->gow, p->pid);
		mt_count_bpf__add_lost_slot(x->cb, p->pid);
		pthread_mutex_lock(&x->lock);
		if (mt_pidmap__insert(&x->procs, p->pid, p)) {
			free(p->labels);
			free(p);
		}
		pthread_mutex_unlock(&x->lock);
	}
	free(seen.v);

	/* the gauges, unlocked; an exec (new comm) gets new labels */
	for (it = 0; mt_pidmap__next(&x->procs, &it, &pid, &val);) {
		char comm[MT_COMM_LEN];

		p = val;
		if (p->exited_ns)
			continue;
		sample(p, comm);
		p->gone = !p->next.valid && !mt_proc_alive(pid);
		if (p->gone) {
			close_fds(p);
			continue;
		}
		if (comm[0] && strncmp(comm, p->comm, MT_COMM_LEN - 1)) {
			char *labels = make_labels(x, pid, p->comm, &p->go);

			if (p->go) /* an exec into a Go program */
				mt_gowork__watch(x->gow, p->pid);
			if (labels) {
				pthread_mutex_lock(&x->lock);
				free(p->labels);
				p->labels = labels;
				pthread_mutex_unlock(&x->lock);
			}
		}
	}

	/* commit, all at once: a scrape sees one pass's gauges */
	pthread_mutex_lock(&x->lock);
	for (it = 0; mt_pidmap__next(&x->procs, &it, &pid, &val);) {
		p = val;
		if (p->exited_ns)
			continue;
		p->g = p->next;
		if (p->gone)
			p->exited_ns = now;
	}
	/* expiry: past the grace period, or the oldest first when the table is over its bound */
	exited = calloc(x->procs.n ? x->procs.n : 1, sizeof(*exited));
	for (it = 0; exited && mt_pidmap__next(&x->procs, &it, &pid, &val);)
		if (((struct mt_eproc *)val)->exited_ns)
			exited[nexited++] = val;
	/* the counters, to know which keys to delete: only when someone has exited */
	if (nexited && !mt_count_bpf__read(x->cb, &all, &n)) {
		qsort(exited, nexited, sizeof(*exited), cmp_exited);
		for (i = 0; i < nexited; i++) {
			bool over = x->procs.n > 2 * (size_t)x->o->max_procs;

			if (!over && now - exited[i]->exited_ns < x->o->grace_ns)
				break;
			drop(x, exited[i], all, n);
		}
	}
	free(exited);
	x->traced_now = traced;
	x->refused_procs = c.refused;
	x->sample_seconds = (mt_now_ns() - now) / 1e9;
	pthread_mutex_unlock(&x->lock);
}

void mt_export__free_procs(struct mt_export *x)
{
	size_t it;
	uint32_t pid;
	void *val;

	for (it = 0; mt_pidmap__next(&x->procs, &it, &pid, &val);) {
		close_fds(val);
		free(((struct mt_eproc *)val)->labels);
		free(val);
	}
	mt_pidmap__fini(&x->procs);
}
