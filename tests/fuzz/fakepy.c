/*
 * The fake CPython 3.11 process of fakepy.h.  Everything is written through
 * the layout (field ids), never at hard-coded offsets, except the few
 * constants CPython's headers fix for every 3.x (type flags, str state
 * bits) and glibc's malloc_state offsets (heap/glibc_find.c).
 */
#include <stdlib.h>
#include <string.h>

#include "fakepy.h"

#define LIB_BASE 0x7f5500000000ull
#define LIB_LEN (160u << 10)
#define HEAP_BASE 0x555555a00000ull
#define HEAP_LEN (64u << 10)
#define ARENA_BASE 0x7f6600000000ull /* 1 MiB aligned */
#define POOL_SIZE 16384u
#define ARENA_LEN (FP_NPOOLS * POOL_SIZE)
#define LIBC_BASE 0x7f7700000000ull
#define LIBC_LEN 8192u

#define RUNTIME_LEN (96u << 10) /* covers every _PyRuntime field read */
#define POOL_OVERHEAD 48

/* Include/object.h */
#define TPF_MANAGED_DICT (1ull << 4)
#define TPF_HEAPTYPE (1ull << 9)
#define TPF_BASETYPE (1ull << 10)
#define TPF_READY (1ull << 12)
#define TPF_HAVE_GC (1ull << 14)
#define TPF_LONG_SUBCLASS (1ull << 24)
#define TPF_LIST_SUBCLASS (1ull << 25)
#define TPF_TUPLE_SUBCLASS (1ull << 26)
#define TPF_BYTES_SUBCLASS (1ull << 27)
#define TPF_UNICODE_SUBCLASS (1ull << 28)
#define TPF_DICT_SUBCLASS (1ull << 29)
#define TPF_TYPE_SUBCLASS (1ull << 31)

/* glibc malloc_state (heap/glibc_find.c): top, next, system_mem to 2.42
 * and on 2.43 (FP_GLIBC243, fastbins gone) */
#define MS_TOP(f) ((f)->flags & FP_GLIBC243 ? 8 : 96)
#define MS_NEXT(f) ((f)->flags & FP_GLIBC243 ? 2072 : 2160)
#define MS_SYSTEM_MEM(f) ((f)->flags & FP_GLIBC243 ? 2096 : 2184)
#define MAIN_ARENA (LIBC_BASE + 0x100)

/* Static types: symbol, tp_name, basic size (struct or bytes), item size,
 * flags.  Indices are used below through the T_* names. */
enum {
	T_TYPE, T_OBJECT, T_INT, T_BOOL, T_STR, T_BYTES, T_BYTEARRAY, T_DICT,
	T_LIST, T_TUPLE, T_SET, T_FROZENSET, T_FLOAT, T_CODE, T_FUNCTION,
	T_FRAME, T_MODULE, T_CELL, T_METHOD, T_GEN, T_WEAKREF, T_CFUNCTION,
	T_NONE, T__COUNT
};

static const struct {
	const char *sym, *name;
	int st;            /* struct for tp_basicsize, or -1 */
	int64_t basic;     /* when st < 0 */
	int64_t item;
	uint64_t flags;
} types[T__COUNT] = {
	[T_TYPE] = { "PyType_Type", "type", PY_S_HEAPTYPE, 0, 40,
		     TPF_HAVE_GC | TPF_BASETYPE | TPF_TYPE_SUBCLASS },
	[T_OBJECT] = { "PyBaseObject_Type", "object", -1, 16, 0,
		       TPF_BASETYPE },
	[T_INT] = { "PyLong_Type", "int", -1, 24, 4,
		    TPF_BASETYPE | TPF_LONG_SUBCLASS },
	[T_BOOL] = { "PyBool_Type", "bool", -1, 24, 4, TPF_LONG_SUBCLASS },
	[T_STR] = { "PyUnicode_Type", "str", PY_S_UNICODE, 0, 0,
		    TPF_BASETYPE | TPF_UNICODE_SUBCLASS },
	[T_BYTES] = { "PyBytes_Type", "bytes", -1, 33, 1,
		      TPF_BASETYPE | TPF_BYTES_SUBCLASS },
	[T_BYTEARRAY] = { "PyByteArray_Type", "bytearray", PY_S_BYTEARRAY, 0,
			  0, TPF_BASETYPE },
	[T_DICT] = { "PyDict_Type", "dict", PY_S_DICT, 0, 0,
		     TPF_HAVE_GC | TPF_BASETYPE | TPF_DICT_SUBCLASS },
	[T_LIST] = { "PyList_Type", "list", PY_S_LIST, 0, 0,
		     TPF_HAVE_GC | TPF_BASETYPE | TPF_LIST_SUBCLASS },
	[T_TUPLE] = { "PyTuple_Type", "tuple", -1, 24, 8,
		      TPF_HAVE_GC | TPF_BASETYPE | TPF_TUPLE_SUBCLASS },
	[T_SET] = { "PySet_Type", "set", PY_S_SET, 0, 0,
		    TPF_HAVE_GC | TPF_BASETYPE },
	[T_FROZENSET] = { "PyFrozenSet_Type", "frozenset", PY_S_SET, 0, 0,
			  TPF_HAVE_GC | TPF_BASETYPE },
	[T_FLOAT] = { "PyFloat_Type", "float", PY_S_FLOAT, 0, 0,
		      TPF_BASETYPE },
	[T_CODE] = { "PyCode_Type", "code", PY_S_CODE, 0, 2, 0 },
	[T_FUNCTION] = { "PyFunction_Type", "function", PY_S_FUNC, 0, 0,
			 TPF_HAVE_GC },
	[T_FRAME] = { "PyFrame_Type", "frame", PY_S_FRAMEOBJ, 0, 8,
		      TPF_HAVE_GC },
	[T_MODULE] = { "PyModule_Type", "module", PY_S_MODULE, 0, 0,
		       TPF_HAVE_GC | TPF_BASETYPE },
	[T_CELL] = { "PyCell_Type", "cell", PY_S_CELL, 0, 0, TPF_HAVE_GC },
	[T_METHOD] = { "PyMethod_Type", "method", PY_S_METHOD, 0, 0,
		       TPF_HAVE_GC },
	[T_GEN] = { "PyGen_Type", "generator", PY_S_GEN, 0, 8, TPF_HAVE_GC },
	[T_WEAKREF] = { "_PyWeakref_RefType", "weakref.ReferenceType",
			PY_S_WEAKREF, 0, 0, TPF_HAVE_GC | TPF_BASETYPE },
	[T_CFUNCTION] = { "PyCFunction_Type", "builtin_function_or_method",
			  PY_S_CFUNC, 0, 0, TPF_HAVE_GC },
	[T_NONE] = { "_PyNone_Type", "NoneType", -1, 16, 0, 0 },
};

