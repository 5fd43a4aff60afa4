/*
 * Private to objects/: the census under construction, shared by census.c
 * (discovery, validation, assembly), types.c (type objects), dict.c (dict
 * layouts) and kinds.c (per-kind sizes and referents).
 */
#ifndef PYHEAP_OBJECTS_INTERNAL_H
#define PYHEAP_OBJECTS_INTERNAL_H

#include "../base/hashmap.h"
#include "../heap/heap.h"
#include "objects.h"

/* What an object is, as far as sizes and referents go: the nearest
 * built-in type in its type's tp_base chain. */
enum obj_kind {
	K_OTHER = 0,  /* unknown C type: conservative scan */
	K_OBJECT,     /* object and plain Python classes */
	K_TYPE, K_LIST, K_TUPLE, K_DICT, K_ODICT, K_SET, K_STR, K_BYTES,
	K_BYTEARRAY, K_INT, K_FLOAT, K_FUNCTION, K_CELL, K_METHOD, K_CODE,
	K_FRAME, K_GEN, K_MODULE, K_WEAKREF, K_DEQUE, K_BUFFERED, K_CFUNCTION,
	K_NONE,
	K_DESCR,      /* getset, member, method, classmethod, wrapper
		       * descriptors (PyDescr_COMMON) */
	K_TRACEBACK,  /* traceback */
	K_EXC,        /* BaseException and its static subclasses */
	K_SMETHOD,    /* staticmethod, classmethod */
	K_PROPERTY,   /* property */
	K_MEMORYVIEW, /* memoryview */
	K_MBUF,       /* managedbuffer, a memoryview's exporter record */
	K_ARRAY,      /* array.array (extension.c) */
	K_STRUCT,     /* _struct.Struct (extension.c) */
	K_NDARRAY,    /* numpy.ndarray (extension.c) */
	K_INSTANCE,   /* 2.7: an old-style instance (classobject.h) */
	K_CLASSOBJ,   /* 2.7: an old-style class */
	K_UNICODE27,  /* 2.7: unicode, its Py_UNICODE buffer apart */
	K__COUNT
};

/* Python 3 tp_flags bits (Include/object.h, same 3.7-3.13 unless noted). */
#define TPF_MANAGED_DICT (1ul << 4)     /* 3.11+ */
#define TPF_MANAGED_WEAKREF (1ul << 3)  /* 3.12+ */
#define TPF_INLINE_VALUES (1ul << 2)    /* 3.13 */
#define TPF_HEAPTYPE (1ul << 9)
#define TPF_READY (1ul << 12)
#define TPF_HAVE_GC (1ul << 14)
#define TPF_TYPE_SUBCLASS (1ul << 31)

struct tinfo {
	uint64_t addr;
	enum obj_kind kind;
	uint64_t flags;             /* tp_flags */
	int64_t basicsize, itemsize;
	int64_t dictoffset;
	uint32_t preheader;         /* bytes before the object in its block */
	bool heap, gc;
	uint64_t cached_keys;       /* ht_cached_keys (split-dict keys) */
	uint64_t dict;              /* tp_dict */
	/* __slots__ and other object members (T_OBJECT / T_OBJECT_EX) of
	 * this heap type and its heap-type bases: offsets into the object. */
	int64_t *slots;
	size_t nslots;
	/* Each slot's name as an edge label: a string id of the snapshot
	 * (the member's name), 0 for none (unreadable, or snap --labels
	 * none). */
	uint32_t *slot_labels;
	/* Where a conservative word scan of its objects starts (it ends at
	 * the object's own struct's end): 16 for K_OTHER; for a static
	 * subclass of a known container (collections.defaultdict, a dict)
	 * the base's tp_basicsize, so that only the fields the subclass
	 * adds are scanned; 0 when the kind's referents are complete. */
	int64_t scan_from;
	/* A kind known by name (K_ARRAY...) whose struct did not fit
	 * (extension.c ext_layout_ok): kind is K_OTHER, and its objects are
	 * counted as unsized; K_OTHER if none. */
	enum obj_kind unfit;
	int32_t snap_type;          /* index in the snapshot's types, -1 */
	/* 2.7: the instances of one old-style class (kind K_INSTANCE, addr
	 * PyInstance_Type's), reported as that class: its address; else 0
	 * (types.c tinfo_oldclass). */
	uint64_t oldclass;
};

