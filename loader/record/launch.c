// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include "launch.h"

/* What the child writes on err_fd when it cannot run the command. */
struct launch_report {
	int stage; /* enum mt_launch_stage */
	int err; /* errno */
};

/* In the child: report what failed to the parent and leave. */
static _Noreturn void child_fail(int fd, int stage, int err)
{
	struct launch_report r = { stage, err };

	if (write(fd, &r, sizeof(r)) < 0)
		_exit(127);
	_exit(127);
}

int mt_launch__user_groups(uid_t uid, gid_t gid, gid_t **groups, int *n)
{
	struct passwd *pw;
	int count = 64;

	*groups = NULL;
	*n = 0;
	if (uid == (uid_t)-1)
		return 0;
	pw = getpwuid(uid);
	for (;;) {
		gid_t *g = realloc(*groups, count * sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		*groups = g;
		if (!pw) {
			g[0] = gid;
			*n = 1;
			return 0;
		}
		if (getgrouplist(pw->pw_name, gid, g, &count) >= 0) {
			*n = count;
			return 0;
		}
		count *= 2;
	}
}

int mt_launch__spawn_checked(struct mt_launch *l, const struct mt_session *s, char *const envp[],
			     int (*setup)(void *arg), void *arg)
{
	int go[2] = { -1, -1 }, err[2] = { -1, -1 }, e, ngroups;
	gid_t *groups = NULL;
	pid_t pid;
	char b;

	e = mt_launch__user_groups(s->uid, s->gid, &groups, &ngroups);
	if (e)
		goto cleanup;
	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		e = -errno;
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		goto cleanup;
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		if (setup && (e = setup(arg)))
			child_fail(err[1], MT_LAUNCH_SETUP, -e);
		if (s->uid != (uid_t)-1 &&
		    (setgroups(ngroups, groups) || setgid(s->gid) || setuid(s->uid)))
			child_fail(err[1], MT_LAUNCH_USER, errno);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* the tracer went away: do not run untraced */
		if (envp)
			execvpe(s->argv[0], s->argv, envp);
		else
			execvp(s->argv[0], s->argv);
		child_fail(err[1], MT_LAUNCH_EXEC, errno);
	}
	l->pid = pid;
	l->go_fd = go[1];
	l->err_fd = err[0];
	go[1] = err[0] = -1;
	e = 0;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(groups);
	return e;
}

/* mt_launch__spawn's setup, which cannot fail, as a checked one. */
struct unchecked_setup {
	void (*fn)(void *arg);
	void *arg;
};

static int launch__run_unchecked(void *arg)
{
	const struct unchecked_setup *u = arg;

	u->fn(u->arg);
	return 0;
}

int mt_launch__spawn(struct mt_launch *l, const struct mt_session *s, char *const envp[],
		     void (*setup)(void *arg), void *arg)
{
	struct unchecked_setup u = { setup, arg };

	return mt_launch__spawn_checked(l, s, envp, setup ? launch__run_unchecked : NULL, &u);
}

int mt_launch__go(struct mt_launch *l)
{
	/* on failure go_fd stays open: mt_launch__abort still reaps the child */
	if (write(l->go_fd, "g", 1) != 1)
		return -errno;
	close(l->go_fd);
	l->go_fd = -1;
	return 0;
}

int mt_launch__result(struct mt_launch *l, enum mt_launch_stage *stage)
{
	struct launch_report r = { 0, 0 };
	ssize_t n;

	do
		n = read(l->err_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (n != sizeof(r))
		return 0;
	if (stage)
		*stage = r.stage;
	return -r.err;
}

int mt_launch__release(struct mt_launch *l)
{
	int e = mt_launch__go(l);

	return e ? e : mt_launch__result(l, NULL);
}

void mt_launch__abort(struct mt_launch *l)
{
	if (l->go_fd < 0)
		return;
	close(l->go_fd);
	close(l->err_fd);
	l->go_fd = l->err_fd = -1;
	waitpid(l->pid, NULL, 0);
}
