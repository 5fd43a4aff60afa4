/*
 * python/verify.c: layout values that _Py_DebugOffsets does not give are
 * checked against the data before use.  A synthetic _gc_runtime_state with
 * three generation lists (rings of GC heads before objects whose type has
 * Py_TPFLAGS_HAVE_GC) sits where the layout says, or moved by a plausible
 * amount (Debian's 3.13 moves the lists -4 bytes; ±8, ±24 model other patch
 * releases): the check finds them and says whether it searched; moved
 * beyond its window, or with nothing but garbage there, it fails and says
 * so.  Never a silently wrong offset.
 */
#include <stdio.h>
#include <string.h>

#include "check_util.h"
#include "python/python.h"
#include "synth.h"

#define MEM 0x20000000ull
#define MEMLEN (1u << 20)
#define GCSTATE (MEM + 0x1000)
#define GCTYPE (MEM + 0x4000)
#define PLAINTYPE (MEM + 0x5000)
#define OBJS (MEM + 0x10000)

static const int shifts[] = { 0, -4, 4, -8, 8, -24, 24, 200 };
static const int minors[] = { 12, 13 };

struct gcmodel {
	struct synth m;
	struct py_layout L;
	uint64_t gh;       /* sizeof(PyGC_Head) */
	uint64_t next_obj;
};

static void put_type(struct gcmodel *g, uint64_t tp, uint64_t flags)
{
	synth_field(&g->m, &g->L, tp, PY_F_OB_TYPE, tp);
	synth_field(&g->m, &g->L, tp, PY_F_TP_FLAGS, flags);
}

/* A ring of n GC objects of type tp at head. */
static void put_ring(struct gcmodel *g, uint64_t head, int n, uint64_t tp)
{
	uint64_t prev = head, node;
	int i;

	for (i = 0; i < n; i++) {
		node = g->next_obj;
		g->next_obj += 64;
		synth_field(&g->m, &g->L, prev, PY_F_GC_NEXT, node);
		synth_field(&g->m, &g->L, node, PY_F_GC_PREV, prev);
		synth_field(&g->m, &g->L, node + g->gh, PY_F_OB_TYPE, tp);
		prev = node;
	}
	synth_field(&g->m, &g->L, prev, PY_F_GC_NEXT, head);
	synth_field(&g->m, &g->L, head, PY_F_GC_PREV, prev);
}

static void model(struct gcmodel *g, int minor)
{
	memset(g, 0, sizeof(*g));
	layout_for(&g->L, minor);
	synth_init(&g->m, MEM, MEMLEN);
	g->gh = (uint64_t)g->L.size[PY_S_GCHEAD];
	g->next_obj = OBJS;
	put_type(g, GCTYPE, 1ull << 14);
	put_type(g, PLAINTYPE, 1ull << 9);
}

/* Generation lists with 5, 0 and 40 objects, shift bytes from where the
 * layout puts generations[0]; the permanent generation moved alike. */
static void put_gens(struct gcmodel *g, int shift, uint64_t tp)
{
	const struct py_layout *L = &g->L;
	uint64_t gens = GCSTATE + (uint64_t)(L->off[PY_F_GCS_GENERATIONS] +
					     shift);
	uint64_t gsize = (uint64_t)L->size[PY_S_GCGEN];
	uint64_t head = (uint64_t)L->off[PY_F_GEN_HEAD];
	static const int counts[3] = { 5, 0, 40 };
	int i;

	for (i = 0; i < 3; i++)
		put_ring(g, gens + (uint64_t)i * gsize + head, counts[i], tp);
	put_ring(g, GCSTATE + (uint64_t)(L->off[PY_F_GCS_PERMANENT] + shift) +
		 head, 3, tp);
}

static void proc_for(struct pyproc *p, struct gcmodel *g, struct target *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->major = 3;
	p->minor = g->L.minor;
	p->L = g->L;
	snprintf(p->version, sizeof(p->version), "3.%d.0", g->L.minor);
}

