#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base.h"
#include "check_util.h"
#include "snapshot/format.h"
#include "snapshot/snapshot.h"

#define NAME "t.snap"

/* ---- building snapshots ------------------------------------------------ */

static void add_type(struct snapshot *s, uint64_t addr, uint32_t name,
		     uint32_t module, uint32_t flags, uint32_t object,
		     int64_t basicsize, int64_t itemsize)
{
	struct snap_type *t;

	PH_GROW(s->types, s->types_alloc, s->ntypes + 1);
	t = &s->types[s->ntypes++];
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->name = name;
	t->module = module;
	t->flags = flags;
	t->object = object;
	t->basicsize = basicsize;
	t->itemsize = itemsize;
}

static void add_object(struct snapshot *s, uint64_t addr, uint64_t size,
		       uint64_t buffers, int64_t refcnt, uint32_t type,
		       uint32_t flags, uint32_t site)
{
	struct snap_object *o;

	PH_GROW(s->objects, s->objects_alloc, s->nobjects + 1);
	o = &s->objects[s->nobjects++];
	memset(o, 0, sizeof(*o));
	o->addr = addr;
	o->size = size;
	o->buffers = buffers;
	o->refcnt = refcnt;
	o->type = type;
	o->flags = flags;
	o->site = site;
}

static void add_site(struct snapshot *s, uint32_t kind, uint32_t first,
		     uint32_t n, uint32_t total, uint64_t traces,
		     uint64_t bytes, uint64_t unowned, uint64_t unowned_bytes)
{
	struct snap_site *x;

	PH_GROW(s->sites, s->sites_alloc, s->nsites + 1);
	x = &s->sites[s->nsites++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->first_frame = first;
	x->nframes = n;
	x->total_frames = total;
	x->traces = traces;
	x->traced_bytes = bytes;
	x->unowned_traces = unowned;
	x->unowned_bytes = unowned_bytes;
}

static void add_site_frame(struct snapshot *s, uint32_t file, uint32_t line)
{
	PH_GROW(s->site_frames, s->site_frames_alloc, s->nsite_frames + 1);
	s->site_frames[s->nsite_frames].file = file;
	s->site_frames[s->nsite_frames].line = line;
	s->nsite_frames++;
}

static void add_root(struct snapshot *s, uint32_t kind, uint32_t object,
		     uint32_t name)
{
	PH_GROW(s->roots, s->roots_alloc, s->nroots + 1);
	s->roots[s->nroots].kind = kind;
	s->roots[s->nroots].object = object;
	s->roots[s->nroots].name = name;
	s->nroots++;
}

static void add_thread(struct snapshot *s, int64_t tid, uint32_t flags,
		       uint32_t first, uint32_t n)
{
	PH_GROW(s->threads, s->threads_alloc, s->nthreads + 1);
	s->threads[s->nthreads].tid = tid;
	s->threads[s->nthreads].flags = flags;
	s->threads[s->nthreads].first_frame = first;
	s->threads[s->nthreads].nframes = n;
	s->nthreads++;
}

static void add_frame(struct snapshot *s, uint32_t function, uint32_t file,
		      int32_t line)
{
	PH_GROW(s->frames, s->frames_alloc, s->nframes + 1);
	s->frames[s->nframes].function = function;
	s->frames[s->nframes].file = file;
	s->frames[s->nframes].line = line;
	s->nframes++;
}

/* edges: per object a count then that many ids. */
static void set_edges(struct snapshot *s, const uint32_t *spec)
{
	size_t i, k;

	s->edge_start = xcalloc(s->nobjects + 1, sizeof(*s->edge_start));
	for (i = 0; i < s->nobjects; i++) {
		uint32_t n = *spec++;

		for (k = 0; k < n; k++) {
			PH_GROW(s->edge_dst, s->edges_alloc, s->nedges + 1);
			s->edge_dst[s->nedges++] = *spec++;
		}
		s->edge_start[i + 1] = (uint32_t)s->nedges;
	}
}

#define STR(s, lit, id) \
	ck_assert_uint_eq(snapshot_string(s, lit, sizeof(lit) - 1), id)

/*
 * Every section populated, strings with NULs and bytes that are not
 * UTF-8, and the extreme value of every field.  Must match what
 * tests/fixtures/snap/gen.py writes as small.snap.
 */
static void add_garbage_group(struct snapshot *s, uint32_t part,
			      uint32_t shape, uint64_t cycles,
			      uint64_t objects, uint64_t bytes)
{
	struct snap_garbage_group *g;

	PH_GROW(s->groups.garbage, s->groups.garbage_alloc,
		s->groups.ngarbage + 1);
	g = &s->groups.garbage[s->groups.ngarbage++];
	memset(g, 0, sizeof(*g));
	g->part = part;
	g->shape = shape;
	g->cycles = cycles;
	g->objects = objects;
	g->bytes = bytes;
	s->groups.present = true;
}

static void add_lost_group(struct snapshot *s, uint32_t reach,
			   uint32_t signature, uint64_t size, uint64_t chunks,
			   uint64_t indirect_chunks, uint64_t indirect_bytes)
{
	struct snap_lost_group *g;

	PH_GROW(s->groups.lost, s->groups.lost_alloc, s->groups.nlost + 1);
	g = &s->groups.lost[s->groups.nlost++];
	memset(g, 0, sizeof(*g));
	g->reach = reach;
	g->signature = signature;
	g->size = size;
	g->chunks = chunks;
	g->bytes = chunks * size;
	g->indirect_chunks = indirect_chunks;
	g->indirect_bytes = indirect_bytes;
	s->groups.present = true;
}

static void build_small(struct snapshot *s)
{
	static const uint32_t edges[] = { 3, 1, 3, 1, 0, 1, 0, 1, 3 };

	snapshot_init(s);
	STR(s, "3.11.2", 1);
	STR(s, "/usr/bin/python3.11", 2);
	STR(s, "host\0name", 3);
	STR(s, "\xff\xfe\x80 not utf-8", 4);
	STR(s, "dict", 5);
	STR(s, "builtins", 6);
	STR(s, "__main__.Leak", 7);
	STR(s, "__main__", 8);
	STR(s, "main", 9);
	STR(s, "app.py", 10);
	STR(s, "thread 4242", 11);
	STR(s, "pymalloc.used_blocks", 12);
	STR(s, "walk.skipped", 13);
	STR(s, "DWARF (263 values)", 14);
	STR(s, "0.1.0", 15);
	STR(s, "python3 app.py --serve", 16);
	STR(s, "str", 17);
	STR(s, "identifiers", 18);

	s->meta.pid = 4242;
	s->meta.exe = 2;
	s->meta.cmdline = 16;
	s->meta.host = 3;
	s->meta.python = 1;
	s->meta.python_elf = 2;
	s->meta.offsets = 14;
	s->meta.pyheap_version = 15;
	s->meta.taken_at = 1700000000.25;
	s->meta.pause_ms = 12.5;
	s->meta.capture_ms = 10.0;
	s->meta.parse_ms = 3.75;
	s->meta.image_bytes = 1048576;
	s->meta.flags = SNAP_INCONSISTENT | SNAP_PARTIAL;
	s->meta.tracemalloc_tracing = true;
	s->meta.tracemalloc_frames = UINT32_MAX;
	s->meta.traced_memory = UINT64_MAX;
	s->meta.sites_note = 4;
	s->meta.checks = 14;
	s->meta.parent_pid = -7;
	s->meta.started_at = 1699999000.5;
	s->meta.labels = 18;
	s->meta.core = 16;
	s->meta.core_missing_bytes = 1ull << 33;
	s->meta.core_missing_mappings = 7;

	add_type(s, 0x7f0000001000, 5, 6, TYPE_GC | TYPE_STATIC_BUILTIN,
		 UINT32_MAX, 48, 0);
	add_type(s, 0x7f0000002000, 7, 8, TYPE_HEAP | TYPE_GC, 2, 16, 0);
	add_type(s, 0x7f0000004000, 17, 6, TYPE_STATIC_BUILTIN, UINT32_MAX,
		 INT64_MIN, INT64_MAX);

	add_object(s, 0x1000, 232, 160, 1, 0,
		   OBJ_GC_TRACKED | OBJ_IN_PYMALLOC, 1);
	add_object(s, 0x1040, 56, 0, UINT32_MAX, 1,
		   OBJ_IN_PYMALLOC | OBJ_IMMORTAL, 0);
	add_object(s, 0x7f0000002000, 416, 0, -3, 2, OBJ_STATIC, 2);
	add_object(s, UINT64_MAX, UINT64_MAX, UINT64_MAX, INT64_MIN, 2,
		   UINT32_MAX, 3);
	/* 1.4's refcount arithmetic, extremes included. */
	s->objects[0].gc_refs = 1;
	s->objects[2].unexplained = 3;
	s->objects[3].unexplained = INT64_MIN;
	s->objects[3].gc_refs = INT64_MAX;
	set_edges(s, edges);
	/* 1.5's labels, one of each kind and the largest index. */
	s->edge_label = xmalloc(5 * sizeof(*s->edge_label));
	s->edge_label[0] = 9;
	s->edge_label[1] = EDGE_LABEL_INDEX | EDGE_LABEL_MAX;
	s->edge_label[2] = EDGE_LABEL_KEY | 17;
	s->edge_label[3] = 0;
	s->edge_label[4] = EDGE_LABEL_INDEX;

	add_root(s, ROOT_SYS_MODULES, 0, 0);
	add_root(s, ROOT_FRAME, 1, 11);
	add_thread(s, 4242, 3, 0, 2);
	add_thread(s, INT64_MIN, 0, 2, 0);
	add_frame(s, 9, 10, 12);
	add_frame(s, 0, 10, -1);

	s->gc.valid = true;
	s->gc.enabled = true;
	s->gc.threshold[0] = 700;
	s->gc.threshold[1] = 10;
	s->gc.threshold[2] = 10;
	s->gc.count[0] = 523;
	s->gc.count[1] = 3;
	s->gc.count[2] = 0;

	snapshot_stat(s, "pymalloc.used_blocks", 1234567);
	snapshot_stat(s, "walk.skipped", -2);

	/* A traced site three frames deep, a class's inferred site (module
	 * name, line 0), and a traced site sharing the first one's
	 * innermost frame. */
	add_site_frame(s, 10, 12);
	add_site_frame(s, 3, UINT32_MAX);
	add_site_frame(s, 10, 1);
	add_site_frame(s, 8, 0);
	add_site(s, SITE_TRACED, 0, 3, 7, UINT64_MAX, UINT64_MAX, 0,
		 UINT64_MAX);
	add_site(s, SITE_INFERRED, 3, 1, 1, 0, 0, 0, 0);
	add_site(s, SITE_TRACED, 0, 1, UINT32_MAX, 1, 232, 1, 232);

	/* 1.8's groups: one of each part and class, extremes included. */
	add_garbage_group(s, 2, 7, 1, 1, 416);
	add_garbage_group(s, 1, 5, 0, UINT64_MAX, UINT64_MAX);
	add_lost_group(s, REACH_LOST, 4, 384, 3, 66, 2200);
	add_lost_group(s, REACH_POSSIBLE, 0, UINT64_MAX, 1, 0, 0);
	ck_assert_uint_eq(s->nstrings, 19);
}

/* build_small() as a pyheap before 1.8 wrote it: no groups. */
static void drop_groups(struct snapshot *s)
{
	free(s->groups.garbage);
	free(s->groups.lost);
	memset(&s->groups, 0, sizeof(s->groups));
}

static void assert_double_eq(double a, double b)
{
	ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
}

static uint32_t edge_start(const struct snapshot *s, size_t i)
{
	return s->edge_start ? s->edge_start[i] : 0;
}

/* Field by field: struct padding is not part of the contract. */
static void assert_snap_eq(const struct snapshot *a, const struct snapshot *b)
{
	size_t i;

	ck_assert_int_eq(a->meta.pid, b->meta.pid);
	ck_assert_uint_eq(a->meta.exe, b->meta.exe);
	ck_assert_uint_eq(a->meta.cmdline, b->meta.cmdline);
	ck_assert_uint_eq(a->meta.host, b->meta.host);
	ck_assert_uint_eq(a->meta.python, b->meta.python);
	ck_assert_uint_eq(a->meta.python_elf, b->meta.python_elf);
	ck_assert_uint_eq(a->meta.offsets, b->meta.offsets);
	ck_assert_uint_eq(a->meta.pyheap_version, b->meta.pyheap_version);
	assert_double_eq(a->meta.taken_at, b->meta.taken_at);
	assert_double_eq(a->meta.pause_ms, b->meta.pause_ms);
	assert_double_eq(a->meta.capture_ms, b->meta.capture_ms);
	assert_double_eq(a->meta.parse_ms, b->meta.parse_ms);
	ck_assert_uint_eq(a->meta.image_bytes, b->meta.image_bytes);
	ck_assert_uint_eq(a->meta.flags, b->meta.flags);
	ck_assert_int_eq(a->meta.tracemalloc_tracing,
			 b->meta.tracemalloc_tracing);
	ck_assert_uint_eq(a->meta.tracemalloc_frames,
			  b->meta.tracemalloc_frames);
	ck_assert_uint_eq(a->meta.traced_memory, b->meta.traced_memory);
	ck_assert_uint_eq(a->meta.sites_note, b->meta.sites_note);
	ck_assert_uint_eq(a->meta.checks, b->meta.checks);
	ck_assert_int_eq(a->meta.parent_pid, b->meta.parent_pid);
	ck_assert(a->meta.started_at == b->meta.started_at);
	ck_assert_uint_eq(a->meta.labels, b->meta.labels);
	ck_assert_uint_eq(a->meta.core, b->meta.core);
	ck_assert_uint_eq(a->meta.core_missing_bytes,
			  b->meta.core_missing_bytes);
	ck_assert_uint_eq(a->meta.core_missing_mappings,
			  b->meta.core_missing_mappings);

	ck_assert_uint_eq(a->nstrings, b->nstrings);
	for (i = 0; i < a->nstrings; i++) {
		ck_assert_uint_eq(a->string_len[i], b->string_len[i]);
		ck_assert(!memcmp(a->strings[i], b->strings[i],
				  a->string_len[i]));
		ck_assert_int_eq(b->strings[i][b->string_len[i]], '\0');
	}

	ck_assert_uint_eq(a->ntypes, b->ntypes);
	for (i = 0; i < a->ntypes; i++) {
		const struct snap_type *x = &a->types[i], *y = &b->types[i];

		ck_assert_uint_eq(x->addr, y->addr);
		ck_assert_uint_eq(x->name, y->name);
		ck_assert_uint_eq(x->module, y->module);
		ck_assert_uint_eq(x->flags, y->flags);
		ck_assert_uint_eq(x->object, y->object);
		ck_assert_int_eq(x->basicsize, y->basicsize);
		ck_assert_int_eq(x->itemsize, y->itemsize);
	}

	ck_assert_uint_eq(a->nobjects, b->nobjects);
	for (i = 0; i < a->nobjects; i++) {
		const struct snap_object *x = &a->objects[i];
		const struct snap_object *y = &b->objects[i];

		ck_assert_uint_eq(x->addr, y->addr);
		ck_assert_uint_eq(x->size, y->size);
		ck_assert_uint_eq(x->buffers, y->buffers);
		ck_assert_int_eq(x->refcnt, y->refcnt);
		ck_assert_uint_eq(x->type, y->type);
		ck_assert_uint_eq(x->flags, y->flags);
		ck_assert_uint_eq(x->site, y->site);
		ck_assert_int_eq(x->unexplained, y->unexplained);
		ck_assert_int_eq(x->gc_refs, y->gc_refs);
	}

	ck_assert_uint_eq(a->nedges, b->nedges);
	for (i = 0; i <= a->nobjects; i++)
		ck_assert_uint_eq(edge_start(a, i), edge_start(b, i));
	for (i = 0; i < a->nedges; i++)
		ck_assert_uint_eq(a->edge_dst[i], b->edge_dst[i]);
	ck_assert(!a->edge_label == !b->edge_label);
	for (i = 0; a->edge_label && i < a->nedges; i++)
		ck_assert_uint_eq(a->edge_label[i], b->edge_label[i]);

	ck_assert_uint_eq(a->nroots, b->nroots);
	for (i = 0; i < a->nroots; i++) {
		ck_assert_uint_eq(a->roots[i].kind, b->roots[i].kind);
		ck_assert_uint_eq(a->roots[i].object, b->roots[i].object);
		ck_assert_uint_eq(a->roots[i].name, b->roots[i].name);
	}

	ck_assert_uint_eq(a->nthreads, b->nthreads);
	for (i = 0; i < a->nthreads; i++) {
		const struct snap_thread *x = &a->threads[i];
		const struct snap_thread *y = &b->threads[i];

		ck_assert_int_eq(x->tid, y->tid);
		ck_assert_uint_eq(x->flags, y->flags);
		ck_assert_uint_eq(x->first_frame, y->first_frame);
		ck_assert_uint_eq(x->nframes, y->nframes);
	}
	ck_assert_uint_eq(a->nframes, b->nframes);
	for (i = 0; i < a->nframes; i++) {
		ck_assert_uint_eq(a->frames[i].function, b->frames[i].function);
		ck_assert_uint_eq(a->frames[i].file, b->frames[i].file);
		ck_assert_int_eq(a->frames[i].line, b->frames[i].line);
	}

	ck_assert_int_eq(a->gc.valid, b->gc.valid);
	ck_assert_int_eq(a->gc.enabled, b->gc.enabled);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(a->gc.threshold[i], b->gc.threshold[i]);
		ck_assert_int_eq(a->gc.count[i], b->gc.count[i]);
	}

	ck_assert_uint_eq(a->nstats, b->nstats);
	for (i = 0; i < a->nstats; i++) {
		ck_assert_uint_eq(a->stats[i].name, b->stats[i].name);
		ck_assert_int_eq(a->stats[i].value, b->stats[i].value);
	}

	ck_assert_uint_eq(a->nsites, b->nsites);
	for (i = 0; i < a->nsites; i++) {
		const struct snap_site *x = &a->sites[i], *y = &b->sites[i];

		ck_assert_uint_eq(x->kind, y->kind);
		ck_assert_uint_eq(x->first_frame, y->first_frame);
		ck_assert_uint_eq(x->nframes, y->nframes);
		ck_assert_uint_eq(x->total_frames, y->total_frames);
		ck_assert_uint_eq(x->traces, y->traces);
		ck_assert_uint_eq(x->traced_bytes, y->traced_bytes);
		ck_assert_uint_eq(x->unowned_traces, y->unowned_traces);
		ck_assert_uint_eq(x->unowned_bytes, y->unowned_bytes);
	}
	ck_assert_uint_eq(a->nsite_frames, b->nsite_frames);
	for (i = 0; i < a->nsite_frames; i++) {
		ck_assert_uint_eq(a->site_frames[i].file,
				  b->site_frames[i].file);
		ck_assert_uint_eq(a->site_frames[i].line,
				  b->site_frames[i].line);
	}

	ck_assert_int_eq(a->groups.present, b->groups.present);
	ck_assert_uint_eq(a->groups.ngarbage, b->groups.ngarbage);
	for (i = 0; i < a->groups.ngarbage; i++) {
		const struct snap_garbage_group *x = &a->groups.garbage[i];
		const struct snap_garbage_group *y = &b->groups.garbage[i];

		ck_assert_uint_eq(x->part, y->part);
		ck_assert_uint_eq(x->shape, y->shape);
		ck_assert_uint_eq(x->cycles, y->cycles);
		ck_assert_uint_eq(x->objects, y->objects);
		ck_assert_uint_eq(x->bytes, y->bytes);
	}
	ck_assert_uint_eq(a->groups.nlost, b->groups.nlost);
	for (i = 0; i < a->groups.nlost; i++) {
		const struct snap_lost_group *x = &a->groups.lost[i];
		const struct snap_lost_group *y = &b->groups.lost[i];

		ck_assert_uint_eq(x->reach, y->reach);
		ck_assert_uint_eq(x->signature, y->signature);
		ck_assert_uint_eq(x->size, y->size);
		ck_assert_uint_eq(x->chunks, y->chunks);
		ck_assert_uint_eq(x->bytes, y->bytes);
		ck_assert_uint_eq(x->indirect_chunks, y->indirect_chunks);
		ck_assert_uint_eq(x->indirect_bytes, y->indirect_bytes);
	}
}

