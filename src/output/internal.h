/*
 * What the files of output/ share and nothing else sees.
 */
#ifndef PYHEAP_OUTPUT_INTERNAL_H
#define PYHEAP_OUTPUT_INTERNAL_H

#include "../analysis/analysis.h"
#include "../base/base.h"

struct json;
struct memory_breakdown;
struct snapshot;

/* The memory breakdown of show (breakdown.c): as the JSON object
 * "memory", and as text before the table (a snapshot with SNAP_NATIVE). */
void json_breakdown(struct json *j, const struct memory_breakdown *m);
void render_breakdown(struct strbuf *out, const struct snapshot *s);

/* pyheap report's HTML (html.c, svg.c): target text escaped for HTML
 * (control characters become spaces); the memory breakdown as a stacked
 * bar and legend (lost: pyheap leaks' lost bytes, part of the unowned);
 * a tree as an icicle. */
struct tree;
struct diff;
void html_text(struct strbuf *out, const char *s);
void html_page_begin(struct strbuf *out, const char *title);
void html_page_end(struct strbuf *out, const struct snapshot *s);
/* prefix: NULL, or HTML put first ("A: "). */
void html_meta_line(struct strbuf *out, const char *prefix, const char *file,
		    const struct snapshot *s);
/* A <dd> of the totals, and table cells: a number's exact value in
 * data-v (what the tables sort by), formatted in the text. */
void html_total(struct strbuf *out, const char *id, const char *what,
		uint64_t v, bool bytes);
void html_td_num(struct strbuf *out, uint64_t v, bool bytes);
void html_td_snum(struct strbuf *out, int64_t v, bool bytes);
void html_td_text(struct strbuf *out, const char *s);
void svg_memory_bar(struct strbuf *out, const struct memory_breakdown *m,
		    uint64_t lost);
/* One snapshot's totals and sections (html.c): the page's own, or (nested)
 * a series' newest snapshot under an h2. */
struct html_report;
void render_report_body(struct strbuf *out, const struct html_report *r,
			const char *heading, bool nested);
/* Over time (svgtime.c): worker w's memory, stacked, with its RSS; one
 * row's bytes in worker w.  Restarts break the lines. */
struct trend;
struct trend_row;
void svg_memory_over_time(struct strbuf *out, const char *id,
			  const struct trend *t, size_t w);
void svg_key_over_time(struct strbuf *out, const struct trend *t,
		       const struct trend_row *row, size_t w);
/* change: colour each cell by how its bytes changed from side 0 to side
 * 1 (widths are side 1's), else by its top-level ancestor. */
void svg_icicle(struct strbuf *out, const char *id, const struct tree *t,
		bool change);
/* The rows of d that changed most, up to n, as bars either side of zero
 * (bytes delta), new and gone keys marked. */
void svg_growth_bars(struct strbuf *out, const char *id,
		     const struct diff *d, size_t n);

/* Garbage totals (analysis.h) in a diff (garbage.c): an object, or null
 * when unknown; one text line when either side knows them. */
/* diff --why (output/why.c): a row's why, as JSON. */
struct diff_why;
void json_diff_why(struct json *j, const struct diff_why *dw);
/* A merged path as one line: "sys.modules -> dict -> ... -> T" (why.c,
 * the text of diff --why's JSON "path"). */
struct why_path;
void merged_path_text(struct strbuf *sb, const struct why_path *p);

struct garbage_totals;
void json_garbage_totals(struct json *j, const struct garbage_totals *t);
void text_garbage_totals(struct strbuf *out, const struct garbage_totals *a,
			 const struct garbage_totals *b);

/* What show and diff share (report.c), for diff.c. */
struct table;
struct table_row;
#define PARTIAL_NOTE "some heap structures could not be walked; counts are " \
	"a floor"
void rep_add_not_modelled(struct strbuf *out, const char *prefix,
			  const struct snapshot *s);
void rep_add_process(struct strbuf *out, const char *word,
		     const struct snapshot *s);
void rep_add_taken(struct strbuf *out, const struct snapshot *s);
void rep_add_unverified(struct strbuf *out, const char *prefix,
			const struct snapshot *s);
void rep_csv_site_header(struct strbuf *out, enum group_by by,
			 unsigned depth);
void rep_csv_site(struct strbuf *out, enum group_by by, unsigned depth,
		  const struct row_site *site);
void rep_depth_note(struct strbuf *out, const char *indent,
		    const char *label, unsigned kept, unsigned depth);
unsigned rep_frames_short(const struct snapshot *s, unsigned depth);
void rep_json_site(struct json *j, enum group_by by, unsigned depth,
		   const struct row_site *site);
const char *rep_key_heading(enum group_by by);
size_t rep_shown(size_t nrows, size_t top);
/* "name": now - before, or null when nothing was compared. */
void rep_json_delta(struct json *j, const char *name, bool compared,
		    uint64_t now, uint64_t before);
void rep_site_cells(struct table_row *row, size_t c, enum group_by by,
		    const struct row_site *site);
size_t rep_site_columns(enum group_by by);
void rep_site_headings(struct table_row *row, size_t c, enum group_by by);
void rep_site_hint(struct strbuf *out, const char *indent,
		   const char *whose);
void rep_site_note(struct strbuf *out, const char *indent,
		   const char *label, const struct snapshot *s);
void rep_site_traceback(struct table *t, const struct row_site *site);
void rep_table_notes(struct table *t, size_t nkeys, size_t nrows,
		     size_t n);

#endif
