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
 * Either way every pool is checked the same way.  In the arena walk a pool
 * whose header is unusable is counted in `corrupt_pools` and skipped, and
 * one whose free list or count does not add up is salvaged (see
 * pymalloc.c); the scan simply does not take either for a pool.  A bad pool
 * never aborts the walk.  Every walk is bounded:
 * maxarenas <= 2^24, free lists by the pool's block count.
 *
 * Ownership: pymalloc_walk() fills *h; pymalloc_release() frees it.
 */
#ifndef PYHEAP_HEAP_H
#define PYHEAP_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "../python/python.h"

struct u64map;

enum pymalloc_method { PYMALLOC_NONE, PYMALLOC_ARENAS, PYMALLOC_SCAN };

/* POOL_OVERHEAD: sizeof(struct pool_header) rounded up to ALIGNMENT, 48 on
 * 64-bit builds for both 8- and 16-byte alignment (Objects/obmalloc.c):
 * where a pool's first block starts. */
#define PYMALLOC_POOL_OVERHEAD 48

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
	uint64_t arenas_array;   /* address of arenas[] (a malloc'd array) */
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
 * is in use, and if so (at may be NULL) its index in used[].  False if
 * addr is in no known pool. */
bool pymalloc_block_of(const struct pymalloc_heap *h, uint64_t addr,
		       uint64_t *start, uint32_t *size, bool *used,
		       size_t *at);
/* The same in pool pl (found by the caller; NULL: false). */
bool pymalloc_block_in(const struct pymalloc_heap *h,
		       const struct pymalloc_pool *pl, uint64_t addr,
		       uint64_t *start, uint32_t *size, bool *used, size_t *at);
/* The end of the block holding addr; UINT64_MAX if no pool with used
 * blocks holds it; the pool's address (below addr) if addr is in its
 * header.  *hint: the pool index of the
 * previous call (start at SIZE_MAX); calls in address order skip the
 * search while they stay in one pool. */
uint64_t pymalloc_block_end(const struct pymalloc_heap *h, uint64_t addr,
			    size_t *hint);

/* Validate one pool header at pool address a (exposed for unit tests):
 * fills block size, carved blocks and the used-block list (caller's array
 * of at least pool_size/8 entries); returns the used count or -1.  With
 * salvage, a pool whose header is sound but whose free list or count is
 * not is still returned (see pymalloc.c) and *salvaged is set. */
int pymalloc_check_pool(struct target *t, uint64_t a, uint32_t pool_size,
			const struct py_layout *L, bool salvage,
			uint32_t *block_size, uint32_t *nblocks, uint64_t *used,
			bool *salvaged);

/*
 * glibc malloc (heap/glibc*.c; INTERNALS §8, INTERNALS-2026 §10)
 * ---------------------------------------------------------------
 * Walked on glibc 2.27 to 2.43, x86_64.  The version comes from libc's
 * banner ("release version 2.N."); it chooses the layouts (struct
 * malloc_state, malloc_par, tcache_perthread_struct; DWARF from libc's
 * debug file, libc6-dbg, overrides the offsets when present), and the
 * live data must then confirm them: main_arena's top chunk ends [heap],
 * the arena list closes, every other arena's heap_info.ar_ptr points back
 * at it.  A version outside that range or unreadable, or a layout the
 * data does not confirm, is not walked: `note` says so in one line and
 * `walked` is false.  Never a walk at guessed offsets.
 *
 * main_arena is found by symbol (the debug file) or, without one, as the
 * word in libc's data that points at the chunk ending [heap] (its `top`,
 * at +96 to 2.42, +8 on 2.43), confirmed as above; mp_ likewise, by symbol
 * or as the one candidate whose sbrk_base is the start of [heap] and whose
 * other fields are in range.  Every arena's heaps are walked chunk by chunk
 * to the top chunk; fastbin chunks (to 2.42) and tcache chunks are marked
 * from their lists (safe-linking decoded from 2.32); mmapped chunks are
 * found by their headers (2.43: chunksize 16 bytes short of the mapping;
 * a record covers the mapping).  Corruption skips forward and is
 * counted.  A
 * process using another allocator (jemalloc, tcmalloc, mimalloc) is not
 * walked either.
 *
 * tcaches are found by validating every in-use chunk of the struct's size
 * (0x250 to 2.29, 0x290 to 2.41, 0x300 from 2.42) against its lists: each
 * bin's count (2.42+: mp_.tcache_count - num_slots[i]) equals its list's
 * length, each entry is a chunk of its bin's size (2.42+ large bins: in
 * the bin's power-of-two range, ascending).  Every list walk is bounded by
 * the number of chunks walked and all of them together by a step budget.
 *
 * Chunk sizes include the 16-byte header.  "In use" means handed out by
 * malloc: not free in a bin, fastbin or tcache, not the top chunk.
 * mallinfo2() counts fastbin chunks as free and tcache chunks as in use.
 */
