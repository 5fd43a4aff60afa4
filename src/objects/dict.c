/*
 * Dicts in every layout (INTERNALS §5.2).
 *
 * <= 3.10  PyDictKeysObject {dk_refcnt, dk_size, dk_lookup, dk_usable,
 *          dk_nentries, dk_indices[]}: dk_size index slots of 1/2/4/8 bytes
 *          (by size), then dk_nentries PyDictKeyEntry {hash, key, value}.
 *          Split tables keep values in ma_values, a PyObject *[].
 * 3.11+    {dk_refcnt, dk_log2_size, dk_log2_index_bytes, dk_kind, ...,
 *          dk_usable, dk_nentries, dk_indices[]}: 1 << dk_log2_index_bytes
 *          bytes of indices, then entries of 24 bytes (DICT_KEYS_GENERAL)
 *          or 16 (PyDictUnicodeEntry {key, value}, UNICODE and SPLIT).
 *          Split values are a PyDictValues whose values[] (at offset 0 in
 *          3.11/3.12, 8 in 3.13 after capacity/size/embedded/valid) pair
 *          with the shared keys' entries.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A dict with more slots than this is not in a process. */
#define MAX_LOG2_SIZE 34
/* Entries are read in batches so memory stays bounded for huge dicts. */
#define BATCH 4096

struct dkeys {
	uint64_t addr;
	int64_t refcnt;
	uint64_t size;       /* index slots (a power of two) */
	uint64_t index_bytes;
	uint64_t nentries, usable;
	uint64_t kind;       /* 3.11+: 0 general, 1 unicode, 2 split */
	uint64_t entries;    /* address of entry 0 */
	uint32_t esize;      /* bytes per entry */
	int64_t key_off, value_off;
};

static int read_keys(struct census *c, uint64_t addr, struct dkeys *k)
{
	const struct py_layout *L = c->L;
	struct py_obj o;
	uint64_t v;

	memset(k, 0, sizeof(*k));
	k->addr = addr;
	if (!addr || (addr & 7) ||
	    py_read_struct(c->t, L, PY_S_DICTKEYS, addr, &o) ||
	    py_get_i64(L, &o, PY_F_DK_REFCNT, &k->refcnt) ||
	    py_get_u64(L, &o, PY_F_DK_NENTRIES, &k->nentries) ||
	    py_get_u64(L, &o, PY_F_DK_USABLE, &k->usable))
		return -PH_E_CORRUPT;
	if (py_has(L, PY_F_DK_SIZE)) {
		if (py_get_u64(L, &o, PY_F_DK_SIZE, &k->size) || !k->size ||
		    (k->size & (k->size - 1)) ||
		    k->size > (1ull << MAX_LOG2_SIZE))
			return -PH_E_CORRUPT;
		/* DK_IXSIZE (<= 3.10 Objects/dictobject.c) */
		k->index_bytes = k->size * (k->size <= 0xff ? 1 :
					   k->size <= 0xffff ? 2 :
					   k->size <= 0xffffffffu ? 4 : 8);
		k->esize = (uint32_t)L->size[PY_S_DICTKEYENTRY];
		k->key_off = L->off[PY_F_DKE_KEY];
		k->value_off = L->off[PY_F_DKE_VALUE];
	} else {
		uint64_t log2_index;

		if (py_get_u64(L, &o, PY_F_DK_LOG2_SIZE, &v) ||
		    v > MAX_LOG2_SIZE ||
		    py_get_u64(L, &o, PY_F_DK_LOG2_INDEX_BYTES, &log2_index) ||
		    log2_index < v || log2_index > v + 3 ||
		    py_get_u64(L, &o, PY_F_DK_KIND, &k->kind) || k->kind > 2)
			return -PH_E_CORRUPT;
		k->size = 1ull << v;
		k->index_bytes = 1ull << log2_index;
		if (k->kind == 0) {
			k->esize = (uint32_t)L->size[PY_S_DICTKEYENTRY];
			k->key_off = L->off[PY_F_DKE_KEY];
			k->value_off = L->off[PY_F_DKE_VALUE];
		} else {
			k->esize = (uint32_t)L->size[PY_S_DICTUNIENTRY];
			k->key_off = L->off[PY_F_DUE_KEY];
			k->value_off = L->off[PY_F_DUE_VALUE];
		}
	}
	if (k->nentries > k->size || k->usable > k->size || !k->esize ||
	    k->key_off < 0 || k->value_off < 0)
		return -PH_E_CORRUPT;
	k->entries = addr + (uint64_t)L->off[PY_F_DK_INDICES] + k->index_bytes;
	/* A consistent but huge header must still describe memory that is
	 * there: at least the entries in use. */
	if (k->nentries &&
	    !target_mapped(c->t, k->entries, (size_t)(k->nentries * k->esize)))
		return -PH_E_READ;
	return 0;
}

