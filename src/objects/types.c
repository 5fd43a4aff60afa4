#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A class hierarchy deeper than this is a cycle in garbage. */
#define MAX_BASES 64
#define MAX_MEMBERS 4096
#define MAX_TYPE_NAME 512

/* Built-in types by exported symbol (all are PyAPI_DATA, so present in
 * .dynsym even of stripped builds). */
static const struct {
	const char *sym;
	enum obj_kind kind;
} builtin_types[] = {
	{ "PyType_Type", K_TYPE },
	{ "PyBaseObject_Type", K_OBJECT },
	{ "PyList_Type", K_LIST },
	{ "PyTuple_Type", K_TUPLE },
	{ "PyDict_Type", K_DICT },
	{ "PyODict_Type", K_ODICT },
	/* 3.15's frozendict: a PyDictObject with its hash after it
	 * (Include/cpython/dictobject.h), sized and walked as a dict. */
	{ "PyFrozenDict_Type", K_DICT },
	{ "PySet_Type", K_SET },
	{ "PyFrozenSet_Type", K_SET },
	{ "PyUnicode_Type", K_STR },
	{ "PyBytes_Type", K_BYTES },
	{ "PyByteArray_Type", K_BYTEARRAY },
	{ "PyLong_Type", K_INT },
	{ "PyBool_Type", K_INT },
	{ "PyFloat_Type", K_FLOAT },
	{ "PyFunction_Type", K_FUNCTION },
	{ "PyCell_Type", K_CELL },
	{ "PyMethod_Type", K_METHOD },
	{ "PyCode_Type", K_CODE },
	{ "PyFrame_Type", K_FRAME },
	{ "PyGen_Type", K_GEN },
	{ "PyCoro_Type", K_GEN },
	{ "PyAsyncGen_Type", K_GEN },
	{ "PyModule_Type", K_MODULE },
	{ "_PyWeakref_RefType", K_WEAKREF },
	{ "_PyWeakref_ProxyType", K_WEAKREF },
	{ "_PyWeakref_CallableProxyType", K_WEAKREF },
	{ "PyCFunction_Type", K_CFUNCTION },
	{ "PyCMethod_Type", K_CFUNCTION },
	{ "_PyNone_Type", K_NONE },
	{ "PyGetSetDescr_Type", K_DESCR },
	{ "PyMemberDescr_Type", K_DESCR },
	{ "PyMethodDescr_Type", K_DESCR },
	{ "PyClassMethodDescr_Type", K_DESCR },
	{ "PyWrapperDescr_Type", K_DESCR },
	{ "PyTraceBack_Type", K_TRACEBACK },
	{ "PyStaticMethod_Type", K_SMETHOD },
	{ "PyClassMethod_Type", K_SMETHOD },
	{ "PyProperty_Type", K_PROPERTY },
	{ "PyMemoryView_Type", K_MEMORYVIEW },
	{ "_PyManagedBuffer_Type", K_MBUF },
};

/* Types known by tp_name: their objects are not exported (or are heap
 * types since 3.12/3.13), and their __sizeof__ needs their struct.  A type
 * whose tp_basicsize is not what extension.c expects is K_OTHER. */
static const struct {
	const char *name;
	enum obj_kind kind;
	int max_minor;                  /* the last 3.x that names it so */
	bool static_only;               /* a heap type may take the name */
} named_types[] = {
	{ "collections.deque", K_DEQUE, 99 },
	{ "_io.BufferedReader", K_BUFFERED, 99 },
	{ "_io.BufferedWriter", K_BUFFERED, 99 },
	{ "_io.BufferedRandom", K_BUFFERED, 99 },
	{ "array.array", K_ARRAY, 99 },
	{ "_struct.Struct", K_STRUCT, 99 },
	{ "Struct", K_STRUCT, 8 },      /* 3.7, 3.8: a static "Struct" */
	{ "numpy.ndarray", K_NDARRAY, 99 },
	/* Objects/memoryobject.c _PyManagedBuffer_Type: internal (3.12+
	 * pycore_memoryobject.h), so no symbol survives a strip; its name
	 * has no module, so only the static type is it. */
	{ "managedbuffer", K_MBUF, 99, true },
};

