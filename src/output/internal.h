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

#endif
