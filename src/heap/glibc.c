/*
 * glibc malloc: the walk (facts: shared/INTERNALS.md §8, for 2.37-2.43
 * shared/INTERNALS-2026.md §10; source: glibc malloc/malloc.c and arena.c,
 * 2.27-2.43).  glibc_find.c finds libc, its version, the layouts and
 * main_arena; glibc_bins.c the chunks fastbins and tcaches hold.
 *
 * A chunk is {prev_size, size | A | M | P} followed by user memory; sizes
 * are multiples of 16, at least 32.  A chunk is free when the PREV_INUSE
 * bit of the next chunk is clear, except fastbin and tcache chunks, which
 * keep the bit and are found through their lists.  The main arena lives
 * in libc's data and owns [heap] (sbrk); other arenas live at the start of
 * 64 MiB-aligned mmapped heaps (heap_info {ar_ptr, prev, size, ...})
 * chained through heap_info.prev; chunks of MMAP_THRESHOLD bytes and more
 * are mmapped on their own with IS_MMAPPED set.  None of this changed
 * from 2.27 to 2.43 but the size in an mmapped chunk's header (2.43, see
 * scan_mmapped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "heap.h"

#define CHUNK_HDR GLIBC_CHUNK_HDR
#define MINSIZE GLIBC_MINSIZE
#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define SIZE_BITS GLIBC_SIZE_BITS
#define HEAP_MAX GLIBC_HEAP_MAX
#define rd64 glibc_rd64

/* ---- chunks ----------------------------------------------------------- */

static void add_chunk(struct malloc_heap *m, uint64_t addr, uint64_t size,
		      enum chunk_state st, uint32_t arena)
{
	struct malloc_chunk_rec *c;

	PH_GROW(m->chunks, m->chunks_alloc, m->nchunks + 1);
	c = &m->chunks[m->nchunks++];
	c->addr = addr;
	c->size = size;
	c->state = (uint8_t)st;
	c->arena = (uint16_t)PH_MIN(arena, 0xffffu);
}

static bool size_ok(uint64_t sz)
{
	return sz >= MINSIZE && !(sz & 15);
}

/* [p, p + n) lies before end, without overflow (n comes from the target). */
static bool fits(uint64_t p, uint64_t n, uint64_t end)
{
	return p <= end && n <= end - p;
}

/*
 * Walk chunks from `start` to `top` (the arena's top chunk, which runs to
 * `end`), or, for an arena's older heaps, until the fencepost glibc leaves
 * at their end (a 16-byte chunk then a 0-byte one).  A size that cannot be
 * right (too small, misaligned, past the end) is corruption: skip forward
 * 16 bytes at a time to the next place where two chunks in a row parse,
 * count the bytes skipped, and go on.
 */
static void walk_region(struct malloc_heap *m, struct target *t,
			uint64_t start, uint64_t top, uint64_t end,
			uint32_t arena)
{
	uint64_t p = start;

	while (p + CHUNK_HDR <= end) {
		bool ok = true;
		uint64_t sz = rd64(t, p + 8, &ok) & ~(uint64_t)SIZE_BITS, nsz;

		if (ok && p == top) {
			add_chunk(m, p, end - p, CHUNK_TOP, arena);
			m->top_bytes += end - p;
			return;
		}
		if (ok && top == 0 && sz == 16 && fits(p, 16 + CHUNK_HDR, end) &&
		    (rd64(t, p + 24, &ok) & ~(uint64_t)SIZE_BITS) == 0)
			return; /* fencepost at the end of an old heap */
		if (!ok || !size_ok(sz) || !fits(p, sz, end) ||
		    (top && p < top && !fits(p, sz, top))) {
			uint64_t q;

			m->corrupt_regions++;
			for (q = p + 16; q + CHUNK_HDR <= end; q += 16) {
				uint64_t a = rd64(t, q + 8, &ok) &
					     ~(uint64_t)SIZE_BITS;

				if (!ok)
					continue;
				if (q == top)
					break;
				if (size_ok(a) && fits(q, a + CHUNK_HDR, end) &&
				    size_ok(rd64(t, q + a + 8, &ok) &
					    ~(uint64_t)SIZE_BITS) && ok)
					break;
			}
			m->skipped_bytes += q - p;
			p = q;
			continue;
		}
		/* The chunk is in use if the next chunk says so; the top
		 * chunk's PREV_INUSE speaks for the chunk before it. */
		nsz = fits(p, sz + CHUNK_HDR, end) ? rd64(t, p + sz + 8, &ok) : 0;
		if (ok && (nsz & PREV_INUSE)) {
			add_chunk(m, p, sz, CHUNK_INUSE, arena);
		} else {
			add_chunk(m, p, sz, CHUNK_FREE, arena);
			m->free_bytes += sz;
			m->free_chunks++;
		}
		p += sz;
	}
}

