// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The library tests/workloads/ustack.c opens with dlopen(): a release from a late mapping. */
#include "ustack_release.h"

void ustack_lib_release(char *p, uint64_t canary, FILE *out)
{
	ustack_release("lib", p, canary, out);
}
