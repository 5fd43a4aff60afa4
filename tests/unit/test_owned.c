/*
 * What objects own (issue 14): the kind of a static subclass of a known
 * container (types.c resolve_kind) and the sizes and buffers of the
 * extension types of src/objects/extension.c, on synthetic type objects
 * and objects laid out as CPython 3.11's (python/tables.c) and as
 * Modules/arraymodule.c, Modules/_struct.c and numpy 1.x make them.  Objects whose
 * fields fail the checks keep tp_basicsize and no buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "objects/internal.h"
#include "synth.h"

#define MINOR 11
#define BASE 0x10000000ull
#define LEN 0x10000ull
/* Type objects, 0x400 apart (sizeof(PyHeapTypeObject) < 0x400). */
#define TYPE_T (BASE + 0x0000)
#define OBJECT_T (BASE + 0x0400)
#define DICT_T (BASE + 0x0800)
#define DEFDICT_T (BASE + 0x0c00)   /* static, tp_base dict, 56 bytes */
#define ARRAY_T (BASE + 0x1000)     /* "array.array", 64 bytes */
#define BADARRAY_T (BASE + 0x1400)  /* "array.array" of another size */
#define STRUCT_T (BASE + 0x1800)    /* "_struct.Struct", 56 bytes */
#define LEAF_T (BASE + 0x1c00)      /* static over defaultdict, no fields */
#define NAMES (BASE + 0x3000)
#define DESCR (BASE + 0x3800)       /* struct arraydescr {'i', 4} */
#define ARR (BASE + 0x4000)
#define ITEMS (BASE + 0x4100)
#define ST (BASE + 0x5000)
#define CODES (BASE + 0x5100)
#define NDARRAY_T (BASE + 0x2000)   /* "numpy.ndarray", 96 bytes */
#define DTYPE (BASE + 0x6000)       /* numpy 1.x PyArray_Descr */
#define ND (BASE + 0x6100)
#define DIMS (BASE + 0x6200)
#define DATA (BASE + 0x7000)

#define F_READY (1ull << 12)
#define F_GC (1ull << 14)

struct env {
	struct target *t;
	struct pyproc p;
	struct census c;
	struct synth m;
};

static uint64_t put_name(struct synth *m, int i, const char *name)
{
	uint64_t a = NAMES + 64 * (uint64_t)i;

	synth_put(m, a, name, strlen(name) + 1);
	return a;
}

static void put_type(struct env *e, uint64_t t, int i, const char *name,
		     uint64_t base, int64_t basicsize, uint64_t flags)
{
	const struct py_layout *L = &e->p.L;

	synth_field(&e->m, L, t, PY_F_OB_REFCNT, 1);
	synth_field(&e->m, L, t, PY_F_OB_TYPE, TYPE_T);
	synth_field(&e->m, L, t, PY_F_TP_NAME, put_name(&e->m, i, name));
	synth_field(&e->m, L, t, PY_F_TP_BASICSIZE, (uint64_t)basicsize);
	synth_field(&e->m, L, t, PY_F_TP_FLAGS, flags | F_READY);
	synth_field(&e->m, L, t, PY_F_TP_BASE, base);
}

/* The types, then objects added by each test before env_commit(). */
static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->t = target_fake_new();
	e->p.t = e->t;
	e->p.major = 3;
	e->p.minor = MINOR;
	layout_for(&e->p.L, MINOR);
	e->c.p = &e->p;
	e->c.t = e->t;
	e->c.L = &e->p.L;
	e->c.known.type[K_TYPE] = TYPE_T;
	e->c.known.type[K_OBJECT] = OBJECT_T;
	e->c.known.type[K_DICT] = DICT_T;
	synth_init(&e->m, BASE, LEN);
	put_type(e, TYPE_T, 0, "type", OBJECT_T, 880, F_GC);
	put_type(e, OBJECT_T, 1, "object", 0, 16, 0);
	put_type(e, DICT_T, 2, "dict", OBJECT_T, 48, F_GC);
	put_type(e, DEFDICT_T, 3, "collections.defaultdict", DICT_T, 56, F_GC);
	put_type(e, ARRAY_T, 4, "array.array", OBJECT_T, 64, F_GC);
	put_type(e, BADARRAY_T, 5, "array.array", OBJECT_T, 72, F_GC);
	put_type(e, STRUCT_T, 6, "_struct.Struct", OBJECT_T, 56, F_GC);
	put_type(e, LEAF_T, 7, "ext.Leaf", DEFDICT_T, 56, F_GC);
	put_type(e, NDARRAY_T, 8, "numpy.ndarray", OBJECT_T, 96, 0);
	synth_put(&e->m, DESCR, "i", 1);
	synth_put(&e->m, DESCR + 4, &(uint32_t){ 4 }, 4);
}

