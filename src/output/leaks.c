/*
 * Rendering pyheap leaks (analysis.h "Native leaks"): text for people,
 * JSON for scripts (the contract: pyheap-leaks(1)), CSV for sheets.
 */
#include <string.h>

#include "analysis/analysis.h"
#include "output.h"
#include "snapshot/snapshot.h"
#include "internal.h"
#include "table.h"

/* Text order of the summary: valgrind's LEAK SUMMARY order. */
static const unsigned class_order[] = {
	REACH_LOST, REACH_INDIRECT, REACH_POSSIBLE, REACH_GARBAGE,
	REACH_REACHABLE,
};

static const char *class_title(unsigned reach)
{
	switch (reach) {
	case REACH_LOST: return "definitely lost";
	case REACH_INDIRECT: return "indirectly lost";
	case REACH_POSSIBLE: return "possibly lost";
	case REACH_GARBAGE: return "held by Python garbage";
	default: return "reachable";
	}
}

static void summary_text(struct strbuf *out, const struct leaks *l)
{
	struct table tb = { 0 };
	static const char *const heads[] = { "CHUNKS", "BYTES", "CLASS" };
	static const char *const since_heads[] = {
		"CHUNKS", "DELTA", "BYTES", "DELTA", "CLASS",
	};
	size_t i;

	if (l->compared)
		table_head(&tb, since_heads, 5, 0);
	else
		table_head(&tb, heads, 3, 0);
	for (i = 0; i < PH_ARRAY_SIZE(class_order); i++) {
		const struct leak_class *c = &l->cls[class_order[i]];
		struct table_row *row = table_add(&tb);
		size_t k = 0;

		fmt_count(&row->cell[k++], c->chunks);
		if (l->compared)
			fmt_signed_count(&row->cell[k++],
					 (int64_t)(c->chunks - c->chunks_a));
		fmt_bytes(&row->cell[k++], c->bytes);
		if (l->compared)
			fmt_signed_bytes(&row->cell[k++],
					 (int64_t)(c->bytes - c->bytes_a));
		strbuf_addstr(&row->cell[k], class_title(class_order[i]));
	}
	table_render(&tb, out);
	table_release(&tb);
}

static void groups_text(struct strbuf *out, const struct leaks *l,
			size_t top)
{
	static const char *const heads[] = {
		"CHUNKS", "BYTES", "INDIRECT", "IBYTES", "SIZE", "CLASS",
		"SIGNATURE",
	};
	static const char *const since_heads[] = {
		"CHUNKS", "DELTA", "BYTES", "INDIRECT", "IBYTES", "GROWTH",
		"SIZE", "CLASS", "SIGNATURE",
	};
	struct table tb = { 0 };
	size_t i, n = rep_shown(l->ngroups, top);

	if (!l->ngroups) {
		strbuf_addstr(out, "\nNo chunk is lost, possibly lost or held "
			      "only by Python garbage.\n");
		return;
	}
	strbuf_addstr(out, "\nGroups (leaders of lost cliques with what "
		      "they hold; possibly lost and\ngarbage-held chunks by "
		      "size), largest first:\n");
	if (l->compared)
		table_head(&tb, since_heads, 9, 1);
	else
		table_head(&tb, heads, 7, 1);
	for (i = 0; i < n; i++) {
		const struct leak_group *g = &l->groups[i];
		struct table_row *row = table_add(&tb);
		size_t k = 0;

		fmt_count(&row->cell[k++], g->chunks);
		if (l->compared)
			fmt_signed_count(&row->cell[k++],
					 (int64_t)(g->chunks - g->chunks_a));
		fmt_bytes(&row->cell[k++], g->bytes);
		fmt_count(&row->cell[k++], g->indirect_chunks);
		fmt_bytes(&row->cell[k++], g->indirect_bytes);
		if (l->compared)
			fmt_signed_bytes(&row->cell[k++],
					 (int64_t)(g->bytes + g->indirect_bytes -
						   g->bytes_a -
						   g->indirect_bytes_a));
		strbuf_addf(&row->cell[k++], "%llu",
			    (unsigned long long)g->size);
		strbuf_addstr(&row->cell[k++],
			      g->state == REACH_LOST ? "lost" :
			      g->state == REACH_POSSIBLE ? "possibly" :
			      "garbage");
		if (*g->signature)
			fmt_printable(&row->cell[k], g->signature);
		else
			strbuf_addch(&row->cell[k], '-');
	}
	rep_table_notes(&tb, l->ngroups, l->ngroups, n);
	table_render(&tb, out);
	table_release(&tb);
}

static void holders_text(struct strbuf *out, const struct leaks *l,
			 size_t top)
{
	static const char *const heads[] = { "CHUNKS", "BYTES", "HOLDER" };
	struct table tb = { 0 };
	size_t i, n = rep_shown(l->nholders, top);

	strbuf_addstr(out, "\nNative memory still held (reachable, possibly "
		      "lost, held by garbage), by\nwhat the scan reached it "
		      "from:\n");
	table_head(&tb, heads, 3, 0);
	for (i = 0; i < n; i++) {
		const struct leak_holder *h = &l->holders[i];
		struct table_row *row = table_add(&tb);

		fmt_count(&row->cell[0], h->chunks);
		fmt_bytes(&row->cell[1], h->bytes);
		fmt_printable(&row->cell[2], h->key);
	}
	rep_table_notes(&tb, l->nholders, l->nholders, n);
	table_render(&tb, out);
	table_release(&tb);
}

