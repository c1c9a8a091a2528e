// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include "procfs.h"
#include "ptrace_calls.h"

#define X32_SYSCALL_BIT 0x40000000ull

int mt_pt_classify(uint32_t arch, uint64_t nr, uint8_t *abi)
{
	if (arch == AUDIT_ARCH_I386) {
		*abi = MT_ABI_I386;
		switch (nr) {
		case 45: return MT_BRK;
		case 90: return MT_PT_OLD_MMAP;
		case 91: return MT_MUNMAP;
		case 125: return MT_MPROTECT;
		case 163: return MT_MREMAP;
		case 192: return MT_MMAP; /* mmap2 */
		case 219: return MT_MADVISE;
		case 440: return MT_PT_PROCESS_MADVISE;
		}
		return 0;
	}
	if (arch != AUDIT_ARCH_X86_64)
		return 0;
	*abi = MT_ABI_X86_64;
	if (nr & X32_SYSCALL_BIT) {
		*abi = MT_ABI_X32;
		nr &= ~X32_SYSCALL_BIT;
	}
	/* x32 shares these numbers with x86-64 (all "common" in the table) */
	switch (nr) {
	case 9: return MT_MMAP;
	case 10: return MT_MPROTECT;
	case 11: return MT_MUNMAP;
	case 12: return MT_BRK;
	case 25: return MT_MREMAP;
	case 28: return MT_MADVISE;
	case 440: return MT_PT_PROCESS_MADVISE;
	}
	return 0;
}

void mt_pt_call_init(struct mt_pt_call *c, int op, uint8_t abi, const uint64_t args[6],
		     uint32_t tgid)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->op = op;
	c->abi = abi;
	c->target_pid = tgid;
	/* i386 registers are 32 bits: the upper halves are not the caller's */
	for (i = 0; i < 6; i++)
		c->args[i] = abi == MT_ABI_I386 ? (uint32_t)args[i] : args[i];
	if (op == MT_PT_PROCESS_MADVISE) {
		c->flags |= MT_F_PROCESS_MADVISE;
		c->niov = c->args[2] > MT_PT_MAX_IOV ? MT_PT_MAX_IOV : (uint32_t)c->args[2];
		if (c->args[2] > MT_PT_MAX_IOV)
			c->flags |= MT_F_IOV_TRUNC;
	}
}

static size_t iov_entry_size(const struct mt_pt_call *c)
{
	return c->abi == MT_ABI_I386 ? 8 : 16; /* struct compat_iovec / struct iovec */
}

