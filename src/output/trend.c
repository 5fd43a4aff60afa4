/*
 * Rendering trends: text with sparklines for people, JSON and CSV for
 * scripts (formats: pyheap-trend(1)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "table.h"

/* How many suspects get a sparkline, and how wide it may be. */
#define SPARK_ROWS 5
#define SPARK_WIDTH 48

void fmt_sparkline(struct strbuf *sb, const uint64_t *v, size_t n,
		   size_t width)
{
	/* U+2581 LOWER ONE EIGHTH BLOCK .. U+2588 FULL BLOCK */
	static const char *const bars[] = {
		"\u2581", "\u2582", "\u2583", "\u2584",
		"\u2585", "\u2586", "\u2587", "\u2588",
	};
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t i, m = n < width ? n : width;

	for (i = 0; i < n; i++) {
		lo = PH_MIN(lo, v[i]);
		hi = PH_MAX(hi, v[i]);
	}
	for (i = 0; i < m; i++) {
		/* Evenly spaced points, the first and the last included. */
		size_t k = m > 1 ? i * (n - 1) / (m - 1) : n - 1;
		size_t level = hi > lo ?
			(size_t)llround(7.0 * (double)(v[k] - lo) /
					(double)(hi - lo)) : 0;

		strbuf_addstr(sb, bars[level]);
	}
}

static const char *key_heading(enum group_by by)
{
	static const char *const h[] = {
		[BY_TYPE] = "TYPE", [BY_MODULE] = "MODULE",
		[BY_SITE] = "SITE", [BY_NATIVE] = "SIZE CLASS",
		[BY_SITE_TYPE] = "SITE TYPE",
	};

	return h[by];
}

/* "+1.20 MiB", "-512 B", "-" for no rate. */
static void fmt_rate_bytes(struct strbuf *sb, double v)
{
	if (isnan(v)) {
		strbuf_addch(sb, '-');
		return;
	}
	fmt_signed_bytes(sb, (int64_t)llround(v));
}

static void fmt_rate_count(struct strbuf *sb, double v)
{
	if (isnan(v)) {
		strbuf_addch(sb, '-');
		return;
	}
	fmt_signed_count(sb, (int64_t)llround(v));
}

/* A row; g 1 adds the GARBAGE/H column (its rate: garbage) after
 * PER HOUR. */
static void add_row(struct table *tb, const struct trend_stats *st,
		    const char *key, bool is_total, size_t g, double garbage)
{
	struct table_row *row = table_add(tb);

	fmt_bytes(&row->cell[0], st->bytes_first);
	fmt_bytes(&row->cell[1], st->bytes_last);
	fmt_rate_bytes(&row->cell[2], st->bytes_per_hour);
	if (g)
		fmt_rate_bytes(&row->cell[3], garbage);
	fmt_rate_count(&row->cell[3 + g], st->count_per_hour);
	if (st->intervals)
		strbuf_addf(&row->cell[4 + g], "%u/%u", st->grew,
			    st->intervals);
	else
		strbuf_addch(&row->cell[4 + g], '-');
	if (!is_total && st->suspect)
		strbuf_addstr(&row->cell[5 + g], "yes");
	fmt_printable(&row->cell[6 + g], key);
}

/* Hosts are named only when the series spans more than one. */
static bool several_hosts(const struct trend *t)
{
	size_t i;

	for (i = 1; i < t->nsegments; i++)
		if (strcmp(t->segments[i].host, t->segments[0].host))
			return true;
	return false;
}

/* "process 123[ on HOST], 4 snapshots, FROM to TO (DURATION)" */
static void segment_desc(struct strbuf *out, const struct trend *t,
			 const struct trend_segment *seg)
{
	const struct trend_point *a = &t->points[seg->first];
	const struct trend_point *b = &t->points[seg->first + seg->n - 1];

	strbuf_addf(out, "process %lld", (long long)seg->pid);
	if (several_hosts(t)) {
		strbuf_addstr(out, " on ");
		fmt_printable(out, seg->host);
	}
	strbuf_addf(out, ", %zu snapshot%s, ", seg->n, seg->n == 1 ? "" : "s");
	fmt_iso8601(out, a->taken_at);
	if (seg->n > 1) {
		strbuf_addstr(out, " to ");
		fmt_iso8601(out, b->taken_at);
		strbuf_addstr(out, " (");
		fmt_duration(out, b->taken_at - a->taken_at);
		strbuf_addch(out, ')');
	}
}

