// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address-space model: an AVL tree of non-overlapping regions keyed by
 * start. Every operation first cuts regions at the edges of the range it
 * touches ("isolate"), changes the whole regions inside, then merges
 * neighbours that ended up identical, so the tree stays as small as the
 * address space is fragmented. Byte totals per state are kept up to date on
 * every change, so reading a gauge is O(1).
 * One concern, hence one file over 900 lines: the tree, its cut-and-merge and
 * the per-state totals are one invariant that every operation keeps at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "madvtrace/advice.h"
#include "regions.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

enum { REL_NONE, REL_LAZY, REL_EAGER };

struct mapping {
	struct mt_mapping_info info;
	struct mapping *prev, *next; /* the live list of the address space */
	struct mapping *clone;	     /* scratch for mt_regions__clone() */
	uint64_t refs;		     /* regions pointing here */
	uint64_t release_seq;	     /* operation that last counted a release call */
	uint64_t move_seq;	     /* operation that last moved the extent */
};

struct region {
	struct region *left, *right;
	struct region *prev, *next; /* address order: walking a range costs O(1) a step */
	uint64_t start, end;
	struct mapping *map;
	uint32_t prot;
	uint8_t height;
	uint8_t kind;
	uint8_t rel;
	uint8_t thp;
	uint8_t touched;
};

/* The attributes of a region that decide whether two neighbours can merge. */
struct attrs {
	uint32_t prot;
	uint8_t kind, rel, thp, touched;
};

struct mt_regions {
	struct region *root;
	struct mapping *maps, *maps_tail;
	size_t count;
	uint64_t bytes[MT_RS_NR];
	uint64_t page_mask;
	uint32_t pid;
	uint64_t brk; /* current program break; 0 until the first brk call */
	uint64_t now; /* time of the operation in progress */
	uint64_t seq; /* operation counter */
	mt_retire_fn retire;
	void *retire_ctx;
};

/* ---- AVL tree keyed by region start ---- */

static int height(const struct region *n)
{
	return n ? n->height : 0;
}

static void update(struct region *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = (uint8_t)(1 + (l > r ? l : r));
}

