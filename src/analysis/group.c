#include <stdlib.h>
#include <string.h>

#include "analysis.h"

const char *group_by_name(enum group_by by)
{
	return by == BY_MODULE ? "module" : "type";
}

int group_by_parse(const char *name, enum group_by *by)
{
	if (!strcmp(name, "type"))
		*by = BY_TYPE;
	else if (!strcmp(name, "module"))
		*by = BY_MODULE;
	else
		return -PH_E_USAGE;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

void report_group(const struct snapshot *s, enum group_by by,
		  struct report *r)
{
	/* Group by string id: types share names only through the string
	 * table, which interns, so equal keys have equal ids. */
	int64_t *slot = xmalloc((s->nstrings + 1) * sizeof(*slot));
	size_t i;

	memset(r, 0, sizeof(*r));
	r->by = by;
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
			row->key = snapshot_str(s, key);
			if (!*row->key)
				row->key = by == BY_MODULE ? "[unknown module]" :
					   "[unnamed type]";
			row->count = row->bytes = 0;
		}
		row = &r->rows[slot[key]];
		row->count++;
		row->bytes += o->size;
		r->total_count++;
		r->total_bytes += o->size;
	}
	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_rows);
	free(slot);
}

void report_release(struct report *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}
