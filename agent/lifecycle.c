// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process events, from the hooks and libc's handlers: a new thread, a
 * fork's child (followed: a recorder of its own; not: recording stops), a
 * spawn, an exec (everything out first; the next program gets the agent's
 * variables), a thread's and the process's exit.
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include "agent_proto.h"
#include "core.h"
#include "text.h"

/* The parts of the environment a child we do not follow must not pass on. */
void mt_life__strip_env(void)
{
	extern char **environ;
	char **r, **w;

	if (!environ)
		return;
	for (r = w = environ; *r; r++) {
		if (!strncmp(*r, "LD_PRELOAD=", 11))
			mt_preload_strip(*r + 11, MT_AGENT_LIB);
		else if (!strncmp(*r, "MADVTRACE_", 10))
			continue;
		*w++ = *r;
	}
	*w = NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		mt_sys1(SYS_close, *fd);
	*fd = -1;
}

/* A fork record, written straight out (the child's ring is not there yet). */
static void write_fork_record(uint32_t parent, uint32_t parent_tid, uint32_t child)
{
	struct {
		uint32_t len;
		struct mt_task k;
	} __attribute__((packed)) f;

	if (mt_ag.out_err || mt_ag.out_fd < 0)
		return;
	memset(&f, 0, sizeof(f));
	f.len = sizeof(f.k);
	f.k.h.type = MT_TASK;
	f.k.h.size = sizeof(f.k);
	f.k.h.t_ns = mt_raw_now_ns();
	f.k.h.pid = parent;
	f.k.h.tid = parent_tid;
	f.k.event = MT_TASK_FORK;
	f.k.other_pid = child;
	mt_get_comm(f.k.comm);
	mt_out__write((const unsigned char *)&f, sizeof(f));
}

/*
 * In a new child (single-threaded; async-signal-safe calls only). It
 * inherited a copy of the parent's ring and descriptors: the ring's
 * records are the parent's to write, and the /proc descriptors are the
 * parent's files. A child we follow gets its own of each; one we do not
 * follow stops recording. The filter and the SIGSYS handler come with the
 * fork: the child's trapped calls are made (and recorded if followed) by
 * the handler in the child itself.
 */
static void fork_child(void)
{
	uint32_t parent = mt_ag.pid, parent_tid = mt_ag.fork_tid ? mt_ag.fork_tid : mt_tls_tid;

	mt_tls_tid = 0;
	mt_ag.pid = (uint32_t)mt_sys0(SYS_getpid);
	mt_ag.consumer = 0;
	mt_ag.fork_tid = 0;
	mt_ag.caught = 0;
	if (!parent_tid)
		parent_tid = parent;
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED))
		return;
	mt_tls_internal++;
	if (!mt_ag.follow) {
		write_fork_record(parent, parent_tid, mt_ag.pid);
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		close_fd(&mt_ag.out_fd);
		close_fd(&mt_ag.timer_fd);
		close_fd(&mt_ag.status_fd);
		close_fd(&mt_ag.smaps_fd);
		mt_sys2(SYS_munmap, mt_ag.ring_mem, mt_ag.ring_len);
		mt_ag.ring_mem = NULL;
		mt_life__strip_env();
		mt_tls_internal--;
		return;
	}

	/* followed: a recorder of its own */
	mt_ag.ring_mem = (void *)mt_raw_syscall(SYS_mmap, 0, (long)mt_ag.ring_len,
					     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					     -1, 0);
	if (mt_ret_is_err((long)mt_ag.ring_mem)) {
		mt_ag.ring_mem = NULL;
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		mt_tls_internal--;
		return;
	}
	mt_ring_init(&mt_ag.ring, mt_ag.ring_mem, mt_ag.ring_len);
	close_fd(&mt_ag.timer_fd);
	mt_ag.timer_fd = mt_high_fd((int)mt_sys2(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC));
	close_fd(&mt_ag.status_fd);
	close_fd(&mt_ag.smaps_fd);
	mt_rss__open_fds();
	mt_calls__reset(mt_ag.pid);
	mt_rss__fork_child();
	/* the parent's buffers came along: what they hold is the parent's to write */
	mt_out__fork_child();
	mt_out__task(MT_TASK_FORK, parent, parent_tid, mt_ag.pid, 0, mt_raw_now_ns());
	mt_rss__start(mt_raw_now_ns());
	mt_ag.next_work_ns = mt_raw_now_ns() + mt_ag.rss_ns;
	mt_periodic__arm(mt_ag.next_work_ns + mt_ag.rss_ns);
	mt_out__flush_own();
	if (mt_agent_thread__start()) {
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		mt_tls_internal--;
		return;
	}
	mt_tls_internal--;
}

