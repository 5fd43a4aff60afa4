/*
 * Rendering show: text for people, JSON and CSV for scripts (formats are
 * contracts: DESIGN.md "JSON", pyheap-show(1)), and the pieces diff.c
 * shares with it (rep_*, internal.h): sites, notes, the process line.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "table.h"
#include "snapshot/snapshot.h"

/* The objects and their bytes, from the summary (a report's snapshot is
 * read without its objects). */
static void object_totals(const struct snapshot *s, uint64_t *n,
			  uint64_t *bytes)
{
	struct snap_summary tmp;

	snap_summary_totals(snapshot_summary(s, &tmp), n, bytes);
	snap_summary_release(&tmp);
}

void json_snapshot_summary(struct json *j, const char *file,
			   const struct snapshot *s)
{
	struct strbuf when = STRBUF_INIT;
	uint64_t nobjects, bytes;

	object_totals(s, &nobjects, &bytes);
	fmt_iso8601(&when, s->meta.taken_at);
	json_obj_begin(j);
	json_key(j, "file"); json_str(j, file);
	json_key(j, "pid"); json_int(j, s->meta.pid);
	json_key(j, "python"); json_str(j, snapshot_str(s, s->meta.python));
	json_key(j, "taken_at"); json_str(j, when.buf);
	json_key(j, "pause_ms"); json_double(j, s->meta.pause_ms);
	json_key(j, "core");
	if (s->meta.core)
		json_str(j, snapshot_str(s, s->meta.core));
	else
		json_null(j);
	json_key(j, "objects"); json_uint(j, nobjects);
	json_key(j, "bytes"); json_uint(j, bytes);
	/* Native chunks: owned by an object's C struct, or unowned (0 when
	 * malloc was not walked). */
	json_key(j, "native_bytes"); json_uint(j, snapshot_native_bytes(s));
	json_obj_end(j);
	strbuf_release(&when);
}