static void env_commit(struct env *e)
{
	synth_commit(&e->m, e->t, SYNTH_RW, "/fake/lib");
}

static void env_done(struct env *e)
{
	tinfo_release_all(&e->c);
	target_close(e->t);
}

static const struct tinfo *type_of(struct env *e, uint64_t t)
{
	int64_t i = tinfo_get(&e->c, t);

	ck_assert_int_ge(i, 0);
	return &e->c.tinfos[i];
}

START_TEST(static_subclass_of_a_container_takes_its_kind)
{
	struct env e;
	const struct tinfo *ti;

	env_init(&e);
	env_commit(&e);
	ti = type_of(&e, DEFDICT_T);
	ck_assert_int_eq(ti->kind, K_DICT);
	ck_assert_int_eq(ti->scan_from, 48); /* default_factory */
	ck_assert_uint_eq(ti->preheader, 16);
	ti = type_of(&e, LEAF_T); /* adds nothing to defaultdict's fields */
	ck_assert_int_eq(ti->kind, K_DICT);
	ck_assert_int_eq(ti->scan_from, 48);
	ti = type_of(&e, DICT_T);
	ck_assert_int_eq(ti->kind, K_DICT);
	ck_assert_int_eq(ti->scan_from, 0);
	/* A C type over object is an unknown layout, scanned whole. */
	ti = type_of(&e, BADARRAY_T);
	ck_assert_int_eq(ti->kind, K_OTHER);
	ck_assert_int_eq(ti->scan_from, 16);
	env_done(&e);
}
END_TEST

static void put_array(struct env *e, int64_t n, int64_t alloc, uint64_t items,
		      uint64_t descr)
{
	synth_u64(&e->m, ARR, 1);
	synth_u64(&e->m, ARR + 8, ARRAY_T);
	synth_u64(&e->m, ARR + 16, (uint64_t)n);
	synth_u64(&e->m, ARR + 24, items);
	synth_u64(&e->m, ARR + 32, (uint64_t)alloc);
	synth_u64(&e->m, ARR + 40, descr);
}

static void grab(void *ctx, uint64_t p)
{
	*(uint64_t *)ctx = p;
}

static void expect_sized(struct env *e, uint64_t addr, uint64_t type,
			 uint64_t size, uint64_t buffers, uint64_t buffer)
{
	const struct tinfo *ti = type_of(e, type);
	struct cobj o = { .addr = addr };
	uint64_t seen = 0;

	kind_sizeof(&e->c, &o, ti);
	ck_assert_uint_eq(o.size, size);
	ck_assert_uint_eq(o.buffers, buffers);
	census_for_each_buffer(&e->c, addr, ti, grab, &seen);
	ck_assert_uint_eq(seen, buffer);
}

/* _i: 0 a good array, 1 ob_size > allocated, 2 itemsize 3, 3 items
 * without a buffer, 4 an empty array, 5 a type of another size. */
START_TEST(array_counts_its_items)
{
	struct env e;

	env_init(&e);
	switch (_i) {
	case 0:
	case 5:
		put_array(&e, 10, 12, ITEMS, DESCR);
		break;
	case 1:
		put_array(&e, 13, 12, ITEMS, DESCR);
		break;
	case 2:
		synth_put(&e.m, DESCR + 4, &(uint32_t){ 3 }, 4);
		put_array(&e, 10, 12, ITEMS, DESCR);
		break;
	case 3:
		put_array(&e, 10, 12, 0, DESCR);
		break;
	case 4:
		put_array(&e, 0, 0, 0, DESCR);
		break;
	}
	if (_i == 5)
		synth_u64(&e.m, ARR + 8, BADARRAY_T);
	env_commit(&e);
	if (_i == 0) /* 64 + 12 * 4 + the GC head */
		expect_sized(&e, ARR, ARRAY_T, 64 + 48 + 16, 48, ITEMS);
	else if (_i == 5)
		expect_sized(&e, ARR, BADARRAY_T, 72 + 16, 0, 0);
	else
		expect_sized(&e, ARR, ARRAY_T, 64 + 16, 0, 0);
	/* Each object sized without what it owns is counted. */
	ck_assert_uint_eq(e.c.ext_unsized[K_ARRAY], _i == 0 || _i == 4 ? 0 : 1);
	env_done(&e);
}
END_TEST