/* A non-main arena: its heaps from the one holding top back through
 * heap_info.prev (arena.c).  The first heap holds the malloc_state right
 * after its heap_info; later heaps start with chunks right after theirs. */
static void walk_arena_heaps(struct malloc_heap *m, struct target *t,
			     const struct glibc_layout *g, uint64_t arena,
			     uint64_t top, uint32_t idx)
{
	uint64_t h = top & ~(HEAP_MAX - 1), first = arena & ~(HEAP_MAX - 1);
	uint64_t info = (uint64_t)g->heap_info_size;
	int n;

	if (arena - first != info)
		return;
	for (n = 0; h && n < 4096; n++) {
		bool ok = true;
		uint64_t size = rd64(t, h + 16, &ok), prev = rd64(t, h + 8, &ok);
		uint64_t start;

		if (!ok || rd64(t, h, &ok) != arena || !ok || size > HEAP_MAX) {
			m->corrupt_regions++;
			return;
		}
		if (h == first) {
			/* _int_new_arena: the top chunk after the
			 * malloc_state, moved up so that chunk2mem is
			 * 16-aligned: heap + 0x8d0 to 2.42, + 0x870 on 2.43 */
			start = arena + (uint64_t)g->ms_size;
			start = ((start + CHUNK_HDR + 15) & ~15ull) - CHUNK_HDR;
		} else {
			start = h + info;
		}
		walk_region(m, t, start, h == (top & ~(HEAP_MAX - 1)) ? top : 0,
			    h + size, idx);
		if (h == first)
			return;
		h = prev;
	}
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct malloc_chunk_rec *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* a in one of the ranges [starts[i], starts[i] + len)?  starts sorted. */
static bool in_ranges(const uint64_t *starts, size_t n, uint64_t len,
		      uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a < starts[mid])
			hi = mid;
		else if (a >= starts[mid] + len)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Inside a non-main thread's stack: the 8 MiB (the default pthread stack
 * size) below its thread pointer, where glibc puts struct pthread at the
 * top of the stack mapping.  Stacks hold arbitrary words, so they are not
 * scanned; the kernel may merge a stack with the mappings next to it, so
 * this is a range, not a whole mapping.  It ends with the thread
 * pointer's page: the stack ends a page or so later (struct pthread is
 * under 4 KiB), and the next mapping up, often an mmapped chunk, starts
 * there (seen live in Debian 13 and sid chroots). */
static bool in_thread_stack(const struct target *t, uint64_t a)
{
	size_t k;

	for (k = 0; k < t->nthreads; k++) {
		uint64_t fs = t->threads[k].fs_base;

		if (t->threads[k].tid != t->pid && fs &&
		    a <= (fs & ~4095ull) && a + (8ull << 20) >= fs)
			return true;
	}
	return false;
}

/* mmapped chunks: not on any list.  Scan the page starts of anonymous
 * writable mappings for a header with IS_MMAPPED alone, prev_size 0 and a
 * size that fits the mapping, skipping what else we know there: arena
 * heaps, pymalloc arenas and pools, thread stacks.  The size is the whole
 * mapping to 2.42; from 2.43 (malloc.c mmap_set_chunk, "Change mmap chunk
 * layout") 16 bytes less, so that the chunk looks like a heap chunk with
 * a next header after it, and bit 0 of prev_size marks huge pages
 * (MMAP_HP).  A record covers the whole mapping either way, so its bytes
 * add up to mp_.mmapped_mem. */
