/*
 * Allocation sites (snapshot.h "sites"), once the census is assembled.
 *
 * Traced sites.  When the target's tracemalloc traces, every allocation it
 * made since has a trace keyed by the block's start (python/tracemalloc.h).
 * An object's block starts at its address less its type's pre-header (GC
 * head, 3.11+ managed dict: INTERNALS §4.2), so that is where its trace is
 * looked up.  The blocks an object owns as buffers (a list's item array, a
 * dict's keys and values, a set's table, a bytearray's bytes, a str's
 * copies, split values, a deque's blocks, an io object's buffer) are
 * traced allocations too: their traces are marked as the object's, so that
 * they count as owned and not as native memory.  They do not give the
 * object a site: a list made before tracing began (or taken from a free
 * list) whose items were appended at line L was not allocated at L.  A
 * trace belongs to one object at most: its block first, else the first
 * object (in address order) claiming it as a buffer.
 *
 * Every traceback with a readable trace becomes a site, objects or not, and
 * counts all its traces and their sizes; the traces no object owns are
 * also counted as unowned.  The sum over sites is then the target's own
 * traced-memory counter, whatever the objects are.
 *
 * Inferred sites.  An object without a trace gets one frame when it can
 * say where it comes from, at no cost but reading its fields: a function,
 * generator, coroutine or frame object its code's (co_filename,
 * co_firstlineno), a code object its own, a cell or closure tuple the
 * site of the function that holds it, a class its module name, line 0
 * (the module's file is not known without running code).  These name the
 * definition, not the call that made the object: for a closure built in a
 * loop, every instance names the same lambda or def line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../python/tracemalloc.h"
#include "../snapshot/format.h"
#include "internal.h"

#define MAX_FILENAME 4096

struct sites {
	struct census *c;
	struct snapshot *s;
	struct tm_state tm;
	struct u64map file_id;      /* str address -> string id */
	struct u64map tb_site;      /* traceback index -> site id */
	struct u64map inferred;     /* file id << 32 | line -> site id */
	struct u64map code_site;    /* code object -> site id, 0 = none */
	uint32_t unknown;           /* string id of "<unknown>" */
	uint64_t bad_filenames;
	uint64_t traced_objects, inferred_objects;
	uint64_t buffer_traces, unowned_traces, unowned_bytes, no_traceback;
	uint64_t traced_bytes;
	uint64_t tm_chunks, tm_bytes;
};

static uint32_t new_site(struct sites *x, uint32_t kind, uint32_t nframes,
			 uint32_t total)
{
	struct snapshot *s = x->s;
	struct snap_site *site;

	/* Site ids are rows + 1 and must fit the format's counts. */
	if (s->nsites >= SNAP_MAX_COUNT - 1 ||
	    s->nsite_frames + nframes > SNAP_MAX_COUNT)
		return 0;
	PH_GROW(s->sites, s->sites_alloc, s->nsites + 1);
	site = &s->sites[s->nsites++];
	memset(site, 0, sizeof(*site));
	site->kind = kind;
	site->first_frame = (uint32_t)s->nsite_frames;
	site->nframes = nframes;
	site->total_frames = total;
	return (uint32_t)s->nsites;
}

static void add_frame(struct sites *x, uint32_t file, uint32_t line)
{
	struct snapshot *s = x->s;

	PH_GROW(s->site_frames, s->site_frames_alloc, s->nsite_frames + 1);
	s->site_frames[s->nsite_frames].file = file;
	s->site_frames[s->nsite_frames].line = line;
	s->nsite_frames++;
}

/* "<unknown>", tracemalloc's name for a file it could not name. */
static uint32_t unknown(struct sites *x)
{
	if (!x->unknown)
		x->unknown = snapshot_cstring(x->s, "<unknown>");
	return x->unknown;
}

/* Sums of sizes read from the target saturate rather than wrap, so a part
 * never exceeds its whole. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/*
 * A NUL-terminated C string at addr, at most max bytes: 3.15's tracemalloc
 * frames name their file with a `const char *` (struct tracemalloc_frame
 * in Include/internal/pycore_tracemalloc.h), not a str object.  Read in
 * small pieces so that a string near the end of a mapping reads.
 */
