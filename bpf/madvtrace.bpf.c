// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * madvtrace's eBPF side. Only BTF tracepoints (tp_btf) and syscall programs:
 * they attach through bpf links, without tracefs and without kprobes.
 *
 * Calls: the raw sys_exit tracepoint, which also fires for compat (i386)
 * calls that the syscalls:* tracepoints skip, so 32-bit targets are traced
 * too. On x86 the saved user registers still hold a call's arguments at its
 * exit, so one program sees arguments and result together: no entry program
 * and no per-thread stash. (fentry/fexit on the syscall entry points would
 * spare untraced syscalls the slow path, but kernels may refuse them.)
 *
 * RSS: the kernel keeps each mm's counters; a record is emitted at the exit
 * of a traced call that changed them, and otherwise by the loader's periodic
 * flush, at most once per interval, with the reason: grew (faults) or fell
 * (reclaim, another process). kmem:rss_stat would give the exact instant of a
 * reclaim, but it fires at every page fault of every process: attached, even
 * a program that returns at once made the benchmark loop 5% slower.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "madvtrace/record.h"
#include "madvtrace/syscalls.h"
#include "madvtrace/build.h"
#include "madvtrace.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set in rodata by the loader before load. */
const volatile __u64 rss_interval_ns = 100000000;
const volatile bool follow_forks = false;
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile __u32 page_shift = 12;
/* Bytes of user stack an MT_USTACK record copies (--stack-size); 0: none. */
const volatile __u32 ustack_bytes = MT_USTACK_DEFAULT;
/*
 * Reserve a ustack record in the ring buffer and copy the stack into it
 * (bpf_probe_read_user_dynptr, Linux 6.16); false: through a per-CPU slot.
 * The records mode tries true first, and loads again with false if the
 * kernel refuses the program (the kfunc is weak: the verifier drops the call
 * where this is false). False by default: the exporter never copies stacks.
 */
const volatile bool ustack_in_ring = false;
/*
 * Not rodata: the loader turns it on and off while tracing, as processes
 * exec into a program that wants release stacks (a Go program) and leave it.
 */
volatile bool capture_stacks = false;
/*
 * Counting mode (the exporter, loader/export/): per (process, call, advice)
 * counts and byte sums in a per-CPU hash, nothing through the ring buffer.
 * Read-only data: the verifier drops the branch not taken, so the records
 * mode runs the very instructions it ran before this flag existed.
 */
const volatile bool count_mode = false;
const volatile __u32 max_procs = 1024; /* traced processes at once (counting mode) */
/* Cgroups watched (counting mode): a process in one of them is traced at its first call. */
const volatile __u32 n_cgroups = 0;
const volatile __s32 cg_ssid[MT_MAX_CGROUPS] = {}; /* v1 controller id; -1: cgroup2 */
const volatile __u32 cg_level[MT_MAX_CGROUPS] = {};
const volatile __u64 cg_id[MT_MAX_CGROUPS] = {};
/* Commands watched (counting mode), by comm. */
const volatile __u32 n_comms = 0;
const volatile char comms[MT_MAX_COMMS][16] = {};

/* Counting mode: processes traced now, and calls refused because max_procs were. */
__u32 ntraced = 0;
__u64 cap_refused = 0;

#define TS_COMPAT 0x0002 /* x86 thread_info.status: in a 32-bit syscall */
#define PID_FS_MAGIC 0x50494446

/*
 * The traced tgids, one bit each: an array lookup the verifier inlines, so
 * the filter costs every other process almost nothing. The loader sizes it
 * from pid_max and reads it through mmap.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} traced SEC(".maps");

/*
 * Tgids whose program the loader found is not Go, one bit each (sized and
 * mapped as `traced`): a release that takes a ustack copy skips the kernel's
 * frame-pointer walk, since the unwinder walks frame pointers itself from the
 * copy where it has no CFI. A Go program keeps the walk: its frames are
 * named from it (.gopclntab), and a cgo stack shows both. Cleared at exec (a
 * program not yet described walks), copied at fork.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nowalk SEC(".maps");

/*
 * Launched but not yet exec'd: its calls are still madvtrace's own. The
 * value: MT_HELD_* (the command's program is known before its exec).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct mm_struct * */
	__type(value, struct mt_mm_state);
} mms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* user stacks of releases, by id; the loader writes each one to the trace once */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_MAX_STACK * sizeof(__u64));
} stacks SEC(".maps");

/*
 * Counting mode: the counters. One entry only unless the loader sizes it, so
 * the records mode allocates nothing for it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct mt_count_key);
	__type(value, struct mt_count_val);
} counts SEC(".maps");

/* Counting mode: counter updates that found the map full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} count_lost SEC(".maps");

/*
 * Kernels without bpf_probe_read_user_dynptr (ustack_in_ring false): where
 * an MT_USTACK record is put together before bpf_ringbuf_output sends its
 * real length, one slot per CPU (a per-CPU array's values are limited to
 * 32 KiB). A page of slack past MT_USTACK_MAX lets the verifier see that a
 * page-sized read at any offset below it stays inside. The loader sizes it.
 */
