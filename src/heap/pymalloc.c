#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "heap.h"

#define POOL_OVERHEAD PYMALLOC_POOL_OVERHEAD
/* 2^24 arenas of 256 KiB are 4 TiB: more is garbage, not a heap. */
#define MAX_ARENAS (1u << 24)
/* NB_SMALL_SIZE_CLASSES is 64 (3.7.0-3.7.3, 8-byte alignment) or 32. */
#define MAX_SZIDX 64
#define MAX_POOL_SIZE 16384

/* Read a pool header field (width-checked) from a copy of the header. */
static uint64_t hdr(const struct py_layout *L, const unsigned char *h,
		    enum py_field f)
{
	uint64_t v = 0;
	int64_t off = L->off[f];
	unsigned w = L->width[f];

	if (off >= 0 && (w == 4 || w == 8) && off + w <= POOL_OVERHEAD)
		memcpy(&v, h + off, w);
	return v;
}

/*
 * The rules of a pool header (INTERNALS §3.4, §3.6): a pool of size class
 * szidx holds blocks of bs = POOL_SIZE - maxnextoffset bytes, a multiple of
 * the alignment (8 or 16) equal to (szidx + 1) * alignment; blocks are
 * carved up to nextoffset; free blocks form a list through their first
 * word; ref.count is the number of carved blocks not on that list.
 */
int pymalloc_check_pool(struct target *t, uint64_t a, uint32_t pool_size,
			const struct py_layout *L, bool salvage,
			uint32_t *block_size, uint32_t *nblocks, uint64_t *used,
			bool *salvaged)
{
	/* Static scratch: pyheap is single-threaded, and a walk checks tens of
	 * thousands of pools. */
	static unsigned char pool[MAX_POOL_SIZE];
	static uint8_t isfree[MAX_POOL_SIZE / 8];
	uint64_t count, freeblock, szidx, nextoff, maxnext, bs, align, b;
	uint32_t carved, i, nfree = 0, n = 0;
	bool bad = false, list_bad = false;

	if (pool_size > MAX_POOL_SIZE || target_read(t, a, pool, pool_size))
		return -1;
	count = hdr(L, pool, PY_F_PH_REF) & 0xffffffffu; /* union: uint count */
	freeblock = hdr(L, pool, PY_F_PH_FREEBLOCK);
	szidx = hdr(L, pool, PY_F_PH_SZIDX);
	nextoff = hdr(L, pool, PY_F_PH_NEXTOFFSET);
	maxnext = hdr(L, pool, PY_F_PH_MAXNEXTOFFSET);

	if (szidx >= MAX_SZIDX || maxnext >= pool_size)
		return -1;
	bs = pool_size - maxnext;
	align = bs / (szidx + 1);
	if (bs % (szidx + 1) || (align != 8 && align != 16) || bs > 512)
		return -1;
	/* Carving stops once nextoffset passes maxnextoffset, so it never
	 * exceeds maxnextoffset + bs == POOL_SIZE (obmalloc.c
	 * pymalloc_pool_extend). */
	if (nextoff < POOL_OVERHEAD + bs || nextoff > pool_size ||
	    (nextoff - POOL_OVERHEAD) % bs)
		return -1;
	carved = (uint32_t)((nextoff - POOL_OVERHEAD) / bs);
	if (count > carved)
		return -1;
	memset(isfree, 0, (carved + 7) / 8);
	/* Walk the free list: every entry must be a carved block of this
	 * pool on the block grid, seen once; the list has at most `carved`
	 * entries, which bounds the walk even if it is cyclic. */
	for (b = freeblock; b; nfree++) {
		uint64_t off, idx;

		if (nfree >= carved || b < a + POOL_OVERHEAD ||
		    b >= a + pool_size || (b - a - POOL_OVERHEAD) % bs) {
			list_bad = true;
			break;
		}
		off = b - a - POOL_OVERHEAD;
		idx = off / bs;
		if (idx >= carved || (isfree[idx / 8] & (1u << (idx % 8)))) {
			list_bad = true;
			break;
		}
		isfree[idx / 8] |= (uint8_t)(1u << (idx % 8));
		memcpy(&b, pool + POOL_OVERHEAD + idx * bs, 8);
	}
	bad = list_bad || carved - nfree != count;
	if (bad && !salvage)
		return -1;
	/*
	 * A whole, valid free list with ref.count above the blocks it leaves
	 * in use is what a thread stopped inside pymalloc_alloc (ref.count
	 * bumped, freeblock not yet advanced; also allocate_from_new_pool
	 * reusing a pool of the same class) or pymalloc_free (block pushed,
	 * count not yet dropped) leaves: the excess blocks are at the head of
	 * the list, being handed out or given back.  Report them as used.
	 * count <= carved, so the excess is at most nfree, and the first
	 * nfree entries were validated above.
	 */
	if (!list_bad && count > carved - nfree) {
		uint64_t excess = count - (carved - nfree), idx;

		for (b = freeblock; excess; excess--) {
			idx = (b - a - POOL_OVERHEAD) / bs;
			isfree[idx / 8] &= (uint8_t)~(1u << (idx % 8));
			memcpy(&b, pool + POOL_OVERHEAD + idx * bs, 8);
		}
	}
	for (i = 0; i < carved; i++)
		if (!(isfree[i / 8] & (1u << (i % 8))))
			used[n++] = a + POOL_OVERHEAD + (uint64_t)i * bs;
	*block_size = (uint32_t)bs;
	*nblocks = carved;
	if (bad)
		*salvaged = true;
	return (int)n;
}

