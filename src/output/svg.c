/*
 * The charts of pyheap report, drawn as inline SVG (html.c has the page):
 * the memory breakdown as one stacked bar with its legend, and icicles of
 * an analysis.h tree.  Colours are the Okabe-Ito palette, told apart by
 * people with any common colour blindness; every coloured part also has
 * its name and number in text (legend rows, cell labels, tooltips).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"

static const char *const PALETTE[] = {
	"#0072B2", "#56B4E9", "#009E73", "#F0E442", "#E69F00", "#D55E00",
	"#CC79A7", "#999999",
};
/* The same, mixed half with white: black text stays readable on them. */
static const char *const PALE[] = {
	"#7FB8D8", "#AAD9F4", "#7FCEB9", "#F7F1A0", "#F2CF7F", "#EAAE7F",
	"#E5BCD3", "#CCCCCC",
};

/* ---- the memory bar ---------------------------------------------------- */

struct part {
	const char *key;   /* the field of show --format json's "memory" */
	const char *name;
	const char *colour;
	uint64_t bytes;
};

void svg_memory_bar(struct strbuf *out, const struct memory_breakdown *m,
		    uint64_t lost)
{
	struct part p[12];
	size_t n = 0, i;
	uint64_t sum = 0, scale;
	double x = 0;
	uint64_t unowned_lost = lost < m->native_unowned ? lost :
				m->native_unowned;

#define PART(k, nm, c, b) \
	(p[n].key = (k), p[n].name = (nm), p[n].colour = (c), \
	 p[n++].bytes = (b))
	PART("pymalloc_used", m->mimalloc ? "mimalloc, used blocks" :
	     "pymalloc, used blocks", PALETTE[0], m->pymalloc_used);
	PART("pymalloc_free", m->mimalloc ? "mimalloc, free in pages" :
	     "pymalloc, free blocks", PALETTE[1],
	     m->pymalloc_arenas > m->pymalloc_used ?
	     m->pymalloc_arenas - m->pymalloc_used : 0);
	PART("objects_in_malloc", "Python objects in malloc", PALETTE[2],
	     m->objects_in_malloc);
	PART("buffers", "buffers owned by objects", PALETTE[3], m->buffers);
	PART("native_owned", "native, owned by objects", PALETTE[4],
	     m->native_owned);
	PART("native_lost", "native, lost (pyheap leaks)", PALETTE[5],
	     unowned_lost);
	PART("native_unowned_other", "native, unowned, not lost", PALETTE[6],
	     m->native_unowned - unowned_lost);
	PART("allocator", "allocator metadata", PALETTE[7], m->allocator);
	PART("malloc_free", "malloc, free", "#BBBBBB", m->malloc_free);
	PART("malloc_top", "malloc, top pad", "#DDDDDD", m->top);
	PART("malloc_overhead", "malloc, chunk headers", "#EEEEEE",
	     m->malloc_overhead);
	if (m->rss && m->unaccounted >= 0)
		PART("unaccounted", "unaccounted (code, stacks, other "
		     "mappings)", "#FFFFFF", (uint64_t)m->unaccounted);
#undef PART
	for (i = 0; i < n; i++)
		sum += p[i].bytes;
	scale = m->rss > sum ? m->rss : sum;
	if (!scale)
		scale = 1;
	strbuf_addstr(out, "<svg id=\"memory-bar\" viewBox=\"0 0 1000 36\" "
		      "role=\"img\" aria-label=\"memory breakdown\">");
	for (i = 0; i < n; i++) {
		double w = 1000.0 * (double)p[i].bytes / (double)scale;
		struct strbuf b = STRBUF_INIT;

		if (!p[i].bytes)
			continue;
		fmt_bytes(&b, p[i].bytes);
		strbuf_addf(out, "<rect x=\"%.2f\" y=\"2\" width=\"%.2f\" "
			    "height=\"32\" fill=\"%s\" stroke=\"#0004\" "
			    "stroke-width=\"0.5\"><title>%s: %s</title></rect>",
			    x, w, p[i].colour, p[i].name, b.buf);
		x += w;
		strbuf_release(&b);
	}
	strbuf_addstr(out, "</svg>\n<div class=\"wrap\"><table "
		      "id=\"memory-legend\"><thead><tr><th>part</th>"
		      "<th class=\"num\">bytes</th><th class=\"num\">of "
		      "RSS</th></tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		struct strbuf b = STRBUF_INIT;

		fmt_bytes(&b, p[i].bytes);
		strbuf_addf(out, "<tr data-key=\"%s\" data-bytes=\"%llu\"><td>"
			    "<span class=\"sw\" style=\"background:%s\">"
			    "</span>%s</td><td class=\"num\">%s</td>",
			    p[i].key, (unsigned long long)p[i].bytes,
			    p[i].colour, p[i].name, b.buf);
		if (m->rss)
			strbuf_addf(out, "<td class=\"num\">%.1f%%</td>",
				    100.0 * (double)p[i].bytes /
				    (double)m->rss);
		else
			strbuf_addstr(out, "<td class=\"num\">-</td>");
		strbuf_addstr(out, "</tr>\n");
		strbuf_release(&b);
	}
	if (m->rss && m->unaccounted < 0)
		strbuf_addf(out, "<tr data-key=\"unaccounted\" data-bytes=\"%lld"
			    "\"><td>unaccounted: the parts exceed RSS (pages "
			    "not resident)</td><td class=\"num\">%lld B</td>"
			    "<td></td></tr>\n", (long long)m->unaccounted,
			    (long long)m->unaccounted);
	if (m->rss) {
		struct strbuf b = STRBUF_INIT;

		fmt_bytes(&b, m->rss);
		strbuf_addf(out, "<tr data-key=\"rss\" data-bytes=\"%llu\"><th>"
			    "RSS</th><th class=\"num\">%s</th><th></th></tr>\n",
			    (unsigned long long)m->rss, b.buf);
		strbuf_release(&b);
	}
	strbuf_addstr(out, "</tbody></table></div>\n");
}

