/*
 * Rendering reports: text for people, JSON and CSV for scripts (formats
 * are contracts: DESIGN.md "JSON", pyheap-show(1), pyheap-diff(1)).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "table.h"
#include "snapshot/snapshot.h"

static uint64_t total_bytes(const struct snapshot *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		n += s->objects[i].size;
	return n;
}

void json_snapshot_summary(struct json *j, const char *file,
			   const struct snapshot *s)
{
	struct strbuf when = STRBUF_INIT;

	fmt_iso8601(&when, s->meta.taken_at);
	json_obj_begin(j);
	json_key(j, "file"); json_str(j, file);
	json_key(j, "pid"); json_int(j, s->meta.pid);
	json_key(j, "python"); json_str(j, snapshot_str(s, s->meta.python));
	json_key(j, "taken_at"); json_str(j, when.buf);
	json_key(j, "pause_ms"); json_double(j, s->meta.pause_ms);
	json_key(j, "objects"); json_uint(j, s->nobjects);
	json_key(j, "bytes"); json_uint(j, total_bytes(s));
	/* Native chunks: owned by an object's C struct, or unowned (0 when
	 * malloc was not walked). */
	json_key(j, "native_bytes"); json_uint(j, snapshot_native_bytes(s));
	json_obj_end(j);
	strbuf_release(&when);
}

static size_t shown(size_t nrows, size_t top)
{
	return top && top < nrows ? top : nrows;
}

/* Groupings whose rows say how many of their objects are GC-tracked
 * (pyheap-show(1): gc_tracked, --gc). */
static bool shows_gc(enum group_by by)
{
	return by == BY_TYPE || by == BY_MODULE;
}

/* A site row's fields after the counts (pyheap-show(1) "JSON"):
 * site_kind; site and type for site,type; frames with --depth. */
