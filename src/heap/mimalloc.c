/*
 * The mimalloc heaps of a free-threaded CPython (heap.h "mimalloc").
 *
 * CPython's own collector finds every GC object this way
 * (Python/gc_free_threading.c: mi_heap_visit_blocks() over each thread
 * state's heaps, then the interpreter's abandoned segments): pyheap does
 * the same on the copied image, read-only.  mimalloc's
 * _mi_heap_area_visit_blocks() first collects the thread-free list into
 * the page (_mi_page_free_collect), which a reader must not do: here a
 * block is free when it is on any of the page's three lists (free,
 * local_free, xthread_free) or on its heap's thread_delayed_free list.
 *
 * Layouts come from python/fields.h (the build's DWARF, or the built-in
 * table of a free-threaded build): mimalloc 2.1 (CPython 3.13,
 * Include/internal/mimalloc/mimalloc/types.h) gives a page's block size as
 * xblock_size and its first block is computed from its segment, as 2.1's
 * segment.c _mi_segment_page_start_from_slice() does; mimalloc 2.5
 * (3.14+) keeps block_size and page_start in the page.  Free lists are
 * plain pointers in a release build (MI_ENCODE_FREELIST needs MI_SECURE
 * >= 3 or MI_DEBUG; such a build has mi_page_t.keys and is refused).
 *
 * The target's memory is hostile: every list is bounded by its page's
 * capacity, a page queue or segment list ends at the first page or
 * segment seen before, pages whose block ranges overlap are dropped, and
 * what does not hold together is counted (bad pages make the snapshot
 * partial).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "heap.h"

/* types.h (64-bit): MI_SEGMENT_SLICE_SHIFT 16, MI_SEGMENT_SHIFT 25;
 * MI_HUGE_BLOCK_SIZE (2 GiB) in 2.1's xblock_size marks a huge page sized
 * by its slices. */
#define MI_SLICE_SIZE (1ull << 16)
#define MI_SEGMENT_SIZE (1ull << 25)
#define MI_SLICES (MI_SEGMENT_SIZE / MI_SLICE_SIZE)
#define MI_HUGE_XBLOCK (2ull << 30)
/* Bounds on what the target says: segments abandoned, blocks a page
 * carves (a 64 KiB page of 8-byte blocks: 8192; medium pages have fewer,
 * larger ones), pages in all. */
#define MI_MAX_SEGMENTS (1u << 16)
#define MI_MAX_CAPACITY 65536
#define MI_MAX_PAGES (1u << 24)

struct walk {
	struct target *t;
	const struct py_layout *L;
	struct mimalloc_heap *h;
	bool v25;                /* mimalloc 2.5: block_size, page_start */
	int64_t nqueues;
	struct u64map seen;      /* pages and segments already walked */
	struct u64map delayed;   /* blocks on a thread_delayed_free list */
	uint8_t *freemap;        /* one page's free blocks */
};

static uint64_t rd(struct walk *w, uint64_t a, enum py_field f)
{
	uint64_t v = 0;

	if (py_read_field(w->t, w->L, a, f, &v))
		return 0;
	return v;
}

/* Mark the blocks of the list at b free in w->freemap; false if the list
 * leaves the page's grid or runs longer than its capacity. */
static bool mark_list(struct walk *w, uint64_t b, uint64_t start,
		      uint64_t bsize, uint32_t capacity, uint32_t *n)
{
	uint32_t steps = 0;

	while (b) {
		uint64_t i;

		if (b < start || (b - start) % bsize ||
		    (i = (b - start) / bsize) >= capacity ||
		    ++steps > capacity)
			return false;
		if (!w->freemap[i]) {
			w->freemap[i] = 1;
			(*n)++;
		}
		if (target_read_u64(w->t, b, &b))
			return false;
	}
	return true;
}

/*
 * The first block of page pg and the bytes its blocks may span.  2.5:
 * the page says.  2.1: the page's memory starts at its first slice (its
 * index in the segment's slices[]), plus three blocks for blocks of 8 to
 * 64 bytes and one for blocks up to 512 ("not OS page aligned for smaller
 * blocks"); checked on 3.13t, where every free list lands on that grid.
 */
