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
	p->parent_pid = s->meta.parent_pid;
	p->started_at = s->meta.started_at;
	p->host = xstrdup(snapshot_str(s, s->meta.host));
	p->file = xstrdup(file);
	p->total_count = r->total_count;
	p->total_bytes = r->total_bytes;
	p->object_bytes = r->totals.object_bytes;
	p->native_bytes = r->totals.native_bytes;
	p->rss_bytes = s->meta.rss_bytes;
	{
		struct garbage_totals g;

		garbage_totals_of(s, &g);
		p->garbage_known = g.known;
		p->garbage_count = g.collectable_objects +
				   g.uncollectable_objects;
		p->garbage_bytes = garbage_totals_bytes(&g);
	}
	p->lost_known = leaks_lost_bytes(s, &p->lost_bytes);
	p->lost_chunks = (uint64_t)PH_MAX(0, snapshot_get_stat(s,
		"leaks.definitely_lost.chunks", 0)) + (uint64_t)PH_MAX(0,
		snapshot_get_stat(s, "leaks.indirectly_lost.chunks", 0));
	p->first_cell = ts->ncells;
	for (i = 0; i < r->nrows; i++) {
		struct trend_cell *c;

		PH_GROW(ts->cells, ts->cells_alloc, ts->ncells + 1);
		c = &ts->cells[ts->ncells++];
		c->key = key_id(ts, r->rows[i].key);
		c->count = r->rows[i].count;
		c->bytes = r->rows[i].bytes;
		c->garbage = r->rows[i].garbage_bytes;
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

/* A process while points are grouped: who, when, and its worker. */
struct proc_build {
	int64_t pid, parent_pid;
	double started_at;
	const char *host;
	double first, last;
	size_t n, worker, slot;            /* slot: final segment index */
};

/* The same process: host and PID, and the start time where both know
 * it (a second apart or more is a reused PID; /proc's is to the tick). */
static bool same_process(const struct proc_build *p,
			 const struct trend_point *pt)
{
	if (p->pid != pt->pid || strcmp(p->host, pt->host))
		return false;
	return !p->started_at || !pt->started_at ||
	       fabs(p->started_at - pt->started_at) < 1.0;
}

static int cmp_proc_start(const void *a, const void *b)
{
	const struct proc_build *x = *(const struct proc_build *const *)a;
	const struct proc_build *y = *(const struct proc_build *const *)b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* A worker while it is built: its newest process. */
struct worker_build {
	const struct proc_build *last;
	size_t nsegments;
};

/*
 * How well a free worker suits a process (analysis.h "Workers"): same
 * host first; then by what the start time says of the worker's last
 * process: snapshotted before this one started (it had exited: this is
 * its replacement), unsure, or snapshotted more than a second after (it
 * was still running: not the one replaced); then the same parent.  A
 * start time is the boot time (/proc/stat btime, whole seconds, rounded
 * down) plus clock ticks, so it is never later than the true start and
 * at most a second earlier.
 */
static int worker_fit(const struct worker_build *w,
		      const struct proc_build *p)
{
	double q_last = w->last->last;
	int certainty = 1;

	if (strcmp(w->last->host, p->host))
		return 0;
	if (p->started_at && q_last < p->started_at)
		certainty = 2;
	else if (p->started_at && q_last > p->started_at + 1.0)
		certainty = 0;
	return 1 + 2 * certainty +
	       (w->last->parent_pid && w->last->parent_pid == p->parent_pid);
}

/*
 * Group the points (sorted by time) into processes, the processes into
 * workers, and lay the points out worker by worker, segment by segment,
 * each in time order (analysis.h).
 */
static void split_segments(struct trend_series *ts, struct trend *t)
{
	struct proc_build *pb = NULL, **order;
	struct worker_build *wb = NULL;
	struct trend_point *out;
	size_t *proc_of, *next, alloc = 0, walloc = 0, np = 0, nw = 0;
	size_t i, k, seg, pos;

	if (!ts->npoints)
		return;
	proc_of = xcalloc(ts->npoints, sizeof(*proc_of));
	for (i = 0; i < ts->npoints; i++) {
		const struct trend_point *p = &ts->points[i];

		for (k = 0; k < np; k++)
			if (same_process(&pb[k], p))
				break;
		if (k == np) {
			PH_GROW(pb, alloc, np + 1);
			memset(&pb[np], 0, sizeof(pb[np]));
			pb[np].pid = p->pid;
			pb[np].host = p->host;
			pb[np].first = p->taken_at;
			np++;
		}
		/* What one snapshot knows, another may not (format 1.3). */
		if (!pb[k].parent_pid)
			pb[k].parent_pid = p->parent_pid;
		if (!pb[k].started_at)
			pb[k].started_at = p->started_at;
		pb[k].last = p->taken_at;
		pb[k].n++;
		proc_of[i] = k;
	}

	/* Workers: each process, by its first snapshot, joins the best
	 * free worker or starts one. */
	order = xmalloc(np * sizeof(*order));
	for (k = 0; k < np; k++)
		order[k] = &pb[k];
	qsort(order, np, sizeof(*order), cmp_proc_start);
	for (k = 0; k < np; k++) {
		struct proc_build *p = order[k];
		size_t best = nw;
		int best_fit = -1;

		for (i = 0; i < nw; i++) {
			int fit;

			if (!(wb[i].last->last < p->first))
				continue;
			fit = worker_fit(&wb[i], p);
			if (fit > best_fit || (fit == best_fit &&
			    wb[i].last->last > wb[best].last->last)) {
				best = i;
				best_fit = fit;
			}
		}
		if (best == nw) {
			PH_GROW(wb, walloc, nw + 1);
			wb[nw].nsegments = 0;
			nw++;
		}
		wb[best].last = p;
		wb[best].nsegments++;
		p->worker = best;
	}

	/* Segments worker by worker; within a worker, by time (order is by
	 * first snapshot, and a worker's processes do not overlap). */
	t->workers = xcalloc(nw, sizeof(*t->workers));
	t->nworkers = nw;
	t->segments = xcalloc(np, sizeof(*t->segments));
	t->nsegments = np;
	for (i = 0, seg = 0; i < nw; i++) {
		t->workers[i].first_segment = seg;
		t->workers[i].nsegments = wb[i].nsegments;
		seg += wb[i].nsegments;
	}
	next = xcalloc(nw, sizeof(*next));
	for (k = 0; k < np; k++) {
		struct proc_build *p = order[k];

		p->slot = t->workers[p->worker].first_segment +
			  next[p->worker]++;
	}
	/* Points: segment after segment (a stable counting sort keeps
	 * time order within each). */
	for (k = 0; k < np; k++) {
		struct trend_segment *s = &t->segments[pb[k].slot];

		s->pid = pb[k].pid;
		s->parent_pid = pb[k].parent_pid;
		s->started_at = pb[k].started_at;
		s->host = pb[k].host;
		s->n = pb[k].n;
		s->worker = pb[k].worker;
	}
	for (seg = 0, pos = 0; seg < np; seg++) {
		t->segments[seg].first = pos;
		pos += t->segments[seg].n;
	}
	free(next);
	next = xcalloc(np, sizeof(*next));
	for (seg = 0; seg < np; seg++)
		next[seg] = t->segments[seg].first;
	out = xmalloc(ts->npoints * sizeof(*out));
	for (i = 0; i < ts->npoints; i++)
		out[next[pb[proc_of[i]].slot]++] = ts->points[i];
	memcpy(ts->points, out, ts->npoints * sizeof(*out));
	free(out);
	free(next);
	free(order);
	free(wb);
	free(pb);
	free(proc_of);
}

/*
 * Which workers are gone: another worker has two or more snapshots
 * after a worker's last one.
 */
static void mark_gone(struct trend *t)
{
	size_t w, o, i;

	for (w = 0; w < t->nworkers; w++) {
		const struct trend_worker *a = &t->workers[w];
		const struct trend_segment *ls = &t->segments[a->first_segment +
							      a->nsegments - 1];
		double last = t->points[ls->first + ls->n - 1].taken_at;

		for (o = 0; o < t->nworkers && !t->workers[w].gone; o++) {
			const struct trend_worker *b = &t->workers[o];
			const struct trend_segment *bl = &t->segments[
				b->first_segment + b->nsegments - 1];
			size_t after = 0;

			if (o == w)
				continue;
			for (i = t->segments[b->first_segment].first;
			     i < bl->first + bl->n; i++)
				after += t->points[i].taken_at > last;
			if (after >= 2)
				t->workers[w].gone = true;
		}
	}
}

/*
 * The statistics of one series of values (count and bytes) at n points
 * pt (in time order within segments); seg_start[j] marks where a segment
 * starts.
 */
static void series_stats(const struct trend_point *pt, size_t n,
			 const uint64_t *count, const uint64_t *bytes,
			 const bool *seg_start, struct trend_stats *st)
{
	size_t a = 0, j;
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
}

/* grew_share, score and suspect from the rest. */
static void stats_finish(struct trend_stats *st)
{
	st->grew_share = st->intervals ?
		(double)st->grew / (double)st->intervals : 0;
	st->score = st->bytes_per_hour > 0 ?
		st->bytes_per_hour * st->grew_share : 0;
	st->suspect = st->bytes_per_hour > 0 &&
		      st->grew_share >= TREND_SUSPECT_SHARE;
}

/* sum += one worker's statistics (analysis.h: what adds up). */
static void stats_add(struct trend_stats *sum, const struct trend_stats *w,
		      bool first)
{
	if (first) {
		*sum = *w;
		return;
	}
	sum->count_first += w->count_first;
	sum->count_last += w->count_last;
	sum->bytes_first += w->bytes_first;
	sum->bytes_last += w->bytes_last;
	if (isnan(sum->bytes_per_hour)) {
		sum->bytes_per_hour = w->bytes_per_hour;
		sum->count_per_hour = w->count_per_hour;
	} else if (!isnan(w->bytes_per_hour)) {
		sum->bytes_per_hour += w->bytes_per_hour;
		sum->count_per_hour += w->count_per_hour;
	}
	sum->intervals += w->intervals;
	sum->grew += w->grew;
}

/*
 * A summed row's score and suspicion: one steadily leaking worker among
 * idle ones is still a leak of the program (its share of grown intervals
 * would be diluted by theirs).  With one worker, what stats_finish()
 * says.
 */
static void sum_finish(struct trend_stats *sum, double score, bool suspect)
{
	sum->grew_share = sum->intervals ?
		(double)sum->grew / (double)sum->intervals : 0;
	sum->score = score;
	sum->suspect = sum->bytes_per_hour > 0 && suspect;
}

/* NaN sorts after every number. */
static int desc_double(double x, double y)
{
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x > y ? -1 : x < y;
}

static int cmp_stats(const struct trend_stats *x, const struct trend_stats *y)
{
	int c = (int)y->suspect - (int)x->suspect;

	if (!c)
		c = desc_double(x->score, y->score);
	if (!c)
		c = desc_double(x->bytes_per_hour, y->bytes_per_hour);
	if (!c)
		c = x->bytes_last > y->bytes_last ? -1 :
		    x->bytes_last < y->bytes_last;
	return c;
}

static int cmp_row(const void *a, const void *b)
{
	const struct trend_row *x = a, *y = b;
	int c = cmp_stats(&x->st, &y->st);

	return c ? c : strcmp(x->key, y->key);
}

/* Which segments and points are analysed (analysis.h). */
static void choose_analysed(struct trend *t, enum trend_segments which)
{
	size_t w, k;

	if (t->nworkers > 1)
		mark_gone(t);
	for (w = 0; w < t->nworkers; w++) {
		struct trend_worker *wk = &t->workers[w];
		size_t lastseg = wk->first_segment + wk->nsegments - 1;

		if (which == TREND_LAST && wk->gone)
			continue;
		wk->analysed = true;
		t->nworkers_analysed++;
		if (which == TREND_LAST) {
			t->segments[lastseg].analysed = true;
			wk->first = t->segments[lastseg].first;
			wk->n = t->segments[lastseg].n;
		} else {
			for (k = wk->first_segment; k <= lastseg; k++)
				t->segments[k].analysed = true;
			wk->first = t->segments[wk->first_segment].first;
			wk->n = t->segments[lastseg].first +
				t->segments[lastseg].n - wk->first;
		}
		t->npoints_analysed += wk->n;
	}
}

/* The growth per hour of one row's garbage bytes (g, at every point),
 * summed over the analysed workers as the rows' rates are; NaN if no
 * worker has a slope. */
static double garbage_rate(const struct trend *t, const uint64_t *g,
			   const bool *seg_start)
{
	double sum = NAN;
	size_t w;

	for (w = 0; w < t->nworkers; w++) {
		const struct trend_worker *wk = &t->workers[w];
		struct trend_stats st;

		if (!wk->analysed)
			continue;
		series_stats(t->points + wk->first, wk->n, g + wk->first,
			     g + wk->first, seg_start + wk->first, &st);
		stats_finish(&st);
		if (!isnan(st.bytes_per_hour))
			sum = isnan(sum) ? st.bytes_per_hour :
			      sum + st.bytes_per_hour;
	}
	return sum;
}

void trend_analyse(struct trend_series *ts, enum trend_segments which,
		   struct trend *t)
{
	uint64_t *count = NULL, *tc = NULL, *tb = NULL, *gc = NULL, *gb = NULL;
	uint64_t *lc = NULL, *lb = NULL;
	uint64_t *rg = NULL;
	bool *present = NULL, *seg_start = NULL;
	size_t np, i, j, k, w, cells;
	double lo = 0, hi = 0;
	bool any = false;

	memset(t, 0, sizeof(*t));
	t->by = ts->by;
	t->which = which;
	if (ts->npoints)
		qsort(ts->points, ts->npoints, sizeof(*ts->points), cmp_point);
	split_segments(ts, t);
	t->points = ts->points;
	t->npoints = np = ts->npoints;
	if (!t->nsegments)
		return;
	choose_analysed(t, which);

	/* From the first to the last analysed snapshot, whichever worker
	 * or segment they are in. */
	for (w = 0; w < t->nworkers; w++) {
		const struct trend_worker *wk = &t->workers[w];

		for (j = wk->first; wk->analysed && j < wk->first + wk->n;
		     j++) {
			double at = t->points[j].taken_at;

			lo = any ? PH_MIN(lo, at) : at;
			hi = any ? PH_MAX(hi, at) : at;
			any = true;
		}
	}
	t->hours = (hi - lo) / 3600.0;

	seg_start = xcalloc(np, sizeof(*seg_start));
	for (i = 0; i < t->nsegments; i++)
		seg_start[t->segments[i].first] = true;
	/* Dense values: key k at point j is [k * np + j]; only analysed
	 * points are filled. */
	cells = ts->nkeys * np;
	t->series = xcalloc(cells ? cells : 1, sizeof(*t->series));
	count = xcalloc(cells ? cells : 1, sizeof(*count));
	rg = xcalloc(cells ? cells : 1, sizeof(*rg));
	present = xcalloc(ts->nkeys ? ts->nkeys : 1, sizeof(*present));
	tc = xcalloc(np, sizeof(*tc));
	tb = xcalloc(np, sizeof(*tb));
	gc = xcalloc(np, sizeof(*gc));
	gb = xcalloc(np, sizeof(*gb));
	lc = xcalloc(np, sizeof(*lc));
	lb = xcalloc(np, sizeof(*lb));
	t->garbage_known = any;
	t->lost_known = any;
	for (w = 0; w < t->nworkers; w++) {
		const struct trend_worker *wk = &t->workers[w];

		for (j = wk->first; wk->analysed && j < wk->first + wk->n;
		     j++) {
			const struct trend_point *p = &t->points[j];

			tc[j] = p->total_count;
			tb[j] = p->total_bytes;
			gc[j] = p->garbage_count;
			gb[j] = p->garbage_bytes;
			t->garbage_known &= p->garbage_known;
			lc[j] = p->lost_chunks;
			lb[j] = p->lost_bytes;
			t->lost_known &= p->lost_known;
			for (i = 0; i < p->ncells; i++) {
				const struct trend_cell *c =
					&ts->cells[p->first_cell + i];

				t->series[c->key * np + j] = c->bytes;
				count[c->key * np + j] = c->count;
				rg[c->key * np + j] = c->garbage;
				present[c->key] = true;
			}
		}
	}
	t->row_workers = xcalloc(ts->nkeys && t->nworkers ?
				 ts->nkeys * t->nworkers : 1,
				 sizeof(*t->row_workers));
	t->rows = xcalloc(ts->nkeys ? ts->nkeys : 1, sizeof(*t->rows));
	for (k = 0; k <= ts->nkeys + 2; k++) {
		/* k == nkeys: the totals; nkeys + 1: the garbage; nkeys + 2:
		 * lost native memory. */
		bool is_lost = k == ts->nkeys + 2;
		bool is_garbage = k == ts->nkeys + 1;
		bool is_total = k >= ts->nkeys;
		const uint64_t *c = is_lost ? lc : is_garbage ? gc :
				    is_total ? tc : count + k * np;
		const uint64_t *b = is_lost ? lb : is_garbage ? gb :
				    is_total ? tb : t->series + k * np;
		struct trend_stats *per = NULL, sum, one;
		bool first = true, suspect;
		double score;
		struct trend_row *row = NULL;

		if ((!is_total && !present[k]) ||
		    (is_garbage && !t->garbage_known) ||
		    (is_lost && !t->lost_known))
			continue;
		if (!is_total) {
			row = &t->rows[t->nrows++];
			row->key = ts->keys[k];
			row->bytes = t->series + k * np;
			per = t->row_workers + (t->nrows - 1) * t->nworkers;
			row->workers = per;
		}
		memset(&sum, 0, sizeof(sum));
		score = 0;
		suspect = false;
		for (w = 0; w < t->nworkers; w++) {
			struct trend_worker *wk = &t->workers[w];
			struct trend_stats *st = per ? &per[w] : &one;

			if (!wk->analysed) {
				memset(st, 0, sizeof(*st));
				st->bytes_per_hour = NAN;
				st->count_per_hour = NAN;
				continue;
			}
			series_stats(t->points + wk->first, wk->n,
				     c + wk->first, b + wk->first,
				     seg_start + wk->first, st);
			stats_add(&sum, st, first);
			stats_finish(st);
			score += st->score;
			suspect |= st->suspect;
			if (is_total && !is_garbage && !is_lost)
				wk->total = *st;
			first = false;
		}
		sum_finish(&sum, score, suspect);
		if (row)
			row->garbage_per_hour = t->garbage_known ?
				garbage_rate(t, rg + k * np, seg_start) : NAN;
		if (is_lost)
			t->lost = sum;
		else if (is_garbage)
			t->garbage = sum;
		else if (is_total)
			t->total = sum;
		else
			row->st = sum;
	}
	t->nkeys = t->nrows;
	if (t->nrows)
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	/* Each worker's top row in its own ranking. */
	for (w = 0; w < t->nworkers; w++) {
		struct trend_worker *wk = &t->workers[w];

		for (i = 0; wk->analysed && i < t->nrows; i++) {
			const struct trend_stats *st = &t->rows[i].workers[w];

			if (!wk->top || cmp_stats(st, &wk->top_st) < 0) {
				wk->top = t->rows[i].key;
				wk->top_st = *st;
			}
		}
	}
	free(count);
	free(present);
	free(seg_start);
	free(tc);
	free(tb);
	free(gc);
	free(gb);
	free(lc);
	free(lb);
	free(rg);
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
	free(t->workers);
	free(t->row_workers);
	free(t->rows);
	free(t->series);
	memset(t, 0, sizeof(*t));
}
