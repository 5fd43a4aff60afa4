/*
 * libFuzzer target for the walk of a free-threaded CPython's mimalloc
 * heaps (heap/mimalloc.c mimalloc_walk_at): thread heaps and their page
 * queues, pages and their free lists, the delayed-free lists, the
 * abandoned segments.  Each input patches the fake heaps of fakemi.h,
 * both versions (mimalloc 2.1 of 3.13t, 2.5 of 3.14t),
 * (records of region, offset, length, bytes); the walk must end, and
 * what it keeps must hold together: pages in address order without
 * overlap, each page's blocks in use on its grid and in order, each one
 * found again by mimalloc_block_of().  An empty input must give exactly
 * what fakemi_check() expects, so the fuzzer is known to start deep.
 *
 * Build with clang (tests/CMakeLists.txt, target fuzz_mimalloc), run:
 *   build-clang/tests/fuzz_mimalloc -max_total_time=60 -close_fd_mask=2 \
 *       CORPUS tests/fuzz/corpus/mimalloc
 * The same entry point is linked by gcc into fuzz_replay_mimalloc.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fakemi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same input patches 3.13t's mimalloc 2.1 heaps and 3.14t's 2.5
 * ones (fakemi.h): offsets differ, so it hits different fields of each. */
static struct fakemi proto[2];
static struct target *target[2];

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_mimalloc: %s\n", why);
	abort();
}

static void check(const struct mimalloc_heap *h)
{
	uint64_t end = 0, total = 0;
	size_t i, k, n = 0;

	for (i = 0; i < h->npages; i++) {
		const struct mi_page_rec *r = &h->pages[i];

		if (r->start < end || !r->block_size || r->tag >= MI_TAGS ||
		    r->nused > r->capacity || r->first_used != n)
			fail("a page out of order, overlapping or miscounted");
		end = r->start + (uint64_t)r->capacity * r->block_size;
		for (k = 0; k < r->nused; k++) {
			uint64_t b = h->used[r->first_used + k], s, sz;
			uint8_t tag;
			bool used;

			if (b < r->start || b >= end ||
			    (b - r->start) % r->block_size ||
			    (k && b <= h->used[r->first_used + k - 1]))
				fail("a block off its page's grid");
			if (!mimalloc_block_of(h, b + r->block_size - 1, &s,
					       &sz, &used, &tag) ||
			    s != b || !used || tag != r->tag)
				fail("mimalloc_block_of misses a block in use");
		}
		n += r->nused;
		total += r->capacity;
	}
	if (n != h->nused || h->nused > total)
		fail("blocks in use miscounted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mimalloc_heap h;
	struct mi_threads th;
	const char *why;
	int v;

	for (v = 0; v < 2; v++) {
		if (!target[v]) {
			if (fakemi_build_minor(&proto[v], 13 + v))
				fail("no built-in free-threaded layout");
			target[v] = fakemi_target(&proto[v]);
		}
		fakemi_threads(&th);
		fakemi_patch(&proto[v], target[v], data, size, false);
		if (mimalloc_walk_at(target[v], &proto[v].L, &th, &h))
			fail("the walk failed");
		check(&h);
		if (!size && fakemi_check(&h, &why))
			fail(why);
		mimalloc_release(&h);
		fakemi_patch(&proto[v], target[v], data, size, true);
	}
	return 0;
}
