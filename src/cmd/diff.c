/*
 * pyheap diff A.snap B.snap: what grew and what shrank between two
 * snapshots, by type, module, site or native chunk size, with thresholds
 * for scripts (exit 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_FAIL_GROWTH = 1, OPT_FAIL_KEY_GROWTH, OPT_FAIL_GARBAGE, OPT_FAIL_LOST, OPT_COLOR,
       OPT_WHY };

/* diff --why looks at this many rows that grew: each is a search of B's
 * shortest-path tree over every object. */
#define WHY_ROWS 5

static const struct option_spec diff_options[] = {
	{ ROPT_BY, 0, "by", "KEY",
	  "group by type (default), module, site (allocation site "
	  "FILE:LINE), site,type or native" },
	{ ROPT_DEPTH, 0, "depth", "K",
	  "with --by site: key sites by their K innermost frames, printed "
	  "as a traceback (default 1)" },
	{ ROPT_TOP, 0, "top", "N",
	  "show the first N rows (default 20 in text, all in json and csv; "
	  "0 = all)" },
	{ ROPT_SORT, 0, "sort", "KEY",
	  "bytes (default) or count: by the bytes or count delta, largest "
	  "growth first; drop: by the bytes delta, largest drop first" },
	{ ROPT_MIN_BYTES, 0, "min-bytes", "SIZE",
	  "only rows whose bytes grew or shrank by at least SIZE" },
	{ ROPT_MATCH, 0, "match", "PATTERN",
	  "only rows whose key matches the glob PATTERN (e.g. '__main__.*'; "
	  "repeat for more)" },
	{ ROPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ OPT_FAIL_GROWTH, 0, "fail-if-growth", "SIZE|PCT",
	  "exit 1 if the total bytes grew by more than SIZE (e.g. 10M) or "
	  "PCT percent of A (e.g. 5%)" },
	{ OPT_FAIL_KEY_GROWTH, 0, "fail-if-key-growth", "SIZE",
	  "exit 1 if any row's bytes grew by more than SIZE; the rows are "
	  "named on stderr" },
	{ OPT_FAIL_GARBAGE, 0, "fail-if-garbage-growth", "SIZE|PCT",
	  "exit 1 if the garbage (what pyheap garbage finds, counted by snap) "
	  "grew by more than SIZE or PCT percent of A's" },
	{ OPT_FAIL_LOST, 0, "fail-if-lost-growth", "SIZE|PCT",
	  "exit 1 if the definitely and indirectly lost native memory (what "
	  "pyheap leaks finds) grew by more than SIZE or PCT percent of A's" },
	{ OPT_WHY, 0, "why", NULL,
	  "for the 5 rows shown that grew most (by type, or by site): why "
	  "their new objects are alive, as pyheap why --since A: the path "
	  "that holds most and its accumulation point (B must have its "
	  "references and roots)" },
	{ OPT_COLOR, 0, "color", "WHEN",
	  "colour text: auto (default: on a terminal, unless NO_COLOR is set "
	  "or TERM is dumb), always or never" },
	{ 0 }
};

const struct command_help diff_help = {
	"diff", "[options] A.snap B.snap",
	"show what grew between two snapshots",
	"Compare two snapshots grouped by type, module or allocation site:\n"
	"count and bytes in A and B and the change (B - A), largest growth "
	"first.\nThe total row covers the whole snapshots (malloc chunks, the "
	"[native] row,\napart from objects).  Exit 1 when a --fail-if-* "
	"threshold is crossed\n(the report is still printed).",
	diff_options,
};

enum colour_when { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

struct diff_opts {
	struct report_opts r;
	struct growth_limit total, key, garbage, lost;
	const char *total_arg, *key_arg, *garbage_arg, *lost_arg; /* given */
	enum colour_when colour;
	bool why;
};

/* "10M", "512K", "4096" or "5%", "2.5%". */
static int parse_growth(const char *opt, const char *s, bool pct_ok,
			struct growth_limit *l)
{
	size_t len = strlen(s);

