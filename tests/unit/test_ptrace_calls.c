// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ptrace backend's call decoding, against the kernel's syscall tables
 * (arch/x86/entry/syscalls/syscall_{64,32}.tbl) and ABI rules: i386
 * arguments are 32 bits, mmap2 counts its offset in 4096-byte units,
 * old_mmap reads a block, process_madvise one record per iovec entry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <execinfo.h>
#include <unistd.h>
#include <linux/audit.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "madvtrace/build.h"
#include "ptrace_calls.h"

/* Records emit() received, copied. */
static union {
	struct mt_hdr h;
	unsigned char bytes[MT_MAX_RECORD_SIZE];
} got[16];
static int ngot;
static int fail_after = -1;

static int capture(void *ctx, const struct mt_hdr *h)
{
	(void)ctx;
	if (fail_after >= 0 && ngot >= fail_after)
		return -ENOSPC;
	assert_true(ngot < 16);
	assert_true(h->size <= sizeof(got[0]));
	memcpy(&got[ngot++], h, h->size);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(got, 0, sizeof(got));
	ngot = 0;
	fail_after = -1;
	return 0;
}

static void test_classify_x86_64(void **state)
{
	static const struct {
		uint64_t nr;
		int op;
	} tbl[] = {
		{ 9, MT_SC_MMAP },	     { 10, MT_SC_MPROTECT }, { 11, MT_SC_MUNMAP },
		{ 12, MT_SC_BRK },	     { 25, MT_SC_MREMAP },	  { 28, MT_SC_MADVISE },
		{ 440, MT_SC_PROCESS_MADVISE }, { 0, -1 } /* read */, { 90, -1 } /* chmod */,
		{ 192, -1 } /* lgetxattr */, { 219, -1 } /* restart_syscall */,
	};
	uint8_t abi;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tbl) / sizeof(tbl[0]); i++) {
		abi = 99;
		assert_int_equal(mt_pt_classify(AUDIT_ARCH_X86_64, tbl[i].nr, &abi), tbl[i].op);
		if (tbl[i].op >= 0)
			assert_int_equal(abi, MT_ABI_X86_64);
		/* x32 marks the same numbers with a bit */
		abi = 99;
		assert_int_equal(mt_pt_classify(AUDIT_ARCH_X86_64, tbl[i].nr | MT_X32_SYSCALL_BIT, &abi),
				 tbl[i].op);
		if (tbl[i].op >= 0)
			assert_int_equal(abi, MT_ABI_X32);
	}
}

static void test_classify_i386(void **state)
{
	static const struct {
		uint64_t nr;
		int op;
	} tbl[] = {
		{ 45, MT_SC_BRK },	     { 90, MT_SC_OLD_MMAP }, { 91, MT_SC_MUNMAP },
		{ 125, MT_SC_MPROTECT }, { 163, MT_SC_MREMAP },     { 192, MT_SC_MMAP },
		{ 219, MT_SC_MADVISE },  { 440, MT_SC_PROCESS_MADVISE },
		/* the x86-64 numbers mean other calls on i386 */
		{ 9, -1 } /* link */, { 11, -1 } /* execve */, { 28, -1 } /* oldfstat */,
	};
	uint8_t abi;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tbl) / sizeof(tbl[0]); i++) {
		abi = 99;
		assert_int_equal(mt_pt_classify(AUDIT_ARCH_I386, tbl[i].nr, &abi), tbl[i].op);
		if (tbl[i].op >= 0)
			assert_int_equal(abi, MT_ABI_I386);
	}
	/* an architecture we do not know is never recorded as something else */
	assert_int_equal(mt_pt_classify(AUDIT_ARCH_AARCH64, 222, &abi), -1);
}