int known_init(struct census *c)
{
	struct known *k = &c->known;
	uint64_t addr, v;
	size_t i;
	/* 2.7: str is a PyStringObject, sized as bytes are; int a fixed
	 * PyIntObject, sized as a float is (no referents either); unicode is
	 * not 3.x's str (a separate buffer): left to the word scan, sized by
	 * its struct.  Old-style instances and classes have their own. */
	static const struct { const char *sym; enum obj_kind kind; }
	py27[] = { { "PyString_Type", K_BYTES },
		   { "PyInt_Type", K_FLOAT },
		   { "PyInstance_Type", K_INSTANCE },
		   { "PyClass_Type", K_CLASSOBJ },
		   { "PyUnicode_Type", K_UNICODE27 } };

	memset(k, 0, sizeof(*k));
	for (i = 0; i < PH_ARRAY_SIZE(builtin_types) + PH_ARRAY_SIZE(py27);
	     i++) {
		const char *sym;
		enum obj_kind kind;

		if (i >= PH_ARRAY_SIZE(builtin_types)) {
			if (c->p->major != 2)
				break;
			sym = py27[i - PH_ARRAY_SIZE(builtin_types)].sym;
			kind = py27[i - PH_ARRAY_SIZE(builtin_types)].kind;
		} else {
			sym = builtin_types[i].sym;
			kind = builtin_types[i].kind;
			if (c->p->major == 2 && kind == K_STR)
				continue;
		}
		if (objfile_sym(&c->p->elf, sym, &addr, NULL))
			continue;
		if (!k->type[kind])
			k->type[kind] = addr;
		else if (k->nextra < PH_ARRAY_SIZE(k->extra_types)) {
			k->extra_types[k->nextra] = addr;
			k->extra_kind[k->nextra++] = kind;
		}
	}
	/* 2.7 renames its unicode API by the width of Py_UNICODE
	 * (Include/unicodeobject.h: PyUnicode_FromString is
	 * PyUnicodeUCS2_FromString or PyUnicodeUCS4_FromString).  Without
	 * either, unicode is left to the word scan. */
	if (c->p->major == 2) {
		if (!objfile_sym(&c->p->elf, "PyUnicodeUCS4_FromString",
				 &addr, NULL))
			k->py_unicode_size = 4;
		else if (!objfile_sym(&c->p->elf, "PyUnicodeUCS2_FromString",
				      &addr, NULL))
			k->py_unicode_size = 2;
		if (!k->py_unicode_size ||
		    !py_has(c->L, PY_F_U27_LENGTH) ||
		    !py_has(c->L, PY_F_U27_STR) ||
		    !py_has(c->L, PY_F_U27_DEFENC))
			k->type[K_UNICODE27] = 0;
	}
	if (!k->type[K_TYPE] || !k->type[K_OBJECT])
		return ph_error(PH_E_NOTPYTHON, "%s has no PyType_Type",
				c->p->elf.path);
	/* PyAPI_DATA(PyObject *) PyExc_BaseException (Objects/exceptions.c):
	 * a pointer to the static type. */
	if (!objfile_sym(&c->p->elf, "PyExc_BaseException", &addr, NULL) &&
	    !target_read_u64(c->t, addr, &v) && v)
		k->type[K_EXC] = v;
	/* PyAPI_DATA(PyObject *) _PySet_Dummy (Objects/setobject.c): the
	 * marker in deleted set slots. */
	if (!objfile_sym(&c->p->elf, "_PySet_Dummy", &addr, NULL) &&
	    !target_read_u64(c->t, addr, &v))
		k->set_dummy = v;
	return 0;
}

static enum obj_kind kind_of_addr(const struct known *k, uint64_t t)
{
	size_t i;

	for (i = 0; i < K__COUNT; i++)
		if (k->type[i] == t)
			return (enum obj_kind)i;
	for (i = 0; i < k->nextra; i++)
		if (k->extra_types[i] == t)
			return k->extra_kind[i];
	return K__COUNT;
}

/* True if meta (the ob_type of a candidate type) is `type` or a subclass
 * of it.  Checked without tinfo_get() so that a garbage chain of pointers
 * cannot recurse: `type` itself, or a type-subclass whose own type is
 * `type` (metaclasses of metaclasses are accepted one level deeper). */
