/*
 * glibc malloc: which libc, which version, which layouts, and where
 * main_arena and mp_ are (facts: shared/INTERNALS.md §8.1-8.2 for 2.36,
 * shared/INTERNALS-2026.md §10 for 2.37-2.43; source: glibc's
 * malloc/malloc.c and malloc/arena.c of each version named).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

uint64_t glibc_rd64(struct target *t, uint64_t a, bool *ok)
{
	uint64_t v;

	if (target_read_u64(t, a, &v)) {
		*ok = false;
		return 0;
	}
	return v;
}

/* Allocators that replace malloc (LD_PRELOAD or linked): their memory is
 * not glibc's and cannot be walked as such. */
enum malloc_kind glibc_other_allocator(const struct target *t,
				       const char **name)
{
	static const struct {
		const char *prefix;
		enum malloc_kind kind;
	} libs[] = {
		{ "libjemalloc", MALLOC_JEMALLOC },
		{ "libtcmalloc", MALLOC_TCMALLOC },
		{ "libmimalloc", MALLOC_MIMALLOC },
	};
	size_t i, k;

	for (i = 0; i < t->maps.n; i++) {
		const char *p = t->maps.v[i].path;

		if (!p || p[0] != '/')
			continue;
		for (k = 0; k < PH_ARRAY_SIZE(libs); k++) {
			if (!strncmp(ph_basename(p), libs[k].prefix,
				     strlen(libs[k].prefix))) {
				*name = libs[k].prefix + 3;
				return libs[k].kind;
			}
		}
	}
	return MALLOC_UNKNOWN;
}

const struct map *glibc_find_libc(const struct target *t)
{
	size_t i;

	for (i = 0; i < t->maps.n; i++) {
		const char *p = t->maps.v[i].path;

		if (p && p[0] == '/' && (!strcmp(ph_basename(p), "libc.so.6") ||
					 !strncmp(ph_basename(p), "libc-2.", 7)))
			return &t->maps.v[i];
	}
	return NULL;
}

const struct map *glibc_heap_map(const struct target *t)
{
	size_t i;

	for (i = 0; i < t->maps.n; i++)
		if (t->maps.v[i].path && !strcmp(t->maps.v[i].path, "[heap]"))
			return &t->maps.v[i];
	return NULL;
}

/* "... stable release version 2.36." in libc's banner (csu/version.c,
 * every version), read from the file: the layouts follow from it. */
int glibc_minor(const struct objfile *libc)
{
	static const char key[] = "release version 2.";
	const void *data;
	uint64_t size, i;

	if (objfile_section_data(libc, ".rodata", &data, &size) || !data)
		return -1;
	for (i = 0; i + sizeof(key) + 2 < size; i++) {
		const char *s = (const char *)data + i;

		if (!memcmp(s, key, sizeof(key) - 1) &&
		    isdigit((unsigned char)s[sizeof(key) - 1]) &&
		    (isdigit((unsigned char)s[sizeof(key)]) ||
		     s[sizeof(key)] == '.'))
			return (int)strtol(s + sizeof(key) - 1, NULL, 10);
	}
	return -1;
}

/* ---- layouts ----------------------------------------------------------- */

/*
 * x86_64 offsets, read off the struct definitions of each release's
 * malloc.c and arena.c (INTERNALS §8.2 and INTERNALS-2026 §10.2 checked
 * them with gdb on 2.36-9 and 2.43-7's debug files):
 *
 * struct malloc_state
 *   2.27-2.42  mutex 0, flags 4, have_fastchunks 8, fastbinsY[10] 16,
 *              top 96, last_remainder 104, bins[254] 112, binmap 2144,
 *              next 2160, next_free 2168, attached_threads 2176,
 *              system_mem 2184, max_system_mem 2192: 2200 bytes (the
 *              definition is the same text from 2.27 to 2.42)
 *   2.43       fastbins removed: mutex 0, flags 4, top 8,
 *              last_remainder 16, bins 24, binmap 2056, next 2072,
 *              next_free 2080, attached_threads 2088, system_mem 2096,
 *              max_system_mem 2104: 2112 bytes
 *   (2.26 has no have_fastchunks, so top is at 88: not walked)
 * heap_info (arena.c): ar_ptr, prev, size, mprotect_size, and from 2.35
 *   pagesize, padded so that sizeof + 16 is a multiple of 16: 32 bytes,
 *   48 from 2.35.  A non-main arena's malloc_state follows it.
 * struct malloc_par mp_
 *   2.27-2.34  mmap_threshold 16, n_mmaps 40, mmapped_mem 56,
 *              sbrk_base 72, tcache_bins 80, tcache_max_bytes 88,
 *              tcache_count 96
 *   2.35-2.42  thp_pagesize, hp_pagesize, hp_flags inserted at 40:
 *              n_mmaps 60, mmapped_mem 80, sbrk_base 96, tcache_bins 104
 *              (2.42 renames it tcache_small_bins), tcache_max_bytes 112,
 *              tcache_count 120
 *   2.43       enum thp_mode inserted at 40: n_mmaps 68, mmapped_mem 88,
 *              sbrk_base 104, tcache_small_bins 112, tcache_max_bytes 120,
 *              tcache_count 128
 * tcache_perthread_struct
 *   2.26-2.29  char counts[64]; entries[64]: 576 bytes, chunk 0x250
 *   2.30-2.41  uint16_t counts[64]; entries[64]: 640 bytes, chunk 0x290
 *   2.42-2.43  uint16_t num_slots[76]; entries[76]: 760 bytes, chunk 0x300
 * mmapped chunks (sysmalloc_mmap): prev_size is the offset into the
 *   mapping, chunksize the rest of it; from 2.43 (mmap_set_chunk)
 *   chunksize leaves the mapping's last 16 bytes out and prev_size's bit 0
 *   says huge pages.
 * Safe-linking (PROTECT_PTR) of tcache and fastbin links from 2.32.
 */
