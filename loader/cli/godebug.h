/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `madvtrace godebug`: a Go program under each GODEBUG=madvdontneed setting, checked. */
#ifndef MT_GODEBUG_H
#define MT_GODEBUG_H

/* argv[0] is "godebug". Exit status: 0 all runs as expected, 1 otherwise, 2 usage. */
int mt_godebug_main(int argc, char **argv);

#endif