/* Where things are, filled while building. */
struct addrs {
	uint64_t runtime, type[T__COUNT], none, version;
	uint64_t arenas_sym, maxarenas_sym, raw_sym;
	uint64_t interp, tstate, cframe, arena_obj;
	uint64_t lib_brk;
};

/* ---- writing into regions ----------------------------------------------- */

static struct fakepy_region_buf *region_of(struct fakepy *f, uint64_t addr,
					   size_t n)
{
	int i;

	for (i = 0; i < FP_NREGIONS; i++) {
		struct fakepy_region_buf *r = &f->r[i];

		if (r->buf && addr >= r->base && addr - r->base <= r->len &&
		    n <= r->len - (addr - r->base))
			return r;
	}
	abort(); /* a bug in the builder */
}

static void put(struct fakepy *f, uint64_t addr, const void *p, size_t n)
{
	struct fakepy_region_buf *r = region_of(f, addr, n);

	memcpy(r->buf + (addr - r->base), p, n);
}

static void put64(struct fakepy *f, uint64_t addr, uint64_t v)
{
	put(f, addr, &v, 8);
}

/* Member fl of the struct at base, at its layout width. */
static void fld(struct fakepy *f, uint64_t base, enum py_field fl, uint64_t v)
{
	const struct py_layout *L = &f->L;
	unsigned w = L->width[fl];

	if (!py_has(L, fl))
		return; /* not in this version */
	if (w == 0 || w > 8)
		w = 8;
	put(f, base + (uint64_t)L->off[fl], &v, w);
}

/* ---- allocation ---------------------------------------------------------- */

/* A malloc chunk in [heap] of at least n user bytes; returns the user
 * address (chunk + 16).  Chunks are laid end to end from the start of
 * [heap], each with PREV_INUSE set, as glibc leaves them. */
static uint64_t raw_heap_alloc(struct fakepy *f, size_t n)
{
	uint64_t chunk = f->heap_brk, size = (n + 8 + 15) & ~15ull;

	if (size < 32)
		size = 32;
	put64(f, chunk + 8, size | 1);
	f->heap_brk += size;
	return chunk + 16;
}

/* FP_DEBUG_HOOKS: what CPython's allocator debug hooks make of an
 * allocation of n bytes at p (Objects/obmalloc.c _PyMem_DebugRawAlloc):
 * the size (big-endian), the API id, 7 FORBIDDENBYTEs, the caller's n
 * bytes, 8 more FORBIDDENBYTEs.  Returns the caller's pointer. */
#define DEBUG_OVERHEAD 24

