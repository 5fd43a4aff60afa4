/*
 * pyheap report's charts over time (a series: htmltrend.c), inline SVG:
 * a worker's memory -- Python objects and native memory no object owns,
 * stacked, with the RSS as a line -- and one key's bytes.  A process
 * that replaced another (a restart) starts a new segment: its line is
 * not joined to the last one, and a dashed rule marks where it began.
 * Every point is a circle with its values in a tooltip and in data-*
 * attributes.
 */
#include <math.h>
#include <stdlib.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"

#define W 1200.0
#define LEFT 90.0
#define RIGHT 16.0

struct frame {
	double t0, t1, ymax, top, height;
};

static double fx(const struct frame *f, double t)
{
	if (f->t1 <= f->t0)
		return LEFT + (W - LEFT - RIGHT) / 2;
	return LEFT + (W - LEFT - RIGHT) * (t - f->t0) / (f->t1 - f->t0);
}

static double fy(const struct frame *f, double v)
{
	return f->top + f->height - f->height * v / (f->ymax > 0 ? f->ymax : 1);
}

/* The worker's points, segment by segment: [first, first + n) each. */
static void worker_span(const struct trend *t, size_t w, double *t0,
			double *t1)
{
	const struct trend_worker *wk = &t->workers[w];
	const struct trend_segment *a = &t->segments[wk->first_segment];
	const struct trend_segment *z =
		&t->segments[wk->first_segment + wk->nsegments - 1];

	*t0 = t->points[a->first].taken_at;
	*t1 = t->points[z->first + z->n - 1].taken_at;
}

static void axes(struct strbuf *out, const struct frame *f, bool bytes)
{
	int k;

	for (k = 0; k <= 2; k++) {
		double v = f->ymax * k / 2, y = fy(f, v);

		strbuf_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
			    "y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" "
			    "y=\"%.1f\" text-anchor=\"end\">", LEFT, W - RIGHT,
			    y, y, LEFT - 6, y + 4);
		if (bytes)
			fmt_bytes(out, (uint64_t)v);
		else
			fmt_count(out, (uint64_t)v);
		strbuf_addstr(out, "</text>");
	}
}

static void time_labels(struct strbuf *out, const struct frame *f)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	double y = f->top + f->height + 16;

	fmt_iso8601(&a, f->t0);
	fmt_iso8601(&b, f->t1);
	strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", LEFT, y,
		    a.buf);
	if (f->t1 > f->t0)
		strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"end\">%s</text>", W - RIGHT, y,
			    b.buf);
	strbuf_release(&a);
	strbuf_release(&b);
}

static void restart_rule(struct strbuf *out, const struct frame *f,
			 const struct trend_segment *s, double t)
{
	double x = fx(f, t);

	strbuf_addf(out, "<g class=\"restart\" data-pid=\"%lld\"><line "
		    "x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#555\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
		    "y=\"%.1f\">PID %lld</text></g>", (long long)s->pid, x, x,
		    f->top, f->top + f->height, x + 3, f->top + 10,
		    (long long)s->pid);
}

/* Points of a polyline: v(i) at each point of segment s. */
static void poly(struct strbuf *out, const struct frame *f,
		 const struct trend *t, const struct trend_segment *s,
		 uint64_t (*v)(const struct trend *, size_t, const void *),
		 const void *ctx)
{
	size_t i;

	for (i = s->first; i < s->first + s->n; i++)
		strbuf_addf(out, "%.1f,%.1f ", fx(f, t->points[i].taken_at),
			    fy(f, (double)v(t, i, ctx)));
}

static uint64_t v_objects(const struct trend *t, size_t i, const void *c)
{
	(void)c;
	return t->points[i].object_bytes;
}

static uint64_t v_stacked(const struct trend *t, size_t i, const void *c)
{
	(void)c;
	return t->points[i].object_bytes + t->points[i].native_bytes;
}

static uint64_t v_rss(const struct trend *t, size_t i, const void *c)
{
	(void)c;
	return t->points[i].rss_bytes;
}

static uint64_t v_zero(const struct trend *t, size_t i, const void *c)
{
	(void)t;
	(void)i;
	(void)c;
	return 0;
}

/* An area between two polylines of one segment (lower reversed). */
static void area(struct strbuf *out, const struct frame *f,
		 const struct trend *t, const struct trend_segment *s,
		 uint64_t (*upper)(const struct trend *, size_t, const void *),
		 uint64_t (*lower)(const struct trend *, size_t, const void *),
		 const char *fill)
{
	size_t i;

	strbuf_addstr(out, "<polygon points=\"");
	poly(out, f, t, s, upper, NULL);
	for (i = s->first + s->n; i-- > s->first;)
		strbuf_addf(out, "%.1f,%.1f ", fx(f, t->points[i].taken_at),
			    fy(f, (double)lower(t, i, NULL)));
	strbuf_addf(out, "\" fill=\"%s\" stroke=\"none\"/>", fill);
}