static bool is_metatype(struct census *c, uint64_t meta)
{
	uint64_t flags, mm;
	int depth;

	for (depth = 0; depth < 3; depth++) {
		if (meta == c->known.type[K_TYPE])
			return true;
		if (!meta || (meta & 7) ||
		    py_read_field(c->t, c->L, meta, PY_F_TP_FLAGS, &flags) ||
		    !(flags & TPF_TYPE_SUBCLASS) ||
		    py_read_field(c->t, c->L, meta, PY_F_OB_TYPE, &mm))
			return false;
		meta = mm;
	}
	return false;
}

static bool type_name_is(struct census *c, uint64_t t, const char *want)
{
	char name[64];
	uint64_t p;

	return !py_read_field(c->t, c->L, t, PY_F_TP_NAME, &p) &&
	       !target_read_cstr(c->t, p, name, sizeof(name)) &&
	       !strcmp(name, want);
}

/* Kinds whose layout a static C subclass starts with (C's rules for
 * tp_base) and whose __sizeof__ is the subclass's tp_basicsize plus what
 * the base part holds: collections.defaultdict (a static dict subclass in
 * 3.7-3.11), C subclasses of list, set, bytearray, deque. */
static bool inheritable(enum obj_kind k)
{
	return k == K_LIST || k == K_DICT || k == K_ODICT || k == K_SET ||
	       k == K_BYTEARRAY || k == K_DEQUE || k == K_EXC;
}

static enum obj_kind named_kind(struct census *c, uint64_t t)
{
	uint64_t flags;
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(named_types); i++)
		if (c->L->minor <= named_types[i].max_minor &&
		    type_name_is(c, t, named_types[i].name) &&
		    (!named_types[i].static_only ||
		     (!py_read_field(c->t, c->L, t, PY_F_TP_FLAGS, &flags) &&
		      !(flags & TPF_HEAPTYPE))))
			return named_types[i].kind;
	return K__COUNT;
}

/*
 * The kind of ti (ti->addr, ti->basicsize set) and where a conservative
 * scan of its objects starts (ti->scan_from).  Walking the tp_base chain,
 * the first type that is a known built-in (by address) or known by name
 * gives the kind.  A Python class's instances have the layout of its
 * nearest C base; a static type that is neither known nor a heap type is
 * an unknown C layout (K_OTHER), unless a known container kind comes
 * below it: then its objects are that container with fields added after
 * the base's tp_basicsize, sized by the base's rules (with the subclass's
 * tp_basicsize, as the base's __sizeof__ does) and the added fields
 * scanned conservatively.  A static subclass that defines __sizeof__ of
 * its own stays K_OTHER: its size would be a guess.  (Only the most
 * derived static type's tp_dict is asked; 3.12+ keep static builtin
 * types' dicts elsewhere, but no builtin dict or list subclass is static
 * there: collections.defaultdict became a heap type in 3.12.)
 */
static void resolve_kind(struct census *c, struct tinfo *ti)
{
	uint64_t t = ti->addr, ext = 0, flags, base, v;
	int64_t ext_size = 0;
	enum obj_kind k = K__COUNT;
	int depth;

	ti->kind = K_OTHER;
	ti->scan_from = 16;
	for (depth = 0; t && depth < MAX_BASES; depth++) {
		k = kind_of_addr(&c->known, t);
		if (k == K__COUNT)
			k = named_kind(c, t);
		if (k != K__COUNT)
			break;
		if (py_read_field(c->t, c->L, t, PY_F_TP_FLAGS, &flags) ||
		    py_read_field(c->t, c->L, t, PY_F_TP_BASE, &base))
			return;
		if (!(flags & TPF_HEAPTYPE) && !ext) {
			/* The most derived static unknown type: its
			 * basicsize ends the fields to scan. */
			ext = t;
			if (py_read_field(c->t, c->L, t, PY_F_TP_BASICSIZE,
					  &v))
				return;
			ext_size = (int64_t)v;
		}
		t = base;
	}
	if (k == K__COUNT ||
	    py_read_field(c->t, c->L, t, PY_F_TP_BASICSIZE, &v))
		return;
	/* extension.c's sizes are a GIL build's: a free-threaded header is
	 * 16 bytes longer, and the fields follow it.  numpy's dtype is an
	 * object too, whose fields ext_check_ndarray() reads at GIL offsets:
	 * a free-threaded ndarray stays unsized rather than misread. */
	if (!ext_layout_ok(k, (int64_t)v - (c->L->size[PY_S_OBJECT] - 16)) ||
	    (c->L->free_threaded && k == K_NDARRAY)) {
		/* An extension type sized by its struct is unsized without
		 * it; a built-in layout (exceptions, descriptors) is still
		 * sized by its basicsize, its references scanned. */
		if (k == K_ARRAY || k == K_STRUCT || k == K_NDARRAY)
			ti->unfit = k;
		return;
	}
	if (ext) {
		uint64_t dict;

		if (!inheritable(k) || (int64_t)v > ext_size ||
		    py_read_field(c->t, c->L, ext, PY_F_TP_DICT, &dict) ||
		    (dict && dict_get_str(c, dict, "__sizeof__")))
			return;
		ti->kind = k;
		ti->scan_from = (int64_t)v < ext_size ? (int64_t)v : 0;
		return;
	}
	ti->kind = k;
	ti->scan_from = 0;
}

