/*
 * The native-leak scan (snapshot.h enum chunk_reach, SNAP_LEAKS): which
 * in-use malloc chunks something still points to, found at snap time by
 * a conservative word scan of the copied image, with valgrind memcheck's
 * rules so that the two can be compared (memcheck/mc_leakcheck.c:
 * lc_push_without_clique_if_a_chunk_ptr, lc_push_with_clique_if_a_chunk_ptr
 * and the clique loop of lc_detect_memory_leaks).
 *
 * Why here, in the census: the chunk contents are not kept in the
 * snapshot, so the scan runs while the image is at hand; and it needs
 * what only the census knows (each object's block and pre-header, the
 * pymalloc arenas, which chunks are objects and buffers).
 *
 * Roots, and what is deliberately not a root:
 *   - every live (not garbage) Python object's own block, scanned in
 *     full except its PyGC_Head: the GC's list links point at the
 *     neighbouring objects whatever holds them, and are why valgrind
 *     calls a gc-invisible cycle "still reachable" (LEAKS.md §2.5);
 *   - the chunks that are an object's or an object's buffer take their
 *     owner's class (reachable, or held by Python garbage) and are
 *     scanned with it: their state is known exactly, not guessed -- but
 *     the buffers of lists, deques, dicts and sets hold references only
 *     (and a list's spare capacity stale words), and are not scanned;
 *   - the used pymalloc blocks no object lives in (PyMem_Malloc memory
 *     of CPython and extensions), but those same buffers;
 *   - every thread's registers (PTRACE_GETREGS during the stop) and its
 *     stack from the stack pointer, less the 128-byte red zone the
 *     x86_64 ABI lets a leaf function use (valgrind scans it too), up;
 *     a thread's static TLS and TCB lie at the top of its stack (glibc
 *     nptl/allocatestack.c); see dead_from() for stacks that share a
 *     mapping;
 *   - every other writable mapping that was copied: the data and bss of
 *     every ELF object, the main thread's TLS (ld.so's early mmap), and
 *     anonymous memory, less what an allocator owns: every malloc chunk
 *     (in use ones are reached through pointers; free ones hold stale
 *     words) and pymalloc's arenas (live objects are scanned above; free
 *     blocks hold stale words), and the 3.11+ Python data stacks (see
 *     datastack_ranges()).
 * The image holds no executable, shared or unreadable mapping (image.c
 * "what to copy"): none of those is scanned, as none is by LeakSanitizer.
 *
 * Classes, as memcheck: a start pointer (to the user memory, chunk + 16)
 * from a root or a reachable chunk makes a chunk reachable; an interior
 * pointer, or any pointer from a possibly reachable chunk, makes it
 * possibly reachable; a chunk reached only from Python garbage (what
 * pyheap garbage reports: OBJ_GARBAGE), or possibly reachable but held
 * by its start from garbage, is held by garbage.  The rest are
 * lost: in address order, each still-unclassified chunk leads a clique
 * of the chunks its words reach (start or interior), which become
 * indirectly lost; a former leader reached so is absorbed with its
 * clique.  The leaders are definitely lost.
 *
 * Bounds: every region is read from the image in pages (a page that is
 * not there is skipped), every chunk is pushed at most three times (one
 * per upgrade), so the scan is O(words + chunks log chunks).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Working state of a chunk beyond enum chunk_reach: not yet reached. */
#define UNREACHED 0xff

/* The x86_64 System V ABI's red zone below the stack pointer. */
#define RED_ZONE 128

struct lk {
	struct census *c;
	const struct malloc_heap *m;
	struct snapshot *s;
	uint8_t *reach;      /* enum chunk_reach, or UNREACHED */
	uint8_t *fixed;      /* 1: class given by its owner; never pushed */
	uint8_t *unscanned;  /* 1: a chunk that is a buffer of references
			      * only (see pointer_buffers()) */
	uint8_t *block_skip; /* per used pymalloc block: the same */
	uint32_t *holder, *root, *clique;
	uint64_t *ind_bytes, *ind_chunks;
	uint32_t *stack;
	size_t nstack, stack_alloc;
	struct lk_range *segs;  /* runs of adjacent chunks: a quick "in malloc" */
	size_t nsegs, segs_alloc;
	/* Who the words being scanned belong to: 1 + object id, or a
	 * string id; and whether a start pointer from them is definite. */
	uint32_t cur_holder, cur_root;
	bool definite, garbage_phase;
	uint64_t words, root_bytes;
	struct lk_skip_stats skip;
	size_t pool_hint;    /* pymalloc_block_end()'s */
	uint64_t buf[512];
};

