/*
 * snapshot/ — the in-memory census and its file (.snap).
 *
 * struct snapshot is what `snap` produces and every other command reads.
 * The file format is specified in snapshot/format.h and man/pyheap-snapshot.5
 * (contract: DESIGN.md "Snapshot file").
 *
 * Model
 * -----
 * - strings: an interned table; id 0 is always "" (meaning "none").
 * - types: one row per Python type seen, by address; name is the report key
 *   ("dict", "__main__.Request", "collections.OrderedDict").
 * - objects: every live object found, sorted by address; an object's id is
 *   its index.  size is what sys.getsizeof() reports for it; buffers is the
 *   part of it held in separately allocated memory (a list's item array, a
 *   dict's keys and values, a set's table, a bytearray's buffer), so
 *   size - buffers is the object's own block.
 * - edges: referents in CSR form: the referents of object i are
 *   edge_dst[edge_start[i] .. edge_start[i+1]); an object whose referents
 *   came from a conservative scan has OBJ_EDGES_CONSERVATIVE.
 * - edge labels (1.5, optional): what each edge is in Python terms, for
 *   paths a user can follow (`why`): edge_label[e] names edge e as an
 *   attribute or field (a string id), a dict key (EDGE_LABEL_KEY | string
 *   id), an item (EDGE_LABEL_INDEX | i), or nothing (0).  NULL when the
 *   snapshot has none.
 * - roots, threads (Python stacks at capture), gc state and stats.
 * - with SNAP_NATIVE: every malloc chunk (in use or free) with its owner,
 *   and every malloc arena.
 * - sites (1.2): where objects were allocated.  snap_object.site is a site
 *   id: 0 for none, else 1 + a row of sites (site i lives at sites[i - 1]).
 *   A site is a stack of (file, line) frames, innermost first, stored as
 *   nframes rows of site_frames from first_frame on.  A TRACED site is a
 *   traceback the target's tracemalloc recorded; an INFERRED one is what
 *   an object says of itself (a function's code, a class's module).
 *
 * Ownership: a snapshot owns all its arrays; snapshot_release() frees them.
 * Builders append with the snapshot_add_*() helpers; they never fail (they
 * die on OOM like xmalloc).  Readers validate everything before it enters
 * a struct snapshot: every id in a read snapshot is in range.
 */
#ifndef PYHEAP_SNAPSHOT_H
#define PYHEAP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"

struct strmap;

/* snapshot.flags */
#define SNAP_INCONSISTENT 1u /* read without stopping the target (--no-stop) */
#define SNAP_PARTIAL 2u      /* a walk was cut short; counts are a floor */
#define SNAP_NATIVE 4u       /* malloc was walked: chunks and arenas hold it */
#define SNAP_UNVERIFIED 8u   /* (1.3) a part of the interpreter's state
			      * could not be verified and was not read:
			      * meta.checks says which and why */
/* Every bit above.  A new flag joins it, and gets a name in pyheap info
 * (cmd/info.c flag_names[], checked at compile time). */
#define SNAP_REFCOUNTS 16u   /* (1.4) objects carry unexplained and gc_refs */
#define SNAP_LEAKS 32u       /* (1.6) in-use chunks carry a reachability
			      * class (snap_chunk.reach): the native-leak
			      * scan ran (objects/leaks.c) */
#define SNAP_KNOWN_FLAGS (SNAP_INCONSISTENT | SNAP_PARTIAL | SNAP_NATIVE | \
			  SNAP_UNVERIFIED | SNAP_REFCOUNTS | SNAP_LEAKS)

