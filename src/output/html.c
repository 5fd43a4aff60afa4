/*
 * pyheap report's HTML page (pyheap-report(1)): one self-contained file.
 *
 * Everything is in the page: the style and a small script are inline, the
 * charts are SVG drawn here (svg.c), and a Content-Security-Policy of
 * default-src 'none' forbids any request, so the file opens from file://
 * offline and never calls out.  Every number is in the HTML itself (text
 * for people, data-* attributes exact, for scripts and tests); the script
 * only sorts tables and zooms the icicles, so the page reads the same
 * with JavaScript off.  Every string from the snapshot (type names, file
 * names, command lines: the target's data) is escaped (html_text).
 */
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "snapshot/snapshot.h"

/* Target text: escaped for HTML, control characters as spaces, bytes
 * that are not UTF-8 as \xNN (the file must stay valid UTF-8). */
void html_text(struct strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);

	while (*p) {
		size_t n;

		switch (*p) {
		case '&': strbuf_addstr(out, "&amp;"); p++; continue;
		case '<': strbuf_addstr(out, "&lt;"); p++; continue;
		case '>': strbuf_addstr(out, "&gt;"); p++; continue;
		case '"': strbuf_addstr(out, "&quot;"); p++; continue;
		case '\'': strbuf_addstr(out, "&#39;"); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			strbuf_addch(out, ' ');
			p++;
			continue;
		}
		n = utf8_seq(p, (size_t)(end - p));
		if (!n) {
			strbuf_addf(out, "\\x%02x", *p);
			p++;
			continue;
		}
		strbuf_add(out, (const char *)p, n);
		p += n;
	}
}

/* A number cell: sorted by its exact value, shown formatted. */
void html_td_num(struct strbuf *out, uint64_t v, bool bytes)
{
	strbuf_addf(out, "<td class=\"num\" data-v=\"%llu\">",
		    (unsigned long long)v);
	if (bytes)
		fmt_bytes(out, v);
	else
		fmt_count(out, v);
	strbuf_addstr(out, "</td>");
}

void html_td_snum(struct strbuf *out, int64_t v, bool bytes)
{
	strbuf_addf(out, "<td class=\"num\" data-v=\"%lld\">", (long long)v);
	if (bytes)
		fmt_signed_bytes(out, v);
	else
		fmt_signed_count(out, v);
	strbuf_addstr(out, "</td>");
}

void html_td_text(struct strbuf *out, const char *s)
{
	strbuf_addstr(out, "<td class=\"key\">");
	html_text(out, s);
	strbuf_addstr(out, "</td>");
}

static const char STYLE[] =
	":root{--fg:#1b1b1b;--muted:#5b5b5b;--line:#d8d8d8;--bg:#fff;"
	"--head:#f3f3f3}"
	"*{box-sizing:border-box}"
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
	"sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;"
	"padding:16px;max-width:1280px;-webkit-text-size-adjust:100%;"
	"text-size-adjust:100%}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 "
	"8px;border-bottom:1px solid var(--line);padding-bottom:4px}"
	".meta{color:var(--muted);margin:0 0 12px;word-break:break-all}"
	".totals{display:flex;flex-wrap:wrap;gap:8px 28px;margin:8px 0}"
	".totals div{min-width:120px}.totals dt{color:var(--muted);"
	"font-size:12px}.totals dd{margin:0;font-size:18px;font-weight:600}"
	".wrap{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-variant-numeric:"
	"tabular-nums}th,td{padding:3px 8px;border-bottom:1px solid "
	"var(--line);text-align:left;vertical-align:top}"
	"th{background:var(--head);position:sticky;top:0}"
	"th.sort{cursor:pointer;user-select:none}th.sort:after{content:' "
	"\\2195';color:var(--muted)}"
	"td.num,th.num{text-align:right;white-space:nowrap}"
	"td.key{word-break:break-all;font-family:ui-monospace,Menlo,"
	"Consolas,monospace;font-size:13px}"
	".sw{display:inline-block;width:12px;height:12px;margin-right:6px;"
	"vertical-align:-1px;border:1px solid #0003}"
	"svg{display:block;width:100%;height:auto}"
	"svg text{font:11px ui-monospace,Menlo,Consolas,monospace;"
	"pointer-events:none}"
	"svg.icicle g.n{cursor:pointer}svg.icicle rect{stroke:#fff;"
	"stroke-width:1}"
	".hint,.note{color:var(--muted);font-size:13px;margin:4px 0}"
	"footer{margin-top:32px;color:var(--muted);font-size:12px}"
	"@media (max-width:600px){body{padding:8px}td.key{font-size:12px}"
	".totals dd{font-size:16px}}";