int glibc_layout_init(struct glibc_layout *g, int minor, struct objfile *libc)
{
	static const struct {
		const char *member;
		size_t at;
	} ms[] = {
		{ "top", offsetof(struct glibc_layout, ms_top) },
		{ "next", offsetof(struct glibc_layout, ms_next) },
		{ "system_mem", offsetof(struct glibc_layout, ms_system_mem) },
	}, mp[] = {
		{ "mmap_threshold", offsetof(struct glibc_layout,
					     mp_mmap_threshold) },
		{ "n_mmaps", offsetof(struct glibc_layout, mp_n_mmaps) },
		{ "mmapped_mem", offsetof(struct glibc_layout,
					  mp_mmapped_mem) },
		{ "sbrk_base", offsetof(struct glibc_layout, mp_sbrk_base) },
		{ "tcache_max_bytes", offsetof(struct glibc_layout,
					       mp_tcache_max_bytes) },
		{ "tcache_count", offsetof(struct glibc_layout,
					   mp_tcache_count) },
	};
	int64_t v, size;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	if (minor < GLIBC_MIN_MINOR || minor > GLIBC_MAX_MINOR)
		return -1;
	g->minor = minor;
	g->source = "version table";
	if (minor <= 42) {
		g->ms_fastbins = 16;
		g->ms_nfastbins = 10;
		g->ms_top = 96;
		g->ms_next = 2160;
		g->ms_system_mem = 2184;
		g->ms_size = 2200;
	} else {
		g->ms_fastbins = -1;
		g->ms_top = 8;
		g->ms_next = 2072;
		g->ms_system_mem = 2096;
		g->ms_size = 2112;
	}
	g->heap_info_size = minor >= 35 ? 48 : 32;
	g->mp_mmap_threshold = 16;
	if (minor <= 34) {
		g->mp_n_mmaps = 40;
		g->mp_mmapped_mem = 56;
		g->mp_sbrk_base = 72;
		g->mp_tcache_bins = 80;
	} else if (minor <= 42) {
		g->mp_n_mmaps = 60;
		g->mp_mmapped_mem = 80;
		g->mp_sbrk_base = 96;
		g->mp_tcache_bins = 104;
	} else {
		g->mp_n_mmaps = 68;
		g->mp_mmapped_mem = 88;
		g->mp_sbrk_base = 104;
		g->mp_tcache_bins = 112;
	}
	g->mp_tcache_max_bytes = g->mp_tcache_bins + 8;
	g->mp_tcache_count = g->mp_tcache_bins + 16;
	g->tcache_bins = minor >= 42 ? 76 : 64;
	g->tcache_count_width = minor >= 30 ? 2 : 1;
	g->tcache_chunk = minor >= 42 ? 0x300 : minor >= 30 ? 0x290 : 0x250;
	g->tcache_slots = minor >= 42;
	g->mmap_tail = minor >= 43 ? 16 : 0;
	g->safe_link = minor >= 32;

	/* libc's debug file describes this very build: its offsets win.
	 * malloc_state without fastbinsY is 2.43's. */
	if (!libc || !libc->has_dwarf ||
	    objfile_dwarf_sizeof(libc, "struct malloc_state", &size) ||
	    size < 1024 || size > 4096)
		return 0;
	if (size != g->ms_size)
		ph_debug(1, "glibc 2.%d: sizeof malloc_state: table %lld, "
			 "DWARF %lld", minor, (long long)g->ms_size,
			 (long long)size);
	g->ms_size = size;
	g->source = "DWARF";
	for (i = 0; i < PH_ARRAY_SIZE(ms); i++) {
		int64_t *f = (int64_t *)((char *)g + ms[i].at);

		if (!objfile_dwarf_offsetof(libc, "struct malloc_state",
					    ms[i].member, &v) &&
		    v >= 0 && v + 8 <= size) {
			if (v != *f)
				ph_debug(1, "glibc 2.%d: malloc_state.%s: "
					 "table %lld, DWARF %lld", minor,
					 ms[i].member, (long long)*f,
					 (long long)v);
			*f = v;
		}
	}
	rc = objfile_dwarf_offsetof(libc, "struct malloc_state", "fastbinsY",
				    &v);
	if (rc == -PH_E_NOTFOUND) {
		g->ms_fastbins = -1;
		g->ms_nfastbins = 0;
	} else if (!rc && v >= 0 && v + 80 <= size) {
		g->ms_fastbins = v;
		g->ms_nfastbins = 10;
	}
	if (!objfile_dwarf_sizeof(libc, "heap_info", &v) && v >= 32 &&
	    v <= 256)
		g->heap_info_size = v;
	for (i = 0; i < PH_ARRAY_SIZE(mp); i++) {
		int64_t *f = (int64_t *)((char *)g + mp[i].at);

		if (!objfile_dwarf_offsetof(libc, "struct malloc_par",
					    mp[i].member, &v) &&
		    v >= 0 && v <= 512) {
			if (v != *f)
				ph_debug(1, "glibc 2.%d: malloc_par.%s: table "
					 "%lld, DWARF %lld", minor,
					 mp[i].member, (long long)*f,
					 (long long)v);
			*f = v;
		}
	}
	/* 2.42 renamed tcache_bins tcache_small_bins */
	if ((!objfile_dwarf_offsetof(libc, "struct malloc_par",
				     "tcache_small_bins", &v) ||
	     !objfile_dwarf_offsetof(libc, "struct malloc_par", "tcache_bins",
				     &v)) && v >= 0 && v <= 512)
		g->mp_tcache_bins = v;
	return 0;
}

