/*
 * The glibc malloc walk (heap/glibc*.c) on synthetic processes
 * (glibc_synth.h) of 2.31, 2.36, 2.41, 2.42 and 2.43, each found by symbol
 * (the debug file) and by the heuristics: every chunk accounted for
 * exactly.  Then what must not be walked: unknown versions, the data of
 * one version under the banner of another, arena lists that do not hold
 * together.  Hostile memory: test_glibc_hostile.c.
 */
#include "glibc_synth.h"

/* ---- layouts ------------------------------------------------------------ */

START_TEST(layouts_per_version)
{
	struct glibc_layout g;

	ck_assert_int_eq(glibc_layout_init(&g, 26, NULL), -1);
	ck_assert_int_eq(glibc_layout_init(&g, 44, NULL), -1);
	ck_assert_int_eq(glibc_layout_init(&g, -1, NULL), -1);
	/* 2.36: INTERNALS §8.2 (gdb on libc6-dbg 2.36-9) */
	ck_assert_int_eq(glibc_layout_init(&g, 36, NULL), 0);
	ck_assert_int_eq(g.ms_fastbins, 16);
	ck_assert_int_eq(g.ms_top, 96);
	ck_assert_int_eq(g.ms_next, 2160);
	ck_assert_int_eq(g.ms_system_mem, 2184);
	ck_assert_int_eq(g.ms_size, 2200);
	ck_assert_int_eq(g.heap_info_size, 48);
	ck_assert_int_eq(g.mp_n_mmaps, 60);
	ck_assert_int_eq(g.mp_mmapped_mem, 80);
	ck_assert_int_eq(g.mp_sbrk_base, 96);
	ck_assert_int_eq(g.mp_tcache_bins, 104);
	ck_assert_int_eq(g.mp_tcache_count, 120);
	ck_assert_int_eq(g.tcache_bins, 64);
	ck_assert_uint_eq(g.tcache_chunk, 0x290);
	ck_assert(!g.tcache_slots && g.safe_link);
	/* 2.42: same malloc_state and mp_, the new tcache */
	ck_assert_int_eq(glibc_layout_init(&g, 42, NULL), 0);
	ck_assert_int_eq(g.ms_top, 96);
	ck_assert_int_eq(g.mp_tcache_count, 120);
	ck_assert_int_eq(g.tcache_bins, 76);
	ck_assert_uint_eq(g.tcache_chunk, 0x300);
	ck_assert(g.tcache_slots);
	/* 2.43: INTERNALS-2026 §10.2 (gdb on libc6-dbg 2.43-7) */
	ck_assert_int_eq(glibc_layout_init(&g, 43, NULL), 0);
	ck_assert_int_eq(g.ms_fastbins, -1);
	ck_assert_int_eq(g.ms_top, 8);
	ck_assert_int_eq(g.ms_next, 2072);
	ck_assert_int_eq(g.ms_system_mem, 2096);
	ck_assert_int_eq(g.ms_size, 2112);
	ck_assert_int_eq(g.mp_n_mmaps, 68);
	ck_assert_int_eq(g.mp_mmapped_mem, 88);
	ck_assert_int_eq(g.mp_sbrk_base, 104);
	ck_assert_int_eq(g.mp_tcache_bins, 112);
	ck_assert_int_eq(g.mp_tcache_count, 128);
	ck_assert_int_eq(g.tcache_bins, 76);
	/* every version with 16-bit counts against the builder's copy */
	for (int minor = 30; minor <= 43; minor++) {
		struct glibc_layout f;

		facts(&f, minor);
		ck_assert_int_eq(glibc_layout_init(&g, minor, NULL), 0);
		ck_assert_msg(g.ms_fastbins == f.ms_fastbins &&
			      g.ms_top == f.ms_top && g.ms_next == f.ms_next &&
			      g.ms_system_mem == f.ms_system_mem &&
			      g.ms_size == f.ms_size &&
			      g.heap_info_size == f.heap_info_size &&
			      g.mp_n_mmaps == f.mp_n_mmaps &&
			      g.mp_mmapped_mem == f.mp_mmapped_mem &&
			      g.mp_sbrk_base == f.mp_sbrk_base &&
			      g.mp_tcache_bins == f.mp_tcache_bins &&
			      g.mp_tcache_max_bytes == f.mp_tcache_max_bytes &&
			      g.mp_tcache_count == f.mp_tcache_count &&
			      g.tcache_bins == f.tcache_bins &&
			      g.tcache_chunk == f.tcache_chunk &&
			      g.tcache_slots == f.tcache_slots &&
			      g.safe_link == f.safe_link &&
			      g.mmap_tail == f.mmap_tail &&
			      g.tcache_count_width == 2,
			      "2.%d: layout differs", minor);
	}
	/* before 2.35: heap_info without pagesize, mp_ without hugepages;
	 * before 2.30: byte counts */
	ck_assert_int_eq(glibc_layout_init(&g, 31, NULL), 0);
	ck_assert_int_eq(g.heap_info_size, 32);
	ck_assert_int_eq(g.mp_sbrk_base, 72);
	ck_assert(!g.safe_link);
	ck_assert_int_eq(glibc_layout_init(&g, 27, NULL), 0);
	ck_assert_int_eq(g.tcache_count_width, 1);
	ck_assert_uint_eq(g.tcache_chunk, 0x250);
}
END_TEST

