/*
 * Census phases B, C and E (census.c), and who owns each malloc chunk:
 * the memory an object owns beyond its struct (list items, dict tables,
 * buffers), pymalloc blocks not yet explained (candidates, accepted unless
 * a known object owns the block), malloc chunks that hold objects, and
 * the classification of every chunk by owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- phases B and C: pymalloc blocks ---------------------------------- */

struct cand {
	uint64_t addr;
	int64_t tinfo, refcnt;
	uint32_t flags;
	size_t blk; /* index in heap.used[], or SIZE_MAX */
};

#define DEQUE_RIGHTLINK (8 + DEQUE_BLOCKLEN * 8)

/* Call fn(ctx, p) for a pointer into each separately allocated buffer an
 * object owns: list items, dict keys and values, a set's table, a
 * bytearray's bytes, a str's UTF-8, wchar_t or data copy, a class's
 * cached keys, an instance's split values, a deque's blocks, an io
 * object's buffer, an array.array's items, a _struct.Struct's codes, a
 * numpy array's dimensions and the data it owns. */
static void for_each_buffer(struct census *c, uint64_t addr,
			    const struct tinfo *ti,
			    void (*fn)(void *ctx, uint64_t p), void *ctx)
{
	const struct py_layout *L = c->L;
	uint64_t v, state, ptrs[4] = { 0 };
	struct py_str_bits sb;
	size_t n = 0, i;

	switch (ti->kind) {
	case K_LIST:
		py_read_field(c->t, L, addr, PY_F_LIST_ITEM, &ptrs[n++]);
		break;
	case K_DICT:
	case K_ODICT:
		/* 2.7: its table, unless it is the small one inside. */
		if (c->p->major == 2) {
			if (!py_read_field(c->t, L, addr, PY_F_MA_TABLE, &v) &&
			    v != addr + (uint64_t)L->off[PY_F_MA_SMALLTABLE])
				ptrs[n++] = v;
			break;
		}
		py_read_field(c->t, L, addr, PY_F_MA_KEYS, &ptrs[n++]);
		py_read_field(c->t, L, addr, PY_F_MA_VALUES, &ptrs[n++]);
		break;
	case K_SET:
		if (!py_read_field(c->t, L, addr, PY_F_SET_TABLE, &v) &&
		    v != addr + (uint64_t)L->off[PY_F_SET_SMALLTABLE])
			ptrs[n++] = v;
		break;
	case K_BYTEARRAY:
		py_read_field(c->t, L, addr, PY_F_BA_BYTES, &ptrs[n++]);
		break;
	case K_UNICODE27:
		py_read_field(c->t, L, addr, PY_F_U27_STR, &ptrs[n++]);
		break;
	case K_STR:
		if (py_read_field(c->t, L, addr, PY_F_STR_STATE, &state))
			break;
		sb = py_str_bits(L, state);
		if (!sb.ascii || !sb.compact)
			py_read_field(c->t, L, addr, PY_F_CSTR_UTF8, &ptrs[n++]);
		if (!sb.compact)
			py_read_field(c->t, L, addr, PY_F_USTR_DATA, &ptrs[n++]);
		if (py_has(L, PY_F_STR_WSTR))
			py_read_field(c->t, L, addr, PY_F_STR_WSTR, &ptrs[n++]);
		break;
	case K_TYPE:
		/* Only a heap type has ht_cached_keys (Include/cpython/
		 * object.h PyHeapTypeObject): past a static PyTypeObject is
		 * whatever global follows it -- on Debian 13's python3.13 one
		 * that pointed at a chunk the target had just leaked, which
		 * was then taken for the type's buffer. */
		if (!py_read_field(c->t, L, addr, PY_F_TP_FLAGS, &v) &&
		    (v & TPF_HEAPTYPE))
			py_read_field(c->t, L, addr, PY_F_HT_CACHED_KEYS,
				      &ptrs[n++]);
		break;
	case K_BUFFERED:
		py_read_field(c->t, L, addr, PY_F_BUF_BUFFER, &ptrs[n++]);
		break;
	case K_ARRAY:
	case K_STRUCT:
	case K_NDARRAY:
		ext_for_each_buffer(c, addr, ti, fn, ctx);
		break;
	case K_DEQUE: {
		uint64_t b, last, len, nb;

		if (py_read_field(c->t, L, addr, PY_F_DQ_LEFTBLOCK, &b) ||
		    py_read_field(c->t, L, addr, PY_F_DQ_RIGHTBLOCK, &last) ||
		    py_read_field(c->t, L, addr, PY_F_OB_SIZE, &len) ||
		    len >= (1ull << 40))
			break;
		/* A deque of len items spans at most len / 64 + 2 blocks. */
		for (nb = 0; b && nb < len / DEQUE_BLOCKLEN + 2; nb++) {
			fn(ctx, b);
			if (b == last || target_read_u64(c->t, b + DEQUE_RIGHTLINK,
							 &b))
				break;
		}
		break;
	}
	default:
		break;
	}
	for (i = 0; i < n; i++)
		if (ptrs[i] && ptrs[i] != addr)
			fn(ctx, ptrs[i]);
	/* Instances keep split values (3.11/3.12) in a block of their own:
	 * 3.11 at obj-32, 3.12 tagged (bit 0) at obj-24. */
	if (ti->heap && L->minor >= 11 && L->minor <= 12 &&
	    (ti->flags & TPF_MANAGED_DICT) &&
	    !target_read_u64(c->t, addr - (L->minor == 11 ? 32 : 24), &v) && v &&
	    (L->minor == 11 || (v & 1)))
		fn(ctx, L->minor == 12 ? v + 1 : v);
}

