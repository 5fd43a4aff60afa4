/*
 * Monitoring: analysis/trend (least squares, segments, the suspects'
 * ranking), the Prometheus writer, sparklines, and cmd/series (file names,
 * program names, durations and rates).  The commands themselves are
 * checked end to end by tests/live/suite_series.py and tests/golden.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "check_util.h"
#include "cmd/series.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

/* One snapshot's worth: a time, a PID and (key, bytes) pairs with a count
 * of bytes / 8. */
struct cell_spec {
	const char *key;
	uint64_t bytes;
};

/* A snapshot of a process that knows its parent and start time (format
 * 1.4); add_point() is one that does not. */
static void add_point_of(struct trend_series *ts, double when, int64_t pid,
			 int64_t parent, double started,
			 const struct cell_spec *c, size_t n)
{
	struct snapshot s;
	struct report r = { 0 };
	char file[64];
	size_t i;

	snapshot_init(&s);
	s.meta.taken_at = when;
	s.meta.pid = pid;
	s.meta.parent_pid = parent;
	s.meta.started_at = started;
	s.meta.host = snapshot_cstring(&s, "host1");
	r.rows = calloc(n ? n : 1, sizeof(*r.rows));
	for (i = 0; i < n; i++) {
		r.rows[i].key = c[i].key;
		r.rows[i].bytes = c[i].bytes;
		r.rows[i].count = c[i].bytes / 8;
		r.total_bytes += c[i].bytes;
		r.total_count += c[i].bytes / 8;
	}
	r.nrows = n;
	snprintf(file, sizeof(file), "p%lld-%.0f.snap", (long long)pid, when);
	trend_add(ts, &s, file, &r);
	free(r.rows);
	snapshot_release(&s);
}

static void add_point(struct trend_series *ts, double when, int64_t pid,
		      const struct cell_spec *c, size_t n)
{
	add_point_of(ts, when, pid, 0, 0, c, n);
}

static const struct trend_row *row_of(const struct trend *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].key, key))
			return &t->rows[i];
	return NULL;
}