/* ---- main_arena ------------------------------------------------------- */

/*
 * What a real main_arena shows under the right layout (malloc.c, arena.c):
 * its top chunk is the last chunk of [heap] (sbrk memory: top runs to the
 * break), and its `next` list comes back to it, every other arena on the
 * way sitting right after the heap_info at the start of its 64 MiB-aligned
 * heap, whose ar_ptr points back at it (_int_new_arena).  A wrong layout
 * reads a bin pointer or a neighbour's field for `top` or `next` and fails.
 */
const char *glibc_check_arena(struct target *t, const struct glibc_layout *g,
			      uint64_t ma)
{
	const struct map *heap = glibc_heap_map(t);
	bool ok = true;
	uint64_t top = glibc_rd64(t, ma + (uint64_t)g->ms_top, &ok), p;
	int n;

	if (!ok)
		return "it cannot be read";
	if (heap) {
		uint64_t size;

		if (top < heap->start || top >= heap->end || (top & 15))
			return "its top chunk is not in [heap]";
		size = glibc_rd64(t, top + 8, &ok) & ~(uint64_t)GLIBC_SIZE_BITS;
		if (!ok || size != heap->end - top)
			return "its top chunk does not end [heap]";
	}
	for (p = ma, n = 0; n < GLIBC_MAX_ARENAS; n++) {
		uint64_t base;

		p = glibc_rd64(t, p + (uint64_t)g->ms_next, &ok);
		if (!ok || !p || (p & 7))
			return "its arena list is broken";
		if (p == ma)
			return NULL;
		base = p & ~(GLIBC_HEAP_MAX - 1);
		if (p - base != (uint64_t)g->heap_info_size ||
		    glibc_rd64(t, base, &ok) != p || !ok)
			return "an arena on its list has no heap_info "
			       "pointing back at it";
	}
	return "its arena list does not close";
}

/* libc's writable mappings and the anonymous one right after them, where
 * its .bss continues. */
static bool libc_data(const struct target *t, size_t i,
		      const struct map *libc)
{
	const struct map *m = &t->maps.v[i];

	if (!(m->perms & MAP_W))
		return false;
	if (m->path)
		return m->inode == libc->inode &&
		       m->dev_major == libc->dev_major &&
		       m->dev_minor == libc->dev_minor;
	return i > 0 && t->maps.v[i - 1].path &&
	       t->maps.v[i - 1].inode == libc->inode &&
	       t->maps.v[i - 1].end == m->start;
}