static void encode(const struct snapshot *s, unsigned flags,
		   struct strbuf *out)
{
	int rc = snapshot_encode(s, out, NAME, flags);

	ck_assert_msg(rc == 0, "snapshot_encode: %s", ph_errmsg());
}

static void assert_reads_as(const void *buf, size_t len,
			    const struct snapshot *want)
{
	struct snapshot got;
	int rc = snapshot_read_mem(buf, len, NAME, &got);

	ck_assert_msg(rc == 0, "snapshot_read_mem: %s", ph_errmsg());
	assert_snap_eq(want, &got);
	snapshot_release(&got);
}

/* Rejected with exactly msg, and the snapshot left empty. */
static void assert_rejected(const void *buf, size_t len, const char *msg)
{
	struct snapshot got;
	int rc = snapshot_read_mem(buf, len, NAME, &got);

	ck_assert_msg(rc == -PH_E_FORMAT, "rc %d (%s), want FORMAT: %s", rc,
		      ph_errmsg(), msg);
	ck_assert_str_eq(ph_errmsg(), msg);
	ck_assert_ptr_null(got.strings);
	ck_assert_ptr_null(got.objects);
	ck_assert_uint_eq(got.nobjects, 0);
}

/* Rejected with a message that starts with "t.snap: " and contains sub. */
static void assert_rejected_sub(const void *buf, size_t len, const char *sub)
{
	struct snapshot got;
	int rc = snapshot_read_mem(buf, len, NAME, &got);

	ck_assert_msg(rc == -PH_E_FORMAT, "rc %d (%s), want FORMAT: %s", rc,
		      ph_errmsg(), sub);
	ck_assert_msg(!strncmp(ph_errmsg(), NAME ": ", strlen(NAME) + 2) &&
		      strstr(ph_errmsg(), sub), "message \"%s\" lacks \"%s\"",
		      ph_errmsg(), sub);
	ck_assert_ptr_null(got.strings);
}

