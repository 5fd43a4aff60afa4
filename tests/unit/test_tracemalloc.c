/*
 * The tracemalloc reader (src/python/tracemalloc.c) on synthetic memory.
 *
 * The model below builds hash tables the way Python/hashtable.c and
 * Modules/_tracemalloc.c leave them (INTERNALS §7.2): 3.9+ tables of
 * chained 32-byte entries pointing at trace_t, and the 3.7/3.8 generic
 * table with key and trace inline, every member written at its offset in
 * the real layout table.  It keeps its own list of what it inserted; the
 * reader's answers are compared with that list.  Then the same tables are
 * damaged: cycles in chains, entries in the wrong bucket, unreadable traces
 * and tracebacks, absurd frame and bucket counts, random garbage.  The
 * reader must stay bounded, never crash, and keep what is sound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "python/tracemalloc.h"
#include "synth.h"

#define BASE 0x10000000ull
#define SIZE (4u << 20)
/* Function addresses the tables hold (any values: only compared). */
#define HASH_PTR 0x401000ull
#define COMPARE_DIRECT 0x401100ull
#define HT_DESTROY 0x401200ull
#define RAW_FREE 0x401300ull
#define HASH_OTHER 0x401400ull

struct model {
	struct synth m;
	struct py_layout L;
	uint64_t next;                  /* bump allocator */
};

/* What was inserted, for comparison. */
struct want {
	uint64_t ptr, size, tb;
	uint32_t domain;
};

static void model_init(struct model *md, int minor)
{
	layout_for(&md->L, minor);
	synth_init(&md->m, BASE, SIZE);
	md->next = BASE + 64;
}

static uint64_t alloc(struct model *md, size_t n)
{
	uint64_t a = (md->next + 15) & ~15ull;

	md->next = a + n;
	ck_assert_uint_le(md->next, BASE + SIZE);
	return a;
}

static void field(struct model *md, uint64_t base, enum py_field f,
		  uint64_t v)
{
	synth_field(&md->m, &md->L, base, f, v);
}

static uint64_t hash_pointer(uint64_t p)
{
	return (p >> 4) | (p << 60);
}

/* A traceback_t with nframe frames: filename i is 0x7000 + 16 * i, line
 * 100 + i (shifted by seed, so tracebacks differ). */
static uint64_t put_traceback(struct model *md, unsigned nframe,
			      unsigned total, unsigned seed)
{
	const struct py_layout *L = &md->L;
	int64_t fs = L->size[PY_S_TMFRAME], fb = L->off[PY_F_TMTB_FRAMES];
	uint64_t a = alloc(md, (size_t)(fb + fs * (nframe ? nframe : 1)));
	unsigned i;

	field(md, a, PY_F_TMTB_HASH, 0x1234 + seed);
	field(md, a, PY_F_TMTB_NFRAME, nframe);
	if (py_has(L, PY_F_TMTB_TOTAL_NFRAME))
		field(md, a, PY_F_TMTB_TOTAL_NFRAME, total);
	for (i = 0; i < nframe; i++) {
		uint64_t f = a + (uint64_t)fb + i * (uint64_t)fs;

		field(md, f, PY_F_TMF_FILENAME, 0x7000 + 16 * (seed + i));
		field(md, f, PY_F_TMF_LINENO, 100 + seed + i);
	}
	return a;
}

/* An empty table: the 3.9+ _Py_hashtable_t or the 3.7/3.8 generic one
 * (key_size 8, or 12 with domains). */
static uint64_t put_table(struct model *md, uint64_t nbuckets,
			  unsigned key_size, uint64_t value_destroy)
{
	const struct py_layout *L = &md->L;
	uint64_t t = alloc(md, (size_t)L->size[PY_S_HASHTABLE]);

	field(md, t, PY_F_HT_NBUCKETS, nbuckets);
	field(md, t, PY_F_HT_NENTRIES, 0);
	field(md, t, PY_F_HT_BUCKETS, alloc(md, (size_t)nbuckets * 8));
	field(md, t, PY_F_HT_HASH_FUNC, HASH_PTR);
	field(md, t, PY_F_HT_COMPARE_FUNC, COMPARE_DIRECT);
	if (py_has(L, PY_F_HT_KEY_SIZE)) {
		field(md, t, PY_F_HT_KEY_SIZE, key_size);
		field(md, t, PY_F_HT_DATA_SIZE,
		      (uint64_t)L->size[PY_S_TMTRACE]);
	} else {
		field(md, t, PY_F_HT_KEY_DESTROY_FUNC, 0);
		field(md, t, PY_F_HT_VALUE_DESTROY_FUNC, value_destroy);
	}
	return t;
}

static uint64_t table_get(struct model *md, uint64_t t, enum py_field f)
{
	return synth_get_field(&md->m, &md->L, t, f);
}

/* _Py_hashtable_set: the new entry goes first in its bucket.  Returns the
 * entry's address. */
