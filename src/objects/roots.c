/*
 * Census phase A (census.c): the roots -- the interpreter's dicts, each
 * thread's dict and frames -- and the GC generation lists, walked with
 * their invariants checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- phase A: roots and GC lists -------------------------------------- */

static void add_root(struct census *c, enum root_kind kind, uint64_t addr,
		     const char *name, bool owned)
{
	struct snapshot *s = c->s;
	int64_t idx = census_ref(c, addr);

	if (idx < 0)
		return;
	/* Refcount arithmetic (refcount.c): what the interpreter and the
	 * threads own. */
	if (owned && c->objs[idx].owned < UINT32_MAX)
		c->objs[idx].owned++;
	PH_GROW(s->roots, s->roots_alloc, s->nroots + 1);
	s->roots[s->nroots].kind = kind;
	/* Remapped to the sorted id in census_assemble(). */
	s->roots[s->nroots].object = (uint32_t)idx;
	s->roots[s->nroots].name = snapshot_cstring(s, name);
	s->nroots++;
}

void seed_roots(struct census *c, const struct py_stacks *st)
{
	static const struct {
		enum py_field f;
		enum root_kind kind;
		const char *name;
	} interp_roots[] = {
		{ PY_F_IS_MODULES, ROOT_SYS_MODULES, "sys.modules" },
		{ PY_F_IS_SYSDICT, ROOT_SYSDICT, "sys.__dict__" },
		{ PY_F_IS_BUILTINS, ROOT_BUILTINS, "builtins" },
		{ PY_F_IS_DICT, ROOT_INTERP_DICT, "interpreter dict" },
	};
	char name[256];
	size_t i, j, k;

	for (i = 0; i < st->ninterps; i++) {
		const struct py_interp *pi = &st->interps[i];

		for (k = 0; k < PH_ARRAY_SIZE(interp_roots); k++) {
			uint64_t v;

			if (py_has(c->L, interp_roots[k].f) &&
			    !py_read_field(c->t, c->L, pi->addr,
					   interp_roots[k].f, &v))
				add_root(c, interp_roots[k].kind, v,
					 interp_roots[k].name, true);
		}
		for (j = 0; j < pi->nthreads; j++) {
			const struct py_thread *th = &pi->threads[j];

			for (k = 0; k < th->nrefs; k++) {
				/* "thread T", or "thread T: f() local x" for
				 * a frame's variable. */
				if (th->ref_names[k])
					snprintf(name, sizeof(name),
						 "thread %d: %s", (int)th->tid,
						 th->ref_names[k]);
				else
					snprintf(name, sizeof(name),
						 "thread %d", (int)th->tid);
				add_root(c, ROOT_FRAME,
					 th->refs[k] & ~PY_REF_BORROWED, name,
					 !(th->refs[k] & PY_REF_BORROWED));
			}
		}
	}
}

static uint64_t gc_state(struct census *c)
{
	return py_gc_state(c->p, c->t);
}

/*
 * Walk one generation's circular list of GC heads (pycore_gc.h): from
 * head->_gc_next until back at head; the low two bits are flags.  A node
 * whose object does not validate (a thread stopped while creating or
 * destroying it) is counted and stepped over: the links still hold.  A
 * link that cannot be followed ends the walk; that loses only the
 * "tracked" mark of the nodes after it, since their objects are found
 * through pymalloc blocks and references too.
 */
static void walk_gc_list(struct census *c, uint64_t head, bool permanent,
			 uint64_t max_steps)
{
	const struct py_layout *L = c->L;
	uint64_t gh = (uint64_t)L->size[PY_S_GCHEAD], p, steps = 0;

	if (py_read_field(c->t, L, head, PY_F_GC_NEXT, &p))
		return;
	p &= ~3ull;
	while (p != head) {
		int64_t idx;

		if (!p || (p & 7) || ++steps > max_steps) {
			ph_debug(1, "gc list at %#llx: broken link %#llx",
				 (unsigned long long)head, (unsigned long long)p);
			c->gc_list_breaks++;
			return;
		}
		idx = census_ref(c, p + gh);
		if (idx < 0) {
			ph_debug(1, "gc list at %#llx: no object at %#llx",
				 (unsigned long long)head,
				 (unsigned long long)(p + gh));
			c->gc_list_invalid++;
		} else if (permanent) {
			c->permanent++;
		} else if (!(c->objs[idx].flags & OBJ_GC_TRACKED)) {
			c->objs[idx].flags |= OBJ_GC_TRACKED;
			c->gc_tracked++;
		}
		if (py_read_field(c->t, L, p, PY_F_GC_NEXT, &p)) {
			c->gc_list_breaks++;
			return;
		}
		p &= ~3ull;
	}
}

/*
 * The generation lists, only where python/verify.c found them: a list head
 * read at a wrong offset would mark nothing, or the wrong things, tracked
 * without a word (Debian's 3.13 moves them: INTERNALS-2026 §2.3).
 */
void seed_gc(struct census *c, uint64_t max_steps)
{
	const struct py_layout *L = c->L;
	struct snapshot *s = c->s;
	uint64_t gcs = gc_state(c), gens, v;
	int64_t gsize = L->size[PY_S_GCGEN];
	struct py_gc_heads gh;
	int i;

	if (!gcs || gsize <= 0)
		return;
	if (py_gc_heads(c->p, c->t, gcs, false, max_steps, &gh))
		return;
	gens = gh.gen_base;
	s->gc.valid = true;
	if (!py_read_field(c->t, L, gcs, PY_F_GCS_ENABLED, &v))
		s->gc.enabled = (uint32_t)v != 0;
	for (i = 0; i < 3; i++) {
		uint64_t g = gens + (uint64_t)i * (uint64_t)gsize;

		if (!py_read_field(c->t, L, g, PY_F_GEN_THRESHOLD, &v))
			s->gc.threshold[i] = (int32_t)v;
		if (!py_read_field(c->t, L, g, PY_F_GEN_COUNT, &v))
			s->gc.count[i] = (int32_t)v;
		walk_gc_list(c, gh.gen_head[i], false, max_steps);
	}
	if (gh.permanent_head)
		walk_gc_list(c, gh.permanent_head, true, max_steps);
	if (gh.heap_size_known) {
		snapshot_stat(s, "gc.heap_size", (int64_t)gh.heap_size);
		snapshot_stat(s, "gc.list_nodes", (int64_t)gh.nodes);
	}
}
