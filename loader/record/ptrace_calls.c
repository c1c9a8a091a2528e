// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include "procfs.h"
#include "madvtrace/build.h"
#include "ptrace_calls.h"

int mt_pt_classify(uint32_t arch, uint64_t nr, uint8_t *abi)
{
	long n = (long)nr;

	if (nr > (uint64_t)INT32_MAX)
		return -1;
	if (arch == AUDIT_ARCH_I386) {
		*abi = MT_ABI_I386;
		return mt_syscall_by_nr(n, 1);
	}
	if (arch != AUDIT_ARCH_X86_64)
		return -1;
	*abi = (uint8_t)mt_syscall_native_abi(&n);
	return mt_syscall_by_nr(n, 0);
}

void mt_pt_call_init(struct mt_pt_call *c, int sc, uint8_t abi, const uint64_t args[6],
		     uint32_t tgid)
{
	memset(c, 0, sizeof(*c));
	c->active = true;
	c->sc = (uint8_t)sc;
	c->abi = abi;
	c->target_pid = tgid;
	memcpy(c->args, args, sizeof(c->args));
	/* old_mmap: only the block's address, normalised again once the block is read */
	mt_args_normalise(c->args, sc, abi);
	if (sc == MT_SC_PROCESS_MADVISE) {
		c->flags |= MT_F_PROCESS_MADVISE;
		c->niov = c->args[2] > MT_MAX_IOV ? MT_MAX_IOV : (uint32_t)c->args[2];
		if (c->args[2] > MT_MAX_IOV)
			c->flags |= MT_F_IOV_TRUNC;
	}
}

static size_t iov_entry_size(const struct mt_pt_call *c)
{
	return c->abi == MT_ABI_I386 ? 8 : 16; /* struct compat_iovec / struct iovec */
}

size_t mt_pt_call_user_args(const struct mt_pt_call *c, uint64_t *addr)
{
	if (c->sc == MT_SC_OLD_MMAP) {
		*addr = c->args[0];
		return 6 * sizeof(uint32_t);
	}
	if (c->sc == MT_SC_PROCESS_MADVISE && c->niov) {
		*addr = c->args[1];
		return c->niov * iov_entry_size(c);
	}
	return 0;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

void mt_pt_call_set_user_args(struct mt_pt_call *c, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t es = iov_entry_size(c), i;

	if (c->sc == MT_SC_OLD_MMAP) {
		uint32_t blk[6] = { 0 };

		if (len < sizeof(blk))
			c->flags |= MT_F_ARGS_UNREAD;
		else
			memcpy(blk, b, sizeof(blk));
		mt_args_old_mmap(c->args, blk);
		mt_args_normalise(c->args, c->sc, c->abi);
		return;
	}
	if (c->sc != MT_SC_PROCESS_MADVISE)
		return;
	if (len < c->niov * es)
		c->flags |= MT_F_ARGS_UNREAD;
	for (i = 0; i < c->niov; i++) {
		if ((i + 1) * es > len) {
			c->iov[i].base = c->iov[i].len = 0;
			continue;
		}
		if (es == 8) {
			c->iov[i].base = get32(b + i * es);
			c->iov[i].len = get32(b + i * es + 4);
		} else {
			c->iov[i].base = get64(b + i * es);
			c->iov[i].len = get64(b + i * es + 8);
		}
	}
}

/* The header of a record of c, around what the build.h functions filled. */
static void call_hdr(struct mt_hdr *h, const struct mt_pt_call *c, uint32_t pid, uint32_t tid,
		     uint64_t t_ns)
{
	h->t_ns = t_ns;
	h->pid = pid;
	h->tid = tid;
	h->abi = c->abi;
	h->flags = c->flags;
	h->stack_id = c->stack_id;
}

int mt_pt_call_emit(const struct mt_pt_call *c, int64_t rval, uint32_t pid, uint32_t tid,
		    uint64_t t_ns, mt_emit_fn emit, void *ctx)
{
	union mt_call_record r;
	uint32_t i;
	int err;

	rval = mt_ret_normalise(rval, c->abi);
	memset(&r, 0, sizeof(r));
	if (c->sc != MT_SC_PROCESS_MADVISE) {
		if (!mt_build_call(&r, c->sc, c->args, rval, c->target_pid))
			return 0;
		call_hdr(&r.h, c, pid, tid, t_ns);
		return emit(ctx, &r.h);
	}
	/* one record per iovec entry, each with the call's result */
	for (i = 0; i < c->niov; i++) {
		mt_fill_process_madvise(&r.madvise, c->args, c->iov[i].base, c->iov[i].len, rval,
					c->target_pid);
		r.h.type = (uint16_t)mt_syscall_record_type(c->sc);
		r.h.size = sizeof(r.madvise);
		call_hdr(&r.h, c, pid, tid, t_ns);
		err = emit(ctx, &r.h);
		if (err)
			return err;
	}
	return 0;
}

/* ---- user stacks ---- */

#define WALK_WINDOW 2048 /* bytes read at once: a run of nested frames is usually within */

uint32_t mt_pt_walk_stack(uint64_t ip, uint64_t fp, unsigned int word, mt_pt_read_fn read,
			  void *ctx, uint64_t ips[MT_MAX_STACK])
{
	unsigned char win[WALK_WINDOW];
	uint64_t base = 0, next, ret;
	size_t have = 0;
	uint32_t n = 0;
	ssize_t got;

	ips[n++] = ip;
	while (n < MT_MAX_STACK) {
		/* the frame {saved fp, return address} must lie in the window */
		if (fp < base || fp - base > have || have - (fp - base) < 2 * word) {
			if (fp > UINT64_MAX - 2 * word || (word == 4 && fp > UINT32_MAX - 8))
				break;
			got = read(ctx, fp, win, sizeof(win));
			if (got < (ssize_t)(2 * word))
				break;
			base = fp;
			have = (size_t)got;
		}
		if (word == 8) {
			next = get64(win + (fp - base));
			ret = get64(win + (fp - base) + 8);
		} else {
			next = get32(win + (fp - base));
			ret = get32(win + (fp - base) + 4);
		}
		if (!ret)
			break; /* the bpf backend's stacks end at the first 0 too */
		ips[n++] = ret;
		fp = next;
	}
	return n;
}

struct pt_stack {
	struct pt_stack *next;
	uint64_t hash;
	uint32_t id, nr;
	uint64_t ips[];
};

#define STACK_BUCKETS 4096

struct mt_pt_stacks {
	struct pt_stack *buckets[STACK_BUCKETS];
	uint32_t n, max;
	uint64_t dropped;
};

struct mt_pt_stacks *mt_pt_stacks__new(uint32_t max)
{
	struct mt_pt_stacks *t = calloc(1, sizeof(*t));

	if (t)
		t->max = max;
	return t;
}

static uint64_t stack_hash(const uint64_t *ips, uint32_t nr)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the words */

	for (uint32_t i = 0; i < nr; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ull;
	}
	return h ^ nr;
}

