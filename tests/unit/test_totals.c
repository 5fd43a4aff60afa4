/*
 * What a report's rows add up to (analysis.h "Totals"): objects and malloc
 * chunks apart, and the objects the garbage collector tracks.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "check_util.h"
#include "report_fixtures.h"
#include "snapshot/snapshot.h"

/* Chunks of the malloc walk: n of each (size, owner kind, owner). */
static void add_chunks(struct snapshot *s, size_t n, uint64_t size,
		       uint32_t kind, uint32_t owner)
{
	static uint64_t addr = 0x7000000;
	size_t i;

	s->meta.flags |= SNAP_NATIVE;
	for (i = 0; i < n; i++) {
		struct snap_chunk *c;

		PH_GROW(s->chunks, s->chunks_alloc, s->nchunks + 1);
		c = &s->chunks[s->nchunks++];
		memset(c, 0, sizeof(*c));
		c->addr = addr;
		c->size = size;
		c->state = SCHUNK_INUSE;
		c->owner_kind = kind;
		c->owner = owner;
		c->arena = UINT32_MAX;
		addr += size;
	}
}

/* Rows count objects or malloc chunks; the totals keep them apart, with
 * the objects' GC-tracked part (analysis.h "Totals"). */
START_TEST(totals_keep_objects_and_chunks_apart)
{
	struct snapshot a, b;
	struct report r, rb;
	struct diff d;
	const struct report_row *row;
	size_t i;

	build(&a, spec_a, PH_ARRAY_SIZE(spec_a));
	for (i = 0; i < a.nobjects; i++)   /* the dicts and __main__.Old */
		if (i < 3 || i == 13 || i == 14)
			a.objects[i].flags |= OBJ_GC_TRACKED;
	add_chunks(&a, 4, 48, OWNER_UNOWNED, UINT32_MAX);
	add_chunks(&a, 2, 4096, OWNER_NATIVE, 0);
	add_chunks(&a, 1, 1024, OWNER_BUFFER, 1);

	ck_assert_int_eq(report_group(&a, BY_TYPE, &r), 0);
	ck_assert_uint_eq(r.totals.objects, 16);
	ck_assert_uint_eq(r.totals.object_bytes, 3 * 232 + 500 + 128 + 16);
	ck_assert_uint_eq(r.totals.gc_tracked, 5);
	ck_assert_uint_eq(r.totals.native_chunks, 4);
	ck_assert_uint_eq(r.totals.native_bytes, 4 * 48);
	ck_assert_uint_eq(r.total_count, 16 + 4);
	ck_assert_uint_eq(r.total_bytes, r.totals.object_bytes + 4 * 48);
	ck_assert(report_totals_mixed(&r.totals));
	row = find(&r, "[native]");
	ck_assert(row->native);
	ck_assert_uint_eq(row->count, 4);
	ck_assert_uint_eq(row->gc_tracked, 0);
	row = find(&r, "dict");
	ck_assert(!row->native);
	ck_assert_uint_eq(row->gc_tracked, 3);
	ck_assert_uint_eq(find(&r, "__main__.Old")->gc_tracked, 2);
	ck_assert_uint_eq(find(&r, "str")->gc_tracked, 0);

	/* Module and site rows count objects only; native rows chunks
	 * only, owned by an object or not. */
	build(&b, spec_b, PH_ARRAY_SIZE(spec_b));
	ck_assert_int_eq(report_group(&a, BY_MODULE, &rb), 0);
	ck_assert_uint_eq(rb.totals.native_chunks, 0);
	ck_assert_uint_eq(find(&rb, "builtins")->gc_tracked, 3);
	ck_assert(!report_totals_mixed(&rb.totals));
	report_release(&rb);
	ck_assert_int_eq(report_group(&a, BY_SITE, &rb), 0);
	ck_assert_uint_eq(rb.rows[0].gc_tracked, 5);
	ck_assert_uint_eq(rb.totals.gc_tracked, 5);
	report_release(&rb);
	ck_assert_int_eq(report_group(&a, BY_NATIVE, &rb), 0);
	ck_assert_uint_eq(rb.totals.objects, 0);
	ck_assert_uint_eq(rb.totals.native_chunks, 6);
	ck_assert_uint_eq(rb.totals.native_bytes, 4 * 48 + 2 * 4096);
	ck_assert_uint_eq(rb.total_count, 6);
	ck_assert(rb.rows[0].native);
	report_release(&rb);

	/* A diff keeps both sides' split. */
	ck_assert_int_eq(report_group(&b, BY_TYPE, &rb), 0);
	report_diff(&r, &rb, &d);
	ck_assert_uint_eq(d.totals_a.native_chunks, 4);
	ck_assert_uint_eq(d.totals_b.native_chunks, 0);
	ck_assert_uint_eq(d.totals_b.objects, 21);
	ck_assert_uint_eq(d.count_a, 20);
	diff_release(&d);
	report_release(&r);
	report_release(&rb);
	snapshot_release(&a);
	snapshot_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("totals");
	TCase *tc = tcase_create("totals");

	tcase_add_test(tc, totals_keep_objects_and_chunks_apart);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
