/*
 * pyheap leaks (analysis.h "Native leaks"): the classes and groups of the
 * chunks snap's native-leak scan classified.  Everything is in the chunk
 * table (reach, leader, sig, holder, root), so this is one pass over the
 * chunks plus a hash of the group keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/hashmap.h"
#include "analysis.h"

static const char *const class_names[REACH__COUNT] = {
	"none", "reachable", "possibly_lost", "python_garbage",
	"definitely_lost", "indirectly_lost",
};

const char *leaks_class_name(unsigned reach)
{
	return reach < REACH__COUNT ? class_names[reach] : "none";
}

bool leaks_lost_bytes(const struct snapshot *s, uint64_t *lost)
{
	int64_t a = snapshot_get_stat(s, LEAKS_STAT_LOST_BYTES, -1);
	int64_t b = snapshot_get_stat(s, LEAKS_STAT_INDIRECT_BYTES, -1);

	*lost = 0;
	if (!(s->meta.flags & SNAP_LEAKS) || a < 0 || b < 0)
		return false;
	*lost = (uint64_t)a + (uint64_t)b;
	return true;
}

/* The group of (state, size, signature), made if new.  The index's keys
 * are each group's key string ("state size signature"), which the group
 * owns. */
static struct leak_group *group_of(struct leaks *l, struct strmap *index,
				   uint32_t state, uint64_t size,
				   const char *sig)
{
	struct strbuf key = STRBUF_INIT;
	struct leak_group *g;
	uint32_t v;

	strbuf_addf(&key, "%u %llu %s", state, (unsigned long long)size, sig);
	if (strmap_get(index, key.buf, key.len, &v)) {
		strbuf_release(&key);
		return &l->groups[v];
	}
	PH_GROW(l->groups, l->groups_alloc, l->ngroups + 1);
	g = &l->groups[l->ngroups];
	memset(g, 0, sizeof(*g));
	g->state = state;
	g->size = size;
	g->signature = xstrdup(sig);
	g->key_len = key.len;
	g->key = strbuf_detach(&key, NULL);
	strmap_put(index, g->key, g->key_len, (uint32_t)l->ngroups++);
	return g;
}

static bool native_chunk(const struct snap_chunk *c)
{
	return c->owner_kind == OWNER_NATIVE || c->owner_kind == OWNER_UNOWNED;
}

static void add_holder(struct leaks *l, struct strmap *index,
		       const struct snapshot *s, const struct snap_chunk *c)
{
	const char *key = "[not known]";
	struct leak_holder *h;
	uint32_t v;

	if (c->holder && c->holder <= s->nobjects)
		key = snapshot_str(s, s->types[s->objects[c->holder - 1].type]
				   .name);
	else if (c->root)
		key = snapshot_str(s, c->root);
	if (strmap_get(index, key, strlen(key), &v)) {
		h = &l->holders[v];
	} else {
		strmap_put(index, key, strlen(key), l->nholders);
		PH_GROW(l->holders, l->holders_alloc, l->nholders + 1);
		h = &l->holders[l->nholders++];
		memset(h, 0, sizeof(*h));
		h->key = key;
		h->example = c->addr + 16;
	}
	h->chunks++;
	h->bytes += c->size;
}

static uint64_t group_total(const struct leak_group *g)
{
	return g->bytes + g->indirect_bytes;
}

static uint64_t group_total_a(const struct leak_group *g)
{
	return g->bytes_a + g->indirect_bytes_a;
}

/* qsort() has no context: whether the groups sort by growth. */
static bool sort_by_growth;

static int group_cmp(const void *x, const void *y)
{
	const struct leak_group *a = x, *b = y;

	if (sort_by_growth) {
		int64_t da = (int64_t)(group_total(a) - group_total_a(a));
		int64_t db = (int64_t)(group_total(b) - group_total_a(b));

		if (da != db)
			return da > db ? -1 : 1;
	}
	if (group_total(a) != group_total(b))
		return group_total(a) > group_total(b) ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if (a->state != b->state)
		return a->state > b->state ? -1 : 1;
	return strcmp(a->signature, b->signature);
}

static int holder_cmp(const void *x, const void *y)
{
	const struct leak_holder *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return strcmp(a->key, b->key);
}

static void sort_groups(struct leaks *l)
{
	sort_by_growth = l->compared;
	if (l->ngroups)
		qsort(l->groups, l->ngroups, sizeof(*l->groups), group_cmp);
}

static int run(const struct snapshot *s, struct leaks *l, bool holders);

int leaks_analyse(const struct snapshot *s, struct leaks *l)
{
	return run(s, l, true);
}

int leaks_analyse_groups(const struct snapshot *s, struct leaks *l)
{
	return run(s, l, false);
}