/* ---- icicles ----------------------------------------------------------- */

#define ICICLE_W 1200.0
#define ROW_H 22
/* Cells under this share of the whole are left out (and said so), at
 * most MAX_CELLS are drawn, and a name is cut at CELL_NAME_MAX bytes: an
 * icicle stays under about 800 KB whatever the heap (issue 18: a page of
 * at most 2 MB). */
#define MIN_SHARE 2000
#define MAX_CELLS 1000
#define CELL_NAME_MAX 256

struct icicle {
	struct strbuf *out;
	const struct tree *t;
	uint64_t total;
	size_t cells, left_out;
	uint32_t rows;
	bool change;
};

/* A diverging scale, blue for less and vermillion for more (both
 * Okabe-Ito hues, lighter for smaller changes), grey for about the
 * same: by the change's share of the larger side. */
static const char *change_fill(const struct tree_node *n)
{
	uint64_t a = n->bytes[0], b = n->bytes[1];
	double r;

	if (!a)
		return b ? "#D55E00" : "#E8E8E8";
	r = ((double)b - (double)a) / (double)(a > b ? a : b);
	if (r > 0.5)
		return "#E3855A";
	if (r > 0.1)
		return "#EEB394";
	if (r > 0.02)
		return "#F6DBCC";
	if (r < -0.5)
		return "#4C9BCF";
	if (r < -0.1)
		return "#8FC0E0";
	if (r < -0.02)
		return "#CFE3F1";
	return "#E8E8E8";
}

/* name, cut at CELL_NAME_MAX bytes ("..." marks the cut). */
static void cell_name(struct strbuf *out, const char *name)
{
	char cut[CELL_NAME_MAX + 4];

	if (strlen(name) <= CELL_NAME_MAX) {
		html_text(out, name);
		return;
	}
	memcpy(cut, name, CELL_NAME_MAX);
	memcpy(cut + CELL_NAME_MAX, "...", 4);
	html_text(out, cut);
}