START_TEST(slope_is_least_squares)
{
	struct trend_series ts;
	struct trend t;
	const struct trend_row *r;
	int i;

	trend_series_init(&ts, BY_TYPE);
	/* Added out of order: analyse sorts by time.  "leak" grows 800
	 * bytes every 10 minutes (4800 an hour); "noise" goes up and down;
	 * "flat" stays. */
	for (i = 4; i >= 0; i--) {
		struct cell_spec c[] = {
			{ "leak", 8000 + 800 * (uint64_t)i },
			{ "noise", i % 2 ? 16000 : 8000 },
			{ "flat", 4000 },
		};

		add_point(&ts, 1e9 + 600.0 * i, 42, c, 3);
	}
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nsegments, 1);
	ck_assert_uint_eq(t.npoints_analysed, 5);
	ck_assert(fabs(t.hours - 2400.0 / 3600) < 1e-9);
	r = &t.rows[0];
	ck_assert_str_eq(r->key, "leak");
	ck_assert(fabs(r->st.bytes_per_hour - 4800) < 1e-6);
	ck_assert(fabs(r->st.count_per_hour - 600) < 1e-6);
	ck_assert_uint_eq(r->st.intervals, 4);
	ck_assert_uint_eq(r->st.grew, 4);
	ck_assert(r->st.suspect);
	ck_assert_uint_eq(r->st.bytes_first, 8000);
	ck_assert_uint_eq(r->st.bytes_last, 8000 + 3200);
	ck_assert_uint_eq(r->bytes[4], 8000 + 3200);
	/* noise: 8000 16000 8000 16000 8000: slope 0, grew in 2 of 4. */
	r = row_of(&t, "noise");
	ck_assert(fabs(r->st.bytes_per_hour) < 1e-6);
	ck_assert_uint_eq(r->st.grew, 2);
	ck_assert(!r->st.suspect);
	r = row_of(&t, "flat");
	ck_assert(r->st.bytes_per_hour == 0 && r->st.grew == 0);
	/* The total is the sum of the rows. */
	ck_assert(fabs(t.total.bytes_per_hour - 4800) < 1e-6);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(steady_growth_outranks_a_steeper_step)
{
	struct trend_series ts;
	struct trend t;
	int i;

	trend_series_init(&ts, BY_TYPE);
	/* "step" jumps once by 100 KB in the middle (a steep least-squares
	 * slope); "leak" grows 1 KB every interval. */
	for (i = 0; i < 8; i++) {
		struct cell_spec c[] = {
			{ "step", i < 4 ? 100000 : 200000 },
			{ "leak", 1000 + 1000 * (uint64_t)i },
		};

		add_point(&ts, 600.0 * i, 7, c, 2);
	}
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_str_eq(t.rows[0].key, "leak");
	ck_assert_str_eq(t.rows[1].key, "step");
	ck_assert(t.rows[1].st.bytes_per_hour > 10 *
		  t.rows[0].st.bytes_per_hour);
	ck_assert_uint_eq(t.rows[1].st.grew, 1);
	ck_assert(!t.rows[1].st.suspect);
	ck_assert(t.rows[0].st.suspect);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(a_new_pid_starts_a_segment)
{
	struct trend_series ts;
	struct trend t;
	const struct trend_row *r;
	int i;

	trend_series_init(&ts, BY_TYPE);
	/* Process 1 leaks 3600 bytes an hour from 50000; it restarts as
	 * process 2 at 10000 and leaks at the same rate.  Mixed, the drop
	 * would make the slope negative. */
	for (i = 0; i < 4; i++) {
		struct cell_spec c[] = { { "leak", 50000 + 600 * (uint64_t)i },
					 { "old", 64 } };

		add_point(&ts, 600.0 * i, 1, c, 2);
	}
	for (i = 0; i < 3; i++) {
		struct cell_spec c[] = { { "leak", 10000 + 600 *
						   (uint64_t)i } };

		add_point(&ts, 3000 + 600.0 * i, 2, c, 1);
	}
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nsegments, 2);
	ck_assert_int_eq(t.segments[0].pid, 1);
	ck_assert_uint_eq(t.segments[0].n, 4);
	ck_assert(!t.segments[0].analysed && t.segments[1].analysed);
	/* One process at a time: one worker, restarted. */
	ck_assert_uint_eq(t.nworkers, 1);
	ck_assert_uint_eq(t.workers[0].nsegments, 2);
	ck_assert_uint_eq(t.workers[0].first, 4);
	ck_assert_uint_eq(t.npoints_analysed, 3);
	r = row_of(&t, "leak");
	ck_assert(fabs(r->st.bytes_per_hour - 3600) < 1e-6);
	ck_assert_uint_eq(r->st.bytes_first, 10000);
	/* A key only the old process had is not in the last segment. */
	ck_assert_ptr_null(row_of(&t, "old"));
	trend_release(&t);

	/* All segments: pooled within-segment slope, intervals within
	 * segments only (3 + 2). */
	trend_analyse(&ts, TREND_ALL, &t);
	ck_assert(t.segments[0].analysed && t.segments[1].analysed);
	r = row_of(&t, "leak");
	ck_assert(fabs(r->st.bytes_per_hour - 3600) < 1e-6);
	ck_assert_uint_eq(r->st.intervals, 5);
	ck_assert_uint_eq(r->st.grew, 5);
	ck_assert_uint_eq(r->st.bytes_first, 50000);
	ck_assert_uint_eq(r->st.bytes_last, 11200);
	r = row_of(&t, "old");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->st.bytes_last, 0);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(processes_snapshotted_in_turn)
{
	struct trend_series ts;
	struct trend t;
	const struct trend_row *r;
	int i;

	/* snap --all on two workers of one program every 10 minutes: the
	 * points alternate between PIDs.  Worker 10 leaks 1200 bytes an
	 * hour, worker 11 2400: parallel series, summed, not a restart. */
	trend_series_init(&ts, BY_TYPE);
	for (i = 0; i < 4; i++) {
		struct cell_spec a[] = { { "leak", 8000 + 200 *
						   (uint64_t)i } };
		struct cell_spec b[] = { { "leak", 90000 + 400 *
						   (uint64_t)i } };

		add_point(&ts, 600.0 * i, 10, a, 1);
		add_point(&ts, 600.0 * i + 5, 11, b, 1);
	}
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nsegments, 2);
	ck_assert_uint_eq(t.nworkers, 2);
	ck_assert_uint_eq(t.nworkers_analysed, 2);
	ck_assert_int_eq(t.segments[0].pid, 10);
	ck_assert_uint_eq(t.segments[0].n, 4);
	ck_assert_int_eq(t.segments[1].pid, 11);
	ck_assert(t.segments[0].analysed && t.segments[1].analysed);
	ck_assert_uint_eq(t.npoints_analysed, 8);
	r = row_of(&t, "leak");
	ck_assert(fabs(r->st.bytes_per_hour - 3600) < 1e-6);
	ck_assert(fabs(r->workers[0].bytes_per_hour - 1200) < 1e-6);
	ck_assert(fabs(r->workers[1].bytes_per_hour - 2400) < 1e-6);
	ck_assert_uint_eq(r->st.intervals, 6);
	ck_assert_uint_eq(r->st.bytes_first, 98000);
	ck_assert_uint_eq(r->st.bytes_last, 98000 + 1800);
	ck_assert(r->st.suspect && r->workers[0].suspect);
	ck_assert_str_eq(t.workers[1].top, "leak");
	ck_assert(t.workers[1].top_st.suspect);
	ck_assert(fabs(t.total.bytes_per_hour - 3600) < 1e-6);
	ck_assert(fabs(t.hours - 1805.0 / 3600) < 1e-9);
	trend_release(&t);
	/* Each worker one process: all segments is the same. */
	trend_analyse(&ts, TREND_ALL, &t);
	r = row_of(&t, "leak");
	ck_assert(fabs(r->st.bytes_per_hour - 3600) < 1e-6);
	ck_assert_uint_eq(r->st.intervals, 6);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

