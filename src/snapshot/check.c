/*
 * The format as data (format.h's column and property tables) and
 * snapshot_check(): the model's invariants, for files read and snapshots
 * about to be written.  read.c decodes files.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

/* ---- the format as data (format.h) ------------------------------------- */

#define COL(id, enc, st, field)                                        \
	{ id, #field, enc, sizeof(((st *)0)->field), offsetof(st, field),   \
	  false }
/* A column a later minor added: files before it lack it. */
#define COL_OPT(id, enc, st, field)                                    \
	{ id, #field, enc, sizeof(((st *)0)->field), offsetof(st, field),   \
	  true }

static const struct snap_column type_cols[] = {
	COL(SNAP_TYPE_ADDR, SNAP_ENC_U, struct snap_type, addr),
	COL(SNAP_TYPE_NAME, SNAP_ENC_U, struct snap_type, name),
	COL(SNAP_TYPE_MODULE, SNAP_ENC_U, struct snap_type, module),
	COL(SNAP_TYPE_FLAGS, SNAP_ENC_U, struct snap_type, flags),
	COL(SNAP_TYPE_OBJECT, SNAP_ENC_U, struct snap_type, object),
	COL(SNAP_TYPE_BASICSIZE, SNAP_ENC_S, struct snap_type, basicsize),
	COL(SNAP_TYPE_ITEMSIZE, SNAP_ENC_S, struct snap_type, itemsize),
};

static const struct snap_column object_cols[] = {
	COL(SNAP_OBJ_ADDR, SNAP_ENC_D, struct snap_object, addr),
	COL(SNAP_OBJ_SIZE, SNAP_ENC_U, struct snap_object, size),
	COL(SNAP_OBJ_BUFFERS, SNAP_ENC_U, struct snap_object, buffers),
	COL(SNAP_OBJ_REFCNT, SNAP_ENC_S, struct snap_object, refcnt),
	COL(SNAP_OBJ_TYPE, SNAP_ENC_U, struct snap_object, type),
	COL(SNAP_OBJ_FLAGS, SNAP_ENC_U, struct snap_object, flags),
	COL(SNAP_OBJ_SITE, SNAP_ENC_U, struct snap_object, site),
	COL_OPT(SNAP_OBJ_UNEXPLAINED, SNAP_ENC_S, struct snap_object,
		unexplained),
	COL_OPT(SNAP_OBJ_GC_REFS, SNAP_ENC_S, struct snap_object, gc_refs),
};

static const struct snap_column root_cols[] = {
	COL(SNAP_ROOT_KIND, SNAP_ENC_U, struct snap_root, kind),
	COL(SNAP_ROOT_OBJECT, SNAP_ENC_U, struct snap_root, object),
	COL(SNAP_ROOT_NAME, SNAP_ENC_U, struct snap_root, name),
};

static const struct snap_column thread_cols[] = {
	COL(SNAP_THREAD_TID, SNAP_ENC_S, struct snap_thread, tid),
	COL(SNAP_THREAD_FLAGS, SNAP_ENC_U, struct snap_thread, flags),
	COL(SNAP_THREAD_FIRST_FRAME, SNAP_ENC_U, struct snap_thread,
	    first_frame),
	COL(SNAP_THREAD_NFRAMES, SNAP_ENC_U, struct snap_thread, nframes),
};

static const struct snap_column frame_cols[] = {
	COL(SNAP_FRAME_FUNCTION, SNAP_ENC_U, struct snap_frame, function),
	COL(SNAP_FRAME_FILE, SNAP_ENC_U, struct snap_frame, file),
	COL(SNAP_FRAME_LINE, SNAP_ENC_S, struct snap_frame, line),
};

static const struct snap_column stat_cols[] = {
	COL(SNAP_STAT_NAME, SNAP_ENC_U, struct snap_stat, name),
	COL(SNAP_STAT_VALUE, SNAP_ENC_S, struct snap_stat, value),
};

