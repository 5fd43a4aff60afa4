/*
 * pyheap garbage SNAP: what nothing outside the garbage keeps alive, what
 * of it the cyclic GC would free, what it never can, and the references
 * nothing in the heap explains (analysis.h "Garbage").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_FORMAT = 1, OPT_TOP, OPT_ADDRESSES, OPT_SINCE };

static const struct option_spec garbage_options[] = {
	{ OPT_TOP, 0, "top", "N",
	  "show the first N groups of each part (default 10 in text, all in "
	  "json and csv; 0 = all)" },
	{ OPT_SINCE, 0, "since", "A.snap",
	  "compare with an earlier snapshot A: each part, group and the "
	  "unexplained references with their change since A" },
	{ OPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ OPT_ADDRESSES, 0, "addresses", NULL,
	  "with --format json: the addresses of the collectable objects "
	  "(what gc.garbage would list with gc.DEBUG_SAVEALL); for Python "
	  "2.7, of those kept for finalizers too" },
	{ 0 }
};

const struct command_help garbage_help = {
	"garbage", "[options] SNAP",
	"find garbage: what the cyclic GC would free, and what it never can",
	"Find the objects nothing outside the garbage keeps alive in a "
	"snapshot, from\nrefcount arithmetic: each object's refcount against "
	"the references found.\nThree parts: garbage the cyclic GC would free "
	"at its next full collection,\ngarbage it can never free (a cycle "
	"through an object without GC support, or\na reference no tp_traverse "
	"reports), and references nothing in the heap\nexplains (C statics "
	"and stacks, leaked references).  Garbage is grouped by\ncycle shape.",
	garbage_options,
};

struct garbage_opts {
	bool json, csv, addresses;
	bool top_set;
	unsigned long long top;
	const char *since;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct garbage_opts *o = ctx;

	switch (id) {
	case OPT_FORMAT:
		o->json = !strcmp(arg, "json");
		o->csv = !strcmp(arg, "csv");
		if (!o->json && !o->csv && strcmp(arg, "text"))
			return usage_error(&garbage_help, "--format: '%s' is "
					   "not text, json or csv", arg);
		return 0;
	case OPT_SINCE:
		o->since = arg;
		return 0;
	case OPT_TOP:
		o->top_set = true;
		return parse_uint(&garbage_help, "--top", arg, 1u << 30,
				  &o->top);
	case OPT_ADDRESSES:
		o->addresses = true;
		return 0;
	}
	return 0;
}

/* since_read()'s two ways to A's figures. */
static int since_groups(const struct snapshot *a, void *out)
{
	return garbage_from_groups(a, out);
}

static int since_analyse(const struct snapshot *a, void *out)
{
	return garbage_analyse(a, out);
}

int cmd_garbage(int argc, char **argv)
{
	struct garbage_opts o = { 0 };
	struct strbuf out = STRBUF_INIT;
	struct snapshot s = { 0 };
	struct garbage g = { 0 }, ga = { 0 };
	const char *file;
	int rc, first;

	rc = first = options_parse(argc, argv, &garbage_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if (argc - first != 1) {
		rc = usage_error(&garbage_help, argc - first ?
				 "expected one snapshot" : "missing snapshot");
		goto cleanup;
	}
	if (o.addresses && !o.json) {
		rc = usage_error(&garbage_help, "--addresses needs --format "
				 "json");
		goto cleanup;
	}
	file = argv[first];
	rc = snapshot_read(file, &s);
	if (rc)
		goto cleanup;
	rc = garbage_analyse(&s, &g);
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto cleanup;
	}
	if (o.since) {
		rc = since_read(o.since, since_groups, since_analyse, &ga);
		if (rc)
			goto cleanup;
		garbage_compare(&g, &ga);
		garbage_release(&ga);
	}
	if (o.json)
		render_garbage_json(&out, file, &s, &g,
				    o.top_set ? (size_t)o.top : 0,
				    o.addresses, o.since);
	else if (o.csv)
		render_garbage_csv(&out, &s, &g,
				   o.top_set ? (size_t)o.top : 0);
	else
		render_garbage_text(&out, file, &s, &g,
				    o.top_set ? (size_t)o.top : 10, o.since);
	rc = write_stdout(&out);

cleanup:
	strbuf_release(&out);
	garbage_release(&g);
	garbage_release(&ga);
	snapshot_release(&s);
	return rc;
}
