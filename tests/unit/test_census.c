/*
 * The parts of the census that are pure functions of target memory: dict
 * iteration and sizes (src/objects/dict.c) on synthetic dicts.
 *
 * Dicts are laid out by CPython's rules (INTERNALS §5.2; Objects/
 * dictobject.c, dict-common.h <= 3.10, pycore_dict.h 3.11+), with the
 * geometry -- index width, where the entries start, entry sizes -- computed
 * here from those rules, not taken from dict.c.  Expected sizes are
 * _PyDict_SizeOf's formula evaluated by the test, and for common dicts the
 * numbers real interpreters print for d.__sizeof__().
 *
 * census_build() itself needs a whole synthetic interpreter (runtime,
 * interpreter and thread states, GC lists, type objects) and is left to
 * the live suites.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check_util.h"
#include "objects/internal.h"
#include "synth.h"

/* ---- CPython's dict geometry (INTERNALS §5.2) ---------------------------- */

#define DICT_BASICSIZE 48        /* sizeof(PyDictObject), 3.7-3.13 */
#define DKIX_EMPTY (-1)
#define DKIX_DUMMY (-2)
#define LOOKDICT_UNICODE 0x5555555a1230ull /* dk_lookup (<= 3.10) */
#define LOOKDICT_SPLIT 0x5555555a1780ull
#define DICT_TYPE 0x5555556ab000ull        /* &PyDict_Type */
#define STR_TYPE 0x5555556ac000ull         /* &PyUnicode_Type */
#define INT_TYPE 0x5555556ad000ull

enum { GENERAL = 0, UNICODE = 1, SPLIT = 2 }; /* dk_kind (3.11+) */

/* sizeof(PyDictKeysObject): dk_indices is a flexible array. */
static uint64_t keys_header(int minor)
{
	return minor <= 10 ? 40 : 32;
}

/* DK_IXSIZE */
static uint64_t ixsize(uint64_t size)
{
	return size <= 0xff ? 1 : size <= 0xffff ? 2 :
	       size <= 0xffffffffull ? 4 : 8;
}

static uint64_t usable_fraction(uint64_t n)
{
	return (n << 1) / 3;
}

/* sizeof(PyDictKeyEntry) = 24; PyDictUnicodeEntry (3.11+) = 16. */
static uint64_t entry_size(int minor, int kind)
{
	return minor <= 10 || kind == GENERAL ? 24 : 16;
}

static uint64_t log2_of(uint64_t v)
{
	uint64_t l = 0;

	while ((1ull << l) < v)
		l++;
	return l;
}

/* ---- building dicts ------------------------------------------------------ */

/* One dict's keys object as the test lays it out.  key[i] == 0 is a
 * deleted entry (me_key NULL); dummy[i] keeps a dummy key with a NULL
 * value instead.  For split tables val[] goes to the values array. */
struct dspec {
	int minor;
	int kind;              /* GENERAL / UNICODE / SPLIT (<= 3.10: split
				* or not; GENERAL and UNICODE are combined) */
	uint64_t log2size;
	int64_t refcnt;
	uint64_t nentries, usable;
	uint64_t *key, *val;
	bool *dummy;
};

static void dspec_init(struct dspec *d, int minor, int kind,
		       uint64_t log2size, uint64_t nentries)
{
	uint64_t i;

	memset(d, 0, sizeof(*d));
	d->minor = minor;
	d->kind = kind;
	d->log2size = log2size;
	d->refcnt = 1;
	d->nentries = nentries;
	ck_assert_uint_le(nentries, usable_fraction(1ull << log2size));
	d->usable = usable_fraction(1ull << log2size) - nentries;
	d->key = calloc(nentries + 1, 8);
	d->val = calloc(nentries + 1, 8);
	d->dummy = calloc(nentries + 1, sizeof(bool));
	for (i = 0; i < nentries; i++) {
		d->key[i] = 0x7f1100000000ull + 64 * i;
		d->val[i] = 0x7f2200000000ull + 32 * i;
	}
}

static void dspec_free(struct dspec *d)
{
	free(d->key);
	free(d->val);
	free(d->dummy);
}

/* Delete entry i the way delitem_common does (<= 3.10 also: a dummy
 * key left behind, which older code did). */
static void dspec_delete(struct dspec *d, uint64_t i, bool dummy)
{
	if (d->kind == SPLIT) {
		d->val[i] = 0;       /* values[ix] = NULL */
	} else if (dummy) {
		d->dummy[i] = true;
		d->val[i] = 0;
	} else {
		d->key[i] = 0;
		d->val[i] = 0;
	}
}