static const struct snap_column chunk_cols[] = {
	COL(SNAP_CHUNK_ADDR, SNAP_ENC_D, struct snap_chunk, addr),
	COL(SNAP_CHUNK_SIZE, SNAP_ENC_U, struct snap_chunk, size),
	COL(SNAP_CHUNK_OWNER, SNAP_ENC_U, struct snap_chunk, owner),
	COL(SNAP_CHUNK_STATE, SNAP_ENC_U, struct snap_chunk, state),
	COL(SNAP_CHUNK_OWNER_KIND, SNAP_ENC_U, struct snap_chunk, owner_kind),
	COL(SNAP_CHUNK_ARENA, SNAP_ENC_U, struct snap_chunk, arena),
	COL_OPT(SNAP_CHUNK_REACH, SNAP_ENC_U, struct snap_chunk, reach),
	COL_OPT(SNAP_CHUNK_LEADER, SNAP_ENC_U, struct snap_chunk, leader),
	COL_OPT(SNAP_CHUNK_SIG, SNAP_ENC_U, struct snap_chunk, sig),
	COL_OPT(SNAP_CHUNK_HOLDER, SNAP_ENC_U, struct snap_chunk, holder),
	COL_OPT(SNAP_CHUNK_ROOT, SNAP_ENC_U, struct snap_chunk, root),
};

static const struct snap_column arena_cols[] = {
	COL(SNAP_ARENA_ADDR, SNAP_ENC_U, struct snap_arena, addr),
	COL(SNAP_ARENA_SYSTEM_MEM, SNAP_ENC_U, struct snap_arena, system_mem),
	COL(SNAP_ARENA_TOP, SNAP_ENC_U, struct snap_arena, top_bytes),
	COL(SNAP_ARENA_FLAGS, SNAP_ENC_U, struct snap_arena, flags),
};

static const struct snap_column site_cols[] = {
	COL(SNAP_SITE_KIND, SNAP_ENC_U, struct snap_site, kind),
	COL(SNAP_SITE_FIRST_FRAME, SNAP_ENC_U, struct snap_site, first_frame),
	COL(SNAP_SITE_NFRAMES, SNAP_ENC_U, struct snap_site, nframes),
	COL(SNAP_SITE_TOTAL_FRAMES, SNAP_ENC_U, struct snap_site,
	    total_frames),
	COL(SNAP_SITE_TRACES, SNAP_ENC_U, struct snap_site, traces),
	COL(SNAP_SITE_TRACED_BYTES, SNAP_ENC_U, struct snap_site,
	    traced_bytes),
	COL(SNAP_SITE_UNOWNED_TRACES, SNAP_ENC_U, struct snap_site,
	    unowned_traces),
	COL(SNAP_SITE_UNOWNED_BYTES, SNAP_ENC_U, struct snap_site,
	    unowned_bytes),
};

static const struct snap_column site_frame_cols[] = {
	COL(SNAP_SITE_FRAME_FILE, SNAP_ENC_U, struct snap_site_frame, file),
	COL(SNAP_SITE_FRAME_LINE, SNAP_ENC_U, struct snap_site_frame, line),
};

static const struct snap_column cell_cols[] = {
	COL(SNAP_CELL_TYPE, SNAP_ENC_U, struct snap_cell, type),
	COL(SNAP_CELL_SITE, SNAP_ENC_U, struct snap_cell, site),
	COL(SNAP_CELL_COUNT, SNAP_ENC_U, struct snap_cell, count),
	COL(SNAP_CELL_BYTES, SNAP_ENC_U, struct snap_cell, bytes),
	COL(SNAP_CELL_GC_TRACKED, SNAP_ENC_U, struct snap_cell, gc_tracked),
	COL(SNAP_CELL_GARBAGE_BYTES, SNAP_ENC_U, struct snap_cell,
	    garbage_bytes),
};

