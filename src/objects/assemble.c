/*
 * Assembly (internal.h census_assemble()): the census's records and edge
 * list become the snapshot's tables -- objects in address order, types,
 * edges in CSR with their labels -- and every id is renumbered to the
 * snapshot's.  Nothing is added to the census after this.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void sort_u64(uint64_t *v, size_t n)
{
	size_t i, j;

	if (n > 16) {
		qsort(v, n, sizeof(*v), cmp_u64);
		return;
	}
	for (i = 1; i < n; i++) { /* most rows are a few edges */
		uint64_t x = v[i];

		for (j = i; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * The census's edge list into the snapshot's rows (edge_start, edge_dst,
 * edge_label), in the new object ids: a counting sort on the source --
 * linear, with no temporary the size of the edges as qsort's merge sort
 * takes -- then each row sorted by (referent, label) and its duplicate
 * referents dropped, keeping the smallest label.  The edge list is freed
 * as soon as it is read: this is where a census peaks in memory.
 */
static void assemble_edges(struct census *c, const uint32_t *newid, size_t n)
{
	struct snapshot *s = c->s;
	size_t i, w = 0;
	uint32_t *start, *pos, *dst, *label = NULL, next;
	uint64_t *pair;

	if (c->nedges >= UINT32_MAX)
		ph_die("too many edges");
	start = xcalloc(n + 1, sizeof(*start));
	for (i = 0; i < c->nedges; i++)
		start[newid[c->edges[i].src] + 1]++;
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	pos = xmalloc((n + 1) * sizeof(*pos));
	memcpy(pos, start, (n + 1) * sizeof(*pos));
	/* (referent << 32 | label): sorting the pairs sorts by referent,
	 * and puts a referent's smallest label first. */
	pair = xmalloc((c->nedges + 1) * sizeof(*pair));
	for (i = 0; i < c->nedges; i++)
		pair[pos[newid[c->edges[i].src]]++] =
			(uint64_t)newid[c->edges[i].dst] << 32 |
			c->edges[i].label;
	free(pos);
	free(c->edges);
	c->edges = NULL;
	c->nedges = c->edges_alloc = 0;

	/* Sort and compact each row in place: row i ends where row i + 1
	 * began before start[i + 1] is rewritten. */
	for (i = 0, next = start[0]; i < n; i++) {
		uint32_t b = next, e = start[i + 1], j;

		next = e;
		sort_u64(pair + b, e - b);
		start[i] = (uint32_t)w;
		for (j = b; j < e; j++)
			if (j == b || pair[j] >> 32 != pair[j - 1] >> 32)
				pair[w++] = pair[j];
	}
	start[n] = (uint32_t)w;
	dst = xmalloc((w + 1) * sizeof(*dst));
	if (c->labels != LABELS_NONE)
		label = xmalloc((w + 1) * sizeof(*label));
	for (i = 0; i < w; i++) {
		dst[i] = (uint32_t)(pair[i] >> 32);
		if (label)
			label[i] = (uint32_t)pair[i];
	}
	free(pair);
	s->edge_start = start;
	s->edge_dst = dst;
	s->edge_label = label;
	s->nedges = w;
	s->edges_alloc = w + 1;
}

static uint32_t snap_type_of(struct census *c, uint32_t t)
{
	struct tinfo *ti = &c->tinfos[t];
	struct snapshot *s = c->s;
	struct strbuf name = STRBUF_INIT, module = STRBUF_INIT;
	struct snap_type *st;
	uint64_t v;

	if (ti->snap_type >= 0)
		return (uint32_t)ti->snap_type;
	tinfo_name(c, ti, &name, &module);
	ti = &c->tinfos[t];
	PH_GROW(s->types, s->types_alloc, s->ntypes + 1);
	st = &s->types[s->ntypes];
	memset(st, 0, sizeof(*st));
	/* 2.7 old-style instances: their class stands for their type. */
	st->addr = ti->oldclass ? ti->oldclass : ti->addr;
	st->name = snapshot_string(s, name.buf, name.len);
	st->module = snapshot_string(s, module.buf, module.len);
	st->flags = (ti->heap ? TYPE_HEAP : 0) | (ti->gc ? TYPE_GC : 0);
	st->basicsize = ti->basicsize;
	st->itemsize = ti->itemsize;
	st->object = census_lookup(c, st->addr, &v) ? (uint32_t)v :
		     UINT32_MAX;
	ti->snap_type = (int32_t)s->ntypes;
	strbuf_release(&name);
	strbuf_release(&module);
	return (uint32_t)s->ntypes++;
}

/* A census record as the snapshot row it becomes (site: sites.c). */
static struct snap_object row_of(const struct census *c, const struct cobj *o)
{
	struct snap_object so;

	memset(&so, 0, sizeof(so));
	so.addr = o->addr;
	so.size = o->size;
	so.buffers = o->buffers;
	so.refcnt = o->refcnt;
	so.type = (uint32_t)c->tinfos[o->tinfo].snap_type;
	so.flags = o->flags;
	so.unexplained = o->unexplained;
	so.gc_refs = o->gc_refs;
	return so;
}

/*
 * The census's records become the snapshot's rows in the same memory:
 * both are 64 bytes, so the table is permuted into address order in
 * place, one cycle of the permutation at a time, each record read out
 * before its slot is written.  Records and rows are only copied with
 * memcpy, so the memory's type changes cleanly from one to the other.
 * order[] is consumed (each entry set to UINT32_MAX once placed).
 */
static struct snap_object *rows_in_place(struct census *c, uint32_t *order,
					 size_t n)
{
	unsigned char *base = (unsigned char *)c->objs;
	const size_t sz = sizeof(struct cobj);
	size_t i;

	_Static_assert(sizeof(struct cobj) == sizeof(struct snap_object),
		       "census records turn into snapshot rows in place");
	for (i = 0; i < n; i++) {
		struct cobj first, o;
		struct snap_object so;
		size_t j = i;

		if (order[i] == UINT32_MAX)
			continue;
		memcpy(&first, base + i * sz, sz);
		for (;;) {
			size_t from = order[j];

			order[j] = UINT32_MAX;
			if (from == i) {
				so = row_of(c, &first);
				memcpy(base + j * sz, &so, sz);
				break;
			}
			memcpy(&o, base + from * sz, sz);
			so = row_of(c, &o);
			memcpy(base + j * sz, &so, sz);
			j = from;
		}
	}
	c->objs = NULL;
	c->objs_alloc = 0;
	return (struct snap_object *)(void *)base;
}

void census_assemble(struct census *c)
{
	struct snapshot *s = c->s;
	uint32_t *order, *newid;
	size_t i, n = c->nobjs;

	/* Nothing is added from here: give back what growing left spare. */
	c->objs = xrealloc(c->objs, (n + 1) * sizeof(*c->objs));
	c->objs_alloc = n + 1;
	/* Address order from the index (index.c), without a sort. */
	order = census_order(c);
	newid = xmalloc((n + 1) * sizeof(*newid));
	for (i = 0; i < n; i++)
		newid[order[i]] = (uint32_t)i;
	/* Edges first: they are freed before the records become rows. */
	assemble_edges(c, newid, n);

	/* Types first: their object ids are remapped below. */
	for (i = 0; i < n; i++)
		snap_type_of(c, c->objs[i].tinfo);
	for (i = 0; i < s->ntypes; i++)
		if (s->types[i].object != UINT32_MAX)
			s->types[i].object = newid[s->types[i].object];
	c->type_tinfo = xmalloc((s->ntypes + 1) * sizeof(*c->type_tinfo));
	for (i = 0; i < c->ntinfos; i++)
		if (c->tinfos[i].snap_type >= 0)
			c->type_tinfo[c->tinfos[i].snap_type] = (uint32_t)i;
	for (i = 0; i < s->nroots; i++)
		s->roots[i].object = newid[s->roots[i].object];
	census_index_renumber(c, newid);
	free(newid);

	s->objects = rows_in_place(c, order, n);
	s->objects_alloc = n + 1;
	s->nobjects = n;
	free(order);
}
