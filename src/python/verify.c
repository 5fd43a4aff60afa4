/*
 * Layout values that _Py_DebugOffsets does not export, checked against the
 * live data before anything is built on them (python.h "Checked values").
 *
 * Why: the built-in tables come from one build per table, and CPython moves
 * members between patch releases (3.13.0 -> 3.13.18: _PyRuntime.tracemalloc
 * +24) while distributions patch them (Debian's 3.13 >= 3.13.5-1 carries
 * gchead-alignment.diff, which puts _gc_runtime_state.generations at +20,
 * not +24: INTERNALS-2026 §2.3).  A value that reads plausible-looking
 * memory is worse than none, so each value must pass invariants that a
 * wrong offset cannot: the GC generations are closed doubly linked rings of
 * objects whose types have Py_TPFLAGS_HAVE_GC; the obmalloc state's arena
 * array describes arenas whose pools carry their own arena index.  Where the
 * value fails, the same invariants pick the right value in a small window
 * around it (the structs around a moved member are known, so a member
 * moves by tens of bytes, not kilobytes); more than one candidate passing is
 * as bad as none.  tracemalloc is checked in python/tracemalloc.c, where
 * its walker is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "python.h"
#include "tracemalloc.h"

/* Py_TPFLAGS_HAVE_GC (Include/object.h, unchanged 3.7-3.15). */
#define TPFLAGS_HAVE_GC (1ull << 14)
/* How far from the layout's value a moved member is looked for, and how
 * many list nodes a quick check (pyheap info, on a live target) visits. */
#define GC_WINDOW 64
#define GC_QUICK_NODES 256
/* Node types checked per list: a wrong offset fails at the first node. */
#define GC_TYPED_NODES 64

const char *py_check_name(enum py_check_id id)
{
	switch (id) {
	case PY_CHECK_GC: return "GC lists";
	case PY_CHECK_OBMALLOC: return "pymalloc state";
	case PY_CHECK_TRACEMALLOC: return "tracemalloc state";
	case PY_CHECK__COUNT: break;
	}
	return "?";
}

void py_check_set(struct py_check *c, enum py_check_state state,
		  enum layout_source src, int64_t layout_off, int64_t off,
		  const char *fmt, ...)
{
	va_list ap;

	c->state = state;
	c->src = src;
	c->layout_off = layout_off;
	c->off = off;
	c->note[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(c->note, sizeof(c->note), fmt, ap);
		va_end(ap);
	}
}

void py_check_describe(const struct py_check *c, struct strbuf *out)
{
	const char *src = layout_source_name(c->src);

	switch (c->state) {
	case CHECK_NOT_RUN:
		strbuf_addstr(out, "not checked");
		break;
	case CHECK_NA:
		strbuf_addf(out, "%s", c->note[0] ? c->note : "not used");
		break;
	case CHECK_VERIFIED:
		strbuf_addf(out, "%s +%lld, verified", src,
			    (long long)c->off);
		break;
	case CHECK_SEARCHED:
		strbuf_addf(out, "%s said +%lld, which failed its checks; "
			    "searched: +%lld", src, (long long)c->layout_off,
			    (long long)c->off);
		break;
	case CHECK_FAILED:
		strbuf_addf(out, "unverified, not used: %s", c->note);
		return;
	}
	if (c->state != CHECK_NA && c->note[0])
		strbuf_addf(out, " (%s)", c->note);
}

void py_checks_text(const struct pyproc *p, const char *indent,
		    struct strbuf *out)
{
	size_t i;

	for (i = 0; i < PY_CHECK__COUNT; i++) {
		if (p->checks[i].state == CHECK_NOT_RUN)
			continue;
		strbuf_addf(out, "%s%s: ", indent,
			    py_check_name((enum py_check_id)i));
		py_check_describe(&p->checks[i], out);
		strbuf_addch(out, '\n');
	}
}

bool py_checks_failed(const struct pyproc *p)
{
	size_t i;

	for (i = 0; i < PY_CHECK__COUNT; i++)
		if (p->checks[i].state == CHECK_FAILED)
			return true;
	return false;
}