static const struct snap_column chunk_cell_cols[] = {
	COL(SNAP_CCELL_STATE, SNAP_ENC_U, struct snap_chunk_cell, state),
	COL(SNAP_CCELL_OWNER_KIND, SNAP_ENC_U, struct snap_chunk_cell,
	    owner_kind),
	COL(SNAP_CCELL_OWNER_TYPE, SNAP_ENC_U, struct snap_chunk_cell,
	    owner_type),
	COL(SNAP_CCELL_FLAGS, SNAP_ENC_U, struct snap_chunk_cell, flags),
	COL(SNAP_CCELL_SIZE, SNAP_ENC_U, struct snap_chunk_cell, size),
	COL(SNAP_CCELL_COUNT, SNAP_ENC_U, struct snap_chunk_cell, count),
	COL(SNAP_CCELL_BYTES, SNAP_ENC_U, struct snap_chunk_cell, bytes),
};

static const struct snap_column garbage_group_cols[] = {
	COL(SNAP_GGROUP_PART, SNAP_ENC_U, struct snap_garbage_group, part),
	COL(SNAP_GGROUP_SHAPE, SNAP_ENC_U, struct snap_garbage_group, shape),
	COL(SNAP_GGROUP_CYCLES, SNAP_ENC_U, struct snap_garbage_group,
	    cycles),
	COL(SNAP_GGROUP_OBJECTS, SNAP_ENC_U, struct snap_garbage_group,
	    objects),
	COL(SNAP_GGROUP_BYTES, SNAP_ENC_U, struct snap_garbage_group, bytes),
};

static const struct snap_column lost_group_cols[] = {
	COL(SNAP_LGROUP_REACH, SNAP_ENC_U, struct snap_lost_group, reach),
	COL(SNAP_LGROUP_SIGNATURE, SNAP_ENC_U, struct snap_lost_group,
	    signature),
	COL(SNAP_LGROUP_SIZE, SNAP_ENC_U, struct snap_lost_group, size),
	COL(SNAP_LGROUP_CHUNKS, SNAP_ENC_U, struct snap_lost_group, chunks),
	COL(SNAP_LGROUP_BYTES, SNAP_ENC_U, struct snap_lost_group, bytes),
	COL(SNAP_LGROUP_INDIRECT_CHUNKS, SNAP_ENC_U, struct snap_lost_group,
	    indirect_chunks),
	COL(SNAP_LGROUP_INDIRECT_BYTES, SNAP_ENC_U, struct snap_lost_group,
	    indirect_bytes),
};

#define TABLE(what, st, cols) { what, sizeof(st), cols, PH_ARRAY_SIZE(cols) }

const struct snap_table snap_types_table =
	TABLE("type", struct snap_type, type_cols);
const struct snap_table snap_objects_table =
	TABLE("object", struct snap_object, object_cols);
const struct snap_table snap_roots_table =
	TABLE("root", struct snap_root, root_cols);
const struct snap_table snap_threads_table =
	TABLE("thread", struct snap_thread, thread_cols);
const struct snap_table snap_frames_table =
	TABLE("frame", struct snap_frame, frame_cols);
const struct snap_table snap_stats_table =
	TABLE("stat", struct snap_stat, stat_cols);
const struct snap_table snap_chunks_table =
	TABLE("chunk", struct snap_chunk, chunk_cols);
const struct snap_table snap_arenas_table =
	TABLE("arena", struct snap_arena, arena_cols);
const struct snap_table snap_sites_table =
	TABLE("site", struct snap_site, site_cols);
const struct snap_table snap_site_frames_table =
	TABLE("site frame", struct snap_site_frame, site_frame_cols);
const struct snap_table snap_cells_table =
	TABLE("cell", struct snap_cell, cell_cols);
const struct snap_table snap_chunk_cells_table =
	TABLE("chunk cell", struct snap_chunk_cell, chunk_cell_cols);
const struct snap_table snap_garbage_groups_table =
	TABLE("garbage group", struct snap_garbage_group, garbage_group_cols);
const struct snap_table snap_lost_groups_table =
	TABLE("lost group", struct snap_lost_group, lost_group_cols);

#define PROP(key, type, st, field)                                     \
	{ key, type, sizeof(((st *)0)->field), offsetof(st, field) }

