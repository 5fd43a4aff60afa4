/*
 * What each object keeps alive (analysis.h "Retained"): the dominator
 * tree of the object graph (dominators.c) from a virtual root over the
 * holders, retained sizes as dominator subtree sums, and rows per
 * object, type, module or site.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "base/strbuf.h"
#include "internal.h"

static const char *type_of(const struct snapshot *s, uint32_t i)
{
	const char *n = snapshot_str(s, s->types[s->objects[i].type].name);

	return *n ? n : "[unnamed type]";
}

/* The dominator tree from the holders, with each object's retained
 * bytes (its subtree's sizes) and count.  The sizes go into retained[]
 * after the build, summed in place: no third n-entry array at the
 * build's peak (issue 15's memory goal at 5M objects). */
static void retained_tree(const struct snapshot *s, struct domtree *d,
			  uint64_t *retained, uint64_t *count)
{
	size_t n = s->nobjects, nseeds, i;
	uint32_t *seeds;

	nseeds = holders_seed(s, &seeds, NULL);
	domtree_build(d, n, s->edge_start, s->edge_dst, seeds, nseeds);
	free(seeds);
	for (i = 0; i < n; i++)
		retained[i] = s->objects[i].size;
	domtree_retained(d, retained, retained, count);
}

uint64_t *retained_sizes(const struct snapshot *s)
{
	uint64_t *r = xcalloc(s->nobjects + 1, sizeof(*r));
	struct domtree d;

	retained_tree(s, &d, r, NULL);
	domtree_release(&d);
	return r;
}

const char *retained_by_name(enum retained_by by)
{
	static const char *const names[] = {
		"object", "type", "module", "site",
	};

	return names[by];
}

int retained_by_parse(const char *name, enum retained_by *by)
{
	int i;

	for (i = 0; i <= RET_SITE; i++)
		if (!strcmp(name, retained_by_name((enum retained_by)i))) {
			*by = (enum retained_by)i;
			return 0;
		}
	return -PH_E_USAGE;
}

/* The key of object i in a grouping (its row's text). */
static void key_of(struct strbuf *sb, const struct snapshot *s,
		   enum retained_by by, uint32_t i)
{
	const struct snap_object *o = &s->objects[i];

	strbuf_reset(sb);
	switch (by) {
	case RET_OBJECT:
		strbuf_addf(sb, "%s at %#" PRIx64, type_of(s, i), o->addr);
		break;
	case RET_TYPE:
		strbuf_addstr(sb, type_of(s, i));
		break;
	case RET_MODULE: {
		const char *m = snapshot_str(s, s->types[o->type].module);

		strbuf_addstr(sb, *m ? m : "[unknown module]");
		break;
	}
	case RET_SITE:
		if (o->site && o->site <= s->nsites) {
			const struct snap_site_frame *f =
				&s->site_frames[s->sites[o->site - 1]
						.first_frame];

			strbuf_addf(sb, "%s:%" PRIu32,
				    snapshot_str(s, f->file), f->line);
		} else {
			strbuf_addstr(sb, "[no site]");
		}
		break;
	}
}

/*
 * Each object's row for a grouping by key: the key is built once per type
 * (name or module) or per site, not per object, and keys equal as text
 * share a row.  Returns the per-object row ids; r->rows has the rows.
 */
static uint32_t *keys_of(const struct snapshot *s, enum retained_by by,
			 struct retained *r)
{
	size_t n = s->nobjects, i, nsrc = by == RET_SITE ? s->nsites + 1 :
					  s->ntypes;
	uint32_t *src_row = xmalloc((nsrc + 1) * sizeof(*src_row));
	uint32_t *key = xmalloc((n + 1) * sizeof(*key));
	struct strmap keys = { 0 };
	struct strbuf sb = STRBUF_INIT;

	for (i = 0; i < nsrc; i++)
		src_row[i] = UINT32_MAX;
	for (i = 0; i < n; i++) {
		const struct snap_object *o = &s->objects[i];
		uint32_t src = by == RET_SITE ?
			       (o->site <= s->nsites ? o->site : 0) : o->type;
		uint32_t id;

		if (src_row[src] == UINT32_MAX) {
			key_of(&sb, s, by, (uint32_t)i);
			if (!strmap_get(&keys, sb.buf, sb.len, &id)) {
				id = (uint32_t)r->nrows;
				PH_GROW(r->rows, r->rows_alloc, r->nrows + 1);
				memset(&r->rows[id], 0, sizeof(*r->rows));
				r->rows[id].owned_key = xstrdup(sb.buf);
				r->rows[id].key = r->rows[id].owned_key;
				r->rows[id].example = UINT32_MAX;
				/* The map keeps the pointer: the copy. */
				strmap_put(&keys, r->rows[id].owned_key, sb.len,
					   id);
				r->nrows++;
			}
			src_row[src] = id;
		}
		key[i] = src_row[src];
	}
	strmap_release(&keys);
	strbuf_release(&sb);
	free(src_row);
	return key;
}

