/*
 * Decoding the sections' payloads (format.h): varints, column tables,
 * property lists, the string table and the referents.  read.c frames the
 * file, checks the CRCs and inflates; check.c checks what was decoded.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint64_t get_varint_slow(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; c->p < c->end; shift += 7) {
		unsigned b = *c->p++;

		/* The tenth byte holds bit 63 only. */
		if (shift == 63 && b > 1) {
			cur_fail(c, "has a varint longer than 64 bits");
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	cur_fail(c, "ends early");
	return 0;
}

const unsigned char *get_bytes(struct cursor *c, uint64_t n)
{
	const unsigned char *p = c->p;

	if (c->err)
		return NULL;
	if (n > cur_left(c)) {
		cur_fail(c, "ends early");
		return NULL;
	}
	c->p += n;
	return p;
}

int reader_failv(struct reader *r, const char *head, const char *tail,
		 const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	strbuf_vaddf(&sb, fmt, ap);
	rc = ph_error(PH_E_FORMAT, "%s: %s%s%s", r->name, head, sb.buf, tail);
	strbuf_release(&sb);
	return rc;
}

int bad(struct reader *r, const char *fmt, ...)
{
	char head[SNAP_TAG_BUF + 16];
	va_list ap;
	int rc;

	snprintf(head, sizeof(head), "section %s: ", r->tag);
	va_start(ap, fmt);
	rc = reader_failv(r, head, "", fmt, ap);
	va_end(ap);
	return rc;
}

/* A count that must fit the format and, at one byte or more per item,
 * the bytes left: checked before anything is allocated for it. */
static int get_count(struct reader *r, struct cursor *c, const char *what,
		     uint64_t *n)
{
	*n = get_varint(c);
	if (c->err)
		return bad(r, "%s count %s", what, c->err);
	if (*n > SNAP_MAX_COUNT || *n > cur_left(c))
		return bad(r, "%" PRIu64 " %s cannot fit in %zu bytes", *n,
			   what, cur_left(c));
	return 0;
}

static int get_column(struct reader *r, struct cursor *c,
		      const struct snap_table *t, const struct snap_column *col,
		      char *rows, size_t nrows)
{
	uint64_t prev = 0;
	size_t i;

	for (i = 0; i < nrows; i++) {
		char *field = rows + i * t->row_size + col->offset;
		uint64_t v = get_varint(c);

		if (c->err)
			break;
		switch (col->enc) {
		case SNAP_ENC_D:
			if (i && (!v || !ph_add(prev, v, &v)))
				return bad(r, "%s %zu: %s not above the "
					   "previous", t->what, i, col->name);
			prev = v;
			/* fall through */
		case SNAP_ENC_U:
			if (col->width == 4) {
				uint32_t u = (uint32_t)v;

				if (v > UINT32_MAX)
					return bad(r, "%s %zu: %s %" PRIu64
						   " does not fit 32 bits",
						   t->what, i, col->name, v);
				memcpy(field, &u, sizeof(u));
			} else {
				memcpy(field, &v, sizeof(v));
			}
			break;
		case SNAP_ENC_S: {
			int64_t sv = unzigzag(v);

			if (col->width == 4) {
				int32_t s32 = (int32_t)sv;

				if (sv < INT32_MIN || sv > INT32_MAX)
					return bad(r, "%s %zu: %s %" PRId64
						   " does not fit 32 bits",
						   t->what, i, col->name, sv);
				memcpy(field, &s32, sizeof(s32));
			} else {
				memcpy(field, &sv, sizeof(sv));
			}
			break;
		}
		}
	}
	if (!c->err && c->p != c->end)
		c->err = "has bytes after its values";
	if (c->err)
		return bad(r, "column %u (%s) %s", col->id, col->name, c->err);
	return 0;
}