static uint64_t put_entry(struct model *md, uint64_t t, uint64_t key,
			  uint64_t hash, uint32_t domain, uint64_t value,
			  uint64_t size, uint64_t tb)
{
	const struct py_layout *L = &md->L;
	uint64_t nb = table_get(md, t, PY_F_HT_NBUCKETS);
	uint64_t heads = table_get(md, t, PY_F_HT_BUCKETS);
	uint64_t head = heads + (hash & (nb - 1)) * 8, e;

	if (py_has(L, PY_F_HTE_KEY)) {
		e = alloc(md, (size_t)L->size[PY_S_HTENTRY]);
		field(md, e, PY_F_HTE_KEY, key);
		field(md, e, PY_F_HTE_VALUE, value);
	} else {
		/* 3.7/3.8: key (packed {ptr, domain} for 12 bytes), then
		 * the trace_t, right after the header. */
		uint64_t ks = table_get(md, t, PY_F_HT_KEY_SIZE);
		uint64_t k = 0;

		e = alloc(md, (size_t)(L->size[PY_S_HTENTRY] + (int64_t)ks +
				       L->size[PY_S_TMTRACE]));
		k = e + (uint64_t)L->size[PY_S_HTENTRY];
		synth_u64(&md->m, k, key);
		if (ks == 12)
			synth_put(&md->m, k + 8, &domain, 4);
		field(md, k + ks, PY_F_TMT_SIZE, size);
		field(md, k + ks, PY_F_TMT_TRACEBACK, tb);
	}
	field(md, e, PY_F_HTE_KEY_HASH, hash);
	field(md, e, PY_F_HTE_NEXT, synth_get_u64(&md->m, head));
	synth_u64(&md->m, head, e);
	field(md, t, PY_F_HT_NENTRIES, table_get(md, t, PY_F_HT_NENTRIES) + 1);
	return e;
}

/* A trace of block ptr: a trace_t (3.9+) or inline (3.7/3.8). */
static uint64_t put_trace(struct model *md, uint64_t t, uint64_t ptr,
			  uint32_t domain, uint64_t size, uint64_t tb)
{
	uint64_t hash = hash_pointer(ptr), tr = 0;

	if (py_has(&md->L, PY_F_HTE_KEY)) {
		tr = alloc(md, (size_t)md->L.size[PY_S_TMTRACE]);
		field(md, tr, PY_F_TMT_SIZE, size);
		field(md, tr, PY_F_TMT_TRACEBACK, tb);
	} else if (table_get(md, t, PY_F_HT_KEY_SIZE) == 12) {
		hash ^= domain;
	}
	return put_entry(md, t, ptr, hash, domain, tr, size, tb);
}

static struct target *commit(struct model *md)
{
	struct target *t = target_fake_new();

	synth_commit(&md->m, t, SYNTH_RW, NULL);
	return t;
}

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

/* The reader found exactly w[0..n), each with the traceback put_traceback
 * wrote (nframe frames from seed: decoded from the address via tbs). */
static void expect(const struct tm_state *tm, struct want *w, size_t n,
		   const uint64_t *tb_addr, const unsigned *tb_nframe,
		   const unsigned *tb_seed, size_t ntb)
{
	size_t i, k;

	qsort(w, n, sizeof(*w), cmp_want);
	ck_assert_uint_eq(tm->ntraces, n);
	for (i = 0; i < n; i++) {
		const struct tm_trace *tr = &tm->traces[i];
		const struct tm_traceback *tb;

		ck_assert_uint_eq(tr->ptr, w[i].ptr);
		ck_assert_uint_eq(tr->size, w[i].size);
		ck_assert_uint_eq(tr->domain, w[i].domain);
		ck_assert_uint_ne(tr->traceback, TM_NO_TRACEBACK);
		tb = &tm->tbs[tr->traceback];
		ck_assert_uint_eq(tb->addr, w[i].tb);
		for (k = 0; k < ntb && tb_addr[k] != w[i].tb; k++)
			;
		ck_assert_uint_lt(k, ntb);
		ck_assert_uint_eq(tb->nframe, tb_nframe[k]);
		for (size_t f = 0; f < tb->nframe; f++) {
			const struct tm_frame *fr =
				&tm->frames[tb->first_frame + f];

			ck_assert_uint_eq(fr->filename,
					  0x7000 + 16 * (tb_seed[k] + f));
			ck_assert_uint_eq(fr->lineno, 100 + tb_seed[k] + f);
		}
	}
	/* Each traceback read once. */
	ck_assert_uint_eq(tm->ntbs, ntb);
}

/* ---- sound tables ------------------------------------------------------ */

/* 3.9+ (the 3.11 table) and the generic layouts (3.8, 3.7). */
static const int walk_versions[] = { 11, 8, 7, 12 };

