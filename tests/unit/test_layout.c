/*
 * The built-in layout tables (src/python/tables.c) against the DWARF of
 * every pyenv interpreter on the machine: field by field, offsets, widths
 * and struct sizes must agree.  Plus spot checks against numbers verified
 * independently with gdb `ptype /o` (shared/INTERNALS.md), so the generator
 * itself is checked too.
 */
#include <stdio.h>

#include "check_util.h"
#include "interp.h"
#include "python/python.h"

static void compare_minor(int minor)
{
	const struct py_table *tb = py_table_find(3, minor);
	struct interp it;
	struct objfile of;
	struct py_layout D;
	size_t i;
	int bad = 0;

	ck_assert_msg(tb != NULL, "no table for 3.%d", minor);
	if (!find_pyenv(minor, &it) || !it.lib[0])
		return;
	ck_assert_msg(objfile_open_path(&of, it.lib) == 0, "%s: %s", it.lib,
		      ph_errmsg());
	ck_assert_msg(of.has_dwarf, "%s has no DWARF", it.lib);
	D.major = 3;
	D.minor = minor;
	ck_assert_int_gt(py_layout_from_dwarf(&D, &of), 100);
	for (i = 0; i < PY_S__COUNT; i++) {
		if (tb->size[i] != D.size[i]) {
			fprintf(stderr, "3.%d sizeof %s: table %d, DWARF %lld\n",
				minor, py_struct_info[i].id, tb->size[i],
				(long long)D.size[i]);
			bad++;
		}
	}
	for (i = 0; i < PY_F__COUNT; i++) {
		unsigned dw = D.off[i] >= 0 ? D.width[i] : 0;

		if (tb->field[i].off != D.off[i] || tb->field[i].width != dw) {
			fprintf(stderr, "3.%d %s: table %d/%u, DWARF %lld/%u\n",
				minor, py_field_info[i].id, tb->field[i].off,
				tb->field[i].width, (long long)D.off[i], dw);
			bad++;
		}
	}
	fprintf(stderr, "3.%d (%s): %d structs, %d fields compared, %d "
		"differ\n", minor, it.prefix, (int)PY_S__COUNT,
		(int)PY_F__COUNT, bad);
	objfile_release(&of);
	ck_assert_int_eq(bad, 0);
}

START_TEST(table_matches_dwarf)
{
	compare_minor(_i);
}
END_TEST

#define OFF(mi, f) (py_table_find(3, mi)->field[PY_F_##f].off)
#define SZ(mi, s) (py_table_find(3, mi)->size[PY_S_##s])

