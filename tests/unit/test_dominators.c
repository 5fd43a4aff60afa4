/*
 * analysis/dominators.c: hand-made graphs with their immediate dominators
 * written down, random small graphs checked against the definition (d
 * dominates v iff removing d disconnects v from the roots), and graphs of
 * millions of nodes (a chain as long as the graph, random graphs checked
 * against an independent algorithm) to show nothing recurses on the
 * graph's shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/internal.h"
#include "base/base.h"
#include "check_util.h"

#define NONE DOM_NONE
#define ROOT DOM_ROOT

/*
 * Check's ck_assert_*() report every passing check to the runner (a
 * write(2) each), which takes a minute over graphs of millions of nodes:
 * these check quietly and only fail loudly.
 */
#define EXPECT(cond, ...)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			ck_abort_msg(__VA_ARGS__);                         \
	} while (0)
#define EXPECT_OP(a, op, b)                                                \
	do {                                                               \
		uint64_t a_ = (a), b_ = (b);                               \
		EXPECT(a_ op b_, "%s %s %s: %llu vs %llu", #a, #op, #b,    \
		       (unsigned long long)a_, (unsigned long long)b_);    \
	} while (0)
#define EXPECT_EQ(a, b) EXPECT_OP(a, ==, b)
#define EXPECT_LT(a, b) EXPECT_OP(a, <, b)

struct graph {
	size_t n, m;
	uint32_t *start, *dst;
};

/* CSR from m (src, dst) pairs; every src < n, dst is anything. */
static void graph_init(struct graph *g, size_t n, const uint32_t (*e)[2],
		       size_t m)
{
	size_t i;

	g->n = n;
	g->m = m;
	g->start = xcalloc(n + 2, sizeof(*g->start));
	g->dst = xmalloc(m * sizeof(*g->dst));
	for (i = 0; i < m; i++)
		g->start[e[i][0] + 2]++;
	for (i = 2; i <= n + 1; i++)
		g->start[i] += g->start[i - 1];
	for (i = 0; i < m; i++)
		g->dst[g->start[e[i][0] + 1]++] = e[i][1];
}