START_TEST(walk_finds_every_trace)
{
	int minor = walk_versions[_i];
	struct model md;
	struct tm_state tm;
	struct want w[600];
	uint64_t tbs[4], table;
	unsigned nframe[4] = { 1, 5, 0, 10 }, seed[4] = { 0, 10, 20, 30 };
	struct target *t;
	size_t i, n = 0;

	model_init(&md, minor);
	for (i = 0; i < 4; i++)
		tbs[i] = put_traceback(&md, nframe[i], nframe[i] + 3, seed[i]);
	/* 64 buckets for 600 entries: long chains, and pointers that share
	 * buckets (the hash drops the low 4 bits). */
	table = put_table(&md, 64, 8, RAW_FREE);
	for (i = 0; i < 600; i++) {
		w[n].ptr = 0x555500000000ull + i * 48;
		w[n].size = 1 + i * 7;
		w[n].tb = tbs[i % 4];
		w[n].domain = 0;
		put_trace(&md, table, w[n].ptr, 0, w[n].size, w[n].tb);
		n++;
	}
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 10, &tm);
	tm_finish(&tm);
	ck_assert_uint_eq(tm.table_entries, 600);
	ck_assert_uint_eq(tm.bad_entries + tm.bad_chains + tm.bad_traces +
			  tm.bad_tracebacks, 0);
	ck_assert(!tm.truncated);
	expect(&tm, w, n, tbs, nframe, seed, 4);
	/* Its own blocks: the table, its heads, the entries, the trace_t
	 * (3.9+: the 3.7/3.8 entries hold them) and the tracebacks. */
	ck_assert_uint_eq(tm.nown, 2 + 600 + (minor >= 9 ? 600 : 0) + 4);
	/* total_nframe is read from 3.9 on; it is nframe before. */
	for (i = 0; i < tm.ntbs; i++)
		ck_assert_uint_eq(tm.tbs[i].total_nframe, tm.tbs[i].nframe +
				  (minor >= 9 ? 3 : 0));

	/* Lookups by block start and by any address inside a block. */
	ck_assert_ptr_nonnull(tm_trace_at(&tm, 0x555500000000ull + 48 * 7));
	ck_assert_ptr_null(tm_trace_at(&tm, 0x555500000000ull + 48 * 7 + 8));
	ck_assert_uint_eq(tm_trace_holding(&tm, 0x555500000000ull + 48 * 7 +
					   8)->ptr,
			  0x555500000000ull + 48 * 7);
	/* Block 0 is 1 byte long: 8 bytes in is outside it. */
	ck_assert_ptr_null(tm_trace_holding(&tm, 0x555500000000ull + 8));
	ck_assert_ptr_null(tm_trace_holding(&tm, 0x1000));
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(walk_generic_table_with_domains)
{
	/* 3.7/3.8 once a PyTraceMalloc_Track() user appears: 12-byte keys
	 * {ptr, domain}, hash xor domain. */
	struct model md;
	struct tm_state tm;
	struct want w[100];
	uint64_t tb, table;
	unsigned nframe = 3, seed = 5;
	struct target *t;
	size_t i;

	model_init(&md, 8);
	tb = put_traceback(&md, nframe, nframe, seed);
	table = put_table(&md, 32, 12, 0);
	for (i = 0; i < 100; i++) {
		w[i].ptr = 0x7f0000000000ull + (i / 2) * 64;
		w[i].domain = (uint32_t)(i % 2 ? 389047 : 0);
		w[i].size = 100 + i;
		w[i].tb = tb;
		put_trace(&md, table, w[i].ptr, w[i].domain, w[i].size, tb);
	}
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 5, &tm);
	tm_finish(&tm);
	ck_assert_uint_eq(tm.bad_entries + tm.bad_chains, 0);
	expect(&tm, w, 100, &tb, &nframe, &seed, 1);
	/* The same block in two domains: only domain 0 is looked up. */
	ck_assert_uint_eq(tm_trace_at(&tm, 0x7f0000000040ull)->domain, 0);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(walk_domains_table)
{
	/* 3.9+: tracemalloc_domains maps each domain to a traces table. */
	struct model md;
	struct tm_state tm;
	struct want w[30];
	uint64_t tb, domains, tables[3], e;
	unsigned nframe = 2, seed = 1;
	uint32_t dom[3] = { 1, 7, 389047 };
	struct target *t;
	size_t i, n = 0;

	model_init(&md, 11);
	tb = put_traceback(&md, nframe, nframe, seed);
	domains = put_table(&md, 8, 8, HT_DESTROY);
	for (i = 0; i < 3; i++) {
		size_t k;

		tables[i] = put_table(&md, 4, 8, RAW_FREE);
		for (k = 0; k < 10; k++) {
			w[n].ptr = 0x600000000000ull + k * 4096;
			w[n].domain = dom[i];
			w[n].size = 4096;
			w[n].tb = tb;
			put_trace(&md, tables[i], w[n].ptr, 0, 4096, tb);
			n++;
		}
		/* hashtable_hash_uint: any hash, the bucket follows it. */
		e = put_entry(&md, domains, dom[i], dom[i] * 2654435761u, 0,
			      tables[i], 0, 0);
		(void)e;
	}
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_domains(t, &md.L, domains, 5, &tm);
	tm_finish(&tm);
	ck_assert_uint_eq(tm.bad_entries + tm.bad_chains, 0);
	expect(&tm, w, n, &tb, &nframe, &seed, 1);
	/* None of it is domain 0. */
	ck_assert_ptr_null(tm_trace_at(&tm, 0x600000000000ull));
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

/* ---- hostile tables ------------------------------------------------------ */

static uint64_t entry_at_bucket(struct model *md, uint64_t table, uint64_t b)
{
	return synth_get_u64(&md->m, table_get(md, table, PY_F_HT_BUCKETS) +
			     b * 8);
}

START_TEST(cycles_end_their_chain_only)
{
	int minor = _i ? 8 : 11;
	struct model md;
	struct tm_state tm;
	uint64_t tb, table, e, last = 0;
	struct target *t;
	size_t i, b;

	model_init(&md, minor);
	tb = put_traceback(&md, 1, 1, 0);
	table = put_table(&md, 16, 8, RAW_FREE);
	/* 16 entries per bucket. */
	for (i = 0; i < 256; i++)
		put_trace(&md, table, 0x555500000000ull + i * 16, 0, 32, tb);
	/* Bucket 3: the last entry links back to the first (a cycle of 16);
	 * bucket 9: an entry links to itself. */
	for (e = entry_at_bucket(&md, table, 3); e;
	     e = synth_get_field(&md.m, &md.L, e, PY_F_HTE_NEXT))
		last = e;
	field(&md, last, PY_F_HTE_NEXT, entry_at_bucket(&md, table, 3));
	e = entry_at_bucket(&md, table, 9);
	field(&md, e, PY_F_HTE_NEXT, e);
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 1, &tm);
	ck_assert_uint_eq(tm.bad_chains, 2);
	ck_assert(!tm.truncated);
	tm_finish(&tm);
	/* Key i is in bucket i % 16.  Every bucket in full, the cycle's
	 * entries once each (those Brent's check walked twice were dropped
	 * as duplicates); of bucket 9 only its head, the last inserted. */
	ck_assert_uint_eq(tm.ntraces, 256 - 15);
	for (i = 1; i < tm.ntraces; i++)
		ck_assert_uint_gt(tm.traces[i].ptr, tm.traces[i - 1].ptr);
	for (i = 0; i < 256; i++) {
		const struct tm_trace *tr =
			tm_trace_at(&tm, 0x555500000000ull + i * 16);

		b = i % 16;
		ck_assert_msg((tr != NULL) == (b != 9 || i == 249),
			      "entry %zu", i);
	}
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(bad_entries_traces_and_tracebacks)
{
	struct model md;
	struct tm_state tm;
	uint64_t good, huge, table, e, tr;
	struct target *t;

	model_init(&md, 11);
	good = put_traceback(&md, 2, 2, 0);
	/* 65535 frames claimed, 2 stored, limit 10: refused unread. */
	huge = put_traceback(&md, 2, 2, 1);
	field(&md, huge, PY_F_TMTB_NFRAME, 65535);
	table = put_table(&md, 8, 8, RAW_FREE);
	/* All in bucket 0.  First in, so last in the chain: a hash that is
	 * not its key's (it names bucket 1: the chain ends there). */
	e = put_trace(&md, table, 0x7000, 0, 16, good);
	field(&md, e, PY_F_HTE_KEY_HASH, hash_pointer(0x7010));
	put_trace(&md, table, 0x1000, 0, 16, good);            /* sound */
	put_trace(&md, table, 0x2000, 0, 16, huge);            /* frames */
	put_trace(&md, table, 0x3000, 0, 16, 0xdead0000);      /* unmapped */
	put_trace(&md, table, 0x4000, 0, 16, huge);            /* again */
	put_trace(&md, table, 0x5000, 0, 1ull << 60, good);    /* size */
	e = put_trace(&md, table, 0x6000, 0, 16, good);
	tr = synth_get_field(&md.m, &md.L, e, PY_F_HTE_VALUE);
	field(&md, e, PY_F_HTE_VALUE, 0xbad000);               /* trace_t */
	(void)tr;
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 10, &tm);
	tm_finish(&tm);
	/* Traces whose traceback is bad are kept, without one. */
	ck_assert_uint_eq(tm.ntraces, 4);
	ck_assert_uint_eq(tm_trace_at(&tm, 0x1000)->traceback, 0);
	ck_assert_uint_eq(tm_trace_at(&tm, 0x2000)->traceback, TM_NO_TRACEBACK);
	ck_assert_uint_eq(tm_trace_at(&tm, 0x3000)->traceback, TM_NO_TRACEBACK);
	ck_assert_uint_eq(tm_trace_at(&tm, 0x4000)->traceback, TM_NO_TRACEBACK);
	/* Read once each: the repeat came from the index. */
	ck_assert_uint_eq(tm.bad_tracebacks, 2);
	ck_assert_uint_eq(tm.bad_traces, 2);
	ck_assert_ptr_null(tm_trace_at(&tm, 0x5000));
	ck_assert_ptr_null(tm_trace_at(&tm, 0x6000));
	ck_assert_ptr_null(tm_trace_at(&tm, 0x7000));
	ck_assert_uint_eq(tm.bad_entries, 1);
	ck_assert_uint_eq(tm.bad_chains, 1);
	ck_assert_uint_eq(tm.ntbs, 1);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(wrong_bucket_and_bad_links)
{
	struct model md;
	struct tm_state tm;
	uint64_t tb, table, heads, e;
	struct target *t;

	model_init(&md, 11);
	tb = put_traceback(&md, 1, 1, 0);
	table = put_table(&md, 8, 8, RAW_FREE);
	heads = table_get(&md, table, PY_F_HT_BUCKETS);
	put_trace(&md, table, 0x1000, 0, 8, tb);
	put_trace(&md, table, 0x1010, 0, 8, tb);
	/* Bucket 5's chain holds an entry of bucket 1 (and what follows). */
	e = put_trace(&md, table, 0x1050, 0, 8, tb);
	synth_u64(&md.m, heads + 5 * 8, 0);
	synth_u64(&md.m, heads + 6 * 8, e);
	/* A link into unmapped memory, and one misaligned. */
	e = put_trace(&md, table, 0x1020, 0, 8, tb);
	field(&md, e, PY_F_HTE_NEXT, 0xdead0000);
	e = put_trace(&md, table, 0x1030, 0, 8, tb);
	field(&md, e, PY_F_HTE_NEXT, BASE + 0x1003);
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 1, &tm);
	tm_finish(&tm);
	ck_assert_ptr_nonnull(tm_trace_at(&tm, 0x1000));
	ck_assert_ptr_nonnull(tm_trace_at(&tm, 0x1010));
	ck_assert_ptr_nonnull(tm_trace_at(&tm, 0x1020));
	ck_assert_ptr_nonnull(tm_trace_at(&tm, 0x1030));
	ck_assert_ptr_null(tm_trace_at(&tm, 0x1050));
	ck_assert_uint_eq(tm.bad_entries, 1);
	ck_assert_uint_eq(tm.bad_chains, 3);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(absurd_headers_are_refused)
{
	struct model md;
	struct tm_state tm;
	uint64_t tb, table, heads;
	struct target *t;
	static const uint64_t nbuckets[] = { 0, 3, 1ull << 33, 1ull << 20 };
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(nbuckets); i++) {
		model_init(&md, 11);
		tb = put_traceback(&md, 1, 1, 0);
		table = put_table(&md, 8, 8, RAW_FREE);
		put_trace(&md, table, 0x1000, 0, 8, tb);
		/* 2^20 is a power of two, but its heads are not all
		 * mapped: refused before any slice is read. */
		field(&md, table, PY_F_HT_NBUCKETS, nbuckets[i]);
		t = commit(&md);
		tm_state_init(&tm);
		tm_walk_traces(t, &md.L, table, 0, 1, &tm);
		ck_assert_uint_eq(tm.ntraces, 0);
		ck_assert_uint_eq(tm.bad_chains, 1);
		tm_state_release(&tm);
		target_close(t);
	}

	/* Misaligned or unreadable bucket array, unreadable header. */
	model_init(&md, 11);
	table = put_table(&md, 8, 8, RAW_FREE);
	heads = table_get(&md, table, PY_F_HT_BUCKETS);
	field(&md, table, PY_F_HT_BUCKETS, heads + 4);
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 1, &tm);
	tm_walk_traces(t, &md.L, 0xdead0000, 0, 1, &tm);
	tm_walk_traces(t, &md.L, 0, 0, 1, &tm);
	tm_walk_domains(t, &md.L, 0xdead0000, 1, &tm);
	ck_assert_uint_eq(tm.ntraces, 0);
	ck_assert_uint_eq(tm.bad_chains, 4);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(entry_counts_bound_the_walk)
{
	struct model md;
	struct tm_state tm;
	uint64_t tb, table, e, first = 0;
	struct target *t;
	size_t i;

	/* A count of 2^62 does not make the walk allocate or loop more: the
	 * real entries are found and the walk ends. */
	model_init(&md, 11);
	tb = put_traceback(&md, 1, 1, 0);
	table = put_table(&md, 4, 8, RAW_FREE);
	for (i = 0; i < 50; i++)
		put_trace(&md, table, 0x1000 + i * 64, 0, 8, tb);
	field(&md, table, PY_F_HT_NENTRIES, 1ull << 62);
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 1, &tm);
	tm_finish(&tm);
	ck_assert_uint_eq(tm.ntraces, 50);
	ck_assert(!tm.truncated);
	tm_state_release(&tm);
	target_close(t);

	/* A count of 0 over a long chain: the walk stops at its bound and
	 * says so. */
	model_init(&md, 11);
	tb = put_traceback(&md, 1, 1, 0);
	table = put_table(&md, 1, 8, RAW_FREE);
	for (i = 0; i < 500; i++) {
		e = put_trace(&md, table, 0x1000 + i * 16, 0, 8, tb);
		if (!first)
			first = e;
	}
	field(&md, table, PY_F_HT_NENTRIES, 0);
	t = commit(&md);
	tm_state_init(&tm);
	tm_walk_traces(t, &md.L, table, 0, 1, &tm);
	ck_assert(tm.truncated);
	ck_assert_uint_le(tm.ntraces, 64);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

