// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of any per-call counting (export-bench.py --floor): programs
 * that return at once, on each attachment a counter could use. floor.c
 * attaches the ones whose name starts with the mode it is given.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What the counting mode attaches to: the BTF-typed raw tracepoint. */
SEC("tp_btf/sys_exit")
int tpbtf_sys_exit(void *ctx)
{
	return 0;
}

/* The same tracepoint, untyped. */
SEC("raw_tracepoint/sys_exit")
int rawtp_sys_exit(void *ctx)
{
	return 0;
}

/* Per-syscall tracepoints (perf_event_open of the tracefs id): the kernel filters by call. */
SEC("tracepoint/syscalls/sys_exit_mmap")
int persc_mmap(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int persc_munmap(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_madvise")
int persc_madvise(void *ctx)
{
	return 0;
}