static void test_mmap_x86_64(void **state)
{
	const uint64_t args[6] = { 0x7f0000000000, 65536, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, 0xffffffffffffffff, 8192 };
	struct mt_pt_call c;
	const struct mt_mmap *r = (const void *)&got[0];

	(void)state;
	mt_pt_call_init(&c, MT_SC_MMAP, MT_ABI_X86_64, args, 1234);
	assert_int_equal(mt_pt_call_emit(&c, 0x7f1234560000, 1234, 1240, 777, capture, NULL), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(r->h.type, MT_MMAP);
	assert_int_equal(r->h.size, sizeof(*r));
	assert_int_equal(r->h.pid, 1234);
	assert_int_equal(r->h.tid, 1240);
	assert_int_equal(r->h.t_ns, 777);
	assert_int_equal(r->h.abi, MT_ABI_X86_64);
	assert_int_equal(r->h.flags, 0);
	assert_int_equal(r->addr, 0x7f0000000000);
	assert_int_equal(r->len, 65536);
	assert_int_equal(r->prot, PROT_READ | PROT_WRITE);
	assert_int_equal(r->flags, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_int_equal(r->fd, -1);
	assert_int_equal(r->off, 8192); /* bytes on x86-64 */
	assert_int_equal(r->ret, 0x7f1234560000);
}

static void test_mmap2_i386(void **state)
{
	/* upper register halves are not the caller's: they must be dropped */
	const uint64_t args[6] = { 0xdead000000000000, 0x100000003000, 3, 0x22, 0xffffffff, 5 };
	struct mt_pt_call c;
	const struct mt_mmap *r = (const void *)&got[0];

	(void)state;
	mt_pt_call_init(&c, MT_SC_MMAP, MT_ABI_I386, args, 1);
	assert_int_equal(mt_pt_call_emit(&c, 0xf7ff0000, 1, 1, 0, capture, NULL), 0);
	assert_int_equal(r->addr, 0);
	assert_int_equal(r->len, 0x3000);
	assert_int_equal(r->fd, -1);
	assert_int_equal(r->off, 5 * 4096); /* mmap2: 4096-byte units */
	assert_int_equal(r->h.abi, MT_ABI_I386);
	/* an address above 2 GiB is an address, not an error */
	assert_int_equal(r->ret, 0xf7ff0000);
	mt_pt_call_emit(&c, -ENOMEM, 1, 1, 0, capture, NULL);
	assert_int_equal(((const struct mt_mmap *)&got[1])->ret, -ENOMEM);
}

static void test_old_mmap(void **state)
{
	const uint64_t args[6] = { 0x8049000 };
	const uint32_t blk[6] = { 0x40000000, 8192, 1, 0x12, 7, 12288 };
	const struct mt_mmap *r = (const void *)&got[0];
	struct mt_pt_call c;
	uint64_t addr = 0;

	(void)state;
	mt_pt_call_init(&c, MT_SC_OLD_MMAP, MT_ABI_I386, args, 1);
	assert_int_equal(mt_pt_call_user_args(&c, &addr), sizeof(blk));
	assert_int_equal(addr, 0x8049000);
	mt_pt_call_set_user_args(&c, blk, sizeof(blk));
	mt_pt_call_emit(&c, 0x40000000, 1, 1, 0, capture, NULL);
	assert_int_equal(r->h.type, MT_MMAP);
	assert_int_equal(r->addr, 0x40000000);
	assert_int_equal(r->len, 8192);
	assert_int_equal(r->prot, 1);
	assert_int_equal(r->flags, 0x12);
	assert_int_equal(r->fd, 7);
	assert_int_equal(r->off, 12288); /* old_mmap: bytes */
	assert_int_equal(r->h.flags, 0);

	/* the block could not be read: zero arguments, flagged */
	mt_pt_call_init(&c, MT_SC_OLD_MMAP, MT_ABI_I386, args, 1);
	mt_pt_call_set_user_args(&c, blk, 10);
	mt_pt_call_emit(&c, -EFAULT, 1, 1, 0, capture, NULL);
	r = (const void *)&got[1];
	assert_int_equal(r->h.flags, MT_F_ARGS_UNREAD);
	assert_int_equal(r->len, 0);
	assert_int_equal(r->ret, -EFAULT);
}

static void test_simple_calls(void **state)
{
	const uint64_t a_munmap[6] = { 0x1000, 0x2000 };
	const uint64_t a_mremap[6] = { 0x10000, 0x1000, 0x3000, 3, 0x50000 };
	const uint64_t a_madvise[6] = { 0x20000, 0x4000, MADV_FREE };
	const uint64_t a_brk[6] = { 0x555555000000 };
	const uint64_t a_mprotect[6] = { 0x30000, 0x1000, PROT_NONE };
	struct mt_pt_call c;
	const struct mt_munmap *u = (const void *)&got[0];
	const struct mt_mremap *m = (const void *)&got[1];
	const struct mt_madvise *a = (const void *)&got[2];
	const struct mt_brk *b = (const void *)&got[3];
	const struct mt_mprotect *p = (const void *)&got[4];

	(void)state;
	mt_pt_call_init(&c, MT_SC_MUNMAP, MT_ABI_X86_64, a_munmap, 5);
	mt_pt_call_emit(&c, 0, 5, 6, 1, capture, NULL);
	mt_pt_call_init(&c, MT_SC_MREMAP, MT_ABI_X86_64, a_mremap, 5);
	mt_pt_call_emit(&c, 0x50000, 5, 6, 2, capture, NULL);
	mt_pt_call_init(&c, MT_SC_MADVISE, MT_ABI_X86_64, a_madvise, 5);
	mt_pt_call_emit(&c, -EINVAL, 5, 6, 3, capture, NULL);
	mt_pt_call_init(&c, MT_SC_BRK, MT_ABI_X86_64, a_brk, 5);
	mt_pt_call_emit(&c, 0x555555001000, 5, 6, 4, capture, NULL);
	mt_pt_call_init(&c, MT_SC_MPROTECT, MT_ABI_X86_64, a_mprotect, 5);
	mt_pt_call_emit(&c, 0, 5, 6, 5, capture, NULL);
	assert_int_equal(ngot, 5);

	assert_int_equal(u->h.type, MT_MUNMAP);
	assert_int_equal(u->addr, 0x1000);
	assert_int_equal(u->len, 0x2000);
	assert_int_equal(m->h.type, MT_MREMAP);
	assert_int_equal(m->old_addr, 0x10000);
	assert_int_equal(m->old_len, 0x1000);
	assert_int_equal(m->new_len, 0x3000);
	assert_int_equal(m->flags, 3);
	assert_int_equal(m->new_addr, 0x50000);
	assert_int_equal(m->ret, 0x50000);
	assert_int_equal(a->h.type, MT_MADVISE);
	assert_int_equal(a->advice, MADV_FREE);
	assert_int_equal(a->ret, -EINVAL);
	assert_int_equal(a->target_pid, 5); /* madvise(2): the caller itself */
	assert_int_equal(a->h.flags, 0);
	assert_int_equal(b->h.type, MT_BRK);
	assert_int_equal(b->addr, 0x555555000000);
	assert_int_equal(b->ret, 0x555555001000);
	assert_int_equal(p->h.type, MT_MPROTECT);
	assert_int_equal(p->prot, PROT_NONE);
	assert_int_equal(p->h.t_ns, 5);
}

static void test_process_madvise(void **state)
{
	uint64_t args[6] = { 3, 0x7ffd0000, 10, MADV_COLD, 0 };
	uint64_t iov[2 * MT_MAX_IOV];
	struct mt_pt_call c;
	uint64_t addr;
	int i;

	(void)state;
	for (i = 0; i < MT_MAX_IOV; i++) {
		iov[2 * i] = 0x100000 * (i + 1);
		iov[2 * i + 1] = 4096 * (i + 1);
	}
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_X86_64, args, 100);
	assert_int_equal(mt_pt_call_user_args(&c, &addr), MT_MAX_IOV * 16);
	assert_int_equal(addr, 0x7ffd0000);
	mt_pt_call_set_user_args(&c, iov, sizeof(iov));
	c.target_pid = 200; /* the tracer resolves the pidfd */
	assert_int_equal(mt_pt_call_emit(&c, 36 * 4096, 100, 101, 9, capture, NULL), 0);
	/* 10 entries asked, the first 8 recorded, each with the call's result */
	assert_int_equal(ngot, MT_MAX_IOV);
	for (i = 0; i < MT_MAX_IOV; i++) {
		const struct mt_madvise *r = (const void *)&got[i];

		assert_int_equal(r->h.type, MT_MADVISE);
		assert_int_equal(r->h.flags, MT_F_PROCESS_MADVISE | MT_F_IOV_TRUNC);
		assert_int_equal(r->addr, 0x100000 * (i + 1));
		assert_int_equal(r->len, 4096 * (i + 1));
		assert_int_equal(r->advice, MADV_COLD);
		assert_int_equal(r->ret, 36 * 4096);
		assert_int_equal(r->target_pid, 200);
		assert_int_equal(r->h.pid, 100);
	}
}

static void test_process_madvise_i386(void **state)
{
	const uint64_t args[6] = { 3, 0xffd00000, 2, MADV_PAGEOUT, 0 };
	const uint32_t iov[4] = { 0x8000000, 8192, 0x9000000, 4096 };
	struct mt_pt_call c;
	uint64_t addr;

	(void)state;
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_I386, args, 100);
	assert_int_equal(mt_pt_call_user_args(&c, &addr), sizeof(iov)); /* compat_iovec: 8 bytes */
	mt_pt_call_set_user_args(&c, iov, sizeof(iov));
	mt_pt_call_emit(&c, -EPERM, 100, 100, 0, capture, NULL);
	assert_int_equal(ngot, 2);
	assert_int_equal(((const struct mt_madvise *)&got[1])->addr, 0x9000000);
	assert_int_equal(((const struct mt_madvise *)&got[1])->len, 4096);
	assert_int_equal(((const struct mt_madvise *)&got[1])->ret, -EPERM);
	assert_int_equal(got[0].h.flags, MT_F_PROCESS_MADVISE);

	/* unreadable iovec: records of zero ranges, flagged */
	ngot = 0;
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_I386, args, 100);
	mt_pt_call_set_user_args(&c, iov, 0);
	mt_pt_call_emit(&c, -EFAULT, 100, 100, 0, capture, NULL);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[0].h.flags, MT_F_PROCESS_MADVISE | MT_F_ARGS_UNREAD);
	assert_int_equal(((const struct mt_madvise *)&got[0])->len, 0);
}