struct ustack_buf {
	__u64 busy; /* a task preempted while filling it: another one on this CPU goes without */
	__u8 b[sizeof(struct mt_ustack) + MT_USTACK_MAX + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_buf);
} ustacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u64 off, __u64 size,
			       const void *unsafe_ptr) __ksym __weak;
void bpf_task_release(struct task_struct *p) __ksym;

/* One tgid's bit in a bitmap of tgids (traced, nowalk). */
static __always_inline bool bit_get(void *map, __u32 tgid)
{
	__u32 idx = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(map, &idx);

	return w && (*w & (1ull << (tgid % 64)));
}

static __always_inline void bit_set(void *map, __u32 tgid, bool on)
{
	__u32 idx = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(map, &idx);

	if (!w)
		return;
	if (on)
		__sync_fetch_and_or(w, 1ull << (tgid % 64));
	else
		__sync_fetch_and_and(w, ~(1ull << (tgid % 64)));
}

static __always_inline bool is_traced(__u32 tgid)
{
	return bit_get(&traced, tgid);
}

static __always_inline void set_traced(__u32 tgid, bool on)
{
	bit_set(&traced, tgid, on);
}

static __always_inline void lost_inc(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		(*n)++;
}

static __always_inline void *reserve(__u32 size)
{
	void *p = bpf_ringbuf_reserve(&rb, size, 0);

	if (!p)
		lost_inc();
	return p;
}

/* Wake the reader only when enough has piled up: it also polls on a timer. */
static __always_inline void submit(void *p)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(p, flags);
}

/*
 * One RSS counter, in pages, as the kernel itself reads it for rss_stat and
 * /proc (percpu_counter_read_positive): each CPU may hold back up to
 * percpu_counter_batch pages not yet folded in. Summing the per-CPU parts
 * would need per-CPU BTF the kernel does not always expose.
 */
static __always_inline __s64 rss_counter(struct mm_struct *mm, int member)
{
	__s64 v;

	/* constant indices: the verifier allows no variable offset into kernel memory */
	switch (member) {
	case 0: v = mm->rss_stat[0].count; break;
	case 1: v = mm->rss_stat[1].count; break;
	case 2: v = mm->rss_stat[2].count; break;
	case 3: v = mm->rss_stat[3].count; break;
	default: return 0;
	}
	return v < 0 ? 0 : v;
}

/* All four counters of mm into st->cur; true if any differs from what was last reported. */
static __always_inline bool rss_read(struct mt_mm_state *st, struct mm_struct *mm)
{
	st->cur[0] = rss_counter(mm, 0);
	st->cur[1] = rss_counter(mm, 1);
	st->cur[2] = rss_counter(mm, 2);
	st->cur[3] = rss_counter(mm, 3);
	return st->cur[0] != st->emitted[0] || st->cur[1] != st->emitted[1] ||
	       st->cur[2] != st->emitted[2] || st->cur[3] != st->emitted[3];
}

static __always_inline void emit_rss(struct mt_mm_state *st, __u32 reason, __u64 t_ns, __u64 now)
{
	struct mt_rss *r = reserve(sizeof(*r));
	__s64 v0 = st->cur[0], v1 = st->cur[1], v2 = st->cur[2], v3 = st->cur[3];

	if (!r)
		return;
	/* a process-wide value, possibly emitted from another task's context */
	mt_hdr_fill(&r->h, MT_RSS, sizeof(*r), st->tgid, st->tgid, t_ns);
	/* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SWAPENTS 2, MM_SHMEMPAGES 3 */
	r->file = v0 << page_shift;
	r->anon = v1 << page_shift;
	r->swap = v2 << page_shift;
	r->shmem = v3 << page_shift;
	r->lazyfree = 0;
	r->smaps_rss = 0;
	r->reason = reason;
	r->_pad = 0;
	submit(r);
	st->last_emit_ns = now;
	st->pending = 0;
	st->emitted[0] = v0;
	st->emitted[1] = v1;
	st->emitted[2] = v2;
	st->emitted[3] = v3;
}

/* Start mirroring mm for tgid (no-op if already), reporting its baseline. */
static __always_inline struct mt_mm_state *mm_adopt(struct mm_struct *mm, __u32 tgid)
{
	__u64 key = (__u64)mm, now = bpf_ktime_get_ns();
	struct mt_mm_state init = {}, *st;
	int i;

	if (!mm)
		return NULL;
	st = bpf_map_lookup_elem(&mms, &key);
	if (st && st->tgid == tgid && !st->exiting)
		return st;
	init.tgid = tgid;
	for (i = 0; i < MT_NR_RSS; i++) {
		init.cur[i] = rss_counter(mm, i);
		init.emitted[i] = init.cur[i];
	}
	init.cur_ns = now;
	bpf_map_update_elem(&mms, &key, &init, BPF_ANY);
	st = bpf_map_lookup_elem(&mms, &key);
	if (st)
		emit_rss(st, MT_RSS_START, now, now);
	return st;
}

