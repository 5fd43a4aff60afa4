/*
 * Prometheus text exposition (version 0.0.4, what node_exporter's
 * textfile collector reads) and pyheap's metrics.
 *
 * Names follow Prometheus's conventions: a pyheap_ prefix, base units
 * (bytes, seconds) as suffixes, no _total on gauges; HELP says what
 * a value is and where it comes from.  Label cardinality is bounded by
 * --prom-top: a snapshot gives top + 1 type series per process, a trend
 * top + 1 group series per program.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "output.h"
#include "snapshot/snapshot.h"

size_t prom_gauge(struct prom *p, const char *name, const char *help)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->fams[i].name, name))
			return i;
	PH_GROW(p->fams, p->alloc, p->n + 1);
	p->fams[p->n].name = xstrdup(name);
	p->fams[p->n].help = xstrdup(help);
	strbuf_init(&p->fams[p->n].samples);
	return p->n++;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void add_label_value(struct strbuf *sb, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	while (*s) {
		size_t n = utf8_len(s);

		if (*s == '\\') {
			strbuf_addstr(sb, "\\\\");
		} else if (*s == '"') {
			strbuf_addstr(sb, "\\\"");
		} else if (*s == '\n') {
			strbuf_addstr(sb, "\\n");
		} else if (!n) {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			n = 1;
		} else {
			strbuf_add(sb, s, n);
			s += n;
			continue;
		}
		s += n ? n : 1;
	}
}

/* Integers exactly; other values with enough digits for a timestamp's
 * milliseconds, without trailing zeros. */
static void add_value(struct strbuf *sb, double v)
{
	char buf[64];
	size_t n;

	if (v == floor(v) && fabs(v) < 9e15) {
		strbuf_addf(sb, "%.0f", v);
		return;
	}
	if (fabs(v) >= 1e-3 && fabs(v) < 1e15) {
		n = (size_t)snprintf(buf, sizeof(buf), "%.6f", v);
		while (n > 1 && buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
		strbuf_add(sb, buf, n);
		return;
	}
	strbuf_addf(sb, "%.9g", v);
}

void prom_sample(struct prom *p, size_t family, const struct prom_label *l,
		 size_t nlabels, double value)
{
	struct prom_family *f = &p->fams[family];
	size_t i;

	if (!isfinite(value))
		return;
	strbuf_addstr(&f->samples, f->name);
	for (i = 0; i < nlabels; i++) {
		strbuf_addf(&f->samples, "%s%s=\"", i ? "," : "{", l[i].name);
		add_label_value(&f->samples, l[i].value);
		strbuf_addch(&f->samples, '"');
	}
	if (nlabels)
		strbuf_addch(&f->samples, '}');
	strbuf_addch(&f->samples, ' ');
	add_value(&f->samples, value);
	strbuf_addch(&f->samples, '\n');
}

void prom_render(const struct prom *p, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct prom_family *f = &p->fams[i];

		if (!f->samples.len)
			continue;
		/* HELP texts are pyheap's own: no backslash or newline. */
		strbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", f->name,
			    f->help, f->name);
		strbuf_add(out, f->samples.buf, f->samples.len);
	}
}

void prom_release(struct prom *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		strbuf_release(&p->fams[i].samples);
		free(p->fams[i].name);
		free(p->fams[i].help);
	}
	free(p->fams);
	memset(p, 0, sizeof(*p));
}

/* ---- pyheap's metrics ------------------------------------------------------ */

#define OTHER_KEY "[other]"

/* Rates to a thousandth: the "[other]" bucket, a difference of sums, would
 * otherwise show rounding noise (1.8e-09) where nothing moved. */
static double milli(double v)
{
	if (!isfinite(v))
		return v;
	v = round(v * 1000.0) / 1000.0;
	return v == 0 ? 0 : v; /* never "-0" */
}