struct snap_meta {
	int64_t pid;
	uint32_t exe, cmdline, host;        /* string ids */
	uint32_t python;                    /* "3.11.7" */
	uint32_t python_elf;                /* path of libpython / exe */
	uint32_t offsets;                   /* "DWARF (263 values), ..." */
	uint32_t pyheap_version;
	double taken_at;                    /* Unix time, seconds */
	double pause_ms;                    /* target stopped */
	double capture_ms;                  /* copying memory (within pause) */
	double parse_ms;                    /* census, after resume */
	uint64_t image_bytes;               /* memory copied */
	uint32_t flags;                     /* SNAP_* */
	uint64_t rss_bytes;                 /* VmRSS at capture, 0 unknown */
	uint32_t malloc;                    /* "glibc 2.36", "jemalloc", "" */
	uint32_t malloc_note;               /* why malloc was not walked */
	/* 1.2: the target's tracemalloc at capture. */
	bool tracemalloc_tracing;
	uint32_t tracemalloc_frames;        /* its max_nframe, 0 unknown */
	uint64_t traced_memory;             /* its traced-memory counter (what
					     * get_traced_memory()[0] says),
					     * 0 if not tracing or unknown */
	uint32_t sites_note;                /* why traced sites are missing
					     * while tracing, or "" */
	/* 1.3: how each group of layout values not exported by
	 * _Py_DebugOffsets was checked against the live data, one line
	 * each: "GC lists: table +24, verified". */
	uint32_t checks;
	/* 1.4: who the process is beyond its PID, for series of the workers
	 * of a prefork server: its parent's PID (0 unknown) and when it
	 * started (Unix time from /proc/PID/stat, 0 unknown).  A PID reused
	 * by a later process has another started_at. */
	int64_t parent_pid;
	double started_at;
	/* 1.5: which str keys label edges: "identifiers" (interned
	 * identifier-like keys only: no user data), "all", or "" (none). */
	uint32_t labels;
	/* 1.9: taken from a core file (its path as given; "" for a live
	 * process), and the bytes of readable data mappings the core held
	 * none of (coredump_filter), in how many mappings. */
	uint32_t core;
	uint64_t core_missing_bytes, core_missing_mappings;
};

/* snapshot.edge_label values: a kind in bits 28-29 and a value below
 * 2^28.  0 is no label; kind 0 an attribute or field ("__dict__",
 * "__closure__", an instance's inline value "payload") or an expression
 * from the object ("f_locals['x']", "gi_frame.f_locals['x']": a local of
 * a frame nothing runs, objects/framelabels.c): a string id;
 * EDGE_LABEL_INDEX item i of a list, tuple or deque;
 * EDGE_LABEL_KEY the value of a dict entry whose key is the string id. */
#define EDGE_LABEL_INDEX (1u << 28)
#define EDGE_LABEL_KEY (2u << 28)
#define EDGE_LABEL_KIND (3u << 28)
#define EDGE_LABEL_VALUE(l) ((l) & (EDGE_LABEL_INDEX - 1))
#define EDGE_LABEL_MAX (EDGE_LABEL_INDEX - 1)

/* snap_type.flags */
#define TYPE_HEAP 1u      /* Py_TPFLAGS_HEAPTYPE */
#define TYPE_GC 2u        /* Py_TPFLAGS_HAVE_GC */
#define TYPE_STATIC_BUILTIN 4u

struct snap_type {
	uint64_t addr;
	uint32_t name;      /* report key: module.QualName or tp_name */
	uint32_t module;    /* defining module ("" if unknown) */
	uint32_t flags;     /* TYPE_* */
	uint32_t object;    /* object id of the type object, or UINT32_MAX */
	int64_t basicsize, itemsize;
};

/* snap_object.flags */
#define OBJ_GC_TRACKED 1u        /* in a GC generation list */
#define OBJ_EDGES_CONSERVATIVE 2u/* referents from a word scan */
#define OBJ_IN_PYMALLOC 4u       /* lives in a pymalloc block */
#define OBJ_STATIC 8u            /* in an ELF data segment */
#define OBJ_IMMORTAL 16u         /* 3.12+ immortal refcount */
#define OBJ_OTHER_MEMORY 32u     /* elsewhere (malloc, mmap) */
#define OBJ_NOT_ARITHMETIC 64u   /* (1.4) immortal or static: its refcount
				  * is no count of references */
/* (1.5) set by snap with the garbage stats (analysis.h "Garbage
 * totals"): the object is in what the totals count -- garbage the cyclic
 * GC would free, or (with OBJ_NEVER_COLLECTABLE too) garbage it never
 * can.  Snapshots without the stats have neither. */
#define OBJ_GARBAGE 128u
#define OBJ_NEVER_COLLECTABLE 256u
/* (1.9) Python 2.7: a tracked object its collector does not free in a
 * cycle -- __del__ (tp_del), or a generator suspended in a try block --
 * or one whose finalizer could not be read (objects/finalizers.c). */
