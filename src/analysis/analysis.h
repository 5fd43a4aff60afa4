/*
 * analysis/ — pure functions from snapshots to tables.  Nothing here reads
 * a process or a file, or prints: cmd/ loads snapshots, output/ renders.
 *
 * A report is a list of rows, one per group key, with the count of objects
 * and the sum of their sizes (sys.getsizeof).  Keys are contracts
 * (DESIGN.md "Group keys"): --by type keys are type names ("dict",
 * "__main__.Request") plus "[native]" for the malloc chunks no Python
 * object owns; --by module keys are the module defining the object's type
 * ("builtins", "__main__"); --by native keys are "[native N]", one per
 * chunk size N (header included), over the native chunks (owned by an
 * object's C struct or unowned).  Snapshots without the data a grouping
 * needs (sites; malloc, SNAP_NATIVE) make report_group() say so.
 *
 * A diff pairs the rows of two reports by key: a key found in one report
 * only gets zeros on the other side, so a snapshot diffed with itself has
 * every delta 0.  Deltas are B minus A.
 *
 * Order.  report_group() sorts by bytes descending, then count descending,
 * then key; report_diff() by bytes delta descending (the largest growth
 * first, the largest shrinking last), then count delta descending, then
 * bytes in B descending, then key.  *_filter() re-sorts by count first
 * with SORT_COUNT.  Ties end on the key, so output is deterministic.
 *
 * Totals (total_*, count_a, ...) always cover the whole snapshots: the
 * filters remove rows, never objects from the totals; nkeys keeps the
 * number of rows before filtering.
 *
 * Keys point into the snapshots' string tables (or are static text such
 * as "[unnamed type]"): a report or diff must not outlive its snapshots.
 */
#ifndef PYHEAP_ANALYSIS_H
#define PYHEAP_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "../snapshot/snapshot.h"

enum group_by { BY_TYPE, BY_MODULE, BY_SITE, BY_NATIVE };
enum sort_by { SORT_BYTES, SORT_COUNT };

struct report_row {
	const char *key;
	uint64_t count, bytes;
};

struct report {
	enum group_by by;
	struct report_row *rows;
	size_t nrows, rows_alloc;
	size_t nkeys;                      /* rows before filtering */
	uint64_t total_count, total_bytes; /* the whole snapshot */
	char **keys;                       /* keys this report made ("[native
					    * 208]"), freed with it */
	size_t nkeys_owned, keys_alloc;
};

struct diff_row {
	const char *key;
	uint64_t count_a, count_b, bytes_a, bytes_b;
};

struct diff {
	enum group_by by;
	struct diff_row *rows;
	size_t nrows, rows_alloc;
	size_t nkeys;                      /* rows before filtering */
	uint64_t count_a, count_b, bytes_a, bytes_b; /* the whole snapshots */
};

/* B minus A.  Counts and sizes stay far below 2^63. */
static inline int64_t diff_count_delta(const struct diff_row *r)
{
	return (int64_t)(r->count_b - r->count_a);
}
static inline int64_t diff_bytes_delta(const struct diff_row *r)
{
	return (int64_t)(r->bytes_b - r->bytes_a);
}

/* Which rows to keep and in what order (show and diff options). */
struct row_filter {
	enum sort_by sort;
	const char *const *match; /* fnmatch(3) patterns on the key: a row is
				   * kept if any matches; none keeps all */
	size_t nmatch;
	uint64_t min_bytes;       /* show: bytes >= min_bytes; diff: the
				   * bytes delta, up or down, >= min_bytes */
};
#define ROW_FILTER_INIT { SORT_BYTES, NULL, 0, 0 }

const char *group_by_name(enum group_by by);
/* 0, or -PH_E_USAGE for an unknown name. */
int group_by_parse(const char *name, enum group_by *by);

/*
 * Group s's objects.  0, or -PH_E_NOTFOUND when s holds no data for `by`
 * ("no allocation sites in this snapshot (taken without tracemalloc
 * data)"; the caller adds the file name); r is then empty.
 */
int report_group(const struct snapshot *s, enum group_by by,
		 struct report *r);
void report_filter(struct report *r, const struct row_filter *f);
/* Whether key passes f's patterns (f->match). */
bool row_filter_match(const struct row_filter *f, const char *key);
void report_release(struct report *r);

/*
 * Where a process's memory is (pyheap show): from a snapshot with
 * SNAP_NATIVE.  Bytes include malloc chunk headers.
 */
struct owner_bytes {
	const char *type;      /* the owning object's type name */
	uint64_t bytes, chunks;
};

struct memory_breakdown {
	bool native;                /* malloc was walked */
	uint64_t rss;               /* VmRSS, 0 unknown */
	uint64_t pymalloc_arenas;   /* bytes of pymalloc arenas */
	uint64_t pymalloc_used;     /* of which in used blocks */
	uint64_t objects_in_malloc; /* chunks holding Python objects */
	uint64_t buffers;           /* chunks owned as buffers */
	uint64_t native_owned;      /* native chunks an object points into */
	uint64_t native_unowned;
	uint64_t allocator;         /* tcaches, pymalloc's arena array */
	uint64_t malloc_free;       /* free in bins, fastbins and tcaches */
	uint64_t top;               /* the arenas' top chunks */
	uint64_t malloc_overhead;   /* arena memory in no chunk (headers) */
	int64_t unaccounted;        /* rss minus all of the above */
	struct owner_bytes *owners; /* native_owned by owner type, largest
				     * first */
	size_t nowners;
};

void memory_breakdown(const struct snapshot *s, struct memory_breakdown *m);
void memory_breakdown_release(struct memory_breakdown *m);
/* Bytes of native chunks (owned by an object's C struct or unowned). */
uint64_t snapshot_native_bytes(const struct snapshot *s);

/* Pair a's and b's rows (both grouped the same way) into d. */
void report_diff(const struct report *a, const struct report *b,
		 struct diff *d);
void diff_filter(struct diff *d, const struct row_filter *f);
void diff_release(struct diff *d);

/*
 * A growth limit (--fail-if-growth 10M or 5%): crossed when the bytes
 * grew by more than `bytes`, or by more than `percent` percent of
 * `before` (any growth from 0 bytes crosses a percentage).
 */
struct growth_limit {
	bool set, is_percent;
	uint64_t bytes;
	double percent;
};
bool growth_crossed(const struct growth_limit *l, uint64_t before,
		    uint64_t after);

#endif