/* The in-use chunk whose user memory holds w, or -1; *start: w is its
 * first byte.  Pointers into a chunk's header point at no allocation. */
static int64_t chunk_at(const struct lk *k, uint64_t w, bool *start)
{
	size_t lo = 0, hi = k->nsegs;
	const struct malloc_chunk_rec *ch;

	if (!k->nsegs || w < k->segs[0].start ||
	    w >= k->segs[k->nsegs - 1].end)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w < k->segs[mid].start)
			hi = mid;
		else if (w >= k->segs[mid].end)
			lo = mid + 1;
		else
			break;
	}
	if (lo >= hi)
		return -1;
	ch = malloc_chunk_of(k->m, w);
	if (!ch || w < ch->addr + 16)
		return -1;
	*start = w == ch->addr + 16;
	return ch - k->m->chunks;
}

static void push(struct lk *k, uint32_t j)
{
	PH_GROW(k->stack, k->stack_alloc, k->nstack + 1);
	k->stack[k->nstack++] = j;
}

/* One word from the memory being scanned (lc_push_without_clique_if_a_
 * chunk_ptr; in the garbage phase, any pointer holds a chunk for
 * garbage). */
static void word(struct lk *k, uint64_t w)
{
	bool start;
	int64_t j = chunk_at(k, w, &start);

	if (j < 0 || k->fixed[j])
		return;
	if (k->garbage_phase) {
		/* Garbage that points to a chunk's start holds it more surely
		 * than a word into its middle from elsewhere, most likely
		 * stale: such a chunk is held by garbage, not possibly lost. */
		if (k->reach[j] != UNREACHED &&
		    !(k->reach[j] == REACH_POSSIBLE && start))
			return;
		k->reach[j] = REACH_GARBAGE;
	} else if (k->reach[j] == REACH_REACHABLE) {
		return;
	} else if (start && k->definite) {
		k->reach[j] = REACH_REACHABLE;
	} else if (k->reach[j] == UNREACHED) {
		k->reach[j] = REACH_POSSIBLE;
	} else {
		return;
	}
	k->holder[j] = k->cur_holder;
	k->root[j] = k->cur_root;
	push(k, (uint32_t)j);
}

/* Every aligned word of [from, to) in the image; pages the image does
 * not hold are skipped. */
static void scan(struct lk *k, uint64_t from, uint64_t to,
		 void (*fn)(struct lk *, uint64_t))
{
	from = (from + 7) & ~7ull;
	to &= ~7ull;
	while (from < to) {
		uint64_t page_end = (from | 4095) + 1;
		uint64_t n = PH_MIN(PH_MIN(to, page_end) - from,
				    (uint64_t)sizeof(k->buf));
		size_t i;

		if (target_read(k->c->t, from, k->buf, (size_t)n)) {
			from = page_end;
			continue;
		}
		for (i = 0; i < n / 8; i++)
			if (k->buf[i] >= 4096)
				fn(k, k->buf[i]);
		k->words += n / 8;
		from += n;
	}
}

/* A chunk's user memory: from chunk + 16 to its end, and the next
 * chunk's prev_size field, which an in-use chunk's user owns
 * (malloc.c "chunk details"); an mmapped chunk has no next. */
static void chunk_words(struct lk *k, uint32_t j,
			void (*fn)(struct lk *, uint64_t))
{
	const struct malloc_chunk_rec *ch = &k->m->chunks[j];
	uint64_t end = ch->addr + ch->size;

	if (ch->state != CHUNK_MMAPPED)
		end += 8;
	scan(k, ch->addr + 16, end, fn);
}

/* Scan what the pushed chunks reach; the caller's source of words (a
 * root: definite, its holder and root name) is kept for its next ones. */
static void drain(struct lk *k)
{
	bool definite = k->definite;
	uint32_t holder = k->cur_holder, root = k->cur_root;

	while (k->nstack) {
		uint32_t j = k->stack[--k->nstack];

		k->definite = k->reach[j] == REACH_REACHABLE;
		k->cur_holder = k->holder[j];
		k->cur_root = k->root[j];
		chunk_words(k, j, word);
	}
	k->definite = definite;
	k->cur_holder = holder;
	k->cur_root = root;
}

/* The end of the pymalloc block or malloc chunk an object lives in
 * (UINT64_MAX when it is in neither: static, or unknown memory). */
