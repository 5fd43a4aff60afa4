/*
 * The census (objects.h).  Discovery runs in phases, most reliable first:
 *
 *   A. roots (interpreter dicts, thread frames) and the GC generation lists,
 *      then everything they refer to;
 *   B. every used pymalloc block not yet explained: the object its first
 *      words describe, if valid ("candidates");
 *   C. candidates are accepted unless their block is a buffer owned by a
 *      known object or another candidate (a list's item array, dict keys or
 *      values, a set table, a bytearray or str buffer) — pointer arrays can
 *      look like object headers, and this is where they would be mistaken
 *      for objects — then everything they refer to;
 *   D. a conservative word scan of objects whose type has no known layout;
 *   E. (glibc) malloc chunks no object owns that hold objects.
 *
 * roots.c has phase A, memory.c phases B, C and E and the owners of malloc
 * chunks, refcount.c the refcount arithmetic, validate.c whether an address
 * holds an object; this file records objects and edges, runs the phases,
 * and assembles the snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"


static const char *const skip_names[SKIP__COUNT] = {
#define SKIP_NAME(id, name) [SKIP_##id] = name,
	SKIP_REASONS(SKIP_NAME)
#undef SKIP_NAME
};


uint32_t census_add_object(struct census *c, uint64_t addr, int64_t t,
			   uint32_t flags, int64_t refcnt, size_t blk)
{
	struct cobj *o;
	uint32_t idx;

	if (c->nobjs >= UINT32_MAX - 1)
		ph_die("more than 4 billion objects");
	/* The records are the snapshot's rows from census_assemble() on. */
	if (c->s->objects)
		ph_die("census: an object added after assembly");
	if (blk < c->heap.nused && c->block_known)
		c->block_known[blk] = 1;
	PH_GROW(c->objs, c->objs_alloc, c->nobjs + 1);
	idx = (uint32_t)c->nobjs++;
	o = &c->objs[idx];
	memset(o, 0, sizeof(*o));
	o->addr = addr;
	o->tinfo = (uint32_t)t;
	o->flags = flags;
	o->refcnt = refcnt;
	if (flags & OBJ_GC_TRACKED)
		c->gc_tracked++; /* free-threaded: from its header */
	kind_sizeof(c, o, &c->tinfos[t]);
	census_index_put(c, addr, idx);
	PH_GROW(c->work, c->work_alloc, c->nwork + 1);
	c->work[c->nwork++] = idx;
	return idx;
}

int64_t census_ref(struct census *c, uint64_t addr)
{
	enum skip_reason why;
	uint32_t flags;
	int64_t t, refcnt;
	uint64_t v;
	size_t blk;

	if (!addr)
		return -1;
	if (census_lookup(c, addr, &v))
		return (int64_t)v;
	t = census_validate(c, addr, &flags, &refcnt, &blk, &why);
	if (t < 0) {
		ph_debug(3, "not an object at %#llx: %s",
			 (unsigned long long)addr, skip_names[why]);
		c->skipped[why]++;
		return -1;
	}
	return census_add_object(c, addr, t, flags, refcnt, blk);
}

/*
 * Budget.  Sizes and counts in target memory are checked against what is
 * mapped, but nothing stops a thousand lists from claiming the same
 * million-item array: each walk is bounded, their sum is not.  In a real
 * process every reference the census follows sits in its own pointer
 * slot, so the references examined cannot outnumber the words copied;
 * the budget is twice that plus a margin.  Past it references are
 * dropped and counted ("census.refs_over_budget"), and the snapshot is
 * marked partial: time and memory stay proportional to the copy.
 */
static uint64_t readable_bytes(const struct target *t)
{
	const struct image_stats *st = target_image_stats(t);
	uint64_t n = 0;
	size_t i;

	if (st)
		return st->bytes;
	for (i = 0; i < t->maps.n; i++)
		if (t->maps.v[i].perms & MAP_R)
			n += t->maps.v[i].end - t->maps.v[i].start;
	return n;
}