/* Sorting tables (th.sort: numbers by data-v, text otherwise; a second
 * click reverses) and zooming icicles (a cell's data-x0/x1 are its share
 * of the whole, data-d its depth: the clicked cell fills the width, its
 * ancestors too, whatever does not overlap it is hidden). */
static const char SCRIPT[] =
	"(function(){'use strict';"
	"function val(td){var v=td.getAttribute('data-v');"
	"return v===null?td.textContent:Number(v);}"
	"document.querySelectorAll('table.sortable').forEach(function(t){"
	"t.querySelectorAll('th.sort').forEach(function(th,i){"
	"th.addEventListener('click',function(){"
	"var col=th.cellIndex,body=t.tBodies[0],rows=[].slice.call(body.rows),"
	"asc=th.getAttribute('data-dir')==='desc';"
	"t.querySelectorAll('th').forEach(function(h){"
	"h.removeAttribute('data-dir');});"
	"th.setAttribute('data-dir',asc?'asc':'desc');"
	"rows.sort(function(a,b){var x=val(a.cells[col]),y=val(b.cells[col]);"
	"var c=typeof x==='number'?x-y:String(x).localeCompare(String(y));"
	"return asc?c:-c;});"
	"rows.forEach(function(r){body.appendChild(r);});});});});"
	"function zoom(svg,g){var a=+g.getAttribute('data-x0'),"
	"b=+g.getAttribute('data-x1'),d=+g.getAttribute('data-d'),"
	"W=+svg.getAttribute('data-w');"
	"svg.querySelectorAll('g.n').forEach(function(n){"
	"var x0=+n.getAttribute('data-x0'),x1=+n.getAttribute('data-x1'),"
	"nd=+n.getAttribute('data-d'),c=n.querySelector('svg');"
	"if(x1<=a||x0>=b){n.style.display='none';return;}"
	"n.style.display='';var l=Math.max(x0,a),r=Math.min(x1,b);"
	"if(nd<d){l=a;r=b;}"
	"c.setAttribute('x',((l-a)/(b-a)*W).toFixed(2));"
	"c.setAttribute('width',Math.max((r-l)/(b-a)*W-1,0).toFixed(2));});"
	"svg.setAttribute('data-zoom',g.getAttribute('data-id'));}"
	"document.querySelectorAll('svg.icicle').forEach(function(svg){"
	"svg.addEventListener('click',function(e){"
	"var g=e.target.closest('g.n');if(g)zoom(svg,g);});});"
	"})();";

void html_page_begin(struct strbuf *out, const char *title)
{
	strbuf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		      "<meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width,"
		      " initial-scale=1\">"
		      "<meta http-equiv=\"Content-Security-Policy\" "
		      "content=\"default-src 'none'; style-src "
		      "'unsafe-inline'; script-src 'unsafe-inline'\">"
		      "<meta name=\"generator\" content=\"pyheap report\">"
		      "<title>");
	html_text(out, title);
	strbuf_addf(out, "</title><style>%s</style></head>\n<body>\n", STYLE);
}

void html_page_end(struct strbuf *out, const struct snapshot *s)
{
	const char *v = s ? snapshot_str(s, s->meta.pyheap_version) : "";

	strbuf_addstr(out, "<footer>Written by pyheap " PYHEAP_VERSION
		      " (report)");
	if (*v) {
		strbuf_addstr(out, " from a snapshot taken by pyheap ");
		html_text(out, v);
	}
	strbuf_addstr(out, ". Every number is in this file; nothing is "
		      "loaded from elsewhere.</footer>\n");
	strbuf_addf(out, "<script>%s</script>\n</body></html>\n", SCRIPT);
}