/* The label of a slot: its member's name (PyMemberDef.name, a C string;
 * for __slots__ the slot's identifier, no user data), or 0. */
static uint32_t slot_label(struct census *c, uint64_t name)
{
	char buf[65];

	if (c->labels == LABELS_NONE ||
	    target_read_cstr(c->t, name, buf, sizeof(buf)) || !buf[0])
		return 0;
	return snapshot_cstring(c->s, buf);
}

/* Object members (T_OBJECT 6, T_OBJECT_EX 16; Include/descrobject.h,
 * structmember.h before 3.12) of heap types in the chain: __slots__. */
static void collect_slots(struct census *c, struct tinfo *ti, uint64_t t)
{
	int64_t msize = c->L->size[PY_S_MEMBERDEF];
	int depth;

	if (msize <= 0)
		return;
	for (depth = 0; t && depth < MAX_BASES; depth++) {
		uint64_t flags, members, base, weakoff = 0, dictoff = 0;
		unsigned i;

		if (py_read_field(c->t, c->L, t, PY_F_TP_FLAGS, &flags) ||
		    !(flags & TPF_HEAPTYPE))
			break; /* static bases are handled by their kind */
		py_read_field(c->t, c->L, t, PY_F_TP_WEAKLISTOFFSET, &weakoff);
		py_read_field(c->t, c->L, t, PY_F_TP_DICTOFFSET, &dictoff);
		if (!py_read_field(c->t, c->L, t, PY_F_TP_MEMBERS, &members) &&
		    members) {
			for (i = 0; i < MAX_MEMBERS; i++) {
				uint64_t m = members + i * (uint64_t)msize;
				uint64_t name, type, off;
				size_t k;

				if (py_read_field(c->t, c->L, m, PY_F_MD_NAME,
						  &name) || !name ||
				    py_read_field(c->t, c->L, m, PY_F_MD_TYPE,
						  &type) ||
				    py_read_field(c->t, c->L, m, PY_F_MD_OFFSET,
						  &off))
					break;
				type &= 0xffffffffu;
				if ((type != 6 && type != 16) ||
				    (int64_t)off <= 0 || off >= (1u << 20) ||
				    off == weakoff || off == dictoff)
					continue;
				for (k = 0; k < ti->nslots; k++)
					if (ti->slots[k] == (int64_t)off)
						break;
				if (k < ti->nslots)
					continue;
				ti->slots = xrealloc(ti->slots,
					(ti->nslots + 1) * sizeof(*ti->slots));
				ti->slot_labels = xrealloc(ti->slot_labels,
					(ti->nslots + 1) *
					sizeof(*ti->slot_labels));
				ti->slot_labels[ti->nslots] =
					slot_label(c, name);
				ti->slots[ti->nslots++] = (int64_t)off;
			}
		}
		if (py_read_field(c->t, c->L, t, PY_F_TP_BASE, &base))
			break;
		t = base;
	}
}

/* Bytes before the object in its allocation (INTERNALS §4.2):
 * _PyType_PreHeaderSize() in 3.11+, the GC head before. */
static uint32_t preheader_of(const struct census *c, uint64_t flags)
{
	const struct py_layout *L = c->L;
	/* A free-threaded build has no GC head (pycore_object.h
	 * _PyType_PreHeaderSize: #ifndef Py_GIL_DISABLED). */
	uint32_t gc = (flags & TPF_HAVE_GC) && !L->free_threaded ?
		      (uint32_t)L->size[PY_S_GCHEAD] : 0;

	if (L->minor >= 12 &&
	    (flags & (TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF)))
		return gc + 16;
	if (L->minor == 11 && (flags & TPF_MANAGED_DICT))
		return gc + 16;
	return gc;
}