void census_edge(struct census *c, uint32_t src, uint64_t addr)
{
	census_edge_l(c, src, addr, 0);
}

void census_edge_l(struct census *c, uint32_t src, uint64_t addr,
		   uint32_t label)
{
	int64_t dst;

	if (!addr)
		return;
	if (!census_refs_left(c)) {
		c->refs_over++;
		return;
	}
	c->refs_seen++;
	dst = census_ref(c, addr);
	if (dst < 0) {
		ph_debug(2, "object %#llx refers to %#llx: not an object",
			 (unsigned long long)c->objs[src].addr,
			 (unsigned long long)addr);
		c->refs_dropped++;
		return;
	}
	PH_GROW(c->edges, c->edges_alloc, c->nedges + 1);
	c->edges[c->nedges].src = src;
	c->edges[c->nedges].dst = (uint32_t)dst;
	c->edges[c->nedges].owned = !c->borrowing;
	c->edges[c->nedges].untraversed = c->untraversed;
	c->edges[c->nedges].label = label;
	c->nedges++;
	if (!c->borrowing && c->objs[dst].owned < UINT32_MAX)
		c->objs[dst].owned++;
}

/* Process queued objects until none is left: discover each one's type
 * object and its referents. */
static void drain(struct census *c)
{
	while (c->nwork) {
		uint32_t idx = c->work[--c->nwork];
		uint64_t type = c->tinfos[c->objs[idx].tinfo].addr;

		census_ref(c, type);
		if (!kind_referents(c, idx))
			c->objs[idx].flags |= OBJ_EDGES_CONSERVATIVE;
	}
}

/* ---- CPython's allocator debug hooks ----------------------------------- */

/*
 * PYTHONMALLOC=debug, pymalloc_debug or malloc_debug, -X dev and every
 * debug build (Py_DEBUG) wrap each allocation (Objects/obmalloc.c,
 * _PyMem_DebugRawAlloc, 3.6-3.13): 8 bytes of the size asked for
 * (big-endian), the API id ('r' raw, 'm' mem, 'o' object) and 7
 * FORBIDDENBYTEs (0xFD), then the caller's memory, then more forbidden
 * bytes.  Objects then start 16 bytes further into their block or chunk.
 * Nothing in the interpreter's state says so without symbols, but the
 * headers are unmistakable: most allocations in use carry one.
 */
#define DEBUG_HDR 16
#define DEBUG_SAMPLE 1024

static bool debug_header_at(struct census *c, uint64_t b)
{
	uint64_t w;

	if (target_read_u64(c->t, b + 8, &w))
		return false;
	return (w >> 8) == 0xfdfdfdfdfdfdfdull &&
	       ((w & 0xff) == 'o' || (w & 0xff) == 'm' || (w & 0xff) == 'r');
}

/* Up to DEBUG_SAMPLE of the n allocations at(i), evenly spread: true if
 * at least half of them (and 16) carry a debug header. */
static bool mostly_debug(struct census *c, size_t n,
			 uint64_t (*at)(const struct census *, size_t))
{
	size_t step = n / DEBUG_SAMPLE + 1, i, seen = 0, hits = 0;

	for (i = 0; i < n; i += step) {
		uint64_t a = at(c, i);

		if (!a)
			continue; /* not an allocation in use */
		seen++;
		if (debug_header_at(c, a))
			hits++;
	}
	return hits >= 16 && hits * 2 >= seen;
}

static uint64_t used_block(const struct census *c, size_t i)
{
	return c->heap.used[i];
}

static uint64_t used_mi_block(const struct census *c, size_t i)
{
	return c->mi.used[i];
}

static uint64_t used_chunk(const struct census *c, size_t i)
{
	const struct malloc_chunk_rec *ch = &c->malloc.chunks[i];

	/* Free chunks keep list pointers there, never the pattern. */
	return ch->state == CHUNK_INUSE || ch->state == CHUNK_MMAPPED ?
	       ch->addr + 16 : 0;
}

