/*
 * Python 2.7's legacy finalizers: which tracked objects its collector
 * will not free in a cycle (Modules/gcmodule.c has_finalizer).  A cycle
 * that holds one goes, with everything it reaches among the unreachable
 * objects, to gc.garbage instead of being freed (move_finalizers,
 * move_finalizer_reachable, handle_finalizers), so the garbage analysis
 * (analysis/garbage.c) needs to know them.  2.7's has_finalizer():
 *
 *   - an old-style instance (PyInstance_Type) whose class or a base class
 *     has "__del__" in its dict (_PyInstance_Lookup, class_lookup);
 *   - an instance of a heap type with tp_del set (a new-style class with
 *     __del__: typeobject.c slot_tp_del, inherited by inherit_slots);
 *   - a generator whose frame is suspended inside a block other than a
 *     loop: try/except/finally/with (genobject.c PyGen_NeedsFinalizing).
 *
 * Each is read from the copied image with the layout (PyInstanceObject,
 * PyClassObject: Include/classobject.h; tp_del: Include/object.h
 * PyTypeObject; f_iblock, f_blockstack, PyTryBlock: Include/frameobject.h)
 * and checked on the data: a class pointer that is not a classobj, a dict
 * that is not a dict, a block count outside [0, CO_MAXBLOCKS] make the
 * answer unknown.  Unknown counts as a finalizer (the garbage analysis
 * then never calls such an object collectable) and is counted in the
 * stat gc.legacy_unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Include/code.h CO_MAXBLOCKS and Include/opcode.h SETUP_LOOP (2.7). */
#define CO_MAXBLOCKS 20
#define SETUP_LOOP 120
/* A class hierarchy deeper or wider than this is not a real one. */
#define MAX_CLASS_DEPTH 64
#define MAX_CLASS_VISITS 4096

enum fin { FIN_NO = 0, FIN_YES = 1, FIN_UNKNOWN = 2 };

struct fin_ctx {
	struct census *c;
	uint64_t class_type, dict_type, tuple_type;
	struct u64map classes;      /* classobj addr -> enum fin */
	unsigned visits;
};

static bool has_type(struct census *c, uint64_t obj, uint64_t type)
{
	return type && obj && rd(c, obj, PY_F_OB_TYPE) == type;
}

/* class_lookup(cls, "__del__") != NULL: in its dict, else in its bases'
 * depth first, as 2.7's classobject.c looks. */
static enum fin class_has_del(struct fin_ctx *x, uint64_t cls, unsigned depth)
{
	struct census *c = x->c;
	uint64_t v, dict, bases, n, i, item;
	enum fin r = FIN_NO, b;

	if (u64map_get(&x->classes, cls, &v))
		return (enum fin)v;
	if (depth > MAX_CLASS_DEPTH || ++x->visits > MAX_CLASS_VISITS ||
	    !has_type(c, cls, x->class_type))
		return FIN_UNKNOWN;
	dict = rd(c, cls, PY_F_CL_DICT);
	bases = rd(c, cls, PY_F_CL_BASES);
	if (!has_type(c, dict, x->dict_type) ||
	    !has_type(c, bases, x->tuple_type))
		return FIN_UNKNOWN;
	if (dict_get_str(c, dict, "__del__")) {
		r = FIN_YES;
	} else {
		n = tuple_len(c, bases);
		for (i = 0; i < n && r != FIN_YES; i++) {
			if (target_read_u64(c->t, bases +
					    (uint64_t)c->L->off[PY_F_TUPLE_ITEM] +
					    8 * i, &item))
				return FIN_UNKNOWN;
			b = class_has_del(x, item, depth + 1);
			if (b != FIN_NO)
				r = b;
		}
	}
	u64map_put(&x->classes, cls, r);
	return r;
}

/* PyGen_NeedsFinalizing: a frame stopped with a block on its block stack
 * that is not a loop's. */
static enum fin gen_needs_finalizing(struct census *c, uint64_t gen)
{
	const struct py_layout *L = c->L;
	uint64_t f = rd(c, gen, PY_F_GEN_FRAME), base;
	int64_t n, i;
	uint32_t type;