#define OBJ_LEGACY_FINALIZER 512u

struct snap_object {
	uint64_t addr;
	uint64_t size;      /* sys.getsizeof() */
	uint64_t buffers;   /* of which in separate allocations */
	int64_t refcnt;
	uint32_t type;      /* index into types */
	uint32_t flags;     /* OBJ_* */
	uint32_t site;      /* allocation site id: 0 none, else sites[site-1] */
	/* 1.4 (SNAP_REFCOUNTS): refcount arithmetic (objects/census.c). */
	int64_t unexplained; /* refcount - owned references found */
	int64_t gc_refs;     /* tracked: refcount - those from tracked */
};

/* snap_site.kind */
enum site_kind {
	SITE_TRACED = 1,    /* a tracemalloc traceback */
	SITE_INFERRED,      /* from the object itself: a function's or code's
			     * file and first line, a class's module */
};

/*
 * An allocation site.  For a traced site, traces and traced_bytes count
 * every allocation tracemalloc recorded with this traceback and the sizes
 * asked for, objects or not (so the sites' traced_bytes add up to the
 * target's traced memory); unowned_* are the part that is neither an
 * object's block nor a buffer an object owns (native memory allocated
 * there).  Inferred sites have no traces: all four are 0.
 */
struct snap_site {
	uint32_t kind;          /* enum site_kind */
	uint32_t first_frame;   /* into site_frames */
	uint32_t nframes;       /* at least 1, innermost first */
	uint32_t total_frames;  /* the stack's depth before tracemalloc cut
				 * it to its frame limit (>= nframes) */
	uint64_t traces, traced_bytes;
	uint64_t unowned_traces, unowned_bytes;
};

struct snap_site_frame {
	uint32_t file;          /* string id; a module name for a class */
	uint32_t line;          /* 0 unknown (a class's module) */
};

/* snap_root.kind */
enum root_kind {
	ROOT_SYS_MODULES = 1,
	ROOT_BUILTINS,
	ROOT_SYSDICT,
	ROOT_INTERP_DICT,
	ROOT_THREAD_DICT,
	ROOT_FRAME,       /* an object a thread's frame holds */
	ROOT_OTHER,
};

struct snap_root {
	uint32_t kind;    /* enum root_kind */
	uint32_t object;  /* object id */
	uint32_t name;    /* string id: "thread 1234", a variable name, ... */
};

struct snap_frame {
	uint32_t function, file; /* string ids */
	int32_t line;            /* -1 unknown */
};

struct snap_thread {
	int64_t tid;
	uint32_t flags;          /* 1 = main thread, 2 = holds the GIL */
	uint32_t first_frame;    /* index into frames */
	uint32_t nframes;        /* innermost first */
};

struct snap_gc {
	bool valid;
	bool enabled;
	int64_t threshold[3];
	int64_t count[3];
};

/* snap_chunk.state: what malloc says of a chunk. */
enum chunk_state_snap {
	SCHUNK_INUSE = 1, SCHUNK_FREE, SCHUNK_FASTBIN, SCHUNK_TCACHE,
	SCHUNK_TOP, SCHUNK_MMAPPED,
};

/* snap_chunk.owner_kind: whose memory an in-use chunk is. */
enum chunk_owner {
	OWNER_NONE = 0,     /* not in use (free, top) */
	OWNER_OBJECT,       /* a Python object lives in it (owner = it) */
	OWNER_BUFFER,       /* a buffer of the object `owner` (list items,
			     * dict keys/values, set table, str data, ...) */
	OWNER_NATIVE,       /* native memory that the object `owner` points
			     * into (an extension type's instance, a capsule) */
	OWNER_UNOWNED,      /* native memory no Python object points into */
	OWNER_ALLOCATOR,    /* the allocators' own: a tcache, pymalloc's
			     * arena array, tracemalloc's tables */
};

/* snap_chunk.reach (1.6, SNAP_LEAKS): what a conservative scan from the
 * roots says of an in-use chunk, with valgrind memcheck's rules
 * (objects/leaks.c).  0 for chunks not in use, or without the scan. */
