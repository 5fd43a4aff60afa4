/*
 * The pymalloc walker (src/heap/pymalloc.c) on synthetic pools.
 *
 * Pools are built the way Objects/obmalloc.c leaves them (INTERNALS §3):
 * the model below replays allocate_from_new_pool, pymalloc_alloc,
 * pymalloc_pool_extend and pymalloc_free on a local copy of target memory,
 * writing every header member at its offset in the real layout table, and
 * keeps its own record of which blocks it handed out and of the free list.
 * The walker's answers are compared with that record, never with a second
 * run of the walker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "heap/heap.h"
#include "synth.h"

#define OVERHEAD 48            /* POOL_OVERHEAD (INTERNALS §3.1) */
#define DUMMY_SIZE_IDX 0xffffu /* obmalloc.c: a pool freshly carved */
#define MAXB (32768 / 8)       /* pool_size / 8 for every pool_size used */
#define USEDPOOLS 0x555555a0b000ull /* &usedpools[0] in the "binary" */

/* The versions whose tables the pool tests use: 4 KiB pools in 256 KiB
 * arenas (3.9), 16 KiB pools in 1 MiB arenas (3.11). */
static const int versions[] = { 9, 11 };

static uint32_t pool_size_of(int minor)
{
	return minor >= 10 ? 16384u : 4096u;
}

static uint32_t arena_size_of(int minor)
{
	return minor >= 10 ? 1u << 20 : 256u << 10;
}

/* ---- the obmalloc model -------------------------------------------------- */

struct pool {
	struct synth *m;
	const struct py_layout *L;
	uint64_t *rng;
	uint64_t a;                  /* pool address */
	uint32_t psize, szidx, bs;
	uint32_t carved;             /* blocks carved so far */
	uint64_t used[MAXB];         /* handed out, in no order */
	size_t nused;
	uint64_t fl[MAXB];           /* the free list, head first */
	size_t nfl;
};

static uint64_t hget(struct pool *p, enum py_field f)
{
	return synth_get_field(p->m, p->L, p->a, f);
}

static void hset(struct pool *p, enum py_field f, uint64_t v)
{
	synth_field(p->m, p->L, p->a, f, v);
}

/* ref is union { block *_padding; uint count; }: obmalloc only ever
 * writes the uint. */
static uint32_t count_of(struct pool *p)
{
	uint32_t c;

	memcpy(&c, synth_at(p->m, p->a + (uint64_t)p->L->off[PY_F_PH_REF], 4),
	       4);
	return c;
}

static void set_count(struct pool *p, uint32_t c)
{
	synth_put(p->m, p->a + (uint64_t)p->L->off[PY_F_PH_REF], &c, 4);
}

/* *(block **)blk = v */
static void set_link(struct pool *p, uint64_t blk, uint64_t v)
{
	synth_u64(p->m, blk, v);
}

static uint64_t block_addr(const struct pool *p, uint64_t i)
{
	return p->a + OVERHEAD + i * p->bs;
}

/* What a program leaves in a block it was handed: a refcount, a pointer
 * to some block of the same pool (it must not be taken for a link), and
 * anything else. */
static void obj_fill(struct pool *p, uint64_t blk)
{
	unsigned char *b = synth_at(p->m, blk, p->bs);
	uint64_t w;

	rng_fill(p->rng, b, p->bs);
	w = 1 + rng_below(p->rng, 1000);
	memcpy(b, &w, 8);
	if (p->bs >= 16) {
		w = block_addr(p, rng_below(p->rng, p->carved));
		memcpy(b + 8, &w, 8);
	}
}

/* allocate_from_new_pool carving a new pool at a, then handing out its
 * first block.  The block area holds stale bytes (the arena was used
 * before); the header area only ever holds pool headers. */
static void pool_carve(struct pool *p, struct synth *m,
		       const struct py_layout *L, uint64_t *rng, uint64_t a,
		       uint32_t psize, uint32_t szidx, uint32_t align)
{
	uint64_t bp = a + OVERHEAD;

	p->m = m;
	p->L = L;
	p->rng = rng;
	p->a = a;
	p->psize = psize;
	p->szidx = szidx;
	p->bs = (szidx + 1) * align;
	p->nused = p->nfl = 0;
	rng_fill(rng, synth_at(m, a, psize), psize);
	memset(synth_at(m, a, OVERHEAD), 0, OVERHEAD);

	hset(p, PY_F_PH_ARENAINDEX, 3);
	hset(p, PY_F_PH_SZIDX, DUMMY_SIZE_IDX);
	hset(p, PY_F_PH_NEXTPOOL, USEDPOOLS + 16 * szidx);
	hset(p, PY_F_PH_PREVPOOL, USEDPOOLS + 16 * szidx);
	set_count(p, 1);
	hset(p, PY_F_PH_SZIDX, szidx);
	hset(p, PY_F_PH_NEXTOFFSET, OVERHEAD + 2 * p->bs);
	hset(p, PY_F_PH_MAXNEXTOFFSET, psize - p->bs);
	hset(p, PY_F_PH_FREEBLOCK, bp + p->bs);
	set_link(p, bp + p->bs, 0);
	p->carved = 2;
	p->fl[p->nfl++] = bp + p->bs;
	p->used[p->nused++] = bp;
	obj_fill(p, bp);
}

/* pymalloc_alloc from a pool that has a free block (and
 * pymalloc_pool_extend when the list runs out). */
static uint64_t pool_alloc(struct pool *p)
{
	uint64_t bp, next, off;

	ck_assert_uint_gt(p->nfl, 0);
	set_count(p, count_of(p) + 1);
	bp = hget(p, PY_F_PH_FREEBLOCK);
	ck_assert_uint_eq(bp, p->fl[0]);
	next = synth_get_u64(p->m, bp);
	hset(p, PY_F_PH_FREEBLOCK, next);
	memmove(p->fl, p->fl + 1, (p->nfl - 1) * sizeof(*p->fl));
	p->nfl--;
	if (!next) {
		ck_assert_uint_eq(p->nfl, 0);
		off = hget(p, PY_F_PH_NEXTOFFSET);
		if (off <= hget(p, PY_F_PH_MAXNEXTOFFSET)) {
			hset(p, PY_F_PH_FREEBLOCK, p->a + off);
			hset(p, PY_F_PH_NEXTOFFSET, off + p->bs);
			set_link(p, p->a + off, 0);
			p->fl[p->nfl++] = p->a + off;
			p->carved++;
		}
	} else {
		ck_assert_uint_eq(next, p->fl[0]);
	}
	obj_fill(p, bp);
	p->used[p->nused++] = bp;
	return bp;
}

/* pymalloc_free of the i-th block handed out. */
static uint64_t pool_free(struct pool *p, size_t i)
{
	uint64_t bp = p->used[i];

	ck_assert_uint_lt(i, p->nused);
	p->used[i] = p->used[--p->nused];
	set_link(p, bp, hget(p, PY_F_PH_FREEBLOCK));
	hset(p, PY_F_PH_FREEBLOCK, bp);
	set_count(p, count_of(p) - 1);
	memmove(p->fl + 1, p->fl, p->nfl * sizeof(*p->fl));
	p->fl[0] = bp;
	p->nfl++;
	return bp;
}

/* A mix of allocations and frees that never empties the pool. */
static void pool_random(struct pool *p, unsigned nops)
{
	unsigned k;

	for (k = 0; k < nops; k++) {
		if (p->nfl && (p->nused <= 1 || rng_below(p->rng, 3)))
			pool_alloc(p);
		else if (p->nused > 1)
			pool_free(p, rng_below(p->rng, p->nused));
	}
}

static void pool_fill(struct pool *p)
{
	while (p->nfl)
		pool_alloc(p);
}

/* ---- running the checker ------------------------------------------------- */

struct res {
	int n;
	uint32_t bs, nblocks;
	bool salvaged;
	uint64_t used[MAXB];
};

/* pymalloc_check_pool on a fake target holding (a copy of) m's first len
 * bytes. */
static int check_len(const struct synth *m, size_t len, uint64_t a,
		     uint32_t psize, const struct py_layout *L, bool salvage,
		     struct res *r)
{
	struct target *t = target_fake_new();