const struct snap_prop snap_meta_props[] = {
	PROP("pid", SNAP_VAL_INT, struct snap_meta, pid),
	PROP("exe", SNAP_VAL_STRING, struct snap_meta, exe),
	PROP("cmdline", SNAP_VAL_STRING, struct snap_meta, cmdline),
	PROP("host", SNAP_VAL_STRING, struct snap_meta, host),
	PROP("python", SNAP_VAL_STRING, struct snap_meta, python),
	PROP("python_elf", SNAP_VAL_STRING, struct snap_meta, python_elf),
	PROP("offsets", SNAP_VAL_STRING, struct snap_meta, offsets),
	PROP("pyheap_version", SNAP_VAL_STRING, struct snap_meta,
	     pyheap_version),
	PROP("taken_at", SNAP_VAL_F64, struct snap_meta, taken_at),
	PROP("pause_ms", SNAP_VAL_F64, struct snap_meta, pause_ms),
	PROP("capture_ms", SNAP_VAL_F64, struct snap_meta, capture_ms),
	PROP("parse_ms", SNAP_VAL_F64, struct snap_meta, parse_ms),
	PROP("image_bytes", SNAP_VAL_UINT, struct snap_meta, image_bytes),
	PROP("flags", SNAP_VAL_UINT, struct snap_meta, flags),
	PROP("rss_bytes", SNAP_VAL_UINT, struct snap_meta, rss_bytes),
	PROP("malloc", SNAP_VAL_STRING, struct snap_meta, malloc),
	PROP("malloc_note", SNAP_VAL_STRING, struct snap_meta, malloc_note),
	PROP("tracemalloc_tracing", SNAP_VAL_UINT, struct snap_meta,
	     tracemalloc_tracing),
	PROP("tracemalloc_frames", SNAP_VAL_UINT, struct snap_meta,
	     tracemalloc_frames),
	PROP("traced_memory", SNAP_VAL_UINT, struct snap_meta, traced_memory),
	PROP("sites_note", SNAP_VAL_STRING, struct snap_meta, sites_note),
	PROP("checks", SNAP_VAL_STRING, struct snap_meta, checks),
	PROP("parent_pid", SNAP_VAL_INT, struct snap_meta, parent_pid),
	PROP("started_at", SNAP_VAL_F64, struct snap_meta, started_at),
	PROP("labels", SNAP_VAL_STRING, struct snap_meta, labels),
	PROP("core", SNAP_VAL_STRING, struct snap_meta, core),
	PROP("core_missing_bytes", SNAP_VAL_UINT, struct snap_meta,
	     core_missing_bytes),
	PROP("core_missing_mappings", SNAP_VAL_UINT, struct snap_meta,
	     core_missing_mappings),
};
const size_t snap_nmeta_props = PH_ARRAY_SIZE(snap_meta_props);

const struct snap_prop snap_gc_props[] = {
	PROP("valid", SNAP_VAL_UINT, struct snap_gc, valid),
	PROP("enabled", SNAP_VAL_UINT, struct snap_gc, enabled),
	PROP("threshold0", SNAP_VAL_INT, struct snap_gc, threshold[0]),
	PROP("threshold1", SNAP_VAL_INT, struct snap_gc, threshold[1]),
	PROP("threshold2", SNAP_VAL_INT, struct snap_gc, threshold[2]),
	PROP("count0", SNAP_VAL_INT, struct snap_gc, count[0]),
	PROP("count1", SNAP_VAL_INT, struct snap_gc, count[1]),
	PROP("count2", SNAP_VAL_INT, struct snap_gc, count[2]),
};
const size_t snap_ngc_props = PH_ARRAY_SIZE(snap_gc_props);