static bool page_area(struct walk *w, uint64_t pg, uint64_t *start,
		      uint64_t *bsize, uint64_t *psize)
{
	const struct py_layout *L = w->L;
	uint64_t seg = pg & ~(MI_SEGMENT_SIZE - 1), base, idx, sc, xbs, skip;

	sc = rd(w, pg, PY_F_MIP_SLICE_COUNT);
	base = seg + (uint64_t)L->off[PY_F_MIS_SLICES];
	if (pg < base || (pg - base) % (uint64_t)L->size[PY_S_MIPAGE])
		return false;
	idx = (pg - base) / (uint64_t)L->size[PY_S_MIPAGE];
	if (idx >= MI_SLICES || !sc || sc > MI_SLICES - idx)
		return false;
	*psize = sc * MI_SLICE_SIZE;
	if (w->v25) {
		*start = rd(w, pg, PY_F_MIP_PAGE_START);
		*bsize = rd(w, pg, PY_F_MIP_BLOCK_SIZE);
		/* Huge pages are segments of their own, past MI_SLICES. */
		return *bsize && *start >= seg &&
		       *start - seg < MI_SEGMENT_SIZE;
	}
	xbs = rd(w, pg, PY_F_MIP_XBLOCK_SIZE);
	if (!xbs)
		return false;
	skip = xbs < 8 ? 0 : xbs <= 64 ? 3 * xbs : xbs <= 512 ? xbs : 0;
	*start = seg + idx * MI_SLICE_SIZE + skip;
	*psize -= skip;
	*bsize = xbs < MI_HUGE_XBLOCK ? xbs : *psize;
	return true;
}

/* The page at pg, in a heap of tag want_tag (or any tag when want_tag is
 * MI_TAGS: an abandoned segment's): its block grid and the blocks in
 * use.  False when pg was walked before (the caller's list loops). */
static bool add_page(struct walk *w, uint64_t pg, unsigned want_tag)
{
	struct mimalloc_heap *h = w->h;
	uint64_t start, bsize, psize, span, k, tagbyte;
	uint32_t capacity, used, nfree = 0, nfree_local = 0;
	struct mi_page_rec *r;
	unsigned tag;
	bool ok;

	if (u64map_get(&w->seen, pg, NULL))
		return false;
	u64map_put(&w->seen, pg, 1);
	if (h->npages >= MI_MAX_PAGES)
		goto bad;
	/* 2.5: heap_tag, a byte of its own.  2.1: a bit-field
	 * (is_committed:1, is_zero_init:1, use_qsbr:1, tag:4 in CPython's
	 * mimalloc types.h) in the byte before debug_offset: DWARF gives
	 * bit-fields no byte offset. */
	if (py_has(w->L, PY_F_MIP_HEAP_TAG)) {
		tag = (unsigned)rd(w, pg, PY_F_MIP_HEAP_TAG);
	} else {
		if (target_read(w->t, pg + (uint64_t)w->L->off[PY_F_MIP_DEBUG_OFFSET] -
				1, &tagbyte, 1))
			goto bad;
		tag = (unsigned)((tagbyte & 0xff) >> 3) & 15;
	}
	if (want_tag < MI_TAGS ? tag != want_tag : tag >= MI_TAGS)
		goto bad;
	capacity = (uint32_t)rd(w, pg, PY_F_MIP_CAPACITY);
	used = (uint32_t)rd(w, pg, PY_F_MIP_USED);
	if (!capacity)
		return true; /* nothing carved */
	if (!page_area(w, pg, &start, &bsize, &psize))
		goto bad;
	h->page_bytes += psize;
	if (!used)
		return true; /* no block in use */
	/* The blocks must fit the page: divided, not multiplied (a block
	 * size read from the page can be anything; fuzz_mimalloc found one
	 * whose product wrapped). */
	span = psize + (w->v25 ? MI_SLICE_SIZE : 0);
	if (capacity > MI_MAX_CAPACITY || used > capacity || bsize > span ||
	    capacity > span / bsize)
		goto bad;
	h->page_used[tag] += used;
	memset(w->freemap, 0, capacity);
	ok = mark_list(w, rd(w, pg, PY_F_MIP_FREE), start, bsize, capacity,
		       &nfree) &&
	     mark_list(w, rd(w, pg, PY_F_MIP_LOCAL_FREE), start, bsize,
		       capacity, &nfree_local);
	/* mimalloc: used counts what was allocated and not freed by its
	 * own thread, so capacity = used + free + local_free.  Blocks other
	 * threads freed wait on xthread_free (low two bits: delayed-free
	 * state) and are still counted in used. */
	if (!ok || capacity != used + nfree + nfree_local) {
		ph_debug(2, "mimalloc page %#llx: %s (capacity %u, used %u, "
			 "free %u + %u, block %llu at %#llx)",
			 (unsigned long long)pg, ok ? "counts disagree" :
			 "free list off the grid", capacity, used, nfree,
			 nfree_local, (unsigned long long)bsize,
			 (unsigned long long)start);
		/* A thread stopped between taking a block off page->free
		 * and counting it (mi_page_malloc) leaves the lists valid
		 * and the count one behind: the lists are what holds. */
		if (ok)
			h->salvaged_pages++;
		else
			h->bad_pages++;
	}
	nfree = 0;
	if (!mark_list(w, rd(w, pg, PY_F_MIP_XTHREAD_FREE) & ~3ull, start,
		       bsize, capacity, &nfree))
		h->bad_pages++;
	PH_GROW(h->pages, h->pages_alloc, h->npages + 1);
	r = &h->pages[h->npages++];
	r->page = pg;
	r->start = start;
	r->block_size = bsize;
	r->capacity = capacity;
	r->tag = (uint8_t)tag;
	r->first_used = h->nused;
	r->nused = 0;
	for (k = 0; k < capacity; k++) {
		if (w->freemap[k])
			continue;
		PH_GROW(h->used, h->used_alloc, h->nused + 1);
		h->used[h->nused++] = start + k * bsize;
		r->nused++;
	}
	return true;
bad:
	ph_debug(2, "mimalloc page %#llx: not a page in use of tag %u",
		 (unsigned long long)pg, want_tag);
	h->bad_pages++;
	return true;
}