	target_fake_add(t, m->base, m->buf, len, SYNTH_RW, NULL);
	r->bs = r->nblocks = 0xdeadbeefu;
	r->salvaged = false;
	r->n = pymalloc_check_pool(t, a, psize, L, salvage, &r->bs,
				   &r->nblocks, r->used, &r->salvaged);
	target_close(t);
	return r->n;
}

static int check(const struct synth *m, uint64_t a, uint32_t psize,
		 const struct py_layout *L, bool salvage, struct res *r)
{
	return check_len(m, m->len, a, psize, L, salvage, r);
}

/* The multiset of blocks in got[0..ngot) equals want[0..nwant). */
static void same_blocks(const uint64_t *got, size_t ngot, const uint64_t *want,
			size_t nwant, const char *what)
{
	uint64_t *g = malloc((ngot + 1) * 8), *w = malloc((nwant + 1) * 8);
	size_t i;

	ck_assert_msg(ngot == nwant, "%s: %zu blocks, expected %zu", what, ngot,
		      nwant);
	memcpy(g, got, ngot * 8);
	memcpy(w, want, nwant * 8);
	qsort(g, ngot, 8, cmp_u64_asc);
	qsort(w, nwant, 8, cmp_u64_asc);
	for (i = 0; i < ngot; i++)
		ck_assert_msg(g[i] == w[i],
			      "%s: block %zu is %#llx, expected %#llx", what,
			      i, (unsigned long long)g[i],
			      (unsigned long long)w[i]);
	free(g);
	free(w);
}

static void expect_blocks(const struct res *r, const uint64_t *want,
			  size_t nwant, const char *what)
{
	ck_assert_msg(r->n >= 0, "%s: pool rejected", what);
	same_blocks(r->used, (size_t)r->n, want, nwant, what);
}

/* out = a[0..na) + b[0..nb) */
static size_t join(uint64_t *out, const uint64_t *a, size_t na,
		   const uint64_t *b, size_t nb)
{
	memcpy(out, a, na * 8);
	memcpy(out + na, b, nb * 8);
	return na + nb;
}

/* Accepted as it is, not salvaged, with exactly the blocks handed out. */
static void expect_exact(struct pool *p, const char *what)
{
	static struct res r;
	int salvage;

	for (salvage = 0; salvage <= 1; salvage++) {
		check(p->m, p->a, p->psize, p->L, salvage, &r);
		expect_blocks(&r, p->used, p->nused, what);
		ck_assert_msg(!r.salvaged, "%s: salvaged", what);
		ck_assert_uint_eq(r.bs, p->bs);
		ck_assert_uint_eq(r.nblocks, p->carved);
	}
}

/* Rejected outright, with or without salvage. */
static void expect_rejected(struct synth *m, uint64_t a, uint32_t psize,
			    const struct py_layout *L, const char *what)
{
	static struct res r;

	ck_assert_msg(check(m, a, psize, L, false, &r) == -1,
		      "%s: accepted (%d blocks)", what, r.n);
	ck_assert_msg(check(m, a, psize, L, true, &r) == -1,
		      "%s: salvaged (%d blocks)", what, r.n);
	ck_assert_msg(!r.salvaged, "%s: *salvaged set on rejection", what);
}

/* Rejected without salvage; with it, exactly want[] and *salvaged. */
static void expect_salvaged(struct pool *p, const uint64_t *want, size_t nwant,
			    const char *what)
{
	static struct res r;

	ck_assert_msg(check(p->m, p->a, p->psize, p->L, false, &r) == -1,
		      "%s: accepted without salvage", what);
	check(p->m, p->a, p->psize, p->L, true, &r);
	expect_blocks(&r, want, nwant, what);
	ck_assert_msg(r.salvaged, "%s: *salvaged not set", what);
	ck_assert_uint_eq(r.bs, p->bs);
	ck_assert_uint_eq(r.nblocks, p->carved);
}

/* ---- the header as CPython declares it ----------------------------------- */

START_TEST(pool_header_layout_is_obmallocs)
{
	/* INTERNALS §3.2: struct pool_header and struct arena_object are
	 * identical 2.7-3.13; the synthetic pools below rely on the tables
	 * agreeing. */
	static const int minors[] = { 7, 8, 9, 10, 11, 12, 13 };
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(minors); i++) {
		struct py_layout L;

		layout_for(&L, minors[i]);
		ck_assert_int_eq(L.size[PY_S_POOL], 48);
		ck_assert_int_eq(L.off[PY_F_PH_REF], 0);
		ck_assert_int_eq(L.off[PY_F_PH_FREEBLOCK], 8);
		ck_assert_int_eq(L.off[PY_F_PH_NEXTPOOL], 16);
		ck_assert_int_eq(L.off[PY_F_PH_PREVPOOL], 24);
		ck_assert_int_eq(L.off[PY_F_PH_ARENAINDEX], 32);
		ck_assert_int_eq(L.off[PY_F_PH_SZIDX], 36);
		ck_assert_int_eq(L.off[PY_F_PH_NEXTOFFSET], 40);
		ck_assert_int_eq(L.off[PY_F_PH_MAXNEXTOFFSET], 44);
		ck_assert_int_eq(L.width[PY_F_PH_SZIDX], 4);
		ck_assert_int_eq(L.width[PY_F_PH_NEXTOFFSET], 4);
		ck_assert_int_eq(L.width[PY_F_PH_MAXNEXTOFFSET], 4);
		ck_assert_int_eq(L.size[PY_S_ARENA], 48);
		ck_assert_int_eq(L.off[PY_F_AO_ADDRESS], 0);
		ck_assert_int_eq(L.off[PY_F_AO_POOL_ADDRESS], 8);
	}
}
END_TEST

/* ---- pymalloc_check_pool on sound pools ---------------------------------- */

START_TEST(check_pool_accepts_obmalloc_pools)
{
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor), szidx;
	uint64_t rng = 0x1234 + (uint64_t)minor;
	uint64_t a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;
	char what[64];

	layout_for(&L, minor);
	synth_init(&m, a, psize);
	for (szidx = 0; szidx < 32; szidx++) {
		/* Just carved: one block out, the second on the list. */
		pool_carve(&p, &m, &L, &rng, a, psize, szidx, 16);
		snprintf(what, sizeof(what), "3.%d class %u fresh", minor,
			 szidx);
		expect_exact(&p, what);
		ck_assert_uint_eq(p.nused, 1);

		/* After a mixed history. */
		pool_carve(&p, &m, &L, &rng, a, psize, szidx, 16);
		pool_random(&p, 40 + (unsigned)rng_below(&rng, 400));
		snprintf(what, sizeof(what), "3.%d class %u used", minor,
			 szidx);
		expect_exact(&p, what);

		/* Full: freeblock NULL, every block that fits carved. */
		pool_carve(&p, &m, &L, &rng, a, psize, szidx, 16);
		pool_random(&p, 100);
		pool_fill(&p);
		ck_assert_uint_eq(hget(&p, PY_F_PH_FREEBLOCK), 0);
		ck_assert_uint_eq(p.carved, (psize - OVERHEAD) / p.bs);
		snprintf(what, sizeof(what), "3.%d class %u full", minor,
			 szidx);
		expect_exact(&p, what);
	}
	synth_free(&m);
}
END_TEST

START_TEST(check_pool_full_pool_ends_at_pool_size)
{
	/* 16-byte blocks tile a pool exactly: a full pool's nextoffset is
	 * POOL_SIZE itself, which is not "beyond the pool". */
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor);
	uint64_t rng = 77, a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;

	layout_for(&L, minor);
	synth_init(&m, a, psize);
	pool_carve(&p, &m, &L, &rng, a, psize, 0, 16);
	pool_fill(&p);
	ck_assert_uint_eq(hget(&p, PY_F_PH_NEXTOFFSET), psize);
	ck_assert_uint_eq(p.nused, (psize - OVERHEAD) / 16);
	expect_exact(&p, "full pool of 16-byte blocks");
	synth_free(&m);
}
END_TEST

