/*
 * The glibc malloc walk (heap/glibc*.c) on hostile memory: every count,
 * list and pointer comes from the target.  Spoilt tcaches are not taken
 * for tcaches, lists in circles end at the chunk count, many fake tcaches
 * cost bounded time, 2.43's missing fastbins are not read, random bytes
 * over a whole process (glibc_synth.h) neither crash the walk nor make
 * it grow without bound.
 */
#include <time.h>

#include "glibc_synth.h"

/* ---- hostile tcaches ----------------------------------------------------- */

/* One 2.43 tcache in [heap], spoiled by `how`; the walk goes on, the
 * struct is not taken for a tcache, no chunk is marked from it. */
static void spoil(struct gproc *p, uint64_t tc, int how, uint64_t *cached)
{
	uint64_t eoff = tc + 16 + 152, v;

	switch (how) {
	case 0: /* num_slots above tcache_count */
		v = 0xffff;
		synth_put(&p->heap, tc + 16 + 2 * 7, &v, 2);
		break;
	case 1: /* a count with no list */
		v = 10;
		synth_put(&p->heap, tc + 16 + 2 * 7, &v, 2);
		break;
	case 2: /* a list in a circle */
		synth_u64(&p->heap, cached[1] + 16,
			  safe(p, cached[1] + 16, cached[0] + 16));
		break;
	case 3: /* a list longer than its count */
		v = 15;
		synth_put(&p->heap, tc + 16 + 2 * 1, &v, 2);
		break;
	case 4: /* an entry not 16-aligned */
		synth_u64(&p->heap, eoff + 8, cached[0] + 24);
		break;
	case 5: /* an entry outside memory */
		synth_u64(&p->heap, eoff + 8, 0x10);
		break;
	case 6: /* bin 1's list in bin 2, whose chunks are 0x40 */
		synth_u64(&p->heap, eoff + 16,
			  synth_get_u64(&p->heap, eoff + 8));
		synth_u64(&p->heap, eoff + 8, 0);
		v = 14;
		synth_put(&p->heap, tc + 16 + 2 * 2, &v, 2);
		v = 16;
		synth_put(&p->heap, tc + 16 + 2 * 1, &v, 2);
		break;
	case 7: /* all zero: every bin claims tcache_count entries */
		memset(synth_at(&p->heap, tc + 16, 760), 0, 760);
		break;
	case 8: /* large bin out of order */
		synth_u64(&p->heap, eoff + 64 * 8, cached[3] + 16);
		synth_u64(&p->heap, cached[3] + 16,
			  safe(p, cached[3] + 16, cached[2] + 16));
		synth_u64(&p->heap, cached[2] + 16, safe(p, cached[2] + 16, 0));
		break;
	case 9: /* bin 64's 0x500 and 0x600 in bin 65 (2048-4095) */
		synth_u64(&p->heap, eoff + 65 * 8,
			  synth_get_u64(&p->heap, eoff + 64 * 8));
		synth_u64(&p->heap, eoff + 64 * 8, 0);
		v = 14;
		synth_put(&p->heap, tc + 16 + 2 * 65, &v, 2);
		v = 16;
		synth_put(&p->heap, tc + 16 + 2 * 64, &v, 2);
		break;
	case 10: /* heads not raw but mangled */
		synth_u64(&p->heap, eoff + 8,
			  safe(p, eoff + 8, cached[0] + 16));
		break;
	}
}

START_TEST(hostile_tcache_rejected)
{
	struct gopts o = { .syms = true };
	struct gproc p;
	struct gwalk w;
	uint64_t tc, c[4];

	gp_init(&p, 43);
	tc = gp_tcache(&p, 0);
	c[0] = gp_chunk(&p, 0, 0x30, C_TCACHE);
	c[1] = gp_chunk(&p, 0, 0x30, C_TCACHE);
	gp_tcache_put(&p, 0, tc, 1, 0, c, 2);
	c[2] = gp_chunk(&p, 0, 0x500, C_TCACHE);
	c[3] = gp_chunk(&p, 0, 0x600, C_TCACHE);
	gp_tcache_put(&p, 0, tc, 64, 0, c + 2, 2);
	gp_finish_region(&p, 0, HEAP_BASE + HEAP_LEN);
	gp_state(&p, &p.libc, MAIN_ARENA, p.brk[0], MAIN_ARENA, HEAP_LEN);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_sbrk_base, HEAP_BASE);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_tcache_count, 16);
	spoil(&p, tc, _i, c);
	gp_walk(&p, &o, &w);
	ck_assert_msg(w.m.walked, "%s", w.m.note);
	ck_assert_msg(w.m.tcaches == 0 && w.m.tcache_chunks == 0,
		      "spoilt tcache %d: %llu tcaches, %llu chunks", _i,
		      (unsigned long long)w.m.tcaches,
		      (unsigned long long)w.m.tcache_chunks);
	ck_assert_uint_eq(w.m.corrupt_regions, 0);
	gw_close(&w);
}
END_TEST

/* Every 0x300 chunk of [heap] claiming 20 entries in each of bins 0-3
 * (tcache_count 20, num_slots 0) whose lists are circles of one chunk of
 * the bin's size, which pass each step's checks: each candidate is
 * rejected after its count, none is taken, in bounded time. */
