/*
 * The mimalloc walker (src/heap/mimalloc.c) on the fake free-threaded
 * heaps of tests/fuzz/fakemi.h: what it finds untouched, block by block,
 * and what it makes of damage a stopped or hostile process can show --
 * each compared with what the skeleton was built to hold, not with a
 * second run of the walker.
 */
#include <string.h>

#include "check_util.h"
#include "fakemi.h"

static struct fakemi F;
/* Each test but the last runs on 3.13t's mimalloc 2.1 and 3.14t's 2.5. */
static const int minors[] = { 13, 14 };

/* A target made from F (built) with n bytes at addr changed, walked into
 * h. */
static void walk_with(struct mimalloc_heap *h, uint64_t addr,
		      const void *v, size_t n)
{
	struct target *t;
	struct mi_threads th;

	t = fakemi_target(&F);
	if (n)
		memcpy(target_fake_bytes(t, addr, n), v, n);
	fakemi_threads(&th);
	ck_assert_int_eq(mimalloc_walk_at(t, &F.L, &th, h), 0);
	target_close(t);
}

/* Page A's mi_page_t (slice 1 of segment 1) and a member of it. */
static uint64_t page_a(enum py_field f)
{
	return FM_SEG1 + (uint64_t)F.L.off[PY_F_MIS_SLICES] +
	       (uint64_t)F.L.size[PY_S_MIPAGE] + (uint64_t)F.L.off[f];
}

