// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mt_report report ...` runs exactly what `madvtrace report ...` runs
 * (mt_report_main in mtcore), without the BPF loader: the golden tests and
 * the report benchmark use it so they need neither root nor a BPF build.
 */
#include <stdio.h>
#include <string.h>
#include "report.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "report")) {
		fprintf(stderr, "usage: mt_report report [OPTIONS] FILE\n");
		return 2;
	}
	return mt_report_main(argc - 1, argv + 1);
}