static uint64_t index_bytes(const struct dspec *d)
{
	uint64_t size = 1ull << d->log2size;

	return size * ixsize(size);
}

static uint64_t entries_of(const struct dspec *d, uint64_t keys)
{
	return keys + keys_header(d->minor) + index_bytes(d);
}

/* Bytes the keys object occupies (_PyDict_KeysSize). */
static uint64_t keys_bytes(const struct dspec *d)
{
	return keys_header(d->minor) + index_bytes(d) +
	       usable_fraction(1ull << d->log2size) *
	       entry_size(d->minor, d->kind);
}

/* Write the keys object at K: header, indices (live entries hashed into
 * their slots, deleted ones DKIX_DUMMY, the rest DKIX_EMPTY), entries. */
static void put_keys(struct synth *m, const struct py_layout *L, uint64_t K,
		     const struct dspec *d)
{
	uint64_t size = 1ull << d->log2size, ix = ixsize(size), i, e;
	uint64_t es = entry_size(d->minor, d->kind);
	unsigned char *idx;

	synth_field(m, L, K, PY_F_DK_REFCNT, (uint64_t)d->refcnt);
	if (d->minor <= 10) {
		synth_field(m, L, K, PY_F_DK_SIZE, size);
		synth_field(m, L, K, PY_F_DK_LOOKUP, d->kind == SPLIT ?
			    LOOKDICT_SPLIT : LOOKDICT_UNICODE);
	} else {
		synth_field(m, L, K, PY_F_DK_LOG2_SIZE, d->log2size);
		synth_field(m, L, K, PY_F_DK_LOG2_INDEX_BYTES,
			    d->log2size + log2_of(ix));
		synth_field(m, L, K, PY_F_DK_KIND, (uint64_t)d->kind);
	}
	synth_field(m, L, K, PY_F_DK_USABLE, d->usable);
	synth_field(m, L, K, PY_F_DK_NENTRIES, d->nentries);

	idx = synth_at(m, K + keys_header(d->minor), index_bytes(d));
	memset(idx, 0xff, index_bytes(d)); /* DKIX_EMPTY */
	for (i = 0; i < d->nentries; i++) {
		uint64_t slot = (i * 0x9e3779b1ull) & (size - 1);
		int64_t v = d->key[i] && !d->dummy[i] ? (int64_t)i : DKIX_DUMMY;

		while (memcmp(idx + slot * ix, "\xff\xff\xff\xff\xff\xff\xff\xff",
			      ix))
			slot = (slot + 1) & (size - 1);
		memcpy(idx + slot * ix, &v, ix);
	}

	e = entries_of(d, K);
	for (i = 0; i < d->nentries; i++, e += es) {
		uint64_t key = d->dummy[i] ? 0x5555556d0000ull : d->key[i];
		uint64_t val = d->kind == SPLIT ? 0 : d->val[i];

		if (es == 24) {
			synth_field(m, L, e, PY_F_DKE_HASH,
				    key ? i * 0x9e3779b1ull : 0);
			synth_field(m, L, e, PY_F_DKE_KEY, key);
			synth_field(m, L, e, PY_F_DKE_VALUE, val);
		} else {
			synth_field(m, L, e, PY_F_DUE_KEY, key);
			synth_field(m, L, e, PY_F_DUE_VALUE, val);
		}
	}
}

static void put_dict(struct synth *m, const struct py_layout *L, uint64_t D,
		     uint64_t keys, uint64_t values, uint64_t used)
{
	synth_field(m, L, D, PY_F_OB_REFCNT, 1);
	synth_field(m, L, D, PY_F_OB_TYPE, DICT_TYPE);
	synth_field(m, L, D, PY_F_MA_USED, used);
	synth_field(m, L, D, PY_F_MA_VERSION_TAG, 12345);
	synth_field(m, L, D, PY_F_MA_KEYS, keys);
	synth_field(m, L, D, PY_F_MA_VALUES, values);
}

/* The split values of d in a block at B; returns the PyDictValues
 * pointer the dict holds.  <= 3.10: PyObject *[USABLE_FRACTION(size)].
 * 3.11/3.12: new_values() -- a prefix (order bytes, used count, prefix
 * size in its last byte) before values[].  3.13: {capacity, size,
 * embedded, valid} then values[] at 8, order bytes after. */