void census_for_each_buffer(struct census *c, uint64_t addr,
			    const struct tinfo *ti,
			    void (*fn)(void *ctx, uint64_t p), void *ctx)
{
	for_each_buffer(c, addr, ti, fn, ctx);
}

struct buffer_mark {
	struct census *c;
	struct u64map *buffers;
};

static void mark_block(void *ctx, uint64_t p)
{
	struct buffer_mark *bm = ctx;
	uint64_t bstart;
	uint32_t bsize;
	bool used;

	if (pymalloc_block_of(&bm->c->heap, p, &bstart, &bsize, &used,
			      NULL) && used)
		u64map_put(bm->buffers, bstart, 1);
}

/* The pymalloc blocks an object owns (its separate buffers). */
static void owned_blocks(struct census *c, uint64_t addr, const struct tinfo *ti,
			 struct u64map *buffers)
{
	struct buffer_mark bm = { c, buffers };

	for_each_buffer(c, addr, ti, mark_block, &bm);
}

/*
 * A block a dead object left behind keeps its type pointer until the new
 * owner writes that far: a 36-byte text in a 3.12 block that held an
 * instance (its pre-header 32 bytes) overwrites the refcount and leaves
 * ob_type -- a "live" instance nothing refers to, seen on every run of
 * live_garbage on 3.12.  The GC head just before a GC object
 * (Include/internal/pycore_gc.h PyGC_Head; <= 3.7 Include/objimpl.h)
 * must say what a live object's says: untracked in its own terms, or
 * linked into a list whose next head points back at it.  Text, or an
 * array of pointers, over an old instance does not.  Rejections count in
 * census.skipped.bad_gc_head.
 */