struct cobj {
	uint64_t addr;
	uint32_t tinfo;
	uint32_t flags;             /* OBJ_* */
	uint64_t size, buffers;
	int64_t refcnt;
	/* References to it the census can account for: edges from objects
	 * that own them (counted with multiplicity) and roots that own
	 * them (refcount.c). */
	uint32_t owned;
	int64_t unexplained, gc_refs; /* snap_object's */
};

struct cedge {
	uint32_t src, dst;          /* cobj indices */
	uint32_t owned : 1;         /* owns a reference (census.c) */
	uint32_t untraversed : 1;   /* the owner's tp_traverse skips it */
	uint32_t label : 30;        /* snapshot.h edge_label: < 2^30 */
};

/* Reasons a candidate is rejected (stats "census.skipped.<name>"). */
#define SKIP_REASONS(X) \
	X(UNREADABLE, "unreadable") \
	X(MISALIGNED, "misaligned") \
	X(NOT_A_TYPE, "bad_type") \
	X(REFCNT_ZERO, "refcount_zero") \
	X(REFCNT_BAD, "refcount_bad") \
	X(PREHEADER, "preheader_mismatch") \
	X(FREE_BLOCK, "free_block") \
	X(TOO_BIG, "size_exceeds_block") \
	X(BAD_SIZE, "bad_ob_size") \
	X(EMPTY_BLOCK, "no_object_in_block") \
	X(GC_HEAD, "bad_gc_head") \
	X(STALE_TUPLE, "untracked_tuple_holds_tracked")

enum skip_reason {
#define SKIP_ENUM(id, name) SKIP_##id,
	SKIP_REASONS(SKIP_ENUM)
#undef SKIP_ENUM
	SKIP__COUNT
};

/* The positional part of the object index (index.c): pools by address,
 * then one slot per carved block, object index + 1 or 0. */
struct obj_pos {
	struct u64map pools;        /* pool address -> heap.pools index */
	uint32_t *first;            /* npools + 1: pool p's first slot */
	uint32_t *slot;
	size_t nslots;
	uint64_t mask;              /* ~(pool_size - 1) */
	bool unaligned;             /* some pool is not in pools */
};

/* Static objects and types the census recognises by address. */
struct known {
	uint64_t type[K__COUNT];    /* the built-in type of each kind */
	uint64_t extra_types[16];   /* more built-ins mapped to a kind */
	enum obj_kind extra_kind[16];
	size_t nextra;
	uint64_t set_dummy;         /* *_PySet_Dummy */
	unsigned py_unicode_size;   /* 2.7: sizeof(Py_UNICODE), 2 or 4 */
};

struct census {
	struct pyproc *p;
	struct target *t;
	const struct py_layout *L;
	struct snapshot *s;
	struct pymalloc_heap heap;
	struct mimalloc_heap mi;    /* a free-threaded build's (else empty) */
	struct malloc_heap malloc;
	struct known known;

	struct u64map type_index;   /* type addr -> tinfo index, or NOT_TYPE */
	struct u64map oldclass_index; /* 2.7 classobj addr -> tinfo index */
	struct tinfo *tinfos;
	size_t ntinfos, tinfos_alloc;

	/* The object index (index.c): object addr -> cobj index, by
	 * position for pymalloc blocks (pos), hashed for the rest; ask it
	 * through census_lookup(). */
	struct obj_pos pos;
	struct u64map obj_index;
	/* Per used pymalloc block (heap.used[] order): 1 once a known
	 * object lives in it.  seed_blocks() asks this instead of the
	 * object index: sequential, no cache miss per block. */
	uint8_t *block_known;
	/* The objects, until census_assemble(): then the same memory becomes the
	 * snapshot's rows (s->objects, in address order, one table and not
	 * two), objs is NULL, the index answers snapshot ids and
	 * census_obj_tinfo() maps a row to its tinfo. */
	struct cobj *objs;
	size_t nobjs, objs_alloc;
	uint32_t *type_tinfo;       /* snapshot type id -> tinfo index */