/* Three workers of master 1, snapshotted in rounds 10 minutes apart;
 * each leaks 600 bytes a round.  kill[w] is the round after which worker
 * w's process exits; the replacement (if any) appears the round after. */
static void prefork_rounds(struct trend_series *ts, int rounds,
			   const int *kill, bool replace)
{
	int r, w;
	int64_t pid[3] = { 100, 101, 102 }, next = 200;
	double start[3] = { 1.0, 1.0, 1.0 };
	int born[3] = { 0, 0, 0 };

	for (r = 0; r < rounds; r++) {
		for (w = 0; w < 3; w++) {
			struct cell_spec c[] = { { "leak", 1000 + 600 *
				(uint64_t)(r - born[w]) }, { "flat", 64 } };

			if (kill[w] >= 0 && r == kill[w] + 1) {
				if (!replace)
					continue;
				pid[w] = next++;
				start[w] = 600.0 * r - 30;
				born[w] = r;
				c[0].bytes = 1000;
			} else if (kill[w] >= 0 && r > kill[w] + 1 &&
				   !replace) {
				continue;
			}
			add_point_of(ts, 600.0 * r + w, pid[w], 1, start[w],
				     c, 2);
		}
	}
}

START_TEST(a_replaced_worker_continues_its_series)
{
	struct trend_series ts;
	struct trend t;
	const struct trend_row *r;
	int kill[3] = { -1, 1, -1 };

	/* Worker 101 exits after round 1 (gunicorn's max_requests); 200
	 * takes its place from round 2: a new segment of the second worker
	 * only. */
	trend_series_init(&ts, BY_TYPE);
	prefork_rounds(&ts, 5, kill, true);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nworkers, 3);
	ck_assert_uint_eq(t.nsegments, 4);
	ck_assert_uint_eq(t.workers[0].nsegments, 1);
	ck_assert_uint_eq(t.workers[1].nsegments, 2);
	ck_assert_uint_eq(t.workers[2].nsegments, 1);
	ck_assert_int_eq(t.segments[t.workers[1].first_segment].pid, 101);
	ck_assert_int_eq(t.segments[t.workers[1].first_segment + 1].pid, 200);
	ck_assert(!t.segments[t.workers[1].first_segment].analysed);
	ck_assert_uint_eq(t.workers[1].n, 3);
	ck_assert_uint_eq(t.workers[0].n, 5);
	r = row_of(&t, "leak");
	/* 3600 an hour each. */
	ck_assert(fabs(r->st.bytes_per_hour - 3 * 3600) < 1e-6);
	ck_assert_uint_eq(r->st.intervals, 4 + 2 + 4);
	ck_assert(r->st.suspect);
	ck_assert_str_eq(t.workers[0].top, "leak");
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(a_worker_not_replaced_is_gone)
{
	struct trend_series ts;
	struct trend t;
	int kill[3] = { -1, -1, 0 };

	/* Worker 102 exits after round 0 and nothing replaces it. */
	trend_series_init(&ts, BY_TYPE);
	prefork_rounds(&ts, 4, kill, false);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nworkers, 3);
	ck_assert(t.workers[2].gone && !t.workers[2].analysed);
	ck_assert(!t.workers[0].gone && t.workers[0].analysed);
	ck_assert_uint_eq(t.nworkers_analysed, 2);
	ck_assert(fabs(row_of(&t, "leak")->st.bytes_per_hour - 2 * 3600) <
		  1e-6);
	trend_release(&t);
	trend_analyse(&ts, TREND_ALL, &t);
	ck_assert_uint_eq(t.nworkers_analysed, 3);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(same_parent_and_reused_pids)
{
	struct trend_series ts;
	struct trend t;
	struct cell_spec c[] = { { "x", 8 } };

	/* Workers of two masters (1 and 2) exit together; the replacement
	 * of master 2's, started later, joins master 2's worker although
	 * master 1's was freed last. */
	trend_series_init(&ts, BY_TYPE);
	add_point_of(&ts, 0, 10, 1, 1, c, 1);
	add_point_of(&ts, 1, 20, 2, 1, c, 1);
	add_point_of(&ts, 600, 10, 1, 1, c, 1);
	add_point_of(&ts, 601, 20, 2, 1, c, 1);
	add_point_of(&ts, 1200, 21, 2, 1100, c, 1);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nworkers, 2);
	ck_assert_uint_eq(t.workers[1].nsegments, 2);
	ck_assert_int_eq(t.segments[t.workers[1].first_segment + 1].pid, 21);
	trend_release(&t);
	trend_series_release(&ts);

	/* Worker 10's process exited after its snapshot at 2, 20's ran on
	 * to 600; 30 started at 300: it replaced 10, although 20 was freed
	 * last (the start time says 20 still ran after 30 started). */
	trend_series_init(&ts, BY_TYPE);
	add_point_of(&ts, 0, 10, 1, 1, c, 1);
	add_point_of(&ts, 1, 20, 1, 1, c, 1);
	add_point_of(&ts, 2, 10, 1, 1, c, 1);
	add_point_of(&ts, 600, 20, 1, 1, c, 1);
	add_point_of(&ts, 1200, 30, 1, 300, c, 1);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nworkers, 2);
	ck_assert_uint_eq(t.workers[0].nsegments, 2);
	ck_assert_int_eq(t.segments[1].pid, 30);
	ck_assert_int_eq(t.segments[2].pid, 20);
	trend_release(&t);
	trend_series_release(&ts);

	/* A PID reused by a later process is another process. */
	trend_series_init(&ts, BY_TYPE);
	add_point_of(&ts, 0, 10, 1, 1, c, 1);
	add_point_of(&ts, 600, 10, 1, 1, c, 1);
	add_point_of(&ts, 1200, 10, 1, 1100, c, 1);
	add_point_of(&ts, 1800, 10, 1, 1100, c, 1);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nworkers, 1);
	ck_assert_uint_eq(t.nsegments, 2);
	ck_assert_uint_eq(t.npoints_analysed, 2);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(one_point_has_no_rate)
{
	struct trend_series ts;
	struct trend t;
	struct cell_spec c[] = { { "a", 10 } };
	const char *pats[] = { "b*" };
	struct row_filter f = ROW_FILTER_INIT;

	trend_series_init(&ts, BY_TYPE);
	add_point(&ts, 5, 3, c, 1);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert(isnan(t.rows[0].st.bytes_per_hour));
	ck_assert_uint_eq(t.rows[0].st.intervals, 0);
	ck_assert(t.rows[0].st.score == 0 && !t.rows[0].st.suspect);
	f.match = pats;
	f.nmatch = 1;
	trend_filter(&t, &f);
	ck_assert_uint_eq(t.nrows, 0);
	ck_assert_uint_eq(t.nkeys, 1);
	trend_release(&t);
	trend_series_release(&ts);

	/* No points at all. */
	trend_series_init(&ts, BY_TYPE);
	trend_analyse(&ts, TREND_LAST, &t);
	ck_assert_uint_eq(t.nsegments, 0);
	ck_assert_uint_eq(t.nrows, 0);
	trend_release(&t);
	trend_series_release(&ts);
}
END_TEST