/* _i: 0 two codes and the NULL one for s_len 5 ("<3Hq"); 1 no NULL code
 * within s_len + 1; 2 no codes; 3 s_len 0, only the NULL code. */
START_TEST(struct_counts_its_codes)
{
	struct env e;
	int64_t len = _i == 3 ? 0 : 4;
	int k;

	env_init(&e);
	synth_u64(&e.m, ST, 1);
	synth_u64(&e.m, ST + 8, STRUCT_T);
	synth_u64(&e.m, ST + 16, 14);
	synth_u64(&e.m, ST + 24, (uint64_t)len);
	synth_u64(&e.m, ST + 32, _i == 2 ? 0 : CODES);
	for (k = 0; k < 6; k++)
		synth_u64(&e.m, CODES + 32 * (uint64_t)k,
			  _i == 1 || (_i != 3 && k < 2) ? DESCR : 0);
	env_commit(&e);
	if (_i == 0)
		expect_sized(&e, ST, STRUCT_T, 56 + 3 * 32 + 16, 96, CODES);
	else if (_i == 3)
		expect_sized(&e, ST, STRUCT_T, 56 + 32 + 16, 32, CODES);
	else
		expect_sized(&e, ST, STRUCT_T, 56 + 16, 0, 0);
	env_done(&e);
}
END_TEST

/* _i: 0 a C-ordered (300, 7) float32 array owning its data; 1 a view of
 * it (no OWNDATA); 2 a 0-d array; 3 a stride that is not the element
 * size; 4 a numpy 2 dtype (64-bit flags at 32, elsize at 40); 5 strides
 * apart from the dimensions. */
START_TEST(ndarray_counts_its_data_once)
{
	static const uint64_t dims[] = { 300, 7, 28, 4 };
	struct env e;
	uint32_t nd = _i == 2 ? 0 : 2, flags = _i == 1 ? 0x501 : 0x505;
	uint64_t d = nd ? DIMS : 0;
	int k;

	env_init(&e);
	synth_u64(&e.m, ND, 1);
	synth_u64(&e.m, ND + 8, NDARRAY_T);
	synth_u64(&e.m, ND + 16, DATA);
	synth_put(&e.m, ND + 24, &nd, 4);
	synth_u64(&e.m, ND + 32, d);
	synth_u64(&e.m, ND + 40, _i == 5 ? DIMS + 64 : d ? d + 8 * nd : 0);
	synth_u64(&e.m, ND + 56, DTYPE);
	synth_put(&e.m, ND + 64, &flags, 4);
	for (k = 0; k < 4; k++)
		synth_u64(&e.m, DIMS + 8 * (uint64_t)k,
			  _i == 3 && k == 3 ? 8 : dims[k]);
	if (_i == 4) {
		synth_u64(&e.m, DTYPE + 32, 0x20); /* flags */
		synth_u64(&e.m, DTYPE + 40, 4);
	} else {
		synth_put(&e.m, DTYPE + 32, &(uint32_t){ 4 }, 4);
		synth_put(&e.m, DTYPE + 36, &(uint32_t){ 4 }, 4);
	}
	env_commit(&e);
	switch (_i) {
	case 0: /* array_sizeof: 96 + 2 * 2 * 8 + 300 * 7 * 4 */
		expect_sized(&e, ND, NDARRAY_T, 96 + 32 + 8400, 32 + 8400, DATA);
		break;
	case 1:
		expect_sized(&e, ND, NDARRAY_T, 96 + 32, 32, DIMS);
		break;
	case 2:
		expect_sized(&e, ND, NDARRAY_T, 96 + 4, 4, DATA);
		break;
	default:
		expect_sized(&e, ND, NDARRAY_T, 96, 0, 0);
		ck_assert_uint_eq(e.c.ext_unsized[K_NDARRAY], 1);
		break;
	}
	env_done(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("owned");
	TCase *tc = tcase_create("owned");

	tcase_add_test(tc, static_subclass_of_a_container_takes_its_kind);
	tcase_add_loop_test(tc, array_counts_its_items, 0, 6);
	tcase_add_loop_test(tc, struct_counts_its_codes, 0, 4);
	tcase_add_loop_test(tc, ndarray_counts_its_data_once, 0, 6);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