static void add_pool(struct pymalloc_heap *h, uint64_t a, uint32_t bs,
		     uint32_t carved, const uint64_t *used, int n)
{
	struct pymalloc_pool *pl;

	PH_GROW(h->pools, h->pools_alloc, h->npools + 1);
	pl = &h->pools[h->npools++];
	pl->addr = a;
	pl->block_size = bs;
	pl->nblocks = carved;
	pl->nused = (uint32_t)n;
	pl->first_block = h->nused;
	PH_GROW(h->used, h->used_alloc, h->nused + (size_t)n);
	if (n)
		memcpy(h->used + h->nused, used, (size_t)n * sizeof(*used));
	h->nused += (size_t)n;
}

/* One pool of the arena walk or the scan. */
static void visit_pool(struct pymalloc_heap *h, struct target *t,
		       const struct py_layout *L, uint64_t a, bool from_scan)
{
	static uint64_t used[MAX_POOL_SIZE / 8];
	uint32_t bs, carved;
	uint64_t count;
	bool salvaged = false;
	int n;

	/* Empty pools keep stale headers; only ref.count is meaningful. */
	if (py_read_field(t, L, a, PY_F_PH_REF, &count)) {
		if (!from_scan)
			h->corrupt_pools++;
		return;
	}
	if ((count & 0xffffffffu) == 0) {
		if (!from_scan)
			h->empty_pools++;
		return;
	}
	/*
	 * The arena walk knows this is a pool, so a free list or count that
	 * does not add up is salvaged: the free-list entries that were valid
	 * are free (less the head blocks ref.count says are in use), every
	 * other carved block is a candidate that object validation will
	 * judge.  That is what a stopped thread leaves in the one pool it was
	 * allocating from or freeing to (pymalloc_alloc bumps ref.count
	 * before it advances freeblock).  The scan cannot tell such a pool
	 * from random data and drops it.
	 */
	n = pymalloc_check_pool(t, a, h->pool_size, L, !from_scan, &bs, &carved,
				used, &salvaged);
	if (n < 0) {
		if (!from_scan)
			h->corrupt_pools++;
		return;
	}
	if (salvaged)
		h->salvaged_pools++;
	add_pool(h, a, bs, carved, used, n);
}

/* The arenas[] array and its length, from wherever this version keeps
 * them (see heap.h).  0 and *n = 0 if not found. */
