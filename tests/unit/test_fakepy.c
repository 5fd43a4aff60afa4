/*
 * The whole census on the fake CPython 3.11 process the fuzzers start from
 * (tests/fuzz/fakepy.h): exact on the untouched skeleton in every variant,
 * including allocations wrapped by CPython's allocator debug hooks; and
 * bounded by the copy when target memory shares one huge array among many
 * objects (census.c "Budget"), or loops thousands of threads through one
 * frame (stacks.c).
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "fakepy.h"
#include "objects/objects.h"

/* The census of f (as built, or as fakepy_share() left it). */
static void census_of(const struct fakepy *f, struct snapshot *s)
{
	struct census_opts co = { false };
	struct target *t = fakepy_target(f);
	struct pyproc p;

	ck_assert_msg(pyproc_open(&p, t) == 0, "%s", ph_errmsg());
	snapshot_init(s);
	ck_assert_msg(census_build(&p, &co, s) == 0, "%s", ph_errmsg());
	pyproc_release(&p);
	fakepy_target_close(t);
}

START_TEST(skeleton_census_exact)
{
	unsigned flags = (unsigned)_i;
	struct fakepy f;
	struct snapshot s;
	const char *why = "";

	ck_assert_int_eq(fakepy_build(&f, flags), 0);
	census_of(&f, &s);
	ck_assert_msg(fakepy_check(&f, &s, &why) == 0, "variant %u: %s", flags,
		      why);
	ck_assert_int_eq(snapshot_get_stat(&s, "census.debug_hooks", -1),
			 !!(flags & FP_DEBUG_HOOKS));
	ck_assert_int_eq(snapshot_get_stat(&s, "census.refs_over_budget", -1),
			 0);
	ck_assert(!(s.meta.flags & SNAP_PARTIAL));
	if (!(flags & FP_NO_LIBC)) {
		/* 2.43: the tcache after two chunks, holding one of them */
		bool g243 = flags & FP_GLIBC243;

		ck_assert_str_eq(snapshot_str(&s, s.meta.malloc),
				 g243 ? "glibc 2.43" : "glibc 2.36");
		ck_assert_int_eq(snapshot_get_stat(&s, "malloc.tcaches", -1),
				 g243);
		ck_assert_int_eq(snapshot_get_stat(&s, "malloc.tcache_chunks",
						   -1), g243);
		ck_assert_int_eq(snapshot_get_stat(&s, "malloc.corrupt_regions",
						   -1), 0);
	}
	snapshot_release(&s);
	fakepy_release(&f);
}
END_TEST

/* 400 lists each claiming the same 20,000-item array: eight million
 * references in 0.6 MB of memory.  The census stops at its budget (a
 * quarter of the bytes copied, plus a million), says so, and marks the
 * snapshot partial, instead of spending time and memory on every claim. */
START_TEST(hostile_sharing_stays_within_budget)
{
	struct fakepy f;
	struct snapshot s;
	uint64_t t0, readable = 0, budget;
	size_t i, lists = 0;
	int64_t over;

	ck_assert_int_eq(fakepy_build(&f, 0), 0);
	fakepy_share(&f, 400, 20000);
	for (i = 0; i < FP_NREGIONS; i++)
		if (f.r[i].buf)
			readable += f.r[i].len;
	budget = readable / 4 + (1u << 20);
	t0 = ph_now_ns();
	census_of(&f, &s);
	over = snapshot_get_stat(&s, "census.refs_over_budget", -1);
	fprintf(stderr, "sharing: %zu objects, %zu edges, %lld references "
		"over the budget of %llu, %.0f ms\n", s.nobjects, s.nedges,
		(long long)over, (unsigned long long)budget,
		(double)(ph_now_ns() - t0) / 1e6);
	ck_assert_int_gt(over, 8000000 - (int64_t)budget - 1000);
	ck_assert(s.meta.flags & SNAP_PARTIAL);
	ck_assert_uint_le(s.nedges, budget);
	for (i = 0; i < s.nobjects; i++)
		if (!strcmp(snapshot_str(&s, s.types[s.objects[i].type].name),
			    "list"))
			lists++;
	ck_assert_uint_ge(lists, 400);
	snapshot_release(&s);
	fakepy_release(&f);
}
END_TEST

/* 2000 threads, each in a frame that is its own caller, with 65536 live
 * slots and a 256 KiB line table: unbounded, 8 million frames, 2 TB of
 * line tables and 500 billion references.  The walk stops at its totals
 * (python.h py_read_stacks) and takes well under the pause of a snap. */
START_TEST(frame_loops_stay_within_totals)
{
	struct fakepy f;
	struct target *t;
	struct pyproc p;
	struct py_stacks st;
	uint64_t t0, frames = 0, refs = 0, lines = 0, threads = 0;
	size_t i, j, k;

	ck_assert_int_eq(fakepy_build(&f, 0), 0);
	fakepy_frame_loop(&f, 2000, 256 << 10, 65536);
	t = fakepy_target(&f);
	ck_assert_int_eq(pyproc_open(&p, t), 0);
	t0 = ph_now_ns();
	ck_assert_int_eq(py_read_stacks(&p, &st), 0);
	for (i = 0; i < st.ninterps; i++) {
		for (j = 0; j < st.interps[i].nthreads; j++) {
			const struct py_thread *th = &st.interps[i].threads[j];

			threads++;
			frames += th->nframes;
			refs += th->nrefs;
			for (k = 0; k < th->nframes; k++)
				lines += th->frames[k].line >= 0;
		}
	}
	fprintf(stderr, "frame loops: %llu threads, %llu frames (%llu with a "
		"line), %llu references, %.0f ms\n",
		(unsigned long long)threads, (unsigned long long)frames,
		(unsigned long long)lines, (unsigned long long)refs,
		(double)(ph_now_ns() - t0) / 1e6);
	ck_assert_uint_eq(threads, 2000);
	ck_assert_uint_le(frames, 1u << 17);
	ck_assert_uint_le(lines, (64u << 20) / (256u << 10) + 1);
	ck_assert_uint_le(refs, 1u << 22);
	py_stacks_release(&st);
	pyproc_release(&p);
	fakepy_target_close(t);
	fakepy_release(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fakepy");
	TCase *tc = tcase_create("fakepy");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, skeleton_census_exact, 0, 32);
	tcase_add_test(tc, hostile_sharing_stays_within_budget);
	tcase_add_test(tc, frame_loops_stay_within_totals);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
