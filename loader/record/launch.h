/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A launched command held before its exec: forked, switched to its user,
 * then waiting on a pipe until the tracer is in place, so no instruction of
 * the command runs untraced. Shared by the backends that launch this way.
 */
#ifndef MT_LAUNCH_H
#define MT_LAUNCH_H

#include <sys/types.h>
#include "backend.h"

struct mt_launch {
	pid_t pid;
	int go_fd; /* a byte lets it exec; closing it makes it exit */
	int err_fd; /* errno of a failed setup or exec; EOF once it exec'd */
};

#define MT_LAUNCH_INIT { .pid = -1, .go_fd = -1, .err_fd = -1 }

/*
 * Fork s->argv held. In the child, setup(arg) (may be NULL) runs first, then
 * the switch to s->uid/s->gid; envp NULL keeps our environment. 0 or -errno.
 */
int mt_launch__spawn(struct mt_launch *l, const struct mt_session *s, char *const envp[],
		     void (*setup)(void *arg), void *arg);
/* Let it exec: 0 once it has, or -errno of what failed in the child. */
int mt_launch__release(struct mt_launch *l);
/* Never released: close the pipe (it exits without running anything) and reap it. */
void mt_launch__abort(struct mt_launch *l);

#endif