static void scan_mmapped(struct malloc_heap *m, struct target *t,
			 const struct glibc_layout *g,
			 const struct pymalloc_heap *ph)
{
	uint64_t tail = (uint64_t)g->mmap_tail;
	uint64_t prev_bits = g->mmap_tail ? 1 : 0;

	size_t i, k;

	for (i = 0; i < t->maps.n; i++) {
		const struct map *mp = &t->maps.v[i];
		uint64_t q;

		if (mp->path || (mp->perms & (MAP_R | MAP_W | MAP_P)) !=
				(MAP_R | MAP_W | MAP_P))
			continue;
		for (q = (mp->start + 4095) & ~4095ull; q + CHUNK_HDR <= mp->end;) {
			bool ok = true, skip = false;
			uint64_t prev, sz, csz;

			for (k = 0; k < m->narenas && !skip; k++)
				skip = !m->arenas[k].main &&
				       q >= (m->arenas[k].addr & ~(HEAP_MAX - 1)) &&
				       q < (m->arenas[k].addr & ~(HEAP_MAX - 1)) +
					   HEAP_MAX;
			if (skip || in_thread_stack(t, q) ||
			    in_ranges(ph->arenas, ph->narenas, ph->arena_size, q) ||
			    pymalloc_pool_of(ph, q)) {
				q += 4096;
				continue;
			}
			prev = rd64(t, q, &ok);
			sz = rd64(t, q + 8, &ok);
			csz = (sz & ~(uint64_t)SIZE_BITS) + tail;
			if (ok && (sz & SIZE_BITS) == IS_MMAPPED &&
			    !(prev & ~prev_bits) && csz >= 4096 &&
			    !(csz & 4095) && fits(q, csz, mp->end)) {
				add_chunk(m, q, csz, CHUNK_MMAPPED, UINT32_MAX);
				m->mmapped_bytes += csz;
				m->mmapped_chunks++;
				q += csz;
				continue;
			}
			q += 4096;
		}
	}
}

/* Where mp_ is (symbol, else the heuristic) and what it says: mmapped
 * totals for the cross-check, tcache_count for the tcache checks. */
static void read_mp(struct malloc_heap *m, struct target *t,
		    struct objfile *libc, const struct map *libc_map,
		    const struct glibc_layout *g)
{
	uint64_t mp, v;
	bool ok = true;

	if (!objfile_sym(libc, "mp_", &mp, NULL) && glibc_mp_ok(t, g, mp))
		m->mp_source = "symbol";
	else if ((mp = glibc_find_mp(t, libc_map, g)) != 0)
		m->mp_source = "heuristic";
	else
		return;
	m->mp_n_mmaps = (uint32_t)rd64(t, mp + (uint64_t)g->mp_n_mmaps, &ok);
	m->mp_mmapped_mem = rd64(t, mp + (uint64_t)g->mp_mmapped_mem, &ok);
	v = rd64(t, mp + (uint64_t)g->mp_tcache_count, &ok);
	m->mp_known = ok;
	if (ok && v <= 65535)
		m->mp_tcache_count = v;
}

int glibc_walk(struct pyproc *p, const struct pymalloc_heap *ph,
	       struct malloc_heap *m)
{
	struct target *t = p->t;
	const struct map *libc_map, *heap;
	struct objfile libc;
	struct glibc_layout g;
	struct u64map mark = U64MAP_INIT;
	uint64_t ma, a;
	bool ok = true;
	const char *other = NULL, *why;
	size_t i, n;
	int minor, rc;

	memset(m, 0, sizeof(*m));
	m->glibc_minor = -1;
	m->kind = glibc_other_allocator(t, &other);
	if (m->kind != MALLOC_UNKNOWN) {
		snprintf(m->note, sizeof(m->note), "process %d uses %s: its "
			 "native memory is not walked (Python objects are)",
			 (int)t->pid, other);
		return 0;
	}
	libc_map = glibc_find_libc(t);
	if (!libc_map) {
		snprintf(m->note, sizeof(m->note), "process %d has no glibc "
			 "mapped: native memory is not walked", (int)t->pid);
		return 0;
	}
	rc = objfile_open(&libc, t, libc_map);
	if (rc) {
		snprintf(m->note, sizeof(m->note), "cannot read %s: native "
			 "memory is not walked", libc_map->path);
		return 0;
	}
	m->kind = MALLOC_GLIBC;
	/* The version chooses the layouts; one pyheap does not know is not
	 * walked at guessed offsets. */
	minor = glibc_minor(&libc);
	m->glibc_minor = minor;
	if (minor < 0) {
		snprintf(m->note, sizeof(m->note), "cannot tell the glibc "
			 "version of process %d (no version banner in %s): "
			 "native memory is not walked", (int)t->pid,
			 ph_basename(libc_map->path));
		goto out;
	}
	if (glibc_layout_init(&g, minor, &libc)) {
		snprintf(m->note, sizeof(m->note), "glibc 2.%d is outside "
			 "what pyheap walks (2.%d to 2.%d): native memory is "
			 "not walked", minor, GLIBC_MIN_MINOR, GLIBC_MAX_MINOR);
		goto out;
	}
	m->layout_source = g.source;
	/* ... and the live data must confirm them. */
	if (!objfile_sym(&libc, "main_arena", &ma, NULL)) {
		m->arena_source = "symbol";
		why = glibc_check_arena(t, &g, ma);
		if (why) {
			snprintf(m->note, sizeof(m->note), "glibc 2.%d's "
				 "main_arena in process %d does not match its "
				 "layout (%s): native memory is not walked",
				 minor, (int)t->pid, why);
			goto out;
		}
	} else {
		ma = glibc_find_main_arena(t, libc_map, &g);
		m->arena_source = "heuristic";
	}
	if (!ma) {
		snprintf(m->note, sizeof(m->note), "cannot find glibc 2.%d's "
			 "main_arena in process %d (install libc6-dbg to help): "
			 "native memory is not walked", minor, (int)t->pid);
		goto out;
	}
	m->main_arena = ma;
	read_mp(m, t, &libc, libc_map, &g);
	ph_debug(1, "glibc 2.%d: layout from %s, main_arena %#llx by %s, "
		 "mp_ %s, tcache_count %llu", minor, g.source,
		 (unsigned long long)ma, m->arena_source,
		 m->mp_source ? m->mp_source : "not found",
		 (unsigned long long)m->mp_tcache_count);