START_TEST(check_pool_eight_byte_alignment)
{
	/* 3.7.0-3.7.3: ALIGNMENT 8, 64 size classes (INTERNALS §3.1). */
	static const uint32_t classes[] = { 0, 2, 40, 63 };
	uint64_t rng = 8, a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;
	size_t i;

	layout_for(&L, 7);
	synth_init(&m, a, 4096);
	for (i = 0; i < PH_ARRAY_SIZE(classes); i++) {
		pool_carve(&p, &m, &L, &rng, a, 4096, classes[i], 8);
		pool_random(&p, 300);
		expect_exact(&p, "8-byte aligned class");
	}
	synth_free(&m);
}
END_TEST

START_TEST(check_pool_ignores_ref_padding)
{
	/* Only the uint count of the ref union is meaningful. */
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor), junk = 0xdeadbeefu;
	uint64_t rng = 5, a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;

	layout_for(&L, minor);
	ck_assert_int_eq(L.width[PY_F_PH_REF], 8);
	synth_init(&m, a, psize);
	pool_carve(&p, &m, &L, &rng, a, psize, 4, 16);
	pool_random(&p, 200);
	synth_put(&m, a + (uint64_t)L.off[PY_F_PH_REF] + 4, &junk, 4);
	expect_exact(&p, "garbage in ref's upper half");
	synth_free(&m);
}
END_TEST

/* ---- unsound headers ----------------------------------------------------- */

/* Rewrite p's header as a pool of class szidx with two blocks of bs bytes
 * carved, both in use. */
static void tiny_pool(struct pool *p, uint32_t szidx, uint32_t bs)
{
	hset(p, PY_F_PH_SZIDX, szidx);
	hset(p, PY_F_PH_MAXNEXTOFFSET, p->psize - bs);
	hset(p, PY_F_PH_NEXTOFFSET, OVERHEAD + 2 * bs);
	hset(p, PY_F_PH_FREEBLOCK, 0);
	set_count(p, 2);
}

START_TEST(check_pool_rejects_unsound_headers)
{
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor), bs, next;
	uint64_t rng = 99, a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;
	unsigned char *saved;
	int c;

	layout_for(&L, minor);
	synth_init(&m, a, psize);
	pool_carve(&p, &m, &L, &rng, a, psize, 5, 16);
	pool_random(&p, 60);
	ck_assert(p.nfl > 0 && hget(&p, PY_F_PH_NEXTOFFSET) + p.bs <= psize);
	expect_exact(&p, "base pool");
	bs = p.bs;
	next = (uint32_t)hget(&p, PY_F_PH_NEXTOFFSET);
	saved = malloc(psize);
	memcpy(saved, m.buf, psize);
	/* The two-block pools below are sound with a size that fits. */
	{
		static struct res r;

		tiny_pool(&p, 3, 64);
		ck_assert_int_eq(check(&m, a, psize, &L, false, &r), 2);
		ck_assert_uint_eq(r.used[1], a + OVERHEAD + 64);
		tiny_pool(&p, 31, 512);
		ck_assert_int_eq(check(&m, a, psize, &L, false, &r), 2);
		ck_assert_uint_eq(r.used[1], a + OVERHEAD + 512);
	}

	for (c = 0; c < 13; c++) {
		const char *what = "?";

		memcpy(m.buf, saved, psize);
		switch (c) {
		case 0:
			what = "szidx 64";
			hset(&p, PY_F_PH_SZIDX, 64);
			break;
		case 1:
			what = "szidx DUMMY_SIZE_IDX";
			hset(&p, PY_F_PH_SZIDX, DUMMY_SIZE_IDX);
			break;
		case 2:
			what = "maxnextoffset == POOL_SIZE";
			hset(&p, PY_F_PH_MAXNEXTOFFSET, psize);
			break;
		case 3:
			what = "maxnextoffset beyond the pool";
			hset(&p, PY_F_PH_MAXNEXTOFFSET, psize + 16);
			break;
		/* Two blocks of the given size, both in use: sound but for
		 * how the size relates to the class (tiny_pool). */
		case 4:
			what = "block size not a multiple of szidx + 1";
			tiny_pool(&p, 2, 40);
			break;
		case 5:
			what = "block size implies 32-byte alignment";
			tiny_pool(&p, 1, 64);
			break;
		case 6:
			what = "size class 32 (528-byte blocks)";
			tiny_pool(&p, 32, 528);
			break;
		case 7:
			what = "nextoffset on the grid but beyond the pool";
			hset(&p, PY_F_PH_NEXTOFFSET,
			     OVERHEAD + ((psize - OVERHEAD) / bs + 1) * bs);
			break;
		case 8:
			what = "nextoffset off the block grid";
			hset(&p, PY_F_PH_NEXTOFFSET, next + 8);
			break;
		case 9:
			what = "nextoffset == POOL_OVERHEAD";
			hset(&p, PY_F_PH_NEXTOFFSET, OVERHEAD);
			break;
		case 10:
			what = "nextoffset 0";
			hset(&p, PY_F_PH_NEXTOFFSET, 0);
			break;
		case 11:
			what = "count above the carved blocks";
			set_count(&p, p.carved + 1);
			break;
		case 12:
			what = "count 0xffffffff";
			set_count(&p, 0xffffffffu);
			break;
		}
		expect_rejected(&m, a, psize, &L, what);
	}

	/* A pool the target does not hold whole cannot be read. */
	{
		static struct res r;

		memcpy(m.buf, saved, psize);
		ck_assert_int_eq(check_len(&m, psize - 8, a, psize, &L, true,
					   &r), -1);
		ck_assert(!r.salvaged);
		ck_assert_int_eq(check(&m, a + psize, psize, &L, true, &r), -1);
	}
	free(saved);
	synth_free(&m);

	/* A sound pool of a size no CPython uses (32 KiB), larger than the
	 * checker's scratch: refused, or answered right -- never overrun
	 * (the sanitizer build would see it). */
	{
		static struct res r;

		synth_init(&m, a, 32768);
		pool_carve(&p, &m, &L, &rng, a, 32768, 5, 16);
		pool_random(&p, 100);
		if (check(&m, a, 32768, &L, true, &r) >= 0)
			expect_blocks(&r, p.used, p.nused, "32 KiB pool");
		synth_free(&m);
	}
}
END_TEST

/* ---- free lists and counts that do not add up ---------------------------- */

START_TEST(check_pool_salvages_bad_free_list)
{
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor), next;
	uint64_t rng = 4242, a = 0x7f3a00000000ull, want[MAXB];
	struct py_layout L;
	struct synth m;
	static struct pool p;
	unsigned char *saved;
	size_t k, nw;
	int c;

	layout_for(&L, minor);
	/* Two pools' worth, so links into the next pool are readable. */
	synth_init(&m, a, 2 * psize);
	pool_carve(&p, &m, &L, &rng, a, psize, 3, 16);
	for (k = 0; k < 40; k++)
		pool_alloc(&p);
	for (k = 0; k < 10; k++)
		pool_free(&p, rng_below(&rng, p.nused));
	ck_assert_uint_ge(p.nfl, 4);
	next = (uint32_t)hget(&p, PY_F_PH_NEXTOFFSET);
	ck_assert_uint_le(next + p.bs, psize); /* room to carve more */
	expect_exact(&p, "base pool");
	saved = malloc(2 * psize);
	memcpy(saved, m.buf, 2 * psize);

	for (c = 0; c < 13; c++) {
		const char *what = "?";
		size_t keep = 0;       /* valid free-list prefix */
		size_t excess = 0;     /* head entries counted as used */

		memcpy(m.buf, saved, 2 * psize);
		switch (c) {
		case 0:
			what = "head off the block grid";
			hset(&p, PY_F_PH_FREEBLOCK, p.fl[0] + 8);
			keep = 0;
			break;
		case 1:
			what = "link off the block grid";
			set_link(&p, p.fl[1], p.fl[2] + 8);
			keep = 2;
			break;
		case 2:
			what = "link into the pool header";
			set_link(&p, p.fl[1], a + 16);
			keep = 2;
			break;
		case 3:
			what = "link below the pool";
			set_link(&p, p.fl[1], a - p.bs);
			keep = 2;
			break;
		case 4:
			what = "link into the next pool";
			set_link(&p, p.fl[1], a + psize + OVERHEAD);
			keep = 2;
			break;
		case 5:
			what = "link to a block not carved yet";
			set_link(&p, p.fl[1], a + next);
			keep = 2;
			break;
		case 6:
			what = "cycle back to the head";
			set_link(&p, p.fl[p.nfl - 1], p.fl[0]);
			keep = p.nfl;
			break;
		case 7:
			what = "entry linked to itself";
			set_link(&p, p.fl[1], p.fl[1]);
			keep = 2;
			break;
		case 8:
			what = "count one too low";
			set_count(&p, (uint32_t)p.nused - 1);
			keep = p.nfl;
			break;
		case 9:
			what = "count 0";
			set_count(&p, 0);
			keep = p.nfl;
			break;
		case 10:
			what = "count two too high, free list sound";
			set_count(&p, (uint32_t)p.nused + 2);
			keep = p.nfl;
			excess = 2;
			break;
		case 11:
			what = "link to the last carved block, bypassing two";
			/* fl[0] -> fl[3]: fl[1], fl[2] are off the list, which
			 * is otherwise sound, and the count is 2 too low for
			 * it; no entry repeats. */
			set_link(&p, p.fl[0], p.fl[3]);
			nw = join(want, p.used, p.nused, p.fl + 1, 2);
			expect_salvaged(&p, want, nw, what);
			continue;
		case 12:
			/* The list runs on into a block not carved yet (its
			 * link NULL, as in a fresh arena) and the count agrees
			 * with the longer list: still not a pool. */
			what = "list ends in a block not carved yet";
			set_link(&p, p.fl[p.nfl - 1], a + next);
			set_link(&p, a + next, 0);
			set_count(&p, (uint32_t)p.nused - 1);
			keep = p.nfl;
			break;
		}
		/* Everything carved but the valid part of the list. */
		nw = join(want, p.used, p.nused, p.fl + keep, p.nfl - keep);
		nw = join(want, want, nw, p.fl, excess);
		expect_salvaged(&p, want, nw, what);
	}
	free(saved);
	synth_free(&m);
}
END_TEST

