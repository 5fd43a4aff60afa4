/*
 * Synthetic glibc processes for the malloc walk suites (test_glibc.c,
 * test_glibc_hostile.c): a libc with main_arena and mp_ in its data,
 * [heap], one non-main arena in a 64 MiB-aligned heap and one mmapped
 * chunk, laid out as each glibc version lays them out (INTERNALS §8,
 * INTERNALS-2026 §10):
 *
 *   2.30-2.41  malloc_state with fastbins (top +96), 0x290 tcache with
 *              counts[64], the main thread's tcache first in [heap]
 *   2.42       the same malloc_state, 0x300 tcache with num_slots[76]
 *              (entries = tcache_count - num_slots), large bins
 *   2.43       no fastbins (top +8, next +2072, system_mem +2096), mp_
 *              fields moved, non-main arena's first chunk at +0x870,
 *              tcache_count 16, the tcache after two chunks of [heap],
 *              mmapped chunks 16 bytes short of their mapping
 *
 * The builder keeps its own copy of the layouts (facts()), so that a wrong
 * table in heap/glibc_find.c cannot build the process it then reads.
 */
#ifndef PYHEAP_TEST_GLIBC_SYNTH_H
#define PYHEAP_TEST_GLIBC_SYNTH_H

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "heap/heap.h"
#include "synth.h"

#define LIBC_PATH "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBC_BASE 0x7f3000000000ull
#define LIBC_LEN 0x4000u
#define MAIN_ARENA (LIBC_BASE + 0x100)
#define MP (LIBC_BASE + 0x1000)
#define HEAP_BASE 0x555555a00000ull
#define HEAP_LEN 0x10000u
#define AR2_HEAP 0x7f1234000000ull /* 64 MiB aligned */
#define AR2_LEN 0x8000u
#define MMAP_BASE 0x7f5000000000ull
#define MMAP_LEN 0x2000u
#define TCACHE_KEY 0x1234567890abcdefull

enum { C_INUSE = 1, C_FREE, C_FAST, C_TCACHE, C_STRUCT };

struct gchunk {
	uint64_t addr, size;
	int state;
};

/* A synthetic process under construction, and what its walk must give. */
struct gproc {
	int minor;
	struct glibc_layout g;
	struct synth libc, heap, ar2;
	uint64_t ar2_state;         /* the non-main malloc_state */
	uint64_t brk[2];            /* next chunk: in [heap], the arena heap */
	struct gchunk c[2][96];
	size_t n[2];
	uint64_t tcache_count;
	/* expected */
	uint64_t inuse, free_b, free_n, fast_b, fast_n, tc_b, tc_n, top_b;
	uint64_t tcaches;
};

/* The builder's own copy of the layouts (INTERNALS §8.2, INTERNALS-2026
 * §10.1-10.2), kept apart from glibc_find.c's so that a wrong table there
 * cannot build the synthetic process it then reads. */
static inline void facts(struct glibc_layout *g, int minor)
{
	memset(g, 0, sizeof(*g));
	g->minor = minor;
	if (minor <= 42) {
		g->ms_fastbins = 16;
		g->ms_top = 96;
		g->ms_next = 2160;
		g->ms_system_mem = 2184;
		g->ms_size = 2200;
	} else {
		g->ms_fastbins = -1;
		g->ms_top = 8;
		g->ms_next = 2072;
		g->ms_system_mem = 2096;
		g->ms_size = 2112;
	}
	g->heap_info_size = minor >= 35 ? 48 : 32;
	g->mp_mmap_threshold = 16;
	g->mp_n_mmaps = minor >= 43 ? 68 : minor >= 35 ? 60 : 40;
	g->mp_mmapped_mem = minor >= 43 ? 88 : minor >= 35 ? 80 : 56;
	g->mp_sbrk_base = minor >= 43 ? 104 : minor >= 35 ? 96 : 72;
	g->mp_tcache_bins = g->mp_sbrk_base + 8;
	g->mp_tcache_max_bytes = g->mp_sbrk_base + 16;
	g->mp_tcache_count = g->mp_sbrk_base + 24;
	g->tcache_bins = minor >= 42 ? 76 : 64;
	g->tcache_chunk = minor >= 42 ? 0x300 : 0x290;
	g->tcache_slots = minor >= 42;
	g->safe_link = minor >= 32;
	g->mmap_tail = minor >= 43 ? 16 : 0;
}

