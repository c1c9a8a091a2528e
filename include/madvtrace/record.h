/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event contract of madvtrace.
 *
 * Every backend (the eBPF program, the ptrace tracer, the LD_PRELOAD agent)
 * produces these records, the trace file stores them verbatim (length-framed,
 * see docs/trace-format.md) and every consumer (dump, live view, timeline,
 * report) reads them. Records are fixed-size per type, little-endian, and
 * naturally aligned so the BPF side can fill them in place in the ring buffer.
 *
 * Compatibility: fields are only ever appended to a record; a reader accepts a
 * record longer than it knows (extra bytes ignored) and zero-fills a shorter
 * one. Record types are never renumbered.
 */
#ifndef MADVTRACE_H
#define MADVTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MT_COMM_LEN 16

enum mt_type {
	MT_MMAP = 1,
	MT_MUNMAP = 2,
	MT_MREMAP = 3,
	MT_MADVISE = 4,
	MT_BRK = 5,
	MT_MPROTECT = 6,
	MT_RSS = 7,
	MT_TASK = 8,
	MT_LOST = 9,
	MT_STACK = 10, /* variable size: a user stack, referenced by hdr.stack_id */
	MT_INFO = 11, /* variable size: a "key=value" fact learned while tracing */
	MT_GOSTAT = 12, /* the Go runtime's own numbers, from the target's metrics endpoint */
	MT_RESIDENT = 13, /* which pages of the model's ranges are resident (pagemap) */
	MT_USTACK = 14, /* variable size: registers and top of the user stack at a release call */
	MT_MAPPING = 15, /* variable size: one file mapping of a traced process */
	MT_TYPE_MAX, /* one past the last known type */
};

/* The calling convention a syscall came in through (x86). */
enum mt_abi {
	MT_ABI_X86_64 = 0,
	MT_ABI_I386 = 1, /* int 0x80 / sysenter compat call */
	MT_ABI_X32 = 2,
};

/* hdr.flags */
enum mt_hdr_flags {
	/* madvise record produced by process_madvise(2); target in .target_pid */
	MT_F_PROCESS_MADVISE = 1 << 0,
	/* record synthesized by userspace (e.g. an RSS value read from /proc) */
	MT_F_SYNTH = 1 << 1,
	/* rss record carries smaps_rollup values (lazyfree, smaps_rss) */
	MT_F_SMAPS = 1 << 2,
	/* process_madvise iovec had more entries than were recorded */
	MT_F_IOV_TRUNC = 1 << 3,
	/* i386 old_mmap whose argument block could not be read */
	MT_F_ARGS_UNREAD = 1 << 4,
	/* an MT_USTACK record with this record's pid, tid and t_ns follows (not always at once) */
	MT_F_USTACK = 1 << 5,
};

/*
 * Common header: first member of every record. 32 bytes.
 * t_ns of a syscall record is when the call returned (its effect is then in
 * place). Records arrive nearly, not strictly, in t_ns order: a consumer must
 * tolerate small steps back (say, between two threads, or a periodic sample).
 */
struct mt_hdr {
	__u64 t_ns; /* CLOCK_MONOTONIC, nanoseconds */
	__u32 pid; /* thread group id (what userspace calls the pid) */
	__u32 tid;
	__u16 type; /* enum mt_type */
	__u16 size; /* size of the whole record, header included */
	__u8 abi; /* enum mt_abi */
	__u8 _pad0;
	__u16 flags; /* enum mt_hdr_flags */
	__u32 stack_id; /* 0: no user stack recorded; else the id of an MT_STACK record */
	__u32 _pad1;
};

/* mmap(2); i386 mmap2 is normalised to a byte offset. */
struct mt_mmap {
	struct mt_hdr h;
	__u64 addr; /* requested address (hint, or the fixed address) */
	__u64 len;
	__s64 ret; /* mapped address, or -errno */
	__u64 off; /* file offset in bytes */
	__u32 prot;
	__u32 flags;
	__s32 fd;
	__u32 _pad;
};

struct mt_munmap {
	struct mt_hdr h;
	__u64 addr;
	__u64 len;
	__s64 ret;
};

struct mt_mremap {
	struct mt_hdr h;
	__u64 old_addr;
	__u64 old_len;
	__u64 new_len;
	__u64 new_addr; /* argument; only meaningful with MREMAP_FIXED */
	__s64 ret; /* resulting address, or -errno */
	__u32 flags; /* MREMAP_* */
	__u32 _pad;
};

/*
 * madvise(2), and one record per iovec entry of process_madvise(2). For
 * process_madvise, .ret is the call's return value (bytes advised in total,
 * or -errno), and .target_pid is the process whose memory was advised.
 */
struct mt_madvise {
	struct mt_hdr h;
	__u64 addr;
	__u64 len;
	__s64 ret;
	__s32 advice;
	__u32 target_pid; /* == h.pid for madvise(2) */
};

struct mt_brk {
	struct mt_hdr h;
	__u64 addr; /* requested break (0 queries) */
	__s64 ret; /* resulting break */
};