/*
 * A target stopped while a thread is inside pymalloc.  Every state below
 * is one that obmalloc.c passes through (3.9-3.13: pymalloc_alloc bumps
 * ref.count, then advances freeblock; pymalloc_free pushes the block, then
 * drops the count; pymalloc_pool_extend sets freeblock, then nextoffset,
 * then the new block's link).  The walker must not drop the pool, and must
 * report the block in flight as a candidate: ref.count says it is in use.
 */
START_TEST(check_pool_mid_operation_states)
{
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor), next;
	uint64_t rng = 31337, a = 0x7f3a00000000ull, want[MAXB], bp;
	struct py_layout L;
	struct synth m;
	static struct pool p;
	static struct res r;
	size_t nw, k;

	layout_for(&L, minor);
	synth_init(&m, a, psize);

	/* pymalloc_alloc: ++ref.count; bp = freeblock; -- stopped -- */
	pool_carve(&p, &m, &L, &rng, a, psize, 9, 16);
	for (k = 0; k < 12; k++)
		pool_alloc(&p);
	for (k = 0; k < 5; k++)
		pool_free(&p, rng_below(&rng, p.nused));
	ck_assert_uint_ge(p.nfl, 2);
	bp = p.fl[0];
	set_count(&p, count_of(&p) + 1);
	nw = join(want, p.used, p.nused, &bp, 1);
	expect_salvaged(&p, want, nw, "mid pymalloc_alloc");
	ck_assert_int_eq(check(&m, a, psize, &L, true, &r), count_of(&p));
	/* ... and once freeblock has moved on, the pool adds up. */
	hset(&p, PY_F_PH_FREEBLOCK, synth_get_u64(&m, bp));
	memmove(p.fl, p.fl + 1, (p.nfl - 1) * 8);
	p.nfl--;
	p.used[p.nused++] = bp;
	expect_exact(&p, "after pymalloc_alloc");

	/* pymalloc_free: *p = freeblock; freeblock = p; -- stopped -- */
	pool_carve(&p, &m, &L, &rng, a, psize, 9, 16);
	pool_random(&p, 80);
	ck_assert_uint_ge(p.nused, 2);
	bp = p.used[0];
	set_link(&p, bp, hget(&p, PY_F_PH_FREEBLOCK));
	hset(&p, PY_F_PH_FREEBLOCK, bp);
	expect_salvaged(&p, p.used, p.nused, "mid pymalloc_free");
	ck_assert_int_eq(check(&m, a, psize, &L, true, &r), count_of(&p));

	/* allocate_from_new_pool reusing an emptied pool of the same class:
	 * ref.count = 1; bp = freeblock; -- stopped -- */
	pool_carve(&p, &m, &L, &rng, a, psize, 9, 16);
	pool_random(&p, 50);
	while (p.nused)
		pool_free(&p, 0);
	ck_assert_uint_eq(count_of(&p), 0);
	set_count(&p, 1);
	expect_salvaged(&p, &p.fl[0], 1, "mid allocate_from_new_pool");

	/* pymalloc_alloc taking the last free block, which ends the list:
	 * freeblock = NULL; -- stopped -- before pymalloc_pool_extend.  The
	 * header then adds up (it looks full). */
	pool_carve(&p, &m, &L, &rng, a, psize, 9, 16);
	for (k = 0; k < 6; k++)
		pool_alloc(&p);
	ck_assert_uint_eq(p.nfl, 1);
	ck_assert_uint_eq(synth_get_u64(&m, p.fl[0]), 0);
	bp = p.fl[0];
	next = (uint32_t)hget(&p, PY_F_PH_NEXTOFFSET);
	set_count(&p, count_of(&p) + 1);
	hset(&p, PY_F_PH_FREEBLOCK, 0);
	p.nfl = 0;
	p.used[p.nused++] = bp;
	expect_exact(&p, "before pymalloc_pool_extend");

	/* pymalloc_pool_extend: freeblock = pool + nextoffset; -- stopped --
	 * (the new block is not carved yet) */
	hset(&p, PY_F_PH_FREEBLOCK, a + next);
	expect_salvaged(&p, p.used, p.nused, "mid pymalloc_pool_extend (1)");
	ck_assert_int_eq(check(&m, a, psize, &L, true, &r), count_of(&p));

	/* nextoffset += size; -- stopped -- (the new block's link is still
	 * whatever the block held before) */
	hset(&p, PY_F_PH_NEXTOFFSET, next + p.bs);
	p.carved++;
	set_link(&p, a + next, 0x4141414141414141ull);
	expect_salvaged(&p, p.used, p.nused, "mid pymalloc_pool_extend (2)");
	ck_assert_int_eq(check(&m, a, psize, &L, true, &r), count_of(&p));
	/* *(block **)freeblock = NULL: done. */
	set_link(&p, a + next, 0);
	p.fl[p.nfl++] = a + next;
	expect_exact(&p, "after pymalloc_pool_extend");
	synth_free(&m);
}
END_TEST

/* ---- hostile headers ----------------------------------------------------- */

/* A value a corrupted word might hold: anything, a small number, or an
 * address on or near the block grid of the pool at a. */
static uint64_t nasty(uint64_t *rng, uint64_t a, uint32_t psize, uint32_t bs)
{
	int64_t k;

	switch (rng_below(rng, 5)) {
	case 0:
		return rng_next(rng);
	case 1:
		return rng_below(rng, psize + 2 * 512);
	case 2:
		return 0;
	default:
		k = (int64_t)rng_below(rng, psize / bs + 4) - 2;
		return a + OVERHEAD + (uint64_t)(k * (int64_t)bs) +
		       (rng_below(rng, 4) ? 0 : 8 * rng_below(rng, 3));
	}
}

/* Damage one header member or one block's link at random. */
static void perturb(struct pool *p)
{
	static const enum py_field hf[] = {
		PY_F_PH_REF, PY_F_PH_FREEBLOCK, PY_F_PH_SZIDX,
		PY_F_PH_NEXTOFFSET, PY_F_PH_MAXNEXTOFFSET,
	};
	uint64_t v = nasty(p->rng, p->a, p->psize, p->bs);
	uint64_t w = rng_below(p->rng, 8);

	if (w < PH_ARRAY_SIZE(hf)) {
		enum py_field f = hf[w];

		if (f == PY_F_PH_REF)
			set_count(p, (uint32_t)(rng_below(p->rng, 2) ?
						v : rng_below(p->rng, p->carved + 2)));
		else if (f == PY_F_PH_SZIDX)
			hset(p, f, rng_below(p->rng, 2) ? v :
				   rng_below(p->rng, 66));
		else
			hset(p, f, v);
	} else {
		uint64_t blocks = (p->psize - OVERHEAD) / p->bs;

		set_link(p, block_addr(p, rng_below(p->rng, blocks)), v);
	}
}