static void graph_release(struct graph *g)
{
	free(g->start);
	free(g->dst);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* What the roots reach without going through `removed` (n: none). */
static void reach(const struct graph *g, const uint32_t *roots,
		  size_t nroots, size_t removed, uint8_t *mark)
{
	uint32_t *stack = xmalloc((g->n + 1) * sizeof(*stack));
	size_t top = 0, i;

	memset(mark, 0, g->n);
	for (i = 0; i < nroots; i++)
		if (roots[i] < g->n && roots[i] != removed && !mark[roots[i]]) {
			mark[roots[i]] = 1;
			stack[top++] = roots[i];
		}
	while (top) {
		uint32_t v = stack[--top], e;

		for (e = g->start[v]; e < g->start[v + 1]; e++) {
			uint32_t w = g->dst[e];

			if (w < g->n && w != removed && !mark[w]) {
				mark[w] = 1;
				stack[top++] = w;
			}
		}
	}
	free(stack);
}

/* Is a an ancestor of v (or v itself) in d's tree? */
static bool tree_above(const struct domtree *d, uint32_t a, uint32_t v)
{
	while (v != ROOT) {
		if (v == a)
			return true;
		v = d->idom[v];
	}
	return false;
}

/* order holds each reachable node once, after its immediate dominator. */
static void check_order(const struct domtree *d, const uint8_t *reached)
{
	uint32_t *pos = xmalloc(d->n * sizeof(*pos));
	size_t i, nreach = 0;

	memset(pos, 0xff, d->n * sizeof(*pos));
	for (i = 0; i < d->nreach; i++) {
		uint32_t v = d->order[i];

		EXPECT_LT(v, d->n);
		EXPECT_EQ(pos[v], UINT32_MAX);
		EXPECT(reached[v], "%u in order, not reachable", v);
		pos[v] = (uint32_t)i;
		if (d->idom[v] != ROOT) {
			EXPECT_LT(d->idom[v], d->n);
			EXPECT_LT(pos[d->idom[v]], i);
		}
	}
	for (i = 0; i < d->n; i++)
		nreach += reached[i];
	EXPECT_EQ(nreach, d->nreach);
	free(pos);
}

/*
 * Build and check everything against the definition: for every reachable
 * v, what removing v disconnects is exactly v's strict subtree; idom[v] is
 * the strict dominator every other one dominates; retained and count are
 * the sums over what removing v disconnects, plus v.  O(n (n + m)): small
 * graphs only.
 */
static void check_graph(const struct graph *g, const uint32_t *roots,
			size_t nroots, struct domtree *out)
{
	size_t n = g->n, v, x, y;
	uint8_t *reached = xmalloc(n + 1), *after = xmalloc(n + 1);
	uint8_t *dom = xcalloc(n * n + 1, 1);	/* dom[v * n + x] */
	uint64_t *self = xmalloc((n + 1) * sizeof(*self));
	uint64_t *ret = xmalloc((n + 1) * sizeof(*ret));
	uint64_t *cnt = xmalloc((n + 1) * sizeof(*cnt));
	struct domtree d;

	domtree_build(&d, n, g->start, g->dst, roots, nroots);
	EXPECT_EQ(d.n, n);
	for (v = 0; v < n; v++)
		self[v] = 1 + 7 * v;
	domtree_retained(&d, self, ret, cnt);
	reach(g, roots, nroots, n, reached);
	check_order(&d, reached);
	for (v = 0; v < n; v++) {
		if (!reached[v])
			continue;
		reach(g, roots, nroots, v, after);
		for (x = 0; x < n; x++)
			dom[v * n + x] = reached[x] && x != v && !after[x];
	}
	for (v = 0; v < n; v++) {
		uint64_t r = self[v], c = 1;
		uint32_t want = ROOT;

		if (!reached[v]) {
			EXPECT_EQ(d.idom[v], NONE);
			EXPECT_EQ(ret[v], 0);
			EXPECT_EQ(cnt[v], 0);
			continue;
		}
		for (x = 0; x < n; x++) {
			if (!reached[x] || x == v)
				continue;
			EXPECT(dom[v * n + x] ==
				       tree_above(&d, (uint32_t)v, (uint32_t)x),
			       "n %zu: %zu dominates %zu: %d", n, v, x,
			       dom[v * n + x]);
			if (dom[v * n + x]) {
				r += self[x];
				c++;
			}
		}
		EXPECT_EQ(ret[v], r);
		EXPECT_EQ(cnt[v], c);
		/* The strict dominator of v every other one dominates. */
		for (x = 0; x < n; x++) {
			bool closest = dom[x * n + v];

			for (y = 0; y < n && closest; y++)
				if (y != x && dom[y * n + v] && !dom[y * n + x])
					closest = false;
			if (closest) {
				EXPECT_EQ(want, ROOT);
				want = (uint32_t)x;
			}
		}
		EXPECT(d.idom[v] == want, "n %zu: idom[%zu] = %u, not %u", n,
		       v, d.idom[v], want);
	}
	/* Either output alone gives the same. */
	domtree_retained(&d, self, NULL, cnt);
	domtree_retained(&d, self, ret, NULL);
	domtree_retained(&d, NULL, NULL, NULL);
	if (out)
		*out = d;
	else
		domtree_release(&d);
	free(reached);
	free(after);
	free(dom);
	free(self);
	free(ret);
	free(cnt);
}

/* Build g from edges, check it, and compare with the idoms written down. */
static void check_case(size_t n, const uint32_t (*e)[2], size_t m,
		       const uint32_t *roots, size_t nroots,
		       const uint32_t *want)
{
	struct graph g;
	struct domtree d;
	size_t v;

	graph_init(&g, n, e, m);
	check_graph(&g, roots, nroots, &d);
	for (v = 0; v < n; v++)
		EXPECT(d.idom[v] == want[v], "idom[%zu] = %u, not %u", v,
		       d.idom[v], want[v]);
	domtree_release(&d);
	ck_assert_ptr_null(d.idom);
	graph_release(&g);
}

#define CASE(e, roots, want)                                               \
	check_case(sizeof(want) / sizeof(want[0]), e,                      \
		   sizeof(e) / sizeof(e[0]), roots,                        \
		   sizeof(roots) / sizeof(roots[0]), want)

START_TEST(chain_diamond_cycle)
{
	static const uint32_t chain[][2] = { { 0, 1 }, { 1, 2 }, { 2, 3 } };
	static const uint32_t chain_want[] = { ROOT, 0, 1, 2 };
	static const uint32_t diamond[][2] = {
		{ 0, 1 }, { 0, 2 }, { 1, 3 }, { 2, 3 }, { 3, 4 },
	};
	static const uint32_t diamond_want[] = { ROOT, 0, 0, 0, 3 };
	/* 3 -> 1 closes a loop back to the root's child. */
	static const uint32_t cycle[][2] = {
		{ 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 1 }, { 3, 4 }, { 2, 4 },
	};
	static const uint32_t cycle_want[] = { ROOT, 0, 1, 2, 2 };
	static const uint32_t root0[] = { 0 };

	CASE(chain, root0, chain_want);
	CASE(diamond, root0, diamond_want);
	CASE(cycle, root0, cycle_want);
}
END_TEST

/*
 * The example flowgraph of Lengauer and Tarjan, "A fast algorithm for
 * finding dominators in a flowgraph" (TOPLAS 1979, Figure 1), which many
 * dominator test suites reuse.  Its dominator tree: R immediately
 * dominates A, B, C, D, E, H, I and K; C dominates F and G; G dominates
 * J; D dominates L.
 */
START_TEST(lengauer_tarjan_figure_1)
{
	enum { R, A, B, C, D, E, F, G, H, I, J, K, L };
	static const uint32_t e[][2] = {
		{ R, A }, { R, B }, { R, C }, { A, D }, { B, A }, { B, D },
		{ B, E }, { C, F }, { C, G }, { D, L }, { E, H }, { F, I },
		{ G, I }, { G, J }, { H, E }, { H, K }, { I, K }, { J, I },
		{ K, I }, { K, R }, { L, H },
	};
	static const uint32_t want[] = {
		[R] = ROOT, [A] = R, [B] = R, [C] = R, [D] = R, [E] = R,
		[F] = C, [G] = C, [H] = R, [I] = R, [J] = G, [K] = R,
		[L] = D,
	};
	static const uint32_t roots[] = { R };

	CASE(e, roots, want);
}
END_TEST

START_TEST(several_roots)
{
	/* 2 is reached from both roots; 4 is a root below another root,
	 * which does not dominate it. */
	static const uint32_t e[][2] = {
		{ 0, 1 }, { 1, 2 }, { 3, 2 }, { 2, 5 }, { 0, 4 }, { 4, 6 },
	};
	static const uint32_t want[] = { ROOT, 0, ROOT, ROOT, ROOT, 2, 4 };
	static const uint32_t roots[] = { 3, 0, 4 };
	/* Repeated and out of range roots change nothing. */
	static const uint32_t dup[] = { 0, 3, 99, 0, 4, 3, UINT32_MAX, 4 };

	CASE(e, roots, want);
	CASE(e, dup, want);
}
END_TEST

START_TEST(self_loops_multi_edges_bad_dst)
{
	static const uint32_t e[][2] = {
		{ 0, 0 }, { 0, 1 }, { 0, 1 }, { 1, 1 }, { 1, 5 },
		{ 1, UINT32_MAX }, { 1, ROOT }, { 1, 2 }, { 2, 2 },
		{ 2, 6 }, { 2, 3 }, { 3, 0 }, { 3, 3 }, { 3, 2 },
	};
	static const uint32_t want[] = { ROOT, 0, 1, 2, NONE };
	static const uint32_t roots[] = { 0 };

	CASE(e, roots, want);
}
END_TEST

START_TEST(unreachable)
{
	/* 3 and 4 point into the reachable part; what points at a node
	 * from outside does not change its dominators. */
	static const uint32_t e[][2] = {
		{ 0, 1 }, { 1, 2 }, { 3, 2 }, { 3, 4 }, { 4, 3 }, { 4, 1 },
	};
	static const uint32_t want[] = { ROOT, 0, 1, NONE, NONE };
	static const uint32_t roots[] = { 0 };
	static const uint32_t none_want[] = { NONE, NONE, NONE, NONE, NONE };
	static const uint32_t bad_roots[] = { 5, 1000 };
	struct graph g;
	struct domtree d;
	uint64_t self[5] = { 1, 2, 3, 4, 5 }, ret[5], cnt[5];

	CASE(e, roots, want);
	CASE(e, bad_roots, none_want);
	/* No roots at all. */
	graph_init(&g, 5, e, sizeof(e) / sizeof(e[0]));
	domtree_build(&d, g.n, g.start, g.dst, NULL, 0);
	EXPECT_EQ(d.nreach, 0);
	domtree_retained(&d, self, ret, cnt);
	EXPECT_EQ(d.idom[4], NONE);
	EXPECT_EQ(ret[0], 0);
	EXPECT_EQ(cnt[3], 0);
	domtree_release(&d);
	graph_release(&g);
}
END_TEST

START_TEST(empty_graph)
{
	uint32_t start[1] = { 0 }, roots[2] = { 0, 1 };
	struct domtree d;

	domtree_build(&d, 0, start, NULL, roots, 2);
	EXPECT_EQ(d.n, 0);
	EXPECT_EQ(d.nreach, 0);
	domtree_retained(&d, NULL, NULL, NULL);
	domtree_release(&d);
	domtree_build(&d, 0, NULL, NULL, NULL, 0);
	domtree_release(&d);
}
END_TEST

/*
 * A comb: a chain 0 -> 1 -> .. -> k-1 whose head and tail point at leaves
 * k .. n-1 (the hostile case for semi-NCA, see "comb" below, so what
 * makes dominators.c fall back to LT's buckets).
 */
START_TEST(small_comb)
{
	static const uint32_t e[][2] = {
		{ 0, 1 }, { 0, 5 }, { 0, 6 }, { 0, 7 }, { 0, 8 }, { 0, 9 },
		{ 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 5 }, { 4, 6 }, { 4, 7 },
		{ 4, 8 }, { 4, 9 }, { 9, 3 },
	};
	static const uint32_t want[] = { ROOT, 0, 1, 0, 3, 0, 0, 0, 0, 0 };
	static const uint32_t roots[] = { 0 };

	CASE(e, roots, want);
}
END_TEST

/*
 * Random graphs of 1..60 nodes: uniform, local (edges to nearby ids with
 * a few long ones: chains and loops, so deep dominator trees), mostly
 * forward (DAG-like) or combs (a chain whose nodes point at leaves, two
 * each, and leaves pointing back: long walks for semi-NCA, so LT's
 * buckets), of varied density, with self loops, repeated edges, out of
 * range destinations and repeated or bad roots mixed in.
 */
static size_t random_edges(size_t n, int shape, uint32_t (*e)[2])
{
	size_t avg = (size_t[]){ 0, 1, 2, 3, 5, 8 }[rnd() % 6];
	size_t m = 0, v, k, deg;

	if (shape == 3) {
		size_t kk = (n + 1) / 2;

		for (v = 0; v + 1 < kk; v++) {
			e[m][0] = (uint32_t)v;
			e[m++][1] = (uint32_t)(v + 1);
		}
		for (v = kk; v < n; v++) {
			size_t lo = rnd() % kk, hi = lo + rnd() % (kk - lo);

			e[m][0] = (uint32_t)lo;
			e[m++][1] = (uint32_t)v;
			e[m][0] = (uint32_t)hi;
			e[m++][1] = (uint32_t)v;
			if (rnd() % 4 == 0) {
				e[m][0] = (uint32_t)v;
				e[m++][1] = (uint32_t)(rnd() % n);
			}
		}
		return m;
	}
	for (v = 0; v < n; v++) {
		deg = rnd() % (2 * avg + 1);
		for (k = 0; k < deg; k++) {
			uint64_t r = rnd();
			uint32_t w;

			if (r % 100 < 3)
				w = (uint32_t)(n + r % 3);
			else if (r % 100 < 6)
				w = (uint32_t)v;
			else if (shape == 1 && r % 100 < 85)
				w = (uint32_t)((v + n - 3 + r / 100 % 7) % n);
			else if (shape == 2 && r % 100 < 90)
				w = (uint32_t)(v + 1 + r / 100 % (n - v));
			else
				w = (uint32_t)(r / 100 % n);
			e[m][0] = (uint32_t)v;
			e[m++][1] = w;
		}
	}
	return m;
}

START_TEST(random_small_graphs)
{
	uint32_t (*e)[2] = xmalloc(60 * 16 * sizeof(*e));
	uint32_t roots[4];
	int t;

	for (t = 0; t < 400; t++) {
		size_t n, m, nroots, k;
		int shape;
		struct graph g;

		rng_state = 1000 + t;
		n = 1 + rnd() % 60;
		shape = rnd() % 4;
		m = random_edges(n, shape, e);
		nroots = 1 + rnd() % 3;
		for (k = 0; k < nroots; k++)
			roots[k] = (uint32_t)(rnd() % n);
		if (shape == 3)
			roots[0] = 0;
		if (rnd() % 4 == 0)
			roots[nroots++] = rnd() % 2 ? roots[0] : (uint32_t)n;
		graph_init(&g, n, (const uint32_t (*)[2])e, m);
		check_graph(&g, roots, nroots, NULL);
		graph_release(&g);
	}
	free(e);
}
END_TEST

/* retained[v] - self[v] and count[v] - 1 are their children's sums. */
static void check_sums(const struct domtree *d, const uint64_t *self,
		       const uint64_t *ret, const uint64_t *cnt)
{
	uint64_t *rsum = xcalloc(d->n + 1, sizeof(*rsum));
	uint64_t *csum = xcalloc(d->n + 1, sizeof(*csum));
	size_t v;

	for (v = 0; v < d->n; v++)
		if (d->idom[v] < d->n) {
			rsum[d->idom[v]] += ret[v];
			csum[d->idom[v]] += cnt[v];
		}
	for (v = 0; v < d->n; v++) {
		if (d->idom[v] == NONE) {
			EXPECT_EQ(ret[v], 0);
			EXPECT_EQ(cnt[v], 0);
			continue;
		}
		EXPECT_EQ(ret[v], self[v] + rsum[v]);
		EXPECT_EQ(cnt[v], 1 + csum[v]);
	}
	free(rsum);
	free(csum);
}

/* A graph of n nodes with room for m edges, filled by the caller. */
static void graph_alloc(struct graph *g, size_t n, size_t m)
{
	g->n = n;
	g->m = m;
	g->start = xmalloc((n + 1) * sizeof(*g->start));
	g->dst = xmalloc((m ? m : 1) * sizeof(*g->dst));
}

static uint64_t *ones(size_t n)
{
	uint64_t *self = xmalloc(n * sizeof(*self));
	size_t i;

	for (i = 0; i < n; i++)
		self[i] = 1;
	return self;
}

/*
 * A chain of 2M nodes, as a linked list of objects is: the DFS is 2M deep,
 * and the tail's edge back to the second node makes one EVAL climb the
 * whole chain.  Then the same chain with ids running backwards.
 */
START_TEST(long_chain)
{
	const size_t n = 2000000;
	uint64_t *self = ones(n), *ret = xmalloc(n * sizeof(*ret));
	struct graph g;
	struct domtree d;
	uint32_t root = 0;
	size_t i;

	graph_alloc(&g, n, n);
	for (i = 0; i < n; i++) {
		g.start[i] = (uint32_t)i;
		g.dst[i] = (uint32_t)(i + 1 < n ? i + 1 : 1);
	}
	g.start[n] = (uint32_t)n;
	domtree_build(&d, n, g.start, g.dst, &root, 1);
	EXPECT_EQ(d.nreach, n);
	domtree_retained(&d, self, ret, NULL);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(d.idom[i], i ? i - 1 : ROOT);
		EXPECT_EQ(d.order[i], i);
		EXPECT_EQ(ret[i], n - i);
	}
	domtree_release(&d);

	for (i = 0; i < n; i++)
		g.dst[i] = (uint32_t)(i ? i - 1 : n - 2);
	root = (uint32_t)n - 1;
	domtree_build(&d, n, g.start, g.dst, &root, 1);
	EXPECT_EQ(d.nreach, n);
	domtree_retained(&d, self, ret, NULL);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(d.idom[i], i == n - 1 ? ROOT : i + 1);
		EXPECT_EQ(ret[i], i + 1);
	}
	domtree_release(&d);
	graph_release(&g);
	free(self);
	free(ret);
}
END_TEST