size_t mt_pt_call_user_args(const struct mt_pt_call *c, uint64_t *addr)
{
	if (c->op == MT_PT_OLD_MMAP) {
		*addr = c->args[0];
		return 6 * sizeof(uint32_t);
	}
	if (c->op == MT_PT_PROCESS_MADVISE && c->niov) {
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

	if (c->op == MT_PT_OLD_MMAP) {
		memset(c->args, 0, sizeof(c->args));
		if (len < 6 * sizeof(uint32_t)) {
			c->flags |= MT_F_ARGS_UNREAD;
			return;
		}
		/* struct mmap_arg_struct: addr, len, prot, flags, fd, offset (bytes) */
		for (i = 0; i < 6; i++)
			c->args[i] = get32(b + 4 * i);
		c->args[4] = (uint64_t)(int64_t)(int32_t)c->args[4];
		return;
	}
	if (c->op != MT_PT_PROCESS_MADVISE)
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

int mt_pt_call_emit(const struct mt_pt_call *c, int64_t rval, uint32_t pid, uint32_t tid,
		    uint64_t t_ns, mt_emit_fn emit, void *ctx)
{
	union {
		struct mt_hdr h;
		struct mt_mmap mmap;
		struct mt_munmap munmap;
		struct mt_mremap mremap;
		struct mt_madvise madvise;
		struct mt_brk brk;
		struct mt_mprotect mprotect;
	} r;
	uint32_t i;
	int err;

	/* an i386 result is 32 bits: an address above 2 GiB is not an error */
	if (c->abi == MT_ABI_I386 && rval >= 0)
		rval = (uint32_t)rval;

	switch (c->op) {
	case MT_MMAP:
	case MT_PT_OLD_MMAP:
		mt_hdr_init(&r.h, MT_MMAP, sizeof(r.mmap), pid, tid, t_ns);
		r.mmap.addr = c->args[0];
		r.mmap.len = c->args[1];
		r.mmap.prot = c->args[2];
		r.mmap.flags = c->args[3];
		r.mmap.fd = (int32_t)c->args[4];
		/* i386 mmap2 counts the offset in 4096-byte units, whatever the page size */
		r.mmap.off = c->abi == MT_ABI_I386 && c->op == MT_MMAP ? c->args[5] << 12
								     : c->args[5];
		r.mmap.ret = rval;
		break;
	case MT_MUNMAP:
		mt_hdr_init(&r.h, MT_MUNMAP, sizeof(r.munmap), pid, tid, t_ns);
		r.munmap.addr = c->args[0];
		r.munmap.len = c->args[1];
		r.munmap.ret = rval;
		break;
	case MT_MREMAP:
		mt_hdr_init(&r.h, MT_MREMAP, sizeof(r.mremap), pid, tid, t_ns);
		r.mremap.old_addr = c->args[0];
		r.mremap.old_len = c->args[1];
		r.mremap.new_len = c->args[2];
		r.mremap.flags = c->args[3];
		r.mremap.new_addr = c->args[4];
		r.mremap.ret = rval;
		break;
	case MT_MADVISE:
		mt_hdr_init(&r.h, MT_MADVISE, sizeof(r.madvise), pid, tid, t_ns);
		r.madvise.addr = c->args[0];
		r.madvise.len = c->args[1];
		r.madvise.advice = (int32_t)c->args[2];
		r.madvise.ret = rval;
		r.madvise.target_pid = c->target_pid;
		break;
	case MT_BRK:
		mt_hdr_init(&r.h, MT_BRK, sizeof(r.brk), pid, tid, t_ns);
		r.brk.addr = c->args[0];
		r.brk.ret = rval;
		break;
	case MT_MPROTECT:
		mt_hdr_init(&r.h, MT_MPROTECT, sizeof(r.mprotect), pid, tid, t_ns);
		r.mprotect.addr = c->args[0];
		r.mprotect.len = c->args[1];
		r.mprotect.prot = c->args[2];
		r.mprotect.ret = rval;
		break;
	case MT_PT_PROCESS_MADVISE:
		/* one record per iovec entry, each with the call's result */
		for (i = 0; i < c->niov; i++) {
			mt_hdr_init(&r.h, MT_MADVISE, sizeof(r.madvise), pid, tid, t_ns);
			r.h.abi = c->abi;
			r.h.flags = c->flags;
			r.h.stack_id = c->stack_id;
			r.madvise.addr = c->iov[i].base;
			r.madvise.len = c->iov[i].len;
			r.madvise.advice = (int32_t)c->args[3];
			r.madvise.ret = rval;
			r.madvise.target_pid = c->target_pid;
			err = emit(ctx, &r.h);
			if (err)
				return err;
		}
		return 0;
	default:
		return 0;
	}
	r.h.abi = c->abi;
	r.h.flags = c->flags;
	r.h.stack_id = c->stack_id;
	return emit(ctx, &r.h);
}

bool mt_pt_call_is_release(const struct mt_pt_call *c)
{
	switch (c->op) {
	case MT_MADVISE:
	case MT_MUNMAP:
	case MT_MREMAP:
	case MT_PT_PROCESS_MADVISE:
		return true;
	case MT_MMAP:
	case MT_PT_OLD_MMAP:
		return c->args[3] & 0x10; /* MAP_FIXED: may replace what was there */
	default:
		return false;
	}
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
	mt_hdr_init(&rec->h, MT_STACK, (uint16_t)(sizeof(*rec) + nr * sizeof(uint64_t)), 0, 0,
		    t_ns);
	rec->id = id;
	rec->nr = nr;
	memcpy(rec->ips, ips, nr * sizeof(uint64_t));
}