START_TEST(random_garbage_is_survived)
{
	/* Tables of random bytes, and sound tables with random words
	 * overwritten: whatever is read, the walk ends and nothing it keeps
	 * breaks its promises. */
	uint64_t rng = 0x5eed0000ull + (uint64_t)_i;
	int round;

	for (round = 0; round < 40; round++) {
		struct model md;
		struct tm_state tm;
		uint64_t tb, table;
		struct target *t;
		size_t i, k;

		model_init(&md, round % 2 ? 11 : 8);
		tb = put_traceback(&md, 3, 3, 0);
		table = put_table(&md, 64, 8, RAW_FREE);
		for (i = 0; i < 300; i++)
			put_trace(&md, table, 0x1000 + i * 32, 0, 8, tb);
		if (round % 4 == 3) {
			rng_fill(&rng, synth_at(&md.m, BASE + 64, SIZE - 64),
				 SIZE - 64);
		} else {
			for (k = 0; k < 200; k++) {
				uint64_t a = BASE + 64 + 8 * rng_below(&rng,
					(md.next - BASE - 64) / 8);
				uint64_t v = rng_next(&rng);

				/* Half the time something plausible: a
				 * pointer into the region, a small count. */
				if (v & 1)
					v = BASE + (v >> 8) % SIZE;
				else if (v & 2)
					v = (v >> 8) & 0xffff;
				synth_u64(&md.m, a, v);
			}
		}
		t = commit(&md);
		tm_state_init(&tm);
		tm_walk_traces(t, &md.L, table, 0, 5, &tm);
		tm_walk_domains(t, &md.L, table, 5, &tm);
		tm_finish(&tm);
		for (i = 0; i < tm.ntraces; i++) {
			const struct tm_trace *tr = &tm.traces[i];

			ck_assert(tr->traceback == TM_NO_TRACEBACK ||
				  tr->traceback < tm.ntbs);
			if (i)
				ck_assert(cmp_want(&(struct want){ tr[-1].ptr,
					0, 0, tr[-1].domain },
					&(struct want){ tr->ptr, 0, 0,
					tr->domain }) < 0);
		}
		for (i = 0; i < tm.ntbs; i++) {
			ck_assert_uint_le(tm.tbs[i].nframe, 5);
			ck_assert_uint_le(tm.tbs[i].first_frame +
					  tm.tbs[i].nframe, tm.nframes);
		}
		tm_state_release(&tm);
		target_close(t);
	}
}
END_TEST

