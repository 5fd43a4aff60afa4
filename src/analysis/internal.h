/*
 * What the files of analysis/ share and nothing else sees.
 */
#ifndef PYHEAP_ANALYSIS_INTERNAL_H
#define PYHEAP_ANALYSIS_INTERNAL_H

#include "analysis.h"

/*
 * --by site and site,type (sites.c): fill r's rows and totals from s's
 * objects, keyed by r->depth frames (analysis.h "Sites").  r is set up
 * (by, depth) and empty; the caller sorts.
 */
void group_sites(const struct snapshot *s, struct report *r);

/* Count object o, or a malloc chunk of `size` bytes, in row and in r's
 * totals (analysis.h "Totals"). */
void report_count_object(struct report *r, struct report_row *row,
			 const struct snap_object *o);
void report_count_chunks(struct report *r, struct report_row *row,
			 uint64_t n, uint64_t size);

#endif
