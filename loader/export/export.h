/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `madvtrace --metrics ADDR:PORT ...`: the Prometheus exporter (docs/exporter.md). */
#ifndef MT_EXPORT_H
#define MT_EXPORT_H

/* Is this command line the exporter's (a --metrics option before any "--")? */
int mt_export__wanted(int argc, char **argv);
/* Run the exporter until SIGINT or SIGTERM; the exit status. */
int mt_export__main(int argc, char **argv);

#endif