/* Set c->debug_hdr from pymalloc's used blocks (a free-threaded build:
 * mimalloc's), or (malloc_debug: no pymalloc) from malloc's chunks once
 * they are walked. */
static void find_debug_hooks(struct census *c)
{
	if (c->debug_hdr)
		return;
	if (c->heap.nused ? mostly_debug(c, c->heap.nused, used_block) :
	    c->mi.nused ? mostly_debug(c, c->mi.nused, used_mi_block) :
	    c->malloc.walked && mostly_debug(c, c->malloc.nchunks, used_chunk))
		c->debug_hdr = DEBUG_HDR;
}

/* ---- phase D: conservative scan --------------------------------------- */

/* The bytes of o a conservative scan reads, [*from, *to) from its address:
 * its own struct (size less buffers and pre-header, at most max) from its
 * type's scan_from on -- past the header, or past a known base's fields. */
void census_scan_range(const struct tinfo *ti, uint64_t size,
		       uint64_t buffers, uint64_t max, uint64_t *from,
		       uint64_t *to)
{
	uint64_t own = size - buffers;

	*from = ti->scan_from > 16 ? (uint64_t)ti->scan_from : 16;
	*to = own > ti->preheader ? PH_MIN(own - ti->preheader, max) : 0;
}

static void conservative_pass(struct census *c)
{
	size_t i, n = c->nobjs;
	uint64_t buf[512];

	for (i = 0; i < n; i++) {
		struct cobj *o = &c->objs[i];
		uint64_t len, off, k, m, v;

		if (!(o->flags & OBJ_EDGES_CONSERVATIVE))
			continue;
		/* Only the object's own block: its C struct. */
		census_scan_range(&c->tinfos[o->tinfo], o->size, o->buffers,
				  65536, &off, &len);
		for (; off + 8 <= len; off += m * 8) {
			m = PH_MIN((len - off) / 8, (uint64_t)PH_ARRAY_SIZE(buf));
			if (m > census_refs_left(c)) {
				c->refs_over += m;
				return;
			}
			c->refs_seen += m;
			if (target_read(c->t, o->addr + off, buf, (size_t)m * 8))
				break;
			for (k = 0; k < m; k++) {
				if (buf[k] && buf[k] != o->addr &&
				    census_lookup(c, buf[k], &v)) {
					PH_GROW(c->edges, c->edges_alloc,
						c->nedges + 1);
					c->edges[c->nedges].src = (uint32_t)i;
					c->edges[c->nedges].dst = (uint32_t)v;
					c->edges[c->nedges].owned = false;
					c->edges[c->nedges].untraversed = false;
					c->edges[c->nedges].label = 0;
					c->nedges++;
				}
			}
		}
	}
}

static void add_stacks(struct snapshot *s, const struct py_stacks *st,
		       pid_t pid)
{
	size_t i, j, k;

	for (i = 0; i < st->ninterps; i++) {
		for (j = 0; j < st->interps[i].nthreads; j++) {
			const struct py_thread *th = &st->interps[i].threads[j];
			struct snap_thread *sth;

			PH_GROW(s->threads, s->threads_alloc, s->nthreads + 1);
			sth = &s->threads[s->nthreads++];
			sth->tid = th->tid;
			sth->flags = (th->tid == pid ? 1u : 0) |
				     (th->holds_gil ? 2u : 0);
			sth->first_frame = (uint32_t)s->nframes;
			sth->nframes = (uint32_t)th->nframes;
			for (k = 0; k < th->nframes; k++) {
				struct snap_frame *f;

				PH_GROW(s->frames, s->frames_alloc,
					s->nframes + 1);
				f = &s->frames[s->nframes++];
				f->function = snapshot_cstring(s,
						th->frames[k].function);
				f->file = snapshot_cstring(s, th->frames[k].file);
				f->line = th->frames[k].line;
			}
		}
	}
}

