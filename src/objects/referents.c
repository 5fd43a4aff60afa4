/*
 * Per-kind referents (each type's tp_traverse) for the built-in kinds, and
 * whether each reference is owned (refcount.c); kinds.c
 * has their sizes.  The CPython function each one mirrors is named in its
 * comment; offsets come from the layout (python/fields.h).  labels.c
 * names the edges.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BATCH 4096
/* How many items ahead edge_items starts loading index slots. */
#define PREFETCH 8
/* ---- referents --------------------------------------------------------- */

struct edge_ctx {
	struct census *c;
	uint32_t src;
};

/* A dict's entry.  The pairs of the interned-strings dict own no
 * references (unicodeobject.c: "the two references in interned dict (key
 * and value) are not counted by refcnt", SSTATE_INTERNED_MORTAL): a pair
 * whose key is its value and an interned mortal str is taken for one. */
static void edge_kv_owned(void *ctx, uint64_t key, uint64_t value)
{
	struct edge_ctx *e = ctx;
	bool interned = false;

	if (key == value) {
		uint64_t state;

		interned = py_has(e->c->L, PY_F_STR_STATE) &&
			   !py_read_field(e->c->t, e->c->L, key,
					  PY_F_STR_STATE, &state) &&
			   py_str_bits(e->c->L, state).interned == 1;
	}
	e->c->borrowing = interned;
	census_edge(e->c, e->src, key);
	census_edge_l(e->c, e->src, value,
		      interned ? 0 : key_label(e->c, key, value));
	e->c->borrowing = false;
}

/* A split dict's entry: its keys are the shared keys' (owned by the
 * type, see K_TYPE), its values its own. */
static void edge_kv_split(void *ctx, uint64_t key, uint64_t value)
{
	struct edge_ctx *e = ctx;

	e->c->borrowing = true;
	census_edge(e->c, e->src, key);
	e->c->borrowing = false;
	census_edge_l(e->c, e->src, value, key_label(e->c, key, value));
}

/* A heap type's shared keys (ht_cached_keys) own their keys. */
static void edge_key(void *ctx, uint64_t key, uint64_t value)
{
	struct edge_ctx *e = ctx;

	(void)value;
	census_edge(e->c, e->src, key);
}

static void edge_value(void *ctx, uint64_t key, uint64_t value)
{
	struct edge_ctx *e = ctx;

	/* shared keys are reached through the type; they name the values */
	census_edge_l(e->c, e->src, value,
		      census_key_label(e->c, key, value));
}

/* Items addr[0..n): labelled [first + i] when first >= 0, else by lab[i]
 * for i < nlab (frame slots, framelabels.c), else not. */
static void edge_items_l(struct census *c, uint32_t src, uint64_t addr,
			 uint64_t n, int64_t first, const uint32_t *lab,
			 uint64_t nlab)
{
	uint64_t buf[BATCH], i, k, m;

	if (!addr || n >= MAX_ITEMS)
		return;
	if (n > census_refs_left(c)) {
		c->refs_over += n - census_refs_left(c);
		n = census_refs_left(c);
	}
	for (i = 0; i < n; i += m) {
		m = PH_MIN(n - i, (uint64_t)BATCH);
		if (target_read(c->t, addr + i * 8, buf, (size_t)m * 8))
			return;
		/* Item arrays are where most edges come from, each a lookup
		 * in an index far larger than the cache: start the loads a
		 * few items ahead so their misses overlap. */
		for (k = 0; k < m && k < PREFETCH; k++)
			census_prefetch(c, buf[k]);
		for (k = 0; k < m; k++) {
			if (k + PREFETCH < m)
				census_prefetch(c, buf[k + PREFETCH]);
			census_edge_l(c, src, buf[k],
				      first >= 0 && c->labels != LABELS_NONE &&
				      (uint64_t)first + i + k <=
				      EDGE_LABEL_MAX ?
				      EDGE_LABEL_INDEX |
				      (uint32_t)((uint64_t)first + i + k) :
				      first < 0 && i + k < nlab ? lab[i + k] :
				      0);
		}
	}
}

static void edge_items(struct census *c, uint32_t src, uint64_t addr,
		       uint64_t n, int64_t first)
{
	edge_items_l(c, src, addr, n, first, NULL, 0);
}