/* One process at a time: "segment N: ..." as the segments come. */
static void segment_line(struct strbuf *out, const struct trend *t, size_t i)
{
	const struct trend_segment *seg = &t->segments[i];

	strbuf_addf(out, "  segment %zu: ", i + 1);
	segment_desc(out, t, seg);
	if (seg->analysed && t->which == TREND_LAST)
		strbuf_addstr(out, ", analysed");
	strbuf_addch(out, '\n');
}

/* Parallel processes: "worker N: ..." for each of its processes. */
static void worker_lines(struct strbuf *out, const struct trend *t, size_t w)
{
	const struct trend_worker *wk = &t->workers[w];
	size_t i;

	for (i = wk->first_segment; i < wk->first_segment + wk->nsegments;
	     i++) {
		const struct trend_segment *seg = &t->segments[i];

		strbuf_addf(out, "  worker %zu: ", w + 1);
		segment_desc(out, t, seg);
		if (i > wk->first_segment)
			strbuf_addf(out, ", replaced %lld",
				    (long long)t->segments[i - 1].pid);
		if (seg->analysed && t->which == TREND_LAST)
			strbuf_addstr(out, ", analysed");
		if (wk->gone && i + 1 == wk->first_segment + wk->nsegments)
			strbuf_addstr(out, ", gone");
		strbuf_addch(out, '\n');
	}
}

/* One sparkline line: the values at n points, and their range. */
static void spark_line(struct strbuf *out, const uint64_t *v, size_t n)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		lo = PH_MIN(lo, v[k]);
		hi = PH_MAX(hi, v[k]);
	}
	fmt_sparkline(out, v, n, SPARK_WIDTH);
	strbuf_addstr(out, "  ");
	fmt_bytes(out, lo);
	strbuf_addstr(out, " .. ");
	fmt_bytes(out, hi);
	strbuf_addch(out, '\n');
}

static void render_sparklines(struct strbuf *out, const struct trend *t)
{
	size_t i, w, n = 0, width = 0;
	bool several = t->nworkers_analysed > 1;

	for (i = 0; i < t->nrows && n < SPARK_ROWS; i++) {
		if (!t->rows[i].st.suspect)
			continue;
		width = PH_MAX(width, strlen(t->rows[i].key));
		n++;
	}
	if (!n) {
		strbuf_addf(out, "\nNo leak suspects: nothing grew in %.0f%% or "
			    "more of the intervals.\n",
			    100.0 * TREND_SUSPECT_SHARE);
		return;
	}
	if (several)
		strbuf_addstr(out, "\nLeak suspects, bytes at each snapshot of "
			      "each worker (each line from its own low to "
			      "high):\n");
	else
		strbuf_addf(out, "\nLeak suspects, bytes at each of the %zu "
			    "snapshots (each line from its own low to "
			    "high):\n", t->npoints_analysed);
	for (i = 0, n = 0; i < t->nrows && n < SPARK_ROWS; i++) {
		const struct trend_row *row = &t->rows[i];
		bool first = true;

		if (!row->st.suspect)
			continue;
		n++;
		for (w = 0; w < t->nworkers; w++) {
			const struct trend_worker *wk = &t->workers[w];

			if (!wk->analysed)
				continue;
			strbuf_addstr(out, "  ");
			if (first)
				fmt_printable(out, row->key);
			else
				strbuf_addf(out, "%*s", (int)strlen(row->key),
					    "");
			strbuf_addf(out, "%*s  ",
				    (int)(width - strlen(row->key)), "");
			if (several)
				strbuf_addf(out, "w%-3zu ", w + 1);
			spark_line(out, row->bytes + wk->first, wk->n);
			first = false;
		}
	}
}

/*
 * The workers table: each worker's newest process, its growth and the
 * row that leads its own ranking; LEAKS says whether it has a suspect.
 */