START_TEST(skeleton)
{
	struct mimalloc_heap h;
	const char *why = "";
	uint64_t s, sz;
	uint8_t tag;
	bool used;

	ck_assert_int_eq(fakemi_build_minor(&F, minors[_i]), 0);
	walk_with(&h, 0, NULL, 0);
	ck_assert_msg(!fakemi_check(&h, &why), "%s", why);
	/* A block on the delayed list, one on xthread_free, an interior
	 * address of one in use, and memory in no page. */
	ck_assert(mimalloc_block_of(&h, fakemi_block(0, 0), &s, &sz, &used,
				    &tag) && !used && sz == 64 && tag == 2);
	ck_assert(mimalloc_block_of(&h, fakemi_block(0, 9), &s, &sz, &used,
				    &tag) && !used);
	ck_assert(mimalloc_block_of(&h, fakemi_block(1, 2) + 70, &s, &sz,
				    &used, &tag) && used &&
		  s == fakemi_block(1, 2) && tag == 3);
	ck_assert(!mimalloc_block_of(&h, FM_SEG1 + 8, &s, &sz, &used, &tag));
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

START_TEST(queue_loop_ends)
{
	struct mimalloc_heap h;
	const char *why = "";
	uint64_t self;

	ck_assert_int_eq(fakemi_build_minor(&F, minors[_i]), 0);
	self = page_a(PY_F_MIP_SLICE_COUNT);
	walk_with(&h, page_a(PY_F_MIP_NEXT), &self, 8);
	ck_assert_msg(!fakemi_check(&h, &why), "%s", why);
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

START_TEST(count_one_behind_is_salvaged)
{
	struct mimalloc_heap h;
	uint32_t used = 6;

	ck_assert_int_eq(fakemi_build_minor(&F, minors[_i]), 0);
	walk_with(&h, page_a(PY_F_MIP_USED), &used, F.L.width[PY_F_MIP_USED]);
	ck_assert_int_eq(h.salvaged_pages, 1);
	ck_assert_int_eq(h.bad_pages, 0);
	/* The lists, not the count, say which blocks are in use. */
	ck_assert_int_eq(h.used_blocks[2], 7);
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

START_TEST(free_list_off_grid_or_looping)
{
	struct mimalloc_heap h;
	uint64_t off = fakemi_block(0, 2) + 8, back = fakemi_block(0, 2);

	ck_assert_int_eq(fakemi_build_minor(&F, minors[_i]), 0);
	walk_with(&h, page_a(PY_F_MIP_FREE), &off, 8);
	ck_assert_int_eq(h.bad_pages, 1);
	mimalloc_release(&h);
	/* Block 5 links back to block 2: the list never ends. */
	walk_with(&h, fakemi_block(0, 5), &back, 8);
	ck_assert_int_eq(h.bad_pages, 1);
	ck_assert_int_eq(h.npages, 5);
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

START_TEST(heap_not_its_own_is_not_read)
{
	struct mimalloc_heap h;
	uint8_t tag = 7;

	ck_assert_int_eq(fakemi_build_minor(&F, minors[_i]), 0);
	/* Heap 1 (non-GC objects) tagged 7: offsets that are wrong. */
	walk_with(&h, FM_TS + (uint64_t)F.L.off[PY_F_TSI_MI_HEAPS] +
		  (uint64_t)F.L.size[PY_S_MIHEAP] +
		  (uint64_t)F.L.off[PY_F_MIH_TAG], &tag, 1);
	ck_assert_int_eq(h.bad_heaps, 1);
	ck_assert_int_eq(h.heaps, 3);
	ck_assert_int_eq(h.used_blocks[1], 0); /* page C not read */
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

START_TEST(no_layout_no_walk)
{
	struct mimalloc_heap h;
	struct mi_threads th;
	struct target *t;

	ck_assert_int_eq(fakemi_build(&F), 0);
	t = fakemi_target(&F);
	fakemi_threads(&th);
	F.L.off[PY_F_MIP_XBLOCK_SIZE] = -1;     /* as 2.5 without its */
	F.L.off[PY_F_MIP_PAGE_START] = -1;      /* page_start */
	ck_assert_int_eq(mimalloc_walk_at(t, &F.L, &th, &h), 0);
	ck_assert(!h.walked && strstr(h.note, "not walked"));
	F.L.off[PY_F_MIP_XBLOCK_SIZE] = 28;
	F.L.off[PY_F_MIP_KEYS] = 64;            /* encoded free lists */
	ck_assert_int_eq(mimalloc_walk_at(t, &F.L, &th, &h), 0);
	ck_assert(!h.walked && strstr(h.note, "encodes"));
	target_close(t);
	fakemi_release(&F);
}
END_TEST

/* 2.5: an abandoned segment is one of the interpreter's sub-process that
 * no thread owns and that has pages in use; anything else at a 32 MiB
 * boundary is not walked. */
START_TEST(v25_abandoned_segment_rules)
{
	static const struct { enum py_field f; uint64_t v; } damage[] = {
		{ PY_F_MIS_SUBPROC, FM_SUBPROC + 64 },  /* another's */
		{ PY_F_MIS_THREAD_ID, 0x7f0000002000ull }, /* owned */
		{ PY_F_MIS_USED, 0 },                   /* freed */
		{ PY_F_MIS_ABANDONED, 0 },              /* not abandoned */
		{ PY_F_MIS_SEGMENT_SIZE, 12345 },       /* no segment size */
	};
	struct mimalloc_heap h;
	size_t i;

	ck_assert_int_eq(fakemi_build_minor(&F, 14), 0);
	for (i = 0; i < PH_ARRAY_SIZE(damage); i++) {
		walk_with(&h, FM_SEG2 + (uint64_t)F.L.off[damage[i].f],
			  &damage[i].v, F.L.width[damage[i].f]);
		ck_assert_msg(h.walked && h.abandoned_segments == 0 &&
			      h.npages == 4 && h.used_blocks[2] == 5 &&
			      !h.bad_pages, "damage %zu", i);
		mimalloc_release(&h);
	}
	fakemi_release(&F);
}
END_TEST

/* 2.5: a page_start outside its segment is no page. */
START_TEST(v25_page_start_elsewhere)
{
	struct mimalloc_heap h;
	uint64_t elsewhere = FM_SEG2 + 8;

	ck_assert_int_eq(fakemi_build_minor(&F, 14), 0);
	walk_with(&h, page_a(PY_F_MIP_PAGE_START), &elsewhere, 8);
	ck_assert_int_eq(h.bad_pages, 1);
	ck_assert_int_eq(h.used_blocks[2], 2); /* page E only */
	mimalloc_release(&h);
	fakemi_release(&F);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mimalloc");
	TCase *tc = tcase_create("mimalloc");
	int n = (int)PH_ARRAY_SIZE(minors);

	tcase_add_loop_test(tc, skeleton, 0, n);
	tcase_add_loop_test(tc, queue_loop_ends, 0, n);
	tcase_add_loop_test(tc, count_one_behind_is_salvaged, 0, n);
	tcase_add_loop_test(tc, free_list_off_grid_or_looping, 0, n);
	tcase_add_loop_test(tc, heap_not_its_own_is_not_read, 0, n);
	tcase_add_test(tc, no_layout_no_walk);
	tcase_add_test(tc, v25_abandoned_segment_rules);
	tcase_add_test(tc, v25_page_start_elsewhere);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
