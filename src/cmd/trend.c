/*
 * pyheap trend DIR|SNAP...: how each type (module, site) of one program
 * moved over a series of snapshots: growth per hour, how steadily, leak
 * suspects first; thresholds for cron and metrics for Prometheus.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "output/output.h"
#include "series.h"
#include "snapshot/snapshot.h"

enum {
	OPT_PROGRAM = 1, OPT_SINCE, OPT_SEGMENTS, OPT_FAIL_RATE,
	OPT_FAIL_KEY_RATE, OPT_PROM, OPT_PROM_TOP, OPT_HTML,
};

/* Rows in the tables of an HTML page, and rows charted over time. */
#define HTML_TOP 200
#define HTML_CHARTS 8

static const struct option_spec trend_options[] = {
	{ ROPT_BY, 0, "by", "KEY",
	  "group by type (default), module, site (allocation site "
	  "FILE:LINE), site,type or native" },
	{ ROPT_DEPTH, 0, "depth", "K",
	  "with --by site: key sites by their K innermost frames" },
	{ ROPT_TOP, 0, "top", "N",
	  "show the first N rows (default 20 in text, all in json and csv; "
	  "0 = all)" },
	{ ROPT_MATCH, 0, "match", "PATTERN",
	  "only rows whose key matches the glob PATTERN (repeat for more)" },
	{ ROPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ OPT_PROGRAM, 0, "program", "NAME",
	  "the program whose series to read when DIR holds several" },
	{ OPT_SINCE, 0, "since", "DURATION",
	  "only snapshots taken in the last DURATION (e.g. 30m, 6h, 2d)" },
	{ OPT_SEGMENTS, 0, "segments", "WHICH",
	  "last (default): analyse the newest process of each worker; all: "
	  "every process, each against itself, pooled" },
	{ OPT_FAIL_RATE, 0, "fail-if-growth-rate", "RATE",
	  "exit 1 if the total bytes grow faster than RATE (e.g. 10M/h, "
	  "1G/d; a bare size is per hour)" },
	{ OPT_FAIL_KEY_RATE, 0, "fail-if-key-growth-rate", "RATE",
	  "exit 1 if any row's bytes grow faster than RATE; the rows are "
	  "named on stderr" },
	{ OPT_PROM, 0, "prom", "FILE",
	  "also write Prometheus metrics (growth per hour) to FILE, "
	  "atomically" },
	{ OPT_PROM_TOP, 0, "prom-top", "N",
	  "metrics for the first N rows and an [other] bucket (default "
	  "20)" },
	{ OPT_HTML, 0, "html", "FILE",
	  "also write the series as one HTML page to FILE, atomically "
	  "(pyheap report DIR's page; for cron)" },
	{ 0 }
};

const struct command_help trend_help = {
	"trend", "[options] DIR | SNAP...",
	"show what grows, and how steadily, over a series of snapshots",
	"Read a series of snapshots of one program (a --dir of pyheap snap, "
	"or files)\nand show, per type, module or site, the first and last "
	"value, the growth\nper hour (least squares) and in how many "
	"intervals it grew, leak suspects\nfirst.  Processes that ran at the "
	"same time (the workers of a prefork server)\nare parallel series, "
	"summed and shown per worker; a process that replaces\none that "
	"exited starts a new segment of its worker, and the newest\nsegment "
	"of each worker is analysed.  Exit 1 when a\n"
	"--fail-if-*growth-rate threshold is crossed.",
	trend_options,
};

struct trend_opts {
	struct report_opts r;
	const char *program, *prom, *html;
	double since;               /* seconds, 0 for all */
	enum trend_segments which;
	bool fail_total, fail_key;
	double fail_total_rate, fail_key_rate;  /* bytes per hour */
	const char *fail_total_arg, *fail_key_arg;
	size_t prom_top;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct trend_opts *o = ctx;
	unsigned long long v;
	int rc;

