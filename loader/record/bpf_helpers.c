// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "bpf_helpers.h"
#include "backend.h"
#include "launch.h"

static int verbose_level;
static bool quiet; /* mt_bpf__log_quiet */

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose_level < 2)
		return 0;
	if ((level == LIBBPF_INFO || quiet) && verbose_level < 1)
		return 0;
	/*
	 * libbpf warns that it cannot raise RLIMIT_MEMLOCK without
	 * CAP_SYS_RESOURCE; on memcg-accounted kernels that is harmless.
	 */
	if (verbose_level < 1 && strstr(fmt, "memlock"))
		return 0;
	/* the verifier's log is long: with -vv only */
	if (verbose_level < 2 && strstr(fmt, "PROG LOAD LOG"))
		return 0;
	return vfprintf(stderr, fmt, args);
}

void mt_bpf__log_setup(int verbose)
{
	verbose_level = verbose;
	libbpf_set_print(libbpf_log);
}

void mt_bpf__log_quiet(bool on)
{
	quiet = on;
}

/* The user to become: SUDO_UID/SUDO_GID when root under sudo, else nobody. */
static void drop_user(uid_t *uid, gid_t *gid, bool *nobody)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	unsigned long u, g;
	struct passwd *pw;
	char *e1 = NULL, *e2 = NULL;

	*nobody = false;
	if (su && sg) {
		errno = 0;
		u = strtoul(su, &e1, 10);
		g = strtoul(sg, &e2, 10);
		/* sudo's word; a root or unparseable one is no user to become */
		if (!errno && *su && *sg && !*e1 && !*e2 && u && u < (uid_t)-1 && g < (gid_t)-1) {
			*uid = (uid_t)u;
			*gid = (gid_t)g;
			return;
		}
	}
	*nobody = true;
	pw = getpwnam("nobody");
	*uid = pw ? pw->pw_uid : 65534;
	*gid = pw ? pw->pw_gid : 65534;
}

static int fail(char *reason, size_t len, int err, const char *what)
{
	snprintf(reason, len, "%s: %s", what, strerror(err));
	return -err;
}

int mt_privs__drop(uint64_t keep, char *reason, size_t len)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	gid_t *groups = NULL, gid = 0;
	uid_t uid = 0, r, e, sv;
	bool root = geteuid() == 0, nobody;
	int ngroups = 0, cap, err = 0;

	if (root) {
		drop_user(&uid, &gid, &nobody);
		/* nobody belongs to no group; a sudo user to the groups of its login */
		if (!nobody && (err = mt_launch__user_groups(uid, gid, &groups, &ngroups))) {
			err = fail(reason, len, -err, "the invoking user's groups");
			goto cleanup;
		}
	}
	/* the capabilities kept must survive the uid change */
	if (root && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		err = fail(reason, len, errno, "PR_SET_KEEPCAPS");
		goto cleanup;
	}
	if (syscall(SYS_capget, &hdr, data)) {
		err = fail(reason, len, errno, "capget");
		goto cleanup;
	}
	/*
	 * Needs CAP_SETPCAP, so before the uid goes; a cap already out of the set
	 * is out. Without CAP_SETPCAP (a user's ptrace or preload session),
	 * no_new_privs is what keeps file capabilities from coming back.
	 */
	for (cap = 0; cap <= CAP_LAST_CAP && (data[0].effective & (1u << CAP_SETPCAP)); cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
			err = fail(reason, len, errno, "clearing the capability bounding set");
			goto cleanup;
		}
	if (root) {
		if (setgroups(ngroups, groups)) {
			err = fail(reason, len, errno, "setgroups");
			goto cleanup;
		}
		if (setresgid(gid, gid, gid)) {
			err = fail(reason, len, errno, "setresgid");
			goto cleanup;
		}
		if (setresuid(uid, uid, uid)) {
			err = fail(reason, len, errno, "setresuid");
			goto cleanup;
		}
	}
	/* effective and permitted: exactly what is kept; inheritable: nothing */
	if (syscall(SYS_capget, &hdr, data)) {
		err = fail(reason, len, errno, "capget");
		goto cleanup;
	}
	data[0].permitted &= (uint32_t)keep;
	data[1].permitted &= (uint32_t)(keep >> 32);
	data[0].effective = data[0].permitted;
	data[1].effective = data[1].permitted;
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data)) {
		err = fail(reason, len, errno, "capset");
		goto cleanup;
	}
	/*
	 * Not dumpable: the user we became may not ptrace us (and use what we
	 * kept) nor read our /proc files; the kernel's default after a uid change
	 * follows fs.suid_dumpable, which may say otherwise.
	 */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = fail(reason, len, errno, "prctl");
		goto cleanup;
	}
	/* check, rather than trust the calls: no id of root's is left to go back to */
	if (root && (getresuid(&r, &e, &sv) || !r || !e || !sv || setuid(0) == 0)) {
		err = fail(reason, len, EPERM, "uid 0 still held after setresuid");
		goto cleanup;
	}
cleanup:
	free(groups);
	return err;
}

int mt_privs__drop_session(const struct mt_session *s, bool signals)
{
	uint64_t keep = MT_PRIVS_PROC;
	char reason[256];
	bool nobody;
	uid_t uid;
	gid_t gid;
	int err;

	/* a command that runs as another user than the one we become gets its signals by CAP_KILL */
	if (signals && s->argv && geteuid() == 0) {
		drop_user(&uid, &gid, &nobody);
		if ((s->uid == (uid_t)-1 ? 0 : s->uid) != uid)
			keep |= 1ull << CAP_KILL;
	}
	err = mt_privs__drop(keep, reason, sizeof(reason));
	if (err)
		fprintf(stderr, "madvtrace: cannot drop root's privileges (%s)\n", reason);
	return err;
}
