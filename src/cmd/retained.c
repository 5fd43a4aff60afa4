/*
 * pyheap retained SNAP: what each object, type, module or site keeps
 * alive, from the dominator tree of the object graph (analysis.h
 * "Retained").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_FORMAT = 1, OPT_BY, OPT_TOP };

static const struct option_spec retained_options[] = {
	{ OPT_BY, 0, "by", "KEY",
	  "object (default), type, module or site: rows per object, or per "
	  "key counting only its topmost objects" },
	{ OPT_TOP, 0, "top", "N",
	  "show the N rows that retain the most (default 20; 0 = all)" },
	{ OPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ 0 }
};

const struct command_help retained_help = {
	"retained", "[options] SNAP",
	"show what each object, type, module or site keeps alive (dominators)",
	"Compute the dominator tree of a snapshot's object graph from its "
	"roots: an\nobject retains what would be freed with it.  The largest "
	"retainers first,\neach with the shortest path that holds it.",
	retained_options,
};

struct retained_opts {
	enum output_format format;
	enum retained_by by;
	unsigned long long top;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct retained_opts *o = ctx;

	switch (id) {
	case OPT_FORMAT:
		return parse_format(&retained_help, arg, true, &o->format);
	case OPT_BY:
		if (retained_by_parse(arg, &o->by))
			return usage_error(&retained_help, "--by: '%s' is not "
					   "object, type, module or site", arg);
		return 0;
	case OPT_TOP:
		return parse_uint(&retained_help, "--top", arg, 1u << 30,
				  &o->top);
	}
	return 0;
}

int cmd_retained(int argc, char **argv)
{
	struct retained_opts o = { FORMAT_TEXT, RET_OBJECT, 20 };
	struct strbuf out = STRBUF_INIT;
	struct snapshot s = { 0 };
	struct retained r = { 0 };
	const char *file;
	int rc, first;

	rc = first = options_parse(argc, argv, &retained_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if (argc - first != 1) {
		rc = usage_error(&retained_help, argc - first ?
				 "expected one snapshot" : "missing snapshot");
		goto cleanup;
	}
	file = argv[first];
	rc = snapshot_read(file, &s);
	if (rc)
		goto cleanup;
	rc = retained_analyse(&s, o.by, (size_t)o.top, &r);
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto cleanup;
	}
	if (o.format == FORMAT_JSON)
		render_retained_json(&out, file, &s, &r);
	else if (o.format == FORMAT_CSV)
		render_retained_csv(&out, &r);
	else
		render_retained_text(&out, file, &r);
	rc = write_stdout(&out);

cleanup:
	strbuf_release(&out);
	retained_release(&r);
	snapshot_release(&s);
	return rc;
}