struct mt_mprotect {
	struct mt_hdr h;
	__u64 addr;
	__u64 len;
	__s64 ret;
	__u32 prot;
	__u32 _pad;
};

/* Why an rss record was emitted. */
enum mt_rss_reason {
	MT_RSS_SYSCALL = 1, /* at the exit of a traced call that changed RSS */
	MT_RSS_FAULT = 2, /* grew outside a traced call (page faults); sampled, at most once per interval */
	MT_RSS_RECLAIM = 3, /* fell outside a traced call: reclaim, kswapd, another process */
	MT_RSS_START = 4, /* baseline of a newly traced address space (attach, exec, fork) */
	MT_RSS_END = 5, /* when tracing ended, or at exit just before the teardown frees everything */
	MT_RSS_SAMPLE = 6, /* periodic sample from /proc, with smaps_rollup (MT_F_SMAPS) */
};

/*
 * Memory counters of one process, in bytes, as the kernel keeps them (the
 * same counters /proc/PID/status shows). The kernel folds per-CPU deltas into
 * them in batches, so a value may lag the truth by up to 32 pages per CPU.
 */
struct mt_rss {
	struct mt_hdr h;
	__u64 anon;
	__u64 file;
	__u64 shmem;
	__u64 swap;
	__u64 lazyfree; /* smaps_rollup LazyFree; valid with MT_F_SMAPS */
	__u64 smaps_rss; /* smaps_rollup Rss; valid with MT_F_SMAPS */
	__u32 reason; /* enum mt_rss_reason */
	__u32 _pad;
};

enum mt_task_event {
	MT_TASK_ATTACH = 1, /* tracing of an existing process began */
	MT_TASK_LAUNCH = 2, /* a launched command started running */
	MT_TASK_FORK = 3, /* new process: .other_pid is the child */
	MT_TASK_CLONE = 4, /* new thread: .other_pid is the new tid */
	MT_TASK_EXEC = 5, /* .comm is the new command name */
	MT_TASK_EXIT = 6, /* whole process exited: .code is the wait status */
	MT_TASK_THREAD_EXIT = 7, /* one thread exited */
	MT_TASK_DETACH = 8, /* tracing ended while the process ran on */
};

struct mt_task {
	struct mt_hdr h;
	__u32 event; /* enum mt_task_event */
	__u32 other_pid;
	__s32 code;
	__u32 _pad;
	char comm[MT_COMM_LEN];
};

/* Events dropped by the backend (e.g. a full ring buffer) since the last lost record. */
struct mt_lost {
	struct mt_hdr h;
	__u64 count;
	__u32 cpu; /* ~0u: summed over all CPUs */
	__u32 _pad;
};

#define MT_MAX_STACK 64 /* frames kept per user stack */

/*
 * A user stack, innermost frame first. Written once per distinct stack, at
 * some point after (not necessarily before) the records that reference it.
 * Ids are shared by all traced processes: the ips belong to the address space
 * of the process of the record that references the stack (hdr.pid is 0).
 */
struct mt_stack {
	struct mt_hdr h;
	__u32 id; /* what hdr.stack_id of other records refers to */
	__u32 nr; /* frames that follow */
	__u64 ips[]; /* nr return addresses (h.size = sizeof(struct mt_stack) + 8 * nr) */
};

#define MT_MAX_INFO 1024

/*
 * A fact about a traced process learned while tracing, as "key=value"
 * (NUL-terminated; h.size covers it): "exe=/usr/bin/foo", "exe_base=0x...",
 * "go_version=go1.19.8", "env.GODEBUG=madvdontneed=1". Later records with the
 * same key and pid supersede earlier ones.
 */
struct mt_info {
	struct mt_hdr h;
	char text[];
};

/* Where the numbers of a gostat record came from. */
enum mt_gostat_source {
	MT_GOSTAT_PROMETHEUS = 1, /* the Prometheus text format (/metrics, client_golang) */
	MT_GOSTAT_EXPVAR = 2, /* expvar's JSON (/debug/vars, its "memstats" object) */
};

/* gostat .have: the fields the endpoint reported (the others are 0) */
enum mt_gostat_have {
	MT_GS_HEAP_RELEASED = 1 << 0,
	MT_GS_HEAP_IDLE = 1 << 1,
	MT_GS_HEAP_INUSE = 1 << 2,
	MT_GS_HEAP_SYS = 1 << 3,
	MT_GS_SYS = 1 << 4,
	MT_GS_STACK_INUSE = 1 << 5,
	MT_GS_NEXT_GC = 1 << 6,
	MT_GS_NUM_GC = 1 << 7,
};

/*
 * The Go runtime's view of its own memory at one moment, in bytes, as its
 * metrics endpoint reported it (the names are runtime.MemStats'). h.pid is
 * the process; h.t_ns when the response arrived (the runtime read its
 * numbers just before). Written by madvtrace, flagged MT_F_SYNTH.
 */