enum chunk_reach {
	REACH_NONE = 0,
	REACH_REACHABLE,    /* a chain of start pointers from a root */
	REACH_POSSIBLE,     /* only chains with an interior pointer */
	REACH_GARBAGE,      /* only from Python garbage (pyheap garbage's
			     * objects) */
	REACH_LOST,         /* definitely lost: nothing points to it but
			     * its own clique; a clique's leader */
	REACH_INDIRECT,     /* indirectly lost: only from lost chunks;
			     * leader says whose clique */
	REACH__COUNT
};

/* Native memory: a chunk an object's C struct points into, or one no
 * object points into (what --by native and the summary size-class). */
static inline bool chunk_owner_native(uint32_t owner_kind)
{
	return owner_kind == OWNER_NATIVE || owner_kind == OWNER_UNOWNED;
}

struct snap_chunk {
	uint64_t addr;       /* chunk header; user memory at addr + 16 */
	uint64_t size;       /* chunk size, header included */
	uint32_t owner;      /* object id, or UINT32_MAX */
	uint32_t state;      /* enum chunk_state_snap */
	uint32_t owner_kind; /* enum chunk_owner */
	uint32_t arena;      /* index into arenas, UINT32_MAX for mmapped */
	/* 1.6, with SNAP_LEAKS (all 0 otherwise): */
	uint32_t reach;      /* enum chunk_reach */
	uint32_t leader;     /* REACH_INDIRECT: 1 + the chunk row of its
			      * clique's leader (a REACH_LOST chunk); else 0 */
	uint32_t sig;        /* REACH_LOST: string id of the clique's
			      * signature (what its words point at); else 0 */
	uint32_t holder;     /* REACH_REACHABLE/POSSIBLE/GARBAGE native
			      * chunks: 1 + the id of the Python object the
			      * scan reached it from (directly or through
			      * other native chunks); else 0 */
	uint32_t root;       /* the same when a root region reached it
			      * first: a string id ("stack of thread 12",
			      * "libxml2.so.2 data"); else 0 */
};

struct snap_arena {
	uint64_t addr;       /* struct malloc_state */
	uint64_t system_mem; /* bytes the arena got from the system */
	uint64_t top_bytes;  /* its top chunk */
	uint32_t flags;      /* 1 = main arena */
};

/*
 * The summary (1.7, section SUMM): what every report groups, without the
 * objects and chunks.  A cell counts the objects of one type and one
 * allocation site; a chunk cell the malloc chunks of one state, owner
 * kind, owner's type (OWNER_NATIVE only) and placement, and for native
 * chunks (OWNER_NATIVE, OWNER_UNOWNED) of one size.  Cells are sorted by
 * (type, site), chunk cells by (state, owner_kind, owner_type, flags,
 * size), each strictly.  A snapshot read with its objects checks the
 * summary against them; one written gets it from them
 * (snapshot_summarize()).
 */
struct snap_cell {
	uint32_t type;          /* type id */
	uint32_t site;          /* site id, 0 none */
	uint64_t count, bytes;  /* objects, the sum of their sizes */
	uint64_t gc_tracked;    /* of them with OBJ_GC_TRACKED */
	uint64_t garbage_bytes; /* bytes of them with OBJ_GARBAGE */
};

#define CCELL_MMAPPED 1u        /* snap_chunk_cell.flags: in no arena */

struct snap_chunk_cell {
	uint32_t state;         /* enum chunk_state_snap */
	uint32_t owner_kind;    /* enum chunk_owner */
	uint32_t owner_type;    /* OWNER_NATIVE: its owner's type id; else
				 * UINT32_MAX */
	uint32_t flags;         /* CCELL_* */
	uint64_t size;          /* native chunks: their size; else 0 */
	uint64_t count, bytes;
};

struct snap_summary {
	bool valid;             /* read from SUMM or computed */
	struct snap_cell *cells;
	size_t ncells, cells_alloc;
	struct snap_chunk_cell *chunk_cells;
	size_t nchunk_cells, chunk_cells_alloc;
};

/*
 * The groups snap's analyses found (1.8, section GRPS): pyheap garbage's
 * (by part and cycle shape) and pyheap leaks' (by class, chunk size and
 * signature), count and bytes, so that `garbage --since A` and `leaks
 * --since A` read no more of A than its summary.  snap writes them from
 * the analyses it runs (the same code as the commands'); a reader takes
 * them as they are, like STAT's garbage and leak totals (they are not
 * checked against the objects).  present: the snapshot has them (GRPS
 * read, or set by snap); garbage groups count only where the garbage
 * totals are in STAT, lost groups only with SNAP_LEAKS.
 */
