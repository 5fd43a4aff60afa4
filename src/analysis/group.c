#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const by_names[] = {
	[BY_TYPE] = "type", [BY_MODULE] = "module", [BY_SITE] = "site",
	[BY_NATIVE] = "native", [BY_SITE_TYPE] = "site,type",
};

const char *group_by_name(enum group_by by)
{
	return by_names[by];
}

int group_by_parse(const char *name, enum group_by *by)
{
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(by_names); i++) {
		if (!strcmp(name, by_names[i])) {
			*by = (enum group_by)i;
			return 0;
		}
	}
	return -PH_E_USAGE;
}

/* -1 if x sorts first (is larger), 1 if y does, 0 if equal. */
static int desc(uint64_t x, uint64_t y)
{
	return x > y ? -1 : x < y;
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	int c = desc(x->bytes, y->bytes);

	if (!c)
		c = desc(x->count, y->count);
	return c ? c : strcmp(x->key, y->key);
}

static int cmp_count(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	int c = desc(x->count, y->count);

	if (!c)
		c = desc(x->bytes, y->bytes);
	return c ? c : strcmp(x->key, y->key);
}

void report_count_cell(struct report *r, struct report_row *row,
		       const struct snap_cell *c)
{
	row->count += c->count;
	row->bytes += c->bytes;
	row->gc_tracked += c->gc_tracked;
	row->garbage_bytes += c->garbage_bytes;
	r->totals.objects += c->count;
	r->totals.object_bytes += c->bytes;
	r->totals.gc_tracked += c->gc_tracked;
	r->total_count += c->count;
	r->total_bytes += c->bytes;
}

void report_count_chunks(struct report *r, struct report_row *row,
			 uint64_t n, uint64_t bytes)
{
	row->native = true;
	row->count += n;
	row->bytes += bytes;
	r->totals.native_chunks += n;
	r->totals.native_bytes += bytes;
	r->total_count += n;
	r->total_bytes += bytes;
}

uint64_t snapshot_native_bytes(const struct snapshot *s)
{
	struct snap_summary tmp;
	const struct snap_summary *m = snapshot_summary(s, &tmp);
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < m->nchunk_cells; i++)
		if (chunk_owner_native(m->chunk_cells[i].owner_kind))
			n += m->chunk_cells[i].bytes;
	snap_summary_release(&tmp);
	return n;
}

struct size_count {
	uint64_t size, count;
};

static int cmp_size(const void *a, const void *b)
{
	const struct size_count *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

/* --by native: one row per chunk size over the native chunks (cells of
 * one size differ in state, owner and placement: merged). */
static int group_native(const struct snap_summary *m, struct report *r)
{
	struct size_count *v = xmalloc((m->nchunk_cells + 1) * sizeof(*v));
	size_t i, n = 0;

	for (i = 0; i < m->nchunk_cells; i++)
		if (chunk_owner_native(m->chunk_cells[i].owner_kind)) {
			v[n].size = m->chunk_cells[i].size;
			v[n++].count = m->chunk_cells[i].count;
		}
	if (n)
		qsort(v, n, sizeof(*v), cmp_size);
	for (i = 0; i < n; i++) {
		struct report_row *row;

		if (!i || v[i].size != v[i - 1].size) {
			PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
			PH_GROW(r->keys, r->keys_alloc, r->nkeys_owned + 1);
			r->keys[r->nkeys_owned] = xasprintf("[native %llu]",
				(unsigned long long)v[i].size);
			row = &r->rows[r->nrows++];
			memset(row, 0, sizeof(*row));
			row->key = r->keys[r->nkeys_owned++];
		}
		report_count_chunks(r, &r->rows[r->nrows - 1], v[i].count,
				    v[i].count * v[i].size);
	}
	free(v);
	r->nkeys = r->nrows;
	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_bytes);
	return 0;
}

int report_group(const struct snapshot *s, enum group_by by,
		 struct report *r)
{
	return report_group_depth(s, by, 0, r);
}