static uint64_t debug_wrap(struct fakepy *f, uint64_t p, size_t n, char id)
{
	unsigned char hdr[16], tail[8];
	int i;

	for (i = 0; i < 8; i++)
		hdr[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	hdr[8] = (unsigned char)id;
	memset(hdr + 9, 0xfd, 7);
	memset(tail, 0xfd, sizeof(tail));
	put(f, p, hdr, sizeof(hdr));
	put(f, p + 16 + n, tail, sizeof(tail));
	return p + 16;
}

static uint64_t heap_alloc(struct fakepy *f, size_t n)
{
	if (!(f->flags & FP_DEBUG_HOOKS))
		return raw_heap_alloc(f, n);
	return debug_wrap(f, raw_heap_alloc(f, n + DEBUG_OVERHEAD), n, 'r');
}

static uint64_t lib_alloc(struct addrs *a, size_t n)
{
	uint64_t p = a->lib_brk;

	a->lib_brk += (n + 15) & ~15ull;
	return p;
}

/* A pymalloc block of n bytes (n <= 512): from the pool of its size class,
 * one pool per class, at most FP_NPOOLS classes. */
static uint64_t raw_block_alloc(struct fakepy *f, size_t n)
{
	const struct py_layout *L = &f->L;
	uint32_t bs = (uint32_t)((n + 15) & ~15ull);
	int i;

	for (i = 0; i < FP_NPOOLS; i++) {
		uint64_t pool = ARENA_BASE + (uint64_t)i * POOL_SIZE, b;

		if (f->pool_bs[i] && f->pool_bs[i] != bs)
			continue;
		if (!f->pool_bs[i]) {
			f->pool_bs[i] = bs;
			f->pool_next[i] = pool + POOL_OVERHEAD;
			fld(f, pool, PY_F_PH_SZIDX, bs / 16 - 1);
			fld(f, pool, PY_F_PH_MAXNEXTOFFSET, POOL_SIZE - bs);
			fld(f, pool, PY_F_PH_ARENAINDEX, 0);
		}
		b = f->pool_next[i];
		if (b + bs > pool + POOL_SIZE)
			abort();
		f->pool_next[i] += bs;
		fld(f, pool, PY_F_PH_NEXTOFFSET, f->pool_next[i] - pool);
		put64(f, pool + (uint64_t)L->off[PY_F_PH_REF],
		      (uint32_t)((f->pool_next[i] - pool - POOL_OVERHEAD) / bs));
		return b;
	}
	abort();
}

static uint64_t block_alloc(struct fakepy *f, size_t n)
{
	if (!(f->flags & FP_DEBUG_HOOKS))
		return raw_block_alloc(f, n);
	return debug_wrap(f, raw_block_alloc(f, n + DEBUG_OVERHEAD), n, 'o');
}

/* Give block b back: push it on its pool's free list. */
static void block_free(struct fakepy *f, uint64_t b)
{
	const struct py_layout *L = &f->L;
	uint64_t pool = b & ~(uint64_t)(POOL_SIZE - 1), count, head;
	struct fakepy_region_buf *r = region_of(f, pool, POOL_SIZE);

	if (f->flags & FP_DEBUG_HOOKS)
		b -= 16; /* the block starts with the debug header */
	memcpy(&count, r->buf + (pool - r->base) + L->off[PY_F_PH_REF], 8);
	memcpy(&head, r->buf + (pool - r->base) + L->off[PY_F_PH_FREEBLOCK], 8);
	put64(f, b, head);
	fld(f, pool, PY_F_PH_FREEBLOCK, b);
	put64(f, pool + (uint64_t)L->off[PY_F_PH_REF], count - 1);
}

/* Link a GC object's head at the end of generation 0. */
static void gc_link(struct fakepy *f, uint64_t gchead)
{
	const struct py_layout *L = &f->L;
	struct fakepy_region_buf *r = region_of(f, f->gc_gen0, 16);
	uint64_t last;

	memcpy(&last, r->buf + (f->gc_gen0 - r->base) + L->off[PY_F_GC_PREV],
	       8);
	last &= ~3ull;
	fld(f, last, PY_F_GC_NEXT, gchead);
	fld(f, gchead, PY_F_GC_PREV, last);
	fld(f, gchead, PY_F_GC_NEXT, f->gc_gen0);
	fld(f, f->gc_gen0, PY_F_GC_PREV, gchead);
}

/* An object header at addr. */
static void obj(struct fakepy *f, struct addrs *a, uint64_t addr, int type,
		int64_t refcnt)
{
	fld(f, addr, PY_F_OB_REFCNT, (uint64_t)refcnt);
	fld(f, addr, PY_F_OB_TYPE, a->type[type]);
	f->expect_objects++;
}

/* A GC object of `size` bytes (without its head) in a pymalloc block, or
 * in a malloc chunk if it is too big; linked into generation 0. */
static uint64_t gc_new(struct fakepy *f, struct addrs *a, int type,
		       size_t size)
{
	size_t gh = (size_t)f->L.size[PY_S_GCHEAD];
	uint64_t b = gh + size <= 512 ? block_alloc(f, gh + size) :
		     heap_alloc(f, gh + size);

	gc_link(f, b);
	f->expect_gc++;
	obj(f, a, b + gh, type, 1);
	return b + gh;
}

/* ---- objects -------------------------------------------------------------- */

static uint64_t new_int(struct fakepy *f, struct addrs *a, uint32_t v)
{
	uint64_t o = block_alloc(f, 28);

	obj(f, a, o, T_INT, 1);
	/* 3.12+: lv_tag is digits << 3 | sign (1 for zero) in place of
	 * ob_size (Include/cpython/longintrepr.h). */
	if (py_has(&f->L, PY_F_LONG_LV_TAG))
		fld(f, o, PY_F_LONG_LV_TAG, v ? 1u << 3 : 1);
	else
		fld(f, o, PY_F_OB_SIZE, v ? 1 : 0);
	fld(f, o, PY_F_LONG_DIGIT, v);
	return o;
}

/* A compact ASCII str. */
static uint64_t new_str(struct fakepy *f, struct addrs *a, const char *s)
{
	size_t n = strlen(s);
	uint64_t hdr = (uint64_t)f->L.size[PY_S_ASCII];
	uint64_t o = block_alloc(f, hdr + n + 1);

	obj(f, a, o, T_STR, 1);
	fld(f, o, PY_F_STR_LENGTH, n);
	fld(f, o, PY_F_STR_HASH, (uint64_t)-1);
	/* kind 1, compact, ascii, ready */
	/* kind 1, compact, ascii; 3.11's ready bit (3.12 has
	 * statically_allocated there, 0 for a heap str) */
	fld(f, o, PY_F_STR_STATE, (1u << 2) | (1u << 5) | (1u << 6) |
	    (f->L.minor <= 11 ? 1u << 7 : 0));
	put(f, o + hdr, s, n + 1);
	return o;
}

static uint64_t new_bytes(struct fakepy *f, struct addrs *a,
			  const void *data, size_t n)
{
	uint64_t off = (uint64_t)f->L.off[PY_F_BYTES_SVAL];
	uint64_t o = off + n + 1 <= 512 ? block_alloc(f, off + n + 1) :
		     heap_alloc(f, off + n + 1);

	obj(f, a, o, T_BYTES, 1);
	fld(f, o, PY_F_OB_SIZE, n);
	fld(f, o, PY_F_BYTES_SHASH, (uint64_t)-1);
	if (data)
		put(f, o + off, data, n);
	return o;
}

static uint64_t new_tuple(struct fakepy *f, struct addrs *a,
			  const uint64_t *items, size_t n)
{
	uint64_t off = (uint64_t)f->L.off[PY_F_TUPLE_ITEM];
	uint64_t o = gc_new(f, a, T_TUPLE, off + 8 * n);
	size_t i;

	fld(f, o, PY_F_OB_SIZE, n);
	for (i = 0; i < n; i++)
		put64(f, o + off + 8 * i, items[i]);
	return o;
}

static uint64_t new_list(struct fakepy *f, struct addrs *a,
			 const uint64_t *items, size_t n)
{
	uint64_t o = gc_new(f, a, T_LIST, (size_t)f->L.size[PY_S_LIST]);
	uint64_t arr = block_alloc(f, 8 * n);
	size_t i;

	fld(f, o, PY_F_OB_SIZE, n);
	fld(f, o, PY_F_LIST_ITEM, arr);
	fld(f, o, PY_F_LIST_ALLOCATED, n);
	for (i = 0; i < n; i++)
		put64(f, arr + 8 * i, items[i]);
	return o;
}

/* A 3.11 keys object of kind (1 unicode, 2 split) with 8 index slots and
 * n <= 5 entries {keys[i]: vals[i]} (vals may be NULL for split keys). */
static uint64_t new_keys(struct fakepy *f, int kind, const uint64_t *keys,
			 const uint64_t *vals, size_t n, bool in_heap)
{
	const struct py_layout *L = &f->L;
	uint64_t hdr = (uint64_t)L->off[PY_F_DK_INDICES];
	uint64_t es = (uint64_t)L->size[PY_S_DICTUNIENTRY];
	size_t total = (size_t)(hdr + 8 + 5 * es), i;
	uint64_t k = in_heap ? heap_alloc(f, total) : block_alloc(f, total);
	unsigned char idx[8];

	fld(f, k, PY_F_DK_REFCNT, 1);
	fld(f, k, PY_F_DK_LOG2_SIZE, 3);
	fld(f, k, PY_F_DK_LOG2_INDEX_BYTES, 3);
	fld(f, k, PY_F_DK_KIND, (uint64_t)kind);
	fld(f, k, PY_F_DK_USABLE, 5 - n);
	fld(f, k, PY_F_DK_NENTRIES, n);
	memset(idx, 0xff, sizeof(idx));
	for (i = 0; i < n; i++)
		idx[i] = (unsigned char)i;
	put(f, k + hdr, idx, 8);
	for (i = 0; i < n; i++) {
		uint64_t e = k + hdr + 8 + i * es;

		fld(f, e, PY_F_DUE_KEY, keys[i]);
		fld(f, e, PY_F_DUE_VALUE, vals ? vals[i] : 0);
	}
	return k;
}

static uint64_t new_dict(struct fakepy *f, struct addrs *a,
			 const uint64_t *keys, const uint64_t *vals, size_t n)
{
	uint64_t o = gc_new(f, a, T_DICT, (size_t)f->L.size[PY_S_DICT]);

	fld(f, o, PY_F_MA_USED, n);
	fld(f, o, PY_F_MA_KEYS, new_keys(f, 1, keys, vals, n, false));
	fld(f, o, PY_F_MA_VALUES, 0);
	return o;
}

/* A static type in LIB. */
static void new_static_type(struct fakepy *f, struct addrs *a, int i)
{
	const struct py_layout *L = &f->L;
	uint64_t t = a->type[i], name = lib_alloc(a, strlen(types[i].name) + 1);
	int64_t basic = types[i].st >= 0 ? L->size[types[i].st] :
			types[i].basic;

	put(f, name, types[i].name, strlen(types[i].name) + 1);
	fld(f, t, PY_F_OB_REFCNT, f->L.minor >= 12 ? 0xffffffffu : 1000);
	fld(f, t, PY_F_OB_TYPE, a->type[T_TYPE]);
	fld(f, t, PY_F_TP_NAME, name);
	fld(f, t, PY_F_TP_BASICSIZE, (uint64_t)basic);
	fld(f, t, PY_F_TP_ITEMSIZE, (uint64_t)types[i].item);
	fld(f, t, PY_F_TP_FLAGS, types[i].flags | TPF_READY);
	fld(f, t, PY_F_TP_BASE, i == T_OBJECT ? 0 :
	    i == T_BOOL ? a->type[T_INT] : a->type[T_OBJECT]);
}

/* ---- the skeleton ---------------------------------------------------------- */

static void region(struct fakepy *f, int i, uint64_t base, size_t len,
		   unsigned perms, const char *path)
{
	f->r[i].base = base;
	f->r[i].len = len;
	f->r[i].buf = calloc(1, len);
	if (!f->r[i].buf)
		abort();
	f->r[i].perms = perms;
	f->r[i].path = path;
}

static void build_lib(struct fakepy *f, struct addrs *a)
{
	int i;

	a->runtime = LIB_BASE;
	a->lib_brk = LIB_BASE + RUNTIME_LEN;
	for (i = 0; i < T__COUNT; i++)
		a->type[i] = lib_alloc(a, (size_t)f->L.size[PY_S_TYPE]);
	a->none = lib_alloc(a, 16);
	a->version = lib_alloc(a, 8);
	a->arenas_sym = lib_alloc(a, 8);
	a->maxarenas_sym = lib_alloc(a, 8);
	a->raw_sym = lib_alloc(a, 8);
	for (i = 0; i < T__COUNT; i++)
		new_static_type(f, a, i);
	/* 3.12+ statics are immortal (Include/object.h _Py_IMMORTAL_REFCNT) */
	fld(f, a->none, PY_F_OB_REFCNT, f->L.minor >= 12 ? 0xffffffffu : 5000);
	fld(f, a->none, PY_F_OB_TYPE, a->type[T_NONE]);
	put64(f, a->version, f->L.minor == 11 ? 0x030b07f0 : /* 3.11.7 */
	      0x030c01f0); /* 3.12.1 */

	objfile_fake_sym(&f->lib, "_PyRuntime", a->runtime, RUNTIME_LEN,
			 false);
	objfile_fake_sym(&f->lib, "Py_Version", a->version, 4, false);
	objfile_fake_sym(&f->lib, "_Py_NoneStruct", a->none, 16, false);
	for (i = 0; i < T__COUNT; i++)
		objfile_fake_sym(&f->lib, types[i].sym, a->type[i],
				 (uint64_t)f->L.size[PY_S_TYPE], false);
	/* 3.11: pymalloc's statics; 3.12: its state is in the interpreter. */
	if (!(f->flags & FP_NO_ARENA_SYMS) && f->L.minor == 11) {
		objfile_fake_sym(&f->lib, "arenas", a->arenas_sym, 8, true);
		objfile_fake_sym(&f->lib, "maxarenas", a->maxarenas_sym, 4,
				 true);
		objfile_fake_sym(&f->lib, "raw_allocated_blocks",
				 a->raw_sym, 8, true);
	}
	objfile_fake_section(&f->lib, ".PyRuntime", a->runtime,
			     RUNTIME_LEN, NULL);
	objfile_fake_section(&f->lib, ".bss", LIB_BASE + RUNTIME_LEN,
			     LIB_LEN - RUNTIME_LEN, NULL);

}

/* Interpreter, GC state, thread, frames, arena array. */
static void build_states(struct fakepy *f, struct addrs *a)
{
	const struct py_layout *L = &f->L;
	uint64_t gcs, gens, g, ao, perm;
	int i;

	a->interp = heap_alloc(f, 8192); /* every field read but 3.12's types */
	a->tstate = heap_alloc(f, (size_t)L->size[PY_S_TSTATE]);
	a->cframe = heap_alloc(f, (size_t)L->size[PY_S_CFRAME]);
	fld(f, a->runtime, PY_F_RT_INTERP_HEAD, a->interp);
	fld(f, a->runtime, PY_F_RT_INTERP_MAIN, a->interp);
	fld(f, a->runtime, PY_F_RT_TSTATE_CURRENT, a->tstate); /* <= 3.11 */
	if (py_has(L, PY_F_IS_CEVAL_GIL)) { /* 3.12+ */
		uint64_t gil = heap_alloc(f, (size_t)L->size[PY_S_GIL]);

		fld(f, a->interp, PY_F_IS_CEVAL_GIL, gil);
		fld(f, gil, PY_F_GIL_LOCKED, 1);
		fld(f, gil, PY_F_GIL_LAST_HOLDER, a->tstate);
	}
	fld(f, a->interp, PY_F_IS_THREADS_HEAD, a->tstate);
	fld(f, a->interp, PY_F_IS_ID, 0);
	fld(f, a->tstate, PY_F_TS_INTERP, a->interp);
	fld(f, a->tstate, PY_F_TS_THREAD_ID, 0x7f0012345640ull);
	fld(f, a->tstate, PY_F_TS_NATIVE_THREAD_ID, 4242);
	fld(f, a->tstate, PY_F_TS_CFRAME, a->cframe);

	gcs = a->interp + (uint64_t)L->off[PY_F_IS_GC];
	gens = gcs + (uint64_t)L->off[PY_F_GCS_GENERATIONS];
	fld(f, gcs, PY_F_GCS_ENABLED, 1);
	for (i = 0; i < 3; i++) {
		g = gens + (uint64_t)i * (uint64_t)L->size[PY_S_GCGEN];
		fld(f, g, PY_F_GC_NEXT, g);
		fld(f, g, PY_F_GC_PREV, g);
		fld(f, g, PY_F_GEN_THRESHOLD, i ? 10 : 700);
		fld(f, g, PY_F_GEN_COUNT, (uint64_t)i);
	}
	perm = gcs + (uint64_t)L->off[PY_F_GCS_PERMANENT];
	fld(f, perm, PY_F_GC_NEXT, perm);
	fld(f, perm, PY_F_GC_PREV, perm);
	f->gc_gen0 = gens;

	/* arenas[2]: the arena, then an unused slot. */
	ao = heap_alloc(f, 2 * (size_t)L->size[PY_S_ARENA]);
	fld(f, ao, PY_F_AO_ADDRESS, ARENA_BASE);
	fld(f, ao, PY_F_AO_POOL_ADDRESS, ARENA_BASE + ARENA_LEN);
	a->arena_obj = ao;
	fld(f, ao, PY_F_AO_NTOTALPOOLS, 1u << 20 >> 14);
	put64(f, a->arenas_sym, ao);
	put64(f, a->maxarenas_sym, 2);
	if (py_has(L, PY_F_IS_OBMALLOC) && !(f->flags & FP_NO_ARENA_SYMS)) {
		uint64_t obs = a->interp + (uint64_t)L->off[PY_F_IS_OBMALLOC];

		fld(f, obs, PY_F_OBS_ARENAS, ao);
		fld(f, obs, PY_F_OBS_MAXARENAS, 2);
		a->raw_sym = obs + (uint64_t)L->off[PY_F_OBS_RAW_ALLOCATED];
	}
}

/* A code object for `def f(n):` in "/fuzz/app.py", line 10. */
static uint64_t build_code(struct fakepy *f, struct addrs *a)
{
	const struct py_layout *L = &f->L;
	/* one-line form (code 10), 8 code units, then two column bytes */
	static const unsigned char linetable[] = { 0xd7, 0x00, 0x05, 0xd8,
						   0x01, 0x06 };
	uint64_t co = block_alloc(f, (size_t)L->size[PY_S_CODE] + 2 * 16);
	uint64_t name = new_str(f, a, "work"), file = new_str(f, a,
							      "/fuzz/app.py");
	uint64_t varnames[2] = { new_str(f, a, "n"), new_str(f, a, "s") };

	obj(f, a, co, T_CODE, 3);
	fld(f, co, PY_F_OB_SIZE, 16);
	fld(f, co, PY_F_CO_FIRSTLINENO, 10);
	fld(f, co, PY_F_CO_NLOCALSPLUS, 2);
	fld(f, co, PY_F_CO_NLOCALS, 2);
	fld(f, co, PY_F_CO_STACKSIZE, 2);
	fld(f, co, PY_F_CO_ARGCOUNT, 1);
	fld(f, co, PY_F_CO_NAME, name);
	fld(f, co, PY_F_CO_QUALNAME, name);
	fld(f, co, PY_F_CO_FILENAME, file);
	fld(f, co, PY_F_CO_LINETABLE, new_bytes(f, a, linetable,
						sizeof(linetable)));
	fld(f, co, PY_F_CO_EXCEPTIONTABLE, new_bytes(f, a, NULL, 0));
	fld(f, co, PY_F_CO_LOCALSPLUSNAMES, new_tuple(f, a, varnames, 2));
	fld(f, co, PY_F_CO_LOCALSPLUSKINDS, new_bytes(f, a, "\x20\x20", 2));
	fld(f, co, PY_F_CO_CONSTS, new_tuple(f, a, &a->none, 1));
	fld(f, co, PY_F_CO_NAMES, new_tuple(f, a, NULL, 0));
	fld(f, co, PY_F_CO_FIRSTTRACEABLE, 0);
	return co;
}

/* class Foo: (a heap type with a managed dict, split keys "a", "b") */
static uint64_t build_class(struct fakepy *f, struct addrs *a,
			    uint64_t modname, uint64_t *keys)
{
	const struct py_layout *L = &f->L;
	uint64_t gh = (uint64_t)L->size[PY_S_GCHEAD];
	uint64_t t = heap_alloc(f, gh + (size_t)L->size[PY_S_HEAPTYPE]) + gh;
	uint64_t name = new_str(f, a, "Foo"), modkey = new_str(f, a,
							      "__module__");
	uint64_t kv[2] = { new_str(f, a, "a"), new_str(f, a, "b") };

	gc_link(f, t - gh);
	f->expect_gc++;
	obj(f, a, t, T_TYPE, 4);
	fld(f, t, PY_F_TP_NAME, 0);
	fld(f, t, PY_F_TP_BASICSIZE, 16);
	fld(f, t, PY_F_TP_ITEMSIZE, 0);
	fld(f, t, PY_F_TP_FLAGS, TPF_HEAPTYPE | TPF_BASETYPE | TPF_READY |
	    TPF_HAVE_GC | TPF_MANAGED_DICT);
	fld(f, t, PY_F_TP_BASE, a->type[T_OBJECT]);
	fld(f, t, PY_F_TP_DICTOFFSET, (uint64_t)-1);
	fld(f, t, PY_F_TP_DICT, new_dict(f, a, &modkey, &modname, 1));
	fld(f, t, PY_F_TP_BASES, new_tuple(f, a, &a->type[T_OBJECT], 1));
	fld(f, t, PY_F_HT_NAME, name);
	fld(f, t, PY_F_HT_QUALNAME, name);
	fld(f, t, PY_F_HT_MODULE, modname);
	*keys = new_keys(f, 2, kv, NULL, 2, true);
	fld(f, t, PY_F_HT_CACHED_KEYS, *keys);
	return t;
}

/* A Foo instance: [values][dict][gc head][object], values (3.11: a
 * PyObject *[] after a one-byte-per-slot prefix) in a block of its own. */
static uint64_t build_instance(struct fakepy *f, uint64_t cls, uint64_t va,
			       uint64_t vb)
{
	uint64_t b = block_alloc(f, 48), o = b + 32;
	uint64_t vals = block_alloc(f, 48) + 16;

	if (f->L.minor == 11) {
		put64(f, b, vals);     /* values, obj - 32 */
		put64(f, b + 8, 0);    /* dict, obj - 24 */
	} else {
		/* 3.12: PyDictOrValues at obj - 24, values tagged: stored
		 * minus one (Include/internal/pycore_object.h) */
		put64(f, b, 0);        /* weakrefs, obj - 32 */
		put64(f, b + 8, vals - 1);
	}
	gc_link(f, b + 16);
	f->expect_gc++;
	fld(f, o, PY_F_OB_REFCNT, 1);
	fld(f, o, PY_F_OB_TYPE, cls);
	f->expect_objects++;
	put64(f, vals, va);
	put64(f, vals + 8, vb);
	return o;
}

/* The thread's two frames: <module> calling work(n). */
static void build_frames(struct fakepy *f, struct addrs *a, uint64_t code,
			 uint64_t func, uint64_t globals, uint64_t builtins,
			 uint64_t local0, uint64_t local1)
{
	const struct py_layout *L = &f->L;
	size_t fsize = (size_t)L->off[PY_F_IF_LOCALSPLUS] + 4 * 8;
	uint64_t f1 = heap_alloc(f, fsize), f0 = heap_alloc(f, fsize);
	uint64_t code_start = code + (uint64_t)L->off[PY_F_CO_CODE_ADAPTIVE];

	fld(f, a->cframe, PY_F_CF_CURRENT_FRAME, f0);
	/* innermost: work(n), at code unit 8 (line 11) */
	fld(f, f0, PY_F_IF_CODE, code);
	fld(f, f0, PY_F_IF_FUNC, func);
	fld(f, f0, PY_F_IF_GLOBALS, globals);
	fld(f, f0, PY_F_IF_BUILTINS, builtins);
	fld(f, f0, PY_F_IF_INSTR, code_start + 16);
	fld(f, f0, PY_F_IF_STACKTOP, 2);
	fld(f, f0, PY_F_IF_OWNER, 0);
	fld(f, f0, PY_F_IF_PREVIOUS, f1);
	put64(f, f0 + (uint64_t)L->off[PY_F_IF_LOCALSPLUS], local0);
	put64(f, f0 + (uint64_t)L->off[PY_F_IF_LOCALSPLUS] + 8, local1);
	/* outer frame: the same code at its start (line 10) */
	fld(f, f1, PY_F_IF_CODE, code);
	fld(f, f1, PY_F_IF_FUNC, func);
	fld(f, f1, PY_F_IF_GLOBALS, globals);
	fld(f, f1, PY_F_IF_BUILTINS, builtins);
	fld(f, f1, PY_F_IF_INSTR, code_start + 2);
	fld(f, f1, PY_F_IF_STACKTOP, 0);
	fld(f, f1, PY_F_IF_OWNER, 0);
}

static void build_libc(struct fakepy *f)
{
	static const char v236[] = "GNU C Library (fake) stable release "
				   "version 2.36.\n";
	static const char v243[] = "GNU C Library (fake) stable release "
				   "version 2.43.\n";
	uint64_t top = f->heap_brk;

	/* the version banner glibc.c reads from .rodata (not mapped) */
	if (f->flags & FP_GLIBC243)
		objfile_fake_section(&f->libc, ".rodata", LIBC_BASE,
				     sizeof(v243), v243);
	else
		objfile_fake_section(&f->libc, ".rodata", LIBC_BASE,
				     sizeof(v236), v236);
	/* the top chunk runs to the end of [heap] */
	put64(f, top + 8, (HEAP_BASE + HEAP_LEN - top) | 1);
	put64(f, MAIN_ARENA + MS_TOP(f), top);
	put64(f, MAIN_ARENA + MS_NEXT(f), MAIN_ARENA);
	put64(f, MAIN_ARENA + MS_SYSTEM_MEM(f), HEAP_LEN);
}

/* FP_GLIBC243: [heap] starts as on 2.43 (INTERNALS-2026 §10.3): two small
 * chunks, then the main thread's tcache (chunk 0x300: uint16_t
 * num_slots[76], entries[76]), which holds the second of them: bin 0 has
 * one entry, so num_slots[0] is tcache_count (16) - 1, every other bin 16;
 * the entry's next is safe-linked NULL. */
static void build_tcache243(struct fakepy *f)
{
	uint64_t tc, cached;
	uint16_t slots[76];
	int i;

	raw_heap_alloc(f, 24);
	cached = raw_heap_alloc(f, 24);
	tc = raw_heap_alloc(f, 760);
	for (i = 0; i < 76; i++)
		slots[i] = 16;
	slots[0] = 15;
	put(f, tc, slots, sizeof(slots));
	put64(f, tc + sizeof(slots), cached);
	put64(f, cached, cached >> 12);
	put64(f, cached + 8, 0x5eed5eed5eedull); /* tcache_key */
}

int fakepy_build(struct fakepy *f, unsigned flags)
{
	const struct py_layout *L = &f->L;
	struct addrs a;
	uint64_t strs[4], items[6], keys[5], vals[5], code, func, mod, modname;
	uint64_t globals, builtins, sysdict, modules, cls, split, big, dead;
	int i;

	memset(f, 0, sizeof(*f));
	memset(&a, 0, sizeof(a));
	f->flags = flags;
	objfile_fake_init(&f->lib, flags & FP_PY312 ?
			  "/fuzz/lib/libpython3.12.so.1.0" :
			  "/fuzz/lib/libpython3.11.so.1.0");
	objfile_fake_init(&f->libc, "/fuzz/lib/libc.so.6");
	if (py_layout_from_table(&f->L, 3, flags & FP_PY312 ? 12 : 11, -1))
		return -1;
	region(f, FP_LIB, LIB_BASE, LIB_LEN, MAP_R | MAP_W | MAP_P, f->lib.path);
	region(f, FP_HEAP, HEAP_BASE, HEAP_LEN, MAP_R | MAP_W | MAP_P,
	       "[heap]");
	region(f, FP_ARENA, ARENA_BASE, ARENA_LEN, MAP_R | MAP_W | MAP_P, NULL);
	region(f, FP_LIBC, LIBC_BASE, LIBC_LEN, MAP_R | MAP_W | MAP_P,
	       f->libc.path);
	f->heap_brk = HEAP_BASE;
	if ((flags & FP_GLIBC243) && !(flags & FP_NO_LIBC))
		build_tcache243(f);

	build_lib(f, &a);
	build_states(f, &a);

	for (i = 0; i < 4; i++)
		items[i] = new_int(f, &a, (uint32_t)(i * 1000 + 7));
	strs[0] = new_str(f, &a, "alpha");
	strs[1] = new_str(f, &a, "a somewhat longer string of text");
	items[4] = strs[0];
	items[5] = new_tuple(f, &a, strs, 2);
	/* a bytes object too big for pymalloc: found by reference */
	big = new_bytes(f, &a, NULL, 600);
	strs[2] = big;

	modname = new_str(f, &a, "__main__");
	code = build_code(f, &a);
	f->code = code;
	keys[0] = new_str(f, &a, "None");
	vals[0] = a.none;
	builtins = new_dict(f, &a, keys, vals, 1);

	func = gc_new(f, &a, T_FUNCTION, (size_t)L->size[PY_S_FUNC]);
	cls = build_class(f, &a, modname, &split);

	keys[0] = new_str(f, &a, "data");
	vals[0] = new_list(f, &a, items, 6);
	f->data_list = vals[0];
	f->list_type = a.type[T_LIST];
	f->bytes_type = a.type[T_BYTES];
	f->item0 = items[0];
	f->interp = a.interp;
	keys[1] = new_str(f, &a, "work");
	vals[1] = func;
	keys[2] = new_str(f, &a, "Foo");
	vals[2] = cls;
	keys[3] = new_str(f, &a, "obj");
	vals[3] = build_instance(f, cls, items[0], strs[1]);
	keys[4] = new_str(f, &a, "blob");
	vals[4] = big;
	globals = new_dict(f, &a, keys, vals, 5);

	fld(f, func, PY_F_FUNC_CODE, code);
	fld(f, func, PY_F_FUNC_GLOBALS, globals);
	fld(f, func, PY_F_FUNC_BUILTINS, builtins);
	fld(f, func, PY_F_FUNC_NAME, new_str(f, &a, "work"));
	fld(f, func, PY_F_FUNC_QUALNAME, new_str(f, &a, "work"));
	fld(f, func, PY_F_FUNC_MODULE, modname);

	mod = gc_new(f, &a, T_MODULE, (size_t)L->size[PY_S_MODULE]);
	fld(f, mod, PY_F_MOD_DICT, globals);
	fld(f, mod, PY_F_MOD_NAME, modname);
	keys[0] = modname;
	vals[0] = mod;
	modules = new_dict(f, &a, keys, vals, 1);
	keys[0] = new_str(f, &a, "modules");
	vals[0] = modules;
	sysdict = new_dict(f, &a, keys, vals, 1);
	fld(f, a.interp, PY_F_IS_MODULES, modules);
	fld(f, a.interp, PY_F_IS_SYSDICT, sysdict);
	fld(f, a.interp, PY_F_IS_BUILTINS, builtins);

	build_frames(f, &a, code, func, globals, builtins, items[1], strs[0]);

	/* A str freed onto its pool's free list: not an object. */
	dead = new_str(f, &a, "freed");
	block_free(f, dead);
	f->expect_objects--;
	/* Everything pymalloc handed out, as the static says. */
	put64(f, a.raw_sym, 0);

	/* Only the pools used are mapped; the arena ends after them. */
	for (i = 0; i < FP_NPOOLS && f->pool_bs[i]; i++)
		;
	f->r[FP_ARENA].len = (size_t)i * POOL_SIZE;
	put64(f, a.arena_obj + (uint64_t)L->off[PY_F_AO_POOL_ADDRESS],
	      ARENA_BASE + (uint64_t)i * POOL_SIZE);
	if (!(flags & FP_NO_LIBC))
		build_libc(f);
	else {
		free(f->r[FP_LIBC].buf);
		f->r[FP_LIBC].buf = NULL;
	}
	return 0;
}

void fakepy_release(struct fakepy *f)
{
	int i;

	for (i = 0; i < FP_NREGIONS; i++)
		free(f->r[i].buf);
	objfile_release(&f->lib);
	objfile_release(&f->libc);
	memset(f, 0, sizeof(*f));
}

#define EXTRA_BASE 0x7f8800000000ull

void fakepy_share(struct fakepy *f, size_t nlists, size_t nitems)
{
	const struct py_layout *L = &f->L;
	uint64_t lsize = (uint64_t)L->size[PY_S_LIST] + 16;
	uint64_t shared = EXTRA_BASE, holder, lists;
	size_t i;

	holder = shared + 8 * nitems;
	lists = holder + 8 * nlists;
	region(f, FP_EXTRA, EXTRA_BASE, (size_t)(lists + nlists * lsize -
						 EXTRA_BASE),
	       MAP_R | MAP_W | MAP_P, NULL);
	for (i = 0; i < nitems; i++)
		put64(f, shared + 8 * i, f->item0);
	for (i = 0; i < nlists; i++) {
		uint64_t l = lists + i * lsize + 16; /* after a GC head */

		put64(f, holder + 8 * i, l);
		fld(f, l, PY_F_OB_REFCNT, 1);
		fld(f, l, PY_F_OB_TYPE, f->list_type);
		fld(f, l, PY_F_OB_SIZE, nitems);
		fld(f, l, PY_F_LIST_ITEM, shared);
		fld(f, l, PY_F_LIST_ALLOCATED, nitems);
	}
	fld(f, f->data_list, PY_F_OB_SIZE, nlists);
	fld(f, f->data_list, PY_F_LIST_ALLOCATED, nlists);
	fld(f, f->data_list, PY_F_LIST_ITEM, holder);
}

void fakepy_frame_loop(struct fakepy *f, size_t nthreads, size_t table,
		       size_t slots)
{
	const struct py_layout *L = &f->L;
	uint64_t sval = (uint64_t)L->off[PY_F_BYTES_SVAL];
	uint64_t fsize = (uint64_t)L->off[PY_F_IF_LOCALSPLUS] + 8 * slots;
	uint64_t ts_size = (uint64_t)L->size[PY_S_TSTATE];
	uint64_t bytes = EXTRA_BASE, frame, cframe, ts;
	size_t i;

	frame = (bytes + sval + table + 16) & ~15ull;
	cframe = frame + ((fsize + 15) & ~15ull);
	ts = cframe + 32;
	region(f, FP_EXTRA, EXTRA_BASE, (size_t)(ts + nthreads * ts_size -
						 EXTRA_BASE),
	       MAP_R | MAP_W | MAP_P, NULL);
	/* The line table: zeros, which every decoder reads to the end. */
	fld(f, bytes, PY_F_OB_REFCNT, 1);
	fld(f, bytes, PY_F_OB_TYPE, f->bytes_type);
	fld(f, bytes, PY_F_OB_SIZE, table);
	fld(f, f->code, PY_F_CO_LINETABLE, bytes);
	/* One frame that is its own caller, with every slot live. */
	fld(f, frame, PY_F_IF_CODE, f->code);
	fld(f, frame, PY_F_IF_PREVIOUS, frame);
	fld(f, frame, PY_F_IF_INSTR, f->code +
	    (uint64_t)L->off[PY_F_CO_CODE_ADAPTIVE] + 16);
	fld(f, frame, PY_F_IF_STACKTOP, slots);
	fld(f, frame, PY_F_IF_OWNER, 0);
	for (i = 0; i < slots; i++)
		put64(f, frame + (uint64_t)L->off[PY_F_IF_LOCALSPLUS] + 8 * i,
		      f->item0);
	fld(f, cframe, PY_F_CF_CURRENT_FRAME, frame);
	fld(f, f->interp, PY_F_IS_THREADS_HEAD, ts);
	for (i = 0; i < nthreads; i++, ts += ts_size) {
		fld(f, ts, PY_F_TS_INTERP, f->interp);
		fld(f, ts, PY_F_TS_CFRAME, cframe);
		fld(f, ts, PY_F_TS_NATIVE_THREAD_ID, 10000 + i);
		fld(f, ts, PY_F_TS_NEXT, i + 1 < nthreads ? ts + ts_size : 0);
	}
}

struct target *fakepy_target(const struct fakepy *f)
{
	struct target *t = target_fake_new();
	int i;

	for (i = 0; i < FP_NREGIONS; i++)
		if (f->r[i].buf)
			target_fake_add(t, f->r[i].base, f->r[i].buf,
					f->r[i].len, f->r[i].perms,
					f->r[i].path);
	/* Distinct files, as in a process: glibc's heuristic looks for
	 * libc's data by inode. */
	for (i = 0; (size_t)i < t->maps.n; i++)
		if (t->maps.v[i].path && t->maps.v[i].path[0] == '/')
			t->maps.v[i].inode = 1000 + (uint64_t)i;
	objfile_fake_provide(t, &f->lib);
	if (f->r[FP_LIBC].buf)
		objfile_fake_provide(t, &f->libc);
	return t;
}

void fakepy_target_close(struct target *t)
{
	objfile_fake_forget(t);
	target_close(t);
}

/* ---- fuzz input ----------------------------------------------------------- */

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/*
 * Parse the records of a fuzz input (fakepy.h): for each, the region, the
 * offset and length of the bytes it changes, and those bytes (in buf).
 * Calls fn(ctx, region, off, len, bytes) for each; stops at a record cut
 * short.
 */
static void walk_records(const struct fakepy *f, const uint8_t *data,
			 size_t size,
			 void (*fn)(void *ctx, int region, size_t off,
				    size_t len, const uint8_t *bytes),
			 void *ctx)
{
	size_t i = 0;

	while (i + 4 <= size) {
		uint8_t op = data[i], buf[256];
		int reg = op & 3, to;
		const struct fakepy_region_buf *r;
		size_t n = ((op >> 2) & 15) + 1, off;
		uint64_t v;

		i += 4;
		if (!f->r[reg].buf)
			reg = FP_HEAP;
		r = &f->r[reg];
		off = le24(data + i - 3) % r->len;
		switch (op >> 6) {
		case 0:
			if (i + n > size)
				return;
			fn(ctx, reg, off, PH_MIN(n, r->len - off), data + i);
			i += n;
			break;
		case 1:
			if (i + 3 > size)
				return;
			to = f->r[data[i] & 3].buf ? data[i] & 3 : FP_HEAP;
			v = f->r[to].base +
			    (data[i + 1] | (uint32_t)data[i + 2] << 8) %
			    f->r[to].len;
			i += 3;
			off &= ~(size_t)7;
			memcpy(buf, &v, 8);
			if (off + 8 <= r->len)
				fn(ctx, reg, off, 8, buf);
			break;
		case 2:
			if (i + 1 > size)
				return;
			v = (uint64_t)(int64_t)(int8_t)data[i++];
			off &= ~(size_t)7;
			memcpy(buf, &v, 8);
			if (off + 8 <= r->len)
				fn(ctx, reg, off, 8, buf);
			break;
		default:
			if (i + 1 > size)
				return;
			memset(buf, data[i++], n * 16);
			fn(ctx, reg, off, PH_MIN(n * 16, r->len - off), buf);
			break;
		}
	}
}

struct patch_ctx {
	const struct fakepy *f;
	struct target *t;
	bool restore;
};

static void patch_one(void *ctx, int region, size_t off, size_t len,
		      const uint8_t *bytes)
{
	struct patch_ctx *pc = ctx;
	const struct fakepy_region_buf *r = &pc->f->r[region];
	unsigned char *dst = target_fake_bytes(pc->t, r->base + off, len);

	if (!dst)
		abort(); /* the target is not f's */
	memcpy(dst, pc->restore ? r->buf + off : bytes, len);
}

void fakepy_patch(const struct fakepy *f, struct target *t,
		  const uint8_t *data, size_t size)
{
	struct patch_ctx pc = { f, t, false };

	walk_records(f, data, size, patch_one, &pc);
}

void fakepy_unpatch(const struct fakepy *f, struct target *t,
		    const uint8_t *data, size_t size)
{
	struct patch_ctx pc = { f, t, true };

	walk_records(f, data, size, patch_one, &pc);
}

/* ---- the untouched skeleton ------------------------------------------------ */

int fakepy_check(const struct fakepy *f, const struct snapshot *s,
		 const char **why)
{
	size_t i, stat = 0, heap = 0, gc = 0;
	const struct snap_thread *th;

	for (i = 0; i < s->nobjects; i++) {
		if (s->objects[i].flags & OBJ_STATIC)
			stat++;
		else
			heap++;
		if (s->objects[i].flags & OBJ_GC_TRACKED)
			gc++;
	}
	if (gc != f->expect_gc) {
		*why = "GC-tracked objects differ from those linked";
		return -1;
	}
	if (heap != f->expect_objects) {
		*why = "objects found differ from objects built";
		return -1;
	}
	if (stat < 10) {
		*why = "static types not reached";
		return -1;
	}
	if (s->nthreads != 1 || s->threads[0].nframes != 2) {
		*why = "not one thread with two frames";
		return -1;
	}
	th = &s->threads[0];
	if (s->frames[th->first_frame].line != 11 ||
	    s->frames[th->first_frame + 1].line != 10 ||
	    strcmp(snapshot_str(s, s->frames[th->first_frame].function),
		   "work")) {
		*why = "frames wrong";
		return -1;
	}
	if (s->nroots < 4) {
		*why = "roots missing";
		return -1;
	}
	if (!(f->flags & FP_NO_LIBC) != !!(s->meta.flags & SNAP_NATIVE)) {
		*why = "malloc walked or not, wrongly";
		return -1;
	}
	return 0;
}