static uint64_t put_values(struct synth *m, uint64_t B, const struct dspec *d,
			   uint64_t *nslots)
{
	uint64_t n, prefix, v, i, used = 0;

	for (i = 0; i < d->nentries; i++)
		used += d->val[i] != 0;
	if (d->minor <= 10) {
		n = usable_fraction(1ull << d->log2size);
		v = B;
	} else if (d->minor <= 12) {
		n = d->nentries + d->usable;
		prefix = (n + 2 + 7) & ~7ull;
		*synth_at(m, B + prefix - 1, 1) = (unsigned char)prefix;
		*synth_at(m, B + prefix - 2, 1) = (unsigned char)used;
		v = B + prefix;
	} else {
		n = d->nentries + d->usable;
		*synth_at(m, B, 1) = (unsigned char)n;       /* capacity */
		*synth_at(m, B + 1, 1) = (unsigned char)used; /* size */
		*synth_at(m, B + 2, 1) = 0;                   /* embedded */
		*synth_at(m, B + 3, 1) = 1;                   /* valid */
		v = B + 8;
	}
	ck_assert_uint_ge(n, d->nentries);
	for (i = 0; i < n; i++)
		synth_u64(m, v + 8 * i, i < d->nentries ? d->val[i] : 0);
	*nslots = n;
	return d->minor >= 13 ? B : v;
}

/* ---- the census the dict functions see ----------------------------------- */

struct env {
	struct target *t;
	struct pyproc p;
	struct census c;
};

/* dict.c reads c->t and c->L; dict_get_str reads strs through c->p. */
static void env_init(struct env *e, int minor)
{
	memset(e, 0, sizeof(*e));
	e->t = target_fake_new();
	e->p.t = e->t;
	e->p.major = 3;
	e->p.minor = minor;
	layout_for(&e->p.L, minor);
	e->p.types[PY_T_STR] = STR_TYPE;
	e->c.p = &e->p;
	e->c.t = e->t;
	e->c.L = &e->p.L;
}

static void env_done(struct env *e)
{
	target_close(e->t);
}

struct kv {
	uint64_t key, value;
};

struct seen {
	struct kv *v;
	size_t n, alloc;
};

static void collect(void *ctx, uint64_t key, uint64_t value)
{
	struct seen *s = ctx;

	PH_GROW(s->v, s->alloc, s->n + 1);
	s->v[s->n].key = key;
	s->v[s->n].value = value;
	s->n++;
}

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/* The (key, value) pairs d holds: live entries with their values. */
static size_t expected_pairs(const struct dspec *d, struct kv *out)
{
	size_t n = 0;
	uint64_t i;

	for (i = 0; i < d->nentries; i++) {
		if (!d->key[i] || d->dummy[i] || !d->val[i])
			continue;
		out[n].key = d->key[i];
		out[n].value = d->val[i];
		n++;
	}
	return n;
}

