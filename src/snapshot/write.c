#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "format.h"

static void put_u16(struct strbuf *sb, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	strbuf_add(sb, b, sizeof(b));
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
	unsigned char b[4];
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	strbuf_add(sb, b, sizeof(b));
}

static void put_u64(struct strbuf *sb, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	strbuf_add(sb, b, sizeof(b));
}

/* Millions of these per snapshot: strbuf_add() for each one cost more
 * than the encoding, so write in place and grow in big steps. */
static inline void put_varint(struct strbuf *sb, uint64_t v)
{
	unsigned char *p;

	if (sb->alloc - sb->len <= SNAP_VARINT_MAX)
		strbuf_grow(sb, 1 << 16);
	p = (unsigned char *)sb->buf + sb->len;
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	*p = '\0';
	sb->len = (size_t)(p - (unsigned char *)sb->buf);
}

/* In unsigned arithmetic: shifting a negative int64_t left is undefined. */
static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static void put_svarint(struct strbuf *sb, int64_t v)
{
	put_varint(sb, zigzag(v));
}

static void put_f64(struct strbuf *sb, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_u64(sb, v);
}

static uint64_t field_u(const void *row, const struct snap_column *c)
{
	const char *p = (const char *)row + c->offset;

	if (c->width == 4) {
		uint32_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	} else {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
}

static int64_t field_s(const void *row, const struct snap_column *c)
{
	const char *p = (const char *)row + c->offset;

	if (c->width == 4) {
		int32_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	} else {
		int64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
}

static void put_column(struct strbuf *sb, struct strbuf *col,
		       const void *rows, size_t nrows,
		       const struct snap_table *t, const struct snap_column *c)
{
	const char *row = rows;
	uint64_t prev = 0;
	size_t i;

	strbuf_reset(col);
	for (i = 0; i < nrows; i++, row += t->row_size) {
		switch (c->enc) {
		case SNAP_ENC_U:
			put_varint(col, field_u(row, c));
			break;
		case SNAP_ENC_S:
			put_svarint(col, field_s(row, c));
			break;
		case SNAP_ENC_D: {
			uint64_t v = field_u(row, c);

			/* snapshot_check() made the sequence increasing; an
			 * unchecked encode wraps, which is what tests want. */
			put_varint(col, i ? v - prev : v);
			prev = v;
			break;
		}
		}
	}
	put_varint(sb, c->id);
	put_varint(sb, col->len);
	strbuf_add(sb, col->buf, col->len);
}

static void put_table(struct strbuf *sb, const struct snap_table *t,
		      const void *rows, size_t nrows)
{
	struct strbuf col = STRBUF_INIT;
	size_t i;

	put_varint(sb, nrows);
	put_varint(sb, t->ncols);
	for (i = 0; i < t->ncols; i++)
		put_column(sb, &col, rows, nrows, t, &t->cols[i]);
	strbuf_release(&col);
}

static void put_props(struct strbuf *sb, const struct snap_prop *props,
		      size_t n, const void *base)
{
	struct strbuf val = STRBUF_INIT;
	size_t i;

	put_varint(sb, n);
	for (i = 0; i < n; i++) {
		const struct snap_prop *p = &props[i];
		const char *field = (const char *)base + p->offset;
		size_t klen = strlen(p->key);

		strbuf_reset(&val);
		switch (p->type) {
		case SNAP_VAL_UINT:
		case SNAP_VAL_STRING:
			if (p->width == 1) {
				unsigned char b; /* a bool, read as bytes */

				memcpy(&b, field, sizeof(b));
				put_varint(&val, b != 0);
			} else if (p->width == 4) {
				uint32_t v;

				memcpy(&v, field, sizeof(v));
				put_varint(&val, v);
			} else {
				uint64_t v;

				memcpy(&v, field, sizeof(v));
				put_varint(&val, v);
			}
			break;
		case SNAP_VAL_INT: {
			int64_t v;

			memcpy(&v, field, sizeof(v));
			put_svarint(&val, v);
			break;
		}
		case SNAP_VAL_F64: {
			double d;

			memcpy(&d, field, sizeof(d));
			put_f64(&val, d);
			break;
		}
		}
		put_varint(sb, klen);
		strbuf_add(sb, p->key, klen);
		strbuf_addch(sb, p->type);
		put_varint(sb, val.len);
		strbuf_add(sb, val.buf, val.len);
	}
	strbuf_release(&val);
}

static void put_strings(struct strbuf *sb, const struct snapshot *s)
{
	size_t i;

	put_varint(sb, s->nstrings);
	for (i = 0; i < s->nstrings; i++)
		put_varint(sb, s->string_len[i]);
	for (i = 0; i < s->nstrings; i++)
		strbuf_add(sb, s->strings[i], s->string_len[i]);
}

static void put_edges(struct strbuf *sb, const struct snapshot *s)
{
	size_t i;

	put_varint(sb, s->nobjects);
	put_varint(sb, s->nedges);
	/* A builder that found no referents may leave edge_start unset. */
	for (i = 0; i < s->nobjects; i++)
		put_varint(sb, s->edge_start ?
			       s->edge_start[i + 1] - s->edge_start[i] : 0);
	if (!s->edge_start)
		return;
	/*
	 * Referents tend to sit near their referrer (an instance and its
	 * __dict__, a tuple and the objects built just before it) or near
	 * each other (a list of objects made in a loop), so each id is stored
	 * relative to the previous one, starting from the referrer's own.
	 */
	for (i = 0; i < s->nobjects; i++) {
		int64_t prev = (int64_t)i;
		uint32_t e;

		for (e = s->edge_start[i]; e < s->edge_start[i + 1]; e++) {
			put_svarint(sb, (int64_t)s->edge_dst[e] - prev);
			prev = s->edge_dst[e];
		}
	}
}

/* ELBL (format.h): 4x + kind, an index as its difference from the one
 * after the row's previous index: the items of a list, numbered in the
 * order of their addresses, are mostly 0s, which deflate squeezes. */
static void put_labels(struct strbuf *sb, const struct snapshot *s)
{
	size_t i;

	put_varint(sb, s->nedges);
	for (i = 0; i < s->nobjects; i++) {
		int64_t prev = -1;
		uint32_t e;

		for (e = s->edge_start[i]; e < s->edge_start[i + 1]; e++) {
			uint32_t l = s->edge_label[e];
			uint64_t x = EDGE_LABEL_VALUE(l);

			if ((l & EDGE_LABEL_KIND) == EDGE_LABEL_INDEX) {
				int64_t d = (int64_t)x - (prev + 1);

				prev = (int64_t)x;
				x = zigzag(d);
			}
			put_varint(sb, 4 * x + ((l & EDGE_LABEL_KIND) >> 28));
		}
	}
}

/* deflate's counters are 32-bit, so big payloads go through in slices. */
static void deflate_payload(const struct strbuf *in, struct strbuf *out)
{
	z_stream z;
	size_t left = in->len;
	int zrc;

	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, SNAP_ZLIB_LEVEL) != Z_OK)
		ph_die("cannot initialise zlib");
	z.next_in = (Bytef *)in->buf;
	strbuf_reset(out);
	strbuf_grow(out, deflateBound(&z, in->len));
	do {
		size_t room;

		if (!z.avail_in && left) {
			z.avail_in = (uInt)PH_MIN(left, (size_t)UINT_MAX);
			left -= z.avail_in;
		}
		strbuf_grow(out, 1 << 16);
		room = PH_MIN(out->alloc - out->len - 1, (size_t)UINT_MAX);
		z.next_out = (Bytef *)out->buf + out->len;
		z.avail_out = (uInt)room;
		zrc = deflate(&z, left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
		strbuf_setlen(out, out->len + room - z.avail_out);
		if (zrc == Z_STREAM_ERROR)
			ph_die("zlib deflate failed");
	} while (zrc != Z_STREAM_END);
	deflateEnd(&z);
}

/*
 * The sections, each built and compressed on its own: their payloads are
 * pure functions of the snapshot, so with jobs > 1 several threads take
 * the sections in turn (the largest first) and build and deflate each, and
 * the file is then assembled in the format's order.  That holds every
 * payload at once (about 20 bytes per object), where one at a time needed
 * only the largest; the census tables the snapshot was built from are
 * gone by then, so the peak is not here.
 */
enum { SEC_META, SEC_STRS, SEC_TYPS, SEC_OBJS, SEC_EDGS, SEC_ROOT, SEC_THRD,
       SEC_GC, SEC_STAT, SEC_MALC, SEC_SITE, SEC_ELBL, SEC_SUMM, SEC_GRPS,
       SEC__COUNT };

static const uint32_t sec_tags[SEC__COUNT] = {
	SNAP_TAG_META, SNAP_TAG_STRS, SNAP_TAG_TYPS, SNAP_TAG_OBJS,
	SNAP_TAG_EDGS, SNAP_TAG_ROOT, SNAP_TAG_THRD, SNAP_TAG_GC,
	SNAP_TAG_STAT, SNAP_TAG_MALC, SNAP_TAG_SITE, SNAP_TAG_ELBL,
	SNAP_TAG_SUMM, SNAP_TAG_GRPS,
};

/* Which sections to take first: the big ones, so no thread is left with
 * OBJS when the others are done. */
static const unsigned char sec_order[SEC__COUNT] = {
	SEC_OBJS, SEC_EDGS, SEC_ELBL, SEC_SUMM, SEC_MALC, SEC_STRS, SEC_SITE,
	SEC_TYPS, SEC_META, SEC_ROOT, SEC_THRD, SEC_GC, SEC_STAT, SEC_GRPS,
};

struct section {
	bool present;
	struct strbuf p; /* the payload */
	struct strbuf z; /* deflated, if smaller */
	bool zlib;
};

struct encoding {
	const struct snapshot *s;
	unsigned flags;
	struct section sec[SEC__COUNT];
	size_t next; /* in sec_order: the next section to take */
};

static void build_payload(const struct snapshot *s, int k, struct strbuf *p)
{
	switch (k) {
	case SEC_META:
		put_props(p, snap_meta_props, snap_nmeta_props, &s->meta);
		break;
	case SEC_STRS:
		put_strings(p, s);
		break;
	case SEC_TYPS:
		put_table(p, &snap_types_table, s->types, s->ntypes);
		break;
	case SEC_OBJS:
		put_table(p, &snap_objects_table, s->objects, s->nobjects);
		break;
	case SEC_EDGS:
		put_edges(p, s);
		break;
	case SEC_ROOT:
		put_table(p, &snap_roots_table, s->roots, s->nroots);
		break;
	case SEC_THRD:
		put_table(p, &snap_threads_table, s->threads, s->nthreads);
		put_table(p, &snap_frames_table, s->frames, s->nframes);
		break;
	case SEC_GC:
		put_props(p, snap_gc_props, snap_ngc_props, &s->gc);
		break;
	case SEC_STAT:
		put_table(p, &snap_stats_table, s->stats, s->nstats);
		break;
	case SEC_MALC:
		put_table(p, &snap_chunks_table, s->chunks, s->nchunks);
		put_table(p, &snap_arenas_table, s->arenas, s->narenas);
		break;
	case SEC_SITE:
		put_table(p, &snap_sites_table, s->sites, s->nsites);
		put_table(p, &snap_site_frames_table, s->site_frames,
			  s->nsite_frames);
		break;
	case SEC_ELBL:
		put_labels(p, s);
		break;
	case SEC_SUMM: {
		/* The summary, from the objects and chunks the other sections
		 * hold, never from a summary the snapshot may carry (it could
		 * be stale). */
		struct snap_summary sum;

		snapshot_summarize(s, &sum);
		put_table(p, &snap_cells_table, sum.cells, sum.ncells);
		put_table(p, &snap_chunk_cells_table, sum.chunk_cells,
			  sum.nchunk_cells);
		put_table(p, &snap_arenas_table, s->arenas, s->narenas);
		snap_summary_release(&sum);
		break;
	}
	case SEC_GRPS:
		put_table(p, &snap_garbage_groups_table, s->groups.garbage,
			  s->groups.ngarbage);
		put_table(p, &snap_lost_groups_table, s->groups.lost,
			  s->groups.nlost);
		break;
	}
}

/* A worker (base/par.c): sections until none is left. */
static void encode_piece(void *arg)
{
	struct encoding *e = *(struct encoding **)arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&e->next, 1, __ATOMIC_RELAXED);
		struct section *x;

		if (i >= SEC__COUNT)
			return;
		x = &e->sec[sec_order[i]];
		if (!x->present)
			continue;
		build_payload(e->s, sec_order[i], &x->p);
		if (e->flags & SNAP_ENCODE_STORED)
			continue;
		deflate_payload(&x->p, &x->z);
		x->zlib = x->z.len < x->p.len;
	}
}