void render_leaks_text(struct strbuf *out, const char *file,
		       const struct snapshot *s, const struct leaks *l,
		       size_t top, bool holders, const char *since)
{
	fmt_printable(out, file);
	strbuf_addf(out, ": native memory of process %lld",
		    (long long)s->meta.pid);
	if (s->meta.malloc)
		strbuf_addf(out, " (%s)", snapshot_str(s, s->meta.malloc));
	if (since) {
		strbuf_addstr(out, ", since ");
		fmt_printable(out, since);
	}
	strbuf_addstr(out, "\n");
	summary_text(out, l);
	if (holders)
		holders_text(out, l, top);
	else
		groups_text(out, l, top);
}

void render_leaks_json(struct strbuf *out, const char *file,
		       const struct snapshot *s, const struct leaks *l,
		       size_t top, bool holders, const char *since)
{
	struct json j;
	size_t i, n = rep_shown(l->ngroups, top);

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "file"); json_str(&j, file);
	json_key(&j, "pid"); json_int(&j, s->meta.pid);
	json_key(&j, "since");
	if (since)
		json_str(&j, since);
	else
		json_null(&j);
	for (i = 0; i < PH_ARRAY_SIZE(class_order); i++) {
		const struct leak_class *c = &l->cls[class_order[i]];

		json_key(&j, leaks_class_name(class_order[i]));
		json_obj_begin(&j);
		json_key(&j, "chunks"); json_uint(&j, c->chunks);
		json_key(&j, "bytes"); json_uint(&j, c->bytes);
		rep_json_delta(&j, "chunks_delta", l->compared, c->chunks,
			   c->chunks_a);
		rep_json_delta(&j, "bytes_delta", l->compared, c->bytes,
			   c->bytes_a);
		json_obj_end(&j);
	}
	json_key(&j, "groups");
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		const struct leak_group *g = &l->groups[i];

		json_obj_begin(&j);
		json_key(&j, "state"); json_str(&j, leaks_class_name(g->state));
		json_key(&j, "chunks"); json_uint(&j, g->chunks);
		json_key(&j, "bytes"); json_uint(&j, g->bytes);
		json_key(&j, "size"); json_uint(&j, g->size);
		json_key(&j, "signature"); json_str(&j, g->signature);
		json_key(&j, "indirect_chunks");
		json_uint(&j, g->indirect_chunks);
		json_key(&j, "indirect_bytes"); json_uint(&j, g->indirect_bytes);
		json_key(&j, "example");
		if (g->chunks)
			json_addr(&j, g->example);
		else
			json_null(&j);
		rep_json_delta(&j, "chunks_delta", l->compared, g->chunks,
			   g->chunks_a);
		rep_json_delta(&j, "bytes_delta", l->compared, g->bytes,
			   g->bytes_a);
		rep_json_delta(&j, "indirect_chunks_delta", l->compared,
			   g->indirect_chunks, g->indirect_chunks_a);
		rep_json_delta(&j, "indirect_bytes_delta", l->compared,
			   g->indirect_bytes, g->indirect_bytes_a);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	if (holders) {
		json_key(&j, "holders");
		json_arr_begin(&j);
		for (i = 0; i < rep_shown(l->nholders, top); i++) {
			json_obj_begin(&j);
			json_key(&j, "holder"); json_str(&j, l->holders[i].key);
			json_key(&j, "chunks"); json_uint(&j, l->holders[i].chunks);
			json_key(&j, "bytes"); json_uint(&j, l->holders[i].bytes);
			json_key(&j, "example");
			json_addr(&j, l->holders[i].example);
			json_obj_end(&j);
		}
		json_arr_end(&j);
	}
	json_obj_end(&j);
}

void render_leaks_csv(struct strbuf *out, const struct leaks *l, size_t top,
		      bool holders)
{
	size_t i;

	if (holders) {
		strbuf_addstr(out, "holder,chunks,bytes\n");
		for (i = 0; i < rep_shown(l->nholders, top); i++) {
			csv_field(out, l->holders[i].key);
			strbuf_addf(out, ",%llu,%llu\n",
				    (unsigned long long)l->holders[i].chunks,
				    (unsigned long long)l->holders[i].bytes);
		}
		return;
	}
	strbuf_addstr(out, "state,chunks,bytes,size,indirect_chunks,"
		      "indirect_bytes,signature\n");
	for (i = 0; i < rep_shown(l->ngroups, top); i++) {
		const struct leak_group *g = &l->groups[i];

		strbuf_addf(out, "%s,%llu,%llu,%llu,%llu,%llu,",
			    leaks_class_name(g->state),
			    (unsigned long long)g->chunks,
			    (unsigned long long)g->bytes,
			    (unsigned long long)g->size,
			    (unsigned long long)g->indirect_chunks,
			    (unsigned long long)g->indirect_bytes);
		csv_field(out, g->signature);
		strbuf_addch(out, '\n');
	}
}