/* The tgid behind a pidfd of the current task, or 0. */
static __always_inline __u32 pidfd_tgid(struct task_struct *t, int fd)
{
	struct file **fds, *f = NULL;
	struct pid *pid;
	struct inode *ino;
	unsigned int max;

	if (fd < 0)
		return 0;
	fds = BPF_CORE_READ(t, files, fdt, fd);
	max = BPF_CORE_READ(t, files, fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	/* pidfs (6.9+) keeps the struct pid in the inode; before, in private_data */
	if (BPF_CORE_READ(ino, i_sb, s_magic) == PID_FS_MAGIC)
		pid = BPF_CORE_READ(ino, i_private);
	else
		pid = BPF_CORE_READ(f, private_data);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

struct call {
	__u64 a[6];
	__u64 t_ns;
	__u32 pid, tid;
	__u32 stack_id;
	__u8 abi;
	bool walk_skipped; /* a ustack copy stands in for the walk (nowalk) */
	__u16 flags;
};

static __always_inline void call_hdr(struct mt_hdr *h, __u16 type, __u16 size, struct call *c)
{
	mt_hdr_fill(h, type, size, c->pid, c->tid, c->t_ns);
	h->abi = c->abi;
	h->flags = c->flags;
	h->stack_id = c->stack_id;
}

/* The kernel's frame-pointer walk of the user stack into c->stack_id (0: none). */
static __always_inline void stack_walk(void *ctx, struct call *c)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	/* ids start at 0; 0 in a record means "no stack" */
	if (id >= 0)
		c->stack_id = id + 1;
}

/*
 * How many bytes of user stack a ustack record copies: ustack_bytes, but on
 * the main thread's stack nothing is a frame above where the process started
 * (argc, then argv and the environment): the copy stops there, and a shallow
 * stack costs what it holds (docs/performance.md). *whole: it reaches there.
 */
static __always_inline __u32 ustack_want(__u64 sp, bool *whole)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 want = ustack_bytes;
	__u64 top;

	if (want > MT_USTACK_MAX)
		want = MT_USTACK_MAX;
	/* a BTF pointer: plain loads, no helper calls */
	top = t->mm ? t->mm->start_stack : 0;
	*whole = false;
	if (sp < top && top - sp + MT_USTACK_PAST_START < want) {
		want = top - sp + MT_USTACK_PAST_START;
		*whole = true;
	}
	return want;
}

/*
 * What a ustack record is made of, gathered on the caller's stack: the copy
 * is a global function, which the verifier checks once rather than at each
 * of its call sites (each record type's, with its reservation held).
 */
struct ustack_args {
	__u64 regs[MT_UREG_NR];
	__u64 t_ns;
	__u32 pid, tid;
	__u32 abi;
};

/* The header, registers and flags of a ustack record whose copy holds len bytes. */
static __always_inline void ustack_head(struct mt_ustack *us, struct ustack_args *a, __u32 len,
					__u32 flags)
{
	mt_hdr_fill(&us->h, MT_USTACK, (sizeof(*us) + len + 7) & ~7u, a->pid, a->tid, a->t_ns);
	us->h.abi = a->abi;
	__builtin_memcpy(us->regs, a->regs, sizeof(us->regs));
	us->sp = a->regs[MT_UREG_RSP];
	us->len = len;
	us->flags = flags;
}

/* The wakeup policy of submit(): a wakeup per record would cost more than the copy. */
static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									 : BPF_RB_NO_WAKEUP;
}

/*
 * The user registers and the top of the user stack at a release (for an
 * unwinder in userspace, as perf's --call-graph dwarf): an MT_USTACK record
 * sent right after its call record was reserved, so it follows that record
 * in the ring. Pages are read one at a time (the first up to the end of sp's
 * page): a page that cannot be read (past the stack's top, or swapped out:
 * no faults here) ends the copy, keeping what was read. True if sent.
 *
 * Here the record is reserved in the ring at the size wanted and the stack
 * is read straight into it (Linux 6.16's bpf_probe_read_user_dynptr): one
 * copy. A copy cut short leaves the rest of the reservation unused (h.size
 * says where the record ends; the reader goes by it).
 */