/* rc and s hold exactly the pairs of d, in any order. */
static void expect_pairs(int rc, struct seen *s, const struct dspec *d,
			 const char *what)
{
	struct kv *want = malloc((d->nentries + 1) * sizeof(*want));
	size_t n = expected_pairs(d, want), i;

	ck_assert_msg(rc >= 0, "%s: error %d", what, rc);
	ck_assert_msg((size_t)rc == n, "%s: %d entries visited, expected %zu",
		      what, rc, n);
	ck_assert_msg(s->n == n, "%s: %zu callbacks, expected %zu", what,
		      s->n, n);
	if (n) { /* (qsort of a NULL array is undefined, even empty) */
		qsort(want, n, sizeof(*want), cmp_kv);
		qsort(s->v, s->n, sizeof(*s->v), cmp_kv);
	}
	for (i = 0; i < n; i++)
		ck_assert_msg(s->v[i].key == want[i].key &&
			      s->v[i].value == want[i].value,
			      "%s: pair %zu is (%#llx, %#llx), expected "
			      "(%#llx, %#llx)", what, i,
			      (unsigned long long)s->v[i].key,
			      (unsigned long long)s->v[i].value,
			      (unsigned long long)want[i].key,
			      (unsigned long long)want[i].value);
	free(want);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

#define KEYS 0x7f4000000000ull
#define DICT 0x7f5000000000ull
#define VALUES 0x7f6000000000ull

/* A fake target holding dict D, d's keys at KEYS and (split) its values.
 * Returns the values pointer (0 for combined tables). */
static uint64_t place_dict(struct env *e, const struct dspec *d)
{
	struct synth km, dm, vm;
	uint64_t values = 0, nslots, used = 0, i;

	for (i = 0; i < d->nentries; i++)
		used += d->key[i] && !d->dummy[i] && d->val[i];
	synth_init(&km, KEYS, keys_bytes(d));
	put_keys(&km, e->c.L, KEYS, d);
	synth_commit(&km, e->t, SYNTH_RW, NULL);
	if (d->kind == SPLIT) {
		synth_init(&vm, VALUES, 8 * (d->nentries + d->usable) + 4096);
		values = put_values(&vm, VALUES, d, &nslots);
		synth_commit(&vm, e->t, SYNTH_RW, NULL);
	}
	synth_init(&dm, DICT, DICT_BASICSIZE);
	put_dict(&dm, e->c.L, DICT, KEYS, values, used);
	synth_commit(&dm, e->t, SYNTH_RW, NULL);
	return values;
}

/* _PyDict_SizeOf by its formula: <= 3.10 USABLE_FRACTION(size) value
 * slots, 3.11+ shared_keys_usable_size = nentries + usable; the keys when
 * this dict is their only owner. */
static uint64_t expected_sizeof(const struct dspec *d)
{
	uint64_t size = DICT_BASICSIZE;

	if (d->kind == SPLIT)
		size += 8 * (d->minor <= 10 ?
			     usable_fraction(1ull << d->log2size) :
			     d->nentries + d->usable);
	if (d->refcnt == 1)
		size += keys_bytes(d);
	return size;
}

static void expect_sizeof(struct env *e, const struct dspec *d,
			  uint64_t want, const char *what)
{
	uint64_t size = 0, buffers = 0, ksize = 0;
	int rc = dict_sizeof(&e->c, DICT, DICT_BASICSIZE, &size, &buffers);

	ck_assert_msg(rc == 0, "%s: dict_sizeof %d", what, rc);
	ck_assert_msg(size == want, "%s: size %llu, expected %llu", what,
		      (unsigned long long)size, (unsigned long long)want);
	ck_assert_uint_eq(buffers, want - DICT_BASICSIZE);
	ck_assert_int_eq(dict_keys_size(&e->c, KEYS, &ksize), 0);
	ck_assert_uint_eq(ksize, keys_bytes(d));
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(dict_layout_is_cpythons)
{
	/* INTERNALS §5.2: the synthetic dicts rely on the tables agreeing
	 * with these member offsets. */
	int minor;

	for (minor = 7; minor <= 13; minor++) {
		struct py_layout L;

		layout_for(&L, minor);
		ck_assert_int_eq(L.size[PY_S_DICT], DICT_BASICSIZE);
		ck_assert_int_eq(L.off[PY_F_MA_USED], 16);
		ck_assert_int_eq(L.off[PY_F_MA_KEYS], 32);
		ck_assert_int_eq(L.off[PY_F_MA_VALUES], 40);
		ck_assert_int_eq(L.off[PY_F_DK_REFCNT], 0);
		ck_assert_int_eq(L.size[PY_S_DICTKEYS], (int64_t)keys_header(minor));
		ck_assert_int_eq(L.off[PY_F_DK_INDICES], (int64_t)keys_header(minor));
		ck_assert_int_eq(L.size[PY_S_DICTKEYENTRY], 24);
		ck_assert_int_eq(L.off[PY_F_DKE_KEY], 8);
		ck_assert_int_eq(L.off[PY_F_DKE_VALUE], 16);
		if (minor <= 10) {
			ck_assert_int_eq(L.off[PY_F_DK_SIZE], 8);
			ck_assert_int_eq(L.off[PY_F_DK_USABLE], 24);
			ck_assert_int_eq(L.off[PY_F_DK_NENTRIES], 32);
		} else {
			ck_assert_int_eq(L.off[PY_F_DK_LOG2_SIZE], 8);
			ck_assert_int_eq(L.off[PY_F_DK_LOG2_INDEX_BYTES], 9);
			ck_assert_int_eq(L.off[PY_F_DK_KIND], 10);
			ck_assert_int_eq(L.off[PY_F_DK_USABLE], 16);
			ck_assert_int_eq(L.off[PY_F_DK_NENTRIES], 24);
			ck_assert_int_eq(L.size[PY_S_DICTUNIENTRY], 16);
			ck_assert_int_eq(L.off[PY_F_DUE_KEY], 0);
			ck_assert_int_eq(L.off[PY_F_DUE_VALUE], 8);
		}
	}
}
END_TEST

/* Combined tables: small, with 2-byte indices, and longer than dict.c's
 * read batch; deleted entries in every form the version leaves. */
static const struct {
	int minor, kind;
	uint64_t log2size, nentries;
} combined[] = {
	{ 9, GENERAL, 3, 5 },   { 9, GENERAL, 9, 300 },
	{ 9, GENERAL, 13, 5000 }, { 9, GENERAL, 0, 0 },
	{ 11, UNICODE, 3, 5 },  { 11, GENERAL, 3, 5 },
	{ 11, UNICODE, 9, 300 }, { 11, GENERAL, 9, 300 },
	{ 11, GENERAL, 13, 5000 }, { 11, UNICODE, 13, 5000 },
	{ 11, UNICODE, 0, 0 },
};

START_TEST(dict_combined_iteration_and_size)
{
	struct env e;
	struct dspec d;
	struct seen s = { 0 };
	char what[96];
	uint64_t i;
	int rc;

	env_init(&e, combined[_i].minor);
	dspec_init(&d, combined[_i].minor, combined[_i].kind,
		   combined[_i].log2size, combined[_i].nentries);
	for (i = 3; i < d.nentries; i += 7)
		dspec_delete(&d, i, d.minor <= 10 && i % 2);
	/* Stopped inside delitem_common between me_key = NULL and
	 * me_value = NULL: no longer an entry. */
	if (d.nentries > 2)
		d.key[1] = 0;
	snprintf(what, sizeof(what), "3.%d kind %d size %llu", d.minor,
		 d.kind, 1ull << d.log2size);
	place_dict(&e, &d);

	rc = dict_foreach(&e.c, DICT, collect, &s);
	expect_pairs(rc, &s, &d, what);
	expect_sizeof(&e, &d, expected_sizeof(&d), what);
	dspec_free(&d);
	env_done(&e);

	/* The same keys shared by two dicts: not this dict's to count. */
	env_init(&e, combined[_i].minor);
	dspec_init(&d, combined[_i].minor, combined[_i].kind,
		   combined[_i].log2size, combined[_i].nentries);
	d.refcnt = 2;
	place_dict(&e, &d);
	rc = dict_foreach(&e.c, DICT, collect, &s);
	expect_pairs(rc, &s, &d, what);
	{
		uint64_t size, buffers;

		ck_assert_int_eq(dict_sizeof(&e.c, DICT, DICT_BASICSIZE, &size,
					     &buffers), 0);
		ck_assert_uint_eq(size, DICT_BASICSIZE);
		ck_assert_uint_eq(buffers, 0);
	}
	dspec_free(&d);
	env_done(&e);
}
END_TEST

START_TEST(dict_sizes_match_real_interpreters)
{
	/* d.__sizeof__() as pyenv 3.7.16-3.13.0 print it for
	 * {'a': 1}, {1: 1}, {i: i for i in range(6)},
	 * {i: i for i in range(300)}, {str(i): i for i in range(300)}:
	 * 8, 8, 16, 512 and 512 slots. */
	static const struct {
		int kind;
		uint64_t log2size, nentries, old, new;
	} cases[] = {
		{ UNICODE, 3, 1, 216, 168 }, { GENERAL, 3, 1, 216, 208 },
		{ GENERAL, 4, 6, 344, 336 }, { GENERAL, 9, 300, 9296, 9288 },
		{ UNICODE, 9, 300, 9296, 6560 },
	};
	int minor;
	size_t i;

	for (minor = 7; minor <= 13; minor++) {
		for (i = 0; i < PH_ARRAY_SIZE(cases); i++) {
			struct env e;
			struct dspec d;

			env_init(&e, minor);
			dspec_init(&d, minor, minor <= 10 ? GENERAL : cases[i].kind,
				   cases[i].log2size, cases[i].nentries);
			place_dict(&e, &d);
			expect_sizeof(&e, &d, minor <= 10 ? cases[i].old :
				      cases[i].new, "real dict");
			dspec_free(&d);
			env_done(&e);
		}
	}
}
END_TEST

/* Split tables: keys shared with the class (refcnt > 1, not counted),
 * values in the dict's own array; a deleted attribute is a NULL value. */
static const int split_minors[] = { 9, 11, 12, 13 };

START_TEST(dict_split_iteration_and_size)
{
	int minor = split_minors[_i];
	struct env e;
	struct dspec d;
	struct seen s = { 0 };
	uint64_t values, size, buffers, want;
	int rc;

	env_init(&e, minor);
	/* 3.11+: shared keys of 64 slots, 3 names, 26 still usable:
	 * nentries + usable = 29 value slots, which is what a real 3.11.7
	 * instance's __dict__.__sizeof__() of 280 implies. */
	if (minor <= 10) {
		dspec_init(&d, minor, SPLIT, 3, 4);
	} else {
		dspec_init(&d, minor, SPLIT, 6, 3);
		d.usable = 26;
	}
	d.refcnt = 3;
	dspec_delete(&d, 1, false);
	values = place_dict(&e, &d);

	rc = dict_foreach(&e.c, DICT, collect, &s);
	expect_pairs(rc, &s, &d, "split dict");
	if (minor >= 11) {
		/* The same pairs from the keys and the values alone (inline
		 * or managed values with no dict object). */
		rc = dict_values_foreach(&e.c, KEYS, values, collect, &s);
		expect_pairs(rc, &s, &d, "split values");
	}
	if (minor <= 11) {
		want = expected_sizeof(&d);
		ck_assert_uint_eq(want, minor <= 10 ? 88 : 280);
		ck_assert_int_eq(dict_sizeof(&e.c, DICT, DICT_BASICSIZE, &size,
					     &buffers), 0);
		ck_assert_uint_eq(size, want);
		ck_assert_uint_eq(buffers, want - DICT_BASICSIZE);
	}
	dspec_free(&d);
	env_done(&e);
}
END_TEST

/* A compact str object at addr (ASCII when every character is < 128,
 * else compact Latin-1): PyASCIIObject / PyCompactUnicodeObject headers
 * of 48 / 72 bytes (<= 3.11), data after. */
static void put_str(struct synth *m, const struct py_layout *L, uint64_t addr,
		    const char *latin1)
{
	uint64_t len = strlen(latin1), i;
	bool ascii = true;
	uint64_t state;

	for (i = 0; i < len; i++)
		ascii = ascii && (unsigned char)latin1[i] < 128;
	/* interned:2 kind:3 compact:1 ascii:1 ready:1 */
	state = (1u << 2) | (1u << 5) | (ascii ? 1u << 6 : 0) | (1u << 7);
	synth_field(m, L, addr, PY_F_OB_REFCNT, 1);
	synth_field(m, L, addr, PY_F_OB_TYPE, STR_TYPE);
	synth_field(m, L, addr, PY_F_STR_LENGTH, len);
	synth_field(m, L, addr, PY_F_STR_HASH, (uint64_t)-1);
	synth_field(m, L, addr, PY_F_STR_STATE, state);
	synth_put(m, addr + (ascii ? 48 : 72), latin1, len + 1);
}

START_TEST(dict_get_str_finds_str_keys)
{
	static const char *const names[] = {
		"alpha", "beta", "gamma", "caf\xe9", "alphabet",
	};
	int minor = _i ? 11 : 9;
	struct env e;
	struct dspec d;
	struct synth sm;
	uint64_t i, strs = 0x7f7000000000ull;

	env_init(&e, minor);
	dspec_init(&d, minor, minor <= 10 ? GENERAL : UNICODE, 3, 5);
	synth_init(&sm, strs, 5 * 128 + 64);
	for (i = 0; i < 5; i++) {
		d.key[i] = strs + 128 * i;
		put_str(&sm, e.c.L, d.key[i], names[i]);
	}
	/* An int key (not a str: never matches) in place of "alphabet". */
	d.key[4] = strs + 5 * 128;
	synth_field(&sm, e.c.L, d.key[4], PY_F_OB_REFCNT, 1);
	synth_field(&sm, e.c.L, d.key[4], PY_F_OB_TYPE, INT_TYPE);
	synth_commit(&sm, e.t, SYNTH_RW, NULL);
	dspec_delete(&d, 1, false); /* "beta" */
	place_dict(&e, &d);

	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "alpha"), d.val[0]);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "gamma"), d.val[2]);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "caf\xc3\xa9"), d.val[3]);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "beta"), 0);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "alph"), 0);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, "alphabet"), 0);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT, ""), 0);
	ck_assert_uint_eq(dict_get_str(&e.c, DICT + 4096, "alpha"), 0);
	dspec_free(&d);
	env_done(&e);
}
END_TEST