static void cell(struct icicle *ic, uint32_t id, double x0, double x1,
		 unsigned colour)
{
	const struct tree_node *n = &ic->t->nodes[id];
	struct strbuf b = STRBUF_INIT;
	double w = (x1 - x0) * ICICLE_W;
	const char *fill = ic->change ? change_fill(n) :
			   n->depth ? PALE[colour % 8] : "#E8E8E8";

	fmt_bytes(&b, n->bytes[1]);
	strbuf_addf(ic->out, "<g class=\"n\" data-id=\"%u\" data-d=\"%u\" "
		    "data-x0=\"%.6f\" data-x1=\"%.6f\" data-count=\"%llu\" "
		    "data-bytes=\"%llu\"", id, n->depth, x0, x1,
		    (unsigned long long)n->count[1],
		    (unsigned long long)n->bytes[1]);
	if (ic->change)
		strbuf_addf(ic->out, " data-count-a=\"%llu\" "
			    "data-bytes-a=\"%llu\"",
			    (unsigned long long)n->count[0],
			    (unsigned long long)n->bytes[0]);
	strbuf_addstr(ic->out, "><title>");
	cell_name(ic->out, n->name);
	strbuf_addf(ic->out, ": %s, %.1f%%, ", b.buf,
		    100.0 * (double)n->bytes[1] / (double)ic->total);
	fmt_count(ic->out, n->count[1]);
	strbuf_addstr(ic->out, " objects");
	if (ic->change) {
		int64_t d = (int64_t)(n->bytes[1] - n->bytes[0]);

		strbuf_addstr(ic->out, "; ");
		fmt_signed_bytes(ic->out, d);
		strbuf_addstr(ic->out, " since A");
	}
	strbuf_addf(ic->out, "</title><svg x=\"%.2f\" y=\"%u\" "
		    "width=\"%.2f\" height=\"%d\"><rect width=\"100%%\" "
		    "height=\"100%%\" fill=\"%s\"/><text x=\"4\" y=\"15\">",
		    x0 * ICICLE_W, n->depth * ROW_H, w > 1 ? w - 1 : 0,
		    ROW_H - 1, fill);
	/* A frame's file by its last component: the whole path is in the
	 * tooltip, and a cell is seldom wide enough for it. */
	if (ic->t->paths && n->depth && strrchr(n->name, '/'))
		cell_name(ic->out, strrchr(n->name, '/') + 1);
	else
		cell_name(ic->out, n->name);
	strbuf_addf(ic->out, " (%s)</text></svg></g>\n", b.buf);
	strbuf_release(&b);
	ic->cells++;
	if (n->depth + 1 > ic->rows)
		ic->rows = n->depth + 1;
}

static void cells(struct icicle *ic, uint32_t id, double x0,
		  unsigned colour)
{
	const struct tree_node *n = &ic->t->nodes[id];
	double x = x0;
	uint32_t k;

	for (k = 0; k < n->nchildren; k++) {
		uint32_t c = ic->t->kids[n->first_child + k];
		const struct tree_node *ch = &ic->t->nodes[c];
		double w = (double)ch->bytes[1] / (double)ic->total;

		if (ch->bytes[1] * MIN_SHARE < ic->total ||
		    ic->cells >= MAX_CELLS) {
			ic->left_out++;
			continue;
		}
		cell(ic, c, x, x + w, n->depth ? colour : k);
		cells(ic, c, x, n->depth ? colour : k);
		x += w;
	}
}

void svg_icicle(struct strbuf *out, const char *id, const struct tree *t,
		bool change)
{
	struct icicle ic = { out, t, t->nodes[0].bytes[1], 0, 0, 1, change };
	struct strbuf body = STRBUF_INIT;

	if (!ic.total) {
		strbuf_addstr(out, "<p class=\"note\">Nothing to draw.</p>\n");
		return;
	}
	ic.out = &body;
	cell(&ic, 0, 0, 1, 0);
	cells(&ic, 0, 0, 0);
	strbuf_addf(out, "<svg class=\"icicle\" id=\"%s\" data-w=\"%.0f\" "
		    "viewBox=\"0 0 %.0f %u\" role=\"img\">\n%s</svg>\n", id,
		    ICICLE_W, ICICLE_W, ic.rows * ROW_H, body.buf);
	if (ic.left_out)
		strbuf_addf(out, "<p class=\"note\">%zu cells under %.2f%% of "
			    "the whole are left out.</p>\n", ic.left_out,
			    100.0 / MIN_SHARE);
	strbuf_release(&body);
}

