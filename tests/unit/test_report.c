/*
 * analysis/ (group, diff, filters, growth limits), the report units of
 * output/, and reading a snapshot at each level.  The rendered reports
 * themselves are checked end to end by tests/golden.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "check_util.h"
#include "output/output.h"
#include "report_fixtures.h"
#include "snapshot/snapshot.h"

/* Trees (analysis.h): module -> type, subtree totals, children largest
 * first, two sides. */
START_TEST(tree_by_module_and_type)
{
	struct snapshot a, b;
	struct tree t;
	const struct tree_node *root, *k0, *k1;
	uint64_t sum = 0;
	uint32_t i;

	build(&a, spec_a, PH_ARRAY_SIZE(spec_a));
	build(&b, spec_b, PH_ARRAY_SIZE(spec_b));
	tree_init(&t, "all");
	ck_assert_int_eq(tree_by_module_type(&a, 0, &t), 0);
	ck_assert_int_eq(tree_by_module_type(&b, 1, &t), 0);
	tree_finish(&t, 1);
	root = &t.nodes[0];
	ck_assert_str_eq(root->name, "all");
	ck_assert_uint_eq(root->count[0], 16);
	ck_assert_uint_eq(root->bytes[0], 3 * 232 + 500 + 128 + 16);
	ck_assert_uint_eq(t.depth, 2);
	/* The children add up to their parent, on both sides, and come
	 * largest first on side 1. */
	for (i = 0; i < root->nchildren; i++) {
		const struct tree_node *m = &t.nodes[t.kids[root->first_child +
							     i]];
		uint64_t msum = 0;
		uint32_t j;

		ck_assert_uint_eq(m->depth, 1);
		sum += m->bytes[0];
		for (j = 0; j < m->nchildren; j++)
			msum += t.nodes[t.kids[m->first_child + j]].bytes[0];
		ck_assert_uint_eq(msum, m->bytes[0]);
		if (i) {
			k0 = &t.nodes[t.kids[root->first_child + i - 1]];
			ck_assert_uint_ge(k0->bytes[1], m->bytes[1]);
		}
	}
	ck_assert_uint_eq(sum, root->bytes[0]);
	/* The unnamed type of no module gets its placeholders. */
	k1 = NULL;
	for (i = 1; i < t.nnodes; i++)
		if (!strcmp(t.nodes[i].name, "[unknown module]"))
			k1 = &t.nodes[i];
	ck_assert_ptr_nonnull(k1);
	ck_assert_str_eq(t.nodes[t.kids[k1->first_child]].name,
			 "[unnamed type]");
	tree_release(&t);
	snapshot_release(&a);
	snapshot_release(&b);
}
END_TEST

/* The HTML page with hostile names: nothing of them is markup, the file
 * stays valid UTF-8, and no request can leave it. */
START_TEST(html_escapes_target_text)
{
	static const struct spec hostile[] = {
		{ "<script>alert(\"x\")</script>", "a&b", 2, 100 },
		{ "bad\xff\xfe utf8 \xe2\x82", "m'od", 1, 50 },
		{ "ctl\x01\x1b[31m", "<img src=x onerror=y>", 1, 40 },
		{ "ok\xc3\xa9", "builtins", 1, 30 },
	};
	struct snapshot s;
	struct report types = { 0 };
	struct tree mods;
	struct html_report h;
	struct strbuf out = STRBUF_INIT;
	const unsigned char *p;

	build(&s, hostile, PH_ARRAY_SIZE(hostile));
	ck_assert_int_eq(report_group(&s, BY_TYPE, &types), 0);
	tree_init(&mods, "all");
	ck_assert_int_eq(tree_by_module_type(&s, 1, &mods), 0);
	tree_finish(&mods, 1);
	memset(&h, 0, sizeof(h));
	h.file = "x<y>.snap";
	h.s = &s;
	h.types = &types;
	h.modules = &mods;
	render_report_html(&out, &h);
	ck_assert_ptr_null(strstr(out.buf, "<script>alert"));
	ck_assert_ptr_null(strstr(out.buf, "<img"));
	ck_assert_ptr_null(strstr(out.buf, "x<y>"));
	ck_assert_ptr_nonnull(strstr(out.buf, "&lt;script&gt;alert(&quot;x"));
	ck_assert_ptr_nonnull(strstr(out.buf, "bad\\xff\\xfe utf8 \\xe2\\x82"));
	ck_assert_ptr_nonnull(strstr(out.buf, "ok\xc3\xa9"));
	ck_assert_ptr_nonnull(strstr(out.buf, "m&#39;od"));
	ck_assert_ptr_nonnull(strstr(out.buf, "default-src 'none'"));
	/* No control character but newlines; every byte >= 0x80 is part of
	 * a well-formed sequence (the only one here: U+00E9). */
	for (p = (const unsigned char *)out.buf; *p; p++) {
		ck_assert(*p >= 0x20 || *p == '\n');
		if (*p >= 0x80) {
			ck_assert(p[0] == 0xc3 && p[1] == 0xa9);
			p++;
		}
	}
	strbuf_release(&out);
	tree_release(&mods);
	report_release(&types);
	snapshot_release(&s);
}
END_TEST

