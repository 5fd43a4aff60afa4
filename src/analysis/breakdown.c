/*
 * pyheap show's memory breakdown (analysis.h): the process's RSS split
 * into what pymalloc and malloc hold and whose it is, from the snapshot's
 * summary (its chunk cells), arenas and stats.  Everything is a sum over rows; nothing is
 * estimated except where the comment says so.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "base/hashmap.h"

static int cmp_owner(const void *a, const void *b)
{
	const struct owner_bytes *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->type, y->type);
}

void memory_breakdown(const struct snapshot *s, struct memory_breakdown *m)
{
	struct u64map by_type = U64MAP_INIT; /* type id -> owners index */
	uint64_t held = 0, walked = 0, pool_size;
	struct snap_summary tmp;
	const struct snap_summary *sum = snapshot_summary(s, &tmp);
	size_t i, alloc = 0;

	memset(m, 0, sizeof(*m));
	m->rss = s->meta.rss_bytes;
	/* An arena is 64 pools (MAX_POOLS_IN_ARENA, Objects/obmalloc.c). */
	pool_size = (uint64_t)snapshot_get_stat(s, "pymalloc.pool_size", 0);
	m->pymalloc_arenas = (uint64_t)snapshot_get_stat(s, "pymalloc.arenas",
							  0) * 64 * pool_size;
	m->pymalloc_used = (uint64_t)snapshot_get_stat(s, "pymalloc.used_bytes",
							0);
	/* A free-threaded build: every Python allocation (objects and
	 * PyMem buffers) is in mimalloc's pages, none in pymalloc. */
	if (snapshot_get_stat(s, "python.free_threaded", 0)) {
		static const char *const used[] = {
			"mimalloc.mem.used_bytes", "mimalloc.object.used_bytes",
			"mimalloc.gc.used_bytes", "mimalloc.gc_pre.used_bytes",
		};

		m->mimalloc = true;
		m->pymalloc_arenas = (uint64_t)snapshot_get_stat(s,
						"mimalloc.page_bytes", 0);
		m->pymalloc_used = 0;
		for (i = 0; i < PH_ARRAY_SIZE(used); i++)
			m->pymalloc_used += (uint64_t)snapshot_get_stat(s,
							used[i], 0);
	}
	m->native = s->meta.flags & SNAP_NATIVE;
	/* The summary's chunk cells: chunks of one state, owner kind,
	 * owner's type and placement (snapshot.h). */
	for (i = 0; i < sum->nchunk_cells; i++) {
		const struct snap_chunk_cell *c = &sum->chunk_cells[i];
		uint64_t v;

		if (!(c->flags & CCELL_MMAPPED))
			walked += c->bytes;
		switch (c->state) {
		case SCHUNK_FREE: case SCHUNK_FASTBIN: case SCHUNK_TCACHE:
			m->malloc_free += c->bytes;
			continue;
		case SCHUNK_TOP:
			m->top += c->bytes;
			continue;
		case SCHUNK_MMAPPED:
			held += c->bytes;
			break;
		default:
			break;
		}
		switch (c->owner_kind) {
		case OWNER_OBJECT: m->objects_in_malloc += c->bytes; break;
		case OWNER_BUFFER: m->buffers += c->bytes; break;
		case OWNER_UNOWNED: m->native_unowned += c->bytes; break;
		case OWNER_ALLOCATOR: m->allocator += c->bytes; break;
		case OWNER_NATIVE:
			m->native_owned += c->bytes;
			if (c->owner_type >= s->ntypes)
				break;
			if (!u64map_get(&by_type, c->owner_type, &v)) {
				PH_GROW(m->owners, alloc, m->nowners + 1);
				v = m->nowners++;
				m->owners[v].type = snapshot_str(s,
					s->types[c->owner_type].name);
				m->owners[v].bytes = m->owners[v].chunks = 0;
				u64map_put(&by_type, c->owner_type, v);
			}
			m->owners[v].bytes += c->bytes;
			m->owners[v].chunks += c->count;
			break;
		default:
			break;
		}
	}
	snap_summary_release(&tmp);
	for (i = 0; i < s->narenas; i++)
		held += s->arenas[i].system_mem;
	for (i = 0; i < s->narenas; i++)
		m->malloc_overhead += s->arenas[i].system_mem;
	m->malloc_overhead = m->malloc_overhead > walked ?
			     m->malloc_overhead - walked : 0;
	/* What RSS holds beyond the heaps: code and data of the binaries,
	 * stacks, other mappings.  Heaps count whole here although some of
	 * their pages may not be resident, so this can be negative. */
	m->unaccounted = (int64_t)m->rss - (int64_t)(m->pymalloc_arenas + held);
	if (m->nowners)
		qsort(m->owners, m->nowners, sizeof(*m->owners), cmp_owner);
	u64map_release(&by_type);
}

void memory_breakdown_release(struct memory_breakdown *m)
{
	free(m->owners);
	memset(m, 0, sizeof(*m));
}