static void test_no_user_args(void **state)
{
	const uint64_t args[6] = { 1, 2, 0 };
	struct mt_pt_call c;
	uint64_t addr = 42;

	(void)state;
	mt_pt_call_init(&c, MT_SC_MADVISE, MT_ABI_X86_64, args, 1);
	assert_int_equal(mt_pt_call_user_args(&c, &addr), 0);
	/* process_madvise with no entries reads nothing and records nothing */
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_X86_64, args, 1);
	assert_int_equal(mt_pt_call_user_args(&c, &addr), 0);
	assert_int_equal(mt_pt_call_emit(&c, 0, 1, 1, 0, capture, NULL), 0);
	assert_int_equal(ngot, 0);
}

static void test_emit_error(void **state)
{
	const uint64_t args[6] = { 3, 0x1000, 4, MADV_COLD, 0 };
	uint64_t iov[8] = { 0 };
	struct mt_pt_call c;

	(void)state;
	fail_after = 2;
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_X86_64, args, 1);
	mt_pt_call_set_user_args(&c, iov, sizeof(iov));
	/* the sink's error stops the call's records and is returned */
	assert_int_equal(mt_pt_call_emit(&c, 0, 1, 1, 0, capture, NULL), -ENOSPC);
	assert_int_equal(ngot, 2);
}