/*
 * What every accepted pool must satisfy, derived from the pool bytes
 * alone (INTERNALS §3.4): blocks of bs = POOL_SIZE - maxnextoffset bytes
 * carved up to nextoffset; the free list from freeblock, followed through
 * the first words, ends in NULL after distinct carved blocks; the used
 * blocks reported are exactly the carved ones not on it; and there are
 * ref.count of them.
 */
static void check_rules(const unsigned char *pool, uint64_t a, uint32_t psize,
			const struct py_layout *L, const uint64_t *used,
			size_t n, uint32_t bs_got, uint32_t nblocks_got)
{
	uint32_t count, nextoff, maxnext, bs, carved, i;
	uint64_t b;
	static uint8_t seen[MAXB];
	size_t nfree = 0, j;

	memcpy(&count, pool + L->off[PY_F_PH_REF], 4);
	memcpy(&b, pool + L->off[PY_F_PH_FREEBLOCK], 8);
	memcpy(&nextoff, pool + L->off[PY_F_PH_NEXTOFFSET], 4);
	memcpy(&maxnext, pool + L->off[PY_F_PH_MAXNEXTOFFSET], 4);
	ck_assert_uint_lt(maxnext, psize);
	bs = psize - maxnext;
	ck_assert_uint_eq(bs_got, bs);
	ck_assert(bs % 8 == 0 && bs <= 512);
	ck_assert_uint_ge(nextoff, OVERHEAD + bs);
	ck_assert_uint_le(nextoff, psize);
	ck_assert_uint_eq((nextoff - OVERHEAD) % bs, 0);
	carved = (nextoff - OVERHEAD) / bs;
	ck_assert_uint_eq(nblocks_got, carved);
	memset(seen, 0, carved);
	for (; b; nfree++) {
		ck_assert_msg(nfree < carved, "free list longer than the pool");
		ck_assert(b >= a + OVERHEAD && b < a + nextoff);
		ck_assert_uint_eq((b - a - OVERHEAD) % bs, 0);
		i = (uint32_t)((b - a - OVERHEAD) / bs);
		ck_assert_msg(!seen[i], "free block %u twice", i);
		seen[i] = 1;
		memcpy(&b, pool + OVERHEAD + (size_t)i * bs, 8);
	}
	ck_assert_uint_eq(n, count);
	ck_assert_uint_eq(n + nfree, carved);
	for (j = 0; j < n; j++) {
		ck_assert(used[j] >= a + OVERHEAD && used[j] < a + nextoff);
		ck_assert_uint_eq((used[j] - a - OVERHEAD) % bs, 0);
		i = (uint32_t)((used[j] - a - OVERHEAD) / bs);
		ck_assert_msg(seen[i] != 1, "free block %u reported used", i);
		ck_assert_msg(seen[i] != 2, "block %u reported twice", i);
		seen[i] = 2;
	}
}

START_TEST(check_pool_survives_hostile_pools)
{
	int minor = versions[_i];
	uint32_t psize = pool_size_of(minor);
	uint64_t rng = 0xfeed + (uint64_t)minor, a = 0x7f3a00000000ull;
	struct py_layout L;
	struct synth m;
	static struct pool p;
	static struct res r, rs;
	unsigned accepted = 0, salvaged = 0, rejected = 0, iter, k, nperturb;

	layout_for(&L, minor);
	/* Room on both sides, so a stray link can point at readable bytes. */
	synth_init(&m, a - psize, 3 * psize);
	rng_fill(&rng, m.buf, m.len);
	for (iter = 0; iter < 1500; iter++) {
		pool_carve(&p, &m, &L, &rng, a, psize,
			   (uint32_t)rng_below(&rng, 32), 16);
		pool_random(&p, (unsigned)rng_below(&rng, 300));
		nperturb = 1 + (unsigned)rng_below(&rng, 3);
		for (k = 0; k < nperturb; k++)
			perturb(&p);

		check(&m, a, psize, &L, false, &r);
		check(&m, a, psize, &L, true, &rs);
		if (r.n >= 0) {
			accepted++;
			check_rules(synth_at(&m, a, psize), a, psize, &L,
				    r.used, (size_t)r.n, r.bs, r.nblocks);
			ck_assert(!r.salvaged);
			/* Salvage changes nothing for a sound pool. */
			ck_assert(!rs.salvaged);
			same_blocks(rs.used, (size_t)rs.n, r.used, (size_t)r.n,
				    "salvage of a sound pool");
		} else if (rs.n >= 0) {
			uint64_t last = 0;
			uint32_t i;

			salvaged++;
			ck_assert(rs.salvaged);
			ck_assert_uint_le((uint32_t)rs.n, rs.nblocks);
			ck_assert_uint_le(OVERHEAD + (uint64_t)rs.nblocks * rs.bs,
					  psize);
			for (i = 0; i < (uint32_t)rs.n; i++) {
				uint64_t off = rs.used[i] - a - OVERHEAD;

				ck_assert(rs.used[i] >= a + OVERHEAD);
				ck_assert_uint_eq(off % rs.bs, 0);
				ck_assert_uint_lt(off / rs.bs, rs.nblocks);
				ck_assert(i == 0 || rs.used[i] > last);
				last = rs.used[i];
			}
		} else {
			rejected++;
			ck_assert(!rs.salvaged);
		}
	}
	/* The damage must have exercised every outcome. */
	ck_assert_uint_gt(accepted, 20);
	ck_assert_uint_gt(salvaged, 20);
	ck_assert_uint_gt(rejected, 20);
	synth_free(&m);
}
END_TEST

/* ---- pymalloc_walk: the scan ------------------------------------------- */

static void proc_init(struct pyproc *p, struct target *t, int minor)
{
	/* What pymalloc_walk reads: the target, the layout and the version;
	 * p->elf zeroed has no symbols, so `arenas` is not found. */
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->major = 3;
	p->minor = minor;
	layout_for(&p->L, minor);
}

struct expect_pool {
	uint64_t addr;
	uint32_t bs, carved;
	uint64_t *used;
	size_t nused;
};

static void keep_pool(struct expect_pool *e, const struct pool *p)
{
	e->addr = p->a;
	e->bs = p->bs;
	e->carved = p->carved;
	e->nused = p->nused;
	e->used = malloc((p->nused + 1) * 8);
	memcpy(e->used, p->used, p->nused * 8);
}

/* h holds exactly the pools ex[] (sorted by address), with their blocks,
 * and used[] is sorted. */
static void expect_heap(const struct pymalloc_heap *h, struct expect_pool *ex,
			size_t n)
{
	size_t i, j, total = 0;

	ck_assert_uint_eq(h->npools, n);
	for (i = 0; i < n; i++) {
		const struct pymalloc_pool *pl = &h->pools[i];

		ck_assert_msg(pl->addr == ex[i].addr,
			      "pool %zu at %#llx, expected %#llx", i,
			      (unsigned long long)pl->addr,
			      (unsigned long long)ex[i].addr);
		ck_assert_uint_eq(pl->block_size, ex[i].bs);
		ck_assert_uint_eq(pl->nblocks, ex[i].carved);
		ck_assert_uint_eq(pl->nused, ex[i].nused);
		ck_assert_uint_eq(pl->first_block, total);
		same_blocks(h->used + pl->first_block, pl->nused, ex[i].used,
			    ex[i].nused, "pool blocks");
		total += ex[i].nused;
	}
	ck_assert_uint_eq(h->nused, total);
	for (j = 1; j < h->nused; j++)
		ck_assert_msg(h->used[j - 1] < h->used[j],
			      "used[] not sorted at %zu", j);
	for (i = 0; i < n; i++)
		free(ex[i].used);
}