void py_checks_warn(const struct pyproc *p)
{
	static const char *const lost[PY_CHECK__COUNT] = {
		[PY_CHECK_GC] = "no object is marked GC-tracked",
		[PY_CHECK_OBMALLOC] = "pymalloc was found by scanning for "
				      "pool headers instead",
		[PY_CHECK_TRACEMALLOC] = "traced allocation sites were not read",
	};
	size_t i;

	for (i = 0; i < PY_CHECK__COUNT; i++)
		if (p->checks[i].state == CHECK_FAILED)
			ph_warn("Python %s: %s not verified (%s): %s", p->version,
				py_check_name((enum py_check_id)i),
				p->checks[i].note, lost[i]);
}

/* ---- GC generation lists -------------------------------------------------- */

enum ring { RING_BAD, RING_BROKEN, RING_OK };

struct ring_walk {
	struct target *t;
	const struct py_layout *L;
	uint64_t max_nodes;   /* a full check: the whole ring, up to this */
	bool quick;           /* stop after GC_QUICK_NODES */
	bool collecting;      /* a collection is running: _gc_prev holds
			       * gc_refs, not links */
	uint64_t nodes;       /* visited */
};

static bool read_u64(struct target *t, uint64_t a, uint64_t *v)
{
	return !target_read_u64(t, a, v);
}

/* The object after a GC head has a type with Py_TPFLAGS_HAVE_GC. */
static bool gc_object_ok(struct ring_walk *w, uint64_t node)
{
	const struct py_layout *L = w->L;
	uint64_t obj = node + (uint64_t)L->size[PY_S_GCHEAD], tp, flags;

	if (py_read_field(w->t, L, obj, PY_F_OB_TYPE, &tp) || !tp || (tp & 7))
		return false;
	if (py_read_field(w->t, L, tp, PY_F_TP_FLAGS, &flags))
		return false;
	return (flags & TPFLAGS_HAVE_GC) != 0;
}

/*
 * Walk the ring at head.  RING_OK: it closes (next links lead back to head
 * and head's prev is the last node), every node is 8-aligned, the first
 * nodes are GC objects, and at most two prev links disagree (a thread may
 * have been stopped inside a list update).  RING_BROKEN: valid nodes, then a
 * link that cannot be followed (also an update in progress).  RING_BAD: the
 * head itself is not a list head.
 */
static enum ring gc_ring(struct ring_walk *w, uint64_t head)
{
	const struct py_layout *L = w->L;
	uint64_t next, prev_link, n, prev = head, v, steps = 0;
	unsigned mismatches = 0;

	w->nodes = 0;
	if (py_read_field(w->t, L, head, PY_F_GC_NEXT, &next) ||
	    py_read_field(w->t, L, head, PY_F_GC_PREV, &prev_link))
		return RING_BAD;
	n = next & ~3ull;
	if (n == head)
		/* Empty: both links point at the head itself. */
		return (prev_link & ~3ull) == head ? RING_OK : RING_BAD;
	while (n != head) {
		if (!n || (n & 7))
			return steps ? RING_BROKEN : RING_BAD;
		if (steps < GC_TYPED_NODES && !gc_object_ok(w, n))
			return steps ? RING_BROKEN : RING_BAD;
		if (py_read_field(w->t, L, n, PY_F_GC_NEXT, &next))
			return steps ? RING_BROKEN : RING_BAD;
		if (!w->collecting &&
		    (py_read_field(w->t, L, n, PY_F_GC_PREV, &v) ||
		     (v & ~3ull) != prev) && ++mismatches > 2)
			return steps ? RING_BROKEN : RING_BAD;
		steps++;
		w->nodes = steps;
		if (w->quick && steps >= GC_QUICK_NODES)
			return RING_OK;
		if (steps > w->max_nodes)
			return RING_BROKEN;
		prev = n;
		n = next & ~3ull;
	}
	if (!w->collecting && (prev_link & ~3ull) != prev)
		return RING_BROKEN;
	return RING_OK;
}

/* ngen heads at gens + i * stride, all valid: none bad, at most one broken,
 * and (when ngen > 1) at least one non-empty ring that closes, so that
 * three empty-looking heads in zeroed memory do not pass. */
