/*
 * python/ — which CPython a process runs, where its structures are, and how
 * they are laid out.
 *
 * Layouts
 * -------
 * struct py_layout holds, for one interpreter, the size of every struct and
 * the offset and width of every member listed in fields.h (-1 = absent in
 * this version).  Each value remembers where it came from.  Sources, most
 * trusted first (DESIGN.md "Python versions and layouts"):
 *
 *   LAYOUT_DEBUG_OFFSETS  the target's own _Py_DebugOffsets (3.13+),
 *                         validated before use (python/debug_offsets.c)
 *   LAYOUT_DWARF          DWARF of the interpreter's ELF (or its debug file)
 *   LAYOUT_TABLE          built-in tables per minor version, 3.7-3.13
 *                         (python/tables.c), for stripped builds
 *
 * A field that none of them knows stays absent; code that needs it checks
 * py_has() (or calls py_require()) and reports "unsupported" rather than
 * reading garbage.  Layouts are keyed by (major, minor): CPython keeps struct
 * layouts stable within a minor release, and the table-vs-DWARF test keeps
 * the tables honest for the builds on this machine.
 *
 * Reading fields
 * --------------
 * All member reads go through the accessors below, which check that the
 * field exists, belongs to the struct being read, fits inside it, and has
 * the width the accessor needs (a 1/2/4/8-byte member is zero- or
 * sign-extended).  A struct is read once into a struct py_obj buffer
 * (py_read_struct) and fields are then taken from the copy; py_read_field()
 * reads one member straight from the target for huge structs (3.12's
 * PyInterpreterState is 383 KiB).
 *
 * The process
 * -----------
 * struct pyproc ties a target to the ELF object that holds the interpreter
 * (libpython*.so if mapped, else the executable), the version, the layout,
 * and the addresses of _PyRuntime and the static type objects.
 * pyproc_open() does not need the target stopped, but reads the version
 * string from target memory when the ELF has no Py_Version (<= 3.10).
 *
 * Errors: -PH_E_NOTPYTHON (no interpreter in the process), -PH_E_UNSUPPORTED
 * (a Python we cannot read: 2.x, < 3.7, > 3.13, free-threaded), -PH_E_READ /
 * -PH_E_CORRUPT (target memory does not hold what the layout says).
 */
#ifndef PYHEAP_PYTHON_H
#define PYHEAP_PYTHON_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/base.h"
#include "../symbols/symbols.h"
#include "../target/target.h"
#include "fields.h"

enum py_struct {
#define PY_S_ENUM(id, name, src) PY_S_##id,
	PY_STRUCTS(PY_S_ENUM)
#undef PY_S_ENUM
	PY_S__COUNT
};

enum py_field {
#define PY_F_ENUM(id, st, path) PY_F_##id,
	PY_FIELDS(PY_F_ENUM)
#undef PY_F_ENUM
	PY_F__COUNT
};

enum layout_source {
	LAYOUT_NONE = 0,
	LAYOUT_TABLE,
	LAYOUT_DWARF,
	LAYOUT_DEBUG_OFFSETS,
};

/* Static description of fields.h, indexed by id. */
struct py_struct_info {
	const char *dwarf_names; /* "a|b" alternatives */
	const char *source;      /* CPython header */
	const char *id;          /* "INTERP" */
};
struct py_field_info {
	enum py_struct st;
	const char *paths;       /* "a.b|c" alternatives */
	const char *id;          /* "IS_THREADS_HEAD" */
};
extern const struct py_struct_info py_struct_info[PY_S__COUNT];
extern const struct py_field_info py_field_info[PY_F__COUNT];

