// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The preload backend: the command runs with libmadvtrace-agent.so preloaded
 * (agent/), which records inside the program and writes its records, in
 * trace-file framing, to a SOCK_SEQPACKET socket; madvtrace reads them and
 * hands them to emit() like any backend. No privilege, no ptrace.
 *
 * Why a socket rather than letting the agent write the file: madvtrace's
 * sink also prints the live view and the summary, and owns the file (its
 * creation as the sudo user, its header); a record stream in the trace's
 * own framing keeps the agent simple and the file madvtrace's. A
 * SOCK_SEQPACKET socket keeps each of the agent's writes whole however many
 * processes (-f) write to it, and reads EOF once every one of them is gone.
 *
 * Launch only: an LD_PRELOAD library is loaded when a program starts.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include "bpf_helpers.h"
#include "agent_proto.h"
#include "agent_stream.h"
#include "backend.h"
#include "launch.h"
#include "procfs.h"
#include "recworker.h"

#define POLL_MS 50
#define AGENT_FD_MIN 700
#define RECV_MAX (64 * 1024)

#ifndef MT_AGENT_INSTALL_DIR
#define MT_AGENT_INSTALL_DIR "/usr/local/lib/madvtrace"
#endif

/* A process that announced an exec and has sent nothing since. */
struct pending_exec {
	uint32_t pid;
	char path[MT_NOTE_LEN];
};

struct pl {
	struct mt_session *s;
	struct pending_exec *pend;
	size_t npend;
	uint32_t *pids; /* processes heard from and not seen exiting */
	size_t npids;
	uint32_t *tree; /* the command and the descendants that have written to us */
	size_t ntree;
	uint64_t forged; /* records dropped: from or about a process outside the tree */
	struct mt_infowork *info; /* describes exec'd programs off the draining thread */
	int sock;
	pid_t child;
	bool child_done, agent_seen, exit_seen, eof, told_eof;
	uint64_t eof_ns; /* when every agent had gone */
	int err; /* first error from emit */
	uint64_t records;
	char comm[MT_COMM_LEN];
};

static bool readable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, R_OK);
}

/*
 * Where the agent is: $MADVTRACE_AGENT if set; else next to the madvtrace
 * binary (the build tree), ../lib/madvtrace beside its bin directory, and
 * the directory `make install` puts it in. Absolute, as LD_PRELOAD needs.
 */
static bool find_agent(char *out, size_t len, char *why, size_t whylen)
{
	const char *env = getenv("MADVTRACE_AGENT");
	char exe[PATH_MAX], cand[PATH_MAX + 64], *slash;
	const char *const rel[] = { "/" MT_AGENT_LIB, "/../lib/madvtrace/" MT_AGENT_LIB };
	ssize_t n;

	if (env && *env) {
		if (!readable(env) || !realpath(env, out) || strlen(out) >= len) {
			snprintf(why, whylen, "MADVTRACE_AGENT=%s is not a readable file", env);
			return false;
		}
		return true;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
			if (readable(cand) && realpath(cand, out))
				return true;
		}
	}
	snprintf(cand, sizeof(cand), "%s/%s", MT_AGENT_INSTALL_DIR, MT_AGENT_LIB);
	if (readable(cand) && realpath(cand, out))
		return true;
	snprintf(why, whylen,
		 "cannot find %s (looked next to madvtrace, in ../lib/madvtrace and in %s; "
		 "MADVTRACE_AGENT=PATH names it)",
		 MT_AGENT_LIB, MT_AGENT_INSTALL_DIR);
	return false;
}

static bool preload_available(char *why, size_t whylen)
{
	char path[PATH_MAX];

	return find_agent(path, sizeof(path), why, whylen);
}

/* The file execvp would run for cmd, or false (exec then reports why). */
static bool resolve(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(cmd, '/'))
		return snprintf(out, len, "%s", cmd) < (int)len;
	for (p = path ? path : "/usr/local/bin:/bin:/usr/bin"; *p; p = end + (*end == ':')) {
		struct stat st;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(out, len, "%.*s/%s", (int)(end - p) ? (int)(end - p) : 1,
			 (end - p) ? p : ".", cmd);
		if (!stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK))
			return true;
	}
	return false;
}

