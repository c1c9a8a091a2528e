/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `madvtrace report [--format text|json|csv|perfetto|svg] [--interval DUR] [-o OUT] FILE`
 *
 * Reads a trace file record by record into a timeline (timeline.h) and
 * renders it. The json and csv outputs are a stable interface, documented
 * in docs/report-format.md.
 */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdint.h>

/*
 * argv[0] is "report". Returns the exit status: 0 (also for a truncated
 * file, with a warning), 1 on bad input or an I/O error, 2 on a usage error;
 * every failure prints one line starting "madvtrace: " on stderr.
 */
int mt_report_main(int argc, char **argv);


#endif
