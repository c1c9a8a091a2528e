// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "pidmap.h"

#define MIN_CAP 16

static size_t home(uint32_t pid, size_t cap)
{
	/* Knuth's multiplicative hash: consecutive pids spread over the table */
	return (size_t)(pid * 2654435761u) & (cap - 1);
}

/* The slot holding pid, or the free slot where it would go. */
static size_t slot_of(const struct mt_pidmap_slot *s, size_t cap, uint32_t pid)
{
	size_t i = home(pid, cap);

	while (s[i].val && s[i].pid != pid)
		i = (i + 1) & (cap - 1);
	return i;
}

void mt_pidmap__init(struct mt_pidmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}

void mt_pidmap__fini(struct mt_pidmap *m)
{
	free(m->slots);
	mt_pidmap__init(m);
}

void *mt_pidmap__find(const struct mt_pidmap *m, uint32_t pid)
{
	if (!m->cap)
		return NULL;
	return m->slots[slot_of(m->slots, m->cap, pid)].val;
}

static int grow(struct mt_pidmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : MIN_CAP;
	struct mt_pidmap_slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			s[slot_of(s, cap, m->slots[i].pid)] = m->slots[i];
	free(m->slots);
	m->slots = s;
	m->cap = cap;
	return 0;
}

int mt_pidmap__insert(struct mt_pidmap *m, uint32_t pid, void *val)
{
	size_t i;
	int err;

	if (!val)
		return -EINVAL;
	if (mt_pidmap__find(m, pid))
		return -EEXIST;
	/* at most half full: probes stay short */
	if ((m->n + 1) * 2 > m->cap) {
		err = grow(m);
		if (err)
			return err;
	}
	i = slot_of(m->slots, m->cap, pid);
	m->slots[i].pid = pid;
	m->slots[i].val = val;
	m->n++;
	return 0;
}

void *mt_pidmap__delete(struct mt_pidmap *m, uint32_t pid)
{
	size_t i, j, mask = m->cap - 1;
	void *val;

	if (!m->cap)
		return NULL;
	i = slot_of(m->slots, m->cap, pid);
	val = m->slots[i].val;
	if (!val)
		return NULL;
	/*
	 * Backward shift: move later entries of the run into the hole when
	 * their home slot does not lie (cyclically) between the hole and them.
	 */
	for (j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
		size_t h = home(m->slots[j].pid, m->cap);

		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].val = NULL;
	m->n--;
	return val;
}

bool mt_pidmap__next(const struct mt_pidmap *m, size_t *it, uint32_t *pid, void **val)
{
	for (; *it < m->cap; (*it)++) {
		if (!m->slots[*it].val)
			continue;
		if (pid)
			*pid = m->slots[*it].pid;
		if (val)
			*val = m->slots[*it].val;
		(*it)++;
		return true;
	}
	return false;
}
