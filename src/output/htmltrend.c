/*
 * pyheap report DIR and pyheap trend --html: the page of a series
 * (pyheap-report(1)).  The numbers are trend's (the same rows and rates as
 * pyheap trend --format json); the charts are svgtime.c's; below them,
 * the newest snapshot's own page (html.c).
 */
#include <math.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "snapshot/snapshot.h"

/* A rate: "+1.2 MiB/h", or "-" without a slope. */
static void fmt_rate(struct strbuf *out, double per_hour, bool bytes)
{
	if (isnan(per_hour)) {
		strbuf_addstr(out, "-");
		return;
	}
	if (bytes)
		fmt_signed_bytes(out, (int64_t)llround(per_hour));
	else
		fmt_signed_count(out, (int64_t)llround(per_hour));
	strbuf_addstr(out, "/h");
}

static void td_rate(struct strbuf *out, double per_hour)
{
	if (isnan(per_hour))
		strbuf_addstr(out, "<td class=\"num\" data-v=\"\">");
	else
		strbuf_addf(out, "<td class=\"num\" data-v=\"%.3f\">", per_hour);
	fmt_rate(out, per_hour, true);
	strbuf_addstr(out, "</td>");
}

static void rate_total(struct strbuf *out, const char *id, const char *what,
		       const struct trend_stats *st)
{
	strbuf_addf(out, "<div><dt>%s</dt><dd id=\"%s\" data-v=\"", what, id);
	if (!isnan(st->bytes_per_hour))
		strbuf_addf(out, "%.3f", st->bytes_per_hour);
	strbuf_addstr(out, "\">");
	fmt_rate(out, st->bytes_per_hour, true);
	strbuf_addstr(out, "</dd></div>");
}

static void trend_table(struct strbuf *out, const struct trend *t,
			size_t top)
{
	size_t i, n = top && top < t->nrows ? top : t->nrows;

	strbuf_addstr(out, "<div class=\"wrap\"><table class=\"sortable\" "
		      "id=\"trend-table\"><thead><tr>"
		      "<th class=\"sort\">key</th><th class=\"sort\">suspect"
		      "</th><th class=\"sort num\">bytes first</th>"
		      "<th class=\"sort num\">bytes last</th>"
		      "<th class=\"sort num\">bytes/h</th>"
		      "<th class=\"sort num\">grew</th>"
		      "<th class=\"sort num\">intervals</th></tr></thead>"
		      "<tbody>\n");
	for (i = 0; i < n; i++) {
		const struct trend_row *row = &t->rows[i];

		strbuf_addstr(out, "<tr>");
		html_td_text(out, row->key);
		strbuf_addf(out, "<td>%s</td>", row->st.suspect ? "yes" : "");
		html_td_num(out, row->st.bytes_first, true);
		html_td_num(out, row->st.bytes_last, true);
		td_rate(out, row->st.bytes_per_hour);
		html_td_num(out, row->st.grew, false);
		html_td_num(out, row->st.intervals, false);
		strbuf_addstr(out, "</tr>\n");
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
	if (n < t->nrows)
		strbuf_addf(out, "<p class=\"note\">The first %zu of %zu rows, "
			    "leak suspects first (pyheap report --top).</p>\n",
			    n, t->nrows);
}

void render_trend_html(struct strbuf *out, const struct html_trend_report *r)
{
	const struct trend *t = r->t;
	struct strbuf title = STRBUF_INIT;
	size_t i, w, suspects = 0, charts;

	for (i = 0; i < t->nrows; i++)
		suspects += t->rows[i].st.suspect;
	strbuf_addstr(&title, "pyheap report: ");
	strbuf_addstr(&title, r->program);
	strbuf_addf(&title, ", %zu snapshots", t->npoints);
	html_page_begin(out, title.buf);
	strbuf_addstr(out, "<header><h1>");
	html_text(out, title.buf);
	strbuf_addstr(out, "</h1>\n<p class=\"meta\">");
	html_text(out, r->source);
	strbuf_addf(out, ": %zu process%s in %zu worker%s, ", t->nsegments,
		    t->nsegments == 1 ? "" : "es", t->nworkers,
		    t->nworkers == 1 ? "" : "s");
	fmt_duration(out, t->hours * 3600);
	strbuf_addf(out, " analysed (%s: %zu snapshots); grouped by %s.</p>\n",
		    t->which == TREND_ALL ? "every process" :
		    "the newest process of each worker", t->npoints_analysed,
		    group_by_name(t->by));
	strbuf_addstr(out, "<dl class=\"totals\">");
	rate_total(out, "rate-total", "all objects", &t->total);
	strbuf_addf(out, "<div><dt>leak suspects</dt><dd id=\"suspects\" "
		    "data-v=\"%zu\">%zu</dd></div>", suspects, suspects);
	if (t->garbage_known)
		rate_total(out, "rate-garbage", "garbage", &t->garbage);
	if (t->lost_known)
		rate_total(out, "rate-lost", "native, lost", &t->lost);
	strbuf_addstr(out, "</dl></header>\n");

	strbuf_addstr(out, "<h2 id=\"over-time\">Memory over time</h2>\n"
		      "<p class=\"hint\"><span class=\"sw\" style=\"background:"
		      "#7FB8D8\"></span>Python objects, <span class=\"sw\" "
		      "style=\"background:#F2CF7F\"></span>native memory no "
		      "object owns (stacked), <span class=\"sw\" style=\""
		      "background:#1b1b1b\"></span>RSS. A dashed rule is a "
		      "new process (a restart): its line starts afresh.</p>\n");
	for (w = 0; w < t->nworkers; w++) {
		char id[32];

		if (t->nworkers > 1)
			strbuf_addf(out, "<h3>Worker %zu%s</h3>\n", w + 1,
				    t->workers[w].gone ? " (gone)" : "");
		snprintf(id, sizeof(id), "chart-%zu", w + 1);
		svg_memory_over_time(out, id, t, w);
	}

	strbuf_addstr(out, "<h2 id=\"suspects-over-time\">What grows</h2>\n"
		      "<p class=\"hint\">The rows of pyheap trend, leak "
		      "suspects first (vermillion lines): a suspect grew in "
		      "at least three quarters of the intervals. Only the "
		      "processes analysed are drawn");
	strbuf_addstr(out, t->which == TREND_ALL ? ".</p>\n" :
		      " (the newest of each worker; pyheap trend --segments "
		      "all --html compares every one with itself).</p>\n");
	charts = PH_MIN(r->charts, t->nrows);
	for (i = 0; i < charts; i++) {
		const struct trend_row *row = &t->rows[i];

		strbuf_addstr(out, "<div class=\"key-chart\" data-key=\"");
		html_text(out, row->key);
		strbuf_addstr(out, "\"><h3>");
		html_text(out, row->key);
		strbuf_addstr(out, "</h3><p class=\"note\">");
		fmt_rate(out, row->st.bytes_per_hour, true);
		strbuf_addf(out, ", grew in %u of %u intervals%s</p>\n",
			    row->st.grew, row->st.intervals,
			    row->st.suspect ? ": a leak suspect" : "");
		for (w = 0; w < t->nworkers; w++)
			if (t->workers[w].analysed || t->nworkers == 1)
				svg_key_over_time(out, t, row, w);
		strbuf_addstr(out, "</div>\n");
	}
	trend_table(out, t, r->top);

	if (r->latest)
		render_report_body(out, r->latest, "The newest snapshot", true);
	html_page_end(out, r->latest ? r->latest->s : NULL);
	strbuf_release(&title);
}