struct mt_gostat {
	struct mt_hdr h;
	__u64 heap_released; /* HeapReleased: heap returned to the OS (or never touched) */
	__u64 heap_idle; /* HeapIdle: heap in no span in use (released or not) */
	__u64 heap_inuse; /* HeapInuse */
	__u64 heap_sys; /* HeapSys: heap address space obtained from the OS */
	__u64 sys; /* Sys: everything the runtime obtained from the OS */
	__u64 stack_inuse; /* StackInuse */
	__u64 next_gc; /* NextGC */
	__u64 num_gc; /* NumGC */
	__u64 req_ns; /* how long the request took */
	__u32 source; /* enum mt_gostat_source */
	__u32 have; /* enum mt_gostat_have bits */
};

/* resident .flags */
enum mt_resident_flags {
	MT_RES_CAPPED = 1 << 0, /* the pass stopped at its page budget: the counts are partial */
};

/*
 * Which pages of the ranges the model holds in each state are in RAM, from
 * /proc/PID/pagemap, in bytes: written by madvtrace for a process at each
 * smaps sample and at the end (flagged MT_F_SYNTH). A page in swap counts
 * in swapped only.
 */
struct mt_resident {
	struct mt_hdr h;
	__u64 lazy_present; /* released lazily (MADV_FREE) and still in RAM: LazyFree, or written again */
	__u64 lazy_absent; /* released lazily and gone: the kernel reclaimed it */
	__u64 eager_present; /* released eagerly (MADV_DONTNEED...) and in RAM again: faulted back */
	__u64 eager_absent; /* released eagerly and not touched since */
	__u64 committed_present; /* committed (readable or writable, not released) and in RAM */
	__u64 committed_absent; /* committed and not in RAM: never touched, or reclaimed to nothing */
	__u64 swapped; /* any of these ranges, in swap */
	__u32 ranges; /* ranges examined */
	__u32 flags; /* enum mt_resident_flags */
};

/* x86-64 user registers in DWARF numbering (what .eh_frame rules name) */
enum mt_ureg {
	MT_UREG_RAX = 0, MT_UREG_RDX = 1, MT_UREG_RCX = 2, MT_UREG_RBX = 3,
	MT_UREG_RSI = 4, MT_UREG_RDI = 5, MT_UREG_RBP = 6, MT_UREG_RSP = 7,
	MT_UREG_R8 = 8, MT_UREG_R9, MT_UREG_R10, MT_UREG_R11,
	MT_UREG_R12, MT_UREG_R13, MT_UREG_R14, MT_UREG_R15,
	MT_UREG_RIP = 16,
	MT_UREG_NR = 17,
};

#define MT_USTACK_DEFAULT 8192 /* bytes of user stack copied by default (--stack-size) */
#define MT_USTACK_MAX 32768 /* the most a record holds */

/* ustack .flags */
enum mt_ustack_flags {
	MT_US_SHORT = 1 << 0, /* the copy ends before the stack does (it hit its size) */
	MT_US_FAULT = 1 << 1, /* the copy stopped at an unreadable page (often the stack's top) */
};

/*
 * What a userspace unwinder needs at a release call, as perf's --call-graph
 * dwarf keeps: the user registers at the syscall and the top of the user
 * stack from regs[MT_UREG_RSP] up. It belongs to the call record of the same
 * pid, tid and t_ns (which carries MT_F_USTACK). Only x86-64 calls get one.
 */
struct mt_ustack {
	struct mt_hdr h;
	__u64 regs[MT_UREG_NR]; /* rcx and r11 are clobbered by the syscall instruction */
	__u64 sp; /* user address of data[0] (regs[MT_UREG_RSP]) */
	__u32 len; /* bytes of stack in data[] */
	__u32 flags; /* enum mt_ustack_flags */
	__u8 data[]; /* h.size = sizeof(struct mt_ustack) + len, rounded up to 8 */
};

#define MT_BUILD_ID_MAX 20 /* a GNU build id (SHA-1); shorter ones are zero-padded */
#define MT_MAPPING_PATH_MAX 1024

/*
 * One file-backed mapping of a traced process, as /proc/PID/maps shows it,
 * so that report can symbolize without the process (and elsewhere). Written
 * by madvtrace (MT_F_SYNTH) at attach, at exec and as new file mappings
 * appear; a later record for an overlapping range supersedes the earlier one.
 */
struct mt_mapping {
	struct mt_hdr h;
	__u64 start;
	__u64 end;
	__u64 off; /* file offset of start */
	__u64 dev; /* st_dev of the file (makedev(major, minor)) */
	__u64 ino;
	__u32 prot; /* PROT_* */
	__u8 build_id_len; /* 0: none found */
	__u8 _pad[3];
	__u8 build_id[MT_BUILD_ID_MAX];
	__u32 _pad1;
	char path[]; /* NUL-terminated, at most MT_MAPPING_PATH_MAX bytes with the NUL */
};

/* Which backend produced a trace (trace file header). */
enum mt_backend_id {
	MT_BACKEND_BPF = 1,
	MT_BACKEND_PTRACE = 2,
	MT_BACKEND_PRELOAD = 3,
};

/* Largest record of this contract version. */
#define MT_MAX_RECORD_SIZE (sizeof(struct mt_ustack) + MT_USTACK_MAX)

#endif /* MADVTRACE_H */