static void edge_fields(struct census *c, uint32_t src, uint64_t base,
			const enum py_field *fs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (py_has(c->L, fs[i]))
			census_edge_l(c, src, rd(c, base, fs[i]),
				      field_label(c, fs[i]));
}

/*
 * An edge to what a _PyStackRef names (3.14+ frames: f_executable,
 * f_funcobj, the localsplus slots): the low bits are tags (stacks.c
 * stackref_obj): both set is a tagged int, no object; bit 0 alone
 * (Py_TAG_REFCNT) a borrowed or immortal reference, which owns nothing.
 * Before 3.14 these are plain pointers.
 */
uint64_t stackref_addr(const struct census *c, uint64_t v)
{
	if (c->L->minor < 14)
		return v;
	return v <= 3 || (v & 3) == 3 ? 0 : v & ~3ull;
}

static void edge_stackref(struct census *c, uint32_t src, uint64_t v,
			  uint32_t label)
{
	bool borrowing = c->borrowing;

	c->borrowing = borrowing || (c->L->minor >= 14 && (v & 1));
	census_edge_l(c, src, stackref_addr(c, v), label);
	c->borrowing = borrowing;
}

/* A 3.11+ _PyInterpreterFrame at f (pycore_frame.h; frame_traverse,
 * _PyFrame_Traverse): code, function, globals, builtins, locals, frame
 * object and the live slots: up to stacktop (3.11-3.13, a count) or
 * stackpointer (3.14+, past the last live slot; NULL while a collection
 * runs: then none). */
static void edge_iframe(struct census *c, uint32_t src, uint64_t f,
			enum frame_holder h)
{
	const struct py_layout *L = c->L;
	bool borrowing = c->borrowing;
	uint64_t base, buf[64], k, m;
	const uint32_t *lab;
	uint32_t nlab;
	int64_t top = 0;

	if (!f)
		return;
	lab = frame_slot_labels(c, stackref_addr(c, rd(c, f, PY_F_IF_CODE)),
				h, &nlab);
	edge_stackref(c, src, rd(c, f, PY_F_IF_CODE), 0);
	edge_stackref(c, src, rd(c, f, PY_F_IF_FUNC), 0);
	/* f_globals and f_builtins are borrowed (pycore_frame.h 3.11+). */
	c->borrowing = true;
	census_edge(c, src, rd(c, f, PY_F_IF_GLOBALS));
	census_edge(c, src, rd(c, f, PY_F_IF_BUILTINS));
	c->borrowing = borrowing;
	census_edge(c, src, rd(c, f, PY_F_IF_LOCALS));
	/* frame_obj pointing back at the frame object that holds this
	 * frame is no reference of its own. */
	c->borrowing = borrowing ||
		       rd(c, f, PY_F_IF_FRAME_OBJ) == c->objs[src].addr;
	census_edge(c, src, rd(c, f, PY_F_IF_FRAME_OBJ));
	c->borrowing = borrowing;
	if (!py_has(L, PY_F_IF_LOCALSPLUS))
		return;
	base = f + (uint64_t)L->off[PY_F_IF_LOCALSPLUS];
	if (py_has(L, PY_F_IF_STACKPOINTER)) {
		uint64_t sp = rd(c, f, PY_F_IF_STACKPOINTER);

		if (sp > base && !((sp - base) & 7))
			top = (int64_t)((sp - base) / 8);
	} else {
		top = rd_signed(c, f, PY_F_IF_STACKTOP);
	}
	if (top <= 0 || top >= MAX_SLOTS)
		return;
	if ((uint64_t)top > census_refs_left(c)) {
		c->refs_over += (uint64_t)top;
		return;
	}
	for (k = 0; k < (uint64_t)top; k += m) {
		size_t j;

		m = PH_MIN((uint64_t)top - k, (uint64_t)PH_ARRAY_SIZE(buf));
		if (target_read(c->t, base + k * 8, buf, (size_t)m * 8))
			return;
		/* A local (labelled by its name), a cell or free
		 * variable, or a value on the stack. */
		for (j = 0; j < m; j++)
			edge_stackref(c, src, buf[j],
				      k + j < nlab ? lab[k + j] : 0);
	}
}