START_TEST(prom_format)
{
	struct prom p = PROM_INIT;
	struct strbuf sb = STRBUF_INIT;
	size_t a = prom_gauge(&p, "x_bytes", "Some bytes");
	size_t b = prom_gauge(&p, "y_seconds", "Never sampled");
	struct prom_label l[] = { { "program", "w" },
				  { "type", "a\"b\\c\nd\xff" } };

	ck_assert_uint_eq(prom_gauge(&p, "x_bytes", "again"), a);
	prom_sample(&p, a, l, 2, 1234567890123.0);
	prom_sample(&p, a, l, 1, 0.25);
	prom_sample(&p, a, NULL, 0, 1795259244.04076);
	prom_sample(&p, b, l, 1, NAN);
	prom_render(&p, &sb);
	ck_assert_str_eq(sb.buf,
		"# HELP x_bytes Some bytes\n"
		"# TYPE x_bytes gauge\n"
		"x_bytes{program=\"w\",type=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} "
		"1234567890123\n"
		"x_bytes{program=\"w\"} 0.25\n"
		"x_bytes 1795259244.04076\n");
	strbuf_release(&sb);
	prom_release(&p);
}
END_TEST

START_TEST(sparkline)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t v[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	uint64_t flat[] = { 9, 9, 9 };

	fmt_sparkline(&sb, v, 8, 48);
	ck_assert_str_eq(sb.buf, "▁▂▃▄▅▆▇█");
	strbuf_reset(&sb);
	/* Two of the eight, first and last. */
	fmt_sparkline(&sb, v, 8, 2);
	ck_assert_str_eq(sb.buf, "▁█");
	strbuf_reset(&sb);
	fmt_sparkline(&sb, flat, 3, 48);
	ck_assert_str_eq(sb.buf, "▁▁▁");
	strbuf_release(&sb);
}
END_TEST