static __always_inline bool emit_ustack_ring(struct ustack_args *a)
{
	__u64 sp = a->regs[MT_UREG_RSP], page = 1ull << page_shift, zero = 0;
	__u32 want, len = 0, flags = 0, pad;
	struct bpf_dynptr d;
	struct mt_ustack *us;
	bool whole;
	int i;

	want = ustack_want(sp, &whole);
	if (bpf_ringbuf_reserve_dynptr(&rb, (sizeof(*us) + want + 7) & ~7u, 0, &d)) {
		bpf_ringbuf_discard_dynptr(&d, 0); /* the verifier wants it released even so */
		lost_inc();
		return false;
	}
	/* all at once when it can be read (most often): one read instead of one a page */
	if (!bpf_probe_read_user_dynptr(&d, sizeof(*us), want, (void *)sp))
		len = want;
	for (i = 0; i < MT_USTACK_MAX / 4096 + 1; i++) {
		__u64 n = page - ((sp + len) & (page - 1));

		if (len >= want)
			break;
		if (n > want - len)
			n = want - len;
		if (bpf_probe_read_user_dynptr(&d, sizeof(*us) + len, n, (void *)(sp + len))) {
			flags |= MT_US_FAULT;
			break;
		}
		len += n;
	}
	if (len >= want && !whole)
		flags |= MT_US_SHORT;
	/* the rounding's bytes are the record's: zero, not an older record's */
	pad = ((sizeof(*us) + len + 7) & ~7u) - (sizeof(*us) + len);
	if (pad)
		bpf_dynptr_write(&d, sizeof(*us) + len, &zero, pad & 7, 0);
	us = bpf_dynptr_data(&d, 0, sizeof(*us));
	if (!us) {
		bpf_ringbuf_discard_dynptr(&d, 0);
		return false;
	}
	ustack_head(us, a, len, flags);
	bpf_ringbuf_submit_dynptr(&d, wakeup_flag());
	return true;
}

/*
 * The same on kernels without bpf_probe_read_user_dynptr: put together in a
 * per-CPU slot, then sent by bpf_ringbuf_output at its real length (a second
 * copy).
 */
static __always_inline bool emit_ustack_slot(struct ustack_args *a)
{
	__u32 cpu = bpf_get_smp_processor_id(), want, len = 0, flags = 0, size;
	struct ustack_buf *b = bpf_map_lookup_elem(&ustacks, &cpu);
	__u64 sp = a->regs[MT_UREG_RSP], page = 1ull << page_shift;
	struct mt_ustack *us;
	bool whole;
	__u8 *data;
	int i;

	if (!b)
		return false;
	/* a tracing program can be preempted (not migrated): the slot is one task's at a time */
	if (__sync_lock_test_and_set(&b->busy, 1))
		return false;
	us = (void *)b->b;
	data = b->b + sizeof(*us);
	want = ustack_want(sp, &whole);
	for (i = 0; i < MT_USTACK_MAX / 4096 + 1; i++) {
		__u64 n = page - ((sp + len) & (page - 1));

		if (len >= want)
			break;
		if (n > want - len)
			n = want - len;
		/* bounds the verifier can follow: at most a page, at an offset below the end */
		n &= 0x1fff;
		if (n > 4096)
			n = 4096;
		if (bpf_probe_read_user(&data[len & (MT_USTACK_MAX - 1)], n, (void *)(sp + len))) {
			flags |= MT_US_FAULT;
			break;
		}
		len += n;
	}
	if (len >= want && !whole)
		flags |= MT_US_SHORT;
	ustack_head(us, a, len, flags);
	size = us->h.size;
	if (size > sizeof(b->b)) {
		b->busy = 0;
		return false;
	}
	if (bpf_ringbuf_output(&rb, b->b, size, wakeup_flag())) {
		b->busy = 0;
		lost_inc();
		return false;
	}
	b->busy = 0;
	return true;
}

/* 1 if the record was sent. Global: verified once (struct ustack_args). */
__noinline int emit_ustack_args(struct ustack_args *a)
{
	if (!a || !ustack_bytes)
		return 0;
	if (ustack_in_ring)
		return emit_ustack_ring(a);
	return emit_ustack_slot(a);
}

static __always_inline bool emit_ustack(struct call *c, struct pt_regs *regs)
{
	struct ustack_args a;

	a.regs[MT_UREG_RAX] = regs->ax;
	a.regs[MT_UREG_RDX] = regs->dx;
	a.regs[MT_UREG_RCX] = regs->cx;
	a.regs[MT_UREG_RBX] = regs->bx;
	a.regs[MT_UREG_RSI] = regs->si;
	a.regs[MT_UREG_RDI] = regs->di;
	a.regs[MT_UREG_RBP] = regs->bp;
	a.regs[MT_UREG_RSP] = regs->sp;
	a.regs[MT_UREG_R8] = regs->r8;
	a.regs[MT_UREG_R9] = regs->r9;
	a.regs[MT_UREG_R10] = regs->r10;
	a.regs[MT_UREG_R11] = regs->r11;
	a.regs[MT_UREG_R12] = regs->r12;
	a.regs[MT_UREG_R13] = regs->r13;
	a.regs[MT_UREG_R14] = regs->r14;
	a.regs[MT_UREG_R15] = regs->r15;
	a.regs[MT_UREG_RIP] = regs->ip;
	a.t_ns = c->t_ns;
	a.pid = c->pid;
	a.tid = c->tid;
	a.abi = c->abi;
	return emit_ustack_args(&a) == 1;
}

