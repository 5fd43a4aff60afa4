/*
 * The summary (snapshot.h "The summary", format.h SUMM): the objects of
 * each (type, site) and the chunks of each (state, owner, size class),
 * which every report needs and none needs more finely.  Computed once
 * when a snapshot is written; reports read it instead of the object and
 * chunk sections, which a large snapshot takes a second to inflate.
 */
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "snapshot.h"

static int cmp_cell(const void *a, const void *b)
{
	const struct snap_cell *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

int snap_chunk_cell_cmp(const struct snap_chunk_cell *x,
			const struct snap_chunk_cell *y)
{
	int c = cmp_u64(x->state, y->state);

	if (!c)
		c = cmp_u64(x->owner_kind, y->owner_kind);
	if (!c)
		c = cmp_u64(x->owner_type, y->owner_type);
	if (!c)
		c = cmp_u64(x->flags, y->flags);
	return c ? c : cmp_u64(x->size, y->size);
}

static int cmp_chunk_cell(const void *a, const void *b)
{
	return snap_chunk_cell_cmp(a, b);
}

/* Sizes come from the file: a sum that would wrap stops at the top (and
 * a cell's garbage bytes stay within its bytes). */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static void object_cells(const struct snapshot *s, struct snap_summary *m)
{
	struct u64map index = U64MAP_INIT; /* type << 32 | site -> cell */
	uint32_t last_type = UINT32_MAX, last_site = 0;
	size_t last = 0, i;

	for (i = 0; i < s->nobjects; i++) {
		const struct snap_object *o = &s->objects[i];
		struct snap_cell *c;
		uint64_t v;

		/* Neighbours by address often share a type and site: skip
		 * the hash then. */
		if (o->type == last_type && o->site == last_site && m->ncells) {
			v = last;
		} else if (!u64map_get(&index, (uint64_t)o->type << 32 |
				       o->site, &v)) {
			PH_GROW(m->cells, m->cells_alloc, m->ncells + 1);
			v = m->ncells++;
			memset(&m->cells[v], 0, sizeof(m->cells[v]));
			m->cells[v].type = o->type;
			m->cells[v].site = o->site;
			u64map_put(&index, (uint64_t)o->type << 32 | o->site,
				   v);
		}
		last = (size_t)v;
		last_type = o->type;
		last_site = o->site;
		c = &m->cells[v];
		c->count++;
		c->bytes = add_sat(c->bytes, o->size);
		c->gc_tracked += !!(o->flags & OBJ_GC_TRACKED);
		if (o->flags & OBJ_GARBAGE)
			c->garbage_bytes = add_sat(c->garbage_bytes, o->size);
	}
	u64map_release(&index);
	if (m->ncells)
		qsort(m->cells, m->ncells, sizeof(*m->cells), cmp_cell);
}

/* Chunks: few distinct keys (states x owner kinds x the sizes of native
 * chunks), so a sort of the keyed rows and a merge. */
static void chunk_cells(const struct snapshot *s, struct snap_summary *m)
{
	struct snap_chunk_cell *v;
	size_t i, n = 0;

	if (!s->nchunks)
		return;
	v = xmalloc(s->nchunks * sizeof(*v));
	for (i = 0; i < s->nchunks; i++) {
		const struct snap_chunk *c = &s->chunks[i];
		struct snap_chunk_cell *k = &v[i];

		k->state = c->state;
		k->owner_kind = c->owner_kind;
		k->owner_type = c->owner_kind == OWNER_NATIVE &&
				c->owner < s->nobjects ?
				s->objects[c->owner].type : UINT32_MAX;
		k->flags = c->arena == UINT32_MAX ? CCELL_MMAPPED : 0;
		k->size = chunk_owner_native(c->owner_kind) ? c->size : 0;
		k->count = 1;
		k->bytes = c->size;
	}
	qsort(v, s->nchunks, sizeof(*v), cmp_chunk_cell);
	for (i = 0; i < s->nchunks; i++) {
		if (n && !snap_chunk_cell_cmp(&v[n - 1], &v[i])) {
			v[n - 1].count++;
			v[n - 1].bytes += v[i].bytes;
		} else {
			v[n++] = v[i];
		}
	}
	m->chunk_cells = v;
	m->nchunk_cells = n;
	m->chunk_cells_alloc = s->nchunks;
}

void snapshot_summarize(const struct snapshot *s, struct snap_summary *out)
{
	memset(out, 0, sizeof(*out));
	object_cells(s, out);
	chunk_cells(s, out);
	out->valid = true;
}

void snap_summary_release(struct snap_summary *m)
{
	free(m->cells);
	free(m->chunk_cells);
	memset(m, 0, sizeof(*m));
}

const struct snap_summary *snapshot_summary(const struct snapshot *s,
					    struct snap_summary *tmp)
{
	memset(tmp, 0, sizeof(*tmp));
	if (s->sum.valid)
		return &s->sum;
	snapshot_summarize(s, tmp);
	return tmp;
}

void snap_summary_totals(const struct snap_summary *m, uint64_t *objects,
			 uint64_t *bytes)
{
	size_t i;

	*objects = *bytes = 0;
	for (i = 0; i < m->ncells; i++) {
		*objects += m->cells[i].count;
		*bytes += m->cells[i].bytes;
	}
}
