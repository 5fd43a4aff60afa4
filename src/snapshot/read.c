/*
 * Reading snapshot files (snapshot.h): framing, checksums, inflating and
 * decoding sections; check.c has the format's tables and the invariants
 * every snapshot read must pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "format.h"

/* ---- reading ----------------------------------------------------------- */

/* The sections this reader knows, in the order writers emit them. */
enum {
	SECT_META,
	SECT_STRS,
	SECT_TYPS,
	SECT_OBJS,
	SECT_EDGS,
	SECT_ROOT,
	SECT_THRD,
	SECT_GC,
	SECT_STAT,
	SECT_MALC,      /* 1.1, optional */
	SECT_SITE,      /* 1.2, optional */
	SECT__COUNT
};

static const uint32_t known_tags[SECT__COUNT] = {
	SNAP_TAG_META, SNAP_TAG_STRS, SNAP_TAG_TYPS, SNAP_TAG_OBJS,
	SNAP_TAG_EDGS, SNAP_TAG_ROOT, SNAP_TAG_THRD, SNAP_TAG_GC,
	SNAP_TAG_STAT, SNAP_TAG_MALC, SNAP_TAG_SITE,
};

static bool section_optional(int k)
{
	return k == SECT_MALC || k == SECT_SITE;
}

/*
 * The least snapshot_read_level() that decodes a section.  A section not
 * listed here is decoded only in full reads: it may point at objects,
 * which the lower levels do not decode.
 */
static enum snap_read_level sect_level(int k)
{
	switch (k) {
	case SECT_META:
	case SECT_STRS:
	case SECT_GC:
	case SECT_STAT:
		return SNAP_READ_SUMMARY;
	case SECT_TYPS:
	case SECT_OBJS:
	case SECT_SITE: /* strings only: reports group objects by site */
	case SECT_MALC: /* object ids only: reports group native memory */
		return SNAP_READ_OBJECTS;
	}
	return SNAP_READ_ALL;
}

struct section {
	uint32_t tag, flags;
	uint64_t clen, ulen;
	const unsigned char *data; /* clen stored bytes */
};

/*
 * A cursor over one payload.  The first failure ("ends early") is kept in
 * err and every later read fails too, so a decoder can read a run of
 * values and check once; the caller's message names what was being read.
 */
struct cursor {
	const unsigned char *p, *end;
	const char *err;
};

struct reader {
	const char *name;
	char tag[SNAP_TAG_BUF]; /* of the section being decoded */
	struct section sect[SECT__COUNT];
	bool have[SECT__COUNT];
	uint64_t edge_objects; /* EDGS's own object count */
	struct snapshot *s;
	struct snap_file_info *info; /* NULL, or the sections to list */
};

static uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static size_t cur_left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* The first failure sticks: later reads see an exhausted cursor. */
static void cur_fail(struct cursor *c, const char *err)
{
	if (!c->err)
		c->err = err;
	c->p = c->end;
}

static uint64_t get_varint_slow(struct cursor *c)
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

/* Most values are below 128: that case stays inline. */
static inline uint64_t get_varint(struct cursor *c)
{
	if (c->p < c->end && *c->p < 0x80)
		return *c->p++;
	return get_varint_slow(c);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1 ^ (0 - (v & 1)));
}

static int64_t get_svarint(struct cursor *c)
{
	return unzigzag(get_varint(c));
}

static const unsigned char *get_bytes(struct cursor *c, uint64_t n)
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

