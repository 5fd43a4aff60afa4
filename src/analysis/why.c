/*
 * Why is it alive (analysis.h "Why"): the shortest paths from the roots to
 * the selected objects, merged by shape.  One breadth-first search from
 * every root at once gives each object its shortest path (the parent
 * tree); paths are then grouped by their sequence of (type, label) steps,
 * as Eclipse MAT merges shortest paths to GC roots.  Every walk is
 * iterative: O(objects + edges + the selected objects' path lengths).
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "base/strbuf.h"
#include "internal.h"

#define NONE UINT32_MAX

/* ---- holders: where paths and the dominator tree start ------------------- */

size_t holders_seed(const struct snapshot *s, uint32_t **out,
		    size_t bounds[2])
{
	size_t n = s->nobjects, k = 0, i, pass;
	uint8_t *seen = xcalloc(n + 1, 1);
	uint32_t *v = xmalloc((n + s->nroots + 1) * sizeof(*v));

	/* The interpreter's roots, then the threads'. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->nroots; i++) {
			uint32_t o = s->roots[i].object, kind = s->roots[i].kind;
			bool thread = kind == ROOT_FRAME ||
				      kind == ROOT_THREAD_DICT;

			if (o < n && !seen[o] && thread == (pass == 1)) {
				seen[o] = 1;
				v[k++] = o;
			}
		}
		if (bounds)
			bounds[pass] = k;
	}
	for (i = 0; (s->meta.flags & SNAP_REFCOUNTS) && i < n; i++) {
		const struct snap_object *o = &s->objects[i];

		if (!seen[i] && (o->unexplained > 0 ||
				 (o->flags & OBJ_NOT_ARITHMETIC))) {
			seen[i] = 1;
			v[k++] = (uint32_t)i;
		}
	}
	free(seen);
	*out = v;
	return k;
}

/* ---- selection ------------------------------------------------------------ */

static const char *obj_type(const struct snapshot *s, uint32_t i)
{
	const char *n = snapshot_str(s, s->types[s->objects[i].type].name);

	return *n ? n : "[unnamed type]";
}

/* An object's innermost site frame, or NULL. */
static const struct snap_site_frame *site_frame(const struct snapshot *s,
						uint32_t i)
{
	uint32_t site = s->objects[i].site;

	if (!site || site > s->nsites)
		return NULL;
	return &s->site_frames[s->sites[site - 1].first_frame];
}

/* --site FILE:LINE: FILE matches the stored file or its last path
 * components ("app/cache.py" matches "/srv/app/cache.py"). */
static bool site_matches(const struct snapshot *s, uint32_t i,
			 const char *file, size_t flen, uint32_t line)
{
	const struct snap_site_frame *f = site_frame(s, i);
	const char *sf;
	size_t n;

	if (!f || f->line != line)
		return false;
	sf = snapshot_str(s, f->file);
	n = strlen(sf);
	if (n < flen || memcmp(sf + n - flen, file, flen))
		return false;
	return n == flen || sf[n - flen - 1] == '/';
}

static bool same_site(const struct snapshot *a, uint32_t ia,
		      const struct snapshot *b, uint32_t ib)
{
	const struct snap_site_frame *fa = site_frame(a, ia);
	const struct snap_site_frame *fb = site_frame(b, ib);

	if (!fa || !fb)
		return !fa && !fb;
	return fa->line == fb->line &&
	       !strcmp(snapshot_str(a, fa->file), snapshot_str(b, fb->file));
}

int why_select(const struct snapshot *s, const struct why_query *q,
	       uint8_t *selected, uint64_t *count)
{
	const char *colon = q->site ? strrchr(q->site, ':') : NULL;
	struct u64map before = { 0 };
	unsigned long line = 0;
	size_t i, j;

	*count = 0;
	if (q->site) {
		char *end;

		if (!colon || colon == q->site || !colon[1])
			return ph_error(PH_E_USAGE, "--site: give FILE:LINE, "
					"not '%s'", q->site);
		line = strtoul(colon + 1, &end, 10);
		if (*end || line > UINT32_MAX)
			return ph_error(PH_E_USAGE, "--site: bad line in "
					"'%s'", q->site);
	}
	if (q->since)
		for (j = 0; j < q->since->nobjects; j++)
			u64map_put(&before, q->since->objects[j].addr, j);
	for (i = 0; i < s->nobjects; i++) {
		uint64_t j64;

		selected[i] = 0;
		if (q->type && fnmatch(q->type, obj_type(s, (uint32_t)i), 0))
			continue;
		if (q->site && !site_matches(s, (uint32_t)i, q->site,
					     (size_t)(colon - q->site),
					     (uint32_t)line))
			continue;
		if (q->has_addr && s->objects[i].addr != q->addr)
			continue;
		/* New since A: no object of the same type and site at the
		 * same address there. */
		if (q->since && u64map_get(&before, s->objects[i].addr, &j64) &&
		    !strcmp(obj_type(q->since, (uint32_t)j64),
			    obj_type(s, (uint32_t)i)) &&
		    same_site(q->since, (uint32_t)j64, s, (uint32_t)i))
			continue;
		selected[i] = 1;
		(*count)++;
	}
	u64map_release(&before);
	return 0;
}

/* ---- labels --------------------------------------------------------------- */

void why_label_text(struct strbuf *sb, const struct snapshot *s,
		    uint32_t label, bool merged)
{
	const char *name = snapshot_str(s, EDGE_LABEL_VALUE(label));

	switch (label & EDGE_LABEL_KIND) {
	case EDGE_LABEL_INDEX:
		if (merged)
			strbuf_addstr(sb, "[*]");
		else
			strbuf_addf(sb, "[%" PRIu32 "]",
				    EDGE_LABEL_VALUE(label));
		break;
	case EDGE_LABEL_KEY:
		strbuf_addf(sb, "['%s']", name);
		break;
	default:
		if (label)
			strbuf_addf(sb, ".%s", name);
		break;
	}
}

/* The string id of the name of the root a path's start v is, or NONE
 * (path_tree: kept in pedge, which a start has no use for). */
static uint32_t start_root(const struct path_tree *pt, uint32_t v)
{
	return pt->parent[v] == NONE ? pt->pedge[v] : NONE;
}

/* The label a path's first step gets: the root's name, or why an object
 * that no root reaches is held. */
static void origin_text(struct strbuf *sb, const struct snapshot *s,
			const struct path_tree *pt, uint32_t v)
{
	const struct snap_object *o = &s->objects[v];
	uint32_t root = start_root(pt, v);

	if (root != NONE)
		strbuf_addstr(sb, root ? snapshot_str(s, root) : "<root>");
	else if (o->unexplained > 0)
		strbuf_addf(sb, "<%" PRId64 " reference%s from outside the "
			    "heap>", o->unexplained,
			    o->unexplained == 1 ? "" : "s");
	else if (o->flags & OBJ_STATIC)
		strbuf_addstr(sb, "<static>");
	else
		strbuf_addstr(sb, "<immortal>");
}

/* ---- the parent tree ------------------------------------------------------ */

/*
 * Breadth-first from the interpreter's roots, then from the threads' for
 * what those do not reach, then from the other holders (objects with
 * references from outside the heap, immortal and static objects): an
 * object gets a path from a module, if it has one, before one from a
 * running function's frame.  parent[v] is the object before v on its path
 * (NONE for the start of a path and for objects nothing reaches), pedge
 * the edge taken, dist its length.
 */
void path_tree_build(const struct snapshot *s, struct path_tree *pt)
{
	size_t n = s->nobjects, bounds[2], nseeds, head = 0, tail = 0, i, phase;
	uint32_t *seeds, *queue = xmalloc((n + 1) * sizeof(*queue));

	pt->parent = xmalloc((n + 1) * sizeof(*pt->parent));
	pt->pedge = xmalloc((n + 1) * sizeof(*pt->pedge));
	pt->dist = xmalloc((n + 1) * sizeof(*pt->dist));
	nseeds = holders_seed(s, &seeds, bounds);
	for (i = 0; i < n; i++) {
		pt->parent[i] = NONE;
		pt->pedge[i] = NONE;
		pt->dist[i] = NONE;
	}
	for (phase = 0; phase < 3; phase++) {
		size_t from = phase ? bounds[phase - 1] : 0;
		size_t to = phase < 2 ? bounds[phase] : nseeds;

		for (i = from; i < to; i++)
			if (pt->dist[seeds[i]] == NONE) {
				pt->dist[seeds[i]] = 0;
				queue[tail++] = seeds[i];
			}
		while (head < tail) {
			uint32_t u = queue[head++], e;

			for (e = s->edge_start[u]; e < s->edge_start[u + 1];
			     e++) {
				uint32_t d = s->edge_dst[e];

				if (pt->dist[d] != NONE)
					continue;
				pt->dist[d] = pt->dist[u] + 1;
				pt->parent[d] = u;
				pt->pedge[d] = e;
				queue[tail++] = d;
			}
		}
	}
	/* The starts that are roots: their name, the first row's. */
	for (i = s->nroots; i-- > 0;)
		if (s->roots[i].object < n &&
		    pt->parent[s->roots[i].object] == NONE &&
		    pt->dist[s->roots[i].object] == 0)
			pt->pedge[s->roots[i].object] = s->roots[i].name;
	free(seeds);
	free(queue);
}

void path_tree_release(struct path_tree *pt)
{
	free(pt->parent);
	free(pt->pedge);
	free(pt->dist);
	memset(pt, 0, sizeof(*pt));
}

/* The label of the reference into ids[k] on a path (0 for the root). */
static uint32_t hop_label(const struct snapshot *s,
			  const struct path_tree *pt, uint32_t v)
{
	return s->edge_label && pt->parent[v] != NONE ?
	       s->edge_label[pt->pedge[v]] : 0;
}

void path_tree_text(struct strbuf *sb, const struct snapshot *s,
		    const struct path_tree *pt, uint32_t v)
{
	uint32_t *ids, len, k;

	if (pt->dist[v] == NONE) {
		strbuf_addstr(sb, "<unreachable>");
		return;
	}
	len = pt->dist[v] + 1;
	ids = xmalloc(len * sizeof(*ids));
	for (k = len; k--;) {
		ids[k] = v;
		v = pt->parent[v];
	}
	origin_text(sb, s, pt, ids[0]);
	for (k = 1; k < len; k++) {
		size_t before = sb->len;

		why_label_text(sb, s, hop_label(s, pt, ids[k]), false);
		if (sb->len == before)
			strbuf_addf(sb, " -> %s", obj_type(s, ids[k]));
	}
	free(ids);
}

/* ---- merging -------------------------------------------------------------- */

struct group {
	uint32_t first;       /* a member: the example */
	uint64_t objects, bytes;
	uint32_t len;         /* steps */
	bool from_holder;     /* starts at a holder that is no root */
};

/* The path of v, root first, into ids (dist[v] + 1 entries). */
static size_t path_of(const struct path_tree *pt, uint32_t v, uint32_t *ids)
{
	size_t len = (size_t)pt->dist[v] + 1, k = len;

	while (k) {
		ids[--k] = v;
		v = pt->parent[v];
	}
	return len;
}

/*
 * Shapes.  A path's shape is its parent's shape plus its own last step
 * (type, merged label), so shapes are numbered once per distinct
 * (parent shape, step): shape[v] is memoised along the selected objects'
 * paths, each path walked once up to the first object already shaped.
 * Two hash maps of integers, no strings: pairs (type, label) -> step id,
 * (parent shape, step id) -> shape id.
 */
struct shaper {
	struct u64map steps, shapes;
	uint32_t nsteps, nshapes;
	uint32_t *shape;          /* per object, NONE until shaped */
};

/* The merged label of the step into v; for the start of a path, its
 * root's name (a string id, offset past every label) or 0 for a holder
 * that is no root. */
static uint64_t step_label(const struct snapshot *s,
			   const struct path_tree *pt, uint32_t v)
{
	uint32_t l = start_root(pt, v);

	if (pt->parent[v] == NONE)
		return l != NONE ? 1 + (uint64_t)l : 0;
	l = hop_label(s, pt, v);
	if ((l & EDGE_LABEL_KIND) == EDGE_LABEL_INDEX)
		l = EDGE_LABEL_INDEX;
	return (1ull << 32) | l;
}

static uint32_t intern(struct u64map *m, uint64_t key, uint32_t *n)
{
	uint64_t v;

	if (u64map_get(m, key, &v))
		return (uint32_t)v;
	u64map_put(m, key, *n);
	return (*n)++;
}

static uint32_t shape_of(const struct snapshot *s, const struct path_tree *pt,
			 struct shaper *sh, uint32_t v, uint32_t *chain)
{
	size_t k = 0;

	if (sh->shape[v] != NONE)
		return sh->shape[v];
	while (v != NONE && sh->shape[v] == NONE) {
		chain[k++] = v;
		v = pt->parent[v];
	}
	while (k--) {
		uint32_t u = chain[k], parent = pt->parent[u], step;
		/* Step keys: a 33-bit label and the type (< 2^31). */
		uint64_t label = step_label(s, pt, u);

		step = intern(&sh->steps, label ^ ((uint64_t)s->objects[u].type
						   << 33), &sh->nsteps);
		sh->shape[u] = intern(&sh->shapes,
				      (uint64_t)(parent == NONE ? 0 :
						 sh->shape[parent] + 1) << 32 |
				      step, &sh->nshapes);
	}
	return sh->shape[chain[0]];
}

/* The objects with a group, by group (a counting sort). */
static uint32_t *members_by_group(const uint32_t *gid, size_t n,
				  size_t ngroups, size_t *count)
{
	uint32_t *pos = xcalloc(ngroups + 1, sizeof(*pos));
	uint32_t *out;
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		if (gid[i] != NONE)
			pos[gid[i] + 1]++;
	for (i = 0; i < ngroups; i++)
		pos[i + 1] += pos[i];
	total = pos[ngroups];
	out = xmalloc((total + 1) * sizeof(*out));
	for (i = 0; i < n; i++)
		if (gid[i] != NONE)
			out[pos[gid[i]]++] = (uint32_t)i;
	free(pos);
	*count = total;
	return out;
}

static int cmp_path(const void *a, const void *b)
{
	const struct why_path *x = a, *y = b;

	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->nsteps != y->nsteps)
		return x->nsteps < y->nsteps ? -1 : 1;
	return strcmp(x->example_text, y->example_text);
}

