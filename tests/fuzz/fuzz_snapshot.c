/*
 * libFuzzer target for the snapshot reader (snapshot_read_mem()).  Built
 * with clang as fuzz_snapshot (tests/CMakeLists.txt, tests/fuzz/README),
 * and by any compiler into fuzz_replay_snapshot, which ctest runs over
 * the committed inputs:
 *
 *   build-clang/tests/fuzz_snapshot -max_total_time=60 NEW \
 *       tests/fuzz/corpus/snapshot tests/fixtures/snap
 *
 * Each input is read twice: as it is (framing, header and CRC checks), and
 * with every CRC and END recomputed, so that mutations get past the
 * checksums into the payload decoders they otherwise shield.  Whatever
 * the reader accepts must pass snapshot_check() and survive a write and
 * read back, and the graph analyses (pyheap garbage, why, retained) must
 * run on it: they take any graph a file can hold (cycles, self-loops,
 * counts that do not add up, labels of any kind).  What reads as a report
 * also becomes pyheap report's pages (one snapshot, and it against
 * itself), whose only script must be pyheap's own and whose every byte
 * must be UTF-8: the type, module and file names are the target's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "analysis/analysis.h"
#include "base/base.h"
#include "output/output.h"
#include "snapshot/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Recompute what the format checksums, as far as the framing goes. */
static void fix_crcs(unsigned char *buf, size_t len)
{
	size_t pos = SNAP_HEADER_LEN;
	uint32_t n = 0;

	while (len >= SNAP_HEADER_LEN && len - pos >= SNAP_SECTION_HEADER_LEN) {
		unsigned char *h = buf + pos;
		uint64_t clen = le32(h + 8) | (uint64_t)le32(h + 12) << 32;
		uLong crc;

		if (clen > len - pos - SNAP_SECTION_HEADER_LEN)
			return;
		if (le32(h) == SNAP_TAG_END && clen >= SNAP_END_LEN) {
			put32(h + SNAP_SECTION_HEADER_LEN, n);
			put32(h + SNAP_SECTION_HEADER_LEN + 4,
			      (uint32_t)crc32(0, buf, SNAP_HEADER_LEN));
		}
		crc = crc32(0, h, 24);
		crc = crc32_z(crc, h + SNAP_SECTION_HEADER_LEN, clen);
		put32(h + 24, (uint32_t)crc);
		pos += SNAP_SECTION_HEADER_LEN + clen;
		n++;
	}
}

/* pyheap report's page: one <script> (its own), valid UTF-8 throughout. */
static void check_page(const struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)out->buf;
	const char *q = out->buf;
	int scripts = 0;

	while ((q = strstr(q, "<script")) != NULL) {
		scripts++;
		q++;
	}
	if (scripts != 1 || strlen(out->buf) != out->len)
		abort();
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
			   (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t i;

		if (!n || (*p < 0x20 && *p != '\n'))
			abort();
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				abort();
		p += n;
	}
}

/* The pages of pyheap report from what reads as a report: its trees
 * add up to its totals. */
static void render_pages(const struct snapshot *r)
{
	static const struct row_filter all = ROW_FILTER_INIT;
	struct report types, sites = { 0 };
	struct tree mods, frames;
	struct memory_breakdown m;
	struct html_report h;
	struct html_diff_report hd;
	struct diff d;
	struct strbuf out = STRBUF_INIT;
	bool have_sites;

	if (report_group(r, BY_TYPE, &types))
		return;
	have_sites = !report_group(r, BY_SITE, &sites);
	tree_init(&mods, "all");
	tree_init(&frames, "sites");
	if (tree_by_module_type(r, 1, &mods) ||
	    tree_by_module_type(r, 0, &mods) ||
	    mods.nodes[0].count[1] != types.totals.objects ||
	    mods.nodes[0].bytes[1] != types.totals.object_bytes)
		abort();
	tree_finish(&mods, 1);
	if (have_sites && !tree_by_site(r, 1, &frames))
		tree_finish(&frames, 1);
	memset(&h, 0, sizeof(h));
	h.file = "fuzz";
	h.s = r;
	h.types = &types;
	h.modules = &mods;
	h.top = 50;
	if (have_sites) {
		h.sites = &sites;
		h.frames = &frames;
	}
	memory_breakdown(r, &m);
	h.mem = &m;
	render_report_html(&out, &h);
	check_page(&out);
	strbuf_reset(&out);
	report_diff(&types, &types, &d);
	diff_filter(&d, &all);
	memset(&hd, 0, sizeof(hd));
	hd.file_a = hd.file_b = "fuzz";
	hd.a = hd.b = r;
	hd.types = &d;
	hd.modules = &mods;
	hd.top = 50;
	render_report_diff_html(&out, &hd);
	check_page(&out);
	diff_release(&d);
	memory_breakdown_release(&m);
	tree_release(&mods);
	tree_release(&frames);
	report_release(&types);
	report_release(&sites);
	strbuf_release(&out);
}

