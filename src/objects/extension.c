/*
 * Sizes, buffers and referents of extension types whose __sizeof__ charges
 * memory that only they point to (objects/internal.h K_ARRAY, K_STRUCT,
 * K_NDARRAY).
 *
 * Their structs are private to their module, so neither the interpreter's
 * DWARF nor _Py_DebugOffsets describe them: the offsets below are from the
 * C source, the same in 3.7 through 3.15 (each checked on live objects of
 * pyenv's 3.7-3.13 and Debian's 3.11 with ctypes: the values read at these
 * offsets equal buffer_info(), itemsize, Struct.size).  types.c accepts the
 * type only when its tp_basicsize is the struct's size, and every object is
 * checked on its own (ext_check_*) before its fields are believed: one
 * that fails is sized as object.__sizeof__ would size it, with no buffer,
 * as before these types were known -- never a wrong size.
 */
#include <string.h>

#include "internal.h"

/*
 * array.array (Modules/arraymodule.c, struct arrayobject):
 *
 *     PyObject_VAR_HEAD                    0  (ob_size at 16: items in use)
 *     char *ob_item;                      24  PyMem_Malloc'ed items
 *     Py_ssize_t allocated;               32  items allocated
 *     const struct arraydescr *ob_descr;  40  static {char typecode;
 *                                             int itemsize; ...}
 *     PyObject *weakreflist;              48
 *     Py_ssize_t ob_exports;              56
 *
 * array___sizeof___impl: _PyObject_SIZE(Py_TYPE(self)) +
 * allocated * ob_descr->itemsize.
 */
#define ARRAY_BASICSIZE 64
#define ARRAY_OB_ITEM 24
#define ARRAY_ALLOCATED 32
#define ARRAY_DESCR 40
#define DESCR_ITEMSIZE 4
/* Every typecode of 3.7-3.15 ('u' and 'w' wchar_t and Py_UCS4). */
#define ARRAY_TYPECODES "bBuwhHiIlLqQfd"

/*
 * _struct.Struct (Modules/_struct.c, PyStructObject):
 *
 *     PyObject_HEAD                  0
 *     Py_ssize_t s_size;            16  bytes packed
 *     Py_ssize_t s_len;             24  format codes
 *     formatcode *s_codes;          32  PyMem_Malloc'ed s_len + 1 codes
 *     PyObject *s_format;           40  the format (bytes; 3.15: str)
 *     PyObject *weakreflist;        48
 *     (3.15 adds a word: tp_basicsize 64, the fields above in place,
 *     checked on Debian's 3.15.2)
 *
 * formatcode {const formatdef *fmtdef; Py_ssize_t offset, size, repeat;}
 * is 32 bytes; prepare_s allocates one per code and one more that ends the
 * array with a NULL fmtdef.  s_len counts items, not codes ("3H" is one
 * code, three items; "x" none), so there are at most s_len codes.
 * s_sizeof: _PyObject_SIZE(Py_TYPE(self)) + sizeof(formatcode) for each
 * code up to and with the NULL one.
 */
#define STRUCT_BASICSIZE 56
#define STRUCT_BASICSIZE_315 64
#define STRUCT_S_SIZE 16
#define STRUCT_S_LEN 24
#define STRUCT_S_CODES 32
#define STRUCT_S_FORMAT 40
#define FORMATCODE_BYTES 32
#define MAX_CODES (1ull << 24)

/*
 * numpy.ndarray (numpy/core/include/numpy/ndarraytypes.h,
 * PyArrayObject_fields; the same from numpy 1.7 to 2.x, checked on
 * Debian's 1.24 with ctypes):
 *
 *     PyObject_HEAD                 0
 *     char *data;                  16  the elements
 *     int nd;                      24
 *     npy_intp *dimensions;        32  nd dimensions, then nd strides
 *     npy_intp *strides;           40  = dimensions + nd (one allocation)
 *     PyObject *base;              48  what a view's data belongs to
 *     PyArray_Descr *descr;        56  the dtype
 *     int flags;                   64  NPY_ARRAY_OWNDATA 0x4, C 0x1, F 0x2
 *     (weakreflist, _buffer_info, mem_handler: tp_basicsize 80-96)
 *
 * The dtype's elsize is numpy 1.x's PyArray_Descr {PyObject_HEAD;
 * typeobj; char kind, type, byteorder, flags; int type_num; int elsize
 * (32); int alignment (36); ...}.  numpy 2 keeps a 64-bit flags word at 32
 * and elsize at 40: numpy 1.x's alignment slot (36) then holds the flags'
 * high half, 0, not a power of two, and the array is left unsized.  Where
 * the array is contiguous along a dimension longer than 1, the stride
 * there must be elsize too.
 *
 * array_sizeof (numpy/core/src/multiarray/methods.c): tp_basicsize +
 * nd * 2 * sizeof(npy_intp), + nbytes if the array owns its data
 * (OWNDATA).  A view owns nothing: its base is the owner.
 */