/* ---- the stripped-build search ----------------------------------------- */

START_TEST(find_tables_by_their_functions)
{
	int minor = _i ? 8 : 11;
	struct model md;
	struct tm_funcs fn = { HASH_PTR, COMPARE_DIRECT, HT_DESTROY };
	uint64_t traces, domains, decoys[4], bss, range[1][2], ft, fd;
	struct target *t;
	size_t i;
	int rc;

	model_init(&md, minor);
	traces = put_table(&md, 64, 8, RAW_FREE);
	domains = minor >= 9 ? put_table(&md, 8, 8, HT_DESTROY) : 0;
	/* Look-alikes: another hash function (the tracebacks table), a key
	 * destructor (marshal's), a bucket count that is no power of two,
	 * unreadable heads. */
	for (i = 0; i < 4; i++)
		decoys[i] = put_table(&md, 16, 8, RAW_FREE);
	field(&md, decoys[0], PY_F_HT_HASH_FUNC, HASH_OTHER);
	if (minor >= 9)
		field(&md, decoys[1], PY_F_HT_KEY_DESTROY_FUNC, RAW_FREE);
	else
		field(&md, decoys[1], PY_F_HT_DATA_SIZE, 24);
	field(&md, decoys[2], PY_F_HT_NBUCKETS, 24);
	field(&md, decoys[3], PY_F_HT_BUCKETS, 0xdead0000);
	/* The "data segment": the statics, among other words. */
	bss = alloc(&md, 4096);
	synth_u64(&md.m, bss + 8, decoys[0]);
	synth_u64(&md.m, bss + 64, traces);
	synth_u64(&md.m, bss + 72, domains);
	synth_u64(&md.m, bss + 80, decoys[1]);
	synth_u64(&md.m, bss + 96, decoys[2]);
	synth_u64(&md.m, bss + 104, decoys[3]);
	synth_u64(&md.m, bss + 112, traces); /* a second copy: still one */
	synth_u64(&md.m, bss + 200, 0xdead0000);
	synth_u64(&md.m, bss + 208, BASE + 3);
	range[0][0] = bss;
	range[0][1] = bss + 4096;
	t = commit(&md);
	rc = tm_find_tables(t, &md.L, (const uint64_t (*)[2])range, 1, &fn,
			    &ft, &fd);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(ft, traces);
	ck_assert_uint_eq(fd, domains);
	/* Not there without the exported functions, nor in another range. */
	fn.hash_ptr = 0;
	ck_assert_int_eq(tm_find_tables(t, &md.L, (const uint64_t (*)[2])range,
					1, &fn, &ft, &fd), -PH_E_NOTFOUND);
	fn.hash_ptr = HASH_PTR;
	range[0][0] = bss + 120;
	ck_assert_int_eq(tm_find_tables(t, &md.L, (const uint64_t (*)[2])range,
					1, &fn, &ft, &fd), -PH_E_NOTFOUND);
	target_close(t);

	/* Two different candidates: no guess. */
	model_init(&md, minor);
	traces = put_table(&md, 64, 8, RAW_FREE);
	decoys[0] = put_table(&md, 64, 8, RAW_FREE);
	bss = alloc(&md, 64);
	synth_u64(&md.m, bss, traces);
	synth_u64(&md.m, bss + 8, decoys[0]);
	range[0][0] = bss;
	range[0][1] = bss + 64;
	t = commit(&md);
	ck_assert_int_eq(tm_find_tables(t, &md.L, (const uint64_t (*)[2])range,
					1, &fn, &ft, &fd), -PH_E_CORRUPT);
	target_close(t);
}
END_TEST

