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

static size_t shown(size_t n, size_t top)
{
	return top && top < n ? top : n;
}

static void part_text(struct strbuf *out, const char *title,
		      const struct garbage_part *p, size_t top,
		      const char *extra)
{
	static const char *const heads[] = {
		"CYCLES", "OBJECTS", "BYTES", "CONFIDENCE", "SHAPE",
	};
	struct table tb = { 0 };
	struct table_row *row;
	struct strbuf note = STRBUF_INIT;
	size_t i, n = shown(p->ngroups, top);

	strbuf_addf(out, "%s: ", title);
	fmt_count(out, p->objects);
	strbuf_addf(out, " object%s, ", p->objects == 1 ? "" : "s");
	fmt_bytes(out, p->bytes);
	strbuf_addstr(out, ", in ");
	fmt_count(out, p->cycles);
	strbuf_addf(out, " cycle%s%s\n", p->cycles == 1 ? "" : "s", extra);
	if (!p->ngroups)
		return;
	table_head(&tb, heads, PH_ARRAY_SIZE(heads), 1);
	for (i = 0; i < n; i++) {
		const struct garbage_group *g = &p->groups[i];

		row = table_add(&tb);
		fmt_count(&row->cell[0], g->cycles);
		fmt_count(&row->cell[1], g->objects);
		fmt_bytes(&row->cell[2], g->bytes);
		strbuf_addstr(&row->cell[3], g->confidence);
		fmt_printable(&row->cell[4], g->shape);
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

		if (!g->invisible_type)
			continue;
		strbuf_addstr(out, "  ");
		fmt_printable(out, g->invisible_type);
		strbuf_addstr(out, " has no GC support: the collector never "
			      "looks inside it, so the cycle through it stays\n"
			      "  (in: ");
		fmt_printable(out, g->shape);
		strbuf_addstr(out, ")\n");
	}
}

void render_garbage_text(struct strbuf *out, const char *file,
			 const struct snapshot *s, const struct garbage *g,
			 size_t top)
{
	struct strbuf extra = STRBUF_INIT;

	strbuf_addstr(out, "Garbage in ");
	fmt_printable(out, file);
	strbuf_addf(out, " (process %lld, Python ", (long long)s->meta.pid);
	fmt_printable(out, snapshot_str(s, s->meta.python));
	strbuf_addstr(out, "): ");
	fmt_count(out, g->garbage_objects);
	strbuf_addstr(out, " objects nothing outside the garbage keeps "
		      "alive\n\n");
	if (g->gc.valid)
		strbuf_addf(&extra, " (gc %s, thresholds %lld/%lld/%lld)",
			    g->gc.enabled ? "enabled" : "disabled",
			    (long long)g->gc.threshold[0],
			    (long long)g->gc.threshold[1],
			    (long long)g->gc.threshold[2]);
	part_text(out, "Garbage the cyclic GC would free", &g->collectable,
		  top, extra.buf);
	strbuf_addch(out, '\n');
	part_text(out, "Garbage the GC can never free", &g->uncollectable,
		  top, "");
	strbuf_addstr(out, "\nReferences nothing in the heap explains: ");
	fmt_count(out, g->unexplained_objects);
	strbuf_addstr(out, " objects hold ");
	fmt_count(out, g->unexplained_refs);
	strbuf_addstr(out, " references from elsewhere (C statics and "
		      "stacks, structs pyheap cannot parse,\nor references "
		      "an extension leaked); they and what they reach are "
		      "taken as alive.\n");
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

static void part_json(struct json *j, const struct garbage_part *p,
		      size_t top)
{
	size_t i, n = shown(p->ngroups, top);

	json_obj_begin(j);
	json_key(j, "objects"); json_uint(j, p->objects);
	json_key(j, "bytes"); json_uint(j, p->bytes);
	json_key(j, "cycles"); json_uint(j, p->cycles);
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
		json_key(j, "site"); json_null(j);
		json_key(j, "invisible_type");
		if (g->invisible_type)
			json_str(j, g->invisible_type);
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
			 size_t top, bool addresses)
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
	json_key(&j, "collectable"); part_json(&j, &g->collectable, top);
	json_key(&j, "uncollectable"); part_json(&j, &g->uncollectable, top);
	json_key(&j, "unexplained");
	json_obj_begin(&j);
	json_key(&j, "objects"); json_uint(&j, g->unexplained_objects);
	json_key(&j, "references"); json_uint(&j, g->unexplained_refs);
	json_obj_end(&j);
	json_key(&j, "negative_objects"); json_uint(&j, g->negative_objects);
	if (addresses) {
		json_key(&j, "collectable_addresses");
		json_arr_begin(&j);
		for (i = 0; i < g->ncollectable_ids; i++)
			json_addr(&j, s->objects[g->collectable_ids[i]].addr);
		json_arr_end(&j);
	}
	json_obj_end(&j);
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
