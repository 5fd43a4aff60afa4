/*
 * objects/ — from allocator blocks and roots to a census of every live
 * Python object: type, size, referents.
 *
 * census_build() reads target memory through p->t (normally a copied
 * image, after the target was resumed) and fills a snapshot's types,
 * objects, edges, roots, gc state and stats.  How objects are found:
 *
 *   1. every used pymalloc block (heap/pymalloc.c) whose start, after the
 *      pre-header its type implies, holds a valid object;
 *   2. every object on the GC generation lists (this finds GC objects too
 *      large for pymalloc) — these are marked OBJ_GC_TRACKED;
 *   3. the roots: sys.modules, the interpreter's sys and builtins dicts,
 *      each thread's frames, locals, thread dict and pending exceptions;
 *   4. transitively, every object referred to by a found object (this
 *      finds large non-GC objects such as big str/bytes in malloc memory,
 *      and static objects in the interpreter's data segment: None, small
 *      ints, static type objects).
 *
 * "Valid object" is INTERNALS §4.3: aligned, readable, its ob_type is a
 * type (its own type's type is `type` or a subclass of it, and it has
 * Py_TPFLAGS_READY), the pre-header its type implies is consistent with
 * where it was found, refcount >= 1 (objects parked on CPython's free lists
 * have refcount 0 and are not live), and its size fits its block.  Every
 * rejected candidate is counted by reason in the snapshot stats
 * ("census.skipped.<reason>").
 *
 * Referents follow CPython's tp_traverse for the built-in kinds (list,
 * tuple, dict in every layout, set, instance __dict__ / __slots__ / inline
 * values, cell, function, method, frame, generator/coroutine, module,
 * type, code, deque, array.array, _struct.Struct); objects of other types
 * get a conservative scan of their basic size for words that are
 * addresses of known objects, and are flagged OBJ_EDGES_CONSERVATIVE.  A
 * C subclass of a known container (collections.defaultdict, a dict) is
 * walked as its base, and only the fields it adds are scanned (it is
 * flagged too).
 *
 * Sizes are what sys.getsizeof() returns (each type's __sizeof__ plus the
 * GC/managed-dict pre-header), with the part in separately allocated
 * buffers kept in snap_object.buffers: for extension types too where
 * objects/extension.c knows their struct (array.array's items,
 * _struct.Struct's codes, the data a numpy.ndarray owns).  Those buffers
 * are their owner's (chunk OWNER_BUFFER), each counted once.
 *
 * With census_opts.leaks, every in-use malloc chunk is then classified
 * as valgrind memcheck would (reachable, possibly lost, held by Python
 * garbage, definitely or indirectly lost) by a conservative scan of the
 * image from the roots, and each lost clique is named by what it points
 * at (leaks.c, leaks_sig.c).
 *
 * Every loop over target data is bounded; a bad pointer drops one edge or
 * one candidate, never the census.
 */
#ifndef PYHEAP_OBJECTS_H
#define PYHEAP_OBJECTS_H

#include "../python/python.h"
#include "../snapshot/snapshot.h"

/* Which str keys of dicts label edges (snap --labels). */
enum census_labels {
	LABELS_IDENTIFIERS = 0, /* interned identifier-like keys: names of
				 * attributes, globals and modules, never
				 * user data (the default) */
	LABELS_ALL,             /* every compact ASCII str key */
	LABELS_NONE,            /* no edge labels at all */
};

struct census_opts {
	bool inconsistent;   /* memory was read without stopping the target */
	enum census_labels labels;
	/* Called once the objects, edges and chunks are in the snapshot,
	 * before the native-leak scan: snap marks pyheap garbage's objects
	 * (OBJ_GARBAGE) here, which the scan needs.  May be NULL. */
	void (*objects_done)(struct snapshot *s);
	/* The native-leak scan (objects/leaks.c, SNAP_LEAKS): with glibc's
	 * malloc walked and the target stopped, classify every in-use chunk
	 * from these roots (the stopped threads' registers and stacks) and
	 * the image's writable memory. */
	bool leaks;
	const struct target_thread *threads;
	size_t nthreads;
};

int census_build(struct pyproc *p, const struct census_opts *o,
		 struct snapshot *s);

#endif
