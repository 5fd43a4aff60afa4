/*
 * Garbage (analysis.h "Garbage"): what nothing outside the garbage keeps
 * alive, what of it CPython's collector would free, and the references
 * nothing in the heap explains.  Every walk is iterative over the
 * snapshot's CSR edges: O(objects + edges), no recursion on target data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "base/strbuf.h"
#include "internal.h"

const char *garbage_type_name(const struct snapshot *s, uint32_t obj)
{
	const char *n = snapshot_str(s, s->types[s->objects[obj].type].name);

	return *n ? n : "[unnamed type]";
}

/*
 * Strongly connected components of the objects with in_set[v] (Tarjan,
 * iterative): comp[v] = component index, or UINT32_MAX outside the set.
 * Returns the number of components.
 */
static size_t components(const struct snapshot *s, const uint8_t *in_set,
			 uint32_t *comp)
{
	size_t n = s->nobjects, ncomp = 0, sp = 0, cs = 0, i;
	uint32_t *index = xmalloc((n + 1) * sizeof(*index));
	uint32_t *low = xmalloc((n + 1) * sizeof(*low));
	uint32_t *stack = xmalloc((n + 1) * sizeof(*stack));
	uint32_t *call = xmalloc((n + 1) * sizeof(*call));
	uint32_t *next = xmalloc((n + 1) * sizeof(*next));
	uint8_t *on = xcalloc(n + 1, 1);
	uint32_t counter = 0;

	for (i = 0; i < n; i++) {
		index[i] = UINT32_MAX;
		comp[i] = UINT32_MAX;
	}
	for (i = 0; i < n; i++) {
		if (!in_set[i] || index[i] != UINT32_MAX)
			continue;
		call[cs++] = (uint32_t)i;
		index[i] = low[i] = counter++;
		next[i] = s->edge_start[i];
		stack[sp++] = (uint32_t)i;
		on[i] = 1;
		while (cs) {
			uint32_t v = call[cs - 1];

			if (next[v] < s->edge_start[v + 1]) {
				uint32_t w = s->edge_dst[next[v]++];

				if (!in_set[w])
					continue;
				if (index[w] == UINT32_MAX) {
					index[w] = low[w] = counter++;
					next[w] = s->edge_start[w];
					stack[sp++] = w;
					on[w] = 1;
					call[cs++] = w;
				} else if (on[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			cs--;
			if (cs && low[v] < low[call[cs - 1]])
				low[call[cs - 1]] = low[v];
			if (low[v] == index[v]) {
				uint32_t w;

				do {
					w = stack[--sp];
					on[w] = 0;
					comp[w] = (uint32_t)ncomp;
				} while (w != v);
				ncomp++;
			}
		}
	}
	free(index);
	free(low);
	free(stack);
	free(call);
	free(next);
	free(on);
	return ncomp;
}

/* An edge from v to a member of its own component (v's self-loop
 * included): is v's component a cycle? */
static bool in_cycle(const struct snapshot *s, const uint32_t *comp,
		     uint32_t v)
{
	uint32_t e;

	for (e = s->edge_start[v]; e < s->edge_start[v + 1]; e++)
		if (comp[s->edge_dst[e]] == comp[v])
			return true;
	return false;
}

/*
 * A component's shape: its members' types in cycle order from its
 * first member, following edges inside the component ("A -> B -> A");
 * for a component that is no simple cycle, its types sorted with counts
 * ("A, B x2").  Members are listed in mem[0..n).
 */
static void shape_of(const struct snapshot *s, const uint32_t *comp,
		     const uint32_t *mem, size_t n, struct strbuf *out)
{
	size_t i, k, edges = 0;
	uint32_t v;

	for (i = 0; i < n; i++) {
		uint32_t e;

		for (e = s->edge_start[mem[i]]; e < s->edge_start[mem[i] + 1];
		     e++)
			edges += comp[s->edge_dst[e]] == comp[mem[0]];
	}
	if (edges == n) {
		/* A simple cycle: walk it once from the member whose type
		 * name sorts first, so that equal cycles print alike. */
		size_t first = 0;

		for (i = 1; i < n; i++)
			if (strcmp(garbage_type_name(s, mem[i]),
				   garbage_type_name(s, mem[first])) < 0)
				first = i;
		v = mem[first];
		for (k = 0; k < n; k++) {
			uint32_t e;

			strbuf_addstr(out, garbage_type_name(s, v));
			strbuf_addstr(out, " -> ");
			for (e = s->edge_start[v]; e < s->edge_start[v + 1];
			     e++)
				if (comp[s->edge_dst[e]] == comp[v])
					break;
			v = s->edge_dst[e];
		}
		strbuf_addstr(out, garbage_type_name(s, v));
		return;
	}
	/* Types with counts, in name order (n is small in practice; the
	 * quadratic pass is bounded by the component). */
	{
		const char **names = xmalloc(n * sizeof(*names));

		for (i = 0; i < n; i++)
			names[i] = garbage_type_name(s, mem[i]);
		for (i = 1; i < n; i++) {
			const char *x = names[i];

			for (k = i; k && strcmp(names[k - 1], x) > 0; k--)
				names[k] = names[k - 1];
			names[k] = x;
		}
		for (i = 0; i < n; i = k) {
			for (k = i; k < n && !strcmp(names[k], names[i]); k++)
				;
			strbuf_addf(out, "%s%s", i ? ", " : "", names[i]);
			if (k - i > 1)
				strbuf_addf(out, " x%zu", k - i);
		}
		free(names);
	}
}

static int cmp_group(const void *a, const void *b)
{
	const struct garbage_group *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	return strcmp(x->shape, y->shape);
}

/*
 * One more member of group gi at `site`: the group's site is the one most
 * of its members have (the lowest id on a tie), so that a closure's cycle
 * shows the lambda's line whatever the instance's site is.
 */
static void count_site(struct u64map *counts, uint32_t gi,
		       struct garbage_group *g, uint32_t site)
{
	uint64_t key = (uint64_t)gi << 32 | site, n = 0;

	if (!site)
		return;
	u64map_get(counts, key, &n);
	u64map_put(counts, key, ++n);
	if (n > g->site_objects || (n == g->site_objects && site < g->site)) {
		g->site = site;
		g->site_objects = n;
	}
}

/*
 * Group the members of `set` (collectable or never collectable) by
 * component shape: each nontrivial component (a cycle) is one cycle of
 * its group; garbage outside any cycle (held only by garbage) is grouped
 * by its type as "TYPE (held by garbage)".
 */
static void group_set(const struct snapshot *s, const uint8_t *set,
		      struct garbage_part *part)
{
	size_t n = s->nobjects, ncomp, i, c;
	uint32_t *comp = xmalloc((n + 1) * sizeof(*comp));
	uint32_t *start, *order, *pos;
	struct strmap index = { 0 };
	struct u64map site_count = { 0 };
	struct strbuf key = STRBUF_INIT;

	ncomp = components(s, set, comp);
	/* Members of each component, consecutive (counting sort). */
	start = xcalloc(ncomp + 2, sizeof(*start));
	for (i = 0; i < n; i++)
		if (comp[i] != UINT32_MAX)
			start[comp[i] + 1]++;
	for (c = 0; c < ncomp; c++)
		start[c + 1] += start[c];
	pos = xmalloc((ncomp + 1) * sizeof(*pos));
	memcpy(pos, start, (ncomp + 1) * sizeof(*pos));
	order = xmalloc((start[ncomp] + 1) * sizeof(*order));
	for (i = 0; i < n; i++)
		if (comp[i] != UINT32_MAX)
			order[pos[comp[i]]++] = (uint32_t)i;
	for (c = 0; c < ncomp; c++) {
		const uint32_t *mem = order + start[c];
		size_t m = start[c + 1] - start[c], k;
		bool cycle = m > 1 || in_cycle(s, comp, mem[0]);
		struct garbage_group *g;
		uint32_t gi;

		strbuf_reset(&key);
		if (cycle)
			shape_of(s, comp, mem, m, &key);
		else
			strbuf_addf(&key, "%s (held by garbage)",
				    garbage_type_name(s, mem[0]));
		if (!strmap_get(&index, key.buf, key.len, &gi)) {
			PH_GROW(part->groups, part->groups_alloc,
				part->ngroups + 1);
			gi = (uint32_t)part->ngroups++;
			g = &part->groups[gi];
			memset(g, 0, sizeof(*g));
			g->shape = xstrdup(key.buf);
			g->confidence = "certain";
			strmap_put(&index, g->shape, key.len, gi);
		}
		g = &part->groups[gi];
		g->cycles += cycle;
		for (k = 0; k < m; k++) {
			const struct snap_object *o = &s->objects[mem[k]];
			const struct snap_type *t = &s->types[o->type];

			g->objects++;
			g->bytes += o->size;
			if (!(t->flags & TYPE_GC) && !g->invisible_type)
				g->invisible_type = garbage_type_name(s, mem[k]);
			if ((o->flags & OBJ_LEGACY_FINALIZER) &&
			    !g->finalizer_type)
				g->finalizer_type = garbage_type_name(s, mem[k]);
			if (o->flags & OBJ_EDGES_CONSERVATIVE)
				g->confidence = "probable";
			count_site(&site_count, gi, g, o->site);
		}
		part->objects += m;
		part->cycles += cycle;
		for (k = 0; k < m; k++)
			part->bytes += s->objects[mem[k]].size;
	}
	if (part->ngroups)
		qsort(part->groups, part->ngroups, sizeof(*part->groups),
		      cmp_group);
	strmap_release(&index);
	u64map_release(&site_count);
	strbuf_release(&key);
	free(comp);
	free(start);
	free(pos);
	free(order);
}

/* A part's objects and bytes without its groups (garbage_count()). */
static void sum_set(const struct snapshot *s, const uint8_t *set,
		    struct garbage_part *part)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (set[i]) {
			part->objects++;
			part->bytes += s->objects[i].size;
		}
}

static int run(const struct snapshot *s, struct garbage *g, bool groups,
	       uint8_t *part);

int garbage_analyse(const struct snapshot *s, struct garbage *g)
{
	return run(s, g, true, NULL);
}

int garbage_analyse_parts(const struct snapshot *s, struct garbage *g,
			  uint8_t *part)
{
	return run(s, g, true, part);
}

int garbage_from_groups(const struct snapshot *a, struct garbage *g)
{
	static const char *const names[] = {
		GARBAGE_STAT_COLLECTABLE_OBJECTS, GARBAGE_STAT_COLLECTABLE_BYTES,
		GARBAGE_STAT_COLLECTABLE_CYCLES,
		GARBAGE_STAT_UNCOLLECTABLE_OBJECTS,
		GARBAGE_STAT_UNCOLLECTABLE_BYTES,
		GARBAGE_STAT_UNCOLLECTABLE_CYCLES, GARBAGE_STAT_OBJECTS,
		GARBAGE_STAT_UNEXPLAINED_OBJECTS, GARBAGE_STAT_UNEXPLAINED_REFS,
	};
	uint64_t *v[PH_ARRAY_SIZE(names)];
	size_t i;

	memset(g, 0, sizeof(*g));
	if (!a->groups.present)
		return -PH_E_NOTFOUND;
	v[0] = &g->collectable.objects;
	v[1] = &g->collectable.bytes;
	v[2] = &g->collectable.cycles;
	v[3] = &g->uncollectable.objects;
	v[4] = &g->uncollectable.bytes;
	v[5] = &g->uncollectable.cycles;
	v[6] = &g->garbage_objects;
	v[7] = &g->unexplained_objects;
	v[8] = &g->unexplained_refs;
	/* All of them or none: a file may hold anything. */
	for (i = 0; i < PH_ARRAY_SIZE(names); i++) {
		int64_t x = snapshot_get_stat(a, names[i], -1);

		if (x < 0) {
			memset(g, 0, sizeof(*g));
			return -PH_E_NOTFOUND;
		}
		*v[i] = (uint64_t)x;
	}
	for (i = 0; i < a->groups.ngarbage; i++) {
		const struct snap_garbage_group *x = &a->groups.garbage[i];
		struct garbage_part *p = x->part == GARBAGE_PART_COLLECTABLE ?
					 &g->collectable : &g->uncollectable;
		struct garbage_group *gg;

		PH_GROW(p->groups, p->groups_alloc, p->ngroups + 1);
		gg = &p->groups[p->ngroups++];
		memset(gg, 0, sizeof(*gg));
		gg->shape = xstrdup(snapshot_str(a, x->shape));
		gg->cycles = x->cycles;
		gg->objects = x->objects;
		gg->bytes = x->bytes;
	}
	return 0;
}

int garbage_count(const struct snapshot *s, struct garbage_totals *t,
		  uint8_t *part)
{
	struct garbage g;
	int rc = run(s, &g, false, part);

	memset(t, 0, sizeof(*t));
	if (!rc) {
		t->known = true;
		t->collectable_objects = g.collectable.objects;
		t->collectable_bytes = g.collectable.bytes;
		t->uncollectable_objects = g.uncollectable.objects;
		t->uncollectable_bytes = g.uncollectable.bytes;
	}
	garbage_release(&g);
	return rc;
}

static int run(const struct snapshot *s, struct garbage *g, bool groups,
	       uint8_t *part)
{
	size_t n = s->nobjects, i;
	uint8_t *alive, *gc_reach, *set, *tracked, *fin = NULL, *coll = NULL;
	bool ft = snapshot_get_stat(s, "python.free_threaded", 0) != 0;
	bool py2 = !strncmp(snapshot_str(s, s->meta.python), "2.", 2);

	memset(g, 0, sizeof(*g));
	if (!(s->meta.flags & SNAP_REFCOUNTS))
		return ph_error(PH_E_FORMAT, "the snapshot has no refcount "
				"arithmetic (pyheap writes it since snapshot "
				"format 1.4): take a new snapshot");
	if (s->meta.flags & SNAP_INCONSISTENT)
		return ph_error(PH_E_FORMAT, "the snapshot was taken without "
				"stopping the process (--no-stop): its "
				"refcounts do not add up; take one that stops "
				"it");
	if (!s->edge_start)
		return ph_error(PH_E_FORMAT, "the snapshot was read without "
				"its references");
	/* 2.7's collector leaves cycles with __del__ in gc.garbage: the
	 * census marks their objects (snapshot 1.9). */
	if (py2 && snapshot_get_stat(s, "gc.legacy_finalizers", -1) < 0)
		return ph_error(PH_E_FORMAT, "the snapshot of a Python 2 "
				"process has no finalizer flags (pyheap writes "
				"them since snapshot format 1.9): take a new "
				"snapshot");
	alive = xcalloc(n + 1, 1);
	gc_reach = xcalloc(n + 1, 1);
	set = xcalloc(n + 1, 1);

	/* Alive: the roots, whatever holds a reference the heap does not
	 * explain (or explains more than its count: a census edge owning
	 * none; never taken for garbage), and objects whose refcount is
	 * no count; then everything they reach. */
	for (i = 0; i < s->nroots; i++)
		alive[s->roots[i].object] = 1;
	for (i = 0; i < n; i++) {
		const struct snap_object *o = &s->objects[i];

		if (o->unexplained || (o->flags & OBJ_NOT_ARITHMETIC))
			alive[i] = 1;
		if (o->unexplained > 0) {
			g->unexplained_objects++;
			g->unexplained_refs += (uint64_t)o->unexplained;
		} else if (o->unexplained < 0) {
			g->negative_objects++;
		}
	}
	garbage_propagate(s, alive, false, NULL);

	/* CPython's collector over every generation (gc.c): a tracked
	 * object with references from outside the tracked objects (gc_refs
	 * > 0) is reachable, and so is every tracked object it reaches
	 * through tracked objects; the other tracked objects are freed. */
	tracked = garbage_ft_tracked(s, ft);
	for (i = 0; i < n; i++) {
		const struct snap_object *o = &s->objects[i];

		if ((o->flags & OBJ_GC_TRACKED) &&
		    (o->gc_refs || (o->flags & OBJ_NOT_ARITHMETIC)))
			gc_reach[i] = 1;
	}
	garbage_propagate(s, gc_reach, true, NULL);
	for (i = 0; i < n; i++) {
		const struct snap_object *o = &s->objects[i];

		set[i] = (o->flags & OBJ_GC_TRACKED) && !gc_reach[i] &&
			 (!tracked || tracked[i]);
		/* A collectable object the global view keeps alive would be
		 * a contradiction (an unexplained reference into it): trust
		 * the global view. */
		if (set[i] && alive[i])
			set[i] = 0;
	}
	/* The free-threaded collector keeps every unreachable object alive
	 * until it lists them (gc_free_threading.c holds them in its
	 * worklist through finalize_garbage): closing a generator frees
	 * nothing there. */
	if (py2)
		fin = garbage_legacy_finalizers(s, set, g);
	/* 2.7 has no such step: a generator that needs finalizing is a
	 * legacy finalizer there. */
	else if (!ft)
		garbage_finalize_generators(s, set);
	free(tracked);
	g->collectable_ids = xmalloc((n + 1) * sizeof(*g->collectable_ids));
	for (i = 0; i < n; i++)
		if (set[i])
			g->collectable_ids[g->ncollectable_ids++] =
				(uint32_t)i;
	if (groups)
		group_set(s, set, &g->collectable);
	else
		sum_set(s, set, &g->collectable);
	if (part)
		for (i = 0; i < n; i++)
			part[i] = set[i] ? GARBAGE_PART_COLLECTABLE : 0;

	/* Never collectable: garbage that the collectable garbage does not
	 * reach (what it reaches is freed with it). */
	if (fin)
		coll = memcpy(xmalloc(n + 1), set, n + 1);
	garbage_propagate(s, set, false, NULL);
	/* 2.7: what the objects kept for their finalizers reach stays with
	 * them, unless the collector frees it as collectable itself. */
	if (fin) {
		garbage_propagate(s, fin, false, NULL);
		for (i = 0; i < n; i++)
			if (fin[i] && !coll[i])
				set[i] = 0;
	}
	for (i = 0; i < n; i++)
		set[i] = !alive[i] && !set[i];
	if (groups)
		group_set(s, set, &g->uncollectable);
	else
		sum_set(s, set, &g->uncollectable);
	if (part)
		for (i = 0; i < n; i++)
			if (set[i])
				part[i] = GARBAGE_PART_UNCOLLECTABLE;
	for (i = 0; i < n; i++)
		if (!alive[i])
			g->garbage_objects++;
	g->gc = s->gc;
	free(alive);
	free(gc_reach);
	free(set);
	free(fin);
	free(coll);
	return 0;
}

static void part_release(struct garbage_part *p)
{
	size_t i;

	for (i = 0; i < p->ngroups; i++)
		free(p->groups[i].shape);
	free(p->groups);
}

static void part_compare(struct garbage_part *p,
			 const struct garbage_part *a)
{
	struct strmap index = { 0 };
	size_t i;
	uint32_t k;

	p->objects_a = a->objects;
	p->bytes_a = a->bytes;
	p->cycles_a = a->cycles;
	for (i = 0; i < a->ngroups; i++)
		strmap_put(&index, a->groups[i].shape,
			   strlen(a->groups[i].shape), (uint32_t)i);
	for (i = 0; i < p->ngroups; i++) {
		struct garbage_group *g = &p->groups[i];

		if (!strmap_get(&index, g->shape, strlen(g->shape), &k))
			continue;
		g->cycles_a = a->groups[k].cycles;
		g->objects_a = a->groups[k].objects;
		g->bytes_a = a->groups[k].bytes;
	}
	strmap_release(&index);
}

void garbage_compare(struct garbage *g, const struct garbage *a)
{
	g->compared = true;
	g->garbage_objects_a = a->garbage_objects;
	g->unexplained_objects_a = a->unexplained_objects;
	g->unexplained_refs_a = a->unexplained_refs;
	part_compare(&g->collectable, &a->collectable);
	part_compare(&g->uncollectable, &a->uncollectable);
}

void garbage_release(struct garbage *g)
{
	part_release(&g->collectable);
	part_release(&g->uncollectable);
	free(g->collectable_ids);
	free(g->finalizer_ids);
	free(g->gc_garbage_ids);
	memset(g, 0, sizeof(*g));
}

void garbage_totals_of(const struct snapshot *s, struct garbage_totals *t)
{
	static const char *const names[] = {
		GARBAGE_STAT_COLLECTABLE_OBJECTS, GARBAGE_STAT_COLLECTABLE_BYTES,
		GARBAGE_STAT_UNCOLLECTABLE_OBJECTS,
		GARBAGE_STAT_UNCOLLECTABLE_BYTES,
	};
	uint64_t *v[4];
	size_t i;

	memset(t, 0, sizeof(*t));
	v[0] = &t->collectable_objects;
	v[1] = &t->collectable_bytes;
	v[2] = &t->uncollectable_objects;
	v[3] = &t->uncollectable_bytes;
	for (i = 0; i < PH_ARRAY_SIZE(names); i++) {
		int64_t x = snapshot_get_stat(s, names[i], -1);

		/* All four or nothing: a file may hold anything. */
		if (x < 0) {
			memset(t, 0, sizeof(*t));
			return;
		}
		*v[i] = (uint64_t)x;
	}
	t->known = true;
}
