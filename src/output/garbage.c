/*
 * Rendering pyheap garbage (analysis.h "Garbage"): text for people, JSON
 * for scripts (the contract: pyheap-garbage(1)).
 */
#include <string.h>

#include "analysis/analysis.h"
#include "output.h"
#include "snapshot/snapshot.h"
#include "internal.h"
#include "table.h"

/* A group's site, or NULL: its innermost frame and kind. */
static const struct snap_site_frame *group_site(const struct snapshot *s,
						const struct garbage_group *g,
						const char **kind)
{
	const struct snap_site *site;

	if (!g->site || g->site > s->nsites)
		return NULL;
	site = &s->sites[g->site - 1];
	*kind = site_kinds_name(site->kind == SITE_TRACED ? ROW_TRACED :
				ROW_INFERRED);
	return &s->site_frames[site->first_frame];
}

/* "FILE:LINE" of a group's site into sb, or "-". */
static void site_text(struct strbuf *sb, const struct snapshot *s,
		      const struct garbage_group *g)
{
	const char *kind;
	const struct snap_site_frame *f = group_site(s, g, &kind);

	if (!f) {
		strbuf_addch(sb, '-');
		return;
	}
	fmt_printable(sb, snapshot_str(s, f->file));
	strbuf_addf(sb, ":%u", f->line);
}

/* " (since A: +N objects, +X)" */
static void since_text(struct strbuf *out, uint64_t objects,
		       uint64_t objects_a, uint64_t bytes, uint64_t bytes_a)
{
	strbuf_addstr(out, " (since A: ");
	fmt_signed_count(out, (int64_t)(objects - objects_a));
	strbuf_addstr(out, " objects, ");
	fmt_signed_bytes(out, (int64_t)(bytes - bytes_a));
	strbuf_addch(out, ')');
}

static void part_text(struct strbuf *out, const char *title,
		      const struct snapshot *s, const struct garbage *gb,
		      const struct garbage_part *p, size_t top,
		      const char *extra)
{
	static const char *const heads[] = {
		"CYCLES", "OBJECTS", "BYTES", "CONFIDENCE", "SITE", "SHAPE",
	};
	static const char *const since_heads[] = {
		"CYCLES", "OBJECTS", "DELTA", "BYTES", "DELTA", "CONFIDENCE",
		"SITE", "SHAPE",
	};
	struct table tb = { 0 };
	struct table_row *row;
	struct strbuf note = STRBUF_INIT;
	size_t i, n = rep_shown(p->ngroups, top), c;

	strbuf_addf(out, "%s: ", title);
	fmt_count(out, p->objects);
	strbuf_addf(out, " object%s, ", p->objects == 1 ? "" : "s");
	fmt_bytes(out, p->bytes);
	strbuf_addstr(out, ", in ");
	fmt_count(out, p->cycles);
	strbuf_addf(out, " cycle%s%s", p->cycles == 1 ? "" : "s", extra);
	if (gb->compared)
		since_text(out, p->objects, p->objects_a, p->bytes,
			   p->bytes_a);
	strbuf_addch(out, '\n');
	if (!p->ngroups)
		return;
	if (gb->compared)
		table_head(&tb, since_heads, PH_ARRAY_SIZE(since_heads), 2);
	else
		table_head(&tb, heads, PH_ARRAY_SIZE(heads), 2);
	for (i = 0; i < n; i++) {
		const struct garbage_group *g = &p->groups[i];

		row = table_add(&tb);
		c = 0;
		fmt_count(&row->cell[c++], g->cycles);
		fmt_count(&row->cell[c++], g->objects);
		if (gb->compared)
			fmt_signed_count(&row->cell[c++],
					 (int64_t)(g->objects - g->objects_a));
		fmt_bytes(&row->cell[c++], g->bytes);
		if (gb->compared)
			fmt_signed_bytes(&row->cell[c++],
					 (int64_t)(g->bytes - g->bytes_a));
		strbuf_addstr(&row->cell[c++], g->confidence);
		site_text(&row->cell[c++], s, g);
		fmt_printable(&row->cell[c], g->shape);
	}
	if (n < p->ngroups) {
		strbuf_addf(&note, "(%zu more group%s; --top 0 shows all)",
			    p->ngroups - n, p->ngroups - n == 1 ? "" : "s");
		table_note(&tb, &note);
	}
	table_render(&tb, out);
	table_release(&tb);
	strbuf_release(&note);
	for (i = 0; i < n; i++) {
		const struct garbage_group *g = &p->groups[i];

		if (g->invisible_type) {
			strbuf_addstr(out, "  ");
			fmt_printable(out, g->invisible_type);
			strbuf_addstr(out, " has no GC support: the collector "
				      "never looks inside it, so the cycle "
				      "through it stays\n  (in: ");
			fmt_printable(out, g->shape);
			strbuf_addstr(out, ")\n");
		}
		if (g->finalizer_type) {
			strbuf_addstr(out, "  ");
			fmt_printable(out, g->finalizer_type);
			strbuf_addstr(out, " has a legacy finalizer (__del__, "
				      "or a generator stopped in a try "
				      "block):\n  Python 2's collector leaves "
				      "the cycle in gc.garbage (in: ");
			fmt_printable(out, g->shape);
			strbuf_addstr(out, ")\n");
		}
	}
}

