/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The seccomp filter of the ptrace backend's launch mode: the calls madvtrace
 * records (MT_SYSCALLS, include/madvtrace/syscalls.h) stop the tracee with
 * SECCOMP_RET_TRACE, every other call runs untouched. Built once in the
 * tracer with libseccomp from the table, for the x86-64, i386 and x32 ABIs
 * (a call from any other ABI traps too, so none is missed), installed in the
 * child before exec with a plain seccomp(2) call.
 *
 * Without a tracer using PTRACE_O_TRACESECCOMP, SECCOMP_RET_TRACE fails the
 * call with ENOSYS: a filtered process must never outlive its tracer.
 */
#ifndef MT_SECCOMP_FILTER_H
#define MT_SECCOMP_FILTER_H

#include <stdint.h>
#include <linux/filter.h>

/* SECCOMP_RET_DATA of our RET_TRACE actions, seen by the tracer ("MT") */
#define MT_SECCOMP_DATA 0x4d54

struct mt_seccomp_filter;

/* Build the filter; NULL with errno set on failure (EDOM: libseccomp numbers a call otherwise than the table). */
struct mt_seccomp_filter *mt_seccomp_filter__new(void);
/*
 * Install it on the calling thread (and its future children). Safe after
 * fork(): no allocation. Without CAP_SYS_ADMIN the kernel requires
 * no_new_privs, which is then set (setuid programs run without their
 * privileges). Returns 0 or -errno.
 */
int mt_seccomp_filter__install(const struct mt_seccomp_filter *f);
/* Number of BPF instructions (for tests and -v). */
unsigned int mt_seccomp_filter__len(const struct mt_seccomp_filter *f);
void mt_seccomp_filter__free(struct mt_seccomp_filter *f);

#endif
