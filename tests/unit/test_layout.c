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
	const struct py_table *tb = py_table_find(3, minor, -1);
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

#define OFF(mi, f) (py_table_find(3, mi, -1)->field[PY_F_##f].off)
#define SZ(mi, s) (py_table_find(3, mi, -1)->size[PY_S_##s])

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
	ck_assert_int_eq(py_table_find(3, 7, -1)->field[PY_F_TMTB_NFRAME].width, 4);
	ck_assert_int_eq(py_table_find(3, 9, -1)->field[PY_F_TMTB_NFRAME].width, 2);
	ck_assert_int_eq(SZ(11, ASCII), 48);
	ck_assert_int_eq(SZ(12, ASCII), 40);
	ck_assert(py_table_find(3, 6, -1) == NULL);
	ck_assert(py_table_find(3, 16, -1) == NULL);
}
END_TEST

#define OFFM(mi, mc, f) (py_table_find(3, mi, mc)->field[PY_F_##f].off)
#define SZM(mi, mc, s) (py_table_find(3, mi, mc)->size[PY_S_##s])

/* 3.13.x, 3.14, 3.15: shared/INTERNALS-2026.md (gdb ptype /o of the sid
 * headers, and the live sid binaries), again not from our DWARF code. */
START_TEST(tables_agree_with_2026_facts)
{
	/* Which table a micro picks: the newest at or below it. */
	ck_assert_int_eq(py_table_find(3, 13, 0)->micro, 0);
	ck_assert_int_eq(py_table_find(3, 13, 4)->micro, 0);
	ck_assert_int_eq(py_table_find(3, 13, 5)->micro, 5);
	ck_assert_int_eq(py_table_find(3, 13, 17)->micro, 5);
	ck_assert_int_eq(py_table_find(3, 13, 18)->micro, 18);
	ck_assert_int_eq(py_table_find(3, 13, 99)->micro, 18);
	ck_assert_int_eq(py_table_find(3, 14, 0)->micro, 10);
	/* The moves that made one table per minor unsafe (§2.3). */
	ck_assert_int_eq(OFFM(13, 0, RT_TRACEMALLOC), 10080);
	ck_assert_int_eq(OFFM(13, 18, RT_TRACEMALLOC), 10104);
	ck_assert_int_eq(OFFM(13, 0, GCS_GENERATIONS), 24);
	ck_assert_int_eq(OFFM(13, 18, GCS_GENERATIONS), 20); /* Debian */
	ck_assert_int_eq(OFFM(13, 18, RT_MAIN_INTERP), 88424);
	/* §6.1, §7.1, §8, §9 */
	ck_assert_int_eq(OFFM(14, 10, GCS_GENERATIONS), 24);
	ck_assert_int_eq(OFFM(15, 2, GCS_GENERATIONS), 8);
	ck_assert_int_eq(OFFM(14, 10, GCS_PERMANENT), 96);
	ck_assert_int_eq(OFFM(15, 2, GCS_PERMANENT), 80);
	ck_assert_int_eq(OFFM(14, 10, GCS_HEAP_SIZE), 216);
	ck_assert_int_eq(OFFM(15, 2, GCS_HEAP_SIZE), 144);
	ck_assert_int_eq(OFFM(14, 10, GCS_COLLECTING), 192);
	ck_assert_int_eq(OFFM(15, 2, GCS_COLLECTING), 112);
	ck_assert_int_eq(OFFM(14, 10, RT_TRACEMALLOC), 10296);
	ck_assert_int_eq(OFFM(15, 2, RT_TRACEMALLOC), 10432);
	ck_assert_int_eq(OFFM(14, 10, IS_OBMALLOC), 10904);
	ck_assert_int_eq(OFFM(15, 2, IS_OBMALLOC), 10880);
	ck_assert_int_eq(OFFM(14, 10, TUPLE_ITEM), 32);
	ck_assert_int_eq(OFFM(15, 2, TUPLE_ITEM), 32);
	ck_assert_int_eq(OFFM(14, 10, IF_STACKPOINTER), 64);
	ck_assert_int_eq(OFFM(14, 10, IF_OWNER), 74);
	ck_assert_int_eq(OFFM(14, 10, IF_LOCALSPLUS), 80);
	ck_assert_int_eq(OFFM(14, 10, CO_CODE_ADAPTIVE), 208);
	ck_assert_int_eq(OFFM(14, 10, FO_FRAME_DATA), 72);
	ck_assert_int_eq(OFFM(15, 2, HT_QUALNAME), 880);
	ck_assert_int_eq(OFFM(15, 2, MOD_DEF), -1);
	ck_assert_int_eq(OFFM(14, 10, OB_REFCNT), 0);
	ck_assert_int_eq(py_table_find(3, 14, 10)->field[PY_F_OB_REFCNT].width,
			 4);
	ck_assert_int_eq(SZM(14, 10, DEBUGOFF), 760);
	ck_assert_int_eq(SZM(15, 2, DEBUGOFF), 888);
	ck_assert_int_eq(SZM(15, 2, TYPE), 424);
	ck_assert_int_eq(SZM(14, 10, TUPLE), 40);
	/* Where _Py_DebugOffsets keeps the tuple's items (§3). */
	ck_assert_int_eq(OFFM(14, 10, DO_TUPLE_ITEM), 456);
	ck_assert_int_eq(OFFM(15, 2, DO_TUPLE_ITEM), 552);
}
END_TEST