/*
 * Will the dynamic loader load the agent into this program? Not into a
 * static one (no loader runs), a 32-bit one (the agent is 64-bit), nor one
 * that runs with privileges the caller lacks (set-user-ID, set-group-ID,
 * file capabilities: the loader is in secure mode and ignores LD_PRELOAD).
 * One line on stderr and -errno when it will not; 0 when it will or when
 * exec will say what is wrong.
 */
static int check_target(struct mt_session *s, const char *cmd, int depth)
{
	char path[PATH_MAX], interp[PATH_MAX];
	unsigned char buf[4096];
	uid_t uid = s->uid != (uid_t)-1 ? s->uid : geteuid();
	gid_t gid = s->gid != (gid_t)-1 ? s->gid : getegid();
	Elf64_Ehdr *eh = (void *)buf;
	struct stat st;
	ssize_t n;
	int fd;

	if (!resolve(cmd, path, sizeof(path)) || stat(path, &st))
		return 0;
	if (((st.st_mode & S_ISUID) && st.st_uid != uid) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != gid)) {
		fprintf(stderr,
			"madvtrace: %s is set-%s-ID: the dynamic loader ignores LD_PRELOAD for it, "
			"so the preload backend cannot trace it; use --backend=bpf (as root)\n",
			path, (st.st_mode & S_ISUID) && st.st_uid != uid ? "user" : "group");
		return -EPERM;
	}
	if (getxattr(path, "security.capability", NULL, 0) > 0) {
		fprintf(stderr,
			"madvtrace: %s has file capabilities: the dynamic loader ignores LD_PRELOAD "
			"for it, so the preload backend cannot trace it; use --backend=bpf (as root)\n",
			path);
		return -EPERM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n >= 2 && buf[0] == '#' && buf[1] == '!' && depth == 0) {
		/* a script: what matters is its interpreter */
		size_t i = 2, j = 0;

		while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		while (i < (size_t)n && j + 1 < sizeof(interp) && buf[i] != ' ' && buf[i] != '\t' &&
		       buf[i] != '\n')
			interp[j++] = (char)buf[i++];
		interp[j] = '\0';
		return j ? check_target(s, interp, 1) : 0;
	}
	if (n < (ssize_t)sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG))
		return 0;
	if (buf[EI_CLASS] == ELFCLASS32) {
		fprintf(stderr,
			"madvtrace: %s is a 32-bit program and the preload agent is a 64-bit "
			"library; use --backend=bpf (root) or --backend=ptrace\n",
			path);
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr))
		return 0;
	if (eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= (uint64_t)n) {
		Elf64_Phdr *ph = (void *)(buf + eh->e_phoff);
		bool interp_seen = false;

		for (int i = 0; i < eh->e_phnum; i++)
			interp_seen |= ph[i].p_type == PT_INTERP;
		if (!interp_seen) {
			fprintf(stderr,
				"madvtrace: %s is statically linked: no dynamic loader runs in it to "
				"load the preload agent; use --backend=bpf (root) or "
				"--backend=ptrace\n",
				path);
			return -ENOEXEC;
		}
	}
	return 0;
}

/* ---- the environment of the command ---- */

struct child_env {
	char **envp;
	char *pid_var; /* "MADVTRACE_PID=" and room for the child's pid, filled in after fork */
};

/* "KEY=N", allocated. */
static char *kv(const char *key, unsigned long long v)
{
	char *s = NULL;

	return asprintf(&s, "%s=%llu", key, v) < 0 ? NULL : s;
}

static void free_env(struct child_env *e)
{
	if (!e->envp)
		return;
	for (char **p = e->envp; *p; p++)
		free(*p);
	free(e->envp);
	e->envp = NULL;
}

/*
 * Our environment, minus madvtrace's own variables (but MADVTRACE_CATCH,
 * the user's to set), with the agent first in LD_PRELOAD and its settings.
 */
