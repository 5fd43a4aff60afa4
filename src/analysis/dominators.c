/*
 * Dominators (internal.h "Dominators"): the immediate dominator of every
 * object reachable from a set of roots, and what each one retains.
 *
 * Semidominators as in Lengauer and Tarjan (LT; the "simple" EVAL, path
 * compression without balancing), then the immediate dominators by
 * semi-NCA (Georgiadis): in preorder, idom(w) is the first node on the
 * dominator tree path up from w's DFS parent that is numbered no higher
 * than sdom(w).  That walk is what makes semi-NCA the fastest in
 * practice, and also quadratic on graphs a hostile heap can draw: a chain
 * of k objects whose head and tail both point at k more has k leaves
 * walking k steps each (tests/unit/test_dominators.c "comb").  So the
 * walks share a budget linear in the graph; past it, LT's own second half
 * (buckets, one more EVAL per node) takes over, and the whole stays
 * O(m log n).
 *
 * Everything is iterative: the graphs come from a target's memory, have
 * millions of nodes and chains as long as the heap (a linked list), so
 * neither the DFS nor EVAL's path compression may recurse.  The DFS keeps
 * one edge cursor per node and climbs back through the DFS parents; EVAL
 * reverses the parent pointers on its way up and restores (compresses)
 * them on its way down, so it needs no stack either.
 *
 * Nodes are renumbered in DFS preorder from a virtual root numbered 0
 * that has an edge to each root; the reachable nodes are 1..nreach.  All
 * the work arrays are indexed by that number; preorder numbers fit in a
 * uint32_t because n <= UINT32_MAX - 2, which leaves UINT32_MAX free as
 * an end marker.
 *
 * Time goes to cache misses (a 5M-node heap's arrays are far bigger than
 * the caches), so the edges are read twice only: the DFS classifies them
 * as it goes.  An edge v -> w with pre(v) < pre(w) (a tree or forward edge: v
 * is an ancestor of w) offers v itself as w's semidominator, so it is
 * folded into semi[w] there and then.  Only the others, from nodes
 * numbered after w (back and cross edges), need EVAL when w's turn comes:
 * the DFS counts them, and one more pass lists them by target.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define END UINT32_MAX

/*
 * The state of one node, by preorder number.  One record rather than four
 * arrays: what a step reads of a node then costs one cache miss, not one
 * per field.
 */
struct ltnode {
	uint32_t anc;	/* DFS parent, then EVAL's compressed forest */
	uint32_t semi;	/* semidominator, final once processed */
	uint32_t label;	/* EVAL's label; the DFS's, then predecessors()'s,
			 * edge cursor before */
	uint32_t dom;	/* idom; the DFS parent before (and buckets()'s
			 * links); the DFS's edge end before that */
};

/*
 * Number the nodes reachable from roots in DFS preorder: pre[v] (0 for
 * unreached nodes), vert[p - 1] = v and a[p].anc (0 for a root).  The DFS
 * path is walked back through anc, so there is no stack.  Folds tree and
 * forward edges into a[].semi and counts the others in ps[q + 1] for
 * their target q.  Returns the number of reachable nodes.
 */
static uint32_t dfs(size_t n, const uint32_t *start, const uint32_t *dst,
		    const uint32_t *roots, size_t nroots, uint32_t *pre,
		    uint32_t *vert, struct ltnode *a, uint32_t *ps)
{
	uint32_t nreach = 0;
	size_t r;

	for (r = 0; r < nroots; r++) {
		uint32_t v = roots[r], p, e, stop;

		if (v >= n)
			continue;	/* out of range */
		if (pre[v]) {
			/* Repeated, or found below another root: the
			 * virtual root's edge still makes 0 its semi. */
			a[pre[v]].semi = 0;
			continue;
		}
		pre[v] = p = ++nreach;
		vert[p - 1] = v;
		a[p].anc = a[p].semi = 0;
		e = start[v];
		stop = start[v + 1];
		for (;;) {
			uint32_t x, q;

			if (e >= stop) {	/* done with p: back up */
				p = a[p].anc;
				if (!p)
					break;
				e = a[p].label;
				stop = a[p].dom;
				continue;
			}
			x = dst[e++];
			if (x >= n)
				continue;
			q = pre[x];
			if (q && q < p) {
				ps[q + 1]++;	/* back or cross edge */
			} else if (q > p) {
				if (p < a[q].semi)	/* forward edge */
					a[q].semi = p;
			} else if (!q) {	/* tree edge: go down */
				a[p].label = e;
				a[p].dom = stop;
				pre[x] = ++nreach;
				vert[nreach - 1] = x;
				a[nreach].anc = a[nreach].semi = p;
				p = nreach;
				e = start[x];
				stop = start[x + 1];
			}
		}
	}
	return nreach;
}