static void render_workers(struct strbuf *out, const struct trend *t)
{
	static const char *const heads[] = {
		"WORKER", "PROCESS", "SNAPSHOTS", "LAST", "PER HOUR", "GREW",
		"LEAKS", "TOP SUSPECT",
	};
	struct table tb = { 0 };
	struct table_row *row;
	size_t w;

	strbuf_addstr(out, "\nWorkers (each its own growth; LEAKS: it has a "
		      "leak suspect, named with its growth per hour):\n");
	table_head(&tb, heads, PH_ARRAY_SIZE(heads), 1);
	for (w = 0; w < t->nworkers; w++) {
		const struct trend_worker *wk = &t->workers[w];
		const struct trend_segment *ls =
			&t->segments[wk->first_segment + wk->nsegments - 1];
		bool leaks = wk->top && wk->top_st.suspect;

		row = table_add(&tb);
		strbuf_addf(&row->cell[0], "%zu", w + 1);
		strbuf_addf(&row->cell[1], "%lld", (long long)ls->pid);
		if (!wk->analysed) {
			strbuf_addstr(&row->cell[2], "-");
			strbuf_addstr(&row->cell[7], "(gone: not analysed)");
			continue;
		}
		strbuf_addf(&row->cell[2], "%zu", wk->n);
		fmt_bytes(&row->cell[3], wk->total.bytes_last);
		fmt_rate_bytes(&row->cell[4], wk->total.bytes_per_hour);
		if (wk->total.intervals)
			strbuf_addf(&row->cell[5], "%u/%u", wk->total.grew,
				    wk->total.intervals);
		else
			strbuf_addch(&row->cell[5], '-');
		strbuf_addstr(&row->cell[6], leaks ? "yes" : "no");
		if (!leaks) {
			strbuf_addch(&row->cell[7], '-');
		} else {
			fmt_printable(&row->cell[7], wk->top);
			strbuf_addstr(&row->cell[7], " (");
			fmt_rate_bytes(&row->cell[7],
				       wk->top_st.bytes_per_hour);
			strbuf_addstr(&row->cell[7], "/h)");
		}
	}
	table_render(&tb, out);
	table_release(&tb);
}

void render_trend_text(struct strbuf *out, const char *program,
		       const char *source, const struct trend *t, size_t top)
{
	static const char *const heads[] = {
		"FIRST", "LAST", "PER HOUR", "COUNT/H", "GREW", "SUSPECT",
	};
	struct table tb = { 0 };
	struct strbuf note = STRBUF_INIT;
	size_t i, n = rep_shown(t->nrows, top);
	/* GARBAGE/H: how much of each row's growth is garbage, where every
	 * snapshot says which objects are. */
	size_t g = t->garbage_known;
	struct table_row *head;
	bool workers = t->nworkers > 1;

	strbuf_addstr(out, "Trend of ");
	fmt_printable(out, program);
	strbuf_addstr(out, " (");
	fmt_printable(out, source);
	if (workers) {
		strbuf_addf(out, "): %zu snapshots of %zu processes, %zu "
			    "workers in parallel\n", t->npoints,
			    t->nsegments, t->nworkers);
		for (i = 0; i < t->nworkers; i++)
			worker_lines(out, t, i);
	} else {
		strbuf_addf(out, "): %zu snapshot%s in %zu segment%s\n",
			    t->npoints, t->npoints == 1 ? "" : "s",
			    t->nsegments, t->nsegments == 1 ? "" : "s");
		for (i = 0; i < t->nsegments; i++)
			segment_line(out, t, i);
	}
	if (!t->npoints_analysed)
		return;
	if (workers && t->which == TREND_ALL)
		strbuf_addf(out, "Growth per hour by least squares within each "
			    "process, pooled per worker, summed over the %zu "
			    "workers", t->nworkers_analysed);
	else if (workers)
		strbuf_addf(out, "Growth per hour by least squares over the "
			    "newest process of each of the %zu workers, "
			    "summed", t->nworkers_analysed);
	else if (t->which == TREND_ALL && t->nsegments > 1)
		strbuf_addf(out, "Growth per hour by least squares within each "
			    "of the %zu segments, pooled", t->nsegments);
	else
		strbuf_addf(out, "Growth per hour by least squares over "
			    "segment %zu", t->nsegments);
	strbuf_addstr(out, "; leak suspects (grew steadily) first.\n");
	if (t->npoints_analysed < 2 ||
	    (t->nworkers_analysed && t->npoints_analysed ==
	     t->nworkers_analysed))
		strbuf_addstr(out, "One snapshot: growth needs two or more "
			      "of one process.\n");
	strbuf_addch(out, '\n');

	tb.ncols = 7 + g;
	tb.nleft = 1;
	tb.sep = "  ";
	head = table_add(&tb);
	for (i = 0; i < PH_ARRAY_SIZE(heads); i++)
		strbuf_addstr(&head->cell[i < 3 ? i : i + g], heads[i]);
	if (g)
		strbuf_addstr(&head->cell[3], "GARBAGE/H");
	strbuf_addstr(&head->cell[6 + g], key_heading(t->by));
	for (i = 0; i < n; i++)
		add_row(&tb, &t->rows[i].st, t->rows[i].key, false, g,
			t->rows[i].garbage_per_hour);
	if (n < t->nrows) {
		strbuf_addf(&note, "(%zu more row%s; --top 0 shows all)",
			    t->nrows - n, t->nrows - n == 1 ? "" : "s");
		table_note(&tb, &note);
	}
	if (t->nrows < t->nkeys) {
		strbuf_addf(&note, "(%zu row%s left out by --match)",
			    t->nkeys - t->nrows,
			    t->nkeys - t->nrows == 1 ? "" : "s");
		table_note(&tb, &note);
	}
	add_row(&tb, &t->total, "total", true, g, t->garbage.bytes_per_hour);
	/* What pyheap garbage found in each snapshot, as one more series:
	 * a leak that is garbage grows here too. */
	if (t->garbage_known)
		add_row(&tb, &t->garbage, "garbage (pyheap garbage)", true, g,
			t->garbage.bytes_per_hour);
	/* And lost native memory (pyheap leaks), where classified. */
	if (t->lost_known)
		add_row(&tb, &t->lost, "lost native (pyheap leaks)", true, g,
			NAN);
	table_render(&tb, out);
	table_release(&tb);
	strbuf_release(&note);
	if (workers)
		render_workers(out, t);
	if (t->npoints_analysed > t->nworkers_analysed)
		render_sparklines(out, t);
}