/*
 * The case that makes semi-NCA quadratic, and the reason dominators.c
 * falls back on LT's buckets: a chain 0 -> 1 -> .. -> k-1 whose head and
 * tail both point at k leaves.  The DFS reaches the leaves from the tail;
 * each leaf's semidominator is the head, and semi-NCA would walk the
 * chain's k - 1 immediate dominators for each of them (2.5e11 steps
 * here: hours).
 */
START_TEST(comb)
{
	const size_t k = 500000, n = 2 * k;
	uint64_t *self = ones(n), *cnt = xmalloc(n * sizeof(*cnt));
	struct graph g;
	struct domtree d;
	uint32_t root = 0;
	size_t i, m = 0;

	graph_alloc(&g, n, 3 * k);
	for (i = 0; i < n; i++) {
		size_t j;

		g.start[i] = (uint32_t)m;
		if (i + 1 < k)
			g.dst[m++] = (uint32_t)(i + 1);
		if (i == 0 || i == k - 1)
			for (j = k; j < n; j++)
				g.dst[m++] = (uint32_t)j;
	}
	g.start[n] = (uint32_t)m;
	domtree_build(&d, n, g.start, g.dst, &root, 1);
	domtree_retained(&d, self, NULL, cnt);
	for (i = 0; i < n; i++)
		EXPECT_EQ(d.idom[i], i == 0 ? ROOT : i < k ? i - 1 : 0);
	EXPECT_EQ(cnt[0], n);
	EXPECT_EQ(cnt[1], k - 1);
	domtree_release(&d);
	graph_release(&g);
	free(self);
	free(cnt);
}
END_TEST