/* ---- user stacks ---- */

/* Every recorded call that may release memory gets a stack; mmap only with MAP_FIXED. */
static void test_is_release(void **state)
{
	static const struct {
		int op;
		uint64_t flags;
		bool release;
	} c[] = {
		{MT_SC_MADVISE, 0, true},	    {MT_SC_MUNMAP, 0, true},
		{MT_SC_MREMAP, 0, true},	    {MT_SC_PROCESS_MADVISE, 0, true},
		{MT_SC_MMAP, MAP_PRIVATE, false}, {MT_SC_MMAP, MAP_PRIVATE | MAP_FIXED, true},
		{MT_SC_OLD_MMAP, MAP_FIXED, true}, {MT_SC_BRK, 0, false},
		{MT_SC_MPROTECT, 0, false},
	};
	struct mt_pt_call call;
	uint64_t args[6] = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		args[3] = c[i].flags;
		mt_pt_call_init(&call, c[i].op, MT_ABI_X86_64, args, 1);
		assert_int_equal(mt_call_may_release(call.sc, call.args), c[i].release);
	}
}

/* A record carries the stack id of its call; process_madvise: every entry. */
static void test_emit_stack_id(void **state)
{
	uint64_t args[6] = {0x1000, 0x2000, 4, 0, 0, 0};
	uint8_t iov[32] = {0};
	struct mt_pt_call c;

	(void)state;
	mt_pt_call_init(&c, MT_SC_MADVISE, MT_ABI_X86_64, args, 7);
	c.stack_id = 42;
	assert_int_equal(mt_pt_call_emit(&c, 0, 7, 8, 100, capture, NULL), 0);
	assert_int_equal(got[0].h.stack_id, 42);
	args[0] = 3;
	args[1] = 0x5000;
	args[2] = 2;
	args[3] = MADV_DONTNEED;
	mt_pt_call_init(&c, MT_SC_PROCESS_MADVISE, MT_ABI_X86_64, args, 7);
	mt_pt_call_set_user_args(&c, iov, sizeof(iov));
	c.stack_id = 43;
	assert_int_equal(mt_pt_call_emit(&c, 0, 7, 8, 100, capture, NULL), 0);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[1].h.stack_id, 43);
	assert_int_equal(got[2].h.stack_id, 43);
}

