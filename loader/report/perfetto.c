// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The perfetto report: Chrome trace-event JSON (ui.perfetto.dev,
 * chrome://tracing). The calls, grouped in bursts per thread, and the task,
 * reclaim and loss events are written while the trace is read, to a
 * temporary file (memory stays bounded whatever the number of records); the
 * counter tracks come from the timeline at the end. Every object goes
 * through the one JSON writer (util/json_writer.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "json_writer.h"
#include "madvtrace/build.h"
#include "report_priv.h"
#include "xlat.h"

/* calls of one kind from one thread less than this apart form one burst */
#define BURST_GAP_NS 1000000ull
/* a writer's buffer: an event, or the document's pieces */
#define EVENT_BUF 4096

struct burst {
	uint32_t pid, tid;
	uint16_t type;
	int32_t advice;
	uint32_t stack_id; /* calls of one burst share their user stack */
	bool used, open;
	uint64_t first_ns, last_ns;
	uint64_t calls, errors, bytes;
	/* the first call, shown in full when the burst has only one */
	uint64_t addr, len;
	int64_t ret;
	uint32_t prot, flags;
};

struct pname {
	uint32_t pid;
	char comm[MT_COMM_LEN];
};

struct mt_perfetto {
	FILE *events; /* staged events, each starting with its separator */
	uint64_t nevents;
	struct burst *bursts; /* open-addressed by tid */
	size_t nbursts, capbursts;
	struct pname *names;
	size_t nnames;
};

/* A timestamp in microseconds with its nanoseconds: 1234.567. */
static void ts_us(struct mt_jw *w, uint64_t t)
{
	mt_jw__key_lit(w, "ts");
	mt_jw__decimal(w, t, 3);
}

/* Events are the items of one array across the staged file and the document. */
static void event_start(struct mt_perfetto *pf, struct mt_jw *w)
{
	if (pf->nevents++)
		mt_jw__verbatim_lit(w, ",\n");
	else
		mt_jw__verbatim_lit(w, "\n");
	mt_jw__start_object(w);
}

static int event_end(struct mt_jw *w)
{
	mt_jw__end_object(w);
	return mt_jw__flush(w) < 0 ? -EIO : 0;
}

static void burst_name(struct mt_jw *w, const struct burst *b)
{
	const struct mt_type_info *ti = mt_type_info(b->type);

	mt_jw__key_lit(w, "name");
	if (b->type == MT_MADVISE) {
		mt_jw__string_begin(w);
		mt_jw__string_raw(w, "madvise ");
		if (mt_advice_name(b->advice))
			mt_xlat__advice(&w->b, b->advice);
		else
			mt_buf__s64(&w->b, b->advice);
		mt_jw__string_end(w);
	} else {
		mt_jw__string(w, ti ? ti->name : "?");
	}
}

static int burst_flush(struct mt_perfetto *pf, struct burst *b)
{
	const struct mt_type_info *ti = mt_type_info(b->type);
	char buf[EVENT_BUF], s[160];
	struct mt_jw w;

	if (!b->open)
		return 0;
	b->open = false;
	mt_jw__init(&w, buf, sizeof(buf), pf->events, true);
	event_start(pf, &w);
	burst_name(&w, b);
	mt_jw__string_field(&w, "cat", ti ? ti->name : "?");
	mt_jw__u64_field(&w, "pid", b->pid);
	mt_jw__u64_field(&w, "tid", b->tid);
	ts_us(&w, b->first_ns);
	if (b->calls == 1) {
		mt_jw__string_field(&w, "ph", "i");
		mt_jw__string_field(&w, "s", "t");
		mt_jw__key_lit(&w, "args");
		mt_jw__start_object(&w);
		mt_jw__key_lit(&w, "addr");
		mt_jw__hex_string(&w, b->addr);
		mt_jw__u64_field(&w, "len", b->len);
		mt_jw__key_lit(&w, "ret");
		if (mt_ret_is_err(b->ret)) {
			const char *en = mt_errno_name((int)-b->ret);

			mt_jw__string(&w, en ? en : "error");
		} else if (b->type == MT_MMAP || b->type == MT_MREMAP || b->type == MT_BRK) {
			mt_jw__hex_string(&w, (uint64_t)b->ret);
		} else {
			mt_jw__s64(&w, b->ret);
		}
		if (b->type == MT_MMAP || b->type == MT_MPROTECT)
			mt_jw__string_field(&w, "prot", mt_prot_str(s, sizeof(s), b->prot));
		if (b->type == MT_MMAP)
			mt_jw__string_field(&w, "flags", mt_mmap_flags_str(s, sizeof(s), b->flags));
		if (b->stack_id)
			mt_jw__u64_field(&w, "stack_id", b->stack_id);
		mt_jw__end_object(&w);
		return event_end(&w);
	}
	mt_jw__string_field(&w, "ph", "X");
	mt_jw__key_lit(&w, "dur");
	/* at least 1 us, so the slice can be seen and clicked */
	mt_jw__decimal(&w, b->last_ns - b->first_ns > 1000 ? b->last_ns - b->first_ns : 1000, 3);
	mt_jw__key_lit(&w, "args");
	mt_jw__start_object(&w);
	mt_jw__u64_field(&w, "calls", b->calls);
	mt_jw__u64_field(&w, "errors", b->errors);
	mt_jw__u64_field(&w, "bytes", b->bytes);
	mt_jw__key_lit(&w, "first_addr");
	mt_jw__hex_string(&w, b->addr);
	if (b->stack_id)
		mt_jw__u64_field(&w, "stack_id", b->stack_id);
	mt_jw__end_object(&w);
	return event_end(&w);
}

static struct burst *burst_slot(struct mt_perfetto *pf, uint32_t tid)
{
	size_t i;

	if ((pf->nbursts + 1) * 2 > pf->capbursts) {
		size_t cap = pf->capbursts ? pf->capbursts * 2 : 64;
		struct burst *nb = calloc(cap, sizeof(*nb));

		if (!nb)
			return NULL;
		for (size_t j = 0; j < pf->capbursts; j++) {
			if (!pf->bursts[j].used)
				continue;
			for (i = pf->bursts[j].tid & (cap - 1); nb[i].used; i = (i + 1) & (cap - 1))
				;
			nb[i] = pf->bursts[j];
		}
		free(pf->bursts);
		pf->bursts = nb;
		pf->capbursts = cap;
	}
	for (i = tid & (pf->capbursts - 1); pf->bursts[i].used; i = (i + 1) & (pf->capbursts - 1))
		if (pf->bursts[i].tid == tid)
			return &pf->bursts[i];
	pf->bursts[i].used = true;
	pf->bursts[i].tid = tid;
	pf->nbursts++;
	return &pf->bursts[i];
}

static void perfetto_name(struct mt_perfetto *pf, uint32_t pid, const char *comm)
{
	struct pname *n;

	for (size_t i = 0; i < pf->nnames; i++) {
		if (pf->names[i].pid == pid) {
			memcpy(pf->names[i].comm, comm, MT_COMM_LEN);
			pf->names[i].comm[MT_COMM_LEN - 1] = '\0';
			return;
		}
	}
	n = realloc(pf->names, (pf->nnames + 1) * sizeof(*n));
	if (!n)
		return; /* a missing name is cosmetic */
	pf->names = n;
	n[pf->nnames].pid = pid;
	memcpy(n[pf->nnames].comm, comm, MT_COMM_LEN);
	n[pf->nnames].comm[MT_COMM_LEN - 1] = '\0';
	pf->nnames++;
}

/* An instant event up to its "ts"; the caller adds "args" and ends it. */
static void perfetto_instant(struct mt_perfetto *pf, struct mt_jw *w, const struct mt_hdr *h,
			     const char *name, const char *scope)
{
	event_start(pf, w);
	mt_jw__string_field(w, "name", name);
	mt_jw__string_field(w, "cat", "madvtrace");
	mt_jw__string_field(w, "ph", "i");
	mt_jw__string_field(w, "s", scope);
	mt_jw__u64_field(w, "pid", h->pid);
	mt_jw__u64_field(w, "tid", h->tid);
	ts_us(w, h->t_ns);
	mt_jw__key_lit(w, "args");
	mt_jw__start_object(w);
}

/* The task, reclaim and loss records as instant events; 1 when rec is none of them. */
static int perfetto_other(struct mt_perfetto *pf, const struct mt_hdr *h)
{
	char buf[EVENT_BUF];
	struct mt_jw w;

	mt_jw__init(&w, buf, sizeof(buf), pf->events, true);
	switch (h->type) {
	case MT_RSS: {
		const struct mt_rss *r = (const void *)h;

		if (r->reason != MT_RSS_RECLAIM)
			return 0;
		perfetto_instant(pf, &w, h, "reclaim", "p");
		mt_jw__u64_field(&w, "rss_anon", r->anon);
		mt_jw__u64_field(&w, "rss_file", r->file);
		mt_jw__u64_field(&w, "rss_shmem", r->shmem);
		mt_jw__u64_field(&w, "swap", r->swap);
		break;
	}
	case MT_TASK: {
		const struct mt_task *k = (const void *)h;
		static const char *const ev[] = {NULL,	 "attach", "launch",	  "fork",  "clone",
						 "exec", "exit",   "thread exit", "detach"};

		if (k->event == MT_TASK_ATTACH || k->event == MT_TASK_LAUNCH ||
		    k->event == MT_TASK_EXEC)
			perfetto_name(pf, h->pid, k->comm);
		if (k->event < 1 || k->event > 8 || k->event == MT_TASK_CLONE ||
		    k->event == MT_TASK_THREAD_EXIT)
			return 0;
		perfetto_instant(pf, &w, h, ev[k->event], "p");
		mt_jw__u64_field(&w, "other_pid", k->other_pid);
		mt_jw__s64_field(&w, "code", k->code);
		break;
	}
	case MT_LOST: {
		const struct mt_lost *l = (const void *)h;

		perfetto_instant(pf, &w, h, "events lost", "g");
		mt_jw__u64_field(&w, "count", l->count);
		break;
	}
	default:
		return 1;
	}
	mt_jw__end_object(&w);
	return event_end(&w);
}

int mt_perfetto__record(struct mt_perfetto *pf, const struct mt_hdr *h)
{
	struct burst *b;
	uint64_t addr = 0, len = 0, bytes = 0;
	int64_t ret = 0;
	uint32_t prot = 0, flags = 0;
	int32_t advice = -1;
	bool ok;
	int err;

	switch (h->type) {
	case MT_MMAP: {
		const struct mt_mmap *m = (const void *)h;

		if (h->flags & MT_F_SYNTH)
			return 0; /* a mapping found at a start (attach, preload): state, not a call */
		addr = m->addr, len = m->len, ret = m->ret, prot = m->prot, flags = m->flags;
		ok = !mt_ret_is_err(ret);
		break;
	}
	case MT_MUNMAP: {
		const struct mt_munmap *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret;
		ok = !ret;
		break;
	}
	case MT_MREMAP: {
		const struct mt_mremap *m = (const void *)h;

		addr = m->old_addr, len = m->new_len, ret = m->ret, flags = m->flags;
		ok = !mt_ret_is_err(ret);
		break;
	}
	case MT_MADVISE: {
		const struct mt_madvise *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret, advice = m->advice;
		ok = h->flags & MT_F_PROCESS_MADVISE ? ret >= 0 : !ret;
		break;
	}
	case MT_BRK: {
		const struct mt_brk *m = (const void *)h;

		addr = m->addr, ret = m->ret;
		ok = !m->addr || (uint64_t)m->ret == m->addr;
		break;
	}
	case MT_MPROTECT: {
		const struct mt_mprotect *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret, prot = m->prot;
		ok = !ret;
		break;
	}
	default:
		err = perfetto_other(pf, h);
		return err > 0 ? 0 : err;
	}
	if (ok)
		bytes = len;
	b = burst_slot(pf, h->tid);
	if (!b)
		return -ENOMEM;
	if (b->open && (b->pid != h->pid || b->type != h->type || b->advice != advice ||
			b->stack_id != h->stack_id || h->t_ns - b->last_ns > BURST_GAP_NS ||
			h->t_ns < b->last_ns)) {
		err = burst_flush(pf, b);
		if (err)
			return err;
	}
	if (!b->open) {
		b->open = true;
		b->pid = h->pid;
		b->type = h->type;
		b->advice = advice;
		b->stack_id = h->stack_id;
		b->first_ns = h->t_ns;
		b->calls = b->errors = b->bytes = 0;
		b->addr = addr;
		b->len = len;
		b->ret = ret;
		b->prot = prot;
		b->flags = flags;
	}
	b->last_ns = h->t_ns;
	b->calls++;
	b->errors += !ok;
	b->bytes += bytes;
	return ferror(pf->events) ? -EIO : 0;
}

static void counter(struct mt_perfetto *pf, struct mt_jw *w, const char *name, uint32_t pid,
		    uint64_t t, uint64_t v)
{
	event_start(pf, w);
	mt_jw__string_field(w, "name", name);
	mt_jw__string_field(w, "cat", "gauge");
	mt_jw__string_field(w, "ph", "C");
	mt_jw__u64_field(w, "pid", pid);
	mt_jw__u64_field(w, "tid", pid);
	ts_us(w, t);
	mt_jw__key_lit(w, "args");
	mt_jw__start_object(w);
	mt_jw__u64_field(w, "bytes", v);
	mt_jw__end_object(w);
	mt_jw__end_object(w);
}

/*
 * What the stack_id of the call events stands for: who released, and the
 * function that says so (or the innermost one that has a name).
 */
static void perfetto_stacks(struct report *rp, struct mt_jw *w)
{
	struct mt_rel_stack st;

	mt_jw__key_lit(w, "release_stacks");
	mt_jw__start_array(w);
	for (size_t i = 0; mt_releasers__stack_at(rp->rel, i, &st); i++) {
		const char *fn = NULL;

		if (st.decisive >= 0)
			fn = mt_releasers__frame(rp->rel, &st, (uint32_t)st.decisive, NULL);
		for (uint32_t j = 0; !fn && j < st.nframes; j++)
			fn = mt_releasers__frame(rp->rel, &st, j, NULL);
		mt_jw__start_object(w);
		mt_jw__u64_field(w, "pid", st.pid);
		mt_jw__u64_field(w, "stack_id", st.stack_id);
		mt_jw__string_field(w, "releaser", mt_releaser_key(st.who));
		mt_jw__string_field(w, "function", fn);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
}

/* The staged events, as they are: each already starts with its separator. */
static int copy_events(struct mt_perfetto *pf, struct mt_jw *w)
{
	char buf[65536];
	size_t got;

	rewind(pf->events);
	while ((got = fread(buf, 1, sizeof(buf), pf->events)) > 0)
		mt_jw__verbatim(w, buf, got);
	return ferror(pf->events) ? -EIO : 0;
}

int mt_report__perfetto(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	struct mt_perfetto *pf = rp->pf;
	size_t n;
	const struct mt_gauges *g = mt_timeline__samples(rp->tl, &n);
	uint32_t pid = s->target_pid;
	char buf[65536];
	struct mt_jw w;
	int err;

	for (size_t i = 0; i < pf->capbursts; i++) {
		err = burst_flush(pf, &pf->bursts[i]);
		if (err)
			return err;
	}
	if (fflush(pf->events) || ferror(pf->events))
		return -EIO;
	mt_jw__init(&w, buf, sizeof(buf), rp->out, true);
	/*
	 * The layout of Chrome's own traces: the events array at the left
	 * margin, an event a line. Its items are written as documents of
	 * their own, the array's brackets and commas around them.
	 */
	mt_jw__verbatim_lit(&w, "{\"displayTimeUnit\": \"ms\", \"otherData\": ");
	mt_jw__start_object(&w);
	mt_jw__string_field(&w, "producer", "madvtrace report");
	mt_jw__string_field(&w, "trace", rp->path);
	mt_jw__string_field(&w, "target", mt_report__hdr_str(rp->info->target));
	mt_jw__string_field(&w, "counters", "bytes, summed over the traced processes");
	perfetto_stacks(rp, &w);
	mt_jw__end_object(&w);
	mt_jw__verbatim_lit(&w, ",\n\"traceEvents\": [");
	err = copy_events(pf, &w);
	if (err)
		return err;
	for (size_t i = 0; i < pf->nnames; i++) {
		for (int k = 0; k < 2; k++) {
			event_start(pf, &w);
			mt_jw__string_field(&w, "name", k ? "thread_name" : "process_name");
			mt_jw__string_field(&w, "ph", "M");
			mt_jw__u64_field(&w, "pid", pf->names[i].pid);
			mt_jw__u64_field(&w, "tid", pf->names[i].pid);
			mt_jw__key_lit(&w, "args");
			mt_jw__start_object(&w);
			mt_jw__string_field(&w, "name", pf->names[i].comm);
			mt_jw__end_object(&w);
			mt_jw__end_object(&w);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (g[i].have_rss) {
			counter(pf, &w, "RSS", pid, g[i].t_ns, mt_gauges_rss(&g[i]));
			counter(pf, &w, "RSS anon", pid, g[i].t_ns, g[i].rss_anon);
		}
		if (g[i].have_smaps) {
			counter(pf, &w, "LazyFree", pid, g[i].t_ns, g[i].lazyfree);
			counter(pf, &w, "Rss - LazyFree", pid, g[i].t_ns,
				g[i].smaps_rss > g[i].lazyfree ? g[i].smaps_rss - g[i].lazyfree
							       : 0);
		}
		counter(pf, &w, "committed", pid, g[i].t_ns, g[i].state[MT_RS_COMMITTED]);
		counter(pf, &w, "released lazily", pid, g[i].t_ns, g[i].state[MT_RS_LAZY]);
		counter(pf, &w, "released eagerly", pid, g[i].t_ns, g[i].state[MT_RS_EAGER]);
		counter(pf, &w, "reserved", pid, g[i].t_ns, g[i].state[MT_RS_RESERVED]);
		if (g[i].have_go_released)
			counter(pf, &w, "Go HeapReleased", pid, g[i].t_ns, g[i].go_heap_released);
		if (g[i].have_go_inuse)
			counter(pf, &w, "Go HeapInuse", pid, g[i].t_ns, g[i].go_heap_inuse);
	}
	mt_jw__verbatim_lit(&w, "\n]}\n");
	return mt_jw__flush(&w) < 0 ? -EIO : 0;
}

struct mt_perfetto *mt_perfetto__new(void)
{
	struct mt_perfetto *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return NULL;
	pf->events = tmpfile();
	if (!pf->events) {
		free(pf);
		return NULL;
	}
	return pf;
}

void mt_perfetto__free(struct mt_perfetto *pf)
{
	if (!pf)
		return;
	fclose(pf->events);
	free(pf->bursts);
	free(pf->names);
	free(pf);
}