START_TEST(gc_lists_found_where_they_are)
{
	int shift = shifts[_i % PH_ARRAY_SIZE(shifts)];
	int minor = minors[_i / PH_ARRAY_SIZE(shifts)];
	struct gcmodel g;
	struct pyproc p;
	struct py_gc_heads h;
	struct target *t = target_fake_new();
	const struct py_check *ck = &p.checks[PY_CHECK_GC];
	int rc;

	model(&g, minor);
	put_gens(&g, shift, GCTYPE);
	synth_commit(&g.m, t, SYNTH_RW, NULL);
	proc_for(&p, &g, t);
	rc = py_gc_heads(&p, t, GCSTATE, false, 1u << 20, &h);
	if (shift == 200) {
		/* Beyond the window: not found, and said. */
		ck_assert_int_eq(rc, -PH_E_CORRUPT);
		ck_assert_int_eq(ck->state, CHECK_FAILED);
		ck_assert(strstr(ck->note, "no closed lists") != NULL);
		ck_assert(py_checks_failed(&p));
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(ck->state,
				 shift ? CHECK_SEARCHED : CHECK_VERIFIED);
		ck_assert_int_eq(ck->off,
				 g.L.off[PY_F_GCS_GENERATIONS] + shift);
		ck_assert_uint_eq(h.gen_base, GCSTATE +
				  (uint64_t)(g.L.off[PY_F_GCS_GENERATIONS] +
					     shift));
		ck_assert_uint_eq(h.nodes, 5 + 0 + 40 + 3);
		ck_assert_uint_ne(h.permanent_head, 0);
		ck_assert(!py_checks_failed(&p));
		/* The quick check (pyheap info) agrees. */
		ck_assert_int_eq(py_gc_heads(&p, t, GCSTATE, true, 1u << 20,
					     &h), 0);
		ck_assert_int_eq(ck->off,
				 g.L.off[PY_F_GCS_GENERATIONS] + shift);
	}
	target_close(t);
}
END_TEST

/* Rings of objects whose type lacks HAVE_GC, or plain garbage: no list
 * is accepted. */
START_TEST(gc_lists_rejected)
{
	struct gcmodel g;
	struct pyproc p;
	struct py_gc_heads h;
	struct target *t;
	uint64_t rng = 7;

	model(&g, 13);
	put_gens(&g, 0, PLAINTYPE);
	t = target_fake_new();
	synth_commit(&g.m, t, SYNTH_RW, NULL);
	proc_for(&p, &g, t);
	ck_assert_int_eq(py_gc_heads(&p, t, GCSTATE, false, 1u << 20, &h),
			 -PH_E_CORRUPT);
	ck_assert_int_eq(p.checks[PY_CHECK_GC].state, CHECK_FAILED);
	target_close(t);

	model(&g, 13);
	rng_fill(&rng, synth_at(&g.m, GCSTATE, 4096), 4096);
	t = target_fake_new();
	synth_commit(&g.m, t, SYNTH_RW, NULL);
	proc_for(&p, &g, t);
	ck_assert_int_eq(py_gc_heads(&p, t, GCSTATE, false, 1u << 20, &h),
			 -PH_E_CORRUPT);
	target_close(t);

	/* All-zero memory: three "empty" heads would be no evidence. */
	model(&g, 13);
	t = target_fake_new();
	synth_commit(&g.m, t, SYNTH_RW, NULL);
	proc_for(&p, &g, t);
	ck_assert_int_eq(py_gc_heads(&p, t, GCSTATE, false, 1u << 20, &h),
			 -PH_E_CORRUPT);
	target_close(t);
}
END_TEST

/* A list cut by a thread stopped inside _PyObject_GC_TRACK (the new node's
 * next not yet set) still lets the others prove the offset. */
START_TEST(gc_lists_one_broken)
{
	struct gcmodel g;
	struct pyproc p;
	struct py_gc_heads h;
	struct target *t = target_fake_new();
	uint64_t gens, node;

	model(&g, 13);
	put_gens(&g, 0, GCTYPE);
	gens = GCSTATE + (uint64_t)g.L.off[PY_F_GCS_GENERATIONS];
	/* gen0's last node points nowhere yet. */
	node = synth_get_field(&g.m, &g.L, gens + (uint64_t)g.L.off[PY_F_GEN_HEAD],
			       PY_F_GC_PREV);
	synth_field(&g.m, &g.L, node, PY_F_GC_NEXT, 0);
	synth_commit(&g.m, t, SYNTH_RW, NULL);
	proc_for(&p, &g, t);
	ck_assert_int_eq(py_gc_heads(&p, t, GCSTATE, false, 1u << 20, &h), 0);
	ck_assert_int_eq(p.checks[PY_CHECK_GC].state, CHECK_VERIFIED);
	target_close(t);
}
END_TEST