void svg_memory_over_time(struct strbuf *out, const char *id,
			  const struct trend *t, size_t w)
{
	const struct trend_worker *wk = &t->workers[w];
	struct frame f = { 0, 0, 1, 8, 200 };
	size_t k, i;

	worker_span(t, w, &f.t0, &f.t1);
	for (k = 0; k < wk->nsegments; k++) {
		const struct trend_segment *s =
			&t->segments[wk->first_segment + k];

		for (i = s->first; i < s->first + s->n; i++) {
			const struct trend_point *p = &t->points[i];
			double v = (double)(p->object_bytes + p->native_bytes);

			f.ymax = fmax(f.ymax, fmax(v, (double)p->rss_bytes));
		}
	}
	f.ymax *= 1.05;
	strbuf_addf(out, "<svg class=\"chart\" id=\"%s\" data-worker=\"%zu\" "
		    "viewBox=\"0 0 %.0f %.0f\" role=\"img\">", id, w + 1, W,
		    f.top + f.height + 24);
	axes(out, &f, true);
	for (k = 0; k < wk->nsegments; k++) {
		const struct trend_segment *s =
			&t->segments[wk->first_segment + k];

		if (k)
			restart_rule(out, &f, s, t->points[s->first].taken_at);
		area(out, &f, t, s, v_objects, v_zero, "#7FB8D8");
		area(out, &f, t, s, v_stacked, v_objects, "#F2CF7F");
		if (t->points[s->first].rss_bytes) {
			strbuf_addstr(out, "<polyline fill=\"none\" "
				      "stroke=\"#1b1b1b\" stroke-width=\"2\" "
				      "points=\"");
			poly(out, &f, t, s, v_rss, NULL);
			strbuf_addstr(out, "\"/>");
		}
		for (i = s->first; i < s->first + s->n; i++) {
			const struct trend_point *p = &t->points[i];
			struct strbuf tip = STRBUF_INIT;

			fmt_iso8601(&tip, p->taken_at);
			strbuf_addf(&tip, ", PID %lld: objects ",
				    (long long)p->pid);
			fmt_bytes(&tip, p->object_bytes);
			strbuf_addstr(&tip, ", native ");
			fmt_bytes(&tip, p->native_bytes);
			if (p->rss_bytes) {
				strbuf_addstr(&tip, ", RSS ");
				fmt_bytes(&tip, p->rss_bytes);
			}
			strbuf_addf(out, "<circle class=\"pt\" cx=\"%.1f\" "
				    "cy=\"%.1f\" r=\"3\" fill=\"#0072B2\" "
				    "data-t=\"%.3f\" data-objects=\"%llu\" "
				    "data-native=\"%llu\" data-rss=\"%llu\">"
				    "<title>", fx(&f, p->taken_at),
				    fy(&f, (double)p->object_bytes),
				    p->taken_at,
				    (unsigned long long)p->object_bytes,
				    (unsigned long long)p->native_bytes,
				    (unsigned long long)p->rss_bytes);
			html_text(out, tip.buf);
			strbuf_addstr(out, "</title></circle>");
			strbuf_release(&tip);
		}
	}
	time_labels(out, &f);
	strbuf_addstr(out, "</svg>\n");
}

void svg_key_over_time(struct strbuf *out, const struct trend *t,
		       const struct trend_row *row, size_t w)
{
	const struct trend_worker *wk = &t->workers[w];
	struct frame f = { 0, 0, 1, 6, 70 };
	size_t k, i;

	/* A row has values at the analysed points only (analysis.h
	 * "Trends"): other segments stay blank, on the same time axis as
	 * the memory chart. */
	worker_span(t, w, &f.t0, &f.t1);
	for (k = 0; k < wk->nsegments; k++) {
		const struct trend_segment *s =
			&t->segments[wk->first_segment + k];

		for (i = s->first; s->analysed && i < s->first + s->n; i++)
			f.ymax = fmax(f.ymax, (double)row->bytes[i]);
	}
	f.ymax *= 1.05;
	strbuf_addf(out, "<svg class=\"spark\" viewBox=\"0 0 %.0f %.0f\" "
		    "role=\"img\">", W, f.top + f.height + 24);
	axes(out, &f, true);
	for (k = 0; k < wk->nsegments; k++) {
		const struct trend_segment *s =
			&t->segments[wk->first_segment + k];

		if (k)
			restart_rule(out, &f, s, t->points[s->first].taken_at);
		if (!s->analysed)
			continue;
		strbuf_addf(out, "<polyline fill=\"none\" stroke=\"%s\" "
			    "stroke-width=\"2\" points=\"",
			    row->st.suspect ? "#D55E00" : "#0072B2");
		for (i = s->first; i < s->first + s->n; i++)
			strbuf_addf(out, "%.1f,%.1f ",
				    fx(&f, t->points[i].taken_at),
				    fy(&f, (double)row->bytes[i]));
		strbuf_addstr(out, "\"/>");
		for (i = s->first; i < s->first + s->n; i++)
			strbuf_addf(out, "<circle class=\"pt\" cx=\"%.1f\" "
				    "cy=\"%.1f\" r=\"2.5\" fill=\"#333\" "
				    "data-bytes=\"%llu\"/>",
				    fx(&f, t->points[i].taken_at),
				    fy(&f, (double)row->bytes[i]),
				    (unsigned long long)row->bytes[i]);
	}
	time_labels(out, &f);
	strbuf_addstr(out, "</svg>\n");
}
