/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every loader of madvtrace's eBPF program needs (the bpf backend and
 * the exporter's counting mode), as libbpf-tools' *_helpers.c: libbpf's log
 * behind -v, and the privileges kept once the programs are attached.
 */
#ifndef MT_BPF_HELPERS_H
#define MT_BPF_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>

/* Route libbpf's messages to stderr: warnings always, info with -v, debug with -vv. */
void mt_bpf__log_setup(int verbose);
/*
 * While on, warnings too need -v: a load that may fail and be tried again
 * another way (the bpf backend's ring-reserved stack copies before 6.16).
 */
void mt_bpf__log_quiet(bool on);
/*
 * The privilege drop, once the programs are attached and the command is
 * spawned (docs/security.md "What the recorder keeps"): the process becomes
 * the invoking user (SUDO_UID, SUDO_GID and that user's groups; `nobody` when
 * root ran it directly), keeps only the capabilities in `keep` (effective and
 * permitted; bounding set cleared of all others, ambient and inheritable
 * empty) and sets no_new_privs. Call it while the process has one thread:
 * credentials are per thread, and threads started later inherit the result.
 * Returns 0 or -errno with `reason` filled; a process that is not root keeps
 * its uid and has its capabilities trimmed the same way.
 */
/* What every recorder keeps: another user's /proc/PID (smaps_rollup, maps, exe
 * need ptrace access; environ and pagemap are mode 0400 of the process's owner). */
#define MT_PRIVS_PROC ((1ull << CAP_SYS_PTRACE) | (1ull << CAP_DAC_READ_SEARCH))
int mt_privs__drop(uint64_t keep, char *reason, size_t len);

struct mt_session;
/*
 * The drop for a recording session: MT_PRIVS_PROC, and CAP_KILL when the
 * backend signals its command (`signals`) and the command runs as another
 * user than the one the recorder becomes. Prints one line on failure.
 */
int mt_privs__drop_session(const struct mt_session *s, bool signals);

#endif
