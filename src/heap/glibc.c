/*
 * glibc malloc (facts: shared/INTERNALS.md §8; source: glibc malloc/malloc.c
 * and arena.c, 2.28-2.39).
 *
 * A chunk is {prev_size, size | A | M | P} followed by user memory; sizes
 * are multiples of 16, at least 32.  A chunk is free when the PREV_INUSE
 * bit of the next chunk is clear, except fastbin and tcache chunks, which
 * keep the bit and are found through their lists.  The main arena lives
 * in libc's data and owns [heap] (sbrk); other arenas live at the start of
 * 64 MiB-aligned mmapped heaps (heap_info {ar_ptr, prev, size, ...})
 * chained through heap_info.prev; chunks of MMAP_THRESHOLD bytes and more
 * are mmapped on their own with IS_MMAPPED set.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "heap.h"

/* struct malloc_state, identical on x86_64 from 2.27 to 2.39 (malloc.c):
 * mutex, flags, have_fastchunks, fastbinsY[NFASTBINS], top,
 * last_remainder, bins[NBINS * 2 - 2], binmap[BINMAPSIZE], next,
 * next_free, attached_threads, system_mem, max_system_mem. */
#define MS_FASTBINS 16
#define MS_NFASTBINS 10
#define MS_TOP 96
#define MS_NEXT 2160
#define MS_SYSTEM_MEM 2184
#define MS_SIZE 2200

#define CHUNK_HDR 16
#define MINSIZE 32
#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define NON_MAIN_ARENA 4u
#define SIZE_BITS 7u
/* HEAP_MAX_SIZE: 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit (arena.c). */
#define HEAP_MAX 0x4000000ull
/* DEFAULT_ARENA_MAX is 8 * cores; this bounds a walk of the arena list. */
#define MAX_ARENAS 1024
#define TCACHE_BINS 64

static uint64_t rd64(struct target *t, uint64_t a, bool *ok)
{
	uint64_t v;

	if (target_read_u64(t, a, &v)) {
		*ok = false;
		return 0;
	}
	return v;
}

/* ---- finding the allocator ---------------------------------------------- */

/* Allocators that replace malloc (LD_PRELOAD or linked): their memory is
 * not glibc's and cannot be walked as such. */
static enum malloc_kind other_allocator(const struct target *t,
					const char **name)
{
	static const struct {
		const char *prefix;
		enum malloc_kind kind;
	} libs[] = {
		{ "libjemalloc", MALLOC_JEMALLOC },
		{ "libtcmalloc", MALLOC_TCMALLOC },
		{ "libmimalloc", MALLOC_MIMALLOC },
	};
	size_t i, k;

	for (i = 0; i < t->maps.n; i++) {
		const char *p = t->maps.v[i].path;

		if (!p || p[0] != '/')
			continue;
		for (k = 0; k < PH_ARRAY_SIZE(libs); k++) {
			if (!strncmp(ph_basename(p), libs[k].prefix,
				     strlen(libs[k].prefix))) {
				*name = libs[k].prefix + 3;
				return libs[k].kind;
			}
		}
	}
	return MALLOC_UNKNOWN;
}

static const struct map *find_libc(const struct target *t)
{
	size_t i;

	for (i = 0; i < t->maps.n; i++) {
		const char *p = t->maps.v[i].path;

		if (p && p[0] == '/' && (!strcmp(ph_basename(p), "libc.so.6") ||
					 !strncmp(ph_basename(p), "libc-2.", 7)))
			return &t->maps.v[i];
	}
	return NULL;
}

/* "... stable release version 2.36." in libc's banner (csu/version.c). */
static int glibc_minor(const struct objfile *libc)
{
	static const char key[] = "release version 2.";
	const void *data;
	uint64_t size, i;

	if (objfile_section_data(libc, ".rodata", &data, &size))
		return -1;
	for (i = 0; i + sizeof(key) + 2 < size; i++) {
		const char *s = (const char *)data + i;

		if (!memcmp(s, key, sizeof(key) - 1) &&
		    isdigit((unsigned char)s[sizeof(key) - 1]))
			return atoi(s + sizeof(key) - 1);
	}
	return -1;
}

