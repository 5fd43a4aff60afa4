/*
 * Census: is there an object at this address? (objects.h, INTERNALS §4.3;
 * a free-threaded build's header, INTERNALS-2026 §4.3).  census.c asks
 * for every pointer it follows and every block it probes; what fails says
 * why (enum skip_reason), counted in the snapshot's stats.
 */
#include <string.h>

#include "internal.h"

#define MAX_REFCNT (1ll << 40)

static bool in_arena(const struct census *c, uint64_t addr)
{
	const struct pymalloc_heap *h = &c->heap;
	size_t lo = 0, hi = h->narenas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < h->arenas[mid])
			hi = mid;
		else if (addr >= h->arenas[mid] + h->arena_size)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* An object in an allocator's block: the block is in use, starts where
 * the object's allocation does (its pre-header and any debug header
 * before it), and holds at least need bytes of it. */
static bool block_fits(const struct census *c, const struct tinfo *ti,
		       bool used, bool starts_there, uint64_t need,
		       uint64_t bsize, enum skip_reason *why)
{
	if (!used)
		*why = SKIP_FREE_BLOCK;
	else if (!starts_there)
		*why = SKIP_PREHEADER;
	else if (need + ti->preheader + c->debug_hdr > bsize)
		*why = SKIP_TOO_BIG;
	else
		return true;
	return false;
}

/* Items of a var-sized object, for the size check; -1 if implausible. */
static int64_t var_items(struct census *c, const struct tinfo *ti,
			 const uint64_t *hdr)
{
	int64_t n;

	/* 3.11+ generators and frames have a tp_itemsize but no ob_size
	 * (pycore_frame.h, genobject.h): their size comes from their code. */
	if (ti->itemsize <= 0 ||
	    ((ti->kind == K_GEN || ti->kind == K_FRAME) && c->L->minor >= 11))
		return 0;
	if (ti->kind == K_INT && py_has(c->L, PY_F_LONG_LV_TAG))
		n = (int64_t)(hdr[2] >> 3); /* 3.12+ lv_tag */
	else
		n = (int64_t)hdr[2];
	if (n < 0)
		n = -n; /* negative ints */
	return (uint64_t)n < MAX_ITEMS ? n : -1;
}

/*
 * A free-threaded build's object (Include/object.h, Py_GIL_DISABLED; the
 * struct _object of INTERNALS-2026 §4.3): ob_tid, ob_flags (3.13:
 * _padding), ob_mutex, ob_gc_bits, the owner thread's ob_ref_local and
 * the shared count ob_ref_shared (count << 2 | flags), ob_type at 24,
 * ob_size at 32.  Immortal: ob_ref_local UINT32_MAX (_Py_IsImmortal).
 * The refcount is their sum (Py_REFCNT: local + (shared >> 2)), less
 * what a deferred object was given for the references its owner does not
 * count (Objects/object.c _PyObject_SetDeferredRefcount: 3.13 adds 1;
 * 3.14+ sets ob_ref_shared to _Py_REF_SHARED(_Py_REF_DEFERRED, 0), with
 * pycore_object.h's _Py_REF_DEFERRED = PY_SSIZE_T_MAX / 8;
 * gc_free_threading.c takes it off again).  Tracked: ob_gc_bits &
 * _PyGC_BITS_TRACKED.  Its allocation must be a block in use in a walked
 * mimalloc page of an object heap, starting at its pre-header, or static
 * memory; blocks in other memory are taken as found (heap/mimalloc.c
 * walks the heaps CPython's collector walks, so every GC object is in
 * one).
 */
#define FT_GC_TRACKED 1u
#define FT_GC_DEFERRED 64u
#define FT_REF_DEFERRED_314 (INT64_MAX / 8)

