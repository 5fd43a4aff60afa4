/*
 * pyheap why SNAP (--type T | --site FILE:LINE | --addr ADDR): the
 * shortest paths from the roots to the selected objects, merged by shape
 * (analysis.h "Why"), with what each step retains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_FORMAT = 1, OPT_TYPE, OPT_SITE, OPT_ADDR, OPT_SINCE, OPT_PATHS };

static const struct option_spec why_options[] = {
	{ OPT_TYPE, 0, "type", "PATTERN",
	  "the objects whose type name matches the glob PATTERN "
	  "(__main__.Request, *Request)" },
	{ OPT_SITE, 0, "site", "FILE:LINE",
	  "the objects allocated at FILE:LINE (the innermost frame of their "
	  "site; FILE may be the end of the path: app/cache.py:52)" },
	{ OPT_ADDR, 0, "addr", "ADDR", "the object at address ADDR (0x...)" },
	{ OPT_SINCE, 0, "since", "A.snap",
	  "only objects new since snapshot A (not there at the same address "
	  "with the same type and site)" },
	{ OPT_PATHS, 0, "paths", "N",
	  "show the N path shapes holding the most objects (default 5 in "
	  "text, all in json and csv; 0 = all)" },
	{ OPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ 0 }
};

const struct command_help why_help = {
	"why", "[options] (--type T | --site FILE:LINE | --addr ADDR) SNAP",
	"show what keeps objects alive: merged shortest paths from the roots",
	"Find why the selected objects are alive: the shortest path from the "
	"roots\n(sys.modules, the interpreter, the threads' frames) to each, "
	"merged by shape\ninto a few paths, each with its share of the "
	"objects, what every step\nretains, the accumulation point where "
	"they pile up, and one concrete\nexample.  Options that select "
	"combine: all must match.",
	why_options,
};

struct why_opts {
	enum output_format format;
	struct why_query q;
	const char *since;
	bool paths_set;
	unsigned long long paths;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct why_opts *o = ctx;
	char *end;

	switch (id) {
	case OPT_FORMAT:
		return parse_format(&why_help, arg, true, &o->format);
	case OPT_TYPE:
		o->q.type = arg;
		return 0;
	case OPT_SITE: {
		const char *colon = strrchr(arg, ':');

		if (!colon || colon == arg || !colon[1] ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1))
			return usage_error(&why_help, "--site: give FILE:LINE, "
					   "not '%s'", arg);
		o->q.site = arg;
		return 0;
	}
	case OPT_ADDR:
		o->q.addr = strtoull(arg, &end, 0);
		if (!*arg || *end)
			return usage_error(&why_help, "--addr: '%s' is not an "
					   "address", arg);
		o->q.has_addr = true;
		return 0;
	case OPT_SINCE:
		o->since = arg;
		return 0;
	case OPT_PATHS:
		o->paths_set = true;
		return parse_uint(&why_help, "--paths", arg, 1u << 30,
				  &o->paths);
	}
	return 0;
}

int cmd_why(int argc, char **argv)
{
	struct why_opts o = { 0 };
	struct strbuf out = STRBUF_INIT;
	struct snapshot s = { 0 }, a = { 0 };
	struct why w = { 0 };
	uint64_t *retained = NULL, count;
	uint8_t *selected = NULL;
	const char *file;
	int rc, first;

	rc = first = options_parse(argc, argv, &why_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if (argc - first != 1) {
		rc = usage_error(&why_help, argc - first ?
				 "expected one snapshot" : "missing snapshot");
		goto cleanup;
	}
	if (!o.q.type && !o.q.site && !o.q.has_addr) {
		rc = usage_error(&why_help, "say which objects: --type, --site "
				 "or --addr");
		goto cleanup;
	}
	file = argv[first];
	rc = snapshot_read(file, &s);
	if (rc)
		goto cleanup;
	if (o.since) {
		rc = snapshot_read_level(o.since, SNAP_READ_OBJECTS, &a, NULL);
		if (rc)
			goto cleanup;
		o.q.since = &a;
	}
	selected = xmalloc(s.nobjects + 1);
	rc = why_select(&s, &o.q, selected, &count);
	if (rc)
		goto cleanup;
	retained = retained_sizes(&s);
	rc = why_analyse(&s, selected, retained,
			 o.paths_set ? (size_t)o.paths :
			 o.format == FORMAT_TEXT ? 5 : 0, &w);
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto cleanup;
	}
	if (!count && o.format == FORMAT_TEXT)
		fprintf(stderr, "pyheap: no object in %s matches\n", file);
	if (o.format == FORMAT_JSON)
		render_why_json(&out, file, &s, &w);
	else if (o.format == FORMAT_CSV)
		render_why_csv(&out, &w);
	else
		render_why_text(&out, file, &s, &w);
	rc = write_stdout(&out);

cleanup:
	strbuf_release(&out);
	why_release(&w);
	free(retained);
	free(selected);
	snapshot_release(&a);
	snapshot_release(&s);
	return rc;
}
