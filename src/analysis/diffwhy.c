/*
 * diff --why (analysis.h "Why the rows grew"): for the rows of a diff that
 * grew, why their new objects are alive -- pyheap why --since A on each,
 * over one shortest-path tree of B.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "internal.h"

/*
 * Which of the grouping's sources have the row's key, once per row: each
 * type by its name (BY_TYPE), or each site by its innermost frame
 * "FILE:LINE" (BY_SITE, one frame: sites.c's key; site 0, none, is the
 * row NO_SITE); an object then has the key when its type or site does.
 * match has ntypes or nsites + 1 entries.
 */
static void key_sources(const struct snapshot *s, enum group_by by,
			const char *key, uint8_t *match, struct strbuf *tmp)
{
	size_t k;

	if (by == BY_TYPE) {
		for (k = 0; k < s->ntypes; k++)
			match[k] = !strcmp(snapshot_str(s, s->types[k].name),
					   key);
		return;
	}
	match[0] = !strcmp(key, NO_SITE);
	for (k = 0; k < s->nsites; k++) {
		const struct snap_site_frame *f =
			&s->site_frames[s->sites[k].first_frame];

		strbuf_reset(tmp);
		strbuf_addf(tmp, "%s:%" PRIu32, snapshot_str(s, f->file),
			    f->line);
		match[k + 1] = !strcmp(tmp->buf, key);
	}
}

int diff_why_analyse(const struct snapshot *a, const struct snapshot *b,
		     const struct diff *d, size_t nrows, size_t max,
		     struct diff_why **out, size_t *nout)
{
	struct why_query q = { 0 };
	struct path_tree pt;
	struct strbuf tmp = STRBUF_INIT;
	uint8_t *fresh, *sel, *match;
	uint64_t nfresh;
	size_t i, j, n = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if (d->by != BY_TYPE && !(d->by == BY_SITE && d->depth <= 1))
		return ph_error(PH_E_USAGE, "--why: rows by type or by site "
				"(one frame) only, not by %s",
				group_by_name(d->by));
	if ((rc = why_usable(b)))
		return rc;
	/* New since A: not in A at the same address with the same type
	 * and site (why --since). */
	fresh = xmalloc(b->nobjects + 1);
	sel = xmalloc(b->nobjects + 1);
	match = xmalloc((d->by == BY_TYPE ? b->ntypes : b->nsites + 1) + 1);
	q.since = a;
	if ((rc = why_select(b, &q, fresh, &nfresh))) {
		free(fresh);
		free(sel);
		free(match);
		return rc;
	}
	path_tree_build(b, &pt);
	*out = xcalloc(max + 1, sizeof(**out));
	for (i = 0; i < nrows && n < max; i++) {
		const struct diff_row *row = &d->rows[i];
		struct diff_why *dw;

		if (diff_bytes_delta(row) <= 0 || !row->count_b)
			continue;
		dw = &(*out)[n++];
		dw->row = i;
		key_sources(b, d->by, row->key, match, &tmp);
		for (j = 0; j < b->nobjects; j++) {
			const struct snap_object *o = &b->objects[j];

			/* Checked snapshots: type < ntypes, site <= nsites. */
			sel[j] = fresh[j] &&
				 match[d->by == BY_TYPE ? o->type : o->site];
			dw->new_objects += sel[j];
		}
		why_analyse_tree(b, &pt, sel, NULL, 1, &dw->w);
	}
	*nout = n;
	path_tree_release(&pt);
	strbuf_release(&tmp);
	free(fresh);
	free(sel);
	free(match);
	return 0;
}

void diff_why_release(struct diff_why *dw, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		why_release(&dw[i].w);
	free(dw);
}
