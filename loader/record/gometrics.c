// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Fetching a Go program's metrics page (libcurl), finding it from a pid
// (/proc), and sampling it on a thread of its own so that a slow or hung
// endpoint never blocks the tracer's loops.
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "gometrics.h"

#define DEF_CONNECT_MS 1000
#define DEF_TIMEOUT_MS 2000
#define DISC_CONNECT_MS 250
#define DISC_TIMEOUT_MS 1000
#define DISC_MAX_TRIED 16
#define DISC_MAX_LISTENERS 256
#define DISC_DEADLINE_NS (10ull * 1000000000ull)
#define DISC_MAX_FDS (1u << 20)
#define MAX_REDIRECTS 3
#define URL_MAX 256

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// curl_global_init is not thread-safe in every libcurl: once, before any handle.
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_NOTHING);
}

static void fetch_opts_fill(struct mt_gm_fetch_opts *d, const struct mt_gm_fetch_opts *o,
			    long def_connect, long def_timeout)
{
	d->connect_timeout_ms = o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : def_connect;
	d->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : def_timeout;
	d->max_body = o && o->max_body > 0 ? o->max_body : MT_GM_MAX_BODY_DEFAULT;
}

/* ------------------------------------------------------------------ fetch */

struct fetcher {
	CURL *curl;
	char *buf;
	size_t len, cap, max;
	bool over;			/* the body went past max: cut */
	const atomic_bool *cancel;	/* set: abort the transfer */
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetcher *f = arg;
	size_t n = size * nmemb;

	if (n > f->max - f->len) {
		f->over = true;
		return 0;	/* a short count aborts the transfer */
	}
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 16384;
		char *b;

		while (cap < f->len + n + 1)
			cap *= 2;
		if (cap > f->max + 1)
			cap = f->max + 1;
		b = realloc(f->buf, cap);
		if (!b)
			return 0;
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct fetcher *f = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return f->cancel && atomic_load(f->cancel);
}

static int fetcher_init(struct fetcher *f, size_t max, const atomic_bool *cancel)
{
	memset(f, 0, sizeof(*f));
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -EIO;
	f->curl = curl_easy_init();
	if (!f->curl)
		return -ENOMEM;
	f->max = max;
	f->cancel = cancel;
	return 0;
}

static void fetcher_fini(struct fetcher *f)
{
	if (f->curl)
		curl_easy_cleanup(f->curl);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

/* URL parts to compare a redirect with; lowercased host. 0 or -EINVAL. */
struct url_parts {
	char scheme[16], host[128], port[8];
};

/* A URL with a scheme but no host (file:///x) gives its scheme and -EINVAL. */
static int url_split(const char *url, struct url_parts *p)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int err = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strlen(scheme) >= sizeof(p->scheme))
		goto cleanup;
	strcpy(p->scheme, scheme);
	for (char *c = p->scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto cleanup;
	if (strlen(host) >= sizeof(p->host) || strlen(port) >= sizeof(p->port))
		goto cleanup;
	strcpy(p->host, host);
	strcpy(p->port, port);
	for (char *c = p->host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	err = 0;
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return err;
}

static int check_url(const char *url, struct url_parts *p, char *reason, size_t rlen)
{
	int err;

	memset(p, 0, sizeof(*p));
	err = url && *url && strlen(url) < URL_MAX ? url_split(url, p) : -EINVAL;

	if (p->scheme[0] && strcmp(p->scheme, "http") != 0) {
		mt_gm__reason(reason, rlen, "%.80s: only http:// is scraped, not %s://", url,
			   p->scheme);
		return -EPROTONOSUPPORT;
	}
	if (err) {
		mt_gm__reason(reason, rlen, "bad URL \"%.80s\" (want http://HOST:PORT/PATH)",
			   url ? url : "");
		return -EINVAL;
	}
	return 0;
}

static int curl_errno(CURLcode rc, const struct fetcher *f)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_WRITE_ERROR:
		return f->over ? -EFBIG : -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTONOSUPPORT;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * One GET with f's handle (kept for keep-alive across samples). On 0,
 * f->buf holds the body, NUL-terminated; *t_ns is when its first byte came.
 */
static int fetcher_get(struct fetcher *f, const char *url, const struct mt_gm_fetch_opts *o,
		       uint64_t *t_ns, char *reason, size_t rlen)
{
	char cur[URL_MAX];
	struct url_parts first, next;
	int err;

	err = check_url(url, &first, reason, rlen);
	if (err)
		return err;
	strcpy(cur, url);
	for (int hop = 0;; hop++) {
		CURL *c = f->curl;
		curl_off_t ttfb = 0;
		long status = 0;
		char *loc = NULL;
		uint64_t t0;
		CURLcode rc;

		f->len = 0;
		f->over = false;
		f->errbuf[0] = '\0';
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, cur);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		// the environment's http_proxy must not route a loopback scrape elsewhere
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		// the caller's signal handling is its own (ptrace loops, SIGALRM)
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "madvtrace");
		if (f->cancel) {
			curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
			curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
			curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		}
		t0 = mono_ns();
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			err = curl_errno(rc, f);
			if (err == -EFBIG)
				mt_gm__reason(reason, rlen, "GET %s: body larger than %zu bytes: cut",
					   cur, o->max_body);
			else
				mt_gm__reason(reason, rlen, "GET %s: %s", cur,
					   f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
			f->len = 0;
			return err;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
		if (status == 200) {
			if (!f->buf) {	/* an empty body: nothing was written */
				f->buf = malloc(1);
				if (!f->buf) {
					mt_gm__reason(reason, rlen, "GET %s: out of memory", cur);
					return -ENOMEM;
				}
				f->cap = 1;
			}
			f->buf[f->len] = '\0';
			*t_ns = t0 + (uint64_t)(ttfb > 0 ? ttfb : 0) * 1000u;
			return 0;
		}
		f->len = 0;
		if (status < 300 || status > 399) {
			mt_gm__reason(reason, rlen, "GET %s: HTTP %ld", cur, status);
			return status == 404 ? -ENOENT : -EBADMSG;
		}
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		if (!loc || strlen(loc) >= sizeof(cur) || url_split(loc, &next) ||
		    strcmp(next.scheme, first.scheme) || strcmp(next.host, first.host) ||
		    strcmp(next.port, first.port)) {
			mt_gm__reason(reason, rlen, "GET %s: HTTP %ld to %.100s: not followed (not the same host)",
				   cur, status, loc ? loc : "nowhere");
			return -EBADMSG;
		}
		if (hop == MAX_REDIRECTS) {
			mt_gm__reason(reason, rlen, "GET %s: more than %d redirects", url, MAX_REDIRECTS);
			return -ELOOP;
		}
		strcpy(cur, loc);
	}
}

