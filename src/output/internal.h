/*
 * What the files of output/ share and nothing else sees.
 */
#ifndef PYHEAP_OUTPUT_INTERNAL_H
#define PYHEAP_OUTPUT_INTERNAL_H

#include "../base/base.h"

struct json;
struct memory_breakdown;
struct snapshot;

/* The memory breakdown of show (breakdown.c): as the JSON object
 * "memory", and as text before the table (a snapshot with SNAP_NATIVE). */
void json_breakdown(struct json *j, const struct memory_breakdown *m);
void render_breakdown(struct strbuf *out, const struct snapshot *s);

/* Garbage totals (analysis.h) in a diff (garbage.c): an object, or null
 * when unknown; one text line when either side knows them. */
/* diff --why (output/why.c): a row's why, as JSON. */
struct diff_why;
void json_diff_why(struct json *j, const struct diff_why *dw);

struct garbage_totals;
void json_garbage_totals(struct json *j, const struct garbage_totals *t);
void text_garbage_totals(struct strbuf *out, const struct garbage_totals *a,
			 const struct garbage_totals *b);

#endif