START_TEST(group_by_type_and_module)
{
	struct snapshot s;
	struct report r;
	const struct report_row *row;

	build(&s, spec_a, PH_ARRAY_SIZE(spec_a));
	ck_assert_int_eq(report_group(&s, BY_TYPE, &r), 0);
	ck_assert_uint_eq(r.nrows, 4);
	ck_assert_uint_eq(r.nkeys, 4);
	ck_assert_uint_eq(r.total_count, 16);
	ck_assert_uint_eq(r.total_bytes, 3 * 232 + 500 + 128 + 16);
	/* Largest first. */
	ck_assert_str_eq(r.rows[0].key, "dict");
	ck_assert_str_eq(r.rows[1].key, "str");
	row = find(&r, "[unnamed type]");
	ck_assert_ptr_nonnull(row);
	ck_assert_uint_eq(row->count, 1);
	report_release(&r);

	ck_assert_int_eq(report_group(&s, BY_MODULE, &r), 0);
	ck_assert_uint_eq(r.nrows, 3);
	row = find(&r, "builtins");
	ck_assert_uint_eq(row->count, 13);
	ck_assert_uint_eq(row->bytes, 3 * 232 + 500);
	ck_assert_ptr_nonnull(find(&r, "[unknown module]"));
	report_release(&r);
	snapshot_release(&s);
}
END_TEST

START_TEST(group_without_data_says_so)
{
	struct snapshot s;
	struct report r;

	build(&s, spec_a, PH_ARRAY_SIZE(spec_a));
	/* No sites: one row, whether the file could have had them is the
	 * command's question (format 1.2). */
	ck_assert_int_eq(report_group(&s, BY_SITE, &r), 0);
	ck_assert_uint_eq(r.nrows, 1);
	ck_assert_str_eq(r.rows[0].key, "[no site]");
	ck_assert_uint_eq(r.rows[0].count, 16);
	ck_assert_uint_eq(r.rows[0].site.kinds, 0);
	ck_assert_ptr_null(site_kinds_name(r.rows[0].site.kinds));
	ck_assert_ptr_null(r.rows[0].site.frames);
	report_release(&r);
	ck_assert_int_eq(report_group(&s, BY_NATIVE, &r), -PH_E_NOTFOUND);
	ck_assert_msg(strstr(ph_errmsg(), "no native memory"), "%s",
		      ph_errmsg());
	report_release(&r);
	snapshot_release(&s);
}
END_TEST

START_TEST(group_by_names_round_trip)
{
	static const char *const names[] = { "type", "module", "site",
					     "native", "site,type" };
	enum group_by by;
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(names); i++) {
		ck_assert_int_eq(group_by_parse(names[i], &by), 0);
		ck_assert_str_eq(group_by_name(by), names[i]);
	}
	ck_assert_int_eq(group_by_parse("Type", &by), -PH_E_USAGE);
	ck_assert_int_eq(group_by_parse("type,site", &by), -PH_E_USAGE);
}
END_TEST

