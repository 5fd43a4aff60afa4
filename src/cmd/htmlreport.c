/*
 * pyheap report SNAP: one self-contained HTML page of a snapshot, to open
 * in a browser or attach to a ticket (pyheap-report(1)).  It reads what
 * show reads (types, sites, the summary, the groups snap stored: no
 * object), so it takes what show takes whatever the heap's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "series.h"
#include "snapshot/snapshot.h"

enum { HOPT_OUTPUT = 1, HOPT_TOP, HOPT_QUIET, HOPT_PROGRAM,
       HOPT_SUMMARY_ONLY };

#define DEFAULT_TOP 200
/* Rows of the largest retainers, and of where the growth accumulates
 * (as diff --why). */
#define RETAINERS 20
#define WHY_ROWS 5

static const struct option_spec report_options[] = {
	{ HOPT_OUTPUT, 'o', "output", "FILE",
	  "write the page to FILE (default: SNAP, or B.snap, with .html for "
	  ".snap; DIR/report.html)" },
	{ HOPT_TOP, 0, "top", "N",
	  "rows in each table (default 200; 0 = all)" },
	{ HOPT_PROGRAM, 0, "program", "NAME",
	  "with DIR: the program whose series to read when DIR holds "
	  "several" },
	{ HOPT_SUMMARY_ONLY, 0, "summary-only", NULL,
	  "read only the snapshots' summaries: leave out the largest "
	  "retainers and where growth accumulates (they read every object "
	  "and reference)" },
	{ HOPT_QUIET, 'q', "quiet", NULL, "do not print what was written" },
	{ 0 }
};

const struct command_help report_help = {
	"report", "[options] SNAP | A.snap B.snap | DIR",
	"write a snapshot, or what changed between two, as one HTML page",
	"Write one self-contained HTML file about a snapshot: the memory\n"
	"breakdown as a stacked bar, icicles of bytes by module and type and "
	"by\nallocation site (click to zoom), the tables of show, and the "
	"garbage\nand lost native memory snap found.  Of two snapshots: "
	"growth bars and\ntables of diff by type, site and native chunk size, "
	"new and gone keys\nmarked, and the icicle coloured by change.  The "
	"file loads nothing from\nelsewhere (it opens offline, from "
	"file://), reads the same with\nJavaScript off, and is written "
	"atomically with mode 0600, as snapshots are.\nOf a directory (a "
	"series, as trend reads it): memory over time with\nrestarts marked, "
	"what grows, and the newest snapshot's page.",
	report_options,
};

struct ropts {
	const char *output, *program;
	unsigned long long top;
	bool quiet, summary_only;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct ropts *o = ctx;

	switch (id) {
	case HOPT_OUTPUT:
		if (!*arg)
			return usage_error(&report_help, "-o: give a file");
		o->output = arg;
		return 0;
	case HOPT_TOP:
		return parse_uint(&report_help, "--top", arg, 1u << 30,
				  &o->top);
	case HOPT_QUIET:
		o->quiet = true;
		return 0;
	case HOPT_PROGRAM:
		o->program = arg;
		return 0;
	case HOPT_SUMMARY_ONLY:
		o->summary_only = true;
		return 0;
	}
	return 1;
}

/* SNAP's name with .html for .snap (or .html added). */
static char *default_output(const char *snap)
{
	size_t n = strlen(snap);

	if (n > 5 && !strcmp(snap + n - 5, ".snap"))
		return xasprintf("%.*s.html", (int)(n - 5), snap);
	return xasprintf("%s.html", snap);
}

/* A snapshot loaded for its page (cmd.h): what page_one() and a series'
 * newest snapshot render. */
struct snap_page {
	struct report_opts ro;
	struct snapshot s;
	struct report types, sites;
	struct memory_breakdown mem;
	struct tree modules, frames;
	struct retained ret;
	struct garbage garbage;
	struct leaks leaks;
	struct html_report h;
	bool have_mem, have_ret, have_garbage, have_leaks;
};

void snap_page_free(struct snap_page *p)
{
	if (!p)
		return;
	if (p->have_mem)
		memory_breakdown_release(&p->mem);
	tree_release(&p->modules);
	tree_release(&p->frames);
	if (p->have_ret)
		retained_release(&p->ret);
	if (p->have_garbage)
		garbage_release(&p->garbage);
	if (p->have_leaks)
		leaks_release(&p->leaks);
	report_release(&p->types);
	report_release(&p->sites);
	free((char *)p->h.retained_note);
	snapshot_release(&p->s);
	report_opts_release(&p->ro);
	free(p);
}

const struct html_report *snap_page_report(const struct snap_page *p)
{
	return &p->h;
}

