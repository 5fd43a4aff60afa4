/*
 * Rendering pyheap why and pyheap retained (analysis.h "Why",
 * "Retained"): text for people; JSON and CSV for scripts (the contracts:
 * pyheap-why(1), pyheap-retained(1)).
 */
#include <inttypes.h>
#include <string.h>

#include "analysis/analysis.h"
#include "output.h"
#include "snapshot/snapshot.h"
#include "internal.h"
#include "table.h"

/* ---- why ------------------------------------------------------------------ */

static void why_summary(struct strbuf *out, const char *file,
			const struct why *w)
{
	strbuf_addf(out, "%s: ", file);
	fmt_count(out, w->objects);
	strbuf_addf(out, " object%s selected, ", w->objects == 1 ? "" : "s");
	fmt_bytes(out, w->bytes);
	strbuf_addstr(out, "; ");
	fmt_count(out, (uint64_t)w->npaths + w->other_paths);
	strbuf_addf(out, " path shape%s\n",
		    w->npaths + w->other_paths == 1 ? "" : "s");
	if (w->unreached) {
		fmt_count(out, w->unreached);
		strbuf_addf(out, " of them (");
		fmt_bytes(out, w->unreached_bytes);
		strbuf_addstr(out, ") reached from nowhere: garbage (pyheap "
			      "garbage says which kind)\n");
	}
	if (w->from_holders) {
		fmt_count(out, w->from_holders);
		strbuf_addstr(out, " held only from outside the heap (C "
			      "code, a leaked reference) or by an immortal "
			      "object\n");
	}
	if (!w->labels)
		strbuf_addstr(out, "(this snapshot has no edge labels: taken "
			      "before format 1.5 or with --labels none)\n");
}

void render_why_text(struct strbuf *out, const char *file,
		     const struct snapshot *s, const struct why *w)
{
	size_t k, d;

	(void)s;
	why_summary(out, file, w);
	for (k = 0; k < w->npaths; k++) {
		const struct why_path *p = &w->paths[k];

		strbuf_addf(out, "\nPath %zu: ", k + 1);
		fmt_count(out, p->objects);
		strbuf_addf(out, " object%s (%.1f%%), ",
			    p->objects == 1 ? "" : "s", 100.0 * p->share);
		fmt_bytes(out, p->bytes);
		strbuf_addch(out, '\n');
		for (d = 0; d < p->nsteps; d++) {
			const struct why_step *st = &p->steps[d];

			strbuf_addf(out, "  %*s", (int)(2 * d), "");
			if (st->label)
				fmt_printable(out, st->label);
			else if (d)
				strbuf_addstr(out, "->");
			strbuf_addch(out, ' ');
			fmt_printable(out, st->type);
			strbuf_addstr(out, "  ");
			if (st->nodes != 1 || d + 1 == p->nsteps) {
				strbuf_addch(out, 'x');
				fmt_count(out, st->nodes);
				strbuf_addch(out, ' ');
			}
			if (w->retained) {
				strbuf_addstr(out, "retains ");
				fmt_bytes(out, st->retained_bytes);
			}
			if (d == p->accumulation)
				strbuf_addstr(out, "  <- accumulation point");
			strbuf_addch(out, '\n');
		}
		strbuf_addstr(out, "  e.g. ");
		fmt_printable(out, p->example_text);
		strbuf_addf(out, " (%#" PRIx64 ")\n",
			    p->example[p->nsteps - 1].addr);
	}
	if (w->other_paths) {
		strbuf_addstr(out, "\n(");
		fmt_count(out, w->other_paths);
		strbuf_addstr(out, " more path shapes with ");
		fmt_count(out, w->other_objects);
		strbuf_addstr(out, " objects; --paths 0 shows all)\n");
	}
}

static void json_str_or_null(struct json *j, const char *s)
{
	if (s)
		json_str(j, s);
	else
		json_null(j);
}