/* "NAME: section TAG: ..." about the section being decoded. */
static int bad(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(struct reader *r, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	rc = ph_error(PH_E_FORMAT, "%s: section %s: %s", r->name, r->tag,
		      sb.buf);
	strbuf_release(&sb);
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

static int decode_section(struct reader *r, int k, struct cursor *c)
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

/*
 * Inflate exactly ulen bytes.  inflate()'s counters are 32-bit, so both
 * sides are fed in slices.  The stream must end exactly at the end of
 * both the stored bytes and the declared length: anything else means the
 * header lies about the data.
 */
static int inflate_section(struct reader *r, const struct section *sc,
			   unsigned char *out)
{
	const unsigned char *in = sc->data;
	uint64_t in_left = sc->clen, out_left = sc->ulen;
	z_stream z;
	int zrc, rc = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return ph_error(PH_E_NOMEM, "%s: cannot initialise zlib",
				r->name);
	z.next_out = out;
	for (;;) {
		if (!z.avail_in && in_left) {
			z.next_in = (Bytef *)in;
			z.avail_in = (uInt)PH_MIN(in_left, (uint64_t)UINT_MAX);
			in += z.avail_in;
			in_left -= z.avail_in;
		}
		if (!z.avail_out && out_left) {
			z.avail_out = (uInt)PH_MIN(out_left,
						   (uint64_t)UINT_MAX);
			out_left -= z.avail_out;
		}
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END || (zrc != Z_OK && zrc != Z_BUF_ERROR))
			break;
		if (zrc == Z_BUF_ERROR) {
			/* No progress: one side ran dry.  The input first:
			 * a stream cut short can also have filled the
			 * output. */
			if (!z.avail_in && !in_left)
				rc = bad(r, "compressed data ends early");
			else
				rc = bad(r, "inflates to more than %" PRIu64
					 " bytes", sc->ulen);
			goto cleanup;
		}
	}
	if (zrc == Z_MEM_ERROR) {
		rc = ph_error(PH_E_NOMEM, "%s: out of memory inflating "
			      "section %s", r->name, r->tag);
	} else if (zrc != Z_STREAM_END) {
		rc = bad(r, "corrupt compressed data (%s)",
			 z.msg ? z.msg : "zlib error");
	} else if (z.avail_out || out_left) {
		rc = bad(r, "inflates to fewer than %" PRIu64 " bytes",
			 sc->ulen);
	} else if (z.avail_in || in_left) {
		rc = bad(r, "bytes after the compressed data");
	}

cleanup:
	inflateEnd(&z);
	return rc;
}

static int load_section(struct reader *r, int k)
{
	const struct section *sc = &r->sect[k];
	unsigned char *buf = NULL;
	struct cursor c;
	int rc;

	if (!r->have[k])
		return 0; /* an optional section that is absent */
	snap_tag_name(sc->tag, r->tag);
	if (sc->flags & SNAP_SECT_ZLIB) {
		/* ulen was bounded when the file was framed. */
		buf = xmalloc(sc->ulen ? sc->ulen : 1);
		rc = inflate_section(r, sc, buf);
		if (rc)
			goto cleanup;
		c.p = buf;
	} else {
		c.p = sc->data;
	}
	c.end = c.p + sc->ulen;
	c.err = NULL;
	rc = decode_section(r, k, &c);

cleanup:
	free(buf);
	return rc;
}

static int truncated(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int truncated(struct reader *r, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	rc = ph_error(PH_E_FORMAT, "%s: truncated snapshot (%s)", r->name,
		      sb.buf);
	strbuf_release(&sb);
	return rc;
}

static int check_end(struct reader *r, const unsigned char *buf,
		     const struct section *sc, uint32_t nsections)
{
	uint32_t count, crc;

	if (sc->flags || sc->clen != sc->ulen || sc->ulen < SNAP_END_LEN)
		return bad(r, "must be stored and at least %d bytes",
			   SNAP_END_LEN);
	count = get_le32(sc->data);
	crc = get_le32(sc->data + 4);
	if (count != nsections)
		return bad(r, "counts %" PRIu32 " sections, the file has %"
			   PRIu32, count, nsections);
	if (crc != (uint32_t)crc32(0, buf, SNAP_HEADER_LEN))
		return ph_error(PH_E_FORMAT, "%s: bad checksum in file header",
				r->name);
	return 0;
}

/* Check a known section's header before anything is allocated for it. */
static int check_section(struct reader *r, int k, const struct section *sc)
{
	uint64_t ratio_cap;

	if (r->have[k])
		return bad(r, "appears twice");
	if (sc->flags & ~SNAP_SECT_ZLIB)
		return bad(r, "unknown flags %#" PRIx32, sc->flags);
	if (sc->ulen > SNAP_MAX_PAYLOAD)
		return bad(r, "payload of %" PRIu64 " bytes is over the %llu "
			   "GiB limit", sc->ulen, SNAP_MAX_PAYLOAD >> 30);
	if (!(sc->flags & SNAP_SECT_ZLIB)) {
		if (sc->clen != sc->ulen)
			return bad(r, "stored length %" PRIu64 " differs from "
				   "payload length %" PRIu64, sc->clen,
				   sc->ulen);
		return 0;
	}
	ratio_cap = sc->clen * SNAP_MAX_RATIO; /* clen < 2^36: no overflow */
	if (sc->ulen > ratio_cap)
		return bad(r, "%" PRIu64 " bytes cannot inflate to %" PRIu64,
			   sc->clen, sc->ulen);
	return 0;
}

/*
 * First pass: walk the section headers, verify every CRC, find END and
 * the known sections.  Nothing is decompressed yet, so a truncated or
 * damaged file is reported as such, not as whatever its contents would
 * have failed on.
 */
static int frame(struct reader *r, const unsigned char *buf, size_t len)
{
	size_t pos = SNAP_HEADER_LEN;
	uint32_t nsections = 0;
	int k, rc;

	for (;;) {
		const unsigned char *h = buf + pos;
		size_t left = len - pos;
		struct section sc;

		if (!left)
			return truncated(r, "no END section");
		if (left < SNAP_SECTION_HEADER_LEN) {
			if (left < 4)
				return truncated(r, "section header at offset "
						 "%zu", pos);
			return truncated(r, "section %s",
					 snap_tag_name(get_le32(h), r->tag));
		}
		sc.tag = get_le32(h);
		sc.flags = get_le32(h + 4);
		sc.clen = get_le64(h + 8);
		sc.ulen = get_le64(h + 16);
		sc.data = h + SNAP_SECTION_HEADER_LEN;
		snap_tag_name(sc.tag, r->tag);
		if (sc.clen > left - SNAP_SECTION_HEADER_LEN)
			return truncated(r, "section %s", r->tag);
		if (get_le32(h + 24) !=
		    (uint32_t)crc32_z(crc32(0, h, 24), sc.data, sc.clen))
			return ph_error(PH_E_FORMAT,
					"%s: bad checksum in section %s",
					r->name, r->tag);
		if (r->info) {
			struct snap_file_info *fi = r->info;
			struct snap_section_info *si;

			PH_GROW(fi->sections, fi->sections_alloc,
				fi->nsections + 1);
			si = &fi->sections[fi->nsections++];
			si->tag = sc.tag;
			si->flags = sc.flags;
			si->offset = pos;
			si->stored = sc.clen;
			si->size = sc.ulen;
		}
		pos += SNAP_SECTION_HEADER_LEN + sc.clen;
		if (sc.tag == SNAP_TAG_END) {
			rc = check_end(r, buf, &sc, nsections);
			if (rc)
				return rc;
			break;
		}
		nsections++;
		for (k = 0; k < SECT__COUNT; k++)
			if (known_tags[k] == sc.tag)
				break;
		if (k == SECT__COUNT)
			continue; /* a later minor's section */
		rc = check_section(r, k, &sc);
		if (rc)
			return rc;
		r->sect[k] = sc;
		r->have[k] = true;
	}
	if (pos != len)
		return ph_error(PH_E_FORMAT,
				"%s: %zu bytes of garbage after the END section",
				r->name, len - pos);
	for (k = 0; k < SECT__COUNT; k++)
		if (!r->have[k] && !section_optional(k))
			return ph_error(PH_E_FORMAT, "%s: missing section %s",
					r->name,
					snap_tag_name(known_tags[k], r->tag));
	return 0;
}

static int check_header(const char *name, const unsigned char *buf,
			size_t len)
{
	unsigned major;

	if (!len)
		return ph_error(PH_E_FORMAT,
				"%s: empty file, not a pyheap snapshot", name);
	if (memcmp(buf, SNAP_MAGIC, PH_MIN(len, (size_t)SNAP_MAGIC_LEN)))
		return ph_error(PH_E_FORMAT, "%s: not a pyheap snapshot", name);
	if (len < SNAP_HEADER_LEN)
		return ph_error(PH_E_FORMAT,
				"%s: truncated snapshot (file header)", name);
	major = get_le16(buf + 8);
	if (major > SNAP_MAJOR)
		return ph_error(PH_E_FORMAT,
				"%s: snapshot format %u.x is newer than this "
				"pyheap reads (%d.x)", name, major, SNAP_MAJOR);
	if (major != SNAP_MAJOR)
		return ph_error(PH_E_FORMAT,
				"%s: snapshot format %u.x is not supported "
				"(this pyheap reads %d.x)", name, major,
				SNAP_MAJOR);
	return 0;
}

static int read_mem(const unsigned char *buf, size_t len, const char *name,
		    enum snap_read_level level, struct snapshot *s,
		    struct snap_file_info *info)
{
	struct reader r;
	size_t i;
	int k, rc;

	memset(s, 0, sizeof(*s));
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.s = s;
	r.info = info;
	if (info) {
		info->size = len;
		if (len >= SNAP_HEADER_LEN) {
			info->major = get_le16(buf + 8);
			info->minor = get_le16(buf + 10);
		}
	}
	if (len > SNAP_MAX_FILE)
		return ph_error(PH_E_FORMAT, "%s: %zu bytes is over the %llu "
				"GiB snapshot limit", name, len,
				SNAP_MAX_FILE >> 30);
	rc = check_header(name, buf, len);
	if (rc)
		return rc;
	rc = frame(&r, buf, len);
	if (rc)
		return rc;
	for (k = 0; k < SECT__COUNT; k++) {
		if (sect_level(k) > level)
			continue;
		rc = load_section(&r, k);
		if (rc)
			goto cleanup;
	}
	/* Before 1.2 the site column meant nothing and was not checked. */
	if (get_le16(buf + 10) < 2)
		for (i = 0; i < s->nobjects; i++)
			s->objects[i].site = 0;
	if (level == SNAP_READ_ALL && r.edge_objects != s->nobjects) {
		snap_tag_name(SNAP_TAG_EDGS, r.tag);
		rc = bad(&r, "covers %" PRIu64 " objects, OBJS has %zu",
			 r.edge_objects, s->nobjects);
		goto cleanup;
	}
	rc = snapshot_check(s, name);

cleanup:
	if (rc)
		snapshot_release(s);
	return rc;
}

int snapshot_read_mem(const void *buf, size_t len, const char *name,
		      struct snapshot *s)
{
	return read_mem(buf, len, name, SNAP_READ_ALL, s, NULL);
}

int snapshot_read(const char *path, struct snapshot *s)
{
	return snapshot_read_level(path, SNAP_READ_ALL, s, NULL);
}

void snap_file_info_release(struct snap_file_info *info)
{
	free(info->sections);
	memset(info, 0, sizeof(*info));
}

int snapshot_read_level(const char *path, enum snap_read_level level,
			struct snapshot *s, struct snap_file_info *info)
{
	unsigned char *buf = NULL;
	size_t len = 0, alloc = 0;
	struct stat st;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	if (info)
		memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ph_error(PH_E_IO, "cannot open %s: %s", path,
				strerror(errno));
	if (fstat(fd, &st)) {
		rc = ph_error(PH_E_IO, "cannot stat %s: %s", path,
			      strerror(errno));
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > SNAP_MAX_FILE) {
		rc = ph_error(PH_E_FORMAT, "%s: %jd bytes is over the %llu GiB "
			      "snapshot limit", path, (intmax_t)st.st_size,
			      SNAP_MAX_FILE >> 30);
		goto cleanup;
	}
	/* The size is a hint only: a pipe has none, a file may grow. */
	if (S_ISREG(st.st_mode))
		PH_GROW(buf, alloc, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		if (len == alloc)
			PH_GROW(buf, alloc, len + 65536);
		n = read(fd, buf + len, PH_MIN(alloc - len, (size_t)1 << 30));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ph_error(PH_E_IO, "cannot read %s: %s", path,
				      strerror(errno));
			goto cleanup;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len > SNAP_MAX_FILE) {
			rc = ph_error(PH_E_FORMAT, "%s: over the %llu GiB "
				      "snapshot limit", path,
				      SNAP_MAX_FILE >> 30);
			goto cleanup;
		}
	}
	rc = read_mem(buf, len, path, level, s, info);

cleanup:
	free(buf);
	close(fd);
	return rc;
}