START_TEST(walk_scan_finds_exactly_the_pools)
{
	int minor = versions[_i];
	uint32_t P = pool_size_of(minor);
	uint64_t rng = 0xabc + (uint64_t)minor;
	uint64_t first = 0x7f0000010000ull; /* 64 KiB aligned */
	uint64_t lowpool = 0x7e0000000000ull;
	struct target *t = target_fake_new();
	struct synth A, E, F, G, H;
	static struct pool p, p0, p2;
	struct expect_pool ex[4];
	struct pymalloc_heap h;
	struct pyproc proc;
	uint64_t start, bstart, free_blk, virgin, mid_pool, empty_pool, big;
	uint32_t bsize;
	bool used;
	size_t at = SIZE_MAX;
	int rc;

	proc_init(&proc, t, minor);
	/* A: an anonymous rw mapping that does not start on a pool
	 * boundary, with a partial pool at its end. */
	start = first - P / 4;
	synth_init(&A, start, P / 4 + 8 * P + P / 2);
	rng_fill(&rng, A.buf, A.len);
	/* slot 0: a pool of 16-byte blocks */
	pool_carve(&p0, &A, &proc.L, &rng, first, P, 0, 16);
	pool_random(&p0, 300);
	/* slot 1: random bytes */
	/* slot 2: a full pool of 128-byte blocks */
	pool_carve(&p2, &A, &proc.L, &rng, first + 2 * P, P, 7, 16);
	pool_fill(&p2);
	/* slot 3: zeros */
	memset(synth_at(&A, first + 3 * P, P), 0, P);
	/* slot 4: an empty pool (count 0, stale header) */
	empty_pool = first + 4 * P;
	pool_carve(&p, &A, &proc.L, &rng, empty_pool, P, 2, 16);
	pool_random(&p, 100);
	while (p.nused)
		pool_free(&p, 0);
	/* slot 5: 512-byte blocks */
	pool_carve(&p, &A, &proc.L, &rng, first + 5 * P, P, 31, 16);
	pool_random(&p, 100);
	keep_pool(&ex[3], &p);
	/* slot 6: stopped mid-allocation (the scan drops it) */
	mid_pool = first + 6 * P;
	pool_carve(&p, &A, &proc.L, &rng, mid_pool, P, 1, 16);
	pool_random(&p, 100);
	set_count(&p, count_of(&p) + 1);
	/* slot 7: a cyclic free list */
	pool_carve(&p, &A, &proc.L, &rng, first + 7 * P, P, 1, 16);
	pool_random(&p, 100);
	ck_assert_uint_ge(p.nfl, 1);
	set_link(&p, p.fl[p.nfl - 1], p.fl[0]);
	/* the partial slot: the first half of a copy of slot 0 */
	memcpy(synth_at(&A, first + 8 * P, P / 2), synth_at(&A, first, P / 2),
	       P / 2);
	keep_pool(&ex[1], &p0);
	keep_pool(&ex[2], &p2);
	free_blk = p0.nfl ? p0.fl[0] : 0;
	virgin = first + hget(&p0, PY_F_PH_NEXTOFFSET);
	ck_assert_uint_ne(free_blk, 0);
	ck_assert_uint_le(virgin + p0.bs, first + P);
	bstart = p0.used[0];
	synth_commit(&A, t, SYNTH_RW, NULL);

	/* E: another anonymous rw mapping, below A, added after it. */
	synth_init(&E, lowpool, P);
	pool_carve(&p, &E, &proc.L, &rng, lowpool, P, 3, 16);
	pool_random(&p, 200);
	keep_pool(&ex[0], &p);
	synth_commit(&E, t, SYNTH_RW, NULL);

	/* Sound pools where pymalloc never puts them: a file mapping, a
	 * read-only one and a shared one. */
	synth_init(&F, 0x7f5000000000ull, P);
	pool_carve(&p, &F, &proc.L, &rng, F.base, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&F, t, SYNTH_RW, "/usr/lib/x86_64-linux-gnu/libfoo.so");
	synth_init(&G, 0x7f6000000000ull, P);
	pool_carve(&p, &G, &proc.L, &rng, G.base, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&G, t, MAP_R | MAP_P, NULL);
	synth_init(&H, 0x7f7000000000ull, P);
	pool_carve(&p, &H, &proc.L, &rng, H.base, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&H, t, MAP_R | MAP_W, NULL);

	rc = pymalloc_walk(&proc, &h);
	ck_assert_msg(rc == 0, "pymalloc_walk: %s", ph_errmsg());
	ck_assert_int_eq(h.method, PYMALLOC_SCAN);
	ck_assert_uint_eq(h.pool_size, P);
	ck_assert_uint_eq(h.arena_size, arena_size_of(minor));
	ck_assert_uint_eq(h.narenas, 0);
	ck_assert_uint_eq(h.salvaged_pools, 0);
	big = ex[3].used[0];
	expect_heap(&h, ex, 4);

	/* pymalloc_block_of / pymalloc_pool_of */
	ck_assert(pymalloc_block_of(&h, bstart, &start, &bsize, &used, &at));
	ck_assert_uint_eq(start, bstart);
	ck_assert_uint_eq(bsize, 16);
	ck_assert(used);
	ck_assert_uint_lt(at, h.nused); /* its place in used[] */
	ck_assert_uint_eq(h.used[at], bstart);
	ck_assert(pymalloc_block_of(&h, bstart + 9, &start, &bsize, &used, NULL));
	ck_assert_uint_eq(start, bstart);
	ck_assert(used);
	ck_assert(pymalloc_block_of(&h, free_blk + 15, &start, &bsize, &used, NULL));
	ck_assert_uint_eq(start, free_blk);
	ck_assert_uint_eq(bsize, 16);
	ck_assert(!used);
	ck_assert(pymalloc_block_of(&h, virgin, &start, &bsize, &used, NULL));
	ck_assert_uint_eq(start, virgin);
	ck_assert(!used);
	ck_assert(pymalloc_block_of(&h, first + 8, &start, &bsize, &used, NULL));
	ck_assert_uint_eq(start, first);
	ck_assert_uint_eq(bsize, 0);
	ck_assert(!used);
	ck_assert(pymalloc_block_of(&h, big + 511, &start, &bsize, &used, &at));
	ck_assert_uint_eq(start, big);
	ck_assert_uint_eq(bsize, 512);
	ck_assert(used);
	ck_assert_uint_eq(h.used[at], big);
	ck_assert(!pymalloc_block_of(&h, first + P + 64, &start, &bsize,
				     &used, NULL)); /* the random page */
	ck_assert(!pymalloc_block_of(&h, empty_pool + 64, &start, &bsize,
				     &used, NULL));
	ck_assert(!pymalloc_block_of(&h, mid_pool + 64, &start, &bsize,
				     &used, NULL));
	ck_assert(!pymalloc_block_of(&h, first - 1, &start, &bsize, &used, NULL));
	ck_assert(!pymalloc_block_of(&h, 0, &start, &bsize, &used, NULL));
	ck_assert(!pymalloc_block_of(&h, UINT64_MAX, &start, &bsize, &used, NULL));
	ck_assert_ptr_eq(pymalloc_pool_of(&h, first + P - 1), &h.pools[1]);
	ck_assert_ptr_eq(pymalloc_pool_of(&h, lowpool), &h.pools[0]);
	ck_assert_ptr_null(pymalloc_pool_of(&h, first + P));

	pymalloc_release(&h);
	ck_assert_uint_eq(h.npools, 0);
	target_close(t);
}
END_TEST

START_TEST(walk_scan_random_garbage_yields_nothing)
{
	int minor = versions[_i];
	uint32_t P = pool_size_of(minor);
	uint64_t rng = 0x5eed0000 + (uint64_t)minor, w;
	size_t len = 8u << 20, i;
	struct target *t = target_fake_new();
	struct pymalloc_heap h;
	struct pyproc proc;
	struct synth m;

	proc_init(&proc, t, minor);
	/* Random bytes; then words that are small numbers or addresses in
	 * the mapping itself, as in a heap of pointers and counters. */
	synth_init(&m, 0x7f0000000000ull, len);
	rng_fill(&rng, m.buf, len / 2);
	for (i = len / 2; i < len; i += 8) {
		w = rng_below(&rng, 3) ? rng_below(&rng, 2 * P) :
		    m.base + (rng_below(&rng, len) & ~7ull);
		memcpy(m.buf + i, &w, 8);
	}
	synth_commit(&m, t, SYNTH_RW, NULL);
	ck_assert_int_eq(pymalloc_walk(&proc, &h), 0);
	ck_assert_uint_eq(h.npools, 0);
	ck_assert_uint_eq(h.nused, 0);
	ck_assert_int_eq(h.method, PYMALLOC_NONE);
	pymalloc_release(&h);
	target_close(t);
}
END_TEST