static const struct map *heap_map(const struct target *t)
{
	size_t i;

	for (i = 0; i < t->maps.n; i++)
		if (t->maps.v[i].path && !strcmp(t->maps.v[i].path, "[heap]"))
			return &t->maps.v[i];
	return NULL;
}

/*
 * Without debug symbols (INTERNALS §8.1): main_arena.top is the chunk that
 * ends exactly at the end of [heap].  Scan libc's writable data (and the
 * anonymous mapping right after it, where its .bss continues) for such a
 * word; main_arena is 96 bytes before it.  Confirmed by the arena list:
 * following `next` must come back to it.
 */
static bool arena_list_closes(struct target *t, uint64_t a)
{
	uint64_t p = a;
	bool ok = true;
	int n;

	for (n = 0; n < MAX_ARENAS; n++) {
		p = rd64(t, p + MS_NEXT, &ok);
		if (!ok || !p || (p & 7))
			return false;
		if (p == a)
			return true;
	}
	return false;
}

static uint64_t find_main_arena_heuristic(struct target *t,
					  const struct map *libc_any)
{
	const struct map *heap = heap_map(t);
	uint64_t found = 0;
	size_t i;

	if (!heap)
		return 0;
	for (i = 0; i < t->maps.n; i++) {
		const struct map *m = &t->maps.v[i];
		bool libc_data = m->path && m->inode == libc_any->inode &&
				 m->dev_major == libc_any->dev_major &&
				 (m->perms & MAP_W);
		bool after = !m->path && i > 0 && (m->perms & MAP_W) &&
			     t->maps.v[i - 1].path &&
			     t->maps.v[i - 1].inode == libc_any->inode &&
			     t->maps.v[i - 1].end == m->start;
		uint64_t a;

		if (!libc_data && !after)
			continue;
		for (a = m->start; a + 8 <= m->end; a += 8) {
			bool ok = true;
			uint64_t top = rd64(t, a, &ok), size;

			if (!ok || top < heap->start || top >= heap->end ||
			    (top & 15))
				continue;
			size = rd64(t, top + 8, &ok) & ~(uint64_t)SIZE_BITS;
			if (!ok || top + size != heap->end ||
			    a < m->start + MS_TOP)
				continue;
			if (arena_list_closes(t, a - MS_TOP)) {
				if (found && found != a - MS_TOP)
					return 0; /* ambiguous: trust neither */
				found = a - MS_TOP;
			}
		}
	}
	return found;
}

/* struct malloc_par offsets: from DWARF when libc's debug file is there,
 * else by version (2.35 added thp_pagesize, hp_pagesize, hp_flags). */
struct mp_layout {
	int64_t n_mmaps, mmapped_mem, sbrk_base, tcache_count;
};