void html_meta_line(struct strbuf *out, const char *prefix, const char *file,
		    const struct snapshot *s)
{
	const char *cmd = snapshot_str(s, s->meta.cmdline);
	struct strbuf t = STRBUF_INIT;

	strbuf_addstr(out, "<p class=\"meta\">");
	if (prefix)
		strbuf_addstr(out, prefix);
	html_text(out, file);
	strbuf_addf(out, ": process %lld", (long long)s->meta.pid);
	if (*cmd) {
		strbuf_addstr(out, " (");
		html_text(out, cmd);
		strbuf_addstr(out, ")");
	}
	strbuf_addstr(out, ", Python ");
	html_text(out, snapshot_str(s, s->meta.python));
	fmt_iso8601(&t, s->meta.taken_at);
	strbuf_addstr(out, ", taken ");
	html_text(out, t.buf);
	strbuf_reset(&t);
	fmt_ms(&t, s->meta.pause_ms);
	if (s->meta.core) {
		strbuf_addstr(out, ", from core ");
		html_text(out, snapshot_str(s, s->meta.core));
	} else {
		strbuf_addf(out, ", paused %s", t.buf);
	}
	if (s->meta.flags & SNAP_INCONSISTENT)
		strbuf_addstr(out, " (copied while it ran: inconsistent)");
	strbuf_addstr(out, "</p>\n");
	strbuf_release(&t);
}

void html_total(struct strbuf *out, const char *id, const char *what,
		uint64_t v, bool bytes)
{
	strbuf_addf(out, "<div><dt>%s</dt><dd id=\"%s\" data-v=\"%llu\">",
		    what, id, (unsigned long long)v);
	if (bytes)
		fmt_bytes(out, v);
	else
		fmt_count(out, v);
	strbuf_addstr(out, "</dd></div>");
}

