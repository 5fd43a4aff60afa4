#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "hashmap.h"

#define EMPTY UINT64_MAX

static void u64map_grow(struct u64map *m)
{
	struct u64map n = U64MAP_INIT;
	size_t i;

	n.cap = m->cap ? m->cap * 2 : 64;
	if (n.cap > SIZE_MAX / 2 / sizeof(struct u64map_slot))
		ph_die("hash map too large");
	n.slots = xmalloc(n.cap * sizeof(*n.slots));
	/* Every key byte 0xff: EMPTY. */
	memset(n.slots, 0xff, n.cap * sizeof(*n.slots));
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != EMPTY)
			u64map_put(&n, m->slots[i].key, m->slots[i].val);
	n.n += m->has_max;
	n.has_max = m->has_max;
	n.max_val = m->max_val;
	u64map_release(m);
	*m = n;
}

void u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if (key == EMPTY) {
		m->n += !m->has_max;
		m->has_max = true;
		m->max_val = val;
		return;
	}
	/* 3/4 full at most: linear probing with a good hash still finds a
	 * key in about 2.5 slots (one cache line of four), and an index of a
	 * million objects takes 32 MiB instead of 64. */
	if ((m->n + 1) * 4 > m->cap * 3)
		u64map_grow(m);
	for (i = hash_u64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct u64map_slot *sl = &m->slots[i];

		if (sl->key == key) {
			sl->val = val;
			return;
		}
		if (sl->key == EMPTY) {
			sl->key = key;
			sl->val = val;
			m->n++;
			return;
		}
	}
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	size_t i;

	if (key == EMPTY) {
		if (m->has_max && val)
			*val = m->max_val;
		return m->has_max;
	}
	if (!m->cap)
		return false;
	for (i = hash_u64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct u64map_slot *sl = &m->slots[i];

		if (sl->key == key) {
			if (val)
				*val = sl->val;
			return true;
		}
		if (sl->key == EMPTY)
			return false;
	}
}

void u64map_release(struct u64map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void strmap_grow(struct strmap *m)
{
	struct strmap n = STRMAP_INIT;
	size_t i;

	n.cap = m->cap ? m->cap * 2 : 64;
	n.keys = xcalloc(n.cap, sizeof(*n.keys));
	n.lens = xcalloc(n.cap, sizeof(*n.lens));
	n.vals = xcalloc(n.cap, sizeof(*n.vals));
	for (i = 0; i < m->cap; i++)
		if (m->keys[i])
			strmap_put(&n, m->keys[i], m->lens[i], m->vals[i]);
	strmap_release(m);
	*m = n;
}

void strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val)
{
	size_t i;

	if (len > UINT32_MAX)
		ph_die("strmap: key too long");
	if ((m->n + 1) * 2 > m->cap)
		strmap_grow(m);
	for (i = hash_bytes(key, len) & (m->cap - 1);;
	     i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i]) {
			m->keys[i] = key;
			m->lens[i] = (uint32_t)len;
			m->vals[i] = val;
			m->n++;
			return;
		}
		if (m->lens[i] == len && !memcmp(m->keys[i], key, len)) {
			m->vals[i] = val;
			return;
		}
	}
}

bool strmap_get(const struct strmap *m, const char *key, size_t len,
		uint32_t *val)
{
	size_t i;

	if (!m->cap)
		return false;
	for (i = hash_bytes(key, len) & (m->cap - 1);;
	     i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return false;
		if (m->lens[i] == len && !memcmp(m->keys[i], key, len)) {
			if (val)
				*val = m->vals[i];
			return true;
		}
	}
}

void strmap_release(struct strmap *m)
{
	free(m->keys);
	free(m->lens);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
