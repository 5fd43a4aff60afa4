/*
 * Signatures of lost cliques (snap_chunk.sig): glibc records no caller,
 * so a definitely lost chunk is named by what the words of its clique
 * point at, as vmware/chap names allocations (LEAKS.md §3.3, §3.5):
 *   - a C++ vtable in the leader's first word ("vtable _ZTV...");
 *   - code of a library: its functions, named by the lowest that has a
 *     name ("libxml2.so.2: functions like xmlXPathFalseFunction"), from
 *     the library's own .symtab and .dynsym (a static function that
 *     neither lists still counts);
 *   - memory a Python object owns, pointed to from the leader itself:
 *     the object's type, and a capsule's name ("memory of PyCapsule
 *     'xmlDocPtr'").
 * Small chunks keep stale words past what their owner asked for (a
 * 5-byte string in a 24-byte chunk), and those differ from leak to
 * leak; so objects pointed to from the rest of the clique are left
 * out, and so is a library the leader does not point to that has one
 * function pointed to, or less than half the functions of the first.
 * The same leak gives the same signature in every snapshot, so `pyheap
 * leaks` can group by (size, signature) and follow a group over time.
 *
 * Bounds: at most SIG_WORDS words per clique and SIG_TOTAL in all (then
 * the rest get no signature and leaks.unsigned says how many), and at
 * most SIG_FILES libraries opened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../symbols/symbols.h"
#include "internal.h"

#define SIG_WORDS 65536
#define SIG_TOTAL (64ull << 20)
#define SIG_FILES 64
#define SIG_FUNCS 4096  /* distinct function starts kept per library */

struct sig_file {
	const struct map *m;   /* any mapping of it */
	struct objfile of;
	bool ok;
};

/* What one clique's words point at. */
struct sig_lib {
	size_t file;           /* index in files */
	struct u64map funcs;   /* distinct starts (or raw addresses) */
	size_t nfuncs;
	uint64_t pointers;
	bool in_leader;        /* one of them is a word of the leader */
	const char *example;   /* a function's name, or NULL */
	uint64_t example_start;
};

struct sig_owner {
	uint32_t type;         /* snapshot type id */
	uint32_t capsule;      /* string id of a capsule's name, or 0 */
	uint64_t n;
};

struct sig {
	struct census *c;
	struct sig_file files[SIG_FILES];
	size_t nfiles;
	struct sig_lib *libs;
	size_t nlibs, libs_alloc;
	struct sig_owner *owners;
	size_t nowners, owners_alloc;
	uint64_t total;
	bool leader;           /* the words are the leader's own */
	uint64_t buf[512];
};

static struct sig_file *file_of(struct sig *g, const struct map *m)
{
	size_t i;

	for (i = 0; i < g->nfiles; i++)
		if (g->files[i].m->inode == m->inode &&
		    g->files[i].m->dev_major == m->dev_major &&
		    g->files[i].m->dev_minor == m->dev_minor)
			return &g->files[i];
	if (g->nfiles == SIG_FILES)
		return NULL;
	g->files[g->nfiles].m = m;
	g->files[g->nfiles].ok = !objfile_open(&g->files[g->nfiles].of,
					       g->c->t, m);
	return &g->files[g->nfiles++];
}

static void code_word(struct sig *g, const struct map *m, uint64_t w)
{
	struct sig_file *f = file_of(g, m);
	struct sig_lib *l = NULL;
	const char *name = NULL;
	uint64_t start = w, seen;
	size_t i;

	if (!f)
		return;
	for (i = 0; i < g->nlibs; i++)
		if (g->libs[i].file == (size_t)(f - g->files))
			l = &g->libs[i];
	if (!l) {
		PH_GROW(g->libs, g->libs_alloc, g->nlibs + 1);
		l = &g->libs[g->nlibs++];
		memset(l, 0, sizeof(*l));
		l->file = (size_t)(f - g->files);
	}
	l->pointers++;
	l->in_leader |= g->leader;
	if (f->ok)
		objfile_sym_at(&f->of, w, &name, &start, NULL);
	/* The lowest function that has a name: the words' order is the
	 * leak's (a hash table's, with a random seed), the set is not. */
	if (name && (!l->example || start < l->example_start)) {
		l->example = name;
		l->example_start = start;
	}
	/* A hash, not a scan of the list: a clique can hold up to
	 * SIG_WORDS words, each a code pointer. */
	if (l->nfuncs == SIG_FUNCS || u64map_get(&l->funcs, start, &seen))
		return;
	u64map_put(&l->funcs, start, 1);
	l->nfuncs++;
}