/* Memory of a pretend tracee: [base, base + len) readable, the rest not. */
struct fake_mem {
	uint64_t base;
	uint8_t *mem;
	size_t len;
	unsigned int reads;
};

static ssize_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = ctx;

	m->reads++;
	if (addr < m->base || addr >= m->base + m->len)
		return -1;
	if (len > m->base + m->len - addr)
		len = m->base + m->len - addr; /* a short read at the end of the mapping */
	memcpy(buf, m->mem + (addr - m->base), len);
	return (ssize_t)len;
}

static void put_word(struct fake_mem *m, uint64_t addr, uint64_t v, unsigned int word)
{
	memcpy(m->mem + (addr - m->base), &v, word);
}

static void test_walk_synthetic(void **state)
{
	static uint8_t mem[8192];
	struct fake_mem m = {.base = 0x7ff000, .mem = mem, .len = sizeof(mem)};
	uint64_t ips[MT_MAX_STACK];
	uint32_t n;

	(void)state;
	for (unsigned int word = 4; word <= 8; word += 4) {
		memset(mem, 0, sizeof(mem));
		/* three frames, the second far from the first (another window), then 0 */
		put_word(&m, 0x7ff100, 0x800800, word);
		put_word(&m, 0x7ff100 + word, 0x401111, word);
		put_word(&m, 0x800800, 0x800900, word);
		put_word(&m, 0x800800 + word, 0x402222, word);
		put_word(&m, 0x800900, 0x900000, word); /* beyond the readable memory */
		put_word(&m, 0x800900 + word, 0x403333, word);
		n = mt_pt_walk_stack(0x400000, 0x7ff100, word, fake_read, &m, ips);
		assert_int_equal(n, 4);
		assert_int_equal(ips[0], 0x400000);
		assert_int_equal(ips[1], 0x401111);
		assert_int_equal(ips[2], 0x402222);
		assert_int_equal(ips[3], 0x403333);
		/* a return address of 0 ends it, as the bpf backend's stacks end */
		put_word(&m, 0x800800 + word, 0, word);
		assert_int_equal(mt_pt_walk_stack(0x400000, 0x7ff100, word, fake_read, &m, ips), 2);
		/* a frame pointer to itself: bounded */
		put_word(&m, 0x7ff100, 0x7ff100, word);
		m.reads = 0;
		assert_int_equal(mt_pt_walk_stack(1, 0x7ff100, word, fake_read, &m, ips),
				 MT_MAX_STACK);
		assert_int_equal(m.reads, 1); /* one window held every frame */
		/* a frame cut by the end of the memory, and no frame pointer at all */
		assert_int_equal(mt_pt_walk_stack(1, m.base + m.len - word, word, fake_read, &m, ips),
				 1);
		assert_int_equal(mt_pt_walk_stack(1, 0, word, fake_read, &m, ips), 1);
	}
}