/* A table (format.h "Tables") into a new array of row structs. */
static int get_table(struct reader *r, struct cursor *c,
		     const struct snap_table *t, void **out, size_t *nout)
{
	char what[32];
	uint64_t nrows, ncols, i;
	uint32_t seen = 0;
	char *rows;
	size_t k;
	int rc;

	snprintf(what, sizeof(what), "%ss", t->what);
	rc = get_count(r, c, what, &nrows);
	if (rc)
		return rc;
	/* Each row takes a byte in every required column: a tighter bound
	 * on the allocation below (nrows < 2^32 and ncols is small: no
	 * overflow). */
	for (i = 0, ncols = 0; i < t->ncols; i++)
		ncols += !t->cols[i].optional;
	if (nrows * ncols > cur_left(c))
		return bad(r, "%" PRIu64 " %s cannot fit in %zu bytes", nrows,
			   what, cur_left(c));
	ncols = get_varint(c);
	if (c->err)
		return bad(r, "%s table %s", t->what, c->err);
	rows = xcalloc(nrows ? nrows : 1, t->row_size);
	for (i = 0; i < ncols; i++) {
		struct cursor col;
		uint64_t id = get_varint(c), len = get_varint(c);
		const unsigned char *p = get_bytes(c, len);

		if (c->err) {
			rc = bad(r, "%s table %s", t->what, c->err);
			goto cleanup;
		}
		for (k = 0; k < t->ncols; k++)
			if (t->cols[k].id == id)
				break;
		if (k == t->ncols)
			continue; /* a later minor's column */
		if (seen & 1u << k) {
			rc = bad(r, "%s table has column %" PRIu64 " (%s) "
				 "twice", t->what, id, t->cols[k].name);
			goto cleanup;
		}
		seen |= 1u << k;
		col.p = p;
		col.end = p + len;
		col.err = NULL;
		rc = get_column(r, &col, t, &t->cols[k], rows, nrows);
		if (rc)
			goto cleanup;
	}
	for (k = 0; k < t->ncols; k++) {
		if (!(seen & 1u << k) && !t->cols[k].optional) {
			rc = bad(r, "%s table has no column %u (%s)",
				 t->what, t->cols[k].id, t->cols[k].name);
			goto cleanup;
		}
	}
	*out = rows;
	*nout = nrows;
	return 0;

cleanup:
	free(rows);
	return rc;
}

static int get_prop_value(struct reader *r, struct cursor *v,
			  const struct snap_prop *p, char *field)
{
	switch (p->type) {
	case SNAP_VAL_UINT:
	case SNAP_VAL_STRING: {
		uint64_t u = get_varint(v);

		if (v->err)
			break;
		if (p->width == 1) {
			bool b = u;

			if (u > 1)
				return bad(r, "%s is %" PRIu64 ", not 0 or 1",
					   p->key, u);
			memcpy(field, &b, sizeof(b));
		} else if (p->width == 4) {
			uint32_t u32 = (uint32_t)u;

			if (u > UINT32_MAX)
				return bad(r, "%s: %" PRIu64 " does not fit "
					   "32 bits", p->key, u);
			memcpy(field, &u32, sizeof(u32));
		} else {
			memcpy(field, &u, sizeof(u));
		}
		break;
	}
	case SNAP_VAL_INT: {
		int64_t i = get_svarint(v);

		memcpy(field, &i, sizeof(i));
		break;
	}
	case SNAP_VAL_F64: {
		const unsigned char *b = get_bytes(v, 8);
		uint64_t u;

		if (!b)
			break;
		u = get_le64(b);
		memcpy(field, &u, sizeof(u));
		break;
	}
	}
	if (!v->err && v->p != v->end)
		v->err = "has bytes after the value";
	if (v->err)
		return bad(r, "value of %s %s", p->key, v->err);
	return 0;
}

/* A property list (format.h) into the struct at base. */
static int get_props(struct reader *r, struct cursor *c,
		     const struct snap_prop *props, size_t nprops, void *base)
{
	uint64_t n, i;
	uint32_t seen = 0;
	int rc;

	rc = get_count(r, c, "keys", &n);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		uint64_t klen = get_varint(c);
		const unsigned char *key = get_bytes(c, klen);
		const unsigned char *type = get_bytes(c, 1);
		uint64_t vlen = get_varint(c);
		const unsigned char *val = get_bytes(c, vlen);
		struct cursor v;
		size_t k;

		if (c->err)
			return bad(r, "key %" PRIu64 " %s", i, c->err);
		for (k = 0; k < nprops; k++)
			if (strlen(props[k].key) == klen &&
			    !memcmp(props[k].key, key, klen))
				break;
		if (k == nprops)
			continue; /* a later minor's key */
		if (seen & 1u << k)
			return bad(r, "key %s appears twice", props[k].key);
		seen |= 1u << k;
		if (*type != props[k].type)
			return bad(r, "key %s has value type %u, not %u",
				   props[k].key, *type, props[k].type);
		v.p = val;
		v.end = val + vlen;
		v.err = NULL;
		rc = get_prop_value(r, &v, &props[k],
				    (char *)base + props[k].offset);
		if (rc)
			return rc;
	}
	return 0;
}