static void put_section(struct strbuf *out, uint32_t tag,
			const struct strbuf *stored, uint64_t size,
			bool zlib, size_t *nsections)
{
	size_t hdr = out->len;
	uLong crc;

	put_u32(out, tag);
	put_u32(out, zlib ? SNAP_SECT_ZLIB : 0);
	put_u64(out, stored->len);
	put_u64(out, size);
	crc = crc32(0, (const Bytef *)out->buf + hdr, 24);
	crc = crc32_z(crc, (const Bytef *)stored->buf, stored->len);
	put_u32(out, (uint32_t)crc);
	strbuf_add(out, stored->buf, stored->len);
	(*nsections)++;
}

int snapshot_encode_jobs(const struct snapshot *s, struct strbuf *out,
			 const char *name, unsigned flags, int jobs)
{
	struct encoding *e, *ep[8];
	struct strbuf p = STRBUF_INIT;
	size_t start = out->len, nsections = 0, n, k;
	int rc;

	if (!(flags & SNAP_ENCODE_UNCHECKED)) {
		rc = snapshot_check(s, name);
		if (rc)
			return rc;
	}
	e = xcalloc(1, sizeof(*e));
	e->s = s;
	e->flags = flags;
	for (k = 0; k < SEC__COUNT; k++) {
		strbuf_init(&e->sec[k].p);
		strbuf_init(&e->sec[k].z);
		e->sec[k].present = true;
	}
	e->sec[SEC_MALC].present = (s->meta.flags & SNAP_NATIVE) ||
				   s->nchunks || s->narenas;
	e->sec[SEC_SITE].present = s->nsites || s->nsite_frames;
	e->sec[SEC_ELBL].present = s->edge_label && s->edge_start;
	e->sec[SEC_SUMM].present = !(flags & SNAP_ENCODE_NO_SUMMARY);
	e->sec[SEC_GRPS].present = s->groups.present;
	/* Off the shared empty buffer before any thread writes a NUL. */
	for (k = 0; k < SEC__COUNT; k++) {
		strbuf_grow(&e->sec[k].p, 64);
		strbuf_grow(&e->sec[k].z, 64);
	}
	n = jobs > 1 ? (size_t)PH_MIN(jobs, 8) : 1;
	for (k = 0; k < n; k++)
		ep[k] = e;
	ph_parallel(n, encode_piece, ep, sizeof(ep[0]));

	strbuf_add(out, SNAP_MAGIC, SNAP_MAGIC_LEN);
	put_u16(out, SNAP_MAJOR);
	put_u16(out, SNAP_MINOR);
	put_u32(out, 0);
	for (k = 0; k < SEC__COUNT; k++) {
		struct section *x = &e->sec[k];

		if (x->present)
			put_section(out, sec_tags[k], x->zlib ? &x->z : &x->p,
				    x->p.len, x->zlib, &nsections);
		strbuf_release(&x->p);
		strbuf_release(&x->z);
	}
	free(e);

	put_u32(&p, (uint32_t)nsections);
	put_u32(&p, (uint32_t)crc32(0, (const Bytef *)out->buf + start,
				    SNAP_HEADER_LEN));
	put_section(out, SNAP_TAG_END, &p, p.len, false, &nsections);
	strbuf_release(&p);
	return 0;
}