/* One heap of a thread: every page of every queue (2.1: bin 73 huge, 74
 * full, MI_BIN_FULL), and its thread_delayed_free list.  A heap whose
 * tag is not its index, or whose thread is another, is not one: the
 * offsets are wrong, and nothing is read through it. */
static void walk_heap(struct walk *w, uint64_t heap, unsigned tag,
		      uint64_t thread_id)
{
	const struct py_layout *L = w->L;
	uint64_t b, id = rd(w, heap, PY_F_MIH_THREAD_ID);
	uint32_t n = 0;
	int64_t q;

	if (rd(w, heap, PY_F_MIH_TAG) != tag || (id && thread_id &&
						 id != thread_id)) {
		ph_debug(1, "mimalloc heap %#llx: tag %llu, thread %#llx: "
			 "not heap %u of thread %#llx",
			 (unsigned long long)heap,
			 (unsigned long long)rd(w, heap, PY_F_MIH_TAG),
			 (unsigned long long)id, tag,
			 (unsigned long long)thread_id);
		w->h->bad_heaps++;
		return;
	}
	w->h->heaps++;
	/* mi_block_t.next links the delayed list (types.h). */
	for (b = rd(w, heap, PY_F_MIH_DELAYED); b && !(b & 7) &&
	     ++n <= MI_MAX_CAPACITY;) {
		if (u64map_get(&w->delayed, b, NULL))
			break;
		u64map_put(&w->delayed, b, 1);
		if (target_read_u64(w->t, b, &b))
			break;
	}
	for (q = 0; q < w->nqueues; q++) {
		uint64_t pg = 0;

		target_read_u64(w->t, heap + (uint64_t)L->off[PY_F_MIH_PAGES] +
				(uint64_t)(q * L->size[PY_S_MIPQ]), &pg);
		/* A page is in one queue: one seen before ends the walk. */
		while (pg && add_page(w, pg, tag))
			pg = rd(w, pg, PY_F_MIP_NEXT);
	}
}

/* An abandoned segment's pages: its slices, a page spanning slice_count
 * of them (2.1 segment.c mi_segment_check_free walks them so). */