static uint64_t allocation_end(struct lk *k, const struct snap_object *o,
			       uint64_t start)
{
	const struct malloc_chunk_rec *ch;

	if (o->flags & OBJ_IN_PYMALLOC)
		return pymalloc_block_end(&k->c->heap, start, &k->pool_hint);
	ch = malloc_chunk_of(k->m, start);
	if (ch && chunk_in_use(ch))
		return ch->state == CHUNK_MMAPPED ? ch->addr + ch->size :
		       ch->addr + ch->size + 8;
	return UINT64_MAX;
}

/* The memory of object i: its block less the GC links. */
static void object_words(struct lk *k, size_t i)
{
	struct census *c = k->c;
	const struct snap_object *o = &c->s->objects[i];
	const struct tinfo *ti = census_obj_tinfo(c, i);
	uint64_t start = census_alloc_start(c, o->addr, ti);
	uint64_t own = o->size - o->buffers + c->debug_hdr;
	uint64_t end = start + own;

	if (o->size < o->buffers || end < start)
		return;
	/* The variable part of an int, str, bytes, float or code object is
	 * data (digits, characters, bytecode), never a pointer: only its
	 * fixed struct is scanned.  Bytes of data that look like an address
	 * would otherwise hold chunks nothing holds (common where the heap
	 * sits at low addresses, as with a non-PIE python3.11). */
	if (leaks_data_tail(ti->kind) && ti->basicsize > 0 &&
	    o->addr + (uint64_t)ti->basicsize < end)
		end = o->addr + (uint64_t)ti->basicsize;
	/* Never past the allocation: a size can count memory held apart
	 * (a module's state, in module_sizeof), and what follows a block
	 * is another block -- free, with stale words. */
	end = PH_MIN(end, allocation_end(k, o, start));
	if (ti->gc && o->addr - start >= 16) {
		scan(k, start, o->addr - 16, word);
		scan(k, o->addr, end, word);
	} else {
		scan(k, start, end, word);
	}
}

/* The chunks whose class their owner gives. */
static void fix_owned(struct lk *k, const uint8_t *garbage)
{
	size_t j;

	for (j = 0; j < k->m->nchunks; j++) {
		const struct snap_chunk *sc = &k->s->chunks[j];

		if (!chunk_in_use(&k->m->chunks[j])) {
			k->reach[j] = REACH_NONE;
			k->fixed[j] = 1;
			continue;
		}
		switch (sc->owner_kind) {
		case OWNER_OBJECT:
		case OWNER_BUFFER:
			k->reach[j] = garbage[sc->owner] ? REACH_GARBAGE :
				      REACH_REACHABLE;
			k->fixed[j] = 1;
			break;
		case OWNER_ALLOCATOR:
			k->reach[j] = REACH_REACHABLE;
			k->fixed[j] = 1;
			break;
		default:
			k->reach[j] = UNREACHED;
		}
	}
}

/*
 * The buffers of containers of references (list and deque items, dict
 * and set tables) hold only object pointers, never native memory; and a
 * list's spare capacity holds whatever the block held before -- words
 * that point into freed and reused memory, which valgrind, knowing them
 * undefined, would not count.  They are not scanned.
 */
static bool pointer_container(enum obj_kind kind)
{
	return kind == K_LIST || kind == K_DEQUE || kind == K_DICT ||
	       kind == K_ODICT || kind == K_SET;
}

static void mark_buffer(void *ctx, uint64_t p)
{
	struct lk *k = ctx;
	const struct malloc_chunk_rec *ch;
	uint64_t start;
	uint32_t size;
	bool used;
	size_t at;

	if (pymalloc_block_of(&k->c->heap, p, &start, &size, &used, &at)) {
		if (used && at < k->c->heap.nused)
			k->block_skip[at] = 1;
		return;
	}
	ch = malloc_chunk_of(k->m, p);
	if (ch)
		k->unscanned[ch - k->m->chunks] = 1;
}

static void pointer_buffers(struct lk *k)
{
	struct census *c = k->c;
	size_t i;

	for (i = 0; i < c->nobjs; i++) {
		const struct tinfo *ti = census_obj_tinfo(c, i);

		if (pointer_container(ti->kind) && c->s->objects[i].buffers)
			census_for_each_buffer(c, c->s->objects[i].addr, ti,
					       mark_buffer, k);
	}
}

/* Objects of one side (live or garbage) as roots, with the buffers in
 * malloc chunks that they own. */
