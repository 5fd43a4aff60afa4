/*
 * pyheap show SNAP: what a snapshot holds, grouped by type or module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_BY = 1, OPT_TOP, OPT_FORMAT };

static const struct option_spec show_options[] = {
	{ OPT_BY, 0, "by", "KEY", "group by type (default) or module" },
	{ OPT_TOP, 0, "top", "N",
	  "show the N largest rows (default 20 in text, all in json and csv; "
	  "0 = all)" },
	{ OPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ 0 }
};

const struct command_help show_help = {
	"show", "[options] SNAP",
	"show a snapshot's objects by type or module",
	"Show the objects of a snapshot grouped by type or module: count and "
	"bytes\n(sys.getsizeof), largest first.",
	show_options,
};

struct show_opts {
	enum group_by by;
	enum output_format format;
	long long top; /* -1: the format's default */
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct show_opts *o = ctx;
	unsigned long long v;
	int rc;

	switch (id) {
	case OPT_BY:
		if (group_by_parse(arg, &o->by))
			return usage_error(&show_help, "--by: '%s' is not type or "
					   "module", arg);
		return 0;
	case OPT_TOP:
		rc = parse_uint(&show_help, "--top", arg, 1u << 30, &v);
		if (!rc)
			o->top = (long long)v;
		return rc;
	case OPT_FORMAT:
		return parse_format(&show_help, arg, true, &o->format);
	}
	return 0;
}

int cmd_show(int argc, char **argv)
{
	struct show_opts o = { BY_TYPE, FORMAT_TEXT, -1 };
	struct strbuf out = STRBUF_INIT;
	struct snapshot s;
	struct report r;
	size_t top;
	int rc, first;

	first = options_parse(argc, argv, &show_help, on_opt, &o);
	if (first <= 0)
		return first;
	if (argc - first != 1)
		return usage_error(&show_help, argc - first ?
				   "expected one snapshot" : "missing snapshot");
	rc = snapshot_read(argv[first], &s);
	if (rc)
		return rc;
	report_group(&s, o.by, &r);
	top = o.top >= 0 ? (size_t)o.top : o.format == FORMAT_TEXT ? 20 : 0;
	if (o.format == FORMAT_JSON)
		render_show_json(&out, argv[first], &s, &r, top);
	else if (o.format == FORMAT_CSV)
		render_show_csv(&out, &r, top);
	else
		render_show_text(&out, argv[first], &s, &r, top);
	fwrite(out.buf, 1, out.len, stdout);
	if (fflush(stdout))
		rc = ph_error(PH_E_IO, "cannot write output");
	strbuf_release(&out);
	report_release(&r);
	snapshot_release(&s);
	return rc;
}
