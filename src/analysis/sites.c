/*
 * Grouping by allocation site (analysis.h "Sites").
 *
 * Two passes.  The sites: each site's key, its first `depth` frames as
 * text, is looked up in a hash map of the keys seen, so sites that agree
 * up to the depth (tracebacks that differ further out, a traced and an
 * inferred site at one line) land in one group; the text is built once
 * per site and kept once per group.  The summary's cells (the objects of
 * one type and site): an array lookup from site id to group, and for
 * site,type a hash lookup of (group, type name) to row.  Nothing is
 * compared as text per object.
 */
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "internal.h"


struct site_group {
	const char *key;          /* in r->keys, or NO_SITE */
	size_t first_frame;       /* into r->frames */
	uint32_t nframes;
	size_t row;               /* BY_SITE: its row + 1, 0 none yet */
};

const char *site_kinds_name(unsigned kinds)
{
	switch (kinds & (ROW_TRACED | ROW_INFERRED)) {
	case ROW_TRACED: return "traced";
	case ROW_INFERRED: return "inferred";
	case ROW_TRACED | ROW_INFERRED: return "mixed";
	}
	return NULL;
}

bool snapshot_has_traced_sites(const struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nsites; i++)
		if (s->sites[i].kind == SITE_TRACED)
			return true;
	return false;
}

/* Keep key (malloc'd) with the report; return it. */
static const char *own_key(struct report *r, char *key)
{
	PH_GROW(r->keys, r->keys_alloc, r->nkeys_owned + 1);
	r->keys[r->nkeys_owned++] = key;
	return key;
}

/* The group of site (0-based row of s->sites), made on first sight. */
static uint32_t site_group(const struct snapshot *s, struct report *r,
			   const struct snap_site *site, unsigned depth,
			   struct strmap *index, struct site_group **groups,
			   size_t *ngroups, size_t *groups_alloc,
			   struct strbuf *sb)
{
	uint32_t n = PH_MIN(site->nframes, depth), j, g;
	const struct snap_site_frame *f = &s->site_frames[site->first_frame];
	struct site_group *grp;

	strbuf_reset(sb);
	for (j = 0; j < n; j++)
		strbuf_addf(sb, "%s%s:%u", j ? " <- " : "",
			    snapshot_str(s, f[j].file), f[j].line);
	if (strmap_get(index, sb->buf, sb->len, &g))
		return g;
	PH_GROW(*groups, *groups_alloc, *ngroups + 1);
	g = (uint32_t)*ngroups;
	grp = &(*groups)[(*ngroups)++];
	grp->key = own_key(r, xstrndup(sb->buf, sb->len));
	grp->first_frame = r->nframes;
	grp->nframes = n;
	grp->row = 0;
	PH_GROW(r->frames, r->frames_alloc, r->nframes + n);
	for (j = 0; j < n; j++) {
		r->frames[r->nframes].file = snapshot_str(s, f[j].file);
		r->frames[r->nframes++].line = f[j].line;
	}
	strmap_put(index, grp->key, sb->len, g);
	return g;
}

static size_t new_row(const struct snapshot *s, struct report *r,
		      const struct site_group *grp, uint32_t type_name,
		      size_t **row_group, size_t *row_group_alloc, size_t g)
{
	struct report_row *row;

	PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
	PH_GROW(*row_group, *row_group_alloc, r->nrows + 1);
	(*row_group)[r->nrows] = g;
	row = &r->rows[r->nrows];
	memset(row, 0, sizeof(*row));
	row->site.key = grp->key;
	row->site.nframes = grp->nframes;
	row->key = grp->key;
	if (r->by == BY_SITE_TYPE) {
		row->site.type = snapshot_str(s, type_name);
		if (!*row->site.type)
			row->site.type = "[unnamed type]";
		row->key = own_key(r, xasprintf("%s %s", grp->key,
						row->site.type));
	}
	return r->nrows++;
}

void group_sites(const struct snapshot *s, const struct snap_summary *m,
		 struct report *r)
{
	unsigned depth = r->depth ? r->depth : 1;
	struct strmap index = STRMAP_INIT;
	struct u64map rows = U64MAP_INIT;  /* site,type: group << 32 | type
					    * name -> row */
	struct strbuf sb = STRBUF_INIT;
	struct site_group *groups = NULL;
	size_t ngroups = 0, groups_alloc = 0, *row_group = NULL;
	size_t row_group_alloc = 0, i;
	uint32_t *group_of;                /* site id -> group */

	/* Group 0 is [no site], site id 0. */
	PH_GROW(groups, groups_alloc, 1);
	memset(&groups[0], 0, sizeof(groups[0]));
	groups[0].key = NO_SITE;
	ngroups = 1;
	group_of = xmalloc((s->nsites + 1) * sizeof(*group_of));
	group_of[0] = 0;
	for (i = 0; i < s->nsites; i++)
		group_of[i + 1] = site_group(s, r, &s->sites[i], depth, &index,
					     &groups, &ngroups, &groups_alloc,
					     &sb);

	for (i = 0; i < m->ncells; i++) {
		const struct snap_cell *o = &m->cells[i];
		uint32_t g = group_of[o->site];
		struct report_row *row;
		size_t k;

		if (r->by == BY_SITE) {
			if (!groups[g].row)
				groups[g].row = new_row(s, r, &groups[g], 0,
							&row_group,
							&row_group_alloc, g) + 1;
			k = groups[g].row - 1;
		} else {
			uint32_t name = s->types[o->type].name;
			uint64_t key = (uint64_t)g << 32 | name, v;

			if (!u64map_get(&rows, key, &v)) {
				v = new_row(s, r, &groups[g], name, &row_group,
					    &row_group_alloc, g);
				u64map_put(&rows, key, v);
			}
			k = (size_t)v;
		}
		row = &r->rows[k];
		report_count_cell(r, row, o);
		if (o->site)
			row->site.kinds |= s->sites[o->site - 1].kind ==
					   SITE_TRACED ? ROW_TRACED :
					   ROW_INFERRED;
	}
	/* The frames array is complete: point the rows into it. */
	for (i = 0; i < r->nrows; i++)
		if (r->rows[i].site.nframes)
			r->rows[i].site.frames =
				&r->frames[groups[row_group[i]].first_frame];

	free(group_of);
	free(groups);
	free(row_group);
	strbuf_release(&sb);
	strmap_release(&index);
	u64map_release(&rows);
}
