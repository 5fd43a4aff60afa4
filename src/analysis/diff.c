#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "base/hashmap.h"

static int sdesc(int64_t x, int64_t y)
{
	return x > y ? -1 : x < y;
}

static int cmp_tail(const struct diff_row *x, const struct diff_row *y)
{
	int c = sdesc((int64_t)x->bytes_b, (int64_t)y->bytes_b);

	return c ? c : strcmp(x->key, y->key);
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = sdesc(diff_bytes_delta(x), diff_bytes_delta(y));

	if (!c)
		c = sdesc(diff_count_delta(x), diff_count_delta(y));
	return c ? c : cmp_tail(x, y);
}

static int cmp_count(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = sdesc(diff_count_delta(x), diff_count_delta(y));

	if (!c)
		c = sdesc(diff_bytes_delta(x), diff_bytes_delta(y));
	return c ? c : cmp_tail(x, y);
}

/* --sort drop: the largest shrinking first.  A key gone from B drops
 * by all of A's bytes; ties go to the larger row in A. */
static int cmp_drop(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = sdesc(diff_bytes_delta(y), diff_bytes_delta(x));

	if (!c)
		c = sdesc(diff_count_delta(y), diff_count_delta(x));
	if (!c)
		c = sdesc((int64_t)x->bytes_a, (int64_t)y->bytes_a);
	return c ? c : strcmp(x->key, y->key);
}

void report_diff(const struct report *a, const struct report *b,
		 struct diff *d)
{
	/* Keys are strings of two different string tables: pair them by
	 * content through a hash map of A's keys, O(rows of A + B). */
	struct strmap index = STRMAP_INIT;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->by = a->by;
	d->depth = a->depth;
	d->count_a = a->total_count;
	d->bytes_a = a->total_bytes;
	d->count_b = b->total_count;
	d->bytes_b = b->total_bytes;
	d->totals_a = a->totals;
	d->totals_b = b->totals;
	PH_GROW(d->rows, d->rows_alloc, a->nrows + b->nrows + 1);
	for (i = 0; i < a->nrows + b->nrows; i++) {
		bool in_a = i < a->nrows;
		const struct report_row *src = in_a ? &a->rows[i] :
					       &b->rows[i - a->nrows];
		size_t len = strlen(src->key);
		struct diff_row *row;
		uint32_t k;

		/* Keys are unique within a report, unless a name held a NUL
		 * (strings are bytes): such rows add up under one key. */
		if (strmap_get(&index, src->key, len, &k)) {
			row = &d->rows[k];
		} else {
			row = &d->rows[d->nrows];
			memset(row, 0, sizeof(*row));
			row->key = src->key;
			row->site = src->site;
			strmap_put(&index, src->key, len,
				   (uint32_t)d->nrows++);
		}
		row->site.kinds |= src->site.kinds;
		if (in_a) {
			row->count_a += src->count;
			row->bytes_a += src->bytes;
			row->garbage_a += src->garbage_bytes;
		} else {
			row->count_b += src->count;
			row->bytes_b += src->bytes;
			row->garbage_b += src->garbage_bytes;
		}
	}
	d->nkeys = d->nrows;
	if (d->nrows)
		qsort(d->rows, d->nrows, sizeof(*d->rows), cmp_bytes);
	strmap_release(&index);
}

void diff_filter(struct diff *d, const struct row_filter *f)
{
	size_t i, n = 0;

	if (d->nrows)
		qsort(d->rows, d->nrows, sizeof(*d->rows),
		      f->sort == SORT_COUNT ? cmp_count :
		      f->sort == SORT_DROP ? cmp_drop : cmp_bytes);
	for (i = 0; i < d->nrows; i++) {
		const struct diff_row *row = &d->rows[i];
		int64_t delta = diff_bytes_delta(row);
		uint64_t change = delta < 0 ? 0 - (uint64_t)delta :
				  (uint64_t)delta;

		if (change >= f->min_bytes && row_filter_match(f, row->key))
			d->rows[n++] = *row;
	}
	d->nrows = n;
}

void diff_release(struct diff *d)
{
	free(d->rows);
	memset(d, 0, sizeof(*d));
}

bool growth_crossed(const struct growth_limit *l, uint64_t before,
		    uint64_t after)
{
	uint64_t grew;

	if (!l->set || after <= before)
		return false;
	grew = after - before;
	if (!l->is_percent)
		return grew > l->bytes;
	/* In doubles: exact enough for a percentage of byte counts. */
	return !before || (double)grew * 100.0 > l->percent * (double)before;
}