/* ---- garbage ------------------------------------------------------------- */

static unsigned calls;

static void count_call(void *ctx, uint64_t key, uint64_t value)
{
	(void)ctx;
	(void)key;
	(void)value;
	calls++;
}

/* Every reader refuses the dict at DICT (keys at KEYS): an error, no
 * callback. */
static void expect_refused(struct env *e, bool keys_bad, const char *what)
{
	uint64_t size, buffers, ksize;
	int rc;

	calls = 0;
	rc = dict_foreach(&e->c, DICT, count_call, NULL);
	ck_assert_msg(rc < 0, "%s: dict_foreach returned %d", what, rc);
	ck_assert_msg(calls == 0, "%s: %u callbacks", what, calls);
	if (keys_bad) {
		rc = dict_sizeof(&e->c, DICT, DICT_BASICSIZE, &size, &buffers);
		ck_assert_msg(rc < 0, "%s: dict_sizeof returned %d (%llu)",
			      what, rc, (unsigned long long)size);
		ck_assert_msg(dict_keys_size(&e->c, KEYS, &ksize) < 0,
			      "%s: dict_keys_size accepted it", what);
		rc = dict_values_foreach(&e->c, KEYS, VALUES, count_call,
					 NULL);
		ck_assert_msg(rc < 0 && calls == 0,
			      "%s: dict_values_foreach returned %d", what, rc);
	}
}

