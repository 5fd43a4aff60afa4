/*
 * The rules by which each build's cyclic collector decides what of the
 * unreachable objects it frees (analysis.h "Garbage"), apart from the
 * walk they share (garbage.c): a GIL build finalizes generators first, a
 * free-threaded one untracks atomic tuples and dicts as it goes, Python
 * 2.7 keeps cycles with legacy finalizers.  Every walk is iterative over
 * the snapshot's CSR edges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The walk every part of the analysis uses: everything reachable from
 * the objects already marked, over every edge (or, with tracked_only,
 * from tracked objects to tracked objects: what gc's move_unreachable
 * follows), within the objects `within` marks when it is not NULL. */
void garbage_propagate(const struct snapshot *s, uint8_t *mark,
		       bool tracked_only, const uint8_t *within)
{
	size_t n = s->nobjects, top = 0, i;
	uint32_t *stack = xmalloc((n + 1) * sizeof(*stack));

	for (i = 0; i < n; i++)
		if (mark[i])
			stack[top++] = (uint32_t)i;
	while (top) {
		uint32_t v = stack[--top], e;

		for (e = s->edge_start[v]; e < s->edge_start[v + 1]; e++) {
			uint32_t d = s->edge_dst[e];

			if (mark[d])
				continue;
			if (tracked_only &&
			    !(s->objects[d].flags & OBJ_GC_TRACKED))
				continue;
			if (within && !within[d])
				continue;
			mark[d] = 1;
			stack[top++] = d;
		}
	}
	free(stack);
}


/*
 * What a free-threaded collector still finds tracked once its first pass
 * ran, or NULL for a GIL build.  gc_free_threading.c update_refs visits
 * every tracked object and untracks, there and then, an exact tuple or
 * dict that holds nothing that may be tracked (_PyTuple_MaybeUntrack,
 * _PyDict_MaybeUntrack), unreachable ones included -- which the GIL
 * collector's untrack_tuples() does for reachable young tuples only.
 * Such objects are never listed in gc.garbage; they go with what holds
 * them.  CPython's one pass visits in heap order, so a tuple of atomic
 * tuples may wait for a later collection; here passes repeat until
 * nothing changes.
 */
/* _PyObject_GC_MAY_BE_TRACKED (pycore_object.h): PyObject_IS_GC -- its
 * type has GC, and a type object only if a heap type (type_is_gc), which
 * is tracked from its creation: a static type never is -- and not a
 * tuple that is untracked. */
static bool may_be_tracked(const struct snapshot *s, uint32_t d,
			   const uint8_t *tr)
{
	const struct snap_object *x = &s->objects[d];
	const char *tn;

	if (!(s->types[x->type].flags & TYPE_GC))
		return false;
	tn = garbage_type_name(s, d);
	if (!strcmp(tn, "tuple"))
		return tr[d];
	if (!strcmp(tn, "type") && !tr[d])
		return false;
	return true;
}

uint8_t *garbage_ft_tracked(const struct snapshot *s, bool ft)
{
	size_t n = s->nobjects, i, pass;
	bool changed = true;
	uint8_t *tr;

	if (!ft)
		return NULL;
	tr = xcalloc(n + 1, 1);
	for (i = 0; i < n; i++)
		tr[i] = (s->objects[i].flags & OBJ_GC_TRACKED) != 0;
	for (pass = 0; changed && pass < 64; pass++) {
		changed = false;
		for (i = 0; i < n; i++) {
			const char *tn;
			bool atomic = true;
			uint32_t e;

			if (!tr[i] ||
			    (s->objects[i].flags & OBJ_NOT_ARITHMETIC))
				continue;
			tn = garbage_type_name(s, (uint32_t)i);
			if (strcmp(tn, "tuple") && strcmp(tn, "dict"))
				continue;
			for (e = s->edge_start[i];
			     atomic && e < s->edge_start[i + 1]; e++)
				atomic = !may_be_tracked(s, s->edge_dst[e], tr);
			if (atomic) {
				tr[i] = 0;
				changed = true;
			}
		}
	}
	return tr;
}