struct snap_garbage_group {
	uint32_t part;          /* 1 collectable, 2 never collectable */
	uint32_t shape;         /* string id: "A -> B -> A", "T (held by
				 * garbage)" */
	uint64_t cycles, objects, bytes;
};

struct snap_lost_group {
	uint32_t reach;         /* enum chunk_reach: LOST, POSSIBLE or
				 * GARBAGE */
	uint32_t signature;     /* string id; 0 ("") none */
	uint64_t size;          /* chunk size */
	uint64_t chunks, bytes, indirect_chunks, indirect_bytes;
};

struct snap_groups {
	bool present;
	struct snap_garbage_group *garbage;
	size_t ngarbage, garbage_alloc;
	struct snap_lost_group *lost;
	size_t nlost, lost_alloc;
};

struct snap_stat {
	uint32_t name;           /* string id: "pymalloc.used_blocks" */
	int64_t value;
};

struct snapshot {
	struct snap_meta meta;

	char **strings;          /* strings[0] == "" */
	uint32_t *string_len;
	size_t nstrings, strings_alloc;
	struct strmap *string_index; /* built on first snapshot_string() */

	struct snap_type *types;
	size_t ntypes, types_alloc;

	struct snap_object *objects; /* sorted by addr */
	size_t nobjects, objects_alloc;

	uint32_t *edge_start;    /* nobjects + 1 entries */
	uint32_t *edge_dst;
	size_t nedges, edges_alloc;
	uint32_t *edge_label;    /* nedges entries, or NULL (1.5) */

	struct snap_root *roots;
	size_t nroots, roots_alloc;

	struct snap_thread *threads;
	size_t nthreads, threads_alloc;
	struct snap_frame *frames;
	size_t nframes, frames_alloc;

	struct snap_gc gc;

	struct snap_stat *stats;
	size_t nstats, stats_alloc;

	/* Native memory (SNAP_NATIVE): every chunk, sorted by address. */
	struct snap_chunk *chunks;
	size_t nchunks, chunks_alloc;
	struct snap_arena *arenas;
	size_t narenas, arenas_alloc;

	/* Allocation sites (1.2): objects[i].site indexes sites from 1. */
	struct snap_site *sites;
	size_t nsites, sites_alloc;
	struct snap_site_frame *site_frames;
	size_t nsite_frames, site_frames_alloc;

	/* The summary (1.7): valid after every read at SNAP_READ_REPORT or
	 * above (from SUMM, or computed from the objects of an older
	 * file); a snapshot built in memory has none until
	 * snapshot_summarize(). */
	struct snap_summary sum;

	/* The analyses' groups (1.8): read at every level. */
	struct snap_groups groups;
};

void snapshot_init(struct snapshot *s);
void snapshot_release(struct snapshot *s);

/* Intern a string (len bytes, may contain anything but is usually UTF-8). */
uint32_t snapshot_string(struct snapshot *s, const char *str, size_t len);
uint32_t snapshot_cstring(struct snapshot *s, const char *str);
static inline const char *snapshot_str(const struct snapshot *s, uint32_t id)
{
	return id < s->nstrings ? s->strings[id] : "";
}
void snapshot_stat(struct snapshot *s, const char *name, int64_t value);
/* Value of a stat, or dflt. */
int64_t snapshot_get_stat(const struct snapshot *s, const char *name,
			  int64_t dflt);

/* The summary of s's objects and chunks, computed (summary.c); out is
 * overwritten.  Release with snap_summary_release(). */
void snapshot_summarize(const struct snapshot *s, struct snap_summary *out);
void snap_summary_release(struct snap_summary *m);
/* s's summary if it has one, else computed into *tmp (released by the
 * caller): what analyses of built snapshots use. */
const struct snap_summary *snapshot_summary(const struct snapshot *s,
					    struct snap_summary *tmp);
/* The order of chunk cells: < 0, 0 (the same key), > 0. */
int snap_chunk_cell_cmp(const struct snap_chunk_cell *x,
			const struct snap_chunk_cell *y);