static int read_cstring(struct target *t, uint64_t addr, struct strbuf *sb,
			size_t max)
{
	char buf[64];
	size_t i;

	while (sb->len < max) {
		size_t n = sizeof(buf);

		if (target_read(t, addr + sb->len, buf, n)) {
			n = 1; /* the mapping may end within the piece */
			if (target_read(t, addr + sb->len, buf, n))
				return -PH_E_READ;
		}
		for (i = 0; i < n; i++) {
			if (!buf[i])
				return sb->len ? 0 : -PH_E_CORRUPT;
			strbuf_addch(sb, buf[i]);
			if (sb->len >= max)
				break;
		}
	}
	return -PH_E_CORRUPT; /* no NUL within max: not a file name */
}

/* The string id of the filename at addr, read once: a str object, or for
 * a traced frame (traced) of 3.15+ a C string. */
static uint32_t file_string(struct sites *x, uint64_t addr, bool traced)
{
	struct strbuf sb = STRBUF_INIT;
	struct pyproc *p = x->c->p;
	uint64_t v;
	uint32_t id;
	int rc;

	if (u64map_get(&x->file_id, addr, &v))
		return (uint32_t)v;
	rc = !addr ? -PH_E_READ :
	     traced && p->major == 3 && p->minor >= 15 ?
	     read_cstring(p->t, addr, &sb, MAX_FILENAME) :
	     py_read_str(p, addr, &sb, MAX_FILENAME);
	if (!rc) {
		id = snapshot_string(x->s, sb.buf, sb.len);
	} else {
		id = unknown(x);
		x->bad_filenames++;
	}
	strbuf_release(&sb);
	if (addr != UINT64_MAX) /* the map's reserved key */
		u64map_put(&x->file_id, addr, id);
	return id;
}

/* ---- traced ------------------------------------------------------------- */

/* The site of traceback k (an index into tm.tbs), made on first use. */
static uint32_t traced_site(struct sites *x, uint32_t k)
{
	const struct tm_traceback *tb = &x->tm.tbs[k];
	uint64_t v;
	uint32_t id, i, n = tb->nframe ? tb->nframe : 1;

	if (u64map_get(&x->tb_site, k, &v))
		return (uint32_t)v;
	id = new_site(x, SITE_TRACED, n, PH_MAX(tb->total_nframe, n));
	if (id) {
		/* tracemalloc's own empty traceback is "<unknown>":0. */
		if (!tb->nframe)
			add_frame(x, unknown(x), 0);
		for (i = 0; i < tb->nframe; i++) {
			const struct tm_frame *f =
				&x->tm.frames[tb->first_frame + i];

			add_frame(x, file_string(x, f->filename, true),
				  f->lineno);
		}
	}
	u64map_put(&x->tb_site, k, id);
	return id;
}

struct claim {
	struct sites *x;
	uint32_t *owner;
	uint32_t id;
};

/* The trace of a buffer of object cl->id, if no object has it yet. */
static void claim_buffer(void *ctx, uint64_t p)
{
	struct claim *cl = ctx;
	struct sites *x = cl->x;
	const struct tm_trace *tr = p ? tm_trace_holding(&x->tm, p) : NULL;

	if (!tr || cl->owner[tr - x->tm.traces] != UINT32_MAX)
		return;
	cl->owner[tr - x->tm.traces] = cl->id;
	x->buffer_traces++;
}