static struct region *rotate_right(struct region *n)
{
	struct region *l = n->left;

	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct region *rotate_left(struct region *n)
{
	struct region *r = n->right;

	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

static struct region *rebalance(struct region *n)
{
	int b;

	update(n);
	b = height(n->left) - height(n->right);
	if (b > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (b < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Insert n; *pred and *succ become its neighbours in address order. */
static struct region *avl_insert(struct region *root, struct region *n, struct region **pred,
				 struct region **succ)
{
	if (!root) {
		n->left = n->right = NULL;
		n->height = 1;
		return n;
	}
	if (n->start < root->start) {
		*succ = root;
		root->left = avl_insert(root->left, n, pred, succ);
	} else {
		*pred = root;
		root->right = avl_insert(root->right, n, pred, succ);
	}
	return rebalance(root);
}

static struct region *avl_remove_min(struct region *root, struct region **min)
{
	if (!root->left) {
		*min = root;
		return root->right;
	}
	root->left = avl_remove_min(root->left, min);
	return rebalance(root);
}

/* Unlink the node whose start is key (it must exist); the node is not freed. */
static struct region *avl_remove(struct region *root, uint64_t key)
{
	struct region *l, *r, *m;

	if (!root)
		return NULL;
	if (key < root->start) {
		root->left = avl_remove(root->left, key);
	} else if (key > root->start) {
		root->right = avl_remove(root->right, key);
	} else {
		l = root->left;
		r = root->right;
		if (!r)
			return l;
		r = avl_remove_min(r, &m);
		m->left = l;
		m->right = r;
		return rebalance(m);
	}
	return rebalance(root);
}

/* The region with the greatest start <= key. */
static struct region *avl_floor(struct region *n, uint64_t key)
{
	struct region *best = NULL;

	while (n) {
		if (n->start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The region with the smallest start >= key. */
static struct region *avl_ceil(struct region *n, uint64_t key)
{
	struct region *best = NULL;

	while (n) {
		if (n->start >= key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static void tree_insert(struct mt_regions *rs, struct region *n)
{
	struct region *pred = NULL, *succ = NULL;

	rs->root = avl_insert(rs->root, n, &pred, &succ);
	n->prev = pred;
	n->next = succ;
	if (pred)
		pred->next = n;
	if (succ)
		succ->prev = n;
	rs->count++;
}

static void tree_remove(struct mt_regions *rs, struct region *n)
{
	rs->root = avl_remove(rs->root, n->start);
	if (n->prev)
		n->prev->next = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
	rs->count--;
}

/* ---- mappings ---- */

static struct mapping *map_new(struct mt_regions *rs, uint64_t start, uint64_t end, uint32_t prot,
			       uint8_t kind, uint64_t created_ns)
{
	struct mapping *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->info.pid = rs->pid;
	m->info.start = start;
	m->info.end = end;
	m->info.prot = prot;
	m->info.kind = kind;
	m->info.created_ns = created_ns;
	m->prev = rs->maps_tail;
	if (rs->maps_tail)
		rs->maps_tail->next = m;
	else
		rs->maps = m;
	rs->maps_tail = m;
	return m;
}

static void map_unlink(struct mt_regions *rs, struct mapping *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		rs->maps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		rs->maps_tail = m->prev;
}

static void map_unref(struct mt_regions *rs, struct mapping *m)
{
	if (--m->refs)
		return;
	map_unlink(rs, m);
	m->info.unmapped = true;
	m->info.unmapped_ns = rs->now;
	if (rs->retire)
		rs->retire(rs->retire_ctx, &m->info);
	free(m);
}

/* ---- regions ---- */

static enum mt_rstate state_of(const struct region *r)
{
	if (r->rel == REL_LAZY)
		return MT_RS_LAZY;
	if (r->rel == REL_EAGER)
		return MT_RS_EAGER;
	return r->prot ? MT_RS_COMMITTED : MT_RS_RESERVED;
}

/* Add (sign > 0) or remove a region's bytes from the totals. */
static void account(struct mt_regions *rs, const struct region *r, int sign)
{
	uint64_t len = r->end - r->start;
	enum mt_rstate s = state_of(r);

	if (sign > 0) {
		rs->bytes[s] += len;
		r->map->info.cur[s] += len;
	} else {
		rs->bytes[s] -= len;
		r->map->info.cur[s] -= len;
	}
}

static struct attrs attrs_of(const struct region *r)
{
	struct attrs a = {
	    .prot = r->prot,
	    .kind = r->kind,
	    .rel = r->rel,
	    .thp = r->thp,
	    .touched = r->touched,
	};
	return a;
}

static struct region *region_add(struct mt_regions *rs, uint64_t start, uint64_t end,
				 const struct attrs *a, struct mapping *m)
{
	struct region *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->start = start;
	r->end = end;
	r->prot = a->prot;
	r->kind = a->kind;
	r->rel = a->rel;
	r->thp = a->thp;
	r->touched = a->touched;
	r->map = m;
	m->refs++;
	tree_insert(rs, r);
	account(rs, r, 1);
	return r;
}

/* region_add into a mapping that may be new: when it fails, a mapping left unused goes too. */
static int region_add_or_drop(struct mt_regions *rs, uint64_t start, uint64_t end,
			      const struct attrs *a, struct mapping *m)
{
	if (region_add(rs, start, end, a, m))
		return 0;
	if (!m->refs) {
		map_unlink(rs, m);
		free(m);
	}
	return -ENOMEM;
}

static void region_del(struct mt_regions *rs, struct region *r)
{
	struct mapping *m = r->map;

	account(rs, r, -1);
	tree_remove(rs, r);
	free(r);
	map_unref(rs, m);
}

/* Change a region's attributes and (if m) its mapping, keeping the totals right. */
static void region_set(struct mt_regions *rs, struct region *r, const struct attrs *a,
		       struct mapping *m)
{
	struct mapping *old = r->map;

	account(rs, r, -1);
	r->prot = a->prot;
	r->kind = a->kind;
	r->rel = a->rel;
	r->thp = a->thp;
	r->touched = a->touched;
	if (m && m != old) {
		m->refs++;
		r->map = m;
	}
	account(rs, r, 1);
	if (r->map != old)
		map_unref(rs, old);
}

/* Cut the region that straddles addr (if any) into two at addr. */
static int split_at(struct mt_regions *rs, uint64_t addr)
{
	struct region *r = avl_floor(rs->root, addr), *n;

	if (!r || r->start == addr || r->end <= addr)
		return 0;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *r;
	n->start = addr;
	r->end = addr; /* same state on both sides: the totals do not change */
	n->map->refs++;
	tree_insert(rs, n);
	return 0;
}

/* Make [s, e) consist of whole regions (and holes). */
static int isolate(struct mt_regions *rs, uint64_t s, uint64_t e)
{
	int err = split_at(rs, s);

	return err ? err : split_at(rs, e);
}

static bool mergeable(const struct region *a, const struct region *b)
{
	return a->end == b->start && a->map == b->map && a->prot == b->prot && a->kind == b->kind &&
	       a->rel == b->rel && a->thp == b->thp && a->touched == b->touched;
}

/* Merge identical neighbours from the region before s up to the one starting at e. */
static void merge_range(struct mt_regions *rs, uint64_t s, uint64_t e)
{
	struct region *r = s ? avl_floor(rs->root, s - 1) : NULL, *n;

	if (!r)
		r = avl_ceil(rs->root, s);
	while (r && r->start <= e) {
		n = r->next;
		if (n && mergeable(r, n)) {
			r->end = n->end; /* same state and mapping: totals unchanged */
			tree_remove(rs, n);
			n->map->refs--; /* r still holds the mapping */
			free(n);
			continue;
		}
		r = n;
	}
}

static int range_end(const struct mt_regions *rs, uint64_t addr, uint64_t len, uint64_t *end)
{
	uint64_t l;

	if (addr & rs->page_mask || len > UINT64_MAX - rs->page_mask)
		return -EINVAL;
	l = (len + rs->page_mask) & ~rs->page_mask;
	if (l > UINT64_MAX - addr)
		return -EINVAL;
	*end = addr + l;
	return 0;
}

static uint8_t kind_of(uint32_t flags, int32_t fd)
{
	bool shared = (flags & MAP_TYPE) != MAP_PRIVATE;

	if (flags & MAP_ANONYMOUS || fd < 0) {
		if (shared)
			return MT_RK_SHARED_ANON;
		/* not Go heap: the reconciliation sets thread stacks aside */
		return flags & MAP_STACK ? MT_RK_STACK : MT_RK_ANON;
	}
	return shared ? MT_RK_SHARED_FILE : MT_RK_FILE;
}

static void begin(struct mt_regions *rs, uint64_t t_ns)
{
	rs->now = t_ns;
	rs->seq++;
}

static void note_release(struct mt_regions *rs, struct mapping *m, uint64_t len, int rel,
			 bool again)
{
	if (rel == REL_LAZY)
		m->info.released_lazy += len;
	else
		m->info.released_eager += len;
	if (again)
		m->info.rereleased += len;
	if (m->release_seq != rs->seq) {
		m->release_seq = rs->seq;
		if (!m->info.release_calls++)
			m->info.first_release_ns = rs->now;
	}
	m->info.last_release_ns = rs->now;
}

/* Put a region in a released state, counting what kind of release it was. */
static void release(struct mt_regions *rs, struct region *r, int rel, struct mt_rdelta *d)
{
	uint64_t len = r->end - r->start;
	struct attrs a = attrs_of(r);
	bool again = false;

	if (!r->touched && r->rel == REL_NONE)
		return; /* never accessible: no pages to release */
	if (r->rel == REL_NONE) {
		d->released += len;
	} else if (r->rel == REL_LAZY && rel == REL_EAGER) {
		d->escalated += len;
	} else {
		d->rereleased += len;
		again = true;
	}
	note_release(rs, r->map, len, rel, again);
	a.rel = (uint8_t)rel;
	region_set(rs, r, &a, NULL);
}

static void recommit(struct region *r, struct attrs *a, struct mt_rdelta *d)
{
	uint64_t len = r->end - r->start;

	d->recommitted += len;
	r->map->info.recommitted += len;
	a->rel = REL_NONE;
}

static int unmap_range(struct mt_regions *rs, uint64_t s, uint64_t e, struct mt_rdelta *d)
{
	struct region *r, *next;
	int err = isolate(rs, s, e);

	if (err)
		return err;
	for (r = avl_ceil(rs->root, s); r && r->start < e; r = next) {
		next = r->next;
		d->unmapped += r->end - r->start;
		region_del(rs, r);
	}
	return 0;
}

/*
 * Ranges of [s, e) the model does not know, but a call proved mapped, were
 * mapped before tracing began. Adjacent unknown ranges share one mapping.
 */
static int fill_holes(struct mt_regions *rs, uint64_t s, uint64_t e, struct mt_rdelta *d)
{
	struct attrs a = {.prot = PROT_READ | PROT_WRITE, .kind = MT_RK_UNKNOWN, .touched = 1};
	uint64_t cur = s, hole_end;
	struct region *r = avl_ceil(rs->root, s), *nb;
	struct mapping *m;

	while (cur < e) {
		hole_end = r && r->start < e ? r->start : e;
		if (hole_end > cur) {
			m = NULL;
			nb = cur ? avl_floor(rs->root, cur - 1) : NULL;
			if (nb && nb->end == cur && nb->kind == MT_RK_UNKNOWN)
				m = nb->map;
			else if (r && r->start == hole_end && r->kind == MT_RK_UNKNOWN)
				m = r->map;
			if (m) {
				if (cur < m->info.start)
					m->info.start = cur;
				if (hole_end > m->info.end)
					m->info.end = hole_end;
			} else {
				m = map_new(rs, cur, hole_end, a.prot, MT_RK_UNKNOWN, 0);
				if (!m)
					return -ENOMEM;
			}
			if (region_add_or_drop(rs, cur, hole_end, &a, m))
				return -ENOMEM;
			d->filled += hole_end - cur;
		}
		if (!r || r->start >= e)
			break;
		cur = r->end;
		r = r->next;
	}
	return 0;
}

/* ---- lifecycle ---- */

struct mt_regions *mt_regions__new(uint32_t pid, uint32_t page_size)
{
	struct mt_regions *rs;

	if (!page_size)
		page_size = 4096;
	if (page_size & (page_size - 1))
		return NULL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->pid = pid;
	rs->page_mask = page_size - 1;
	return rs;
}

void mt_regions__set_retire(struct mt_regions *rs, mt_retire_fn fn, void *ctx)
{
	rs->retire = fn;
	rs->retire_ctx = ctx;
}

static void free_tree(struct region *r)
{
	while (r) {
		struct region *right = r->right;

		free_tree(r->left);
		free(r);
		r = right;
	}
}

void mt_regions__free(struct mt_regions *rs)
{
	struct mapping *m, *next;

	if (!rs)
		return;
	free_tree(rs->root);
	for (m = rs->maps; m; m = next) {
		next = m->next;
		free(m);
	}
	free(rs);
}

static struct region *clone_tree(struct mt_regions *dst, const struct region *r, int *err)
{
	struct region *n;
	struct mapping *m;

	if (!r || *err)
		return NULL;
	n = malloc(sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	*n = *r;
	n->left = n->right = NULL;
	m = r->map->clone;
	if (!m) {
		m = map_new(dst, 0, 0, 0, 0, 0);
		if (!m) {
			free(n);
			*err = -ENOMEM;
			return NULL;
		}
		/* the state is inherited, the history of releases is the parent's */
		m->info = r->map->info;
		m->info.pid = dst->pid;
		m->info.released_lazy = m->info.released_eager = 0;
		m->info.rereleased = m->info.recommitted = 0;
		m->info.release_calls = 0;
		m->info.first_release_ns = m->info.last_release_ns = 0;
		r->map->clone = m;
	}
	n->map = m;
	m->refs++;
	dst->count++;
	n->left = clone_tree(dst, r->left, err);
	n->right = clone_tree(dst, r->right, err);
	return n;
}

/* Thread the address-order list through a tree built without it (a clone). */
static struct region *relink(struct region *r, struct region *prev)
{
	while (r) {
		prev = relink(r->left, prev);
		r->prev = prev;
		r->next = NULL;
		if (prev)
			prev->next = r;
		prev = r;
		r = r->right;
	}
	return prev;
}

struct mt_regions *mt_regions__clone(const struct mt_regions *src, uint32_t pid)
{
	struct mt_regions *dst = mt_regions__new(pid, (uint32_t)(src->page_mask + 1));
	struct mapping *m;
	int err = 0;

	if (!dst)
		return NULL;
	dst->brk = src->brk;
	dst->retire = src->retire;
	dst->retire_ctx = src->retire_ctx;
	memcpy(dst->bytes, src->bytes, sizeof(dst->bytes));
	dst->root = clone_tree(dst, src->root, &err);
	relink(dst->root, NULL);
	for (m = src->maps; m; m = m->next)
		m->clone = NULL; /* scratch pointers only; src is unchanged otherwise */
	if (err) {
		mt_regions__free(dst);
		return NULL;
	}
	return dst;
}

void mt_regions__clear(struct mt_regions *rs, uint64_t t_ns)
{
	begin(rs, t_ns);
	while (rs->root)
		region_del(rs, rs->root);
	rs->brk = 0;
}

/* ---- operations ---- */

int mt_regions__mmap(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
		     uint32_t prot, uint32_t flags, int32_t fd, struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	struct attrs fresh = {.prot = prot, .kind = kind_of(flags, fd), .touched = prot != 0};
	struct mapping *same = NULL, *m;
	struct region *r;
	uint64_t e, covered = 0, cur;
	bool one = true;
	int err;

	if (!d)
		d = &scratch;
	err = range_end(rs, addr, len, &e);
	if (err || e == addr)
		return err;
	begin(rs, t_ns);
	err = isolate(rs, addr, e);
	if (err)
		return err;
	/*
	 * MAP_FIXED inside one mapping of the same kind (a runtime committing
	 * part of its reservation) keeps that mapping, so its releases are
	 * reported together.
	 */
	for (r = avl_ceil(rs->root, addr); r && r->start < e; r = r->next) {
		if (!same)
			same = r->map;
		else if (r->map != same)
			one = false;
		covered += r->end - r->start;
	}
	if (same && one && covered == e - addr && same->info.kind == fresh.kind) {
		m = same;
	} else {
		m = map_new(rs, addr, e, prot, fresh.kind, t_ns);
		if (!m)
			return -ENOMEM;
	}
	m->refs++; /* hold it while its own regions are replaced */
	for (r = avl_ceil(rs->root, addr); r && r->start < e; r = r->next) {
		struct attrs a = fresh;
		uint64_t l = r->end - r->start;

		if (!prot && (r->touched || r->rel != REL_NONE)) {
			/* remapped PROT_NONE over memory that may have pages: they are dropped */
			if (r->rel == REL_NONE) {
				d->released += l;
				note_release(rs, m, l, REL_EAGER, false);
			} else if (r->rel == REL_LAZY) {
				d->escalated += l;
				note_release(rs, m, l, REL_EAGER, false);
			}
			a.rel = REL_EAGER;
		} else if (prot && r->rel != REL_NONE) {
			d->recommitted += l;
			m->info.recommitted += l;
		}
		region_set(rs, r, &a, m);
	}
	/* the holes */
	cur = addr;
	r = avl_ceil(rs->root, addr);
	while (cur < e) {
		uint64_t hole_end = r && r->start < e ? r->start : e;

		if (hole_end > cur) {
			if (!region_add(rs, cur, hole_end, &fresh, m)) {
				err = -ENOMEM;
				break;
			}
			d->mapped += hole_end - cur;
		}
		if (!r || r->start >= e)
			break;
		cur = r->end;
		r = r->next;
	}
	map_unref(rs, m);
	merge_range(rs, addr, e);
	return err;
}

int mt_regions__munmap(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
		       struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	uint64_t e;
	int err = range_end(rs, addr, len, &e);

	if (err || e == addr)
		return err;
	begin(rs, t_ns);
	return unmap_range(rs, addr, e, d ? d : &scratch);
}

/* A new range [s, e) continuing the region that ends at s (mremap growth). */
static int extend(struct mt_regions *rs, uint64_t s, uint64_t e, struct mt_rdelta *d)
{
	struct region *t = s ? avl_floor(rs->root, s - 1) : NULL;
	struct attrs a = {.prot = PROT_READ | PROT_WRITE, .kind = MT_RK_UNKNOWN, .touched = 1};
	struct mapping *m;
	int err;

	err = unmap_range(rs, s, e, d);
	if (err)
		return err;
	if (t && t->end == s) {
		a = attrs_of(t);
		a.rel = REL_NONE;
		a.touched = a.prot != 0;
		m = t->map;
		if (m->info.end == s)
			m->info.end = e;
	} else {
		m = map_new(rs, s, e, a.prot, MT_RK_UNKNOWN, 0);
		if (!m)
			return -ENOMEM;
	}
	if (region_add_or_drop(rs, s, e, &a, m))
		return -ENOMEM;
	d->mapped += e - s;
	merge_range(rs, s, e);
	return 0;
}

int mt_regions__mremap(struct mt_regions *rs, uint64_t t_ns, uint64_t old_addr, uint64_t old_len,
		       uint64_t new_addr, uint64_t new_len, uint32_t flags, struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	struct region *r, *list = NULL, **tail = &list, *next;
	uint64_t oe, ne, keep, delta;
	int err;

	if (!d)
		d = &scratch;
	if (range_end(rs, old_addr, old_len, &oe) || range_end(rs, new_addr, new_len, &ne) ||
	    ne == new_addr)
		return -EINVAL;
	begin(rs, t_ns);
	if (oe == old_addr) {
		/* old_len 0: a second mapping of the same shared pages */
		struct attrs a = {
		    .prot = PROT_READ | PROT_WRITE, .kind = MT_RK_UNKNOWN, .touched = 1};
		struct mapping *m;

		r = avl_floor(rs->root, old_addr);
		if (r && r->end > old_addr) {
			a = attrs_of(r);
			a.rel = REL_NONE;
		}
		err = unmap_range(rs, new_addr, ne, d);
		if (err)
			return err;
		m = map_new(rs, new_addr, ne, a.prot, a.kind, t_ns);
		if (!m)
			return -ENOMEM;
		if (region_add_or_drop(rs, new_addr, ne, &a, m))
			return -ENOMEM;
		d->mapped += ne - new_addr;
		merge_range(rs, new_addr, ne);
		return 0;
	}
	if (new_addr == old_addr) {
		/* the kept part was mapped, or the call would have failed */
		keep = ne < oe ? ne : oe;
		err = isolate(rs, old_addr, keep);
		if (!err)
			err = fill_holes(rs, old_addr, keep, d);
		if (!err && ne < oe)
			err = unmap_range(rs, ne, oe, d);
		else if (!err && ne > oe)
			err = extend(rs, oe, ne, d);
		merge_range(rs, old_addr, keep);
		return err;
	}

	/* moved: the pages of the kept part go along with their states */
	keep = oe - old_addr < ne - new_addr ? oe - old_addr : ne - new_addr;
	err = isolate(rs, old_addr, old_addr + keep);
	if (!err)
		err = fill_holes(rs, old_addr, old_addr + keep, d);
	if (err)
		return err;
	for (r = avl_ceil(rs->root, old_addr); r && r->start < old_addr + keep; r = next) {
		next = r->next;
		if (flags & MREMAP_DONTUNMAP) {
			/* the old range stays mapped (empty); the copy moves */
			struct region *c = malloc(sizeof(*c));

			if (!c) {
				err = -ENOMEM;
				break;
			}
			*c = *r;
			c->map->refs++;
			r = c;
		} else {
			account(rs, r, -1);
			tree_remove(rs, r);
		}
		r->left = NULL;
		*tail = r;
		tail = &r->left; /* left links the detached list */
	}
	if (!err && !(flags & MREMAP_DONTUNMAP) && oe > old_addr + keep)
		err = unmap_range(rs, old_addr + keep, oe, d);
	if (!err)
		err = unmap_range(rs, new_addr, ne, d);
	delta = new_addr - old_addr; /* modular: moves down work too */
	for (r = list; r; r = next) {
		next = r->left;
		if (err) {
			struct mapping *m = r->map;

			free(r);
			map_unref(rs, m);
			continue;
		}
		r->start += delta;
		r->end += delta;
		if (r->map->move_seq != rs->seq) {
			r->map->move_seq = rs->seq;
			r->map->info.start += delta;
			r->map->info.end += delta;
		}
		tree_insert(rs, r);
		account(rs, r, 1);
	}
	if (err)
		return err;
	if (ne > new_addr + keep) {
		err = extend(rs, new_addr + keep, ne, d);
		if (err)
			return err;
	}
	merge_range(rs, new_addr, ne);
	if (flags & MREMAP_DONTUNMAP)
		merge_range(rs, old_addr, old_addr + keep);
	return 0;
}

/*
 * The advice the model follows: releases, huge-page policy, and what fills
 * a range again. PAGEOUT and COLD keep the contents (not a release), a
 * guard install is a zap the model does not count: those leave no trace.
 */
static bool changes_model(enum mt_advice_class c)
{
	switch (c) {
	case MT_AC_LAZY:
	case MT_AC_EAGER:
	case MT_AC_REMOVE:
	case MT_AC_HUGEPAGE:
	case MT_AC_POPULATE:
	case MT_AC_COLLAPSE:
		return true;
	default:
		return false;
	}
}

int mt_regions__madvise(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
			int advice, bool all_mapped, struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	enum mt_advice_class what = mt_advice_class(advice);
	int err;
	struct region *r;
	uint64_t e;

	if (!d)
		d = &scratch;
	err = range_end(rs, addr, len, &e);
	if (err || e == addr || !changes_model(what))
		return err;
	begin(rs, t_ns);
	err = isolate(rs, addr, e);
	if (!err && all_mapped)
		err = fill_holes(rs, addr, e, d);
	if (err)
		return err;
	for (r = avl_ceil(rs->root, addr); r && r->start < e; r = r->next) {
		struct attrs a = attrs_of(r);

		switch (what) {
		case MT_AC_LAZY:
			release(rs, r, REL_LAZY, d);
			break;
		case MT_AC_EAGER:
		case MT_AC_REMOVE:
			release(rs, r, REL_EAGER, d);
			break;
		case MT_AC_HUGEPAGE:
			if (advice == MT_MADV_HUGEPAGE && r->rel != REL_NONE)
				d->hp_released += r->end - r->start;
			a.thp = advice == MT_MADV_HUGEPAGE ? MT_THP_HUGE : MT_THP_NOHUGE;
			region_set(rs, r, &a, NULL);
			break;
		case MT_AC_POPULATE:
		case MT_AC_COLLAPSE: /* fills the range with pages again */
			if (r->rel != REL_NONE && r->prot) {
				recommit(r, &a, d);
				region_set(rs, r, &a, NULL);
			}
			break;
		default:
			break;
		}
	}
	merge_range(rs, addr, e);
	return 0;
}

int mt_regions__mprotect(struct mt_regions *rs, uint64_t t_ns, uint64_t addr, uint64_t len,
			 uint32_t prot, bool all_mapped, struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	struct region *r;
	uint64_t e, cur;
	int err;

	if (!d)
		d = &scratch;
	err = range_end(rs, addr, len, &e);
	if (err || e == addr)
		return err;
	if (!all_mapped) {
		/* the kernel changed the mapped prefix, up to the first hole */
		r = avl_floor(rs->root, addr);
		if (!r || r->end <= addr)
			return 0;
		cur = r->end;
		while (cur < e && (r = r->next) && r->start == cur)
			cur = r->end;
		if (cur < e)
			e = cur;
	}
	begin(rs, t_ns);
	err = isolate(rs, addr, e);
	if (!err && all_mapped)
		err = fill_holes(rs, addr, e, d);
	if (err)
		return err;
	for (r = avl_ceil(rs->root, addr); r && r->start < e; r = r->next) {
		struct attrs a = attrs_of(r);

		if (prot) {
			/* PROT_NONE-decommitted memory opened again: committed anew */
			if (r->rel == REL_EAGER && !r->prot)
				recommit(r, &a, d);
			a.touched = 1;
		}
		a.prot = prot;
		region_set(rs, r, &a, NULL);
	}
	merge_range(rs, addr, e);
	return 0;
}

int mt_regions__brk(struct mt_regions *rs, uint64_t t_ns, uint64_t brk, struct mt_rdelta *d)
{
	struct mt_rdelta scratch = {0};
	struct attrs a = {.prot = PROT_READ | PROT_WRITE, .kind = MT_RK_HEAP, .touched = 1};
	uint64_t old_end, new_end;
	struct mapping *m = NULL;
	struct region *r;
	int err = 0;

	if (!d)
		d = &scratch;
	if (brk > UINT64_MAX - rs->page_mask)
		return -EINVAL;
	if (!rs->brk) {
		/* first sight of the break: where the heap started is unknown */
		rs->brk = brk;
		return 0;
	}
	begin(rs, t_ns);
	old_end = (rs->brk + rs->page_mask) & ~rs->page_mask;
	new_end = (brk + rs->page_mask) & ~rs->page_mask;
	if (new_end > old_end) {
		err = unmap_range(rs, old_end, new_end, d);
		if (err)
			return err;
		r = old_end ? avl_floor(rs->root, old_end - 1) : NULL;
		if (r && r->end == old_end && r->kind == MT_RK_HEAP) {
			m = r->map;
			if (m->info.end == old_end)
				m->info.end = new_end;
		} else {
			m = map_new(rs, old_end, new_end, a.prot, MT_RK_HEAP, t_ns);
			if (!m)
				return -ENOMEM;
		}
		if (region_add_or_drop(rs, old_end, new_end, &a, m))
			return -ENOMEM;
		d->mapped += new_end - old_end;
		merge_range(rs, old_end, new_end);
	} else if (new_end < old_end) {
		err = unmap_range(rs, new_end, old_end, d);
	}
	if (!err)
		rs->brk = brk;
	return err;
}

/* ---- queries ---- */

uint64_t mt_regions__bytes(const struct mt_regions *rs, enum mt_rstate state)
{
	return state < MT_RS_NR ? rs->bytes[state] : 0;
}

size_t mt_regions__count(const struct mt_regions *rs)
{
	return rs->count;
}

static int walk(const struct region *r, int (*fn)(void *, const struct mt_region_info *), void *ctx)
{
	struct mt_region_info info;
	int ret;

	while (r) {
		ret = walk(r->left, fn, ctx);
		if (ret)
			return ret;
		info.start = r->start;
		info.end = r->end;
		info.prot = r->prot;
		info.state = (uint8_t)state_of(r);
		info.kind = r->kind;
		info.thp = r->thp;
		info.touched = r->touched;
		info.map = &r->map->info;
		ret = fn(ctx, &info);
		if (ret)
			return ret;
		r = r->right;
	}
	return 0;
}

int mt_regions__foreach(const struct mt_regions *rs,
			int (*fn)(void *ctx, const struct mt_region_info *r), void *ctx)
{
	return walk(rs->root, fn, ctx);
}

int mt_regions__foreach_mapping(const struct mt_regions *rs,
				int (*fn)(void *ctx, const struct mt_mapping_info *m), void *ctx)
{
	int ret;

	for (const struct mapping *m = rs->maps; m; m = m->next) {
		ret = fn(ctx, &m->info);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_thp(void *ctx, const struct mt_region_info *r)
{
	if ((r->state == MT_RS_LAZY || r->state == MT_RS_EAGER) && r->thp == MT_THP_HUGE)
		*(uint64_t *)ctx += r->end - r->start;
	return 0;
}

uint64_t mt_regions__released_thp(const struct mt_regions *rs)
{
	uint64_t sum = 0;

	walk(rs->root, add_thp, &sum);
	return sum;
}

const char *mt_rkind_name(enum mt_rkind k)
{
	static const char *const names[] = {"anon",	   "shared anon", "file", "shared file",
					    "heap",	   "pre-trace",	  "stack"};

	return k < MT_RK_NR ? names[k] : "?";
}