	uint32_t *work;             /* objects whose referents are pending */
	size_t nwork, work_alloc;

	struct cedge *edges;        /* unsorted while building */
	size_t nedges, edges_alloc;

	uint64_t skipped[SKIP__COUNT];
	uint64_t gc_tracked, gc_list_breaks, gc_list_invalid, permanent;
	uint64_t refs_dropped;      /* referents that were not valid objects */
	bool inconsistent;
	/* census_edge() records edges that own no reference (a split
	 * dict's shared keys, a 3.11+ frame's f_back): not counted in
	 * cobj.owned. */
	bool borrowing;
	/* census_edge() records edges the owner's tp_traverse does not
	 * report (a heap type's __slots__ tuple): gc_refs keeps them. */
	bool untraversed;
	/* Edge labels (snapshot.h edge_label): which str keys name dict
	 * entries, and the keys read so far (str address -> string id + 1,
	 * or 0 for a key that gives no label). */
	enum census_labels labels;
	struct u64map key_labels;
	uint32_t field_labels[PY_F__COUNT]; /* string id + 1, 0 unknown */
	/* framelabels.c: per (code object, holder), the labels of a
	 * frame's slots: a map to an index into flabels. */
	struct u64map frame_labels;
	struct frame_slot_labels {
		uint32_t n;
		uint32_t *label;
	} *flabels;
	size_t nflabels, flabels_alloc;
	/* Generator-like types seen, with their holder (frame_holder_of). */
	struct { uint64_t type; uint32_t holder; } holders[8];
	size_t nholders;
	struct { const char *name; uint32_t id; } named[32]; /* referents.c
							      * edge_named */
	size_t nnamed;
	/* Refcount arithmetic over the objects (census.c). */
	uint64_t rc_arith, rc_not_arith, rc_negative, rc_negative_refs,
		 rc_unexplained, rc_unexplained_refs;
	/* CPython's debug hooks on its allocators (PYTHONMALLOC=debug,
	 * -X dev, debug builds) put this many bytes before every
	 * allocation: 0 or 16 (census.c find_debug_hooks). */
	uint32_t debug_hdr;
	/* References examined (census.c "Budget"): at most refs_budget (0:
	 * no limit, for tests of parts of the census), those past it
	 * dropped and counted in refs_over. */
	uint64_t refs_seen, refs_budget, refs_over;
	/* Objects of the extension kinds whose fields (or type's struct)
	 * failed extension.c's checks: sized without what they own. */
	uint64_t ext_unsized[K__COUNT];
};

/* Where the allocation (pymalloc block or malloc user memory) that holds
 * the object at addr of type ti starts: before its pre-header (GC head,
 * managed dict) and any debug-hook header. */
static inline uint64_t census_alloc_start(const struct census *c,
					  uint64_t addr, const struct tinfo *ti)
{
	return addr - ti->preheader - c->debug_hdr;
}

#define NOT_TYPE UINT64_MAX - 1

/* Bounds on counts read from objects: no list, tuple, set, array or str
 * in a process has more items than this, and no frame more slots. */
#define MAX_ITEMS (1ull << 31)
#define MAX_SLOTS (1u << 16)
/* collections.deque keeps its items in blocks of BLOCKLEN (64) pointers
 * between a left and a right link (Modules/_collectionsmodule.c: struct
 * BLOCK {leftlink; data[64]; rightlink}), unchanged since 3.5. */
#define DEQUE_BLOCKLEN 64

/* A field of the object at base (0 if it cannot be read), sign-extended
 * with rd_signed; a tuple's length (0 unless sane). */
static inline uint64_t rd(struct census *c, uint64_t base, enum py_field f)
{
	uint64_t v;

	return py_read_field(c->t, c->L, base, f, &v) ? 0 : v;
}