#define ND_DATA 16
#define ND_NDIM 24
#define ND_DIMS 32
#define ND_STRIDES 40
#define ND_DESCR 56
#define ND_FLAGS 64
#define ND_MIN_BASICSIZE 72
#define ND_MAX_BASICSIZE 128
#define ND_MAXDIMS 64
#define ND_OWNDATA 0x4
#define ND_C_CONTIGUOUS 0x1
#define ND_F_CONTIGUOUS 0x2
#define DESCR_ELSIZE 32
#define DESCR_ALIGNMENT 36

/* How much longer than a GIL build's 16 bytes the object header is:
 * 16 in a free-threaded build (Include/object.h struct _object). */
static uint64_t ext_head_delta(const struct census *c)
{
	return (uint64_t)c->L->size[PY_S_OBJECT] - 16;
}

bool ext_layout_ok(enum obj_kind kind, int64_t basicsize)
{
	switch (kind) {
	case K_ARRAY:
		return basicsize == ARRAY_BASICSIZE;
	case K_STRUCT:
		return basicsize == STRUCT_BASICSIZE ||
		       basicsize == STRUCT_BASICSIZE_315;
	case K_NDARRAY:
		return basicsize >= ND_MIN_BASICSIZE &&
		       basicsize <= ND_MAX_BASICSIZE;
	/* Built-in layouts kinds.c reads (kind_referents): a struct of
	 * another size is not the one the headers describe. */
	case K_EXC: /* PyBaseExceptionObject: 6 (3.11+: 7) words and a char */
		return basicsize == 64 || basicsize == 72;
	case K_TRACEBACK: /* PyTracebackObject */
		return basicsize == 40;
	case K_DESCR: /* PyDescr_COMMON and one or two words */
		return basicsize >= 48 && basicsize <= 64;
	case K_SMETHOD: /* Objects/funcobject.c staticmethod, classmethod */
		return basicsize == 32;
	case K_PROPERTY: /* Include/cpython/descrobject.h propertyobject */
		return basicsize == 56 || basicsize == 64;
	/* PyMemoryViewObject up to ob_array and _PyManagedBufferObject
	 * (Include/memoryobject.h, 3.13+ Include/cpython/memoryobject.h):
	 * the same 144 and 112 bytes on every 3.x, checked live 3.6-3.15. */
	case K_MEMORYVIEW:
		return basicsize == 144;
	case K_MBUF:
		return basicsize == 112;
	default:
		return true;
	}
}

/* The array at addr: its item buffer (0 when it has none) and its bytes;
 * false if the object is not what arraymodule.c makes. */
static bool ext_check_array(struct census *c, uint64_t addr, uint64_t *item,
			    uint64_t *bytes)
{
	uint64_t w[4], descr;
	uint32_t itemsize;
	char typecode;
	int64_t n, alloc;

	if (target_read(c->t, addr + 16, w, sizeof(w)))
		return false;
	n = (int64_t)w[0];
	alloc = (int64_t)w[(ARRAY_ALLOCATED - 16) / 8];
	*item = w[(ARRAY_OB_ITEM - 16) / 8];
	descr = w[(ARRAY_DESCR - 16) / 8];
	if (n < 0 || alloc < n || (uint64_t)alloc >= MAX_ITEMS ||
	    (alloc > 0) != (*item != 0) || !descr ||
	    target_read(c->t, descr, &typecode, 1) ||
	    target_read_u32(c->t, descr + DESCR_ITEMSIZE, &itemsize) ||
	    !typecode || !strchr(ARRAY_TYPECODES, typecode) ||
	    (itemsize != 1 && itemsize != 2 && itemsize != 4 && itemsize != 8))
		return false;
	*bytes = (uint64_t)alloc * itemsize;
	return true;
}

/* The Struct at addr: its codes and their bytes; false if the object is not what _struct.c's prepare_s makes. */
static bool ext_check_struct(struct census *c, uint64_t addr, uint64_t *codes,
			     uint64_t *bytes)
{
	uint64_t w[3], fmtdef = 1, i;
	int64_t size, len;

	if (target_read(c->t, addr + STRUCT_S_SIZE, w, sizeof(w)))
		return false;
	size = (int64_t)w[0];
	len = (int64_t)w[1];
	*codes = w[2];
	if (size < 0 || len < 0 || (uint64_t)len >= MAX_CODES || !*codes)
		return false;
	/* The code with a NULL fmtdef comes within s_len + 1. */
	for (i = 0; i <= (uint64_t)len && fmtdef; i++)
		if (target_read_u64(c->t, *codes + i * FORMATCODE_BYTES,
				    &fmtdef))
			return false;
	if (fmtdef)
		return false;
	*bytes = i * FORMATCODE_BYTES;
	return true;
}

/* The ndarray at addr: its dimensions (and strides) and, if it owns them,
 * its data, with what __sizeof__ charges for each; false if its fields
 * are not numpy 1.x's or do not agree with each other. */