/* 2.7 readies some static types only when first asked about
 * (method_descriptor, classmethod_descriptor, static there: their objects
 * exist, made while other types were readied).  Such a type needs no
 * READY flag if it lies in the interpreter's own ELF mapping, as a static
 * type does. */
static bool unready_27(struct census *c, uint64_t addr)
{
	const struct map *m;

	if (c->p->major != 2 || addr < c->p->elf.map_start ||
	    addr >= c->p->elf.map_end)
		return false;
	m = maps_find(&c->t->maps, addr);
	return m && m->path && c->p->elf.path &&
	       !strcmp(m->path, c->p->elf.path);
}

int64_t tinfo_get(struct census *c, uint64_t addr)
{
	const struct py_layout *L = c->L;
	struct py_obj o;
	struct tinfo ti;
	uint64_t v, meta;
	int64_t basicsize, itemsize;

	if (u64map_get(&c->type_index, addr, &v))
		return v == NOT_TYPE ? -1 : (int64_t)v;
	if (!addr || (addr & 7))
		return -1;
	/* Most words asked about are not types (the census tries the word
	 * after every block's start): refuse those on their ob_type alone,
	 * one small read, and remember only what looked like a type.
	 * Remembering every refusal grew the index by an entry per block
	 * (16 MiB at a million objects) for lookups that missed the cache
	 * as often as this read does. */
	if (py_read_field(c->t, L, addr, PY_F_OB_TYPE, &meta) ||
	    !is_metatype(c, meta))
		return -1;
	if (py_read_struct(c->t, L, PY_S_TYPE, addr, &o) ||
	    py_get_u64(L, &o, PY_F_TP_FLAGS, &ti.flags) ||
	    (!(ti.flags & TPF_READY) && !unready_27(c, addr)) ||
	    py_get_i64(L, &o, PY_F_TP_BASICSIZE, &basicsize) ||
	    py_get_i64(L, &o, PY_F_TP_ITEMSIZE, &itemsize) ||
	    basicsize < 16 || basicsize > (1 << 24) || itemsize < 0 ||
	    itemsize > (1 << 16)) {
		u64map_put(&c->type_index, addr, NOT_TYPE);
		return -1;
	}
	memset(&ti, 0, sizeof(ti));
	ti.addr = addr;
	py_get_u64(L, &o, PY_F_TP_FLAGS, &ti.flags);
	ti.basicsize = basicsize;
	ti.itemsize = itemsize;
	py_get_i64(L, &o, PY_F_TP_DICTOFFSET, &ti.dictoffset);
	ti.dict = py_get_ptr(L, &o, PY_F_TP_DICT);
	ti.heap = ti.flags & TPF_HEAPTYPE;
	ti.gc = ti.flags & TPF_HAVE_GC;
	ti.preheader = preheader_of(c, ti.flags);
	resolve_kind(c, &ti);
	ti.snap_type = -1;
	if (ti.heap) {
		py_read_field(c->t, L, addr, PY_F_HT_CACHED_KEYS,
			      &ti.cached_keys);
		collect_slots(c, &ti, addr);
	}
	PH_GROW(c->tinfos, c->tinfos_alloc, c->ntinfos + 1);
	c->tinfos[c->ntinfos] = ti;
	u64map_put(&c->type_index, addr, c->ntinfos);
	return (int64_t)c->ntinfos++;
}

/*
 * 2.7's old-style instances all have the type instance (PyInstance_Type):
 * a census by type would lump every class together.  Like type() does for
 * new-style classes, each class gets a tinfo of its own, a copy of
 * instance's with the class's address: the snapshot names the class
 * (Include/classobject.h PyInstanceObject.in_class, checked to point at an
 * object of type classobj).
 */
