/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the agent's hooks (hooks.c, trap.c) and its core (see core.h) share. */
#ifndef MT_AGENT_H
#define MT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "madvtrace/build.h"

#define MT_HIDDEN __attribute__((visibility("hidden")))
/* Thread-local data the hooks can reach without a function call (no __tls_get_addr). */
#define MT_TLS __thread __attribute__((tls_model("initial-exec")))

/* The one system call instruction the filter lets through (raw.S). */
long mt_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) MT_HIDDEN;
extern char mt_raw_syscall_ret[] MT_HIDDEN;
long mt_raw_clone(unsigned long flags, void *stack_top, void *tls, int (*fn)(void *),
		  void *arg) MT_HIDDEN;

#define mt_sys0(nr) mt_raw_syscall((nr), 0, 0, 0, 0, 0, 0)
#define mt_sys1(nr, a) mt_raw_syscall((nr), (long)(a), 0, 0, 0, 0, 0)
#define mt_sys2(nr, a, b) mt_raw_syscall((nr), (long)(a), (long)(b), 0, 0, 0, 0)
#define mt_sys3(nr, a, b, c) mt_raw_syscall((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define mt_sys4(nr, a, b, c, d)                                                                    \
	mt_raw_syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define mt_sys5(nr, a, b, c, d, e)                                                                 \
	mt_raw_syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* Copy from the program's memory without trusting the address (no fault: false). */
bool mt_safe_read(uint64_t addr, void *dst, size_t len) MT_HIDDEN;

extern int mt_agent_on MT_HIDDEN;
extern MT_TLS int mt_tls_internal MT_HIDDEN;
/*
 * This thread is a vfork child's (set by the vfork hook in the child, on the
 * parent's thread's memory; cleared when the parent resumes): the agent's
 * state is the parent's, and nothing here may record or tear it down.
 */
extern MT_TLS int mt_tls_vfork MT_HIDDEN;

/* Is the agent recording this process, and is this thread not inside the agent itself? */
static inline bool mt_recording(void)
{
	return __atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) && !mt_tls_internal &&
	       !mt_tls_vfork;
}

/* A call made through a hook, recorded when it returned (t_ns is taken here); mt_recording() first. */
struct mt_call_args {
	int sc; /* the traced call, MT_SC_* (madvtrace/syscalls.h) */
	long a[6];
	long ret; /* the kernel's result: a value or -errno */
	uint64_t caller; /* return address of the hook, for --stacks */
	/*
	 * a trapped call: the program's registers at its system call (DWARF
	 * order, MT_UREG_*), for --stacks; NULL: the hook's own are taken
	 */
	const uint64_t *regs;
};
void mt_agent_record(const struct mt_call_args *c) MT_HIDDEN;

/* The data of the filter's traps: how the SIGSYS handler knows its own (si_errno). */
#define MT_TRAP_DATA 0x4d54

/* Are calls caught (the filter is in place, SIGSYS is the agent's)? */
bool mt_catching(void) MT_HIDDEN;
/* A call the filter trapped, made by the SIGSYS handler: record it (trap.c). */
void mt_trapped_call(const struct mt_call_args *c) MT_HIDDEN;
/* Take SIGSYS over (the program's action kept aside), before the filter goes in. 0 or -errno. */
int mt_trap_install(void) MT_HIDDEN;
void mt_trap_uninstall(void) MT_HIDDEN;

/* Process events, called by the hooks. */
void mt_on_thread_start(uint32_t creator_tid) MT_HIDDEN;
void mt_on_spawn(pid_t child) MT_HIDDEN; /* posix_spawn made child */
void mt_on_fork_child(void) MT_HIDDEN; /* in the child of a fork that ran no atfork handler */
void mt_on_exit(int status) MT_HIDDEN; /* the process exits with status (exit, _exit) */
/* exec of path (NULL: unknown) is about to replace the program: write out everything; *undo for mt_exec_failed */
void mt_before_exec(const char *path, int *undo) MT_HIDDEN;
void mt_exec_failed(int undo) MT_HIDDEN;
/* Is fd one of the agent's own descriptors (the program may not close them)? */
bool mt_is_agent_fd(int fd) MT_HIDDEN;
/* The agent's open descriptors into fds; returns how many (at most 5). */
int mt_agent_fds(int fds[5]) MT_HIDDEN;
uint32_t mt_tid(void) MT_HIDDEN;

/*
 * envp for the next program of a traced process: envp plus whichever of the
 * agent's variables it lacks. out has room for room pointers; preload, of
 * preload_len bytes, may hold a rewritten LD_PRELOAD. May return envp itself.
 */
char *const *mt_exec_env(char *const *envp, char **out, size_t room, char *preload,
			 size_t preload_len) MT_HIDDEN;
/* Resolve every next function the hooks forward to (at start-up, before any filter). */
void mt_hooks_resolve(void) MT_HIDDEN;

/* The next function called name after the agent's own (dlsym RTLD_NEXT, cached). */
void *mt_next(const char *name, void **cache) MT_HIDDEN;

#endif
