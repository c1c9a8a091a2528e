/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every loader of madvtrace's eBPF program needs (the bpf backend and
 * the exporter's counting mode), as libbpf-tools' *_helpers.c: libbpf's log
 * behind -v, and the privileges kept once the programs are attached.
 */
#ifndef MT_BPF_HELPERS_H
#define MT_BPF_HELPERS_H

/* Route libbpf's messages to stderr: warnings always, info with -v, debug with -vv. */
void mt_bpf__log_setup(int verbose);
/*
 * Once the programs run we need none of root's powers but reading the
 * targets' /proc files: keep CAP_SYS_PTRACE (smaps_rollup and environ of
 * another user's process) and drop the rest, for good (bounding set too,
 * and no_new_privs: nothing comes back through exec or setuid).
 */
void mt_privs__keep_ptrace_only(void);

#endif