static void add_stats(struct census *c)
{
	struct snapshot *s = c->s;
	const struct pymalloc_heap *h = &c->heap;
	char name[64];
	size_t i;

	/* Which collector the analyses model (analysis/garbage.c). */
	snapshot_stat(s, "python.free_threaded", c->L->free_threaded);
	if (c->L->free_threaded) {
		static const char *const tag[MI_TAGS] = {
			"mem", "object", "gc", "gc_pre" };

		snapshot_stat(s, "mimalloc.walked", c->mi.walked);
		snapshot_stat(s, "mimalloc.thread_heaps",
			      (int64_t)c->mi.thread_heaps);
		snapshot_stat(s, "mimalloc.heaps", (int64_t)c->mi.heaps);
		snapshot_stat(s, "mimalloc.bad_heaps", (int64_t)c->mi.bad_heaps);
		snapshot_stat(s, "mimalloc.abandoned_unread",
			      c->mi.abandoned_unread);
		snapshot_stat(s, "mimalloc.abandoned_segments",
			      (int64_t)c->mi.abandoned_segments);
		snapshot_stat(s, "mimalloc.pages", (int64_t)c->mi.npages);
		snapshot_stat(s, "mimalloc.page_bytes",
			      (int64_t)c->mi.page_bytes);
		snapshot_stat(s, "mimalloc.bad_pages",
			      (int64_t)c->mi.bad_pages);
		snapshot_stat(s, "mimalloc.salvaged_pages",
			      (int64_t)c->mi.salvaged_pages);
		snapshot_stat(s, "mimalloc.allocated_blocks",
			      (int64_t)(c->mi.page_used[0] + c->mi.page_used[1] +
					c->mi.page_used[2] + c->mi.page_used[3]));
		for (i = 0; i < MI_TAGS; i++) {
			snprintf(name, sizeof(name), "mimalloc.%s.used_blocks",
				 tag[i]);
			snapshot_stat(s, name, (int64_t)c->mi.used_blocks[i]);
			snprintf(name, sizeof(name), "mimalloc.%s.used_bytes",
				 tag[i]);
			snapshot_stat(s, name, (int64_t)c->mi.used_bytes[i]);
		}
	}
	snapshot_stat(s, "pymalloc.method", h->method);
	snapshot_stat(s, "pymalloc.pool_size", h->pool_size);
	snapshot_stat(s, "pymalloc.arenas", (int64_t)h->arenas_total);
	snapshot_stat(s, "pymalloc.pools", (int64_t)h->npools);
	snapshot_stat(s, "pymalloc.empty_pools", (int64_t)h->empty_pools);
	snapshot_stat(s, "pymalloc.corrupt_pools", (int64_t)h->corrupt_pools);
	snapshot_stat(s, "pymalloc.salvaged_pools", (int64_t)h->salvaged_pools);
	snapshot_stat(s, "pymalloc.used_blocks", (int64_t)h->nused);
	{
		uint64_t used = 0;

		for (i = 0; i < h->npools; i++)
			used += (uint64_t)h->pools[i].nused *
				h->pools[i].block_size;
		snapshot_stat(s, "pymalloc.used_bytes", (int64_t)used);
	}
	if (h->raw_allocated_known)
		snapshot_stat(s, "pymalloc.raw_allocated_blocks",
			      (int64_t)h->raw_allocated_blocks);
	if (target_image_stats(c->t))
		snapshot_stat(s, "capture.threads",
			      (int64_t)target_image_stats(c->t)->copy_threads);
	snapshot_stat(s, "census.objects", (int64_t)c->nobjs);
	snapshot_stat(s, "census.gc_tracked", (int64_t)c->gc_tracked);
	snapshot_stat(s, "census.gc_permanent", (int64_t)c->permanent);
	snapshot_stat(s, "census.gc_list_breaks", (int64_t)c->gc_list_breaks);
	snapshot_stat(s, "census.gc_list_invalid", (int64_t)c->gc_list_invalid);
	/* Refcount arithmetic: objects whose count is a count, the others,
	 * those with references nothing in the heap explains (and how many
	 * references), and those with more references found than counted
	 * (each a census edge that owns none: 0 is the invariant). */
	snapshot_stat(s, "refcount.objects", (int64_t)c->rc_arith);
	snapshot_stat(s, "refcount.not_arithmetic", (int64_t)c->rc_not_arith);
	snapshot_stat(s, "refcount.unexplained_objects",
		      (int64_t)c->rc_unexplained);
	snapshot_stat(s, "refcount.unexplained_refs",
		      (int64_t)c->rc_unexplained_refs);
	snapshot_stat(s, "refcount.negative_objects", (int64_t)c->rc_negative);
	snapshot_stat(s, "refcount.negative_refs",
		      (int64_t)c->rc_negative_refs);
	snapshot_stat(s, "census.refs_dropped", (int64_t)c->refs_dropped);
	snapshot_stat(s, "census.types", (int64_t)s->ntypes);
	snapshot_stat(s, "census.debug_hooks", c->debug_hdr != 0);
	snapshot_stat(s, "census.refs_over_budget", (int64_t)c->refs_over);
	ext_stats(c);
	for (i = 0; i < SKIP__COUNT; i++) {
		snprintf(name, sizeof(name), "census.skipped.%s", skip_names[i]);
		snapshot_stat(s, name, (int64_t)c->skipped[i]);
	}
	if (c->malloc.walked) {
		const struct malloc_heap *m = &c->malloc;

		snapshot_stat(s, "malloc.arenas", (int64_t)m->narenas);
		snapshot_stat(s, "malloc.chunks", (int64_t)m->nchunks);
		snapshot_stat(s, "malloc.inuse_bytes", (int64_t)m->inuse_bytes);
		snapshot_stat(s, "malloc.inuse_chunks", (int64_t)m->inuse_chunks);
		snapshot_stat(s, "malloc.free_bytes", (int64_t)m->free_bytes);
		snapshot_stat(s, "malloc.free_chunks", (int64_t)m->free_chunks);
		snapshot_stat(s, "malloc.fastbin_bytes", (int64_t)m->fast_bytes);
		snapshot_stat(s, "malloc.fastbin_chunks", (int64_t)m->fast_chunks);
		snapshot_stat(s, "malloc.tcache_bytes", (int64_t)m->tcache_bytes);
		snapshot_stat(s, "malloc.tcache_chunks",
			      (int64_t)m->tcache_chunks);
		snapshot_stat(s, "malloc.tcaches", (int64_t)m->tcaches);
		snapshot_stat(s, "malloc.top_bytes", (int64_t)m->top_bytes);
		snapshot_stat(s, "malloc.mmapped_bytes", (int64_t)m->mmapped_bytes);
		snapshot_stat(s, "malloc.mmapped_chunks",
			      (int64_t)m->mmapped_chunks);
		snapshot_stat(s, "malloc.corrupt_regions",
			      (int64_t)m->corrupt_regions);
		snapshot_stat(s, "malloc.skipped_bytes", (int64_t)m->skipped_bytes);
		snapshot_stat(s, "malloc.bad_lists", (int64_t)m->bad_lists);
		snapshot_stat(s, "malloc.main_arena_by_symbol",
			      !strcmp(m->arena_source, "symbol"));
		if (m->mp_known) {
			snapshot_stat(s, "malloc.mp_n_mmaps", m->mp_n_mmaps);
			snapshot_stat(s, "malloc.mp_mmapped_mem",
				      (int64_t)m->mp_mmapped_mem);
		}
	}
}

