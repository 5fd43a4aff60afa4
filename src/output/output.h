/*
 * output/ — renderers.  They format data they are given and never touch a
 * process or a snapshot file.
 *
 * JSON writer: a struct json appends to a strbuf and tracks nesting so
 * callers never place commas by hand.  Keys and strings are escaped (and
 * invalid UTF-8 replaced) by strbuf_add_json_str, so output always parses.
 * Nesting deeper than JSON_MAX_DEPTH is a programming error (ph_die).
 * Output is compact with a newline after the top-level value.
 *
 *         struct json j; json_init(&j, &sb);
 *         json_obj_begin(&j);
 *         json_key(&j, "pid"); json_int(&j, 42);
 *         json_obj_end(&j);
 *
 * Human units: fmt_bytes() gives "1.5 KiB" style text, fmt_ms() "0.42 ms".
 *
 * Reports (report.c) render what analysis/ computed: show's and diff's
 * tables as text (aligned columns, human units, signed deltas, a total
 * row; ANSI colour only when the caller asks), JSON and CSV (exact byte
 * counts; formats are contracts: DESIGN.md "JSON", pyheap-show(1),
 * pyheap-diff(1)).  `top` cuts the rows after the first top (0: all).
 */
#ifndef PYHEAP_OUTPUT_H
#define PYHEAP_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/base.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct strbuf *sb;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* no element written yet at this depth */
	bool after_key;
};