static void walk_segment(struct walk *w, uint64_t seg)
{
	const struct py_layout *L = w->L;
	uint64_t n = rd(w, seg, PY_F_MIS_NSLICES), i = 0;

	if (n > MI_SLICES)
		n = MI_SLICES; /* a huge segment: its one page comes first */
	while (i < n) {
		uint64_t pg = seg + (uint64_t)L->off[PY_F_MIS_SLICES] +
			      i * (uint64_t)L->size[PY_S_MIPAGE];
		uint64_t sc = rd(w, pg, PY_F_MIP_SLICE_COUNT);

		if (rd(w, pg, PY_F_MIP_SLICE_OFFSET) == 0 &&
		    rd(w, pg, w->v25 ? PY_F_MIP_BLOCK_SIZE :
		       PY_F_MIP_XBLOCK_SIZE))
			add_page(w, pg, MI_TAGS);
		i += sc ? sc : 1;
	}
}

static void walk_abandoned(struct walk *w, uint64_t seg)
{
	uint32_t steps = 0;

	while (seg && !(seg & (MI_SEGMENT_SIZE - 1)) &&
	       ++steps <= MI_MAX_SEGMENTS &&
	       !u64map_get(&w->seen, seg, NULL)) {
		u64map_put(&w->seen, seg, 1);
		w->h->abandoned_segments++;
		walk_segment(w, seg);
		seg = rd(w, seg, PY_F_MIS_ABANDONED_NEXT);
	}
}

/*
 * mimalloc 2.5 (3.14t, 3.15t) keeps no list of abandoned segments a
 * reader can follow: those in its arenas are bits of the arenas'
 * blocks_abandoned bitmaps (arena.c, a static array), the others on the
 * sub-process's abandoned_os_list only when mi_option_visit_abandoned is
 * on.  Every segment is 32 MiB aligned (MI_SEGMENT_ALIGN) and starts with
 * its header, so the walk looks at each aligned address of the mappings
 * that can hold one (anonymous, readable) and takes a segment when its
 * header holds together: it belongs to the interpreter's sub-process
 * (mi_segment_t.subproc, the pointer the interpreter keeps in
 * _mimalloc_interp_state.subproc: a chance match is not plausible), no
 * thread owns it (thread_id 0: abandoned, segment.c
 * mi_segment_abandon), it still has pages in use (used > 0, abandoned >
 * 0 and at most used: a freed segment has none), and its size is a
 * whole number of segments.  Segments that live threads own are walked
 * through their heaps.
 */
#define MI_MAX_CANDIDATES (1u << 20)

static void scan_abandoned(struct walk *w, uint64_t subproc)
{
	const struct maps *ms = &w->t->maps;
	uint32_t candidates = 0;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		const struct map *m = &ms->v[i];
		uint64_t seg;

		if (!(m->perms & MAP_R) || (m->path && m->path[0] == '/'))
			continue;
		for (seg = (m->start + MI_SEGMENT_SIZE - 1) &
			   ~(MI_SEGMENT_SIZE - 1);
		     seg < m->end && seg >= m->start; seg += MI_SEGMENT_SIZE) {
			uint64_t size, used, ab;

			if (++candidates > MI_MAX_CANDIDATES)
				return;
			if (rd(w, seg, PY_F_MIS_SUBPROC) != subproc ||
			    rd(w, seg, PY_F_MIS_THREAD_ID) != 0)
				continue;
			size = rd(w, seg, PY_F_MIS_SEGMENT_SIZE);
			used = rd(w, seg, PY_F_MIS_USED);
			ab = rd(w, seg, PY_F_MIS_ABANDONED);
			if (!size || size % MI_SEGMENT_SIZE || !used ||
			    !ab || ab > used ||
			    u64map_get(&w->seen, seg, NULL))
				continue;
			u64map_put(&w->seen, seg, 1);
			w->h->abandoned_segments++;
			walk_segment(w, seg);
		}
	}
}

