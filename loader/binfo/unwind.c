// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unwinding copied user stacks with libdwfl (unwind.h): the files a trace's
 * processes mapped, each process's address space, and the unwinder's
 * callbacks over the copied bytes.
 */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elffile.h"
#include "unwind_int.h"

#define NONE UINT32_MAX
#define PAGE 4096ull
/* what a trace may make report keep (more is not kept: its frames show as addresses) */
#define MAX_MAPS 8192		/* file mappings of one process */
#define MAX_TOTAL_MAPS (1u << 20) /* mappings of all processes (40 MiB) */
#define MAX_RECORDED_FILES 65536 /* distinct files named by mapping records */
#define SKIP (UINT32_MAX - 1)	/* file_of: over MAX_RECORDED_FILES */
/* processes whose libdwfl view is kept (each holds a descriptor per module): the rest rebuilt */
#define MAX_LIVE_DWFL 8

struct umap {
	uint64_t start, end, off;
	uint32_t file;
	uint32_t prot;
	uint64_t t_ns; /* when the recorder read it */
};

/* What the unwinder works on for one call: set before each walk. */
struct uctx {
	struct mt_uw *u;
	struct uspace *sp;
	const struct mt_ustack *us;
	struct mt_uframe *out;
	int n, max;
};

struct uspace {
	uint32_t pid;
	struct umap *v;
	size_t n, cap;
	Dwfl *dwfl; /* NULL: to be built (again) from v */
	uint64_t used; /* when it was last unwound in (the unwinder's clock) */
	uint64_t exec_ns; /* its last exec: mappings read before are the old program's */
	bool attached;
	struct uctx *cur;
};

/* ---- hashing ---- */

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

static uint64_t file_key(const char *path, uint64_t dev, uint64_t ino, const uint8_t *bid,
			 unsigned bidlen)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (unsigned i = 0; i < bidlen; i++)
		h = (h ^ bid[i]) * 0x100000001b3ull;
	return mix(h ^ mix(dev) ^ mix(ino + 1));
}

/* Grow an open-addressing index of n entries over cap slots; rehash with key(i). */
static int index_grow(uint32_t **slots, size_t *cap, size_t n, uint64_t (*key)(void *, uint32_t),
		      void *ctx)
{
	size_t c;
	uint32_t *s;

	if ((n + 1) * 2 <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	s = malloc(c * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s, 0xff, c * sizeof(*s));
	for (size_t j = 0; j < *cap; j++) {
		size_t i;

		if ((*slots)[j] == NONE)
			continue;
		for (i = key(ctx, (*slots)[j]) & (c - 1); s[i] != NONE; i = (i + 1) & (c - 1))
			;
		s[i] = (*slots)[j];
	}
	free(*slots);
	*slots = s;
	*cap = c;
	return 0;
}

static uint64_t fkey(void *ctx, uint32_t i)
{
	const struct ufile *f = &((struct mt_uw *)ctx)->files[i];

	return file_key(f->path, f->dev, f->ino, f->bid, f->bidlen);
}

static uint64_t skey(void *ctx, uint32_t i)
{
	return mix(((struct mt_uw *)ctx)->spaces[i]->pid);
}

/* ---- files ---- */

static uint32_t file_of(struct mt_uw *u, const struct mt_mapping *m, const char *path)
{
	unsigned bl = m->build_id_len < MT_BUILD_ID_MAX ? m->build_id_len : MT_BUILD_ID_MAX;
	uint64_t k = file_key(path, m->dev, m->ino, m->build_id, bl);
	struct ufile *f;
	size_t i;

	if (index_grow(&u->file_hash, &u->file_hash_cap, u->nfiles, fkey, u))
		return NONE;
	for (i = k & (u->file_hash_cap - 1); u->file_hash[i] != NONE;
	     i = (i + 1) & (u->file_hash_cap - 1)) {
		f = &u->files[u->file_hash[i]];
		if (f->dev == m->dev && f->ino == m->ino && f->bidlen == bl &&
		    !memcmp(f->bid, m->build_id, bl) && !strcmp(f->path, path))
			return u->file_hash[i];
	}
	if (u->nfiles >= MAX_RECORDED_FILES)
		return SKIP;
	if (u->nfiles == u->capfiles) {
		size_t c = u->capfiles ? 2 * u->capfiles : 16;
		struct ufile *v = realloc(u->files, c * sizeof(*v));

		if (!v)
			return NONE;
		u->files = v;
		u->capfiles = c;
	}
	f = &u->files[u->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return NONE;
	f->dev = m->dev;
	f->ino = m->ino;
	f->bidlen = (uint8_t)bl;
	memcpy(f->bid, m->build_id, bl);
	f->fd = -1;
	f->canon = (uint32_t)u->nfiles;
	u->file_hash[i] = (uint32_t)u->nfiles;
	return (uint32_t)u->nfiles++;
}

static bool set_state(struct ufile *f, enum mt_uw_state st, const char *why)
{
	f->state = st;
	f->reason = strdup(why);
	return false;
}

static bool is_go(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".gopclntab") || !strcmp(name, ".note.go.buildid") ||
			     !strcmp(name, ".data.rel.ro.gopclntab")))
			return true;
	}
	return false;
}