START_TEST(hostile_tcaches_bounded)
{
	struct gopts o = { .syms = true };
	struct gproc p;
	struct gwalk w;
	uint64_t ring[4], n = 0;
	struct timespec a, b;
	int i, k;

	gp_init(&p, 43);
	for (k = 0; k < 4; k++) {
		ring[k] = gp_chunk(&p, 0, 0x20 + 16 * (uint64_t)k, C_INUSE);
		synth_u64(&p.heap, ring[k] + 16,
			  safe(&p, ring[k] + 16, ring[k] + 16));
	}
	while (p.brk[0] + 0x300 + 0x100 <= HEAP_BASE + HEAP_LEN) {
		uint64_t tc = gp_chunk(&p, 0, 0x300, C_INUSE);

		for (i = 0; i < 76; i++) {
			uint64_t v = i < 4 ? 0 : 20;

			synth_put(&p.heap, tc + 16 + 2 * (uint64_t)i, &v, 2);
			synth_u64(&p.heap, tc + 16 + 152 + 8 * (uint64_t)i,
				  i < 4 ? ring[i] + 16 : 0);
		}
		n++;
	}
	gp_finish_region(&p, 0, HEAP_BASE + HEAP_LEN);
	gp_state(&p, &p.libc, MAIN_ARENA, p.brk[0], MAIN_ARENA, HEAP_LEN);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_sbrk_base, HEAP_BASE);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_tcache_count, 20);
	clock_gettime(CLOCK_MONOTONIC, &a);
	gp_walk(&p, &o, &w);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert(w.m.walked);
	ck_assert_uint_eq(w.m.mp_tcache_count, 20);
	ck_assert_uint_eq(w.m.tcaches, 0);
	ck_assert_uint_eq(w.m.tcache_chunks, 0);
	ck_assert_uint_ge(n, 60);
	ck_assert_msg((b.tv_sec - a.tv_sec) * 1000 +
		      (b.tv_nsec - a.tv_nsec) / 1000000 < 2000,
		      "walk took too long");
	gw_close(&w);
}
END_TEST

/* A fastbin in a circle (2.42): marked once, the list counted bad. */
START_TEST(fastbin_cycle_bounded)
{
	struct gopts o = { .syms = true };
	struct gproc p;
	struct gwalk w;
	uint64_t f;

	gp_init(&p, 42);
	gp_tcache(&p, 0);
	f = gp_chunk(&p, 0, 0x20, C_FAST);
	gp_chunk(&p, 0, 0x40, C_INUSE);
	gp_finish_region(&p, 0, HEAP_BASE + HEAP_LEN);
	gp_state(&p, &p.libc, MAIN_ARENA, p.brk[0], MAIN_ARENA, HEAP_LEN);
	synth_u64(&p.libc, MAIN_ARENA + 16, f);
	synth_u64(&p.heap, f + 16, safe(&p, f + 16, f));
	gp_walk(&p, &o, &w);
	ck_assert(w.m.walked);
	ck_assert_uint_eq(w.m.fast_chunks, 1);
	ck_assert_uint_eq(w.m.bad_lists, 1);
	gw_close(&w);
}
END_TEST

/* 2.43 has no fastbins: whatever lies where 2.42 had them is bins, and is
 * not followed. */
START_TEST(no_fastbins_on_243)
{
	struct gopts o = { .syms = true };
	struct gproc p;
	struct gwalk w;

	gp_standard(&p, 43);
	/* a "fastbin 0" word at 2.42's offset pointing at an in-use chunk */
	synth_u64(&p.libc, MAIN_ARENA + 16, p.c[0][4].addr);
	gp_walk(&p, &o, &w);
	expect_walk(&p, &w.m, "2.43 with a stray word at +16");
	gw_close(&w);
}
END_TEST

/* Random bytes over the standard process, by symbol, every layout: no
 * crash, bounded output (the sanitizer build checks the reads). */
START_TEST(garbage_survives)
{
	uint64_t seed = 0x6c1bc0de + (uint64_t)_i;
	struct gopts o = { .syms = _i & 1 };
	struct gproc p;
	struct gwalk w;
	int k;

	gp_standard(&p, minors[(_i / 2) % 5]);
	for (k = 0; k < 64; k++) {
		struct synth *m = rng_below(&seed, 3) == 0 ? &p.libc :
				  rng_below(&seed, 2) ? &p.heap : &p.ar2;
		uint64_t at = m->base + (rng_below(&seed, m->len - 16) & ~7ull);

		switch (rng_below(&seed, 3)) {
		case 0:
			synth_u64(m, at, rng_next(&seed));
			break;
		case 1: /* a pointer into [heap] */
			synth_u64(m, at, HEAP_BASE +
				  (rng_below(&seed, HEAP_LEN) & ~15ull));
			break;
		default:
			synth_u64(m, at, rng_below(&seed, 0x400));
			break;
		}
	}
	gp_walk(&p, &o, &w);
	ck_assert_uint_le(w.m.nchunks, (HEAP_LEN + AR2_LEN + MMAP_LEN) / 16);
	ck_assert_uint_le(w.m.narenas, GLIBC_MAX_ARENAS);
	gw_close(&w);
}
END_TEST

/* The arena heap unmapped (a torn copy): not a walk at guessed places. */
START_TEST(missing_arena_heap)
{
	struct gopts o = { .syms = _i, .no_ar2 = true };
	struct gproc p;
	struct gwalk w;

	gp_standard(&p, 43);
	gp_walk(&p, &o, &w);
	ck_assert(!w.m.walked);
	gw_close(&w);
}
END_TEST

static Suite *glibc_hostile_suite(void)
{
	Suite *s = suite_create("glibc_hostile");
	TCase *tc = tcase_create("glibc_hostile");

	tcase_add_loop_test(tc, hostile_tcache_rejected, 0, 11);
	tcase_add_test(tc, hostile_tcaches_bounded);
	tcase_add_test(tc, fastbin_cycle_bounded);
	tcase_add_test(tc, no_fastbins_on_243);
	tcase_add_loop_test(tc, garbage_survives, 0, 60);
	tcase_add_loop_test(tc, missing_arena_heap, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(glibc_hostile_suite());
}