/*
 * 3.13's interp->obmalloc pointer, shifted by a plausible amount: the state
 * it points to has an arena array of 16 whose one used arena's first pool
 * names it; the check finds the pointer (or says it searched) and fails
 * beyond its window.
 */
static const int ob_shifts[] = { 0, -8, 8, -24, 24, 400 };

START_TEST(obmalloc_found_where_it_is)
{
	int shift = ob_shifts[_i];
	struct py_layout L;
	struct synth m;
	struct pyproc p;
	struct target *t = target_fake_new();
	uint64_t interp = MEM + 0x1000, state = MEM + 0x40000;
	uint64_t arr = MEM + 0x50000, arena = 0x7f0000000000ull, got;
	uint64_t ai = 5;

	layout_for(&L, 13);
	ck_assert_int_eq(L.width[PY_F_IS_OBMALLOC], 8);
	synth_init(&m, MEM, MEMLEN);
	synth_u64(&m, interp + (uint64_t)(L.off[PY_F_IS_OBMALLOC] + shift),
		  state);
	synth_field(&m, &L, state, PY_F_OBS_ARENAS, arr);
	synth_field(&m, &L, state, PY_F_OBS_MAXARENAS, 16);
	arr += ai * (uint64_t)L.size[PY_S_ARENA];
	synth_field(&m, &L, arr, PY_F_AO_ADDRESS, arena);
	synth_field(&m, &L, arr, PY_F_AO_POOL_ADDRESS, arena + 3 * 16384);
	synth_field(&m, &L, arr, PY_F_AO_NTOTALPOOLS, 64);
	synth_field(&m, &L, arr, PY_F_AO_NFREEPOOLS, 0);
	synth_commit(&m, t, SYNTH_RW, NULL);
	synth_init(&m, arena, 16384);
	synth_field(&m, &L, arena, PY_F_PH_ARENAINDEX, ai);
	synth_commit(&m, t, SYNTH_RW, NULL);

	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 13;
	p.L = L;
	got = py_obmalloc_state(&p, t, interp);
	if (shift == 400) {
		ck_assert_uint_eq(got, 0);
		ck_assert_int_eq(p.checks[PY_CHECK_OBMALLOC].state,
				 CHECK_FAILED);
	} else {
		ck_assert_uint_eq(got, state);
		ck_assert_int_eq(p.checks[PY_CHECK_OBMALLOC].state,
				 shift ? CHECK_SEARCHED : CHECK_VERIFIED);
		ck_assert_int_eq(p.checks[PY_CHECK_OBMALLOC].off,
				 L.off[PY_F_IS_OBMALLOC] + shift);
	}
	target_close(t);
}
END_TEST

/* The check's words: what `pyheap info` and the snapshot print. */
START_TEST(check_texts)
{
	struct pyproc p;
	struct strbuf sb = STRBUF_INIT;

	memset(&p, 0, sizeof(p));
	snprintf(p.version, sizeof(p.version), "3.13.18");
	py_check_set(&p.checks[PY_CHECK_GC], CHECK_SEARCHED, LAYOUT_TABLE, 24,
		     20, NULL);
	py_check_set(&p.checks[PY_CHECK_TRACEMALLOC], CHECK_FAILED,
		     LAYOUT_TABLE, 10080, -1, "no tracemalloc state here");
	py_checks_text(&p, "", &sb);
	ck_assert_str_eq(sb.buf,
		"GC lists: table said +24, which failed its checks; searched: "
		"+20\n"
		"tracemalloc state: unverified, not used: no tracemalloc state "
		"here\n");
	ck_assert(py_checks_failed(&p));
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");

	tcase_add_loop_test(tc, gc_lists_found_where_they_are, 0,
			    (int)(PH_ARRAY_SIZE(shifts) *
				  PH_ARRAY_SIZE(minors)));
	tcase_add_test(tc, gc_lists_rejected);
	tcase_add_loop_test(tc, obmalloc_found_where_it_is, 0,
			    (int)PH_ARRAY_SIZE(ob_shifts));
	tcase_add_test(tc, gc_lists_one_broken);
	tcase_add_test(tc, check_texts);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