static int build_env(struct mt_session *s, const char *agent, int fd, struct child_env *e)
{
	extern char **environ;
	const char *old = getenv("LD_PRELOAD");
	size_t n = 0, i = 0;
	char *pre = NULL;

	for (char **p = environ; *p; p++)
		n++;
	e->envp = calloc(n + 16, sizeof(char *));
	if (!e->envp)
		return -ENOMEM;
	for (char **p = environ; *p; p++) {
		if (!strncmp(*p, "LD_PRELOAD=", 11) ||
		    (!strncmp(*p, "MADVTRACE_", 10) && strncmp(*p, MT_ENV_CATCH "=", 16)))
			continue;
		if (!(e->envp[i++] = strdup(*p)))
			goto nomem;
	}
	if (asprintf(&pre, "LD_PRELOAD=%s%s%s", agent, old && *old ? ":" : "",
		     old ? old : "") < 0)
		goto nomem;
	e->envp[i++] = pre;
	if (!(e->envp[i++] = kv(MT_ENV_FD, (unsigned long long)fd)) ||
	    !(e->envp[i++] = kv(MT_ENV_RSS_MS, s->rss_interval_ns / 1000000)) ||
	    !(e->envp[i++] = kv(MT_ENV_SMAPS_MS, s->smaps_interval_ns / 1000000)))
		goto nomem;
	if (s->follow_forks && !(e->envp[i++] = strdup(MT_ENV_FOLLOW "=1")))
		goto nomem;
	/*
	 * The agent takes this from its environment in each program it starts
	 * in, so the choice is the launched command's: a wrapper that execs a
	 * Go program passes it on unchanged (docs/backends.md).
	 */
	if (mt_stacks__for_image(s->stacks, s->argv_go) && !(e->envp[i++] = strdup(MT_ENV_STACKS "=1")))
		goto nomem;
	if (s->stacks != MT_STACKS_NEVER && !(e->envp[i++] = kv(MT_ENV_STACK_BYTES, s->stack_bytes)))
		goto nomem;
	if (s->buffer_bytes &&
	    !(e->envp[i++] = kv(MT_ENV_BUFFER_KIB, (unsigned long long)s->buffer_bytes / 1024)))
		goto nomem;
	e->pid_var = calloc(1, sizeof(MT_ENV_PID) + 24);
	if (!e->pid_var)
		goto nomem;
	memcpy(e->pid_var, MT_ENV_PID "=", sizeof(MT_ENV_PID));
	e->envp[i++] = e->pid_var;
	e->envp[i] = NULL;
	return 0;
nomem:
	free_env(e);
	return -ENOMEM;
}

/* After fork: the child's pid into MADVTRACE_PID, without allocating. */
static void set_pid_var(char *var, pid_t pid)
{
	char digits[24];
	int n = 0;
	char *p = var + sizeof(MT_ENV_PID);

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid);
	while (n)
		*p++ = digits[--n];
	*p = '\0';
}

/* ---- the command ---- */

/* What the held child does before it switches user and waits (runs after fork). */
struct child_setup {
	struct child_env *env;
	int agent_fd;
	int sock;
};

static void child_setup(void *arg)
{
	struct child_setup *c = arg;

	close(c->sock);
	set_pid_var(c->env->pid_var, getpid());
	/* the one descriptor the command inherits from us */
	fcntl(c->agent_fd, F_SETFD, 0);
}

/* ---- what the agents send ---- */

static void emit(struct pl *p, const struct mt_hdr *rec)
{
	int err;

	if (p->err)
		return;
	p->records++;
	err = p->s->emit(p->s->emit_ctx, rec);
	if (err)
		p->err = err;
}

static int emit_cb(void *ctx, const struct mt_hdr *rec)
{
	struct pl *p = ctx;

	emit(p, rec);
	return p->err;
}

/* The agent decides a program's stacks itself (MADVTRACE_STACKS): nothing to do here. */
static void program_described(void *ctx, pid_t pid, bool go)
{
	(void)ctx;
	(void)pid;
	(void)go;
}

/* The programs the info worker described since the last call, their records whole. */
static void drain_info(struct pl *p)
{
	if (p->info)
		mt_infowork__drain(p->info, emit_cb, program_described, p);
}

/* ---- who may write to us: the command and its descendants ---- */

static bool in_tree(const struct pl *p, uint32_t pid)
{
	if (pid && pid == (uint32_t)p->child)
		return true;
	for (size_t i = 0; i < p->ntree; i++)
		if (p->tree[i] == pid)
			return true;
	return false;
}

static void tree_drop(struct pl *p, uint32_t pid)
{
	for (size_t i = 0; i < p->ntree; i++)
		if (p->tree[i] == pid) {
			p->tree[i] = p->tree[--p->ntree];
			return;
		}
}