static void object_roots(struct lk *k, const uint8_t *garbage, bool want)
{
	struct census *c = k->c;
	size_t i, j;

	k->definite = true;
	k->cur_root = 0;
	/* In address order (the snapshot's): neighbours share a pool
	 * (pymalloc_block_end's hint) and the image's pages. */
	for (i = 0; i < c->nobjs; i++) {
		if (c->s->objects[i].flags & OBJ_STATIC ||
		    !garbage[i] != !want)
			continue;
		k->cur_holder = (uint32_t)i + 1;
		object_words(k, i);
	}
	for (j = 0; j < k->m->nchunks; j++) {
		const struct snap_chunk *sc = &k->s->chunks[j];

		if (sc->owner_kind != OWNER_BUFFER ||
		    !garbage[sc->owner] != !want || k->unscanned[j])
			continue;
		k->cur_holder = sc->owner + 1;
		chunk_words(k, (uint32_t)j, word);
	}
	drain(k);
}

static uint32_t root_name(struct lk *k, const struct map *m,
			  const struct target_thread *th)
{
	char buf[160];
	const char *base;

	if (th) {
		snprintf(buf, sizeof(buf), "stack of thread %d", (int)th->tid);
	} else if (!leaks_anonymous_map(m) && m->path) {
		base = strrchr(m->path, '/');
		snprintf(buf, sizeof(buf), "%s data", base ? base + 1 :
			 m->path);
	} else {
		snprintf(buf, sizeof(buf), "anonymous memory");
	}
	return snapshot_cstring(k->s, buf);
}

/* [from, to) less the excluded ranges (sorted; ex_i is where the search
 * resumes, maps being scanned in address order). */
static void scan_less(struct lk *k, uint64_t from, uint64_t to,
		      const struct lk_range *ex, size_t nex, size_t *ex_i)
{
	size_t i = *ex_i;

	while (i < nex && ex[i].end <= from)
		i++;
	*ex_i = i;
	for (; from < to; i++) {
		uint64_t stop = i < nex && ex[i].start < to ? ex[i].start : to;

		if (stop > from) {
			scan(k, from, stop, word);
			k->root_bytes += stop - from;
		}
		if (i >= nex || ex[i].start >= to)
			break;
		if (ex[i].end > from)
			from = ex[i].end;
	}
}

/* Used pymalloc blocks that hold no object the census found: memory
 * CPython or an extension got from PyMem_Malloc/PyObject_Malloc (small
 * buffers, C structs), which may point at native memory. */
static void pymalloc_roots(struct lk *k)
{
	const struct pymalloc_heap *h = &k->c->heap;
	size_t i, b;

	k->definite = true;
	k->cur_holder = 0;
	k->cur_root = snapshot_cstring(k->s, "pymalloc blocks");
	for (i = 0; i < h->npools; i++) {
		const struct pymalloc_pool *pl = &h->pools[i];

		for (b = 0; b < pl->nused; b++) {
			uint64_t idx = pl->first_block + b;

			if (idx >= h->nused || k->c->block_known[idx] ||
			    k->block_skip[idx])
				continue;
			scan(k, h->used[idx], h->used[idx] + pl->block_size,
			     word);
			k->root_bytes += pl->block_size;
		}
	}
	drain(k);
}

/*
 * Where the dead part of a thread's stack starts: the memory below its
 * stack pointer (less the red zone) is dead down to the bottom of its
 * stack, which is not known -- but several threads' stacks can share
 * one mapping (glibc puts them side by side, and since 2.42 guards them
 * with MADV_GUARD_INSTALL, which splits no mapping), so the dead part
 * ends above the top of any other thread's stack below it.  A glibc
 * thread's stack ends just above its struct pthread, at its thread
 * pointer (nptl/allocatestack.c, TLS_TCB_AT_TP on x86_64); the next page
 * boundary past 4 KiB above it is taken as that end, which errs towards
 * scanning (struct pthread is about 2.3 KiB in glibc 2.36-2.43).
 */
static uint64_t dead_from(const struct map *m, uint64_t dead_to,
			  const struct target_thread *threads, size_t nthreads)
{
	uint64_t from = m->start;
	size_t j;

	for (j = 0; j < nthreads; j++) {
		uint64_t fs = threads[j].fs_base, top;

		if (fs < m->start || fs >= m->end || fs > UINT64_MAX - 8192)
			continue;
		top = (fs + 8192) & ~4095ull;
		if (top <= dead_to && top > from)
			from = top;
	}
	return from;
}