static bool ext_check_ndarray(struct census *c, uint64_t addr, uint64_t *dims,
			      uint64_t *dims_bytes, uint64_t *data,
			      uint64_t *data_bytes)
{
	uint64_t w[7], d[2 * ND_MAXDIMS], n = 1, descr, strides;
	uint32_t nd, flags, elsize, align;
	unsigned k;

	if (target_read(c->t, addr + ND_DATA, w, sizeof(w)))
		return false;
	*data = w[0];
	nd = (uint32_t)w[(ND_NDIM - ND_DATA) / 8];
	*dims = w[(ND_DIMS - ND_DATA) / 8];
	strides = w[(ND_STRIDES - ND_DATA) / 8];
	descr = w[(ND_DESCR - ND_DATA) / 8];
	flags = (uint32_t)w[(ND_FLAGS - ND_DATA) / 8];
	if (nd > ND_MAXDIMS || !descr || !*data ||
	    (nd ? !*dims || strides != *dims + 8 * nd : *dims || strides) ||
	    target_read_u32(c->t, descr + DESCR_ELSIZE, &elsize) ||
	    target_read_u32(c->t, descr + DESCR_ALIGNMENT, &align) ||
	    elsize > (1u << 30) || !align || align > 64 || (align & (align - 1)) ||
	    (nd && target_read(c->t, *dims, d, 16 * (size_t)nd)))
		return false;
	for (k = 0; k < nd; k++) {
		if ((int64_t)d[k] < 0 || (d[k] && n > (1ull << 48) / d[k]))
			return false;
		n *= d[k];
	}
	/* A dimension longer than 1 where the array is contiguous: its
	 * stride is the element size. */
	if (n && nd && (flags & ND_C_CONTIGUOUS) && d[nd - 1] > 1 &&
	    d[2 * nd - 1] != elsize)
		return false;
	if (n && nd && (flags & ND_F_CONTIGUOUS) && d[0] > 1 &&
	    d[nd] != elsize)
		return false;
	*dims_bytes = 16 * (uint64_t)nd;
	*data_bytes = (flags & ND_OWNDATA) ? n * elsize : 0;
	if (!(flags & ND_OWNDATA))
		*data = 0;
	return true;
}

/* The separate buffers of the object at addr (at most two: p[0], p[1], 0
 * where none) and the bytes its __sizeof__ charges for them; false if its
 * fields failed their checks (no buffer, nothing charged). */
static bool ext_buffers(struct census *c, uint64_t addr, const struct tinfo *ti,
			uint64_t p[2], uint64_t *bytes)
{
	uint64_t b[2] = { 0, 0 };
	bool ok;

	/* A free-threaded header is 16 bytes longer: the fields follow it
	 * (array and Struct only; types.c leaves ndarray unsized there). */
	addr += ext_head_delta(c);
	p[0] = p[1] = 0;
	switch (ti->kind) {
	case K_ARRAY:
		ok = ext_check_array(c, addr, &p[0], &b[0]);
		break;
	case K_STRUCT:
		ok = ext_check_struct(c, addr, &p[0], &b[0]);
		break;
	case K_NDARRAY:
		ok = ext_check_ndarray(c, addr, &p[0], &b[0], &p[1], &b[1]);
		break;
	default:
		ok = true;
		break;
	}
	if (!ok)
		p[0] = p[1] = b[0] = b[1] = 0;
	*bytes = b[0] + b[1];
	return ok;
}

void ext_sizeof(struct census *c, struct cobj *o, const struct tinfo *ti)
{
	uint64_t p[2], bytes;

	if (!ext_buffers(c, o->addr, ti, p, &bytes))
		c->ext_unsized[ti->kind]++;
	o->size = (uint64_t)ti->basicsize + bytes;
	o->buffers = bytes;
}

void ext_for_each_buffer(struct census *c, uint64_t addr,
			 const struct tinfo *ti,
			 void (*fn)(void *ctx, uint64_t p), void *ctx)
{
	uint64_t p[2], bytes;

	ext_buffers(c, addr, ti, p, &bytes);
	if (p[0])
		fn(ctx, p[0]);
	if (p[1])
		fn(ctx, p[1]);
}

bool ext_referents(struct census *c, uint32_t idx, const struct tinfo *ti)
{
	uint64_t v;

	switch (ti->kind) {
	case K_ARRAY: /* array_tp_traverse: only its (heap) type */
		return true;
	case K_STRUCT: /* s_traverse: s_format */
		if (!target_read_u64(c->t, c->objs[idx].addr +
				     ext_head_delta(c) + STRUCT_S_FORMAT, &v))
			census_edge(c, idx, v);
		return true;
	default:
		/* numpy.ndarray: its base and dtype, and an object array's
		 * items, are left to the conservative scan, as before. */
		return false;
	}
}

void ext_stats(struct census *c)
{
	static const struct {
		enum obj_kind kind;
		const char *stat;
	} names[] = {
		{ K_ARRAY, "census.sizeof_not_modelled.array.array" },
		{ K_STRUCT, "census.sizeof_not_modelled._struct.Struct" },
		{ K_NDARRAY, "census.sizeof_not_modelled.numpy.ndarray" },
	};
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(names); i++)
		if (c->ext_unsized[names[i].kind])
			snapshot_stat(c->s, names[i].stat,
				      (int64_t)c->ext_unsized[names[i].kind]);
}
