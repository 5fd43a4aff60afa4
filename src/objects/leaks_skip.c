/*
 * What the native-leak scan (leaks.c) does not read as roots, though the
 * region scan covers it: memory an allocator owns, and memory that holds
 * data -- characters, digits, bytecode, the frames of a data stack --
 * whose words only look like addresses.  Each range left out is a place
 * where a stale or data word was seen holding a chunk nothing holds.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct skip {
	struct census *c;
	struct lk_skip_stats *stats;
	uint64_t buf[512];
};

static int range_cmp(const void *a, const void *b)
{
	const struct lk_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Kinds whose size goes past their struct into data (or, for a module,
 * into its state, which module_sizeof counts but PyMem_Malloc holds
 * apart). */
bool leaks_data_tail(enum obj_kind kind)
{
	return kind == K_INT || kind == K_STR || kind == K_BYTES ||
	       kind == K_FLOAT || kind == K_CODE || kind == K_MODULE;
}


bool leaks_anonymous_map(const struct map *m)
{
	return !m->inode || (m->path && !strcmp(m->path, "/dev/zero"));
}


/*
 * 3.11+ frames live in each thread's data stack, chunks CPython maps
 * apart (Python/pystate.c push_chunk, _PyObject_VirtualAlloc); struct
 * _PyStackChunk (Include/internal/pycore_frame.h) is {previous, size,
 * top, data[]}.  A frame holds object references only -- every live
 * object is a root anyway -- and the part above `top` holds the frames
 * that returned, with words that point at anything they once did: the
 * chunks are left out of the region scan.  At most 64 chunks a thread,
 * each at most 256 MiB.
 */
static void datastack_ranges(struct skip *k, const struct py_stacks *st,
			     struct lk_range **v, size_t *alloc, size_t *n)
{
	struct census *c = k->c;
	size_t i, j, steps;

	if (!st || c->L->width[PY_F_TS_DATASTACK_CHUNK] != 8)
		return;
	for (i = 0; i < st->ninterps; i++)
		for (j = 0; j < st->interps[i].nthreads; j++) {
			uint64_t chunk = rd(c, st->interps[i].threads[j].tstate,
					    PY_F_TS_DATASTACK_CHUNK);

			for (steps = 0; chunk && steps < 64; steps++) {
				uint64_t hdr[2];

				if (chunk & 7 || target_read(c->t, chunk, hdr,
							     sizeof(hdr)) ||
				    hdr[1] < 24 || hdr[1] > (256u << 20))
					break;
				PH_GROW(*v, *alloc, *n + 1);
				(*v)[*n].start = chunk;
				(*v)[(*n)++].end = chunk + hdr[1];
				k->stats->datastack_chunks++;
				chunk = hdr[0];
			}
		}
}

/*
 * The data of the objects that live in an ELF object's writable data:
 * 3.11+ deep-frozen code objects carry their bytecode inline
 * (PyCodeObject.co_code_adaptive, Include/cpython/code.h), and static
 * str, bytes and int objects (3.12+ _PyRuntime's global strings and
 * small ints, Include/internal/pycore_global_objects.h) their
 * characters and digits.  The region scan reads the writable data
 * whole, and bytecode such as LOAD_FAST 1, CACHE reads as an address
 * below 4 GiB, where a non-PIE python3.11's heap is: seen holding a
 * lost XPath hash table by an interior pointer.  Their fixed structs
 * are still scanned.
 */
static void add_tail(struct skip *k, struct lk_range **v, size_t *alloc,
		     size_t *n, uint64_t addr, uint64_t size, uint64_t buffers,
		     const struct tinfo *ti)
{
	if (!leaks_data_tail(ti->kind) || ti->basicsize <= 0 || size < buffers ||
	    size - buffers <= (uint64_t)ti->basicsize ||
	    addr + (size - buffers) < addr)
		return;
	PH_GROW(*v, *alloc, *n + 1);
	(*v)[*n].start = addr + (uint64_t)ti->basicsize;
	(*v)[(*n)++].end = addr + (size - buffers);
	k->stats->static_tails++;
}

/* The refcount deepfreeze gives its objects (Tools/build/deepfreeze.py
 * writes _PyObject_IMMORTAL_INIT / _PyObject_HEAD_INIT): 999999999 in
 * 3.11 (Include/internal/pycore_object.h), where Py_INCREF still moves
 * it; _Py_IMMORTAL_REFCNT = UINT_MAX in 3.12 and 3.13
 * (Include/object.h), which Py_INCREF leaves alone.  3.14 has no
 * deepfreeze. */
