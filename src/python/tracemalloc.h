/*
 * python/tracemalloc.h — the target's own allocation records, read from
 * outside: whether tracemalloc traces, and every trace it holds (the block
 * it keys on, the size asked for, the traceback of the allocation).
 *
 * Where the state is (INTERNALS §7.1)
 * -----------------------------------
 *   config      3.7 static tracemalloc_config (an anonymous struct with the
 *               members 3.8 named struct _PyTraceMalloc_Config), 3.8-3.11
 *               _Py_tracemalloc_config (exported), 3.12+
 *               _PyRuntime.tracemalloc.config
 *   traces      3.7-3.11 static tracemalloc_traces (.symtab only), 3.12+
 *               _PyRuntime.tracemalloc.traces; on a stripped 3.7-3.11 build
 *               found by tm_find_tables() (below)
 *   domains     3.9-3.11 static tracemalloc_domains, 3.12+ .domains: traces
 *               of PyTraceMalloc_Track() users, one table per domain; 3.7
 *               and 3.8 keep them in the traces table (key {ptr, domain})
 *   traced mem  static tracemalloc_traced_memory / .traced_memory: the sum
 *               of all traces' sizes, what tracemalloc.get_traced_memory()
 *               returns first; not found on stripped 3.7-3.11 builds
 *
 * Hash tables (INTERNALS §7.2): 3.9+ _Py_hashtable_t, buckets of chained
 * 32-byte entries {next, key_hash, key, value}, value a trace_t *;
 * 3.7/3.8 the older generic table whose entries hold key and data inline
 * (key_size 8, or 12 for {ptr, domain}; data_size 16: the trace_t itself).
 * An entry sits in bucket key_hash & (nbuckets - 1); for traces key_hash is
 * _Py_HashPointer(ptr) (3.7/3.8 with domains: xor the domain).
 *
 * Untrusted data
 * --------------
 * Everything read is checked before use and every loop is bounded: the
 * bucket count must be a power of two whose array is readable; chains are
 * followed with Brent's cycle check and the whole walk stops after four
 * times the table's entry count (room for the cycles Brent's check walks
 * before it sees them), itself capped by what the mapped memory could hold
 * (tm_state.truncated says it happened); an entry in the wrong
 * bucket, with a hash that is not its key's, or with an unreadable trace is
 * skipped and counted; a traceback is read only if its frame count is at
 * most the config's max_nframe (and 65535) and is read once however many
 * traces share it.  Duplicate keys (a walk that went round a cycle) are
 * dropped after sorting.  Nothing here fails the caller: a table that
 * cannot be read leaves a note and no traces.
 */
#ifndef PYHEAP_PYTHON_TRACEMALLOC_H
#define PYHEAP_PYTHON_TRACEMALLOC_H

#include "../base/hashmap.h"
#include "python.h"

#define TM_NO_TRACEBACK UINT32_MAX
/* tracemalloc stores frame counts in 16 bits from 3.9 on; 3.7/3.8 take an
 * int but nothing sane is deeper. */
#define TM_MAX_NFRAME 65535u

struct tm_frame {
	uint64_t filename;      /* a str object (unvalidated) */
	uint32_t lineno;        /* 0 = unknown */
};

struct tm_traceback {
	uint64_t addr;
	uint32_t first_frame;   /* index into tm_state.frames */
	uint32_t nframe;        /* stored frames, innermost first */
	uint32_t total_nframe;  /* the stack's depth before truncation (3.9+;
				 * nframe on 3.7/3.8) */
};

struct tm_trace {
	uint64_t ptr;           /* the allocation: where a block starts */
	uint64_t size;          /* the size asked for */
	uint32_t domain;        /* 0: CPython's own allocators */
	uint32_t traceback;     /* index into tm_state.tbs, TM_NO_TRACEBACK */
};

/* Where the traces table was found. */
enum tm_source {
	TM_SRC_NONE = 0,
	TM_SRC_SYMBOL,          /* tracemalloc_traces in .symtab */
	TM_SRC_RUNTIME,         /* _PyRuntime.tracemalloc (3.12+) */
	TM_SRC_HEURISTIC,       /* tm_find_tables() on a stripped build */
};