const char *snap_tag_name(uint32_t tag, char *buf)
{
	char *p = buf;
	int i, n = 4;

	while (n > 1 && (tag >> (8 * (n - 1)) & 0xff) == ' ')
		n--;
	for (i = 0; i < n; i++) {
		unsigned c = tag >> (8 * i) & 0xff;

		if (c > ' ' && c < 0x7f)
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p = '\0';
	return buf;
}

/* ---- checking a struct snapshot ---------------------------------------- */

static int check_string(const struct snapshot *s, const char *name,
			const char *sect, const char *what, size_t row,
			const char *field, uint32_t id)
{
	if (id < s->nstrings)
		return 0;
	return ph_error(PH_E_FORMAT,
			"%s: section %s: %s %zu: %s string %" PRIu32
			" out of range (%zu strings)",
			name, sect, what, row, field, id, s->nstrings);
}

static int check_object(const struct snapshot *s, const char *name,
			const char *sect, const char *what, size_t row,
			uint32_t id)
{
	if (id < s->nobjects)
		return 0;
	return ph_error(PH_E_FORMAT,
			"%s: section %s: %s %zu: object %" PRIu32
			" out of range (%zu objects)",
			name, sect, what, row, id, s->nobjects);
}

static int check_counts(const struct snapshot *s, const char *name)
{
	static const struct {
		const char *sect, *what;
		size_t off;
	} counts[] = {
		{ "STRS", "strings", offsetof(struct snapshot, nstrings) },
		{ "TYPS", "types", offsetof(struct snapshot, ntypes) },
		{ "OBJS", "objects", offsetof(struct snapshot, nobjects) },
		{ "EDGS", "edges", offsetof(struct snapshot, nedges) },
		{ "ROOT", "roots", offsetof(struct snapshot, nroots) },
		{ "THRD", "threads", offsetof(struct snapshot, nthreads) },
		{ "THRD", "frames", offsetof(struct snapshot, nframes) },
		{ "STAT", "stats", offsetof(struct snapshot, nstats) },
	};
	size_t i, n;

	for (i = 0; i < PH_ARRAY_SIZE(counts); i++) {
		memcpy(&n, (const char *)s + counts[i].off, sizeof(n));
		if (n > SNAP_MAX_COUNT)
			return ph_error(PH_E_FORMAT,
					"%s: section %s: %zu %s, more than "
					"the format allows",
					name, counts[i].sect, n,
					counts[i].what);
	}
	return 0;
}

static int check_edges(const struct snapshot *s, const char *name)
{
	size_t i;

	if (!s->edge_start) {
		if (s->nedges)
			return ph_error(PH_E_FORMAT,
					"%s: section EDGS: %zu edges but no "
					"edge_start", name, s->nedges);
		return 0;
	}
	if (s->edge_start[0] != 0)
		return ph_error(PH_E_FORMAT,
				"%s: section EDGS: edge_start[0] is %" PRIu32
				", not 0", name, s->edge_start[0]);
	for (i = 0; i < s->nobjects; i++)
		if (s->edge_start[i + 1] < s->edge_start[i])
			return ph_error(PH_E_FORMAT,
					"%s: section EDGS: edge_start decreases "
					"at object %zu", name, i + 1);
	if (s->edge_start[s->nobjects] != s->nedges)
		return ph_error(PH_E_FORMAT,
				"%s: section EDGS: edge_start ends at %" PRIu32
				", not at %zu edges", name,
				s->edge_start[s->nobjects], s->nedges);
	for (i = 0; i < s->nedges; i++)
		if (s->edge_dst[i] >= s->nobjects)
			return ph_error(PH_E_FORMAT,
					"%s: section EDGS: edge %zu: object %"
					PRIu32 " out of range (%zu objects)",
					name, i, s->edge_dst[i], s->nobjects);
	/* ELBL (1.5): kinds known, string ids in range. */
	for (i = 0; s->edge_label && i < s->nedges; i++) {
		uint32_t l = s->edge_label[i], kind = l & EDGE_LABEL_KIND;

		if (kind == EDGE_LABEL_KIND || l > (EDGE_LABEL_KIND | EDGE_LABEL_MAX))
			return ph_error(PH_E_FORMAT, "%s: section ELBL: edge "
					"%zu: bad label kind", name, i);
		if (kind != EDGE_LABEL_INDEX &&
		    EDGE_LABEL_VALUE(l) >= s->nstrings)
			return ph_error(PH_E_FORMAT,
					"%s: section ELBL: edge %zu: string %"
					PRIu32 " out of range", name, i,
					EDGE_LABEL_VALUE(l));
	}
	return 0;
}

/* MALC (1.1): chunks sorted and apart, states and owners in range. */
static int check_chunks(const struct snapshot *s, const char *name)
{
	size_t i;

	if (s->nchunks > SNAP_MAX_COUNT || s->narenas > SNAP_MAX_COUNT)
		return ph_error(PH_E_FORMAT, "%s: section MALC: too many rows",
				name);
	for (i = 0; i < s->nchunks; i++) {
		const struct snap_chunk *c = &s->chunks[i];
		bool has_owner = c->owner_kind == OWNER_OBJECT ||
				 c->owner_kind == OWNER_BUFFER ||
				 c->owner_kind == OWNER_NATIVE;
		const char *why = NULL;

		if (i && c->addr < c[-1].addr + c[-1].size)
			why = "overlaps the previous chunk";
		else if (c->size < 16 || c->addr + c->size < c->addr)
			why = "bad size";
		else if (c->state < SCHUNK_INUSE || c->state > SCHUNK_MMAPPED)
			why = "bad state";
		else if (c->owner_kind > OWNER_ALLOCATOR)
			why = "bad owner kind";
		else if (has_owner ? c->owner >= s->nobjects :
			 c->owner != UINT32_MAX)
			why = "owner out of range";
		else if (c->arena != UINT32_MAX && c->arena >= s->narenas)
			why = "arena out of range";
		else if (c->reach >= REACH__COUNT ||
			 (c->reach && c->state != SCHUNK_INUSE &&
			  c->state != SCHUNK_MMAPPED))
			why = "bad reach";
		else if (c->reach == REACH_INDIRECT ?
			 (!c->leader || c->leader > s->nchunks ||
			  s->chunks[c->leader - 1].reach != REACH_LOST) :
			 c->leader != 0)
			why = "bad leader";
		else if (c->sig >= s->nstrings ||
			 (c->sig && c->reach != REACH_LOST))
			why = "bad signature";
		else if (c->holder > s->nobjects || c->root >= s->nstrings)
			why = "holder out of range";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section MALC: chunk "
					"%zu: %s", name, i, why);
	}
	return 0;
}