/* An executable file mapping made (PROT_EXEC with a descriptor): code the maps must show. */
static __always_inline bool lib_mapped(int sc, const struct call *c, __s64 ret)
{
	return mt_syscall_record_type(sc) == MT_MMAP && ret >= 0 && (__s32)c->a[4] >= 0 &&
	       (c->a[2] & 4 /* PROT_EXEC */);
}

/*
 * The record of a call other than process_madvise, filled in place in the
 * ring buffer. The switch gives each record type its own constant size, as
 * bpf_ringbuf_reserve requires.
 */
static __always_inline void emit_call(void *ctx, int sc, struct call *c, __s64 ret,
				      struct pt_regs *us)
{
	struct mt_hdr *h;
	__u16 size;

	switch (mt_syscall_record_type(sc)) {
#define MT_EMIT_CASE_(type, rec, fill, ...)         \
	case type: {                                \
		struct rec *r = reserve(sizeof(*r)); \
                                                    \
		if (!r)                             \
			return;                     \
		fill(r, __VA_ARGS__);               \
		h = &r->h;                          \
		size = sizeof(*r);                  \
		break;                              \
	}
	MT_EMIT_CASE_(MT_MMAP, mt_mmap, mt_fill_mmap, c->a, ret)
	MT_EMIT_CASE_(MT_MUNMAP, mt_munmap, mt_fill_munmap, c->a, ret)
	MT_EMIT_CASE_(MT_MREMAP, mt_mremap, mt_fill_mremap, c->a, ret)
	MT_EMIT_CASE_(MT_MADVISE, mt_madvise, mt_fill_madvise, c->a, ret, c->pid)
	MT_EMIT_CASE_(MT_BRK, mt_brk, mt_fill_brk, c->a, ret)
	MT_EMIT_CASE_(MT_MPROTECT, mt_mprotect, mt_fill_mprotect, c->a, ret)
#undef MT_EMIT_CASE_
	default:
		return;
	}
	call_hdr(h, mt_syscall_record_type(sc), size, c);
	if (us && emit_ustack(c, us))
		h->flags |= MT_F_USTACK;
	else if (c->walk_skipped) {
		/* no copy after all (ring full, slot busy): the walk, as without the skip */
		stack_walk(ctx, c);
		h->stack_id = c->stack_id;
	}
	if (capture_stacks && lib_mapped(sc, c, ret)) {
		/*
		 * A library mapped: the reader asks for the process's maps now,
		 * while it runs (its stacks are unwound through them); at its next
		 * poll a program that lives milliseconds may be gone. A few per program.
		 */
		bpf_ringbuf_submit(h, BPF_RB_FORCE_WAKEUP);
		return;
	}
	submit(h);
}

/* One madvise record per iovec entry, each with the call's result. */
static __always_inline void emit_process_madvise(void *ctx, struct call *c, __u32 target,
						  __s64 ret, struct pt_regs *us)
{
	__u64 vlen = c->a[2];
	int i;

	c->flags |= MT_F_PROCESS_MADVISE;
	if (vlen > MT_MAX_IOV) {
		vlen = MT_MAX_IOV;
		c->flags |= MT_F_IOV_TRUNC;
	}
	for (i = 0; i < MT_MAX_IOV; i++) {
		struct mt_madvise *r;
		__u64 iov[2] = {};

		if (i >= vlen)
			break;
		if (c->abi == MT_ABI_I386) {
			__u32 v[2] = {};

			bpf_probe_read_user(v, sizeof(v), (void *)c->a[1] + i * 8);
			iov[0] = v[0];
			iov[1] = v[1];
		} else {
			bpf_probe_read_user(iov, sizeof(iov), (void *)c->a[1] + i * 16);
		}
		r = reserve(sizeof(*r));
		if (!r)
			return;
		call_hdr(&r->h, MT_MADVISE, sizeof(*r), c);
		mt_fill_process_madvise(r, c->a, iov[0], iov[1], ret, target);
		/* the call's stack once, after its first record; every record of the call names it */
		if (i == 0 && us) {
			if (emit_ustack(c, us)) {
				c->flags |= MT_F_USTACK;
			} else if (c->walk_skipped) {
				stack_walk(ctx, c);
				r->h.stack_id = c->stack_id;
			}
		}
		r->h.flags |= c->flags & MT_F_USTACK;
		submit(r);
	}
}

/* A call's six arguments, from the registers of its ABI. */
static __always_inline void set_args(__u64 a[6], __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4,
				     __u64 a5)
{
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
	a[3] = a3;
	a[4] = a4;
	a[5] = a5;
}

/* ---- counting mode: nothing leaves the kernel but the counters ---- */

