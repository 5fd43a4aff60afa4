/*
 * The fake free-threaded heaps of fakemi.h.
 */
#include <stdlib.h>
#include <string.h>

#include "fakemi.h"

/* Page A..E: region, segment, slice index, block size, blocks carved,
 * used count, tag, queue (bin) in its thread heap. */
static const struct {
	int region;
	uint64_t seg;
	unsigned idx, bsize, capacity, used, tag, bin;
} pages[] = {
	{ FM_R_A, FM_SEG1, 1, 64, 10, 7, 2, 3 },
	{ FM_R_B, FM_SEG1, 2, 80, 4, 4, 3, 74 },
	{ FM_R_C, FM_SEG1, 3, 1024, 3, 3, 1, 10 },
	{ FM_R_D, FM_SEG1, 4, 16, 5, 2, 0, 1 },
	{ FM_R_E, FM_SEG2, 1, 32, 4, 2, 2, 0 },
};

static void put(struct fakemi *f, int r, uint64_t addr, uint64_t v,
		unsigned width)
{
	uint64_t off = addr - f->addr[r];

	if (off + width > f->len[r])
		abort(); /* a broken skeleton */
	memcpy(f->buf[r] + off, &v, width);
}

static void put_field(struct fakemi *f, int r, uint64_t base,
		      enum py_field fd, uint64_t v)
{
	put(f, r, base + (uint64_t)f->L.off[fd], v, f->L.width[fd]);
}

/* The mi_page_t of page p, inside its segment's slices[]. */
static uint64_t page_addr(const struct fakemi *f, int p)
{
	return pages[p].seg + (uint64_t)f->L.off[PY_F_MIS_SLICES] +
	       pages[p].idx * (uint64_t)f->L.size[PY_S_MIPAGE];
}

/* 2.1.2 segment.c: three blocks skipped for blocks of 8-64 bytes, one up
 * to 512. */
uint64_t fakemi_block(int p, unsigned i)
{
	unsigned b = pages[p].bsize;
	uint64_t skip = b <= 64 ? 3 * b : b <= 512 ? b : 0;

	return pages[p].seg + pages[p].idx * FM_SLICE + skip + (uint64_t)i * b;
}

static void link_list(struct fakemi *f, int p, const unsigned *ix, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		put(f, pages[p].region, fakemi_block(p, ix[k]),
		    k + 1 < n ? fakemi_block(p, ix[k + 1]) : 0, 8);
}

int fakemi_build(struct fakemi *f)
{
	return fakemi_build_minor(f, 13);
}