static inline void gp_init(struct gproc *p, int minor)
{
	memset(p, 0, sizeof(*p));
	p->minor = minor;
	facts(&p->g, minor);
	synth_init(&p->libc, LIBC_BASE, LIBC_LEN);
	synth_init(&p->heap, HEAP_BASE, HEAP_LEN);
	synth_init(&p->ar2, AR2_HEAP, AR2_LEN);
	p->brk[0] = HEAP_BASE;
	p->ar2_state = AR2_HEAP + (uint64_t)p->g.heap_info_size;
	/* _int_new_arena: top after the state, chunk2mem 16-aligned */
	p->brk[1] = ((p->ar2_state + (uint64_t)p->g.ms_size + 16 + 15) &
		     ~15ull) - 16;
	p->tcache_count = minor >= 43 ? 16 : 7;
}

static inline struct synth *gp_mem(struct gproc *p, int r)
{
	return r ? &p->ar2 : &p->heap;
}

/* A chunk of size bytes in region r (0 [heap], 1 the arena's heap). */
static inline uint64_t gp_chunk(struct gproc *p, int r, uint64_t size,
				int state)
{
	struct gchunk *c = &p->c[r][p->n[r]++];

	ck_assert(p->n[r] <= 96);
	c->addr = p->brk[r];
	c->size = size;
	c->state = state;
	p->brk[r] += size;
	switch (state) {
	case C_INUSE:
	case C_STRUCT:
		p->inuse += size;
		break;
	case C_FREE:
		p->free_b += size;
		p->free_n++;
		break;
	case C_FAST:
		p->fast_b += size;
		p->fast_n++;
		break;
	case C_TCACHE:
		p->tc_b += size;
		p->tc_n++;
		break;
	}
	return c->addr;
}

/* A tcache struct in region r; bins[] filled by gp_tcache_put(). */
static inline uint64_t gp_tcache(struct gproc *p, int r)
{
	uint64_t c = gp_chunk(p, r, p->g.tcache_chunk, C_STRUCT);
	int i;

	for (i = 0; i < p->g.tcache_bins; i++) {
		uint64_t v = p->g.tcache_slots ? p->tcache_count : 0;

		synth_put(gp_mem(p, r), c + 16 + (uint64_t)i * 2, &v, 2);
	}
	p->tcaches++;
	return c;
}

static inline uint64_t safe(const struct gproc *p, uint64_t at, uint64_t ptr)
{
	return p->g.safe_link ? (at >> 12) ^ ptr : ptr;
}

/* Put the chunks e[0..n) (chunk addresses, region r) in bin i of the
 * tcache at tc (region tr), in that order. */
static inline void gp_tcache_put(struct gproc *p, int tr, uint64_t tc, int i,
				 int r, const uint64_t *e, int n)
{
	struct synth *m = gp_mem(p, tr), *em = gp_mem(p, r);
	uint64_t cnt = p->g.tcache_slots ? p->tcache_count - (uint64_t)n :
			(uint64_t)n;
	uint64_t eoff = (uint64_t)p->g.tcache_bins * 2;
	int k;

	synth_put(m, tc + 16 + (uint64_t)i * 2, &cnt, 2);
	synth_u64(m, tc + 16 + eoff + 8 * (uint64_t)i, n ? e[0] + 16 : 0);
	for (k = 0; k < n; k++) {
		uint64_t u = e[k] + 16;

		synth_u64(em, u, safe(p, u, k + 1 < n ? e[k + 1] + 16 : 0));
		synth_u64(em, u + 8, TCACHE_KEY);
	}
}

/* Fastbin i of the arena at state (region sr: 0 libc, 1 arena heap). */
static inline void gp_fast_put(struct gproc *p, uint64_t state,
			       struct synth *sm, int i, int r,
			       const uint64_t *c, int n)
{
	struct synth *m = gp_mem(p, r);
	int k;

	ck_assert(p->g.ms_fastbins >= 0);
	synth_u64(sm, state + (uint64_t)p->g.ms_fastbins + 8 * (uint64_t)i,
		  c[0]);
	for (k = 0; k < n; k++)
		synth_u64(m, c[k] + 16,
			  safe(p, c[k] + 16, k + 1 < n ? c[k + 1] : 0));
}

/* Headers: each chunk's size with PREV_INUSE unless the chunk before it
 * is free; then the top chunk to the end of the region. */
static inline void gp_finish_region(struct gproc *p, int r, uint64_t end)
{
	struct synth *m = gp_mem(p, r);
	uint64_t flags = r ? 4 : 0; /* NON_MAIN_ARENA */
	bool prev_free = false;
	size_t i;

	for (i = 0; i < p->n[r]; i++) {
		const struct gchunk *c = &p->c[r][i];

		synth_u64(m, c->addr + 8,
			  c->size | flags | (prev_free ? 0 : 1));
		prev_free = c->state == C_FREE;
	}
	synth_u64(m, p->brk[r] + 8, (end - p->brk[r]) | flags |
		  (prev_free ? 0 : 1));
	p->top_b += end - p->brk[r];
}