static inline int64_t rd_signed(struct census *c, uint64_t base, enum py_field f)
{
	uint64_t v;
	unsigned w = c->L->width[f];

	if (py_read_field(c->t, c->L, base, f, &v))
		return 0;
	if (w < 8 && (v >> (w * 8 - 1)) & 1)
		v |= ~0ull << (w * 8);
	return (int64_t)v;
}

static inline uint64_t tuple_len(struct census *c, uint64_t tup)
{
	int64_t n;

	if (!tup)
		return 0;
	n = rd_signed(c, tup, PY_F_OB_SIZE);
	return n > 0 && (uint64_t)n < MAX_ITEMS ? (uint64_t)n : 0;
}


/* census.c */
/* Validate the object at addr (INTERNALS §4.3): its tinfo index with
 * *flags, *refcnt and *blk (its index in heap.used, or SIZE_MAX) filled;
 * -1 with *why set if it is not one. */
int64_t census_validate(struct census *c, uint64_t addr, uint32_t *flags,
			int64_t *refcnt, size_t *blk, enum skip_reason *why);
/* Add a validated object (and queue it for its referents): its index. */
uint32_t census_add_object(struct census *c, uint64_t addr, int64_t t,
			   uint32_t flags, int64_t refcnt, size_t blk);
/* The bytes of o a conservative scan reads, [*from, *to) from its
 * address: its own struct (size less buffers and pre-header, at most max)
 * from its type's scan_from on. */
void census_scan_range(const struct tinfo *ti, uint64_t size,
		       uint64_t buffers, uint64_t max, uint64_t *from,
		       uint64_t *to);
/* The object at addr: its index, adding (and queueing) it if it is a valid
 * object not seen before; -1 if it is not one (the reason is counted). */
int64_t census_ref(struct census *c, uint64_t addr);
/* census_ref() plus an edge from src when it is an object.  Each call
 * spends one reference of the budget. */
void census_edge(struct census *c, uint32_t src, uint64_t addr);
/* The same with a label (snapshot.h EDGE_LABEL_*; 0 none). */
void census_edge_l(struct census *c, uint32_t src, uint64_t addr,
		   uint32_t label);

/* References the budget still allows: callers reading an array of them
 * read no more than this. */
static inline uint64_t census_refs_left(const struct census *c)
{
	if (!c->refs_budget)
		return UINT64_MAX;
	return c->refs_seen < c->refs_budget ? c->refs_budget - c->refs_seen :
	       0;
}

/* finalizers.c: on 2.7, OBJ_LEGACY_FINALIZER on each tracked object
 * its collector would not free in a cycle (or that cannot be read), and
 * the stats gc.legacy_finalizers and gc.legacy_unknown; nothing on 3.x.
 * Before census_assemble(). */
void census_legacy_finalizers(struct census *c);

/* assemble.c: the census as the snapshot's objects (address order),
 * types and edges, every id renumbered; objs becomes s->objects. */
void census_assemble(struct census *c);

/* After census_assemble(): the tinfo of snapshot object i. */
static inline const struct tinfo *census_obj_tinfo(const struct census *c,
						   size_t i)
{
	return &c->tinfos[c->type_tinfo[c->s->objects[i].type]];
}

/* index.c: the object index.  census_index_init() after the pymalloc
 * walk; census_lookup() finds a known object's index (idx may be NULL);
 * census_index_put() records one; census_prefetch() starts loading where
 * a lookup of addr will look; census_order() lists every object's index
 * in address order (the caller frees it). */
void census_index_init(struct census *c);
/* census_assemble(): every index entry from census index to snapshot id. */
void census_index_renumber(struct census *c, const uint32_t *newid);
void census_index_release(struct census *c);
bool census_lookup(const struct census *c, uint64_t addr, uint64_t *idx);
void census_index_put(struct census *c, uint64_t addr, uint32_t idx);
void census_prefetch(const struct census *c, uint64_t addr);
uint32_t *census_order(const struct census *c);
/* The pool with used blocks that holds addr, or NULL: the index's hash
 * of pools instead of a binary search. */
const struct pymalloc_pool *census_pool_of(const struct census *c,
					   uint64_t addr);