/* ---- the whole reader on a 3.12 runtime ---------------------------------- */

START_TEST(read_runtime_state)
{
	/* 3.12+ keeps everything in _PyRuntime.tracemalloc: no symbol is
	 * needed, so a pyproc with just the runtime address reads it. */
	struct model md;
	struct pyproc p;
	struct tm_state tm;
	uint64_t runtime, state, cfg, tb, traces, domains;
	struct target *t;
	int tracing = _i;

	model_init(&md, 12);
	runtime = alloc(&md, (size_t)md.L.size[PY_S_RUNTIME]);
	state = runtime + (uint64_t)md.L.off[PY_F_RT_TRACEMALLOC];
	cfg = state + (uint64_t)md.L.off[PY_F_TM_CONFIG];
	field(&md, cfg, PY_F_TMC_TRACING, (uint64_t)tracing);
	field(&md, cfg, PY_F_TMC_MAX_NFRAME, 4);
	tb = put_traceback(&md, 4, 9, 0);
	traces = put_table(&md, 16, 8, RAW_FREE);
	domains = put_table(&md, 8, 8, HT_DESTROY);
	/* Stopping tracemalloc empties the table and zeroes the counter. */
	if (tracing) {
		put_trace(&md, traces, 0x1000, 0, 100, tb);
		put_trace(&md, traces, 0x2000, 0, 23, tb);
	}
	field(&md, state, PY_F_TM_TRACES, traces);
	field(&md, state, PY_F_TM_DOMAINS, domains);
	field(&md, state, PY_F_TM_TRACED_MEMORY, tracing ? 123 : 0);
	t = commit(&md);
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 12;
	p.L = md.L;
	p.runtime = runtime;
	tm_state_init(&tm);
	ck_assert_int_eq(tm_read(&p, &tm), 0);
	ck_assert(tm.found);
	ck_assert_int_eq(tm.tracing, tracing);
	ck_assert_str_eq(tm.note, "");
	ck_assert_uint_eq(tm.max_nframe, 4);
	if (tracing) {
		ck_assert(tm.traced_memory_known);
		ck_assert_uint_eq(tm.traced_memory, 123);
		ck_assert_int_eq(tm.source, TM_SRC_RUNTIME);
		ck_assert_uint_eq(tm.ntraces, 2);
		ck_assert_uint_eq(tm.tbs[0].nframe, 4);
		ck_assert_uint_eq(tm.tbs[0].total_nframe, 9);
	} else {
		/* Not tracing: nothing else is read. */
		ck_assert(!tm.traced_memory_known);
		ck_assert_uint_eq(tm.ntraces, 0);
	}
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

/*
 * The layout's _PyRuntime.tracemalloc is off by a plausible amount (3.13.0
 * -> 3.13.18 moved it +24): the reader finds the state that adds up, says
 * it searched, and reads the same traces; moved beyond its window, it says
 * it could not verify the state and reads nothing, never "not tracing".
 */
static const int tm_shifts[] = { -24, -8, 8, 24, 512 };

START_TEST(runtime_state_moved)
{
	int shift = tm_shifts[_i];
	struct model md;
	struct pyproc p;
	struct tm_state tm;
	uint64_t runtime, state, cfg, tb, traces, domains;
	struct target *t;

	model_init(&md, 12);
	runtime = alloc(&md, (size_t)md.L.size[PY_S_RUNTIME] + 1024);
	/* The real state sits shift bytes from where the layout says. */
	state = runtime + (uint64_t)(md.L.off[PY_F_RT_TRACEMALLOC] + shift);
	cfg = state + (uint64_t)md.L.off[PY_F_TM_CONFIG];
	field(&md, cfg, PY_F_TMC_TRACING, 1);
	field(&md, cfg, PY_F_TMC_MAX_NFRAME, 4);
	tb = put_traceback(&md, 4, 9, 0);
	traces = put_table(&md, 16, 8, RAW_FREE);
	domains = put_table(&md, 8, 8, HT_DESTROY);
	put_trace(&md, traces, 0x1000, 0, 100, tb);
	put_trace(&md, traces, 0x2000, 0, 23, tb);
	field(&md, state, PY_F_TM_TRACES, traces);
	field(&md, state, PY_F_TM_DOMAINS, domains);
	field(&md, state, PY_F_TM_TRACED_MEMORY, 123);
	t = commit(&md);
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 12;
	p.L = md.L;
	p.runtime = runtime;
	tm_state_init(&tm);
	ck_assert_int_eq(tm_read(&p, &tm), 0);
	if (shift < 256) {
		ck_assert(tm.found && tm.tracing);
		ck_assert_uint_eq(tm.ntraces, 2);
		ck_assert_uint_eq(tm.traced_memory, 123);
		ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].state,
				 CHECK_SEARCHED);
		ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].off,
				 md.L.off[PY_F_RT_TRACEMALLOC] + shift);
	} else {
		/* Zeros where the layout points look idle, but that is not
		 * taken for "not tracing" without a word: here it is, since
		 * nothing traces nearby; the check says what it saw. */
		ck_assert_uint_eq(tm.ntraces, 0);
		ck_assert_int_ne(p.checks[PY_CHECK_TRACEMALLOC].state,
				 CHECK_SEARCHED);
	}
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