/* Objects and their bytes, over the summary's cells. */
void snap_summary_totals(const struct snap_summary *m, uint64_t *objects,
			 uint64_t *bytes);

/* File I/O (snapshot/write.c, snapshot/read.c).
 * snapshot_write: to path via "path.tmp-PID", fsync, rename; mode 0600.
 * snapshot_read: -PH_E_IO (cannot open), -PH_E_FORMAT (not a snapshot,
 * unsupported major version, bad CRC, truncated, inconsistent contents),
 * each with a one-line message naming the file and what is wrong.
 * s need not be initialised: it is overwritten; on success the caller
 * owns it (snapshot_release()), on error it is left empty (all zero).
 * A snapshot read in full always has edge_start (nobjects + 1 entries); a
 * built one may leave it NULL while nedges is 0.
 * snapshot_write also checks s (snapshot/format.h snapshot_check()) and
 * refuses, with -PH_E_FORMAT, what a reader would reject.
 * *file_size receives the written size (may be NULL). */
int snapshot_write(const struct snapshot *s, const char *path,
		   uint64_t *file_size);
/* The same, building and compressing the sections on up to jobs threads
 * (1 to 8); the file is the same whatever jobs is. */
int snapshot_write_jobs(const struct snapshot *s, const char *path,
			uint64_t *file_size, int jobs);
/* The same in three steps, for a writer that may not create files (the
 * sandboxed parsing process, sandbox/sandbox.h): snapshot_file_create()
 * makes "path.tmp-PID" (0600) and opens it; snapshot_write_fd() encodes s
 * into fd and syncs it (path only names it in messages); and
 * snapshot_file_commit() renames tmp to path and syncs the directory, or
 * removes tmp.  Each is 0 or -PH_E_IO (-PH_E_FORMAT: s is refused). */
int snapshot_file_create(const char *path, char **tmp, int *fd);
int snapshot_write_fd(const struct snapshot *s, int fd, const char *path,
		      uint64_t *file_size, int jobs);
int snapshot_file_commit(const char *tmp, const char *path);
int snapshot_read(const char *path, struct snapshot *s);
/* The same from a buffer (fuzzing, tests). */
int snapshot_read_mem(const void *buf, size_t len, const char *name,
		      struct snapshot *s);

/*
 * Reading less.  Every section's CRC is verified whatever the level; only
 * the sections of the level are inflated and decoded:
 *   SNAP_READ_META     META, STRS, GC, STAT, GRPS: metadata, stats and
 *                      the analyses' groups; no types, objects, edges,
 *                      roots or threads
 *   SNAP_READ_REPORT   and TYPS, SITE, SUMM: what show, diff and trend
 *                      group (the summary), no objects or chunks (every
 *                      type's object is UINT32_MAX); a file
 *                      without SUMM (before 1.7) has OBJS and MALC read
 *                      and the summary computed from them
 *   SNAP_READ_OBJECTS  and OBJS, MALC: no edges (edge_start is NULL),
 *                      roots or threads
 *   SNAP_READ_ALL      everything, as snapshot_read()
 * At REPORT and above the summary is valid (s->sum); where the objects
 * (and chunks) are read too, a SUMM that disagrees with them is
 * rejected.
 * If info is not NULL it receives the file's sections as framed (release
 * it with snap_file_info_release(), also after an error).
 */
enum snap_read_level {
	SNAP_READ_META, SNAP_READ_REPORT, SNAP_READ_OBJECTS, SNAP_READ_ALL
};

struct snap_section_info {
	uint32_t tag;       /* SNAP_TAG_*, or a later minor's */
	uint32_t flags;     /* SNAP_SECT_* */
	uint64_t offset;    /* of the section header in the file */
	uint64_t stored;    /* bytes after the header */
	uint64_t size;      /* payload bytes, once inflated */
};

struct snap_file_info {
	unsigned major, minor;
	uint64_t size;                     /* of the file */
	struct snap_section_info *sections; /* file order, END last */
	size_t nsections, sections_alloc;
};

int snapshot_read_level(const char *path, enum snap_read_level level,
			struct snapshot *s, struct snap_file_info *info);
void snap_file_info_release(struct snap_file_info *info);

#endif