static int sp_cmp(const void *a, const void *b)
{
	const struct target_thread *x = *(const struct target_thread *const *)a;
	const struct target_thread *y = *(const struct target_thread *const *)b;

	return x->sp < y->sp ? -1 : x->sp > y->sp;
}

/* A writable mapping less the dead parts of the stacks in it, each part
 * named by whose it is. */
static void region(struct lk *k, const struct map *m,
		   const struct target_thread *threads, size_t nthreads,
		   const struct target_thread **in, const struct lk_range *ex,
		   size_t nex, size_t *ex_i)
{
	uint32_t name = root_name(k, m, NULL);
	uint64_t pos = m->start;
	size_t n = 0, t;

	for (t = 0; t < nthreads; t++)
		if (threads[t].has_regs && threads[t].sp >= m->start &&
		    threads[t].sp < m->end)
			in[n++] = &threads[t];
	if (n > 1)
		qsort(in, n, sizeof(*in), sp_cmp);
	for (t = 0; t < n; t++) {
		uint64_t to = in[t]->sp > m->start + RED_ZONE ?
			      in[t]->sp - RED_ZONE : m->start;
		uint64_t from = dead_from(m, to, threads, nthreads);

		if (from < pos)
			from = pos;
		if (from > pos) {
			k->cur_root = name;
			scan_less(k, pos, from, ex, nex, ex_i);
		}
		if (to > pos)
			pos = to;
		name = root_name(k, m, in[t]);
	}
	k->cur_root = name;
	scan_less(k, pos, m->end, ex, nex, ex_i);
	drain(k);
}

static void region_roots(struct lk *k, const struct target_thread *threads,
			 size_t nthreads, const struct py_stacks *st)
{
	const struct maps *maps = &k->c->t->maps;
	const struct target_thread **in = xcalloc(nthreads + 1, sizeof(*in));
	size_t nex, ex_i = 0, i, t;
	struct lk_range *ex = leaks_exclusions(k->c, st, k->segs, k->nsegs,
					       &nex, &k->skip);

	k->definite = true;
	k->cur_holder = 0;
	for (i = 0; i < maps->n; i++) {
		const struct map *m = &maps->v[i];

		if (m->copied && (m->perms & MAP_W))
			region(k, m, threads, nthreads, in, ex, nex, &ex_i);
	}
	free(in);
	free(ex);
	for (t = 0; t < nthreads; t++) {
		char buf[64];
		size_t r;

		if (!threads[t].has_regs)
			continue;
		snprintf(buf, sizeof(buf), "registers of thread %d",
			 (int)threads[t].tid);
		k->cur_root = snapshot_cstring(k->s, buf);
		for (r = 0; r < TARGET_NREGS; r++)
			word(k, threads[t].regs[r]);
		drain(k);
	}
}

/* lc_push_with_clique_if_a_chunk_ptr: a word of a lost chunk of the
 * clique led by k->cur_holder - 1. */
static void clique_word(struct lk *k, uint64_t w)
{
	bool start;
	int64_t j = chunk_at(k, w, &start);
	uint32_t leader = k->cur_holder - 1;

	if (j < 0 || k->fixed[j] || (uint32_t)j == leader)
		return;
	if (k->reach[j] != UNREACHED && k->reach[j] != REACH_LOST)
		return;
	k->ind_bytes[leader] += k->m->chunks[j].size + k->ind_bytes[j];
	k->ind_chunks[leader] += 1 + k->ind_chunks[j];
	k->ind_bytes[j] = k->ind_chunks[j] = 0;
	k->reach[j] = REACH_INDIRECT;
	k->clique[j] = leader;
	push(k, (uint32_t)j);
}

static void cliques(struct lk *k)
{
	size_t i;

	for (i = 0; i < k->m->nchunks; i++) {
		if (k->reach[i] != UNREACHED)
			continue;
		k->reach[i] = REACH_LOST;
		k->cur_holder = (uint32_t)i + 1;
		push(k, (uint32_t)i);
		while (k->nstack)
			chunk_words(k, k->stack[--k->nstack], clique_word);
	}
	/* An absorbed leader's members still name it: follow to the
	 * leader that is lost (chains are as deep as absorptions). */
	for (i = 0; i < k->m->nchunks; i++) {
		uint32_t l;
		size_t steps = 0;

		if (k->reach[i] != REACH_INDIRECT)
			continue;
		l = k->clique[i];
		while (k->reach[l] == REACH_INDIRECT &&
		       steps++ < k->m->nchunks)
			l = k->clique[l];
		k->clique[i] = l;
	}
}