/* PyCapsule's name (Objects/capsule.c: PyObject_HEAD, pointer, name). */
static uint32_t capsule_name(struct sig *g, uint64_t obj)
{
	char buf[65];
	uint64_t p;
	size_t n;

	if (target_read_u64(g->c->t, obj + 24, &p) || !p ||
	    target_read(g->c->t, p, buf, sizeof(buf) - 1))
		return 0;
	buf[sizeof(buf) - 1] = 0;
	for (n = 0; buf[n]; n++)
		if ((unsigned char)buf[n] < 0x20 || (unsigned char)buf[n] > 0x7e)
			return 0;
	return n ? snapshot_cstring(g->c->s, buf) : 0;
}

static void owner_word(struct sig *g, uint32_t id)
{
	const struct snapshot *s = g->c->s;
	uint32_t type = s->objects[id].type, cap = 0;
	size_t i;

	if (!strcmp(s->strings[s->types[type].name], "PyCapsule"))
		cap = capsule_name(g, s->objects[id].addr);
	for (i = 0; i < g->nowners; i++)
		if (g->owners[i].type == type && g->owners[i].capsule == cap) {
			g->owners[i].n++;
			return;
		}
	PH_GROW(g->owners, g->owners_alloc, g->nowners + 1);
	g->owners[g->nowners].type = type;
	g->owners[g->nowners].capsule = cap;
	g->owners[g->nowners++].n = 1;
}

static void one_word(struct sig *g, uint64_t w)
{
	struct census *c = g->c;
	const struct malloc_chunk_rec *ch;
	const struct map *m;
	uint64_t v;

	if (w < 4096)
		return;
	ch = malloc_chunk_of(&c->malloc, w);
	if (ch) {
		const struct snap_chunk *sc =
			&c->s->chunks[ch - c->malloc.chunks];

		if (g->leader && (sc->owner_kind == OWNER_OBJECT ||
				  sc->owner_kind == OWNER_BUFFER ||
				  sc->owner_kind == OWNER_NATIVE))
			owner_word(g, sc->owner);
		return;
	}
	if (census_lookup(c, w, &v)) {
		if (g->leader)
			owner_word(g, (uint32_t)v);
		return;
	}
	m = maps_find(&c->t->maps, w);
	if (m && (m->perms & MAP_X) && m->inode && m->path)
		code_word(g, m, w);
}

static void chunk_words(struct sig *g, const struct malloc_chunk_rec *ch,
			uint64_t *budget)
{
	uint64_t from = ch->addr + 16, to = ch->addr + ch->size;

	while (from < to && *budget) {
		uint64_t n = PH_MIN(PH_MIN(to - from, (uint64_t)sizeof(g->buf)),
				    *budget * 8);
		size_t i;

		if (target_read(g->c->t, from, g->buf, (size_t)n))
			break;
		for (i = 0; i < n / 8; i++)
			one_word(g, g->buf[i]);
		*budget -= n / 8;
		g->total += n / 8;
		from += n;
	}
}

/* "vtable NAME" when the leader's first word is inside a _ZTV symbol. */
static void vtable(struct sig *g, const struct malloc_chunk_rec *ch,
		   struct strbuf *sb)
{
	const struct map *m;
	struct sig_file *f;
	const char *name;
	uint64_t w;

	if (target_read_u64(g->c->t, ch->addr + 16, &w))
		return;
	m = maps_find(&g->c->t->maps, w);
	if (!m || !m->inode || !(f = file_of(g, m)) || !f->ok ||
	    objfile_sym_at(&f->of, w, &name, NULL, NULL) ||
	    strncmp(name, "_ZTV", 4))
		return;
	strbuf_addf(sb, "vtable %s", name);
}