/* Call fn for entries [0, nentries); values from `values` (an array of
 * pointers) when non-zero, else from the entries themselves. */
static int foreach_entries(struct census *c, const struct dkeys *k,
			   uint64_t values, bool keys_only,
			   void (*fn)(void *ctx, uint64_t key, uint64_t value),
			   void *ctx)
{
	/* Sized for this table, not for a full batch: most dicts are
	 * small, and 96 KiB per dict is an mmap() per dict under ASan. */
	size_t batch = (size_t)PH_MIN(k->nentries, (uint64_t)BATCH);
	unsigned char *buf;
	uint64_t *vals;
	uint64_t i, n, j;
	int visited = 0;

	if (!batch)
		return 0;
	buf = xmalloc((size_t)k->esize * batch);
	vals = values ? xmalloc(8 * batch) : NULL;

	for (i = 0; i < k->nentries; i += n) {
		/* Each entry costs up to two references of the budget: stop
		 * reading when it is spent (census.c "Budget"). */
		if (!census_refs_left(c))
			break;
		n = PH_MIN(k->nentries - i, (uint64_t)batch);
		if (target_read(c->t, k->entries + i * k->esize, buf,
				(size_t)(n * k->esize)) ||
		    (vals && target_read(c->t, values + i * 8, vals,
					 (size_t)n * 8))) {
			visited = -PH_E_READ;
			break;
		}
		for (j = 0; j < n; j++) {
			uint64_t key, value;

			memcpy(&key, buf + j * k->esize + k->key_off, 8);
			if (vals)
				value = vals[j];
			else
				memcpy(&value, buf + j * k->esize + k->value_off,
				       8);
			/* A split table's shared keys have no values. */
			if (keys_only)
				value = key;
			/* Deleted entries: key NULL (3.11+) or a dummy key
			 * with a NULL value (<= 3.10). */
			if (!key || !value)
				continue;
			fn(ctx, key, value);
			visited++;
		}
	}
	free(buf);
	free(vals);
	return visited;
}

/* Address of values[0] in a PyDictValues (or the <= 3.10 PyObject **). */
static uint64_t values_array(struct census *c, uint64_t values)
{
	int64_t off = c->L->off[PY_F_DV_VALUES];

	return values + (uint64_t)(off > 0 ? off : 0);
}

/* foreach_entries() over the shared keys at `keys`. */
static int shared_keys_foreach(struct census *c, uint64_t keys,
			       uint64_t values, bool keys_only,
			       void (*fn)(void *ctx, uint64_t key,
					  uint64_t value),
			       void *ctx)
{
	struct dkeys k;
	int rc = read_keys(c, keys, &k);

	return rc ? rc : foreach_entries(c, &k, values, keys_only, fn, ctx);
}

int dict_values_foreach(struct census *c, uint64_t keys, uint64_t values,
			void (*fn)(void *ctx, uint64_t key, uint64_t value),
			void *ctx)
{
	return shared_keys_foreach(c, keys, values_array(c, values), false,
				   fn, ctx);
}

int dict_keys_foreach(struct census *c, uint64_t keys,
		      void (*fn)(void *ctx, uint64_t key, uint64_t value),
		      void *ctx)
{
	return shared_keys_foreach(c, keys, 0, true, fn, ctx);
}

/*
 * 2.7 (Include/dictobject.h): the dict holds its table itself, ma_mask + 1
 * PyDictEntry {me_hash, me_key, me_value} at ma_table, which is its own
 * ma_smalltable (8 entries) until it grows.  A slot in use has a key and
 * a value; a deleted one keeps the `dummy` key and no value.  Read as the
 * entries of a combined table of that many slots.
 */