static void add_segments(struct lk *k)
{
	size_t i;

	for (i = 0; i < k->m->nchunks; i++) {
		const struct malloc_chunk_rec *ch = &k->m->chunks[i];

		if (k->nsegs && k->segs[k->nsegs - 1].end == ch->addr) {
			k->segs[k->nsegs - 1].end = ch->addr + ch->size;
			continue;
		}
		PH_GROW(k->segs, k->segs_alloc, k->nsegs + 1);
		k->segs[k->nsegs].start = ch->addr;
		k->segs[k->nsegs++].end = ch->addr + ch->size;
	}
}

static void store(struct lk *k)
{
	uint64_t n[REACH__COUNT] = { 0 }, b[REACH__COUNT] = { 0 };
	static const char *const names[REACH__COUNT] = {
		NULL, "reachable", "possibly_lost", "python_garbage",
		"definitely_lost", "indirectly_lost",
	};
	size_t i;

	for (i = 0; i < k->m->nchunks; i++) {
		struct snap_chunk *sc = &k->s->chunks[i];
		uint8_t r = k->reach[i];

		sc->reach = r;
		sc->leader = r == REACH_INDIRECT ? k->clique[i] + 1 : 0;
		if (!k->fixed[i] && (r == REACH_REACHABLE ||
				     r == REACH_POSSIBLE ||
				     r == REACH_GARBAGE)) {
			sc->holder = k->holder[i];
			sc->root = k->root[i];
		}
		n[r]++;
		b[r] += sc->size;
	}
	for (i = 1; i < REACH__COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "leaks.%s.chunks", names[i]);
		snapshot_stat(k->s, name, (int64_t)n[i]);
		snprintf(name, sizeof(name), "leaks.%s.bytes", names[i]);
		snapshot_stat(k->s, name, (int64_t)b[i]);
	}
	snapshot_stat(k->s, "leaks.scanned_words", (int64_t)k->words);
	snapshot_stat(k->s, "leaks.root_bytes", (int64_t)k->root_bytes);
	snapshot_stat(k->s, "leaks.datastack_chunks",
		      (int64_t)k->skip.datastack_chunks);
	snapshot_stat(k->s, "leaks.static_tails",
		      (int64_t)k->skip.static_tails);
}

void census_leaks(struct census *c, const struct target_thread *threads,
		  size_t nthreads, const struct py_stacks *st)
{
	struct lk *k = xcalloc(1, sizeof(*k));
	size_t n = c->malloc.nchunks + 1, i;
	uint8_t *garbage = xcalloc(c->s->nobjects + 1, 1);
	uint64_t t0 = ph_now_ns();

	for (i = 0; i < c->s->nobjects; i++)
		garbage[i] = !!(c->s->objects[i].flags & OBJ_GARBAGE);
	k->c = c;
	k->m = &c->malloc;
	k->s = c->s;
	k->reach = xmalloc(n);
	k->fixed = xcalloc(n, 1);
	k->unscanned = xcalloc(n, 1);
	k->block_skip = xcalloc(c->heap.nused + 1, 1);
	k->holder = xcalloc(n, sizeof(*k->holder));
	k->root = xcalloc(n, sizeof(*k->root));
	k->clique = xcalloc(n, sizeof(*k->clique));
	k->ind_bytes = xcalloc(n, sizeof(*k->ind_bytes));
	k->ind_chunks = xcalloc(n, sizeof(*k->ind_chunks));
	k->pool_hint = SIZE_MAX;
	add_segments(k);
	fix_owned(k, garbage);
	pointer_buffers(k);

	/* Objects first, so a chunk an object and a global both reach is
	 * named by the object. */
	object_roots(k, garbage, false);
	pymalloc_roots(k);
	region_roots(k, threads, nthreads, st);
	k->garbage_phase = true;
	object_roots(k, garbage, true);
	k->garbage_phase = false;
	cliques(k);
	store(k);
	leaks_signatures(c, k->reach, k->clique);
	c->s->meta.flags |= SNAP_LEAKS;
	snapshot_stat(c->s, "leaks.scan_ms",
		      (int64_t)((ph_now_ns() - t0) / 1000000));

	free(garbage);
	free(k->reach);
	free(k->fixed);
	free(k->unscanned);
	free(k->block_skip);
	free(k->holder);
	free(k->root);
	free(k->clique);
	free(k->ind_bytes);
	free(k->ind_chunks);
	free(k->stack);
	free(k->segs);
	free(k);
}