void render_garbage_text(struct strbuf *out, const char *file,
			 const struct snapshot *s, const struct garbage *g,
			 size_t top, const char *since)
{
	struct strbuf extra = STRBUF_INIT;

	strbuf_addstr(out, "Garbage in ");
	fmt_printable(out, file);
	strbuf_addf(out, " (process %lld, Python ", (long long)s->meta.pid);
	fmt_printable(out, snapshot_str(s, s->meta.python));
	strbuf_addstr(out, "): ");
	fmt_count(out, g->garbage_objects);
	strbuf_addstr(out, " objects nothing outside the garbage keeps "
		      "alive\n");
	if (since) {
		strbuf_addstr(out, "Compared with A = ");
		fmt_printable(out, since);
		strbuf_addstr(out, ": ");
		fmt_signed_count(out, (int64_t)(g->garbage_objects -
						g->garbage_objects_a));
		strbuf_addstr(out, " objects of garbage since\n");
	}
	strbuf_addch(out, '\n');
	if (g->gc.valid)
		strbuf_addf(&extra, " (gc %s, thresholds %lld/%lld/%lld)",
			    g->gc.enabled ? "enabled" : "disabled",
			    (long long)g->gc.threshold[0],
			    (long long)g->gc.threshold[1],
			    (long long)g->gc.threshold[2]);
	part_text(out, "Garbage the cyclic GC would free", s, g,
		  &g->collectable, top, extra.buf);
	strbuf_addch(out, '\n');
	part_text(out, "Garbage the GC can never free", s, g,
		  &g->uncollectable, top, "");
	if (g->finalizer_objects) {
		strbuf_addstr(out, "  Of which ");
		fmt_count(out, g->finalizer_objects);
		strbuf_addstr(out, " objects, ");
		fmt_bytes(out, g->finalizer_bytes);
		strbuf_addstr(out, ", are kept for their cycles' finalizers; ");
		fmt_count(out, (uint64_t)g->ngc_garbage_ids);
		strbuf_addstr(out, g->ngc_garbage_ids == 1 ?
			      " goes to gc.garbage at the next collection\n" :
			      " go to gc.garbage at the next collection\n");
	}
	strbuf_addstr(out, "\nReferences nothing in the heap explains: ");
	fmt_count(out, g->unexplained_objects);
	strbuf_addstr(out, g->unexplained_objects == 1 ? " object holds " :
		      " objects hold ");
	fmt_count(out, g->unexplained_refs);
	strbuf_addstr(out, g->unexplained_refs == 1 ? " reference" :
		      " references");
	strbuf_addstr(out, " from elsewhere (C statics and "
		      "stacks, structs pyheap cannot parse,\nor references "
		      "an extension leaked); they and what they reach are "
		      "taken as alive.\n");
	if (g->compared) {
		strbuf_addstr(out, "Since A: ");
		fmt_signed_count(out, (int64_t)(g->unexplained_objects -
						g->unexplained_objects_a));
		strbuf_addstr(out, " objects with such references, ");
		fmt_signed_count(out, (int64_t)(g->unexplained_refs -
						g->unexplained_refs_a));
		strbuf_addstr(out, " references (a steady rise is a leaked "
			      "reference or a C-level cache).\n");
	}
	strbuf_addstr(out, "Self-check: ");
	fmt_count(out, g->negative_objects);
	strbuf_addf(out, " object%s with more references found than "
		    "counted (0 expected).\n",
		    g->negative_objects == 1 ? "" : "s");
	strbuf_release(&extra);
}

/* "A -> B -> A" as ["A", "B", "A"]; any other shape as one string. */
static void json_types(struct json *j, const char *shape)
{
	const char *p = shape, *q;

	json_arr_begin(j);
	while ((q = strstr(p, " -> "))) {
		json_strn(j, p, (size_t)(q - p));
		p = q + 4;
	}
	json_str(j, p);
	json_arr_end(j);
}