int snap_page_load(const char *file, size_t top, bool retainers,
		   struct snap_page **out)
{
	struct snap_page *p = xcalloc(1, sizeof(*p));
	struct report_opts ro = REPORT_OPTS_INIT;
	int rc;

	*out = NULL;
	p->ro = ro;
	tree_init(&p->modules, "all Python objects");
	tree_init(&p->frames, "all sites");
	/* The retainers need every object and reference; the rest, the
	 * summary show reads. */
	rc = retainers ? snapshot_read(file, &p->s) :
	     report_read_level(file, &p->ro, SNAP_READ_REPORT, &p->s);
	if (rc)
		goto fail;
	if (retainers) {
		if (!retained_analyse(&p->s, RET_OBJECT, RETAINERS, &p->ret)) {
			p->have_ret = true;
			p->h.retained = &p->ret;
		} else {
			/* An old file without references, say: the page
			 * without the table, and why. */
			p->h.retained_note = xstrdup(ph_errmsg());
		}
		/* With the references at hand, garbage and lost groups
		 * come from the analyses themselves: with where each
		 * garbage group was allocated and an example chunk.  A
		 * snapshot they cannot analyse keeps the stored groups. */
		if (!garbage_analyse(&p->s, &p->garbage)) {
			p->have_garbage = true;
			p->h.garbage = &p->garbage;
		}
		if ((p->s.meta.flags & SNAP_LEAKS) &&
		    !leaks_analyse_groups(&p->s, &p->leaks)) {
			p->have_leaks = true;
			p->h.leaks = &p->leaks;
		}
	}
	rc = report_group(&p->s, BY_TYPE, &p->types);
	if (!rc)
		rc = tree_by_module_type(&p->s, 1, &p->modules);
	if (!rc && p->s.nsites) {
		rc = report_group(&p->s, BY_SITE, &p->sites);
		if (!rc)
			rc = tree_by_site(&p->s, 1, &p->frames);
		p->h.sites = &p->sites;
		p->h.frames = &p->frames;
	}
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto fail;
	}
	tree_finish(&p->modules, 1);
	tree_finish(&p->frames, 1);
	p->h.file = file;
	p->h.s = &p->s;
	p->h.types = &p->types;
	p->h.modules = &p->modules;
	p->h.top = top;
	if (p->s.meta.flags & SNAP_NATIVE) {
		memory_breakdown(&p->s, &p->mem);
		p->have_mem = true;
		p->h.mem = &p->mem;
		leaks_lost_bytes(&p->s, &p->h.lost_bytes);
	}
	*out = p;
	return 0;
fail:
	snap_page_free(p);
	return rc;
}

/* One snapshot's page into out. */
static int page_one(const char *file, size_t top, bool retainers,
		    struct strbuf *out)
{
	struct snap_page *p;
	int rc = snap_page_load(file, top, retainers, &p);

	if (rc)
		return rc;
	render_report_html(out, snap_page_report(p));
	snap_page_free(p);
	return 0;
}

/* A's and B's rows grouped by `by` (into ra and rb, which d's keys point
 * into), paired, growth first; or report_group()'s error, naming the
 * file. */
static int diff_of(const struct snapshot *a, const char *fa,
		   const struct snapshot *b, const char *fb, enum group_by by,
		   struct report *ra, struct report *rb, struct diff *d)
{
	static const struct row_filter all = ROW_FILTER_INIT;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = report_group(a, by, ra)))
		ph_error_context(rc, "%s", fa);
	else if ((rc = report_group(b, by, rb)))
		ph_error_context(rc, "%s", fb);
	if (!rc) {
		report_diff(ra, rb, d);
		diff_filter(d, &all);
	}
	return rc;
}

/* Two snapshots' page into out. */
static int page_two(const char *fa, const char *fb, size_t top, bool why,
		    struct strbuf *out)
{
	struct diff_why *dw = NULL;
	size_t ndw = 0;
	char *why_note = NULL;
	struct report_opts ro = REPORT_OPTS_INIT;
	struct snapshot a = { 0 }, b = { 0 };
	struct diff types = { 0 }, sites = { 0 }, native = { 0 };
	struct report r[6];
	struct tree modules, frames;
	size_t i;
	struct html_diff_report h;
	int rc;

