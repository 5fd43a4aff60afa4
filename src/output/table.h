/*
 * output/ internal: the text table show, diff and trend print.
 */
#ifndef PYHEAP_OUTPUT_TABLE_H
#define PYHEAP_OUTPUT_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/base.h"

/*
 * A text table: numeric columns right-aligned to their widest cell (at
 * least min_width), text columns (a site's KIND, TYPE) left-aligned and
 * padded, then the key, left-aligned and not padded.  Cells are measured
 * before colour is added, so escape sequences never shift a column.
 */
#define TABLE_MAX_COLS 10
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_BOLD "\033[1m"
#define SGR_RESET "\033[m"

struct table_row {
	struct strbuf cell[TABLE_MAX_COLS];
	const char *sgr[TABLE_MAX_COLS]; /* NULL: no colour */
};

struct table {
	size_t ncols;          /* the last one is the key */
	size_t min_width[TABLE_MAX_COLS];
	const char *sep;       /* between numeric columns */
	bool colour;
	struct table_row *rows;
	size_t nrows, alloc;
	size_t nleft;          /* the columns before the key that are text */
};

/* A new row of empty cells. */
struct table_row *table_add(struct table *t);
/* Set up t for n columns (the last the key, nleft before it text) with
 * "  " between them, and add the heading row. */
void table_head(struct table *t, const char *const *heads, size_t n,
		size_t nleft);
/* A row of "..." and a note in the key column; takes the note. */
void table_note(struct table *t, struct strbuf *note);
void table_render(struct table *t, struct strbuf *out);
void table_release(struct table *t);

#endif