/* ---- crafting files: sections with correct CRCs ------------------------- */

struct tsect {
	uint32_t tag, flags;
	uint64_t clen, ulen; /* as declared */
	struct strbuf data;  /* the stored bytes */
};

struct tfile {
	unsigned char header[SNAP_HEADER_LEN];
	struct tsect sect[32];
	size_t n; /* END included */
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le(struct strbuf *sb, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		strbuf_addch(sb, (int)(v >> (8 * i) & 0xff));
}

static void tvarint(struct strbuf *sb, uint64_t v)
{
	while (v >= 0x80) {
		strbuf_addch(sb, (int)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	strbuf_addch(sb, (int)v);
}

static void tfile_parse(struct tfile *f, const struct strbuf *file)
{
	const unsigned char *p = (const unsigned char *)file->buf;
	size_t pos = SNAP_HEADER_LEN;

	memset(f, 0, sizeof(*f));
	memcpy(f->header, p, SNAP_HEADER_LEN);
	while (pos < file->len) {
		struct tsect *t = &f->sect[f->n++];

		ck_assert_uint_le(f->n, PH_ARRAY_SIZE(f->sect));
		t->tag = le32(p + pos);
		t->flags = le32(p + pos + 4);
		t->clen = le64(p + pos + 8);
		t->ulen = le64(p + pos + 16);
		strbuf_init(&t->data);
		strbuf_add(&t->data, p + pos + SNAP_SECTION_HEADER_LEN,
			   t->clen);
		pos += SNAP_SECTION_HEADER_LEN + t->clen;
	}
	ck_assert_uint_eq(pos, file->len);
	ck_assert_uint_eq(f->sect[f->n - 1].tag, SNAP_TAG_END);
}

static void tfile_release(struct tfile *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		strbuf_release(&f->sect[i].data);
	f->n = 0;
}

/* Emit with every CRC right; with fix_end, END's count and header CRC
 * are recomputed too. */
static void tfile_emit(struct tfile *f, struct strbuf *out, bool fix_end)
{
	size_t i;

	strbuf_reset(out);
	strbuf_add(out, f->header, SNAP_HEADER_LEN);
	for (i = 0; i < f->n; i++) {
		struct tsect *t = &f->sect[i];
		size_t h = out->len;
		uLong crc;

		if (fix_end && t->tag == SNAP_TAG_END && t->data.len >= 8) {
			struct strbuf e = STRBUF_INIT;

			put_le(&e, i, 4);
			put_le(&e, crc32(0, f->header, SNAP_HEADER_LEN), 4);
			memcpy(t->data.buf, e.buf, 8);
			strbuf_release(&e);
		}
		put_le(out, t->tag, 4);
		put_le(out, t->flags, 4);
		put_le(out, t->clen, 8);
		put_le(out, t->ulen, 8);
		crc = crc32(0, (const Bytef *)out->buf + h, 24);
		crc = crc32(crc, (const Bytef *)t->data.buf, (uInt)t->data.len);
		put_le(out, crc, 4);
		strbuf_add(out, t->data.buf, t->data.len);
	}
}

static size_t tfile_find(const struct tfile *f, uint32_t tag)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->sect[i].tag == tag)
			return i;
	ck_abort_msg("no section %08x", tag);
	return 0;
}

static void tfile_insert(struct tfile *f, size_t at, uint32_t tag,
			 uint32_t flags, const void *data, size_t len)
{
	struct tsect *t;

	ck_assert_uint_lt(f->n, PH_ARRAY_SIZE(f->sect));
	memmove(&f->sect[at + 1], &f->sect[at],
		(f->n - at) * sizeof(f->sect[0]));
	f->n++;
	t = &f->sect[at];
	t->tag = tag;
	t->flags = flags;
	t->clen = t->ulen = len;
	strbuf_init(&t->data);
	strbuf_add(&t->data, data, len);
}

static void tfile_remove(struct tfile *f, size_t at)
{
	strbuf_release(&f->sect[at].data);
	memmove(&f->sect[at], &f->sect[at + 1],
		(f->n - at - 1) * sizeof(f->sect[0]));
	f->n--;
}

/* Replace a section's payload, stored uncompressed. */
static void tfile_set(struct tfile *f, size_t i, const struct strbuf *payload)
{
	struct tsect *t = &f->sect[i];

	strbuf_reset(&t->data);
	strbuf_add(&t->data, payload->buf, payload->len);
	t->flags = 0;
	t->clen = t->ulen = payload->len;
}

/* The payload of section i (inflated if need be). */
static void tfile_payload(const struct tfile *f, size_t i, struct strbuf *out)
{
	const struct tsect *t = &f->sect[i];
	uLongf n = (uLongf)t->ulen;

	strbuf_reset(out);
	if (!(t->flags & SNAP_SECT_ZLIB)) {
		strbuf_add(out, t->data.buf, t->data.len);
		return;
	}
	strbuf_grow(out, t->ulen);
	ck_assert_int_eq(uncompress((Bytef *)out->buf, &n,
				    (const Bytef *)t->data.buf, t->data.len),
			 Z_OK);
	strbuf_setlen(out, n);
}

/* A small file, parsed for crafting. */
static void small_tfile(struct tfile *f, struct snapshot *s)
{
	struct strbuf buf = STRBUF_INIT;

	build_small(s);
	encode(s, 0, &buf);
	tfile_parse(f, &buf);
	strbuf_release(&buf);
}

/* ---- temporary directories --------------------------------------------- */

static char *tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/pyheap-snap-XXXXXX", base ? base : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static size_t dir_entries(const char *dir, char *first, size_t first_len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!n && first)
			snprintf(first, first_len, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void tmpdir_remove(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			char *p;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			p = xasprintf("%s/%s", dir, e->d_name);
			if (unlink(p))
				rmdir(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

/* ---- round trips -------------------------------------------------------- */

START_TEST(round_trip_file)
{
	struct snapshot a, b;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char first[256];
	uint64_t size = 0;
	struct stat st;

	build_small(&a);
	ck_assert_msg(snapshot_write(&a, path, &size) == 0, "%s", ph_errmsg());
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(size, (uint64_t)st.st_size);
	/* No temporary file left next to it. */
	ck_assert_uint_eq(dir_entries(dir, first, sizeof(first)), 1);
	ck_assert_str_eq(first, "a.snap");

	ck_assert_msg(snapshot_read(path, &b) == 0, "%s", ph_errmsg());
	assert_snap_eq(&a, &b);
	/* A read snapshot interns like a built one. */
	ck_assert_uint_eq(snapshot_cstring(&b, "dict"), 5);
	ck_assert_uint_eq(snapshot_string(&b, "host\0name", 9), 3);
	ck_assert_uint_eq(snapshot_cstring(&b, "new"), 19);
	ck_assert_int_eq(snapshot_get_stat(&b, "walk.skipped", 0), -2);
	snapshot_release(&b);
	snapshot_release(&a);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

static void read_whole(const char *path, struct strbuf *out);

/* Sections built and compressed on several threads: the same bytes, for
 * every way of encoding, and what snapshot_write_jobs writes. */
START_TEST(encode_on_threads_same_bytes)
{
	static const unsigned flags[] = { 0, SNAP_ENCODE_STORED,
					  SNAP_ENCODE_NO_SUMMARY };
	static const int jobs[] = { 2, 3, 8 };
	char *dir = tmpdir_make(), *path = xasprintf("%s/j.snap", dir);
	struct snapshot a;
	size_t f, j;

	build_small(&a);
	for (f = 0; f < PH_ARRAY_SIZE(flags); f++) {
		struct strbuf one = STRBUF_INIT;

		encode(&a, flags[f], &one);
		for (j = 0; j < PH_ARRAY_SIZE(jobs); j++) {
			struct strbuf many = STRBUF_INIT;

			ck_assert_int_eq(snapshot_encode_jobs(&a, &many, NAME,
							      flags[f],
							      jobs[j]), 0);
			ck_assert_uint_eq(many.len, one.len);
			ck_assert_msg(!memcmp(many.buf, one.buf, one.len),
				      "flags %u, %d jobs: other bytes",
				      flags[f], jobs[j]);
			strbuf_release(&many);
		}
		if (!flags[f]) {
			struct strbuf file = STRBUF_INIT;
			uint64_t size = 0;

			ck_assert_int_eq(snapshot_write_jobs(&a, path, &size,
							     4), 0);
			read_whole(path, &file);
			ck_assert_uint_eq(file.len, one.len);
			ck_assert_uint_eq(size, one.len);
			ck_assert(!memcmp(file.buf, one.buf, one.len));
			strbuf_release(&file);
		}
		strbuf_release(&one);
	}
	snapshot_release(&a);
	unlink(path);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(round_trip_mode_ignores_umask_and_replaces)
{
	struct snapshot a, b;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	struct stat st;

	/* A stale file under the final name is replaced whole. */
	ck_assert_int_eq(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
	umask(0277);
	snapshot_init(&a);
	ck_assert_msg(snapshot_write(&a, path, NULL) == 0, "%s", ph_errmsg());
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	umask(0);
	snapshot_release(&a);
	build_small(&a);
	ck_assert_msg(snapshot_write(&a, path, NULL) == 0, "%s", ph_errmsg());
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(snapshot_read(path, &b), 0);
	assert_snap_eq(&a, &b);
	ck_assert_uint_eq(dir_entries(dir, NULL, 0), 1);
	snapshot_release(&b);
	snapshot_release(&a);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(round_trip_empty_and_one_object)
{
	struct strbuf buf = STRBUF_INIT;
	struct snapshot a, b;

	/* Nothing but the "" string; edge_start never allocated. */
	snapshot_init(&a);
	encode(&a, 0, &buf);
	ck_assert_int_eq(snapshot_read_mem(buf.buf, buf.len, NAME, &b), 0);
	assert_snap_eq(&a, &b);
	ck_assert_uint_eq(b.nstrings, 1);
	ck_assert_str_eq(b.strings[0], "");
	ck_assert_ptr_nonnull(b.edge_start);
	ck_assert_uint_eq(b.edge_start[0], 0);
	snapshot_release(&b);

	/* One object, no edges, edge_start still NULL. */
	add_type(&a, 0x1000, snapshot_cstring(&a, "object"), 0, 0, 0, 16, 0);
	add_object(&a, 0x1000, 16, 0, 1, 0, 0, 0);
	strbuf_reset(&buf);
	encode(&a, 0, &buf);
	assert_reads_as(buf.buf, buf.len, &a);

	/* The same stored uncompressed. */
	strbuf_reset(&buf);
	encode(&a, SNAP_ENCODE_STORED, &buf);
	assert_reads_as(buf.buf, buf.len, &a);
	snapshot_release(&a);

	build_small(&a);
	strbuf_reset(&buf);
	encode(&a, SNAP_ENCODE_STORED, &buf);
	assert_reads_as(buf.buf, buf.len, &a);
	snapshot_release(&a);
	strbuf_release(&buf);
}
END_TEST

/* ---- writing fails cleanly ---------------------------------------------- */

START_TEST(write_into_missing_directory)
{
	struct snapshot a;
	char *dir = tmpdir_make(), *path = xasprintf("%s/nodir/a.snap", dir);

	char *want = xasprintf("cannot write %s: No such file or directory",
			       path), *cwd;

	build_small(&a);
	ck_assert_int_eq(snapshot_write(&a, path, NULL), -PH_E_IO);
	ck_assert_str_eq(ph_errmsg(), want);
	ck_assert_uint_eq(dir_entries(dir, NULL, 0), 0);
	/* A relative path is named with the directory it is in. */
	ck_assert_int_eq(chdir(dir), 0);
	cwd = getcwd(NULL, 0);
	free(want);
	want = xasprintf("cannot write %s/nodir/b.snap: No such file or "
			 "directory", cwd);
	ck_assert_int_eq(snapshot_write(&a, "./nodir/b.snap", NULL), -PH_E_IO);
	ck_assert_str_eq(ph_errmsg(), want);
	ck_assert_int_eq(chdir("/"), 0);
	snapshot_release(&a);
	free(want);
	free(cwd);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(write_into_read_only_directory)
{
	struct snapshot a;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);

	/* root ignores directory permissions; the other failure tests cover
	 * the cleanup then. */
	if (geteuid() == 0) {
		free(path);
		tmpdir_remove(dir);
		return;
	}
	build_small(&a);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(snapshot_write(&a, path, NULL), -PH_E_IO);
	ck_assert(strstr(ph_errmsg(), "Permission denied"));
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_uint_eq(dir_entries(dir, NULL, 0), 0);
	snapshot_release(&a);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(write_rename_failure_removes_temp)
{
	struct snapshot a;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char *inner = xasprintf("%s/keep", path);
	char first[256];

	/* The final name is a non-empty directory: rename() fails after the
	 * whole file was written and synced. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(close(open(inner, O_CREAT | O_WRONLY, 0600)), 0);
	build_small(&a);
	ck_assert_int_eq(snapshot_write(&a, path, NULL), -PH_E_IO);
	ck_assert_msg(strstr(ph_errmsg(), "cannot rename"), "%s", ph_errmsg());
	ck_assert_uint_eq(dir_entries(dir, first, sizeof(first)), 1);
	ck_assert_str_eq(first, "a.snap");
	ck_assert_int_eq(unlink(inner), 0);
	snapshot_release(&a);
	free(inner);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

/* A big snapshot: its file is well over 4 KiB. */
static void build_big(struct snapshot *s)
{
	size_t i;

	build_small(s);
	for (i = 0; i < 100000; i++)
		add_object(s, UINT64_MAX - 100000 + i, i * 7919 % 100003,
			   0, (int64_t)i, 1, (uint32_t)i, (uint32_t)(i % 4));
	/* Keep the addresses sorted and edge_start one past the end. */
	s->objects[3].addr = UINT64_MAX - 200000;
	free(s->edge_start);
	s->edge_start = xcalloc(s->nobjects + 1, sizeof(*s->edge_start));
	s->nedges = 0;
}

START_TEST(write_killed_midway_leaves_no_file)
{
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char *tmp;
	struct stat st;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* Killed by SIGXFSZ in the middle of write(). */
		struct rlimit fsize = { 4096, 4096 }, core = { 0, 0 };
		struct snapshot a;

		setrlimit(RLIMIT_CORE, &core);
		signal(SIGXFSZ, SIG_DFL);
		build_big(&a);
		setrlimit(RLIMIT_FSIZE, &fsize);
		snapshot_write(&a, path, NULL);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);
	/* The half file is there, under its temporary name only. */
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	tmp = xasprintf("%s.tmp-%ld", path, (long)pid);
	ck_assert_int_eq(stat(tmp, &st), 0);
	ck_assert_uint_eq(st.st_size, 4096);
	free(tmp);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(write_replaces_stale_temp_of_same_pid)
{
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	struct snapshot a, b;
	char first[256];

	ck_assert_int_eq(close(open(tmp, O_CREAT | O_WRONLY, 0644)), 0);
	build_small(&a);
	ck_assert_msg(snapshot_write(&a, path, NULL) == 0, "%s", ph_errmsg());
	ck_assert_uint_eq(dir_entries(dir, first, sizeof(first)), 1);
	ck_assert_str_eq(first, "a.snap");
	ck_assert_int_eq(snapshot_read(path, &b), 0);
	assert_snap_eq(&a, &b);
	snapshot_release(&b);
	snapshot_release(&a);
	free(tmp);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

/* snapshot_write() with files limited to 4096 bytes, then the limit
 * *saved back; returns what snapshot_write() returned. */
static int write_limited(const struct snapshot *s, const char *path,
			 const struct rlimit *saved)
{
	struct rlimit low = *saved;
	int rc;

	low.rlim_cur = 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
	rc = snapshot_write(s, path, NULL);
	if (setrlimit(RLIMIT_FSIZE, saved))
		_exit(3);
	return rc;
}

START_TEST(write_failing_midway_keeps_old_file)
{
	struct snapshot a, old, b;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char *fresh = xasprintf("%s/b.snap", dir);
	struct rlimit rl;
	char first[256];

	snapshot_init(&old);
	ck_assert_int_eq(snapshot_write(&old, path, NULL), 0);
	/* A big snapshot and a small file size limit: write() fails with
	 * EFBIG halfway (this test runs in its own process). Only the soft
	 * limit is lowered, and only around snapshot_write(): check records
	 * every assertion's file and line in a temporary file of its own,
	 * which the limit would cut, and then check cannot read its results
	 * ("Error in call to get_result"; it happened where the source
	 * path is long). */
	build_big(&a);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(write_limited(&a, path, &rl), -PH_E_IO);
	ck_assert_msg(strstr(ph_errmsg(), "File too large"), "%s", ph_errmsg());
	ck_assert_int_eq(snapshot_read(path, &b), 0);
	assert_snap_eq(&old, &b);
	snapshot_release(&b);

	ck_assert_int_eq(write_limited(&a, fresh, &rl), -PH_E_IO);
	ck_assert_uint_eq(dir_entries(dir, first, sizeof(first)), 1);
	ck_assert_str_eq(first, "a.snap");
	snapshot_release(&a);
	snapshot_release(&old);
	free(fresh);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(write_refuses_inconsistent_snapshot)
{
	struct snapshot a;
	char *dir = tmpdir_make(), *path = xasprintf("%s/a.snap", dir);
	char *want;

	build_small(&a);
	a.objects[2].type = 3;
	ck_assert_int_eq(snapshot_write(&a, path, NULL), -PH_E_FORMAT);
	want = xasprintf("cannot write %s: section OBJS: object 2: type 3 out "
			 "of range (3 types)", path);
	ck_assert_str_eq(ph_errmsg(), want);
	ck_assert_uint_eq(dir_entries(dir, NULL, 0), 0);
	free(want);
	snapshot_release(&a);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

/* ---- corrupt input ------------------------------------------------------ */

START_TEST(every_prefix_is_rejected)
{
	struct strbuf buf = STRBUF_INIT;
	struct snapshot a;
	int pass;

	build_small(&a);
	for (pass = 0; pass < 2; pass++) {
		size_t len;

		strbuf_reset(&buf);
		encode(&a, pass ? SNAP_ENCODE_STORED : 0, &buf);
		assert_rejected(buf.buf, 0,
				NAME ": empty file, not a pyheap snapshot");
		for (len = 1; len < buf.len; len++)
			assert_rejected_sub(buf.buf, len, "truncated snapshot (");
		assert_reads_as(buf.buf, buf.len, &a);
	}
	/* The exact messages at a few places. */
	assert_rejected(buf.buf, 7, NAME ": truncated snapshot (file header)");
	assert_rejected(buf.buf, 16, NAME ": truncated snapshot (no END section)");
	assert_rejected(buf.buf, 18,
			NAME ": truncated snapshot (section header at offset 16)");
	assert_rejected(buf.buf, 21, NAME ": truncated snapshot (section META)");
	assert_rejected(buf.buf, buf.len - 1,
			NAME ": truncated snapshot (section END)");
	snapshot_release(&a);
	strbuf_release(&buf);
}
END_TEST

START_TEST(every_bit_flip_is_rejected)
{
	struct strbuf buf = STRBUF_INIT;
	struct snapshot a;
	int pass;

	build_small(&a);
	for (pass = 0; pass < 2; pass++) {
		size_t i, accepted = 0;

		strbuf_reset(&buf);
		encode(&a, pass ? SNAP_ENCODE_STORED : 0, &buf);
		for (i = 0; i < buf.len * 8; i++) {
			struct snapshot got;
			int rc;

			buf.buf[i / 8] ^= (char)(1 << (i % 8));
			rc = snapshot_read_mem(buf.buf, buf.len, NAME, &got);
			buf.buf[i / 8] ^= (char)(1 << (i % 8));
			if (rc == 0) {
				/* Only acceptable if nothing changed. */
				assert_snap_eq(&a, &got);
				snapshot_release(&got);
				accepted++;
				continue;
			}
			ck_assert_int_eq(rc, -PH_E_FORMAT);
			ck_assert(!strncmp(ph_errmsg(), NAME ": ",
					   strlen(NAME) + 2));
		}
		/* Header, lengths and data are all under a CRC. */
		ck_assert_uint_eq(accepted, 0);
	}
	snapshot_release(&a);
	strbuf_release(&buf);
}
END_TEST

START_TEST(magic_and_versions)
{
	struct strbuf buf = STRBUF_INIT, out = STRBUF_INIT;
	struct snapshot a;
	struct tfile f;

	small_tfile(&f, &a);
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);

	buf.buf[7] = 'X';
	assert_rejected(buf.buf, buf.len, NAME ": not a pyheap snapshot");
	assert_rejected(buf.buf, 8, NAME ": not a pyheap snapshot");
	assert_rejected("ELF", 3, NAME ": not a pyheap snapshot");
	assert_rejected("PYHEAP", 6, NAME ": truncated snapshot (file header)");
	buf.buf[7] = 'N';

	/* Another major: rejected before any section is looked at. */
	buf.buf[8] = 2;
	assert_rejected(buf.buf, buf.len, NAME ": snapshot format 2.x is newer "
			"than this pyheap reads (1.x)");
	buf.buf[8] = 0;
	buf.buf[9] = 1;
	assert_rejected(buf.buf, buf.len, NAME ": snapshot format 256.x is "
			"newer than this pyheap reads (1.x)");
	buf.buf[9] = 0;
	assert_rejected(buf.buf, buf.len, NAME ": snapshot format 0.x is not "
			"supported (this pyheap reads 1.x)");
	buf.buf[8] = 1;

	/* A newer minor and header flags: read, once END vouches for them. */
	f.header[10] = 9;
	f.header[12] = 0x80;
	tfile_emit(&f, &out, false);
	assert_rejected(out.buf, out.len, NAME ": bad checksum in file header");
	tfile_emit(&f, &out, true);
	assert_reads_as(out.buf, out.len, &a);

	tfile_release(&f);
	snapshot_release(&a);
	strbuf_release(&buf);
	strbuf_release(&out);
}
END_TEST

START_TEST(unknown_sections_are_skipped)
{
	static const char junk[] = "\x01\x02\x03 any bytes at all";
	struct strbuf buf = STRBUF_INIT, z = STRBUF_INIT;
	struct snapshot a;
	struct tfile f;
	uLongf zlen;
	size_t i;

	small_tfile(&f, &a);
	/* First, in the middle (zlib, with flags nobody knows yet), empty
	 * before END. */
	tfile_insert(&f, 0, SNAP_TAG('X', 'T', 'R', 'A'), 0, junk,
		     sizeof(junk));
	zlen = compressBound(sizeof(junk));
	strbuf_grow(&z, zlen);
	ck_assert_int_eq(compress((Bytef *)z.buf, &zlen, (const Bytef *)junk,
				  sizeof(junk)), Z_OK);
	tfile_insert(&f, 5, SNAP_TAG('z', 'z', 'z', 'z'), 0xffff, z.buf, zlen);
	f.sect[5].ulen = 1ull << 62; /* not ours to check */
	tfile_insert(&f, f.n - 1, SNAP_TAG('Z', 'E', 'R', 'O'), 0, "", 0);
	/* END's count covers unknown sections too. */
	tfile_emit(&f, &buf, false);
	assert_rejected(buf.buf, buf.len,
			NAME ": section END: counts 13 sections, the file has 16");
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);

	/* Known sections in another order read the same. */
	tfile_release(&f);
	snapshot_release(&a);
	small_tfile(&f, &a);
	for (i = 0; i < (f.n - 1) / 2; i++) {
		struct tsect t = f.sect[i];

		f.sect[i] = f.sect[f.n - 2 - i];
		f.sect[f.n - 2 - i] = t;
	}
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);

	tfile_release(&f);
	snapshot_release(&a);
	strbuf_release(&buf);
	strbuf_release(&z);
}
END_TEST

START_TEST(framing_errors)
{
	struct strbuf buf = STRBUF_INIT, p = STRBUF_INIT;
	struct snapshot a;
	struct tfile f;
	size_t objs, typs, end;
	uint64_t clen, ulen;
	char *want;

	small_tfile(&f, &a);
	objs = tfile_find(&f, SNAP_TAG_OBJS);
	typs = tfile_find(&f, SNAP_TAG_TYPS);
	ck_assert(f.sect[objs].flags & SNAP_SECT_ZLIB);
	clen = f.sect[objs].clen;
	ulen = f.sect[objs].ulen;

	/* Declared lengths that lie. */
	f.sect[objs].ulen = 1ull << 40;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: payload of "
			"1099511627776 bytes is over the 16 GiB limit");
	f.sect[objs].ulen = clen * SNAP_MAX_RATIO + 1;
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len, "section OBJS: ");
	assert_rejected_sub(buf.buf, buf.len, " bytes cannot inflate to ");
	f.sect[objs].ulen = ulen + 1;
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len,
			    "section OBJS: inflates to fewer than");
	f.sect[objs].ulen = ulen - 1;
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len,
			    "section OBJS: inflates to more than");
	f.sect[objs].ulen = ulen;
	f.sect[objs].clen = clen + 1;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": bad checksum in section OBJS");
	f.sect[objs].clen = UINT64_MAX;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": truncated snapshot (section OBJS)");
	f.sect[objs].clen = clen;

	/* Stray bytes after the zlib stream, inside the stored length. */
	strbuf_addstr(&f.sect[objs].data, "xyz");
	f.sect[objs].clen += 3;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: bytes after "
			"the compressed data");
	strbuf_setlen(&f.sect[objs].data, clen);
	f.sect[objs].clen = clen;

	/* Damaged zlib data under a correct CRC. */
	f.sect[objs].data.buf[clen / 2] ^= 0x55;
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len, "section OBJS: ");
	f.sect[objs].data.buf[clen / 2] ^= 0x55;

	f.sect[typs].flags |= 4;
	tfile_emit(&f, &buf, true);
	want = xasprintf(NAME ": section TYPS: unknown flags %#x",
			 f.sect[typs].flags);
	assert_rejected(buf.buf, buf.len, want);
	free(want);
	f.sect[typs].flags &= ~4u;

	/* Stored lengths that disagree. */
	tfile_payload(&f, typs, &p);
	tfile_set(&f, typs, &p);
	f.sect[typs].ulen++;
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len, "section TYPS: stored length");
	f.sect[typs].ulen--;
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);

