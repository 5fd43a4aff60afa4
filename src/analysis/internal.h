/*
 * What the files of analysis/ share and nothing else sees.
 */
#ifndef PYHEAP_ANALYSIS_INTERNAL_H
#define PYHEAP_ANALYSIS_INTERNAL_H

#include "analysis.h"

/*
 * --by site and site,type (sites.c): fill r's rows and totals from s's
 * objects, keyed by r->depth frames (analysis.h "Sites").  r is set up
 * (by, depth) and empty; the caller sorts.
 */
void group_sites(const struct snapshot *s, const struct snap_summary *m,
		 struct report *r);
/* The key of the site groupings' row of objects without a site. */
#define NO_SITE "[no site]"

/* Count the objects of cell c, or n malloc chunks of `size` bytes in
 * all, in row and in r's totals (analysis.h "Totals"). */
void report_count_cell(struct report *r, struct report_row *row,
		       const struct snap_cell *c);
void report_count_chunks(struct report *r, struct report_row *row,
			 uint64_t n, uint64_t size);

/*
 * Garbage (garbage.c, garbage_models.c; analysis.h "Garbage").
 * garbage_propagate(): mark everything reachable from the marked objects,
 * over every edge or (tracked_only) tracked to tracked, within the
 * objects `within` marks (NULL: all).  garbage_type_name(): an object's
 * type name, "[unnamed type]" for none.  The collectors' own rules, each
 * changing the unreachable set `set`:
 *   garbage_finalize_generators()  GIL 3.x: closing the suspended
 *       generators frees what only their frames held;
 *   garbage_ft_tracked()  free-threaded: which objects stay tracked once
 *       atomic tuples and dicts are untracked (NULL for a GIL build, ft
 *       false); the caller frees it;
 *   garbage_legacy_finalizers()  2.7: the objects with a legacy
 *       finalizer and what they reach leave set; listed in g, marked in
 *       the result (the caller frees it).
 */
void garbage_propagate(const struct snapshot *s, uint8_t *mark,
		       bool tracked_only, const uint8_t *within);
const char *garbage_type_name(const struct snapshot *s, uint32_t obj);
void garbage_finalize_generators(const struct snapshot *s, uint8_t *set);
uint8_t *garbage_ft_tracked(const struct snapshot *s, bool ft);
uint8_t *garbage_legacy_finalizers(const struct snapshot *s, uint8_t *set,
				   struct garbage *g);

/*
 * Dominators (dominators.c)
 * -------------------------
 * The dominator tree of a graph of n nodes in CSR form (the successors of
 * v are dst[start[v] .. start[v + 1])) under a virtual root with an edge
 * to each of roots[0..nroots): d dominates v if every path from the roots
 * to v goes through d.  What an object retains is its dominator subtree:
 * what would become unreachable if it went.
 *
 * n <= UINT32_MAX - 2 (node ids never collide with DOM_ROOT/DOM_NONE);
 * start[] is non-decreasing with start[n] <= the length of dst.
 * Destinations and roots >= n are ignored; repeated roots, self loops and
 * repeated edges are fine.  Exact (semi-NCA, Lengauer-Tarjan on hostile
 * shapes), iterative (no recursion on the graph's shape), O((n + edges)
 * log n).  Memory while it runs, besides the outputs' 8 bytes a node: 20
 * bytes a node and 4 an edge that goes back in DFS order.
 */
#define DOM_NONE UINT32_MAX		/* unreachable from the roots */
#define DOM_ROOT (UINT32_MAX - 1)	/* idom is the virtual root */

struct domtree {
	uint32_t *idom;		/* n entries: a node id, DOM_ROOT or DOM_NONE */
	/* The reachable nodes in DFS preorder from the virtual root (nreach
	 * entries): every node comes after its immediate dominator. */
	uint32_t *order;
	size_t n, nreach;
};

void domtree_build(struct domtree *d, size_t n, const uint32_t *start,
		   const uint32_t *dst, const uint32_t *roots, size_t nroots);
/* For every reachable v: retained[v] = the sum of self[v'] over v's
 * dominator subtree (v included), count[v] = the number of nodes in it;
 * 0 for unreachable nodes.  Either output may be NULL (self is read only
 * for retained).  self may be retained itself, filled with the sizes:
 * the sums replace them in place (no second n-entry array).  One pass
 * over order, in reverse. */
void domtree_retained(const struct domtree *d, const uint64_t *self,
		      uint64_t *retained, uint64_t *count);
void domtree_release(struct domtree *d);

#endif
