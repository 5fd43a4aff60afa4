/*
 * Reading snapshot files (snapshot.h): which sections a level decodes,
 * inflating them, the summary; frame.c frames the file and checks its
 * CRCs, decode.c decodes the sections' payloads, check.c has the format's
 * tables and the invariants every snapshot read must pass.
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

#include "internal.h"

/* ---- reading ----------------------------------------------------------- */

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
	case SECT_GRPS: /* strings only: what --since compares */
		return SNAP_READ_META;
	case SECT_TYPS:
	case SECT_SITE: /* strings only: reports group objects by site */
	case SECT_SUMM: /* type and site ids: what reports group */
		return SNAP_READ_REPORT;
	case SECT_OBJS:
	case SECT_MALC: /* object ids only */
		return SNAP_READ_OBJECTS;
	}
	return SNAP_READ_ALL;
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
	unsigned char *buf = NULL, *stored = NULL;
	struct cursor c;
	int rc;

	if (!r->have[k])
		return 0; /* an optional section that is absent */
	snap_tag_name(sc->tag, r->tag);
	if ((rc = snap_section_bytes(r, k, &stored)))
		goto cleanup;
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
	free(stored);
	r->sect[k].data = r->buf ? r->sect[k].data : NULL;
	return rc;
}


/* Field by field: struct snap_arena has padding. */
static bool same_arenas(const struct reader *r)
{
	size_t i;

	for (i = 0; i < r->nsum_arenas; i++) {
		const struct snap_arena *a = &r->sum_arenas[i];
		const struct snap_arena *b = &r->s->arenas[i];

		if (a->addr != b->addr || a->system_mem != b->system_mem ||
		    a->top_bytes != b->top_bytes || a->flags != b->flags)
			return false;
	}
	return true;
}

/*
 * The snapshot's summary: what the objects and chunks give when they were
 * read (and then SUMM, if the file has it, must say the same), else
 * SUMM's own, with its copy of the arenas.
 */
static int summary(struct reader *r, bool objects)
{
	struct snapshot *s = r->s;
	const struct snap_summary *f = &r->file_sum;
	const char *why = NULL;

	if (!objects) {
		s->sum = r->file_sum;
		memset(&r->file_sum, 0, sizeof(r->file_sum));
		s->arenas = r->sum_arenas;
		s->narenas = s->arenas_alloc = r->nsum_arenas;
		r->sum_arenas = NULL;
		return 0;
	}
	snapshot_summarize(s, &s->sum);
	if (!f->valid)
		return 0;
	if (f->ncells != s->sum.ncells ||
	    (f->ncells && memcmp(f->cells, s->sum.cells,
				 f->ncells * sizeof(*f->cells))))
		why = "objects";
	else if (f->nchunk_cells != s->sum.nchunk_cells ||
		 (f->nchunk_cells &&
		  memcmp(f->chunk_cells, s->sum.chunk_cells,
			 f->nchunk_cells * sizeof(*f->chunk_cells))))
		why = "chunks";
	else if (r->nsum_arenas != s->narenas || !same_arenas(r))
		why = "arenas";
	if (!why)
		return 0;
	snap_tag_name(SNAP_TAG_SUMM, r->tag);
	return bad(r, "the summary differs from the %s it sums", why);
}

/* The file r names (r->buf or r->fd, r->len, r->name, r->info) at a
 * level, into s. */
static int read_source(struct reader *r, enum snap_read_level level,
		       struct snapshot *s)
{
	struct snap_file_info *info = r->info;
	size_t i;
	int k, rc;
	bool objects;

	memset(s, 0, sizeof(*s));
	r->s = s;
	if (info)
		info->size = r->len;
	if (r->len > SNAP_MAX_FILE) {
		rc = ph_error(PH_E_FORMAT, "%s: %" PRIu64 " bytes is over the "
			      "%llu GiB snapshot limit", r->name, r->len,
			      SNAP_MAX_FILE >> 30);
		goto cleanup;
	}
	rc = snap_check_header(r);
	if (info && r->len >= SNAP_HEADER_LEN) {
		info->major = get_le16(r->header + 8);
		info->minor = get_le16(r->header + 10);
	}
	if (rc || (rc = snap_frame(r)))
		goto cleanup;
	/* A report of a file without SUMM (before 1.7) groups the objects
	 * and chunks themselves. */
	objects = level >= SNAP_READ_OBJECTS ||
		  (level == SNAP_READ_REPORT && !r->have[SECT_SUMM]);
	for (k = 0; k < SECT__COUNT; k++) {
		if (sect_level(k) > (objects ? PH_MAX(level, SNAP_READ_OBJECTS) :
				     level))
			continue;
		rc = load_section(r, k);
		if (rc)
			goto cleanup;
	}
	/* Before 1.2 the site column meant nothing and was not checked. */
	if (get_le16(r->header + 10) < 2)
		for (i = 0; i < s->nobjects; i++)
			s->objects[i].site = 0;
	if (level >= SNAP_READ_REPORT && (rc = summary(r, objects)))
		goto cleanup;
	/* Types name their type objects by id: without the objects no id
	 * can be checked or used. */
	if (!objects)
		for (i = 0; i < s->ntypes; i++)
			s->types[i].object = UINT32_MAX;
	if (level == SNAP_READ_ALL && r->edge_objects != s->nobjects) {
		snap_tag_name(SNAP_TAG_EDGS, r->tag);
		rc = bad(r, "covers %" PRIu64 " objects, OBJS has %zu",
			 r->edge_objects, s->nobjects);
		goto cleanup;
	}
	if (s->edge_label && r->label_edges != s->nedges) {
		snap_tag_name(SNAP_TAG_ELBL, r->tag);
		rc = bad(r, "%" PRIu64 " labels for %zu edges", r->label_edges,
			 s->nedges);
		goto cleanup;
	}
	rc = snapshot_check(s, r->name);

cleanup:
	snap_summary_release(&r->file_sum);
	free(r->sum_arenas);
	free(r->scratch);
	if (rc)
		snapshot_release(s);
	return rc;
}

static int read_mem(const unsigned char *buf, size_t len, const char *name,
		    enum snap_read_level level, struct snapshot *s,
		    struct snap_file_info *info)
{
	struct reader r;

	memset(&r, 0, sizeof(r));
	r.name = name;
	r.buf = buf;
	r.fd = -1;
	r.len = len;
	r.info = info;
	return read_source(&r, level, s);
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
	/* Reports of a regular file read only the sections they decode
	 * (frame.c); the graph analyses read it whole, every section. */
	if (S_ISREG(st.st_mode) && level <= SNAP_READ_REPORT) {
		struct reader r;

		memset(&r, 0, sizeof(r));
		r.name = path;
		r.fd = fd;
		r.len = (uint64_t)st.st_size;
		r.info = info;
		rc = read_source(&r, level, s);
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