/*
 * Cooper, Harvey and Kennedy's iterative algorithm ("A Simple, Fast
 * Dominance Algorithm", 2001): nothing in common with semi-NCA or LT but
 * the answer, so an oracle for graphs too big for the definition.  The
 * virtual root is node n.
 */
static uint32_t intersect(const uint32_t *doms, const uint32_t *po,
			  uint32_t a, uint32_t b)
{
	while (a != b) {
		while (po[a] < po[b])
			a = doms[a];
		while (po[b] < po[a])
			b = doms[b];
	}
	return a;
}

static void chk_dominators(const struct graph *g, const uint32_t *roots,
			   size_t nroots, uint32_t *idom)
{
	size_t n = g->n, top = 0, npo = 0, i;
	uint32_t vr = (uint32_t)n, *po = xmalloc((n + 1) * sizeof(*po));
	uint32_t *rpo = xmalloc((n + 1) * sizeof(*rpo));
	uint32_t *sv = xmalloc((n + 1) * sizeof(*sv));
	uint32_t *sc = xmalloc((n + 1) * sizeof(*sc));
	uint32_t *ps = xcalloc(n + 3, sizeof(*ps)), *pred, *doms = idom;
	bool changed = true;

	/* Postorder by a DFS with a stack of (node, next successor). */
	memset(po, 0xff, (n + 1) * sizeof(*po));
	po[vr] = UINT32_MAX - 1;
	sv[top] = vr;
	sc[top++] = 0;
	while (top) {
		uint32_t v = sv[top - 1], w = UINT32_MAX;

		while (w == UINT32_MAX) {
			uint32_t c = sc[top - 1]++;

			if (v == vr ? c >= nroots : c >= g->start[v + 1] -
							 g->start[v])
				break;
			w = v == vr ? roots[c] : g->dst[g->start[v] + c];
			if (w >= n || po[w] != UINT32_MAX)
				w = UINT32_MAX;
		}
		if (w == UINT32_MAX) {
			po[v] = (uint32_t)npo;
			rpo[n - npo++] = v;
			top--;
			continue;
		}
		po[w] = UINT32_MAX - 1;
		sv[top] = w;
		sc[top++] = 0;
	}
	/* Predecessors of the reached nodes, from reached nodes. */
	for (i = 0; i < nroots; i++)
		if (roots[i] < n)
			ps[roots[i] + 2]++;
	for (i = 0; i < n; i++) {
		uint32_t e;

		if (po[i] == UINT32_MAX)
			continue;
		for (e = g->start[i]; e < g->start[i + 1]; e++)
			if (g->dst[e] < n)
				ps[g->dst[e] + 2]++;
	}
	for (i = 2; i < n + 3; i++)
		ps[i] += ps[i - 1];
	pred = xmalloc((ps[n + 2] + 1) * sizeof(*pred));
	for (i = 0; i < nroots; i++)
		if (roots[i] < n)
			pred[ps[roots[i] + 1]++] = vr;
	for (i = 0; i < n; i++) {
		uint32_t e;

		if (po[i] == UINT32_MAX)
			continue;
		for (e = g->start[i]; e < g->start[i + 1]; e++)
			if (g->dst[e] < n)
				pred[ps[g->dst[e] + 1]++] = (uint32_t)i;
	}

	/* doms[vr] is never read: intersect() stops at vr, the last in
	 * postorder. */
	for (i = 0; i < n; i++)
		doms[i] = UINT32_MAX;
	while (changed) {
		changed = false;
		for (i = n + 1 - npo + 1; i <= n; i++) {
			uint32_t b = rpo[i], nd = UINT32_MAX, e;

			for (e = ps[b]; e < ps[b + 1]; e++) {
				uint32_t p = pred[e];

				if (p != vr && doms[p] == UINT32_MAX)
					continue;
				nd = nd == UINT32_MAX ? p :
				     (p == vr || nd == vr) ? vr :
				     intersect(doms, po, p, nd);
			}
			if (doms[b] != nd) {
				doms[b] = nd;
				changed = true;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (doms[i] == vr)
			idom[i] = ROOT;
		else if (po[i] == UINT32_MAX)
			idom[i] = NONE;
	free(po);
	free(rpo);
	free(sv);
	free(sc);
	free(ps);
	free(pred);
}

/* A random graph of n nodes, out-degree 0-5: half the edges to ids close
 * by (chains and loops), half anywhere; 1 in 50 out of range. */
static void random_graph(struct graph *g, size_t n, uint64_t seed)
{
	size_t v, m = 0;

	rng_state = seed;
	graph_alloc(g, n, 5 * n);
	for (v = 0; v < n; v++) {
		uint64_t r = rnd();
		size_t deg = r % 6, k;

		g->start[v] = (uint32_t)m;
		for (k = 0; k < deg; k++) {
			r = rnd();
			if (r % 50 == 0)
				g->dst[m++] = (uint32_t)(n + r / 50 % 100);
			else if (r % 2)
				g->dst[m++] = (uint32_t)((v + n - 4 +
							  r / 100 % 12) % n);
			else
				g->dst[m++] = (uint32_t)(r / 100 % n);
		}
	}
	g->start[n] = (uint32_t)m;
}

/* Build on random_graph(n, seed) with 10 roots; check the order and the
 * sums, and, with oracle, every idom against chk_dominators(). */
static void check_random(size_t n, uint64_t seed, bool oracle)
{
	uint32_t roots[10], *want = oracle ? xmalloc(n * sizeof(*want)) : 0;
	uint64_t *self = xmalloc(n * sizeof(*self));
	uint64_t *ret = xmalloc(n * sizeof(*ret));
	uint64_t *cnt = xmalloc(n * sizeof(*cnt));
	uint8_t *reached = xmalloc(n);
	struct graph g;
	struct domtree d;
	size_t i;

	random_graph(&g, n, seed);
	for (i = 0; i < 10; i++)
		roots[i] = (uint32_t)(rnd() % n);
	for (i = 0; i < n; i++)
		self[i] = rnd() % 1000;
	domtree_build(&d, n, g.start, g.dst, roots, 10);
	if (oracle) {
		chk_dominators(&g, roots, 10, want);
		for (i = 0; i < n; i++)
			EXPECT(d.idom[i] == want[i], "idom[%zu] = %u, not %u",
			       i, d.idom[i], want[i]);
	}
	reach(&g, roots, 10, n, reached);
	check_order(&d, reached);
	domtree_retained(&d, self, ret, cnt);
	check_sums(&d, self, ret, cnt);
	domtree_release(&d);
	graph_release(&g);
	free(want);
	free(self);
	free(ret);
	free(cnt);
	free(reached);
}

/*
 * 2M nodes (the DFS goes about as deep as the graph is big) checked for
 * shape, and 500k nodes checked against the oracle node by node: it needs
 * a few passes over the graph, so 2M would take seconds more.
 */
START_TEST(random_big_graph)
{
	check_random(2000000, 42, false);
	check_random(500000, 43, true);
}
END_TEST

/* The oracle itself, against the definition on small graphs. */
START_TEST(oracle_agrees_on_small_graphs)
{
	uint32_t want[200], roots[3];
	int t;

	for (t = 0; t < 50; t++) {
		struct graph g;
		struct domtree d;
		size_t n = 1 + t * 4, i;

		random_graph(&g, n, 7000 + t);
		for (i = 0; i < 3; i++)
			roots[i] = (uint32_t)(rnd() % n);
		check_graph(&g, roots, 3, &d);
		chk_dominators(&g, roots, 3, want);
		for (i = 0; i < n; i++)
			EXPECT_EQ(d.idom[i], want[i]);
		domtree_release(&d);
		graph_release(&g);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dominators");
	TCase *tc = tcase_create("small");
	TCase *chain = tcase_create("chain");
	TCase *comb_case = tcase_create("comb");
	TCase *big = tcase_create("random");

	tcase_add_test(tc, chain_diamond_cycle);
	tcase_add_test(tc, lengauer_tarjan_figure_1);
	tcase_add_test(tc, several_roots);
	tcase_add_test(tc, self_loops_multi_edges_bad_dst);
	tcase_add_test(tc, unreachable);
	tcase_add_test(tc, empty_graph);
	tcase_add_test(tc, small_comb);
	tcase_add_test(tc, random_small_graphs);
	tcase_add_test(tc, oracle_agrees_on_small_graphs);
	suite_add_tcase(s, tc);
	/* A second or two each in a plain build; room for the sanitizers
	 * and a busy machine. */
	tcase_set_timeout(chain, 120);
	tcase_add_test(chain, long_chain);
	suite_add_tcase(s, chain);
	tcase_set_timeout(comb_case, 120);
	tcase_add_test(comb_case, comb);
	suite_add_tcase(s, comb_case);
	tcase_set_timeout(big, 120);
	tcase_add_test(big, random_big_graph);
	suite_add_tcase(s, big);
	return run_suite(s);
}