struct tm_state {
	bool found;             /* the config was read */
	bool tracing;
	uint32_t max_nframe;
	bool traced_memory_known;
	uint64_t traced_memory;
	uint64_t traces_table, domains_table; /* addresses, 0 if none */
	enum tm_source source;
	char note[200];         /* why there are no traces while tracing */

	struct tm_trace *traces; /* sorted by (domain, ptr), keys unique */
	size_t ntraces, traces_alloc;
	struct tm_traceback *tbs;
	size_t ntbs, tbs_alloc;
	struct tm_frame *frames;
	size_t nframes, frames_alloc;
	struct u64map tb_index; /* traceback address -> index in tbs or
				 * TM_NO_TRACEBACK (unreadable) */
	/* tracemalloc's own memory, as read: every table, bucket array and
	 * entry, every trace_t (3.9+) and traceback (each a malloc block). */
	uint64_t *own;
	size_t nown, own_alloc;

	/* What the walk saw, for the snapshot's stats. */
	uint64_t table_entries;  /* the tables' own entry counts, summed */
	uint64_t bad_entries;    /* skipped: wrong bucket or hash, misaligned,
				  * unreadable, duplicate key */
	uint64_t bad_chains;     /* chains cut: unreadable link or a cycle */
	uint64_t bad_traces;     /* trace_t unreadable or absurd */
	uint64_t bad_tracebacks; /* unreadable, or more frames than allowed */
	bool truncated;          /* a walk stopped at its entry bound */
};

void tm_state_init(struct tm_state *tm);
void tm_state_release(struct tm_state *tm);

/*
 * Find tracemalloc in p and, if it traces, read every trace into tm
 * (tm_state_init() first).  Returns 0, also when nothing could be read
 * (tm->found false, or tm->note says why); only an unusable layout gives
 * -PH_E_UNSUPPORTED.
 */
int tm_read(struct pyproc *p, struct tm_state *tm);
/* The check alone, cheaply, for `pyheap info` while the target is stopped:
 * p->checks[PY_CHECK_TRACEMALLOC] (3.12+) from the config and the traces
 * table's header, without walking the traces. */
int tm_check(struct pyproc *p);

/* The trace whose block is exactly ptr (domain 0), or NULL. */
const struct tm_trace *tm_trace_at(const struct tm_state *tm, uint64_t ptr);
/* The domain-0 trace whose block [ptr, ptr + size) holds addr, or NULL. */
const struct tm_trace *tm_trace_holding(const struct tm_state *tm,
					uint64_t addr);

/* ---- the pieces, for unit tests on synthetic memory --------------------- */

/* Walk one traces table at `table` (the _Py_hashtable_t), appending its
 * traces with the given domain (3.7/3.8 tables carry their own domains when
 * key_size is 12).  Tracebacks are read with at most max_nframe frames. */
void tm_walk_traces(struct target *t, const struct py_layout *L,
		    uint64_t table, uint32_t domain, uint32_t max_nframe,
		    struct tm_state *tm);
/* Walk a 3.9+ domains table: each entry's value is a traces table. */
void tm_walk_domains(struct target *t, const struct py_layout *L,
		     uint64_t table, uint32_t max_nframe, struct tm_state *tm);
/* Sort the traces and drop duplicate keys (counted as bad entries). */
void tm_finish(struct tm_state *tm);

/*
 * The stripped-build heuristic (INTERNALS §7.3): among the 8-aligned words
 * of the ranges (a build's .data and .bss), pointers to a hash table whose
 * hash_func is _Py_hashtable_hash_ptr and compare_func
 * _Py_hashtable_compare_direct (both exported), with a power-of-two bucket
 * count and (3.9+) no key destructor.  The one whose value destructor is
 * _Py_hashtable_destroy is the domains table, the other the traces table
 * (3.7/3.8: key_size 8 and data_size sizeof(trace_t)).  0 and the address
 * of each, or -PH_E_NOTFOUND (none) / -PH_E_CORRUPT (two different traces
 * tables: no guess is made).
 */
struct tm_funcs {
	uint64_t hash_ptr, compare_direct, destroy;
};
int tm_find_tables(struct target *t, const struct py_layout *L,
		   const uint64_t (*ranges)[2], size_t nranges,
		   const struct tm_funcs *fn, uint64_t *traces,
		   uint64_t *domains);

#endif