/*
 * The report level (SNAP_READ_REPORT), read from a file as show and diff
 * read it: only the sections decoded are read, the rest stream through
 * their CRCs (snapshot/frame.c).  Whatever it accepts, every report
 * groups.  Returns whether it read, and the snapshot in *r.
 */
static bool read_report(const unsigned char *buf, size_t len,
			struct snapshot *r)
{
	static const enum group_by bys[] = { BY_TYPE, BY_MODULE, BY_SITE,
					     BY_NATIVE, BY_SITE_TYPE };
	char path[64];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t i;
	bool ok;

	if (fd < 0)
		abort();
	if (len && write(fd, buf, len) != (ssize_t)len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ok = !snapshot_read_level(path, SNAP_READ_REPORT, r, NULL);
	close(fd);
	if (!ok)
		return false;
	for (i = 0; i < PH_ARRAY_SIZE(bys); i++) {
		struct report rep;
		struct memory_breakdown m;

		if (!report_group_depth(r, bys[i], 3, &rep) &&
		    rep.totals.objects + rep.totals.native_chunks !=
		    rep.total_count)
			abort();
		report_release(&rep);
		memory_breakdown(r, &m);
		memory_breakdown_release(&m);
	}
	/* What garbage --since and leaks --since take from an earlier
	 * snapshot's groups (GRPS), paired as they pair them. */
	{
		struct garbage g, ga;
		struct leaks l, la;

		if (!garbage_from_groups(r, &g)) {
			if (garbage_from_groups(r, &ga))
				abort();
			garbage_compare(&g, &ga);
			garbage_release(&ga);
		}
		garbage_release(&g);
		if (!leaks_from_groups(r, &l)) {
			if (leaks_from_groups(r, &la))
				abort();
			leaks_compare(&l, &la);
			leaks_release(&la);
		}
		leaks_release(&l);
	}
	render_pages(r);
	return true;
}

static void read_one(const unsigned char *buf, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	struct snapshot s, t, rs;
	bool report = read_report(buf, len, &rs);

	if (snapshot_read_mem(buf, len, "fuzz", &s)) {
		if (report)
			snapshot_release(&rs);
		return;
	}
	/* What reads whole reads as a report, with the same summary and
	 * groups. */
	if (!report || rs.sum.ncells != s.sum.ncells ||
	    rs.groups.present != s.groups.present ||
	    rs.groups.ngarbage != s.groups.ngarbage ||
	    rs.groups.nlost != s.groups.nlost ||
	    rs.sum.nchunk_cells != s.sum.nchunk_cells ||
	    (s.sum.ncells && memcmp(rs.sum.cells, s.sum.cells,
				    s.sum.ncells * sizeof(*s.sum.cells))) ||
	    (s.sum.nchunk_cells &&
	     memcmp(rs.sum.chunk_cells, s.sum.chunk_cells,
		    s.sum.nchunk_cells * sizeof(*s.sum.chunk_cells))))
		abort();
	snapshot_release(&rs);
	if (snapshot_check(&s, "fuzz") ||
	    snapshot_encode(&s, &out, "fuzz", 0) ||
	    snapshot_read_mem(out.buf, out.len, "fuzz", &t))
		abort();
	if (t.nobjects != s.nobjects || t.nedges != s.nedges ||
	    t.nstrings != s.nstrings)
		abort();
	{
		struct garbage g;

		s.meta.flags |= SNAP_REFCOUNTS;
		s.meta.flags &= ~SNAP_INCONSISTENT;
		if (!garbage_analyse(&s, &g) &&
		    g.collectable.objects + g.uncollectable.objects >
		    s.nobjects)
			abort();
		garbage_release(&g);
	}
	{
		/* why and retained: every object selected, every row. */
		struct why_query q = { "*", NULL, false, 0, NULL };
		uint8_t *sel = xmalloc(s.nobjects + 1);
		uint64_t *ret = retained_sizes(&s), count, sum = 0;
		struct retained r;
		struct why w;
		size_t i;

		if (why_select(&s, &q, sel, &count) || count != s.nobjects)
			abort();
		if (!why_analyse(&s, sel, ret, 0, &w)) {
			for (i = 0; i < w.npaths; i++)
				sum += w.paths[i].objects;
			if (sum + w.unreached != w.objects)
				abort();
		}
		why_release(&w);
		if (!retained_analyse(&s, RET_TYPE, 0, &r)) {
			/* Counts, not bytes: a file's sizes may be anything
			 * up to 2^64 - 1, and their sums wrap. */
			for (i = 0; i < r.nrows; i++)
				if (r.rows[i].retained_count >
				    r.reachable_count)
					abort();
		}
		retained_release(&r);
		free(ret);
		free(sel);
	}
	snapshot_release(&t);
	snapshot_release(&s);
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;

	read_one(data, size);
	copy = xmalloc(size);
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	read_one(copy, size);
	free(copy);
	return 0;
}