	memset(l, 0, sizeof(*l));
	l->set = true;
	if (len && s[len - 1] == '%') {
		char *end;

		if (!pct_ok)
			return usage_error(&diff_help, "%s: '%s': give a size "
					   "(e.g. 1M), not a percentage",
					   opt, s);
		l->is_percent = true;
		l->percent = strtod(s, &end);
		if (end != s + len - 1 || end == s || *s == '-' ||
		    *s == '+' || !isfinite(l->percent))
			return usage_error(&diff_help, "%s: '%s' is not a "
					   "percentage", opt, s);
		return 0;
	}
	return parse_size(&diff_help, opt, s, &l->bytes);
}

static int on_opt(void *ctx, int id, const char *arg)
{
	struct diff_opts *o = ctx;

	switch (id) {
	case OPT_FAIL_GROWTH:
		o->total_arg = arg;
		return parse_growth("--fail-if-growth", arg, true, &o->total);
	case OPT_FAIL_KEY_GROWTH:
		o->key_arg = arg;
		return parse_growth("--fail-if-key-growth", arg, false,
				    &o->key);
	case OPT_FAIL_GARBAGE:
		o->garbage_arg = arg;
		return parse_growth("--fail-if-garbage-growth", arg, true,
				    &o->garbage);
	case OPT_FAIL_LOST:
		o->lost_arg = arg;
		return parse_growth("--fail-if-lost-growth", arg, true,
				    &o->lost);
	case OPT_WHY:
		o->why = true;
		return 0;
	case OPT_COLOR:
		if (!strcmp(arg, "auto"))
			o->colour = COLOUR_AUTO;
		else if (!strcmp(arg, "always"))
			o->colour = COLOUR_ALWAYS;
		else if (!strcmp(arg, "never"))
			o->colour = COLOUR_NEVER;
		else
			return usage_error(&diff_help, "--color: '%s' is not "
					   "auto, always or never", arg);
		return 0;
	}
	return report_option(&diff_help, &o->r, id, arg);
}

/* https://no-color.org: NO_COLOR set and not empty turns colour off;
 * an explicit --color always still wins, as that page asks. */
static bool use_colour(enum colour_when w)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	if (w != COLOUR_AUTO)
		return w == COLOUR_ALWAYS;
	if (no_color && *no_color)
		return false;
	if (!term || !*term || !strcmp(term, "dumb"))
		return false;
	return isatty(STDOUT_FILENO);
}

/* One warning line when the snapshots are of different processes or
 * Pythons: the diff is still made, a person should know. */
static void warn_mismatch(const char *fa, const struct snapshot *a,
			  const char *fb, const struct snapshot *b)
{
	const char *pa = snapshot_str(a, a->meta.python);
	const char *pb = snapshot_str(b, b->meta.python);
	bool other_pid = a->meta.pid != b->meta.pid;
	bool other_python = strcmp(pa, pb) != 0;
	struct strbuf sb = STRBUF_INIT;

	if (!other_pid && !other_python)
		return;
	fmt_printable(&sb, fa);
	strbuf_addstr(&sb, " and ");
	fmt_printable(&sb, fb);
	strbuf_addstr(&sb, " are from different ");
	if (other_pid)
		strbuf_addf(&sb, "processes (%lld, %lld)%s",
			    (long long)a->meta.pid, (long long)b->meta.pid,
			    other_python ? " and " : "");
	if (other_python) {
		strbuf_addstr(&sb, "Python versions (");
		fmt_printable(&sb, pa);
		strbuf_addstr(&sb, ", ");
		fmt_printable(&sb, pb);
		strbuf_addch(&sb, ')');
	}
	ph_warn("%s", sb.buf);
	strbuf_release(&sb);
}

/*
 * The thresholds, checked on the whole snapshots: the total, and every
 * row before --match, --min-bytes and --top choose what is printed.
 * Appends one line per crossing to msgs; returns whether any crossed.
 */
static bool check_limits(const struct diff_opts *o, const struct diff *d,
			 struct strbuf *msgs)
{
	bool crossed = false;
	size_t i;

	if (growth_crossed(&o->total, d->bytes_a, d->bytes_b)) {
		uint64_t grew = d->bytes_b - d->bytes_a;

		strbuf_addstr(msgs, "pyheap: total bytes grew by ");
		fmt_bytes(msgs, grew);
		strbuf_addstr(msgs, " (");
		fmt_count(msgs, grew);
		strbuf_addstr(msgs, " bytes");
		if (d->bytes_a)
			strbuf_addf(msgs, ", %.1f%%",
				    100.0 * (double)grew / (double)d->bytes_a);
		strbuf_addf(msgs, "), past --fail-if-growth %s\n",
			    o->total_arg);
		crossed = true;
	}
	if (growth_crossed(&o->garbage, garbage_totals_bytes(&d->garbage_a),
			   garbage_totals_bytes(&d->garbage_b))) {
		strbuf_addstr(msgs, "pyheap: garbage grew by ");
		fmt_bytes(msgs, garbage_totals_bytes(&d->garbage_b) -
			  garbage_totals_bytes(&d->garbage_a));
		strbuf_addf(msgs, ", past --fail-if-garbage-growth %s\n",
			    o->garbage_arg);
		crossed = true;
	}
	if (growth_crossed(&o->lost, d->lost_a, d->lost_b)) {
		strbuf_addstr(msgs, "pyheap: lost native memory grew by ");
		fmt_bytes(msgs, d->lost_b - d->lost_a);
		strbuf_addf(msgs, ", past --fail-if-lost-growth %s\n",
			    o->lost_arg);
		crossed = true;
	}
	for (i = 0; i < d->nrows; i++) {
		const struct diff_row *row = &d->rows[i];

		if (!growth_crossed(&o->key, row->bytes_a, row->bytes_b))
			continue;
		strbuf_addf(msgs, "pyheap: %s '", group_by_name(d->by));
		fmt_printable(msgs, row->key);
		strbuf_addstr(msgs, "' grew by ");
		fmt_bytes(msgs, row->bytes_b - row->bytes_a);
		strbuf_addstr(msgs, " (");
		fmt_count(msgs, row->bytes_b - row->bytes_a);
		strbuf_addf(msgs, " bytes), past --fail-if-key-growth %s\n",
			    o->key_arg);
		crossed = true;
	}
	return crossed;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { REPORT_OPTS_INIT };
	struct strbuf out = STRBUF_INIT, msgs = STRBUF_INIT;
	struct snapshot a = { 0 }, b = { 0 };
	struct report ra = { 0 }, rb = { 0 };
	struct diff d = { 0 };
	struct diff_why *dw = NULL;
	size_t ndw = 0;
	const char *fa, *fb;
	bool crossed;
	int rc, first;
	size_t top;