START_TEST(walk_scan_damaged_pools)
{
	/* Many pools, half of them damaged: every undamaged pool is found
	 * with its blocks, and every pool reported obeys the rules. */
	int minor = versions[_i];
	uint32_t P = pool_size_of(minor);
	uint64_t rng = 0xd00d + (uint64_t)minor, base = 0x7f0000000000ull;
	enum { NPOOLS = 96 };
	struct target *t = target_fake_new();
	static struct pool p;
	static bool damaged[NPOOLS];
	static struct expect_pool ex[NPOOLS];
	struct pymalloc_heap h;
	struct pyproc proc;
	struct synth m;
	size_t i, found = 0, odd = 0;

	proc_init(&proc, t, minor);
	synth_init(&m, base, (size_t)NPOOLS * P);
	for (i = 0; i < NPOOLS; i++) {
		pool_carve(&p, &m, &proc.L, &rng, base + i * P, P,
			   (uint32_t)rng_below(&rng, 32), 16);
		pool_random(&p, (unsigned)rng_below(&rng, 200));
		keep_pool(&ex[i], &p);
		damaged[i] = i % 2;
		if (damaged[i])
			perturb(&p);
	}
	{
		/* keep a copy to check the rules against */
		unsigned char *copy = malloc(m.len);

		memcpy(copy, m.buf, m.len);
		synth_commit(&m, t, SYNTH_RW, NULL);
		ck_assert_int_eq(pymalloc_walk(&proc, &h), 0);
		for (i = 0; i < NPOOLS; i++) {
			uint64_t a = base + i * P;
			const struct pymalloc_pool *pl =
				pymalloc_pool_of(&h, a);

			if (!damaged[i]) {
				ck_assert_msg(pl && pl->addr == a,
					      "sound pool %zu not found", i);
				same_blocks(h.used + pl->first_block,
					    pl->nused, ex[i].used,
					    ex[i].nused, "sound pool");
			}
			if (pl) {
				found++;
				odd += damaged[i];
				check_rules(copy + i * P, a, P, &proc.L,
					    h.used + pl->first_block,
					    pl->nused, pl->block_size,
					    pl->nblocks);
			}
			free(ex[i].used);
		}
		free(copy);
	}
	ck_assert_uint_eq(h.npools, found);
	/* Some damage is harmless (a count rewritten to its own value, a
	 * link in a used block), most is not: both happened. */
	ck_assert_uint_gt(odd, 0);
	ck_assert_uint_lt(odd, NPOOLS / 2);
	pymalloc_release(&h);
	target_close(t);
}
END_TEST

/* ---- pymalloc_walk: the arenas (3.12+: from the interpreter state) ----- */

static const int arena_versions[] = { 12, 13 };

#define RUNTIME 0x555555600000ull
#define INTERP 0x555555800000ull
#define OBSTATE 0x555555a00000ull
#define ARENAS 0x5555aaaa0000ull

/* _PyRuntime -> interpreters.main -> obmalloc state (embedded in 3.12, a
 * pointer in 3.13), holding arenas/maxarenas/raw_allocated_blocks. */
static void put_obmalloc_state(struct target *t, const struct py_layout *L,
			       uint64_t arenas, uint64_t maxarenas,
			       uint64_t raw)
{
	struct synth rt, in, st;
	uint64_t state;
	size_t inlen;

	synth_init(&rt, RUNTIME, (size_t)L->off[PY_F_RT_INTERP_MAIN] + 64);
	synth_field(&rt, L, RUNTIME, PY_F_RT_INTERP_MAIN, INTERP);
	synth_commit(&rt, t, SYNTH_RW, NULL);

	inlen = (size_t)L->off[PY_F_IS_OBMALLOC] + 8;
	if (L->width[PY_F_IS_OBMALLOC] != 8) {
		/* embedded */
		state = INTERP + (uint64_t)L->off[PY_F_IS_OBMALLOC];
		inlen += (size_t)L->off[PY_F_OBS_RAW_ALLOCATED] + 8;
		synth_init(&in, INTERP, inlen);
		st = in;
	} else {
		state = OBSTATE;
		synth_init(&in, INTERP, inlen);
		synth_field(&in, L, INTERP, PY_F_IS_OBMALLOC, OBSTATE);
		synth_init(&st, OBSTATE,
			   (size_t)L->off[PY_F_OBS_RAW_ALLOCATED] + 8);
	}
	synth_field(&st, L, state, PY_F_OBS_ARENAS, arenas);
	synth_field(&st, L, state, PY_F_OBS_MAXARENAS, maxarenas);
	synth_field(&st, L, state, PY_F_OBS_RAW_ALLOCATED, raw);
	if (st.buf != in.buf)
		synth_commit(&st, t, SYNTH_RW, NULL);
	synth_commit(&in, t, SYNTH_RW, NULL);
}

static void put_arena(struct synth *arr, const struct py_layout *L, size_t i,
		      uint64_t address, uint64_t pool_address)
{
	uint64_t e = arr->base + i * (uint64_t)L->size[PY_S_ARENA];

	synth_field(arr, L, e, PY_F_AO_ADDRESS, address);
	synth_field(arr, L, e, PY_F_AO_POOL_ADDRESS, pool_address);
	/* A 1 MiB arena of 16 KiB pools, none freed yet. */
	synth_field(arr, L, e, PY_F_AO_NTOTALPOOLS, 64);
	synth_field(arr, L, e, PY_F_AO_NFREEPOOLS, 0);
}

