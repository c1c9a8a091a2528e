/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A launched command held before its exec: forked, set up, switched to its
 * user (with that user's supplementary groups, as `sudo -u USER` gives them),
 * then waiting on a pipe until the tracer is in place, so no instruction of
 * the command runs untraced. The one launch path of every backend.
 */
#ifndef MT_LAUNCH_H
#define MT_LAUNCH_H

#include <sys/types.h>
#include "backend.h"

struct mt_launch {
	pid_t pid;
	int go_fd; /* a byte lets it exec; closing it makes it exit */
	int err_fd; /* a report of a failed setup or exec; EOF once it exec'd */
};

#define MT_LAUNCH_INIT { .pid = -1, .go_fd = -1, .err_fd = -1 }

/* What failed in the child, before its command ran. */
enum mt_launch_stage {
	MT_LAUNCH_SETUP = 1, /* the caller's setup function */
	MT_LAUNCH_USER = 2, /* the switch to s->uid, s->gid and the user's groups */
	MT_LAUNCH_EXEC = 3,
};

/*
 * Fork s->argv held. In the child, setup(arg) (may be NULL) runs first, then
 * the switch to s->uid/s->gid; envp NULL keeps our environment. 0 or -errno.
 */
int mt_launch__spawn(struct mt_launch *l, const struct mt_session *s, char *const envp[],
		     void (*setup)(void *arg), void *arg);
/*
 * The same with a setup that can fail: it returns 0 or -errno, and a failure
 * makes the child report MT_LAUNCH_SETUP and exit. Async-signal-safe calls
 * only in setup (it runs after fork).
 */
int mt_launch__spawn_checked(struct mt_launch *l, const struct mt_session *s, char *const envp[],
			     int (*setup)(void *arg), void *arg);
/* Let it exec, without waiting: 0, or -errno if it is gone (then mt_launch__abort reaps it). */
int mt_launch__go(struct mt_launch *l);
/*
 * After mt_launch__go: wait until it has exec'd (0) or failed (-errno, with
 * the stage in *stage if stage is not NULL). Once only.
 */
int mt_launch__result(struct mt_launch *l, enum mt_launch_stage *stage);
/* Let it exec: 0 once it has, or -errno of what failed in the child (go, then result). */
int mt_launch__release(struct mt_launch *l);
/* Never released: close the pipe (it exits without running anything) and reap it. */
void mt_launch__abort(struct mt_launch *l);

/*
 * The supplementary groups of a user (the command's, the recorder's after its
 * privilege drop): what initgroups(3) gives a login (and `sudo -u USER`),
 * looked up before any fork since NSS is no place for a forked child. A uid
 * without a passwd entry: its group only. *n stays 0 for uid (uid_t)-1. The
 * caller frees *groups.
 */
int mt_launch__user_groups(uid_t uid, gid_t gid, gid_t **groups, int *n);

#endif