	/* Zero-length known sections: stored, and zlib with no stream. */
	strbuf_reset(&p);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: objects count ends early");
	f.sect[objs].flags = SNAP_SECT_ZLIB;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: compressed data ends early");
	tfile_release(&f);
	snapshot_release(&a);

	/* A section twice, a section missing, END missing or wrong. */
	small_tfile(&f, &a);
	tfile_payload(&f, tfile_find(&f, SNAP_TAG_STAT), &p);
	tfile_insert(&f, 0, SNAP_TAG_STAT, 0, p.buf, p.len);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section STAT: appears twice");
	tfile_remove(&f, 0);
	tfile_remove(&f, tfile_find(&f, SNAP_TAG_GC));
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": missing section GC");
	tfile_release(&f);
	snapshot_release(&a);

	small_tfile(&f, &a);
	end = f.n - 1;
	tfile_emit(&f, &buf, true);
	strbuf_addstr(&buf, "abc");
	assert_rejected(buf.buf, buf.len,
			NAME ": 3 bytes of garbage after the END section");
	strbuf_setlen(&f.sect[end].data, 4);
	f.sect[end].clen = f.sect[end].ulen = 4;
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section END: must be stored "
			"and at least 8 bytes");
	tfile_remove(&f, end);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": truncated snapshot (no END section)");
	tfile_release(&f);
	snapshot_release(&a);
	strbuf_release(&buf);
	strbuf_release(&p);
}
END_TEST

