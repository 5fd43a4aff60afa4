/*
 * Refcount arithmetic over the census (census.c runs it after the last
 * phase, before assembly).
 */
#include "internal.h"

/*
 * An object's refcount counts every strong reference to it.  Those the
 * census saw -- precise edges from objects that own them, with
 * multiplicity, and roots that own them -- are cobj.owned; the rest,
 * refcount - owned, is held from where pyheap does not look (C statics
 * and stacks, extension structs it cannot parse) or was leaked by a
 * missing Py_DECREF.  Conservative edges never count: a stale word would
 * lower the remainder and make a live object look unreferenced.
 *
 * Not arithmetic: immortal objects (3.12+) and objects in an ELF data
 * segment (static types, 3.11's deep-frozen code), whose refcounts are
 * not counts.  Edges that own nothing are recorded while c->borrowing
 * (kinds.c, roots.c): a split dict's keys (the shared keys own them),
 * the interned-strings dict's pairs (CPython takes two from the count:
 * unicodeobject.c intern, SSTATE_INTERNED_MORTAL), a 3.11+ frame's
 * f_back and the slots of a frame that runs (its interpreter frame on
 * the thread's data stack owns them and is a root), a <= 3.10 frame as a
 * root (the C stack's reference).  A negative remainder is a census edge
 * that owns no reference: counted, and listed at -vv by type.
 *
 * For a GC-tracked object, gc_refs is what CPython's collector would
 * leave of its refcount after subtract_refs (gc.c update_refs,
 * subtract_refs) over every tracked object: the refcount less the owned
 * references from tracked objects that their tp_traverse reports (not a
 * heap type's name, qualname, __slots__ or subclasses: cedge.untraversed).
 * pyheap garbage runs the rest of the collection offline from it.
 */
void census_refcounts(struct census *c)
{
	struct u64map neg = { 0 };
	size_t i;

	for (i = 0; i < c->nobjs; i++)
		if (c->objs[i].flags & OBJ_GC_TRACKED)
			c->objs[i].gc_refs = c->objs[i].refcnt;
	for (i = 0; i < c->nedges; i++) {
		const struct cedge *e = &c->edges[i];

		if (e->owned && !e->untraversed &&
		    (c->objs[e->src].flags & OBJ_GC_TRACKED) &&
		    (c->objs[e->dst].flags & OBJ_GC_TRACKED))
			c->objs[e->dst].gc_refs--;
	}
	for (i = 0; i < c->nobjs; i++) {
		struct cobj *o = &c->objs[i];
		int64_t ext;
		uint64_t v;

		if (o->flags & (OBJ_IMMORTAL | OBJ_STATIC)) {
			o->flags |= OBJ_NOT_ARITHMETIC;
			o->gc_refs = 0;
			c->rc_not_arith++;
			continue;
		}
		c->rc_arith++;
		ext = o->refcnt - (int64_t)o->owned;
		o->unexplained = ext;
		if (ext > 0) {
			c->rc_unexplained++;
			c->rc_unexplained_refs += (uint64_t)ext;
		} else if (ext < 0) {
			c->rc_negative++;
			c->rc_negative_refs += (uint64_t)-ext;
			ph_debug(3, "refcount: object %#llx: refcount %lld, %u "
				 "references found", (unsigned long long)o->addr,
				 (long long)o->refcnt, o->owned);
			if (ph_verbosity >= 2) {
				v = 0;
				u64map_get(&neg, o->tinfo, &v);
				u64map_put(&neg, o->tinfo, v + 1);
			}
		}
	}
	for (i = 0; ph_verbosity >= 2 && i < c->ntinfos; i++) {
		struct strbuf name = STRBUF_INIT, module = STRBUF_INIT;
		uint64_t v;

		if (!u64map_get(&neg, i, &v))
			continue;
		tinfo_name(c, &c->tinfos[i], &name, &module);
		ph_debug(2, "refcount: %llu %s with more references found "
			 "than counted", (unsigned long long)v, name.buf);
		strbuf_release(&name);
		strbuf_release(&module);
	}
	u64map_release(&neg);
}