static void traced_sites(struct sites *x)
{
	struct census *c = x->c;
	struct snapshot *s = x->s;
	const struct tm_state *tm = &x->tm;
	uint32_t *owner = xmalloc((tm->ntraces + 1) * sizeof(*owner));
	uint32_t *obj_tb = xmalloc((s->nobjects + 1) * sizeof(*obj_tb));
	struct claim cl;
	size_t i;

	for (i = 0; i < tm->ntraces; i++)
		owner[i] = UINT32_MAX;
	/* Each object's own block. */
	for (i = 0; i < c->nobjs; i++) {
		const struct snap_object *o = &s->objects[i];
		const struct tm_trace *tr = tm_trace_at(tm,
			o->addr - census_obj_tinfo(c, i)->preheader);
		uint32_t id = (uint32_t)i;

		obj_tb[id] = TM_NO_TRACEBACK;
		if (!tr)
			continue;
		owner[tr - tm->traces] = id;
		obj_tb[id] = tr->traceback;
		if (tr->traceback != TM_NO_TRACEBACK)
			x->traced_objects++;
	}
	/* Then the buffers objects own. */
	cl.x = x;
	cl.owner = owner;
	for (i = 0; i < c->nobjs; i++) {
		cl.id = (uint32_t)i;
		census_for_each_buffer(c, s->objects[i].addr,
				       census_obj_tinfo(c, i), claim_buffer,
				       &cl);
	}
	/* Objects' sites in address order, then every other traceback. */
	for (i = 0; i < s->nobjects; i++)
		if (obj_tb[i] != TM_NO_TRACEBACK)
			s->objects[i].site = traced_site(x, obj_tb[i]);
	for (i = 0; i < tm->ntraces; i++) {
		const struct tm_trace *tr = &tm->traces[i];
		struct snap_site *site;
		uint32_t id;

		x->traced_bytes = sat_add(x->traced_bytes, tr->size);
		if (owner[i] == UINT32_MAX) {
			x->unowned_traces++;
			x->unowned_bytes = sat_add(x->unowned_bytes, tr->size);
		}
		if (tr->traceback == TM_NO_TRACEBACK) {
			x->no_traceback++;
			continue;
		}
		id = traced_site(x, tr->traceback);
		if (!id)
			continue;
		site = &s->sites[id - 1];
		site->traces++;
		site->traced_bytes = sat_add(site->traced_bytes, tr->size);
		if (owner[i] == UINT32_MAX) {
			site->unowned_traces++;
			site->unowned_bytes = sat_add(site->unowned_bytes,
						      tr->size);
		}
	}
	free(owner);
	free(obj_tb);
}

/*
 * tracemalloc's own blocks (its tables, entries, trace_t, tracebacks) are
 * malloc chunks that no object owns; left alone they would read as native
 * memory nobody owns.  They are the allocators' own, like a tcache.
 */
static void mark_tracemalloc_chunks(struct sites *x)
{
	struct snapshot *s = x->s;
	size_t i;

	for (i = 0; i < x->tm.nown; i++) {
		uint64_t a = x->tm.own[i];
		size_t lo = 0, hi = s->nchunks;
		struct snap_chunk *ch;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->chunks[mid].addr <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!lo)
			continue;
		ch = &s->chunks[lo - 1];
		if (a - ch->addr >= ch->size || ch->owner_kind != OWNER_UNOWNED)
			continue;
		ch->owner_kind = OWNER_ALLOCATOR;
		x->tm_chunks++;
		x->tm_bytes += ch->size;
	}
}

/* ---- inferred ------------------------------------------------------------ */

static uint32_t inferred_site(struct sites *x, uint32_t file, uint32_t line)
{
	uint64_t key = (uint64_t)file << 32 | line, v;
	uint32_t id;

	if (u64map_get(&x->inferred, key, &v))
		return (uint32_t)v;
	id = new_site(x, SITE_INFERRED, 1, 1);
	if (id)
		add_frame(x, file, line);
	u64map_put(&x->inferred, key, id);
	return id;
}

static enum obj_kind kind_at(struct sites *x, uint64_t addr, uint32_t *id)
{
	struct census *c = x->c;
	uint64_t v;

	if (!addr || !census_lookup(c, addr, &v))
		return K__COUNT;
	*id = (uint32_t)v;
	return census_obj_tinfo(c, v)->kind;
}