static int get_strings(struct reader *r, struct cursor *c)
{
	struct snapshot *s = r->s;
	uint64_t n, i, total = 0;
	const unsigned char *p;

	if (get_count(r, c, "strings", &n))
		return -PH_E_FORMAT;
	if (!n)
		return bad(r, "no strings (string 0 must be \"\")");
	s->string_len = xmalloc(n * sizeof(*s->string_len));
	for (i = 0; i < n; i++) {
		uint64_t len = get_varint(c);

		if (c->err)
			return bad(r, "string lengths %s", c->err);
		if (len > UINT32_MAX || !ph_add(total, len, &total) ||
		    total > cur_left(c))
			return bad(r, "string %" PRIu64 ": %" PRIu64 " bytes "
				   "go past the end", i, len);
		s->string_len[i] = (uint32_t)len;
	}
	if (total != cur_left(c))
		return bad(r, "%zu bytes after the strings",
			   cur_left(c) - (size_t)total);
	s->strings = xcalloc(n, sizeof(*s->strings));
	s->strings_alloc = n;
	p = c->p;
	for (i = 0; i < n; i++) {
		s->strings[i] = xstrndup((const char *)p, s->string_len[i]);
		p += s->string_len[i];
		s->nstrings++;
	}
	c->p = c->end;
	return 0;
}

static int get_edges(struct reader *r, struct cursor *c)
{
	struct snapshot *s = r->s;
	uint64_t nobj, nedges, i, sum = 0;
	int rc;

	if ((rc = get_count(r, c, "objects", &nobj)) ||
	    (rc = get_count(r, c, "edges", &nedges)))
		return rc;
	if (nobj + nedges > cur_left(c))
		return bad(r, "%" PRIu64 " objects and %" PRIu64 " edges cannot "
			   "fit in %zu bytes", nobj, nedges, cur_left(c));
	r->edge_objects = nobj;
	s->edge_start = xmalloc((nobj + 1) * sizeof(*s->edge_start));
	s->edge_dst = xmalloc((nedges ? nedges : 1) * sizeof(*s->edge_dst));
	s->edges_alloc = nedges;
	s->edge_start[0] = 0;
	for (i = 0; i < nobj; i++) {
		uint64_t n = get_varint(c);

		if (c->err)
			return bad(r, "edge counts %s", c->err);
		if (n > nedges - sum)
			return bad(r, "object %" PRIu64 ": edge counts add up "
				   "to more than %" PRIu64, i, nedges);
		sum += n;
		s->edge_start[i + 1] = (uint32_t)sum;
	}
	if (sum != nedges)
		return bad(r, "edge counts add up to %" PRIu64 ", not %"
			   PRIu64, sum, nedges);
	for (i = 0; i < nobj; i++) {
		int64_t prev = (int64_t)i;
		uint32_t e;

		for (e = s->edge_start[i]; e < s->edge_start[i + 1]; e++) {
			int64_t d = get_svarint(c), v;

			if (c->err)
				return bad(r, "referents %s", c->err);
			if (__builtin_add_overflow(prev, d, &v) || v < 0 ||
			    (uint64_t)v >= nobj)
				return bad(r, "object %" PRIu64 ": referent "
					   "out of range (%" PRIu64
					   " objects)", i, nobj);
			s->edge_dst[e] = (uint32_t)v;
			prev = v;
		}
	}
	s->nedges = nedges;
	if (c->p != c->end)
		return bad(r, "%zu bytes after the referents", cur_left(c));
	return 0;
}

static int get_end(struct reader *r, struct cursor *c, const char *what)
{
	if (c->p != c->end)
		return bad(r, "%zu bytes after the %s", cur_left(c), what);
	return 0;
}

/* A table section into one of the snapshot's arrays. */
static int get_rows(struct reader *r, struct cursor *c,
		    const struct snap_table *t, void **rows, size_t *n,
		    size_t *alloc)
{
	int rc = get_table(r, c, t, rows, n);

	if (!rc)
		*alloc = *n;
	return rc;
}

/* ELBL (1.5): decoded after STRS and EDGS (SECT_* order), so both
 * counts are known here. */