void prom_add_snapshot(struct prom *p, const char *program,
		       const struct snapshot *s, const struct report *by_type,
		       size_t top)
{
	size_t objects = prom_gauge(p, "pyheap_objects",
		"Live Python objects of a type (type \"[other]\": the types "
		"past --prom-top; \"[native]\": malloc chunks no object owns) "
		"at the last snapshot");
	size_t bytes = prom_gauge(p, "pyheap_bytes",
		"Bytes (sys.getsizeof) of the live Python objects of a type "
		"at the last snapshot");
	size_t native = prom_gauge(p, "pyheap_native_bytes",
		"Bytes of malloc chunks that hold no Python object (native "
		"memory of extensions and C libraries) at the last snapshot");
	size_t rss = prom_gauge(p, "pyheap_rss_bytes",
		"Resident set size of the process at the last snapshot");
	size_t pause = prom_gauge(p, "pyheap_pause_seconds",
		"How long the last snapshot kept the process stopped");
	size_t when = prom_gauge(p, "pyheap_last_snapshot_timestamp_seconds",
		"Unix time of the last snapshot");
	size_t info = prom_gauge(p, "pyheap_target_info",
		"Always 1: the Python version of the process, as a label");
	size_t garbage = prom_gauge(p, "pyheap_garbage_bytes",
		"Bytes of garbage at the last snapshot (pyheap garbage): "
		"kind=\"collectable\" what the cyclic GC would free at its next "
		"full collection, \"uncollectable\" what it never can");
	size_t garbage_n = prom_gauge(p, "pyheap_garbage_objects",
		"Objects of garbage at the last snapshot, by the same kinds");
	size_t lost = prom_gauge(p, "pyheap_native_lost_bytes",
		"Native (malloc) memory at the last snapshot by what pyheap "
		"leaks calls it: state=\"definitely\", \"indirectly\", "
		"\"possibly\" lost, \"python_garbage\" (held only by garbage)");
	struct garbage_totals gt;
	char pid[32];
	struct prom_label l[3] = {
		{ "program", program }, { "pid", pid }, { "type", NULL },
	};
	struct prom_label li[3] = {
		{ "program", program }, { "pid", pid },
		{ "python", snapshot_str(s, s->meta.python) },
	};
	uint64_t rest_count = by_type->total_count;
	uint64_t rest_bytes = by_type->total_bytes;
	size_t i, n = top && top < by_type->nrows ? top : by_type->nrows;

	snprintf(pid, sizeof(pid), "%lld", (long long)s->meta.pid);
	for (i = 0; i < n; i++) {
		const struct report_row *row = &by_type->rows[i];

		l[2].value = row->key;
		prom_sample(p, objects, l, 3, (double)row->count);
		prom_sample(p, bytes, l, 3, (double)row->bytes);
		rest_count -= row->count;
		rest_bytes -= row->bytes;
	}
	if (n < by_type->nrows) {
		l[2].value = OTHER_KEY;
		prom_sample(p, objects, l, 3, (double)rest_count);
		prom_sample(p, bytes, l, 3, (double)rest_bytes);
	}
	if (s->meta.flags & SNAP_NATIVE)
		prom_sample(p, native, l, 2,
			    (double)snapshot_native_bytes(s));
	if (s->meta.rss_bytes)
		prom_sample(p, rss, l, 2, (double)s->meta.rss_bytes);
	prom_sample(p, pause, l, 2, s->meta.pause_ms / 1000.0);
	prom_sample(p, when, l, 2, s->meta.taken_at);
	prom_sample(p, info, li, 3, 1);
	garbage_totals_of(s, &gt);
	if (gt.known) {
		l[2].name = "kind";
		l[2].value = "collectable";
		prom_sample(p, garbage, l, 3, (double)gt.collectable_bytes);
		prom_sample(p, garbage_n, l, 3,
			    (double)gt.collectable_objects);
		l[2].value = "uncollectable";
		prom_sample(p, garbage, l, 3, (double)gt.uncollectable_bytes);
		prom_sample(p, garbage_n, l, 3,
			    (double)gt.uncollectable_objects);
	}
	if (s->meta.flags & SNAP_LEAKS) {
		static const struct { const char *state, *stat; } st[] = {
			{ "definitely", "leaks.definitely_lost.bytes" },
			{ "indirectly", "leaks.indirectly_lost.bytes" },
			{ "possibly", "leaks.possibly_lost.bytes" },
			{ "python_garbage", "leaks.python_garbage.bytes" },
		};

		l[2].name = "state";
		for (i = 0; i < PH_ARRAY_SIZE(st); i++) {
			int64_t v = snapshot_get_stat(s, st[i].stat, -1);

			l[2].value = st[i].state;
			if (v >= 0)
				prom_sample(p, lost, l, 3, (double)v);
		}
	}
}

