/*
 * Per-kind sizes (each type's __sizeof__, plus what sys.getsizeof adds)
 * for the built-in kinds; referents.c has their referents.  The CPython
 * function each one mirrors is named in its comment; offsets come from the
 * layout (python/fields.h).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* collections.deque: BLOCKLEN items + 2 links (_collectionsmodule.c). */
#define DEQUE_BLOCK_BYTES (DEQUE_BLOCKLEN * 8 + 16)
/* PyBytesObject_SIZE: offsetof(PyBytesObject, ob_sval) + 1. */
#define BYTES_OBJECT_HEADER 33
/* OrderedDict's _ODictNode {key, hash, next, prev} (odictobject.c). */
#define ODICT_NODE_BYTES 32

/* ---- sizes ------------------------------------------------------------- */

/* PyUnicode's __sizeof__ (Objects/unicodeobject.c unicode_sizeof_impl):
 * header, data in the object or in a separate block, and separately held
 * UTF-8 and (<= 3.11) wchar_t copies. */
static void str_sizeof(struct census *c, struct cobj *o)
{
	const struct py_layout *L = c->L;
	uint64_t state = rd(c, o->addr, PY_F_STR_STATE);
	uint64_t len = rd(c, o->addr, PY_F_STR_LENGTH);
	struct py_str_bits sb = py_str_bits(L, state);
	uint64_t kind = sb.kind, data, utf8, wstr, wlen;
	bool compact = sb.compact, ascii = sb.ascii, ready = sb.ready;

	if (len >= MAX_ITEMS)
		len = 0;
	if (compact && ascii) {
		o->size = (uint64_t)L->size[PY_S_ASCII] + len + 1;
		data = o->addr + (uint64_t)L->size[PY_S_ASCII];
	} else if (compact) {
		o->size = (uint64_t)L->size[PY_S_COMPACTUNI] + (len + 1) * kind;
		data = o->addr + (uint64_t)L->size[PY_S_COMPACTUNI];
	} else {
		o->size = (uint64_t)L->size[PY_S_UNICODE];
		data = rd(c, o->addr, PY_F_USTR_DATA);
		if (data) {
			o->size += (len + 1) * kind;
			o->buffers += (len + 1) * kind;
		}
	}
	if (py_has(L, PY_F_STR_WSTR)) {
		wstr = rd(c, o->addr, PY_F_STR_WSTR);
		wlen = compact && ascii ? len :
		       rd(c, o->addr, PY_F_CSTR_WSTR_LENGTH);
		/* _PyUnicode_HAS_WSTR_MEMORY; sizeof(wchar_t) is 4 on Linux. */
		if (wstr && (!ready || wstr != data) && wlen < MAX_ITEMS) {
			o->size += (wlen + 1) * 4;
			o->buffers += (wlen + 1) * 4;
		}
	}
	if (!(compact && ascii)) {
		utf8 = rd(c, o->addr, PY_F_CSTR_UTF8);
		len = rd(c, o->addr, PY_F_CSTR_UTF8_LENGTH);
		if (utf8 && utf8 != data && len < MAX_ITEMS) {
			o->size += len + 1;
			o->buffers += len + 1;
		}
	}
}

/* int.__sizeof__ (Objects/longobject.c): the digits, at least one from
 * 3.11 on; 3.12+ keeps the digit count in lv_tag >> 3. */
static void int_sizeof(struct census *c, struct cobj *o)
{
	const struct py_layout *L = c->L;
	uint64_t digits;

	if (py_has(L, PY_F_LONG_LV_TAG)) {
		digits = rd(c, o->addr, PY_F_LONG_LV_TAG) >> 3;
	} else {
		int64_t n = rd_signed(c, o->addr, PY_F_OB_SIZE);

		digits = (uint64_t)(n < 0 ? -n : n);
	}
	if (digits >= MAX_ITEMS)
		digits = 0;
	if (L->minor >= 11 && digits < 1)
		digits = 1;
	o->size = (uint64_t)L->off[PY_F_LONG_DIGIT] + digits * 4;
}

/* code.__sizeof__ (Objects/codeobject.c code_sizeof). */
static void code_sizeof(struct census *c, struct cobj *o,
			const struct tinfo *ti)
{
	const struct py_layout *L = c->L;

	if (L->minor >= 11) {
		/* _PyObject_VAR_SIZE: rounded up to a pointer. */
		int64_t n = rd_signed(c, o->addr, PY_F_OB_SIZE);

		if (n < 0 || (uint64_t)n >= MAX_ITEMS)
			n = 0;
		o->size = ((uint64_t)ti->basicsize + (uint64_t)n *
			   (uint64_t)ti->itemsize + 7) & ~7ull;
		return;
	}
	o->size = (uint64_t)ti->basicsize;
	if (rd(c, o->addr, PY_F_CO_CELL2ARG))
		o->size += 8 * tuple_len(c, rd(c, o->addr, PY_F_CO_CELLVARS));
}