enum hdr_damage {
	H_SIZE_ZERO, H_SIZE_NOT_POW2, H_SIZE_HUGE, H_SIZE_2_63,
	H_LOG2_HUGE, H_INDEX_BYTES_LOW, H_INDEX_BYTES_HIGH, H_KIND_3,
	H_KIND_FF, H_NENTRIES_GT_SIZE, H_USABLE_GT_SIZE, H_NENTRIES_HUGE,
	H__COUNT
};

START_TEST(dict_garbage_headers_are_refused)
{
	int minor = _i ? 11 : 9;
	int h;

	for (h = 0; h < H__COUNT; h++) {
		struct env e;
		struct dspec d;
		struct synth km, dm;
		const struct py_layout *L;
		bool applies = true;

		env_init(&e, minor);
		L = e.c.L;
		dspec_init(&d, minor, GENERAL, 3, 4);
		synth_init(&km, KEYS, keys_bytes(&d));
		put_keys(&km, L, KEYS, &d);
		switch (h) {
		case H_SIZE_ZERO:
		case H_SIZE_NOT_POW2:
		case H_SIZE_HUGE:
		case H_SIZE_2_63:
			if (minor > 10) {
				applies = false;
				break;
			}
			if (h == H_SIZE_ZERO) {
				/* and nothing in it, as if it were sound */
				synth_field(&km, L, KEYS, PY_F_DK_NENTRIES, 0);
				synth_field(&km, L, KEYS, PY_F_DK_USABLE, 0);
			}
			synth_field(&km, L, KEYS, PY_F_DK_SIZE,
				    h == H_SIZE_ZERO ? 0 :
				    h == H_SIZE_NOT_POW2 ? 12 :
				    h == H_SIZE_HUGE ? 1ull << 35 : 1ull << 63);
			break;
		case H_LOG2_HUGE:
		case H_INDEX_BYTES_LOW:
		case H_INDEX_BYTES_HIGH:
		case H_KIND_3:
		case H_KIND_FF:
			if (minor <= 10) {
				applies = false;
				break;
			}
			if (h == H_LOG2_HUGE) {
				synth_field(&km, L, KEYS, PY_F_DK_LOG2_SIZE, 35);
				synth_field(&km, L, KEYS,
					    PY_F_DK_LOG2_INDEX_BYTES, 38);
			} else if (h == H_INDEX_BYTES_LOW) {
				synth_field(&km, L, KEYS,
					    PY_F_DK_LOG2_INDEX_BYTES, 2);
			} else if (h == H_INDEX_BYTES_HIGH) {
				synth_field(&km, L, KEYS,
					    PY_F_DK_LOG2_INDEX_BYTES, 7);
			} else {
				synth_field(&km, L, KEYS, PY_F_DK_KIND,
					    h == H_KIND_3 ? 3 : 0xff);
			}
			break;
		case H_NENTRIES_GT_SIZE:
			synth_field(&km, L, KEYS, PY_F_DK_NENTRIES, 9);
			break;
		case H_USABLE_GT_SIZE:
			synth_field(&km, L, KEYS, PY_F_DK_USABLE, 9);
			break;
		case H_NENTRIES_HUGE:
			synth_field(&km, L, KEYS, PY_F_DK_NENTRIES,
				    (uint64_t)-1);
			break;
		}
		if (applies) {
			char what[32];

			snprintf(what, sizeof(what), "3.%d damage %d", minor, h);
			synth_commit(&km, e.t, SYNTH_RW, NULL);
			synth_init(&dm, DICT, DICT_BASICSIZE);
			put_dict(&dm, L, DICT, KEYS, 0, 4);
			synth_commit(&dm, e.t, SYNTH_RW, NULL);
			expect_refused(&e, true, what);
		} else {
			synth_free(&km);
		}
		dspec_free(&d);
		env_done(&e);
	}
}
END_TEST