/* The label names of a grouping's keys. */
static const char *group_label(enum group_by by)
{
	switch (by) {
	case BY_TYPE:
		return "type";
	case BY_MODULE:
		return "module";
	case BY_NATIVE:
		return "size";
	case BY_SITE:
	case BY_SITE_TYPE:
		return "site";
	}
	return "key";
}

/* Labels of a row: program, then the key (split into site and type for
 * --by site,type: "SITE TYPE", the type after the last space). */
static size_t row_labels(const struct trend *t, const char *program,
			 const char *key, struct prom_label *l,
			 struct strbuf *site)
{
	const char *sp;

	l[0].name = "program";
	l[0].value = program;
	l[1].name = group_label(t->by);
	l[1].value = key;
	if (t->by != BY_SITE_TYPE || !(sp = strrchr(key, ' ')))
		return 2;
	strbuf_reset(site);
	strbuf_add(site, key, (size_t)(sp - key));
	l[1].value = site->buf;
	l[2].name = "type";
	l[2].value = sp + 1;
	return 3;
}

void prom_add_trend(struct prom *p, const char *program,
		    const struct trend *t, size_t top)
{
	size_t rate = prom_gauge(p, "pyheap_growth_bytes_per_hour",
		"Growth of a group's bytes per hour, by least squares over "
		"the analysed snapshots (leak suspects first; \"[other]\": the "
		"groups past --prom-top)");
	size_t crate = prom_gauge(p, "pyheap_growth_objects_per_hour",
		"Growth of a group's object count per hour, by least squares "
		"over the analysed snapshots");
	size_t share = prom_gauge(p, "pyheap_growth_intervals_grown_ratio",
		"Share of the intervals between consecutive snapshots in "
		"which a group's bytes grew (1: every time, a steady leak)");
	size_t suspect = prom_gauge(p, "pyheap_leak_suspect",
		"1 if a group is a leak suspect: it grew, and in at least "
		"three quarters of the intervals");
	size_t snaps = prom_gauge(p, "pyheap_trend_snapshots",
		"Snapshots the trend analysed");
	size_t segs = prom_gauge(p, "pyheap_trend_segments",
		"Processes (segments) in the trend's window: more than "
		"pyheap_trend_workers means a process was restarted or "
		"replaced");
	size_t workers = prom_gauge(p, "pyheap_trend_workers",
		"Processes of the program that ran in parallel (workers of a "
		"prefork server; 1 for a single process)");
	size_t wrate = prom_gauge(p, "pyheap_worker_growth_bytes_per_hour",
		"Growth of a worker's total bytes per hour over its analysed "
		"snapshots (worker: 1..pyheap_trend_workers, stable across "
		"the worker's restarts)");
	size_t wsuspect = prom_gauge(p, "pyheap_worker_leak_suspect",
		"1 if a worker has a leak suspect of its own");
	size_t wpid = prom_gauge(p, "pyheap_worker_pid",
		"PID of a worker's newest process");
	size_t window = prom_gauge(p, "pyheap_trend_window_seconds",
		"Time from the first to the last analysed snapshot");
	size_t last = prom_gauge(p, "pyheap_trend_last_snapshot_timestamp_"
		"seconds", "Unix time of the newest snapshot the trend read");
	struct prom_label l[3], lp[1] = { { "program", program } };
	struct strbuf site = STRBUF_INIT;
	double rest = t->total.bytes_per_hour;
	double crest = t->total.count_per_hour;
	size_t i, k, n = top && top < t->nrows ? top : t->nrows;

	for (i = 0; i < n; i++) {
		const struct trend_row *row = &t->rows[i];

		k = row_labels(t, program, row->key, l, &site);
		prom_sample(p, rate, l, k, milli(row->st.bytes_per_hour));
		prom_sample(p, crate, l, k, milli(row->st.count_per_hour));
		if (row->st.intervals)
			prom_sample(p, share, l, k, row->st.grew_share);
		prom_sample(p, suspect, l, k, row->st.suspect);
		rest -= row->st.bytes_per_hour;
		crest -= row->st.count_per_hour;
	}
	if (n < t->nkeys) {
		k = row_labels(t, program, OTHER_KEY, l, &site);
		if (t->by == BY_SITE_TYPE) {
			l[2].name = "type";
			l[2].value = OTHER_KEY;
			k = 3;
		}
		prom_sample(p, rate, l, k, milli(rest));
		prom_sample(p, crate, l, k, milli(crest));
	}
	strbuf_release(&site);
	prom_sample(p, snaps, lp, 1, (double)t->npoints_analysed);
	prom_sample(p, segs, lp, 1, (double)t->nsegments);
	prom_sample(p, workers, lp, 1, (double)t->nworkers);
	/* Labelled by worker number, not PID: a worker that gunicorn
	 * replaces keeps its series, and their number stays the number of
	 * workers. */
	for (i = 0; i < t->nworkers; i++) {
		const struct trend_worker *wk = &t->workers[i];
		const struct trend_segment *ls =
			&t->segments[wk->first_segment + wk->nsegments - 1];
		char num[32];
		struct prom_label lw[2] = {
			{ "program", program }, { "worker", num },
		};

		if (!wk->analysed)
			continue;
		snprintf(num, sizeof(num), "%zu", i + 1);
		prom_sample(p, wrate, lw, 2, milli(wk->total.bytes_per_hour));
		prom_sample(p, wsuspect, lw, 2, wk->top && wk->top_st.suspect);
		prom_sample(p, wpid, lw, 2, (double)ls->pid);
	}
	if (t->npoints_analysed)
		prom_sample(p, window, lp, 1, t->hours * 3600.0);
	if (t->npoints)
		prom_sample(p, last, lp, 1,
			    t->points[t->npoints - 1].taken_at);
}