static int fetcher_scrape(struct fetcher *f, const char *url, const struct mt_gm_fetch_opts *o,
			  struct mt_gm_sample *out, uint64_t *t_ns, char *reason, size_t rlen)
{
	char why[MT_GM_REASON_LEN];
	int err;

	memset(out, 0, sizeof(*out));
	err = fetcher_get(f, url, o, t_ns, reason, rlen);
	if (err)
		return err;
	err = mt_gm_parse(f->buf, f->len, out, why, sizeof(why));
	if (err)
		mt_gm__reason(reason, rlen, "%s: %s", url, why);
	return err;
}

int mt_gm_scrape(const char *url, const struct mt_gm_fetch_opts *o, struct mt_gm_sample *out,
		 char *reason, size_t reason_len)
{
	struct mt_gm_fetch_opts fo;
	struct fetcher f;
	uint64_t t;
	int err;

	memset(out, 0, sizeof(*out));
	fetch_opts_fill(&fo, o, DEF_CONNECT_MS, DEF_TIMEOUT_MS);
	err = fetcher_init(&f, fo.max_body, NULL);
	if (err) {
		mt_gm__reason(reason, reason_len, "cannot set up libcurl");
		return err;
	}
	err = fetcher_scrape(&f, url, &fo, out, &t, reason, reason_len);
	fetcher_fini(&f);
	return err;
}

/* -------------------------------------------------------------- discovery */

struct listener {
	uint64_t inode;
	bool v6;
	uint8_t addr[16];	/* network order: 4 bytes for v4 */
	uint16_t port;
	bool ours;		/* one of pid's fds */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * "0100007F:1F90": the kernel prints each 32-bit word of the address as a
 * host-order integer; memcpy of the parsed word gives network order back.
 */
static bool parse_addr(const char *s, size_t hexlen, uint8_t *addr, uint16_t *port)
{
	const char *p = s;

	for (size_t w = 0; w < hexlen / 8; w++) {
		uint32_t v = 0;

		for (int k = 0; k < 8; k++) {
			int h = hexval(*p++);

			if (h < 0)
				return false;
			v = v << 4 | (uint32_t)h;
		}
		memcpy(addr + 4 * w, &v, 4);
	}
	if (*p++ != ':')
		return false;
	uint32_t pv = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(*p++);

		if (h < 0)
			return false;
		pv = pv << 4 | (uint32_t)h;
	}
	*port = (uint16_t)pv;
	return *p == ' ';
}

