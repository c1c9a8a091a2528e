// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "bpf_helpers.h"

static int verbose_level;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose_level < 2)
		return 0;
	if (level == LIBBPF_INFO && verbose_level < 1)
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

void mt_privs__keep_ptrace_only(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	int cap;

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != CAP_SYS_PTRACE)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	data[0].effective = data[0].permitted = 1u << CAP_SYS_PTRACE;
	syscall(SYS_capset, &hdr, data);
}