int census_build(struct pyproc *p, const struct census_opts *o,
		 struct snapshot *s)
{
	struct census c;
	struct py_stacks st;
	uint64_t max_steps;
	int rc;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.t = p->t;
	c.L = &p->L;
	c.s = s;
	c.inconsistent = o->inconsistent;
	c.labels = o->labels;
	if (c.labels != LABELS_NONE)
		s->meta.labels = snapshot_cstring(s, c.labels == LABELS_ALL ?
						  "all" : "identifiers");
	rc = known_init(&c);
	if (rc)
		return rc;
	if (!c.L->free_threaded) {
		rc = pymalloc_walk(p, &c.heap);
		if (rc)
			goto out;
		find_debug_hooks(&c);
	}
	rc = py_read_stacks(p, &st);
	if (rc)
		goto out;
	if (c.L->free_threaded) {
		rc = mimalloc_walk(p, &st, &c.mi);
		if (rc)
			goto out;
		if (!c.mi.walked)
			ph_warn("%s: objects are found only through "
				"references", c.mi.note);
		/* PYTHONMALLOC=debug (mimalloc_debug), -X dev. */
		find_debug_hooks(&c);
	}
	c.block_known = xcalloc(c.heap.nused + 1, 1);
	census_index_init(&c);
	/* Room for an object per used block and three references each, as
	 * address space: pages are touched only as they fill, and growing
	 * by half again would copy the tables twice over. */
	PH_GROW(c.objs, c.objs_alloc, c.heap.nused + 4096);
	PH_GROW(c.edges, c.edges_alloc, 3 * (c.heap.nused + 4096));
	/* No list can have more members than there are 16-byte slots in
	 * the memory we read; no more references than words ("Budget"). */
	max_steps = readable_bytes(c.t) / 16 + 1;
	c.refs_budget = readable_bytes(c.t) / 4 + (1u << 20);

