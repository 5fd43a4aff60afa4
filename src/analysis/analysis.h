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
 * needs (malloc, SNAP_NATIVE) make report_group() say so.
 *
 * Sites (--by site).  An object's site (snapshot.h "sites") is keyed by
 * its `depth` innermost frames, each "FILE:LINE" with the file as stored
 * (an absolute path, "<unknown>", or a module name with line 0 for a
 * class), joined by " <- " innermost first: "/app/w.py:52" at depth 1,
 * "/app/w.py:52 <- /app/main.py:9" at depth 2.  A stack shorter than
 * `depth` keys by the frames it has.  Objects without a site are
 * "[no site]".  Sites whose frames agree up to the depth share a row,
 * whatever their kinds: the row's `site.kinds` says which kinds its
 * objects' sites were (traced, inferred or both: "mixed").  --by
 * site,type splits each site row by type name: key "SITE TYPE" (one
 * space), with site.key and site.type holding the two parts.  Keys are
 * built once per distinct site through a hash map and the summary's
 * cells (snapshot.h: the objects of one type and site) are counted
 * through arrays: O(cells + sites x depth).  Every grouping reads the
 * summary, never the objects: a report of a snapshot read at
 * SNAP_READ_REPORT holds none.
 *
 * A diff pairs the rows of two reports by key: a key found in one report
 * only gets zeros on the other side, so a snapshot diffed with itself has
 * every delta 0.  Deltas are B minus A.
 *
 * Order.  report_group() sorts by bytes descending, then count descending,
 * then key; report_diff() by bytes delta descending (the largest growth
 * first, the largest shrinking last), then count delta descending, then
 * bytes in B descending, then key.  *_filter() re-sorts by count first
 * with SORT_COUNT; diff_filter() with SORT_DROP by bytes delta ascending
 * (the largest drop first), then count delta ascending, then bytes in A
 * descending, then key.  Ties end on the key, so output is deterministic.
 *
 * Totals (total_*, count_a, ...) always cover the whole snapshots: the
 * filters remove rows, never objects from the totals; nkeys keeps the
 * number of rows before filtering.  A total adds up every row, and rows
 * count two things: Python objects, and malloc chunks (the [native] row
 * of --by type, the [native N] rows of --by native).  struct
 * report_totals keeps the two apart (a chunk is no object: a count that
 * mixes them matches nothing the target can count), and the objects'
 * GC-tracked part (OBJ_GC_TRACKED: what gc.get_objects() lists).
 *
 * Keys point into the snapshots' string tables (or are static text such
 * as "[unnamed type]"): a report or diff must not outlive its snapshots.
 */
#ifndef PYHEAP_ANALYSIS_H
#define PYHEAP_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "../snapshot/snapshot.h"
#include "../base/hashmap.h"

struct strbuf;

enum group_by { BY_TYPE, BY_MODULE, BY_SITE, BY_NATIVE, BY_SITE_TYPE };
/* SORT_DROP: diff only, the largest shrinking first. */
enum sort_by { SORT_BYTES, SORT_COUNT, SORT_DROP };

/* Whether a grouping is by site (BY_SITE, BY_SITE_TYPE). */
static inline bool group_by_site(enum group_by by)
{
	return by == BY_SITE || by == BY_SITE_TYPE;
}

/* A frame of a site row: the file as stored, the line (0 unknown). */
struct report_frame {
	const char *file;
	uint32_t line;
};

/* report_row.site.kinds: the kinds of the sites of a row's objects. */
#define ROW_TRACED 1u
#define ROW_INFERRED 2u

/* What a row of a site grouping is (all zero in other groupings). */
struct row_site {
	const char *key;     /* the site part of the row's key: "FILE:LINE",
			      * "... <- FILE:LINE", or "[no site]" */
	const char *type;    /* BY_SITE_TYPE: the type name; else NULL */
	unsigned kinds;      /* ROW_*; 0 for [no site] */
	const struct report_frame *frames; /* innermost first; NULL and 0
					    * for [no site] */
	uint32_t nframes;
};

struct report_row {
	const char *key;
	uint64_t count, bytes;
	uint64_t gc_tracked;  /* objects with OBJ_GC_TRACKED (0 for chunks) */
	uint64_t garbage_bytes; /* of objects with OBJ_GARBAGE (1.5) */
	bool native;          /* counts malloc chunks, not objects */
	struct row_site site;
};

/* What all the rows of a report add up to, objects and chunks apart
 * (total_count = objects + native_chunks, total_bytes likewise). */
struct report_totals {
	uint64_t objects, object_bytes, gc_tracked;
	uint64_t native_chunks, native_bytes;
};

/* Whether rows of both kinds are counted: a text total then needs two
 * lines. */
static inline bool report_totals_mixed(const struct report_totals *t)
{
	return t->objects && t->native_chunks;
}

