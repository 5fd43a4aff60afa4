/*
 * Rendering reports: text for people, JSON and CSV for scripts (formats
 * are contracts: DESIGN.md "JSON", pyheap-show(1), pyheap-diff(1)).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
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

/* The memory breakdown as a JSON object (show --format json "memory"). */
static void json_breakdown(struct json *j, const struct memory_breakdown *m)
{
	size_t i;

	json_obj_begin(j);
	json_key(j, "rss"); json_uint(j, m->rss);
	json_key(j, "pymalloc_arenas"); json_uint(j, m->pymalloc_arenas);
	json_key(j, "pymalloc_used"); json_uint(j, m->pymalloc_used);
	json_key(j, "objects_in_malloc"); json_uint(j, m->objects_in_malloc);
	json_key(j, "buffers"); json_uint(j, m->buffers);
	json_key(j, "native_owned"); json_uint(j, m->native_owned);
	json_key(j, "native_unowned"); json_uint(j, m->native_unowned);
	json_key(j, "allocator"); json_uint(j, m->allocator);
	json_key(j, "malloc_free"); json_uint(j, m->malloc_free);
	json_key(j, "malloc_top"); json_uint(j, m->top);
	json_key(j, "malloc_overhead"); json_uint(j, m->malloc_overhead);
	json_key(j, "unaccounted"); json_int(j, m->unaccounted);
	json_key(j, "native_owners");
	json_arr_begin(j);
	for (i = 0; i < m->nowners; i++) {
		json_obj_begin(j);
		json_key(j, "type"); json_str(j, m->owners[i].type);
		json_key(j, "chunks"); json_uint(j, m->owners[i].chunks);
		json_key(j, "bytes"); json_uint(j, m->owners[i].bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
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
		json_site(&j, r->by, r->depth, &r->rows[i].site);
		json_obj_end(&j);
	}
	json_arr_end(&j);
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
	csv_site_header(out, r->by, r->depth);
	strbuf_addch(out, '\n');
	for (i = 0; i < n; i++) {
		csv_field(out, r->rows[i].key);
		strbuf_addf(out, ",%llu,%llu",
			    (unsigned long long)r->rows[i].count,
			    (unsigned long long)r->rows[i].bytes);
		csv_site(out, r->by, r->depth, &r->rows[i].site);
		strbuf_addch(out, '\n');
	}
}

void render_diff_json(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top)
{
	struct json j;
	size_t i, n = shown(d->nrows, top);

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
	json_obj_end(&j);
	json_obj_end(&j);
}

void render_diff_csv(struct strbuf *out, const struct diff *d, size_t top)
{
	size_t i, n = shown(d->nrows, top);

	strbuf_addstr(out, "key,count_a,count_b,count_delta,bytes_a,bytes_b,"
		      "bytes_delta");
	csv_site_header(out, d->by, d->depth);
	strbuf_addch(out, '\n');
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
		strbuf_addch(out, '\n');
	}
}

/* ---- text -------------------------------------------------------------- */

struct table_row *table_add(struct table *t)
{
	struct table_row *row;
	size_t i;

	PH_GROW(t->rows, t->alloc, t->nrows + 1);
	row = &t->rows[t->nrows++];
	for (i = 0; i < TABLE_MAX_COLS; i++) {
		strbuf_init(&row->cell[i]);
		row->sgr[i] = NULL;
	}
	return row;
}

/* A row of "..." and a note in the key column; takes the note. */
void table_note(struct table *t, struct strbuf *note)
{
	struct table_row *row = table_add(t);
	size_t i;

	for (i = 0; i + 1 + t->nleft < t->ncols; i++)
		strbuf_addstr(&row->cell[i], "...");
	row->cell[t->ncols - 1] = *note;
	strbuf_init(note);
}

void table_render(struct table *t, struct strbuf *out)
{
	size_t width[TABLE_MAX_COLS], r, c;

	for (c = 0; c < t->ncols; c++) {
		width[c] = t->min_width[c];
		for (r = 0; r < t->nrows; r++)
			width[c] = PH_MAX(width[c], t->rows[r].cell[c].len);
	}
	for (r = 0; r < t->nrows; r++) {
		struct table_row *row = &t->rows[r];

		for (c = 0; c < t->ncols; c++) {
			const char *sgr = t->colour ? row->sgr[c] : NULL;
			bool last = c + 1 == t->ncols;
			bool left = !last && c + 1 + t->nleft >= t->ncols;
			int pad = last ? 0 : (int)(width[c] - row->cell[c].len);

			if (c)
				strbuf_addstr(out, last || left ? "  " :
					      t->sep);
			if (!left)
				strbuf_addf(out, "%*s", pad, "");
			if (sgr)
				strbuf_addstr(out, sgr);
			strbuf_add(out, row->cell[c].buf, row->cell[c].len);
			if (sgr)
				strbuf_addstr(out, SGR_RESET);
			if (left)
				strbuf_addf(out, "%*s", pad, "");
		}
		strbuf_addch(out, '\n');
	}
}

void table_release(struct table *t)
{
	size_t r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < TABLE_MAX_COLS; c++)
			strbuf_release(&t->rows[r].cell[c]);
	free(t->rows);
}

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

#define PARTIAL_NOTE "some heap structures could not be walked; counts are " \
	"a floor"

