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

void report_count_object(struct report *r, struct report_row *row,
			 const struct snap_object *o)
{
	bool gc = o->flags & OBJ_GC_TRACKED;

	row->count++;
	row->bytes += o->size;
	row->gc_tracked += gc;
	if (o->flags & OBJ_GARBAGE)
		row->garbage_bytes += o->size;
	r->totals.objects++;
	r->totals.object_bytes += o->size;
	r->totals.gc_tracked += gc;
	r->total_count++;
	r->total_bytes += o->size;
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

static bool native_chunk(const struct snap_chunk *c)
{
	return c->owner_kind == OWNER_NATIVE || c->owner_kind == OWNER_UNOWNED;
}

uint64_t snapshot_native_bytes(const struct snapshot *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->nchunks; i++)
		if (native_chunk(&s->chunks[i]))
			n += s->chunks[i].size;
	return n;
}

static int cmp_u64_size(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --by native: one row per chunk size over the native chunks. */
static int group_native(const struct snapshot *s, struct report *r)
{
	uint64_t *sizes = xmalloc((s->nchunks + 1) * sizeof(*sizes));
	size_t i, n = 0;

	for (i = 0; i < s->nchunks; i++)
		if (native_chunk(&s->chunks[i]))
			sizes[n++] = s->chunks[i].size;
	if (n)
		qsort(sizes, n, sizeof(*sizes), cmp_u64_size);
	for (i = 0; i < n; i++) {
		struct report_row *row;

		if (!i || sizes[i] != sizes[i - 1]) {
			PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
			PH_GROW(r->keys, r->keys_alloc, r->nkeys_owned + 1);
			r->keys[r->nkeys_owned] = xasprintf("[native %llu]",
				(unsigned long long)sizes[i]);
			row = &r->rows[r->nrows++];
			memset(row, 0, sizeof(*row));
			row->key = r->keys[r->nkeys_owned++];
		}
		report_count_chunks(r, &r->rows[r->nrows - 1], 1, sizes[i]);
	}
	free(sizes);
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

int report_group_depth(const struct snapshot *s, enum group_by by,
		       unsigned depth, struct report *r)
{
	int64_t *slot;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->by = by;
	/* Malloc chunks are recorded only since format 1.1, and only when
	 * malloc could be walked (SNAP_NATIVE). */
	if (by == BY_NATIVE && !(s->meta.flags & SNAP_NATIVE))
		return ph_error(PH_E_NOTFOUND, "no native memory data in this "
				"snapshot (taken without walking malloc)");
	if (by == BY_NATIVE)
		return group_native(s, r);
	if (group_by_site(by)) {
		r->depth = depth;
		group_sites(s, r);
		r->nkeys = r->nrows;
		if (r->nrows)
			qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_bytes);
		return 0;
	}

	/* Group by string id: types share names only through the string
	 * table, which interns, so equal keys have equal ids.  One pass
	 * over the objects, an array lookup each: O(objects + strings). */
	slot = xmalloc((s->nstrings + 1) * sizeof(*slot));
	for (i = 0; i < s->nstrings; i++)
		slot[i] = -1;
	for (i = 0; i < s->nobjects; i++) {
		const struct snap_object *o = &s->objects[i];
		const struct snap_type *t = &s->types[o->type];
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
		report_count_object(r, &r->rows[slot[key]], o);
	}
	/* --by type: the malloc chunks no Python object owns, as one row
	 * (DESIGN.md "Group keys"). */
	if (by == BY_TYPE && (s->meta.flags & SNAP_NATIVE)) {
		uint64_t n = 0, bytes = 0;

		for (i = 0; i < s->nchunks; i++) {
			if (s->chunks[i].owner_kind == OWNER_UNOWNED) {
				n++;
				bytes += s->chunks[i].size;
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
	r->nkeys = r->nrows;
	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_bytes);
	free(slot);
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