static int64_t validate_ft(struct census *c, uint64_t addr, uint32_t *flags,
			   int64_t *refcnt, enum skip_reason *why)
{
	const struct py_layout *L = c->L;
	unsigned char h[40];
	uint64_t type, shared_raw, size = 0, n_raw = 0, start, bstart, bsize;
	const struct tinfo *ti;
	const struct map *m;
	uint32_t local;
	int64_t t, n, shared;
	uint8_t gc_bits, tag;
	bool used, immortal;

	if (target_read(c->t, addr, h, 32)) {
		*why = SKIP_UNREADABLE;
		return -1;
	}
	memcpy(&type, h + 24, 8);
	gc_bits = h[11];
	memcpy(&local, h + 12, 4);
	memcpy(&shared_raw, h + 16, 8);
	t = tinfo_get(c, type);
	if (t < 0) {
		*why = SKIP_NOT_A_TYPE;
		return -1;
	}
	ti = &c->tinfos[t];
	immortal = local == UINT32_MAX;
	shared = (int64_t)shared_raw >> 2;
	*refcnt = immortal ? (int64_t)local : (int64_t)local + shared;
	if (!immortal && (gc_bits & FT_GC_DEFERRED))
		*refcnt -= L->minor >= 14 ? FT_REF_DEFERRED_314 : 1;
	if (!immortal && *refcnt == 0 && !(gc_bits & FT_GC_DEFERRED)) {
		*why = SKIP_REFCNT_ZERO;
		return -1;
	}
	if (!immortal && (*refcnt < 0 || *refcnt > MAX_REFCNT)) {
		*why = SKIP_REFCNT_BAD;
		return -1;
	}
	if (ti->itemsize > 0 &&
	    target_read_u64(c->t, addr + (uint64_t)L->off[PY_F_OB_SIZE],
			    &n_raw)) {
		*why = SKIP_UNREADABLE;
		return -1;
	}
	{
		uint64_t hdr3[3] = { 0, type, n_raw };

		n = var_items(c, ti, hdr3);
	}
	if (n < 0) {
		*why = SKIP_BAD_SIZE;
		return -1;
	}
	size = ti->kind == K_STR ? (uint64_t)L->size[PY_S_ASCII] :
	       (uint64_t)ti->basicsize + (uint64_t)n * (uint64_t)ti->itemsize;
	*flags = (immortal ? OBJ_IMMORTAL : 0) |
		 ((gc_bits & FT_GC_TRACKED) ? OBJ_GC_TRACKED : 0);
	start = census_alloc_start(c, addr, ti);
	if (mimalloc_block_of(&c->mi, start, &bstart, &bsize, &used, &tag)) {
		if (!block_fits(c, ti, used, bstart == start, size, bsize, why))
			return -1;
		*flags |= OBJ_IN_PYMALLOC;
	} else {
		m = maps_find(&c->t->maps, addr);
		*flags |= m && m->path && m->path[0] == '/' ? OBJ_STATIC :
			  OBJ_OTHER_MEMORY;
	}
	return ti->kind == K_INSTANCE ? tinfo_oldclass(c, t, addr) : t;
}

/*
 * Validate the object at addr (INTERNALS §4.3).  On success returns its
 * tinfo index and fills *flags, *refcnt; else -1 with *why set.
 */
int64_t census_validate(struct census *c, uint64_t addr, uint32_t *flags,
			int64_t *refcnt, size_t *blk, enum skip_reason *why)
{
	const struct py_layout *L = c->L;
	uint64_t hdr[3] = { 0, 0, 0 }, start, bstart, need;
	const struct tinfo *ti;
	const struct map *m;
	uint32_t bsize;
	int64_t t, n;
	bool used, immortal;

	*blk = SIZE_MAX;
	if (addr & 7) {
		*why = SKIP_MISALIGNED;
		return -1;
	}
	if (L->free_threaded)
		return validate_ft(c, addr, flags, refcnt, why);
	if (target_read(c->t, addr, hdr, 16)) {
		*why = SKIP_UNREADABLE;
		return -1;
	}
	t = tinfo_get(c, hdr[1]);
	if (t < 0) {
		*why = SKIP_NOT_A_TYPE;
		return -1;
	}
	ti = &c->tinfos[t];
	/* 3.12+ immortal objects keep the low 32 bits negative as an int32
	 * (Include/object.h _Py_IsImmortal).  Above them 3.12 and 3.13 keep
	 * zero, 3.14+ ob_overflow (zero) and ob_flags (Include/object.h
	 * struct _object): bits 32-47 are zero.  A free-list object's first
	 * word is the link to the next one (pycore_freelist.h), a heap
	 * pointer with those bits set: no object, though its low half can
	 * look immortal. */
	immortal = L->minor >= 12 && (int32_t)(uint32_t)hdr[0] < 0 &&
		   !((hdr[0] >> 32) & 0xffff);
	*refcnt = (int64_t)hdr[0];
	if (!immortal && *refcnt == 0) {
		*why = SKIP_REFCNT_ZERO; /* on a free list, or being freed */
		return -1;
	}
	if (!immortal && (*refcnt < 0 || *refcnt > MAX_REFCNT)) {
		*why = SKIP_REFCNT_BAD;
		return -1;
	}
	if (ti->itemsize > 0)
		target_read_u64(c->t, addr + 16, &hdr[2]);
	n = var_items(c, ti, hdr);
	if (n < 0) {
		*why = SKIP_BAD_SIZE;
		return -1;
	}
	/* The least the allocation holds: compact ASCII str are allocated
	 * smaller than str's tp_basicsize. */
	need = ti->kind == K_STR ? (uint64_t)L->size[PY_S_ASCII] :
	       (uint64_t)ti->basicsize + (uint64_t)n * (uint64_t)ti->itemsize;
	start = census_alloc_start(c, addr, ti);
	*flags = immortal ? OBJ_IMMORTAL : 0;
	if (pymalloc_block_in(&c->heap, census_pool_of(c, start), start,
			      &bstart, &bsize, &used, blk)) {
		if (!block_fits(c, ti, used, bstart == start, need, bsize, why))
			return -1;
		*flags |= OBJ_IN_PYMALLOC;
	} else if (in_arena(c, start)) {
		*why = SKIP_FREE_BLOCK; /* in an empty pool */
		return -1;
	} else {
		m = maps_find(&c->t->maps, addr);
		*flags |= m && m->path && m->path[0] == '/' ? OBJ_STATIC :
			  OBJ_OTHER_MEMORY;
	}
	return ti->kind == K_INSTANCE ? tinfo_oldclass(c, t, addr) : t;
}