int fakemi_build_minor(struct fakemi *f, int minor)
{
	static const unsigned a_free[] = { 2, 5 }, a_local[] = { 7 },
			      a_thread[] = { 9 }, a_delayed[] = { 0 },
			      d_free[] = { 0, 1, 2 }, e_free[] = { 1, 3 };
	const struct py_layout *L = &f->L;
	uint64_t heaps;
	size_t p;
	int r, tag;

	bool v25 = minor >= 14;

	memset(f, 0, sizeof(*f));
	if (py_layout_from_table_ft(&f->L, 3, minor, minor == 13 ? 15 : 99,
				    true))
		return -1;
	f->addr[FM_R_TS] = FM_TS;
	f->len[FM_R_TS] = (size_t)L->size[PY_S_TSIMPL];
	f->addr[FM_R_INTERP] = FM_INTERP;
	f->len[FM_R_INTERP] = (size_t)L->off[v25 ? PY_F_IS_MI_SUBPROC :
					     PY_F_IS_MI_ABANDONED] + 64;
	f->addr[FM_R_SEG1] = FM_SEG1;
	f->addr[FM_R_SEG2] = FM_SEG2;
	f->len[FM_R_SEG1] = f->len[FM_R_SEG2] =
		(size_t)L->size[PY_S_MISEGMENT];
	for (p = 0; p < PH_ARRAY_SIZE(pages); p++) {
		f->addr[pages[p].region] = pages[p].seg +
					   pages[p].idx * FM_SLICE;
		f->len[pages[p].region] = FM_SLICE;
	}
	for (r = 0; r < FM_NREGIONS; r++)
		f->buf[r] = xcalloc(f->len[r], 1);

	/* The thread's heaps: tag, thread, queues. */
	heaps = FM_TS + (uint64_t)L->off[PY_F_TSI_MI_HEAPS];
	for (tag = 0; tag < MI_TAGS; tag++) {
		uint64_t h = heaps + (uint64_t)tag * (uint64_t)L->size[PY_S_MIHEAP];

		put_field(f, FM_R_TS, h, PY_F_MIH_TAG, (uint64_t)tag);
		put_field(f, FM_R_TS, h, PY_F_MIH_THREAD_ID, FM_THREAD_ID);
	}
	for (p = 0; p < 4; p++)
		put(f, FM_R_TS, heaps + pages[p].tag *
		    (uint64_t)L->size[PY_S_MIHEAP] +
		    (uint64_t)L->off[PY_F_MIH_PAGES] +
		    pages[p].bin * (uint64_t)L->size[PY_S_MIPQ],
		    page_addr(f, (int)p), 8);
	put_field(f, FM_R_TS, heaps + 2 * (uint64_t)L->size[PY_S_MIHEAP],
		  PY_F_MIH_DELAYED, fakemi_block(0, 0));

	/* The pages' headers. */
	for (p = 0; p < PH_ARRAY_SIZE(pages); p++) {
		int sr = pages[p].seg == FM_SEG1 ? FM_R_SEG1 : FM_R_SEG2;
		uint64_t pg = page_addr(f, (int)p);

		put_field(f, sr, pg, PY_F_MIP_SLICE_COUNT, 1);
		put_field(f, sr, pg, PY_F_MIP_CAPACITY, pages[p].capacity);
		put_field(f, sr, pg, PY_F_MIP_USED, pages[p].used);
		if (v25) {
			/* 2.5: the page says where its blocks are. */
			put_field(f, sr, pg, PY_F_MIP_BLOCK_SIZE,
				  pages[p].bsize);
			put_field(f, sr, pg, PY_F_MIP_PAGE_START,
				  fakemi_block((int)p, 0));
			put_field(f, sr, pg, PY_F_MIP_HEAP_TAG, pages[p].tag);
		} else {
			put_field(f, sr, pg, PY_F_MIP_XBLOCK_SIZE,
				  pages[p].bsize);
			put(f, sr, pg + (uint64_t)L->off[PY_F_MIP_DEBUG_OFFSET] -
			    1, pages[p].tag << 3, 1);
		}
	}
	link_list(f, 0, a_free, 2);
	put_field(f, FM_R_SEG1, page_addr(f, 0), PY_F_MIP_FREE,
		  fakemi_block(0, 2));
	link_list(f, 0, a_local, 1);
	put_field(f, FM_R_SEG1, page_addr(f, 0), PY_F_MIP_LOCAL_FREE,
		  fakemi_block(0, 7));
	link_list(f, 0, a_thread, 1);
	put_field(f, FM_R_SEG1, page_addr(f, 0), PY_F_MIP_XTHREAD_FREE,
		  fakemi_block(0, 9) | 1);
	link_list(f, 0, a_delayed, 1);
	link_list(f, 3, d_free, 3);
	put_field(f, FM_R_SEG1, page_addr(f, 3), PY_F_MIP_FREE,
		  fakemi_block(3, 0));
	link_list(f, 4, e_free, 2);
	put_field(f, FM_R_SEG2, page_addr(f, 4), PY_F_MIP_FREE,
		  fakemi_block(4, 1));

	/* The segments: slice 0 holds the segment's own info. */
	put_field(f, FM_R_SEG1, FM_SEG1, PY_F_MIS_NSLICES, 512);
	put_field(f, FM_R_SEG2, FM_SEG2, PY_F_MIS_NSLICES, 512);
	put_field(f, FM_R_SEG2, FM_SEG2 + (uint64_t)L->off[PY_F_MIS_SLICES],
		  PY_F_MIP_SLICE_COUNT, 1);
	if (!v25) {
		/* The interpreter's abandoned pool: segment 2, tagged. */
		put_field(f, FM_R_INTERP, FM_INTERP, PY_F_IS_MI_ABANDONED,
			  FM_SEG2 | 5);
		return 0;
	}
	/* 2.5: both segments of the interpreter's sub-process, 32 MiB
	 * each; segment 1 owned by the thread, segment 2 abandoned with its
	 * one page in use. */
	put_field(f, FM_R_INTERP, FM_INTERP, PY_F_IS_MI_SUBPROC, FM_SUBPROC);
	put_field(f, FM_R_SEG1, FM_SEG1, PY_F_MIS_SUBPROC, FM_SUBPROC);
	put_field(f, FM_R_SEG2, FM_SEG2, PY_F_MIS_SUBPROC, FM_SUBPROC);
	put_field(f, FM_R_SEG1, FM_SEG1, PY_F_MIS_SEGMENT_SIZE, 1u << 25);
	put_field(f, FM_R_SEG2, FM_SEG2, PY_F_MIS_SEGMENT_SIZE, 1u << 25);
	put_field(f, FM_R_SEG1, FM_SEG1, PY_F_MIS_THREAD_ID, FM_THREAD_ID);
	put_field(f, FM_R_SEG1, FM_SEG1, PY_F_MIS_USED, 4);
	put_field(f, FM_R_SEG2, FM_SEG2, PY_F_MIS_USED, 1);
	put_field(f, FM_R_SEG2, FM_SEG2, PY_F_MIS_ABANDONED, 1);
	return 0;
}