static int cmp_page(const void *a, const void *b)
{
	const struct mi_page_rec *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Pages by address, overlapping ones dropped (two headers claiming the
 * same memory: at most one is right, and which is not known), and used[]
 * rebuilt in that order without the blocks on a delayed-free list. */
static void finish(struct walk *w)
{
	struct mimalloc_heap *h = w->h;
	uint64_t *sorted = xmalloc((h->nused + 1) * sizeof(*sorted));
	uint64_t end = 0;
	size_t i, out = 0, n = 0;

	if (h->npages) /* (qsort of no array: undefined) */
		qsort(h->pages, h->npages, sizeof(*h->pages), cmp_page);
	for (i = 0; i < h->npages; i++) {
		struct mi_page_rec r = h->pages[i];
		size_t k, m = 0;

		if (r.start < end) {
			h->bad_pages++;
			continue;
		}
		end = r.start + (uint64_t)r.capacity * r.block_size;
		/* Blocks other threads freed into full pages wait on their
		 * heap's thread_delayed_free list: free too. */
		for (k = 0; k < r.nused; k++) {
			uint64_t b = h->used[r.first_used + k];

			if (!w->delayed.n || !u64map_get(&w->delayed, b, NULL))
				sorted[n + m++] = b;
		}
		r.first_used = n;
		r.nused = (uint32_t)m;
		n += m;
		h->used_blocks[r.tag] += r.nused;
		h->used_bytes[r.tag] += r.nused * r.block_size;
		h->pages[out++] = r;
	}
	h->npages = out;
	free(h->used);
	h->used = sorted;
	h->nused = n;
	h->used_alloc = n + 1;
}

/* What the walk needs of L; NULL if it has it all. */
static const char *missing_layout(const struct py_layout *L, bool *v25)
{
	static const enum py_field need[] = {
		PY_F_TSI_MI_HEAPS, PY_F_MIH_PAGES, PY_F_MIH_DELAYED,
		PY_F_MIH_THREAD_ID, PY_F_MIH_TAG, PY_F_MIP_SLICE_COUNT,
		PY_F_MIP_SLICE_OFFSET, PY_F_MIP_CAPACITY, PY_F_MIP_FREE,
		PY_F_MIP_USED, PY_F_MIP_LOCAL_FREE, PY_F_MIP_XTHREAD_FREE,
		PY_F_MIP_NEXT, PY_F_MIP_DEBUG_OFFSET, PY_F_MIS_SLICES,
		PY_F_MIS_NSLICES,
	};
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(need); i++)
		if (!py_has(L, need[i]))
			return py_field_info[need[i]].id;
	if (L->size[PY_S_MIHEAP] <= 0 || L->size[PY_S_MIPQ] <= 0 ||
	    L->size[PY_S_MIPAGE] <= 0)
		return "the size of mi_heap_t, mi_page_queue_t or mi_page_t";
	if (py_has(L, PY_F_MIP_KEYS))
		return "plain free lists (this mimalloc encodes them)";
	*v25 = !py_has(L, PY_F_MIP_XBLOCK_SIZE);
	if (*v25 && (!py_has(L, PY_F_MIP_BLOCK_SIZE) ||
		     !py_has(L, PY_F_MIP_PAGE_START)))
		return "MIP_BLOCK_SIZE";
	return NULL;
}