void mt_on_fork_child(void)
{
	fork_child();
}

static void fork_prepare(void)
{
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED))
		return;
	mt_ag.fork_tid = mt_tid();
	/* the parent's records up to the fork go out before the child's fork record */
	mt_out__flush_all();
}

static void fork_parent(void)
{
	mt_ag.fork_tid = 0;
}

void mt_on_spawn(pid_t child)
{
	if (mt_recording() && child > 0)
		mt_out__task(MT_TASK_FORK, mt_ag.pid, mt_tid(), (uint32_t)child, 0, mt_now_ns());
}

void mt_on_thread_start(uint32_t creator_tid)
{
	/* here, not in a signal handler, glibc may allocate for the key (output.c tb_mine) */
	if (mt_ag.have_key)
		pthread_setspecific(mt_ag.key, (void *)1);
	if (!mt_recording())
		return;
	/* the record the bpf backend makes in the creator's context, made from the new thread */
	mt_out__task(MT_TASK_CLONE, mt_ag.pid, creator_tid, mt_tid(), 0, mt_now_ns());
}

static void thread_exit(void *v)
{
	(void)v;
	if (mt_recording() && !mt_ag.exiting)
		mt_out__task(MT_TASK_THREAD_EXIT, mt_ag.pid, mt_tid(), 0, 0, mt_now_ns());
	mt_out__thread_exit();
}

void mt_on_exit(int status)
{
	uint64_t now;

	if (!mt_recording() || __atomic_exchange_n(&mt_ag.exiting, true, __ATOMIC_ACQ_REL))
		return;
	now = mt_now_ns();
	mt_out__task(MT_TASK_EXIT, mt_ag.pid, mt_tid(), 0, (status & 0xff) << 8, now);
	/* RSS as the program leaves it, before the teardown frees it all */
	mt_rss__end(now);
	if (mt_catching()) {
		char n[24] = "";

		mt_out__info("agent.caught", mt_cat_u64(n, sizeof(n), __atomic_load_n(&mt_ag.caught,
									 __ATOMIC_RELAXED)));
	}
	mt_out__flush_all();
	__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
}

static void on_exit_handler(int status, void *arg)
{
	(void)arg;
	mt_on_exit(status);
}

/*
 * Will the program at path load the agent (and take the descriptor)? A
 * static ELF file does not, nor a set-user-ID or set-group-ID one that
 * would run without no_new_privs (the dynamic loader ignores LD_PRELOAD
 * for it): they must not inherit the socket to madvtrace. Only an absolute
 * path is judged (a relative one may be execveat's, relative to another
 * directory; a bare name is execvp's, searched in PATH): any doubt passes
 * the descriptor on, as a program that does load the agent needs it.
 */
static bool next_loads_agent(const char *path)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	struct stat st;
	bool interp = false;
	int fd;

	if (!path || path[0] != '/')
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return true; /* the exec fails the same way */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh)) {
		interp = true;
		goto out;
	}
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		interp = true; /* a script: its interpreter is a program of its own, dynamic as a rule */
		goto out;
	}
	for (int i = 0; i < eh.e_phnum && i < 256 && !interp; i++) {
		if (eh.e_phentsize != sizeof(ph) ||
		    pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph))
			break;
		interp = ph.p_type == PT_INTERP;
	}
	if (interp && (st.st_mode & (S_ISUID | S_ISGID)) && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		interp = false;
out:
	mt_raw_close(fd);
	return interp;
}