void fakemi_release(struct fakemi *f)
{
	int r;

	for (r = 0; r < FM_NREGIONS; r++)
		free(f->buf[r]);
	memset(f, 0, sizeof(*f));
}

struct target *fakemi_target(const struct fakemi *f)
{
	struct target *t = target_fake_new();
	int r;

	for (r = 0; r < FM_NREGIONS; r++)
		target_fake_add(t, f->addr[r], f->buf[r], f->len[r],
				MAP_R | MAP_W, NULL);
	return t;
}

void fakemi_threads(struct mi_threads *th)
{
	static const uint64_t ts[] = { FM_TS }, ids[] = { FM_THREAD_ID },
			      interps[] = { FM_INTERP };

	th->tstates = ts;
	th->thread_ids = ids;
	th->n = 1;
	th->interps = interps;
	th->ninterps = 1;
}

void fakemi_patch(const struct fakemi *f, struct target *t,
		  const uint8_t *data, size_t size, bool undo)
{
	size_t i = 0;

	while (i + 4 <= size) {
		unsigned r = data[i] % FM_NREGIONS;
		size_t off = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
		size_t len = data[i + 3], n;
		uint8_t *dst;

		i += 4;
		len = PH_MIN(len, size - i);
		/* Offsets reach the whole of the small regions; in the
		 * segments and pages, the first 64 KiB. */
		if (off < f->len[r]) {
			n = PH_MIN(len, f->len[r] - off);
			dst = target_fake_bytes(t, f->addr[r] + off, n);
			if (dst)
				memcpy(dst, undo ? f->buf[r] + off : data + i,
				       n);
		}
		i += len;
	}
}

int fakemi_check(const struct mimalloc_heap *h, const char **why)
{
	static const struct { int page; unsigned i; } used[] = {
		{ 0, 1 }, { 0, 3 }, { 0, 4 }, { 0, 6 }, { 0, 8 },
		{ 1, 0 }, { 1, 1 }, { 1, 2 }, { 1, 3 },
		{ 2, 0 }, { 2, 1 }, { 2, 2 },
		{ 3, 3 }, { 3, 4 },
		{ 4, 0 }, { 4, 2 },
	};
	static const uint64_t by_tag[MI_TAGS] = { 2, 3, 7, 4 },
			      page_used[MI_TAGS] = { 2, 3, 9, 4 };
	size_t k;
	int tag;

	if (!h->walked) {
		*why = "not walked";
		return -1;
	}
	if (h->npages != 5 || h->nused != PH_ARRAY_SIZE(used)) {
		*why = "pages or blocks in use";
		return -1;
	}
	if (h->bad_pages || h->salvaged_pages || h->bad_heaps ||
	    h->heaps != MI_TAGS || h->abandoned_segments != 1 ||
	    h->thread_heaps != 1) {
		*why = "counters";
		return -1;
	}
	for (tag = 0; tag < MI_TAGS; tag++)
		if (h->used_blocks[tag] != by_tag[tag] ||
		    h->page_used[tag] != page_used[tag]) {
			*why = "blocks per tag";
			return -1;
		}
	/* used[] is in address order, which is the list's. */
	for (k = 0; k < PH_ARRAY_SIZE(used); k++)
		if (h->used[k] != fakemi_block(used[k].page, used[k].i)) {
			*why = "which blocks are in use";
			return -1;
		}
	return 0;
}
