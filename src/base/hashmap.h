/*
 * Hash maps with open addressing and linear probing.
 *
 * struct u64map: uint64_t key -> uint64_t value, for any key: keys often
 * come from target memory.  (UINT64_MAX marks empty slots, so that one key
 * is kept beside the table.)
 * struct strmap: byte-string key -> uint32_t value.  The map stores
 * pointers to the keys, not copies: keys must outlive the map (snapshot
 * string tables do).
 *
 * u64map grows at 75% load, strmap at 50%, so lookups stay O(1); there is
 * no removal.
 * Ownership: *_release() frees the table, not the keys.
 */
#ifndef PYHEAP_HASHMAP_H
#define PYHEAP_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys and values side by side: a hit costs one cache miss, which is what
 * a census of millions of objects spends its time on. */
struct u64map_slot {
	uint64_t key, val;
};

struct u64map {
	struct u64map_slot *slots;
	size_t cap, n; /* cap is 0 or a power of two; n counts every key */
	bool has_max;  /* key UINT64_MAX is present, with value max_val */
	uint64_t max_val;
};
#define U64MAP_INIT { NULL, 0, 0, false, 0 }

/* Insert or replace. */
void u64map_put(struct u64map *m, uint64_t key, uint64_t val);
/* True and *val if present (val may be NULL). */
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
/* A hint that key will be looked up soon: starts loading its slot's cache
 * line, so that a loop over many keys overlaps their misses.  Any key;
 * reads nothing. */
static inline void u64map_prefetch(const struct u64map *m, uint64_t key);
void u64map_release(struct u64map *m);

struct strmap {
	const char **keys;
	uint32_t *lens, *vals;
	size_t cap, n;
};
#define STRMAP_INIT { NULL, NULL, NULL, 0, 0 }

void strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val);
bool strmap_get(const struct strmap *m, const char *key, size_t len,
		uint32_t *val);
void strmap_release(struct strmap *m);

/* A good 64-bit mix (splitmix64's finaliser) and FNV-1a for bytes. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}
uint64_t hash_bytes(const void *p, size_t len);

static inline void u64map_prefetch(const struct u64map *m, uint64_t key)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[hash_u64(key) & (m->cap - 1)]);
}

#endif