/* leaks.c: the native-leak scan (snapshot.h enum chunk_reach) over the
 * classified chunks, with the threads' registers and stack pointers from
 * the stop; it sets SNAP_LEAKS and the leaks.* stats.  leaks_sig.c: the
 * signature of each lost clique (reach and clique: per chunk, its class
 * and an indirect chunk's leader). */
void census_leaks(struct census *c, const struct target_thread *threads,
		  size_t nthreads, const struct py_stacks *st);
void leaks_signatures(struct census *c, const uint8_t *reach,
		      const uint32_t *clique);

/* leaks_skip.c: what the scan's region pass leaves out, sorted by start
 * (may overlap); the counts go to the leaks.* stats. */
struct lk_range {
	uint64_t start, end;
};
struct lk_skip_stats {
	uint64_t datastack_chunks; /* 3.11+ data stack chunks */
	uint64_t static_tails;     /* objects in ELF data with a data tail */
};
bool leaks_data_tail(enum obj_kind kind);
bool leaks_anonymous_map(const struct map *m);
struct lk_range *leaks_exclusions(struct census *c, const struct py_stacks *st,
				  const struct lk_range *segs, size_t nsegs,
				  size_t *n, struct lk_skip_stats *stats);

/* refcount.c: each object's unexplained references and gc_refs, and the
 * refcount.* counts (census.c runs it after the last phase). */
void census_refcounts(struct census *c);

/* roots.c: phase A, the roots (interpreter dicts, thread dicts and frames)
 * and the GC generation lists, walked for at most max_steps links each. */
void seed_roots(struct census *c, const struct py_stacks *st);
void seed_gc(struct census *c, uint64_t max_steps);

/* memory.c */
/* fn(ctx, p) for a pointer into every buffer the object owns (list items,
 * dict keys and values, set tables, str and bytearray data, deque blocks,
 * io buffers, split values). */
void census_for_each_buffer(struct census *c, uint64_t addr,
			    const struct tinfo *ti,
			    void (*fn)(void *ctx, uint64_t p), void *ctx);
/* Phases B and C: candidates from the pymalloc blocks no object explains. */
void seed_blocks(struct census *c);
void seed_mimalloc(struct census *c);
/* Phase E: objects in malloc chunks no object owns (after glibc_walk). */
void seed_chunks(struct census *c);
/* After assembly: each chunk's owner and kind into the snapshot. */
void classify_chunks(struct census *c);

/* types.c */
/* The tinfo of a type object at addr, validating and caching it; -1 if
 * addr is not a type. */
int64_t tinfo_get(struct census *c, uint64_t addr);
/* 2.7: for the instance at inst whose tinfo is t (kind K_INSTANCE), the
 * tinfo of its old-style class's instances (made on first use); t when
 * its class is no classobj. */
int64_t tinfo_oldclass(struct census *c, int64_t t, uint64_t inst);
/* Report name and module of a type (for the snapshot). */
void tinfo_name(struct census *c, const struct tinfo *ti, struct strbuf *name,
		struct strbuf *module);
void tinfo_release_all(struct census *c);
int known_init(struct census *c);

/* referents.c: an identifier, or a dotted module name: what names
 * attributes, globals, modules and variables, and not what a program's
 * data looks like. */
bool identifier_like(const char *s, size_t n);
/* labels.c: a str key's label (a string id, 0 for none), the label of a
 * dict entry's value edge (its key), of a field, and the edges of n
 * pointers at addr labelled by the names given. */
uint32_t census_key_label(struct census *c, uint64_t key, uint64_t value);
uint32_t key_label(struct census *c, uint64_t key, uint64_t value);
uint32_t field_label(struct census *c, enum py_field f);
void edge_named(struct census *c, uint32_t src, uint64_t addr,
		const char *const *names, size_t n);
/* The object a frame slot or field names: a plain pointer before 3.14, a
 * _PyStackRef after (tag bits off; 0 for a tagged int or NULL). */
uint64_t stackref_addr(const struct census *c, uint64_t v);