/* A table payload from columns given as bytes. */
struct tcol {
	uint64_t id;
	const char *data;
	size_t len;
};

static void table_payload(struct strbuf *p, uint64_t nrows,
			  const struct tcol *cols, size_t ncols)
{
	size_t i;

	strbuf_reset(p);
	tvarint(p, nrows);
	tvarint(p, ncols);
	for (i = 0; i < ncols; i++) {
		tvarint(p, cols[i].id);
		tvarint(p, cols[i].len);
		strbuf_add(p, cols[i].data, cols[i].len);
	}
}

START_TEST(payload_errors)
{
	/* One object at 0x10, everything else 0. */
	static const struct tcol one_row[7] = {
		{ 1, "\x10", 1 }, { 2, "", 1 }, { 3, "", 1 }, { 4, "", 1 },
		{ 5, "", 1 },    { 6, "", 1 }, { 7, "", 1 },
	};
	struct strbuf buf = STRBUF_INIT, p = STRBUF_INIT;
	struct snapshot a, one;
	struct tcol cols[8];
	struct tfile f;
	size_t objs, edgs, strs, meta, gc, stat;
	uint64_t i;

	/* A base with one object, whose OBJS we replace. */
	snapshot_init(&one);
	add_type(&one, 0x1000, 0, 0, 0, 0, 16, 0);
	add_object(&one, 0x10, 0, 0, 0, 0, 0, 0);
	encode(&one, SNAP_ENCODE_STORED, &buf);
	tfile_parse(&f, &buf);
	objs = tfile_find(&f, SNAP_TAG_OBJS);
	memcpy(cols, one_row, sizeof(one_row));

	table_payload(&p, 1, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &one);

	/* An unknown column is skipped, wherever it is. */
	cols[7] = cols[0];
	cols[0] = (struct tcol){ 99, "abc", 3 };
	table_payload(&p, 1, cols, 8);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &one);
	memcpy(cols, one_row, sizeof(one_row));

	/* Counts no payload can hold: refused before allocating. */
	table_payload(&p, SNAP_MAX_COUNT, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: 4294967294 "
			"objects cannot fit in 22 bytes");
	table_payload(&p, 1ull << 63, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: "
			"9223372036854775808 objects cannot fit in 22 bytes");
	strbuf_reset(&p);
	strbuf_add(&p, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: objects count "
			"has a varint longer than 64 bits");
	/* A row needs a byte in each of the 7 columns. */
	strbuf_reset(&p);
	strbuf_add(&p, "\x02\x07\x01\x09\x10\x00\x00\x00\x00\x00\x00\x00",
		   12);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: 2 objects cannot fit in 11 bytes");
	/* A column longer than what is left. */
	p.buf[0] = 1;
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: object table ends early");

	/* Columns twice, missing, too long, too short, too wide. */
	cols[7] = (struct tcol){ 2, "", 1 };
	table_payload(&p, 1, cols, 8);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: object table has column 2 (size) twice");
	table_payload(&p, 1, cols, 6);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: object table has no column 7 (site)");
	cols[4] = (struct tcol){ 5, "\0\0", 2 };
	table_payload(&p, 1, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: column 5 (type) "
			"has bytes after its values");
	cols[4] = (struct tcol){ 5, "\x80\x80\x80\x80\x10", 5 };
	table_payload(&p, 1, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: object 0: "
			"type 4294967296 does not fit 32 bits");
	memcpy(cols, one_row, sizeof(one_row));
	table_payload(&p, 2, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: column 1 (addr) ends early");
	for (i = 1; i < 7; i++)
		cols[i] = (struct tcol){ i + 1, "\0\0", 2 };
	cols[0] = (struct tcol){ 1, "\x10\x00", 2 };
	table_payload(&p, 2, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: object 1: "
			"addr not above the previous");
	/* An address past 2^64 - 1. */
	cols[0] = (struct tcol){ 1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff"
				    "\x01\x01", 11 };
	table_payload(&p, 2, cols, 7);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section OBJS: object 1: "
			"addr not above the previous");
	memcpy(cols, one_row, sizeof(one_row));
	table_payload(&p, 1, cols, 7);
	strbuf_addch(&p, 0);
	tfile_set(&f, objs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section OBJS: 1 bytes after the table");
	tfile_release(&f);
	strbuf_release(&buf);

	/* Strings, edges, property lists. */
	small_tfile(&f, &a);
	strs = tfile_find(&f, SNAP_TAG_STRS);
	edgs = tfile_find(&f, SNAP_TAG_EDGS);
	meta = tfile_find(&f, SNAP_TAG_META);
	gc = tfile_find(&f, SNAP_TAG_GC);
	stat = tfile_find(&f, SNAP_TAG_STAT);

	strbuf_reset(&p);
	strbuf_add(&p, "\x02\x01\x00x", 4);
	tfile_set(&f, strs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section STRS: string 0 is not \"\"");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x05xy", 4);
	tfile_set(&f, strs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section STRS: string 0: 5 "
			"bytes go past the end");
	strbuf_reset(&p);
	strbuf_add(&p, "\x00", 1);
	tfile_set(&f, strs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section STRS: no strings "
			"(string 0 must be \"\")");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x00z", 3);
	tfile_set(&f, strs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section STRS: 1 bytes after the strings");
	tfile_release(&f);
	snapshot_release(&a);

	small_tfile(&f, &a);
	/* 4 objects, 5 edges: counts 3 0 1 1, referents relative. */
	strbuf_reset(&p);
	strbuf_add(&p, "\x04\x05\x03\x00\x01\x01" "\x02\x04\x03" "\x03" "\x00",
		   11);
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);
	p.buf[6] = 0x0a; /* object 0 -> 5 */
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section EDGS: object 0: "
			"referent out of range (4 objects)");
	p.buf[6] = 0x01; /* object 0 -> -1 */
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len, "referent out of range");
	p.buf[6] = 0x02;
	p.buf[2] = 0x04;
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section EDGS: object 3: edge "
			"counts add up to more than 5");
	p.buf[2] = 0x02;
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section EDGS: edge counts "
			"add up to 4, not 5");
	p.buf[2] = 0x03;
	p.buf[0] = 0x03;
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected_sub(buf.buf, buf.len, "section EDGS: ");
	strbuf_reset(&p);
	strbuf_add(&p, "\x03\x00\x00\x00\x00", 5);
	tfile_set(&f, edgs, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section EDGS: covers 3 "
			"objects, OBJS has 4");

	/* Property lists: unknown keys skipped, known ones strict. */
	tfile_release(&f);
	snapshot_release(&a);
	small_tfile(&f, &a);
	tfile_payload(&f, meta, &p);
	p.buf[0]++;
	strbuf_add(&p, "\x03new\x63\x02\xff\xff", 8);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_reads_as(buf.buf, buf.len, &a);
	strbuf_setlen(&p, p.len - 8);
	strbuf_add(&p, "\x03pid\x02\x01\x02", 7);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section META: key pid appears twice");
	strbuf_setlen(&p, p.len - 7);
	p.buf[0]--;
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x03pid\x01\x01\x02", 8);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section META: key pid has "
			"value type 1, not 2");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x08taken_at\x03\x04\x00\x00\x00\x00", 16);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section META: value of "
			"taken_at ends early");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x05" "flags\x01\x05\x80\x80\x80\x80\x10", 14);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section META: flags: "
			"4294967296 does not fit 32 bits");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x03pid\x02\x02\x02\x00", 9);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section META: value of pid "
			"has bytes after the value");
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x03" "exe\x04\x01\x7f", 8);
	tfile_set(&f, meta, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len, NAME ": section META: exe: string "
			"127 out of range (19 strings)");
	/* An empty list: every key takes its default. */
	strbuf_reset(&p);
	strbuf_addch(&p, 0);
	tfile_set(&f, meta, &p);
	tfile_set(&f, gc, &p);
	tfile_emit(&f, &buf, true);
	memset(&a.meta, 0, sizeof(a.meta));
	memset(&a.gc, 0, sizeof(a.gc));
	assert_reads_as(buf.buf, buf.len, &a);
	strbuf_reset(&p);
	strbuf_add(&p, "\x01\x05valid\x01\x01\x02", 10);
	tfile_set(&f, gc, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section GC: valid is 2, not 0 or 1");
	strbuf_reset(&p);
	strbuf_add(&p, "\x00\x00", 2);
	tfile_set(&f, gc, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section GC: 1 bytes after the keys");

	strbuf_reset(&p);
	strbuf_addch(&p, 0);
	tfile_set(&f, gc, &p);

	/* A table with bytes after it. */
	tfile_payload(&f, stat, &p);
	strbuf_addch(&p, 1);
	tfile_set(&f, stat, &p);
	tfile_emit(&f, &buf, true);
	assert_rejected(buf.buf, buf.len,
			NAME ": section STAT: 1 bytes after the table");
	tfile_release(&f);
	snapshot_release(&a);

	snapshot_release(&one);
	strbuf_release(&buf);
	strbuf_release(&p);
}
END_TEST

/* Contents that frame and checksum well but break the model. */
static void assert_content_rejected(void (*spoil)(struct snapshot *),
				    const char *msg, const char *read_msg)
{
	struct strbuf buf = STRBUF_INIT;
	struct snapshot a;

	build_small(&a);
	spoil(&a);
	ck_assert_int_eq(snapshot_check(&a, NAME), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), msg);
	encode(&a, SNAP_ENCODE_UNCHECKED, &buf);
	/* The reader may see it earlier, while decoding. */
	assert_rejected(buf.buf, buf.len, read_msg ? read_msg : msg);
	snapshot_release(&a);
	strbuf_release(&buf);
}