static void json_stats(struct json *j, const struct trend_stats *st)
{
	json_key(j, "count_first"); json_uint(j, st->count_first);
	json_key(j, "count_last"); json_uint(j, st->count_last);
	json_key(j, "bytes_first"); json_uint(j, st->bytes_first);
	json_key(j, "bytes_last"); json_uint(j, st->bytes_last);
	json_key(j, "bytes_per_hour"); json_double(j, st->bytes_per_hour);
	json_key(j, "count_per_hour"); json_double(j, st->count_per_hour);
	json_key(j, "intervals"); json_uint(j, st->intervals);
	json_key(j, "grew"); json_uint(j, st->grew);
	json_key(j, "grew_share"); json_double(j, st->grew_share);
}

/* Times here are never 0. */
static void json_time(struct json *j, double t)
{
	json_time_or_null(j, t);
}

void render_trend_json(struct strbuf *out, const char *program,
		       const char *source, const struct trend *t, size_t top)
{
	struct json j;
	size_t i, k, n = rep_shown(t->nrows, top);

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "program"); json_str(&j, program);
	json_key(&j, "source"); json_str(&j, source);
	json_key(&j, "by"); json_str(&j, group_by_name(t->by));
	json_key(&j, "segments_analysed");
	json_str(&j, t->which == TREND_ALL ? "all" : "last");
	json_key(&j, "segments");
	json_arr_begin(&j);
	for (i = 0; i < t->nsegments; i++) {
		const struct trend_segment *seg = &t->segments[i];

		json_obj_begin(&j);
		json_key(&j, "pid"); json_int(&j, seg->pid);
		json_key(&j, "parent_pid");
		json_int_or_null(&j, seg->parent_pid);
		json_key(&j, "started_at");
		json_time_or_null(&j, seg->started_at);
		json_key(&j, "host"); json_str(&j, seg->host);
		json_key(&j, "worker"); json_uint(&j, seg->worker + 1);
		json_key(&j, "analysed"); json_bool(&j, seg->analysed);
		json_key(&j, "first");
		json_time(&j, t->points[seg->first].taken_at);
		json_key(&j, "last");
		json_time(&j, t->points[seg->first + seg->n - 1].taken_at);
		json_key(&j, "snapshots");
		json_arr_begin(&j);
		for (k = seg->first; k < seg->first + seg->n; k++) {
			json_obj_begin(&j);
			json_key(&j, "file"); json_str(&j, t->points[k].file);
			json_key(&j, "taken_at");
			json_time(&j, t->points[k].taken_at);
			json_key(&j, "count");
			json_uint(&j, t->points[k].total_count);
			json_key(&j, "bytes");
			json_uint(&j, t->points[k].total_bytes);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "workers");
	json_arr_begin(&j);
	for (i = 0; i < t->nworkers; i++) {
		const struct trend_worker *wk = &t->workers[i];

		json_obj_begin(&j);
		json_key(&j, "worker"); json_uint(&j, i + 1);
		json_key(&j, "pids");
		json_arr_begin(&j);
		for (k = wk->first_segment;
		     k < wk->first_segment + wk->nsegments; k++)
			json_int(&j, t->segments[k].pid);
		json_arr_end(&j);
		json_key(&j, "gone"); json_bool(&j, wk->gone);
		json_key(&j, "analysed"); json_bool(&j, wk->analysed);
		json_key(&j, "snapshots_analysed"); json_uint(&j, wk->n);
		json_key(&j, "leaks");
		json_bool(&j, wk->top && wk->top_st.suspect);
		json_key(&j, "top");
		if (wk->top)
			json_str(&j, wk->top);
		else
			json_null(&j);
		json_key(&j, "top_bytes_per_hour");
		json_double(&j, wk->top ? wk->top_st.bytes_per_hour : NAN);
		json_key(&j, "total");
		json_obj_begin(&j);
		json_stats(&j, &wk->total);
		json_obj_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "window_seconds"); json_double(&j, t->hours * 3600.0);
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		const struct trend_row *row = &t->rows[i];

		json_obj_begin(&j);
		json_key(&j, "key"); json_str(&j, row->key);
		json_key(&j, "suspect"); json_bool(&j, row->st.suspect);
		json_key(&j, "score"); json_double(&j, row->st.score);
		json_stats(&j, &row->st);
		/* null unless every snapshot says which objects are
		 * garbage. */
		json_key(&j, "garbage_bytes_per_hour");
		json_double(&j, row->garbage_per_hour);
		json_key(&j, "workers");
		json_arr_begin(&j);
		for (k = 0; k < t->nworkers; k++) {
			if (!t->workers[k].analysed)
				continue;
			json_obj_begin(&j);
			json_key(&j, "worker"); json_uint(&j, k + 1);
			json_key(&j, "suspect");
			json_bool(&j, row->workers[k].suspect);
			json_stats(&j, &row->workers[k]);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "total");
	json_obj_begin(&j);
	json_stats(&j, &t->total);
	json_key(&j, "rows"); json_uint(&j, t->nrows);
	json_key(&j, "keys"); json_uint(&j, t->nkeys);
	json_obj_end(&j);
	json_key(&j, "garbage");
	if (t->garbage_known) {
		json_obj_begin(&j);
		json_stats(&j, &t->garbage);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_key(&j, "lost_native");
	if (t->lost_known) {
		json_obj_begin(&j);
		json_stats(&j, &t->lost);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_obj_end(&j);
}

static void csv_rate(struct strbuf *out, double v)
{
	if (!isnan(v))
		strbuf_addf(out, "%.3f", v);
}

void render_trend_csv(struct strbuf *out, const struct trend *t, size_t top)
{
	size_t i, n = rep_shown(t->nrows, top);

	strbuf_addstr(out, "key,suspect,score,count_first,count_last,"
		      "bytes_first,bytes_last,bytes_per_hour,count_per_hour,"
		      "intervals,grew,grew_share,garbage_bytes_per_hour\n");
	for (i = 0; i < n; i++) {
		const struct trend_row *row = &t->rows[i];
		const struct trend_stats *st = &row->st;

		csv_field(out, row->key);
		strbuf_addf(out, ",%d,%.3f,%llu,%llu,%llu,%llu,",
			    st->suspect, st->score,
			    (unsigned long long)st->count_first,
			    (unsigned long long)st->count_last,
			    (unsigned long long)st->bytes_first,
			    (unsigned long long)st->bytes_last);
		csv_rate(out, st->bytes_per_hour);
		strbuf_addch(out, ',');
		csv_rate(out, st->count_per_hour);
		strbuf_addf(out, ",%u,%u,%.3f,", st->intervals, st->grew,
			    st->grew_share);
		csv_rate(out, row->garbage_per_hour);
		strbuf_addch(out, '\n');
	}
}