/*
 * The tables generated from Debian's -dbg packages against that DWARF, when
 * tests/distro/build.sh's chroots are on the machine (the tables name the
 * suite and the executable whose debug file they come from).
 */
static const char *distro_cache(void)
{
	const char *c = getenv("PYHEAP_DISTRO_CACHE");

	return c && *c ? c : "/var/cache/pyheap-distro";
}

START_TEST(distro_tables_match_dwarf)
{
	size_t k, compared = 0;

	for (k = 0; k < py_ntables; k++) {
		const struct py_table *tb = py_tables[k];
		char suite[32], exe[64], path[1024];
		struct objfile of, dbg;
		struct py_layout D;
		const char *from = tb->generated_from;
		size_t i;
		int bad = 0;

		if (sscanf(from, "%*s Debian %31s %*s %*s DWARF of %63s",
			   suite, exe) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", distro_cache(), suite,
			 exe);
		if (objfile_open_path(&of, path)) {
			fprintf(stderr, "SKIP: %s: no %s (tests/distro/build.sh)"
				"\n", from, path);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s/usr/lib/debug/.build-id/"
			 "%.2s/%s.debug", distro_cache(), suite, of.build_id,
			 of.build_id + 2);
		objfile_release(&of);
		ck_assert_msg(objfile_open_path(&dbg, path) == 0,
			      "%s: no debug file %s", from, path);
		D.major = 3;
		D.minor = tb->minor;
		ck_assert_int_gt(py_layout_from_dwarf(&D, &dbg), 100);
		for (i = 0; i < PY_S__COUNT; i++)
			bad += tb->size[i] != D.size[i];
		for (i = 0; i < PY_F__COUNT; i++) {
			unsigned dw = D.off[i] >= 0 ? D.width[i] : 0;

			if (tb->field[i].off != D.off[i] ||
			    tb->field[i].width != dw) {
				fprintf(stderr, "%s %s: table %d, DWARF %lld\n",
					from, py_field_info[i].id,
					tb->field[i].off, (long long)D.off[i]);
				bad++;
			}
		}
		fprintf(stderr, "%s: %d differ\n", from, bad);
		ck_assert_int_eq(bad, 0);
		objfile_release(&dbg);
		compared++;
	}
	fprintf(stderr, "%zu Debian tables compared with their DWARF\n",
		compared);
}
END_TEST

/*
 * The free-threaded table against the DWARF of the 3.13t it was made from
 * (tests/distro/build-ft.sh), and against INTERNALS-2026 §4.3 and §7.3
 * (gdb ptype /o of that build): the 32-byte header, the mimalloc 2.1.2
 * structs.  A GIL build never gets it.
 */
