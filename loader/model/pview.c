// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verdict's view of each process (pview.h): kept for every process the
 * trace shows, exited ones too, so each is explained from its own records.
 * One view per pid; a pid that comes back after its process exited starts
 * a new view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "madvtrace/advice.h"
#include "timeline_int.h"

#define MT_AENV_NAME(k) #k,
static const char *const env_names[MT_AENV_NR] = {MT_ALLOC_ENV(MT_AENV_NAME)};
#undef MT_AENV_NAME

const char *mt_pview__env_name(enum mt_alloc_env k)
{
	return env_names[k];
}

int mt_pview__adv_slot(int advice)
{
	switch (advice) {
	case MT_MADV_FREE:
		return MT_PV_FREE;
	case MT_MADV_DONTNEED:
		return MT_PV_DONTNEED;
	case MT_MADV_DONTNEED_LOCKED:
		return MT_PV_DONTNEED_LOCKED;
	case MT_MADV_REMOVE:
		return MT_PV_REMOVE;
	case MT_MADV_HUGEPAGE:
		return MT_PV_HUGEPAGE;
	case MT_MADV_NOHUGEPAGE:
		return MT_PV_NOHUGEPAGE;
	case MT_MADV_COLLAPSE:
		return MT_PV_COLLAPSE;
	default:
		return -1;
	}
}

static void forget_facts(struct mt_pview *v)
{
	v->go_version[0] = v->godebug[0] = '\0';
	v->godebug_known = v->env_read = false;
	v->alloc = MT_ALLOC_NONE;
	v->alloc_linked[0] = v->alloc_version[0] = '\0';
	for (int k = 0; k < MT_AENV_NR; k++) {
		free(v->env[k]);
		v->env[k] = NULL;
	}
	free(v->agent_catch);
	free(v->agent_uncaught);
	v->agent_catch = v->agent_uncaught = NULL;
}

static void view_free(struct mt_pview *v)
{
	if (!v)
		return;
	forget_facts(v);
	free(v);
}

struct mt_pview *mt_pview__find(const struct mt_timeline *tl, uint32_t pid)
{
	return mt_pidmap__find(&tl->views, pid);
}

struct mt_pview *mt_pview__get(struct mt_timeline *tl, uint32_t pid)
{
	struct mt_pview *v = mt_pidmap__find(&tl->views, pid);

	if (v)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v || mt_pidmap__insert(&tl->views, pid, v)) {
		free(v);
		tl->err = -ENOMEM;
		return NULL;
	}
	v->pid = pid;
	return v;
}

struct mt_pview *mt_pview__fork(struct mt_timeline *tl, struct mt_pview *parent, uint32_t child)
{
	struct mt_pview *v = mt_pidmap__find(&tl->views, child);

	/* a pid used again: the old process's view goes */
	if (v && v->exited) {
		mt_pidmap__delete(&tl->views, child);
		view_free(v);
	}
	v = mt_pview__get(tl, child);
	if (!v)
		return NULL;
	v->seen = true;
	if (parent) {
		parent->children++;
		v->parent = parent->pid;
		if (!v->comm[0])
			memcpy(v->comm, parent->comm, sizeof(v->comm));
	}
	return v;
}

void mt_pview__exec(struct mt_pview *v)
{
	v->execs++;
	forget_facts(v); /* another program: its info records follow */
}

static bool key_is(const char *k, size_t klen, const char *want)
{
	return strlen(want) == klen && !memcmp(k, want, klen);
}

static char *dup_value(const char *val, size_t vlen)
{
	char *s = malloc(vlen + 1);

	if (s) {
		memcpy(s, val, vlen);
		s[vlen] = '\0';
	}
	return s;
}

static enum mt_alloc alloc_named(const char *val, size_t vlen)
{
	static const char *const names[] = {"", "glibc", "jemalloc", "tcmalloc", "mimalloc"};

	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (key_is(val, vlen, names[i]))
			return (enum mt_alloc)i;
	return MT_ALLOC_NONE;
}