/* Slots of a 3.11+ frame for code co: co_nlocalsplus + co_stacksize
 * (_PyFrame_NumSlotsForCodeObject; frame_sizeof, gen_sizeof). */
static uint64_t frame_slots(struct census *c, uint64_t co)
{
	uint64_t n = rd(c, co, PY_F_CO_NLOCALSPLUS) & 0xffffffffu;

	n += rd(c, co, PY_F_CO_STACKSIZE) & 0xffffffffu;
	return n < MAX_SLOTS ? n : 0;
}

static void frame_sizeof(struct census *c, struct cobj *o)
{
	const struct py_layout *L = c->L;
	uint64_t co, f;

	if (L->minor <= 10) {
		/* frame_sizeof: PyFrameObject + one slot per stack entry,
		 * local, cell and free var, less the one in the struct. */
		uint64_t extras;

		co = rd(c, o->addr, PY_F_FO_CODE);
		extras = (rd(c, co, PY_F_CO_STACKSIZE) & 0xffffffffu) +
			 (rd(c, co, PY_F_CO_NLOCALS) & 0xffffffffu) +
			 tuple_len(c, rd(c, co, PY_F_CO_CELLVARS)) +
			 tuple_len(c, rd(c, co, PY_F_CO_FREEVARS));
		o->size = (uint64_t)L->size[PY_S_FRAMEOBJ] +
			  (extras ? extras - 1 : 0) * 8;
		return;
	}
	f = rd(c, o->addr, PY_F_FO_FRAME);
	co = f ? rd(c, f, PY_F_IF_CODE) : 0;
	o->size = (uint64_t)L->off[PY_F_FO_FRAME_DATA] +
		  (uint64_t)L->off[PY_F_IF_LOCALSPLUS] + 8 * frame_slots(c, co);
}

static void gen_sizeof(struct census *c, struct cobj *o,
		       const struct tinfo *ti)
{
	const struct py_layout *L = c->L;
	uint64_t co;

	if (L->minor <= 10) {
		o->size = (uint64_t)ti->basicsize;
		return;
	}
	co = py_has(L, PY_F_GEN_CODE) ? rd(c, o->addr, PY_F_GEN_CODE) :
	     rd(c, o->addr + (uint64_t)L->off[PY_F_GEN_IFRAME], PY_F_IF_CODE);
	o->size = (uint64_t)L->off[PY_F_GEN_IFRAME] +
		  (uint64_t)L->off[PY_F_IF_LOCALSPLUS] + 8 * frame_slots(c, co);
}

/* object.__sizeof__: basicsize plus items for var-sized types. */
static uint64_t default_sizeof(struct census *c, const struct cobj *o,
			       const struct tinfo *ti)
{
	uint64_t size = (uint64_t)ti->basicsize;

	if (ti->itemsize > 0) {
		int64_t n = rd_signed(c, o->addr, PY_F_OB_SIZE);

		if (n > 0 && (uint64_t)n < MAX_ITEMS)
			size += (uint64_t)n * (uint64_t)ti->itemsize;
	}
	return size;
}