int snapshot_encode(const struct snapshot *s, struct strbuf *out,
		    const char *name, unsigned flags)
{
	return snapshot_encode_jobs(s, out, name, flags, 1);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, PH_MIN(len, (size_t)1 << 30));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the rename durable: without this a crash can forget it. */
static int sync_dir(const char *path)
{
	char *dir = ph_dirname(path);
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Some file systems cannot sync a directory (EINVAL): nothing more
	 * can be done there, and the file itself is already synced. */
	if (fd < 0 || (fsync(fd) && errno != EINVAL))
		rc = -1;
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	free(dir);
	return rc;
}

int snapshot_write(const struct snapshot *s, const char *path,
		   uint64_t *file_size)
{
	return snapshot_write_jobs(s, path, file_size, 1);
}

/* Messages name the file with its directory: "cannot write
 * pyheap-1-....snap" would not say where. */
static char *what_of(const char *path)
{
	char *abs = ph_abspath(path), *what;

	what = xasprintf("cannot write %s", abs);
	free(abs);
	return what;
}

int snapshot_file_create(const char *path, char **tmp_out, int *fd_out)
{
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	int fd, rc;

	*tmp_out = NULL;
	*fd_out = -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Only an earlier pyheap with our pid, killed mid-write, can
		 * have left this name behind. */
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	/* open() applies the umask; the contract is exactly 0600 (a snapshot
	 * describes another process's memory). */
	if (fd < 0 || fchmod(fd, 0600)) {
		char *what = what_of(path);

		rc = ph_error(PH_E_IO, "%s: %s", what, strerror(errno));
		free(what);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return rc;
	}
	*tmp_out = tmp;
	*fd_out = fd;
	return 0;
}