static bool gc_heads_ok(struct ring_walk *w, uint64_t gens, uint64_t stride,
			int ngen, uint64_t *nodes)
{
	unsigned broken = 0;
	bool some = false;
	int i;

	*nodes = 0;
	for (i = 0; i < ngen; i++) {
		enum ring r = gc_ring(w, gens + (uint64_t)i * stride);

		if (r == RING_BAD)
			return false;
		if (r == RING_BROKEN && ++broken > 1)
			return false;
		if (r == RING_OK && w->nodes)
			some = true;
		*nodes += w->nodes;
	}
	return some;
}

int py_gc_heads(struct pyproc *p, struct target *t, uint64_t gcs, bool quick,
		uint64_t max_nodes, struct py_gc_heads *out)
{
	const struct py_layout *L = &p->L;
	struct py_check *ck = &p->checks[PY_CHECK_GC];
	int64_t gsize = L->size[PY_S_GCGEN], gstate = L->size[PY_S_GCSTATE];
	int64_t want = L->off[PY_F_GCS_GENERATIONS], found = -1, d;
	int64_t head_off = L->off[PY_F_GEN_HEAD];
	struct ring_walk w = { .t = t, .L = L, .quick = quick };
	uint64_t nodes = 0, v, hs;
	unsigned nfound = 0;

	memset(out, 0, sizeof(*out));
	if (L->free_threaded) {
		/* Python/gc_free_threading.c: no lists; ob_gc_bits marks what
		 * is tracked, and the objects are found in mimalloc heaps. */
		py_check_set(ck, CHECK_NA, LAYOUT_NONE, want, -1,
			     "none: a free-threaded build marks tracked "
			     "objects in their header (ob_gc_bits)");
		return -PH_E_NOTFOUND;
	}
	if (!gcs || gsize <= 0 || want < 0 || head_off < 0 ||
	    L->size[PY_S_GCHEAD] <= 0) {
		py_check_set(ck, CHECK_FAILED, LAYOUT_NONE, want, -1,
			     "no GC state in this layout");
		return -PH_E_NOTFOUND;
	}
	w.max_nodes = max_nodes;
	if (py_has(L, PY_F_GCS_COLLECTING) &&
	    !py_read_field(t, L, gcs, PY_F_GCS_COLLECTING, &v))
		w.collecting = (uint32_t)v != 0;

	if (gc_heads_ok(&w, gcs + (uint64_t)(want + head_off),
			(uint64_t)gsize, 3, &nodes)) {
		found = want;
		nfound = 1;
	} else {
		/* 4-byte steps: Debian's patch makes PyGC_Head 4-aligned.
		 * Candidates get the quick check (bounded reads however
		 * hostile the memory); the one that passes, the full one. */
		bool full = !w.quick;

		w.quick = true;
		for (d = -GC_WINDOW; d <= GC_WINDOW; d += 4) {
			int64_t o = want + d;
			uint64_t n;

			if (!d || o < 0 ||
			    (gstate > 0 && o + 3 * gsize > gstate))
				continue;
			if (gc_heads_ok(&w, gcs + (uint64_t)(o + head_off),
					(uint64_t)gsize, 3, &n) && !nfound++) {
				found = o;
				nodes = n;
			}
		}
		w.quick = !full;
		if (nfound == 1 && full &&
		    !gc_heads_ok(&w, gcs + (uint64_t)(found + head_off),
				 (uint64_t)gsize, 3, &nodes))
			nfound = 0;
	}
	if (nfound > 1) {
		py_check_set(ck, CHECK_FAILED, L->off_src[PY_F_GCS_GENERATIONS],
			     want, -1, "%u places within %d bytes of +%lld "
			     "look like the generation lists", nfound,
			     GC_WINDOW, (long long)want);
		return -PH_E_CORRUPT;
	}
	if (!nfound) {
		py_check_set(ck, CHECK_FAILED, L->off_src[PY_F_GCS_GENERATIONS],
			     want, -1, "no closed lists of GC objects at the "
			     "gc state's +%lld or within %d bytes of it",
			     (long long)want, GC_WINDOW);
		return -PH_E_CORRUPT;
	}
	out->gen_base = gcs + (uint64_t)found;
	out->ngen = 3;
	for (int i = 0; i < 3; i++)
		out->gen_head[i] = gcs + (uint64_t)(found + head_off) +
				   (uint64_t)i * (uint64_t)gsize;
	out->nodes = nodes;

	/* 3.14+: heap_size counts the objects the collector has linked,
	 * tracked or not yet tracked, so no list can hold more.  Only a
	 * full walk knows the lists' length. */
	if (!quick && py_has(L, PY_F_GCS_HEAP_SIZE)) {
		int64_t hso = L->off[PY_F_GCS_HEAP_SIZE] + (found - want);

		if (hso >= 0 && !read_u64(t, gcs + (uint64_t)hso, &hs)) {
			out->heap_size = hs;
			out->heap_size_known = true;
		}
	}
	py_check_set(ck, found == want ? CHECK_VERIFIED : CHECK_SEARCHED,
		     L->off_src[PY_F_GCS_GENERATIONS], want, found, NULL);

	/* The permanent generation (gc.freeze()): where the layout says (it
	 * stays at +104 under Debian's patch, which moves the others by -4),
	 * else moved as the others were. */
	if (py_has(L, PY_F_GCS_PERMANENT)) {
		int64_t po = L->off[PY_F_GCS_PERMANENT];
		bool ok = gc_ring(&w, gcs + (uint64_t)(po + head_off)) ==
			  RING_OK;

		if (!ok && found != want) {
			po += found - want;
			ok = po >= 0 && gc_ring(&w, gcs + (uint64_t)(po +
								 head_off)) ==
					RING_OK;
		}
		if (ok) {
			out->permanent_head = gcs + (uint64_t)(po + head_off);
			out->nodes += w.nodes;
		} else {
			snprintf(ck->note, sizeof(ck->note), "the permanent "
				 "generation at +%lld is not a list: gc.freeze()"
				 "d objects are not marked", (long long)po);
		}
	}
	return 0;
}