	switch (id) {
	case OPT_PROGRAM:
		o->program = arg;
		return 0;
	case OPT_SINCE:
		return parse_duration(&trend_help, "--since", arg, &o->since);
	case OPT_SEGMENTS:
		if (!strcmp(arg, "last"))
			o->which = TREND_LAST;
		else if (!strcmp(arg, "all"))
			o->which = TREND_ALL;
		else
			return usage_error(&trend_help, "--segments: '%s' is "
					   "not last or all", arg);
		return 0;
	case OPT_FAIL_RATE:
		o->fail_total = true;
		o->fail_total_arg = arg;
		return parse_rate(&trend_help, "--fail-if-growth-rate", arg,
				  &o->fail_total_rate);
	case OPT_FAIL_KEY_RATE:
		o->fail_key = true;
		o->fail_key_arg = arg;
		return parse_rate(&trend_help, "--fail-if-key-growth-rate",
				  arg, &o->fail_key_rate);
	case OPT_PROM:
		o->prom = arg;
		return 0;
	case OPT_HTML:
		if (!*arg)
			return usage_error(&trend_help, "--html: give a file");
		o->html = arg;
		return 0;
	case OPT_PROM_TOP:
		rc = parse_uint(&trend_help, "--prom-top", arg, 1000, &v);
		if (!rc && !v)
			rc = usage_error(&trend_help, "--prom-top: give 1 or "
					 "more");
		if (!rc)
			o->prom_top = (size_t)v;
		return rc;
	}
	return report_option(&trend_help, &o->r, id, arg);
}

/* The series files to read: a directory's (of one program), or the
 * operands. */
struct inputs {
	char **paths;
	size_t n, alloc;
	bool from_dir;
	char *program;              /* from the directory, or NULL */
	char *source;               /* "DIR" or "N files" */
};

static void inputs_release(struct inputs *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->paths[i]);
	free(in->paths);
	free(in->program);
	free(in->source);
	memset(in, 0, sizeof(*in));
}

static void inputs_add(struct inputs *in, const char *path)
{
	PH_GROW(in->paths, in->alloc, in->n + 1);
	in->paths[in->n++] = xstrdup(path);
}

/* A directory: the files of its one program (or of --program). */
static int dir_inputs(const char *dir, const struct trend_opts *o,
		      double cutoff, struct inputs *in)
{
	struct series_file *files;
	struct strbuf names = STRBUF_INIT;
	const char *program = o->program;
	size_t n, i, nprograms = 0;
	int rc;

	rc = series_list(dir, NULL, &files, &n);
	if (rc)
		return rc;
	if (!program) {
		/* Which programs, with how many snapshots each. */
		for (i = 0; i < n; i++) {
			size_t k, count = 0;

			for (k = 0; k < i; k++)
				if (!strcmp(files[k].program, files[i].program))
					break;
			if (k < i)
				continue;
			for (k = i; k < n; k++)
				count += !strcmp(files[k].program,
						 files[i].program);
			strbuf_addf(&names, "%s", nprograms ? ", " : "");
			fmt_printable(&names, files[i].program);
			strbuf_addf(&names, " (%zu)", count);
			nprograms++;
			program = files[i].program;
		}
		if (nprograms > 1) {
			rc = ph_error(PH_E_NOTFOUND, "%s holds the series of "
				      "%zu programs: %s; choose one with "
				      "--program", dir, nprograms, names.buf);
			goto out;
		}
	}
	if (!program) {
		rc = ph_error(PH_E_NOTFOUND, "no snapshots in %s (pyheap snap "
			      "--dir names them PROGRAM-PID-"
			      "YYYYmmddTHHMMSSZ.snap)", dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(files[i].program, program))
			continue;
		/* The name's time is taken_at rounded down. */
		if (cutoff && (double)files[i].when + 1 < cutoff)
			continue;
		inputs_add(in, files[i].path);
	}
	if (!in->n) {
		rc = ph_error(PH_E_NOTFOUND, "no snapshots of %s in %s%s",
			      program, dir, cutoff ? " within --since" : "");
		goto out;
	}
	in->program = xstrdup(program);
	in->source = xstrdup(dir);
	in->from_dir = true;
out:
	series_files_free(files, n);
	strbuf_release(&names);
	return rc;
}

static int get_inputs(int n, char **operands, const struct trend_opts *o,
		      double cutoff, struct inputs *in)
{
	struct stat st;
	int i;

	if (n == 1 && !stat(operands[0], &st) && S_ISDIR(st.st_mode))
		return dir_inputs(operands[0], o, cutoff, in);
	for (i = 0; i < n; i++) {
		if (!stat(operands[i], &st) && S_ISDIR(st.st_mode))
			return usage_error(&trend_help, "%s is a directory: "
					   "give one directory, or snapshot "
					   "files", operands[i]);
		inputs_add(in, operands[i]);
	}
	in->source = xasprintf("%d file%s", n, n == 1 ? "" : "s");
	return 0;
}

/* The program a snapshot file is of: its series name, else what its
 * command line runs. */