static void fill_path(const struct snapshot *s, struct why_path *p,
		      const uint32_t *ids, size_t len,
		      const struct path_tree *pt)
{
	struct strbuf sb = STRBUF_INIT, ex = STRBUF_INIT;
	size_t k;

	p->nsteps = len;
	p->steps = xcalloc(len, sizeof(*p->steps));
	p->example = xcalloc(len, sizeof(*p->example));
	for (k = 0; k < len; k++) {
		uint32_t l = hop_label(s, pt, ids[k]);

		p->steps[k].type = obj_type(s, ids[k]);
		strbuf_reset(&sb);
		if (!k)
			origin_text(&sb, s, pt, ids[0]);
		else
			why_label_text(&sb, s, l, true);
		p->steps[k].label = sb.len ? xstrdup(sb.buf) : NULL;
		strbuf_reset(&sb);
		if (!k)
			origin_text(&sb, s, pt, ids[0]);
		else
			why_label_text(&sb, s, l, false);
		p->example[k].addr = s->objects[ids[k]].addr;
		p->example[k].type = p->steps[k].type;
		p->example[k].label = sb.len ? xstrdup(sb.buf) : NULL;
		/* "sys.modules['app'].__dict__['CACHE'] -> Request": a hop
		 * without a label is an arrow to the next object's type. */
		if (!k)
			strbuf_addstr(&ex, sb.buf);
		else if (sb.len)
			strbuf_addstr(&ex, sb.buf);
		else
			strbuf_addf(&ex, " -> %s", p->steps[k].type);
	}
	p->example_text = strbuf_detach(&ex, NULL);
	strbuf_release(&sb);
}