bool mt_uw_open_file(struct mt_uw *u, uint32_t i)
{
	struct ufile *f = &u->files[i];
	char err[600], a[48], b[48];
	const void *bid = NULL;
	struct stat st;
	ssize_t bl;
	size_t n, opened = 0;
	GElf_Ehdr eh;

	if (f->state != MT_UWF_UNREAD)
		return f->state == MT_UWF_OK;
	for (size_t j = 0; j < u->nfiles; j++)
		opened += u->files[j].fd >= 0;
	if (opened >= MT_UW_MAX_FILES)
		return set_state(f, MT_UWF_TOO_MANY,
				 "not opened: the trace maps too many files");
	f->fd = mt_elf__open_file(f->path, &st, err, sizeof(err));
	if (f->fd < 0) {
		mt_elf__one_line(err);
		return set_state(f, MT_UWF_UNOPENED, err);
	}
	f->disk_dev = st.st_dev;
	f->disk_ino = st.st_ino;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh) ||
	    elf_getphdrnum(f->elf, &n)) {
		snprintf(err, sizeof(err), "%s: not an ELF file", f->path);
		goto refuse;
	}
	f->etype = eh.e_type;
	bl = dwelf_elf_gnu_build_id(f->elf, &bid);
	if (f->bidlen && (bl != f->bidlen || memcmp(bid, f->bid, f->bidlen))) {
		mt_elf__hex(a, sizeof(a), f->bid, f->bidlen);
		mt_elf__hex(b, sizeof(b), bid, bl > 0 ? (size_t)bl : 0);
		snprintf(err, sizeof(err),
			 "%s: build id %s here, %s when it was mapped: another build, not used",
			 f->path, b[0] ? b : "(none)", a);
		elf_end(f->elf);
		f->elf = NULL;
		close(f->fd);
		f->fd = -1;
		return set_state(f, MT_UWF_BUILD_ID, err);
	}
	if (!f->bidlen && f->dev && (f->dev != st.st_dev || f->ino != st.st_ino)) {
		snprintf(err, sizeof(err),
			 "%s: not the file that was mapped (another device or inode, and no build "
			 "id to compare), not used",
			 f->path);
		elf_end(f->elf);
		f->elf = NULL;
		close(f->fd);
		f->fd = -1;
		return set_state(f, MT_UWF_BUILD_ID, err);
	}
	f->loads = calloc(n ? n : 1, sizeof(*f->loads));
	if (!f->loads) {
		snprintf(err, sizeof(err), "%s: out of memory", f->path);
		goto refuse;
	}
	for (size_t k = 0; k < n; k++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, (int)k, &ph) && ph.p_type == PT_LOAD)
			f->loads[f->nloads++] =
			    (struct uload){ph.p_offset, ph.p_filesz, ph.p_vaddr};
	}
	f->go = is_go(f->elf);
	for (uint32_t j = 0; j < i; j++)
		if (u->files[j].state == MT_UWF_OK && u->files[j].disk_dev == f->disk_dev &&
		    u->files[j].disk_ino == f->disk_ino) {
			f->canon = u->files[j].canon;
			break;
		}
	f->state = MT_UWF_OK;
	return true;