static void mp_offsets(struct objfile *libc, int minor, struct mp_layout *o)
{
	static const char *const f[] = {
		"n_mmaps", "mmapped_mem", "sbrk_base", "tcache_count" };
	int64_t *v[] = { &o->n_mmaps, &o->mmapped_mem, &o->sbrk_base,
			 &o->tcache_count };
	size_t i;

	if (minor >= 35) {
		o->n_mmaps = 60; o->mmapped_mem = 80;
		o->sbrk_base = 96; o->tcache_count = 120;
	} else {
		o->n_mmaps = 40; o->mmapped_mem = 56;
		o->sbrk_base = 72; o->tcache_count = 96;
	}
	if (libc->has_dwarf)
		for (i = 0; i < PH_ARRAY_SIZE(f); i++)
			objfile_dwarf_offsetof(libc, "struct malloc_par", f[i],
					       v[i]);
}

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
			     uint64_t arena, uint64_t top, uint32_t idx)
{
	uint64_t h = top & ~(HEAP_MAX - 1), first = arena & ~(HEAP_MAX - 1);
	uint64_t info = arena - first; /* sizeof(heap_info) */
	int n;

	if (info < 32 || info > 256)
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
			/* chunk2mem of the first chunk is 16-aligned */
			start = arena + MS_SIZE;
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

/* Fastbins of one arena: singly linked through fd, safe-linked from 2.32
 * (PROTECT_PTR: stored = (&fd >> 12) ^ ptr), chunk sizes 32 + 16 i. */
static void mark_fastbins(struct malloc_heap *m, struct target *t,
			  uint64_t arena, bool safe_link, struct u64map *mark)
{
	int i;

	for (i = 0; i < MS_NFASTBINS; i++) {
		bool ok = true;
		uint64_t c = rd64(t, arena + MS_FASTBINS + 8 * (uint64_t)i, &ok);
		uint64_t n = 0;

		while (ok && c && n++ < (1u << 24)) {
			uint64_t sz = rd64(t, c + 8, &ok) & ~(uint64_t)SIZE_BITS;
			uint64_t fd;

			if (!ok || (c & 15) || sz != 32 + 16 * (uint64_t)i) {
				m->bad_lists++;
				break;
			}
			u64map_put(mark, c, CHUNK_FASTBIN);
			fd = rd64(t, c + 16, &ok);
			c = safe_link ? ((c + 16) >> 12) ^ fd : fd;
		}
	}
}

/*
 * tcache (2.26+): a per-thread tcache_perthread_struct {counts[64],
 * entries[64]} in a chunk of its own (0x290 from 2.30, where counts became
 * uint16_t; 0x250 before).  Any in-use chunk of that size whose lists all
 * check out is taken for one: every entry is the user pointer of a chunk of
 * exactly its bin's size, the lists are as long as their counts, and they
 * are safe-linked from 2.32 (through e->next, so &next == e).
 */
static bool check_tcache(struct target *t, uint64_t c,
			 bool wide, bool safe_link, uint64_t max_count,
			 struct u64map *mark, bool commit)
{
	unsigned char buf[TCACHE_BINS * 2 + TCACHE_BINS * 8];
	size_t cw = wide ? 2 : 1, eoff = TCACHE_BINS * cw;
	uint64_t total = 0;
	int i;

	if (target_read(t, c + CHUNK_HDR, buf, eoff + TCACHE_BINS * 8))
		return false;
	for (i = 0; i < TCACHE_BINS; i++) {
		uint64_t count = 0, e, k;
		bool ok = true;

		memcpy(&count, buf + (size_t)i * cw, cw);
		memcpy(&e, buf + eoff + (size_t)i * 8, 8);
		if (count > max_count || (!count) != (!e))
			return false;
		for (k = 0; k < count; k++) {
			uint64_t sz, next;

			if (!e || (e & 15))
				return false;
			sz = rd64(t, e - 8, &ok) & ~(uint64_t)SIZE_BITS;
			if (!ok || sz != 32 + 16 * (uint64_t)i)
				return false;
			if (commit)
				u64map_put(mark, e - CHUNK_HDR, CHUNK_TCACHE);
			next = rd64(t, e, &ok);
			if (!ok)
				return false;
			e = safe_link ? (e >> 12) ^ next : next;
		}
		if (e)
			return false; /* longer than its count */
		total += count;
	}
	return total > 0;
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
 * this is a range, not a whole mapping. */
static bool in_thread_stack(const struct target *t, uint64_t a)
{
	size_t k;

	for (k = 0; k < t->nthreads; k++) {
		uint64_t fs = t->threads[k].fs_base;

		if (t->threads[k].tid != t->pid && fs && a < fs + 65536 &&
		    a + (8ull << 20) >= fs)
			return true;
	}
	return false;
}

/* mmapped chunks: not on any list.  Scan the page starts of anonymous
 * writable mappings for a header with IS_MMAPPED alone, prev_size 0 and a
 * page-multiple size that fits the mapping, skipping what else we know
 * there: arena heaps, pymalloc arenas and pools, thread stacks. */
static void scan_mmapped(struct malloc_heap *m, struct target *t,
			 const struct pymalloc_heap *ph)
{
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
			csz = sz & ~(uint64_t)SIZE_BITS;
			if (ok && (sz & SIZE_BITS) == IS_MMAPPED && prev == 0 &&
			    csz >= 4096 && !(csz & 4095) && fits(q, csz, mp->end)) {
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

int glibc_walk(struct pyproc *p, const struct pymalloc_heap *ph,
	       struct malloc_heap *m)
{
	struct target *t = p->t;
	const struct map *libc_map, *heap;
	struct objfile libc;
	struct mp_layout mp;
	struct u64map mark = U64MAP_INIT;
	uint64_t ma, a, sym, max_tcache = 65535;
	bool safe_link, wide_tcache, ok = true;
	const char *other = NULL;
	size_t i, n;
	int minor, rc;

	memset(m, 0, sizeof(*m));
	m->kind = other_allocator(t, &other);
	if (m->kind != MALLOC_UNKNOWN) {
		snprintf(m->note, sizeof(m->note), "process %d uses %s: its "
			 "native memory is not walked (Python objects are)",
			 (int)t->pid, other);
		return 0;
	}
	libc_map = find_libc(t);
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
	minor = glibc_minor(&libc);
	m->glibc_minor = minor;
	if (minor >= 0 && (minor < 26 || minor > 41)) {
		snprintf(m->note, sizeof(m->note), "glibc 2.%d is outside what "
			 "pyheap walks (2.26 to 2.41): native memory is not "
			 "walked", minor);
		goto out;
	}
	safe_link = minor < 0 || minor >= 32;
	wide_tcache = minor < 0 || minor >= 30;
	mp_offsets(&libc, minor, &mp);
	if (!objfile_sym(&libc, "main_arena", &ma, NULL)) {
		m->arena_source = "symbol";
	} else {
		ma = find_main_arena_heuristic(t, libc_map);
		m->arena_source = "heuristic";
	}
	if (!ma) {
		snprintf(m->note, sizeof(m->note), "cannot find glibc's "
			 "main_arena in process %d (install libc6-dbg to help): "
			 "native memory is not walked", (int)t->pid);
		goto out;
	}
	m->main_arena = ma;
	if (!objfile_sym(&libc, "mp_", &sym, NULL)) {
		uint64_t v;

		m->mp_known = true;
		m->mp_n_mmaps = (uint32_t)rd64(t, sym + (uint64_t)mp.n_mmaps, &ok);
		m->mp_mmapped_mem = rd64(t, sym + (uint64_t)mp.mmapped_mem, &ok);
		v = rd64(t, sym + (uint64_t)mp.tcache_count, &ok);
		if (ok && v && v <= 65535)
			max_tcache = v;
		m->mp_known = ok;
	}

	/* Every arena, main first: the circular `next` list. */
	for (a = ma, n = 0; n < MAX_ARENAS; n++) {
		struct malloc_arena_rec *ar;

		PH_GROW(m->arenas, m->arenas_alloc, m->narenas + 1);
		ar = &m->arenas[m->narenas++];
		memset(ar, 0, sizeof(*ar));
		ar->addr = a;
		ar->main = a == ma;
		ar->top = rd64(t, a + MS_TOP, &ok);
		ar->system_mem = rd64(t, a + MS_SYSTEM_MEM, &ok);
		a = rd64(t, a + MS_NEXT, &ok);
		if (!ok || !a || a == ma)
			break;
	}
	heap = heap_map(t);
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
			walk_arena_heaps(m, t, ar->addr, ar->top, (uint32_t)i);
		}
		ar->chunks = m->nchunks - before;
		mark_fastbins(m, t, ar->addr, safe_link, &mark);
	}
	/* tcache structs are ordinary in-use chunks of their size. */
	for (i = 0; i < m->nchunks; i++) {
		struct malloc_chunk_rec *c = &m->chunks[i];

		if (c->state == CHUNK_INUSE &&
		    c->size == (wide_tcache ? 0x290u : 0x250u) &&
		    check_tcache(t, c->addr, wide_tcache, safe_link,
				 max_tcache, &mark, false)) {
			check_tcache(t, c->addr, wide_tcache, safe_link,
				     max_tcache, &mark, true);
			m->tcaches++;
			PH_GROW(m->tcache_structs, m->tcache_structs_alloc,
				m->ntcache_structs + 1);
			m->tcache_structs[m->ntcache_structs++] = c->addr;
		}
	}
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
	scan_mmapped(m, t, ph);
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
