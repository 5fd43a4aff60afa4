/*
 * What show and diff share: the report options (--by, --depth, --top,
 * --sort, --min-bytes, --match, --format) and reading a snapshot for a
 * report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "snapshot/snapshot.h"

int report_option(const struct command_help *h, struct report_opts *o,
		  int id, const char *arg)
{
	unsigned long long v;
	int rc;

	switch (id) {
	case ROPT_BY:
		if (group_by_parse(arg, &o->by))
			return usage_error(h, "--by: '%s' is not type, module, "
					   "site, site,type or native", arg);
		return 0;
	case ROPT_DEPTH:
		/* tracemalloc keeps at most 65535 frames (its MAX_NFRAME). */
		rc = parse_uint(h, "--depth", arg, 65535, &v);
		if (!rc && !v)
			rc = usage_error(h, "--depth: give 1 or more frames");
		if (!rc)
			o->depth = (unsigned)v;
		return rc;
	case ROPT_TOP:
		rc = parse_uint(h, "--top", arg, 1u << 30, &v);
		if (!rc)
			o->top = (long long)v;
		return rc;
	case ROPT_SORT:
		if (!strcmp(arg, "bytes"))
			o->filter.sort = SORT_BYTES;
		else if (!strcmp(arg, "count"))
			o->filter.sort = SORT_COUNT;
		else if (o->diff && !strcmp(arg, "drop"))
			o->filter.sort = SORT_DROP;
		else
			return usage_error(h, "--sort: '%s' is not %s", arg,
					   o->diff ? "bytes, count or drop" :
					   "bytes or count");
		return 0;
	case ROPT_GC:
		o->gc = true;
		return 0;
	case ROPT_MIN_BYTES:
		return parse_size(h, "--min-bytes", arg, &o->filter.min_bytes);
	case ROPT_MATCH:
		PH_GROW(o->match, o->match_alloc, o->nmatch + 1);
		o->match[o->nmatch++] = arg;
		o->filter.match = o->match;
		o->filter.nmatch = o->nmatch;
		return 0;
	case ROPT_FORMAT:
		return parse_format(h, arg, true, &o->format);
	}
	return 1;
}

int report_options_check(const struct command_help *h,
			 const struct report_opts *o)
{
	if (o->depth && !group_by_site(o->by))
		return usage_error(h, "--depth needs --by site or --by "
				   "site,type");
	if (o->gc && o->by != BY_TYPE && o->by != BY_MODULE)
		return usage_error(h, "--gc needs --by type or --by module");
	return 0;
}

size_t report_top(const struct report_opts *o)
{
	if (o->top >= 0)
		return (size_t)o->top;
	return o->format == FORMAT_TEXT ? 20 : 0;
}

void report_opts_release(struct report_opts *o)
{
	free(o->match);
	o->match = NULL;
	o->nmatch = o->match_alloc = 0;
	o->filter.match = NULL;
	o->filter.nmatch = 0;
}

int report_read(const char *path, const struct report_opts *o,
		struct snapshot *s)
{
	/* Reports need the types, sites and the summary only (1.7): the
	 * objects, chunks, referents, roots and threads stay compressed
	 * (their CRCs are still checked). */
	return report_read_level(path, o, SNAP_READ_REPORT, s);
}

int since_read(const char *path,
	       int (*from_groups)(const struct snapshot *, void *),
	       int (*analyse)(const struct snapshot *, void *), void *out)
{
	struct snapshot a;
	/* GRPS and STAT are read at the META level: nothing else of A, and
	 * no summary computed from the objects of a file before 1.7. */
	int rc = snapshot_read_level(path, SNAP_READ_META, &a, NULL);

	if (rc)
		return rc;
	rc = from_groups(&a, out);
	snapshot_release(&a);
	if (rc != -PH_E_NOTFOUND)
		return rc;
	/* Older than 1.8: A read whole and analysed, then let go -- at
	 * most one snapshot and its analysis is held beside B's. */
	rc = snapshot_read(path, &a);
	if (rc)
		return rc;
	rc = analyse(&a, out);
	if (rc)
		ph_error_context(rc, "%s", path);
	snapshot_release(&a);
	return rc;
}

int report_read_level(const char *path, const struct report_opts *o,
		      enum snap_read_level level, struct snapshot *s)
{
	struct snap_file_info info = { 0 };
	int rc;

	rc = snapshot_read_level(path, level, s, &info);
	/* Before 1.2 no object had a site: grouping them all as [no site]
	 * would be true of the file and false of the process. */
	if (!rc && group_by_site(o->by) && info.major == 1 && info.minor < 2) {
		rc = ph_error(PH_E_NOTFOUND, "%s: no allocation sites in this "
			      "snapshot (format %u.%u; pyheap records them "
			      "since 1.2: take a new snapshot)", path,
			      info.major, info.minor);
		snapshot_release(s);
	}
	snap_file_info_release(&info);
	return rc;
}

int write_stdout(const struct strbuf *out)
{
	int err;

	errno = 0;
	if (fwrite(out->buf, 1, out->len, stdout) == out->len &&
	    !fflush(stdout) && !ferror(stdout))
		return 0;
	/* The reader is gone (`pyheap show | head`): nobody wants the rest,
	 * and nothing went wrong, as in git.  SIGPIPE is ignored (main.c:
	 * a stopped target must be let go first), so a closed pipe shows
	 * here, as EPIPE from the write or the flush. */
	err = errno ? errno : EIO;
	if (err == EPIPE)
		return 0;
	return ph_error(PH_E_IO, "cannot write output: %s", strerror(err));
}
