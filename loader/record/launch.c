// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>
#include <sys/wait.h>
#include "launch.h"

/* In the child: report errno to the parent and leave. */
static _Noreturn void child_fail(int fd)
{
	int e = errno;

	if (write(fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int mt_launch__spawn(struct mt_launch *l, const struct mt_session *s, char *const envp[],
		     void (*setup)(void *arg), void *arg)
{
	int go[2], err[2], e;
	pid_t pid;
	char b;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		e = -errno;
		goto close_go;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(err[0]);
		close(err[1]);
		goto close_go;
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		if (setup)
			setup(arg);
		if (s->uid != (uid_t)-1 &&
		    (setgroups(0, NULL) || setgid(s->gid) || setuid(s->uid)))
			child_fail(err[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* the tracer went away: do not run untraced */
		if (envp)
			execvpe(s->argv[0], s->argv, envp);
		else
			execvp(s->argv[0], s->argv);
		child_fail(err[1]);
	}
	close(go[0]);
	close(err[1]);
	l->pid = pid;
	l->go_fd = go[1];
	l->err_fd = err[0];
	return 0;
close_go:
	close(go[0]);
	close(go[1]);
	return e;
}

int mt_launch__release(struct mt_launch *l)
{
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, "g", 1) != 1)
		return -errno;
	close(l->go_fd);
	l->go_fd = -1;
	do
		n = read(l->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	return n == sizeof(e) ? -e : 0;
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