enum malloc_kind {
	MALLOC_UNKNOWN = 0, MALLOC_GLIBC, MALLOC_JEMALLOC, MALLOC_TCMALLOC,
	MALLOC_MIMALLOC,
};

enum chunk_state {
	CHUNK_INUSE = 1, CHUNK_FREE, CHUNK_FASTBIN, CHUNK_TCACHE, CHUNK_TOP,
	CHUNK_MMAPPED,
};

struct malloc_chunk_rec {
	uint64_t addr;       /* the chunk header; user memory at addr + 16 */
	uint64_t size;       /* chunksize, header included */
	uint8_t state;       /* enum chunk_state */
	uint16_t arena;      /* index in arenas[]; 0xffff for mmapped */
};

/* Whether the program holds the chunk (not free, not the top). */
static inline bool chunk_in_use(const struct malloc_chunk_rec *ch)
{
	return ch->state == CHUNK_INUSE || ch->state == CHUNK_MMAPPED;
}

struct malloc_arena_rec {
	uint64_t addr;       /* struct malloc_state */
	uint64_t top, system_mem;
	uint64_t chunks;
	bool main;
};

struct malloc_heap {
	enum malloc_kind kind;
	bool walked;
	char note[256];            /* why it was not walked, or "" */
	int glibc_minor;           /* 2.x, -1 unknown */
	const char *arena_source;  /* "symbol" or "heuristic" */
	uint64_t main_arena;
	struct malloc_chunk_rec *chunks; /* sorted by address */
	size_t nchunks, chunks_alloc;
	struct malloc_arena_rec *arenas;
	size_t narenas, arenas_alloc;
	/* totals (bytes include chunk headers) */
	uint64_t inuse_bytes, inuse_chunks;     /* in use and mmapped */
	uint64_t free_bytes, free_chunks;       /* in bins */
	uint64_t fast_bytes, fast_chunks;
	uint64_t tcache_bytes, tcache_chunks, tcaches;
	uint64_t *tcache_structs;  /* chunk addresses of tcache structs */
	size_t ntcache_structs, tcache_structs_alloc;
	uint64_t top_bytes;
	uint64_t mmapped_bytes, mmapped_chunks;
	uint64_t corrupt_regions, skipped_bytes, bad_lists;
	const char *layout_source; /* "DWARF" or "version table" */
	bool mp_known;
	const char *mp_source;     /* "symbol" or "heuristic" */
	uint32_t mp_n_mmaps;
	uint64_t mp_mmapped_mem;
	uint64_t mp_tcache_count;  /* 0 unknown: inferred per tcache (2.42+) */
};

/* Walk glibc malloc in p's target; pymalloc arenas (ph) are excluded from
 * the mmapped-chunk scan.  Always returns 0: a heap that cannot be walked
 * is reported in m->note, not as an error (the Python census goes on). */
int glibc_walk(struct pyproc *p, const struct pymalloc_heap *ph,
	       struct malloc_heap *m);
void malloc_heap_release(struct malloc_heap *m);
/* The chunk containing addr, or NULL (binary search). */
const struct malloc_chunk_rec *malloc_chunk_of(const struct malloc_heap *m,
					       uint64_t addr);