/* SUMM (1.7): ids in range, keys strictly sorted, parts within wholes.
 * That the summary is what the objects give is checked where both are
 * read (read.c). */
static int check_summary(const struct snapshot *s, const char *name)
{
	const struct snap_summary *m = &s->sum;
	size_t i;

	if (!m->valid)
		return 0;
	if (m->ncells > SNAP_MAX_COUNT || m->nchunk_cells > SNAP_MAX_COUNT)
		return ph_error(PH_E_FORMAT, "%s: section SUMM: too many rows",
				name);
	for (i = 0; i < m->ncells; i++) {
		const struct snap_cell *c = &m->cells[i];
		const char *why = NULL;

		if (c->type >= s->ntypes)
			why = "type out of range";
		else if (c->site > s->nsites)
			why = "site out of range";
		else if (i && (c->type < c[-1].type ||
			       (c->type == c[-1].type && c->site <= c[-1].site)))
			why = "not sorted";
		else if (!c->count || c->gc_tracked > c->count ||
			 c->garbage_bytes > c->bytes)
			why = "bad counts";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section SUMM: cell "
					"%zu: %s", name, i, why);
	}
	for (i = 0; i < m->nchunk_cells; i++) {
		const struct snap_chunk_cell *c = &m->chunk_cells[i];
		bool native = chunk_owner_native(c->owner_kind);
		const char *why = NULL;

		if (c->state < SCHUNK_INUSE || c->state > SCHUNK_MMAPPED)
			why = "bad state";
		else if (c->owner_kind > OWNER_ALLOCATOR)
			why = "bad owner kind";
		else if (c->owner_kind == OWNER_NATIVE ?
			 c->owner_type >= s->ntypes :
			 c->owner_type != UINT32_MAX)
			why = "owner type out of range";
		else if (c->flags > CCELL_MMAPPED)
			why = "bad flags";
		else if (i && snap_chunk_cell_cmp(&c[-1], c) >= 0)
			why = "not sorted";
		else if (!c->count || (native ?
			 c->size < 16 || c->count > UINT64_MAX / c->size ||
			 c->bytes != c->count * c->size :
			 c->size != 0 || c->bytes / 16 < c->count))
			why = "bad size or counts";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section SUMM: chunk "
					"cell %zu: %s", name, i, why);
	}
	return 0;
}

