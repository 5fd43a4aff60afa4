/*
 * Trees of bytes (analysis.h "Trees"): a snapshot's objects by module,
 * then type, or by allocation site, the outermost frame of each
 * traceback first -- what pyheap report draws as icicles.  Built from the
 * summary only (SUMM, or computed for a snapshot built in memory), as show
 * groups, so a report reads no object.  A node is found from its parent
 * and its name: names are interned here (strmap) and (parent, name id)
 * keys a u64map, so building is linear in the cells and frames.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "snapshot/snapshot.h"

static uint32_t tree_name(struct tree *t, const char *name)
{
	size_t len = strlen(name);
	uint32_t id;

	if (strmap_get(&t->names, name, len, &id))
		return id;
	PH_GROW(t->owned, t->owned_alloc, t->nowned + 1);
	t->owned[t->nowned] = xstrndup(name, len);
	id = (uint32_t)t->nowned;
	strmap_put(&t->names, t->owned[t->nowned++], len, id);
	return id;
}

void tree_init(struct tree *t, const char *root)
{
	memset(t, 0, sizeof(*t));
	PH_GROW(t->nodes, t->nodes_alloc, 1);
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nodes[0].name = t->owned_name_root = xstrdup(root);
	t->nodes[0].parent = TREE_NONE;
	t->nnodes = 1;
}

uint32_t tree_child(struct tree *t, uint32_t parent, const char *name)
{
	uint32_t id = tree_name(t, name);
	uint64_t key = (uint64_t)parent << 32 | id, v;
	struct tree_node *n;

	if (u64map_get(&t->index, key, &v))
		return (uint32_t)v;
	if (t->nnodes >= TREE_NONE)
		ph_die("internal error: a tree of 2^32 nodes");
	PH_GROW(t->nodes, t->nodes_alloc, t->nnodes + 1);
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->name = t->owned[id];
	n->parent = parent;
	n->depth = t->nodes[parent].depth + 1;
	if (n->depth > t->depth)
		t->depth = n->depth;
	u64map_put(&t->index, key, t->nnodes);
	return (uint32_t)t->nnodes++;
}

void tree_add(struct tree *t, uint32_t node, int side, uint64_t count,
	      uint64_t bytes)
{
	while (node != TREE_NONE) {
		struct tree_node *n = &t->nodes[node];

		n->count[side] += count;
		n->bytes[side] += bytes;
		node = n->parent;
	}
}

int tree_by_module_type(const struct snapshot *s, int side, struct tree *t)
{
	struct snap_summary tmp;
	const struct snap_summary *m = snapshot_summary(s, &tmp);
	size_t i;

	for (i = 0; i < m->ncells; i++) {
		const struct snap_cell *c = &m->cells[i];
		const struct snap_type *ty = &s->types[c->type];
		const char *mod = snapshot_str(s, ty->module);
		const char *name = snapshot_str(s, ty->name);
		uint32_t n;

		n = tree_child(t, 0, *mod ? mod : "[unknown module]");
		n = tree_child(t, n, *name ? name : "[unnamed type]");
		tree_add(t, n, side, c->count, c->bytes);
	}
	snap_summary_release(&tmp);
	return 0;
}

int tree_by_site(const struct snapshot *s, int side, struct tree *t)
{
	struct report r;
	struct strbuf frame = STRBUF_INIT;
	size_t i;
	int rc;

	t->paths = true;
	/* Every frame the traces kept: the deepest traceback's. */
	rc = report_group_depth(s, BY_SITE, TREE_ALL_FRAMES, &r);
	if (rc)
		return rc;
	for (i = 0; i < r.nrows; i++) {
		const struct row_site *site = &r.rows[i].site;
		uint32_t n = 0, k;

		if (!site->nframes)
			n = tree_child(t, 0, r.rows[i].key);
		for (k = site->nframes; k-- > 0;) {
			strbuf_reset(&frame);
			if (site->frames[k].line)
				strbuf_addf(&frame, "%s:%u",
					    site->frames[k].file,
					    site->frames[k].line);
			else
				strbuf_addstr(&frame, site->frames[k].file);
			n = tree_child(t, n, frame.buf);
		}
		tree_add(t, n, side, r.rows[i].count, r.rows[i].bytes);
	}
	strbuf_release(&frame);
	report_release(&r);
	return 0;
}

static const struct tree *order_tree;
static int order_side;

static int cmp_kids(const void *a, const void *b)
{
	const struct tree_node *x = &order_tree->nodes[*(const uint32_t *)a];
	const struct tree_node *y = &order_tree->nodes[*(const uint32_t *)b];
	uint64_t bx = x->bytes[order_side], by = y->bytes[order_side];

	if (bx != by)
		return bx > by ? -1 : 1;
	return strcmp(x->name, y->name);
}

void tree_finish(struct tree *t, int side)
{
	uint32_t *at;
	size_t i;

	free(t->kids);
	t->kids = xmalloc((t->nnodes + 1) * sizeof(*t->kids));
	for (i = 0; i < t->nnodes; i++)
		t->nodes[i].nchildren = 0;
	for (i = 1; i < t->nnodes; i++)
		t->nodes[t->nodes[i].parent].nchildren++;
	at = xmalloc((t->nnodes + 1) * sizeof(*at));
	for (i = 0, at[0] = 0; i < t->nnodes; i++) {
		t->nodes[i].first_child = at[i];
		at[i + 1] = at[i] + t->nodes[i].nchildren;
	}
	for (i = 1; i < t->nnodes; i++)
		t->kids[at[t->nodes[i].parent]++] = (uint32_t)i;
	free(at);
	/* Largest first, then by name: the same file every time. */
	order_tree = t;
	order_side = side;
	for (i = 0; i < t->nnodes; i++)
		qsort(t->kids + t->nodes[i].first_child, t->nodes[i].nchildren,
		      sizeof(*t->kids), cmp_kids);
	order_tree = NULL;
}

void tree_release(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->owned_name_root);
	free(t->nodes);
	free(t->kids);
	strmap_release(&t->names);
	u64map_release(&t->index);
	memset(t, 0, sizeof(*t));
}
