// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP side, on libmicrohttpd: GET (or HEAD) /metrics and nothing else.
 * One internal polling thread serves every connection without blocking, so
 * a client that sends slowly or never finishes holds only its own
 * connection, until the connection timeout; headers beyond the connection's
 * memory limit are refused by libmicrohttpd itself.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "http.h"
#include "export_int.h"

#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int mt_http__listen(const char *spec, bool any_address, char *reason, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256], *colon;
	const char *port;
	int fd = -1, one = 1, err;

	if (strlen(spec) >= sizeof(host) || !(colon = strrchr(spec, ':')) || colon == spec ||
	    !colon[1]) {
		snprintf(reason, len, "--metrics %s: expected ADDR:PORT (127.0.0.1:9464, [::1]:9464)",
			 spec);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	port = colon + 1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		snprintf(reason, len, "--metrics %s: %s", spec, gai_strerror(err));
		return -EINVAL;
	}
	if (!any_address && !is_loopback(ai->ai_addr)) {
		snprintf(reason, len,
			 "--metrics %s: not a loopback address; add --metrics-any-address to "
			 "serve metrics beyond this machine",
			 spec);
		err = -EACCES;
		goto cleanup;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		err = -errno;
		snprintf(reason, len, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
		goto cleanup;
	}
	err = 0;
cleanup:
	freeaddrinfo(ai);
	return fd >= 0 ? fd : err;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req)
{
	struct mt_export *x = cls;
	struct MHD_Response *resp;
	const char *accept;
	enum MHD_Result ret;
	size_t len = 0;
	char *body;
	bool om;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed: GET /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "404 not found: GET /metrics\n");
	/* Prometheus asks for OpenMetrics; curl and promtool get the 0.0.4 text format */
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = accept && strstr(accept, "application/openmetrics-text");
	body = mt_export__render(x, om, &len);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 out of memory\n");
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, om ? CT_OPENMETRICS : CT_TEXT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	int verbose = *(int *)cls;

	/* a client's bad request is the client's business; -v shows it */
	if (verbose)
		vfprintf(stderr, fmt, ap);
}

struct MHD_Daemon *mt_http__start(struct mt_export *x, int fd)
{
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, x, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &x->o->verbose,
		MHD_OPTION_LISTEN_SOCKET, fd,
		/* a request must arrive whole within this; idle keep-alive connections too */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MT_HTTP_TIMEOUT_S,
		/* the request line and headers must fit: a scrape needs far less */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MT_HTTP_MEMORY_LIMIT,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MT_HTTP_MAX_CONNECTIONS,
		MHD_OPTION_END);
}

void mt_http__stop(struct MHD_Daemon *d)
{
	if (d)
		MHD_stop_daemon(d);
}