/* ---- sites ---------------------------------------------------------------- */

/* Add a site of kind with n frames ("file", line pairs); its id. */
static uint32_t add_site(struct snapshot *s, uint32_t kind, uint32_t n,
			 const char *const *files, const uint32_t *lines)
{
	struct snap_site *site;
	uint32_t i;

	PH_GROW(s->sites, s->sites_alloc, s->nsites + 1);
	site = &s->sites[s->nsites++];
	memset(site, 0, sizeof(*site));
	site->kind = kind;
	site->first_frame = (uint32_t)s->nsite_frames;
	site->nframes = site->total_frames = n;
	for (i = 0; i < n; i++) {
		PH_GROW(s->site_frames, s->site_frames_alloc,
			s->nsite_frames + 1);
		s->site_frames[s->nsite_frames].file =
			snapshot_cstring(s, files[i]);
		s->site_frames[s->nsite_frames++].line = lines[i];
	}
	return (uint32_t)s->nsites;
}

/*
 * spec_a's objects (3 dict, 10 str, 2 __main__.Old, 1 unnamed) with
 * sites: f.py:10 called from g.py:1 (traced: the dicts), from h.py:2
 * (traced: 4 str), f.py:10 inferred (2 str), a class's module (inferred,
 * line 0: the Olds); 4 str and the unnamed one have none.
 */
static void build_sites(struct snapshot *s, bool traced)
{
	static const char *const fg[] = { "f.py", "g.py" };
	static const char *const fh[] = { "f.py", "h.py" };
	static const char *const mod[] = { "__main__" };
	static const uint32_t l1[] = { 10, 1 }, l2[] = { 10, 2 }, l0[] = { 0 };
	uint32_t kind = traced ? SITE_TRACED : SITE_INFERRED;
	uint32_t g, h, f, m;
	size_t i;

	build(s, spec_a, PH_ARRAY_SIZE(spec_a));
	g = add_site(s, kind, 2, fg, l1);
	h = add_site(s, kind, 2, fh, l2);
	f = add_site(s, SITE_INFERRED, 1, fg, l1);
	m = add_site(s, SITE_INFERRED, 1, mod, l0);
	for (i = 0; i < 3; i++)
		s->objects[i].site = g;
	for (i = 3; i < 7; i++)
		s->objects[i].site = h;
	for (i = 7; i < 9; i++)
		s->objects[i].site = f;
	s->objects[13].site = s->objects[14].site = m;
}