void render_why_json(struct strbuf *out, const char *file,
		     const struct snapshot *s, const struct why *w)
{
	struct json j;
	size_t k, d;

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "file"); json_str(&j, file);
	json_key(&j, "pid"); json_int(&j, s->meta.pid);
	json_key(&j, "objects"); json_uint(&j, w->objects);
	json_key(&j, "bytes"); json_uint(&j, w->bytes);
	json_key(&j, "unreached"); json_uint(&j, w->unreached);
	json_key(&j, "unreached_bytes"); json_uint(&j, w->unreached_bytes);
	json_key(&j, "from_holders"); json_uint(&j, w->from_holders);
	json_key(&j, "labels"); json_bool(&j, w->labels);
	json_key(&j, "other_paths"); json_uint(&j, w->other_paths);
	json_key(&j, "other_objects"); json_uint(&j, w->other_objects);
	json_key(&j, "paths");
	json_arr_begin(&j);
	for (k = 0; k < w->npaths; k++) {
		const struct why_path *p = &w->paths[k];

		json_obj_begin(&j);
		json_key(&j, "objects"); json_uint(&j, p->objects);
		json_key(&j, "bytes"); json_uint(&j, p->bytes);
		json_key(&j, "share"); json_double(&j, p->share);
		json_key(&j, "retained_bytes");
		json_uint(&j, p->steps[p->nsteps - 1].retained_bytes);
		json_key(&j, "accumulation");
		if (p->accumulation == SIZE_MAX)
			json_null(&j);
		else
			json_uint(&j, p->accumulation);
		json_key(&j, "steps");
		json_arr_begin(&j);
		for (d = 0; d < p->nsteps; d++) {
			const struct why_step *st = &p->steps[d];

			json_obj_begin(&j);
			json_key(&j, "type"); json_str(&j, st->type);
			json_key(&j, "label"); json_str_or_null(&j, st->label);
			json_key(&j, "objects"); json_uint(&j, st->nodes);
			json_key(&j, "retained_bytes");
			json_uint(&j, st->retained_bytes);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "example");
		json_arr_begin(&j);
		for (d = 0; d < p->nsteps; d++) {
			const struct why_hop *h = &p->example[d];

			json_obj_begin(&j);
			json_key(&j, "addr"); json_addr(&j, h->addr);
			json_key(&j, "type"); json_str(&j, h->type);
			json_key(&j, "label"); json_str_or_null(&j, h->label);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "example_path"); json_str(&j, p->example_text);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

/* One row per step of every path: path, step, type, label, objects,
 * retained_bytes, accumulation (1 at the accumulation point). */
void render_why_csv(struct strbuf *out, const struct why *w)
{
	size_t k, d;

	strbuf_addstr(out, "path,path_objects,path_bytes,step,type,label,"
		      "objects,retained_bytes,accumulation\n");
	for (k = 0; k < w->npaths; k++) {
		const struct why_path *p = &w->paths[k];

		for (d = 0; d < p->nsteps; d++) {
			strbuf_addf(out, "%zu,%" PRIu64 ",%" PRIu64 ",%zu,",
				    k + 1, p->objects, p->bytes, d);
			csv_field(out, p->steps[d].type);
			strbuf_addch(out, ',');
			csv_field(out, p->steps[d].label ? p->steps[d].label :
				  "");
			strbuf_addf(out, ",%" PRIu64 ",%" PRIu64 ",%d\n",
				    p->steps[d].nodes,
				    p->steps[d].retained_bytes,
				    d == p->accumulation);
		}
	}
}

/* ---- retained ------------------------------------------------------------- */

void render_retained_text(struct strbuf *out, const char *file,
			  const struct retained *r)
{
	static const char *const heads[] = {
		"RETAINED", "OBJECTS", "SELF", "COUNT", "KEY",
	};
	struct table tb = { 0 };
	struct strbuf note = STRBUF_INIT;
	size_t k;

	strbuf_addf(out, "%s: by %s; ", file, retained_by_name(r->by));
	fmt_bytes(out, r->reachable_bytes);
	strbuf_addstr(out, " in ");
	fmt_count(out, r->reachable_count);
	strbuf_addstr(out, " objects held from the roots");
	if (r->reachable_count < r->total_count) {
		strbuf_addstr(out, " (");
		fmt_count(out, r->total_count - r->reachable_count);
		strbuf_addstr(out, r->total_count - r->reachable_count == 1 ?
			      " more is garbage)" : " more are garbage)");
	}
	strbuf_addch(out, '\n');
	table_head(&tb, heads, PH_ARRAY_SIZE(heads), 1);
	for (k = 0; k < r->nrows; k++) {
		const struct retained_row *row = &r->rows[k];
		struct table_row *tr = table_add(&tb);

		fmt_bytes(&tr->cell[0], row->retained_bytes);
		fmt_count(&tr->cell[1], row->retained_count);
		fmt_bytes(&tr->cell[2], row->self_bytes);
		fmt_count(&tr->cell[3], row->count);
		fmt_printable(&tr->cell[4], row->key);
	}
	if (r->nrows < r->nkeys) {
		strbuf_addf(&note, "(%zu more; --top 0 shows all)",
			    r->nkeys - r->nrows);
		table_note(&tb, &note);
	}
	table_render(&tb, out);
	table_release(&tb);
	strbuf_release(&note);
	for (k = 0; k < r->nrows && k < 10; k++) {
		const struct retained_row *row = &r->rows[k];

		if (!row->example_path)
			continue;
		if (!k)
			strbuf_addstr(out, "\nExample paths:\n");
		strbuf_addstr(out, "  ");
		fmt_printable(out, row->key);
		strbuf_addstr(out, ": ");
		fmt_printable(out, row->example_path);
		strbuf_addch(out, '\n');
	}
}

void render_retained_json(struct strbuf *out, const char *file,
			  const struct snapshot *s, const struct retained *r)
{
	struct json j;
	size_t k;

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "file"); json_str(&j, file);
	json_key(&j, "pid"); json_int(&j, s->meta.pid);
	json_key(&j, "by"); json_str(&j, retained_by_name(r->by));
	json_key(&j, "objects"); json_uint(&j, r->total_count);
	json_key(&j, "bytes"); json_uint(&j, r->total_bytes);
	json_key(&j, "reachable_objects"); json_uint(&j, r->reachable_count);
	json_key(&j, "reachable_bytes"); json_uint(&j, r->reachable_bytes);
	json_key(&j, "keys"); json_uint(&j, r->nkeys);
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (k = 0; k < r->nrows; k++) {
		const struct retained_row *row = &r->rows[k];

		json_obj_begin(&j);
		json_key(&j, "key"); json_str(&j, row->key);
		json_key(&j, "retained_bytes"); json_uint(&j, row->retained_bytes);
		json_key(&j, "retained_count"); json_uint(&j, row->retained_count);
		json_key(&j, "self_bytes"); json_uint(&j, row->self_bytes);
		json_key(&j, "count"); json_uint(&j, row->count);
		json_key(&j, "example_addr");
		if (row->example == UINT32_MAX)
			json_null(&j);
		else
			json_addr(&j, row->addr);
		json_key(&j, "example_path");
		json_str_or_null(&j, row->example_path);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

void render_retained_csv(struct strbuf *out, const struct retained *r)
{
	size_t k;

	strbuf_addstr(out, "key,retained_bytes,retained_count,self_bytes,"
		      "count,example_addr,example_path\n");
	for (k = 0; k < r->nrows; k++) {
		const struct retained_row *row = &r->rows[k];

		csv_field(out, row->key);
		strbuf_addf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			    ",", row->retained_bytes, row->retained_count,
			    row->self_bytes, row->count);
		if (row->example != UINT32_MAX)
			strbuf_addf(out, "%#" PRIx64, row->addr);
		strbuf_addch(out, ',');
		csv_field(out, row->example_path ? row->example_path : "");
		strbuf_addch(out, '\n');
	}
}

/* ---- diff --why ----------------------------------------------------------- */

/* A merged path as one line: the labels from the root down
 * ("sys.modules['app'].__dict__['CACHE'][*]"), " -> TYPE" for a step
 * with no label. */
void merged_path_text(struct strbuf *sb, const struct why_path *p)
{
	size_t d;

	for (d = 0; d < p->nsteps; d++) {
		const struct why_step *st = &p->steps[d];

		if (st->label) {
			fmt_printable(sb, st->label);
		} else {
			strbuf_addstr(sb, d ? " -> " : "");
			fmt_printable(sb, st->type);
		}
	}
}

void render_diff_why_text(struct strbuf *out, const struct diff *d,
			  const struct diff_why *dw, size_t n)
{
	size_t i;

	if (!n)
		return;
	strbuf_addstr(out, "\nWhy they are alive (the objects new since A "
		      "of the rows that grew most; pyheap why --since A):\n");
	for (i = 0; i < n; i++) {
		const struct why *w = &dw[i].w;
		const struct why_path *p = w->npaths ? &w->paths[0] : NULL;

		strbuf_addstr(out, "  ");
		fmt_printable(out, d->rows[dw[i].row].key);
		strbuf_addstr(out, ": ");
		fmt_count(out, dw[i].new_objects);
		strbuf_addstr(out, dw[i].new_objects == 1 ? " new object" :
			      " new objects");
		if (w->unreached) {
			strbuf_addstr(out, ", ");
			fmt_count(out, w->unreached);
			strbuf_addstr(out, " of them garbage (reached by no "
				      "holder)");
		}
		if (!dw[i].new_objects) {
			strbuf_addstr(out, ": it grew in objects A already "
				      "had (resized in place)\n");
			continue;
		}
		if (!p) {
			strbuf_addch(out, '\n');
			continue;
		}
		strbuf_addstr(out, "; ");
		fmt_count(out, p->objects);
		strbuf_addf(out, " (%.1f%%) held by\n      ", 100.0 * p->share);
		merged_path_text(out, p);
		strbuf_addch(out, '\n');
		if (p->accumulation != SIZE_MAX) {
			const struct why_step *st = &p->steps[p->accumulation];

			strbuf_addstr(out, "      accumulation point: ");
			if (st->label) {
				fmt_printable(out, st->label);
				strbuf_addch(out, ' ');
			}
			fmt_printable(out, st->type);
			strbuf_addstr(out, ", e.g. ");
			fmt_printable(out, p->example_text);
			strbuf_addch(out, '\n');
		}
	}
}

void json_diff_why(struct json *j, const struct diff_why *dw)
{
	const struct why *w = &dw->w;
	const struct why_path *p = w->npaths ? &w->paths[0] : NULL;
	struct strbuf sb = STRBUF_INIT;

	json_obj_begin(j);
	json_key(j, "new_objects"); json_uint(j, dw->new_objects);
	json_key(j, "unreached"); json_uint(j, w->unreached);
	json_key(j, "path");
	if (!p) {
		json_null(j);
	} else {
		json_obj_begin(j);
		json_key(j, "objects"); json_uint(j, p->objects);
		json_key(j, "share"); json_double(j, p->share);
		merged_path_text(&sb, p);
		json_key(j, "text"); json_str(j, sb.buf);
		json_key(j, "accumulation");
		if (p->accumulation == SIZE_MAX) {
			json_null(j);
		} else {
			const struct why_step *st = &p->steps[p->accumulation];

			json_obj_begin(j);
			json_key(j, "step"); json_uint(j, p->accumulation);
			json_key(j, "type"); json_str(j, st->type);
			json_key(j, "label"); json_str_or_null(j, st->label);
			json_obj_end(j);
		}
		json_key(j, "example_path"); json_str(j, p->example_text);
		json_obj_end(j);
	}
	json_key(j, "other_paths"); json_uint(j, w->npaths - (p != NULL) +
					      w->other_paths);
	json_obj_end(j);
	strbuf_release(&sb);
}