int mimalloc_walk_at(struct target *t, const struct py_layout *L,
		     const struct mi_threads *th, struct mimalloc_heap *h)
{
	struct walk w = { .t = t, .L = L, .h = h, .seen = U64MAP_INIT,
			  .delayed = U64MAP_INIT };
	const char *missing;
	size_t i;
	unsigned tag;

	memset(h, 0, sizeof(*h));
	missing = missing_layout(L, &w.v25);
	if (missing) {
		snprintf(h->note, sizeof(h->note), "mimalloc not walked: no "
			 "layout for %s", missing);
		return 0;
	}
	/* mi_heap_t.pages[] holds MI_BIN_FULL + 1 queues: its member's
	 * size over a queue's. */
	w.nqueues = L->width[PY_F_MIH_PAGES] / L->size[PY_S_MIPQ];
	if (w.nqueues < 1 || w.nqueues > 128) {
		snprintf(h->note, sizeof(h->note), "mimalloc not walked: "
			 "%lld page queues per heap",
			 (long long)w.nqueues);
		return 0;
	}
	w.freemap = xmalloc(MI_MAX_CAPACITY);
	for (i = 0; i < th->n; i++) {
		uint64_t heaps = th->tstates[i] +
				 (uint64_t)L->off[PY_F_TSI_MI_HEAPS];

		h->thread_heaps++;
		for (tag = 0; tag < MI_TAGS; tag++)
			walk_heap(&w, heaps + tag * (uint64_t)L->size[PY_S_MIHEAP],
				  tag, th->thread_ids ? th->thread_ids[i] : 0);
	}
	/* 2.1 (3.13t): the interpreter's abandoned pool, a list headed by a
	 * mi_tagged_segment_t (the segment with a tag in its low bits,
	 * MI_TAGGED_MASK = MI_SEGMENT_MASK) and the list of those visited.
	 * 2.5 (3.14t, 3.15t): the segments of its sub-process that no
	 * thread owns, found by their headers (scan_abandoned). */
	for (i = 0; i < th->ninterps; i++) {
		uint64_t sp;

		if (w.v25 && py_has(L, PY_F_IS_MI_SUBPROC) &&
		    py_has(L, PY_F_MIS_SUBPROC) &&
		    py_has(L, PY_F_MIS_THREAD_ID) &&
		    py_has(L, PY_F_MIS_SEGMENT_SIZE) &&
		    py_has(L, PY_F_MIS_USED) && py_has(L, PY_F_MIS_ABANDONED)) {
			sp = rd(&w, th->interps[i], PY_F_IS_MI_SUBPROC);
			if (sp && !(sp & 7))
				scan_abandoned(&w, sp);
			else
				h->abandoned_unread = true;
			continue;
		}
		if (!py_has(L, PY_F_IS_MI_ABANDONED) ||
		    !py_has(L, PY_F_IS_MI_VISITED) ||
		    !py_has(L, PY_F_MIS_ABANDONED_NEXT)) {
			h->abandoned_unread = true;
			continue;
		}
		walk_abandoned(&w, rd(&w, th->interps[i], PY_F_IS_MI_ABANDONED) &
				   ~(MI_SEGMENT_SIZE - 1));
		walk_abandoned(&w, rd(&w, th->interps[i], PY_F_IS_MI_VISITED));
	}
	finish(&w);
	free(w.freemap);
	u64map_release(&w.seen);
	u64map_release(&w.delayed);
	h->walked = true;
	return 0;
}

int mimalloc_walk(struct pyproc *p, const struct py_stacks *st,
		  struct mimalloc_heap *h)
{
	struct mi_threads th = { 0 };
	uint64_t *ts, *ids, *interps;
	size_t i, j, n = 0;
	int rc;

	for (i = 0; i < st->ninterps; i++)
		n += st->interps[i].nthreads;
	ts = xmalloc((n + 1) * sizeof(*ts));
	ids = xmalloc((n + 1) * sizeof(*ids));
	interps = xmalloc((st->ninterps + 1) * sizeof(*interps));
	for (i = 0; i < st->ninterps; i++) {
		interps[th.ninterps++] = st->interps[i].addr;
		for (j = 0; j < st->interps[i].nthreads; j++) {
			ts[th.n] = st->interps[i].threads[j].tstate;
			ids[th.n++] = st->interps[i].threads[j].thread_id;
		}
	}
	th.tstates = ts;
	th.thread_ids = ids;
	th.interps = interps;
	rc = mimalloc_walk_at(p->t, &p->L, &th, h);
	free(ts);
	free(ids);
	free(interps);
	return rc;
}

void mimalloc_release(struct mimalloc_heap *h)
{
	free(h->pages);
	free(h->used);
	memset(h, 0, sizeof(*h));
}

bool mimalloc_block_of(const struct mimalloc_heap *h, uint64_t addr,
		       uint64_t *start, uint64_t *size, bool *used,
		       uint8_t *tag)
{
	size_t lo = 0, hi = h->npages;
	const struct mi_page_rec *r = NULL;
	uint64_t b;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mi_page_rec *x = &h->pages[mid];

		if (addr < x->start)
			hi = mid;
		else if (addr - x->start >= (uint64_t)x->capacity *
			 x->block_size)
			lo = mid + 1;
		else {
			r = x;
			break;
		}
	}
	if (!r)
		return false;
	b = r->start + (addr - r->start) / r->block_size * r->block_size;
	*start = b;
	*size = r->block_size;
	*tag = r->tag;
	*used = heap_sorted_has(h->used, r->first_used,
				r->first_used + r->nused, b, NULL);
	return true;
}