/* ---- growth bars ------------------------------------------------------- */

#define BAR_H 20
#define LABEL_W 520.0
#define BARS_W 1200.0

void svg_growth_bars(struct strbuf *out, const char *id,
		     const struct diff *d, size_t n)
{
	size_t *pick = xmalloc((d->nrows + 1) * sizeof(*pick));
	size_t k = 0, i, lo = 0, hi = d->nrows;
	uint64_t most = 1;
	double zero = LABEL_W + (BARS_W - LABEL_W) / 2;
	double half = (BARS_W - LABEL_W) / 2 - 90;

	/* The rows are sorted by bytes delta, growth first: take from both
	 * ends, the larger change each time. */
	while (k < n && lo < hi) {
		int64_t up = diff_bytes_delta(&d->rows[lo]);
		int64_t down = diff_bytes_delta(&d->rows[hi - 1]);

		if (up <= 0 && down >= 0)
			break;
		if (up > 0 && (down >= 0 || (uint64_t)up >= (uint64_t)-down))
			pick[k++] = lo++;
		else
			pick[k++] = --hi;
	}
	for (i = 0; i < k; i++) {
		int64_t v = diff_bytes_delta(&d->rows[pick[i]]);
		uint64_t m = v < 0 ? (uint64_t)-v : (uint64_t)v;

		if (m > most)
			most = m;
	}
	if (!k) {
		strbuf_addstr(out, "<p class=\"note\">Nothing changed.</p>\n");
		free(pick);
		return;
	}
	strbuf_addf(out, "<svg class=\"bars\" id=\"%s\" viewBox=\"0 0 %.0f "
		    "%zu\" role=\"img\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" "
		    "y2=\"%zu\" stroke=\"#888\"/>\n", id, BARS_W,
		    k * BAR_H + 4, zero, zero, k * BAR_H + 4);
	for (i = 0; i < k; i++) {
		const struct diff_row *r = &d->rows[pick[i]];
		int64_t v = diff_bytes_delta(r);
		double w = half * (double)(v < 0 ? (uint64_t)-v : (uint64_t)v) /
			   (double)most;
		double y = (double)(i * BAR_H) + 2;
		const char *mark = !r->count_a ? " [new]" :
				   !r->count_b ? " [gone]" : "";
		struct strbuf b = STRBUF_INIT;

		fmt_signed_bytes(&b, v);
		strbuf_addf(out, "<g class=\"bar\" data-delta=\"%lld\"><title>",
			    (long long)v);
		html_text(out, r->key);
		strbuf_addf(out, "%s: %s</title><svg x=\"0\" y=\"%.0f\" "
			    "width=\"%.0f\" height=\"%d\"><text x=\"%.0f\" "
			    "y=\"14\" text-anchor=\"end\">", mark, b.buf, y,
			    LABEL_W - 8, BAR_H, LABEL_W - 8);
		html_text(out, r->key);
		strbuf_addf(out, "%s</text></svg><rect x=\"%.2f\" y=\"%.0f\" "
			    "width=\"%.2f\" height=\"%d\" fill=\"%s\"/>"
			    "<text x=\"%.2f\" y=\"%.0f\"%s>%s</text></g>\n",
			    mark, v < 0 ? zero - w : zero, y, w, BAR_H - 4,
			    v < 0 ? "#0072B2" : "#D55E00",
			    v < 0 ? zero - w - 4 : zero + w + 4, y + 12,
			    v < 0 ? " text-anchor=\"end\"" : "", b.buf);
		strbuf_release(&b);
	}
	strbuf_addstr(out, "</svg>\n");
	free(pick);
}