static void json_site(struct json *j, enum group_by by, unsigned depth,
		      const struct row_site *site)
{
	const char *kind = site_kinds_name(site->kinds);
	uint32_t i;

	if (!group_by_site(by))
		return;
	json_key(j, "site_kind");
	if (kind)
		json_str(j, kind);
	else
		json_null(j);
	if (by == BY_SITE_TYPE) {
		json_key(j, "site"); json_str(j, site->key);
		json_key(j, "type"); json_str(j, site->type);
	}
	if (!depth)
		return;
	json_key(j, "frames");
	json_arr_begin(j);
	for (i = 0; i < site->nframes; i++) {
		json_obj_begin(j);
		json_key(j, "file"); json_str(j, site->frames[i].file);
		json_key(j, "line"); json_uint(j, site->frames[i].line);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* The CSV columns a site grouping adds after the counts. */
static void csv_site_header(struct strbuf *out, enum group_by by,
			    unsigned depth)
{
	if (!group_by_site(by))
		return;
	strbuf_addstr(out, ",site_kind");
	if (by == BY_SITE_TYPE)
		strbuf_addstr(out, ",site,type");
	if (depth)
		strbuf_addstr(out, ",frames");
}

/* Their values: frames as "FILE:LINE;FILE:LINE", innermost first. */
static void csv_site(struct strbuf *out, enum group_by by, unsigned depth,
		     const struct row_site *site)
{
	const char *kind = site_kinds_name(site->kinds);
	struct strbuf f = STRBUF_INIT;
	uint32_t i;

	if (!group_by_site(by))
		return;
	strbuf_addch(out, ',');
	csv_field(out, kind ? kind : "");
	if (by == BY_SITE_TYPE) {
		strbuf_addch(out, ',');
		csv_field(out, site->key);
		strbuf_addch(out, ',');
		csv_field(out, site->type);
	}
	if (!depth)
		return;
	for (i = 0; i < site->nframes; i++)
		strbuf_addf(&f, "%s%s:%u", i ? ";" : "", site->frames[i].file,
			    site->frames[i].line);
	strbuf_addch(out, ',');
	csv_field(out, f.buf);
	strbuf_release(&f);
}

void render_show_json(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top)
{
	struct json j;
	size_t i, n = shown(r->nrows, top);

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "snapshot");
	json_snapshot_summary(&j, file, s);
	json_key(&j, "by"); json_str(&j, group_by_name(r->by));
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_key(&j, "key"); json_str(&j, r->rows[i].key);
		json_key(&j, "count"); json_uint(&j, r->rows[i].count);
		json_key(&j, "bytes"); json_uint(&j, r->rows[i].bytes);
		if (shows_gc(r->by)) {
			json_key(&j, "gc_tracked");
			json_uint(&j, r->rows[i].gc_tracked);
		}
		json_site(&j, r->by, r->depth, &r->rows[i].site);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	/* What the rows add up to before --match, --min-bytes and --top,
	 * objects and malloc chunks apart (analysis.h "Totals"). */
	json_key(&j, "total");
	json_obj_begin(&j);
	json_key(&j, "objects"); json_uint(&j, r->totals.objects);
	json_key(&j, "object_bytes"); json_uint(&j, r->totals.object_bytes);
	json_key(&j, "gc_tracked"); json_uint(&j, r->totals.gc_tracked);
	json_key(&j, "native_chunks"); json_uint(&j, r->totals.native_chunks);
	json_key(&j, "native_bytes"); json_uint(&j, r->totals.native_bytes);
	json_key(&j, "rows"); json_uint(&j, r->nkeys);
	json_obj_end(&j);
	if (s->meta.flags & SNAP_NATIVE) {
		struct memory_breakdown m;

		memory_breakdown(s, &m);
		json_key(&j, "memory");
		json_breakdown(&j, &m);
		memory_breakdown_release(&m);
	}
	json_obj_end(&j);
}

void render_show_csv(struct strbuf *out, const struct report *r, size_t top)
{
	size_t i, n = shown(r->nrows, top);

	strbuf_addstr(out, "key,count,bytes");
	if (shows_gc(r->by))
		strbuf_addstr(out, ",gc_tracked");
	csv_site_header(out, r->by, r->depth);
	strbuf_addch(out, '\n');
	for (i = 0; i < n; i++) {
		csv_field(out, r->rows[i].key);
		strbuf_addf(out, ",%llu,%llu",
			    (unsigned long long)r->rows[i].count,
			    (unsigned long long)r->rows[i].bytes);
		if (shows_gc(r->by))
			strbuf_addf(out, ",%llu", (unsigned long long)
				    r->rows[i].gc_tracked);
		csv_site(out, r->by, r->depth, &r->rows[i].site);
		strbuf_addch(out, '\n');
	}
}

/* "NAME_a": a, "NAME_b": b */
static void json_totals_ab(struct json *j, const char *name, uint64_t a,
			   uint64_t b)
{
	struct strbuf key = STRBUF_INIT;

	strbuf_addf(&key, "%s_a", name);
	json_key(j, key.buf);
	json_uint(j, a);
	strbuf_reset(&key);
	strbuf_addf(&key, "%s_b", name);
	json_key(j, key.buf);
	json_uint(j, b);
	strbuf_release(&key);
}

/* A row's bytes that are garbage (OBJ_GARBAGE) in each snapshot, null
 * where that snapshot has no garbage stats; the delta where both do. */
static void json_row_garbage(struct json *j, const struct diff *d,
			     const struct diff_row *row)
{
	json_key(j, "garbage_bytes_a");
	if (d->garbage_a.known)
		json_uint(j, row->garbage_a);
	else
		json_null(j);
	json_key(j, "garbage_bytes_b");
	if (d->garbage_b.known)
		json_uint(j, row->garbage_b);
	else
		json_null(j);
	json_key(j, "garbage_bytes_delta");
	if (diff_has_garbage(d))
		json_int(j, diff_garbage_delta(row));
	else
		json_null(j);
}

void render_diff_json(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top, const struct diff_why *dw, size_t ndw)
{
	struct json j;
	size_t i, k, n = shown(d->nrows, top);

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_snapshot_summary(&j, file_a, a);
	json_key(&j, "b");
	json_snapshot_summary(&j, file_b, b);
	json_key(&j, "by"); json_str(&j, group_by_name(d->by));
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		const struct diff_row *row = &d->rows[i];

		json_obj_begin(&j);
		json_key(&j, "key"); json_str(&j, row->key);
		json_key(&j, "count_a"); json_uint(&j, row->count_a);
		json_key(&j, "count_b"); json_uint(&j, row->count_b);
		json_key(&j, "count_delta"); json_int(&j, diff_count_delta(row));
		json_key(&j, "bytes_a"); json_uint(&j, row->bytes_a);
		json_key(&j, "bytes_b"); json_uint(&j, row->bytes_b);
		json_key(&j, "bytes_delta"); json_int(&j, diff_bytes_delta(row));
		json_site(&j, d->by, d->depth, &row->site);
		json_row_garbage(&j, d, row);
		if (dw) {
			/* diff --why: the rows it looked at, null for the
			 * others. */
			json_key(&j, "why");
			for (k = 0; k < ndw && dw[k].row != i; k++)
				;
			if (k < ndw)
				json_diff_why(&j, &dw[k]);
			else
				json_null(&j);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	/* The contract's two deltas first; the rest says what the total
	 * covers: both whole snapshots, and `rows` keys before --match,
	 * --min-bytes and --top, so a script can tell rows were left out. */
	json_key(&j, "total");
	json_obj_begin(&j);
	json_key(&j, "count_delta");
	json_int(&j, (int64_t)(d->count_b - d->count_a));
	json_key(&j, "bytes_delta");
	json_int(&j, (int64_t)(d->bytes_b - d->bytes_a));
	json_key(&j, "count_a"); json_uint(&j, d->count_a);
	json_key(&j, "count_b"); json_uint(&j, d->count_b);
	json_key(&j, "bytes_a"); json_uint(&j, d->bytes_a);
	json_key(&j, "bytes_b"); json_uint(&j, d->bytes_b);
	json_key(&j, "rows"); json_uint(&j, d->nkeys);
	/* The same split: objects and malloc chunks apart. */
	json_totals_ab(&j, "objects", d->totals_a.objects,
		       d->totals_b.objects);
	json_totals_ab(&j, "object_bytes", d->totals_a.object_bytes,
		       d->totals_b.object_bytes);
	json_totals_ab(&j, "native_chunks", d->totals_a.native_chunks,
		       d->totals_b.native_chunks);
	json_totals_ab(&j, "native_bytes", d->totals_a.native_bytes,
		       d->totals_b.native_bytes);
	json_obj_end(&j);
	/* What pyheap garbage finds in each, where snap counted it. */
	json_key(&j, "garbage");
	json_obj_begin(&j);
	json_key(&j, "a"); json_garbage_totals(&j, &d->garbage_a);
	json_key(&j, "b"); json_garbage_totals(&j, &d->garbage_b);
	json_obj_end(&j);
	json_obj_end(&j);
}

void render_diff_csv(struct strbuf *out, const struct diff *d, size_t top)
{
	size_t i, n = shown(d->nrows, top);

	strbuf_addstr(out, "key,count_a,count_b,count_delta,bytes_a,bytes_b,"
		      "bytes_delta");
	csv_site_header(out, d->by, d->depth);
	strbuf_addstr(out, ",garbage_bytes_a,garbage_bytes_b,"
		      "garbage_bytes_delta\n");
	for (i = 0; i < n; i++) {
		const struct diff_row *row = &d->rows[i];

		csv_field(out, row->key);
		strbuf_addf(out, ",%llu,%llu,%lld,%llu,%llu,%lld",
			    (unsigned long long)row->count_a,
			    (unsigned long long)row->count_b,
			    (long long)diff_count_delta(row),
			    (unsigned long long)row->bytes_a,
			    (unsigned long long)row->bytes_b,
			    (long long)diff_bytes_delta(row));
		csv_site(out, d->by, d->depth, &row->site);
		/* Empty where a snapshot has no garbage stats. */
		strbuf_addch(out, ',');
		if (d->garbage_a.known)
			strbuf_addf(out, "%llu",
				    (unsigned long long)row->garbage_a);
		strbuf_addch(out, ',');
		if (d->garbage_b.known)
			strbuf_addf(out, "%llu",
				    (unsigned long long)row->garbage_b);
		strbuf_addch(out, ',');
		if (diff_has_garbage(d))
			strbuf_addf(out, "%lld",
				    (long long)diff_garbage_delta(row));
		strbuf_addch(out, '\n');
	}
}

/* ---- text -------------------------------------------------------------- */

static const char *key_heading(enum group_by by)
{
	static const char *const h[] = {
		[BY_TYPE] = "TYPE", [BY_MODULE] = "MODULE",
		[BY_SITE] = "SITE", [BY_NATIVE] = "SIZE CLASS",
		[BY_SITE_TYPE] = "SITE",
	};

	return h[by];
}

/* The notes under the rows: what --top and the filters left out. */
static void table_notes(struct table *t, size_t nkeys, size_t nrows,
			size_t n)
{
	struct strbuf note = STRBUF_INIT;

	if (n < nrows) {
		strbuf_addf(&note, "(%zu more row%s; --top 0 shows all)",
			    nrows - n, nrows - n == 1 ? "" : "s");
		table_note(t, &note);
	}
	if (nrows < nkeys) {
		strbuf_addf(&note, "(%zu row%s left out by --match or "
			    "--min-bytes)", nkeys - nrows,
			    nkeys - nrows == 1 ? "" : "s");
		table_note(t, &note);
	}
}

/* "Process 4242 (python3 app.py), Python 3.11.2" */
static void add_process(struct strbuf *out, const char *word,
			const struct snapshot *s)
{
	strbuf_addf(out, "%s %lld", word, (long long)s->meta.pid);
	if (*snapshot_str(s, s->meta.cmdline)) {
		strbuf_addstr(out, " (");
		fmt_printable(out, snapshot_str(s, s->meta.cmdline));
		strbuf_addch(out, ')');
	}
	strbuf_addf(out, ", Python %s", snapshot_str(s, s->meta.python));
}

/* "taken 2026-...Z, paused 6.21 ms" */
static void add_taken(struct strbuf *out, const struct snapshot *s)
{
	strbuf_addstr(out, "taken ");
	fmt_iso8601(out, s->meta.taken_at);
	if (s->meta.flags & SNAP_INCONSISTENT) {
		strbuf_addstr(out, " without stopping (inconsistent)");
	} else {
		strbuf_addstr(out, ", paused ");
		fmt_ms(out, s->meta.pause_ms);
	}
}

/* SNAP_UNVERIFIED: the lines of meta.checks that say what was not read. */
static void add_unverified(struct strbuf *out, const char *prefix,
			   const struct snapshot *s)
{
	const char *c = snapshot_str(s, s->meta.checks), *nl;

	if (!(s->meta.flags & SNAP_UNVERIFIED))
		return;
	for (; *c; c = nl + 1) {
		size_t n;

		nl = strchr(c, '\n');
		n = nl ? (size_t)(nl - c) : strlen(c);
		if (memmem(c, n, "unverified", 10)) {
			strbuf_addstr(out, prefix);
			strbuf_add(out, c, n);
			strbuf_addch(out, '\n');
		}
		if (!nl)
			break;
	}
}

/* Types whose objects the census could not size with what they own (stats
 * census.sizeof_not_modelled.TYPE, objects/extension.c): one line naming
 * them, rather than a silently small number. */
#define NOT_MODELLED "census.sizeof_not_modelled."
static void add_not_modelled(struct strbuf *out, const char *prefix,
			     const struct snapshot *s)
{
	const char *sep = "";
	size_t i, n = 0;

	for (i = 0; i < s->nstats; i++) {
		const char *name = snapshot_str(s, s->stats[i].name);

		if (strncmp(name, NOT_MODELLED, strlen(NOT_MODELLED)) ||
		    s->stats[i].value <= 0)
			continue;
		if (!n++)
			strbuf_addf(out, "%ssizes leave out what these own "
				    "(their fields failed pyheap's checks): ",
				    prefix);
		strbuf_addstr(out, sep);
		fmt_printable(out, name + strlen(NOT_MODELLED));
		strbuf_addf(out, " (%lld)", (long long)s->stats[i].value);
		sep = ", ";
	}
	if (n)
		strbuf_addch(out, '\n');
}

#define PARTIAL_NOTE "some heap structures could not be walked; counts are " \
	"a floor"

/* ---- sites in text ------------------------------------------------------ */

/* The text columns a site grouping puts before the key: KIND, and TYPE
 * for site,type. */
static size_t site_columns(enum group_by by)
{
	return by == BY_SITE ? 1 : by == BY_SITE_TYPE ? 2 : 0;
}

static void site_headings(struct table_row *row, size_t c, enum group_by by)
{
	if (!group_by_site(by))
		return;
	strbuf_addstr(&row->cell[c], "KIND");
	if (by == BY_SITE_TYPE)
		strbuf_addstr(&row->cell[c + 1], "TYPE");
}

/*
 * A site row's text cells from column c: its kind ("-" for [no site]),
 * its type for site,type, and as the key its innermost frame (the whole
 * key at depth 1).  The outer frames follow as lines of their own
 * (site_traceback()).
 */
static void site_cells(struct table_row *row, size_t c, enum group_by by,
		       const struct row_site *site)
{
	const char *kind = site_kinds_name(site->kinds);
	struct strbuf *key = &row->cell[c + site_columns(by)];

	strbuf_addstr(&row->cell[c], kind ? kind : "-");
	if (by == BY_SITE_TYPE)
		fmt_printable(&row->cell[c + 1], site->type);
	if (site->nframes > 1) {
		fmt_printable(key, site->frames[0].file);
		strbuf_addf(key, ":%u", site->frames[0].line);
	} else {
		fmt_printable(key, site->key);
	}
}

/* With --depth K: the frames beyond the innermost, one line each under
 * the row, innermost first (as pyheap info prints stacks). */
static void site_traceback(struct table *t, const struct row_site *site)
{
	uint32_t i;

	for (i = 1; i < site->nframes; i++) {
		struct strbuf *key = &table_add(t)->cell[t->ncols - 1];

		strbuf_addstr(key, "  from ");
		fmt_printable(key, site->frames[i].file);
		strbuf_addf(key, ":%u", site->frames[i].line);
	}
}

/*
 * Notes before a site table, once per output.  Sites are inferred only
 * when the target's tracemalloc was off: say how to get the real ones
 * (whose: "" or "A's ").  Why traces were not read although it was
 * tracing (label: "" or "A: ").  A --depth beyond the frames tracemalloc
 * kept cannot show more.
 */
static void site_hint(struct strbuf *out, const char *indent,
		      const char *whose)
{
	strbuf_addf(out, "%sNote: %ssites are inferred; for allocation sites "
		    "start the target with PYTHONTRACEMALLOC=1 (or -X "
		    "tracemalloc=1)\n", indent, whose);
}

static void site_note(struct strbuf *out, const char *indent,
		      const char *label, const struct snapshot *s)
{
	const char *note = snapshot_str(s, s->meta.sites_note);

	if (!*note)
		return;
	strbuf_addf(out, "%sNote: %ssites: ", indent, label);
	fmt_printable(out, note);
	strbuf_addch(out, '\n');
}

/* The frames tracemalloc kept, if fewer than depth; else 0. */
static unsigned frames_short(const struct snapshot *s, unsigned depth)
{
	unsigned kept = s->meta.tracemalloc_frames;

	return s->meta.tracemalloc_tracing && kept && kept < depth ? kept : 0;
}

static void depth_note(struct strbuf *out, const char *indent,
		       const char *label, unsigned kept, unsigned depth)
{
	strbuf_addf(out, "%sNote: %stracemalloc kept %u frame%s per "
		    "allocation; for --depth %u start the target with "
		    "PYTHONTRACEMALLOC=%u\n", indent, label, kept,
		    kept == 1 ? "" : "s", depth, depth);
}

static void show_site_notes(struct strbuf *out, const struct snapshot *s,
			    unsigned depth)
{
	unsigned kept = frames_short(s, depth);

	/* No advice where the note says why (it may have been tracing). */
	if (!snapshot_has_traced_sites(s) && !s->meta.sites_note)
		site_hint(out, "", "");
	site_note(out, "", "", s);
	if (kept)
		depth_note(out, "", "", kept, depth);
}

static void diff_site_notes(struct strbuf *out, const struct snapshot *a,
			    const struct snapshot *b, unsigned depth)
{
	/* A snapshot whose note says why it has no traces is not advised
	 * to start tracing: it may have been (site_note says). */
	bool ta = snapshot_has_traced_sites(a) || a->meta.sites_note;
	bool tb = snapshot_has_traced_sites(b) || b->meta.sites_note;
	unsigned ka = frames_short(a, depth), kb = frames_short(b, depth);

	if (!ta || !tb)
		site_hint(out, "   ", ta == tb ? "" : ta ? "B's " : "A's ");
	site_note(out, "   ", "A: ", a);
	site_note(out, "   ", "B: ", b);
	if (ka && ka == kb) {
		depth_note(out, "   ", "", ka, depth);
	} else {
		if (ka)
			depth_note(out, "   ", "A: ", ka, depth);
		if (kb)
			depth_note(out, "   ", "B: ", kb, depth);
	}
}

/* A show row's numbers: BYTES, COUNT and with --gc GC-TRACKED ("-" for
 * malloc chunks, which are no objects). */
static struct table_row *show_row(struct table *t, bool gc, uint64_t bytes,
				  uint64_t count, uint64_t gc_tracked,
				  bool native)
{
	struct table_row *row = table_add(t);

	fmt_bytes(&row->cell[0], bytes);
	fmt_count(&row->cell[1], count);
	if (gc && native)
		strbuf_addch(&row->cell[2], '-');
	else if (gc)
		fmt_count(&row->cell[2], gc_tracked);
	return row;
}

void render_show_text(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top, bool gc)
{
	size_t nsite = site_columns(r->by), kc = 2 + gc + nsite;
	struct table t = { kc + 1, { 12, 12, gc ? 12 : 0, 0 }, " ", false,
			   NULL, 0, 0, nsite };
	const struct report_totals *tot = &r->totals;
	struct table_row *row;
	size_t i, n = shown(r->nrows, top);

	strbuf_addstr(out, "Snapshot ");
	fmt_printable(out, file);
	strbuf_addch(out, '\n');
	add_process(out, "Process", s);
	strbuf_addstr(out, ", ");
	add_taken(out, s);
	strbuf_addch(out, '\n');
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(out, "Partial: " PARTIAL_NOTE "\n");
	add_unverified(out, "Not read: ", s);
	add_not_modelled(out, "Note: ", s);
	if (s->meta.malloc_note)
		strbuf_addf(out, "Note: %s\n", snapshot_str(s, s->meta.malloc_note));
	if (group_by_site(r->by))
		show_site_notes(out, s, r->depth);
	strbuf_addch(out, '\n');
	if (s->meta.flags & SNAP_NATIVE)
		render_breakdown(out, s);

	row = table_add(&t);
	strbuf_addstr(&row->cell[0], "BYTES");
	strbuf_addstr(&row->cell[1], "COUNT");
	if (gc)
		strbuf_addstr(&row->cell[2], "GC-TRACKED");
	site_headings(row, 2 + gc, r->by);
	strbuf_addstr(&row->cell[kc], key_heading(r->by));
	for (i = 0; i < n; i++) {
		const struct report_row *rr = &r->rows[i];

		row = show_row(&t, gc, rr->bytes, rr->count, rr->gc_tracked,
			       rr->native);
		if (nsite) {
			site_cells(row, 2 + gc, r->by, &rr->site);
			site_traceback(&t, &rr->site);
		} else {
			fmt_printable(&row->cell[kc], rr->key);
		}
	}
	table_notes(&t, r->nkeys, r->nrows, n);
	/* A chunk is no object: objects and chunks are totalled apart
	 * (analysis.h "Totals"). */
	if (report_totals_mixed(tot)) {
		row = show_row(&t, gc, tot->object_bytes, tot->objects,
			       tot->gc_tracked, false);
		strbuf_addstr(&row->cell[kc], "total objects");
		row = show_row(&t, gc, tot->native_bytes, tot->native_chunks,
			       0, true);
		strbuf_addstr(&row->cell[kc], "total native chunks");
	} else {
		row = show_row(&t, gc, r->total_bytes, r->total_count,
			       tot->gc_tracked, !tot->objects);
		strbuf_addstr(&row->cell[kc], "total");
	}
	table_render(&t, out);
	table_release(&t);
}

/* Growth red, shrinking green: a leak hunt reads the red. */
static const char *delta_sgr(int64_t v)
{
	return v > 0 ? SGR_RED : v < 0 ? SGR_GREEN : NULL;
}

static void add_diff_row(struct table *t, uint64_t bytes_a, uint64_t bytes_b,
			 uint64_t count_a, uint64_t count_b)
{
	struct table_row *row = table_add(t);
	int64_t db = (int64_t)(bytes_b - bytes_a);
	int64_t dc = (int64_t)(count_b - count_a);

	fmt_bytes(&row->cell[0], bytes_a);
	fmt_bytes(&row->cell[1], bytes_b);
	fmt_signed_bytes(&row->cell[2], db);
	row->sgr[2] = delta_sgr(db);
	fmt_count(&row->cell[3], count_a);
	fmt_count(&row->cell[4], count_b);
	fmt_signed_count(&row->cell[5], dc);
	row->sgr[5] = delta_sgr(dc);
}

/* The GARBAGE cell of a diff row: the change in its garbage bytes. */
static void garbage_cell(struct table_row *row, int64_t delta)
{
	fmt_signed_bytes(&row->cell[6], delta);
	row->sgr[6] = delta_sgr(delta);
}

/* "A  a.snap: process ..., Python ...\n   taken ..., paused ...[; when]" */
static void diff_header(struct strbuf *out, const char *label,
			const char *file, const struct snapshot *s,
			const struct snapshot *a)
{
	strbuf_addf(out, "%s  ", label);
	fmt_printable(out, file);
	strbuf_addstr(out, ": ");
	add_process(out, "process", s);
	strbuf_addstr(out, "\n   ");
	add_taken(out, s);
	if (a) {
		double dt = s->meta.taken_at - a->meta.taken_at;

		if (dt == 0) {
			strbuf_addstr(out, "; same time as A");
		} else {
			strbuf_addstr(out, "; ");
			fmt_duration(out, dt);
			strbuf_addstr(out, dt > 0 ? " after A" : " before A");
		}
	}
	strbuf_addch(out, '\n');
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(out, "   partial: " PARTIAL_NOTE "\n");
	add_unverified(out, "   not read: ", s);
	add_not_modelled(out, "   note: ", s);
}

void render_diff_text(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top, bool colour)
{
	static const char *const heads[] = {
		"BYTES A", "BYTES B", "DELTA", "COUNT A", "COUNT B", "DELTA",
	};
	/* A GARBAGE column (the change in the row's bytes that are
	 * garbage) where both snapshots say which objects are. */
	size_t ng = diff_has_garbage(d), nsite = site_columns(d->by);
	size_t kc = 6 + ng + nsite;

	_Static_assert(8 + 2 <= TABLE_MAX_COLS, "diff --by site,type columns");
	struct table t = { 7 + ng + nsite, { 8, 8, 9, 7, 7, 7, 0, 0 }, "  ",
			   colour, NULL, 0, 0, nsite };
	const struct report_totals *ta = &d->totals_a, *tb = &d->totals_b;
	struct table_row *row;
	size_t i, n = shown(d->nrows, top), first_total;

	diff_header(out, "A", file_a, a, NULL);
	diff_header(out, "B", file_b, b, a);
	if (group_by_site(d->by))
		diff_site_notes(out, a, b, d->depth);
	strbuf_addch(out, '\n');

	row = table_add(&t);
	for (i = 0; i < PH_ARRAY_SIZE(heads); i++)
		strbuf_addstr(&row->cell[i], heads[i]);
	if (ng)
		strbuf_addstr(&row->cell[6], "GARBAGE");
	site_headings(row, 6 + ng, d->by);
	strbuf_addstr(&row->cell[kc], key_heading(d->by));
	for (i = 0; i < n; i++) {
		const struct diff_row *dr = &d->rows[i];
		struct table_row *dtr;

		add_diff_row(&t, dr->bytes_a, dr->bytes_b, dr->count_a,
			     dr->count_b);
		dtr = &t.rows[t.nrows - 1];
		if (ng)
			garbage_cell(dtr, diff_garbage_delta(dr));
		if (nsite)
			site_cells(dtr, 6 + ng, d->by, &dr->site);
		else
			fmt_printable(&dtr->cell[kc], dr->key);
		if (!dr->count_a)
			strbuf_addstr(&dtr->cell[kc], " (new)");
		else if (!dr->count_b)
			strbuf_addstr(&dtr->cell[kc], " (gone)");
		if (nsite)
			site_traceback(&t, &dr->site);
	}
	table_notes(&t, d->nkeys, d->nrows, n);
	first_total = t.nrows;
	if (report_totals_mixed(ta) || report_totals_mixed(tb)) {
		add_diff_row(&t, ta->object_bytes, tb->object_bytes,
			     ta->objects, tb->objects);
		strbuf_addstr(&t.rows[t.nrows - 1].cell[kc], "total objects");
		add_diff_row(&t, ta->native_bytes, tb->native_bytes,
			     ta->native_chunks, tb->native_chunks);
		strbuf_addstr(&t.rows[t.nrows - 1].cell[kc],
			      "total native chunks");
	} else {
		add_diff_row(&t, d->bytes_a, d->bytes_b, d->count_a,
			     d->count_b);
		strbuf_addstr(&t.rows[t.nrows - 1].cell[kc], "total");
	}
	if (ng)
		garbage_cell(&t.rows[first_total],
			     (int64_t)(garbage_totals_bytes(&d->garbage_b) -
				       garbage_totals_bytes(&d->garbage_a)));
	for (; first_total < t.nrows; first_total++) {
		row = &t.rows[first_total];
		for (i = 0; i < t.ncols; i++)
			if (!row->sgr[i] && row->cell[i].len)
				row->sgr[i] = SGR_BOLD;
	}
	table_render(&t, out);
	table_release(&t);
	text_garbage_totals(out, &d->garbage_a, &d->garbage_b);
}