static int get_labels(struct reader *r, struct cursor *c)
{
	struct snapshot *s = r->s;
	uint64_t n, i, obj = 0;
	int64_t prev = -1;
	bool rows;
	int rc;

	if ((rc = get_count(r, c, "labels", &n)))
		return rc;
	/* That n is EDGS's count, and EDGS's rows OBJS's, is checked once
	 * every section is read (read.c), after EDGS's own counts.  The
	 * rows that reset the index differences are known only if both
	 * hold; if not, the file is rejected there, and the labels are only
	 * skipped here. */
	r->label_edges = n;
	rows = s->edge_start && n == s->nedges &&
	       r->edge_objects == s->nobjects;
	s->edge_label = xmalloc((n ? n : 1) * sizeof(*s->edge_label));
	for (i = 0; i < n; i++) {
		uint64_t v = get_varint(c), x = v >> 2, kind = v & 3;

		if (c->err)
			return bad(r, "labels %s", c->err);
		if (!rows) {
			s->edge_label[i] = 0;
			continue;
		}
		while (obj < r->edge_objects &&
		       i >= s->edge_start[obj + 1]) {
			obj++;
			prev = -1;
		}
		if (kind == 1) {
			/* The difference from the row's previous index + 1. */
			int64_t idx = prev + 1 + unzigzag(x);

			if (idx < 0 || idx > (int64_t)EDGE_LABEL_MAX)
				return bad(r, "edge %" PRIu64 ": index %" PRId64
					   " out of range", i, idx);
			prev = idx;
			x = (uint64_t)idx;
		}
		/* String ids are checked with the others (check.c). */
		if (kind == 3 || x > EDGE_LABEL_MAX)
			return bad(r, "edge %" PRIu64 ": bad label %" PRIu64,
				   i, v);
		s->edge_label[i] = (uint32_t)(kind << 28 | x);
	}
	return get_end(r, c, "labels");
}

int decode_section(struct reader *r, int k, struct cursor *c)
{
	struct snapshot *s = r->s;
	int rc;

	switch (k) {
	case SECT_META:
		rc = get_props(r, c, snap_meta_props, snap_nmeta_props,
			       &s->meta);
		return rc ? rc : get_end(r, c, "keys");
	case SECT_GC:
		rc = get_props(r, c, snap_gc_props, snap_ngc_props, &s->gc);
		return rc ? rc : get_end(r, c, "keys");
	case SECT_STRS:
		return get_strings(r, c);
	case SECT_EDGS:
		return get_edges(r, c);
	case SECT_ELBL:
		return get_labels(r, c);
	case SECT_TYPS:
		rc = get_rows(r, c, &snap_types_table, (void **)&s->types,
			      &s->ntypes, &s->types_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_OBJS:
		rc = get_rows(r, c, &snap_objects_table, (void **)&s->objects,
			      &s->nobjects, &s->objects_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_ROOT:
		rc = get_rows(r, c, &snap_roots_table, (void **)&s->roots,
			      &s->nroots, &s->roots_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_THRD:
		rc = get_rows(r, c, &snap_threads_table, (void **)&s->threads,
			      &s->nthreads, &s->threads_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_frames_table,
				      (void **)&s->frames, &s->nframes,
				      &s->frames_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_STAT:
		rc = get_rows(r, c, &snap_stats_table, (void **)&s->stats,
			      &s->nstats, &s->stats_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_MALC:
		rc = get_rows(r, c, &snap_chunks_table, (void **)&s->chunks,
			      &s->nchunks, &s->chunks_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_arenas_table,
				      (void **)&s->arenas, &s->narenas,
				      &s->arenas_alloc);
		return rc ? rc : get_end(r, c, "table");
	case SECT_SUMM:
		rc = get_rows(r, c, &snap_cells_table,
			      (void **)&r->file_sum.cells, &r->file_sum.ncells,
			      &r->file_sum.cells_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_chunk_cells_table,
				      (void **)&r->file_sum.chunk_cells,
				      &r->file_sum.nchunk_cells,
				      &r->file_sum.chunk_cells_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_arenas_table,
				      (void **)&r->sum_arenas,
				      &r->nsum_arenas, &r->sum_arenas_alloc);
		r->file_sum.valid = !rc;
		return rc ? rc : get_end(r, c, "table");
	case SECT_GRPS:
		rc = get_rows(r, c, &snap_garbage_groups_table,
			      (void **)&s->groups.garbage, &s->groups.ngarbage,
			      &s->groups.garbage_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_lost_groups_table,
				      (void **)&s->groups.lost,
				      &s->groups.nlost, &s->groups.lost_alloc);
		s->groups.present = !rc;
		return rc ? rc : get_end(r, c, "table");
	case SECT_SITE:
		rc = get_rows(r, c, &snap_sites_table, (void **)&s->sites,
			      &s->nsites, &s->sites_alloc);
		if (!rc)
			rc = get_rows(r, c, &snap_site_frames_table,
				      (void **)&s->site_frames,
				      &s->nsite_frames, &s->site_frames_alloc);
		return rc ? rc : get_end(r, c, "table");
	}
	return 0;
}