static uint32_t parent_of(uint32_t pid)
{
	char path[64], buf[512], *rp;
	unsigned int ppid = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the name may hold anything, ')' too: the state and ppid follow the last one */
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %u", &ppid) != 1)
		return 0;
	return ppid;
}

/*
 * Is sender (the kernel's word, SCM_CREDENTIALS) the command or one of its
 * descendants? Its parent chain is walked once, while it runs (it just
 * wrote); a descendant whose parents all exited before it first wrote was
 * reparented away and is not believed.
 */
static bool sender_ok(struct pl *p, uint32_t sender)
{
	uint32_t pid = sender, *n;
	int depth;

	if (!sender)
		return false;
	if (in_tree(p, sender))
		return true;
	for (depth = 0; depth < 256 && pid > 1; depth++) {
		pid = parent_of(pid);
		if (in_tree(p, pid))
			break;
	}
	if (pid <= 1 || depth == 256 || !(n = realloc(p->tree, (p->ntree + 1) * sizeof(*n))))
		return false;
	p->tree = n;
	p->tree[p->ntree++] = sender;
	return true;
}

/*
 * Root reads /proc for two kinds of pid: an exec's (its exe, build id,
 * GODEBUG) and one left running at the end (its RSS). An exec record is
 * believed only about its sender, a process of the traced tree; any other
 * record only about a process of the tree (a fork's child writes its
 * parent's fork record; a vfork child, gone before we look, its parent's
 * records). The child of a fork record is its sender: the tree from then on.
 */
static bool believe(struct pl *p, const struct mt_hdr *rec, uint32_t sender)
{
	const struct mt_task *t = (const void *)rec;
	bool task = rec->type == MT_TASK && rec->size >= sizeof(*t), ok;
	uint32_t *n;

	if (task && t->event == MT_TASK_EXEC)
		ok = rec->pid == sender && sender_ok(p, sender);
	else if (rec->type == MT_STACK) /* names no process (pid 0 by contract): its sender must be ours */
		ok = in_tree(p, sender) || sender_ok(p, sender);
	else
		ok = in_tree(p, rec->pid) || (rec->pid == sender && sender_ok(p, sender));
	if (ok && task && t->event == MT_TASK_FORK && t->other_pid == sender && sender &&
	    !in_tree(p, sender) && (n = realloc(p->tree, (p->ntree + 1) * sizeof(*n)))) {
		p->tree = n;
		p->tree[p->ntree++] = sender;
	}
	if (!ok && !p->forged++)
		fprintf(stderr,
			"madvtrace: dropped a forged record: pid %u wrote one naming pid %u, which "
			"is neither itself nor a process of the traced command; any more are "
			"dropped too\n",
			sender, rec->pid);
	return ok;
}

/* rec came from pid: the exec it announced failed, or its next program's agent started. */
static void exec_seen(struct pl *p, uint32_t pid)
{
	for (size_t i = 0; i < p->npend; i++) {
		if (p->pend[i].pid == pid) {
			p->pend[i] = p->pend[--p->npend];
			return;
		}
	}
}

static void exec_announced(struct pl *p, uint32_t pid, const char *path)
{
	struct pending_exec *n;

	exec_seen(p, pid);
	n = realloc(p->pend, (p->npend + 1) * sizeof(*n));
	if (!n)
		return; /* then that exec goes unremarked; nothing is recorded wrong */
	p->pend = n;
	n[p->npend].pid = pid;
	snprintf(n[p->npend].path, sizeof(n[p->npend].path), "%.*s", MT_NOTE_LEN - 1, path);
	p->npend++;
}

/* A process we have records of: its state is recorded if we leave it running. */
static void pid_seen(struct pl *p, uint32_t pid, bool exited)
{
	size_t i;
	uint32_t *n;

	for (i = 0; i < p->npids && p->pids[i] != pid; i++)
		;
	if (exited) {
		if (i < p->npids)
			p->pids[i] = p->pids[--p->npids];
		return;
	}
	if (i < p->npids || !(n = realloc(p->pids, (p->npids + 1) * sizeof(*n))))
		return;
	p->pids = n;
	p->pids[p->npids++] = pid;
}

