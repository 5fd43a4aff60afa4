/*
 * Edge labels for the local variables a frame holds (referents.c): a
 * frame object's slots, and those of the frame a generator, coroutine or
 * async generator embeds.  A running frame's locals are roots and named
 * by python/stacks.c; these are the frames nothing runs: a suspended
 * generator, a traceback's frame, a frame object kept after it returned.
 *
 * A label is a Python expression from the holder to the value --
 * "f_locals['x']" from a frame object, "gi_frame.f_locals['x']" from a
 * generator ("cr_frame" a coroutine, "ag_frame" an async generator) --
 * so a why path can be followed in the target.  Only plain locals get
 * one: a cell or free variable's slot holds the cell, which f_locals
 * would not give (its contents instead), so those stay unlabelled.
 * Names are identifiers the code was compiled with, no user data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "internal.h"

/* co_localspluskinds bits (Include/internal/pycore_code.h, 3.11+). */
#define CO_FAST_LOCAL 0x20
#define CO_FAST_CELL 0x40
#define CO_FAST_FREE 0x80

/* Most slots labelled per code object: a frame has co_nlocalsplus of
 * them, far fewer in real code; past it the rest stay unlabelled. */
#define MAX_LABELLED 4096

static const char *const holder_prefix[] = {
	[FRAME_HOLDER_FRAME] = "f_locals",
	[FRAME_HOLDER_GEN] = "gi_frame.f_locals",
	[FRAME_HOLDER_CORO] = "cr_frame.f_locals",
	[FRAME_HOLDER_ASYNCGEN] = "ag_frame.f_locals",
};

/* The holder a generator-like object is, from its type's name (once per
 * type: a server may hold thousands of suspended coroutines). */
enum frame_holder frame_holder_of(struct census *c, uint32_t obj)
{
	const struct tinfo *ti = &c->tinfos[c->objs[obj].tinfo];
	struct strbuf name = STRBUF_INIT, module = STRBUF_INIT;
	enum frame_holder h = FRAME_HOLDER_NONE;
	size_t i;

	if (ti->addr == c->known.type[K_GEN])
		return FRAME_HOLDER_GEN;
	for (i = 0; i < c->nholders; i++)
		if (c->holders[i].type == ti->addr)
			return (enum frame_holder)c->holders[i].holder;
	tinfo_name(c, ti, &name, &module);
	if (!strcmp(name.buf, "generator"))
		h = FRAME_HOLDER_GEN;
	else if (!strcmp(name.buf, "coroutine"))
		h = FRAME_HOLDER_CORO;
	else if (!strcmp(name.buf, "async_generator"))
		h = FRAME_HOLDER_ASYNCGEN;
	strbuf_release(&name);
	strbuf_release(&module);
	if (c->nholders < PH_ARRAY_SIZE(c->holders)) {
		c->holders[c->nholders].type = ti->addr;
		c->holders[c->nholders++].holder = h;
	}
	return h;
}

/* True if addr is an object of kind k (found or validated now). */
static bool is_kind(struct census *c, uint64_t addr, enum obj_kind k)
{
	int64_t i = addr ? census_ref(c, addr) : -1;

	return i >= 0 && c->tinfos[c->objs[i].tinfo].kind == k;
}

/* Build the labels of code object co for holder h into out[0..n). */
static uint32_t build_labels(struct census *c, uint64_t co,
			     enum frame_holder h, uint32_t **out)
{
	const struct py_layout *L = c->L;
	struct strbuf name = STRBUF_INIT, text = STRBUF_INIT;
	uint8_t kinds[MAX_LABELLED];
	uint64_t names, n, i, *items;
	uint32_t *lab;

	*out = NULL;
	if (L->minor >= 11) {
		uint64_t kb;

		if (!py_has(L, PY_F_CO_LOCALSPLUSNAMES) ||
		    !py_has(L, PY_F_CO_LOCALSPLUSKINDS))
			return 0;
		names = rd(c, co, PY_F_CO_LOCALSPLUSNAMES);
		kb = rd(c, co, PY_F_CO_LOCALSPLUSKINDS);
		if (!is_kind(c, names, K_TUPLE) || !is_kind(c, kb, K_BYTES))
			return 0;
		n = PH_MIN(tuple_len(c, names), (uint64_t)MAX_LABELLED);
		/* The kinds are a bytes object as long as the names. */
		if (!n || (uint64_t)rd_signed(c, kb, PY_F_OB_SIZE) < n ||
		    target_read(c->t, kb + (uint64_t)L->off[PY_F_BYTES_SVAL],
				kinds, (size_t)n))
			return 0;
	} else {
		names = rd(c, co, PY_F_CO_VARNAMES);
		if (!is_kind(c, names, K_TUPLE))
			return 0;
		n = PH_MIN(PH_MIN(tuple_len(c, names),
				  rd(c, co, PY_F_CO_NLOCALS) & 0xffffffffu),
			   (uint64_t)MAX_LABELLED);
		/* <= 3.10: the first co_nlocals slots are the plain locals
		 * (an argument that is also a cell moves into its cell and
		 * leaves NULL here, ceval.c _PyEval_MakeFrameVector). */
		memset(kinds, CO_FAST_LOCAL, sizeof(kinds));
	}
	if (!n)
		return 0;
	/* The names' pointers in one read, each name's text in its own. */
	items = xmalloc(n * sizeof(*items));
	if (target_read(c->t, names + (uint64_t)L->off[PY_F_TUPLE_ITEM],
			items, (size_t)n * 8)) {
		free(items);
		return 0;
	}
	lab = xcalloc(n, sizeof(*lab));
	for (i = 0; i < n; i++) {
		uint32_t id;

		if ((kinds[i] & (CO_FAST_LOCAL | CO_FAST_CELL | CO_FAST_FREE)) !=
		    CO_FAST_LOCAL)
			continue;
		strbuf_reset(&name);
		if (py_read_str(c->p, items[i], &name, 64) ||
		    !identifier_like(name.buf, name.len))
			continue;
		strbuf_reset(&text);
		strbuf_addf(&text, "%s['%s']", holder_prefix[h], name.buf);
		id = snapshot_string(c->s, text.buf, text.len);
		lab[i] = id <= EDGE_LABEL_MAX ? id : 0;
	}
	free(items);
	strbuf_release(&name);
	strbuf_release(&text);
	*out = lab;
	return (uint32_t)n;
}

const uint32_t *frame_slot_labels(struct census *c, uint64_t co,
				  enum frame_holder h, uint32_t *n)
{
	/* Code objects live below 2^47: the holder goes in the top bits. */
	uint64_t key = co | (uint64_t)h << 56, v;

	*n = 0;
	if (c->labels == LABELS_NONE || h == FRAME_HOLDER_NONE || !co ||
	    co >> 56)
		return NULL;
	if (!u64map_get(&c->frame_labels, key, &v)) {
		struct frame_slot_labels *f;

		PH_GROW(c->flabels, c->flabels_alloc, c->nflabels + 1);
		f = &c->flabels[c->nflabels];
		f->n = 0;
		f->label = NULL;
		if (is_kind(c, co, K_CODE))
			f->n = build_labels(c, co, h, &f->label);
		v = c->nflabels++;
		u64map_put(&c->frame_labels, key, v);
	}
	*n = c->flabels[v].n;
	return c->flabels[v].label;
}

void frame_labels_release(struct census *c)
{
	size_t i;

	for (i = 0; i < c->nflabels; i++)
		free(c->flabels[i].label);
	free(c->flabels);
	u64map_release(&c->frame_labels);
	c->flabels = NULL;
	c->nflabels = c->flabels_alloc = 0;
}