static int run(const struct snapshot *s, struct leaks *l, bool holders)
{
	struct strmap groups = STRMAP_INIT, holder_index = STRMAP_INIT;
	uint32_t *group_row;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (!(s->meta.flags & SNAP_LEAKS)) {
		if (!(s->meta.flags & SNAP_NATIVE))
			return ph_error(PH_E_FORMAT, "no native memory in this "
					"snapshot: malloc was not walked "
					"(see pyheap info)");
		if (s->meta.flags & SNAP_INCONSISTENT)
			return ph_error(PH_E_FORMAT, "native memory was not "
					"classified: the snapshot was taken "
					"without stopping the process");
		if (!strncmp(snapshot_str(s, s->meta.python), "2.", 2))
			return ph_error(PH_E_FORMAT, "native memory was not "
					"classified: pyheap does not scan a "
					"Python 2.7 process for leaks yet");
		return ph_error(PH_E_FORMAT, "native memory was not "
				"classified: taken with --no-leak-scan, or "
				"by a pyheap older than snapshot format 1.6");
	}
	/* The group of each leader, for its clique's indirect chunks. */
	group_row = xmalloc((s->nchunks + 1) * sizeof(*group_row));
	for (i = 0; i < s->nchunks; i++) {
		const struct snap_chunk *c = &s->chunks[i];
		struct leak_group *g;

		group_row[i] = UINT32_MAX;
		if (!c->reach || c->reach >= REACH__COUNT)
			continue;
		l->cls[c->reach].chunks++;
		l->cls[c->reach].bytes += c->size;
		if (c->reach == REACH_LOST || c->reach == REACH_POSSIBLE ||
		    c->reach == REACH_GARBAGE) {
			g = group_of(l, &groups, c->reach, c->size,
				     c->sig ? snapshot_str(s, c->sig) : "");
			if (!g->chunks)
				g->example = c->addr + 16;
			g->chunks++;
			g->bytes += c->size;
			group_row[i] = (uint32_t)(g - l->groups);
		}
		if (holders && native_chunk(c) && c->reach != REACH_LOST &&
		    c->reach != REACH_INDIRECT)
			add_holder(l, &holder_index, s, c);
	}
	/* Leaders come before nothing in particular: a second pass. */
	for (i = 0; i < s->nchunks; i++) {
		const struct snap_chunk *c = &s->chunks[i];
		uint32_t g;

		if (c->reach != REACH_INDIRECT || !c->leader ||
		    c->leader > s->nchunks)
			continue;
		g = group_row[c->leader - 1];
		if (g == UINT32_MAX)
			continue;
		l->groups[g].indirect_chunks++;
		l->groups[g].indirect_bytes += c->size;
	}
	free(group_row);
	strmap_release(&groups);
	strmap_release(&holder_index);
	sort_groups(l);
	if (l->nholders)
		qsort(l->holders, l->nholders, sizeof(*l->holders),
		      holder_cmp);
	return 0;
}

void leaks_compare(struct leaks *l, const struct leaks *a)
{
	struct strmap index = STRMAP_INIT;
	size_t i;

	for (i = 0; i < REACH__COUNT; i++) {
		l->cls[i].chunks_a = a->cls[i].chunks;
		l->cls[i].bytes_a = a->cls[i].bytes;
	}
	/* B's groups by key; group_of() adds A's that B lacks. */
	for (i = 0; i < l->ngroups; i++)
		strmap_put(&index, l->groups[i].key, l->groups[i].key_len,
			   (uint32_t)i);
	for (i = 0; i < a->ngroups; i++) {
		const struct leak_group *ga = &a->groups[i];
		struct leak_group *g = group_of(l, &index, ga->state, ga->size,
						ga->signature);

		g->chunks_a = ga->chunks;
		g->bytes_a = ga->bytes;
		g->indirect_chunks_a = ga->indirect_chunks;
		g->indirect_bytes_a = ga->indirect_bytes;
	}
	strmap_release(&index);
	l->compared = true;
	sort_groups(l);
}

int leaks_from_groups(const struct snapshot *a, struct leaks *l)
{
	struct strmap index = STRMAP_INIT;
	char name[64];
	size_t i;

	memset(l, 0, sizeof(*l));
	if (!a->groups.present || !(a->meta.flags & SNAP_LEAKS))
		return -PH_E_NOTFOUND;
	for (i = 1; i < REACH__COUNT; i++) {
		int64_t n, b;

		snprintf(name, sizeof(name), "leaks.%s.chunks", class_names[i]);
		n = snapshot_get_stat(a, name, -1);
		snprintf(name, sizeof(name), "leaks.%s.bytes", class_names[i]);
		b = snapshot_get_stat(a, name, -1);
		if (n < 0 || b < 0)
			return -PH_E_NOTFOUND;
		l->cls[i].chunks = (uint64_t)n;
		l->cls[i].bytes = (uint64_t)b;
	}
	for (i = 0; i < a->groups.nlost; i++) {
		const struct snap_lost_group *x = &a->groups.lost[i];
		struct leak_group *g = group_of(l, &index, x->reach, x->size,
						snapshot_str(a, x->signature));

		g->chunks = x->chunks;
		g->bytes = x->bytes;
		g->indirect_chunks = x->indirect_chunks;
		g->indirect_bytes = x->indirect_bytes;
	}
	strmap_release(&index);
	sort_groups(l);
	return 0;
}

void leaks_release(struct leaks *l)
{
	size_t i;

	for (i = 0; i < l->ngroups; i++) {
		free(l->groups[i].signature);
		free(l->groups[i].key);
	}
	free(l->groups);
	free(l->holders);
	memset(l, 0, sizeof(*l));
}