/*
 * List the back and cross edges the DFS counted by target, as preorder
 * numbers: q's sources are pred[ps[q] .. ps[q + 1]).  There are no more
 * of them than edges, so a uint32_t holds the offsets.
 */
static uint32_t *predecessors(size_t n, const uint32_t *start,
			      const uint32_t *dst, const uint32_t *pre,
			      const uint32_t *vert, uint32_t nreach,
			      struct ltnode *a, uint32_t *ps)
{
	uint32_t *pred, p, e;

	for (p = 1; p <= nreach + 1; p++)
		ps[p] += ps[p - 1];
	pred = xmalloc((size_t)ps[nreach + 1] * sizeof(*pred));
	for (p = 1; p <= nreach; p++)
		a[p].label = ps[p];
	for (p = 1; p <= nreach; p++) {
		uint32_t v = vert[p - 1];

		for (e = start[v]; e < start[v + 1]; e++) {
			uint32_t q = dst[e] < n ? pre[dst[e]] : p;

			if (q < p)
				pred[a[q].label++] = p;
		}
	}
	return pred;
}

/*
 * LT's EVAL: the node of least semidominator on the forest path from v up
 * to, not including, its forest root.  The forest is implicit, as in
 * LLVM's SemiNCA: a node is linked to its DFS parent (anc starts as the
 * DFS parent) once it has been processed, that is once its number is >=
 * last, and the nodes below last are roots.  v is linked.
 *
 * Path compression without recursion: the climb reverses each anc
 * pointer to point back down at the node it came from, and the descent
 * follows those back down, pointing every node at the forest root and
 * carrying the least label down the path.
 */
static uint32_t eval(struct ltnode *a, uint32_t v, uint32_t last)
{
	uint32_t prev = END, x = v, root, above;

	if (a[v].anc < last)
		return a[v].label;
	while (a[x].anc >= last) {
		uint32_t up = a[x].anc;

		a[x].anc = prev;
		prev = x;
		x = up;
	}
	/* x is the topmost linked node on the path: its label stands. */
	root = a[x].anc;
	above = x;
	while (prev != END) {
		uint32_t y = prev;

		prev = a[y].anc;
		a[y].anc = root;
		if (a[a[above].label].semi < a[a[y].label].semi)
			a[y].label = a[above].label;
		above = y;
	}
	return a[v].label;
}

/*
 * sdom(w) for every w, in reverse preorder: the least of what semi[w]
 * holds already (its parent and its other predecessors numbered below
 * it) and, for each predecessor numbered after it, the least semi on that
 * one's forest path.  w is then linked to its parent, which the DFS
 * parent in dom remembers through EVAL's compression of anc.
 */
static void semidominators(uint32_t nreach, struct ltnode *a,
			   const uint32_t *ps, const uint32_t *pred)
{
	uint32_t w, e;

	for (w = nreach; w >= 1; w--) {
		uint32_t s = a[w].semi;

		a[w].dom = a[w].anc;	/* no EVAL has compressed it yet */
		for (e = ps[w]; e < ps[w + 1]; e++) {
			uint32_t u = eval(a, pred[e], w + 1);

			if (a[u].semi < s)
				s = a[u].semi;
		}
		a[w].semi = s;
		a[w].label = w;
	}
}

/*
 * Semi-NCA's second half, in preorder so the walk only meets final
 * idoms.  Gives up, with anc back to the DFS parents for buckets(), once
 * `budget` steps are spent.
 */
static bool nca(uint32_t nreach, struct ltnode *a, uint64_t budget)
{
	uint32_t w, x;

	for (w = 1; w <= nreach; w++) {
		x = a[w].anc = a[w].dom;
		while (x > a[w].semi) {
			if (!budget--) {
				for (x = w; x <= nreach; x++)
					a[x].anc = a[x].dom;
				return false;
			}
			x = a[x].dom;
		}
		a[w].dom = x;
	}
	return true;
}