START_TEST(series_names)
{
	struct series_file f;
	char *p;

	ck_assert(series_parse_name("leaky_worker-4242-20261127T090000Z.snap",
				    &f));
	ck_assert_str_eq(f.program, "leaky_worker");
	ck_assert_int_eq(f.pid, 4242);
	ck_assert_int_eq(f.when, 1795770000);
	ck_assert_uint_eq(f.seq, 1);
	free(f.program);
	/* A program with dashes and digits; a second file in one second. */
	ck_assert(series_parse_name("my-app-2-17-20261127T090000Z-3.snap",
				    &f));
	ck_assert_str_eq(f.program, "my-app-2");
	ck_assert_int_eq(f.pid, 17);
	ck_assert_uint_eq(f.seq, 3);
	free(f.program);
	ck_assert(!series_parse_name("pyheap-4242-20261127T090000.snap", &f));
	ck_assert(!series_parse_name("w-1-20261127T090000Z.snap.tmp-5", &f));
	ck_assert(!series_parse_name("-1-20261127T090000Z.snap", &f));
	ck_assert(!series_parse_name("w-x-20261127T090000Z.snap", &f));
	ck_assert(!series_parse_name("w-1-20261327T090000Z.snap", &f));
	ck_assert(!series_parse_name("w-1-20261127T090000Z-1.snap", &f));
	ck_assert(!series_parse_name("w-1-20261127T090000Z-.snap", &f));
	p = series_path("/nonexistent/d/", "w", 12, 1795770000);
	ck_assert_str_eq(p, "/nonexistent/d/w-12-20261127T090000Z.snap");
	free(p);
}
END_TEST