int why_analyse(const struct snapshot *s, const uint8_t *selected,
		const uint64_t *retained, size_t max_paths, struct why *w)
{
	struct path_tree pt;
	int rc = why_usable(s);

	memset(w, 0, sizeof(*w));
	if (rc)
		return rc;
	path_tree_build(s, &pt);
	why_analyse_tree(s, &pt, selected, retained, max_paths, w);
	path_tree_release(&pt);
	return 0;
}

int why_usable(const struct snapshot *s)
{
	if (!s->edge_start)
		return ph_error(PH_E_FORMAT, "the snapshot was read without "
				"its references");
	if (!s->nroots)
		return ph_error(PH_E_FORMAT, "the snapshot has no roots: no "
				"path can start anywhere");
	return 0;
}

void why_analyse_tree(const struct snapshot *s, const struct path_tree *ptp,
		      const uint8_t *selected, const uint64_t *retained,
		      size_t max_paths, struct why *w)
{
	size_t n = s->nobjects, i, k, ngroups = 0, groups_alloc = 0, norder;
	uint32_t *gid, *stamp, *ids, *order, maxlen = 0;
	struct u64map group_of = { 0 };
	struct shaper sh = { 0 };
	struct group *groups = NULL;
	const struct path_tree pt = *ptp;

	memset(w, 0, sizeof(*w));
	w->labels = s->edge_label != NULL;
	gid = xmalloc((n + 1) * sizeof(*gid));

	/* Group the selected objects by the shape of their path. */
	for (i = 0; i < n; i++)
		if (pt.dist[i] != NONE && pt.dist[i] + 1 > maxlen)
			maxlen = pt.dist[i] + 1;
	ids = xmalloc(((size_t)maxlen + 1) * sizeof(*ids));
	sh.shape = xmalloc((n + 1) * sizeof(*sh.shape));
	memset(sh.shape, 0xff, (n + 1) * sizeof(*sh.shape));
	for (i = 0; i < n; i++) {
		const struct snap_object *o = &s->objects[i];
		uint64_t g64;
		uint32_t g, shape;
		size_t len;

		gid[i] = NONE;
		if (!selected[i])
			continue;
		w->objects++;
		w->bytes += o->size;
		if (pt.dist[i] == NONE) {
			w->unreached++;
			w->unreached_bytes += o->size;
			continue;
		}
		len = (size_t)pt.dist[i] + 1;
		shape = shape_of(s, &pt, &sh, (uint32_t)i, ids);
		if (u64map_get(&group_of, shape, &g64)) {
			g = (uint32_t)g64;
		} else {
			g = (uint32_t)ngroups;
			u64map_put(&group_of, shape, g);
			PH_GROW(groups, groups_alloc, ngroups + 1);
			memset(&groups[ngroups], 0, sizeof(*groups));
			groups[ngroups].first = (uint32_t)i;
			groups[ngroups].len = (uint32_t)len;
			/* Paths of a shape share their start (its name is in
			 * the shape): a root, or another holder. */
			path_of(&pt, (uint32_t)i, ids);
			groups[ngroups].from_holder =
				start_root(&pt, ids[0]) == NONE;
			ngroups++;
		}
		if (groups[g].from_holder)
			w->from_holders++;

		gid[i] = g;
		groups[g].objects++;
		groups[g].bytes += o->size;
	}
	w->npaths = ngroups;
	w->paths = xcalloc(ngroups + 1, sizeof(*w->paths));
	for (k = 0; k < ngroups; k++) {
		struct why_path *p = &w->paths[k];
		size_t len = path_of(&pt, groups[k].first, ids);

		fill_path(s, p, ids, len, &pt);
		p->objects = groups[k].objects;
		p->bytes = groups[k].bytes;
		p->share = w->objects ? (double)p->objects / (double)w->objects :
			   0;
		p->accumulation = SIZE_MAX;
	}

	/* Per step, the distinct objects the group's paths pass through
	 * and what they retain.  An object's step is its distance, so a
	 * stamp per object (group + 1) counts each once per group.  The
	 * shapes are no longer needed: their memory goes first. */
	free(sh.shape);
	sh.shape = NULL;
	stamp = xcalloc(n + 1, sizeof(*stamp));
	order = members_by_group(gid, n, ngroups, &norder);
	for (k = 0; k < norder; k++) {
		uint32_t v = order[k], g = gid[v];
		struct why_path *p = &w->paths[g];

		/* Groups one after the other: a stamp left by an earlier
		 * group is never seen by it again. */
		while (v != NONE && stamp[v] != g + 1) {
			struct why_step *st = &p->steps[pt.dist[v]];

			stamp[v] = g + 1;
			st->nodes++;
			st->retained_bytes += retained ? retained[v] : 0;
			v = pt.parent[v];
		}
	}
	free(order);
	for (k = 0; k < ngroups; k++) {
		struct why_path *p = &w->paths[k];
		size_t d;

		/* The accumulation point: the deepest single object below
		 * which the path fans out to many. */
		for (d = p->nsteps - 1; d-- > 0;)
			if (p->steps[d].nodes == 1 && p->steps[d + 1].nodes > 1) {
				p->accumulation = d;
				break;
			}
	}
	w->retained = retained != NULL;
	qsort(w->paths, w->npaths, sizeof(*w->paths), cmp_path);
	if (max_paths && w->npaths > max_paths) {
		for (k = max_paths; k < w->npaths; k++) {
			w->other_paths++;
			w->other_objects += w->paths[k].objects;
			why_path_release(&w->paths[k]);
		}
		w->npaths = max_paths;
	}
	u64map_release(&group_of);
	u64map_release(&sh.steps);
	u64map_release(&sh.shapes);
	free(sh.shape);
	free(groups);
	free(stamp);
	free(ids);
	free(gid);
}

void why_path_release(struct why_path *p)
{
	size_t k;

	for (k = 0; k < p->nsteps; k++) {
		free(p->steps[k].label);
		free(p->example[k].label);
	}
	free(p->steps);
	free(p->example);
	free(p->example_text);
	memset(p, 0, sizeof(*p));
}

void why_release(struct why *w)
{
	size_t k;

	for (k = 0; k < w->npaths; k++)
		why_path_release(&w->paths[k]);
	free(w->paths);
	memset(w, 0, sizeof(*w));
}