	o.r.diff = true;
	rc = first = options_parse(argc, argv, &diff_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if ((rc = report_options_check(&diff_help, &o.r)))
		goto cleanup;
	if (argc - first != 2) {
		rc = usage_error(&diff_help, argc - first < 2 ?
				 "expected two snapshots, A and B" :
				 "expected only two snapshots, A and B");
		goto cleanup;
	}
	fa = argv[first];
	fb = argv[first + 1];
	if (o.why && o.r.format == FORMAT_CSV) {
		rc = usage_error(&diff_help, "--why: text or json, not csv");
		goto cleanup;
	}
	if (o.why && o.r.by != BY_TYPE &&
	    !(o.r.by == BY_SITE && o.r.depth <= 1)) {
		rc = usage_error(&diff_help, "--why: rows by type or by site "
				 "(one frame) only, not by %s",
				 group_by_name(o.r.by));
		goto cleanup;
	}
	/* --why tells new objects from old ones by A's objects. */
	if ((rc = report_read_level(fa, &o.r, o.why ? SNAP_READ_OBJECTS :
				    SNAP_READ_REPORT, &a)))
		goto cleanup;
	/* --why walks B's references: read them too. */
	if (o.why)
		rc = snapshot_read(fb, &b);
	else
		rc = report_read(fb, &o.r, &b);
	if (rc)
		goto cleanup;
	if ((rc = report_group_depth(&a, o.r.by, o.r.depth, &ra))) {
		ph_error_context(rc, "%s", fa);
		goto cleanup;
	}
	if ((rc = report_group_depth(&b, o.r.by, o.r.depth, &rb))) {
		ph_error_context(rc, "%s", fb);
		goto cleanup;
	}
	warn_mismatch(fa, &a, fb, &b);
	report_diff(&ra, &rb, &d);
	garbage_totals_of(&a, &d.garbage_a);
	garbage_totals_of(&b, &d.garbage_b);
	if (o.garbage.set && (!d.garbage_a.known || !d.garbage_b.known)) {
		const char *f = d.garbage_a.known ? fb : fa;

		rc = ph_error(PH_E_FORMAT, "%s: no garbage totals (snapshots "
			      "have them since pyheap wrote format 1.5, when "
			      "taken stopped): --fail-if-garbage-growth cannot "
			      "be checked", f);
		goto cleanup;
	}
	d.lost_known_a = leaks_lost_bytes(&a, &d.lost_a);
	d.lost_known_b = leaks_lost_bytes(&b, &d.lost_b);
	if (o.lost.set && (!d.lost_known_a || !d.lost_known_b)) {
		rc = ph_error(PH_E_FORMAT, "%s: native memory was not "
			      "classified (pyheap leaks): "
			      "--fail-if-lost-growth cannot be checked",
			      d.lost_known_a ? fb : fa);
		goto cleanup;
	}
	crossed = check_limits(&o, &d, &msgs);
	diff_filter(&d, &o.r.filter);

	top = report_top(&o.r);
	if (o.why) {
		rc = diff_why_analyse(&a, &b, &d, top ? PH_MIN(top, d.nrows) :
				      d.nrows, WHY_ROWS, &dw, &ndw);
		if (rc) {
			if (rc != -PH_E_USAGE)
				ph_error_context(rc, "%s", fb);
			goto cleanup;
		}
	}
	if (o.r.format == FORMAT_JSON)
		render_diff_json(&out, fa, &a, fb, &b, &d, top,
				 o.why ? dw : NULL, ndw);
	else if (o.r.format == FORMAT_CSV)
		render_diff_csv(&out, &d, top);
	else {
		render_diff_text(&out, fa, &a, fb, &b, &d, top,
				 use_colour(o.colour));
		render_diff_why_text(&out, &d, dw, ndw);
	}
	rc = write_stdout(&out);
	/* The report first, then why the status is 1: a script that keeps
	 * stdout still gets the whole report. */
	if (!rc && crossed) {
		fputs(msgs.buf, stderr);
		rc = PH_EXIT_THRESHOLD;
	}

cleanup:
	strbuf_release(&out);
	strbuf_release(&msgs);
	diff_why_release(dw, ndw);
	diff_release(&d);
	report_release(&ra);
	report_release(&rb);
	snapshot_release(&a);
	snapshot_release(&b);
	report_opts_release(&o.r);
	return rc;
}