/*
 * Without debug symbols (INTERNALS §8.1): main_arena.top is the chunk that
 * ends [heap].  Every word of libc's data that points at that chunk is a
 * candidate `top`, so main_arena is g->ms_top bytes before it (96; 8 on
 * 2.43); glibc_check_arena() decides.  Two that pass: trust neither.
 */
uint64_t glibc_find_main_arena(struct target *t, const struct map *libc,
			       const struct glibc_layout *g)
{
	const struct map *heap = glibc_heap_map(t);
	uint64_t found = 0;
	size_t i;

	if (!heap)
		return 0;
	for (i = 0; i < t->maps.n; i++) {
		const struct map *m = &t->maps.v[i];
		uint64_t a;

		if (!libc_data(t, i, libc))
			continue;
		for (a = m->start; a + 8 <= m->end; a += 8) {
			bool ok = true;
			uint64_t top = glibc_rd64(t, a, &ok), size;

			if (!ok || top < heap->start || top >= heap->end ||
			    (top & 15) || a < m->start + (uint64_t)g->ms_top)
				continue;
			size = glibc_rd64(t, top + 8, &ok) &
			       ~(uint64_t)GLIBC_SIZE_BITS;
			if (!ok || size != heap->end - top)
				continue;
			if (!glibc_check_arena(t, g, a - (uint64_t)g->ms_top)) {
				if (found && found != a - (uint64_t)g->ms_top)
					return 0;
				found = a - (uint64_t)g->ms_top;
			}
		}
	}
	return found;
}

/* ---- mp_ ---------------------------------------------------------------- */

/* Fields of a malloc_par within what malloc.c lets them be: mmap_threshold
 * at most HEAP_MAX_SIZE / 2 (mallopt refuses more), n_mmaps and
 * mmapped_mem zero together and page-sized, tcache bins at most 64 small
 * ones, tcache_count at most MAX_TCACHE_COUNT (UINT16_MAX), tcache_max_bytes
 * at most 4 MiB and a bit (2.42's large bins). */
static bool mp_plausible(struct target *t, const struct glibc_layout *g,
			 uint64_t mp)
{
	bool ok = true;
	uint64_t thr = glibc_rd64(t, mp + (uint64_t)g->mp_mmap_threshold, &ok);
	uint64_t n = glibc_rd64(t, mp + (uint64_t)g->mp_n_mmaps, &ok);
	uint64_t mem = glibc_rd64(t, mp + (uint64_t)g->mp_mmapped_mem, &ok);
	uint64_t bins = glibc_rd64(t, mp + (uint64_t)g->mp_tcache_bins, &ok);
	uint64_t maxb = glibc_rd64(t, mp + (uint64_t)g->mp_tcache_max_bytes,
				   &ok);
	uint64_t cnt = glibc_rd64(t, mp + (uint64_t)g->mp_tcache_count, &ok);
	int32_t nm = (int32_t)(uint32_t)n;

	return ok && thr <= GLIBC_HEAP_MAX / 2 && nm >= 0 &&
	       (nm == 0) == (mem == 0) && !(mem & 4095) && bins <= 64 &&
	       maxb <= (4u << 20) + 64 && cnt <= 65535;
}

/* Without symbols: the word of libc's data equal to the start of [heap]
 * is mp_.sbrk_base (sysmalloc sets it to the first break it gets, where
 * the kernel starts [heap]); of the candidates, the one plausible
 * malloc_par. */
uint64_t glibc_find_mp(struct target *t, const struct map *libc,
		       const struct glibc_layout *g)
{
	const struct map *heap = glibc_heap_map(t);
	uint64_t found = 0;
	size_t i;

	if (!heap)
		return 0;
	for (i = 0; i < t->maps.n; i++) {
		const struct map *m = &t->maps.v[i];
		uint64_t a;

		if (!libc_data(t, i, libc))
			continue;
		for (a = m->start + (uint64_t)g->mp_sbrk_base; a + 8 <= m->end;
		     a += 8) {
			bool ok = true;
			uint64_t mp = a - (uint64_t)g->mp_sbrk_base;

			if (glibc_rd64(t, a, &ok) != heap->start || !ok ||
			    !mp_plausible(t, g, mp))
				continue;
			if (found && found != mp)
				return 0;
			found = mp;
		}
	}
	return found;
}

/* mp_ by symbol is checked the same way: a wrong offset reads another
 * field for sbrk_base or the counts. */
bool glibc_mp_ok(struct target *t, const struct glibc_layout *g, uint64_t mp)
{
	const struct map *heap = glibc_heap_map(t);
	bool ok = true;

	if (heap && (glibc_rd64(t, mp + (uint64_t)g->mp_sbrk_base, &ok) !=
		     heap->start || !ok))
		return false;
	return mp_plausible(t, g, mp);
}