START_TEST(group_by_site_depth_and_kinds)
{
	struct snapshot s;
	struct report r;
	const struct report_row *row;

	build_sites(&s, true);
	ck_assert(snapshot_has_traced_sites(&s));
	ck_assert_int_eq(report_group(&s, BY_SITE, &r), 0);
	ck_assert_uint_eq(r.nrows, 3);
	ck_assert_uint_eq(r.total_count, 16);
	/* Depth 1: both tracebacks and the inferred site are one line. */
	row = find(&r, "f.py:10");
	ck_assert_ptr_nonnull(row);
	ck_assert_uint_eq(row->count, 9);
	ck_assert_uint_eq(row->bytes, 3 * 232 + 6 * 50);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "mixed");
	ck_assert_str_eq(row->site.key, "f.py:10");
	ck_assert_ptr_null(row->site.type);
	ck_assert_uint_eq(row->site.nframes, 1);
	ck_assert_str_eq(row->site.frames[0].file, "f.py");
	ck_assert_uint_eq(row->site.frames[0].line, 10);
	row = find(&r, "__main__:0");
	ck_assert_uint_eq(row->count, 2);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "inferred");
	row = find(&r, "[no site]");
	ck_assert_uint_eq(row->count, 5);
	ck_assert_uint_eq(row->site.kinds, 0);
	ck_assert_uint_eq(row->site.nframes, 0);
	report_release(&r);

	/* Depth 2 tells the callers apart; a shorter stack keeps its one
	 * frame. */
	ck_assert_int_eq(report_group_depth(&s, BY_SITE, 2, &r), 0);
	ck_assert_uint_eq(r.nrows, 5);
	ck_assert_uint_eq(r.depth, 2);
	row = find(&r, "f.py:10 <- g.py:1");
	ck_assert_ptr_nonnull(row);
	ck_assert_uint_eq(row->count, 3);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "traced");
	ck_assert_uint_eq(row->site.nframes, 2);
	ck_assert_str_eq(row->site.frames[1].file, "g.py");
	ck_assert_uint_eq(row->site.frames[1].line, 1);
	row = find(&r, "f.py:10 <- h.py:2");
	ck_assert_uint_eq(row->count, 4);
	ck_assert_str_eq(row->site.frames[1].file, "h.py");
	row = find(&r, "f.py:10");
	ck_assert_uint_eq(row->count, 2);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "inferred");
	report_release(&r);

	/* site,type: each site row split by type. */
	ck_assert_int_eq(report_group(&s, BY_SITE_TYPE, &r), 0);
	ck_assert_uint_eq(r.nrows, 5);
	row = find(&r, "f.py:10 str");
	ck_assert_ptr_nonnull(row);
	ck_assert_uint_eq(row->count, 6);
	ck_assert_str_eq(row->site.key, "f.py:10");
	ck_assert_str_eq(row->site.type, "str");
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "mixed");
	row = find(&r, "f.py:10 dict");
	ck_assert_uint_eq(row->count, 3);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "traced");
	ck_assert_ptr_nonnull(find(&r, "[no site] str"));
	row = find(&r, "[no site] [unnamed type]");
	ck_assert_ptr_nonnull(row);
	ck_assert_str_eq(row->site.type, "[unnamed type]");
	ck_assert_ptr_nonnull(find(&r, "__main__:0 __main__.Old"));
	report_release(&r);
	snapshot_release(&s);
}
END_TEST

/* A site traced in A and inferred in B is one row of kind mixed; frames
 * come with the key. */
START_TEST(diff_by_site)
{
	struct snapshot a, b;
	struct report ra, rb;
	struct diff d;
	const struct diff_row *row;

	build_sites(&a, true);
	build_sites(&b, false);
	ck_assert(!snapshot_has_traced_sites(&b));
	b.objects[9].site = b.objects[1].site; /* one more str at g.py */
	report_group_depth(&a, BY_SITE, 2, &ra);
	report_group_depth(&b, BY_SITE, 2, &rb);
	report_diff(&ra, &rb, &d);
	ck_assert_uint_eq(d.depth, 2);
	row = dfind(&d, "f.py:10 <- g.py:1");
	ck_assert_ptr_nonnull(row);
	ck_assert_int_eq(diff_count_delta(row), 1);
	ck_assert_int_eq(diff_bytes_delta(row), 50);
	ck_assert_str_eq(site_kinds_name(row->site.kinds), "mixed");
	ck_assert_uint_eq(row->site.nframes, 2);
	ck_assert_str_eq(row->site.frames[1].file, "g.py");
	row = dfind(&d, "[no site]");
	ck_assert_int_eq(diff_count_delta(row), -1);
	ck_assert_uint_eq(row->site.kinds, 0);
	diff_release(&d);
	report_release(&ra);
	report_release(&rb);
	snapshot_release(&a);
	snapshot_release(&b);
}
END_TEST

static bool has(const struct strbuf *sb, const char *what)
{
	return strstr(sb->buf, what) != NULL;
}