/* The objects that retain the most (all with top_n 0), as rows: a heap of
 * the top_n best keeps this O(n log top_n) and its memory small. */
static bool ret_less(const uint64_t *ret, const uint64_t *cnt, uint32_t a,
		     uint32_t b)
{
	if (ret[a] != ret[b])
		return ret[a] < ret[b];
	if (cnt[a] != cnt[b])
		return cnt[a] < cnt[b];
	return a > b;
}

static void object_rows(const struct snapshot *s, const struct domtree *d,
			const uint64_t *ret, const uint64_t *cnt,
			size_t top_n, struct retained *r)
{
	size_t n = s->nobjects, k = top_n ? top_n : d->nreach, h = 0, i;
	uint32_t *heap = xmalloc((k + 1) * sizeof(*heap));
	struct strbuf sb = STRBUF_INIT;

	for (i = 0; i < n && k; i++) {
		size_t j = 0, c;
		uint32_t v = (uint32_t)i;

		if (d->idom[i] == DOM_NONE)
			continue;
		if (h < k) {
			/* Sift up in a min-heap. */
			j = h++;
			while (j && ret_less(ret, cnt, v, heap[(j - 1) / 2])) {
				heap[j] = heap[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			heap[j] = v;
			continue;
		}
		if (!ret_less(ret, cnt, heap[0], v))
			continue;
		/* Replace the smallest, sift down. */
		for (;;) {
			c = 2 * j + 1;
			if (c >= h)
				break;
			if (c + 1 < h && ret_less(ret, cnt, heap[c + 1], heap[c]))
				c++;
			if (!ret_less(ret, cnt, heap[c], v))
				break;
			heap[j] = heap[c];
			j = c;
		}
		heap[j] = v;
	}
	r->rows = xcalloc(h + 1, sizeof(*r->rows));
	r->rows_alloc = h + 1;
	for (i = 0; i < h; i++) {
		struct retained_row *row = &r->rows[r->nrows++];
		uint32_t v = heap[i];

		row->example = v;
		row->by_object = true;
		row->retained_bytes = ret[v];
		row->retained_count = cnt[v];
		row->self_bytes = s->objects[v].size;
		row->count = 1;
		row->addr = s->objects[v].addr;
		strbuf_reset(&sb);
		key_of(&sb, s, RET_OBJECT, v);
		row->owned_key = strbuf_detach(&sb, NULL);
		row->key = row->owned_key;
	}
	strbuf_release(&sb);
	free(heap);
}

static int cmp_row(const void *a, const void *b)
{
	const struct retained_row *x = a, *y = b;

	if (x->retained_bytes != y->retained_bytes)
		return x->retained_bytes > y->retained_bytes ? -1 : 1;
	if (x->retained_count != y->retained_count)
		return x->retained_count > y->retained_count ? -1 : 1;
	if (x->example != y->example && x->by_object)
		return x->example < y->example ? -1 : 1;
	return strcmp(x->key, y->key);
}

/*
 * The topmost objects of each key: those with no dominator of the same
 * key, so that a row never counts what another of its own instances
 * already retains (a linked list of Nodes retains itself once, not once
 * per node).  An iterative walk of the dominator tree keeps, per key, how
 * many of the current node's dominators have it.
 */
static void topmost(const struct domtree *d, const uint32_t *key,
		    size_t nkeys, uint8_t *top)
{
	size_t n = d->n, i, sp = 0;
	uint32_t *start = xcalloc(n + 2, sizeof(*start));
	uint32_t *kids = xmalloc((d->nreach + 1) * sizeof(*kids));
	uint32_t *depth = xcalloc(nkeys + 1, sizeof(*depth));
	uint32_t *stack = xmalloc((d->nreach + 1) * sizeof(*stack));
	/* next[] is each node's fill position first (n + 2 entries), then
	 * each node's next child in the walk. */
	uint32_t *next = xmalloc((n + 2) * sizeof(*next));
	uint32_t *pos = next;

	/* Children lists: node n stands for the virtual root. */
	for (i = 0; i < d->nreach; i++) {
		uint32_t v = d->order[i], p = d->idom[v];

		start[(p == DOM_ROOT ? n : p) + 1]++;
	}
	for (i = 0; i <= n; i++)
		start[i + 1] += start[i];
	memcpy(pos, start, (n + 2) * sizeof(*pos));
	for (i = 0; i < d->nreach; i++) {
		uint32_t v = d->order[i], p = d->idom[v];

		kids[pos[p == DOM_ROOT ? n : p]++] = v;
	}
	memset(top, 0, n);
	for (i = start[n]; i < start[n + 1]; i++) {
		uint32_t v = kids[i];

		top[v] = !depth[key[v]];
		depth[key[v]]++;
		next[v] = start[v];
		stack[sp++] = v;
		while (sp) {
			uint32_t u = stack[sp - 1];

			if (next[u] < start[u + 1]) {
				uint32_t c = kids[next[u]++];

				top[c] = !depth[key[c]];
				depth[key[c]]++;
				next[c] = start[c];
				stack[sp++] = c;
			} else {
				depth[key[u]]--;
				sp--;
			}
		}
	}
	free(start);
	free(kids);
	free(depth);
	free(stack);
	free(next);
}

int retained_analyse(const struct snapshot *s, enum retained_by by,
		     size_t top_n, struct retained *r)
{
	size_t n = s->nobjects, i, k;
	uint64_t *ret, *cnt;
	uint32_t *key = NULL;
	uint8_t *top = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct path_tree pt;
	struct domtree d;

	memset(r, 0, sizeof(*r));
	r->by = by;
	if (!s->edge_start)
		return ph_error(PH_E_FORMAT, "the snapshot was read without "
				"its references");
	if (!s->nroots)
		return ph_error(PH_E_FORMAT, "the snapshot has no roots: "
				"nothing retains anything");
	ret = xcalloc(n + 1, sizeof(*ret));
	cnt = xcalloc(n + 1, sizeof(*cnt));
	retained_tree(s, &d, ret, cnt);
	for (i = 0; i < n; i++) {
		r->total_bytes += s->objects[i].size;
		r->total_count++;
		if (d.idom[i] != DOM_NONE) {
			r->reachable_bytes += s->objects[i].size;
			r->reachable_count++;
		}
	}

	if (by == RET_OBJECT) {
		object_rows(s, &d, ret, cnt, top_n, r);
	} else {
		key = keys_of(s, by, r);
		top = xmalloc(n + 1);
		topmost(&d, key, r->nrows, top);
		for (i = 0; i < n; i++) {
			struct retained_row *row = &r->rows[key[i]];

			row->count++;
			row->self_bytes += s->objects[i].size;
			if (!top[i])
				continue;
			row->retained_bytes += ret[i];
			row->retained_count += cnt[i];
			if (row->example == UINT32_MAX ||
			    ret[i] > ret[row->example])
				row->example = (uint32_t)i;
		}
	}
	if (by == RET_OBJECT)
		r->nkeys = d.nreach;
	else
		r->nkeys = r->nrows;
	qsort(r->rows, r->nrows, sizeof(*r->rows), cmp_row);
	if (top_n && r->nrows > top_n) {
		for (k = top_n; k < r->nrows; k++)
			free(r->rows[k].owned_key);
		r->nrows = top_n;
	}
	/* The rows are final: the tree and the per-object arrays go before
	 * the path search allocates its own (the two peaks do not add). */
	domtree_release(&d);
	free(ret);
	free(cnt);
	free(key);
	free(top);
	/* Example paths, for the rows kept only: one search. */
	path_tree_build(s, &pt);
	for (k = 0; k < r->nrows; k++) {
		struct retained_row *row = &r->rows[k];

		if (row->example == UINT32_MAX)
			continue;
		row->addr = s->objects[row->example].addr;
		strbuf_reset(&sb);
		path_tree_text(&sb, s, &pt, row->example);
		row->example_path = xstrdup(sb.buf);

	}
	path_tree_release(&pt);
	strbuf_release(&sb);
	return 0;
}

void retained_release(struct retained *r)
{
	size_t k;

	for (k = 0; k < r->nrows; k++) {
		free(r->rows[k].owned_key);
		free(r->rows[k].example_path);
	}
	free(r->rows);
	memset(r, 0, sizeof(*r));
}