static bool gc_head_plausible(struct census *c, uint64_t o,
			      const struct tinfo *ti)
{
	uint64_t gc = (uint64_t)c->L->size[PY_S_GCHEAD], next, prev;

	if (!(ti->flags & TPF_HAVE_GC) || !gc || o < gc)
		return true;
	if (target_read_u64(c->t, o - gc, &next))
		return false;
	if (c->L->major < 3 || c->L->minor < 8) {
		uint64_t refs;

		/* <= 3.7: gc_refs, the third word (Include/objimpl.h
		 * PyGC_Head), is _PyGC_REFS_UNTRACKED (-2; 3.7 shifts it
		 * left by one over a finalized bit) from _PyObject_GC_Alloc
		 * and _PyObject_GC_UNTRACK on, and gc_next is then stale or
		 * NULL: untracked is told by gc_refs alone.  Tracked objects
		 * are linked, as below. */
		if (target_read_u64(c->t, o - gc + 16, &refs))
			return false;
		if (c->L->minor == 7 ? (int64_t)refs >> 1 == -2 :
		    (int64_t)refs == -2)
			return true;
		if (!next)
			return false;
	}
	if ((next & ~7ull) >= (1ull << 47))
		return false;
	if (next) {
		/* Tracked: the next head's _gc_prev points back here (the
		 * list is doubly linked; <= 3.7 gc_prev is the plain
		 * pointer, 3.8+ keeps two flag bits under it,
		 * _PyGC_PREV_MASK).  An array of pointers in a block that
		 * once held an instance passes the test above, not this
		 * one (3.14, live_garbage: a class kept alive by a list
		 * buffer read as its instance). */
		uint64_t back;

		if (target_read_u64(c->t, (next & ~7ull) + 8, &back))
			return false;
		return (back & ~3ull) == o - gc;
	}
	/* Untracked, 3.8+: _PyObject_GC_Link() and gc_alloc() zero both
	 * words and _PyObject_GC_UNTRACK() keeps only
	 * _PyGC_PREV_MASK_FINALIZED (bit 0) of _gc_prev
	 * (Include/internal/pycore_object.h, pycore_gc.h), so _gc_prev
	 * holds flag bits and no pointer: a block whose new owner wrote
	 * zeros over _gc_next and left other bytes in _gc_prev is no
	 * object. */
	if (target_read_u64(c->t, o - gc + 8, &prev))
		return false;
	return (prev & ~3ull) == 0;
}

/*
 * A tuple is tracked from PyTuple_New on, and untracked only by the
 * collector's _PyTuple_MaybeUntrack (Objects/tupleobject.c), when no item
 * may be tracked: every item then is an atom, or a tuple or dict that was
 * untracked at that moment (those can be tracked later; nothing else can).
 * So an untracked tuple one of whose items is a tracked object of another
 * type is the remains of a dead tuple over a live object's pointer -- on
 * 3.7, live_garbage met one holding a ModuleSpec that the module's dict
 * alone counts, one reference over.  Phase B runs after the GC lists are
 * walked, so "tracked" is known here.  Only the first 16 items are read.
 */
static bool tuple_plausible(struct census *c, uint64_t o,
			    const struct tinfo *ti)
{
	uint64_t items[16], n, v;
	size_t k;

	/* Only where the lists were walked whole: then a tracked tuple was
	 * found by them, and a candidate is untracked.  A tuple type without
	 * GC support (a <= 3.7 structseq) is never tracked. */
	if (ti->kind != K_TUPLE || !(ti->flags & TPF_HAVE_GC) ||
	    !c->gc_tracked || c->gc_list_breaks || c->gc_list_invalid)
		return true;
	n = PH_MIN(tuple_len(c, o), (uint64_t)PH_ARRAY_SIZE(items));
	if (!n || target_read(c->t, o + (uint64_t)c->L->off[PY_F_TUPLE_ITEM],
			      items, (size_t)n * 8))
		return true;
	for (k = 0; k < n; k++) {
		const struct cobj *it;

		if (!census_lookup(c, items[k], &v))
			continue;
		it = &c->objs[v];
		if ((it->flags & OBJ_GC_TRACKED) &&
		    c->tinfos[it->tinfo].kind != K_TUPLE &&
		    c->tinfos[it->tinfo].kind != K_DICT)
			return false;
	}
	return true;
}

/* The object an allocation at b (of size bytes) holds, if any: tried with
 * each pre-header a type can imply (GC head, managed dict).  True and *cd
 * filled for a valid object not yet known; *known set if it is known.
 * used_at: b's index in heap.used[], or SIZE_MAX (a malloc chunk). */