int snapshot_write_fd(const struct snapshot *s, int fd, const char *path,
		      uint64_t *file_size, int jobs)
{
	struct strbuf buf = STRBUF_INIT;
	char *what = what_of(path);
	int rc;

	rc = snapshot_encode_jobs(s, &buf, what, 0, jobs);
	if (!rc && (write_all(fd, buf.buf, buf.len) || fsync(fd)))
		rc = ph_error(PH_E_IO, "%s: %s", what, strerror(errno));
	if (!rc && file_size)
		*file_size = buf.len;
	free(what);
	strbuf_release(&buf);
	return rc;
}

int snapshot_file_commit(const char *tmp, const char *path)
{
	char *what = what_of(path);
	int rc = 0;

	if (rename(tmp, path)) {
		rc = ph_error(PH_E_IO, "%s: cannot rename %s to it: %s", what,
			      ph_basename(tmp), strerror(errno));
		unlink(tmp);
	} else if (sync_dir(path)) {
		char *abs = ph_abspath(path);

		/* Keep the promise that a failed write leaves nothing under
		 * the final name. */
		rc = ph_error(PH_E_IO, "cannot sync the directory of %s: %s",
			      abs, strerror(errno));
		free(abs);
		unlink(path);
	}
	free(what);
	return rc;
}

int snapshot_write_jobs(const struct snapshot *s, const char *path,
			uint64_t *file_size, int jobs)
{
	char *tmp;
	int fd, rc;

	rc = snapshot_file_create(path, &tmp, &fd);
	if (rc)
		return rc;
	rc = snapshot_write_fd(s, fd, path, file_size, jobs);
	if (close(fd) && !rc) {
		char *what = what_of(path);

		rc = ph_error(PH_E_IO, "%s: %s", what, strerror(errno));
		free(what);
	}
	if (rc)
		unlink(tmp);
	else
		rc = snapshot_file_commit(tmp, path);
	free(tmp);
	return rc;
}