static int lib_cmp(const void *a, const void *b)
{
	const struct sig_lib *x = a, *y = b;

	if (x->nfuncs != y->nfuncs)
		return x->nfuncs > y->nfuncs ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct sig_owner *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

static uint32_t describe(struct sig *g, const struct malloc_chunk_rec *ch)
{
	struct snapshot *s = g->c->s;
	struct strbuf sb = STRBUF_INIT;
	uint32_t id;
	size_t i, shown;

	vtable(g, ch, &sb);
	if (g->nlibs)
		qsort(g->libs, g->nlibs, sizeof(*g->libs), lib_cmp);
	for (i = 0, shown = 0; i < g->nlibs && shown < 2; i++) {
		const struct sig_lib *l = &g->libs[i];
		const char *path = g->files[l->file].m->path;
		const char *base = strrchr(path, '/');

		if (!l->in_leader && (l->nfuncs < 2 ||
				     2 * l->nfuncs < g->libs[0].nfuncs))
			continue;
		shown++;

		/* Not how many: stale words add a few that differ from
		 * one leak to the next (27 to 33 for libxml2's XPath). */
		strbuf_addf(&sb, "%s%s: %s", sb.len ? "; " : "",
			    base ? base + 1 : path,
			    l->nfuncs == 1 ? "a function" : "functions");
		if (l->example)
			strbuf_addf(&sb, " like %s", l->example);
	}
	if (g->nowners)
		qsort(g->owners, g->nowners, sizeof(*g->owners), owner_cmp);
	for (i = 0; i < g->nowners && i < 2; i++) {
		const struct sig_owner *o = &g->owners[i];

		strbuf_addf(&sb, "%smemory of %s", sb.len ? "; " : "",
			    s->strings[s->types[o->type].name]);
		if (o->capsule)
			strbuf_addf(&sb, " '%s'", s->strings[o->capsule]);
	}
	id = sb.len ? snapshot_cstring(s, sb.buf) : 0;
	strbuf_release(&sb);
	return id;
}

/*
 * Each lost leader's signature, from its own words and its clique's
 * (reach and clique as leaks.c left them: the leader of an indirect
 * chunk in clique[]).
 */
void leaks_signatures(struct census *c, const uint8_t *reach,
		      const uint32_t *clique)
{
	struct sig g;
	size_t i, j, nlost = 0, unsigned_ = 0;
	uint32_t *first = NULL, *next = NULL;

	memset(&g, 0, sizeof(g));
	g.c = c;
	for (i = 0; i < c->malloc.nchunks; i++)
		nlost += reach[i] == REACH_LOST;
	if (!nlost)
		goto out;
	/* Each clique's members as a list: first[leader], next[member]. */
	first = xmalloc((c->malloc.nchunks + 1) * sizeof(*first));
	next = xmalloc((c->malloc.nchunks + 1) * sizeof(*next));
	for (i = 0; i < c->malloc.nchunks; i++)
		first[i] = next[i] = UINT32_MAX;
	for (i = c->malloc.nchunks; i-- > 0;)
		if (reach[i] == REACH_INDIRECT) {
			next[i] = first[clique[i]];
			first[clique[i]] = (uint32_t)i;
		}
	for (i = 0; i < c->malloc.nchunks; i++) {
		uint64_t budget = SIG_WORDS;

		if (reach[i] != REACH_LOST)
			continue;
		if (g.total >= SIG_TOTAL) {
			unsigned_++;
			continue;
		}
		g.nlibs = g.nowners = 0;
		g.leader = true;
		chunk_words(&g, &c->malloc.chunks[i], &budget);
		g.leader = false;
		for (j = first[i]; j != UINT32_MAX && budget; j = next[j])
			chunk_words(&g, &c->malloc.chunks[j], &budget);
		c->s->chunks[i].sig = describe(&g, &c->malloc.chunks[i]);
		for (j = 0; j < g.nlibs; j++)
			u64map_release(&g.libs[j].funcs);
	}
out:
	snapshot_stat(c->s, "leaks.unsigned", (int64_t)unsigned_);
	for (i = 0; i < g.nfiles; i++)
		if (g.files[i].ok)
			objfile_release(&g.files[i].of);
	free(g.libs);
	free(g.owners);
	free(first);
	free(next);
}