	/* Every arena, main first: the circular `next` list. */
	for (a = ma, n = 0; n < GLIBC_MAX_ARENAS; n++) {
		struct malloc_arena_rec *ar;

		PH_GROW(m->arenas, m->arenas_alloc, m->narenas + 1);
		ar = &m->arenas[m->narenas++];
		memset(ar, 0, sizeof(*ar));
		ar->addr = a;
		ar->main = a == ma;
		ar->top = rd64(t, a + (uint64_t)g.ms_top, &ok);
		ar->system_mem = rd64(t, a + (uint64_t)g.ms_system_mem, &ok);
		a = rd64(t, a + (uint64_t)g.ms_next, &ok);
		if (!ok || !a || a == ma)
			break;
	}
	heap = glibc_heap_map(t);
	for (i = 0; i < m->narenas; i++) {
		struct malloc_arena_rec *ar = &m->arenas[i];
		size_t before = m->nchunks;

		if (ar->main) {
			/* The main arena's chunks run from the start of
			 * [heap] (mp_.sbrk_base) to its top chunk. */
			if (heap && ar->top >= heap->start && ar->top < heap->end)
				walk_region(m, t, heap->start, ar->top, heap->end,
					    (uint32_t)i);
		} else {
			walk_arena_heaps(m, t, &g, ar->addr, ar->top,
					 (uint32_t)i);
		}
		ar->chunks = m->nchunks - before;
	}
	for (i = 0; i < m->narenas; i++)
		glibc_mark_fastbins(m, t, &g, m->arenas[i].addr, &mark);
	glibc_find_tcaches(m, t, &g, &mark);
	for (i = 0; i < m->nchunks; i++) {
		struct malloc_chunk_rec *c = &m->chunks[i];
		uint64_t st;

		if (c->state != CHUNK_INUSE || !u64map_get(&mark, c->addr, &st))
			continue;
		c->state = (uint8_t)st;
		if (st == CHUNK_FASTBIN) {
			m->fast_bytes += c->size;
			m->fast_chunks++;
		} else {
			m->tcache_bytes += c->size;
			m->tcache_chunks++;
		}
	}
	scan_mmapped(m, t, &g, ph);
	for (i = 0; i < m->nchunks; i++) {
		if (m->chunks[i].state == CHUNK_INUSE ||
		    m->chunks[i].state == CHUNK_MMAPPED) {
			m->inuse_bytes += m->chunks[i].size;
			m->inuse_chunks++;
		}
	}
	if (m->nchunks)
		qsort(m->chunks, m->nchunks, sizeof(*m->chunks), cmp_chunk);
	m->walked = true;
out:
	u64map_release(&mark);
	objfile_release(&libc);
	return 0;
}

void malloc_heap_release(struct malloc_heap *m)
{
	free(m->chunks);
	free(m->arenas);
	free(m->tcache_structs);
	memset(m, 0, sizeof(*m));
}

const struct malloc_chunk_rec *malloc_chunk_of(const struct malloc_heap *m,
					       uint64_t addr)
{
	size_t lo = 0, hi = m->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct malloc_chunk_rec *c = &m->chunks[mid];

		if (addr < c->addr)
			hi = mid;
		else if (addr >= c->addr + c->size)
			lo = mid + 1;
		else
			return c;
	}
	return NULL;
}