START_TEST(render_sites)
{
	struct snapshot s;
	struct report r;
	struct strbuf out = STRBUF_INIT;

	build_sites(&s, false);
	report_group_depth(&s, BY_SITE, 2, &r);
	render_show_json(&out, "x.snap", &s, &r, 0);
	ck_assert_msg(has(&out, "{\"key\":\"f.py:10 <- g.py:1\",\"count\":3,"
			  "\"bytes\":696,\"site_kind\":\"inferred\","
			  "\"frames\":[{\"file\":\"f.py\",\"line\":10},"
			  "{\"file\":\"g.py\",\"line\":1}]}"), "%s", out.buf);
	ck_assert_msg(has(&out, "\"key\":\"[no site]\",\"count\":5,"
			  "\"bytes\":216,\"site_kind\":null,\"frames\":[]}"),
		      "%s", out.buf);
	strbuf_reset(&out);
	render_show_csv(&out, &r, 0);
	ck_assert_msg(has(&out, "key,count,bytes,site_kind,frames\n"), "%s",
		      out.buf);
	ck_assert_msg(has(&out, "\nf.py:10 <- g.py:1,3,696,inferred,"
			  "f.py:10;g.py:1\n"), "%s", out.buf);
	ck_assert_msg(has(&out, "\n[no site],5,216,,\n"), "%s", out.buf);
	strbuf_reset(&out);
	render_show_text(&out, "x.snap", &s, &r, 0, false);
	ck_assert_msg(has(&out, "\nNote: sites are inferred; for allocation "
			  "sites start the target with PYTHONTRACEMALLOC=1 "
			  "(or -X tracemalloc=1)\n"), "%s", out.buf);
	ck_assert_msg(has(&out, "  KIND      SITE\n"), "%s", out.buf);
	ck_assert_msg(has(&out, "  inferred  f.py:10\n"), "%s", out.buf);
	ck_assert_msg(has(&out, "            from g.py:1\n"), "%s", out.buf);
	ck_assert_msg(has(&out, "  -         [no site]\n"), "%s", out.buf);
	report_release(&r);

	/* Default depth: no frames in JSON or CSV; site,type fields. */
	report_group(&s, BY_SITE_TYPE, &r);
	strbuf_reset(&out);
	render_show_json(&out, "x.snap", &s, &r, 0);
	ck_assert_msg(has(&out, "{\"key\":\"f.py:10 dict\",\"count\":3,"
			  "\"bytes\":696,\"site_kind\":\"inferred\","
			  "\"site\":\"f.py:10\",\"type\":\"dict\"}"), "%s",
		      out.buf);
	strbuf_reset(&out);
	render_show_csv(&out, &r, 0);
	ck_assert_msg(has(&out, "key,count,bytes,site_kind,site,type\n"), "%s",
		      out.buf);
	ck_assert_msg(has(&out, "\n__main__:0 __main__.Old,2,128,inferred,"
			  "__main__:0,__main__.Old\n"), "%s", out.buf);
	report_release(&r);

	/* Traced: no hint. */
	snapshot_release(&s);
	build_sites(&s, true);
	report_group(&s, BY_SITE, &r);
	strbuf_reset(&out);
	render_show_text(&out, "x.snap", &s, &r, 0, false);
	ck_assert_msg(!has(&out, "Note:"), "%s", out.buf);
	ck_assert_msg(has(&out, "  mixed     f.py:10\n"), "%s", out.buf);
	report_release(&r);
	strbuf_release(&out);
	snapshot_release(&s);
}
END_TEST

START_TEST(filter_sort_match_min_bytes)
{
	const char *pats[] = { "__main__.*", "st?" };
	struct row_filter f = ROW_FILTER_INIT;
	struct snapshot s;
	struct report r;

	build(&s, spec_a, PH_ARRAY_SIZE(spec_a));
	report_group(&s, BY_TYPE, &r);
	f.sort = SORT_COUNT;
	report_filter(&r, &f);
	ck_assert_str_eq(r.rows[0].key, "str");
	ck_assert_str_eq(r.rows[1].key, "dict");
	ck_assert_uint_eq(r.nrows, 4);

	f.match = pats;
	f.nmatch = 2;
	report_filter(&r, &f);
	ck_assert_uint_eq(r.nrows, 2);
	ck_assert_str_eq(r.rows[0].key, "str");
	ck_assert_str_eq(r.rows[1].key, "__main__.Old");
	/* Totals and nkeys cover the whole snapshot. */
	ck_assert_uint_eq(r.nkeys, 4);
	ck_assert_uint_eq(r.total_count, 16);

	f.nmatch = 0;
	f.min_bytes = 500;
	report_filter(&r, &f);
	ck_assert_uint_eq(r.nrows, 1);
	ck_assert_str_eq(r.rows[0].key, "str");
	report_release(&r);
	snapshot_release(&s);
}
END_TEST

