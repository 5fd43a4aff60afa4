/*
 * pyheap show SNAP: what a snapshot holds, grouped by type, module, site
 * or native chunk size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

static const struct option_spec show_options[] = {
	{ ROPT_BY, 0, "by", "KEY",
	  "group by type (default), module, site (allocation site "
	  "FILE:LINE), site,type or native" },
	{ ROPT_DEPTH, 0, "depth", "K",
	  "with --by site: key sites by their K innermost frames, printed "
	  "as a traceback (default 1)" },
	{ ROPT_TOP, 0, "top", "N",
	  "show the first N rows (default 20 in text, all in json and csv; "
	  "0 = all)" },
	{ ROPT_SORT, 0, "sort", "KEY", "sort by bytes (default) or count" },
	{ ROPT_MIN_BYTES, 0, "min-bytes", "SIZE",
	  "only rows of at least SIZE bytes (e.g. 64K)" },
	{ ROPT_MATCH, 0, "match", "PATTERN",
	  "only rows whose key matches the glob PATTERN (e.g. '__main__.*'; "
	  "repeat for more)" },
	{ ROPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ ROPT_GC, 0, "gc", NULL,
	  "with --by type or module: a GC-TRACKED column, the objects "
	  "gc.get_objects() lists (json and csv always have gc_tracked)" },
	{ 0 }
};

const struct command_help show_help = {
	"show", "[options] SNAP",
	"show a snapshot's objects by type, module or allocation site",
	"Show the objects of a snapshot grouped by type, module or allocation "
	"site:\ncount and bytes (sys.getsizeof), largest first.  The total "
	"row covers the\nwhole snapshot; malloc chunks (the [native] row) "
	"are totalled apart from\nobjects.  Sites are traced when the target "
	"ran with PYTHONTRACEMALLOC=1\n(or -X tracemalloc), else inferred "
	"where an object names its own origin.",
	show_options,
};

static int on_opt(void *ctx, int id, const char *arg)
{
	return report_option(&show_help, ctx, id, arg);
}

int cmd_show(int argc, char **argv)
{
	struct report_opts o = REPORT_OPTS_INIT;
	struct strbuf out = STRBUF_INIT;
	struct snapshot s = { 0 };
	struct report r = { 0 };
	const char *file;
	int rc, first;

	rc = first = options_parse(argc, argv, &show_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if ((rc = report_options_check(&show_help, &o)))
		goto cleanup;
	if (argc - first != 1) {
		rc = usage_error(&show_help, argc - first ?
				 "expected one snapshot" : "missing snapshot");
		goto cleanup;
	}
	file = argv[first];
	rc = report_read(file, &o, &s);
	if (rc)
		goto cleanup;
	rc = report_group_depth(&s, o.by, o.depth, &r);
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto cleanup;
	}
	report_filter(&r, &o.filter);
	if (o.format == FORMAT_JSON)
		render_show_json(&out, file, &s, &r, report_top(&o));
	else if (o.format == FORMAT_CSV)
		render_show_csv(&out, &r, report_top(&o));
	else
		render_show_text(&out, file, &s, &r, report_top(&o), o.gc);
	rc = write_stdout(&out);

cleanup:
	strbuf_release(&out);
	report_release(&r);
	snapshot_release(&s);
	report_opts_release(&o);
	return rc;
}