/*
 * LT's second half, once the semidominators are known: a sweep in
 * reverse preorder linking the nodes again (anc is the DFS parents), with
 * head[] (nreach entries, zeroed) for the buckets.  When w's parent p has
 * w's subtree linked, each v in p's bucket (sdom(v) = p) gets u, the node
 * of least sdom on the path from p down to v: idom(v) = p if sdom(u) = p,
 * else idom(u), fixed in the last pass.  dom doubles as the buckets'
 * links (a node sits in one bucket and gets its dominator as it leaves).
 */
static void buckets(uint32_t nreach, struct ltnode *a, uint32_t *head)
{
	uint32_t w, v, next;

	for (w = nreach; w >= 1; w--) {
		uint32_t p = a[w].anc;

		a[w].label = w;
		a[w].dom = head[a[w].semi];
		head[a[w].semi] = w;
		for (v = head[p]; v; v = next) {
			uint32_t u = eval(a, v, w);

			next = a[v].dom;
			a[v].dom = a[u].semi < a[v].semi ? u : p;
		}
		head[p] = 0;
	}
	/* In preorder, so idom(dom) is final when w reads it. */
	for (w = 1; w <= nreach; w++)
		if (a[w].dom != a[w].semi)
			a[w].dom = a[a[w].dom].dom;
}

void domtree_build(struct domtree *d, size_t n, const uint32_t *start,
		   const uint32_t *dst, const uint32_t *roots, size_t nroots)
{
	struct ltnode *a;
	uint32_t *pre, *ps, *pred, nreach, p;

	/*
	 * Memory: the two outputs (n entries each), a[] (four uint32_t per
	 * node), ps[] and the list of back and cross edges.  The outputs
	 * double as work space: idom holds pre[] (node to preorder number)
	 * until pred[] is built and LT's buckets after, if it comes to
	 * that; order holds the preorder's nodes throughout.
	 */
	d->n = n;
	d->idom = pre = xcalloc(n, sizeof(*d->idom));
	d->order = xmalloc(n * sizeof(*d->order));
	a = xmalloc((n + 1) * sizeof(*a));
	ps = xcalloc(n + 2, sizeof(*ps));
	nreach = dfs(n, start, dst, roots, nroots, pre, d->order, a, ps);
	d->nreach = nreach;
	d->order = xrealloc(d->order, (size_t)nreach * sizeof(*d->order));
	a = xrealloc(a, ((size_t)nreach + 1) * sizeof(*a));
	ps = xrealloc(ps, ((size_t)nreach + 2) * sizeof(*ps));

	pred = predecessors(n, start, dst, pre, d->order, nreach, a, ps);
	semidominators(nreach, a, ps, pred);
	free(pred);
	/* Random graphs take about a step a node; the budget only stops
	 * the quadratic cases. */
	if (!nca(nreach, a, 2 * ((uint64_t)nreach + ps[nreach + 1]))) {
		memset(pre, 0, (size_t)nreach * sizeof(*pre));
		buckets(nreach, a, pre);
	}
	free(ps);

	memset(d->idom, 0xff, n * sizeof(*d->idom));
	for (p = 1; p <= nreach; p++)
		d->idom[d->order[p - 1]] = a[p].dom ? d->order[a[p].dom - 1]
						    : DOM_ROOT;
	free(a);
}

void domtree_retained(const struct domtree *d, const uint64_t *self,
		      uint64_t *retained, uint64_t *count)
{
	size_t i;

	if (retained && retained != self)
		memset(retained, 0, d->n * sizeof(*retained));
	if (count)
		memset(count, 0, d->n * sizeof(*count));
	/* Reverse preorder: a node's subtree is complete when it is read,
	 * since every node comes after its immediate dominator. */
	for (i = d->nreach; i-- > 0;) {
		uint32_t v = d->order[i], up = d->idom[v];

		if (retained) {
			if (retained != self)
				retained[v] += self[v];
			if (up != DOM_ROOT)
				retained[up] += retained[v];
		}
		if (count) {
			count[v]++;
			if (up != DOM_ROOT)
				count[up] += count[v];
		}
	}
	if (retained && retained == self)
		for (i = 0; i < d->n; i++)
			if (d->idom[i] == DOM_NONE)
				retained[i] = 0;
}

void domtree_release(struct domtree *d)
{
	free(d->idom);
	free(d->order);
	memset(d, 0, sizeof(*d));
}