static bool probe_block(struct census *c, uint64_t b, uint64_t size,
			size_t used_at, struct cand *cd, bool *known)
{
	static const uint32_t pre[] = { 0, 16, 32 };
	size_t j;

	*known = false;
	if (used_at < c->heap.nused && c->block_known &&
	    c->block_known[used_at]) {
		*known = true;
		return false;
	}
	for (j = 0; j < PH_ARRAY_SIZE(pre); j++) {
		uint64_t o = b + c->debug_hdr + pre[j], type;
		enum skip_reason why;
		int64_t t;

		if (c->debug_hdr + pre[j] + 16 > size)
			break;
		/* The type first: most blocks that hold no object at this
		 * offset fail here, on the small, cached type index, and
		 * only a real candidate costs a look in the object index (a
		 * cache miss each).  A known object's type always passes:
		 * it was validated with this pre-header. */
		if (target_read_u64(c->t, o + 8, &type))
			break;
		t = tinfo_get(c, type);
		if (t < 0 || c->tinfos[t].preheader != pre[j])
			continue;
		if (census_lookup(c, o, NULL)) {
			*known = true;
			return false;
		}
		cd->tinfo = census_validate(c, o, &cd->flags, &cd->refcnt, &cd->blk,
				     &why);
		if (cd->tinfo < 0) {
			c->skipped[why]++;
			continue;
		}
		if (!gc_head_plausible(c, o, &c->tinfos[cd->tinfo])) {
			c->skipped[SKIP_GC_HEAD]++;
			continue;
		}
		if (!tuple_plausible(c, o, &c->tinfos[cd->tinfo])) {
			c->skipped[SKIP_STALE_TUPLE]++;
			continue;
		}
		cd->addr = o;
		return true;
	}
	return false;
}

/* Add the candidates whose allocation is not a buffer of a known object or
 * of another candidate.  Returns how many were rejected as buffers. */
static uint64_t accept_candidates(struct census *c, struct cand *cands,
				  size_t ncands,
				  void (*mark)(struct census *, uint64_t,
					       const struct tinfo *,
					       struct u64map *),
				  struct u64map *buffers)
{
	uint64_t nbuf = 0;
	size_t i;

	for (i = 0; i < c->nobjs; i++)
		mark(c, c->objs[i].addr, &c->tinfos[c->objs[i].tinfo], buffers);
	for (i = 0; i < ncands; i++)
		mark(c, cands[i].addr, &c->tinfos[cands[i].tinfo], buffers);
	for (i = 0; i < ncands; i++) {
		const struct tinfo *ti = &c->tinfos[cands[i].tinfo];

		if (u64map_get(buffers, census_alloc_start(c, cands[i].addr, ti),
			       NULL)) {
			nbuf++;
			continue;
		}
		if (!census_lookup(c, cands[i].addr, NULL))
			census_add_object(c, cands[i].addr, cands[i].tinfo,
				   cands[i].flags, cands[i].refcnt, cands[i].blk);
	}
	return nbuf;
}

/*
 * Phase B of a free-threaded build: the blocks in use in its object heaps
 * (heap/mimalloc.c), an object each -- at the block for heap 1 (non-GC
 * objects) and 2 (GC objects), after two pre-header words for heap 3
 * (pycore_mimalloc.h _Py_MIMALLOC_HEAP_GC_PRE; gc_free_threading.c visits
 * them so).  Those heaps hold objects only (buffers come from heap 0), so
 * there is no phase C: a block whose object does not validate is counted
 * (a thread stopped while making or freeing it; a free-list object).
 */
void seed_mimalloc(struct census *c)
{
	const struct mimalloc_heap *h = &c->mi;
	uint64_t empty = 0;
	size_t i, k;

	for (i = 0; i < h->npages; i++) {
		const struct mi_page_rec *r = &h->pages[i];
		uint64_t pre = r->tag == 3 ? 16 : 0;

		if (r->tag == 0)
			continue;
		for (k = 0; k < r->nused; k++)
			if (census_ref(c, h->used[r->first_used + k] +
				       c->debug_hdr + pre) < 0)
				empty++;
	}
	snapshot_stat(c->s, "mimalloc.blocks_without_object", (int64_t)empty);
}

void seed_blocks(struct census *c)
{
	struct pymalloc_heap *h = &c->heap;
	struct u64map buffers = U64MAP_INIT;
	struct cand *cands = NULL;
	size_t ncands = 0, cands_alloc = 0, p;
	uint64_t empty = 0, nbuf;

	/* B: a candidate object for each block nobody explained yet. */
	for (p = 0; p < h->npools; p++) {
		const struct pymalloc_pool *pl = &h->pools[p];
		uint64_t k;

		for (k = 0; k < pl->nused; k++) {
			struct cand cd;
			bool known;

			if (probe_block(c, h->used[pl->first_block + k],
					pl->block_size, pl->first_block + k,
					&cd, &known)) {
				PH_GROW(cands, cands_alloc, ncands + 1);
				cands[ncands++] = cd;
			} else if (!known) {
				empty++;
			}
		}
	}
	/* C: blocks owned as buffers are not objects. */
	nbuf = accept_candidates(c, cands, ncands, owned_blocks, &buffers);
	snapshot_stat(c->s, "pymalloc.blocks_without_object", (int64_t)empty);
	snapshot_stat(c->s, "pymalloc.buffer_blocks", (int64_t)buffers.n);
	snapshot_stat(c->s, "census.rejected_in_buffers", (int64_t)nbuf);
	free(cands);
	u64map_release(&buffers);
}