/* The rows of a show-like report, the first `top` (0: all). */
static void rows_table(struct strbuf *out, const char *id,
		       const char *key_name, const struct report *r,
		       size_t top, bool gc)
{
	size_t i, n = top && top < r->nrows ? top : r->nrows;

	strbuf_addf(out, "<div class=\"wrap\"><table class=\"sortable\" "
		    "id=\"%s\"><thead><tr><th class=\"sort\">%s</th>"
		    "<th class=\"sort num\">count</th>"
		    "<th class=\"sort num\">bytes</th>", id, key_name);
	if (gc)
		strbuf_addstr(out, "<th class=\"sort num\">GC-tracked</th>");
	strbuf_addstr(out, "</tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		const struct report_row *row = &r->rows[i];

		strbuf_addstr(out, "<tr>");
		html_td_text(out, row->key);
		html_td_num(out, row->count, false);
		html_td_num(out, row->bytes, true);
		if (gc)
			html_td_num(out, row->gc_tracked, false);
		strbuf_addstr(out, "</tr>\n");
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
	if (n < r->nrows)
		strbuf_addf(out, "<p class=\"note\">The %zu largest of %zu "
			    "rows (pyheap report --top).</p>\n", n, r->nrows);
}

/* Where most of a garbage group's members were allocated: the innermost
 * frame of site id (1-based), "FILE:LINE". */
static void site_text(struct strbuf *sb, const struct snapshot *s,
		      uint32_t site)
{
	const struct snap_site *st;
	const struct snap_site_frame *f;

	strbuf_reset(sb);
	if (!site || site > s->nsites)
		return;
	st = &s->sites[site - 1];
	if (!st->nframes || st->first_frame >= s->nsite_frames)
		return;
	f = &s->site_frames[st->first_frame];
	strbuf_addf(sb, "%s:%u", snapshot_str(s, f->file), f->line);
}

static void garbage_row(struct strbuf *out, const char *shape, bool part1,
			uint64_t cycles, uint64_t objects, uint64_t bytes,
			const char *site)
{
	strbuf_addstr(out, "<tr>");
	html_td_text(out, shape);
	strbuf_addf(out, "<td>%s</td>", part1 ? "yes" : "never");
	html_td_num(out, cycles, false);
	html_td_num(out, objects, false);
	html_td_num(out, bytes, true);
	if (site)
		html_td_text(out, site);
	strbuf_addstr(out, "</tr>\n");
}

/* Garbage by shape: from pyheap garbage's analysis when the page read
 * the references (with where each group was allocated), else from the
 * groups snap stored (GRPS). */
static void garbage_table(struct strbuf *out, const struct html_report *r)
{
	const struct snapshot *s = r->s;
	const struct snap_groups *g = &s->groups;
	const struct garbage *ga = r->garbage;
	struct strbuf site = STRBUF_INIT;
	size_t i, k;

	strbuf_addstr(out, "<h2 id=\"garbage\">Garbage</h2>\n");
	if (ga ? !ga->collectable.ngroups && !ga->uncollectable.ngroups :
	    !g->ngarbage) {
		strbuf_addstr(out, "<p class=\"note\">No garbage: every object "
			      "is reachable from the roots.</p>\n");
		return;
	}
	strbuf_addstr(out, "<p class=\"hint\">Objects nothing reachable "
		      "holds, grouped by the shape of their cycles "
		      "(pyheap garbage)");
	strbuf_addstr(out, ga ? ", with where most of each group's objects "
		      "were allocated.</p>" : ".</p>");
	strbuf_addstr(out, "<div class=\"wrap\"><table class=\"sortable\" "
		      "id=\"garbage-table\"><thead><tr>"
		      "<th class=\"sort\">shape</th><th class=\"sort\">"
		      "collectable</th><th class=\"sort num\">cycles</th>"
		      "<th class=\"sort num\">objects</th>"
		      "<th class=\"sort num\">bytes</th>");
	if (ga)
		strbuf_addstr(out, "<th class=\"sort\">allocated at</th>");
	strbuf_addstr(out, "</tr></thead><tbody>\n");
	for (k = 0; ga && k < 2; k++) {
		const struct garbage_part *pt = k ? &ga->uncollectable :
					    &ga->collectable;

		for (i = 0; i < pt->ngroups; i++) {
			const struct garbage_group *x = &pt->groups[i];

			site_text(&site, s, x->site);
			garbage_row(out, x->shape, !k, x->cycles, x->objects,
				    x->bytes, site.buf);
		}
	}
	for (i = 0; !ga && i < g->ngarbage; i++) {
		const struct snap_garbage_group *x = &g->garbage[i];

		garbage_row(out, snapshot_str(s, x->shape), x->part == 1,
			    x->cycles, x->objects, x->bytes, NULL);
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
	strbuf_release(&site);
}

static void lost_row(struct strbuf *out, unsigned reach, const char *sig,
		     uint64_t size, uint64_t chunks, uint64_t bytes,
		     uint64_t indirect, bool example, uint64_t addr)
{
	strbuf_addstr(out, "<tr>");
	strbuf_addf(out, "<td>%s</td>", leaks_class_name(reach));
	html_td_text(out, *sig ? sig : "-");
	html_td_num(out, size, false);
	html_td_num(out, chunks, false);
	html_td_num(out, bytes, true);
	html_td_num(out, bytes + indirect, true);
	if (example)
		strbuf_addf(out, "<td class=\"key\">%#llx</td>",
			    (unsigned long long)addr);
	strbuf_addstr(out, "</tr>\n");
}

/* Lost native memory: from pyheap leaks' analysis when the page read the
 * chunks (with an example chunk of each group), else from GRPS. */
static void lost_table(struct strbuf *out, const struct html_report *r)
{
	const struct snapshot *s = r->s;
	const struct snap_groups *g = &s->groups;
	const struct leaks *l = r->leaks;
	size_t i;

	strbuf_addstr(out, "<h2 id=\"lost\">Lost native memory</h2>\n");
	if (l ? !l->ngroups : !g->nlost) {
		strbuf_addstr(out, "<p class=\"note\">No malloc chunk is "
			      "lost.</p>\n");
		return;
	}
	strbuf_addstr(out, "<p class=\"hint\">Malloc chunks nothing points "
		      "to, as valgrind classifies them, grouped by size and "
		      "signature (pyheap leaks).</p>"
		      "<div class=\"wrap\"><table class=\"sortable\" "
		      "id=\"lost-table\"><thead><tr>"
		      "<th class=\"sort\">class</th><th class=\"sort\">"
		      "signature</th><th class=\"sort num\">chunk size</th>"
		      "<th class=\"sort num\">chunks</th><th class=\"sort "
		      "num\">bytes</th><th class=\"sort num\">with what they "
		      "hold</th>");
	if (l)
		strbuf_addstr(out, "<th class=\"sort\">example</th>");
	strbuf_addstr(out, "</tr></thead><tbody>\n");
	for (i = 0; l && i < l->ngroups; i++) {
		const struct leak_group *x = &l->groups[i];

		lost_row(out, x->state, x->signature, x->size, x->chunks,
			 x->bytes, x->indirect_bytes, true, x->example);
	}
	for (i = 0; !l && i < g->nlost; i++) {
		const struct snap_lost_group *x = &g->lost[i];

		lost_row(out, x->reach, snapshot_str(s, x->signature),
			 x->size, x->chunks, x->bytes, x->indirect_bytes,
			 false, 0);
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
}

/* The largest retainers: the objects whose own bytes and what only
 * they keep alive are the largest (pyheap retained), each with the
 * path from a root pyheap why would print. */
static void retained_table(struct strbuf *out, const struct html_report *r)
{
	const struct retained *ret = r->retained;
	size_t i;

	strbuf_addstr(out, "<h2 id=\"retainers\">Largest retainers</h2>\n");
	if (!ret) {
		strbuf_addstr(out, "<p class=\"note\">");
		html_text(out, r->retained_note);
		strbuf_addstr(out, "</p>\n");
		return;
	}
	strbuf_addstr(out, "<p class=\"hint\">The objects that keep the "
		      "most memory alive: their own bytes and everything only "
		      "they hold (the dominator tree, as pyheap retained "
		      "computes it), with a path from a root.</p><div "
		      "class=\"wrap\"><table class=\"sortable\" "
		      "id=\"retained-table\"><thead><tr><th class=\"sort\">"
		      "object</th><th class=\"sort num\">retained bytes</th>"
		      "<th class=\"sort num\">retained objects</th>"
		      "<th class=\"sort\">path</th></tr></thead><tbody>\n");
	for (i = 0; i < ret->nrows; i++) {
		const struct retained_row *row = &ret->rows[i];

		strbuf_addstr(out, "<tr>");
		html_td_text(out, row->key);
		html_td_num(out, row->retained_bytes, true);
		html_td_num(out, row->retained_count, false);
		html_td_text(out, row->example_path ? row->example_path : "");
		strbuf_addstr(out, "</tr>\n");
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
}

/* The totals and sections of one snapshot's page; in a series' page (its
 * newest snapshot) the same under an h2 instead of the page's h1. */
void render_report_body(struct strbuf *out, const struct html_report *r,
			const char *heading, bool nested)
{
	const struct snapshot *s = r->s;

	strbuf_addstr(out, nested ? "<h2 id=\"latest\">" : "<header><h1>");
	html_text(out, heading);
	strbuf_addstr(out, nested ? "</h2>\n" : "</h1>\n");
	html_meta_line(out, NULL, r->file, s);
	strbuf_addstr(out, "<dl class=\"totals\">");
	html_total(out, "total-objects", "Python objects",
		   r->types->totals.objects, false);
	html_total(out, "total-object-bytes", "their bytes",
		   r->types->totals.object_bytes, true);
	if (s->meta.flags & SNAP_NATIVE)
		html_total(out, "total-native-bytes", "native, no object owns",
			   r->types->totals.native_bytes, true);
	if (s->meta.rss_bytes)
		html_total(out, "total-rss", "RSS", s->meta.rss_bytes, true);
	strbuf_addstr(out, nested ? "</dl>\n" : "</dl></header>\n");

	if (r->mem) {
		strbuf_addstr(out, "<h2 id=\"memory\">Memory</h2>\n");
		svg_memory_bar(out, r->mem, r->lost_bytes);
	}

	strbuf_addstr(out, "<h2 id=\"modules\">Bytes by module and type</h2>\n"
		      "<p class=\"hint\">Each cell's width is its share of "
		      "the bytes of Python objects. Click a cell to zoom in, "
		      "the top row to zoom out.</p>\n");
	svg_icicle(out, "icicle-modules", r->modules, false);
	strbuf_addstr(out, "<h2 id=\"types\">Types</h2>\n");
	rows_table(out, "types-table", "type", r->types, r->top, true);
	if (r->retained || r->retained_note)
		retained_table(out, r);

	if (r->frames) {
		strbuf_addstr(out, "<h2 id=\"sites\">Allocation sites</h2>\n"
			      "<p class=\"hint\">Where the objects were "
			      "allocated: the outermost frame at the top, as "
			      "tracemalloc recorded it (or as objects name "
			      "their origin). Click a cell to zoom in.</p>\n");
		svg_icicle(out, "icicle-sites", r->frames, false);
		rows_table(out, "sites-table", "site", r->sites, r->top,
			   false);
	}
	if (s->groups.present || r->garbage)
		garbage_table(out, r);
	if ((s->groups.present || r->leaks) && (s->meta.flags & SNAP_LEAKS))
		lost_table(out, r);
}

void render_report_html(struct strbuf *out, const struct html_report *r)
{
	const struct snapshot *s = r->s;
	struct strbuf title = STRBUF_INIT;

	strbuf_addf(&title, "pyheap report: process %lld, ",
		    (long long)s->meta.pid);
	fmt_iso8601(&title, s->meta.taken_at);
	html_page_begin(out, title.buf);
	render_report_body(out, r, title.buf, false);
	html_page_end(out, s);
	strbuf_release(&title);
}
