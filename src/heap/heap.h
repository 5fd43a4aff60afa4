/*
 * heap/ — allocator walkers.  Each yields the blocks an allocator has
 * handed out, in address order, from target memory (normally a copied
 * image).  They do not interpret block contents: objects/ does.
 *
 * pymalloc (CPython's small-object allocator, Objects/obmalloc.c and
 * Include/internal/pycore_obmalloc.h; facts in shared/INTERNALS.md §3)
 * ---------------------------------------------------------------------
 * Memory comes in arenas (256 KiB up to 3.9, 1 MiB from 3.10) of pools
 * (4 KiB / 16 KiB).  A pool serves one size class; its 48-byte header
 * says which (szidx), how far blocks have been carved (nextoffset), which
 * carved blocks are free (a singly linked list through the free blocks,
 * starting at freeblock) and how many are in use (ref.count).
 *
 * Two ways to find the pools:
 *   PYMALLOC_ARENAS  walk the arenas[] array: from the obmalloc statics
 *                    (`arenas`, `maxarenas`; .symtab only, 3.7-3.11) or the
 *                    interpreter's obmalloc state (3.12+; `_PyRuntime` is
 *                    enough).  Each arena's pools up to pool_address.
 *   PYMALLOC_SCAN    without symbols (Debian's stripped 3.11): test every
 *                    pool-aligned address of every anonymous writable
 *                    mapping for a self-consistent pool header (INTERNALS
 *                    §3.6).  A candidate is accepted only if its free list
 *                    stays inside the pool on the block grid and the used
 *                    count it implies equals ref.count.
 *
 * Either way every pool is checked the same way; a pool whose free list or
 * counts do not add up is counted in `corrupt_pools` and its blocks are
 * not reported (a bad pool never aborts the walk).  Every walk is bounded:
 * maxarenas <= 2^24, free lists by the pool's block count.
 *
 * Ownership: pymalloc_walk() fills *h; pymalloc_release() frees it.
 */
#ifndef PYHEAP_HEAP_H
#define PYHEAP_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "../python/python.h"

enum pymalloc_method { PYMALLOC_NONE, PYMALLOC_ARENAS, PYMALLOC_SCAN };

struct pymalloc_pool {
	uint64_t addr;
	uint32_t block_size;
	uint32_t nblocks;      /* carved blocks: (nextoffset - 48) / size */
	uint32_t nused;        /* == ref.count */
	uint64_t first_block;  /* index into pymalloc_heap.used */
};

struct pymalloc_heap {
	enum pymalloc_method method;
	uint32_t pool_size, arena_size;
	/* Pools with at least one used block, sorted by address. */
	struct pymalloc_pool *pools;
	size_t npools, pools_alloc;
	/* Start addresses of used blocks, sorted; pool i's blocks are
	 * used[pools[i].first_block .. + pools[i].nused). */
	uint64_t *used;
	size_t nused, used_alloc;
	/* Arena address ranges ([start, start + arena_size)), sorted, for
	 * "is this address inside pymalloc" (ARENAS method only). */
	uint64_t *arenas;
	size_t narenas, arenas_alloc;
	/* stats */
	uint64_t arenas_total;   /* arena objects in use */
	uint64_t empty_pools;    /* ref.count == 0 */
	uint64_t corrupt_pools;  /* header unusable: skipped */
	uint64_t salvaged_pools; /* free list or count inconsistent (a
				  * thread stopped mid-allocation): blocks
				  * not on the valid part of the free list
				  * are reported as used */
	uint64_t raw_allocated_blocks; /* from the state, if known */
	bool raw_allocated_known;
};

/* Find and walk pymalloc in p's target.  Returns 0 with method NONE if
 * pymalloc is not in use or cannot be found (the caller says so). */
int pymalloc_walk(struct pyproc *p, struct pymalloc_heap *h);
void pymalloc_release(struct pymalloc_heap *h);

/* The pool containing addr, or NULL (binary search). */
const struct pymalloc_pool *pymalloc_pool_of(const struct pymalloc_heap *h,
					     uint64_t addr);
/* If addr is inside a pool: *start and *size of its block, and whether it
 * is in use.  False if addr is in no known pool. */
bool pymalloc_block_of(const struct pymalloc_heap *h, uint64_t addr,
		       uint64_t *start, uint32_t *size, bool *used);

/* Validate one pool header at pool address a (exposed for unit tests):
 * fills block size, carved blocks and the used-block list (caller's array
 * of at least pool_size/8 entries); returns the used count or -1.  With
 * salvage, a pool whose header is sound but whose free list or count is
 * not is still returned (see pymalloc.c) and *salvaged is set. */
int pymalloc_check_pool(struct target *t, uint64_t a, uint32_t pool_size,
			const struct py_layout *L, bool salvage,
			uint32_t *block_size, uint32_t *nblocks, uint64_t *used,
			bool *salvaged);

#endif