/* GRPS (1.8): parts, classes and string ids; counts as the analyses
 * give them (a group has members, and bytes for each). */
static int check_groups(const struct snapshot *s, const char *name)
{
	const struct snap_groups *g = &s->groups;
	size_t i;
	int rc;

	if (g->ngarbage > SNAP_MAX_COUNT || g->nlost > SNAP_MAX_COUNT)
		return ph_error(PH_E_FORMAT, "%s: section GRPS: too many rows",
				name);
	for (i = 0; i < g->ngarbage; i++) {
		const struct snap_garbage_group *x = &g->garbage[i];
		const char *why = NULL;

		if (x->part != 1 && x->part != 2)
			why = "bad part";
		else if (!x->objects || x->cycles > x->objects)
			why = "bad counts";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section GRPS: garbage "
					"group %zu: %s", name, i, why);
		if ((rc = check_string(s, name, "GRPS", "garbage group", i,
				       "shape", x->shape)))
			return rc;
	}
	for (i = 0; i < g->nlost; i++) {
		const struct snap_lost_group *x = &g->lost[i];
		const char *why = NULL;

		if (x->reach != REACH_LOST && x->reach != REACH_POSSIBLE &&
		    x->reach != REACH_GARBAGE)
			why = "bad class";
		else if (!x->chunks || x->size < 16 ||
			 x->chunks > UINT64_MAX / x->size ||
			 x->bytes != x->chunks * x->size ||
			 x->indirect_bytes / 16 < x->indirect_chunks ||
			 (x->reach != REACH_LOST && x->indirect_chunks))
			why = "bad size or counts";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section GRPS: lost "
					"group %zu: %s", name, i, why);
		if ((rc = check_string(s, name, "GRPS", "lost group", i,
				       "signature", x->signature)))
			return rc;
	}
	return 0;
}

/* SITE (1.2): kinds, frame ranges and byte counts; object site ids. */
static int check_sites(const struct snapshot *s, const char *name)
{
	size_t i;
	int rc;

	if (s->nsites > SNAP_MAX_COUNT - 1 || s->nsite_frames > SNAP_MAX_COUNT)
		return ph_error(PH_E_FORMAT, "%s: section SITE: too many rows",
				name);
	for (i = 0; i < s->nsites; i++) {
		const struct snap_site *x = &s->sites[i];
		const char *why = NULL;

		if (x->kind != SITE_TRACED && x->kind != SITE_INFERRED)
			why = "bad kind";
		else if (!x->nframes || (uint64_t)x->first_frame +
			 x->nframes > s->nsite_frames)
			why = "frames out of range";
		else if (x->total_frames < x->nframes)
			why = "total_frames below nframes";
		else if (x->unowned_traces > x->traces ||
			 x->unowned_bytes > x->traced_bytes)
			why = "more unowned than traced";
		else if (x->kind == SITE_INFERRED &&
			 (x->traces || x->traced_bytes))
			why = "an inferred site with traces";
		if (why)
			return ph_error(PH_E_FORMAT, "%s: section SITE: site "
					"%zu: %s", name, i + 1, why);
	}
	for (i = 0; i < s->nsite_frames; i++)
		if ((rc = check_string(s, name, "SITE", "site frame", i,
				       "file", s->site_frames[i].file)))
			return rc;
	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].site > s->nsites)
			return ph_error(PH_E_FORMAT,
					"%s: section OBJS: object %zu: site %"
					PRIu32 " out of range (%zu sites)",
					name, i, s->objects[i].site,
					s->nsites);
	return 0;
}