/* malloc_state fields at state, in synth sm. */
static inline void gp_state(struct gproc *p, struct synth *sm, uint64_t state,
			    uint64_t top, uint64_t next, uint64_t system_mem)
{
	synth_u64(sm, state + (uint64_t)p->g.ms_top, top);
	synth_u64(sm, state + (uint64_t)p->g.ms_next, next);
	synth_u64(sm, state + (uint64_t)p->g.ms_system_mem, system_mem);
}

/*
 * The standard process: in [heap] the main thread's tcache (first; on 2.43
 * after an in-use chunk and a cached one), in-use chunks, a free one, two
 * chunks in tcache bin 1, two in fastbin 0 (to 2.42; in use on 2.43), and
 * on 2.42+ two in large tcache bin 64 (1280 and 1536 bytes, ascending);
 * in the arena heap a thread's tcache and a cached chunk; one mmapped
 * chunk; mp_ with sbrk_base and counts.
 */
static inline void gp_standard(struct gproc *p, int minor)
{
	uint64_t tc, e[2], f[2], first = 0, tc2, x;

	gp_init(p, minor);
	if (minor >= 43) {
		gp_chunk(p, 0, 0x20, C_INUSE);
		first = gp_chunk(p, 0, 0x20, C_TCACHE);
	}
	tc = gp_tcache(p, 0);
	if (first)
		gp_tcache_put(p, 0, tc, 0, 0, &first, 1);
	gp_chunk(p, 0, 0x40, C_INUSE);
	gp_chunk(p, 0, 0x100, C_INUSE);
	gp_chunk(p, 0, 0x90, C_FREE);
	gp_chunk(p, 0, 0x30, C_INUSE);
	e[0] = gp_chunk(p, 0, 0x30, C_TCACHE);
	gp_chunk(p, 0, 0x50, C_INUSE);
	e[1] = gp_chunk(p, 0, 0x30, C_TCACHE);
	gp_tcache_put(p, 0, tc, 1, 0, e, 2);
	if (p->g.ms_fastbins >= 0) {
		f[0] = gp_chunk(p, 0, 0x20, C_FAST);
		gp_chunk(p, 0, 0x20, C_INUSE);
		f[1] = gp_chunk(p, 0, 0x20, C_FAST);
		gp_fast_put(p, MAIN_ARENA, &p->libc, 0, 0, f, 2);
	}
	if (p->g.tcache_slots) {
		e[0] = gp_chunk(p, 0, 0x500, C_TCACHE);
		gp_chunk(p, 0, 0x40, C_INUSE);
		e[1] = gp_chunk(p, 0, 0x600, C_TCACHE);
		gp_tcache_put(p, 0, tc, 64, 0, e, 2);
	} else {
		gp_chunk(p, 0, 0x500, C_INUSE);
	}
	gp_chunk(p, 0, 0x200, C_INUSE);
	gp_finish_region(p, 0, HEAP_BASE + HEAP_LEN);
	gp_state(p, &p->libc, MAIN_ARENA, p->brk[0], p->ar2_state, HEAP_LEN);

	/* the non-main arena: heap_info {ar_ptr, prev, size, mprotect} */
	synth_u64(&p->ar2, AR2_HEAP, p->ar2_state);
	synth_u64(&p->ar2, AR2_HEAP + 16, AR2_LEN);
	synth_u64(&p->ar2, AR2_HEAP + 24, AR2_LEN);
	tc2 = gp_tcache(p, 1);
	ck_assert_uint_eq(tc2 - AR2_HEAP, minor >= 43 ? 0x870 :
			  minor >= 35 ? 0x8d0 : 0x8c0);
	gp_chunk(p, 1, 0x70, C_INUSE);
	x = gp_chunk(p, 1, 0x70, C_TCACHE);
	gp_tcache_put(p, 1, tc2, 5, 1, &x, 1);
	gp_chunk(p, 1, 0x80, C_INUSE);
	gp_finish_region(p, 1, AR2_HEAP + AR2_LEN);
	gp_state(p, &p->ar2, p->ar2_state, p->brk[1], MAIN_ARENA, AR2_LEN);

	/* mp_ */
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_mmap_threshold, 128 << 10);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_n_mmaps, 1);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_mmapped_mem, MMAP_LEN);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_sbrk_base, HEAP_BASE);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_tcache_bins, 64);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_tcache_max_bytes,
		  minor >= 43 ? 1041 : 1032);
	synth_u64(&p->libc, MP + (uint64_t)p->g.mp_tcache_count,
		  p->tcache_count);
	p->inuse += MMAP_LEN;
}

/* What a test can vary about the process it walks. */
struct gopts {
	const char *banner;  /* NULL: "... release version 2.<minor>." */
	bool syms;           /* main_arena and mp_ in .symtab (debug file) */
	bool no_mp;          /* mp_ zeroed */
	bool no_ar2;         /* leave the arena heap unmapped */
};