int64_t tinfo_oldclass(struct census *c, int64_t t, uint64_t inst)
{
	uint64_t cls, v;
	struct tinfo ti;

	if (!py_has(c->L, PY_F_IN_CLASS) || !c->known.type[K_CLASSOBJ] ||
	    py_read_field(c->t, c->L, inst, PY_F_IN_CLASS, &cls) || !cls ||
	    (cls & 7) || rd(c, cls, PY_F_OB_TYPE) != c->known.type[K_CLASSOBJ])
		return t;
	if (u64map_get(&c->oldclass_index, cls, &v))
		return (int64_t)v;
	ti = c->tinfos[t];
	ti.oldclass = cls;
	ti.snap_type = -1;
	PH_GROW(c->tinfos, c->tinfos_alloc, c->ntinfos + 1);
	c->tinfos[c->ntinfos] = ti;
	u64map_put(&c->oldclass_index, cls, c->ntinfos);
	return (int64_t)c->ntinfos++;
}

/* An old-style class's "module.name" (classobject.c class_repr: cl_name
 * and __module__ from cl_dict). */
static bool oldclass_name(struct census *c, const struct tinfo *ti,
			  struct strbuf *name, struct strbuf *module)
{
	uint64_t dict = rd(c, ti->oldclass, PY_F_CL_DICT);
	uint64_t mod = dict ? dict_get_str(c, dict, "__module__") : 0;
	size_t mark = module->len;
	struct strbuf n = STRBUF_INIT;

	if (!mod || py_read_str(c->p, mod, module, MAX_TYPE_NAME))
		strbuf_setlen(module, mark);
	if (py_read_str(c->p, rd(c, ti->oldclass, PY_F_CL_NAME), &n,
			MAX_TYPE_NAME)) {
		strbuf_release(&n);
		return false;
	}
	if (module->len && strcmp(module->buf, "__builtin__"))
		strbuf_addf(name, "%s.%s", module->buf, n.buf);
	else
		strbuf_addstr(name, n.buf);
	strbuf_release(&n);
	return true;
}

void tinfo_name(struct census *c, const struct tinfo *ti, struct strbuf *name,
		struct strbuf *module)
{
	char buf[MAX_TYPE_NAME];
	uint64_t p;

	if (ti->oldclass) {
		if (oldclass_name(c, ti, name, module))
			return;
		strbuf_reset(module);
	}
	if (ti->heap) {
		/* type.__repr__: module from __module__ in the type's dict,
		 * name from ht_qualname (Objects/typeobject.c type_repr). */
		uint64_t mod = ti->dict ? dict_get_str(c, ti->dict,
							"__module__") : 0;
		size_t mark = module->len;

		if (!mod || py_read_str(c->p, mod, module, MAX_TYPE_NAME))
			strbuf_setlen(module, mark);
		/* 2.7 has no qualname: ht_name, its __name__. */
		if (!py_read_field(c->t, c->L, ti->addr,
				   py_has(c->L, PY_F_HT_QUALNAME) ?
				   PY_F_HT_QUALNAME : PY_F_HT_NAME, &p) &&
		    !py_read_str(c->p, p, name, MAX_TYPE_NAME)) {
			if (module->len && strcmp(module->buf, "builtins") &&
			    strcmp(module->buf, "__builtin__")) {
				struct strbuf full = STRBUF_INIT;

				strbuf_addf(&full, "%s.%s", module->buf,
					    name->buf);
				strbuf_reset(name);
				strbuf_add(name, full.buf, full.len);
				strbuf_release(&full);
			}
			return;
		}
		strbuf_reset(name);
	}
	/* Static types: tp_name is "module.Name" or a builtin's "name". */
	if (py_read_field(c->t, c->L, ti->addr, PY_F_TP_NAME, &p) ||
	    target_read_cstr(c->t, p, buf, sizeof(buf))) {
		strbuf_addf(name, "[type at %#llx]",
			    (unsigned long long)ti->addr);
		return;
	}
	strbuf_addstr(name, buf);
	if (!module->len) {
		const char *dot = strrchr(buf, '.');

		if (dot)
			strbuf_add(module, buf, (size_t)(dot - buf));
		else
			strbuf_addstr(module, "builtins");
	}
}

void tinfo_release_all(struct census *c)
{
	size_t i;

	for (i = 0; i < c->ntinfos; i++) {
		free(c->tinfos[i].slots);
		free(c->tinfos[i].slot_labels);
	}
	free(c->tinfos);
	c->tinfos = NULL;
	c->ntinfos = c->tinfos_alloc = 0;
	u64map_release(&c->type_index);
	u64map_release(&c->oldclass_index);
}