/*
 * Internal to heap/glibc*.c: glibc.c walks, glibc_find.c finds libc, its
 * version, layouts, main_arena and mp_, glibc_bins.c marks fastbin and
 * tcache chunks.  Offsets are bytes on x86_64; -1 means "not in this
 * version".
 */
struct glibc_layout {
	int minor;
	const char *source;          /* "version table" or "DWARF" */
	/* struct malloc_state (malloc.c) */
	int64_t ms_fastbins;         /* fastbinsY[]; -1 from 2.43 */
	int ms_nfastbins;
	int64_t ms_top, ms_next, ms_system_mem, ms_size;
	/* heap_info (arena.c): a non-main arena's state follows it */
	int64_t heap_info_size;
	/* struct malloc_par mp_ (malloc.c) */
	int64_t mp_mmap_threshold, mp_n_mmaps, mp_mmapped_mem, mp_sbrk_base;
	int64_t mp_tcache_bins, mp_tcache_max_bytes, mp_tcache_count;
	/* tcache_perthread_struct */
	int tcache_bins;             /* 64; from 2.42 76: 64 small, 12 large */
	int tcache_count_width;      /* counts[] element: 1 to 2.29, then 2 */
	uint64_t tcache_chunk;       /* chunk size of the struct */
	bool tcache_slots;           /* 2.42+: num_slots[] (free slots left) */
	int mmap_tail;               /* mmapped chunk: mapping size minus
				      * chunksize (prev_size 0): 0; 16 from
				      * 2.43 */
	bool safe_link;              /* 2.32+: PROTECT_PTR on list links */
};

#define GLIBC_MIN_MINOR 27
#define GLIBC_MAX_MINOR 43
#define GLIBC_CHUNK_HDR 16
#define GLIBC_MINSIZE 32
#define GLIBC_SIZE_BITS 7u
/* HEAP_MAX_SIZE: 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit (arena.c). */
#define GLIBC_HEAP_MAX 0x4000000ull
/* DEFAULT_ARENA_MAX is 8 * cores; this bounds a walk of the arena list. */
#define GLIBC_MAX_ARENAS 1024

uint64_t glibc_rd64(struct target *t, uint64_t a, bool *ok);
enum malloc_kind glibc_other_allocator(const struct target *t,
				       const char **name);
const struct map *glibc_find_libc(const struct target *t);
const struct map *glibc_heap_map(const struct target *t);
/* 2.N's N from libc's banner, -1 if there is none. */
int glibc_minor(const struct objfile *libc);
/* The layouts of 2.minor (DWARF overriding when libc has it): 0, or -1
 * if minor is outside GLIBC_MIN_MINOR..GLIBC_MAX_MINOR. */
int glibc_layout_init(struct glibc_layout *g, int minor, struct objfile *libc);
/* main_arena without symbols: the one candidate that passes
 * glibc_check_arena(), 0 if none or several. */
uint64_t glibc_find_main_arena(struct target *t, const struct map *libc,
			       const struct glibc_layout *g);
/* NULL if the arena at ma holds together under g, else why not. */
const char *glibc_check_arena(struct target *t, const struct glibc_layout *g,
			      uint64_t ma);
/* mp_ without symbols: the one plausible candidate, 0 if none or several. */
uint64_t glibc_find_mp(struct target *t, const struct map *libc,
		       const struct glibc_layout *g);
/* mp_ by symbol checked as the heuristic checks a candidate: sbrk_base is
 * the start of [heap] (if there is one), the other fields within what
 * malloc.c lets them be. */
bool glibc_mp_ok(struct target *t, const struct glibc_layout *g, uint64_t mp);
/* Fastbin and tcache chunks into mark (chunk address -> CHUNK_FASTBIN or
 * CHUNK_TCACHE); tcache structs into m->tcache_structs. */
void glibc_mark_fastbins(struct malloc_heap *m, struct target *t,
			 const struct glibc_layout *g, uint64_t arena,
			 struct u64map *mark);
void glibc_find_tcaches(struct malloc_heap *m, struct target *t,
			const struct glibc_layout *g, struct u64map *mark);

