#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "snapshot.h"

void snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	snapshot_string(s, "", 0);
}

void snapshot_release(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->string_len);
	if (s->string_index) {
		strmap_release(s->string_index);
		free(s->string_index);
	}
	free(s->types);
	free(s->objects);
	free(s->edge_start);
	free(s->edge_dst);
	free(s->edge_label);
	free(s->roots);
	free(s->threads);
	free(s->frames);
	free(s->stats);
	free(s->chunks);
	free(s->arenas);
	free(s->sites);
	free(s->site_frames);
	snap_summary_release(&s->sum);
	free(s->groups.garbage);
	free(s->groups.lost);
	memset(s, 0, sizeof(*s));
}

uint32_t snapshot_string(struct snapshot *s, const char *str, size_t len)
{
	uint32_t id;

	if (!s->string_index) {
		size_t i;

		/* A snapshot that was read has no index yet: build it. */
		s->string_index = xcalloc(1, sizeof(*s->string_index));
		for (i = 0; i < s->nstrings; i++)
			strmap_put(s->string_index, s->strings[i],
				   s->string_len[i], (uint32_t)i);
	}
	if (strmap_get(s->string_index, str, len, &id))
		return id;
	if (s->nstrings >= UINT32_MAX)
		ph_die("too many strings in snapshot");
	if (s->nstrings + 1 > s->strings_alloc) {
		/* string_len grows with strings, not on every string: a
		 * realloc() to the same size copies under ASan. */
		PH_GROW(s->strings, s->strings_alloc, s->nstrings + 1);
		s->string_len = xrealloc(s->string_len, s->strings_alloc *
					 sizeof(*s->string_len));
	}
	id = (uint32_t)s->nstrings++;
	s->strings[id] = xstrndup(str, len);
	s->string_len[id] = (uint32_t)len;
	strmap_put(s->string_index, s->strings[id], len, id);
	return id;
}

uint32_t snapshot_cstring(struct snapshot *s, const char *str)
{
	return snapshot_string(s, str ? str : "", str ? strlen(str) : 0);
}

void snapshot_stat(struct snapshot *s, const char *name, int64_t value)
{
	uint32_t id = snapshot_cstring(s, name);
	size_t i;

	for (i = 0; i < s->nstats; i++) {
		if (s->stats[i].name == id) {
			s->stats[i].value = value;
			return;
		}
	}
	PH_GROW(s->stats, s->stats_alloc, s->nstats + 1);
	s->stats[s->nstats].name = id;
	s->stats[s->nstats].value = value;
	s->nstats++;
}

int64_t snapshot_get_stat(const struct snapshot *s, const char *name,
			  int64_t dflt)
{
	size_t i;

	for (i = 0; i < s->nstats; i++)
		if (!strcmp(snapshot_str(s, s->stats[i].name), name))
			return s->stats[i].value;
	return dflt;
}