START_TEST(free_threaded_table)
{
	const struct py_table *tb = py_table_find_ft(3, 13, 15, true);
	char path[1024];
	struct objfile of;
	struct py_layout D;
	size_t i;
	int bad = 0;

	ck_assert(tb != NULL && tb->free_threaded);
	ck_assert(!py_table_find(3, 13, 15)->free_threaded);
	ck_assert(py_table_find_ft(3, 12, 0, true) == NULL);
	ck_assert_int_eq(tb->size[PY_S_OBJECT], 32);
	ck_assert_int_eq(tb->field[PY_F_OB_TYPE].off, 24);
	ck_assert_int_eq(tb->field[PY_F_TSI_MI_HEAPS].off, 352 + 8);
	ck_assert_int_eq(tb->size[PY_S_MIHEAP], 3064);
	ck_assert_int_eq(tb->field[PY_F_MIH_PAGES].off, 1040);
	ck_assert_int_eq(tb->field[PY_F_MIH_DELAYED].off, 2840);
	ck_assert_int_eq(tb->field[PY_F_MIH_TAG].off, 3057);
	ck_assert_int_eq(tb->size[PY_S_MIPAGE], 96);
	ck_assert_int_eq(tb->field[PY_F_MIP_FREE].off, 16);
	ck_assert_int_eq(tb->field[PY_F_MIP_USED].off, 24);
	ck_assert_int_eq(tb->field[PY_F_MIP_LOCAL_FREE].off, 32);
	ck_assert_int_eq(tb->field[PY_F_MIP_XTHREAD_FREE].off, 40);
	ck_assert_int_eq(tb->field[PY_F_MIP_NEXT].off, 56);
	ck_assert_int_eq(tb->field[PY_F_MIP_KEYS].off, -1);
	snprintf(path, sizeof(path), "%s/py313t/bin/python3.13t",
		 distro_cache());
	if (objfile_open_path(&of, path)) {
		fprintf(stderr, "SKIP: no %s (tests/distro/build-ft.sh)\n",
			path);
		return;
	}
	D.major = 3;
	D.minor = 13;
	ck_assert_int_gt(py_layout_from_dwarf(&D, &of), 100);
	for (i = 0; i < PY_S__COUNT; i++)
		bad += tb->size[i] != D.size[i];
	for (i = 0; i < PY_F__COUNT; i++) {
		unsigned dw = D.off[i] >= 0 ? D.width[i] : 0;

		if (tb->field[i].off != D.off[i] || tb->field[i].width != dw) {
			fprintf(stderr, "3.13t %s: table %d, DWARF %lld\n",
				py_field_info[i].id, tb->field[i].off,
				(long long)D.off[i]);
			bad++;
		}
	}
	fprintf(stderr, "%s: %d differ\n", tb->generated_from, bad);
	objfile_release(&of);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * 3.14t and 3.15t: no build of them here, their tables are compiled from
 * Debian sid's headers (tools/gen-tables.sh ft_compiled, which on sid's
 * 3.13 headers reproduces the 3.13.15t build's DWARF table exactly).
 * Against the numbers INTERNALS-2026 §4.3 and §7.3 give for mimalloc
 * 2.5.2 and the 32-byte header.
 */
START_TEST(compiled_ft_tables)
{
	static const struct { enum py_field f; int off; } want[] = {
		{ PY_F_OB_TYPE, 24 }, { PY_F_TP_NAME, 40 },
		{ PY_F_TP_FLAGS, 184 }, { PY_F_TP_DICT, 280 },
		{ PY_F_MA_KEYS, 48 }, { PY_F_LIST_ITEM, 40 },
		{ PY_F_TUPLE_ITEM, 48 },
		{ PY_F_MIH_DELAYED, 8 }, { PY_F_MIH_THREAD_ID, 16 },
		{ PY_F_MIH_TAG, 249 }, { PY_F_MIH_PAGES, 1288 },
		{ PY_F_MIP_CAPACITY, 10 }, { PY_F_MIP_FREE, 16 },
		{ PY_F_MIP_LOCAL_FREE, 24 }, { PY_F_MIP_USED, 32 },
		{ PY_F_MIP_HEAP_TAG, 35 }, { PY_F_MIP_BLOCK_SIZE, 40 },
		{ PY_F_MIP_PAGE_START, 48 }, { PY_F_MIP_XTHREAD_FREE, 56 },
		{ PY_F_MIP_NEXT, 72 }, { PY_F_MIP_KEYS, -1 },
		{ PY_F_MIP_XBLOCK_SIZE, -1 }, { PY_F_MIS_SEGMENT_SIZE, 32 },
		{ PY_F_MIS_SUBPROC, 40 }, { PY_F_MIS_ABANDONED, 200 },
		{ PY_F_MIS_USED, 216 }, { PY_F_MIS_NSLICES, 248 },
		{ PY_F_MIS_THREAD_ID, 280 }, { PY_F_MIS_SLICES, 288 },
		{ PY_F_IS_MI_ABANDONED, -1 },
	};
	int minor;
	size_t i;

	for (minor = 14; minor <= 15; minor++) {
		const struct py_table *tb = py_table_find_ft(3, minor, 99, true);

		ck_assert_msg(tb && tb->free_threaded, "no 3.%dt table", minor);
		ck_assert_int_eq(tb->size[PY_S_OBJECT], 32);
		ck_assert_int_eq(tb->size[PY_S_MIHEAP], 3088);
		ck_assert_int_eq(tb->size[PY_S_MIPAGE], 112);
		ck_assert(tb->field[PY_F_IS_MI_SUBPROC].off > 0);
		for (i = 0; i < PH_ARRAY_SIZE(want); i++)
			ck_assert_msg(tb->field[want[i].f].off == want[i].off,
				      "3.%dt %s: %d, want %d", minor,
				      py_field_info[want[i].f].id,
				      tb->field[want[i].f].off, want[i].off);
	}
}
END_TEST

/* PyASCIIObject.state: a compact ASCII str, interned (1), as each
 * layout packs it (Include/cpython/unicodeobject.h). */
START_TEST(str_state_bits)
{
	struct py_layout L;
	struct py_str_bits b;

	memset(&L, 0, sizeof(L));
	L.major = 3;
	L.minor = 14;
	/* GIL: interned:2, kind:3, compact:1, ascii:1 from bit 0. */
	b = py_str_bits(&L, 1u | 1u << 2 | 1u << 5 | 1u << 6);
	ck_assert(b.interned == 1 && b.kind == 1 && b.compact && b.ascii &&
		  b.ready);
	/* 3.14t: interned a byte, then the bit-fields from bit 8. */
	L.free_threaded = true;
	b = py_str_bits(&L, 1u | 1u << 8 | 1u << 11 | 1u << 12);
	ck_assert(b.interned == 1 && b.kind == 1 && b.compact && b.ascii);
	b = py_str_bits(&L, 1u | 1u << 2 | 1u << 5 | 1u << 6);
	ck_assert(b.kind == 0 && !b.compact && !b.ascii);
	/* 3.13t kept the GIL layout; 3.11 had ready:1 after ascii. */
	L.minor = 13;
	b = py_str_bits(&L, 2u | 4u << 2 | 1u << 5);
	ck_assert(b.interned == 2 && b.kind == 4 && b.compact && !b.ascii);
	L.free_threaded = false;
	L.minor = 11;
	ck_assert(!py_str_bits(&L, 1u << 2).ready);
	ck_assert(py_str_bits(&L, 1u << 2 | 1u << 7).ready);
}
END_TEST

/*
 * 2.7's table against its DWARF (pyenv's libpython2.7), and against
 * INTERNALS §10 (gdb on 2.7.18): interpreter {next@0, tstate_head@8},
 * thread state {next@0, interp@8, frame@16}, PyStringObject's ob_sval at
 * 36.
 */
START_TEST(table_27)
{
	const struct py_table *tb = py_table_find(2, 7, -1);
	char lib[1100];
	struct objfile of;
	struct py_layout D;
	size_t i;
	int bad = 0;

	ck_assert(tb != NULL && tb->major == 2 && !tb->free_threaded);
	ck_assert_int_eq(tb->field[PY_F_IS_NEXT].off, 0);
	ck_assert_int_eq(tb->field[PY_F_IS_THREADS_HEAD].off, 8);
	ck_assert_int_eq(tb->field[PY_F_TS_INTERP].off, 8);
	ck_assert_int_eq(tb->field[PY_F_TS_FRAME].off, 16);
	ck_assert_int_eq(tb->field[PY_F_BYTES_SVAL].off, 36);
	ck_assert_int_eq(tb->field[PY_F_RT_INTERP_HEAD].off, -1);
	ck_assert(py_table_find(3, 7, -1)->major == 3);
	snprintf(lib, sizeof(lib), "%s/versions/2.7.18/lib/libpython2.7.so.1.0",
		 pyenv_root());
	if (objfile_open_path(&of, lib)) {
		fprintf(stderr, "SKIP: no %s\n", lib);
		return;
	}
	D.major = 2;
	D.minor = 7;
	ck_assert_int_gt(py_layout_from_dwarf(&D, &of), 100);
	for (i = 0; i < PY_S__COUNT; i++)
		bad += tb->size[i] != D.size[i];
	for (i = 0; i < PY_F__COUNT; i++) {
		unsigned dw = D.off[i] >= 0 ? D.width[i] : 0;

		bad += tb->field[i].off != D.off[i] || tb->field[i].width != dw;
	}
	fprintf(stderr, "%s: %d differ\n", tb->generated_from, bad);
	objfile_release(&of);
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(every_field_exists_somewhere)
{
	size_t i, k;

	/* A field no table has is a typo in fields.h.  But mi_page_t.keys,
	 * there only when mimalloc encodes its free lists (types.h #if
	 * MI_ENCODE_FREELIST: MI_SECURE >= 3 or MI_DEBUG), which no build
	 * here does: its presence is what heap/mimalloc.c refuses. */
	for (i = 0; i < PY_F__COUNT; i++) {
		bool any = i == PY_F_MIP_KEYS;

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
	tcase_add_test(tc, tables_agree_with_2026_facts);
	tcase_add_test(tc, distro_tables_match_dwarf);
	tcase_add_test(tc, free_threaded_table);
	tcase_add_test(tc, table_27);
	tcase_add_test(tc, compiled_ft_tables);
	tcase_add_test(tc, str_state_bits);
	tcase_add_test(tc, every_field_exists_somewhere);
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	return rc;
}