START_TEST(diff_pairs_keys)
{
	struct snapshot a, b;
	struct report ra, rb;
	struct diff d;
	const struct diff_row *row;
	size_t i;

	build(&a, spec_a, PH_ARRAY_SIZE(spec_a));
	build(&b, spec_b, PH_ARRAY_SIZE(spec_b));
	report_group(&a, BY_TYPE, &ra);
	report_group(&b, BY_TYPE, &rb);
	report_diff(&ra, &rb, &d);
	ck_assert_uint_eq(d.nrows, 5);
	ck_assert_uint_eq(d.nkeys, 5);
	ck_assert_uint_eq(d.count_a, 16);
	ck_assert_uint_eq(d.count_b, 21);

	row = dfind(&d, "__main__.New");
	ck_assert_uint_eq(row->count_a, 0);
	ck_assert_uint_eq(row->count_b, 5);
	ck_assert_int_eq(diff_bytes_delta(row), 240);
	row = dfind(&d, "__main__.Old");
	ck_assert_uint_eq(row->count_b, 0);
	ck_assert_int_eq(diff_count_delta(row), -2);
	ck_assert_int_eq(diff_bytes_delta(row), -128);
	row = dfind(&d, "str");
	ck_assert_int_eq(diff_count_delta(row), 2);
	ck_assert_int_eq(diff_bytes_delta(row), 100);

	/* Largest growth first, largest shrinking last. */
	ck_assert_str_eq(d.rows[0].key, "__main__.New");
	ck_assert_str_eq(d.rows[1].key, "str");
	ck_assert_str_eq(d.rows[d.nrows - 1].key, "__main__.Old");
	for (i = 1; i < d.nrows; i++)
		ck_assert_int_ge(diff_bytes_delta(&d.rows[i - 1]),
				 diff_bytes_delta(&d.rows[i]));
	diff_release(&d);

	/* A snapshot against itself: every delta 0. */
	report_diff(&ra, &ra, &d);
	ck_assert_uint_eq(d.nrows, ra.nrows);
	for (i = 0; i < d.nrows; i++) {
		ck_assert_int_eq(diff_count_delta(&d.rows[i]), 0);
		ck_assert_int_eq(diff_bytes_delta(&d.rows[i]), 0);
	}
	diff_release(&d);
	report_release(&ra);
	report_release(&rb);
	snapshot_release(&a);
	snapshot_release(&b);
}
END_TEST

START_TEST(diff_filter_and_sort)
{
	const char *pats[] = { "__main__.*" };
	struct row_filter f = ROW_FILTER_INIT;
	struct snapshot a, b;
	struct report ra, rb;
	struct diff d;

	build(&a, spec_a, PH_ARRAY_SIZE(spec_a));
	build(&b, spec_b, PH_ARRAY_SIZE(spec_b));
	report_group(&a, BY_TYPE, &ra);
	report_group(&b, BY_TYPE, &rb);
	report_diff(&ra, &rb, &d);

	f.sort = SORT_COUNT;
	diff_filter(&d, &f);
	ck_assert_str_eq(d.rows[0].key, "__main__.New");
	ck_assert_str_eq(d.rows[1].key, "str");

	/* min_bytes takes growth and shrinking alike. */
	f.min_bytes = 128;
	diff_filter(&d, &f);
	ck_assert_uint_eq(d.nrows, 2);
	ck_assert_str_eq(d.rows[0].key, "__main__.New");
	ck_assert_str_eq(d.rows[1].key, "__main__.Old");

	/* The largest drop first; equal deltas by A's size. */
	f.min_bytes = 0;
	f.sort = SORT_DROP;
	diff_filter(&d, &f);
	ck_assert_uint_eq(d.nrows, 2);
	diff_release(&d);
	report_diff(&ra, &rb, &d);
	diff_filter(&d, &f);
	ck_assert_uint_eq(d.nrows, 5);
	ck_assert_str_eq(d.rows[0].key, "__main__.Old");
	ck_assert_str_eq(d.rows[1].key, "dict");
	ck_assert_str_eq(d.rows[2].key, "[unnamed type]");
	ck_assert_str_eq(d.rows[3].key, "str");
	ck_assert_str_eq(d.rows[4].key, "__main__.New");

	f.match = pats;
	f.nmatch = 1;
	diff_filter(&d, &f);
	ck_assert_uint_eq(d.nrows, 2);
	ck_assert_uint_eq(d.nkeys, 5);
	ck_assert_uint_eq(d.bytes_b - d.bytes_a, 100 + 240 - 128);
	diff_release(&d);
	report_release(&ra);
	report_release(&rb);
	snapshot_release(&a);
	snapshot_release(&b);
}
END_TEST