// /proc/PID/net/tcp or tcp6: the LISTEN (0A) entries, at most max in all.
static void read_listeners(pid_t pid, bool v6, struct listener *ls, size_t *n, size_t max)
{
	char path[64], line[512];
	size_t hexlen = v6 ? 32 : 8;
	FILE *fp;
	bool partial = false;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, v6 ? "tcp6" : "tcp");
	fp = fopen(path, "re");
	if (!fp)
		return;
	while (*n < max && fgets(line, sizeof(line), fp)) {
		bool whole = strchr(line, '\n') != NULL;
		struct listener l = { .v6 = v6 };
		char *p = line, *e;
		unsigned long long inode;

		if (partial || !whole) {
			// the rest of a long line (its tail), or a line cut by fgets: never ours
			partial = !whole;
			continue;
		}
		// "  sl  local_address rem_address   st tx_queue ... uid  timeout inode"
		while (*p == ' ')
			p++;
		p = strchr(p, ':');
		if (!p || p[1] != ' ')
			continue;
		p += 2;
		if (strlen(p) < hexlen + 5 + 1 + hexlen + 5 + 4 ||
		    !parse_addr(p, hexlen, l.addr, &l.port))
			continue;
		p += hexlen + 5 + 1;	/* the remote address */
		p += hexlen + 5 + 1;
		if (p[0] != '0' || p[1] != 'A' || p[2] != ' ')
			continue;
		// past "0A", tx:rx, tr:when, retrnsmt, uid, timeout: to the inode
		for (int field = 0; field < 6 && p; field++) {
			p = strchr(p + 1, ' ');
			while (p && p[1] == ' ')
				p++;
		}
		if (!p)
			continue;
		errno = 0;
		inode = strtoull(p, &e, 10);
		if (e == p || errno || inode == 0)
			continue;
		l.inode = inode;
		ls[(*n)++] = l;
	}
	fclose(fp);
}