refuse:
	if (f->elf)
		elf_end(f->elf);
	f->elf = NULL;
	close(f->fd);
	f->fd = -1;
	return set_state(f, MT_UWF_UNOPENED, err);
}

bool mt_uw_file_vaddr(const struct ufile *f, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < f->nloads; i++) {
		const struct uload *l = &f->loads[i];

		if (off >= l->off && off - l->off < (l->filesz ? l->filesz : 1)) {
			*vaddr = off - l->off + l->vaddr;
			return true;
		}
	}
	return false;
}

bool mt_uw__file(const struct mt_uw *u, uint32_t i, struct mt_uw_file *out)
{
	const struct ufile *f;

	if (i >= u->nfiles)
		return false;
	f = &u->files[i];
	*out = (struct mt_uw_file){f->path, f->state, f->reason, f->go};
	return true;
}

/* ---- address spaces ---- */

static struct uspace *space_of(struct mt_uw *u, uint32_t pid, bool create)
{
	struct uspace *s;
	size_t i;

	if (u->space_hash_cap) {
		for (i = mix(pid) & (u->space_hash_cap - 1); u->space_hash[i] != NONE;
		     i = (i + 1) & (u->space_hash_cap - 1))
			if (u->spaces[u->space_hash[i]]->pid == pid)
				return u->spaces[u->space_hash[i]];
	}
	if (!create)
		return NULL;
	if (index_grow(&u->space_hash, &u->space_hash_cap, u->nspaces, skey, u))
		return NULL;
	if (u->nspaces == u->capspaces) {
		size_t c = u->capspaces ? 2 * u->capspaces : 16;
		struct uspace **v = realloc(u->spaces, c * sizeof(*v));

		if (!v)
			return NULL;
		u->spaces = v;
		u->capspaces = c;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;
	for (i = mix(pid) & (u->space_hash_cap - 1); u->space_hash[i] != NONE;
	     i = (i + 1) & (u->space_hash_cap - 1))
		;
	u->space_hash[i] = (uint32_t)u->nspaces;
	u->spaces[u->nspaces++] = s;
	return s;
}

static void space_reset(struct uspace *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	s->dwfl = NULL;
	s->attached = false;
}

static int map_room(struct uspace *s, size_t more)
{
	struct umap *v;
	size_t c;

	if (s->n + more <= s->cap)
		return 0;
	c = s->cap ? 2 * s->cap : 64;
	while (c < s->n + more)
		c *= 2;
	v = realloc(s->v, c * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = c;
	return 0;
}

int mt_uw__mapping(struct mt_uw *u, const struct mt_mapping *m)
{
	size_t plen = m->h.size > sizeof(*m) ? m->h.size - sizeof(*m) : 0;
	char path[MT_MAPPING_PATH_MAX];
	struct umap nm, *nv;
	struct uspace *s;
	size_t w = 0, at, lo, hi;

	if (plen > sizeof(path) - 1)
		plen = sizeof(path) - 1;
	memcpy(path, m->path, plen);
	path[plen] = '\0';
	if (!path[0] || m->end <= m->start)
		return 0;
	s = space_of(u, m->h.pid, true);
	if (!s)
		return -ENOMEM;
	if (m->h.t_ns < s->exec_ns)
		return 0; /* read before the exec, written after its record: the old program's */
	nm = (struct umap){m->start, m->end, m->off, file_of(u, m, path), m->prot, m->h.t_ns};
	if (nm.file == NONE)
		return -ENOMEM;
	if (nm.file == SKIP)
		return 0;
	/* the first mapping that ends after the new one starts: the overlaps begin there */
	lo = 0;
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].end <= nm.start)
			lo = mid + 1;
		else
			hi = mid;
	}
	at = lo;
	if (at == s->n || s->v[at].start >= nm.end) {
		/* nothing overlaps (the usual case: /proc/PID/maps is in order): insert at at */
		if (s->n >= MAX_MAPS || u->nmaps >= MAX_TOTAL_MAPS)
			return 0;
		if (map_room(s, 1))
			return -ENOMEM;
		memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
		s->v[at] = nm;
		s->n++;
		u->nmaps++;
		space_reset(s);
		return 0;
	}
	nv = malloc((s->n + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	/* cut what the new mapping overlaps; keep the pieces outside it, in order */
	for (size_t i = 0; i < s->n; i++) {
		struct umap o = s->v[i];

		if (o.end <= nm.start || o.start >= nm.end) {
			nv[w++] = o;
			continue;
		}
		if (o.start < nm.start)
			nv[w++] = (struct umap){o.start, nm.start, o.off, o.file, o.prot, o.t_ns};
		if (o.end > nm.end)
			nv[w++] = (struct umap){nm.end, o.end, o.off + (nm.end - o.start), o.file,
						o.prot, o.t_ns};
	}
	u->nmaps = u->nmaps - s->n + w;
	free(s->v);
	s->v = nv;
	s->cap = s->n + 2;
	s->n = w;
	space_reset(s);
	if (s->n >= MAX_MAPS || u->nmaps >= MAX_TOTAL_MAPS)
		return 0;
	/* insert in start order */
	for (at = s->n; at > 0 && s->v[at - 1].start > nm.start; at--)
		;
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
	s->v[at] = nm;
	s->n++;
	u->nmaps++;
	return 0;
}

int mt_uw__exec(struct mt_uw *u, uint32_t pid, uint64_t t_ns)
{
	struct uspace *s = space_of(u, pid, false);
	size_t w = 0;

	if (!s)
		return 0;
	s->exec_ns = t_ns;
	/* the new program's mappings may have been read (and fed) before the exec record came */
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].t_ns >= t_ns)
			s->v[w++] = s->v[i];
	u->nmaps -= s->n - w;
	s->n = w;
	space_reset(s);
	return 0;
}

