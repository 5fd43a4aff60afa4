/*
 * Snapshots built in memory for the report suites (test_report.c,
 * test_totals.c): objects of named types, and lookups of report rows.
 */
#ifndef PYHEAP_REPORT_FIXTURES_H
#define PYHEAP_REPORT_FIXTURES_H

#include <string.h>

#include "analysis/analysis.h"
#include "snapshot/snapshot.h"

/* A snapshot with `n` objects of each (type name, module, size). */
struct spec {
	const char *name, *module;
	size_t n;
	uint64_t size;
};

static inline void build(struct snapshot *s, const struct spec *sp,
			 size_t nspec)
{
	uint64_t addr = 0x10000;
	size_t i, k;

	snapshot_init(s);
	for (i = 0; i < nspec; i++) {
		struct snap_type *t;

		PH_GROW(s->types, s->types_alloc, s->ntypes + 1);
		t = &s->types[s->ntypes++];
		memset(t, 0, sizeof(*t));
		t->addr = 0x1000 + 0x100 * i;
		t->name = snapshot_cstring(s, sp[i].name);
		t->module = snapshot_cstring(s, sp[i].module);
		t->object = UINT32_MAX;
		for (k = 0; k < sp[i].n; k++) {
			struct snap_object *o;

			PH_GROW(s->objects, s->objects_alloc, s->nobjects + 1);
			o = &s->objects[s->nobjects++];
			memset(o, 0, sizeof(*o));
			o->addr = addr;
			o->size = sp[i].size;
			o->type = (uint32_t)i;
			addr += 0x1000;
		}
	}
}

static inline const struct report_row *find(const struct report *r,
						 const char *key)
{
	size_t i;

	for (i = 0; i < r->nrows; i++)
		if (!strcmp(r->rows[i].key, key))
			return &r->rows[i];
	return NULL;
}

static inline const struct diff_row *dfind(const struct diff *d,
						 const char *key)
{
	size_t i;

	for (i = 0; i < d->nrows; i++)
		if (!strcmp(d->rows[i].key, key))
			return &d->rows[i];
	return NULL;
}

static const struct spec spec_a[] __attribute__((unused)) = {
	{ "dict", "builtins", 3, 232 },
	{ "str", "builtins", 10, 50 },
	{ "__main__.Old", "__main__", 2, 64 },
	{ "", "", 1, 16 },
};

static const struct spec spec_b[] __attribute__((unused)) = {
	{ "str", "builtins", 12, 50 },
	{ "dict", "builtins", 3, 232 },
	{ "__main__.New", "__main__", 5, 48 },
	{ "", "", 1, 16 },
};

#endif