size_t rep_shown(size_t nrows, size_t top)
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
void rep_json_site(struct json *j, enum group_by by, unsigned depth,
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
void rep_csv_site_header(struct strbuf *out, enum group_by by,
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
void rep_csv_site(struct strbuf *out, enum group_by by, unsigned depth,
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
	size_t i, n = rep_shown(r->nrows, top);

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
		rep_json_site(&j, r->by, r->depth, &r->rows[i].site);
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
	size_t i, n = rep_shown(r->nrows, top);

	strbuf_addstr(out, "key,count,bytes");
	if (shows_gc(r->by))
		strbuf_addstr(out, ",gc_tracked");
	rep_csv_site_header(out, r->by, r->depth);
	strbuf_addch(out, '\n');
	for (i = 0; i < n; i++) {
		csv_field(out, r->rows[i].key);
		strbuf_addf(out, ",%llu,%llu",
			    (unsigned long long)r->rows[i].count,
			    (unsigned long long)r->rows[i].bytes);
		if (shows_gc(r->by))
			strbuf_addf(out, ",%llu", (unsigned long long)
				    r->rows[i].gc_tracked);
		rep_csv_site(out, r->by, r->depth, &r->rows[i].site);
		strbuf_addch(out, '\n');
	}
}


/* ---- text -------------------------------------------------------------- */

const char *rep_key_heading(enum group_by by)
{
	static const char *const h[] = {
		[BY_TYPE] = "TYPE", [BY_MODULE] = "MODULE",
		[BY_SITE] = "SITE", [BY_NATIVE] = "SIZE CLASS",
		[BY_SITE_TYPE] = "SITE",
	};

	return h[by];
}

void rep_json_delta(struct json *j, const char *name, bool compared,
		    uint64_t now, uint64_t before)
{
	json_key(j, name);
	if (compared)
		json_int(j, (int64_t)(now - before));
	else
		json_null(j);
}

/* The notes under the rows: what --top and the filters left out. */
void rep_table_notes(struct table *t, size_t nkeys, size_t nrows,
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
void rep_add_process(struct strbuf *out, const char *word,
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

/* "taken 2026-...Z, paused 6.21 ms" (a core's: "from core FILE") */
void rep_add_taken(struct strbuf *out, const struct snapshot *s)
{
	strbuf_addstr(out, "taken ");
	fmt_iso8601(out, s->meta.taken_at);
	if (s->meta.core) {
		strbuf_addstr(out, ", from core ");
		fmt_printable(out, snapshot_str(s, s->meta.core));
	} else if (s->meta.flags & SNAP_INCONSISTENT) {
		strbuf_addstr(out, " without stopping (inconsistent)");
	} else {
		strbuf_addstr(out, ", paused ");
		fmt_ms(out, s->meta.pause_ms);
	}
}

/* SNAP_UNVERIFIED: the lines of meta.checks that say what was not read. */
void rep_add_unverified(struct strbuf *out, const char *prefix,
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
void rep_add_not_modelled(struct strbuf *out, const char *prefix,
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

/* ---- sites in text ------------------------------------------------------ */

/* The text columns a site grouping puts before the key: KIND, and TYPE
 * for site,type. */
size_t rep_site_columns(enum group_by by)
{
	return by == BY_SITE ? 1 : by == BY_SITE_TYPE ? 2 : 0;
}

void rep_site_headings(struct table_row *row, size_t c, enum group_by by)
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
 * (rep_site_traceback()).
 */
void rep_site_cells(struct table_row *row, size_t c, enum group_by by,
		    const struct row_site *site)
{
	const char *kind = site_kinds_name(site->kinds);
	struct strbuf *key = &row->cell[c + rep_site_columns(by)];

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
void rep_site_traceback(struct table *t, const struct row_site *site)
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
void rep_site_hint(struct strbuf *out, const char *indent,
		   const char *whose)
{
	strbuf_addf(out, "%sNote: %ssites are inferred; for allocation sites "
		    "start the target with PYTHONTRACEMALLOC=1 (or -X "
		    "tracemalloc=1)\n", indent, whose);
}

void rep_site_note(struct strbuf *out, const char *indent,
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
unsigned rep_frames_short(const struct snapshot *s, unsigned depth)
{
	unsigned kept = s->meta.tracemalloc_frames;

	return s->meta.tracemalloc_tracing && kept && kept < depth ? kept : 0;
}

void rep_depth_note(struct strbuf *out, const char *indent,
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
	unsigned kept = rep_frames_short(s, depth);

	/* No advice where the note says why (it may have been tracing). */
	if (!snapshot_has_traced_sites(s) && !s->meta.sites_note)
		rep_site_hint(out, "", "");
	rep_site_note(out, "", "", s);
	if (kept)
		rep_depth_note(out, "", "", kept, depth);
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
	size_t nsite = rep_site_columns(r->by), kc = 2 + gc + nsite;
	struct table t = { kc + 1, { 12, 12, gc ? 12 : 0, 0 }, " ", false,
			   NULL, 0, 0, nsite };
	const struct report_totals *tot = &r->totals;
	struct table_row *row;
	size_t i, n = rep_shown(r->nrows, top);

	strbuf_addstr(out, "Snapshot ");
	fmt_printable(out, file);
	strbuf_addch(out, '\n');
	rep_add_process(out, "Process", s);
	strbuf_addstr(out, ", ");
	rep_add_taken(out, s);
	strbuf_addch(out, '\n');
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(out, "Partial: " PARTIAL_NOTE "\n");
	rep_add_unverified(out, "Not read: ", s);
	rep_add_not_modelled(out, "Note: ", s);
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
	rep_site_headings(row, 2 + gc, r->by);
	strbuf_addstr(&row->cell[kc], rep_key_heading(r->by));
	for (i = 0; i < n; i++) {
		const struct report_row *rr = &r->rows[i];

		row = show_row(&t, gc, rr->bytes, rr->count, rr->gc_tracked,
			       rr->native);
		if (nsite) {
			rep_site_cells(row, 2 + gc, r->by, &rr->site);
			rep_site_traceback(&t, &rr->site);
		} else {
			fmt_printable(&row->cell[kc], rr->key);
		}
	}
	rep_table_notes(&t, r->nkeys, r->nrows, n);
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