/* A code object's site: its file and first line. */
static uint32_t code_site(struct sites *x, uint64_t code)
{
	struct census *c = x->c;
	uint64_t v, file, line;
	uint32_t idx, id = 0;

	if (u64map_get(&x->code_site, code, &v))
		return (uint32_t)v;
	if (kind_at(x, code, &idx) == K_CODE &&
	    !py_read_field(c->t, c->L, code, PY_F_CO_FILENAME, &file) &&
	    !py_read_field(c->t, c->L, code, PY_F_CO_FIRSTLINENO, &line))
		id = inferred_site(x, file_string(x, file, false),
				   (int32_t)line > 0 ? (uint32_t)line : 0);
	u64map_put(&x->code_site, code, id);
	return id;
}

static uint64_t field(struct census *c, uint64_t base, enum py_field f)
{
	uint64_t v;

	return py_has(c->L, f) && !py_read_field(c->t, c->L, base, f, &v) ?
	       v : 0;
}

/* The code a function, generator or frame object runs. */
static uint64_t code_of(struct census *c, uint64_t addr, enum obj_kind kind)
{
	const struct py_layout *L = c->L;
	uint64_t f;

	switch (kind) {
	case K_FUNCTION:
		return field(c, addr, PY_F_FUNC_CODE);
	case K_GEN:
		if (py_has(L, PY_F_GEN_CODE))
			return field(c, addr, PY_F_GEN_CODE);
		return py_has(L, PY_F_GEN_IFRAME) ?
		       field(c, addr + (uint64_t)L->off[PY_F_GEN_IFRAME],
			     PY_F_IF_CODE) : 0;
	case K_FRAME:
		if (py_has(L, PY_F_FO_CODE))
			return field(c, addr, PY_F_FO_CODE);
		f = field(c, addr, PY_F_FO_FRAME);
		return f ? field(c, f, PY_F_IF_CODE) : 0;
	default:
		return 0;
	}
}

/* The module a class object names in __module__ (heap types only). */
static uint32_t class_site(struct sites *x, uint64_t addr)
{
	struct census *c = x->c;
	struct strbuf name = STRBUF_INIT, module = STRBUF_INIT;
	struct tinfo ti;
	int64_t t;
	uint32_t id = 0;

	if (!(field(c, addr, PY_F_TP_FLAGS) & TPF_HEAPTYPE))
		return 0;
	t = tinfo_get(c, addr);
	if (t < 0)
		return 0;
	ti = c->tinfos[t];
	tinfo_name(c, &ti, &name, &module);
	if (module.len)
		id = inferred_site(x, snapshot_string(x->s, module.buf,
						      module.len), 0);
	strbuf_release(&name);
	strbuf_release(&module);
	return id;
}

static void infer(struct sites *x, uint32_t id, uint32_t site)
{
	if (site && !x->s->objects[id].site) {
		x->s->objects[id].site = site;
		x->inferred_objects++;
	}
}

static void inferred_sites(struct sites *x)
{
	struct census *c = x->c;
	struct snapshot *s = x->s;
	size_t i;

	for (i = 0; i < s->nobjects; i++) {
		const struct snap_object *o = &s->objects[i];
		enum obj_kind kind = census_obj_tinfo(c, i)->kind;

		if (s->objects[i].site)
			continue;
		switch (kind) {
		case K_CODE:
			infer(x, (uint32_t)i, code_site(x, o->addr));
			break;
		case K_FUNCTION:
		case K_GEN:
		case K_FRAME:
			infer(x, (uint32_t)i,
			      code_site(x, code_of(c, o->addr, kind)));
			break;
		case K_TYPE:
			infer(x, (uint32_t)i, class_site(x, o->addr));
			break;
		default:
			break;
		}
	}
	/* A function's closure tuple and its cells: the function's code
	 * (whatever site the function itself has). */
	for (i = 0; i < s->nobjects; i++) {
		const struct snap_object *o = &s->objects[i];
		uint32_t site, tup, e;

		if (census_obj_tinfo(c, i)->kind != K_FUNCTION)
			continue;
		site = code_site(x, code_of(c, o->addr, K_FUNCTION));
		if (!site || kind_at(x, field(c, o->addr, PY_F_FUNC_CLOSURE),
				     &tup) != K_TUPLE)
			continue;
		infer(x, tup, site);
		if (!s->edge_start)
			continue;
		for (e = s->edge_start[tup]; e < s->edge_start[tup + 1]; e++) {
			uint32_t dst = s->edge_dst[e];

			if (census_obj_tinfo(c, dst)->kind == K_CELL)
				infer(x, dst, site);
		}
	}
}