START_TEST(dict_bad_pointers_are_refused)
{
	int minor = _i ? 11 : 9;
	int c;

	for (c = 0; c < 7; c++) {
		struct env e;
		struct dspec d;
		struct synth km, dm;
		uint64_t keys = KEYS, values = 0;
		size_t klen;
		const char *what = "?";

		env_init(&e, minor);
		dspec_init(&d, minor, c == 6 ? SPLIT : GENERAL, 3, 4);
		klen = keys_bytes(&d);
		switch (c) {
		case 0:
			what = "ma_keys NULL";
			keys = 0;
			break;
		case 1:
			/* A sound keys object, but at an address no
			 * allocator returns. */
			what = "ma_keys misaligned";
			keys = KEYS + 4;
			break;
		case 2:
			what = "ma_keys unmapped";
			keys = KEYS + (1ull << 30);
			break;
		case 3:
			/* The header and indices are there, the entries are
			 * not. */
			what = "entries unreadable";
			klen = (size_t)(entries_of(&d, KEYS) - KEYS);
			break;
		case 4:
			what = "dict object unmapped";
			break;
		case 5:
			what = "dict object cut short";
			break;
		case 6:
			what = "split values unmapped";
			values = VALUES;
			d.refcnt = 2;
			break;
		}
		synth_init(&km, c == 1 ? keys : KEYS, keys_bytes(&d));
		put_keys(&km, e.c.L, km.base, &d);
		km.len = klen;
		synth_commit(&km, e.t, SYNTH_RW, NULL);
		if (c != 4) {
			synth_init(&dm, DICT, DICT_BASICSIZE);
			put_dict(&dm, e.c.L, DICT, keys, values, 4);
			if (c == 5)
				dm.len = (size_t)e.c.L->off[PY_F_MA_VALUES];
			synth_commit(&dm, e.t, SYNTH_RW, NULL);
		}
		expect_refused(&e, false, what);
		if (c <= 2 || c == 4 || c == 5) {
			uint64_t size, buffers;

			ck_assert_msg(dict_sizeof(&e.c, DICT, DICT_BASICSIZE,
						  &size, &buffers) < 0,
				      "%s: dict_sizeof accepted it", what);
		}
		if (c == 6) {
			calls = 0;
			ck_assert(dict_values_foreach(&e.c, KEYS, VALUES,
						      count_call, NULL) < 0);
			ck_assert_uint_eq(calls, 0);
		}
		dspec_free(&d);
		env_done(&e);
	}
}
END_TEST

