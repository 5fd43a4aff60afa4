/*
 * glibc malloc: chunks that look in use (the next chunk's PREV_INUSE is
 * set) but are free, held by a list: fastbins (2.27-2.42) and tcaches
 * (facts: shared/INTERNALS.md §8.3, shared/INTERNALS-2026.md §10.3;
 * source: malloc/malloc.c of each version named).  Every list comes from
 * the target and is hostile: no walk goes past the number of chunks the
 * arena walk found, and the tcache candidates share one step budget.
 */
#include <string.h>

#include "base/hashmap.h"
#include "heap.h"

#define TCACHE_MAX_BINS 76
#define TCACHE_SMALL_BINS 64

/* Safe-linking (2.32+, PROTECT_PTR/REVEAL_PTR): a stored link is
 * (address of the link >> 12) ^ pointer; list heads are stored raw. */
static uint64_t reveal(const struct glibc_layout *g, uint64_t at, uint64_t v)
{
	return g->safe_link ? (at >> 12) ^ v : v;
}

/*
 * Fastbins of one arena (malloc.c to 2.42; 2.43 removed them):
 * fastbinsY[i] heads a list of chunks of size 32 + 16 i linked through fd.
 * A list longer than the chunks walked runs in a circle.
 */
void glibc_mark_fastbins(struct malloc_heap *m, struct target *t,
			 const struct glibc_layout *g, uint64_t arena,
			 struct u64map *mark)
{
	int i;

	if (g->ms_fastbins < 0)
		return;
	for (i = 0; i < g->ms_nfastbins; i++) {
		bool ok = true;
		uint64_t c = glibc_rd64(t, arena + (uint64_t)g->ms_fastbins +
					8 * (uint64_t)i, &ok);
		uint64_t n = 0;

		while (ok && c) {
			uint64_t sz = glibc_rd64(t, c + 8, &ok) &
				      ~(uint64_t)GLIBC_SIZE_BITS;

			if (!ok || (c & 15) || sz != 32 + 16 * (uint64_t)i ||
			    n++ > m->nchunks) {
				m->bad_lists++;
				break;
			}
			u64map_put(mark, c, CHUNK_FASTBIN);
			c = reveal(g, c + 16, glibc_rd64(t, c + 16, &ok));
		}
	}
}

/*
 * Chunk sizes tcache bin i holds.  Bins 0-63: exactly 32 + 16 i
 * (csize2tidx).  2.42+ large bins 64-75 (large_csize2tidx: 64 +
 * clz(MAX_TCACHE_SMALL_SIZE) - clz(size), MAX_TCACHE_SMALL_SIZE being
 * 1032 in 2.42 and 1040 in 2.43, both with clz 21): bin 64 + k holds the
 * sizes whose top bit is that of 1024 << k, bin 64 from 1056 on.
 */
static void bin_sizes(int i, uint64_t *lo, uint64_t *hi)
{
	int k = i - TCACHE_SMALL_BINS;

	if (i < TCACHE_SMALL_BINS) {
		*lo = *hi = 32 + 16 * (uint64_t)i;
		return;
	}
	*lo = k ? 1024ull << k : 1056;
	*hi = (2048ull << k) - 1;
}

struct tcache_scan {
	struct target *t;
	const struct glibc_layout *g;
	uint64_t count;    /* mp_.tcache_count; 0 unknown */
	uint64_t nchunks;  /* no tcache holds more chunks */
	uint64_t budget;   /* list steps left, for every candidate together */
	bool out_of_budget;
};

/*
 * Is the chunk at c a tcache_perthread_struct?  Its bins must agree with
 * their lists: bin i holds counts[i] entries (2.42+: tcache_count -
 * num_slots[i], tcache_init setting every num_slots to tcache_count and
 * tcache_put/tcache_get counting down and up), a bin holds entries iff its
 * head is set, each list is exactly that long, and each entry is the user
 * pointer of a chunk of the bin's size (large bins keep theirs in
 * ascending order: tcache_location_large).  Without mp_, tcache_count is
 * what the empty bins say, all alike.  An empty tcache (all bins alike,
 * no entries) counts on 2.42+, where it cannot be zeroed user data (it
 * would claim tcache_count entries a bin); before, only one with entries
 * (INTERNALS §8.3: all-zero 0x290 buffers).  commit marks the entries; it
 * repeats a check that passed and spends no budget.
 */
