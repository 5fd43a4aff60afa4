/*
 * pyheap leaks SNAP: native memory as valgrind memcheck classifies it --
 * definitely, indirectly and possibly lost, held only by Python garbage,
 * reachable -- from the scan snap ran (analysis.h "Native leaks").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cmd.h"
#include "output/output.h"
#include "snapshot/snapshot.h"

enum { OPT_FORMAT = 1, OPT_TOP, OPT_SINCE, OPT_BY, OPT_FAIL_LOST };

static const struct option_spec leaks_options[] = {
	{ OPT_TOP, 0, "top", "N",
	  "show the first N groups (default 10 in text, all in json and "
	  "csv; 0 = all)" },
	{ OPT_SINCE, 0, "since", "A.snap",
	  "compare with an earlier snapshot A of the same process: each "
	  "class and group with its growth since A, largest growth first" },
	{ OPT_BY, 0, "by", "holder",
	  "instead of the lost groups, the native memory still held, by "
	  "the type of the Python object (or the root) that reaches it" },
	{ OPT_FAIL_LOST, 0, "fail-if-lost-growth", "SIZE",
	  "with --since: exit 1 when definitely and indirectly lost bytes "
	  "grew by more than SIZE (e.g. 1M)" },
	{ OPT_FORMAT, 0, "format", "FMT", "text (default), json or csv" },
	{ 0 }
};

const struct command_help leaks_help = {
	"leaks", "[options] SNAP",
	"find native memory nothing points to, as valgrind would",
	"Classify the malloc chunks of a snapshot the way valgrind memcheck "
	"does,\nwithout restarting the process: definitely lost (no pointer "
	"to it anywhere),\nindirectly lost (only from lost chunks), possibly "
	"lost (only interior\npointers), held only by Python garbage, and "
	"reachable.  Lost chunks are\ngrouped by size and signature: the "
	"libraries whose code their words point\nto, and the Python objects "
	"whose memory they point into.  Needs a snapshot\ntaken stopped, with "
	"glibc's malloc walked (pyheap info says 'leaks').",
	leaks_options,
};

struct leaks_opts {
	bool json, csv, holders;
	bool top_set;
	unsigned long long top;
	const char *since, *fail_arg;
	uint64_t fail_lost;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct leaks_opts *o = ctx;

	switch (id) {
	case OPT_FORMAT:
		o->json = !strcmp(arg, "json");
		o->csv = !strcmp(arg, "csv");
		if (!o->json && !o->csv && strcmp(arg, "text"))
			return usage_error(&leaks_help, "--format: '%s' is "
					   "not text, json or csv", arg);
		return 0;
	case OPT_SINCE:
		o->since = arg;
		return 0;
	case OPT_BY:
		if (strcmp(arg, "holder"))
			return usage_error(&leaks_help, "--by: '%s' is not "
					   "holder", arg);
		o->holders = true;
		return 0;
	case OPT_FAIL_LOST:
		o->fail_arg = arg;
		return parse_size(&leaks_help, "--fail-if-lost-growth", arg,
				  &o->fail_lost);
	case OPT_TOP:
		o->top_set = true;
		return parse_uint(&leaks_help, "--top", arg, 1u << 30,
				  &o->top);
	}
	return 0;
}

static uint64_t lost_bytes(const struct leaks *l, bool a)
{
	return a ? l->cls[REACH_LOST].bytes_a + l->cls[REACH_INDIRECT].bytes_a :
	       l->cls[REACH_LOST].bytes + l->cls[REACH_INDIRECT].bytes;
}

/* since_read()'s two ways to A's figures. */
static int since_groups(const struct snapshot *a, void *out)
{
	return leaks_from_groups(a, out);
}

static int since_analyse(const struct snapshot *a, void *out)
{
	return leaks_analyse(a, out);
}

int cmd_leaks(int argc, char **argv)
{
	struct leaks_opts o = { 0 };
	struct strbuf out = STRBUF_INIT;
	struct snapshot s = { 0 };
	struct leaks l = { 0 }, la = { 0 };
	const char *file;
	bool crossed = false;
	int rc, first;

	rc = first = options_parse(argc, argv, &leaks_help, on_opt, &o);
	if (first <= 0)
		goto cleanup;
	if (argc - first != 1) {
		rc = usage_error(&leaks_help, argc - first ?
				 "expected one snapshot" : "missing snapshot");
		goto cleanup;
	}
	if (o.fail_arg && !o.since) {
		rc = usage_error(&leaks_help, "--fail-if-lost-growth needs "
				 "--since");
		goto cleanup;
	}
	file = argv[first];
	rc = snapshot_read(file, &s);
	if (rc)
		goto cleanup;
	rc = leaks_analyse(&s, &l);
	if (rc) {
		ph_error_context(rc, "%s", file);
		goto cleanup;
	}
	if (o.since) {
		rc = since_read(o.since, since_groups, since_analyse, &la);
		if (rc)
			goto cleanup;
		leaks_compare(&l, &la);
		leaks_release(&la);
		crossed = o.fail_arg &&
			  lost_bytes(&l, false) > lost_bytes(&l, true) &&
			  lost_bytes(&l, false) - lost_bytes(&l, true) >
			  o.fail_lost;
	}
	if (o.json)
		render_leaks_json(&out, file, &s, &l,
				  o.top_set ? (size_t)o.top : 0, o.holders,
				  o.since);
	else if (o.csv)
		render_leaks_csv(&out, &l, o.top_set ? (size_t)o.top : 0,
				 o.holders);
	else
		render_leaks_text(&out, file, &s, &l,
				  o.top_set ? (size_t)o.top : 10, o.holders,
				  o.since);
	rc = write_stdout(&out);
	if (!rc && crossed) {
		struct strbuf msg = STRBUF_INIT;

		strbuf_addstr(&msg, "pyheap: lost native memory grew by ");
		fmt_bytes(&msg, lost_bytes(&l, false) - lost_bytes(&l, true));
		strbuf_addf(&msg, ", past --fail-if-lost-growth %s\n",
			    o.fail_arg);
		fputs(msg.buf, stderr);
		strbuf_release(&msg);
		rc = PH_EXIT_THRESHOLD;
	}

cleanup:
	strbuf_release(&out);
	leaks_release(&l);
	leaks_release(&la);
	snapshot_release(&s);
	return rc;
}