START_TEST(dict_huge_consistent_header_fails_fast)
{
	/* A header that passes every rule but claims 2^33 entries in 2^34
	 * slots: the entries are not there, and dict_foreach says so without
	 * allocating for or looping over all of them. */
	int minor = _i ? 11 : 9;
	struct env e;
	struct synth km, dm;
	const struct py_layout *L;

	env_init(&e, minor);
	L = e.c.L;
	synth_init(&km, KEYS, 4096);
	synth_field(&km, L, KEYS, PY_F_DK_REFCNT, 1);
	if (minor <= 10) {
		synth_field(&km, L, KEYS, PY_F_DK_SIZE, 1ull << 34);
	} else {
		synth_field(&km, L, KEYS, PY_F_DK_LOG2_SIZE, 34);
		synth_field(&km, L, KEYS, PY_F_DK_LOG2_INDEX_BYTES, 37);
		synth_field(&km, L, KEYS, PY_F_DK_KIND, GENERAL);
	}
	synth_field(&km, L, KEYS, PY_F_DK_USABLE, 1);
	synth_field(&km, L, KEYS, PY_F_DK_NENTRIES, 1ull << 33);
	synth_commit(&km, e.t, SYNTH_RW, NULL);
	synth_init(&dm, DICT, DICT_BASICSIZE);
	put_dict(&dm, L, DICT, KEYS, 0, 1);
	synth_commit(&dm, e.t, SYNTH_RW, NULL);
	calls = 0;
	ck_assert_int_eq(dict_foreach(&e.c, DICT, count_call, NULL), -PH_E_READ);
	ck_assert_uint_eq(calls, 0);
	env_done(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("census");
	TCase *tc = tcase_create("dict");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, dict_layout_is_cpythons);
	tcase_add_loop_test(tc, dict_combined_iteration_and_size, 0,
			    (int)PH_ARRAY_SIZE(combined));
	tcase_add_test(tc, dict_sizes_match_real_interpreters);
	tcase_add_loop_test(tc, dict_split_iteration_and_size, 0,
			    (int)PH_ARRAY_SIZE(split_minors));
	tcase_add_loop_test(tc, dict_get_str_finds_str_keys, 0, 2);
	tcase_add_loop_test(tc, dict_garbage_headers_are_refused, 0, 2);
	tcase_add_loop_test(tc, dict_bad_pointers_are_refused, 0, 2);
	tcase_add_loop_test(tc, dict_huge_consistent_header_fails_fast, 0, 2);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