/* ---- exact walks -------------------------------------------------------- */


/* _i: minor index * 2 + by symbol */
START_TEST(walk_is_exact)
{
	int minor = minors[_i / 2];
	struct gopts o = { .syms = _i & 1 };
	struct gproc p;
	struct gwalk w;
	char what[64];

	gp_standard(&p, minor);
	gp_walk(&p, &o, &w);
	snprintf(what, sizeof(what), "2.%d %s", minor,
		 o.syms ? "by symbol" : "heuristic");
	expect_walk(&p, &w.m, what);
	ck_assert_str_eq(w.m.arena_source, o.syms ? "symbol" : "heuristic");
	ck_assert(w.m.mp_known);
	ck_assert_str_eq(w.m.mp_source, o.syms ? "symbol" : "heuristic");
	ck_assert_uint_eq(w.m.mp_n_mmaps, 1);
	ck_assert_uint_eq(w.m.mp_mmapped_mem, MMAP_LEN);
	ck_assert_uint_eq(w.m.mp_tcache_count, p.tcache_count);
	gw_close(&w);
}
END_TEST

/* Without mp_ (no symbol, nothing in libc's data looks like it): 2.42+
 * counts are read against the tcache_count the empty bins agree on. */
START_TEST(walk_without_mp)
{
	int minor = minors[_i];
	struct gopts o = { .no_mp = true };
	struct gproc p;
	struct gwalk w;

	gp_standard(&p, minor);
	gp_walk(&p, &o, &w);
	expect_walk(&p, &w.m, "no mp_");
	ck_assert(!w.m.mp_known);
	gw_close(&w);
}
END_TEST

/* glibc.malloc.tcache_count=3 on 2.43: num_slots start at 3. */
START_TEST(walk_tcache_count_tunable)
{
	struct gopts o = { .syms = _i };
	struct gproc p;
	struct gwalk w;
	uint64_t tc, e[3];

	gp_init(&p, 43);
	p.tcache_count = 3;
	tc = gp_tcache(&p, 0);
	e[0] = gp_chunk(&p, 0, 0x30, C_TCACHE);
	e[1] = gp_chunk(&p, 0, 0x30, C_TCACHE);
	e[2] = gp_chunk(&p, 0, 0x30, C_TCACHE);
	gp_tcache_put(&p, 0, tc, 1, 0, e, 3);
	gp_chunk(&p, 0, 0x40, C_INUSE);
	gp_finish_region(&p, 0, HEAP_BASE + HEAP_LEN);
	gp_state(&p, &p.libc, MAIN_ARENA, p.brk[0], MAIN_ARENA, HEAP_LEN);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_sbrk_base, HEAP_BASE);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_tcache_count, 3);
	synth_u64(&p.libc, MP + (uint64_t)p.g.mp_tcache_bins, 64);
	gp_walk(&p, &o, &w);
	ck_assert_msg(w.m.walked, "%s", w.m.note);
	ck_assert_uint_eq(w.m.narenas, 1);
	ck_assert_uint_eq(w.m.mp_tcache_count, 3);
	ck_assert_uint_eq(w.m.tcaches, 1);
	ck_assert_uint_eq(w.m.tcache_chunks, 3);
	ck_assert_uint_eq(w.m.bad_lists, 0);
	gw_close(&w);
}
END_TEST

