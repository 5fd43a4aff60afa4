/*
 * analysis/ — pure functions from snapshots to tables.  Nothing here reads
 * a process or a file, or prints: cmd/ loads snapshots, output/ renders.
 *
 * A report is a list of rows, one per group key, with the count of objects
 * and the sum of their sizes (sys.getsizeof).  Keys are contracts
 * (DESIGN.md "Group keys"): --by type keys are type names ("dict",
 * "__main__.Request"); --by module keys are the module defining the
 * object's type ("builtins", "__main__").
 *
 * Rows are sorted by bytes descending, then count descending, then key, so
 * output is deterministic.  Keys point into the snapshot's string table:
 * a report must not outlive its snapshot.
 */
#ifndef PYHEAP_ANALYSIS_H
#define PYHEAP_ANALYSIS_H

#include <stdint.h>

#include "../snapshot/snapshot.h"

enum group_by { BY_TYPE, BY_MODULE };

struct report_row {
	const char *key;
	uint64_t count, bytes;
};

struct report {
	enum group_by by;
	struct report_row *rows;
	size_t nrows, rows_alloc;
	uint64_t total_count, total_bytes;
};

const char *group_by_name(enum group_by by);
/* 0, or -PH_E_USAGE for an unknown name. */
int group_by_parse(const char *name, enum group_by *by);

void report_group(const struct snapshot *s, enum group_by by,
		  struct report *r);
void report_release(struct report *r);

#endif
