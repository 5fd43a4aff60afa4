/*
 * pyheap report A.snap B.snap: the page of what changed (pyheap-report(1)),
 * with html.c's page, tables and script and svg.c's charts.  The numbers
 * are diff's: the same rows as pyheap diff --format json, by type, site
 * and native chunk size.
 */
#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "snapshot/snapshot.h"

static void total_delta(struct strbuf *out, const char *id, const char *what,
			uint64_t a, uint64_t b, bool bytes)
{
	int64_t d = (int64_t)(b - a);

	strbuf_addf(out, "<div><dt>%s</dt><dd id=\"%s\" data-v=\"%llu\" "
		    "data-a=\"%llu\" data-delta=\"%lld\">", what, id,
		    (unsigned long long)b, (unsigned long long)a,
		    (long long)d);
	if (bytes) {
		fmt_bytes(out, b);
		strbuf_addstr(out, " <small>(");
		fmt_signed_bytes(out, d);
	} else {
		fmt_count(out, b);
		strbuf_addstr(out, " <small>(");
		fmt_signed_count(out, d);
	}
	strbuf_addstr(out, ")</small></dd></div>");
}

static void diff_table(struct strbuf *out, const char *id,
		       const char *key_name, const struct diff *d, size_t top)
{
	size_t i, n = top && top < d->nrows ? top : d->nrows;

	strbuf_addf(out, "<div class=\"wrap\"><table class=\"sortable\" "
		    "id=\"%s\"><thead><tr><th class=\"sort\">%s</th>"
		    "<th class=\"sort num\">count A</th>"
		    "<th class=\"sort num\">count B</th>"
		    "<th class=\"sort num\">&#916; count</th>"
		    "<th class=\"sort num\">bytes A</th>"
		    "<th class=\"sort num\">bytes B</th>"
		    "<th class=\"sort num\">&#916; bytes</th>"
		    "<th class=\"sort\">state</th></tr></thead><tbody>\n",
		    id, key_name);
	for (i = 0; i < n; i++) {
		const struct diff_row *row = &d->rows[i];

		strbuf_addstr(out, "<tr>");
		html_td_text(out, row->key);
		html_td_num(out, row->count_a, false);
		html_td_num(out, row->count_b, false);
		html_td_snum(out, diff_count_delta(row), false);
		html_td_num(out, row->bytes_a, true);
		html_td_num(out, row->bytes_b, true);
		html_td_snum(out, diff_bytes_delta(row), true);
		strbuf_addf(out, "<td>%s</td></tr>\n", !row->count_a ? "new" :
			    !row->count_b ? "gone" : "");
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
	if (n < d->nrows)
		strbuf_addf(out, "<p class=\"note\">The %zu rows that grew "
			    "most (then those that shrank least) of %zu "
			    "(pyheap report --top).</p>\n", n, d->nrows);
}

/* diff --why's answer for the rows that grew most: how many objects are
 * new, the merged path most of them hang from, the accumulation point
 * on it (the dict or list where they pile up), and a concrete path. */
static void why_section(struct strbuf *out, const struct html_diff_report *r)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	strbuf_addstr(out, "<h2 id=\"why\">Where the growth accumulates</h2>"
		      "\n");
	if (!r->why) {
		strbuf_addstr(out, "<p class=\"note\">");
		html_text(out, r->why_note);
		strbuf_addstr(out, "</p>\n");
		return;
	}
	if (!r->nwhy) {
		strbuf_addstr(out, "<p class=\"note\">No type grew.</p>\n");
		return;
	}
	strbuf_addstr(out, "<p class=\"hint\">For the types that grew most, "
		      "the objects new since A, the path from a root most of "
		      "them hang from, the accumulation point on it, and how "
		      "many no root reaches (garbage): what pyheap diff --why "
		      "says.</p><div class=\"wrap\"><table "
		      "id=\"why-table\"><thead><tr><th>type</th>"
		      "<th class=\"num\">new objects</th><th class=\"num\">"
		      "on the path</th><th class=\"num\">garbage</th>"
		      "<th>accumulation point</th><th>path"
		      "</th><th>example</th></tr></thead><tbody>\n");
	for (i = 0; i < r->nwhy; i++) {
		const struct diff_why *dw = &r->why[i];
		const struct why_path *p = dw->w.npaths ? &dw->w.paths[0] :
					   NULL;

		strbuf_addstr(out, "<tr>");
		html_td_text(out, r->types->rows[dw->row].key);
		html_td_num(out, dw->new_objects, false);
		html_td_num(out, p ? p->objects : 0, false);
		html_td_num(out, dw->w.unreached, false);
		if (p && p->accumulation != SIZE_MAX) {
			const struct why_step *st = &p->steps[p->accumulation];

			strbuf_reset(&sb);
			strbuf_addstr(&sb, st->type);
			if (st->label) {
				strbuf_addstr(&sb, " ");
				strbuf_addstr(&sb, st->label);
			}
			html_td_text(out, sb.buf);
		} else {
			html_td_text(out, "");
		}
		strbuf_reset(&sb);
		if (p)
			merged_path_text(&sb, p);
		html_td_text(out, sb.buf);
		html_td_text(out, p ? p->example_text : "");
		strbuf_addstr(out, "</tr>\n");
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
	strbuf_release(&sb);
}

void render_report_diff_html(struct strbuf *out,
			     const struct html_diff_report *r)
{
	const struct snapshot *a = r->a, *b = r->b;
	const struct diff *d = r->types;
	struct strbuf title = STRBUF_INIT;
	double secs = b->meta.taken_at - a->meta.taken_at;

	strbuf_addf(&title, "pyheap report: process %lld, ",
		    (long long)b->meta.pid);
	fmt_iso8601(&title, a->meta.taken_at);
	strbuf_addstr(&title, " to ");
	fmt_iso8601(&title, b->meta.taken_at);
	html_page_begin(out, title.buf);
	strbuf_addstr(out, "<header><h1>");
	html_text(out, title.buf);
	strbuf_addstr(out, "</h1>\n");
	html_meta_line(out, "A: ", r->file_a, a);
	if (secs > 0) {
		struct strbuf p = STRBUF_INIT;

		strbuf_addstr(&p, "B, ");
		fmt_duration(&p, secs);
		strbuf_addstr(&p, " later: ");
		html_meta_line(out, p.buf, r->file_b, b);
		strbuf_release(&p);
	} else {
		html_meta_line(out, "B: ", r->file_b, b);
	}
	strbuf_addstr(out, "<dl class=\"totals\">");
	total_delta(out, "total-objects", "Python objects",
		    d->totals_a.objects, d->totals_b.objects, false);
	total_delta(out, "total-object-bytes", "their bytes",
		    d->totals_a.object_bytes, d->totals_b.object_bytes, true);
	if ((a->meta.flags & SNAP_NATIVE) && (b->meta.flags & SNAP_NATIVE))
		total_delta(out, "total-native-bytes", "native, no object owns",
			    d->totals_a.native_bytes, d->totals_b.native_bytes,
			    true);
	if (d->lost_known_a && d->lost_known_b)
		total_delta(out, "total-lost-bytes", "native, lost",
			    d->lost_a, d->lost_b, true);
	if (a->meta.rss_bytes && b->meta.rss_bytes)
		total_delta(out, "total-rss", "RSS", a->meta.rss_bytes,
			    b->meta.rss_bytes, true);
	strbuf_addstr(out, "</dl></header>\n");

	strbuf_addstr(out, "<h2 id=\"growth\">What changed, by type</h2>\n"
		      "<p class=\"hint\">Bytes from A to B: growth to the "
		      "right, shrinking to the left; [new] keys were not in "
		      "A, [gone] keys are not in B.</p>\n");
	svg_growth_bars(out, "growth-types", d, 25);
	if (r->why || r->why_note)
		why_section(out, r);
	strbuf_addstr(out, "<h2 id=\"modules\">Bytes by module and type, "
		      "coloured by change</h2>\n<p class=\"hint\">Widths "
		      "are B's bytes; vermillion grew, blue shrank, grey "
		      "stayed within 2%. Click a cell to zoom in, the top row "
		      "to zoom out.</p>\n");
	svg_icicle(out, "icicle-modules", r->modules, true);
	strbuf_addstr(out, "<h2 id=\"types\">Types</h2>\n");
	diff_table(out, "types-table", "type", d, r->top);
	if (r->sites) {
		strbuf_addstr(out, "<h2 id=\"sites\">Allocation sites</h2>\n");
		svg_growth_bars(out, "growth-sites", r->sites, 15);
		if (r->frames) {
			strbuf_addstr(out, "<p class=\"hint\">By traceback, "
				      "the outermost frame at the top, "
				      "coloured by change.</p>\n");
			svg_icicle(out, "icicle-sites", r->frames, true);
		}
		diff_table(out, "sites-table", "site", r->sites, r->top);
	}
	if (r->native) {
		strbuf_addstr(out, "<h2 id=\"native\">Native memory no object "
			      "owns, by chunk size</h2>\n");
		diff_table(out, "native-table", "chunk size", r->native,
			   r->top);
	}
	html_page_end(out, b);
	strbuf_release(&title);
}