START_TEST(walk_arenas_from_interpreter_state)
{
	int minor = arena_versions[_i];
	uint32_t P = pool_size_of(minor), AS = arena_size_of(minor);
	uint64_t rng = 0xa7e4a + (uint64_t)minor, want[MAXB], bp;
	uint64_t a0 = 0x7f4000000000ull;            /* arena-aligned */
	uint64_t a2 = 0x7f3000000000ull + 0x1000;   /* page-aligned only */
	uint64_t a3 = 0x7f2000000000ull, a4 = 0x7f1000000000ull;
	uint64_t first2 = (a2 + P - 1) & ~(uint64_t)(P - 1);
	uint64_t stray = 0x7f6000000000ull;
	struct target *t = target_fake_new();
	struct synth arr, m0, m2, m3, m4, ms;
	static struct pool p;
	struct expect_pool ex[5];
	struct pymalloc_heap h;
	struct pyproc proc;
	size_t nw;

	proc_init(&proc, t, minor);
	proc.runtime = RUNTIME;
	ck_assert(py_has(&proc.L, PY_F_IS_OBMALLOC));
	/* CPython starts with 16 arena objects (INITIAL_ARENA_OBJECTS) and
	 * doubles them; python/verify.c checks that. */
	put_obmalloc_state(t, &proc.L, ARENAS, 16, 1234);

	/* arenas[0]: pools 0..4 carved, a stray valid pool at 5. */
	synth_init(&m0, a0, AS);
	pool_carve(&p, &m0, &proc.L, &rng, a0, P, 1, 16);
	pool_random(&p, 150);
	keep_pool(&ex[2], &p);
	pool_carve(&p, &m0, &proc.L, &rng, a0 + P, P, 6, 16); /* emptied */
	pool_random(&p, 30);
	while (p.nused)
		pool_free(&p, 0);
	pool_carve(&p, &m0, &proc.L, &rng, a0 + 2 * P, P, 6, 16); /* junk */
	pool_random(&p, 30);
	hset(&p, PY_F_PH_SZIDX, 77);
	pool_carve(&p, &m0, &proc.L, &rng, a0 + 3 * P, P, 2, 16); /* mid */
	pool_random(&p, 150);
	ck_assert_uint_ge(p.nfl, 1);
	bp = p.fl[0];
	set_count(&p, count_of(&p) + 1);
	nw = join(want, p.used, p.nused, &bp, 1);
	ex[3].addr = p.a;
	ex[3].bs = p.bs;
	ex[3].carved = p.carved;
	ex[3].nused = nw;
	ex[3].used = malloc(nw * 8);
	memcpy(ex[3].used, want, nw * 8);
	pool_carve(&p, &m0, &proc.L, &rng, a0 + 4 * P, P, 20, 16); /* full */
	pool_fill(&p);
	keep_pool(&ex[4], &p);
	pool_carve(&p, &m0, &proc.L, &rng, a0 + 5 * P, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&m0, t, SYNTH_RW, NULL);

	/* arenas[2]: not pool-aligned; its first whole pool is first2. */
	synth_init(&m2, a2, AS);
	pool_carve(&p, &m2, &proc.L, &rng, first2, P, 0, 16);
	pool_random(&p, 100);
	keep_pool(&ex[0], &p);
	pool_carve(&p, &m2, &proc.L, &rng, first2 + P, P, 12, 16);
	pool_random(&p, 100);
	keep_pool(&ex[1], &p);
	synth_commit(&m2, t, SYNTH_RW, NULL);

	/* arenas[3]: pool_address beyond the arena -- not walked. */
	synth_init(&m3, a3, AS);
	pool_carve(&p, &m3, &proc.L, &rng, a3, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&m3, t, SYNTH_RW, NULL);
	/* arenas[4]: nothing carved yet. */
	synth_init(&m4, a4, AS);
	pool_carve(&p, &m4, &proc.L, &rng, a4, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&m4, t, SYNTH_RW, NULL);
	/* A sound pool in anonymous memory outside every arena: with the
	 * arenas known there is no scan, so it is not reported. */
	synth_init(&ms, stray, P);
	pool_carve(&p, &ms, &proc.L, &rng, stray, P, 3, 16);
	pool_random(&p, 50);
	synth_commit(&ms, t, SYNTH_RW, NULL);

	/* a0 at index 3: its pools name arena 3 (pool_carve), which is what
	 * the state's check looks for. */
	synth_init(&arr, ARENAS, 16 * (size_t)proc.L.size[PY_S_ARENA]);
	put_arena(&arr, &proc.L, 3, a0, a0 + 5 * P);
	put_arena(&arr, &proc.L, 1, 0, 0); /* unused slot */
	put_arena(&arr, &proc.L, 2, a2, first2 + 2 * P);
	put_arena(&arr, &proc.L, 0, a3, a3 + AS + P);
	put_arena(&arr, &proc.L, 4, a4, a4);
	synth_commit(&arr, t, SYNTH_RW, NULL);

	ck_assert_int_eq(pymalloc_walk(&proc, &h), 0);
	ck_assert_int_eq(h.method, PYMALLOC_ARENAS);
	ck_assert_int_eq(proc.checks[PY_CHECK_OBMALLOC].state, CHECK_VERIFIED);
	ck_assert_uint_eq(h.pool_size, P);
	ck_assert_uint_eq(h.arena_size, AS);
	ck_assert_uint_eq(h.arenas_total, 4);
	ck_assert_uint_eq(h.narenas, 4);
	ck_assert_uint_eq(h.arenas[0], a4);
	ck_assert_uint_eq(h.arenas[1], a3);
	ck_assert_uint_eq(h.arenas[2], a2);
	ck_assert_uint_eq(h.arenas[3], a0);
	ck_assert_uint_eq(h.empty_pools, 1);
	ck_assert_uint_eq(h.corrupt_pools, 2); /* the junk pool, arenas[3] */
	ck_assert_uint_eq(h.salvaged_pools, 1);
	ck_assert(h.raw_allocated_known);
	ck_assert_uint_eq(h.raw_allocated_blocks, 1234);
	expect_heap(&h, ex, 5);
	ck_assert_ptr_null(pymalloc_pool_of(&h, a0 + 5 * P + 64));
	ck_assert_ptr_null(pymalloc_pool_of(&h, stray + 64));
	pymalloc_release(&h);
	target_close(t);
}
END_TEST

START_TEST(walk_arenas_bad_state)
{
	int minor = arena_versions[_i];
	uint32_t P = pool_size_of(minor);
	uint64_t rng = 3;
	struct target *t;
	struct pymalloc_heap h;
	struct pyproc proc;
	struct synth arr, m;
	static struct pool p;
	int rc;

	/* More arenas than any process has, and an array that is not all
	 * readable: the state fails its check, is not walked, and the scan
	 * runs instead (finding nothing here). */
	t = target_fake_new();
	proc_init(&proc, t, minor);
	proc.runtime = RUNTIME;
	put_obmalloc_state(t, &proc.L, ARENAS, (1u << 24) + 1, 0);
	synth_init(&arr, ARENAS, 4096);
	synth_commit(&arr, t, SYNTH_RW, NULL);
	rc = pymalloc_walk(&proc, &h);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ne(h.method, PYMALLOC_ARENAS);
	ck_assert_uint_eq(h.npools, 0);
	ck_assert_int_eq(proc.checks[PY_CHECK_OBMALLOC].state, CHECK_FAILED);
	pymalloc_release(&h);
	target_close(t);

	t = target_fake_new();
	proc_init(&proc, t, minor);
	proc.runtime = RUNTIME;
	put_obmalloc_state(t, &proc.L, ARENAS, 64, 0);
	synth_init(&arr, ARENAS, 48 * 10);
	synth_commit(&arr, t, SYNTH_RW, NULL);
	rc = pymalloc_walk(&proc, &h);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ne(h.method, PYMALLOC_ARENAS);
	ck_assert_uint_eq(h.npools, 0);
	ck_assert_int_eq(proc.checks[PY_CHECK_OBMALLOC].state, CHECK_FAILED);
	pymalloc_release(&h);
	target_close(t);

	/* No interpreter: no state; the scan finds the pool instead. */
	t = target_fake_new();
	proc_init(&proc, t, minor);
	proc.runtime = RUNTIME;
	put_obmalloc_state(t, &proc.L, 0, 0, 0);
	synth_init(&m, 0x7f0000000000ull, P);
	pool_carve(&p, &m, &proc.L, &rng, m.base, P, 3, 16);
	pool_random(&p, 60);
	synth_commit(&m, t, SYNTH_RW, NULL);
	ck_assert_int_eq(pymalloc_walk(&proc, &h), 0);
	ck_assert_int_eq(h.method, PYMALLOC_SCAN);
	ck_assert_uint_eq(h.npools, 1);
	same_blocks(h.used, h.nused, p.used, p.nused, "scan fallback");
	pymalloc_release(&h);
	target_close(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pymalloc");
	TCase *tc = tcase_create("pymalloc");
	int nv = (int)PH_ARRAY_SIZE(versions);
	int na = (int)PH_ARRAY_SIZE(arena_versions);

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pool_header_layout_is_obmallocs);
	tcase_add_loop_test(tc, check_pool_accepts_obmalloc_pools, 0, nv);
	tcase_add_loop_test(tc, check_pool_full_pool_ends_at_pool_size, 0, nv);
	tcase_add_test(tc, check_pool_eight_byte_alignment);
	tcase_add_loop_test(tc, check_pool_ignores_ref_padding, 0, nv);
	tcase_add_loop_test(tc, check_pool_rejects_unsound_headers, 0, nv);
	tcase_add_loop_test(tc, check_pool_salvages_bad_free_list, 0, nv);
	tcase_add_loop_test(tc, check_pool_mid_operation_states, 0, nv);
	tcase_add_loop_test(tc, check_pool_survives_hostile_pools, 0, nv);
	tcase_add_loop_test(tc, walk_scan_finds_exactly_the_pools, 0, nv);
	tcase_add_loop_test(tc, walk_scan_random_garbage_yields_nothing, 0, nv);
	tcase_add_loop_test(tc, walk_scan_damaged_pools, 0, nv);
	tcase_add_loop_test(tc, walk_arenas_from_interpreter_state, 0, na);
	tcase_add_loop_test(tc, walk_arenas_bad_state, 0, na);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