struct gwalk {
	struct target *t;
	struct objfile of;
	struct malloc_heap m;
};

/* Map p (its buffers go to the target) and walk it. */
static inline void gp_walk(struct gproc *p, const struct gopts *o,
			   struct gwalk *w)
{
	struct pymalloc_heap ph;
	struct pyproc proc;
	/* IS_MMAPPED; 2.43: 16 bytes short of the mapping, prev_size's
	 * MMAP_HP bit set here when found without symbols */
	uint64_t mmhdr[2] = {
		p->minor >= 43 && !o->syms ? 1 : 0,
		(MMAP_LEN - (p->minor >= 43 ? 16 : 0)) | 2,
	};
	char banner[128];
	size_t i;

	if (o->no_mp)
		memset(synth_at(&p->libc, MP, 256), 0, 256);
	memset(w, 0, sizeof(*w));
	w->t = target_fake_new();
	synth_commit(&p->libc, w->t, SYNTH_RW, LIBC_PATH);
	synth_commit(&p->heap, w->t, SYNTH_RW, "[heap]");
	if (o->no_ar2)
		synth_free(&p->ar2);
	else
		synth_commit(&p->ar2, w->t, SYNTH_RW, NULL);
	target_fake_add(w->t, MMAP_BASE, NULL, MMAP_LEN, SYNTH_RW, NULL);
	memcpy(target_fake_bytes(w->t, MMAP_BASE, 16), mmhdr, 16);
	for (i = 0; i < w->t->maps.n; i++)
		if (w->t->maps.v[i].path && w->t->maps.v[i].path[0] == '/')
			w->t->maps.v[i].inode = 4242;
	objfile_fake_init(&w->of, LIBC_PATH);
	snprintf(banner, sizeof(banner), "GNU C Library (Debian GLIBC) stable "
		 "release version 2.%d.\n", p->minor);
	if (o->banner)
		snprintf(banner, sizeof(banner), "%s", o->banner);
	if (banner[0])
		objfile_fake_section(&w->of, ".rodata", LIBC_BASE,
				     strlen(banner) + 1, banner);
	if (o->syms) {
		objfile_fake_sym(&w->of, "main_arena", MAIN_ARENA,
				 (uint64_t)p->g.ms_size, true);
		objfile_fake_sym(&w->of, "mp_", MP, 136, true);
	}
	objfile_fake_provide(w->t, &w->of);
	memset(&proc, 0, sizeof(proc));
	memset(&ph, 0, sizeof(ph));
	proc.t = w->t;
	ck_assert_int_eq(glibc_walk(&proc, &ph, &w->m), 0);
}

static inline void gw_close(struct gwalk *w)
{
	malloc_heap_release(&w->m);
	objfile_fake_forget(w->t);
	target_close(w->t);
	objfile_release(&w->of);
}

static inline void expect_walk(const struct gproc *p,
			       const struct malloc_heap *m, const char *what)
{
	ck_assert_msg(m->walked, "%s: not walked: %s", what, m->note);
	ck_assert_int_eq(m->glibc_minor, p->minor);
	ck_assert_uint_eq(m->main_arena, MAIN_ARENA);
	ck_assert_uint_eq(m->narenas, 2);
	ck_assert_uint_eq(m->corrupt_regions, 0);
	ck_assert_uint_eq(m->skipped_bytes, 0);
	ck_assert_uint_eq(m->bad_lists, 0);
	ck_assert_uint_eq(m->tcaches, p->tcaches);
	ck_assert_uint_eq(m->tcache_chunks, p->tc_n);
	ck_assert_uint_eq(m->tcache_bytes, p->tc_b);
	ck_assert_uint_eq(m->fast_chunks, p->fast_n);
	ck_assert_uint_eq(m->fast_bytes, p->fast_b);
	ck_assert_uint_eq(m->free_chunks, p->free_n);
	ck_assert_uint_eq(m->free_bytes, p->free_b);
	ck_assert_uint_eq(m->top_bytes, p->top_b);
	ck_assert_uint_eq(m->mmapped_chunks, 1);
	ck_assert_uint_eq(m->mmapped_bytes, MMAP_LEN);
	ck_assert_msg(m->inuse_bytes == p->inuse, "%s: in use %llu, want %llu",
		      what, (unsigned long long)m->inuse_bytes,
		      (unsigned long long)p->inuse);
	/* every byte of both regions is a chunk */
	ck_assert_uint_eq(m->inuse_bytes - MMAP_LEN + m->free_bytes +
			  m->fast_bytes + m->tcache_bytes + m->top_bytes,
			  HEAP_LEN + AR2_LEN - (p->c[1][0].addr - AR2_HEAP));
}

static const int minors[] = { 31, 36, 41, 42, 43 };

#endif