	seed_roots(&c, &st);
	seed_gc(&c, max_steps);
	drain(&c);
	if (c.L->free_threaded)
		seed_mimalloc(&c);
	else
		seed_blocks(&c);
	drain(&c);
	glibc_walk(p, &c.heap, &c.malloc);
	find_debug_hooks(&c);
	if (c.malloc.walked) {
		seed_chunks(&c);
		drain(&c);
	}
	conservative_pass(&c);
	census_legacy_finalizers(&c);
	census_refcounts(&c);
	s->meta.flags |= SNAP_REFCOUNTS;
	census_assemble(&c);
	if (c.malloc.walked) {
		char v[32];

		classify_chunks(&c);
		s->meta.flags |= SNAP_NATIVE;
		snprintf(v, sizeof(v), "glibc 2.%d", c.malloc.glibc_minor);
		s->meta.malloc = snapshot_cstring(s, v);
	} else if (c.malloc.kind == MALLOC_JEMALLOC) {
		s->meta.malloc = snapshot_cstring(s, "jemalloc");
	} else if (c.malloc.kind == MALLOC_TCMALLOC) {
		s->meta.malloc = snapshot_cstring(s, "tcmalloc");
	} else if (c.malloc.kind == MALLOC_MIMALLOC) {
		s->meta.malloc = snapshot_cstring(s, "mimalloc");
	}
	if (c.malloc.note[0])
		s->meta.malloc_note = snapshot_cstring(s, c.malloc.note);
	add_stacks(s, &st, c.t->pid);
	sites_build(&c);
	add_stats(&c);
	if (o->objects_done)
		o->objects_done(s);
	/* 2.7: its int and float blocks, old-style classes and the rest
	 * are not in the scan's model yet (analysis/leaks.c says so). */
	if (o->leaks && c.malloc.walked && !c.inconsistent && p->major != 2)
		census_leaks(&c, o->threads, o->nthreads, &st);
	if (c.heap.corrupt_pools || c.refs_over ||
	    (c.L->free_threaded && (!c.mi.walked || c.mi.bad_pages ||
				    c.mi.bad_heaps)))
		s->meta.flags |= SNAP_PARTIAL;
	py_stacks_release(&st);
out:
	pymalloc_release(&c.heap);
	mimalloc_release(&c.mi);
	malloc_heap_release(&c.malloc);
	free(c.type_tinfo);
	free(c.block_known);
	tinfo_release_all(&c);
	census_index_release(&c);
	u64map_release(&c.key_labels);
	frame_labels_release(&c);
	free(c.objs);
	free(c.work);
	free(c.edges);
	return rc;
}