/* A name with a NUL in it reads as its prefix: rows may share a key, and
 * the diff adds them up rather than losing one. */
START_TEST(diff_adds_up_duplicate_keys)
{
	struct report_row rows_a[] = { { "x", 1, 10 }, { "x", 2, 20 } };
	struct report_row rows_b[] = { { "x", 4, 40 } };
	struct report ra = { BY_TYPE, rows_a, 2, 2, 2, 3, 30 };
	struct report rb = { BY_TYPE, rows_b, 1, 1, 1, 4, 40 };
	struct diff d;

	report_diff(&ra, &rb, &d);
	ck_assert_uint_eq(d.nrows, 1);
	ck_assert_uint_eq(d.rows[0].count_a, 3);
	ck_assert_uint_eq(d.rows[0].bytes_a, 30);
	ck_assert_uint_eq(d.rows[0].count_b, 4);
	diff_release(&d);
}
END_TEST

START_TEST(growth_limits)
{
	struct growth_limit none = { 0 };
	struct growth_limit size = { true, false, 1000, 0 };
	struct growth_limit pct = { true, true, 0, 5.0 };

	ck_assert(!growth_crossed(&none, 0, 1ull << 40));
	ck_assert(!growth_crossed(&size, 5000, 6000));  /* grew by exactly */
	ck_assert(growth_crossed(&size, 5000, 6001));
	ck_assert(!growth_crossed(&size, 6001, 5000));  /* shrank */
	ck_assert(!growth_crossed(&pct, 1000, 1050));   /* 5% exactly */
	ck_assert(growth_crossed(&pct, 1000, 1051));
	ck_assert(growth_crossed(&pct, 0, 1));          /* from nothing */
	ck_assert(!growth_crossed(&pct, 0, 0));
	ck_assert(!growth_crossed(&pct, UINT64_MAX - 1, UINT64_MAX));
}
END_TEST

static void expect(void (*fn)(struct strbuf *, int64_t), int64_t v,
		   const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	fn(&sb, v);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
}

static void expect_duration(double s, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	fmt_duration(&sb, s);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
}

START_TEST(units)
{
	expect(fmt_signed_bytes, 0, "0 B");
	expect(fmt_signed_bytes, 512, "+512 B");
	expect(fmt_signed_bytes, -1536, "-1.50 KiB");
	expect(fmt_signed_bytes, INT64_MIN, "-8192 PiB");
	expect(fmt_signed_count, 0, "0");
	expect(fmt_signed_count, 1234567, "+1,234,567");
	expect(fmt_signed_count, -1000, "-1,000");
	expect_duration(0, "0.00 s");
	expect_duration(-2.5, "2.50 s");
	expect_duration(42.4, "42 s");
	expect_duration(630, "10 min 30 s");
	expect_duration(7300, "2 h 1 min");
	expect_duration(2 * 86400 + 3 * 3600 + 59, "2 d 3 h");
	expect_duration(1e300, "? s");
	expect_duration(0.0 / 0.0, "? s");
}
END_TEST