static int read_dict27(struct census *c, uint64_t addr, struct dkeys *k)
{
	const struct py_layout *L = c->L;
	uint64_t mask, table;

	memset(k, 0, sizeof(*k));
	if (py_read_field(c->t, L, addr, PY_F_MA_MASK, &mask) ||
	    py_read_field(c->t, L, addr, PY_F_MA_TABLE, &table) || !table ||
	    (table & 7) || mask >= (1ull << MAX_LOG2_SIZE) ||
	    ((mask + 1) & mask))
		return -PH_E_CORRUPT;
	k->addr = table;
	k->refcnt = 1;
	k->size = mask + 1;
	k->nentries = mask + 1;
	k->entries = table;
	k->esize = (uint32_t)L->size[PY_S_DICTKEYENTRY];
	k->key_off = L->off[PY_F_DKE_KEY];
	k->value_off = L->off[PY_F_DKE_VALUE];
	return k->esize == 24 && k->key_off >= 0 && k->value_off >= 0 ? 0 :
	       -PH_E_CORRUPT;
}

/* A dict object's keys and values pointers, and its keys read. */
static int read_dict(struct census *c, uint64_t addr, uint64_t *values,
		     struct dkeys *k)
{
	uint64_t keys;

	if (c->p->major == 2) {
		*values = 0;
		return read_dict27(c, addr, k);
	}
	if (py_read_field(c->t, c->L, addr, PY_F_MA_KEYS, &keys) ||
	    py_read_field(c->t, c->L, addr, PY_F_MA_VALUES, values))
		return -PH_E_READ;
	return read_keys(c, keys, k);
}

int dict_foreach(struct census *c, uint64_t addr,
		 void (*fn)(void *ctx, uint64_t key, uint64_t value),
		 void *ctx)
{
	uint64_t values;
	struct dkeys k;
	int rc = read_dict(c, addr, &values, &k);

	if (rc)
		return rc;
	return foreach_entries(c, &k, values ? values_array(c, values) : 0,
			       false, fn, ctx);
}

int dict_keys_size(struct census *c, uint64_t keys, uint64_t *size)
{
	struct dkeys k;
	int rc = read_keys(c, keys, &k);

	if (rc)
		return rc;
	/* _PyDict_KeysSize: header, indices, USABLE_FRACTION(size)
	 * entries.  Only claimed if that memory is there: a size is not
	 * taken from a header alone. */
	*size = (uint64_t)c->L->size[PY_S_DICTKEYS] + k.index_bytes +
		((k.size << 1) / 3) * k.esize;
	if (!target_mapped(c->t, keys, (size_t)*size))
		return -PH_E_READ;
	return 0;
}

int dict_sizeof(struct census *c, uint64_t addr, int64_t basicsize,
		uint64_t *size, uint64_t *buffers)
{
	const struct py_layout *L = c->L;
	uint64_t values, ksize;
	struct dkeys k;
	int rc;

	*size = (uint64_t)basicsize;
	*buffers = 0;
	rc = read_dict(c, addr, &values, &k);
	if (rc)
		return rc;
	/* 2.7 dict_sizeof: the table when it is not the small table. */
	if (c->p->major == 2) {
		if (k.addr != addr + (uint64_t)L->off[PY_F_MA_SMALLTABLE])
			*buffers = k.size * k.esize;
		*size += *buffers;
		return 0;
	}
	/* _PyDict_SizeOf: split values (<= 3.10: USABLE_FRACTION(size)
	 * slots; 3.11+: shared_keys_usable_size = nentries + usable), and
	 * the keys if this dict is their only owner. */
	if (values)
		*buffers += 8 * (L->minor <= 10 ? (k.size << 1) / 3 :
				 k.nentries + k.usable);
	if (k.refcnt == 1 && !dict_keys_size(c, k.addr, &ksize))
		*buffers += ksize;
	*size += *buffers;
	return 0;
}

struct find_str {
	struct census *c;
	const char *want;
	size_t len;
	uint64_t found;
};

static void match_key(void *ctx, uint64_t key, uint64_t value)
{
	struct find_str *f = ctx;
	struct strbuf sb = STRBUF_INIT;

	if (f->found)
		return;
	if (!py_read_str(f->c->p, key, &sb, f->len + 1) && sb.len == f->len &&
	    !memcmp(sb.buf, f->want, f->len))
		f->found = value;
	strbuf_release(&sb);
}

uint64_t dict_get_str(struct census *c, uint64_t dict, const char *key)
{
	struct find_str f = { c, key, strlen(key), 0 };

	dict_foreach(c, dict, match_key, &f);
	return f.found;
}