struct report {
	enum group_by by;
	struct report_row *rows;
	size_t nrows, rows_alloc;
	size_t nkeys;                      /* rows before filtering */
	uint64_t total_count, total_bytes; /* the whole snapshot */
	struct report_totals totals;       /* the same, split */
	char **keys;                       /* keys this report made ("[native
					    * 208]"), freed with it */
	size_t nkeys_owned, keys_alloc;
	/* Site groupings. */
	unsigned depth;                    /* as asked; 0: the default (1),
					    * and no frames in JSON or CSV */
	struct report_frame *frames;       /* rows' frames point here */
	size_t nframes, frames_alloc;
};

struct diff_row {
	const char *key;
	uint64_t count_a, count_b, bytes_a, bytes_b;
	uint64_t garbage_a, garbage_b;     /* bytes with OBJ_GARBAGE; see
					    * diff.garbage_a.known */
	struct row_site site;              /* kinds: of both snapshots */
};

/*
 * Garbage totals (1.5): what pyheap garbage finds, counted by snap into
 * the snapshot's stats under GARBAGE_STAT_* (snap runs the analysis when
 * the snapshot has refcount arithmetic and was taken stopped), so that
 * diff, trend and metrics read them without the references.
 */
#define GARBAGE_STAT_COLLECTABLE_OBJECTS "garbage.collectable.objects"
#define GARBAGE_STAT_COLLECTABLE_BYTES "garbage.collectable.bytes"
#define GARBAGE_STAT_UNCOLLECTABLE_OBJECTS "garbage.uncollectable.objects"
#define GARBAGE_STAT_UNCOLLECTABLE_BYTES "garbage.uncollectable.bytes"
/* 1.8: with the groups (GRPS), what garbage --since compares. */
#define GARBAGE_STAT_OBJECTS "garbage.objects"
#define GARBAGE_STAT_UNEXPLAINED_OBJECTS "garbage.unexplained.objects"
#define GARBAGE_STAT_UNEXPLAINED_REFS "garbage.unexplained.refs"
#define GARBAGE_STAT_COLLECTABLE_CYCLES "garbage.collectable.cycles"
#define GARBAGE_STAT_UNCOLLECTABLE_CYCLES "garbage.uncollectable.cycles"

struct garbage_totals {
	bool known;                 /* the snapshot has the stats */
	uint64_t collectable_objects, collectable_bytes;
	uint64_t uncollectable_objects, uncollectable_bytes;
};

/* From s's stats; t->known false (all 0) if it has none. */
void garbage_totals_of(const struct snapshot *s, struct garbage_totals *t);
/* The same computed from s, as garbage_analyse() but without grouping
 * (what snap stores): 0, or garbage_analyse()'s error.  part, when not
 * NULL (nobjects entries), receives each object's part: 0 (none),
 * GARBAGE_PART_COLLECTABLE or GARBAGE_PART_UNCOLLECTABLE -- the objects
 * the totals count, no others. */
#define GARBAGE_PART_COLLECTABLE 1
#define GARBAGE_PART_UNCOLLECTABLE 2
int garbage_count(const struct snapshot *s, struct garbage_totals *t,
		  uint8_t *part);
static inline uint64_t garbage_totals_bytes(const struct garbage_totals *t)
{
	return t->collectable_bytes + t->uncollectable_bytes;
}