static bool check_tcache(struct tcache_scan *x, uint64_t c,
			 struct u64map *mark, bool commit)
{
	const struct glibc_layout *g = x->g;
	unsigned char buf[TCACHE_MAX_BINS * 2 + TCACHE_MAX_BINS * 8];
	size_t nb = (size_t)g->tcache_bins, cw = (size_t)g->tcache_count_width;
	size_t eoff = nb * cw, i;
	uint64_t full = x->count, total = 0;

	if (nb > TCACHE_MAX_BINS || cw < 1 || cw > 2 ||
	    target_read(x->t, c + GLIBC_CHUNK_HDR, buf, eoff + nb * 8))
		return false;
	if (g->tcache_slots && !full) {
		for (i = 0; i < nb; i++) {
			uint64_t s = 0, e;

			memcpy(&s, buf + i * cw, cw);
			memcpy(&e, buf + eoff + i * 8, 8);
			if (e)
				continue;
			if (full && s != full)
				return false;
			full = s;
		}
		if (!full)
			return false;
	}
	for (i = 0; i < nb; i++) {
		uint64_t raw = 0, e, count, lo, hi, prev = 0, k;
		bool ok = true;

		memcpy(&raw, buf + i * cw, cw);
		memcpy(&e, buf + eoff + i * 8, 8);
		if (g->tcache_slots) {
			if (raw > full)
				return false;
			count = full - raw;
		} else {
			count = raw;
			if (full && count > full)
				return false;
		}
		if ((!count) != (!e) || count > x->nchunks - total)
			return false;
		bin_sizes((int)i, &lo, &hi);
		for (k = 0; k < count; k++) {
			uint64_t sz;

			if (!commit) {
				if (!x->budget) {
					x->out_of_budget = true;
					return false;
				}
				x->budget--;
			}
			if (!e || (e & 15))
				return false;
			sz = glibc_rd64(x->t, e - 8, &ok) &
			     ~(uint64_t)GLIBC_SIZE_BITS;
			if (!ok || sz < lo || sz > hi || sz < prev)
				return false;
			prev = sz;
			if (commit)
				u64map_put(mark, e - GLIBC_CHUNK_HDR,
					   CHUNK_TCACHE);
			e = reveal(g, e, glibc_rd64(x->t, e, &ok));
			if (!ok)
				return false;
		}
		if (e)
			return false; /* longer than its count */
		total += count;
	}
	return total > 0 || g->tcache_slots;
}

/*
 * Each thread's tcache is an ordinary in-use chunk of the struct's size,
 * wherever malloc put it: the first chunk of [heap] for the main thread
 * to 2.42, after a chunk or two on 2.43 (tcache_init runs after the first
 * allocations there), the first chunk of a non-main arena for the first
 * thread on it.  So every such chunk is checked, none assumed.
 */
void glibc_find_tcaches(struct malloc_heap *m, struct target *t,
			const struct glibc_layout *g, struct u64map *mark)
{
	struct tcache_scan x = {
		t, g, m->mp_tcache_count, m->nchunks,
		8 * (uint64_t)m->nchunks + (1u << 20), false,
	};
	size_t i;

	for (i = 0; i < m->nchunks; i++) {
		const struct malloc_chunk_rec *c = &m->chunks[i];

		if (c->state != CHUNK_INUSE || c->size != g->tcache_chunk ||
		    !check_tcache(&x, c->addr, mark, false))
			continue;
		check_tcache(&x, c->addr, mark, true);
		m->tcaches++;
		PH_GROW(m->tcache_structs, m->tcache_structs_alloc,
			m->ntcache_structs + 1);
		m->tcache_structs[m->ntcache_structs++] = c->addr;
	}
	if (x.out_of_budget)
		m->bad_lists++;
}