static void breakdown_line(struct strbuf *out, const char *what,
			   uint64_t bytes, const char *detail)
{
	struct strbuf b = STRBUF_INIT;

	fmt_bytes(&b, bytes);
	strbuf_addf(out, "  %-28s %12s%s%s\n", what, b.buf, detail ? "  " : "",
		    detail ? detail : "");
	strbuf_release(&b);
}

/* Where the process's memory is: the breakdown of pyheap show, before the
 * table (only for snapshots where malloc was walked). */
static void render_breakdown(struct strbuf *out, const struct snapshot *s)
{
	struct memory_breakdown m;
	struct strbuf d = STRBUF_INIT;
	size_t i;

	memory_breakdown(s, &m);
	strbuf_addstr(out, "Memory\n");
	if (m.rss)
		breakdown_line(out, "RSS", m.rss, NULL);
	strbuf_addstr(&d, "(");
	fmt_bytes(&d, m.pymalloc_used);
	strbuf_addstr(&d, " in used blocks)");
	breakdown_line(out, "pymalloc arenas", m.pymalloc_arenas, d.buf);
	breakdown_line(out, "Python objects in malloc", m.objects_in_malloc,
		       NULL);
	breakdown_line(out, "buffers owned by objects", m.buffers, NULL);
	breakdown_line(out, "native, owned by objects", m.native_owned, NULL);
	for (i = 0; i < m.nowners && i < 5; i++) {
		strbuf_reset(&d);
		strbuf_addstr(&d, "    ");
		fmt_printable(&d, m.owners[i].type);
		breakdown_line(out, d.buf, m.owners[i].bytes, NULL);
	}
	breakdown_line(out, "native, unowned", m.native_unowned, NULL);
	breakdown_line(out, "allocator metadata", m.allocator, NULL);
	breakdown_line(out, "malloc free", m.malloc_free, NULL);
	breakdown_line(out, "malloc top pad", m.top, NULL);
	if (m.rss) {
		strbuf_reset(&d);
		if (m.unaccounted < 0)
			strbuf_addch(&d, '-');
		fmt_bytes(&d, (uint64_t)(m.unaccounted < 0 ? -m.unaccounted :
					 m.unaccounted));
		strbuf_addf(out, "  %-28s %12s  (code, stacks, other "
			    "mappings)\n", "unaccounted", d.buf);
	}
	strbuf_addch(out, '\n');
	strbuf_release(&d);
	memory_breakdown_release(&m);
}

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

void render_show_text(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top)
{
	size_t nsite = site_columns(r->by);
	struct table t = { 3 + nsite, { 12, 12, 0 }, " ", false, NULL, 0, 0,
			   nsite };
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
	site_headings(row, 2, r->by);
	strbuf_addstr(&row->cell[2 + nsite], key_heading(r->by));
	for (i = 0; i < n; i++) {
		row = table_add(&t);
		fmt_bytes(&row->cell[0], r->rows[i].bytes);
		fmt_count(&row->cell[1], r->rows[i].count);
		if (nsite) {
			site_cells(row, 2, r->by, &r->rows[i].site);
			site_traceback(&t, &r->rows[i].site);
		} else {
			fmt_printable(&row->cell[2], r->rows[i].key);
		}
	}
	table_notes(&t, r->nkeys, r->nrows, n);
	row = table_add(&t);
	fmt_bytes(&row->cell[0], r->total_bytes);
	fmt_count(&row->cell[1], r->total_count);
	strbuf_addstr(&row->cell[2 + nsite], "total");
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
}

void render_diff_text(struct strbuf *out, const char *file_a,
		      const struct snapshot *a, const char *file_b,
		      const struct snapshot *b, const struct diff *d,
		      size_t top, bool colour)
{
	static const char *const heads[] = {
		"BYTES A", "BYTES B", "DELTA", "COUNT A", "COUNT B", "DELTA",
	};
	size_t nsite = site_columns(d->by), kc = 6 + nsite;

	_Static_assert(7 + 2 <= TABLE_MAX_COLS, "diff --by site,type columns");
	struct table t = { 7 + nsite, { 8, 8, 9, 7, 7, 7, 0 }, "  ", colour,
			   NULL, 0, 0, nsite };
	struct table_row *row;
	size_t i, n = shown(d->nrows, top);

	diff_header(out, "A", file_a, a, NULL);
	diff_header(out, "B", file_b, b, a);
	if (group_by_site(d->by))
		diff_site_notes(out, a, b, d->depth);
	strbuf_addch(out, '\n');

	row = table_add(&t);
	for (i = 0; i < PH_ARRAY_SIZE(heads); i++)
		strbuf_addstr(&row->cell[i], heads[i]);
	site_headings(row, 6, d->by);
	strbuf_addstr(&row->cell[kc], key_heading(d->by));
	for (i = 0; i < n; i++) {
		const struct diff_row *dr = &d->rows[i];
		struct table_row *dtr;

		add_diff_row(&t, dr->bytes_a, dr->bytes_b, dr->count_a,
			     dr->count_b);
		dtr = &t.rows[t.nrows - 1];
		if (nsite)
			site_cells(dtr, 6, d->by, &dr->site);
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
	add_diff_row(&t, d->bytes_a, d->bytes_b, d->count_a, d->count_b);
	row = &t.rows[t.nrows - 1];
	strbuf_addstr(&row->cell[kc], "total");
	for (i = 0; i < t.ncols; i++)
		if (!row->sgr[i] && row->cell[i].len)
			row->sgr[i] = SGR_BOLD;
	table_render(&t, out);
	table_release(&t);
}