static void spoil_type(struct snapshot *s) { s->objects[1].type = 3; }
static void spoil_order(struct snapshot *s) { s->objects[1].addr = 0x1000; }
static void spoil_buffers(struct snapshot *s) { s->objects[0].buffers = 300; }
static void spoil_type_object(struct snapshot *s) { s->types[1].object = 4; }
static void spoil_type_name(struct snapshot *s) { s->types[2].module = 19; }
static void spoil_root(struct snapshot *s) { s->roots[1].object = 9; }
static void spoil_root_name(struct snapshot *s) { s->roots[0].name = 99; }
static void spoil_thread(struct snapshot *s) { s->threads[0].first_frame = 1; }
static void spoil_frame(struct snapshot *s) { s->frames[1].file = 19; }
static void spoil_stat(struct snapshot *s) { s->stats[1].name = 30; }
static void spoil_meta(struct snapshot *s) { s->meta.python = 19; }
static void spoil_site(struct snapshot *s) { s->objects[3].site = 4; }
static void spoil_site_kind(struct snapshot *s) { s->sites[1].kind = 3; }
static void spoil_site_frames(struct snapshot *s) { s->sites[1].nframes = 2; }
static void spoil_site_nframes(struct snapshot *s) { s->sites[0].nframes = 0; }
static void spoil_site_total(struct snapshot *s) { s->sites[0].total_frames = 2; }
static void spoil_site_unowned(struct snapshot *s) { s->sites[2].unowned_traces = 2; }
static void spoil_site_inferred(struct snapshot *s) { s->sites[1].traced_bytes = 1; }
static void spoil_site_file(struct snapshot *s) { s->site_frames[2].file = 19; }
static void spoil_label(struct snapshot *s) { s->edge_label[2] = EDGE_LABEL_KEY | 19; }
static void spoil_label_kind(struct snapshot *s) { s->edge_label[0] = EDGE_LABEL_KIND | 1; }
static void spoil_string0(struct snapshot *s)
{
	s->strings[0][0] = 'x';
	s->string_len[0] = 1;
}

START_TEST(content_errors)
{
	assert_content_rejected(spoil_type, NAME ": section OBJS: object 1: "
				"type 3 out of range (3 types)", NULL);
	assert_content_rejected(spoil_order, NAME ": section OBJS: object 1: "
				"address 0x1000 not above the previous 0x1000",
				NAME ": section OBJS: object 1: addr not above "
				"the previous");
	assert_content_rejected(spoil_buffers, NAME ": section OBJS: object 0: "
				"buffers 300 larger than size 232", NULL);
	assert_content_rejected(spoil_type_object, NAME ": section TYPS: type "
				"1: object 4 out of range (4 objects)", NULL);
	assert_content_rejected(spoil_type_name, NAME ": section TYPS: type "
				"2: module string 19 out of range (19 strings)", NULL);
	assert_content_rejected(spoil_root, NAME ": section ROOT: root 1: "
				"object 9 out of range (4 objects)", NULL);
	assert_content_rejected(spoil_root_name, NAME ": section ROOT: root 0: "
				"name string 99 out of range (19 strings)", NULL);
	assert_content_rejected(spoil_thread, NAME ": section THRD: thread 0: "
				"frames 1+2 out of range (2 frames)", NULL);
	assert_content_rejected(spoil_frame, NAME ": section THRD: frame 1: "
				"file string 19 out of range (19 strings)", NULL);
	assert_content_rejected(spoil_stat, NAME ": section STAT: stat 1: name "
				"string 30 out of range (19 strings)", NULL);
	assert_content_rejected(spoil_meta, NAME ": section META: python: "
				"string 19 out of range (19 strings)", NULL);
	assert_content_rejected(spoil_string0, NAME ": section STRS: string 0 "
				"is not \"\"", NULL);
	assert_content_rejected(spoil_site, NAME ": section OBJS: object 3: "
				"site 4 out of range (3 sites)", NULL);
	assert_content_rejected(spoil_site_kind, NAME ": section SITE: site 2: "
				"bad kind", NULL);
	assert_content_rejected(spoil_site_frames, NAME ": section SITE: site "
				"2: frames out of range", NULL);
	assert_content_rejected(spoil_site_nframes, NAME ": section SITE: site "
				"1: frames out of range", NULL);
	assert_content_rejected(spoil_site_total, NAME ": section SITE: site "
				"1: total_frames below nframes", NULL);
	assert_content_rejected(spoil_site_unowned, NAME ": section SITE: site "
				"3: more unowned than traced", NULL);
	assert_content_rejected(spoil_site_inferred, NAME ": section SITE: site "
				"2: an inferred site with traces", NULL);
	assert_content_rejected(spoil_site_file, NAME ": section SITE: site "
				"frame 2: file string 19 out of range (19 "
				"strings)", NULL);
	assert_content_rejected(spoil_label, NAME ": section ELBL: edge 2: "
				"string 19 out of range", NULL);
	assert_content_rejected(spoil_label_kind, NAME ": section ELBL: edge "
				"0: bad label kind", NAME ": section ELBL: edge 0: "
				"bad label 7");
}
END_TEST

START_TEST(check_edges_of_built_snapshots)
{
	struct snapshot a;

	build_small(&a);
	a.edge_dst[4] = 4;
	ck_assert_int_eq(snapshot_check(&a, NAME), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), NAME ": section EDGS: edge 4: object 4 "
			 "out of range (4 objects)");
	a.edge_dst[4] = 3;
	a.edge_start[2] = 2;
	ck_assert_int_eq(snapshot_check(&a, NAME), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), NAME ": section EDGS: edge_start "
			 "decreases at object 2");
	a.edge_start[2] = 3;
	a.edge_start[4] = 4;
	ck_assert_int_eq(snapshot_check(&a, NAME), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), NAME ": section EDGS: edge_start ends at "
			 "4, not at 5 edges");
	a.edge_start[4] = 5;
	free(a.edge_start);
	a.edge_start = NULL;
	ck_assert_int_eq(snapshot_check(&a, NAME), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), NAME ": section EDGS: 5 edges but no "
			 "edge_start");
	a.nedges = 0;
	ck_assert_int_eq(snapshot_check(&a, NAME), 0);
	snapshot_release(&a);
}
END_TEST

START_TEST(read_file_errors)
{
	char *dir = tmpdir_make(), *path = xasprintf("%s/x.snap", dir);
	char *want;
	struct snapshot s;
	int fd;

	ck_assert_int_eq(snapshot_read(path, &s), -PH_E_IO);
	want = xasprintf("cannot open %s: No such file or directory", path);
	ck_assert_str_eq(ph_errmsg(), want);
	free(want);
	ck_assert_ptr_null(s.strings);

	ck_assert_int_eq(snapshot_read(dir, &s), -PH_E_IO);
	want = xasprintf("cannot read %s: Is a directory", dir);
	ck_assert_str_eq(ph_errmsg(), want);
	free(want);

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(snapshot_read(path, &s), -PH_E_FORMAT);
	want = xasprintf("%s: empty file, not a pyheap snapshot", path);
	ck_assert_str_eq(ph_errmsg(), want);
	free(want);

	free(path);
	tmpdir_remove(dir);
}
END_TEST