int snapshot_check(const struct snapshot *s, const char *name)
{
	size_t i;
	int rc;

	rc = check_counts(s, name);
	if (rc)
		return rc;
	if (!s->nstrings || s->string_len[0] != 0)
		return ph_error(PH_E_FORMAT,
				"%s: section STRS: string 0 is not \"\"", name);
	for (i = 0; i < snap_nmeta_props; i++) {
		const struct snap_prop *p = &snap_meta_props[i];
		uint32_t id;

		if (p->type != SNAP_VAL_STRING)
			continue;
		memcpy(&id, (const char *)&s->meta + p->offset, sizeof(id));
		if (id >= s->nstrings)
			return ph_error(PH_E_FORMAT,
					"%s: section META: %s: string %" PRIu32
					" out of range (%zu strings)",
					name, p->key, id, s->nstrings);
	}
	for (i = 0; i < s->ntypes; i++) {
		const struct snap_type *t = &s->types[i];

		if ((rc = check_string(s, name, "TYPS", "type", i, "name",
				       t->name)) ||
		    (rc = check_string(s, name, "TYPS", "type", i, "module",
				       t->module)))
			return rc;
		if (t->object != UINT32_MAX &&
		    (rc = check_object(s, name, "TYPS", "type", i, t->object)))
			return rc;
	}
	for (i = 0; i < s->nobjects; i++) {
		const struct snap_object *o = &s->objects[i];

		if (i && o->addr <= o[-1].addr)
			return ph_error(PH_E_FORMAT,
					"%s: section OBJS: object %zu: address "
					"%#" PRIx64 " not above the previous %#"
					PRIx64, name, i, o->addr, o[-1].addr);
		if (o->buffers > o->size)
			return ph_error(PH_E_FORMAT,
					"%s: section OBJS: object %zu: buffers "
					"%" PRIu64 " larger than size %" PRIu64,
					name, i, o->buffers, o->size);
		if (o->type >= s->ntypes)
			return ph_error(PH_E_FORMAT,
					"%s: section OBJS: object %zu: type %"
					PRIu32 " out of range (%zu types)",
					name, i, o->type, s->ntypes);
	}
	rc = check_edges(s, name);
	if (rc)
		return rc;
	for (i = 0; i < s->nroots; i++) {
		const struct snap_root *r = &s->roots[i];

		if ((rc = check_object(s, name, "ROOT", "root", i,
				       r->object)) ||
		    (rc = check_string(s, name, "ROOT", "root", i, "name",
				       r->name)))
			return rc;
	}
	for (i = 0; i < s->nthreads; i++) {
		const struct snap_thread *t = &s->threads[i];

		if ((uint64_t)t->first_frame + t->nframes > s->nframes)
			return ph_error(PH_E_FORMAT,
					"%s: section THRD: thread %zu: frames %"
					PRIu32 "+%" PRIu32 " out of range (%zu "
					"frames)", name, i, t->first_frame,
					t->nframes, s->nframes);
	}
	for (i = 0; i < s->nframes; i++) {
		const struct snap_frame *f = &s->frames[i];

		if ((rc = check_string(s, name, "THRD", "frame", i, "function",
				       f->function)) ||
		    (rc = check_string(s, name, "THRD", "frame", i, "file",
				       f->file)))
			return rc;
	}
	for (i = 0; i < s->nstats; i++)
		if ((rc = check_string(s, name, "STAT", "stat", i, "name",
				       s->stats[i].name)))
			return rc;
	rc = check_chunks(s, name);
	if (!rc)
		rc = check_sites(s, name);
	if (!rc)
		rc = check_summary(s, name);
	return rc ? rc : check_groups(s, name);
}
