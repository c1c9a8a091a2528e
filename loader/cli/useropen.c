// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Files root opens on the invoking user's behalf (see useropen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include "useropen.h"

void mt_invoking_user(uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");

	*uid = geteuid();
	*gid = getegid();
	if (*uid == 0 && su && sg) {
		*uid = (uid_t)strtoul(su, NULL, 10);
		*gid = (gid_t)strtoul(sg, NULL, 10);
	}
}

/* Act as the user for file access (this thread only; callers are single-threaded then). */
static bool become_user(void)
{
	uid_t uid;
	gid_t gid;

	mt_invoking_user(&uid, &gid);
	if (geteuid() != 0 || uid == 0)
		return false;
	setfsgid(gid);
	setfsuid(uid);
	return true;
}

static void become_root(bool was_user)
{
	if (!was_user)
		return;
	setfsuid(0);
	setfsgid(0);
}

static const char *kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory" : S_ISLNK(m) ? "a symbolic link" :
	       "not a regular file";
}

/* The open itself; fd or -errno. */
static int open_user(const char *path, int flags, mode_t mode)
{
	bool u = become_user();
	int fd, e;

	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	e = errno;
	become_root(u);
	return fd < 0 ? -e : fd;
}

/* fd is a regular file, its O_NONBLOCK gone; else closed, -errno and why. */
static int regular(int fd, const char *path, struct stat *st, char *why, size_t len)
{
	if (fstat(fd, st)) {
		int e = -errno;

		snprintf(why, len, "%s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, "%s is %s, not a regular file: refused", path, kind(st->st_mode));
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static void say_open_error(const char *path, int e, char *why, size_t len)
{
	struct stat st;

	/* ELOOP is O_NOFOLLOW's answer, ENXIO a FIFO's without a reader: say what is there */
	if (e != -ENOENT && !lstat(path, &st) && !S_ISREG(st.st_mode))
		snprintf(why, len, "%s is %s, not a regular file: refused", path, kind(st.st_mode));
	else
		snprintf(why, len, "%s: %s", path, strerror(-e));
}

int mt_open_as_user(const char *path, int flags, mode_t mode, char *why, size_t len)
{
	struct stat st;
	int fd = open_user(path, flags, mode);

	if (fd < 0) {
		say_open_error(path, fd, why, len);
		return fd;
	}
	return regular(fd, path, &st, why, len);
}

int mt_open_output(const char *path, mode_t mode, bool set_mode, char *why, size_t len)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd;

	mt_invoking_user(&uid, &gid);
	fd = open_user(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd >= 0) {
		fd = regular(fd, path, &st, why, len);
		/* exactly the mode asked for, whatever the umask */
		if (fd >= 0 && fchmod(fd, mode)) {
			snprintf(why, len, "%s: %s", path, strerror(errno));
			close(fd);
			return -EPERM;
		}
		return fd;
	}
	if (fd != -EEXIST) {
		say_open_error(path, fd, why, len);
		return fd;
	}
	/* there already: never truncated before it is known to be the user's own */
	fd = open_user(path, O_WRONLY, 0);
	if (fd < 0) {
		say_open_error(path, fd, why, len);
		return fd;
	}
	fd = regular(fd, path, &st, why, len);
	if (fd < 0)
		return fd;
	/* another user's file would hand them the trace; an o+w one, whoever holds it open */
	if (st.st_uid != uid || (st.st_mode & S_IWOTH)) {
		snprintf(why, len, "%s exists and %s: refused (remove it, or name a new file)",
			 path, st.st_uid != uid ? "belongs to another user" : "anyone may write to it");
		close(fd);
		return -EPERM;
	}
	if (ftruncate(fd, 0) || (set_mode && fchmod(fd, mode))) {
		int e = -errno;

		snprintf(why, len, "%s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

char *mt_mkdtemp_as_user(char *tmpl)
{
	bool u = become_user();
	char *r = mkdtemp(tmpl);
	int e = errno;

	become_root(u);
	errno = e;
	return r;
}