int mt_uw__fork(struct mt_uw *u, uint32_t parent, uint32_t child)
{
	struct uspace *p = space_of(u, parent, false), *c;

	if (!p || parent == child)
		return 0;
	c = space_of(u, child, true);
	p = space_of(u, parent, false); /* the table may have moved, not the spaces */
	if (!c)
		return -ENOMEM;
	space_reset(c);
	u->nmaps -= c->n;
	c->n = 0;
	if (u->nmaps + p->n > MAX_TOTAL_MAPS)
		return 0; /* the child's frames show as addresses */
	if (map_room(c, p->n))
		return -ENOMEM;
	memcpy(c->v, p->v, p->n * sizeof(*p->v));
	c->n = p->n;
	u->nmaps += c->n;
	return 0;
}

static const struct umap *find_map(const struct uspace *s, uint64_t addr)
{
	size_t lo = 0, hi = s ? s->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < s->v[lo - 1].end ? &s->v[lo - 1] : NULL;
}

/* ---- memory ---- */

static bool read_word(struct mt_uw *u, const struct uspace *s, const struct mt_ustack *us,
		      uint64_t addr, uint64_t *out)
{
	uint64_t len = us->len, room = us->h.size > sizeof(*us) ? us->h.size - sizeof(*us) : 0;
	const struct umap *m;
	const struct ufile *f;

	if (len > room)
		len = room; /* a record shorter than its len says: only what it holds */
	if (addr >= us->sp && len >= 8 && addr - us->sp <= len - 8) {
		memcpy(out, us->data + (addr - us->sp), 8);
		return true;
	}
	/* read-only file contents (a constant, a GOT filled at link time): as on disk */
	m = find_map(s, addr);
	if (!m || (m->prot & PROT_WRITE) || addr + 8 > m->end || !mt_uw_open_file(u, m->file))
		return false;
	f = &u->files[m->file];
	return pread(f->fd, out, 8, (off_t)(addr - m->start + m->off)) == 8;
}