/* ---- fixtures (tests/fixtures/snap/README) ------------------------------ */

static char *fixture(const char *name)
{
	const char *dir = getenv("PYHEAP_FIXTURES");

	ck_assert_msg(dir != NULL, "PYHEAP_FIXTURES is not set");
	return xasprintf("%s/snap/%s", dir, name);
}

static void assert_fixture_rejected(const char *name, const char *what)
{
	char *path = fixture(name), *want = xasprintf("%s: %s", path, what);
	struct snapshot s;

	ck_assert_int_eq(snapshot_read(path, &s), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), want);
	/* Read as needed from the file (frame.c), the same verdict. */
	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_REPORT, &s,
					     NULL), -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), want);
	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_META, &s, NULL),
			 -PH_E_FORMAT);
	ck_assert_str_eq(ph_errmsg(), want);
	free(want);
	free(path);
}

/* build_small() as pyheap 1.1 wrote it (tests/fixtures/snap/v1.1.snap):
 * no sites, no 1.2 META keys, every object's site 0 once read (and
 * nothing of 1.3-1.5). */
static void build_small_1_1(struct snapshot *s)
{
	size_t i;

	build_small(s);
	s->meta.tracemalloc_tracing = false;
	s->meta.tracemalloc_frames = 0;
	s->meta.traced_memory = 0;
	s->meta.sites_note = 0;
	s->meta.checks = 0;
	s->meta.parent_pid = 0;
	s->meta.started_at = 0;
	s->meta.labels = 0;
	s->meta.core = 0;
	s->meta.core_missing_bytes = 0;
	s->meta.core_missing_mappings = 0;
	free(s->edge_label);
	s->edge_label = NULL;
	for (i = 0; i < s->nobjects; i++)
		s->objects[i].unexplained = s->objects[i].gc_refs = 0;
	for (i = 0; i < s->nobjects; i++)
		s->objects[i].site = 0;
	s->nsites = s->nsite_frames = 0;
	drop_groups(s);
}

static void assert_sum_eq(const struct snap_summary *a,
			  const struct snap_summary *b)
{
	ck_assert(a->valid && b->valid);
	ck_assert_uint_eq(a->ncells, b->ncells);
	ck_assert_uint_eq(a->nchunk_cells, b->nchunk_cells);
	ck_assert(!a->ncells || !memcmp(a->cells, b->cells,
					a->ncells * sizeof(*a->cells)));
	ck_assert(!a->nchunk_cells ||
		  !memcmp(a->chunk_cells, b->chunk_cells,
			  a->nchunk_cells * sizeof(*a->chunk_cells)));
}

/* SUMM (1.7): read without the objects from a 1.7 file (gen.py wrote it
 * from the spec), computed from the objects of a 1.6 one; the same. */
START_TEST(summary_levels)
{
	static const char *const files[] = { "small.snap", "v1.6.snap" };
	struct snapshot want, got;
	struct snap_summary sum;
	size_t i;

	build_small(&want);
	snapshot_summarize(&want, &sum);
	/* Sizes sum saturating: the last object is 2^64 - 1 bytes. */
	ck_assert_uint_eq(sum.ncells, 4);
	ck_assert_uint_eq(sum.cells[3].bytes, UINT64_MAX);
	ck_assert_uint_eq(sum.cells[3].garbage_bytes, UINT64_MAX);
	for (i = 0; i < PH_ARRAY_SIZE(files); i++) {
		char *path = fixture(files[i]);
		int rc = snapshot_read_level(path, SNAP_READ_REPORT, &got,
					     NULL);

		ck_assert_msg(rc == 0, "%s", ph_errmsg());
		assert_sum_eq(&sum, &got.sum);
		/* Only the file without SUMM needed its objects. */
		ck_assert_uint_eq(got.nobjects, i ? want.nobjects : 0);
		ck_assert_uint_eq(got.ntypes, want.ntypes);
		snapshot_release(&got);
		free(path);
	}
	snap_summary_release(&sum);
	snapshot_release(&want);
}
END_TEST

/* A SUMM that is not what the objects give is rejected where both are
 * read, and taken as it is where only it is. */
START_TEST(summary_must_match)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT, p = STRBUF_INIT;
	struct snapshot s, got;
	struct tfile fa, fb;
	size_t ia, ib;

	build_small(&s);
	encode(&s, 0, &a);
	s.objects[1].size += 8;
	encode(&s, 0, &b);
	tfile_parse(&fa, &a);
	tfile_parse(&fb, &b);
	ia = tfile_find(&fa, SNAP_TAG_SUMM);
	ib = tfile_find(&fb, SNAP_TAG_SUMM);
	tfile_payload(&fb, ib, &p);
	tfile_set(&fa, ia, &p);
	strbuf_reset(&a);
	tfile_emit(&fa, &a, true);
	assert_rejected(a.buf, a.len, NAME ": section SUMM: the summary "
			"differs from the objects it sums");
	/* Fine at the report level, which reads no objects. */
	{
		char *dir = tmpdir_make(), *path = xasprintf("%s/s.snap", dir);
		FILE *fp = fopen(path, "wb");

		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(a.buf, 1, a.len, fp), a.len);
		fclose(fp);
		ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_REPORT,
						     &got, NULL), 0);
		ck_assert_uint_eq(got.sum.cells[1].bytes, 64);
		snapshot_release(&got);
		unlink(path);
		free(path);
		tmpdir_remove(dir);
	}
	snapshot_release(&s);
	tfile_release(&fa);
	tfile_release(&fb);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&p);
}
END_TEST

START_TEST(fixtures)
{
	/* The last two are older: no groups. */
	static const char *const good[] = { "small.snap", "future-minor.snap",
					    "v1.8.snap", "v1.7.snap",
					    "v1.6.snap" };
	struct snapshot want, got;
	size_t i;

	build_small(&want);
	for (i = 0; i < PH_ARRAY_SIZE(good); i++) {
		char *path = fixture(good[i]);
		int rc = snapshot_read(path, &got);

		ck_assert_msg(rc == 0, "%s", ph_errmsg());
		if (i == 2) { /* 1.8 and older: no core keys */
			want.meta.core = 0;
			want.meta.core_missing_bytes = 0;
			want.meta.core_missing_mappings = 0;
		}
		if (i == 3)
			drop_groups(&want);
		assert_snap_eq(&want, &got);
		snapshot_release(&got);
		free(path);
	}
	snapshot_release(&want);

	/* A 1.1 file reads; its site column is ignored. */
	build_small_1_1(&want);
	{
		char *path = fixture("v1.1.snap");
		struct snap_file_info info;
		int rc = snapshot_read_level(path, SNAP_READ_ALL, &got, &info);

		ck_assert_msg(rc == 0, "%s", ph_errmsg());
		ck_assert_uint_eq(info.minor, 1);
		assert_snap_eq(&want, &got);
		snapshot_release(&got);
		snap_file_info_release(&info);
		free(path);
	}
	snapshot_release(&want);
	assert_fixture_rejected("truncated.snap",
				"truncated snapshot (section OBJS)");
	assert_fixture_rejected("bitflip.snap", "bad checksum in section TYPS");
	assert_fixture_rejected("badmagic.snap", "not a pyheap snapshot");
	assert_fixture_rejected("future-major.snap", "snapshot format 7.x is "
				"newer than this pyheap reads (1.x)");
}
END_TEST

static void read_whole(const char *path, struct strbuf *out)
{
	char chunk[4096];
	FILE *fp = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(fp);
	strbuf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)))
		strbuf_add(out, chunk, n);
	fclose(fp);
}

/* gen.py and write.c implement the spec separately: their payloads must
 * be the same bytes (compressed bytes could differ with zlib versions). */
START_TEST(fixture_payloads_match_writer)
{
	struct strbuf file = STRBUF_INIT, mine = STRBUF_INIT;
	struct strbuf p = STRBUF_INIT, q = STRBUF_INIT;
	struct tfile a, b;
	struct snapshot s;
	char *path = fixture("small.snap");
	size_t i;

	read_whole(path, &file);
	build_small(&s);
	encode(&s, 0, &mine);
	tfile_parse(&a, &file);
	tfile_parse(&b, &mine);
	ck_assert(!memcmp(a.header, b.header, SNAP_HEADER_LEN));
	ck_assert_uint_eq(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		ck_assert_uint_eq(a.sect[i].tag, b.sect[i].tag);
		tfile_payload(&a, i, &p);
		tfile_payload(&b, i, &q);
		ck_assert_msg(p.len == q.len && !memcmp(p.buf, q.buf, p.len),
			      "section %zu payloads differ", i);
	}
	tfile_release(&a);
	tfile_release(&b);
	snapshot_release(&s);
	strbuf_release(&file);
	strbuf_release(&mine);
	strbuf_release(&p);
	strbuf_release(&q);
	free(path);
}
END_TEST

/* ---- the Python reader (tests/live/snapfile.py) -------------------------- */

#define PYTHON "/usr/bin/python3"

static int run_capture(const char *cmd, struct strbuf *out)
{
	char chunk[4096];
	FILE *fp = popen(cmd, "r");
	size_t n;

	ck_assert_ptr_nonnull(fp);
	strbuf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)))
		strbuf_add(out, chunk, n);
	return pclose(fp);
}

static void json_str(struct strbuf *sb, const struct snapshot *s, uint32_t id)
{
	strbuf_add_json_str(sb, s->strings[id], s->string_len[id]);
}

