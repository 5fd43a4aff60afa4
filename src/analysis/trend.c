/*
 * Trends over a series of snapshots (analysis.h "Trends").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "internal.h"

void trend_series_init(struct trend_series *ts, enum group_by by)
{
	memset(ts, 0, sizeof(*ts));
	ts->by = by;
	ts->key_index = xcalloc(1, sizeof(*ts->key_index));
}

static uint32_t key_id(struct trend_series *ts, const char *key)
{
	size_t len = strlen(key);
	uint32_t id;

	if (strmap_get(ts->key_index, key, len, &id))
		return id;
	PH_GROW(ts->keys, ts->keys_alloc, ts->nkeys + 1);
	ts->keys[ts->nkeys] = xstrdup(key);
	id = (uint32_t)ts->nkeys++;
	/* The map points at the copy, which lives as long as ts. */
	strmap_put(ts->key_index, ts->keys[id], len, id);
	return id;
}

void trend_add(struct trend_series *ts, const struct snapshot *s,
	       const char *file, const struct report *r)
{
	struct trend_point *p;
	size_t i;

	PH_GROW(ts->points, ts->points_alloc, ts->npoints + 1);
	p = &ts->points[ts->npoints++];
	memset(p, 0, sizeof(*p));
	p->taken_at = s->meta.taken_at;
	p->pid = s->meta.pid;
	p->host = xstrdup(snapshot_str(s, s->meta.host));
	p->file = xstrdup(file);
	p->total_count = r->total_count;
	p->total_bytes = r->total_bytes;
	p->first_cell = ts->ncells;
	for (i = 0; i < r->nrows; i++) {
		struct trend_cell *c;

		PH_GROW(ts->cells, ts->cells_alloc, ts->ncells + 1);
		c = &ts->cells[ts->ncells++];
		c->key = key_id(ts, r->rows[i].key);
		c->count = r->rows[i].count;
		c->bytes = r->rows[i].bytes;
	}
	p->ncells = ts->ncells - p->first_cell;
}

void trend_series_release(struct trend_series *ts)
{
	size_t i;

	for (i = 0; i < ts->nkeys; i++)
		free(ts->keys[i]);
	free(ts->keys);
	for (i = 0; i < ts->npoints; i++) {
		free(ts->points[i].host);
		free(ts->points[i].file);
	}
	free(ts->points);
	free(ts->cells);
	if (ts->key_index) {
		strmap_release(ts->key_index);
		free(ts->key_index);
	}
	memset(ts, 0, sizeof(*ts));
}