/* ---- obmalloc state ---------------------------------------------------- */

/*
 * The state's arena array: maxarenas entries of struct arena_object; an
 * arena in use has an address and a pool_address inside it, at most
 * ntotalpools <= 128 pools (1 or 2 MiB arenas of 16 KiB pools) of which
 * nfreepools are free, and each carved pool's header names the arena's own
 * index (pool_header.arenaindex).  One of the first eight arenas in use
 * must pass all of it (a thread stopped inside new_arena() may leave one
 * half-made; the walk copes with that, the check need not reject it);
 * memory at a wrong offset passes none of it.
 */
static bool obmalloc_ok(struct target *t, const struct py_layout *L,
			uint64_t state)
{
	int64_t esize = L->size[PY_S_ARENA];
	uint64_t arr, n, i, used = 0, good = 0;

	if (esize <= 0 || esize > 256 ||
	    py_read_field(t, L, state, PY_F_OBS_ARENAS, &arr) ||
	    py_read_field(t, L, state, PY_F_OBS_MAXARENAS, &n))
		return false;
	/* Python starts with 16 arena objects and doubles them. */
	if (!arr || (arr & 7) || n < 16 || n > (1u << 24) || (n & (n - 1)))
		return false;
	for (i = 0; i < n && used < 8 && !good; i++) {
		uint64_t e = arr + i * (uint64_t)esize, base, pa, tot, nf, ai;
		uint64_t pool = 0;

		if (py_read_field(t, L, e, PY_F_AO_ADDRESS, &base))
			return false;
		if (!base)
			continue;
		used++;
		if (py_read_field(t, L, e, PY_F_AO_POOL_ADDRESS, &pa) ||
		    py_read_field(t, L, e, PY_F_AO_NTOTALPOOLS, &tot) ||
		    py_read_field(t, L, e, PY_F_AO_NFREEPOOLS, &nf))
			continue;
		tot &= 0xffffffffu;
		nf &= 0xffffffffu;
		/* The first carved pool (POOL_SIZE 16 KiB from 3.10) names
		 * this arena. */
		pool = (base + 16383) & ~16383ull;
		if (!tot || tot > 256 || nf > tot || pa < pool + 16384 ||
		    pa > base + (4u << 20) ||
		    py_read_field(t, L, pool, PY_F_PH_ARENAINDEX, &ai) ||
		    (ai & 0xffffffffu) != i)
			continue;
		good++;
	}
	return good > 0;
}