static void group_types(const struct snapshot *s,
			const struct snap_summary *m, enum group_by by,
			struct report *r)
{
	int64_t *slot;
	size_t i;

	/* Group by string id: types share names only through the string
	 * table, which interns, so equal keys have equal ids.  One pass
	 * over the cells, an array lookup each: O(cells + strings). */
	slot = xmalloc((s->nstrings + 1) * sizeof(*slot));
	for (i = 0; i < s->nstrings; i++)
		slot[i] = -1;
	for (i = 0; i < m->ncells; i++) {
		const struct snap_cell *c = &m->cells[i];
		const struct snap_type *t = &s->types[c->type];
		uint32_t key = by == BY_MODULE ? t->module : t->name;
		struct report_row *row;

		if (slot[key] < 0) {
			PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
			slot[key] = (int64_t)r->nrows;
			row = &r->rows[r->nrows++];
			memset(row, 0, sizeof(*row));
			row->key = snapshot_str(s, key);
			if (!*row->key)
				row->key = by == BY_MODULE ? "[unknown module]" :
					   "[unnamed type]";
		}
		report_count_cell(r, &r->rows[slot[key]], c);
	}
	free(slot);
	/* --by type: the malloc chunks no Python object owns, as one row
	 * (DESIGN.md "Group keys"). */
	if (by == BY_TYPE && (s->meta.flags & SNAP_NATIVE)) {
		uint64_t n = 0, bytes = 0;

		for (i = 0; i < m->nchunk_cells; i++) {
			if (m->chunk_cells[i].owner_kind == OWNER_UNOWNED) {
				n += m->chunk_cells[i].count;
				bytes += m->chunk_cells[i].bytes;
			}
		}
		if (n) {
			struct report_row *row;

			PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
			row = &r->rows[r->nrows++];
			memset(row, 0, sizeof(*row));
			row->key = "[native]";
			report_count_chunks(r, row, n, bytes);
		}
	}
}

int report_group_depth(const struct snapshot *s, enum group_by by,
		       unsigned depth, struct report *r)
{
	struct snap_summary tmp;
	const struct snap_summary *m;

	memset(r, 0, sizeof(*r));
	r->by = by;
	/* Malloc chunks are recorded only since format 1.1, and only when
	 * malloc could be walked (SNAP_NATIVE). */
	if (by == BY_NATIVE && !(s->meta.flags & SNAP_NATIVE))
		return ph_error(PH_E_NOTFOUND, "no native memory data in this "
				"snapshot (taken without walking malloc)");
	/* The summary: read from the file, or computed from the objects of
	 * a snapshot built in memory. */
	m = snapshot_summary(s, &tmp);
	if (by == BY_NATIVE) {
		group_native(m, r);
		snap_summary_release(&tmp);
		return 0;
	}
	if (group_by_site(by)) {
		r->depth = depth;
		group_sites(s, m, r);
	} else {
		group_types(s, m, by, r);
	}
	snap_summary_release(&tmp);
	r->nkeys = r->nrows;
	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_bytes);
	return 0;
}

bool row_filter_match(const struct row_filter *f, const char *key)
{
	size_t i;

	if (!f->nmatch)
		return true;
	for (i = 0; i < f->nmatch; i++)
		if (!fnmatch(f->match[i], key, 0))
			return true;
	return false;
}

void report_filter(struct report *r, const struct row_filter *f)
{
	size_t i, n = 0;

	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows),
		      f->sort == SORT_COUNT ? cmp_count : cmp_bytes);
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *row = &r->rows[i];

		if (row->bytes >= f->min_bytes &&
		    row_filter_match(f, row->key))
			r->rows[n++] = *row;
	}
	r->nrows = n;
}

void report_release(struct report *r)
{
	size_t i;

	for (i = 0; i < r->nkeys_owned; i++)
		free(r->keys[i]);
	free(r->keys);
	free(r->frames);
	free(r->rows);
	memset(r, 0, sizeof(*r));
}
