/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A map from pid to pointer: open addressing with linear probing and
 * backward-shift deletion (no tombstones), so a table that sees thousands of
 * short-lived processes (-f on a forking server) stays as small as the
 * processes alive in it. Pid 0 is a valid key; NULL is not a valid value.
 *
 *	struct mt_pidmap m;
 *	mt_pidmap__init(&m);
 *	mt_pidmap__insert(&m, pid, p);  mt_pidmap__find(&m, pid);  mt_pidmap__delete(&m, pid);
 *	for (size_t it = 0; mt_pidmap__next(&m, &it, &pid, &val);) ...
 *	mt_pidmap__fini(&m);                 (the values are the caller's to free)
 */
#ifndef MT_PIDMAP_H
#define MT_PIDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_pidmap_slot {
	uint32_t pid;
	void *val; /* NULL: the slot is free */
};

struct mt_pidmap {
	struct mt_pidmap_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

void mt_pidmap__init(struct mt_pidmap *m);
/* Free the table (not the values); the map is empty and usable again. */
void mt_pidmap__fini(struct mt_pidmap *m);
/* The value for pid, or NULL. */
void *mt_pidmap__find(const struct mt_pidmap *m, uint32_t pid);
/* 0, -EEXIST (pid is there: nothing changes), -EINVAL (val NULL) or -ENOMEM. */
int mt_pidmap__insert(struct mt_pidmap *m, uint32_t pid, void *val);
/* Remove pid; its value, or NULL when it was not there. */
void *mt_pidmap__delete(struct mt_pidmap *m, uint32_t pid);
/*
 * Iterate: *it starts at 0; false past the last entry. The order is the
 * table's, not insertion order. The map must not change during the walk.
 */
bool mt_pidmap__next(const struct mt_pidmap *m, size_t *it, uint32_t *pid, void **val);

#endif