static int find_arenas(struct pyproc *p, struct pymalloc_heap *h,
		       uint64_t *arr, uint64_t *n)
{
	const struct py_layout *L = &p->L;
	uint64_t sym, state, interp, v;
	uint32_t n32;

	*arr = *n = 0;
	if (py_has(L, PY_F_IS_OBMALLOC)) {
		/* 3.12+: the main interpreter's obmalloc state; embedded in
		 * 3.12, a pointer in 3.13 (pycore_interp.h).  Sub-interpreters
		 * with their own allocator are not walked yet. */
		if (py_read_field(p->t, L, p->runtime, PY_F_RT_INTERP_MAIN,
				  &interp) || !interp)
			return 0;
		/* Checked against its arenas (python/verify.c); when it
		 * fails, the pool scan below finds pymalloc instead. */
		state = py_obmalloc_state(p, p->t, interp);
		if (!state)
			return 0;
		if (py_read_field(p->t, L, state, PY_F_OBS_ARENAS, arr) ||
		    py_read_field(p->t, L, state, PY_F_OBS_MAXARENAS, n))
			return 0;
		if (!py_read_field(p->t, L, state, PY_F_OBS_RAW_ALLOCATED, &v)) {
			h->raw_allocated_blocks = v;
			h->raw_allocated_known = true;
		}
		return 0;
	}
	/* <= 3.11: file-local statics in Objects/obmalloc.c, in .symtab. */
	if (objfile_sym(&p->elf, "arenas", &sym, NULL) ||
	    target_read_u64(p->t, sym, arr))
		return 0;
	if (objfile_sym(&p->elf, "maxarenas", &sym, NULL) ||
	    target_read_u32(p->t, sym, &n32))
		return 0;
	*n = n32;
	if (!objfile_sym(&p->elf, "raw_allocated_blocks", &sym, NULL) &&
	    !target_read_u64(p->t, sym, &v)) {
		h->raw_allocated_blocks = v;
		h->raw_allocated_known = true;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct pymalloc_pool *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int walk_arenas(struct pyproc *p, struct pymalloc_heap *h,
		       uint64_t arr, uint64_t n)
{
	const struct py_layout *L = &p->L;
	int64_t esize = L->size[PY_S_ARENA];
	unsigned char *ao;
	uint64_t i;

	if (n > MAX_ARENAS || esize <= 0 || esize > 256)
		return ph_error(PH_E_CORRUPT, "pymalloc: %llu arenas",
				(unsigned long long)n);
	/* Check the array is there before allocating room for a copy: a
	 * garbage maxarenas must not cost hundreds of megabytes. */
	if (!target_mapped(p->t, arr, (size_t)(n * (uint64_t)esize)))
		return ph_error(PH_E_READ, "pymalloc: arenas[%llu] at %#llx is "
				"not mapped", (unsigned long long)n,
				(unsigned long long)arr);
	ao = xmalloc((size_t)(n * (uint64_t)esize) + 1);
	if (target_read(p->t, arr, ao, (size_t)(n * (uint64_t)esize))) {
		free(ao);
		return ph_error(PH_E_READ, "pymalloc: cannot read arenas[%llu]",
				(unsigned long long)n);
	}
	/*
	 * 3.15 built with PYMALLOC_USE_HUGEPAGES has 2 MiB arenas (ARENA_BITS
	 * 21 in Include/internal/pycore_obmalloc.h): 128 pools an arena, not
	 * 64.  The build is not recorded anywhere else, so the arenas' own
	 * pool counts say which.
	 */
	if (py_has(L, PY_F_AO_NTOTALPOOLS) && p->minor >= 15) {
		for (i = 0; i < n; i++) {
			uint32_t tot = 0;

			memcpy(&tot, ao + i * (uint64_t)esize +
			       L->off[PY_F_AO_NTOTALPOOLS], 4);
			if (tot > h->arena_size / h->pool_size &&
			    tot <= 2 * (h->arena_size / h->pool_size)) {
				h->arena_size *= 2;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		const unsigned char *e = ao + i * (uint64_t)esize;
		uint64_t base = 0, pool_addr = 0, a, first, limit;

		memcpy(&base, e + L->off[PY_F_AO_ADDRESS], 8);
		memcpy(&pool_addr, e + L->off[PY_F_AO_POOL_ADDRESS], 8);
		if (!base)
			continue; /* unused arena slot */
		h->arenas_total++;
		PH_GROW(h->arenas, h->arenas_alloc, h->narenas + 1);
		h->arenas[h->narenas++] = base;
		/* An arena not aligned to POOL_SIZE loses its first partial
		 * pool (obmalloc.c new_arena). */
		first = (base + h->pool_size - 1) & ~(uint64_t)(h->pool_size - 1);
		limit = base + h->arena_size;
		if (pool_addr < first || pool_addr > limit) {
			h->corrupt_pools++;
			continue;
		}
		for (a = first; a + h->pool_size <= pool_addr; a += h->pool_size)
			visit_pool(h, p->t, L, a, false);
	}
	free(ao);
	return 0;
}

static void scan_pools(struct pyproc *p, struct pymalloc_heap *h)
{
	const struct maps *m = &p->t->maps;
	struct u64map arenas = U64MAP_INIT;
	size_t i, before;

	for (i = 0; i < m->n; i++) {
		const struct map *mp = &m->v[i];
		uint64_t a;

		/* pymalloc arenas are anonymous private rw mmaps. */
		if (mp->path || (mp->perms & (MAP_R | MAP_W | MAP_P)) !=
				(MAP_R | MAP_W | MAP_P))
			continue;
		a = (mp->start + h->pool_size - 1) & ~(uint64_t)(h->pool_size - 1);
		for (; a + h->pool_size <= mp->end; a += h->pool_size) {
			uint64_t ai;

			before = h->npools;
			visit_pool(h, p->t, &p->L, a, true);
			/* Arenas are counted by the arena index their pools
			 * carry (pool_header.arenaindex). */
			if (h->npools > before &&
			    !py_read_field(p->t, &p->L, a, PY_F_PH_ARENAINDEX, &ai))
				u64map_put(&arenas, ai, 1);
		}
	}
	h->arenas_total = arenas.n;
	u64map_release(&arenas);
}

int pymalloc_walk(struct pyproc *p, struct pymalloc_heap *h)
{
	static const enum py_field need[] = {
		PY_F_PH_REF, PY_F_PH_FREEBLOCK, PY_F_PH_SZIDX,
		PY_F_PH_NEXTOFFSET, PY_F_PH_MAXNEXTOFFSET, PY_F_AO_ADDRESS,
		PY_F_AO_POOL_ADDRESS,
	};
	uint64_t arr, n;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = py_require(&p->L, need, PH_ARRAY_SIZE(need), "pymalloc");
	if (rc)
		return rc;
	/* USE_LARGE_ARENAS / USE_LARGE_POOLS from 3.10 (INTERNALS §3.1). */
	h->pool_size = p->minor >= 10 ? 16384 : 4096;
	h->arena_size = p->minor >= 10 ? (1u << 20) : (256u << 10);

	find_arenas(p, h, &arr, &n);
	h->arenas_array = arr;
	if (arr && n) {
		h->method = PYMALLOC_ARENAS;
		rc = walk_arenas(p, h, arr, n);
		if (rc)
			return rc;
	} else {
		h->method = PYMALLOC_SCAN;
		scan_pools(p, h);
	}
	/* Arena order is not address order. */
	/* (qsort of an empty, NULL array is undefined behaviour.) */
	if (h->npools)
		qsort(h->pools, h->npools, sizeof(*h->pools), cmp_pool);
	if (h->narenas)
		qsort(h->arenas, h->narenas, sizeof(*h->arenas), cmp_u64);
	{
		/* Rebuild used[] in pool order so it is sorted too. */
		uint64_t *sorted = xmalloc((h->nused + 1) * sizeof(*sorted));
		size_t i, k = 0;

		for (i = 0; i < h->npools; i++) {
			struct pymalloc_pool *pl = &h->pools[i];

			if (pl->nused)
				memcpy(sorted + k, h->used + pl->first_block,
				       pl->nused * sizeof(*sorted));
			pl->first_block = k;
			k += pl->nused;
		}
		free(h->used);
		h->used = sorted;
		h->used_alloc = h->nused + 1;
	}
	if (!h->npools)
		h->method = h->method == PYMALLOC_SCAN ? PYMALLOC_NONE :
			    h->method;
	return 0;
}

void pymalloc_release(struct pymalloc_heap *h)
{
	free(h->pools);
	free(h->used);
	free(h->arenas);
	memset(h, 0, sizeof(*h));
}

const struct pymalloc_pool *pymalloc_pool_of(const struct pymalloc_heap *h,
					     uint64_t addr)
{
	size_t lo = 0, hi = h->npools;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pymalloc_pool *pl = &h->pools[mid];

		if (addr < pl->addr)
			hi = mid;
		else if (addr >= pl->addr + h->pool_size)
			lo = mid + 1;
		else
			return pl;
	}
	return NULL;
}

uint64_t pymalloc_block_end(const struct pymalloc_heap *h, uint64_t addr,
			    size_t *hint)
{
	const struct pymalloc_pool *pl = NULL;

	if (*hint < h->npools && addr >= h->pools[*hint].addr &&
	    addr - h->pools[*hint].addr < h->pool_size)
		pl = &h->pools[*hint];
	else if ((pl = pymalloc_pool_of(h, addr)))
		*hint = (size_t)(pl - h->pools);
	if (!pl)
		return UINT64_MAX;
	if (addr < pl->addr + POOL_OVERHEAD || !pl->block_size)
		return pl->addr; /* the pool header: no block */
	return pl->addr + POOL_OVERHEAD +
	       ((addr - pl->addr - POOL_OVERHEAD) / pl->block_size + 1) *
	       pl->block_size;
}

bool pymalloc_block_of(const struct pymalloc_heap *h, uint64_t addr,
		       uint64_t *start, uint32_t *size, bool *used,
		       size_t *at)
{
	return pymalloc_block_in(h, pymalloc_pool_of(h, addr), addr, start,
				 size, used, at);
}

bool pymalloc_block_in(const struct pymalloc_heap *h,
		       const struct pymalloc_pool *pl, uint64_t addr,
		       uint64_t *start, uint32_t *size, bool *used, size_t *at)
{
	uint64_t idx, b;

	if (!pl || addr < pl->addr || addr - pl->addr >= h->pool_size)
		return false;
	if (addr < pl->addr + POOL_OVERHEAD) {
		*start = pl->addr;
		*size = 0;
		*used = false; /* the pool header itself */
		return true;
	}
	idx = (addr - pl->addr - POOL_OVERHEAD) / pl->block_size;
	b = pl->addr + POOL_OVERHEAD + idx * pl->block_size;
	*start = b;
	*size = pl->block_size;
	*used = heap_sorted_has(h->used, pl->first_block,
				pl->first_block + pl->nused, b, at);
	return true;
}
