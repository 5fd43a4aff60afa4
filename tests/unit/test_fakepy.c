/*
 * The whole census on the fake CPython 3.11 process the fuzzers start from
 * (tests/fuzz/fakepy.h): exact on the untouched skeleton in every variant,
 * including allocations wrapped by CPython's allocator debug hooks.
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
	ck_assert(!(s.meta.flags & SNAP_PARTIAL));
	snapshot_release(&s);
	fakepy_release(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fakepy");
	TCase *tc = tcase_create("fakepy");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, skeleton_census_exact, 0, 8);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