static char *file_program(const char *path, const struct snapshot *s)
{
	struct series_file f;
	struct strbuf sb = STRBUF_INIT;
	struct proc_args a;

	if (series_parse_name(ph_basename(path), &f))
		return f.program;
	proc_args_split(snapshot_str(s, s->meta.cmdline), &a);
	program_name(&a, &sb);
	proc_args_release(&a);
	return strbuf_detach(&sb, NULL);
}

/*
 * Read every input into ts.  In a directory a file that cannot be read
 * is skipped with a warning (a series must survive one bad file); named
 * files must all be readable and of one program.
 */
static int read_series(const struct inputs *in, const struct trend_opts *o,
		       double cutoff, struct trend_series *ts,
		       char **program)
{
	char *first_program = NULL;
	struct strbuf skipped = STRBUF_INIT, last_err = STRBUF_INIT;
	size_t i, nskipped = 0;
	int rc = 0;

	for (i = 0; i < in->n && !rc; i++) {
		const char *path = in->paths[i];
		struct snapshot s = { 0 };
		struct report r = { 0 };

		rc = report_read(path, &o->r, &s);
		if (!rc && (rc = report_group_depth(&s, o->r.by, o->r.depth,
						    &r)))
			ph_error_context(rc, "%s", path);
		if (rc && in->from_dir) {
			strbuf_addf(&skipped, "pyheap: warning: skipping %s\n",
				    ph_errmsg());
			strbuf_reset(&last_err);
			strbuf_addstr(&last_err, ph_errmsg());
			nskipped++;
			rc = 0;
			goto next;
		}
		if (rc)
			goto next;
		if (cutoff && s.meta.taken_at < cutoff)
			goto next;
		if (!in->from_dir && !o->program) {
			char *prog = file_program(path, &s);

			if (!first_program) {
				first_program = prog;
			} else if (strcmp(prog, first_program)) {
				rc = ph_error(PH_E_USAGE, "%s is of program "
					      "%s, %s of %s: trend one program "
					      "at a time (or name it with "
					      "--program)", path, prog,
					      in->paths[0], first_program);
				free(prog);
				goto next;
			} else {
				free(prog);
			}
		}
		trend_add(ts, &s, path, &r);
next:
		report_release(&r);
		snapshot_release(&s);
	}
	/* Files skipped are worth a warning when others were read; when
	 * none was, one error says why. */
	if (!rc && !ts->npoints && nskipped)
		rc = ph_error(PH_E_NOTFOUND, "none of the %zu snapshots in %s "
			      "could be read; the last: %s", nskipped,
			      in->source, last_err.buf);
	else if (!rc && !ts->npoints)
		rc = ph_error(PH_E_NOTFOUND, "no snapshot to read%s",
			      cutoff ? " within --since" : "");
	else if (!rc)
		fputs(skipped.buf, stderr);
	strbuf_release(&skipped);
	strbuf_release(&last_err);
	if (rc) {
		free(first_program);
		return rc;
	}
	*program = o->program ? xstrdup(o->program) :
		   in->program ? xstrdup(in->program) :
		   first_program ? first_program : xstrdup("python");
	if (first_program && *program != first_program)
		free(first_program);
	return 0;
}

/* The thresholds on the whole trend (before --match): one line each on
 * msgs; whether any crossed. */
static bool check_limits(const struct trend_opts *o, const struct trend *t,
			 struct strbuf *msgs)
{
	bool crossed = false;
	size_t i;

	if (o->fail_total && t->total.bytes_per_hour > o->fail_total_rate) {
		strbuf_addstr(msgs, "pyheap: total bytes grow by ");
		fmt_bytes(msgs, (uint64_t)t->total.bytes_per_hour);
		strbuf_addf(msgs, " an hour, past --fail-if-growth-rate %s\n",
			    o->fail_total_arg);
		crossed = true;
	}
	for (i = 0; o->fail_key && i < t->nrows; i++) {
		const struct trend_row *row = &t->rows[i];

		if (!(row->st.bytes_per_hour > o->fail_key_rate))
			continue;
		strbuf_addf(msgs, "pyheap: %s '", group_by_name(t->by));
		fmt_printable(msgs, row->key);
		strbuf_addstr(msgs, "' grows by ");
		fmt_bytes(msgs, (uint64_t)row->st.bytes_per_hour);
		strbuf_addf(msgs, " an hour (grew in %u of %u intervals), "
			    "past --fail-if-key-growth-rate %s\n",
			    row->st.grew, row->st.intervals, o->fail_key_arg);
		crossed = true;
	}
	return crossed;
}

/* The series page of t (report DIR, trend --html), with the newest
 * snapshot's page below it; a newest file that cannot be read as a page
 * leaves that part out, with a warning. */