static char *write_tmp(const struct snapshot *s)
{
	char *path = xasprintf("%s/pyheap-report-%d.snap",
			       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			       (int)getpid());

	ck_assert_msg(snapshot_write(s, path, NULL) == 0, "%s", ph_errmsg());
	return path;
}

START_TEST(read_levels)
{
	struct snap_file_info fi;
	struct snapshot s, r;
	char *path;
	size_t i;

	build(&s, spec_a, PH_ARRAY_SIZE(spec_a));
	snapshot_stat(&s, "census.objects", 16);
	path = write_tmp(&s);

	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_META, &r,
					     &fi), 0);
	ck_assert_uint_eq(r.nobjects, 0);
	ck_assert_uint_eq(r.ntypes, 0);
	ck_assert_int_eq(snapshot_get_stat(&r, "census.objects", -1), 16);
	ck_assert_uint_eq(fi.major, 1);
	ck_assert_uint_gt(fi.nsections, 9);
	ck_assert_uint_eq(fi.sections[0].offset, 16);
	ck_assert_uint_eq(fi.sections[fi.nsections - 1].tag,
			  (uint32_t)('E' | 'N' << 8 | 'D' << 16 | ' ' << 24));
	for (i = 1; i < fi.nsections; i++)
		ck_assert_uint_eq(fi.sections[i].offset,
				  fi.sections[i - 1].offset + 28 +
				  fi.sections[i - 1].stored);
	ck_assert_uint_eq(fi.sections[fi.nsections - 1].offset + 28 + 8,
			  fi.size);
	snapshot_release(&r);
	snap_file_info_release(&fi);

	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_OBJECTS, &r,
					     NULL), 0);
	ck_assert_uint_eq(r.nobjects, s.nobjects);
	ck_assert_uint_eq(r.ntypes, s.ntypes);
	ck_assert_ptr_null(r.edge_start);
	snapshot_release(&r);

	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_ALL, &r, NULL),
			 0);
	ck_assert_ptr_nonnull(r.edge_start);
	snapshot_release(&r);

	unlink(path);
	free(path);
	snapshot_release(&s);
}
END_TEST

/* Damage is found at every level: CRCs are checked before anything is
 * decoded. */
START_TEST(read_levels_check_every_crc)
{
	struct snap_file_info fi;
	struct snapshot s, r;
	char *path;
	FILE *f;
	long size;
	int c;

	build(&s, spec_a, PH_ARRAY_SIZE(spec_a));
	path = write_tmp(&s);
	f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	/* A byte inside the last section before END (STAT or later). */
	fseek(f, size - 28 - 8 - 2, SEEK_SET);
	c = fgetc(f);
	fseek(f, size - 28 - 8 - 2, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	ck_assert_int_eq(snapshot_read_level(path, SNAP_READ_META, &r,
					     &fi), -PH_E_FORMAT);
	ck_assert_msg(strstr(ph_errmsg(), "bad checksum"), "%s", ph_errmsg());
	snap_file_info_release(&fi);
	unlink(path);
	free(path);
	snapshot_release(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, group_by_type_and_module);
	tcase_add_test(tc, group_without_data_says_so);
	tcase_add_test(tc, group_by_names_round_trip);
	tcase_add_test(tc, group_by_site_depth_and_kinds);
	tcase_add_test(tc, diff_by_site);
	tcase_add_test(tc, render_sites);
	tcase_add_test(tc, filter_sort_match_min_bytes);
	tcase_add_test(tc, diff_pairs_keys);
	tcase_add_test(tc, diff_filter_and_sort);
	tcase_add_test(tc, diff_adds_up_duplicate_keys);
	tcase_add_test(tc, tree_by_module_and_type);
	tcase_add_test(tc, html_escapes_target_text);
	tcase_add_test(tc, growth_limits);
	tcase_add_test(tc, units);
	tcase_add_test(tc, read_levels);
	tcase_add_test(tc, read_levels_check_every_crc);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