static __always_inline void count_lost_inc(__u32 tgid)
{
	struct mt_count_key k = { .tgid = tgid, .sc = MT_COUNT_LOST_SC, .advice = MT_COUNT_NO_ADVICE };
	struct mt_count_val *v = bpf_map_lookup_elem(&counts, &k);
	__u32 zero = 0;
	__u64 *n;

	/* the loader made this slot when it first saw the process */
	if (v)
		v->calls++;
	n = bpf_map_lookup_elem(&count_lost, &zero);
	if (n)
		(*n)++;
}

static __always_inline void count_add(struct mt_count_key *k, __u64 bytes, __u64 err)
{
	struct mt_count_val *v = bpf_map_lookup_elem(&counts, k);

	if (!v) {
		struct mt_count_val init = { .calls = 1, .bytes = bytes, .errors = err };

		/* a per-CPU insert sets this CPU's slot and zeroes the others */
		if (!bpf_map_update_elem(&counts, k, &init, BPF_NOEXIST))
			return;
		/* EEXIST: another CPU inserted it first; anything else: the map is full */
		v = bpf_map_lookup_elem(&counts, k);
		if (!v) {
			count_lost_inc(k->tgid);
			return;
		}
	}
	v->calls++;
	v->bytes += bytes;
	v->errors += err;
}

/* Is the task in (or below) one of the watched cgroups? */
static __always_inline bool count_in_cgroups(struct task_struct *t)
{
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	int i;

	for (i = 0; i < MT_MAX_CGROUPS; i++) {
		struct cgroup_subsys_state *css = NULL;
		struct cgroup *cg, *anc = NULL;
		__u32 lvl = cg_level[i];

		if (i >= n_cgroups)
			break;
		if (cg_ssid[i] < 0) {
			cg = BPF_CORE_READ(cs, dfl_cgrp);
		} else {
			bpf_probe_read_kernel(&css, sizeof(css), &cs->subsys[cg_ssid[i] & 15]);
			cg = BPF_CORE_READ(css, cgroup);
		}
		if (!cg || BPF_CORE_READ(cg, level) < (int)lvl)
			continue;
		/* the cgroup's ancestor at the watched level: itself, or the one it lives under */
		bpf_probe_read_kernel(&anc, sizeof(anc), &cg->ancestors[lvl & 255]);
		if (anc && BPF_CORE_READ(anc, kn, id) == cg_id[i])
			return true;
	}
	return false;
}

static __always_inline bool count_in_comms(struct task_struct *t)
{
	char c[16] = {};
	int i, j;

	bpf_probe_read_kernel_str(c, sizeof(c), BPF_CORE_READ(t, group_leader, comm));
	for (i = 0; i < MT_MAX_COMMS; i++) {
		bool same = true;

		if (i >= n_comms)
			break;
		for (j = 0; j < 16; j++) {
			if (c[j] != comms[i][j]) {
				same = false;
				break;
			}
			if (!c[j])
				break;
		}
		if (same)
			return true;
	}
	return false;
}

/*
 * Trace tgid from now on, if a slot is free. ntraced only grows here; the
 * loader recounts it from the bitmap every second (exits clear bits), so the
 * cap holds without the fetching atomics the records mode's build lacks.
 */
static __always_inline bool count_claim(__u32 tgid)
{
	if (ntraced >= max_procs) {
		__sync_fetch_and_add(&cap_refused, 1);
		return false;
	}
	__sync_fetch_and_add(&ntraced, 1);
	set_traced(tgid, true);
	return true;
}

/* One traced call, counted: key (tgid, call, advice), bytes of a success, errors. */
static __always_inline int count_call(int sc, struct pt_regs *regs, long ret, bool compat)
{
	struct mt_count_key k = { .advice = MT_COUNT_NO_ADVICE };
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 a[6], bytes = 0, err;
	__s64 r;
	int abi;

	if (!is_traced(tgid)) {
		struct task_struct *t = bpf_get_current_task_btf();

		if (!(n_cgroups && count_in_cgroups(t)) && !(n_comms && count_in_comms(t)))
			return 0;
		if (!count_claim(tgid))
			return 0;
	}
	if (compat) {
		abi = MT_ABI_I386;
		set_args(a, regs->bx, regs->cx, regs->dx, regs->si, regs->di, regs->bp);
	} else {
		long nr = regs->orig_ax;

		abi = mt_syscall_native_abi(&nr);
		set_args(a, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9);
	}
	if (sc == MT_SC_OLD_MMAP) {
		__u32 blk[6] = {};

		bpf_probe_read_user(blk, sizeof(blk), (void *)(__u64)(__u32)a[0]);
		mt_args_old_mmap(a, blk);
	}
	mt_args_normalise(a, sc, abi);
	r = mt_ret_normalise(ret, abi);
	err = mt_ret_is_err(r);
	if (sc == MT_SC_MADVISE || sc == MT_SC_PROCESS_MADVISE) {
		__s64 adv = (__s32)(sc == MT_SC_MADVISE ? a[2] : a[3]);

		k.advice = adv >= 0 && adv <= MT_COUNT_ADVICE_MAX ? adv : MT_COUNT_ADVICE_OTHER;
	}
	if (!err) {
		switch (sc) {
		case MT_SC_MREMAP:
			bytes = a[2];
			break;
		case MT_SC_PROCESS_MADVISE:
			bytes = r; /* the bytes advised, over the whole iovec */
			break;
		case MT_SC_BRK:
			break;
		default:
			bytes = a[1];
		}
	}
	k.tgid = tgid;
	k.sc = sc;
	count_add(&k, bytes, err);
	return 0;
}