void kind_sizeof(struct census *c, struct cobj *o, const struct tinfo *ti)
{
	const struct py_layout *L = c->L;
	uint64_t v, w;

	o->buffers = 0;
	switch (ti->kind) {
	case K_LIST: /* list___sizeof___impl */
		v = rd(c, o->addr, PY_F_LIST_ALLOCATED);
		if (v >= MAX_ITEMS)
			v = 0;
		o->buffers = v * 8;
		o->size = (uint64_t)ti->basicsize + o->buffers;
		break;
	case K_DICT:
	case K_ODICT:
		if (dict_sizeof(c, o->addr, ti->basicsize, &o->size,
				&o->buffers))
			o->size = (uint64_t)ti->basicsize;
		if (ti->kind == K_ODICT) { /* odict_sizeof */
			v = rd(c, o->addr, PY_F_OD_FAST_NODES_SIZE);
			w = rd(c, o->addr, PY_F_MA_USED);
			if (v < MAX_ITEMS && w < MAX_ITEMS) {
				o->buffers += 8 * v + ODICT_NODE_BYTES * w;
				o->size += 8 * v + ODICT_NODE_BYTES * w;
			}
		}
		break;
	case K_SET: /* set_sizeof: the table unless it is the smalltable */
		o->size = (uint64_t)ti->basicsize;
		v = rd(c, o->addr, PY_F_SET_TABLE);
		w = rd(c, o->addr, PY_F_SET_MASK);
		if (v && v != o->addr + (uint64_t)L->off[PY_F_SET_SMALLTABLE] &&
		    w < MAX_ITEMS) {
			o->buffers = (w + 1) * (uint64_t)L->size[PY_S_SETENTRY];
			o->size += o->buffers;
		}
		break;
	case K_STR:
		str_sizeof(c, o);
		break;
	case K_UNICODE27: /* 2.7 unicode__sizeof__: the struct and
			   * (length + 1) Py_UNICODE, held apart in str */
		o->size = (uint64_t)ti->basicsize;
		v = rd(c, o->addr, PY_F_U27_LENGTH);
		if (rd(c, o->addr, PY_F_U27_STR) && v < MAX_ITEMS) {
			o->buffers = (v + 1) * c->known.py_unicode_size;
			o->size += o->buffers;
		}
		break;
	case K_INT:
		int_sizeof(c, o);
		break;
	case K_BYTEARRAY: /* bytearray_sizeof_impl */
		v = rd(c, o->addr, PY_F_BA_ALLOC);
		o->buffers = v < MAX_ITEMS ? v : 0;
		/* 3.15 keeps the bytes in a bytes object (ob_bytes_object)
		 * and charges its header and NUL too, PyBytesObject_SIZE,
		 * unless empty (the shared empty bytes): measured on
		 * Debian's 3.15.2, 64 + 33 + ob_alloc. */
		if (L->minor >= 15 && o->buffers)
			o->buffers += BYTES_OBJECT_HEADER;
		o->size = (uint64_t)ti->basicsize + o->buffers;
		break;
	case K_TYPE: /* type___sizeof___impl */
		v = rd(c, o->addr, PY_F_TP_FLAGS);
		if (v & TPF_HEAPTYPE) {
			o->size = (uint64_t)L->size[PY_S_HEAPTYPE];
			v = rd(c, o->addr, PY_F_HT_CACHED_KEYS);
			if (v && !dict_keys_size(c, v, &w)) {
				o->size += w;
				o->buffers = w;
			}
		} else {
			o->size = (uint64_t)L->size[PY_S_TYPE];
		}
		break;
	case K_CODE:
		code_sizeof(c, o, ti);
		break;
	case K_FRAME:
		frame_sizeof(c, o);
		break;
	case K_GEN:
		gen_sizeof(c, o, ti);
		break;
	case K_DEQUE: /* deque_sizeof: every block in use */
		o->size = (uint64_t)ti->basicsize;
		v = rd(c, o->addr, PY_F_DQ_LEFTINDEX);
		w = (uint64_t)rd_signed(c, o->addr, PY_F_OB_SIZE);
		if (v < DEQUE_BLOCKLEN && w < MAX_ITEMS) {
			o->buffers = (v + w + DEQUE_BLOCKLEN - 1) /
				     DEQUE_BLOCKLEN * DEQUE_BLOCK_BYTES;
			o->size += o->buffers;
		}
		break;
	case K_BUFFERED: /* buffered_sizeof */
		o->size = (uint64_t)ti->basicsize;
		if (rd(c, o->addr, PY_F_BUF_BUFFER)) {
			v = rd(c, o->addr, PY_F_BUF_BUFFER_SIZE);
			if (v < MAX_ITEMS) {
				o->buffers = v;
				o->size += v;
			}
		}
		break;
	case K_ARRAY:
	case K_STRUCT:
	case K_NDARRAY:
		ext_sizeof(c, o, ti);
		break;
	default:
		o->size = default_sizeof(c, o, ti);
		if (ti->unfit != K_OTHER)
			c->ext_unsized[ti->unfit]++;
		break;
	}
	/*
	 * sys.getsizeof adds the pre-header (Python/sysmodule.c
	 * _PySys_GetSizeOf): <= 3.10 the GC head when _PyObject_IS_GC (for a
	 * type object: only heap types, via type_is_gc); 3.11+
	 * _PyType_PreHeaderSize except for static types.
	 */
	if (ti->kind == K_TYPE && !(rd(c, o->addr, PY_F_TP_FLAGS) & TPF_HEAPTYPE)) {
		if (L->minor >= 11 && ti->addr != c->known.type[K_TYPE])
			o->size += ti->preheader;
		return;
	}
	o->size += ti->preheader;
}