/* ---- not walked --------------------------------------------------------- */

/* Versions pyheap has no layout for, or none at all: one line, no walk. */
START_TEST(unknown_versions_not_walked)
{
	static const struct {
		const char *banner, *says;
	} cases[] = {
		{ "GNU C Library stable release version 2.44.\n", "2.44" },
		{ "GNU C Library stable release version 2.26.\n", "2.26" },
		{ "GNU C Library stable release version 2.9.\n", "2.9 " },
		{ "GNU C Library stable release version 2.x.\n", "version" },
		{ "GNU C Library, no version\n", "version" },
		{ "", "version" },
	};
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(cases); i++) {
		struct gopts o = { .banner = cases[i].banner, .syms = true };
		struct gproc p;
		struct gwalk w;

		gp_standard(&p, 36);
		gp_walk(&p, &o, &w);
		ck_assert_msg(!w.m.walked, "case %zu walked", i);
		ck_assert_int_eq(w.m.kind, MALLOC_GLIBC);
		ck_assert_msg(strstr(w.m.note, cases[i].says) &&
			      strstr(w.m.note, "not walked") &&
			      !strchr(w.m.note, '\n'),
			      "case %zu: note \"%s\"", i, w.m.note);
		ck_assert_uint_eq(w.m.nchunks, 0);
		gw_close(&w);
	}
}
END_TEST

/* The data of one version under the banner of another: the invariants
 * refuse it, by symbol ("does not match") and by heuristic ("cannot
 * find"); never a walk at the wrong offsets. */
START_TEST(wrong_layout_not_walked)
{
	static const int pairs[][2] = {
		{ 43, 41 }, { 43, 42 }, { 41, 43 }, { 42, 43 },
	};
	int data = pairs[_i / 2][0], claim = pairs[_i / 2][1];
	char banner[80];
	struct gopts o = { .banner = banner, .syms = _i & 1 };
	struct gproc p;
	struct gwalk w;

	snprintf(banner, sizeof(banner), "stable release version 2.%d.\n",
		 claim);
	gp_standard(&p, data);
	gp_walk(&p, &o, &w);
	ck_assert_msg(!w.m.walked, "2.%d data as 2.%d walked", data, claim);
	ck_assert_msg(strstr(w.m.note, o.syms ? "does not match" :
			     "cannot find"), "note \"%s\"", w.m.note);
	gw_close(&w);
}
END_TEST

/* A heap_info that does not point back at its arena: the list does not
 * hold together, so the main arena is not believed. */
START_TEST(arena_round_trip_required)
{
	struct gopts o = { .syms = _i };
	struct gproc p;
	struct gwalk w;

	gp_standard(&p, 43);
	synth_u64(&p.ar2, AR2_HEAP, p.ar2_state + 8);
	gp_walk(&p, &o, &w);
	ck_assert(!w.m.walked);
	if (o.syms)
		ck_assert_msg(strstr(w.m.note, "heap_info"), "%s", w.m.note);
	gw_close(&w);
}
END_TEST

/* An arena list that never comes back (an arena whose next is itself). */
START_TEST(arena_list_must_close)
{
	struct gopts o = { .syms = _i };
	struct gproc p;
	struct gwalk w;

	gp_standard(&p, 42);
	gp_state(&p, &p.ar2, p.ar2_state, p.brk[1], p.ar2_state, AR2_LEN);
	gp_walk(&p, &o, &w);
	ck_assert(!w.m.walked);
	gw_close(&w);
}
END_TEST

static Suite *glibc_suite(void)
{
	Suite *s = suite_create("glibc");
	TCase *tc = tcase_create("glibc");

	tcase_add_test(tc, layouts_per_version);
	tcase_add_loop_test(tc, walk_is_exact, 0, 10);
	tcase_add_loop_test(tc, walk_without_mp, 0, 5);
	tcase_add_loop_test(tc, walk_tcache_count_tunable, 0, 2);
	tcase_add_test(tc, unknown_versions_not_walked);
	tcase_add_loop_test(tc, wrong_layout_not_walked, 0, 8);
	tcase_add_loop_test(tc, arena_round_trip_required, 0, 2);
	tcase_add_loop_test(tc, arena_list_must_close, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(glibc_suite());
}