void mt_before_exec(const char *path, int *undo)
{
	struct mt_agent_note n;

	*undo = 0;
	/* a vfork child's exec: the parent's records and descriptor are not its to touch */
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) || mt_tls_vfork)
		return;
	mt_out__flush_all();
	if (mt_ag.out_kind == OUT_SOCKET) {
		/*
		 * Last, straight out: so madvtrace can tell if the next program
		 * never says it started.
		 */
		struct {
			uint32_t len;
			struct mt_agent_note n;
		} __attribute__((packed)) f;

		f.len = sizeof(n);
		mt_record_init(&n.h, MT_AGENT_NOTE, sizeof(n), mt_ag.pid, mt_tid(), mt_now_ns());
		n.level = MT_NOTE_EXEC;
		mt_cat(n.text, sizeof(n.text), path ? path : "?");
		memcpy(&f.n, &n, sizeof(n));
		mt_out__write((const unsigned char *)&f, sizeof(f));
	}
	/* the next program of this process is traced too: it needs the descriptor */
	if (!mt_ag.follow && mt_ag.out_fd >= 0 && next_loads_agent(path)) {
		mt_set_cloexec(mt_ag.out_fd, false);
		*undo = 1;
	}
}

void mt_exec_failed(int undo)
{
	if (undo && mt_ag.out_fd >= 0)
		mt_set_cloexec(mt_ag.out_fd, true);
}

/* ---- the environment an exec passes on ---- */

#define ENV_SAVE 4096

/* "KEY=VALUE\0" strings exec must pass on for the next program to be traced */
static char env_save[ENV_SAVE];
static size_t env_used;

void mt_life__save_env(const char *key, const char *value)
{
	size_t need;

	if (!value)
		return;
	need = strlen(key) + 1 + strlen(value) + 1;
	if (env_used + need > ENV_SAVE)
		return;
	memcpy(env_save + env_used, key, strlen(key));
	env_save[env_used + strlen(key)] = '=';
	memcpy(env_save + env_used + strlen(key) + 1, value, strlen(value) + 1);
	env_used += need;
}

/*
 * envp for the next program of a traced process: the one given, plus each
 * of the agent's variables it lacks (a program that builds its own
 * environment would otherwise run the next program untraced). out has room
 * for n + 16 pointers; preload is a buffer for a rewritten LD_PRELOAD.
 * Returns envp itself when nothing is missing.
 */
char *const *mt_exec_env(char *const *envp, char **out, size_t room, char *preload,
			 size_t preload_len)
{
	size_t n = 0, i, k;
	const char *p;
	bool changed = false;

	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) || !envp)
		return envp;
	for (n = 0; envp[n]; n++)
		;
	if (n + 16 > room)
		return envp;
	for (i = 0; i < n; i++)
		out[i] = envp[i];
	for (p = env_save; p < env_save + env_used; p += strlen(p) + 1) {
		size_t klen = (size_t)(strchr(p, '=') - p) + 1;
		bool found = false;

		for (k = 0; k < n; k++) {
			if (strncmp(out[k], p, klen))
				continue;
			found = true;
			if (klen == 11 && !strncmp(p, "LD_PRELOAD=", 11) &&
			    !mt_preload_has(out[k] + 11, MT_AGENT_LIB)) {
				/* theirs, with the agent in front */
				preload[0] = '\0';
				mt_cat(preload, preload_len, p);
				mt_cat(preload, preload_len, ":");
				mt_cat(preload, preload_len, out[k] + 11);
				out[k] = preload;
				changed = true;
			}
			break;
		}
		if (!found && n + 1 < room) {
			out[n++] = (char *)p;
			changed = true;
		}
	}
	out[n] = NULL;
	return changed ? out : envp;
}

void mt_life__install(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	on_exit(on_exit_handler, NULL);
	mt_ag.have_key = !pthread_key_create(&mt_ag.key, thread_exit);
	/* this thread ends like the others: through thread_exit */
	if (mt_ag.have_key)
		pthread_setspecific(mt_ag.key, (void *)1);
}