	if (!f || !rd(c, f, PY_F_FO_STACKTOP))
		return FIN_NO;
	n = rd_signed(c, f, PY_F_FO_IBLOCK);
	if (n < 0 || n > CO_MAXBLOCKS)
		return FIN_UNKNOWN;
	base = f + (uint64_t)L->off[PY_F_FO_BLOCKSTACK] +
	       (uint64_t)L->off[PY_F_TB_TYPE];
	for (i = n - 1; i >= 0; i--) {
		if (target_read(c->t, base + (uint64_t)i *
				(uint64_t)L->size[PY_S_TRYBLOCK], &type,
				sizeof(type)))
			return FIN_UNKNOWN;
		if (type != SETUP_LOOP)
			return FIN_YES;
	}
	return FIN_NO;
}

void census_legacy_finalizers(struct census *c)
{
	const struct py_layout *L = c->L;
	struct fin_ctx x = { .c = c, .classes = U64MAP_INIT };
	uint64_t del, nfin = 0, nunknown = 0;
	int8_t *type_del;
	size_t i;

	if (c->p->major != 2)
		return;
	if (!py_has(L, PY_F_TP_DEL) || !py_has(L, PY_F_IN_CLASS) ||
	    !py_has(L, PY_F_CL_DICT) || !py_has(L, PY_F_CL_BASES) ||
	    !py_has(L, PY_F_FO_IBLOCK) || !py_has(L, PY_F_FO_BLOCKSTACK) ||
	    !py_has(L, PY_F_TB_TYPE) || L->size[PY_S_TRYBLOCK] <= 0 ||
	    !c->known.type[K_INSTANCE] || !c->known.type[K_CLASSOBJ]) {
		/* Nothing can be said: every tracked object is unknown. */
		for (i = 0; i < c->nobjs; i++)
			if (c->objs[i].flags & OBJ_GC_TRACKED) {
				c->objs[i].flags |= OBJ_LEGACY_FINALIZER;
				nunknown++;
			}
		ph_warn("Python 2.7's finalizers cannot be read (no layout "
			"or symbol for them): the garbage analysis will call "
			"nothing collectable");
		snapshot_stat(c->s, "gc.legacy_finalizers", 0);
		snapshot_stat(c->s, "gc.legacy_unknown", (int64_t)nunknown);
		return;
	}
	x.class_type = c->known.type[K_CLASSOBJ];
	x.dict_type = c->known.type[K_DICT];
	x.tuple_type = c->known.type[K_TUPLE];
	/* Per type: -1 not read yet, else enum fin of its tp_del, or of
	 * the old-style class an instance tinfo stands for (types.c
	 * tinfo_oldclass: 0 when in_class was no classobj, unknown). */
	type_del = xmalloc(c->ntinfos + 1);
	memset(type_del, -1, c->ntinfos + 1);
	for (i = 0; i < c->nobjs; i++) {
		struct cobj *o = &c->objs[i];
		const struct tinfo *ti = &c->tinfos[o->tinfo];
		enum fin f = FIN_NO;

		if (!(o->flags & OBJ_GC_TRACKED))
			continue;
		if (ti->kind == K_INSTANCE || ti->heap) {
			if (type_del[o->tinfo] < 0 && ti->kind == K_INSTANCE)
				type_del[o->tinfo] = ti->oldclass ?
					class_has_del(&x, ti->oldclass, 0) :
					FIN_UNKNOWN;
			else if (type_del[o->tinfo] < 0)
				type_del[o->tinfo] =
					py_read_field(c->t, L, ti->addr,
						      PY_F_TP_DEL, &del) ?
					FIN_UNKNOWN : del ? FIN_YES : FIN_NO;
			f = (enum fin)type_del[o->tinfo];
		} else if (ti->kind == K_GEN) {
			f = gen_needs_finalizing(c, o->addr);
		}
		if (f == FIN_NO)
			continue;
		o->flags |= OBJ_LEGACY_FINALIZER;
		if (f == FIN_YES)
			nfin++;
		else
			nunknown++;
	}
	free(type_del);
	u64map_release(&x.classes);
	snapshot_stat(c->s, "gc.legacy_finalizers", (int64_t)nfin);
	snapshot_stat(c->s, "gc.legacy_unknown", (int64_t)nunknown);
	if (nunknown)
		ph_warn("%llu objects whose Python 2.7 finalizer could not be "
			"read are taken to have one (stat gc.legacy_unknown)",
			(unsigned long long)nunknown);
}