struct diff {
	enum group_by by;
	unsigned depth;                    /* as report.depth */
	struct diff_row *rows;
	size_t nrows, rows_alloc;
	size_t nkeys;                      /* rows before filtering */
	uint64_t count_a, count_b, bytes_a, bytes_b; /* the whole snapshots */
	struct report_totals totals_a, totals_b;     /* the same, split */
	struct garbage_totals garbage_a, garbage_b;  /* set by the caller */
	/* Definitely and indirectly lost native bytes (pyheap leaks), set
	 * by the caller with leaks_lost_bytes(); known: the snapshot has
	 * them. */
	uint64_t lost_a, lost_b;
	bool lost_known_a, lost_known_b;
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

/* Whether both snapshots say which objects are garbage (OBJ_GARBAGE,
 * with the garbage stats): then rows can compare their garbage bytes. */
static inline bool diff_has_garbage(const struct diff *d)
{
	return d->garbage_a.known && d->garbage_b.known;
}
static inline int64_t diff_garbage_delta(const struct diff_row *r)
{
	return (int64_t)(r->garbage_b - r->garbage_a);
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

/* "type", "module", "site", "native", "site,type". */
const char *group_by_name(enum group_by by);
/* 0, or -PH_E_USAGE for an unknown name. */
int group_by_parse(const char *name, enum group_by *by);
/* "traced", "inferred", "mixed", or NULL for 0 (ROW_* bits). */
const char *site_kinds_name(unsigned kinds);

/*
 * Group s's objects.  0, or -PH_E_NOTFOUND when s holds no data for `by`
 * ("no native memory data in this snapshot (taken without walking
 * malloc)"; the caller adds the file name); r is then empty.  A snapshot
 * without sites groups by site as one "[no site]" row: whether the file
 * could hold sites at all (format 1.2) is the caller's question.
 * report_group_depth() keys sites by `depth` frames (0: 1, the default;
 * ignored for other groupings).
 */
int report_group(const struct snapshot *s, enum group_by by,
		 struct report *r);
int report_group_depth(const struct snapshot *s, enum group_by by,
		       unsigned depth, struct report *r);
/* Whether any of s's sites is traced (else all are inferred or none). */
bool snapshot_has_traced_sites(const struct snapshot *s);
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
	/* The object allocator: pymalloc's arenas, or in a free-threaded
	 * build (mimalloc true) the pages of mimalloc's heaps. */
	bool mimalloc;
	uint64_t pymalloc_arenas;   /* bytes of pymalloc arenas (pages) */
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

/* Pair a's and b's rows (both grouped the same way) into d.  A site
 * row's kinds are those of both sides; its frames are A's if A has the
 * key (the same text as B's). */
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

/*
 * Trends (pyheap trend): a series of snapshots of one program, grouped the
 * same way, and for each key how it moved over time.
 *
 * Points are added one snapshot at a time (trend_add() copies the keys, so
 * each snapshot can be released before the next is read) in any order.
 * trend_analyse() groups them by process into segments: one per process
 * (host, PID and, where both snapshots know it, start time: a reused PID
 * is another process).  Values of two processes are never compared with
 * each other.
 *
 * Workers.  Processes of one program that ran at the same time are
 * parallel series (the workers of a prefork server, or --all), not
 * restarts: the segments are laid out in workers.  Taken in the order of
 * their first snapshot, a process joins a worker whose last process's
 * snapshots all came before its first one (it replaced a process that
 * exited: a restart, or gunicorn's max_requests), preferring one of the
 * same host, then one whose process had exited before this one started
 * (by start time, where known), then one of the same parent, then the
 * most recently freed; else it starts a new worker.  One process at a time (a daemon that
 * restarts) is one worker with a segment per process.  A worker is gone
 * when another worker has two or more snapshots after its last one (its
 * process exited and nothing replaced it).  Workers are numbered from 1
 * in the order of their first snapshot; their segments are consecutive,
 * in time order, and so are the points of each segment (ts->points is
 * reordered so).
 *
 * Analysed: with TREND_LAST the last segment of every worker not gone;
 * with TREND_ALL every segment.  Per worker and key, over the worker's
 * analysed points:
 *   - first and last count and bytes (0 where a snapshot lacks the key);
 *   - bytes_per_hour, count_per_hour: the least-squares slope of the value
 *     over time.  Over several segments the slope is the pooled
 *     within-segment one: each segment's points are centred on its own
 *     means, so a restart's drop (or a new process's different level)
 *     does not count as change; NaN with fewer than two points at distinct
 *     times in any segment;
 *   - intervals: pairs of consecutive snapshots in one segment; grew: of
 *     which the bytes went up; grew_share = grew / intervals (0 if none);
 *   - score = max(bytes_per_hour, 0) x grew_share, and suspect = a
 *     positive slope with grew_share >= TREND_SUSPECT_SHARE.
 * A row's own statistics are the workers' summed: first and last values,
 * slopes (NaN only if every worker's is), intervals and grew add up,
 * grew_share follows from the sums, score is the sum of the workers'
 * scores, and the row is a suspect when its summed slope is positive and
 * it is a suspect in at least one worker (one leaking worker among idle
 * ones is a leak; their flat intervals would dilute the share).  With one
 * worker they are that worker's.  Summing slopes (not pooling them) is what a
 * prefork server costs: three workers leaking 1 MiB an hour each leak
 * 3 MiB an hour.
 * Rows are sorted leak suspects first, then by score, bytes_per_hour and
 * the last bytes, all descending, then key.  Why: the slope says what a
 * leak costs an hour, the share how steady it is.  A leak grows in every
 * interval; a cache that fills and is trimmed grows in about half of
 * them; a one-off step (a batch loaded once, a dict that resized) grows in
 * one interval of many, yet a step in the middle of the window gives it a
 * steep least-squares slope (1.5 x its size / the window).  Suspects
 * first puts steady growth above any step; the score (the slope weighted
 * by the share) then orders each part, and pushes steps below growth
 * that is merely noisy.
 *
 * total has the same statistics for the whole snapshots (the report
 * totals), and each worker its own; a worker's top is the first of the
 * rows in its own ranking (a suspect if it has one).  A row's bytes (for
 * sparklines) holds its value at every point (0 where absent): a worker's
 * analysed points are points[first .. first + n).
 */
#define TREND_SUSPECT_SHARE 0.75

struct trend_point {
	double taken_at;
	int64_t pid, parent_pid;           /* parent_pid 0: unknown */
	double started_at;                 /* 0: unknown */
	char *host, *file;                 /* owned */
	uint64_t total_count, total_bytes;
	uint64_t object_bytes, native_bytes; /* total_bytes split: Python
					    * objects, and native chunks no
					    * object owns (0 without a malloc
					    * walk) */
	uint64_t rss_bytes;                /* VmRSS, 0 unknown */
	bool garbage_known;                /* the snapshot has garbage
					    * totals (format 1.5) */
	uint64_t garbage_count, garbage_bytes;
	bool lost_known;                   /* native memory classified
					    * (format 1.6, pyheap leaks) */
	uint64_t lost_chunks, lost_bytes;  /* definitely + indirectly lost */
	size_t first_cell, ncells;         /* into trend_series.cells */
};

struct trend_cell {
	uint32_t key;
	uint64_t count, bytes;
	uint64_t garbage;                  /* bytes with OBJ_GARBAGE */
};

/* What trend_add() collects. */
struct trend_series {
	enum group_by by;
	char **keys;                       /* owned */
	size_t nkeys, keys_alloc;
	struct strmap *key_index;
	struct trend_point *points;
	size_t npoints, points_alloc;
	struct trend_cell *cells;
	size_t ncells, cells_alloc;
};

void trend_series_init(struct trend_series *ts, enum group_by by);
/* One snapshot (its report r grouped by ts->by) taken as `file`. */
void trend_add(struct trend_series *ts, const struct snapshot *s,
	       const char *file, const struct report *r);
void trend_series_release(struct trend_series *ts);

struct trend_segment {
	int64_t pid, parent_pid;
	double started_at;
	const char *host;
	size_t first, n;                   /* points (sorted) */
	size_t worker;                     /* index into trend.workers */
	bool analysed;
};

struct trend_stats {
	uint64_t count_first, count_last, bytes_first, bytes_last;
	double bytes_per_hour, count_per_hour; /* NaN: no slope */
	uint32_t intervals, grew;
	double grew_share, score;
	bool suspect;
};

struct trend_row {
	const char *key;                   /* in the trend_series */
	struct trend_stats st;             /* summed over the workers */
	double garbage_per_hour;           /* the growth of its garbage
					    * bytes, summed likewise; NaN
					    * without a slope or without
					    * trend.garbage_known */
	const struct trend_stats *workers; /* per worker (nworkers) */
	const uint64_t *bytes;             /* at every point (npoints) */
};

struct trend_worker {
	size_t first_segment, nsegments;   /* its segments, in time order */
	size_t first, n;                   /* its analysed points */
	bool gone, analysed;
	struct trend_stats total;
	const char *top;                   /* its first row's key, or NULL */
	struct trend_stats top_st;         /* that row's stats here */
};

enum trend_segments { TREND_LAST, TREND_ALL };

struct trend {
	enum group_by by;
	enum trend_segments which;
	const struct trend_point *points;  /* the series', segment by
					    * segment, each in time order */
	size_t npoints;
	struct trend_segment *segments;
	size_t nsegments;
	struct trend_worker *workers;
	size_t nworkers, nworkers_analysed;
	size_t npoints_analysed;           /* over all workers */
	double hours;                      /* first to last analysed point */
	struct trend_row *rows;
	size_t nrows, nkeys;               /* nkeys: rows before filtering */
	struct trend_stats total;
	/* The garbage totals (pyheap garbage) as one more series, summed
	 * over the workers like total; only when every analysed snapshot
	 * has them. */
	bool garbage_known;
	struct trend_stats garbage;
	/* The same for lost native memory (pyheap leaks: definitely and
	 * indirectly lost chunks). */
	bool lost_known;
	struct trend_stats lost;
	uint64_t *series;
	struct trend_stats *row_workers;
};

/* Sorts ts's points by time (ts is changed, and must outlive t). */
void trend_analyse(struct trend_series *ts, enum trend_segments which,
		   struct trend *t);
/* Keep the rows whose key matches f's patterns (f->match; min_bytes and
 * sort are not used: trends sort by score).  Workers' tops stay. */
void trend_filter(struct trend *t, const struct row_filter *f);
void trend_release(struct trend *t);

/*
 * Garbage (pyheap garbage): from a snapshot with refcount arithmetic
 * (SNAP_REFCOUNTS, objects/refcount.c), taken with the
 * process stopped.
 *
 *   alive      the roots, every object with unexplained references (a
 *              holder pyheap cannot see: a C static, a C stack, a leaked
 *              reference) or with more references found than counted,
 *              objects whose refcount is no count (immortal, static), and
 *              everything they reach over every edge (precise or
 *              conservative: a conservative edge may keep an object
 *              alive, never make one garbage);
 *   garbage    the rest: every reference to it comes from garbage;
 *   collectable  what CPython's collector frees at a full collection,
 *              computed as it does (gc.c update_refs, subtract_refs,
 *              move_unreachable) over the GC-tracked objects: a tracked
 *              object with gc_refs > 0 is reachable, with every tracked
 *              object it reaches through tracked objects; the other
 *              tracked objects are collectable.  With gc.DEBUG_SAVEALL
 *              they are what gc.garbage lists;
 *   never collectable  garbage the collectable garbage does not reach:
 *              cycles through an object without GC support, or through a
 *              reference no tp_traverse reports.  It stays until the
 *              process exits.
 *   Python 2.7 (snapshot python "2.x"): its collector does not free an
 *              unreachable object with a legacy finalizer (the object
 *              flag OBJ_LEGACY_FINALIZER: __del__, or a generator
 *              suspended in a try block) nor any unreachable tracked
 *              object such an object reaches through tracked ones
 *              (gcmodule.c move_finalizers, move_finalizer_reachable):
 *              those leave the collectable part for the never-collectable
 *              one, with what they reach, and the ones with a finalizer
 *              are what gc.garbage lists after gc.collect().
 *
 * Each part is grouped by cycle shape: a strongly connected component of
 * the part is a cycle, named by its members' types in cycle order from
 * the type name that sorts first ("A -> B -> A"), or, when it is no
 * simple cycle, its types with counts ("A, B x2"); garbage outside any
 * cycle is grouped by type as "TYPE (held by garbage)".  A group of the
 * never-collectable part names a member type without GC support
 * (invisible_type), the reason gc cannot see the cycle, and the site most
 * of its members have (a closure's cycle: the lambda's line).  Confidence is
 * "certain", or "probable" when a member's references were found by a
 * conservative scan.  Groups are sorted by bytes, objects, then shape.
 */
struct garbage_group {
	char *shape;                /* owned */
	uint64_t cycles, objects, bytes;
	const char *invisible_type; /* in the snapshot, or NULL */
	const char *confidence;     /* "certain" or "probable" */
	/* Python 2.7: a member type with a legacy finalizer (__del__),
	 * the reason the collector leaves the cycle in gc.garbage; NULL. */
	const char *finalizer_type;
	uint32_t site;              /* the site most members have: an id
				     * (sites[site - 1]), 0 for none */
	uint64_t site_objects;      /* the members at it */
	/* garbage_compare(): the group of the same shape in A (0s when A
	 * has none). */
	uint64_t cycles_a, objects_a, bytes_a;
};

struct garbage_part {
	uint64_t objects, bytes, cycles;
	uint64_t objects_a, bytes_a, cycles_a; /* garbage_compare() */
	struct garbage_group *groups;
	size_t ngroups, groups_alloc;
};

struct garbage {
	struct garbage_part collectable, uncollectable;
	uint64_t garbage_objects;        /* both parts and what collectable
					  * garbage holds */
	uint64_t unexplained_objects, unexplained_refs;
	uint64_t negative_objects;       /* the self-check: 0 expected */
	uint32_t *collectable_ids;       /* object ids, in address order */
	size_t ncollectable_ids;
	/* Python 2.7: the unreachable objects its collector keeps for a
	 * legacy finalizer (in the never-collectable part), and of those
	 * the ones with a finalizer, which gc.garbage lists: ids in
	 * address order.  0 and NULL for 3.x. */
	uint64_t finalizer_objects, finalizer_bytes;
	uint32_t *finalizer_ids, *gc_garbage_ids;
	size_t nfinalizer_ids, ngc_garbage_ids;
	struct snap_gc gc;
	/* garbage_compare(): the same figures of an earlier snapshot A. */
	bool compared;
	uint64_t garbage_objects_a;
	uint64_t unexplained_objects_a, unexplained_refs_a;
};

/* 0, or -PH_E_FORMAT for a snapshot without refcount arithmetic or taken
 * without stopping (the message says which). */
int garbage_analyse(const struct snapshot *s, struct garbage *g);
/* The same, and each object's part into part (nobjects entries, as
 * garbage_count()'s): what snap stores. */
int garbage_analyse_parts(const struct snapshot *s, struct garbage *g,
			  uint8_t *part);
/* A's figures as garbage_compare() reads them, from A's summary (GRPS and
 * the GARBAGE_STAT_* stats, 1.8) instead of its references: 0, or
 * -PH_E_NOTFOUND (no error message) when A has no such summary.  Only
 * the figures and groups' shapes and counts are set. */
int garbage_from_groups(const struct snapshot *a, struct garbage *g);
void garbage_release(struct garbage *g);
/* Set g's *_a figures from a, the analysis of an earlier snapshot:
 * groups are paired by part and shape; a group only A has is not
 * listed (its part's figures still count it). */
void garbage_compare(struct garbage *g, const struct garbage *a);

/*
 * Why is it alive (pyheap why): from the roots to the selected objects.
 *
 * Holders.  Paths start at the snapshot's roots: the interpreter's
 * (sys.modules, sys.__dict__, builtins, the interpreter dict) and the
 * threads' (what their frames hold).  An object no root reaches may still
 * be held from outside the heap: by a reference the heap does not
 * explain (a C static or stack, a leaked reference:
 * snap_object.unexplained > 0) or because it is immortal or static; those
 * objects are holders too.  holders_seed() lists the interpreter's roots'
 * objects (up to bounds[0]), the threads' (up to bounds[1]), then the
 * other holders, each once; the dominator tree of pyheap retained starts
 * from the same set.
 *
 * Paths.  Breadth-first search in three rounds -- from the interpreter's
 * roots, then the threads' for what those did not reach, then the other
 * holders -- gives each object a shortest path from the first round that
 * reaches it (edges in the snapshot's order: deterministic), so a global
 * shows as sys.modules['app'].__dict__['CACHE'], not as the globals dict
 * a running frame of app holds.  The
 * selected objects' paths are merged by shape: the sequence of steps,
 * each the type of the object there and the label of the reference into
 * it, items merged ("[*]"), the first step labelled with the root's name
 * or "<N references from outside the heap>", "<immortal>", "<static>".
 * Per merged path: the selected objects on it (objects, their own bytes,
 * share of all selected), and per step the distinct objects the path
 * passes through there (nodes) and the bytes they retain (their dominator
 * subtrees, when retained is given).  The accumulation point is the
 * deepest step held by one object below which the path fans out to
 * several: the dict, list or object where the selected objects pile up.
 * example is one concrete path (the lowest object id of the path's
 * objects): addresses, and labels with real indices.
 *
 * Labels render as ".attr" (attributes and fields, "__dict__",
 * "__closure__", "cell_contents"), "['key']" (a dict entry's value), "[3]"
 * (an item), or nothing for a reference the snapshot has no name for (a
 * dict key that is not an identifier, with the default snap --labels; a
 * conservatively found pointer; a slot).
 */
size_t holders_seed(const struct snapshot *s, uint32_t **out,
		    size_t bounds[2]);

/* The shortest-path tree from the holders (see above): parent[v] and the
 * edge pedge[v] into v, dist[v] its length (UINT32_MAX: reached by no
 * holder).  At a path's start (parent UINT32_MAX, dist 0) there is no
 * edge, and pedge[v] is the string id of the name of the root v is (its
 * first root row's), or UINT32_MAX for a holder that is no root: one
 * array less, 4 bytes per object. */
struct path_tree {
	uint32_t *parent, *pedge, *dist;
};
void path_tree_build(const struct snapshot *s, struct path_tree *pt);
/* v's path as text: "sys.modules['app'].__dict__['CACHE'] -> Request". */
void path_tree_text(struct strbuf *sb, const struct snapshot *s,
		    const struct path_tree *pt, uint32_t v);
void path_tree_release(struct path_tree *pt);

struct why_query {
	const char *type;              /* fnmatch(3) pattern on type names */
	const char *site;              /* "FILE:LINE": the innermost site
					* frame, FILE a suffix of its path
					* at a '/' */
	bool has_addr;
	uint64_t addr;
	const struct snapshot *since;  /* keep objects new since it: no
					* object of the same type and
					* innermost site at that address */
};

/* selected[i] = the query matches object i (all given parts must);
 * *count the number.  -PH_E_USAGE for a malformed --site. */
int why_select(const struct snapshot *s, const struct why_query *q,
	       uint8_t *selected, uint64_t *count);

struct why_step {
	const char *type;          /* in the snapshot */
	char *label;               /* owned; NULL: no name */
	uint64_t nodes;            /* distinct objects at this step */
	uint64_t retained_bytes;   /* what they retain (0 without) */
};

struct why_hop {
	uint64_t addr;
	const char *type;
	char *label;               /* owned, with the real index */
};

struct why_path {
	uint64_t objects, bytes;   /* selected objects on it, sizes */
	double share;              /* of all selected objects */
	struct why_step *steps;    /* from the root down; the last is the
				    * selected objects' */
	size_t nsteps;
	size_t accumulation;       /* step index, or SIZE_MAX */
	struct why_hop *example;   /* nsteps hops */
	char *example_text;        /* "sys.modules['app'].__dict__..." */
};

struct why {
	uint64_t objects, bytes;          /* selected */
	uint64_t unreached, unreached_bytes; /* reached by no holder:
					    * garbage */
	uint64_t from_holders;            /* reached only from a holder
					   * that is no root */
	struct why_path *paths;           /* most objects first */
	size_t npaths;
	uint64_t other_paths, other_objects; /* past max_paths */
	bool labels, retained;            /* the snapshot has labels;
					   * retained bytes were given */
};

/* Label text (see above) into sb; merged: an index as "[*]". */
void why_label_text(struct strbuf *sb, const struct snapshot *s,
		    uint32_t label, bool merged);
/* retained: per object (retained_sizes()), or NULL.  max_paths 0: all.
 * 0, or why_usable()'s error. */
int why_analyse(const struct snapshot *s, const uint8_t *selected,
		const uint64_t *retained, size_t max_paths, struct why *w);
/* 0, or -PH_E_FORMAT for a snapshot read without references or without
 * roots (the message says which). */
int why_usable(const struct snapshot *s);
/* why_analyse() over a path tree already built from s (s usable): for
 * several selections of one snapshot, one search. */
void why_analyse_tree(const struct snapshot *s, const struct path_tree *pt,
		      const uint8_t *selected, const uint64_t *retained,
		      size_t max_paths, struct why *w);
void why_path_release(struct why_path *p);
void why_release(struct why *w);

/*
 * Why the rows grew (diff --why): for the first `max` of d's first
 * `nrows` rows (in d's order) whose bytes grew, their objects new since A
 * (why --since A: not in A at the same address with the same type and
 * site) and the paths that hold them in B, as why_analyse() with one path
 * (the shape holding the most; its accumulation point is where they pile
 * up).  Rows by type, or by site with one frame; -PH_E_USAGE for other
 * groupings, why_usable()'s error for a B without references or roots.
 * One shortest-path tree of B serves every row.
 */
struct diff_why {
	size_t row;                /* index into d->rows */
	uint64_t new_objects;      /* the row's objects new since A */
	struct why w;              /* their paths (w.objects == new_objects) */
};
int diff_why_analyse(const struct snapshot *a, const struct snapshot *b,
		     const struct diff *d, size_t nrows, size_t max,
		     struct diff_why **out, size_t *nout);
void diff_why_release(struct diff_why *dw, size_t n);

/*
 * Retained sizes (pyheap retained): the dominator tree of the object
 * graph from a virtual root whose children are the holders (see "Why"):
 * object d dominates v when every path from the holders to v passes
 * through d, so freeing d would free v.  An object's retained bytes are
 * the sizes (sys.getsizeof) of its dominator subtree, itself included;
 * retained_count the objects in it.  Computed exactly (semi-NCA,
 * dominators.c), iteratively.  Objects no holder reaches (garbage) are in
 * no row.
 *
 * Rows: RET_OBJECT one per object, keyed "TYPE at 0xADDR"; RET_TYPE,
 * RET_MODULE (the type's module) and RET_SITE (the innermost site frame
 * "FILE:LINE", "[no site]") one per key, whose retained figures sum only
 * its topmost objects -- those no object of the same key dominates -- so
 * that nothing is counted twice within a row; count and self_bytes cover
 * all its objects.  Sorted by retained bytes, retained count, then key.
 * Each kept row has an example: its largest topmost object, with its
 * shortest path from the holders (path_tree_text()).
 */
enum retained_by { RET_OBJECT, RET_TYPE, RET_MODULE, RET_SITE };

struct retained_row {
	const char *key;
	char *owned_key;                   /* what key points to, if owned */
	uint64_t retained_bytes, retained_count;
	uint64_t self_bytes, count;
	uint32_t example;                  /* object id, or UINT32_MAX */
	uint64_t addr;                     /* the example's address */
	char *example_path;                /* owned, or NULL */
	bool by_object;                    /* a row of RET_OBJECT: ties go
					    * by address */
};

struct retained {
	enum retained_by by;
	struct retained_row *rows;
	size_t nrows, rows_alloc, nkeys;   /* nkeys: rows before --top */
	uint64_t total_bytes, total_count; /* every object */
	uint64_t reachable_bytes, reachable_count; /* under the holders */
};

const char *retained_by_name(enum retained_by by);
/* 0, or -PH_E_USAGE for a name that is not object, type, module, site. */
int retained_by_parse(const char *name, enum retained_by *by);
/* top_n 0: every row. */
int retained_analyse(const struct snapshot *s, enum retained_by by,
		     size_t top_n, struct retained *r);
/* Each object's retained bytes (nobjects entries, 0 for garbage): for
 * why_analyse().  The caller frees it. */
uint64_t *retained_sizes(const struct snapshot *s);
void retained_release(struct retained *r);

/*
 * Native leaks (pyheap leaks): from a snapshot with SNAP_LEAKS (snap's
 * native-leak scan, objects/leaks.c), valgrind memcheck's summary of the
 * in-use malloc chunks -- one class per enum chunk_reach -- and groups:
 * definitely lost leaders by (chunk size, signature), each with the
 * indirectly lost chunks of their cliques; possibly lost and held-by-
 * Python-garbage chunks by size.  Groups are sorted by their bytes with
 * the indirect bytes, descending (with a comparison: by the growth of
 * that), then size, state and signature.
 *
 * By holder: the native chunks (owned by an object's C struct, or no
 * object's) that are reachable, possibly lost or held by garbage, by
 * what the scan reached them from: the type name of the Python object,
 * or the root region ("stack of thread 12", "libxml2.so.2 data").
 */
#define LEAKS_STAT_LOST_BYTES "leaks.definitely_lost.bytes"
#define LEAKS_STAT_INDIRECT_BYTES "leaks.indirectly_lost.bytes"

struct leak_class {
	uint64_t chunks, bytes;
	uint64_t chunks_a, bytes_a;        /* leaks_compare() */
};

struct leak_group {
	uint32_t state;                    /* enum chunk_reach */
	uint64_t size;                     /* chunk size */
	char *signature;                   /* owned; "" for none */
	uint64_t chunks, bytes, indirect_chunks, indirect_bytes;
	uint64_t example;                  /* a chunk's user memory (+16) */
	/* leaks_compare(): A's, 0 where A had no such group. */
	uint64_t chunks_a, bytes_a, indirect_chunks_a, indirect_bytes_a;
	char *key;                         /* private: "state size sig" */
	size_t key_len;
};

struct leak_holder {
	const char *key;                   /* into the snapshot */
	uint64_t chunks, bytes;
	uint64_t example;
};

struct leaks {
	struct leak_class cls[REACH__COUNT];  /* [0] unused */
	struct leak_group *groups;
	size_t ngroups, groups_alloc;
	struct leak_holder *holders;
	size_t nholders, holders_alloc;
	bool compared;
};

/*
 * Trees of bytes (tree.c), for pyheap report's icicles: node 0 is the
 * root, each other node a key at its depth (module, then type; or a
 * site's frames, outermost first, as "FILE:LINE"), with the count and
 * bytes of its subtree on each side: [1] the snapshot (B of a pair), [0]
 * A's.  tree_by_*() add one snapshot's objects on a side;
 * tree_finish() lists each node's children, largest on `side` first
 * (kids[first_child .. first_child + nchildren)).  Names are the tree's
 * own copies.
 */
#define TREE_NONE UINT32_MAX
#define TREE_ALL_FRAMES 0xffffffffu
struct tree_node {
	const char *name;
	uint32_t parent;        /* TREE_NONE for the root */
	uint32_t depth;         /* 0 the root */
	uint64_t count[2], bytes[2];
	uint32_t first_child, nchildren;
};
struct tree {
	struct tree_node *nodes;
	size_t nnodes, nodes_alloc;
	uint32_t *kids;
	uint32_t depth;         /* the deepest node's */
	bool paths;             /* names are "FILE:LINE" (tree_by_site) */
	/* Private: the names, and (parent, name id) -> node. */
	char **owned, *owned_name_root;
	size_t nowned, owned_alloc;
	struct strmap names;
	struct u64map index;
};
void tree_init(struct tree *t, const char *root);
/* The child of parent called name, added if missing. */
uint32_t tree_child(struct tree *t, uint32_t parent, const char *name);
/* count and bytes on `side` of node and each of its ancestors. */
void tree_add(struct tree *t, uint32_t node, int side, uint64_t count,
	      uint64_t bytes);
/* 0; or report_group_depth()'s errors. */
int tree_by_module_type(const struct snapshot *s, int side, struct tree *t);
int tree_by_site(const struct snapshot *s, int side, struct tree *t);
void tree_finish(struct tree *t, int side);
void tree_release(struct tree *t);

/* The classes' JSON names, by enum chunk_reach ("definitely_lost"). */
const char *leaks_class_name(unsigned reach);
/* 0, or -PH_E_FORMAT for a snapshot without the scan (the message says
 * why: no malloc walk, taken without stopping, --no-leak-scan, or an
 * older pyheap). */
int leaks_analyse(const struct snapshot *s, struct leaks *l);
/* The same without the holders (what snap stores in GRPS). */
int leaks_analyse_groups(const struct snapshot *s, struct leaks *l);
/* A's figures into l's: groups paired by (state, size, signature); A's
 * groups that l lacks are added with zero chunks. */
void leaks_compare(struct leaks *l, const struct leaks *a);
/* A's classes and groups as leaks_compare() reads them, from A's summary
 * (GRPS and the leaks.* class stats, 1.8) instead of its chunks: 0, or
 * -PH_E_NOTFOUND (no error message) when A has no such summary. */
int leaks_from_groups(const struct snapshot *a, struct leaks *l);
void leaks_release(struct leaks *l);
/* Definitely and indirectly lost bytes from the stats (0 and false
 * without the scan): for diff, trend and the metrics. */
bool leaks_lost_bytes(const struct snapshot *s, uint64_t *lost);

#endif