static bool deepfrozen_refcnt(const struct census *c, uint64_t w)
{
	if (c->L->minor == 11)
		return w >= 999999999u - (1u << 20) &&
		       w <= 999999999u + (1u << 20);
	return (c->L->minor == 12 || c->L->minor == 13) && w == 0xffffffffu;
}

/*
 * Deep-frozen objects the census did not meet: the code objects (and
 * their bytes and str constants) of frozen modules the target never
 * imported sit in the interpreter's .data all the same.  Found by their
 * header -- the deepfreeze refcount, then the address of a type the
 * census knows as code, bytes, str or int -- and sized as the census
 * sizes that kind.  Only ever leaves data out of the roots; a false
 * match costs at most the words of one object's tail.
 */
static void deepfrozen_tails(struct skip *k, const struct map *m,
			     struct lk_range **v, size_t *alloc, size_t *n)
{
	struct census *c = k->c;
	uint64_t pos, prev = 0, w, ti_i;
	size_t i;

	for (pos = m->start; pos < m->end; pos += sizeof(k->buf)) {
		size_t nw = (size_t)PH_MIN((uint64_t)sizeof(k->buf),
					   m->end - pos) / 8;

		if (target_read(c->t, pos, k->buf, nw * 8)) {
			prev = 0;
			continue;
		}
		for (i = 0; i < nw; i++) {
			struct cobj o;
			const struct tinfo *ti;

			w = k->buf[i];
			if (!deepfrozen_refcnt(c, prev) ||
			    !u64map_get(&c->type_index, w, &ti_i) ||
			    ti_i >= c->ntinfos) {
				prev = w;
				continue;
			}
			prev = w;
			ti = &c->tinfos[ti_i];
			if (!leaks_data_tail(ti->kind) || ti->kind == K_MODULE)
				continue;
			memset(&o, 0, sizeof(o));
			o.addr = pos + i * 8 - 8;
			kind_sizeof(c, &o, ti);
			if (o.addr + o.size <= m->end)
				add_tail(k, v, alloc, n, o.addr, o.size,
					 o.buffers, ti);
		}
	}
}

static void static_tails(struct skip *k, struct lk_range **v, size_t *alloc,
			 size_t *n)
{
	const struct maps *maps = &k->c->t->maps;
	struct census *c = k->c;
	size_t i;

	if (c->L->minor >= 11 && c->L->minor <= 13)
		for (i = 0; i < maps->n; i++) {
			const struct map *m = &maps->v[i];

			if (m->copied && (m->perms & MAP_W) &&
			    !leaks_anonymous_map(m))
				deepfrozen_tails(k, m, v, alloc, n);
		}

	for (i = 0; i < c->nobjs; i++) {
		const struct snap_object *o = &c->s->objects[i];

		if (o->flags & OBJ_STATIC)
			add_tail(k, v, alloc, n, o->addr, o->size, o->buffers,
				 census_obj_tinfo(c, i));
	}
}

/* What the region scan leaves out: malloc's chunks (the runs of adjacent
 * chunks, segs), pymalloc's arenas (or pools, when the arenas were not
 * listed), the Python data stacks and the data of objects in ELF data,
 * sorted by start (they may overlap). */
struct lk_range *leaks_exclusions(struct census *c, const struct py_stacks *st,
				  const struct lk_range *segs, size_t nsegs,
				  size_t *n, struct lk_skip_stats *stats)
{
	const struct pymalloc_heap *h = &c->heap;
	struct skip *k = xcalloc(1, sizeof(*k));
	struct lk_range *v = NULL;
	size_t alloc = 0, i;

	k->c = c;
	k->stats = stats;
	*n = 0;
	datastack_ranges(k, st, &v, &alloc, n);
	static_tails(k, &v, &alloc, n);
	free(k);
	for (i = 0; i < nsegs; i++) {
		PH_GROW(v, alloc, *n + 1);
		v[(*n)++] = segs[i];
	}
	if (h->narenas) {
		for (i = 0; i < h->narenas; i++) {
			PH_GROW(v, alloc, *n + 1);
			v[*n].start = h->arenas[i];
			v[(*n)++].end = h->arenas[i] + h->arena_size;
		}
	} else {
		for (i = 0; i < h->npools; i++) {
			PH_GROW(v, alloc, *n + 1);
			v[*n].start = h->pools[i].addr;
			v[(*n)++].end = h->pools[i].addr + h->pool_size;
		}
	}
	if (*n)
		qsort(v, *n, sizeof(*v), range_cmp);
	return v;
}