/* ---- phase E: malloc chunks -------------------------------------------- */

static void mark_chunk(void *ctx, uint64_t p)
{
	struct buffer_mark *bm = ctx;
	const struct malloc_chunk_rec *ch = malloc_chunk_of(&bm->c->malloc, p);

	if (ch && chunk_in_use(ch))
		u64map_put(bm->buffers, ch->addr + 16, 1);
}

/* The malloc chunks an object owns as buffers (by user address). */
static void owned_chunks(struct census *c, uint64_t addr, const struct tinfo *ti,
			 struct u64map *buffers)
{
	struct buffer_mark bm = { c, buffers };

	for_each_buffer(c, addr, ti, mark_chunk, &bm);
}

/* Objects that live in malloc memory and were not reached (a large str
 * nothing refers to any more; every object under PYTHONMALLOC=malloc). */
void seed_chunks(struct census *c)
{
	const struct malloc_heap *m = &c->malloc;
	struct u64map buffers = U64MAP_INIT;
	struct cand *cands = NULL;
	size_t ncands = 0, cands_alloc = 0, i;
	uint64_t nbuf;

	for (i = 0; i < m->nchunks; i++) {
		const struct malloc_chunk_rec *ch = &m->chunks[i];
		struct cand cd;
		bool known;

		if (chunk_in_use(ch) &&
		    probe_block(c, ch->addr + 16, ch->size - 16, SIZE_MAX, &cd,
				&known)) {
			PH_GROW(cands, cands_alloc, ncands + 1);
			cands[ncands++] = cd;
		}
	}
	nbuf = accept_candidates(c, cands, ncands, owned_chunks, &buffers);
	snapshot_stat(c->s, "census.found_in_malloc",
		      (int64_t)(ncands - nbuf));
	free(cands);
	u64map_release(&buffers);
}

/* ---- who owns each malloc chunk ------------------------------------- */

struct own_buffer {
	struct census *c;
	uint32_t *owner;
	uint8_t *kind;
	uint32_t id;
};

static void own_buffer(void *ctx, uint64_t p)
{
	struct own_buffer *ob = ctx;
	const struct malloc_heap *m = &ob->c->malloc;
	const struct malloc_chunk_rec *ch = malloc_chunk_of(m, p);

	if (ch && chunk_in_use(ch) && !ob->kind[ch - m->chunks]) {
		ob->kind[ch - m->chunks] = OWNER_BUFFER;
		ob->owner[ch - m->chunks] = ob->id;
	}
}

/*
 * Whose memory each in-use malloc chunk is (snapshot.h enum chunk_owner),
 * most certain first: a Python object lives in it; it is a buffer an
 * object owns; the allocators' own; native memory an object points into
 * (a word of an extension instance's or capsule's struct falls inside
 * it); else native and unowned.
 */