/* "NAME_delta": now - before, or null without a comparison. */
static void json_group_site(struct json *j, const struct snapshot *s,
			    const struct garbage_group *g)
{
	const char *kind;
	const struct snap_site_frame *f = group_site(s, g, &kind);

	json_key(j, "site");
	if (!f) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "file"); json_str(j, snapshot_str(s, f->file));
	json_key(j, "line"); json_uint(j, f->line);
	json_key(j, "kind"); json_str(j, kind);
	json_key(j, "objects"); json_uint(j, g->site_objects);
	json_obj_end(j);
}

static void part_json(struct json *j, const struct snapshot *s,
		      const struct garbage *gb, const struct garbage_part *p,
		      size_t top)
{
	size_t i, n = rep_shown(p->ngroups, top);
	bool cmp = gb->compared;

	json_obj_begin(j);
	json_key(j, "objects"); json_uint(j, p->objects);
	json_key(j, "bytes"); json_uint(j, p->bytes);
	json_key(j, "cycles"); json_uint(j, p->cycles);
	rep_json_delta(j, "objects_delta", cmp, p->objects, p->objects_a);
	rep_json_delta(j, "bytes_delta", cmp, p->bytes, p->bytes_a);
	rep_json_delta(j, "cycles_delta", cmp, p->cycles, p->cycles_a);
	json_key(j, "groups");
	json_arr_begin(j);
	for (i = 0; i < n; i++) {
		const struct garbage_group *g = &p->groups[i];

		json_obj_begin(j);
		json_key(j, "cycles"); json_uint(j, g->cycles);
		json_key(j, "objects"); json_uint(j, g->objects);
		json_key(j, "bytes"); json_uint(j, g->bytes);
		json_key(j, "shape"); json_str(j, g->shape);
		json_key(j, "types"); json_types(j, g->shape);
		json_group_site(j, s, g);
		rep_json_delta(j, "objects_delta", cmp, g->objects, g->objects_a);
		rep_json_delta(j, "bytes_delta", cmp, g->bytes, g->bytes_a);
		rep_json_delta(j, "cycles_delta", cmp, g->cycles, g->cycles_a);
		json_key(j, "invisible_type");
		if (g->invisible_type)
			json_str(j, g->invisible_type);
		else
			json_null(j);
		json_key(j, "finalizer_type");
		if (g->finalizer_type)
			json_str(j, g->finalizer_type);
		else
			json_null(j);
		json_key(j, "confidence"); json_str(j, g->confidence);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void render_garbage_json(struct strbuf *out, const char *file,
			 const struct snapshot *s, const struct garbage *g,
			 size_t top, bool addresses, const char *since)
{
	struct json j;
	size_t i;

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "file"); json_str(&j, file);
	json_key(&j, "pid"); json_int(&j, s->meta.pid);
	json_key(&j, "garbage_objects"); json_uint(&j, g->garbage_objects);
	json_key(&j, "gc");
	json_obj_begin(&j);
	json_key(&j, "valid"); json_bool(&j, g->gc.valid);
	json_key(&j, "enabled"); json_bool(&j, g->gc.enabled);
	json_key(&j, "thresholds");
	json_arr_begin(&j);
	for (i = 0; i < 3; i++)
		json_int(&j, g->gc.threshold[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_key(&j, "since");
	if (since)
		json_str(&j, since);
	else
		json_null(&j);
	json_key(&j, "collectable");
	part_json(&j, s, g, &g->collectable, top);
	json_key(&j, "uncollectable");
	part_json(&j, s, g, &g->uncollectable, top);
	json_key(&j, "unexplained");
	json_obj_begin(&j);
	json_key(&j, "objects"); json_uint(&j, g->unexplained_objects);
	json_key(&j, "references"); json_uint(&j, g->unexplained_refs);
	rep_json_delta(&j, "objects_delta", g->compared, g->unexplained_objects,
		   g->unexplained_objects_a);
	rep_json_delta(&j, "references_delta", g->compared, g->unexplained_refs,
		   g->unexplained_refs_a);
	json_obj_end(&j);
	json_key(&j, "negative_objects"); json_uint(&j, g->negative_objects);
	json_key(&j, "finalizers");
	json_obj_begin(&j);
	json_key(&j, "objects"); json_uint(&j, g->finalizer_objects);
	json_key(&j, "bytes"); json_uint(&j, g->finalizer_bytes);
	json_key(&j, "gc_garbage_objects"); json_uint(&j, g->ngc_garbage_ids);
	json_obj_end(&j);
	if (addresses) {
		json_key(&j, "collectable_addresses");
		json_arr_begin(&j);
		for (i = 0; i < g->ncollectable_ids; i++)
			json_addr(&j, s->objects[g->collectable_ids[i]].addr);
		json_arr_end(&j);
		json_key(&j, "finalizer_addresses");
		json_arr_begin(&j);
		for (i = 0; i < g->nfinalizer_ids; i++)
			json_addr(&j, s->objects[g->finalizer_ids[i]].addr);
		json_arr_end(&j);
		json_key(&j, "gc_garbage_addresses");
		json_arr_begin(&j);
		for (i = 0; i < g->ngc_garbage_ids; i++)
			json_addr(&j, s->objects[g->gc_garbage_ids[i]].addr);
		json_arr_end(&j);
	}
	json_obj_end(&j);
}

static void csv_part(struct strbuf *out, const struct snapshot *s,
		     const struct garbage *gb, const char *name,
		     const struct garbage_part *p, size_t top)
{
	size_t i, n = rep_shown(p->ngroups, top);

	for (i = 0; i < n; i++) {
		const struct garbage_group *g = &p->groups[i];
		const char *kind = NULL;
		const struct snap_site_frame *f = group_site(s, g, &kind);

		strbuf_addf(out, "%s,%llu,%llu,%llu,", name,
			    (unsigned long long)g->cycles,
			    (unsigned long long)g->objects,
			    (unsigned long long)g->bytes);
		if (gb->compared)
			strbuf_addf(out, "%lld,%lld", (long long)(g->objects -
								  g->objects_a),
				    (long long)(g->bytes - g->bytes_a));
		else
			strbuf_addch(out, ',');
		strbuf_addf(out, ",%s,", g->confidence);
		csv_field(out, g->shape);
		strbuf_addch(out, ',');
		csv_field(out, g->invisible_type ? g->invisible_type : "");
		strbuf_addch(out, ',');
		if (f) {
			strbuf_addf(out, "%s,", kind);
			csv_field(out, snapshot_str(s, f->file));
			strbuf_addf(out, ",%u", f->line);
		} else {
			strbuf_addstr(out, ",,");
		}
		strbuf_addch(out, ',');
		csv_field(out, g->finalizer_type ? g->finalizer_type : "");
		strbuf_addch(out, '\n');
	}
}

void render_garbage_csv(struct strbuf *out, const struct snapshot *s,
			const struct garbage *g, size_t top)
{
	strbuf_addstr(out, "part,cycles,objects,bytes,objects_delta,"
		      "bytes_delta,confidence,shape,invisible_type,site_kind,"
		      "site_file,site_line,finalizer_type\n");
	csv_part(out, s, g, "collectable", &g->collectable, top);
	csv_part(out, s, g, "uncollectable", &g->uncollectable, top);
}

void json_garbage_totals(struct json *j, const struct garbage_totals *t)
{
	if (!t->known) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "bytes"); json_uint(j, garbage_totals_bytes(t));
	json_key(j, "collectable_objects"); json_uint(j, t->collectable_objects);
	json_key(j, "collectable_bytes"); json_uint(j, t->collectable_bytes);
	json_key(j, "uncollectable_objects");
	json_uint(j, t->uncollectable_objects);
	json_key(j, "uncollectable_bytes");
	json_uint(j, t->uncollectable_bytes);
	json_obj_end(j);
}

static void text_totals_side(struct strbuf *out, const struct garbage_totals *t)
{
	uint64_t n = t->collectable_objects + t->uncollectable_objects;

	if (!t->known) {
		strbuf_addstr(out, "unknown");
		return;
	}
	fmt_bytes(out, garbage_totals_bytes(t));
	strbuf_addstr(out, " (");
	fmt_count(out, n);
	strbuf_addstr(out, n == 1 ? " object, " : " objects, ");
	fmt_count(out, t->uncollectable_objects);
	strbuf_addstr(out, " never collectable)");
}

void text_garbage_totals(struct strbuf *out, const struct garbage_totals *a,
			 const struct garbage_totals *b)
{
	if (!a->known && !b->known)
		return;
	strbuf_addstr(out, "\nGarbage (pyheap garbage): A ");
	text_totals_side(out, a);
	strbuf_addstr(out, ", B ");
	text_totals_side(out, b);
	if (a->known && b->known) {
		strbuf_addstr(out, ": ");
		fmt_signed_bytes(out, (int64_t)(garbage_totals_bytes(b) -
						garbage_totals_bytes(a)));
	}
	strbuf_addch(out, '\n');
}