static ssize_t self_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};

	(void)ctx;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

static uint64_t walked[MT_MAX_STACK], traced[MT_MAX_STACK];
static uint32_t nwalked;
static int ntraced;

static __attribute__((noinline)) int leaf(int x)
{
	void *bt[MT_MAX_STACK];

	/* this file is built with frame pointers: walk our own stack as the tracer would */
	nwalked = mt_pt_walk_stack((uint64_t)(uintptr_t)&leaf,
				   (uint64_t)(uintptr_t)__builtin_frame_address(0), 8, self_read,
				   NULL, walked);
	ntraced = backtrace(bt, MT_MAX_STACK);
	for (int i = 0; i < ntraced; i++)
		traced[i] = (uint64_t)(uintptr_t)bt[i];
	return x + 1;
}

static __attribute__((noinline)) int middle(int x)
{
	return leaf(x) * 3;
}

static __attribute__((noinline)) int outer(int x)
{
	return middle(x) * 5;
}

/* The walk of a live stack returns what the DWARF unwinder of glibc's backtrace() finds. */
static void test_walk_self(void **state)
{
	(void)state;
	assert_int_equal(outer(1), 30);
	assert_true(ntraced >= 4);
	assert_true(nwalked >= 4);
	/* backtrace's frame 0 is in leaf itself; 1..3: middle, outer, this test */
	for (int i = 1; i < 4; i++)
		assert_int_equal(walked[i], traced[i]);
}

static void test_stack_ids(void **state)
{
	struct mt_pt_stacks *t = mt_pt_stacks__new(3);
	uint64_t a[] = {1, 2, 3}, b[] = {1, 2}, c[] = {9}, d[] = {8};
	union {
		struct mt_stack s;
		uint8_t bytes[sizeof(struct mt_stack) + MT_MAX_STACK * 8];
	} u;
	bool fresh;

	(void)state;
	assert_non_null(t);
	assert_int_equal(mt_pt_stacks__id(t, a, 3, &fresh), 1);
	assert_true(fresh);
	assert_int_equal(mt_pt_stacks__id(t, b, 2, &fresh), 2); /* a prefix is another stack */
	assert_true(fresh);
	assert_int_equal(mt_pt_stacks__id(t, a, 3, &fresh), 1);
	assert_false(fresh);
	assert_int_equal(mt_pt_stacks__id(t, a, 0, &fresh), 0);
	assert_int_equal(mt_pt_stacks__id(t, c, 1, &fresh), 3);
	/* full: the call goes without a stack, and that is counted */
	assert_int_equal(mt_pt_stacks__id(t, d, 1, &fresh), 0);
	assert_false(fresh);
	assert_int_equal(mt_pt_stacks__dropped(t), 1);
	assert_int_equal(mt_pt_stacks__id(t, b, 2, &fresh), 2);
	mt_pt_stack_record(&u.s, 1, a, 3, 55);
	assert_int_equal(u.s.h.type, MT_STACK);
	assert_int_equal(u.s.h.size, sizeof(struct mt_stack) + 24);
	assert_int_equal(u.s.h.pid, 0);
	assert_int_equal(u.s.id, 1);
	assert_int_equal(u.s.nr, 3);
	assert_memory_equal(u.s.ips, a, sizeof(a));
	mt_pt_stacks__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_classify_x86_64, setup),
		cmocka_unit_test_setup(test_classify_i386, setup),
		cmocka_unit_test_setup(test_mmap_x86_64, setup),
		cmocka_unit_test_setup(test_mmap2_i386, setup),
		cmocka_unit_test_setup(test_old_mmap, setup),
		cmocka_unit_test_setup(test_simple_calls, setup),
		cmocka_unit_test_setup(test_process_madvise, setup),
		cmocka_unit_test_setup(test_process_madvise_i386, setup),
		cmocka_unit_test_setup(test_no_user_args, setup),
		cmocka_unit_test_setup(test_emit_error, setup),
		cmocka_unit_test_setup(test_is_release, setup),
		cmocka_unit_test_setup(test_emit_stack_id, setup),
		cmocka_unit_test(test_walk_synthetic),
		cmocka_unit_test(test_walk_self),
		cmocka_unit_test(test_stack_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