static void frame_referents(struct census *c, uint32_t src, uint64_t addr)
{
	static const enum py_field fo[] = {
		PY_F_FO_BACK, PY_F_FO_CODE, PY_F_FO_BUILTINS, PY_F_FO_GLOBALS,
		PY_F_FO_LOCALS, PY_F_FO_TRACE,
	};
	const struct py_layout *L = c->L;
	uint64_t co, n;

	if (L->minor >= 11) {
		uint64_t f = rd(c, addr, PY_F_FO_FRAME);
		uint64_t size = c->objs[src].size; /* before edges move it */

		/* 3.11+ f_back is borrowed (frameobject.h), and while the
		 * frame runs its interpreter frame lives on the thread's data
		 * stack, which owns what it holds (roots.c): only a frame
		 * that holds its own interpreter frame (_f_frame_data, after
		 * it returned) owns those references. */
		c->borrowing = true;
		edge_fields(c, src, addr, fo, 1);
		c->borrowing = false;
		edge_fields(c, src, addr, fo + 1, PH_ARRAY_SIZE(fo) - 1);
		c->borrowing = !(f >= addr && f < addr + size);
		edge_iframe(c, src, f, FRAME_HOLDER_FRAME);
		c->borrowing = false;
		return;
	}
	edge_fields(c, src, addr, fo, PH_ARRAY_SIZE(fo));
	/* frame_traverse (<= 3.10): locals, cells, free vars, and the value
	 * stack while the frame is suspended. */
	co = rd(c, addr, PY_F_FO_CODE);
	n = (rd(c, co, PY_F_CO_NLOCALS) & 0xffffffffu) +
	    tuple_len(c, rd(c, co, PY_F_CO_CELLVARS)) +
	    tuple_len(c, rd(c, co, PY_F_CO_FREEVARS));
	if (py_has(L, PY_F_FO_STACKTOP)) {
		uint64_t top = rd(c, addr, PY_F_FO_STACKTOP);
		uint64_t base = addr + (uint64_t)L->off[PY_F_FO_LOCALSPLUS];

		if (top > base && (top - base) / 8 < MAX_SLOTS)
			n = (top - base) / 8;
	} else if (py_has(L, PY_F_FO_STACKDEPTH)) {
		int64_t d = rd_signed(c, addr, PY_F_FO_STACKDEPTH);

		if (d > 0 && d < MAX_SLOTS)
			n += (uint64_t)d;
	}
	if (n < MAX_SLOTS) {
		uint32_t nlab;
		const uint32_t *lab = frame_slot_labels(c, co,
							FRAME_HOLDER_FRAME,
							&nlab);

		edge_items_l(c, src,
			     addr + (uint64_t)L->off[PY_F_FO_LOCALSPLUS], n,
			     -1, lab, nlab);
	}
}

static void gen_referents(struct census *c, uint32_t src, uint64_t addr)
{
	static const enum py_field g[] = {
		PY_F_GEN_FRAME, PY_F_GEN_CODE, PY_F_GEN_NAME, PY_F_GEN_QUALNAME,
	};
	const struct py_layout *L = c->L;

	edge_fields(c, src, addr, g, PH_ARRAY_SIZE(g));
	/* 3.11+: the frame lives in the generator until FRAME_CLEARED (4)
	 * (pycore_frame.h enum _framestate). */
	if (py_has(L, PY_F_GEN_IFRAME) &&
	    rd_signed(c, addr, PY_F_GEN_FRAME_STATE) < 4)
		edge_iframe(c, src, addr + (uint64_t)L->off[PY_F_GEN_IFRAME],
			    frame_holder_of(c, src));
}

/* collections.deque (Modules/_collectionsmodule.c deque_traverse): its
 * items from leftblock->data[leftindex] to rightblock->data[rightindex],
 * in blocks of 64 linked by rightlink (struct BLOCK {leftlink; data[64];
 * rightlink}). */