/* Not tracing, and 24 bytes from where the layout says (3.13.18 read with
 * 3.13.0's table): the one idle state near it is taken, and said so. */
START_TEST(runtime_state_idle_moved)
{
	struct model md;
	struct pyproc p;
	struct tm_state tm;
	uint64_t runtime, state, cfg;
	struct target *t;

	model_init(&md, 12);
	runtime = alloc(&md, (size_t)md.L.size[PY_S_RUNTIME] + 1024);
	state = runtime + (uint64_t)(md.L.off[PY_F_RT_TRACEMALLOC] + 24);
	cfg = state + (uint64_t)md.L.off[PY_F_TM_CONFIG];
	field(&md, cfg, PY_F_TMC_TRACING, 0);
	field(&md, cfg, PY_F_TMC_MAX_NFRAME, 1);
	field(&md, state, PY_F_TM_TRACES, put_table(&md, 16, 8, RAW_FREE));
	field(&md, state, PY_F_TM_DOMAINS, put_table(&md, 8, 8, HT_DESTROY));
	t = commit(&md);
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 12;
	p.L = md.L;
	p.runtime = runtime;
	tm_state_init(&tm);
	ck_assert_int_eq(tm_read(&p, &tm), 0);
	ck_assert(tm.found);
	ck_assert(!tm.tracing);
	ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].state, CHECK_SEARCHED);
	ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].off,
			 md.L.off[PY_F_RT_TRACEMALLOC] + 24);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