uint32_t mt_pt_stacks__id(struct mt_pt_stacks *t, const uint64_t *ips, uint32_t nr, bool *fresh)
{
	uint64_t h = stack_hash(ips, nr);
	struct pt_stack **b = &t->buckets[h % STACK_BUCKETS], *s;

	*fresh = false;
	if (!nr)
		return 0;
	for (s = *b; s; s = s->next)
		if (s->hash == h && s->nr == nr && !memcmp(s->ips, ips, nr * sizeof(*ips)))
			return s->id;
	if (t->n >= t->max || !(s = malloc(sizeof(*s) + nr * sizeof(*ips)))) {
		t->dropped++;
		return 0;
	}
	s->hash = h;
	s->nr = nr;
	s->id = ++t->n;
	memcpy(s->ips, ips, nr * sizeof(*ips));
	s->next = *b;
	*b = s;
	*fresh = true;
	return s->id;
}

uint64_t mt_pt_stacks__dropped(const struct mt_pt_stacks *t)
{
	return t->dropped;
}

void mt_pt_stacks__free(struct mt_pt_stacks *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < STACK_BUCKETS; i++) {
		struct pt_stack *s = t->buckets[i], *next;

		for (; s; s = next) {
			next = s->next;
			free(s);
		}
	}
	free(t);
}

void mt_pt_stack_record(struct mt_stack *rec, uint32_t id, const uint64_t *ips, uint32_t nr,
			uint64_t t_ns)
{
	if (nr > MT_MAX_STACK)
		nr = MT_MAX_STACK;
	/* like the bpf backend's: shared by all processes, so no pid */
	mt_record_init(&rec->h, MT_STACK, (uint16_t)(sizeof(*rec) + nr * sizeof(uint64_t)), 0, 0,
		    t_ns);
	rec->id = id;
	rec->nr = nr;
	memcpy(rec->ips, ips, nr * sizeof(uint64_t));
}