/* Tracing ends while pid runs on: its RSS as we leave it, and a detach record (as bpf). */
static void leave(struct pl *p, uint32_t pid)
{
	struct mt_rss r;
	struct mt_task t;

	if (!mt_proc_alive((pid_t)pid))
		return;
	mt_record_init(&r.h, MT_RSS, sizeof(r), pid, pid, mt_now_ns());
	r.h.flags = MT_F_SYNTH;
	r.reason = MT_RSS_END;
	if (!mt_proc_rss((pid_t)pid, &r)) {
		mt_proc_smaps((pid_t)pid, &r);
		emit(p, &r.h);
	}
	mt_record_init(&t.h, MT_TASK, sizeof(t), pid, pid, mt_now_ns());
	t.event = MT_TASK_DETACH;
	mt_proc_comm((pid_t)pid, t.comm);
	emit(p, &t.h);
}

static void on_record(struct pl *p, const struct mt_hdr *rec, uint32_t sender)
{
	const struct mt_task *t = (const void *)rec;
	bool exited = rec->type == MT_TASK && rec->size >= sizeof(*t) && t->event == MT_TASK_EXIT;

	if (!believe(p, rec, sender))
		return;
	/* left running at the end, only a process that wrote itself is read in /proc */
	if (rec->pid && rec->type != MT_AGENT_NOTE) {
		exec_seen(p, rec->pid);
		if (rec->pid == sender || exited)
			pid_seen(p, rec->pid, exited);
	}
	/* gone: its pid may come back as anyone's */
	if (exited && rec->pid == sender)
		tree_drop(p, rec->pid);
	switch (rec->type) {
	case MT_AGENT_NOTE: {
		const struct mt_agent_note *n = (const void *)rec;

		if (rec->size < sizeof(*n))
			return;
		if (n->level == MT_NOTE_EXEC) {
			exec_announced(p, rec->pid, n->text);
			return;
		}
		if (n->level >= MT_NOTE_WARN || p->s->verbose)
			fprintf(stderr, "madvtrace: pid %u: %.*s\n", rec->pid, MT_NOTE_LEN, n->text);
		return;
	}
	case MT_TASK:
		if (rec->size < sizeof(*t))
			break;
		if (t->event == MT_TASK_EXEC) {
			emit(p, rec);
			/*
			 * A new program: what it is, read by the info worker while /proc
			 * still shows it, as the bpf backend does: no /proc or ELF work
			 * while draining the socket (docs/security.md).
			 */
			if (p->info)
				mt_infowork__ask(p->info, (pid_t)rec->pid);
			else
				mt_proc_emit_info((pid_t)rec->pid, NULL, emit_cb, p);
			if (rec->pid == (uint32_t)p->child) {
				p->agent_seen = true;
				memcpy(p->comm, t->comm, MT_COMM_LEN);
			}
			return;
		}
		if (t->event == MT_TASK_EXIT && rec->pid == (uint32_t)p->child)
			p->exit_seen = true;
		break;
	case MT_LOST:
		if (rec->size >= sizeof(struct mt_lost)) {
			p->s->lost += ((const struct mt_lost *)rec)->count;
		}
		break;
	}
	emit(p, rec);
}

struct msg_ctx {
	struct pl *p;
	uint32_t sender;
};

static void on_frame(void *ctx, const struct mt_hdr *rec)
{
	struct msg_ctx *m = ctx;

	on_record(m->p, rec, m->sender);
}

/* One message: whole frames, as the agent wrote them out of its ring. */
static void on_message(struct pl *p, const unsigned char *buf, size_t n, uint32_t sender)
{
	struct msg_ctx m = { p, sender };

	if (mt_agent_stream__parse(buf, n, on_frame, &m) < 0)
		fprintf(stderr, "madvtrace: malformed data from the agent (pid %u); ignoring the "
				"rest of its message\n", sender);
}

/* Read what is there; returns false at EOF (every agent is gone). */
static bool receive(struct pl *p, unsigned char *buf)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	for (;;) {
		uint32_t sender = 0;

		iov = (struct iovec){ buf, RECV_MAX };
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
				      .msg_controllen = sizeof(ctl) };
		n = recvmsg(p->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			/* who wrote it, as the kernel saw it (SO_PASSCRED), not as it says */
			for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
					struct ucred u;

					memcpy(&u, CMSG_DATA(c), sizeof(u));
					sender = u.pid > 0 ? (uint32_t)u.pid : 0;
				}
			on_message(p, buf, (size_t)n, sender);
			continue;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
}