void classify_chunks(struct census *c)
{
	const struct malloc_heap *m = &c->malloc;
	struct snapshot *s = c->s;
	uint32_t *owner = xmalloc((m->nchunks + 1) * sizeof(*owner));
	uint8_t *kind = xcalloc(m->nchunks + 1, 1);
	size_t i;

#define CHUNK_INDEX(ch) ((size_t)((ch) - m->chunks))
	for (i = 0; i < m->nchunks; i++)
		owner[i] = UINT32_MAX;
	for (i = 0; i < c->nobjs; i++) {
		const struct snap_object *o = &s->objects[i];
		uint64_t start = census_alloc_start(c, o->addr,
						    census_obj_tinfo(c, i));
		const struct malloc_chunk_rec *ch;

		if (o->flags & (OBJ_IN_PYMALLOC | OBJ_STATIC))
			continue;
		ch = malloc_chunk_of(m, start);
		if (ch && chunk_in_use(ch) && ch->addr + 16 == start) {
			kind[CHUNK_INDEX(ch)] = OWNER_OBJECT;
			owner[CHUNK_INDEX(ch)] = (uint32_t)i;
		} else if (ch && chunk_in_use(ch) && c->p->major == 2 &&
			   !kind[CHUNK_INDEX(ch)]) {
			/* 2.7's int and float objects live in blocks of
			 * their own (intobject.c PyIntBlock, floatobject.c
			 * PyFloatBlock: a link, then objects), malloc'd and
			 * never freed: Python's memory, the chunk's first
			 * object its owner. */
			kind[CHUNK_INDEX(ch)] = OWNER_OBJECT;
			owner[CHUNK_INDEX(ch)] = (uint32_t)i;
		}
	}
	for (i = 0; i < c->nobjs; i++) {
		struct own_buffer ob = { c, owner, kind, (uint32_t)i };

		for_each_buffer(c, s->objects[i].addr, census_obj_tinfo(c, i),
				own_buffer, &ob);
	}
	for (i = 0; i <= m->ntcache_structs; i++) {
		uint64_t a = i < m->ntcache_structs ? m->tcache_structs[i] :
			     c->heap.arenas_array;
		const struct malloc_chunk_rec *ch = a ? malloc_chunk_of(m, a) :
						    NULL;

		if (ch && chunk_in_use(ch) && !kind[CHUNK_INDEX(ch)])
			kind[CHUNK_INDEX(ch)] = OWNER_ALLOCATOR;
	}
	for (i = 0; i < c->nobjs; i++) {
		const struct snap_object *o = &s->objects[i];
		uint64_t buf[512], from, to, off, w;

		/* Extension instances (no precise layout) and capsules are
		 * scanned conservatively: their C struct points at native
		 * memory. */
		if (!(o->flags & OBJ_EDGES_CONSERVATIVE))
			continue;
		census_scan_range(census_obj_tinfo(c, i), o->size, o->buffers,
				  sizeof(buf), &from, &to);
		to &= ~7ull;
		if (from >= to || target_read(c->t, o->addr + from, buf,
					      (size_t)(to - from)))
			continue;
		for (off = 0; off < (to - from) / 8; off++) {
			const struct malloc_chunk_rec *ch;

			w = buf[off];
			ch = w ? malloc_chunk_of(m, w) : NULL;
			if (ch && chunk_in_use(ch) && !kind[CHUNK_INDEX(ch)]) {
				kind[CHUNK_INDEX(ch)] = OWNER_NATIVE;
				owner[CHUNK_INDEX(ch)] = (uint32_t)i;
			}
		}
	}
	s->chunks = xcalloc(m->nchunks + 1, sizeof(*s->chunks));
	s->chunks_alloc = m->nchunks + 1;
	s->nchunks = m->nchunks;
	for (i = 0; i < m->nchunks; i++) {
		const struct malloc_chunk_rec *ch = &m->chunks[i];
		struct snap_chunk *sc = &s->chunks[i];

		sc->addr = ch->addr;
		sc->size = ch->size;
		sc->state = ch->state;
		sc->arena = ch->arena == 0xffff ? UINT32_MAX : ch->arena;
		sc->owner = UINT32_MAX;
		if (!chunk_in_use(ch)) {
			sc->owner_kind = OWNER_NONE;
		} else if (kind[i]) {
			sc->owner_kind = kind[i];
			if (kind[i] != OWNER_ALLOCATOR)
				sc->owner = owner[i];
		} else {
			sc->owner_kind = OWNER_UNOWNED;
		}
	}
#undef CHUNK_INDEX
	s->arenas = xcalloc(m->narenas + 1, sizeof(*s->arenas));
	s->arenas_alloc = m->narenas + 1;
	s->narenas = m->narenas;
	for (i = 0; i < m->narenas; i++) {
		const struct malloc_arena_rec *a = &m->arenas[i];
		const struct malloc_chunk_rec *top = a->top ?
			malloc_chunk_of(m, a->top) : NULL;

		s->arenas[i].addr = a->addr;
		s->arenas[i].system_mem = a->system_mem;
		s->arenas[i].top_bytes = top && top->state == CHUNK_TOP ?
					  top->size : 0;
		s->arenas[i].flags = a->main ? 1 : 0;
	}
	free(owner);
	free(kind);
}