/* One built-in table (python/tables.c). */
struct py_table_field {
	int32_t off;   /* -1 absent */
	uint16_t width; /* bytes; 0 for flexible arrays */
};
struct py_table {
	/* The build the table was generated from: CPython moves members
	 * between patch releases (3.13.0 -> 3.13.18: _PyRuntime.tracemalloc
	 * +24), so a minor can have several tables. */
	uint8_t major, minor, micro;
	bool free_threaded;         /* a build without the GIL ("3.13.15t") */
	/* PY_F__COUNT / PY_S__COUNT when generated: a table older than
	 * fields.h is stale and is refused (regenerate it). */
	uint16_t nfields, nstructs;
	const char *generated_from; /* e.g. "3.11.7 libpython DWARF" */
	int32_t size[PY_S__COUNT];  /* -1 absent */
	struct py_table_field field[PY_F__COUNT];
};
/* The table for (major, minor, micro): of that minor's tables, the one
 * generated from the highest micro <= micro, else the lowest (micro < 0
 * asks for the lowest).  NULL if the minor has none. */
const struct py_table *py_table_find(int major, int minor, int micro);
/* The same among the tables of GIL builds (ft false) or of free-threaded
 * ones (ft true). */
const struct py_table *py_table_find_ft(int major, int minor, int micro,
					bool ft);
extern const struct py_table *const py_tables[];
extern const size_t py_ntables;

struct py_layout {
	int major, minor;
	/* A free-threaded build (_Py_DebugOffsets.free_threaded, 3.13+):
	 * the 32-byte object header of Include/object.h's Py_GIL_DISABLED
	 * branch, mimalloc instead of pymalloc, no GC lists. */
	bool free_threaded;
	int64_t size[PY_S__COUNT];
	int64_t off[PY_F__COUNT];
	uint16_t width[PY_F__COUNT];
	uint8_t size_src[PY_S__COUNT];
	uint8_t off_src[PY_F__COUNT];
};

/* Fill L for (major, minor, micro) from the table only (py_table_find()
 * picks it). -PH_E_UNSUPPORTED if none. */
int py_layout_from_table(struct py_layout *L, int major, int minor,
			 int micro);
/* The same from a free-threaded build's table when ft (L->free_threaded
 * set); -PH_E_UNSUPPORTED if there is none for the minor. */
int py_layout_from_table_ft(struct py_layout *L, int major, int minor,
			    int micro, bool ft);
/* Overlay DWARF values from of (fields DWARF knows replace table values;
 * disagreements are logged at -v).  Returns the number of values taken. */
int py_layout_apply_dwarf(struct py_layout *L, struct objfile *of);
/* Read everything DWARF says about fields.h into L (absent = -1), without a
 * table: used by the table generator and the comparison test. */
int py_layout_from_dwarf(struct py_layout *L, struct objfile *of);
/* Read and validate _Py_DebugOffsets at addr and overlay what it covers.
 * Where its members sit comes from L (the minor's table or DWARF); members
 * L lacks are skipped.  runtime_section, when not 0, is the size of the
 * ELF's .PyRuntime section, which must equal runtime_state.size.
 * -PH_E_CORRUPT if it does not validate (cookie, version, sizes, bounds);
 * L is unchanged then. */
int py_layout_apply_debug_offsets(struct py_layout *L, struct target *t,
				  uint64_t addr, uint64_t version_hex,
				  uint64_t runtime_section);
/* Human summary: "_Py_DebugOffsets (45 fields), DWARF (200), table (12)". */
void py_layout_describe(const struct py_layout *L, struct strbuf *out);
const char *layout_source_name(enum layout_source s);

static inline bool py_has(const struct py_layout *L, enum py_field f)
{
	return L->off[f] >= 0;
}
static inline int64_t py_off(const struct py_layout *L, enum py_field f)
{
	return L->off[f];
}
static inline int64_t py_size(const struct py_layout *L, enum py_struct s)
{
	return L->size[s];
}
/* PyASCIIObject.state (Include/cpython/unicodeobject.h): interned:2,
 * kind:3, compact:1, ascii:1 and (<= 3.11) ready:1 from bit 0.  A
 * free-threaded 3.14+ build makes interned a whole byte (#ifdef
 * Py_GIL_DISABLED unsigned char interned), which moves the bit-fields up
 * to bit 8; 3.13t still has the GIL layout (INTERNALS-2026 §4.3). */