void json_init(struct json *j, struct strbuf *sb);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
/* Finite doubles with up to 3 decimals; non-finite become null. */
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Values where 0 means unknown (a 1.3 snapshot's parent_pid): null. */
void json_int_or_null(struct json *j, int64_t v);
/* A Unix time as fmt_iso8601() writes it, or null for 0. */
void json_time_or_null(struct json *j, double t);
/* "0x7f..." string: JSON numbers cannot hold every 64-bit address. */
void json_addr(struct json *j, uint64_t addr);

void fmt_bytes(struct strbuf *sb, uint64_t n);
void fmt_ms(struct strbuf *sb, double ms);
/* 1234567 -> "1,234,567" */
void fmt_count(struct strbuf *sb, uint64_t n);
/* Deltas: "+1.20 MiB", "-512 B", "0 B"; "+1,024", "-3", "0". */
void fmt_signed_bytes(struct strbuf *sb, int64_t n);
void fmt_signed_count(struct strbuf *sb, int64_t n);
/* A length of time: "0.25 s", "42 s", "10 min 5 s", "3 h 2 min",
 * "2 d 3 h" (sign dropped). */
void fmt_duration(struct strbuf *sb, double seconds);
/* Unix time -> "2026-11-21T10:15:00Z" */
void fmt_iso8601(struct strbuf *sb, double t);
/* Text the target chose (keys, command lines) with control characters as
 * '?', so it cannot steer a terminal or break a line. */
void fmt_printable(struct strbuf *sb, const char *s);
/* Append s as one CSV field (RFC 4180: quoted if it holds , " CR LF). */
void csv_field(struct strbuf *sb, const char *s);

/* Reports (output/report.c).  `file` is the snapshot's path as given. */
struct snapshot;
struct report;
/* The "snapshot" object of the JSON contract (DESIGN.md). */
void json_snapshot_summary(struct json *j, const char *file,
			   const struct snapshot *s);
/* gc: a GC-TRACKED column (show --gc; --by type and module only). */
void render_show_text(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top, bool gc);
void render_show_json(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top);
void render_show_csv(struct strbuf *out, const struct report *r, size_t top);

/*
 * pyheap report of one snapshot, as one self-contained HTML page
 * (html.c): the tables and trees are the analyses' (types and sites as
 * show groups them, trees by module and type and by site frames);
 * frames, sites and mem may be NULL (no sites, no malloc walk).
 */
struct tree;
struct memory_breakdown;
struct html_report {
	const char *file;
	const struct snapshot *s;
	const struct report *types;
	const struct report *sites;
	const struct memory_breakdown *mem;
	uint64_t lost_bytes;            /* definitely + indirectly lost */
	const struct tree *modules;
	const struct tree *frames;
	size_t top;                     /* table rows, 0 all */
	/* The largest retainers (retained_analyse() by object), or NULL
	 * with a note saying why there are none (NULL: not asked). */
	const struct retained *retained;
	const char *retained_note;
	/* pyheap garbage's and leaks' analyses, when the page read the
	 * references and chunks (their groups then say where each was
	 * allocated, and show an example chunk); NULL: the groups snap
	 * stored (GRPS), if any. */
	const struct garbage *garbage;
	const struct leaks *leaks;
};
void render_report_html(struct strbuf *out, const struct html_report *r);
/* Of two snapshots (htmldiff.c): what grew from A to B by type, site
 * and native chunk size (sites, native NULL when either side lacks
 * them), and the tree by module and type with both sides. */
struct html_diff_report {
	const char *file_a, *file_b;
	const struct snapshot *a, *b;
	const struct diff *types, *sites, *native;
	const struct tree *modules;
	const struct tree *frames;      /* by site, both sides; NULL when
					 * either lacks sites */
	size_t top;
	/* Where the rows that grew most accumulate (diff --why), or NULL
	 * with a note saying why not (NULL: not asked). */
	const struct diff_why *why;
	size_t nwhy;
	const char *why_note;
};
void render_report_diff_html(struct strbuf *out,
			     const struct html_diff_report *r);
/* Of a series (htmltrend.c): trend's rows and rates, each worker's memory
 * over time, the first `charts` rows over time, and (latest not NULL)
 * the newest snapshot's page below. */
struct trend;
struct html_trend_report {
	const char *program, *source;
	const struct trend *t;
	size_t top, charts;
	const struct html_report *latest;
};
void render_trend_html(struct strbuf *out, const struct html_trend_report *r);

struct diff;
void render_diff_text(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top, bool colour);
/* dw: diff --why's rows (n of them), or NULL: then JSON rows have no
 * "why". */
struct diff_why;
void render_diff_json(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top, const struct diff_why *dw, size_t ndw);
void render_diff_why_text(struct strbuf *out, const struct diff *d,
			  const struct diff_why *dw, size_t n);
void render_diff_csv(struct strbuf *out, const struct diff *d, size_t top);

/* pyheap why and pyheap retained (output/why.c). */
struct why;
struct retained;
void render_why_text(struct strbuf *out, const char *file,
		     const struct snapshot *s, const struct why *w);
void render_why_json(struct strbuf *out, const char *file,
		     const struct snapshot *s, const struct why *w);
void render_why_csv(struct strbuf *out, const struct why *w);
void render_retained_text(struct strbuf *out, const char *file,
			  const struct retained *r);
void render_retained_json(struct strbuf *out, const char *file,
			  const struct snapshot *s, const struct retained *r);
void render_retained_csv(struct strbuf *out, const struct retained *r);

/* pyheap garbage (output/garbage.c): top groups per part (0: all);
 * addresses adds the collectable objects' addresses to the JSON; since
 * is A's file when g was compared with it (garbage_compare()), or NULL.
 * CSV: one line per group of both parts. */
struct garbage;
void render_garbage_text(struct strbuf *out, const char *file,
			 const struct snapshot *s, const struct garbage *g,
			 size_t top, const char *since);
void render_garbage_json(struct strbuf *out, const char *file,
			 const struct snapshot *s, const struct garbage *g,
			 size_t top, bool addresses, const char *since);
void render_garbage_csv(struct strbuf *out, const struct snapshot *s,
			const struct garbage *g, size_t top);

/* pyheap leaks (output/leaks.c): the classes, then the top groups (or,
 * with holders, native memory by holder; 0: all); since is A's file when
 * l was compared with it (leaks_compare()), or NULL. */
struct leaks;
void render_leaks_text(struct strbuf *out, const char *file,
		       const struct snapshot *s, const struct leaks *l,
		       size_t top, bool holders, const char *since);
void render_leaks_json(struct strbuf *out, const char *file,
		       const struct snapshot *s, const struct leaks *l,
		       size_t top, bool holders, const char *since);
void render_leaks_csv(struct strbuf *out, const struct leaks *l, size_t top,
		      bool holders);

/*
 * Trends (output/trend.c): `source` says where the series came from (a
 * directory, or "N files"); `program` is the series' program.  Text has a
 * table (rates per hour, signed; "-" where there is no rate) and a
 * sparkline of each of the first few leak suspects' bytes over the
 * analysed snapshots (U+2581..U+2588, each line scaled to its own range).
 * JSON and CSV: pyheap-trend(1).
 */
struct trend;
void render_trend_text(struct strbuf *out, const char *program,
		       const char *source, const struct trend *t, size_t top);
void render_trend_json(struct strbuf *out, const char *program,
		       const char *source, const struct trend *t, size_t top);
void render_trend_csv(struct strbuf *out, const struct trend *t, size_t top);
/* The sparkline of n values in at most width characters (a value per
 * character; more values are taken at evenly spaced points). */
void fmt_sparkline(struct strbuf *sb, const uint64_t *v, size_t n,
		   size_t width);

/*
 * Prometheus text exposition format (output/prom.c), for node_exporter's
 * textfile collector.  Every family is a gauge; families are written in
 * the order they were declared, each with its HELP and TYPE lines and all
 * its samples together (as the format requires); a family without samples
 * is left out.  Label values are escaped (backslash, double quote, line
 * feed) and invalid UTF-8 becomes U+FFFD.  Non-finite values are dropped.
 *
 *         struct prom p = PROM_INIT;
 *         size_t f = prom_gauge(&p, "pyheap_rss_bytes", "...");
 *         struct prom_label l[] = { { "program", "worker" } };
 *         prom_sample(&p, f, l, 1, 1048576);
 *         prom_render(&p, &sb);
 */
struct prom_label {
	const char *name, *value;
};

struct prom_family {
	char *name, *help;
	struct strbuf samples;
};

struct prom {
	struct prom_family *fams;
	size_t n, alloc;
};
#define PROM_INIT { NULL, 0, 0 }

/* The family `name`, declared now if it is new. */
size_t prom_gauge(struct prom *p, const char *name, const char *help);
void prom_sample(struct prom *p, size_t family, const struct prom_label *l,
		 size_t nlabels, double value);
void prom_render(const struct prom *p, struct strbuf *out);
void prom_release(struct prom *p);
/* p's families as bytes, and those bytes added to p: for metrics made in
 * the sandboxed parsing process (sandbox/sandbox.h).  The merge checks
 * them (metric names, one-line help texts, sample lines of their
 * family): 0, or -PH_E_FORMAT with p holding what came before. */
void prom_serialize(const struct prom *p, struct strbuf *out);
int prom_merge_serialized(struct prom *p, const char *buf, size_t len);

/*
 * pyheap's metrics (pyheap(1) "METRICS").  A snapshot's: its `top` largest
 * types by bytes and an "[other]" bucket with the rest (so sums over types
 * are the totals), native and RSS bytes, pause, time; labels program and
 * pid.  A trend's: growth per hour of its first `top` rows (leak suspects
 * first) and "[other]", the share of intervals each grew in, and the
 * window; labels program and the grouping (type, module, site, size).
 * by_type is the snapshot grouped --by type.
 */
#define PROM_DEFAULT_TOP 20
void prom_add_snapshot(struct prom *p, const char *program,
		       const struct snapshot *s, const struct report *by_type,
		       size_t top);
void prom_add_trend(struct prom *p, const char *program,
		    const struct trend *t, size_t top);

#endif