static void series_page(const char *program, const char *source,
			const struct trend *t, size_t top, struct strbuf *out)
{
	struct html_trend_report h = { program, source, t, top, HTML_CHARTS,
				       NULL };
	struct snap_page *latest = NULL;
	size_t i, newest = 0;

	for (i = 1; i < t->npoints; i++)
		if (t->points[i].taken_at > t->points[newest].taken_at)
			newest = i;
	if (t->npoints) {
		/* The summary only: cron keeps this page fresh, and the
		 * retainers read every object. */
		if (snap_page_load(t->points[newest].file, top, false,
				   &latest))
			fprintf(stderr, "pyheap: warning: %s: the newest "
				"snapshot is left out of the page\n",
				ph_errmsg());
		else
			h.latest = snap_page_report(latest);
	}
	render_trend_html(out, &h);
	snap_page_free(latest);
}

int trend_report_dir(const char *dir, const char *program, size_t top,
		     struct strbuf *out)
{
	struct trend_opts o = { REPORT_OPTS_INIT };
	struct inputs in = { 0 };
	struct trend_series ts = { 0 };
	struct trend t = { 0 };
	char *prog = NULL, *operands[1];
	int rc;

	operands[0] = (char *)dir;
	o.program = program;
	trend_series_init(&ts, BY_TYPE);
	rc = get_inputs(1, operands, &o, 0, &in);
	if (!rc)
		rc = read_series(&in, &o, 0, &ts, &prog);
	if (!rc) {
		trend_analyse(&ts, o.which, &t);
		series_page(prog, in.source, &t, top, out);
	}
	trend_release(&t);
	trend_series_release(&ts);
	inputs_release(&in);
	report_opts_release(&o.r);
	free(prog);
	return rc;
}

int cmd_trend(int argc, char **argv)
{
	struct trend_opts o = { REPORT_OPTS_INIT };
	struct strbuf out = STRBUF_INIT, msgs = STRBUF_INIT;
	struct strbuf metrics = STRBUF_INIT;
	struct inputs in = { 0 };
	struct trend_series ts = { 0 };
	struct trend t = { 0 };
	struct prom prom = PROM_INIT;
	char *program = NULL;
	double cutoff = 0;
	bool crossed = false;
	int rc, first;
	size_t top;

	o.prom_top = PROM_DEFAULT_TOP;
	trend_series_init(&ts, BY_TYPE);
	rc = first = options_parse(argc, argv, &trend_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if ((rc = report_options_check(&trend_help, &o.r)))
		goto cleanup;
	if (argc == first) {
		rc = usage_error(&trend_help, "expected a directory or "
				 "snapshot files");
		goto cleanup;
	}
	ts.by = o.r.by;
	if (o.since)
		cutoff = ph_wall_time() - o.since;
	if ((rc = get_inputs(argc - first, argv + first, &o, cutoff, &in)))
		goto cleanup;
	if ((rc = read_series(&in, &o, cutoff, &ts, &program)))
		goto cleanup;
	trend_analyse(&ts, o.which, &t);
	crossed = check_limits(&o, &t, &msgs);
	trend_filter(&t, &o.r.filter);

	top = report_top(&o.r);
	if (o.r.format == FORMAT_JSON)
		render_trend_json(&out, program, in.source, &t, top);
	else if (o.r.format == FORMAT_CSV)
		render_trend_csv(&out, &t, top);
	else
		render_trend_text(&out, program, in.source, &t, top);
	rc = write_stdout(&out);
	if (!rc && o.html) {
		struct strbuf page = STRBUF_INIT;

		/* The rows as --by and --match chose them. */
		series_page(program, in.source, &t, HTML_TOP, &page);
		rc = write_file_atomic(o.html, page.buf, page.len, 0600);
		strbuf_release(&page);
	}
	if (!rc && o.prom) {
		prom_add_trend(&prom, program, &t, o.prom_top);
		prom_render(&prom, &metrics);
		rc = write_file_atomic(o.prom, metrics.buf, metrics.len, 0644);
	}
	if (!rc && crossed) {
		fputs(msgs.buf, stderr);
		rc = PH_EXIT_THRESHOLD;
	}

cleanup:
	strbuf_release(&out);
	strbuf_release(&msgs);
	strbuf_release(&metrics);
	prom_release(&prom);
	trend_release(&t);
	trend_series_release(&ts);
	inputs_release(&in);
	report_opts_release(&o.r);
	free(program);
	return rc;
}