/* What snapfile.py's summary() prints, built from the C struct. */
static void expected_summary(const struct snapshot *s, struct strbuf *sb)
{
	size_t i, e;

	strbuf_addf(sb, "{\"counts\":{\"edges\":%zu,\"frames\":%zu,"
		    "\"objects\":%zu,\"roots\":%zu,\"sites\":%zu,"
		    "\"stats\":%zu,\"strings\":%zu,\"threads\":%zu,"
		    "\"types\":%zu},",
		    s->nedges, s->nframes, s->nobjects, s->nroots, s->nsites,
		    s->nstats, s->nstrings, s->nthreads, s->ntypes);
	strbuf_addstr(sb, "\"edges\":[");
	for (i = 0; i < s->nobjects && i < 8; i++) {
		strbuf_addstr(sb, i ? ",[" : "[");
		for (e = s->edge_start[i]; e < s->edge_start[i + 1]; e++)
			strbuf_addf(sb, "%s%u", e > s->edge_start[i] ? "," : "",
				    s->edge_dst[e]);
		strbuf_addch(sb, ']');
	}
	strbuf_addf(sb, "],\"gc\":{\"count\":[%ld,%ld,%ld],\"enabled\":%s,"
		    "\"threshold\":[%ld,%ld,%ld],\"valid\":%s},",
		    (long)s->gc.count[0], (long)s->gc.count[1],
		    (long)s->gc.count[2], s->gc.enabled ? "true" : "false",
		    (long)s->gc.threshold[0], (long)s->gc.threshold[1],
		    (long)s->gc.threshold[2], s->gc.valid ? "true" : "false");
	strbuf_addf(sb, "\"meta\":{\"flags\":%u,\"pid\":%ld,\"python\":",
		    s->meta.flags, (long)s->meta.pid);
	json_str(sb, s, s->meta.python);
	strbuf_addf(sb, ",\"taken_at\":%.17g,\"traced_memory\":%lu,"
		    "\"tracemalloc_frames\":%u,\"tracemalloc_tracing\":%s},"
		    "\"objects\":[", s->meta.taken_at,
		    (unsigned long)s->meta.traced_memory,
		    s->meta.tracemalloc_frames,
		    s->meta.tracemalloc_tracing ? "true" : "false");
	for (i = 0; i < s->nobjects && i < 8; i++) {
		const struct snap_object *o = &s->objects[i];

		strbuf_addf(sb, "%s[%lu,%lu,%lu,%ld,", i ? "," : "",
			    (unsigned long)o->addr, (unsigned long)o->size,
			    (unsigned long)o->buffers, (long)o->refcnt);
		json_str(sb, s, s->types[o->type].name);
		strbuf_addf(sb, ",%u,%u]", o->flags, o->site);
	}
	strbuf_addstr(sb, "],\"sites\":[");
	for (i = 0; i < s->nsites && i < 8; i++) {
		const struct snap_site *x = &s->sites[i];

		strbuf_addf(sb, "%s[%u,%u,%lu,%lu,%lu,%lu,[", i ? "," : "",
			    x->kind, x->total_frames, (unsigned long)x->traces,
			    (unsigned long)x->traced_bytes,
			    (unsigned long)x->unowned_traces,
			    (unsigned long)x->unowned_bytes);
		for (e = 0; e < x->nframes; e++) {
			const struct snap_site_frame *f =
				&s->site_frames[x->first_frame + e];

			strbuf_addstr(sb, e ? ",[" : "[");
			json_str(sb, s, f->file);
			strbuf_addf(sb, ",%u]", f->line);
		}
		strbuf_addstr(sb, "]]");
	}
	/* json.dumps(sort_keys=True) sorts these too: build_small() adds
	 * them in order. */
	strbuf_addstr(sb, "],\"stats\":{");
	for (i = 0; i < s->nstats; i++) {
		strbuf_addstr(sb, i ? "," : "");
		json_str(sb, s, s->stats[i].name);
		strbuf_addf(sb, ":%ld", (long)s->stats[i].value);
	}
	strbuf_addstr(sb, "},\"threads\":[");
	for (i = 0; i < s->nthreads; i++) {
		const struct snap_thread *t = &s->threads[i];

		strbuf_addf(sb, "%s[%ld,[", i ? "," : "", (long)t->tid);
		for (e = 0; e < t->nframes; e++) {
			strbuf_addstr(sb, e ? "," : "");
			json_str(sb, s, s->frames[t->first_frame + e].function);
		}
		strbuf_addstr(sb, "]]");
	}
	strbuf_addstr(sb, "]}\n");
}

START_TEST(python_reader_agrees)
{
	static const char *const bad[] = { "truncated.snap", "bitflip.snap",
					   "badmagic.snap",
					   "future-major.snap" };
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	char *dir, *path, *script, *cmd;
	const char *fixdir = getenv("PYHEAP_FIXTURES");
	struct snapshot a;
	size_t i;
	int st;

	if (access(PYTHON, X_OK)) {
		printf("skipped: no %s\n", PYTHON);
		return;
	}
	ck_assert_ptr_nonnull(fixdir);
	script = xasprintf("%s/../live/snapfile.py", fixdir);
	dir = tmpdir_make();
	path = xasprintf("%s/a.snap", dir);
	build_small(&a);
	ck_assert_int_eq(snapshot_write(&a, path, NULL), 0);
	cmd = xasprintf("%s %s %s", PYTHON, script, path);
	st = run_capture(cmd, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", cmd);
	expected_summary(&a, &want);
	ck_assert_str_eq(out.buf, want.buf);
	free(cmd);

	/* The same verdicts on the fixtures, with the same messages. */
	for (i = 0; i < PH_ARRAY_SIZE(bad); i++) {
		char *fx = fixture(bad[i]);
		struct snapshot s;

		cmd = xasprintf("%s %s --check %s 2>&1", PYTHON, script, fx);
		st = run_capture(cmd, &out);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s", cmd);
		ck_assert_int_eq(snapshot_read(fx, &s), -PH_E_FORMAT);
		if (out.len && out.buf[out.len - 1] == '\n')
			strbuf_setlen(&out, out.len - 1);
		ck_assert_str_eq(out.buf, ph_errmsg());
		free(cmd);
		free(fx);
	}
	free(path);
	path = fixture("future-minor.snap");
	cmd = xasprintf("%s %s --check %s", PYTHON, script, path);
	st = run_capture(cmd, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
	free(cmd);

	/* A 1.1 file: the same reading of its sites (none). */
	free(path);
	snapshot_release(&a);
	build_small_1_1(&a);
	path = fixture("v1.1.snap");
	cmd = xasprintf("%s %s %s", PYTHON, script, path);
	st = run_capture(cmd, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
	strbuf_reset(&want);
	expected_summary(&a, &want);
	ck_assert_str_eq(out.buf, want.buf);
	free(cmd);

	snapshot_release(&a);
	free(path);
	free(script);
	strbuf_release(&out);
	strbuf_release(&want);
	tmpdir_remove(dir);
}
END_TEST

/* ---- a large synthetic snapshot ----------------------------------------- */

static uint64_t rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 33;
}

/*
 * Shaped like a real heap: pymalloc-sized objects 16-byte aligned in
 * address order, a few popular types, small refcounts, two referents per
 * object on average, most of them near the referrer.
 */
static void build_large(struct snapshot *s, size_t n)
{
	static const uint64_t sizes[] = { 16, 28, 32, 48, 56, 64, 72, 104,
					  184, 232, 360, 640, 1184 };
	uint64_t state = 42, addr = 0x7f3a00000000;
	size_t i, t;

	snapshot_init(s);
	for (t = 0; t < 200; t++) {
		char name[32];

		snprintf(name, sizeof(name), "module%zu.Type%zu", t % 17, t);
		add_type(s, 0x560000000000 + t * 0x1a0,
			 snapshot_cstring(s, name), 0, TYPE_HEAP | TYPE_GC,
			 UINT32_MAX, 16 + (int64_t)t, 0);
	}
	s->objects = xmalloc(n * sizeof(*s->objects));
	s->objects_alloc = n;
	s->edge_start = xmalloc((n + 1) * sizeof(*s->edge_start));
	s->edge_start[0] = 0;
	for (i = 0; i < n; i++) {
		uint64_t r = rnd(&state);
		uint64_t size = sizes[r % PH_ARRAY_SIZE(sizes)];
		uint32_t type = (uint32_t)((r >> 8) % 200);
		size_t k, nref = (size_t)(r >> 16) % 5;

		type = type * type / 200; /* favour low ids */
		addr += (size + 15) / 16 * 16;
		if (!(r % 1000))
			addr += 0x40000; /* next arena */
		add_object(s, addr, size, size > 500 ? size / 2 : 0,
			   1 + (int64_t)((r >> 24) % 4), type,
			   OBJ_IN_PYMALLOC | (r & 1 ? OBJ_GC_TRACKED : 0), 0);
		for (k = 0; k < nref; k++) {
			uint64_t q = rnd(&state);
			int64_t dst = q % 10 < 7 ?
				(int64_t)i - 32 + (int64_t)(q >> 8) % 64 :
				(int64_t)((q >> 8) % n);

			if (dst < 0 || (size_t)dst >= n)
				dst = (int64_t)i;
			PH_GROW(s->edge_dst, s->edges_alloc, s->nedges + 1);
			s->edge_dst[s->nedges++] = (uint32_t)dst;
		}
		s->edge_start[i + 1] = (uint32_t)s->nedges;
	}
}

START_TEST(large_snapshot)
{
	const char *env = getenv("PYHEAP_SNAP_BENCH_OBJECTS");
	size_t n = env ? strtoul(env, NULL, 10) : 1000000;
	char *dir = tmpdir_make(), *path = xasprintf("%s/big.snap", dir);
	struct strbuf payload = STRBUF_INIT;
	struct snapshot a, b;
	uint64_t size = 0, t0, t1, t2;

	build_large(&a, n);
	encode(&a, SNAP_ENCODE_STORED, &payload);
	t0 = ph_now_ns();
	ck_assert_msg(snapshot_write(&a, path, &size) == 0, "%s", ph_errmsg());
	t1 = ph_now_ns();
	ck_assert_msg(snapshot_read(path, &b) == 0, "%s", ph_errmsg());
	t2 = ph_now_ns();
	assert_snap_eq(&a, &b);
	/* Reported, never asserted: timing depends on the machine. */
	printf("large: %zu objects, %zu edges: payload %zu bytes, file %lu "
	       "bytes (%.2f bytes/object); write %.0f ms (%.0f MB/s payload), "
	       "read %.0f ms (%.0f MB/s payload)\n",
	       n, a.nedges, payload.len, (unsigned long)size,
	       (double)size / (double)(n ? n : 1), (double)(t1 - t0) / 1e6,
	       (double)payload.len / ((double)(t1 - t0) / 1e3),
	       (double)(t2 - t1) / 1e6,
	       (double)payload.len / ((double)(t2 - t1) / 1e3));
	snapshot_release(&a);
	snapshot_release(&b);
	strbuf_release(&payload);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, round_trip_file);
	tcase_add_test(tc, encode_on_threads_same_bytes);
	tcase_add_test(tc, round_trip_mode_ignores_umask_and_replaces);
	tcase_add_test(tc, round_trip_empty_and_one_object);
	tcase_add_test(tc, write_into_missing_directory);
	tcase_add_test(tc, write_into_read_only_directory);
	tcase_add_test(tc, write_rename_failure_removes_temp);
	tcase_add_test(tc, write_failing_midway_keeps_old_file);
	tcase_add_test(tc, write_killed_midway_leaves_no_file);
	tcase_add_test(tc, write_replaces_stale_temp_of_same_pid);
	tcase_add_test(tc, write_refuses_inconsistent_snapshot);
	tcase_add_test(tc, every_prefix_is_rejected);
	tcase_add_test(tc, every_bit_flip_is_rejected);
	tcase_add_test(tc, magic_and_versions);
	tcase_add_test(tc, unknown_sections_are_skipped);
	tcase_add_test(tc, framing_errors);
	tcase_add_test(tc, payload_errors);
	tcase_add_test(tc, content_errors);
	tcase_add_test(tc, check_edges_of_built_snapshots);
	tcase_add_test(tc, read_file_errors);
	tcase_add_test(tc, fixtures);
	tcase_add_test(tc, summary_levels);
	tcase_add_test(tc, summary_must_match);
	tcase_add_test(tc, fixture_payloads_match_writer);
	tcase_add_test(tc, python_reader_agrees);
	tcase_add_test(tc, large_snapshot);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