uint64_t py_obmalloc_state(struct pyproc *p, struct target *t, uint64_t interp)
{
	const struct py_layout *L = &p->L;
	struct py_check *ck = &p->checks[PY_CHECK_OBMALLOC];
	int64_t want = L->off[PY_F_IS_OBMALLOC], d, found = -1;
	uint64_t state = 0, st, isz = (uint64_t)L->size[PY_S_INTERP];
	bool ptr = L->width[PY_F_IS_OBMALLOC] == 8 &&
		   L->size[PY_S_OBMSTATE] > 8;
	unsigned nfound = 0;

	if (L->free_threaded) {
		py_check_set(ck, CHECK_NA, LAYOUT_NONE, want, -1,
			     "none: a free-threaded build allocates objects "
			     "with mimalloc");
		return 0;
	}
	if (want < 0 || !interp) {
		py_check_set(ck, CHECK_NA, LAYOUT_NONE, want, -1,
			     "not in this version");
		return 0;
	}
	for (d = 0; d <= 128 && nfound < 2; d = d > 0 ? -d : -d + 8) {
		int64_t o = want + d;

		if (o < 0 || (L->size[PY_S_INTERP] > 0 && (uint64_t)o >= isz))
			continue;
		/* 3.13+ keep a pointer to the state; 3.12 embeds it. */
		st = interp + (uint64_t)o;
		if (ptr && target_read_u64(t, st, &st))
			continue;
		if (!obmalloc_ok(t, L, st))
			continue;
		if (!nfound++) {
			found = o;
			state = st;
		}
		if (!d)
			break; /* the layout's own value passed */
	}
	if (nfound != 1) {
		py_check_set(ck, CHECK_FAILED, L->off_src[PY_F_IS_OBMALLOC],
			     want, -1, nfound ? "more than one place near +%lld "
			     "looks like the obmalloc state" : "no obmalloc "
			     "state at +%lld or within 128 bytes of it",
			     (long long)want);
		return 0;
	}
	py_check_set(ck, found == want ? CHECK_VERIFIED : CHECK_SEARCHED,
		     L->off_src[PY_F_IS_OBMALLOC], want, found, NULL);
	return state;
}

/* ---- all of them ---------------------------------------------------------- */

uint64_t py_main_interp(struct pyproc *p, struct target *t)
{
	uint64_t v;

	if (p->major == 2) /* pystate.c interp_head */
		return target_read_u64(t, p->interp_head, &v) ? 0 : v;
	if (!py_read_field(t, &p->L, p->runtime, PY_F_RT_INTERP_MAIN, &v) && v)
		return v;
	return py_read_field(t, &p->L, p->runtime, PY_F_RT_INTERP_HEAD, &v) ?
	       0 : v;
}

uint64_t py_gc_state(struct pyproc *p, struct target *t)
{
	const struct py_layout *L = &p->L;
	uint64_t interp;

	if (p->major == 2) /* generations[], _PyGC_generation0 points at */
		return p->gc_generation0 &&
		       !target_read_u64(t, p->gc_generation0, &interp) ?
		       interp : 0;
	if (py_has(L, PY_F_RT_GC)) /* 3.7, 3.8: in _PyRuntime */
		return p->runtime + (uint64_t)L->off[PY_F_RT_GC];
	interp = py_main_interp(p, t);
	return interp && py_has(L, PY_F_IS_GC) ?
	       interp + (uint64_t)L->off[PY_F_IS_GC] : 0;
}

void py_checks_run(struct pyproc *p, struct target *t)
{
	struct py_gc_heads gh;
	uint64_t interp;

	interp = py_main_interp(p, t);
	py_gc_heads(p, t, py_gc_state(p, t), true, UINT64_MAX, &gh);
	if (py_has(&p->L, PY_F_IS_OBMALLOC))
		py_obmalloc_state(p, t, interp);
	tm_check(p);
}