int mt_pview__info(struct mt_pview *v, const char *key, size_t klen, const char *val, size_t vlen)
{
	char **slot = NULL;

	if (key_is(key, klen, "go_version")) {
		snprintf(v->go_version, sizeof(v->go_version), "%.*s", (int)vlen, val);
	} else if (key_is(key, klen, "env.GODEBUG")) {
		snprintf(v->godebug, sizeof(v->godebug), "%.*s", (int)vlen, val);
		v->godebug_known = true;
	} else if (key_is(key, klen, "env_read")) {
		/* the environment was read again: its env.* records follow, when set */
		v->env_read = true;
		v->godebug[0] = '\0';
		v->godebug_known = false;
		for (int k = 0; k < MT_AENV_NR; k++) {
			free(v->env[k]);
			v->env[k] = NULL;
		}
	} else if (key_is(key, klen, "allocator")) {
		v->alloc = alloc_named(val, vlen);
	} else if (key_is(key, klen, "allocator_linked")) {
		snprintf(v->alloc_linked, sizeof(v->alloc_linked), "%.*s", (int)vlen, val);
	} else if (key_is(key, klen, "allocator_version")) {
		snprintf(v->alloc_version, sizeof(v->alloc_version), "%.*s", (int)vlen, val);
	} else if (key_is(key, klen, "agent.catch")) {
		slot = &v->agent_catch;
	} else if (key_is(key, klen, "agent.uncaught")) {
		/* the agent says each kind of call it leaves out in a record of its own */
		if (v->agent_uncaught) {
			size_t old = strlen(v->agent_uncaught);
			char *s = realloc(v->agent_uncaught, old + 2 + vlen + 1);

			if (!s)
				return -ENOMEM;
			memcpy(s + old, "; ", 2);
			memcpy(s + old + 2, val, vlen);
			s[old + 2 + vlen] = '\0';
			v->agent_uncaught = s;
			return 0;
		}
		slot = &v->agent_uncaught;
	} else if (klen > 4 && !memcmp(key, "env.", 4)) {
		for (int k = 0; k < MT_AENV_NR; k++)
			if (key_is(key + 4, klen - 4, env_names[k]))
				slot = &v->env[k];
	}
	if (!slot)
		return 0;
	free(*slot);
	*slot = dup_value(val, vlen);
	return *slot ? 0 : -ENOMEM;
}

void mt_pview__snapshot(struct mt_pview *v, const struct mt_regions *rs)
{
	for (int s = 0; s < MT_RS_NR; s++)
		v->end.state[s] = mt_regions__bytes(rs, s);
	v->released_thp = mt_regions__released_thp(rs);
}

uint64_t mt_pview__released(const struct mt_pview *v)
{
	return v->adv[MT_PV_FREE].bytes + v->adv[MT_PV_DONTNEED].bytes +
	       v->adv[MT_PV_DONTNEED_LOCKED].bytes + v->adv[MT_PV_REMOVE].bytes +
	       v->none_remap_bytes + v->munmap.bytes + v->brk_shrink.bytes;
}

bool mt_pview__is_go(const struct mt_pview *v)
{
	return v->go_version[0] || v->gostat_records;
}

static uint64_t end_rss(const struct mt_pview *v)
{
	return v->end.have_rss ? mt_gauges_rss(&v->end) : 0;
}

/* Who comes first: released the most, then holds the most RSS, then the lower pid. */
static bool ranks_before(const struct mt_pview *a, const struct mt_pview *b)
{
	uint64_t ra = mt_pview__released(a), rb = mt_pview__released(b);

	if (ra != rb)
		return ra > rb;
	if (end_rss(a) != end_rss(b))
		return end_rss(a) > end_rss(b);
	return a->pid < b->pid;
}

size_t mt_pview__sorted(const struct mt_timeline *tl, const struct mt_pview ***out)
{
	size_t n = 0, it = 0;
	const struct mt_pview **a;
	void *v;

	while (mt_pidmap__next(&tl->views, &it, NULL, &v))
		n++;
	a = calloc(n ? n : 1, sizeof(*a));
	*out = a;
	if (!a)
		return 0;
	n = 0;
	it = 0;
	while (mt_pidmap__next(&tl->views, &it, NULL, &v)) {
		size_t i = n++;

		while (i > 0 && ranks_before(v, a[i - 1])) {
			a[i] = a[i - 1];
			i--;
		}
		a[i] = v;
	}
	return n;
}

void mt_pview__free_all(struct mt_timeline *tl)
{
	size_t it = 0;
	void *v;

	while (mt_pidmap__next(&tl->views, &it, NULL, &v))
		view_free(v);
	mt_pidmap__fini(&tl->views);
}