struct py_str_bits {
	unsigned interned, kind;
	bool compact, ascii, ready;
};
static inline struct py_str_bits py_str_bits(const struct py_layout *L,
					     uint64_t state)
{
	bool wide = L->free_threaded && (L->major > 3 || L->minor >= 14);
	unsigned sh = wide ? 8 : 2;
	struct py_str_bits b;

	b.interned = (unsigned)(state & (wide ? 0xff : 3));
	b.kind = (unsigned)(state >> sh) & 7;
	b.compact = (state >> (sh + 3)) & 1;
	b.ascii = (state >> (sh + 4)) & 1;
	b.ready = L->minor >= 12 || ((state >> (sh + 5)) & 1);
	return b;
}
/* -PH_E_UNSUPPORTED naming the first absent field of fs[0..n). */
int py_require(const struct py_layout *L, const enum py_field *fs, size_t n,
	       const char *what);

/* A local copy of one remote struct. */
#define PY_OBJ_MAX 4096
struct py_obj {
	uint64_t addr;
	enum py_struct st;
	size_t len;                /* bytes valid in buf */
	unsigned char buf[PY_OBJ_MAX];
};

/* Read sizeof(st) bytes (at most PY_OBJ_MAX; larger structs are read up
 * to the highest field offset used, see python.c) at addr into o. */
int py_read_struct(struct target *t, const struct py_layout *L,
		   enum py_struct st, uint64_t addr, struct py_obj *o);
/* Field accessors on a copy.  -PH_E_NOTFOUND if the field is absent or not
 * of o's struct, -PH_E_CORRUPT if it lies outside the copy. */
int py_get_u64(const struct py_layout *L, const struct py_obj *o,
	       enum py_field f, uint64_t *out);
int py_get_i64(const struct py_layout *L, const struct py_obj *o,
	       enum py_field f, int64_t *out);
/* Pointer-typed convenience: 0 when absent or unreadable. */
uint64_t py_get_ptr(const struct py_layout *L, const struct py_obj *o,
		    enum py_field f);
/* Read one scalar member of the struct at base straight from the target. */
int py_read_field(struct target *t, const struct py_layout *L, uint64_t base,
		  enum py_field f, uint64_t *out);

/* ---- the process ------------------------------------------------------- */

/* Static type objects whose addresses identify object kinds. */
#define PY_TYPE_SYMBOLS(T) \
	T(TYPE, "PyType_Type") \
	T(OBJECT, "PyBaseObject_Type") \
	T(CODE, "PyCode_Type") \
	T(STR, "PyUnicode_Type") \
	T(BYTES, "PyBytes_Type") \
	T(INT, "PyLong_Type") \
	T(DICT, "PyDict_Type") \
	T(LIST, "PyList_Type") \
	T(TUPLE, "PyTuple_Type") \
	T(FRAME, "PyFrame_Type") \
	T(FUNCTION, "PyFunction_Type") \
	T(MODULE, "PyModule_Type") \
	T(NONE, "_PyNone_Type")

enum py_type_sym {
#define PY_T_ENUM(id, sym) PY_T_##id,
	PY_TYPE_SYMBOLS(PY_T_ENUM)
#undef PY_T_ENUM
	PY_T__COUNT
};

struct pyproc;

/* ---- checked values (python/verify.c) ------------------------------------
 *
 * Members that _Py_DebugOffsets does not export come from DWARF or a table
 * and are checked against the live data before use; a table value that
 * fails is searched for near where the table puts it.  One check per group
 * of values, in pyproc.checks: */