/* Whether x is in the sorted v[lo, hi); *at (if not NULL) gets where it
 * is or would go.  The used-block lists of pymalloc and mimalloc. */
static inline bool heap_sorted_has(const uint64_t *v, size_t lo, size_t hi,
				   uint64_t x, size_t *at)
{
	size_t end = hi;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return lo < end && v[lo] == x;
}

/* ---- mimalloc (free-threaded CPython: heap/mimalloc.c) -------------------
 *
 * A free-threaded build allocates every object from mimalloc heaps, one
 * set per thread state (Include/internal/pycore_mimalloc.h: heap 1 holds
 * non-GC objects, 2 GC objects, 3 GC objects with the two pre-header
 * words of a managed dict or weakref list; 0 PyMem_Malloc buffers), plus the segments of threads that exited ("abandoned").
 * The walk reads each page's block grid and its free lists and keeps the
 * blocks in use, as mimalloc's own mi_heap_visit_blocks() does.  Its
 * layouts come from the build's DWARF.
 */
#define MI_TAGS 4

struct mi_page_rec {
	uint64_t page;       /* the mi_page_t */
	uint64_t start;      /* its first block */
	uint64_t block_size;
	uint32_t capacity;   /* blocks carved */
	uint32_t nused;      /* blocks in use (on no free list) */
	uint64_t first_used; /* index into mimalloc_heap.used */
	uint8_t tag;         /* heap tag, 0..MI_TAGS-1 */
};

struct mimalloc_heap {
	bool walked;
	char note[200];              /* why not, or "" */
	struct mi_page_rec *pages;   /* sorted by start */
	size_t npages, pages_alloc;
	uint64_t *used;              /* block starts, in page order */
	size_t nused, used_alloc;
	uint64_t used_blocks[MI_TAGS], used_bytes[MI_TAGS];
	/* The sum of mi_page_t.used per tag: what sys.getallocatedblocks()
	 * adds up (Objects/obmalloc.c count_blocks over the same heaps and
	 * abandoned segments), blocks other threads freed included. */
	uint64_t page_used[MI_TAGS];
	/* The memory of the pages walked (their slices, less what comes
	 * before the first block), empty ones included. */
	uint64_t page_bytes;
	uint64_t thread_heaps, abandoned_segments;
	/* Heaps read, and heaps whose tag or thread is not theirs (wrong
	 * offsets: not read; the snapshot is partial). */
	uint64_t heaps, bad_heaps;
	/* mimalloc 2.5 keeps abandoned segments per sub-process: not read,
	 * so objects of threads that exited are found by reference only. */
	bool abandoned_unread;
	/* Pages whose free lists leave the block grid or whose header is
	 * not a page's: their blocks off the valid part of the lists are
	 * taken as used, and the snapshot is partial.  Salvaged: pages whose
	 * lists hold but whose mi_page_t.used disagrees with them (a thread
	 * stopped in the allocator); the lists are believed. */
	uint64_t bad_pages, salvaged_pages;
};

struct py_stacks;
int mimalloc_walk(struct pyproc *p, const struct py_stacks *st,
		  struct mimalloc_heap *h);
/* The walk itself, on any target: the thread states (and, when known,
 * each one's pthread id, which its heaps must carry) and interpreters to
 * start from, with L's mimalloc fields (python/fields.h).  Without them
 * h->walked stays false and h->note says why. */
struct mi_threads {
	const uint64_t *tstates, *thread_ids; /* thread_ids may be NULL */
	size_t n;
	const uint64_t *interps;
	size_t ninterps;
};
int mimalloc_walk_at(struct target *t, const struct py_layout *L,
		     const struct mi_threads *th, struct mimalloc_heap *h);
void mimalloc_release(struct mimalloc_heap *h);
/* The block of a walked page that holds addr: *start, *size, whether it
 * is in use and its page's tag; false if addr is in no walked page. */
bool mimalloc_block_of(const struct mimalloc_heap *h, uint64_t addr,
		       uint64_t *start, uint64_t *size, bool *used,
		       uint8_t *tag);

#endif
