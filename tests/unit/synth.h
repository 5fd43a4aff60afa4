/* Building synthetic target memory for the walker suites: a local buffer
 * standing for [base, base + len) of a target, written field by field at
 * the offsets of a real layout (python/tables.c), then handed to a fake
 * target (target_fake_add copies it, so build first, add last). */
#ifndef PYHEAP_TEST_SYNTH_H
#define PYHEAP_TEST_SYNTH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "python/python.h"
#include "target/target.h"

#define SYNTH_RW (MAP_R | MAP_W | MAP_P)

struct synth {
	uint64_t base;
	size_t len;
	unsigned char *buf;
};

static inline void synth_init(struct synth *m, uint64_t base, size_t len)
{
	m->base = base;
	m->len = len;
	m->buf = calloc(1, len);
	ck_assert_ptr_nonnull(m->buf);
}

/* Local pointer for target address addr; n bytes must lie inside. */
static inline unsigned char *synth_at(struct synth *m, uint64_t addr,
				      size_t n)
{
	ck_assert_msg(addr >= m->base && addr - m->base <= m->len &&
		      n <= m->len - (addr - m->base),
		      "synth: %zu bytes at %#llx outside [%#llx, +%zu)", n,
		      (unsigned long long)addr, (unsigned long long)m->base,
		      m->len);
	return m->buf + (addr - m->base);
}

static inline void synth_put(struct synth *m, uint64_t addr, const void *p,
			     size_t n)
{
	memcpy(synth_at(m, addr, n), p, n);
}

static inline void synth_u64(struct synth *m, uint64_t addr, uint64_t v)
{
	synth_put(m, addr, &v, 8);
}

static inline uint64_t synth_get_u64(struct synth *m, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, synth_at(m, addr, 8), 8);
	return v;
}

/* Write v (little-endian, truncated to the member's width) into member f
 * of the struct at addr, as the layout says it lies. */
static inline void synth_field(struct synth *m, const struct py_layout *L,
			       uint64_t addr, enum py_field f, uint64_t v)
{
	unsigned w = L->width[f];

	ck_assert_msg(py_has(L, f), "layout 3.%d has no %s", L->minor,
		      py_field_info[f].id);
	ck_assert_msg(w == 1 || w == 2 || w == 4 || w == 8,
		      "%s has width %u", py_field_info[f].id, w);
	synth_put(m, addr + (uint64_t)L->off[f], &v, w);
}

static inline uint64_t synth_get_field(struct synth *m,
				       const struct py_layout *L,
				       uint64_t addr, enum py_field f)
{
	uint64_t v = 0;
	unsigned w = L->width[f];

	ck_assert(py_has(L, f) && w >= 1 && w <= 8);
	memcpy(&v, synth_at(m, addr + (uint64_t)L->off[f], w), w);
	return v;
}

/* Hand the region to the fake target and free the local copy. */
static inline void synth_commit(struct synth *m, struct target *t,
				unsigned perms, const char *path)
{
	target_fake_add(t, m->base, m->buf, m->len, perms, path);
	free(m->buf);
	m->buf = NULL;
}

static inline void synth_free(struct synth *m)
{
	free(m->buf);
	m->buf = NULL;
}

static inline void layout_for(struct py_layout *L, int minor)
{
	int rc = py_layout_from_table(L, 3, minor, -1);

	ck_assert_msg(rc == 0, "no layout table for 3.%d: %s", minor,
		      ph_errmsg());
}

/* splitmix64: a seeded, reproducible stream for garbage and fuzzing. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the bias is irrelevant for tests). */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

static inline void rng_fill(uint64_t *s, void *p, size_t n)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rng_next(s);

		memcpy(b + i, &v, 8);
	}
	for (; i < n; i++)
		b[i] = (unsigned char)rng_next(s);
}

static inline int cmp_u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