static int cmp_point(const void *a, const void *b)
{
	const struct trend_point *x = a, *y = b;

	if (x->taken_at != y->taken_at)
		return x->taken_at < y->taken_at ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* A segment while points are grouped: its process and times. */
struct seg_build {
	int64_t pid;
	const char *host;
	double first, last;
	size_t n, rank;
};

static int cmp_seg(const void *a, const void *b)
{
	const struct seg_build *x = a, *y = b;

	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * Group the points (sorted by time) by process, PID and host: a segment
 * per process, segments ordered by their newest snapshot, and the points
 * reordered so that each segment's are consecutive, in time order.  A
 * restart gives the old process's points, then the new one's; several
 * processes of one program snapshotted in turn (snap --all) give a
 * segment each instead of a segment per snapshot.
 */
static void split_segments(struct trend_series *ts, struct trend *t)
{
	struct seg_build *sb = NULL, *sorted;
	struct trend_point *out;
	size_t *seg_of, *next, alloc = 0, nseg = 0, i, k;

	if (!ts->npoints)
		return;
	seg_of = xcalloc(ts->npoints, sizeof(*seg_of));
	for (i = 0; i < ts->npoints; i++) {
		const struct trend_point *p = &ts->points[i];

		for (k = 0; k < nseg; k++)
			if (sb[k].pid == p->pid && !strcmp(sb[k].host, p->host))
				break;
		if (k == nseg) {
			PH_GROW(sb, alloc, nseg + 1);
			sb[nseg].pid = p->pid;
			sb[nseg].host = p->host;
			sb[nseg].first = p->taken_at;
			sb[nseg].n = 0;
			nseg++;
		}
		sb[k].last = p->taken_at;
		sb[k].n++;
		seg_of[i] = k;
	}
	/* Rank the segments by their newest point, then lay the points out
	 * segment after segment (a stable counting sort keeps time order). */
	sorted = xmalloc(nseg * sizeof(*sorted));
	for (k = 0; k < nseg; k++) {
		sorted[k] = sb[k];
		sorted[k].rank = k;         /* the unsorted index, for now */
	}
	qsort(sorted, nseg, sizeof(*sorted), cmp_seg);
	next = xcalloc(nseg, sizeof(*next));
	t->segments = xcalloc(nseg, sizeof(*t->segments));
	t->nsegments = nseg;
	for (k = 0, i = 0; k < nseg; k++) {
		struct trend_segment *seg = &t->segments[k];

		sb[sorted[k].rank].rank = k;
		next[k] = i;
		seg->pid = sorted[k].pid;
		seg->host = sorted[k].host;
		seg->first = i;
		seg->n = sorted[k].n;
		i += seg->n;
	}
	out = xmalloc(ts->npoints * sizeof(*out));
	for (i = 0; i < ts->npoints; i++)
		out[next[sb[seg_of[i]].rank]++] = ts->points[i];
	memcpy(ts->points, out, ts->npoints * sizeof(*out));
	free(out);
	free(next);
	free(sorted);
	free(sb);
	free(seg_of);
}

/*
 * The statistics of one series of values y (count and bytes) at the
 * analysed points.  seg_start[k] marks where a segment starts within the
 * window (0 or 1 per point).
 */
static void series_stats(const struct trend *t, const uint64_t *count,
			 const uint64_t *bytes, const bool *seg_start,
			 struct trend_stats *st)
{
	const struct trend_point *pt = t->points + t->first_analysed;
	size_t n = t->npoints_analysed, a = 0, j;
	double t0 = n ? pt[0].taken_at : 0;
	double sxx = 0, sxb = 0, sxc = 0;

	memset(st, 0, sizeof(*st));
	if (!n)
		return;
	st->count_first = count[0];
	st->bytes_first = bytes[0];
	st->count_last = count[n - 1];
	st->bytes_last = bytes[n - 1];
	/* Segment by segment: centred sums (pooled within-segment least
	 * squares), intervals within the segment only. */
	while (a < n) {
		size_t b = a + 1;
		double mt = 0, mb = 0, mc = 0, m;

		while (b < n && !seg_start[b])
			b++;
		m = (double)(b - a);
		for (j = a; j < b; j++) {
			mt += pt[j].taken_at - t0;
			mb += (double)bytes[j];
			mc += (double)count[j];
		}
		mt /= m;
		mb /= m;
		mc /= m;
		for (j = a; j < b; j++) {
			double dt = pt[j].taken_at - t0 - mt;

			sxx += dt * dt;
			sxb += dt * ((double)bytes[j] - mb);
			sxc += dt * ((double)count[j] - mc);
			if (j > a) {
				st->intervals++;
				if (bytes[j] > bytes[j - 1])
					st->grew++;
			}
		}
		a = b;
	}
	if (sxx > 0) {
		st->bytes_per_hour = sxb / sxx * 3600.0;
		st->count_per_hour = sxc / sxx * 3600.0;
	} else {
		st->bytes_per_hour = NAN;
		st->count_per_hour = NAN;
	}
	st->grew_share = st->intervals ?
		(double)st->grew / (double)st->intervals : 0;
	st->score = st->bytes_per_hour > 0 ?
		st->bytes_per_hour * st->grew_share : 0;
	st->suspect = st->bytes_per_hour > 0 &&
		      st->grew_share >= TREND_SUSPECT_SHARE;
}

/* NaN sorts after every number. */
static int desc_double(double x, double y)
{
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x > y ? -1 : x < y;
}

static int cmp_row(const void *a, const void *b)
{
	const struct trend_row *x = a, *y = b;
	int c = (int)y->st.suspect - (int)x->st.suspect;

	if (!c)
		c = desc_double(x->st.score, y->st.score);

	if (!c)
		c = desc_double(x->st.bytes_per_hour, y->st.bytes_per_hour);
	if (!c)
		c = x->st.bytes_last > y->st.bytes_last ? -1 :
		    x->st.bytes_last < y->st.bytes_last;
	return c ? c : strcmp(x->key, y->key);
}

void trend_analyse(struct trend_series *ts, enum trend_segments which,
		   struct trend *t)
{
	uint64_t *count = NULL, *tc = NULL, *tb = NULL;
	bool *present = NULL, *seg_start = NULL;
	size_t na, i, j, k, cells;
	double lo, hi;

	memset(t, 0, sizeof(*t));
	t->by = ts->by;
	t->which = which;
	if (ts->npoints)
		qsort(ts->points, ts->npoints, sizeof(*ts->points), cmp_point);
	split_segments(ts, t);
	t->points = ts->points;
	t->npoints = ts->npoints;
	if (!t->nsegments)
		return;
	if (which == TREND_LAST) {
		struct trend_segment *last = &t->segments[t->nsegments - 1];

		last->analysed = true;
		t->first_analysed = last->first;
		t->npoints_analysed = last->n;
	} else {
		for (i = 0; i < t->nsegments; i++)
			t->segments[i].analysed = true;
		t->first_analysed = 0;
		t->npoints_analysed = t->npoints;
	}
	na = t->npoints_analysed;
	/* From the first to the last analysed snapshot, whichever segment
	 * they are in. */
	lo = hi = t->points[t->first_analysed].taken_at;
	for (j = 0; j < na; j++) {
		lo = PH_MIN(lo, t->points[t->first_analysed + j].taken_at);
		hi = PH_MAX(hi, t->points[t->first_analysed + j].taken_at);
	}
	t->hours = (hi - lo) / 3600.0;

	seg_start = xcalloc(na, sizeof(*seg_start));
	for (i = 0; i < t->nsegments; i++) {
		const struct trend_segment *s = &t->segments[i];

		if (s->analysed)
			seg_start[s->first - t->first_analysed] = true;
	}
	/* Dense values: key k at analysed point j is [k * na + j]. */
	cells = ts->nkeys * na;
	t->series = xcalloc(cells ? cells : 1, sizeof(*t->series));
	count = xcalloc(cells ? cells : 1, sizeof(*count));
	present = xcalloc(ts->nkeys ? ts->nkeys : 1, sizeof(*present));
	tc = xcalloc(na, sizeof(*tc));
	tb = xcalloc(na, sizeof(*tb));
	for (j = 0; j < na; j++) {
		const struct trend_point *p = &t->points[t->first_analysed + j];

		tc[j] = p->total_count;
		tb[j] = p->total_bytes;
		for (i = 0; i < p->ncells; i++) {
			const struct trend_cell *c = &ts->cells[p->first_cell +
								i];

			t->series[c->key * na + j] = c->bytes;
			count[c->key * na + j] = c->count;
			present[c->key] = true;
		}
	}
	series_stats(t, tc, tb, seg_start, &t->total);
	t->rows = xcalloc(ts->nkeys ? ts->nkeys : 1, sizeof(*t->rows));
	for (k = 0; k < ts->nkeys; k++) {
		struct trend_row *row;

		if (!present[k])
			continue;
		row = &t->rows[t->nrows++];
		row->key = ts->keys[k];
		row->bytes = t->series + k * na;
		series_stats(t, count + k * na, t->series + k * na, seg_start,
			     &row->st);
	}
	t->nkeys = t->nrows;
	if (t->nrows)
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	free(count);
	free(present);
	free(seg_start);
	free(tc);
	free(tb);
}

void trend_filter(struct trend *t, const struct row_filter *f)
{
	size_t i, n = 0;

	for (i = 0; i < t->nrows; i++)
		if (row_filter_match(f, t->rows[i].key))
			t->rows[n++] = t->rows[i];
	t->nrows = n;
}

void trend_release(struct trend *t)
{
	free(t->segments);
	free(t->rows);
	free(t->series);
	memset(t, 0, sizeof(*t));
}
