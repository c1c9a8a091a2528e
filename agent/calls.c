// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A call the program made, through a hook or trapped by the filter, as the
 * record the bpf backend would make of it (madvtrace/build.h), with the
 * caller as a one-frame stack (--stacks) and what it means for RSS.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "core.h"
#include "text.h"
#include "ustack.h"

#define STACK_SLOTS 4095

/* the one-frame stacks written so far (--stacks): their ips, by slot; ids are prefix | slot + 1 */
static uint32_t stack_prefix;
static uint64_t stack_ips[STACK_SLOTS];

void mt_calls__reset(uint32_t pid)
{
	memset(stack_ips, 0, sizeof(stack_ips));
	/* ids are shared by every process of a trace: the pid is in their high bits */
	stack_prefix = ((pid % 0xfffffu) + 1) << 12;
	mt_ustack__config();
}

/* The id of a one-frame stack holding ip; written to the trace the first time. */
static uint32_t stack_id(uint64_t ip, uint64_t t)
{
	uint32_t h = (uint32_t)((ip * 0x9e3779b97f4a7c15ull) >> 40) % STACK_SLOTS;

	for (int i = 0; i < 64; i++) {
		uint32_t slot = (h + (uint32_t)i) % STACK_SLOTS, id = stack_prefix | (slot + 1);
		uint64_t cur = __atomic_load_n(&stack_ips[slot], __ATOMIC_ACQUIRE);
		union {
			struct mt_stack st;
			char b[sizeof(struct mt_stack) + 8];
		} u;

		if (cur == ip)
			return id;
		if (cur)
			continue;
		if (!__atomic_compare_exchange_n(&stack_ips[slot], &cur, ip, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (cur == ip)
				return id;
			continue;
		}
		/* ids are shared by every process of a trace: the pid is in the id's high bits */
		mt_record_init(&u.st.h, MT_STACK, sizeof(u), 0, 0, t);
		u.st.id = id;
		u.st.nr = 1;
		u.st.ips[0] = ip;
		mt_out__put(&u.st.h, false);
		return id;
	}
	return 0;
}

/* The pid behind a pidfd of this process (its fdinfo "Pid:" line), or 0. */
static uint32_t pidfd_pid(int fd)
{
	char path[64] = "/proc/self/fdinfo/", buf[512];
	const char *p;
	uint64_t v = 0;
	long f, n;

	if (fd < 0)
		return 0;
	mt_cat_u64(path, sizeof(path), (uint64_t)fd);
	f = mt_sys3(SYS_open, path, O_RDONLY | O_CLOEXEC, 0);
	if (f < 0)
		return 0;
	n = mt_sys3(SYS_read, f, buf, sizeof(buf) - 1);
	mt_sys1(SYS_close, f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	if (!p || !mt_parse_u64(p + 5, &v))
		return 0;
	return (uint32_t)v;
}


static void record_process_madvise(const struct mt_call_args *c, const __u64 a[6], uint32_t tid,
				   uint64_t t, uint32_t stack, uint16_t flags)
{
	struct iovec iov[MT_MAX_IOV], local, remote;
	size_t vlen = (size_t)a[2], n = vlen < MT_MAX_IOV ? vlen : MT_MAX_IOV;
	uint32_t target = pidfd_pid((int)a[0]);
	struct mt_madvise m;
	long got;

	memset(iov, 0, sizeof(iov));
	/* the vector is the caller's: read it without trusting it (no fault here) */
	local.iov_base = iov;
	local.iov_len = n * sizeof(struct iovec);
	remote.iov_base = (void *)a[1];
	remote.iov_len = local.iov_len;
	got = mt_raw_syscall(SYS_process_vm_readv, mt_ag.pid, (long)&local, 1, (long)&remote, 1, 0);
	if (got < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		mt_record_init(&m.h, MT_MADVISE, sizeof(m), mt_ag.pid, tid, t);
		m.h.flags = MT_F_PROCESS_MADVISE | (vlen > MT_MAX_IOV ? MT_F_IOV_TRUNC : 0) | flags;
		m.h.stack_id = stack;
		mt_fill_process_madvise(&m, a, (uint64_t)iov[i].iov_base, iov[i].iov_len, c->ret,
					target);
		mt_out__put(&m.h, false);
	}
}

/* One call as the bpf backend records it, from the thread that made it. */
static void record(const struct mt_call_args *c, uint32_t tid, uint64_t t)
{
	struct mt_ustack *us = NULL;
	union mt_call_record u;
	uint32_t stack = 0;
	__u64 a[6];

	for (int i = 0; i < 6; i++)
		a[i] = (__u64)c->a[i];
	mt_args_normalise(a, c->sc, MT_ABI_X86_64);
	if (mt_ag.stacks && c->caller && mt_call_may_release(c->sc, a)) {
		stack = stack_id(c->caller, t);
		/* registers and stack bytes for an unwinder, written after the call's record */
		us = mt_ustack__take(tid, t, c->regs);
	}
	if (c->sc == MT_SC_PROCESS_MADVISE) {
		record_process_madvise(c, a, tid, t, stack, us ? MT_F_USTACK : 0);
	} else {
		/* the builder fills every field of the record but the header's */
		memset(&u.h, 0, sizeof(u.h));
		if (!mt_build_call(&u, c->sc, a, c->ret, mt_ag.pid)) {
			if (us)
				mt_ustack__give(us);
			return;
		}
		u.h.t_ns = t;
		u.h.pid = mt_ag.pid;
		u.h.tid = tid;
		u.h.stack_id = stack;
		u.h.flags = us ? MT_F_USTACK : 0;
		mt_out__put(&u.h, false);
	}
	if (us) {
		mt_out__put(&us->h, false);
		mt_ustack__give(us);
	}
	mt_rss__after_call(c->sc, a, t);
	if (c->sc == MT_SC_PROCESS_MADVISE)
		return;
	if (mt_periodic__claim(t))
		mt_periodic__run(t, false);
}

void mt_agent_record(const struct mt_call_args *c)
{
	record(c, mt_tid(), mt_now_ns());
}

/* ---- calls the filter trapped (trap.c hands them over) ---- */

bool mt_catching(void)
{
	return __atomic_load_n(&mt_ag.catching, __ATOMIC_RELAXED);
}

void mt_trapped_call(const struct mt_call_args *c)
{
	__atomic_add_fetch(&mt_ag.caught, 1, __ATOMIC_RELAXED);
	if (mt_recording())
		record(c, mt_tid(), mt_now_ns());
}
