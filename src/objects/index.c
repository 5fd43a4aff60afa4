/*
 * The census's object index (internal.h, "index.c"): address -> census
 * index.  Almost every object lives in a pymalloc block, and a block
 * holds one object, so those are indexed by position: the pool (a small
 * hash of pool addresses, pools being POOL_SIZE-aligned: obmalloc.c
 * new_arena rounds the first pool up) and the block's number in it, into
 * one array of 4 bytes per carved block.  That is a fifth of a hash
 * slot's 16 bytes per object at three-quarters load, one load per lookup
 * from an array that follows the heap's layout, and it gives the objects
 * in address order without a sort (census_order()).  The rest -- objects
 * in malloc chunks or ELF data, and anything hostile memory makes share
 * a block -- go to a hash map.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void census_index_init(struct census *c)
{
	const struct pymalloc_heap *h = &c->heap;
	struct obj_pos *x = &c->pos;
	uint64_t total = 0;
	size_t p;

	memset(x, 0, sizeof(*x));
	if (!h->npools || !h->pool_size ||
	    (h->pool_size & (h->pool_size - 1)))
		return;
	x->mask = ~((uint64_t)h->pool_size - 1);
	x->first = xmalloc((h->npools + 1) * sizeof(*x->first));
	for (p = 0; p < h->npools; p++) {
		const struct pymalloc_pool *pl = &h->pools[p];

		x->first[p] = (uint32_t)total;
		/* A pool that is not aligned is not indexed here. */
		if ((pl->addr & ~x->mask) || !pl->block_size) {
			x->unaligned = true;
			continue;
		}
		total += pl->nblocks;
		if (total >= UINT32_MAX)
			break;
		u64map_put(&x->pools, pl->addr, p);
	}
	if (total >= UINT32_MAX) { /* not a heap we can index so */
		free(x->first);
		u64map_release(&x->pools);
		memset(x, 0, sizeof(*x));
		return;
	}
	x->first[h->npools] = (uint32_t)total;
	x->slot = xcalloc(total + 1, sizeof(*x->slot));
	x->nslots = (size_t)total;
}

void census_index_release(struct census *c)
{
	free(c->pos.first);
	free(c->pos.slot);
	u64map_release(&c->pos.pools);
	memset(&c->pos, 0, sizeof(c->pos));
	u64map_release(&c->obj_index);
}

const struct pymalloc_pool *census_pool_of(const struct census *c,
					   uint64_t addr)
{
	uint64_t p;

	if (!c->pos.nslots)
		return pymalloc_pool_of(&c->heap, addr);
	if (u64map_get(&c->pos.pools, addr & c->pos.mask, &p))
		return &c->heap.pools[p];
	/* Not in an aligned pool with used blocks: any other pool is one
	 * the index left out. */
	return c->pos.unaligned ? pymalloc_pool_of(&c->heap, addr) : NULL;
}

/* The slot of the block holding addr, or SIZE_MAX. */
static inline size_t slot_of(const struct census *c, uint64_t addr)
{
	const struct obj_pos *x = &c->pos;
	const struct pymalloc_pool *pl;
	uint64_t p, pool = addr & x->mask, bi;

	if (!x->nslots || !u64map_get(&x->pools, pool, &p))
		return SIZE_MAX;
	pl = &c->heap.pools[p];
	if (addr - pool < PYMALLOC_POOL_OVERHEAD)
		return SIZE_MAX;
	bi = (addr - pool - PYMALLOC_POOL_OVERHEAD) / pl->block_size;
	if (bi >= (uint64_t)(x->first[p + 1] - x->first[p]))
		return SIZE_MAX;
	return x->first[p] + (size_t)bi;
}

/* Object i's address: a census record before census_assemble(), a snapshot row
 * after it. */
static inline uint64_t addr_of(const struct census *c, size_t i)
{
	return c->objs ? c->objs[i].addr : c->s->objects[i].addr;
}

bool census_lookup(const struct census *c, uint64_t addr, uint64_t *idx)
{
	size_t s = slot_of(c, addr);

	if (s != SIZE_MAX && c->pos.slot[s] &&
	    addr_of(c, c->pos.slot[s] - 1) == addr) {
		if (idx)
			*idx = c->pos.slot[s] - 1;
		return true;
	}
	return u64map_get(&c->obj_index, addr, idx);
}

void census_index_put(struct census *c, uint64_t addr, uint32_t idx)
{
	size_t s = slot_of(c, addr);

	if (s != SIZE_MAX && !c->pos.slot[s]) {
		c->pos.slot[s] = idx + 1;
		return;
	}
	u64map_put(&c->obj_index, addr, idx);
}

void census_index_renumber(struct census *c, const uint32_t *newid)
{
	struct u64map *m = &c->obj_index;
	size_t i;

	for (i = 0; i < c->pos.nslots; i++)
		if (c->pos.slot[i])
			c->pos.slot[i] = newid[c->pos.slot[i] - 1] + 1;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != UINT64_MAX)
			m->slots[i].val = newid[m->slots[i].val];
	if (m->has_max)
		m->max_val = newid[m->max_val];
}

void census_prefetch(const struct census *c, uint64_t addr)
{
	size_t s = slot_of(c, addr);

	if (s != SIZE_MAX)
		__builtin_prefetch(&c->pos.slot[s]);
	else
		u64map_prefetch(&c->obj_index, addr);
}

static const struct census *order_ctx;

static int cmp_by_addr(const void *a, const void *b)
{
	uint64_t x = order_ctx->objs[*(const uint32_t *)a].addr;
	uint64_t y = order_ctx->objs[*(const uint32_t *)b].addr;

	return x < y ? -1 : x > y;
}

uint32_t *census_order(const struct census *c)
{
	uint32_t *out = xmalloc((c->nobjs + 1) * sizeof(*out));
	uint32_t *rest = NULL;
	size_t nrest = 0, nslot = 0, i, a, b, n = 0;

	/* The hashed ones, sorted: few. */
	if (c->obj_index.n) {
		rest = xmalloc((c->obj_index.n + 1) * sizeof(*rest));
		for (i = 0; i < c->obj_index.cap; i++)
			if (c->obj_index.slots[i].key != UINT64_MAX)
				rest[nrest++] =
					(uint32_t)c->obj_index.slots[i].val;
		if (c->obj_index.has_max)
			rest[nrest++] = (uint32_t)c->obj_index.max_val;
		order_ctx = c;
		qsort(rest, nrest, sizeof(*rest), cmp_by_addr);
		order_ctx = NULL;
	}
	/* The positional ones are in address order already: compact them
	 * to the front of out, then merge from the back. */
	for (i = 0; i < c->pos.nslots; i++)
		if (c->pos.slot[i])
			out[nslot++] = c->pos.slot[i] - 1;
	if (nslot + nrest != c->nobjs)
		ph_die("census index: %zu + %zu objects indexed, %zu found",
		       nslot, nrest, c->nobjs);
	a = nslot;
	b = nrest;
	for (n = c->nobjs; n > 0; n--) {
		if (b && (!a || c->objs[rest[b - 1]].addr >
			  c->objs[out[a - 1]].addr))
			out[n - 1] = rest[--b];
		else
			out[n - 1] = out[--a];
	}
	free(rest);
	return out;
}