static void deque_referents(struct census *c, uint32_t src, uint64_t addr)
{
	uint64_t b = rd(c, addr, PY_F_DQ_LEFTBLOCK);
	uint64_t last = rd(c, addr, PY_F_DQ_RIGHTBLOCK);
	uint64_t left = rd(c, addr, PY_F_DQ_LEFTINDEX);
	uint64_t right = rd(c, addr, PY_F_DQ_RIGHTINDEX);
	int64_t len = rd_signed(c, addr, PY_F_OB_SIZE);
	uint64_t nb, from, to, at = 0;

	if (len <= 0 || (uint64_t)len >= MAX_ITEMS || left >= DEQUE_BLOCKLEN ||
	    right >= DEQUE_BLOCKLEN)
		return;
	for (nb = 0; b && nb <= (uint64_t)len / DEQUE_BLOCKLEN + 1; nb++) {
		from = nb == 0 ? left : 0;
		to = b == last ? right + 1 : DEQUE_BLOCKLEN;
		if (from < to)
			edge_items(c, src, b + 8 + from * 8, to - from,
				   (int64_t)at);
		at += to > from ? to - from : 0;
		if (b == last || target_read_u64(c->t, b + 8 + DEQUE_BLOCKLEN * 8,
						 &b))
			break;
	}
}

/* An instance's __dict__, split/inline values and __slots__ — what
 * subtype_traverse adds for Python classes (Objects/typeobject.c). */
static void instance_referents(struct census *c, uint32_t src,
			       const struct tinfo *ti)
{
	const struct py_layout *L = c->L;
	uint64_t addr = c->objs[src].addr, dict = 0, values = 0, v;
	struct edge_ctx e = { c, src };
	size_t i;

	for (i = 0; i < ti->nslots; i++)
		if (!target_read_u64(c->t, addr + (uint64_t)ti->slots[i], &v))
			census_edge_l(c, src, v, ti->slot_labels[i]);
	if (L->minor >= 12 && (ti->flags & TPF_MANAGED_DICT)) {
		/* 3.12: PyDictOrValues at obj-24, tagged (bit 0 = values,
		 * stored minus one); 3.13: PyManagedDictPointer at obj-24,
		 * inline values after the object when INLINE_VALUES.  A
		 * free-threaded build has no GC head before it: obj-8
		 * (pycore_object.h MANAGED_DICT_OFFSET, Py_GIL_DISABLED). */
		if (target_read_u64(c->t, addr - (L->free_threaded ? 8 : 24),
				    &v))
			return;
		if (L->minor == 12 && (v & 1))
			values = v + 1;
		else
			dict = v;
		if (!dict && L->minor >= 13 && (ti->flags & TPF_INLINE_VALUES))
			values = addr + (uint64_t)ti->basicsize;
	} else if (L->minor == 11 && (ti->flags & TPF_MANAGED_DICT)) {
		/* 3.11: values at obj-32, dict at obj-24. */
		if (!target_read_u64(c->t, addr - 24, &v))
			dict = v;
		if (!dict && !target_read_u64(c->t, addr - 32, &v))
			values = v;
	} else if (ti->dictoffset) {
		/* _PyObject_GetDictPtr: negative offsets count from the end
		 * of a var-sized object. */
		int64_t off = ti->dictoffset;

		if (off < 0) {
			int64_t n = rd_signed(c, addr, PY_F_OB_SIZE);
			uint64_t size = (uint64_t)ti->basicsize +
				(uint64_t)(n < 0 ? -n : n) *
				(uint64_t)ti->itemsize;

			off += (int64_t)((size + 7) & ~7ull);
		}
		if (!target_read_u64(c->t, addr + (uint64_t)off, &v))
			dict = v;
	}
	/* A class's __dict__ (a metaclass's tp_dictoffset) is its tp_dict,
	 * already an edge of K_TYPE. */
	if (dict && ti->kind != K_TYPE)
		census_edge_l(c, src, dict, field_label(c, PY_F_TP_DICT));
	else if (values && ti->cached_keys)
		dict_values_foreach(c, ti->cached_keys, values, edge_value, &e);
}