/* One traced call, at its exit: regs are the caller's saved user registers. */
static __always_inline int on_call(void *ctx, int sc, struct pt_regs *regs, long ret, bool compat)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_regs *us = NULL;
	struct mt_mm_state *st;
	bool caller_traced;
	struct call c;
	__u64 key;

	c.pid = pid_tgid >> 32;
	c.tid = (__u32)pid_tgid;
	caller_traced = is_traced(c.pid);
	/* process_madvise is the one call that reaches into a traced process from outside */
	if (!caller_traced && sc != MT_SC_PROCESS_MADVISE)
		return 0;

	c.t_ns = bpf_ktime_get_ns();
	c.flags = 0;
	if (compat) {
		c.abi = MT_ABI_I386;
		set_args(c.a, regs->bx, regs->cx, regs->dx, regs->si, regs->di, regs->bp);
	} else {
		long nr = regs->orig_ax;

		c.abi = mt_syscall_native_abi(&nr);
		set_args(c.a, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9);
	}
	if (sc == MT_SC_OLD_MMAP) {
		__u32 blk[6] = {};

		/* i386 old_mmap passes its arguments in a block in user memory */
		if (bpf_probe_read_user(blk, sizeof(blk), (void *)(__u64)(__u32)c.a[0]))
			c.flags |= MT_F_ARGS_UNREAD;
		mt_args_old_mmap(c.a, blk);
	}
	mt_args_normalise(c.a, sc, c.abi);
	c.stack_id = 0;
	c.walk_skipped = false;
	if (capture_stacks && caller_traced && mt_call_may_release(sc, c.a)) {
		/* registers and stack bytes for an unwinder: x86-64 frames only */
		if (c.abi == MT_ABI_X86_64 && ustack_bytes)
			us = regs;
		/* a program known not to be Go: the copy alone (about half the cost) */
		if (us && bit_get(&nowalk, c.pid))
			c.walk_skipped = true;
		else
			stack_walk(ctx, &c);
	}
	if (sc == MT_SC_PROCESS_MADVISE) {
		__u32 target = pidfd_tgid(t, (int)c.a[0]);

		if (!caller_traced && !is_traced(target))
			return 0;
		emit_process_madvise(ctx, &c, target, mt_ret_normalise(ret, c.abi), us);
	} else {
		emit_call(ctx, sc, &c, mt_ret_normalise(ret, c.abi), us);
	}
	if (!caller_traced)
		return 0;

	/* the RSS change this call made, at the instant it completed */
	key = (__u64)t->mm;
	st = bpf_map_lookup_elem(&mms, &key);
	if (!st)
		st = mm_adopt(t->mm, c.pid);
	if (st && !st->exiting && rss_read(st, t->mm))
		emit_rss(st, MT_RSS_SYSCALL, c.t_ns, c.t_ns);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	bool compat = t->thread_info.status & TS_COMPAT;
	long nr = regs->orig_ax;
	int sc;

	if (!compat)
		mt_syscall_native_abi(&nr);
	sc = mt_syscall_by_nr(nr, compat);
	if (sc < 0)
		return 0;
	/*
	 * A seccomp SECCOMP_RET_TRAP skips the call and rolls the registers
	 * back: the "result" is then the syscall number. No traced call can
	 * return its own number, so this is a call that did not happen (the
	 * SIGSYS handler, such as the preload agent's, makes it again).
	 */
	if (ret == regs->orig_ax)
		return 0;
	if (count_mode)
		return count_call(sc, regs, ret, compat);
	return on_call(ctx, sc, regs, ret, compat);
}