// Mark the listeners whose inode is one of pid's fds. 0 or -errno.
static int mark_ours(pid_t pid, struct listener *ls, size_t n, char *reason, size_t rlen)
{
	char path[64], link[64];
	struct dirent *de;
	unsigned scanned = 0;
	DIR *d;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		err = -errno;
		if (err == -ENOENT)
			mt_gm__reason(reason, rlen, "no process %d", (int)pid);
		else if (err == -EACCES || err == -EPERM)
			mt_gm__reason(reason, rlen,
				   "cannot read %s: %s (another user's process: run as root, as its "
				   "user, or with CAP_SYS_PTRACE; or give the URL)",
				   path, strerror(-err));
		else
			mt_gm__reason(reason, rlen, "cannot read %s: %s", path, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	while ((de = readdir(d)) && scanned++ < DISC_MAX_FDS) {
		unsigned long long ino;
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (ls[i].inode == ino)
				ls[i].ours = true;
	}
	closedir(d);
	return 0;
}

/*
 * Where to connect for a listener: "127.0.0.1:P" or "[::1]:P" for wildcard
 * and loopback ones; false for any other address (not ours to reach).
 */
static bool listener_hostport(const struct listener *l, char *out, size_t len)
{
	static const uint8_t zero[16], v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	char a[INET6_ADDRSTRLEN];

	if (!l->v6) {
		if (memcmp(l->addr, zero, 4) == 0)
			snprintf(out, len, "127.0.0.1:%u", l->port);
		else if (l->addr[0] == 127 && inet_ntop(AF_INET, l->addr, a, sizeof(a)))
			snprintf(out, len, "%s:%u", a, l->port);
		else
			return false;
		return true;
	}
	if (memcmp(l->addr, zero, 16) == 0 ||
	    (memcmp(l->addr, zero, 15) == 0 && l->addr[15] == 1)) {
		snprintf(out, len, "[::1]:%u", l->port);
		return true;
	}
	if (memcmp(l->addr, v4mapped, 12) == 0) {
		struct listener v4 = { .port = l->port };

		memcpy(v4.addr, l->addr + 12, 4);
		return listener_hostport(&v4, out, len);
	}
	return false;
}

static int same_netns(pid_t pid)
{
	char path[64], a[64], b[64];
	ssize_t na, nb;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	na = readlink("/proc/self/ns/net", a, sizeof(a) - 1);
	nb = readlink(path, b, sizeof(b) - 1);
	if (na <= 0 || nb <= 0)
		return 1;	/* unknown: /proc/PID/fd will tell */
	return na == nb && memcmp(a, b, (size_t)na) == 0;
}

// Append to the tried list of the reason, as much as fits.
static void tried_add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tried_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

int mt_gm_discover(pid_t pid, const struct mt_gm_fetch_opts *o, char *url, size_t url_len,
		   struct mt_gm_sample *first, char *reason, size_t reason_len)
{
	struct listener *ls = NULL;
	struct mt_gm_fetch_opts fo;
	struct fetcher f = { 0 };
	struct mt_gm_sample s, fallback_s;
	char fallback[URL_MAX] = "", tried[MT_GM_REASON_LEN] = "";
	size_t n = 0, ours = 0, tried_n = 0;
	uint64_t deadline = mono_ns() + DISC_DEADLINE_NS;
	int err;

	if (pid <= 0) {
		mt_gm__reason(reason, reason_len, "no pid to discover an endpoint of");
		return -EINVAL;
	}
	if (!same_netns(pid)) {
		mt_gm__reason(reason, reason_len,
			   "pid %d is in another network namespace: its loopback is not ours (give the URL)",
			   (int)pid);
		return -EXDEV;
	}
	fetch_opts_fill(&fo, o, DISC_CONNECT_MS, DISC_TIMEOUT_MS);
	ls = calloc(DISC_MAX_LISTENERS, sizeof(*ls));
	if (!ls) {
		mt_gm__reason(reason, reason_len, "out of memory");
		return -ENOMEM;
	}
	read_listeners(pid, false, ls, &n, DISC_MAX_LISTENERS);
	read_listeners(pid, true, ls, &n, DISC_MAX_LISTENERS);
	err = mark_ours(pid, ls, n, reason, reason_len);
	if (err)
		goto cleanup;
	err = fetcher_init(&f, fo.max_body, NULL);
	if (err) {
		mt_gm__reason(reason, reason_len, "cannot set up libcurl");
		goto cleanup;
	}
	for (size_t i = 0; i < n && tried_n < DISC_MAX_TRIED; i++) {
		char hp[INET6_ADDRSTRLEN + 10], u[URL_MAX], why[MT_GM_REASON_LEN];
		uint64_t t;
		int e;

		if (!ls[i].ours)
			continue;
		ours++;
		if (!listener_hostport(&ls[i], hp, sizeof(hp)))
			continue;
		if (mono_ns() > deadline)
			break;
		tried_n++;
		snprintf(u, sizeof(u), "http://%s/metrics", hp);
		e = fetcher_scrape(&f, u, &fo, &s, &t, why, sizeof(why));
		if (!e) {
			snprintf(url, url_len, "%s", u);
			if (first)
				*first = s;
			err = 0;
			goto cleanup;
		}
		tried_add(tried, sizeof(tried), "%s%s (%s)", tried[0] ? ", " : "", u, strerror(-e));
		// nothing listens there after all, or it hangs: /debug/vars would too
		if (e == -ECONNREFUSED || e == -ETIMEDOUT || fallback[0])
			continue;
		snprintf(u, sizeof(u), "http://%s/debug/vars", hp);
		e = fetcher_scrape(&f, u, &fo, &s, &t, why, sizeof(why));
		if (!e) {
			snprintf(fallback, sizeof(fallback), "%s", u);
			fallback_s = s;
		} else {
			tried_add(tried, sizeof(tried), ", %s (%s)", u, strerror(-e));
		}
	}
	if (fallback[0]) {
		snprintf(url, url_len, "%s", fallback);
		if (first)
			*first = fallback_s;
		err = 0;
		goto cleanup;
	}
	err = -ENOENT;
	if (!ours)
		mt_gm__reason(reason, reason_len, "pid %d listens on no TCP socket", (int)pid);
	else if (!tried_n)
		mt_gm__reason(reason, reason_len,
			   "pid %d listens on %zu TCP socket(s), none on loopback or a wildcard address",
			   (int)pid, ours);
	else
		mt_gm__reason(reason, reason_len, "pid %d: no Go metrics on its %zu listener(s): %s",
			   (int)pid, ours, tried);
cleanup:
	fetcher_fini(&f);
	free(ls);
	return err;
}

/* ---------------------------------------------------------------- sampler */

struct mt_gometrics {
	struct mt_gm_opts o;
	char url[URL_MAX];
	struct fetcher f;
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* on CLOCK_MONOTONIC */
	atomic_bool stop;
	atomic_uint_fast64_t samples, failures, cpu_ns;
	int seen[32];		/* errnos already reported (sampling thread only) */
	unsigned n_seen;
};

int mt_gometrics__new(const struct mt_gm_opts *o, struct mt_gometrics **out, char *reason,
		      size_t reason_len)
{
	struct mt_gometrics *g = NULL;
	pthread_condattr_t ca;
	struct url_parts up;
	int err;

	*out = NULL;
	if (!o || !o->on_sample || (!o->url && o->pid <= 0)) {
		mt_gm__reason(reason, reason_len, "need a sample callback and a URL or a pid");
		return -EINVAL;
	}
	if (o->interval_ns && o->interval_ns < 10000000ull) {
		mt_gm__reason(reason, reason_len, "interval under 10 ms");
		return -EINVAL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		mt_gm__reason(reason, reason_len, "out of memory");
		return -ENOMEM;
	}
	g->o = *o;
	g->o.url = NULL;
	if (!g->o.interval_ns)
		g->o.interval_ns = 1000000000ull;
	fetch_opts_fill(&g->o.fetch, &o->fetch, DEF_CONNECT_MS, DEF_TIMEOUT_MS);
	if (o->url) {
		err = check_url(o->url, &up, reason, reason_len);
		if (err)
			goto fail;
		snprintf(g->url, sizeof(g->url), "%s", o->url);
	} else {
		err = mt_gm_discover(o->pid, NULL, g->url, sizeof(g->url), NULL, reason, reason_len);
		if (err)
			goto fail;
	}
	err = fetcher_init(&g->f, g->o.fetch.max_body, &g->stop);
	if (err) {
		mt_gm__reason(reason, reason_len, "cannot set up libcurl");
		goto fail;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = g;
	return 0;
fail:
	fetcher_fini(&g->f);
	free(g);
	return err;
}

static void report_error(struct mt_gometrics *g, int err, const char *reason)
{
	atomic_fetch_add(&g->failures, 1);
	for (unsigned i = 0; i < g->n_seen; i++)
		if (g->seen[i] == err)
			return;
	if (g->n_seen < sizeof(g->seen) / sizeof(g->seen[0]))
		g->seen[g->n_seen++] = err;
	if (g->o.on_error)
		g->o.on_error(g->o.ctx, err, reason);
}

static void *sampler_main(void *arg)
{
	struct mt_gometrics *g = arg;
	uint64_t next = mono_ns();

	while (!atomic_load(&g->stop)) {
		char reason[MT_GM_REASON_LEN];
		struct mt_gm_sample s;
		struct timespec ts;
		uint64_t t = 0, now, t0 = mono_ns();
		int err;

		err = fetcher_scrape(&g->f, g->url, &g->o.fetch, &s, &t, reason, sizeof(reason));
		if (!err) {
			s.req_ns = mono_ns() - t0;
			g->o.on_sample(g->o.ctx, &s, t);
			atomic_fetch_add(&g->samples, 1);
		} else if (!(err == -ECANCELED && atomic_load(&g->stop))) {
			report_error(g, err, reason);
		}
		if (!clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
			atomic_store(&g->cpu_ns, (uint64_t)ts.tv_sec * 1000000000ull +
						 (uint64_t)ts.tv_nsec);
		// a fixed rate; ticks missed behind a slow endpoint are dropped, not bunched
		next += g->o.interval_ns;
		now = mono_ns();
		if (next <= now)
			next = now + g->o.interval_ns;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		pthread_mutex_lock(&g->mu);
		while (!atomic_load(&g->stop) &&
		       pthread_cond_timedwait(&g->cv, &g->mu, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&g->mu);
	}
	return NULL;
}

int mt_gometrics__start(struct mt_gometrics *g)
{
	int err;

	if (g->started)
		return -EALREADY;
	atomic_store(&g->stop, false);
	err = pthread_create(&g->thr, NULL, sampler_main, g);
	if (err)
		return -err;
	g->started = true;
	return 0;
}

int mt_gometrics__stop(struct mt_gometrics *g)
{
	if (!g->started)
		return 0;
	if (pthread_equal(pthread_self(), g->thr))
		return -EDEADLK;
	pthread_mutex_lock(&g->mu);
	atomic_store(&g->stop, true);
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thr, NULL);
	g->started = false;
	return 0;
}

void mt_gometrics__stats(struct mt_gometrics *g, struct mt_gm_stats *st)
{
	st->samples = atomic_load(&g->samples);
	st->failures = atomic_load(&g->failures);
	st->thread_cpu_ns = atomic_load(&g->cpu_ns);
}

void mt_gometrics__free(struct mt_gometrics *g)
{
	if (!g)
		return;
	mt_gometrics__stop(g);
	fetcher_fini(&g->f);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
