/*
 * The text table of show, diff and trend (table.h).
 */
#include <stdlib.h>

#include "table.h"

struct table_row *table_add(struct table *t)
{
	struct table_row *row;
	size_t i;

	PH_GROW(t->rows, t->alloc, t->nrows + 1);
	row = &t->rows[t->nrows++];
	for (i = 0; i < TABLE_MAX_COLS; i++) {
		strbuf_init(&row->cell[i]);
		row->sgr[i] = NULL;
	}
	return row;
}

void table_head(struct table *t, const char *const *heads, size_t n,
		size_t nleft)
{
	struct table_row *row;
	size_t i;

	t->ncols = n;
	t->nleft = nleft;
	t->sep = "  ";
	row = table_add(t);
	for (i = 0; i < n; i++)
		strbuf_addstr(&row->cell[i], heads[i]);
}

/* A row of "..." and a note in the key column; takes the note. */
void table_note(struct table *t, struct strbuf *note)
{
	struct table_row *row = table_add(t);
	size_t i;

	for (i = 0; i + 1 + t->nleft < t->ncols; i++)
		strbuf_addstr(&row->cell[i], "...");
	row->cell[t->ncols - 1] = *note;
	strbuf_init(note);
}

void table_render(struct table *t, struct strbuf *out)
{
	size_t width[TABLE_MAX_COLS], r, c;

	for (c = 0; c < t->ncols; c++) {
		width[c] = t->min_width[c];
		for (r = 0; r < t->nrows; r++)
			width[c] = PH_MAX(width[c], t->rows[r].cell[c].len);
	}
	for (r = 0; r < t->nrows; r++) {
		struct table_row *row = &t->rows[r];

		for (c = 0; c < t->ncols; c++) {
			const char *sgr = t->colour ? row->sgr[c] : NULL;
			bool last = c + 1 == t->ncols;
			bool left = !last && c + 1 + t->nleft >= t->ncols;
			int pad = last ? 0 : (int)(width[c] - row->cell[c].len);

			if (c)
				strbuf_addstr(out, last || left ? "  " :
					      t->sep);
			if (!left)
				strbuf_addf(out, "%*s", pad, "");
			if (sgr)
				strbuf_addstr(out, sgr);
			strbuf_add(out, row->cell[c].buf, row->cell[c].len);
			if (sgr)
				strbuf_addstr(out, SGR_RESET);
			if (left)
				strbuf_addf(out, "%*s", pad, "");
		}
		strbuf_addch(out, '\n');
	}
}

void table_release(struct table *t)
{
	size_t r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < TABLE_MAX_COLS; c++)
			strbuf_release(&t->rows[r].cell[c]);
	free(t->rows);
}