static __always_inline void emit_task(__u32 event, __u32 pid, __u32 tid, __u32 other, __s32 code)
{
	struct mt_task *r = reserve(sizeof(*r));

	if (!r)
		return;
	mt_hdr_fill(&r->h, MT_TASK, sizeof(*r), pid, tid, bpf_ktime_get_ns());
	r->event = event;
	r->other_pid = other;
	r->code = code;
	r->_pad = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	/*
	 * An exec wakes the reader now, not at its next poll: it describes the
	 * program from /proc while it runs, and one that exits within
	 * milliseconds is gone by then. Execs are rare: a wakeup each is cheap.
	 */
	if (event == MT_TASK_EXEC)
		bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	else
		submit(r);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;

	if (!is_traced(ptgid))
		return 0;
	if (count_mode) {
		if (follow_forks && ctgid != ptgid)
			count_claim(ctgid);
		return 0;
	}
	if (ctgid == ptgid) {
		emit_task(MT_TASK_CLONE, ptgid, parent->pid, child->pid, 0);
		return 0;
	}
	emit_task(MT_TASK_FORK, ptgid, parent->pid, ctgid, 0);
	if (follow_forks) {
		set_traced(ctgid, true);
		/* the child runs its parent's program until it execs */
		bit_set(&nowalk, ctgid, bit_get(&nowalk, ptgid));
		/* a vfork child shares its parent's mm: that one is mirrored already */
		if (child->mm != parent->mm)
			mm_adopt(child->mm, ctgid);
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	__u8 *hv = bpf_map_lookup_elem(&held, &tgid);
	__u8 held_as = hv ? *hv : 0;

	/* a held launch becomes the command from here on */
	if (bpf_map_delete_elem(&held, &tgid) == 0)
		set_traced(tgid, true);
	else if (!is_traced(tgid))
		return 0;
	/* a new program walks until the loader has described it (the command: known already) */
	bit_set(&nowalk, tgid, held_as & MT_HELD_NOT_GO);
	emit_task(MT_TASK_EXEC, tgid, p->pid, old_pid, 0);
	mm_adopt(p->mm, tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid, tid = p->pid;

	if (!is_traced(tgid))
		return 0;
	if (count_mode) {
		/* the loader sees the bit go and recounts ntraced */
		if (BPF_CORE_READ(p, signal, live.counter) == 0)
			set_traced(tgid, false);
		return 0;
	}
	/* the last thread out: the whole process is gone */
	if (BPF_CORE_READ(p, signal, live.counter) == 0) {
		struct mm_struct *mm = p->mm;
		__u64 key = (__u64)mm;
		struct mt_mm_state *st = mm ? bpf_map_lookup_elem(&mms, &key) : NULL;

		emit_task(MT_TASK_EXIT, tgid, tid, 0, p->exit_code);
		set_traced(tgid, false);
		bit_set(&nowalk, tgid, false);
		/* RSS as the program left it, before the teardown frees it all */
		if (st && !st->exiting && st->tgid == tgid) {
			__u64 now = bpf_ktime_get_ns();

			rss_read(st, mm);
			st->exiting = 1;
			emit_rss(st, MT_RSS_END, now, now);
		}
	} else {
		emit_task(MT_TASK_THREAD_EXIT, tgid, tid, 0, p->exit_code);
	}
	return 0;
}

SEC("tp_btf/exit_mmap")
int BPF_PROG(exit_mmap, struct mm_struct *mm)
{
	__u64 key = (__u64)mm;

	/* the address may be reused by an untraced process */
	bpf_map_delete_elem(&mms, &key);
	return 0;
}

/* Run by the loader when it attaches to a running process. */
SEC("syscall")
int adopt(struct mt_adopt_args *args)
{
	struct task_struct *t = bpf_task_from_pid(args->pid);

	if (!t) {
		args->ret = -3; /* -ESRCH */
		return 0;
	}
	args->ret = mm_adopt(t->mm, args->pid) ? 0 : -22;
	bpf_task_release(t);
	return 0;
}

static long flush_one(struct bpf_map *map, __u64 *key, struct mt_mm_state *st, __u64 *now)
{
	struct mm_struct *mm = (struct mm_struct *)*key;
	__s64 v[MT_NR_RSS] = {};
	__u32 reason = st->pending;
	int i;

	if (st->exiting)
		return 0;
	/* the mm is alive while its entry is: exit_mmap removes the entry first */
	bpf_probe_read_kernel(v, sizeof(v[0]), &mm->rss_stat[0].count);
	bpf_probe_read_kernel(&v[1], sizeof(v[1]), &mm->rss_stat[1].count);
	bpf_probe_read_kernel(&v[2], sizeof(v[2]), &mm->rss_stat[2].count);
	bpf_probe_read_kernel(&v[3], sizeof(v[3]), &mm->rss_stat[3].count);
	for (i = 0; i < MT_NR_RSS; i++) {
		if (v[i] < 0)
			v[i] = 0;
		/* outside any call, only another context takes pages away */
		if (v[i] < st->emitted[i])
			reason = MT_RSS_RECLAIM;
		else if (v[i] > st->emitted[i] && !reason)
			reason = MT_RSS_FAULT;
		st->cur[i] = v[i];
	}
	if (reason && *now - st->last_emit_ns >= rss_interval_ns)
		emit_rss(st, reason, *now, *now);
	return 0;
}

/*
 * Run by the loader at each interval: the RSS of every traced mm, reported
 * when it changed outside a traced call (faults, reclaim), so it lags by at
 * most one interval and the last value is never missing.
 */
SEC("syscall")
int flush_rss(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_for_each_map_elem(&mms, flush_one, &now, 0);
	return 0;
}