/*
 * Python 2.7's collector (Modules/gcmodule.c collect): of the unreachable
 * objects (set), those with a legacy finalizer and every unreachable
 * object they reach through the tracked objects' references
 * (move_finalizers, move_finalizer_reachable: tp_traverse visits a
 * referent, and only one in the unreachable list moves) are not freed:
 * out of set, marked in the result, and listed in g.
 */
uint8_t *garbage_legacy_finalizers(const struct snapshot *s, uint8_t *set,
				   struct garbage *g)
{
	size_t n = s->nobjects, i;
	uint8_t *fin = xcalloc(n + 1, 1);

	for (i = 0; i < n; i++)
		fin[i] = set[i] &&
			 (s->objects[i].flags & OBJ_LEGACY_FINALIZER);
	garbage_propagate(s, fin, false, set);
	g->finalizer_ids = xmalloc((n + 1) * sizeof(*g->finalizer_ids));
	g->gc_garbage_ids = xmalloc((n + 1) * sizeof(*g->gc_garbage_ids));
	for (i = 0; i < n; i++) {
		if (!fin[i])
			continue;
		set[i] = 0;
		g->finalizer_objects++;
		g->finalizer_bytes += s->objects[i].size;
		g->finalizer_ids[g->nfinalizer_ids++] = (uint32_t)i;
		if (s->objects[i].flags & OBJ_LEGACY_FINALIZER)
			g->gc_garbage_ids[g->ngc_garbage_ids++] = (uint32_t)i;
	}
	return fin;
}

static bool is_generator(const struct snapshot *s, uint32_t obj)
{
	const char *n = garbage_type_name(s, obj);

	return !strcmp(n, "generator") || !strcmp(n, "coroutine") ||
	       !strcmp(n, "async_generator");
}

/*
 * Before it lists anything, the collector finalizes the unreachable
 * objects (gc.c finalize_garbage): a suspended generator (or coroutine)
 * is closed, which clears its frame, so what only the frame held -- the
 * generator's function (3.11+ f_funcobj), its locals, its <= 3.10 frame
 * object -- is freed then and there and never listed in gc.garbage.  The
 * snapshot does not say whether a generator is suspended: each
 * unreachable one is taken to be (the usual garbage generator).  The
 * frees cascade: an object whose refcount the freed objects'
 * (deduplicated) edges account for goes too.  In 3.13.0-3.13.11 and
 * 3.14.0-3.14.2, closing a generator suspended outside any try block
 * clears only its locals (genobject.c gen_close, _PyFrame_ClearLocals):
 * its function stays until the generator is freed, and is listed; the
 * releases after clear the whole frame again (gh-142766).  Measured:
 * 3.13.0 and 3.13.5 keep it, 3.13.18, 3.14.10 and 3.15.2 free it.
 */
void garbage_finalize_generators(const struct snapshot *s, uint8_t *set)
{
	size_t n = s->nobjects, top = 0, i;
	uint32_t *stack = xmalloc((n + 1) * sizeof(*stack));
	uint32_t *freed_refs = xcalloc(n + 1, sizeof(*freed_refs));
	const char *py = snapshot_str(s, s->meta.python);
	int minor = -1, micro = -1;
	bool keeps_function;

	if (sscanf(py, "3.%d.%d", &minor, &micro) != 2)
		minor = micro = -1;
	keeps_function = (minor == 13 && micro < 12) ||
			 (minor == 14 && micro < 3);

	for (i = 0; i < n; i++)
		if (set[i] && is_generator(s, (uint32_t)i))
			stack[top++] = (uint32_t)i;
	while (top) {
		uint32_t v = stack[--top], e;
		bool gen = is_generator(s, v);

		for (e = s->edge_start[v]; e < s->edge_start[v + 1]; e++) {
			uint32_t d = s->edge_dst[e];

			if (gen && keeps_function &&
			    !strcmp(garbage_type_name(s, d), "function"))
				continue;
			if (set[d] && !is_generator(s, d) &&
			    ++freed_refs[d] >= s->objects[d].refcnt) {
				set[d] = 0;
				stack[top++] = d;
			}
		}
	}
	free(stack);
	free(freed_refs);
}
