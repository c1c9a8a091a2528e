/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The exporter's HTTP server: GET /metrics only, with time and size limits. */
#ifndef MT_EXPORT_HTTP_H
#define MT_EXPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define MT_HTTP_TIMEOUT_S 10
#define MT_HTTP_MEMORY_LIMIT (32 * 1024)
#define MT_HTTP_MAX_CONNECTIONS 64

struct mt_export;
struct MHD_Daemon;

/*
 * A listening socket on ADDR:PORT ("127.0.0.1:9464", "[::1]:9464",
 * "localhost:9464"); a non-loopback address only with any_address. The fd,
 * or -errno with one line in reason.
 */
int mt_http__listen(const char *spec, bool any_address, char *reason, size_t len);
/* Serve on fd (the daemon owns it from here); NULL on failure. */
struct MHD_Daemon *mt_http__start(struct mt_export *x, int fd);
void mt_http__stop(struct MHD_Daemon *d);

#endif