/* Numbers from shared/INTERNALS.md (gdb ptype /o), not from our DWARF code. */
START_TEST(tables_agree_with_gdb_facts)
{
	ck_assert_int_eq(OFF(7, RT_INTERP_HEAD), 24);
	ck_assert_int_eq(OFF(8, RT_INTERP_HEAD), 32);
	ck_assert_int_eq(OFF(11, RT_INTERP_HEAD), 40);
	ck_assert_int_eq(OFF(13, RT_INTERP_HEAD), 632);
	ck_assert_int_eq(OFF(7, RT_GC), 320);
	ck_assert_int_eq(OFF(8, RT_GC), 344);
	ck_assert_int_eq(OFF(9, RT_GC), -1);
	ck_assert_int_eq(OFF(7, RT_TSTATE_CURRENT), 1480);
	ck_assert_int_eq(OFF(11, RT_TSTATE_CURRENT), 576);
	ck_assert_int_eq(OFF(12, RT_TSTATE_CURRENT), -1);
	ck_assert_int_eq(OFF(11, RT_MAIN_INTERP), 58936);
	ck_assert_int_eq(OFF(12, RT_MAIN_INTERP), 76392);
	ck_assert_int_eq(OFF(13, RT_MAIN_INTERP), 88352);
	ck_assert_int_eq(OFF(12, RT_TRACEMALLOC), 2768);
	ck_assert_int_eq(OFF(13, RT_TRACEMALLOC), 10080);
	ck_assert_int_eq(OFF(12, IS_OBMALLOC), 3960);
	ck_assert_int_eq(OFF(13, IS_OBMALLOC), 10800);
	ck_assert_int_eq(OFF(7, IS_MODULES), 40);
	ck_assert_int_eq(OFF(12, IS_MODULES), 944);
	ck_assert_int_eq(OFF(13, IS_MODULES), 7656);
	ck_assert_int_eq(OFF(13, IS_THREADS_HEAD), 7344);
	ck_assert_int_eq(OFF(9, IS_GC), 616);
	ck_assert_int_eq(OFF(11, IS_GC), 648);
	ck_assert_int_eq(OFF(12, IS_GC), 112);
	ck_assert_int_eq(OFF(10, TS_CFRAME), 48);
	ck_assert_int_eq(OFF(11, TS_CFRAME), 56);
	ck_assert_int_eq(OFF(13, TS_CURRENT_FRAME), 72);
	ck_assert_int_eq(OFF(11, TS_NATIVE_THREAD_ID), 160);
	ck_assert_int_eq(OFF(12, TS_NATIVE_THREAD_ID), 144);
	ck_assert_int_eq(OFF(7, TS_THREAD_ID), 176);
	ck_assert_int_eq(OFF(11, IF_CODE), 32);
	ck_assert_int_eq(OFF(12, IF_CODE), 0);
	ck_assert_int_eq(OFF(11, IF_OWNER), 69);
	ck_assert_int_eq(OFF(13, IF_OWNER), 70);
	ck_assert_int_eq(OFF(11, CO_CODE_ADAPTIVE), 184);
	ck_assert_int_eq(OFF(12, CO_CODE_ADAPTIVE), 192);
	ck_assert_int_eq(OFF(13, CO_CODE_ADAPTIVE), 200);
	ck_assert_int_eq(OFF(7, CO_FIRSTLINENO), 36);
	ck_assert_int_eq(OFF(11, CO_FIRSTLINENO), 72);
	ck_assert_int_eq(OFF(7, FO_LASTI), 104);
	ck_assert_int_eq(OFF(10, FO_LASTI), 96);
	ck_assert_int_eq(OFF(7, HT_QUALNAME), 848);
	ck_assert_int_eq(OFF(13, HT_QUALNAME), 872);
	ck_assert_int_eq(OFF(9, HT_MODULE), 872);
	ck_assert_int_eq(OFF(7, GCS_GENERATIONS), 32);
	ck_assert_int_eq(OFF(8, GCS_GENERATIONS), 24);
	ck_assert_int_eq(SZ(7, GCHEAD), 32);
	ck_assert_int_eq(SZ(8, GCHEAD), 16);
	ck_assert_int_eq(SZ(7, TYPE), 400);
	ck_assert_int_eq(SZ(8, TYPE), 416);
	ck_assert_int_eq(SZ(11, TYPE), 408);
	ck_assert_int_eq(SZ(13, DEBUGOFF), 584);
	ck_assert_int_eq(OFF(13, DO_TS_CURRENT_FRAME), 184);
	ck_assert_int_eq(OFF(13, DO_GC_COLLECTING), 576);
	ck_assert_int_eq(OFF(12, OBS_ARENAS), 512);
	ck_assert_int_eq(py_table_find(3, 7)->field[PY_F_TMTB_NFRAME].width, 4);
	ck_assert_int_eq(py_table_find(3, 9)->field[PY_F_TMTB_NFRAME].width, 2);
	ck_assert_int_eq(SZ(11, ASCII), 48);
	ck_assert_int_eq(SZ(12, ASCII), 40);
	ck_assert(py_table_find(3, 6) == NULL);
	ck_assert(py_table_find(3, 14) == NULL);
}
END_TEST

START_TEST(every_field_exists_somewhere)
{
	size_t i, k;

	/* A field no table has is a typo in fields.h. */
	for (i = 0; i < PY_F__COUNT; i++) {
		bool any = false;

		for (k = 0; k < py_ntables; k++)
			any |= py_tables[k]->field[i].off >= 0;
		ck_assert_msg(any, "%s is absent in every version",
			      py_field_info[i].id);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("layout");
	int rc;

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, table_matches_dwarf, 7, 14);
	tcase_add_test(tc, tables_agree_with_gdb_facts);
	tcase_add_test(tc, every_field_exists_somewhere);
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	return rc;
}