/* tracemalloc never imported nor started: no tables, max_nframe 1 (the
 * config's initial value); where the layout says, and 24 bytes off. */
START_TEST(runtime_state_uninitialised)
{
	int shift = _i ? 24 : 0;
	struct model md;
	struct pyproc p;
	struct tm_state tm;
	uint64_t runtime, state, cfg;
	struct target *t;

	model_init(&md, 12);
	runtime = alloc(&md, (size_t)md.L.size[PY_S_RUNTIME] + 1024);
	state = runtime + (uint64_t)(md.L.off[PY_F_RT_TRACEMALLOC] + shift);
	cfg = state + (uint64_t)md.L.off[PY_F_TM_CONFIG];
	field(&md, cfg, PY_F_TMC_MAX_NFRAME, 1);
	t = commit(&md);
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 12;
	p.L = md.L;
	p.runtime = runtime;
	tm_state_init(&tm);
	ck_assert_int_eq(tm_read(&p, &tm), 0);
	ck_assert(tm.found);
	ck_assert(!tm.tracing);
	ck_assert_str_eq(tm.note, "");
	ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].state,
			 shift ? CHECK_SEARCHED : CHECK_VERIFIED);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

/* Garbage where the layout points and no state near it: the check fails,
 * the note says so, and no traces or "not tracing" are claimed. */
START_TEST(runtime_state_garbage)
{
	struct model md;
	struct pyproc p;
	struct tm_state tm;
	uint64_t runtime, cfg;
	struct target *t;

	model_init(&md, 12);
	runtime = alloc(&md, (size_t)md.L.size[PY_S_RUNTIME] + 1024);
	cfg = runtime + (uint64_t)(md.L.off[PY_F_RT_TRACEMALLOC] +
				   md.L.off[PY_F_TM_CONFIG]);
	field(&md, cfg, PY_F_TMC_TRACING, 7);
	field(&md, cfg, PY_F_TMC_MAX_NFRAME, 0x10000000);
	t = commit(&md);
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.major = 3;
	p.minor = 12;
	p.L = md.L;
	p.runtime = runtime;
	tm_state_init(&tm);
	ck_assert_int_eq(tm_read(&p, &tm), 0);
	ck_assert(!tm.found);
	ck_assert(!tm.tracing);
	ck_assert_int_eq(p.checks[PY_CHECK_TRACEMALLOC].state, CHECK_FAILED);
	ck_assert(strstr(tm.note, "could not be verified") != NULL);
	tm_state_release(&tm);
	target_close(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tracemalloc");
	TCase *tc = tcase_create("tracemalloc");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, walk_finds_every_trace, 0,
			    (int)PH_ARRAY_SIZE(walk_versions));
	tcase_add_test(tc, walk_generic_table_with_domains);
	tcase_add_test(tc, walk_domains_table);
	tcase_add_loop_test(tc, cycles_end_their_chain_only, 0, 2);
	tcase_add_test(tc, bad_entries_traces_and_tracebacks);
	tcase_add_test(tc, wrong_bucket_and_bad_links);
	tcase_add_test(tc, absurd_headers_are_refused);
	tcase_add_test(tc, entry_counts_bound_the_walk);
	tcase_add_loop_test(tc, random_garbage_is_survived, 0, 4);
	tcase_add_loop_test(tc, find_tables_by_their_functions, 0, 2);
	tcase_add_loop_test(tc, read_runtime_state, 0, 2);
	tcase_add_loop_test(tc, runtime_state_moved, 0,
			    (int)PH_ARRAY_SIZE(tm_shifts));
	tcase_add_test(tc, runtime_state_garbage);
	tcase_add_test(tc, runtime_state_idle_moved);
	tcase_add_loop_test(tc, runtime_state_uninitialised, 0, 2);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
