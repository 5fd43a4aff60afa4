/*
 * The options of pyheap snap, which pyheap watch shares (series.h
 * "snap's options"): defaults, parsing one option, and the checks once
 * all are parsed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "objects/objects.h"
#include "output/output.h"
#include "series.h"
#include "target/target.h"

#define DEFAULT_MAX_PAUSE_MS 2000

void snap_opts_init(struct snap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_pause_ms = DEFAULT_MAX_PAUSE_MS;
	o->on_max_pause = PAUSE_LIMIT_FAIL;
	o->prom_top = PROM_DEFAULT_TOP;
	o->jobs = ph_jobs_default();
}

void snap_opts_release(struct snap_opts *o)
{
	free(o->program);
	o->program = NULL;
}

int snap_option(const struct command_help *h, struct snap_opts *o, int id,
		const char *arg)
{
	unsigned long long v;
	struct strbuf sb = STRBUF_INIT;
	int rc;

	switch (id) {
	case SOPT_OUTPUT:
		o->output = arg;
		return 0;
	case SOPT_NO_STOP:
		o->no_stop = true;
		return 0;
	case SOPT_QUIET:
		o->quiet = true;
		return 0;
	case SOPT_NO_SANDBOX:
		o->no_sandbox = true;
		return 0;
	case SOPT_NO_LEAK_SCAN:
		o->no_leak_scan = true;
		return 0;
	case SOPT_LABELS:
		if (!strcmp(arg, "identifiers"))
			o->labels = LABELS_IDENTIFIERS;
		else if (!strcmp(arg, "all"))
			o->labels = LABELS_ALL;
		else if (!strcmp(arg, "none"))
			o->labels = LABELS_NONE;
		else
			return usage_error(h, "--labels must be identifiers, "
					   "all or none, not '%s'", arg);
		return 0;
	case SOPT_MAX_PAUSE:
		rc = parse_uint(h, "--max-pause", arg, 3600000, &v);
		if (!rc)
			o->max_pause_ms = (unsigned)v;
		return rc;
	case SOPT_ON_MAX_PAUSE:
		if (!strcmp(arg, "fail"))
			o->on_max_pause = PAUSE_LIMIT_FAIL;
		else if (!strcmp(arg, "continue"))
			o->on_max_pause = PAUSE_LIMIT_CONTINUE;
		else
			return usage_error(h, "--on-max-pause must be "
					   "fail or continue, not '%s'", arg);
		return 0;
	case SOPT_MAX_COPY:
		return parse_size(h, "--max-copy", arg, &o->max_copy);
	case SOPT_JOBS:
		rc = parse_uint(h, "--jobs", arg, 8, &v);
		if (!rc && !v)
			rc = usage_error(h, "--jobs: give 1 to 8");
		if (!rc)
			o->jobs = (int)v;
		return rc;
	case SOPT_PIDFILE:
		o->sel.pidfile = arg;
		return 0;
	case SOPT_NAME:
		if (!*arg)
			return usage_error(h, "--name: give a pattern");
		o->sel.name = arg;
		return 0;
	case SOPT_ALL:
		o->sel.all = true;
		return 0;
	case SOPT_WORKERS:
		o->sel.workers = true;
		return 0;
	case SOPT_DIR:
		o->dir = arg;
		return 0;
	case SOPT_KEEP:
		rc = parse_uint(h, "--keep", arg, 1u << 30, &v);
		if (!rc && !v)
			rc = usage_error(h, "--keep: keep at least 1 snapshot");
		if (!rc)
			o->keep = (size_t)v;
		return rc;
	case SOPT_MIN_FREE:
		return parse_free_floor(h, "--min-free", arg, &o->min_free);
	case SOPT_PROGRAM:
		if (!*arg)
			return usage_error(h, "--program: give a name");
		program_sanitise(arg, &sb);
		free(o->program);
		o->program = strbuf_detach(&sb, NULL);
		return 0;
	case SOPT_PROM:
		o->prom = arg;
		return 0;
	case SOPT_PROM_TOP:
		rc = parse_uint(h, "--prom-top", arg, 1000, &v);
		if (!rc && !v)
			rc = usage_error(h, "--prom-top: give 1 or more");
		if (!rc)
			o->prom_top = (size_t)v;
		return rc;
	}
	return 1;
}

int snap_options_check(const struct command_help *h, struct snap_opts *o,
		       int noperands, char **operands)
{
	int given = (noperands > 0) + !!o->sel.pidfile + !!o->sel.name;
	int rc;

	if (noperands > 1)
		return usage_error(h, "expected one PID");
	if (!given)
		return usage_error(h, "missing PID (or --pidfile FILE, or "
				   "--name PATTERN)");
	if (given > 1)
		return usage_error(h, "give one of a PID, --pidfile and "
				   "--name");
	if (noperands) {
		rc = parse_pid(h, operands[0], &o->sel.pid);
		if (rc)
			return rc;
	}
	if (o->sel.all && !o->sel.name)
		return usage_error(h, "--all needs --name");
	if (o->output && o->dir)
		return usage_error(h, "give -o FILE or --dir DIR, not both");
	if (o->output && (o->sel.all || o->sel.workers))
		return usage_error(h, "--%s writes several snapshots: use "
				   "--dir DIR, not -o", o->sel.all ? "all" :
				   "workers");
	if (o->keep && !o->dir)
		return usage_error(h, "--keep needs --dir");
	if (o->dir && !o->min_free.set) {
		rc = parse_free_floor(h, "--min-free", DEFAULT_MIN_FREE,
				      &o->min_free);
		if (rc)
			return rc;
	}
	return 0;
}