/* ---- the whole ------------------------------------------------------------ */

static void add_stats(struct sites *x)
{
	struct snapshot *s = x->s;
	const struct tm_state *tm = &x->tm;

	snapshot_stat(s, "sites.traced_objects", (int64_t)x->traced_objects);
	snapshot_stat(s, "sites.inferred_objects",
		      (int64_t)x->inferred_objects);
	snapshot_stat(s, "sites.bad_filenames", (int64_t)x->bad_filenames);
	if (!tm->tracing)
		return;
	snapshot_stat(s, "sites.traces", (int64_t)tm->ntraces);
	snapshot_stat(s, "sites.traced_bytes", (int64_t)x->traced_bytes);
	snapshot_stat(s, "sites.tracebacks", (int64_t)tm->ntbs);
	snapshot_stat(s, "sites.buffer_traces", (int64_t)x->buffer_traces);
	snapshot_stat(s, "sites.unowned_traces", (int64_t)x->unowned_traces);
	snapshot_stat(s, "sites.unowned_bytes", (int64_t)x->unowned_bytes);
	snapshot_stat(s, "sites.traces_without_traceback",
		      (int64_t)x->no_traceback);
	snapshot_stat(s, "sites.table_entries", (int64_t)tm->table_entries);
	if (s->meta.flags & SNAP_NATIVE) {
		snapshot_stat(s, "sites.tracemalloc_chunks",
			      (int64_t)x->tm_chunks);
		snapshot_stat(s, "sites.tracemalloc_bytes",
			      (int64_t)x->tm_bytes);
	}
	snapshot_stat(s, "sites.bad_entries", (int64_t)tm->bad_entries);
	snapshot_stat(s, "sites.bad_chains", (int64_t)tm->bad_chains);
	snapshot_stat(s, "sites.bad_traces", (int64_t)tm->bad_traces);
	snapshot_stat(s, "sites.bad_tracebacks", (int64_t)tm->bad_tracebacks);
	snapshot_stat(s, "sites.walk_truncated", tm->truncated);
	snapshot_stat(s, "sites.table_by_heuristic",
		      tm->source == TM_SRC_HEURISTIC);
}

void sites_build(struct census *c)
{
	struct snapshot *s = c->s;
	struct sites x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.s = s;
	tm_state_init(&x.tm);

	rc = tm_read(c->p, &x.tm);
	if (rc) {
		s->meta.sites_note = snapshot_cstring(s, ph_errmsg());
	} else if (!x.tm.found || x.tm.tracing) {
		/* Not found: whether it traces is not known either. */
		if (x.tm.note[0])
			s->meta.sites_note = snapshot_cstring(s, x.tm.note);
	}
	if (x.tm.found) {
		s->meta.tracemalloc_tracing = x.tm.tracing;
		s->meta.tracemalloc_frames = x.tm.max_nframe;
		if (x.tm.tracing && x.tm.traced_memory_known)
			s->meta.traced_memory = x.tm.traced_memory;
	}
	if (x.tm.tracing) {
		if (x.tm.truncated || x.tm.bad_chains)
			ph_debug(1, "tracemalloc walk: %llu bad chains%s",
				 (unsigned long long)x.tm.bad_chains,
				 x.tm.truncated ? ", truncated" : "");
		traced_sites(&x);
		mark_tracemalloc_chunks(&x);
	}
	inferred_sites(&x);
	add_stats(&x);

	u64map_release(&x.file_id);
	u64map_release(&x.tb_site);
	u64map_release(&x.inferred);
	u64map_release(&x.code_site);
	tm_state_release(&x.tm);
}