enum py_check_id {
	PY_CHECK_GC,          /* _gc_runtime_state's generation lists */
	PY_CHECK_OBMALLOC,    /* the interpreter's obmalloc state (3.12+) */
	PY_CHECK_TRACEMALLOC, /* _PyRuntime.tracemalloc (3.12+) */
	PY_CHECK__COUNT
};
enum py_check_state {
	CHECK_NOT_RUN = 0,
	CHECK_VERIFIED,       /* the layout's value passed the invariants */
	CHECK_SEARCHED,       /* it failed; one value near it passed: used */
	CHECK_FAILED,         /* nothing passed: the part is not read */
	CHECK_NA,             /* nothing to check here (note says why) */
};
struct py_check {
	enum py_check_state state;
	enum layout_source src;   /* where the layout's value came from */
	int64_t layout_off, off;  /* the layout's value; the one used */
	char note[200];
};
const char *py_check_name(enum py_check_id id);
void py_check_set(struct py_check *c, enum py_check_state state,
		  enum layout_source src, int64_t layout_off, int64_t off,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "table +24, verified", "table said +24, ...; searched: +20",
 * "unverified, not used: why". */
void py_check_describe(const struct py_check *c, struct strbuf *out);
/* Every check that ran, a line each after indent ("GC lists: table +24,
 * verified\n"). */
void py_checks_text(const struct pyproc *p, const char *indent,
		    struct strbuf *out);
bool py_checks_failed(const struct pyproc *p);
/* One warning on stderr for each check that failed. */
void py_checks_warn(const struct pyproc *p);

struct pyproc {
	struct target *t;
	struct objfile elf;       /* libpython or the executable */
	bool elf_is_lib;          /* libpython*.so (else the executable) */
	int major, minor, micro;
	char version[32];         /* "3.11.7", "3.12.0rc1" */
	uint64_t version_hex;     /* PY_VERSION_HEX when known, else 0 */
	const char *version_source;
	struct py_layout L;
	uint64_t runtime;         /* &_PyRuntime (0 for 2.7) */
	uint64_t interp_head;     /* 2.7: &interp_head (pystate.c) */
	uint64_t tstate_current;  /* 2.7: &_PyThreadState_Current */
	uint64_t gc_generation0;  /* 2.7: &_PyGC_generation0 */
	uint64_t types[PY_T__COUNT]; /* 0 if the symbol is missing */
	struct py_check checks[PY_CHECK__COUNT];
};

/*
 * The GC generation lists of the gc state at gcs, checked: three closed
 * rings of GC objects at the layout's offset or, failing that, at exactly
 * one offset within 64 bytes of it (p->checks[PY_CHECK_GC] says which).
 * quick: visit at most 256 nodes a list (pyheap info on a live target);
 * else whole rings of at most max_nodes.  -PH_E_CORRUPT (the note says
 * why) when no offset passes: the lists must then not be read.
 */
struct py_gc_heads {
	uint64_t gen_base;        /* &generations[0] (3.14.0-4: &young) */
	uint64_t gen_head[3];     /* each generation's list head */
	int ngen;
	uint64_t permanent_head;  /* 0 if absent or not a list */
	uint64_t nodes;           /* list members seen */
	uint64_t heap_size;       /* 3.14+ gcstate->heap_size */
	bool heap_size_known;
};
int py_gc_heads(struct pyproc *p, struct target *t, uint64_t gcs, bool quick,
		uint64_t max_nodes, struct py_gc_heads *out);
/* The main interpreter's obmalloc state (3.12+), checked: its arena array
 * describes arenas whose pools name them.  0 when not found (the check
 * says why: pymalloc is then found by scanning for pool headers). */
uint64_t py_obmalloc_state(struct pyproc *p, struct target *t,
			   uint64_t interp);
/* The main interpreter (0 if unreadable) and its _gc_runtime_state (in
 * _PyRuntime for 3.7/3.8). */
uint64_t py_main_interp(struct pyproc *p, struct target *t);
uint64_t py_gc_state(struct pyproc *p, struct target *t);
/* Every check, the quick way (a few hundred reads): for `pyheap info` on a
 * stopped live target.  `snap` runs the full checks on its copy. */
void py_checks_run(struct pyproc *p, struct target *t);

int pyproc_open(struct pyproc *p, struct target *t);
void pyproc_release(struct pyproc *p);

/* Parse "3.11.7", "3.12.0rc1", "2.7.18+": 0 or -PH_E_FORMAT. */
int py_parse_version(const char *s, int *major, int *minor, int *micro);
/* Find a CPython version string ("3.9.18 (main, ...") in buf: the
 * Py_GetVersion() buffer.  Returns its start or NULL. */
const char *py_find_version_string(const char *buf, size_t len, char *out,
				   size_t outlen);

/* Read a str object into UTF-8 (at most max bytes; longer strings are cut
 * and end in "..."). -PH_E_CORRUPT if addr is not a str. */
int py_read_str(struct pyproc *p, uint64_t addr, struct strbuf *out,
		size_t max);
/* Read a bytes object's contents (at most max bytes). */
int py_read_bytes(struct pyproc *p, uint64_t addr, struct strbuf *out,
		  size_t max);
/* True if the object at addr has type `type` (one read of ob_type). */
bool py_is_type(struct pyproc *p, uint64_t addr, enum py_type_sym type);

/* ---- interpreters, threads, frames ------------------------------------- */

struct py_frame {
	char *function;    /* co_name */
	char *qualname;    /* co_qualname (3.11+), else NULL */
	char *file;        /* co_filename */
	int line;          /* -1 if unknown */
	uint64_t code;     /* address of the code object */
};

#define PY_REF_BORROWED 1ull

struct py_thread {
	uint64_t tstate;
	uint64_t thread_id;    /* pthread_t */
	pid_t tid;             /* native id, 0 if unknown */
	bool holds_gil;
	struct py_frame *frames; /* innermost first */
	size_t nframes, frames_alloc;
	bool truncated;        /* the walk stopped at a bad frame or the cap */
	/* Object pointers the thread holds (GC roots): frame objects (<= 3.10)
	 * or each frame's code, function, globals, builtins, locals and live
	 * local/stack slots (3.11+), the thread dict, pending exceptions and
	 * context.  Unvalidated: callers check each before use.  Each is
	 * 8-aligned, or'ed with PY_REF_BORROWED where the thread holds it
	 * without owning a reference: a <= 3.10 frame object (the C stack's
	 * reference), a 3.11+ frame's f_globals and f_builtins, a 3.14+
	 * _PyStackRef tagged as borrowed. */
	uint64_t *refs;
	size_t nrefs, refs_alloc;
	/* What names each ref (refs' index), owned, or NULL: "main() local
	 * jobs" for a 3.11+ frame's local, cell or free variable
	 * (co_localsplusnames); NULL for the rest. */
	char **ref_names;
	size_t ref_names_alloc;
};

struct py_interp {
	uint64_t addr;
	int64_t id;
	struct py_thread *threads;
	size_t nthreads, threads_alloc;
};

struct py_stacks {
	struct py_interp *interps;
	size_t ninterps, interps_alloc;
};

/* Walk every interpreter and thread and their Python stacks.  Bounded:
 * at most 64 interpreters, 4096 threads each, 4096 frames a thread; a cycle
 * or bad pointer truncates that list and the walk goes on.  The whole walk
 * reads at most 16384 threads, 131072 frames and 64 MiB of line tables
 * (frames past that have line -1), and keeps at most 4 Mi references.
 * Fails only if the first interpreter cannot be read; *out is then
 * empty. */
int py_read_stacks(struct pyproc *p, struct py_stacks *out);
void py_stacks_release(struct py_stacks *s);

/* Line number for a code object's byte offset `addr` given its line table
 * (exposed for unit tests).  Formats: lnotab (<= 3.9), 3.10 linetable,
 * 3.11+ location table.  -1 if not found. */
int py_lnotab_line(const unsigned char *tab, size_t len, int firstlineno,
		   int addr);
int py_linetable310_line(const unsigned char *tab, size_t len,
			 int firstlineno, int addr);
int py_locations_line(const unsigned char *tab, size_t len, int firstlineno,
		      int addr);

#endif
