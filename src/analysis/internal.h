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

#endif