/* framelabels.c: labels for the local variables of frames nothing runs.
 * The holder of a frame's slots: a frame object, or the generator,
 * coroutine or async generator that embeds it (3.11+). */
enum frame_holder {
	FRAME_HOLDER_NONE,
	FRAME_HOLDER_FRAME,
	FRAME_HOLDER_GEN,
	FRAME_HOLDER_CORO,
	FRAME_HOLDER_ASYNCGEN,
};
enum frame_holder frame_holder_of(struct census *c, uint32_t obj);
/* Slot i's edge label (0: none) for i < *n, for a frame running code
 * object co held by h; NULL and *n = 0 without labels.  Cached. */
const uint32_t *frame_slot_labels(struct census *c, uint64_t co,
				  enum frame_holder h, uint32_t *n);
void frame_labels_release(struct census *c);

/* dict.c */
/* Call fn(ctx, key, value) for each entry of the dict object at addr (any
 * layout); values may be 0 for deleted entries of split tables (skipped).
 * Returns the number of entries visited, or a negative error. */
int dict_foreach(struct census *c, uint64_t addr,
		 void (*fn)(void *ctx, uint64_t key, uint64_t value),
		 void *ctx);
/* fn(ctx, key, key) for each key of a split table's shared keys (a heap
 * type's ht_cached_keys). */
int dict_keys_foreach(struct census *c, uint64_t keys,
		      void (*fn)(void *ctx, uint64_t key, uint64_t value),
		      void *ctx);
/* The same for split values (3.11+) given the shared keys and a values
 * pointer (PyDictValues *). */
int dict_values_foreach(struct census *c, uint64_t keys, uint64_t values,
			void (*fn)(void *ctx, uint64_t key, uint64_t value),
			void *ctx);
/* dict.__sizeof__ (Objects/dictobject.c _PyDict_SizeOf) for the dict at
 * addr whose type has basicsize; *buffers = keys + values bytes. */
int dict_sizeof(struct census *c, uint64_t addr, int64_t basicsize,
		uint64_t *size, uint64_t *buffers);
/* _PyDict_KeysSize(keys) */
int dict_keys_size(struct census *c, uint64_t keys, uint64_t *size);
/* Look up a str key (UTF-8 bytes) in the dict at addr: its value or 0. */
uint64_t dict_get_str(struct census *c, uint64_t dict, const char *key);

/* extension.c: extension types whose __sizeof__ counts memory they own */
/* True if a type known by name as kind K_ARRAY, K_STRUCT or K_NDARRAY has
 * a tp_basicsize that fits the struct extension.c reads (other kinds:
 * true). */
bool ext_layout_ok(enum obj_kind kind, int64_t basicsize);
/* __sizeof__ of o (one of those kinds), buffers set; an object whose
 * fields fail their checks gets tp_basicsize and no buffer, and is counted
 * in c->ext_unsized. */
void ext_sizeof(struct census *c, struct cobj *o, const struct tinfo *ti);
/* fn(ctx, p) for each separate buffer it owns: array items, Struct codes,
 * an ndarray's dimensions and (OWNDATA) data. */
void ext_for_each_buffer(struct census *c, uint64_t addr,
			 const struct tinfo *ti,
			 void (*fn)(void *ctx, uint64_t p), void *ctx);
/* Its referents, as kind_referents(); false where they are left to the
 * conservative scan. */
bool ext_referents(struct census *c, uint32_t idx, const struct tinfo *ti);
/* "census.sizeof_not_modelled.<type>": objects counted in ext_unsized. */
void ext_stats(struct census *c);

/* sites.c */
/* Allocation sites for the assembled snapshot: traced from
 * the target's tracemalloc when it traces, else inferred; fills
 * snapshot sites, objects' site ids, META tracemalloc keys and stats. */
void sites_build(struct census *c);

/* kinds.c */
/* sys.getsizeof() of object o (type ti). */
void kind_sizeof(struct census *c, struct cobj *o, const struct tinfo *ti);
/* Visit o's referents (census_edge for each).  False if o's kind has no
 * precise traversal (the caller scans it conservatively). */
bool kind_referents(struct census *c, uint32_t idx);

#endif