bool kind_referents(struct census *c, uint32_t idx)
{
	static const enum py_field func[] = {
		PY_F_FUNC_CODE, PY_F_FUNC_GLOBALS, PY_F_FUNC_BUILTINS,
		PY_F_FUNC_NAME, PY_F_FUNC_QUALNAME, PY_F_FUNC_DEFAULTS,
		PY_F_FUNC_KWDEFAULTS, PY_F_FUNC_CLOSURE, PY_F_FUNC_DOC,
		PY_F_FUNC_DICT, PY_F_FUNC_MODULE, PY_F_FUNC_ANNOTATIONS,
		PY_F_FUNC_TYPEPARAMS,
	};
	static const enum py_field code[] = {
		PY_F_CO_CODE, PY_F_CO_CONSTS, PY_F_CO_NAMES, PY_F_CO_VARNAMES,
		PY_F_CO_FREEVARS, PY_F_CO_CELLVARS, PY_F_CO_LOCALSPLUSNAMES,
		PY_F_CO_LOCALSPLUSKINDS, PY_F_CO_FILENAME, PY_F_CO_NAME,
		PY_F_CO_QUALNAME, PY_F_CO_LNOTAB, PY_F_CO_LINETABLE,
		PY_F_CO_EXCEPTIONTABLE,
	};
	static const enum py_field type[] = {
		PY_F_TP_DICT, PY_F_TP_MRO, PY_F_TP_BASES, PY_F_TP_BASE,
	};
	/* type_traverse (Objects/typeobject.c, 2.7-3.15) visits
	 * tp_dict, tp_cache, tp_mro, tp_bases, tp_base and (3.9+)
	 * ht_module, "no need to visit others because they can't be
	 * involved in cycles": the names, __slots__ and tp_subclasses own
	 * references gc does not subtract.  A garbage class's __slots__
	 * tuple is therefore not in gc's unreachable set (it dies with
	 * the class, by refcount): live_garbage on 3.13. */
	static const enum py_field heaptype[] = { PY_F_HT_MODULE };
	static const enum py_field heaptype_untraversed[] = {
		PY_F_HT_NAME, PY_F_HT_QUALNAME, PY_F_HT_SLOTS,
	};
	/* 2.7's instancemethod has im_class too (classobject.h). */
	static const enum py_field method[] = { PY_F_METH_FUNC, PY_F_METH_SELF,
						PY_F_METH_CLASS };
	/* 2.7's old-style instance and class (Include/classobject.h,
	 * Objects/classobject.c instance_traverse, class_traverse). */
	static const enum py_field instance[] = { PY_F_IN_CLASS, PY_F_IN_DICT };
	static const enum py_field unicode27[] = { PY_F_U27_DEFENC };
	static const enum py_field classobj[] = {
		PY_F_CL_BASES, PY_F_CL_DICT, PY_F_CL_NAME, PY_F_CL_GETATTR,
		PY_F_CL_SETATTR, PY_F_CL_DELATTR,
	};
	static const enum py_field module[] = { PY_F_MOD_DICT, PY_F_MOD_NAME };
	static const enum py_field cfunc[] = { PY_F_CF_SELF, PY_F_CF_MODULE };
	/* Names of the fields below that no layout table covers. */
	static const char *const descr[] = {
		"__objclass__", "__name__", "__qualname__",
	};
	static const char *const tb[] = { "tb_next", "tb_frame" };
	/* exc + 1 before 3.11, which added __notes__ after args. */
	static const char *const exc[] = {
		"args", "__notes__", "__traceback__", "__context__",
		"__cause__",
	};
	static const char *const smeth[] = { "__func__" };
	static const char *const prop[] = {
		"fget", "fset", "fdel", "__doc__", "__name__",
	};
	static const char *const mbuf[] = { "obj" };
	/* Copies: census_edge() may grow (move) both arrays. */
	const struct tinfo tcopy = c->tinfos[c->objs[idx].tinfo];
	const struct tinfo *ti = &tcopy;
	const struct py_layout *L = c->L;
	uint64_t addr = c->objs[idx].addr, v, w, i;
	struct edge_ctx e = { c, idx };
	bool precise = true;
	/* The object header the fixed offsets below follow: 16 bytes, 32 in
	 * a free-threaded build (Include/object.h struct _object). */
	const uint64_t hd = (uint64_t)L->size[PY_S_OBJECT];

	/* Instances of Python classes hold their class. */
	if (ti->heap)
		census_edge(c, idx, ti->addr);
	switch (ti->kind) {
	case K_LIST:
		v = (uint64_t)rd_signed(c, addr, PY_F_OB_SIZE);
		w = rd(c, addr, PY_F_LIST_ALLOCATED);
		if (v <= w)
			edge_items(c, idx, rd(c, addr, PY_F_LIST_ITEM), v, 0);
		break;
	case K_TUPLE:
		edge_items(c, idx, addr + (uint64_t)L->off[PY_F_TUPLE_ITEM],
			   tuple_len(c, addr), 0);
		break;
	case K_DICT:
	case K_ODICT:
		dict_foreach(c, addr, rd(c, addr, PY_F_MA_VALUES) ?
			     edge_kv_split : edge_kv_owned, &e);
		break;
	case K_SET: {
		uint64_t table = rd(c, addr, PY_F_SET_TABLE);
		uint64_t mask = rd(c, addr, PY_F_SET_MASK);
		int64_t es = L->size[PY_S_SETENTRY];
		uint64_t buf[2 * 512], k, m;

		if (!table || mask >= MAX_ITEMS || es != 16)
			break;
		if (mask >= census_refs_left(c)) {
			c->refs_over += mask + 1;
			break;
		}
		for (i = 0; i <= mask; i += m) {
			m = PH_MIN(mask + 1 - i, 512ull);
			if (target_read(c->t, table + i * 16, buf, (size_t)m * 16))
				break;
			for (k = 0; k < m; k++) {
				uint64_t key = buf[2 * k + L->off[PY_F_SE_KEY] / 8];

				if (key && key != c->known.set_dummy)
					census_edge(c, idx, key);
			}
		}
		break;
	}
	case K_FUNCTION:
		edge_fields(c, idx, addr, func, PH_ARRAY_SIZE(func));
		break;
	case K_CELL:
		census_edge_l(c, idx, rd(c, addr, PY_F_CELL_REF),
			      field_label(c, PY_F_CELL_REF));
		break;
	case K_METHOD:
		edge_fields(c, idx, addr, method, PH_ARRAY_SIZE(method));
		break;
	case K_INSTANCE:
		edge_fields(c, idx, addr, instance, PH_ARRAY_SIZE(instance));
		break;
	case K_CLASSOBJ:
		edge_fields(c, idx, addr, classobj, PH_ARRAY_SIZE(classobj));
		break;
	case K_UNICODE27: /* its default-encoded str, or NULL */
		edge_fields(c, idx, addr, unicode27, 1);
		break;
	case K_CODE:
		edge_fields(c, idx, addr, code, PH_ARRAY_SIZE(code));
		break;
	case K_FRAME:
		frame_referents(c, idx, addr);
		break;
	case K_GEN:
		gen_referents(c, idx, addr);
		break;
	case K_MODULE:
		edge_fields(c, idx, addr, module, PH_ARRAY_SIZE(module));
		break;
	case K_TYPE:
		edge_fields(c, idx, addr, type, PH_ARRAY_SIZE(type));
		if (rd(c, addr, PY_F_TP_FLAGS) & TPF_HEAPTYPE) {
			c->untraversed = true;
			edge_fields(c, idx, addr, heaptype_untraversed,
				    PH_ARRAY_SIZE(heaptype_untraversed));
			c->untraversed = false;
			edge_fields(c, idx, addr, heaptype,
				    PH_ARRAY_SIZE(heaptype));
		}
		/* tp_subclasses is a dict of weakrefs (an index for 3.12+
		 * static builtin types, which are not heap types). */
		c->untraversed = true;
		if (L->minor < 12 || (rd(c, addr, PY_F_TP_FLAGS) & TPF_HEAPTYPE))
			census_edge_l(c, idx, rd(c, addr, PY_F_TP_SUBCLASSES),
				      field_label(c, PY_F_TP_SUBCLASSES));
		c->untraversed = false;
		/* The type's own tinfo (not its type's) for its shared keys. */
		if ((rd(c, addr, PY_F_TP_FLAGS) & TPF_HEAPTYPE) &&
		    py_has(L, PY_F_HT_CACHED_KEYS)) {
			uint64_t keys = rd(c, addr, PY_F_HT_CACHED_KEYS);

			if (keys)
				dict_keys_foreach(c, keys, edge_key, &e);
		}
		break;
	case K_WEAKREF:
		/* wr_object is a weak reference: not a referent. */
		census_edge_l(c, idx, rd(c, addr, PY_F_WR_CALLBACK),
			      field_label(c, PY_F_WR_CALLBACK));
		break;
	case K_CFUNCTION:
		edge_fields(c, idx, addr, cfunc, PH_ARRAY_SIZE(cfunc));
		break;
	case K_DEQUE:
		deque_referents(c, idx, addr);
		break;
	case K_ARRAY:
	case K_STRUCT:
	case K_NDARRAY:
		precise = ext_referents(c, idx, ti);
		break;
	case K_DESCR:
		/* PyDescr_COMMON (Include/cpython/descrobject.h, 3.7-3.15):
		 * d_type, d_name, d_qualname after the header. */
		edge_named(c, idx, addr + hd, descr, 3);
		break;
	case K_TRACEBACK:
		/* PyTracebackObject (Include/cpython/traceback.h): tb_next,
		 * tb_frame. */
		edge_named(c, idx, addr + hd, tb, 2);
		break;
	case K_EXC:
		/* PyBaseExceptionObject (Include/cpython/pyerrors.h): dict,
		 * args, (3.11+) notes, traceback, context, cause.  A heap
		 * subclass's dict is its tp_dictoffset's (instance_referents);
		 * a static subclass's own fields are scanned (scan_from). */
		if (!ti->heap && !target_read_u64(c->t, addr + hd, &v))
			census_edge_l(c, idx, v, field_label(c, PY_F_TP_DICT));
		edge_named(c, idx, addr + hd + 8, L->minor >= 11 ? exc : exc + 1,
			   L->minor >= 11 ? 5 : 4);
		break;
	case K_SMETHOD:
		/* sm_callable / cm_callable (Objects/funcobject.c); the dict
		 * after it is the tp_dictoffset slot (below). */
		edge_named(c, idx, addr + hd, smeth, 1);
		break;
	case K_PROPERTY:
		/* fget, fset, fdel, doc, and (3.10+) prop_name; getter_doc is
		 * an int. */
		edge_named(c, idx, addr + hd, prop, L->minor >= 10 ? 5 : 4);
		break;
	case K_MEMORYVIEW:
		/* memory_traverse (Objects/memoryobject.c) visits mbuf, after
		 * the PyVarObject header, and nothing else.  The rest is not
		 * scanned: view.obj is borrowed from mbuf->master (and stale
		 * once released), view.buf points at raw bytes, and the
		 * suboffsets slot of ob_array is left unwritten when a view
		 * has none -- whatever the block held before.  A word scan
		 * took such a stale word for a reference and kept a list
		 * cycle "alive" (live_garbage on 3.7). */
		if (!target_read_u64(c->t, addr + hd + 8, &v))
			census_edge(c, idx, v);
		break;
	case K_MBUF:
		/* mbuf_traverse: master.obj (Py_buffer's second word, after
		 * the header, int flags and Py_ssize_t exports), an owned
		 * reference until mbuf_release clears it. */
		edge_named(c, idx, addr + hd + 24, mbuf, 1);
		break;
	case K_STR: case K_BYTES: case K_INT: case K_FLOAT: case K_BYTEARRAY:
	case K_NONE: case K_OBJECT:
		break;
	default:
		precise = false;
		break;
	}
	if (ti->heap)
		instance_referents(c, idx, ti);
	else if ((ti->kind == K_OTHER || ti->kind == K_SMETHOD) &&
		 ti->dictoffset > 0) {
		/* A C type's __dict__ slot (tp_dictoffset) is an owned
		 * reference wherever the rest of its struct is unknown (the
		 * conservative scan finds the same pointer but owns nothing):
		 * mod_python's request object, or any C type with a dict. */
		uint64_t d;

		if (!target_read_u64(c->t, addr + (uint64_t)ti->dictoffset,
				     &d))
			census_edge_l(c, idx, d, field_label(c, PY_F_TP_DICT));
	}
	/* A static subclass's added fields (tinfo.scan_from) are left to
	 * the conservative scan. */
	return precise && !ti->scan_from;
}