static void check_program(const char *cmdline, const char *want)
{
	struct proc_args a;
	struct strbuf sb = STRBUF_INIT;

	proc_args_split(cmdline, &a);
	program_name(&a, &sb);
	ck_assert_msg(!strcmp(sb.buf, want), "%s: got %s, want %s", cmdline,
		      sb.buf, want);
	proc_args_release(&a);
	strbuf_release(&sb);
}

START_TEST(program_names)
{
	struct strbuf sb = STRBUF_INIT;

	check_program("/usr/bin/python3 examples/leaky_worker.py --rate 5",
		      "leaky_worker");
	check_program("python3.11 -u -X dev -W ignore /srv/app/main.py",
		      "main");
	check_program("/usr/bin/python3 -m celery worker", "celery");
	check_program("python3 -mhttp.server 8000", "http.server");
	check_program("/usr/bin/python3 /usr/local/bin/gunicorn app:app",
		      "gunicorn");
	check_program("python3 -c pass", "python3");
	check_program("python3", "python3");
	check_program("gunicorn: master [app]", "gunicorn");
	check_program("/opt/uwsgi --ini x", "uwsgi");
	check_program("python3 weird$name!.py", "weird_name_");
	program_sanitise(".hidden/../x", &sb);
	ck_assert_str_eq(sb.buf, "_hidden_.._x");
	strbuf_reset(&sb);
	program_sanitise("", &sb);
	ck_assert_str_eq(sb.buf, "python");
	strbuf_release(&sb);
}
END_TEST

START_TEST(durations_and_rates)
{
	double v;

	ck_assert_int_eq(parse_duration(&trend_help, "--since", "30m", &v), 0);
	ck_assert(v == 1800);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "1.5h", &v), 0);
	ck_assert(v == 5400);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "2d", &v), 0);
	ck_assert(v == 172800);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "30", &v),
			 -PH_E_USAGE);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "-1h", &v),
			 -PH_E_USAGE);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "0s", &v),
			 -PH_E_USAGE);
	ck_assert_int_eq(parse_duration(&trend_help, "--since", "3y", &v),
			 -PH_E_USAGE);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "10M/h", &v), 0);
	ck_assert(v == 10.0 * 1024 * 1024);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "24K/d", &v), 0);
	ck_assert(v == 1024);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "1K/min", &v), 0);
	ck_assert(v == 60 * 1024);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "5M", &v), 0);
	ck_assert(v == 5.0 * 1024 * 1024);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "5M/w", &v),
			 -PH_E_USAGE);
	ck_assert_int_eq(parse_rate(&trend_help, "--r", "M/h", &v),
			 -PH_E_USAGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trend");
	TCase *tc = tcase_create("trend");

	tcase_add_test(tc, slope_is_least_squares);
	tcase_add_test(tc, steady_growth_outranks_a_steeper_step);
	tcase_add_test(tc, a_new_pid_starts_a_segment);
	tcase_add_test(tc, processes_snapshotted_in_turn);
	tcase_add_test(tc, a_replaced_worker_continues_its_series);
	tcase_add_test(tc, a_worker_not_replaced_is_gone);
	tcase_add_test(tc, same_parent_and_reused_pids);
	tcase_add_test(tc, one_point_has_no_rate);
	tcase_add_test(tc, prom_format);
	tcase_add_test(tc, sparkline);
	tcase_add_test(tc, series_names);
	tcase_add_test(tc, program_names);
	tcase_add_test(tc, durations_and_rates);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