	memset(r, 0, sizeof(r));
	tree_init(&modules, "all Python objects");
	tree_init(&frames, "all sites");
	/* diff --why tells new objects from old ones by A's objects and
	 * walks B's references: read them too. */
	rc = report_read_level(fa, &ro, why ? SNAP_READ_OBJECTS :
			       SNAP_READ_REPORT, &a);
	if (!rc)
		rc = why ? snapshot_read(fb, &b) :
		     report_read_level(fb, &ro, SNAP_READ_REPORT, &b);
	if (!rc)
		rc = diff_of(&a, fa, &b, fb, BY_TYPE, &r[0], &r[1], &types);
	if (!rc && a.nsites && b.nsites)
		rc = diff_of(&a, fa, &b, fb, BY_SITE, &r[2], &r[3], &sites);
	if (!rc && (a.meta.flags & SNAP_NATIVE) &&
	    (b.meta.flags & SNAP_NATIVE))
		rc = diff_of(&a, fa, &b, fb, BY_NATIVE, &r[4], &r[5], &native);
	if (!rc)
		rc = tree_by_module_type(&a, 0, &modules);
	if (!rc)
		rc = tree_by_module_type(&b, 1, &modules);
	if (!rc && a.nsites && b.nsites)
		rc = tree_by_site(&a, 0, &frames);
	if (!rc && a.nsites && b.nsites)
		rc = tree_by_site(&b, 1, &frames);
	if (rc)
		goto out;
	tree_finish(&modules, 1);
	tree_finish(&frames, 1);
	types.lost_known_a = leaks_lost_bytes(&a, &types.lost_a);
	types.lost_known_b = leaks_lost_bytes(&b, &types.lost_b);
	memset(&h, 0, sizeof(h));
	h.file_a = fa;
	h.file_b = fb;
	h.a = &a;
	h.b = &b;
	h.types = &types;
	h.sites = a.nsites && b.nsites ? &sites : NULL;
	h.frames = a.nsites && b.nsites ? &frames : NULL;
	h.native = (a.meta.flags & SNAP_NATIVE) &&
		   (b.meta.flags & SNAP_NATIVE) ? &native : NULL;
	h.modules = &modules;
	h.top = top;
	if (why) {
		/* A file without references, say: the page without it,
		 * and why. */
		if (diff_why_analyse(&a, &b, &types, types.nrows, WHY_ROWS,
				     &dw, &ndw)) {
			why_note = xstrdup(ph_errmsg());
			h.why_note = why_note;
		} else {
			h.why = dw;
			h.nwhy = ndw;
		}
	}
	render_report_diff_html(out, &h);
out:
	diff_why_release(dw, ndw);
	free(why_note);
	tree_release(&modules);
	tree_release(&frames);
	diff_release(&types);
	diff_release(&sites);
	diff_release(&native);
	for (i = 0; i < PH_ARRAY_SIZE(r); i++)
		report_release(&r[i]);
	snapshot_release(&a);
	snapshot_release(&b);
	report_opts_release(&ro);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	struct ropts o = { NULL, NULL, DEFAULT_TOP, false, false };
	struct stat st;
	bool dir;
	struct strbuf out = STRBUF_INIT;
	char *path = NULL;
	int rc, first, n;

	rc = first = options_parse(argc, argv, &report_help, on_opt, &o);
	if (first <= 0)
		goto out;
	n = argc - first;
	if (n < 1 || n > 2) {
		rc = usage_error(&report_help, n ? "expected one snapshot, two "
				 "to compare, or a directory" :
				 "missing snapshot or directory");
		goto out;
	}
	dir = n == 1 && !stat(argv[first], &st) && S_ISDIR(st.st_mode);
	if (!dir && o.program) {
		rc = usage_error(&report_help, "--program: only with a "
				 "directory");
		goto out;
	}
	if (dir)
		path = o.output ? xstrdup(o.output) :
		       xasprintf("%s/report.html", argv[first]);
	else
		path = o.output ? xstrdup(o.output) :
		       default_output(argv[argc - 1]);
	if (dir)
		rc = trend_report_dir(argv[first], o.program, (size_t)o.top,
				      &out);
	else if (n == 1)
		rc = page_one(argv[first], (size_t)o.top, !o.summary_only,
			      &out);
	else
		rc = page_two(argv[first], argv[first + 1], (size_t)o.top,
			      !o.summary_only,
			      &out);
	if (!rc)
		rc = write_file_atomic(path, out.buf, out.len, 0600);
	if (!rc && !o.quiet) {
		struct strbuf sz = STRBUF_INIT;

		fmt_bytes(&sz, out.len);
		if (n == 1)
			printf("%s: report of %s%s, %s\n", path,
			       dir ? "the series in " : "", argv[first],
			       sz.buf);
		else
			printf("%s: report of %s to %s, %s\n", path,
			       argv[first], argv[first + 1], sz.buf);
		strbuf_release(&sz);
		rc = fflush(stdout) ? ph_error(PH_E_IO, "stdout: cannot "
					       "write") : 0;
	}
out:
	strbuf_release(&out);
	free(path);
	return rc;
}