/*
 * Metrics made in the sandboxed parsing process (sandbox/sandbox.h) go to
 * the parent, which writes the file: each family as "name\0help\0samples\0".
 * The parent checks what it takes, as it would any input: a name as
 * Prometheus defines one, a help text of one printable line, samples that
 * are lines of that family.
 */
void prom_serialize(const struct prom *p, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct prom_family *f = &p->fams[i];

		strbuf_add(out, f->name, strlen(f->name) + 1);
		strbuf_add(out, f->help, strlen(f->help) + 1);
		strbuf_add(out, f->samples.buf, f->samples.len);
		strbuf_addch(out, '\0');
	}
}

static bool metric_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!(s[i] == '_' || s[i] == ':' ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (i && s[i] >= '0' && s[i] <= '9')))
			return false;
	return i > 0 && i < 200;
}

static bool help_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '\\' || *s == 0x7f)
			return false;
	return true;
}

/* Each line "name{...} value" or "name value", newline-terminated. */
static bool samples_ok(const char *name, const char *s, size_t len)
{
	size_t n = strlen(name), i = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);

		if (!nl || (size_t)(nl - (s + i)) <= n ||
		    memcmp(s + i, name, n) ||
		    (s[i + n] != '{' && s[i + n] != ' '))
			return false;
		i = (size_t)(nl - s) + 1;
	}
	return true;
}

int prom_merge_serialized(struct prom *p, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *name = buf + i, *help, *samples;
		const char *end = buf + len, *z;
		size_t f;

		z = memchr(name, '\0', (size_t)(end - name));
		if (!z)
			break;
		help = z + 1;
		z = help < end ? memchr(help, '\0', (size_t)(end - help)) : NULL;
		if (!z)
			break;
		samples = z + 1;
		z = samples < end ?
		    memchr(samples, '\0', (size_t)(end - samples)) : NULL;
		if (!z || !metric_name_ok(name) || !help_ok(help) ||
		    !samples_ok(name, samples, (size_t)(z - samples)))
			break;
		f = prom_gauge(p, name, help);
		strbuf_add(&p->fams[f].samples, samples, (size_t)(z - samples));
		i = (size_t)(z + 1 - buf);
	}
	if (i == len)
		return 0;
	return ph_error(PH_E_FORMAT, "the parsing process sent metrics that "
			"are not Prometheus text");
}
