/*
 * Rendering diff (pyheap-diff(1)): text for people, JSON and CSV for
 * scripts (contracts: DESIGN.md "JSON").  The helpers it shares with show
 * are in report.c (internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "table.h"
#include "snapshot/snapshot.h"

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
	size_t i, k, n = rep_shown(d->nrows, top);

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
		rep_json_site(&j, d->by, d->depth, &row->site);
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
	/* What pyheap leaks calls lost, where snap classified it. */
	json_key(&j, "lost_native_bytes");
	json_obj_begin(&j);
	json_key(&j, "a");
	if (d->lost_known_a)
		json_uint(&j, d->lost_a);
	else
		json_null(&j);
	json_key(&j, "b");
	if (d->lost_known_b)
		json_uint(&j, d->lost_b);
	else
		json_null(&j);
	json_obj_end(&j);
	json_obj_end(&j);
}

void render_diff_csv(struct strbuf *out, const struct diff *d, size_t top)
{
	size_t i, n = rep_shown(d->nrows, top);

	strbuf_addstr(out, "key,count_a,count_b,count_delta,bytes_a,bytes_b,"
		      "bytes_delta");
	rep_csv_site_header(out, d->by, d->depth);
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
		rep_csv_site(out, d->by, d->depth, &row->site);
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

static void diff_site_notes(struct strbuf *out, const struct snapshot *a,
			    const struct snapshot *b, unsigned depth)
{
	/* A snapshot whose note says why it has no traces is not advised
	 * to start tracing: it may have been (site_note says). */
	bool ta = snapshot_has_traced_sites(a) || a->meta.sites_note;
	bool tb = snapshot_has_traced_sites(b) || b->meta.sites_note;
	unsigned ka = rep_frames_short(a, depth), kb = rep_frames_short(b, depth);

	if (!ta || !tb)
		rep_site_hint(out, "   ", ta == tb ? "" : ta ? "B's " : "A's ");
	/* The same note for both (a 2.7 process, say) once. */
	if (a->meta.sites_note && b->meta.sites_note &&
	    !strcmp(snapshot_str(a, a->meta.sites_note),
		    snapshot_str(b, b->meta.sites_note))) {
		rep_site_note(out, "   ", "", a);
	} else {
		rep_site_note(out, "   ", "A: ", a);
		rep_site_note(out, "   ", "B: ", b);
	}
	if (ka && ka == kb) {
		rep_depth_note(out, "   ", "", ka, depth);
	} else {
		if (ka)
			rep_depth_note(out, "   ", "A: ", ka, depth);
		if (kb)
			rep_depth_note(out, "   ", "B: ", kb, depth);
	}
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
	rep_add_process(out, "process", s);
	strbuf_addstr(out, "\n   ");
	rep_add_taken(out, s);
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
	rep_add_unverified(out, "   not read: ", s);
	rep_add_not_modelled(out, "   note: ", s);
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
	size_t ng = diff_has_garbage(d), nsite = rep_site_columns(d->by);
	size_t kc = 6 + ng + nsite;

	_Static_assert(8 + 2 <= TABLE_MAX_COLS, "diff --by site,type columns");
	struct table t = { 7 + ng + nsite, { 8, 8, 9, 7, 7, 7, 0, 0 }, "  ",
			   colour, NULL, 0, 0, nsite };
	const struct report_totals *ta = &d->totals_a, *tb = &d->totals_b;
	struct table_row *row;
	size_t i, n = rep_shown(d->nrows, top), first_total;

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
	rep_site_headings(row, 6 + ng, d->by);
	strbuf_addstr(&row->cell[kc], rep_key_heading(d->by));
	for (i = 0; i < n; i++) {
		const struct diff_row *dr = &d->rows[i];
		struct table_row *dtr;

		add_diff_row(&t, dr->bytes_a, dr->bytes_b, dr->count_a,
			     dr->count_b);
		dtr = &t.rows[t.nrows - 1];
		if (ng)
			garbage_cell(dtr, diff_garbage_delta(dr));
		if (nsite)
			rep_site_cells(dtr, 6 + ng, d->by, &dr->site);
		else
			fmt_printable(&dtr->cell[kc], dr->key);
		if (!dr->count_a)
			strbuf_addstr(&dtr->cell[kc], " (new)");
		else if (!dr->count_b)
			strbuf_addstr(&dtr->cell[kc], " (gone)");
		if (nsite)
			rep_site_traceback(&t, &dr->site);
	}
	rep_table_notes(&t, d->nkeys, d->nrows, n);
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
	if (d->lost_known_a || d->lost_known_b) {
		strbuf_addstr(out, "Lost native memory (pyheap leaks): A ");
		if (d->lost_known_a)
			fmt_bytes(out, d->lost_a);
		else
			strbuf_addstr(out, "not classified");
		strbuf_addstr(out, ", B ");
		if (d->lost_known_b)
			fmt_bytes(out, d->lost_b);
		else
			strbuf_addstr(out, "not classified");
		if (d->lost_known_a && d->lost_known_b) {
			strbuf_addstr(out, ": ");
			fmt_signed_bytes(out, (int64_t)(d->lost_b - d->lost_a));
		}
		strbuf_addch(out, '\n');
	}
}
