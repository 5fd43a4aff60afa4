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

static const char *type_name(const struct snapshot *s, uint32_t i)
{
	return snapshot_str(s, s->types[s->objects[i].type].name);
}

/* Whether object i of s has the row's key (the grouping's own key:
 * the type name, or the innermost site frame "FILE:LINE"). */
static bool has_key(const struct snapshot *s, enum group_by by, uint32_t i,
		    const char *key, struct strbuf *tmp)
{
	const struct snap_object *o = &s->objects[i];
	const struct snap_site_frame *f;

	if (by == BY_TYPE)
		return !strcmp(type_name(s, i), key);
	if (!o->site || o->site > s->nsites)
		return false;
	f = &s->site_frames[s->sites[o->site - 1].first_frame];
	strbuf_reset(tmp);
	strbuf_addf(tmp, "%s:%" PRIu32, snapshot_str(s, f->file), f->line);
	return !strcmp(tmp->buf, key);
}

int diff_why_analyse(const struct snapshot *a, const struct snapshot *b,
		     const struct diff *d, size_t nrows, size_t max,
		     struct diff_why **out, size_t *nout)
{
	struct why_query q = { 0 };
	struct path_tree pt;
	struct strbuf tmp = STRBUF_INIT;
	uint8_t *fresh, *sel;
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
	q.since = a;
	if ((rc = why_select(b, &q, fresh, &nfresh))) {
		free(fresh);
		free(sel);
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
		for (j = 0; j < b->nobjects; j++) {
			sel[j] = fresh[j] &&
				 has_key(b, d->by, (uint32_t)j, row->key,
					 &tmp);
			dw->new_objects += sel[j];
		}
		why_analyse_tree(b, &pt, sel, NULL, 1, &dw->w);
	}
	*nout = n;
	path_tree_release(&pt);
	strbuf_release(&tmp);
	free(fresh);
	free(sel);
	return 0;
}

void diff_why_release(struct diff_why *dw, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		why_release(&dw[i].w);
	free(dw);
}