bool mt_uw__read_word(struct mt_uw *u, uint32_t pid, const struct mt_ustack *us, uint64_t addr,
		      uint64_t *out)
{
	return read_word(u, space_of(u, pid, false), us, addr, out);
}

/* ---- the walk ---- */

static void add_frame(struct uctx *c, uint64_t pc, bool caller)
{
	struct mt_uframe *o = &c->out[c->n++];
	const struct umap *m = find_map(c->sp, caller ? pc - 1 : pc);

	*o = (struct mt_uframe){.pc = pc, .file = MT_UW_NOFILE, .caller = caller};
	if (!m)
		return;
	o->file = m->file;
	o->rel = pc - m->start + m->off;
	o->go = mt_uw_open_file(c->u, m->file) && c->u->files[m->file].go;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct uspace *s = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = s;
	return (pid_t)s->cur->us->h.tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct uspace *s = arg;
	uint64_t v;

	(void)dwfl;
	if (!read_word(s->cur->u, s, s->cur->us, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct uspace *s = arg;
	Dwarf_Word regs[MT_UREG_NR];

	for (int i = 0; i < MT_UREG_NR; i++)
		regs[i] = s->cur->us->regs[i];
	return dwfl_thread_state_registers(thread, 0, MT_UREG_NR, regs);
}

static const Dwfl_Thread_Callbacks thread_cbs = {
    .next_thread = next_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct uctx *c = arg;
	Dwarf_Addr pc;
	bool act;

	if (!dwfl_frame_pc(state, &pc, &act) || !pc)
		return DWARF_CB_ABORT;
	add_frame(c, pc, c->n > 0 && !act);
	if (c->n >= c->max)
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

/* The load bias of file fi in s: where its link-time address 0 is. */
static bool file_bias(const struct uspace *s, const struct ufile *f, uint32_t fi, uint64_t *bias)
{
	if (f->etype == ET_EXEC) {
		*bias = 0;
		return true;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].file != fi)
			continue;
		for (size_t k = 0; k < f->nloads; k++) {
			const struct uload *l = &f->loads[k];

			if ((l->off & ~(PAGE - 1)) == s->v[i].off) {
				*bias = s->v[i].start - (l->vaddr & ~(PAGE - 1));
				return true;
			}
		}
	}
	return false;
}

static void space_build(struct mt_uw *u, struct uspace *s)
{
	struct uspace *oldest = NULL;
	size_t live = 0;
	Elf *any = NULL;

	for (size_t i = 0; i < u->nspaces; i++) {
		struct uspace *o = u->spaces[i];

		if (!o->dwfl)
			continue;
		live++;
		if (!oldest || o->used < oldest->used)
			oldest = o;
	}
	if (live >= MAX_LIVE_DWFL && oldest)
		space_reset(oldest);

	s->dwfl = dwfl_begin(&u->cbs);
	if (!s->dwfl)
		return;
	dwfl_report_begin(s->dwfl);
	for (size_t i = 0; i < s->n; i++) {
		uint32_t fi = s->v[i].file;
		struct ufile *f;
		Dwfl_Module *mod;
		uint64_t bias;
		bool seen = false;
		int fd;

		if (!(s->v[i].prot & PROT_EXEC))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = s->v[j].file == fi && (s->v[j].prot & PROT_EXEC);
		if (seen || !mt_uw_open_file(u, fi))
			continue;
		f = &u->files[fi];
		if (!file_bias(s, f, fi, &bias))
			continue;
		fd = dup(f->fd);
		if (fd < 0)
			continue;
		/* libdwfl owns fd from here (closed with the module or on failure) */
		mod = dwfl_report_elf(s->dwfl, f->path, f->path, fd, bias, true);
		mt_uw_module_owner(mod, u);
		if (mod && !any)
			any = f->elf;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	s->attached = any && dwfl_attach_state(s->dwfl, any, (pid_t)s->pid, &thread_cbs, s);
}

/* Frame pointers through the copy: where libdw could not start (no file mapped at the pc). */
static void fp_walk(struct uctx *c)
{
	uint64_t bp = c->us->regs[MT_UREG_RBP], next, ret;

	c->n = 0;
	add_frame(c, c->us->regs[MT_UREG_RIP], false);
	while (c->n < c->max && read_word(c->u, c->sp, c->us, bp, &next) &&
	       read_word(c->u, c->sp, c->us, bp + 8, &ret) && ret && bp >= c->us->sp) {
		add_frame(c, ret, true);
		if (c->out[c->n - 1].go || next <= bp)
			break;
		bp = next;
	}
}

int mt_uw__unwind(struct mt_uw *u, const struct mt_ustack *us, struct mt_uframe *out, int max)
{
	struct uspace *s = space_of(u, us->h.pid, true);
	struct uctx c = {.u = u, .us = us, .out = out, .max = max};

	if (!s)
		return -ENOMEM;
	if (max <= 0)
		return 0;
	c.sp = s;
	s->used = ++u->clock;
	if (!s->dwfl)
		space_build(u, s);
	if (s->attached) {
		s->cur = &c;
		dwfl_getthread_frames(s->dwfl, (pid_t)us->h.tid, frame_cb, &c);
		s->cur = NULL;
	}
	/* nothing past the first frame: the frame-pointer chain may say more */
	if (c.n <= 1) {
		struct mt_uframe keep = c.n ? out[0] : (struct mt_uframe){0};
		int had = c.n;

		fp_walk(&c);
		if (c.n <= had && had) {
			out[0] = keep;
			c.n = had;
		}
	}
	return c.n;
}

/* ---- lifecycle ---- */

struct mt_uw *mt_uw__new(const char *debug_path)
{
	struct mt_uw *u = calloc(1, sizeof(*u));
	size_t n;

	if (!u)
		return NULL;
	elf_version(EV_CURRENT); /* before any elf_begin, idempotent */
	/* libdwfl's default (":.debug:/usr/lib/debug") and then the caller's directories */
	n = strlen(":.debug:/usr/lib/debug") + (debug_path ? strlen(debug_path) + 2 : 1);
	u->debug_path = malloc(n);
	if (!u->debug_path) {
		free(u);
		return NULL;
	}
	snprintf(u->debug_path, n, ":.debug:/usr/lib/debug%s%s",
		 debug_path && debug_path[0] ? ":" : "", debug_path ? debug_path : "");
	u->cbs.find_elf = dwfl_build_id_find_elf;
	u->cbs.find_debuginfo = mt_uw_find_debuginfo;
	u->cbs.debuginfo_path = &u->debug_path;
	return u;
}

void mt_uw__free(struct mt_uw *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nspaces; i++) {
		space_reset(u->spaces[i]);
		free(u->spaces[i]->v);
		free(u->spaces[i]);
	}
	mt_uw_sym_free(u);
	for (size_t i = 0; i < u->nfiles; i++) {
		struct ufile *f = &u->files[i];

		if (f->elf)
			elf_end(f->elf);
		if (f->fd >= 0)
			close(f->fd);
		free(f->path);
		free(f->reason);
		free(f->loads);
	}
	free(u->files);
	free(u->file_hash);
	free(u->spaces);
	free(u->space_hash);
	free(u->debug_path);
	free(u);
}