static void emit_exit(struct pl *p, int status)
{
	struct mt_task t;
	const char *base = strrchr(p->s->argv[0], '/');

	mt_record_init(&t.h, MT_TASK, sizeof(t), (uint32_t)p->child, (uint32_t)p->child, mt_now_ns());
	t.event = MT_TASK_EXIT;
	t.code = status;
	if (p->comm[0])
		memcpy(t.comm, p->comm, MT_COMM_LEN);
	else
		snprintf(t.comm, sizeof(t.comm), "%s", base ? base + 1 : p->s->argv[0]);
	emit(p, &t.h);
}

static int preload_run(struct mt_session *s)
{
	struct pl p = { .s = s, .sock = -1, .child = -1 };
	struct mt_launch child = MT_LAUNCH_INIT;
	struct child_env env = { 0 };
	char agent[PATH_MAX], why[512];
	unsigned char *buf = NULL;
	uint64_t start, now;
	int sv[2] = { -1, -1 }, agent_fd = -1, err, status, rcvbuf = 8 << 20;
	bool stopped = false;

	s->exit_status = -1;
	if (!s->argv) {
		fprintf(stderr,
			"madvtrace: the preload backend can only launch a command (madvtrace "
			"--backend=preload -- CMD): its agent is loaded when a program starts, not "
			"into a running one; use --backend=bpf or --backend=ptrace to attach\n");
		return -EINVAL;
	}
	if (!find_agent(agent, sizeof(agent), why, sizeof(why))) {
		fprintf(stderr, "madvtrace: %s\n", why);
		return -ENOENT;
	}
	if (strpbrk(agent, ": \t")) {
		fprintf(stderr, "madvtrace: the agent's path %s has a ':' or a blank, which "
				"LD_PRELOAD cannot hold; set MADVTRACE_AGENT to a copy elsewhere\n",
			agent);
		return -EINVAL;
	}
	err = check_target(s, s->argv[0], 0);
	if (err)
		return err;
	buf = malloc(RECV_MAX);
	if (!buf) {
		fprintf(stderr, "madvtrace: out of memory\n");
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		fprintf(stderr, "madvtrace: socketpair: %s\n", strerror(-err));
		goto cleanup;
	}
	/* each message with its sender's pid, checked by the kernel */
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int))) {
		err = -errno;
		fprintf(stderr, "madvtrace: SO_PASSCRED: %s\n", strerror(-err));
		goto cleanup;
	}
	/* room for bursts while we print (the kernel caps it at net.core.rmem_max) */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* out of the way of the descriptors the command numbers itself */
	agent_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, AGENT_FD_MIN);
	if (agent_fd < 0)
		agent_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
	close(sv[1]);
	sv[1] = -1;
	p.sock = sv[0];
	if (agent_fd < 0) {
		err = -errno;
		fprintf(stderr, "madvtrace: %s\n", strerror(-err));
		goto cleanup;
	}
	err = build_env(s, agent, agent_fd, &env);
	if (err) {
		fprintf(stderr, "madvtrace: out of memory\n");
		goto cleanup;
	}
	{
		struct child_setup cs = { .env = &env, .agent_fd = agent_fd, .sock = p.sock };

		err = mt_launch__spawn(&child, s, env.envp, child_setup, &cs);
	}
	if (err) {
		fprintf(stderr, "madvtrace: cannot start %s: %s\n", s->argv[0], strerror(-err));
		goto cleanup;
	}
	close(agent_fd);
	agent_fd = -1;
	p.child = child.pid;
	s->target_pid = child.pid;
	/* the command spawned: root's powers (under sudo) go before any thread starts */
	err = mt_privs__drop_session(s, false);
	if (err)
		goto cleanup;
	s->latency_ns = MT_AGENT_DRAIN_MS * 1000000ull;
	if (s->on_start && (err = s->on_start(s)))
		goto cleanup;
	p.info = mt_infowork__start();
	if (!p.info) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot start the info thread: %s\n", strerror(-err));
		goto cleanup;
	}
	{
		struct mt_task t;
		const char *base = strrchr(s->argv[0], '/');

		/* still our own fork: named after the command it is about to become */
		mt_record_init(&t.h, MT_TASK, sizeof(t), (uint32_t)child.pid, (uint32_t)child.pid,
			    mt_now_ns());
		t.event = MT_TASK_LAUNCH;
		snprintf(t.comm, sizeof(t.comm), "%s", base ? base + 1 : s->argv[0]);
		emit(&p, &t.h);
	}
	err = mt_launch__release(&child);
	if (err) {
		fprintf(stderr, "madvtrace: cannot run %s: %s\n", s->argv[0], strerror(-err));
		goto cleanup;
	}
	if (s->verbose)
		fprintf(stderr, "madvtrace: tracing pid %d with the preload backend (%s)\n",
			child.pid, agent);

	start = mt_now_ns();
	for (;;) {
		struct pollfd pfd = { p.sock, POLLIN, 0 };

		if (*s->stop || p.err)
			break;
		poll(&pfd, p.eof ? 0 : 1, POLL_MS);
		if (!p.eof && !receive(&p, buf)) {
			p.eof = true;
			p.eof_ns = mt_now_ns();
		}
		drain_info(&p);
		now = mt_now_ns();
		if (s->on_tick)
			s->on_tick(s, now);
		if (!p.child_done && waitpid(child.pid, &status, WNOHANG) == child.pid) {
			p.child_done = true;
			s->exit_status = status;
		}
		if (p.eof && p.child_done)
			break;
		/* the agent goes with the process: give its exit a moment to be seen */
		if (p.eof && !p.told_eof && p.agent_seen && !p.npend &&
		    now - p.eof_ns > 500 * 1000000ull) {
			p.told_eof = true;
			fprintf(stderr,
				"madvtrace: %s (pid %d) runs on without the agent (it exec'd a "
				"program that did not load it?): nothing more is recorded; waiting for "
				"it to exit\n",
				s->argv[0], child.pid);
		}
		if (s->duration_ns && now - start >= s->duration_ns) {
			stopped = true;
			break;
		}
	}
	stopped |= *s->stop;
	/* what the agents wrote before we stopped looking */
	if (!p.eof && !receive(&p, buf))
		p.eof = true;
	/* the programs described by now, before the end records */
	mt_infowork__finish(p.info);
	drain_info(&p);
	mt_infowork__free(p.info);
	p.info = NULL;
	if (p.child_done && !p.exit_seen && p.agent_seen) {
		emit_exit(&p, s->exit_status); /* killed by a signal: the agent could not say */
		pid_seen(&p, (uint32_t)p.child, true);
	}
	/* stopped while they run on (their agents stop recording when we close the socket) */
	if (stopped)
		for (size_t i = 0; i < p.npids; i++)
			leave(&p, p.pids[i]);
	for (size_t i = 0; i < p.npend && (p.eof || p.child_done); i++)
		fprintf(stderr,
			"madvtrace: pid %u exec'd %s, which did not load the agent (a static or "
			"set-user-ID program, or LD_PRELOAD cleared): nothing it did is recorded\n",
			p.pend[i].pid, p.pend[i].path);
	if (p.forged > 1)
		fprintf(stderr, "madvtrace: %llu forged records dropped in all\n",
			(unsigned long long)p.forged);
	if (!p.agent_seen && (p.child_done || p.eof)) {
		fprintf(stderr,
			"madvtrace: the agent did not start in %s (pid %d): nothing was recorded (a "
			"program that is static or set-user-ID, that runs with a cleared LD_PRELOAD, "
			"or that cannot read %s; the dynamic loader may have said why above)\n",
			s->argv[0], child.pid, agent);
		if (!p.err)
			p.err = -ENOENT;
	}
	err = p.err;

cleanup:
	if (child.go_fd >= 0) {
		/* never run the command untraced: it exits without running anything */
		mt_launch__abort(&child);
		p.child_done = true;
	}
	if (agent_fd >= 0)
		close(agent_fd);
	if (p.sock >= 0)
		close(p.sock);
	/* launch mode: the command is our child; wait for it unless we were told to stop */
	if (child.pid > 0 && !err && !p.child_done && !stopped) {
		if (waitpid(child.pid, &status, 0) == child.pid)
			s->exit_status = status;
	}
	mt_infowork__free(p.info);
	free_env(&env);
	free(buf);
	free(p.pend);
	free(p.pids);
	free(p.tree);
	return err;
}

const struct mt_backend mt_backend_preload = {
	.id = MT_BACKEND_PRELOAD,
	.available = preload_available,
	.run = preload_run,
};
