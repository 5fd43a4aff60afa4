/*
 * Reading snapshot files (snapshot.h): framing, checksums and inflating;
 * decode.c decodes the sections' payloads, check.c has the format's
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

static const uint32_t known_tags[SECT__COUNT] = {
	SNAP_TAG_META, SNAP_TAG_STRS, SNAP_TAG_TYPS, SNAP_TAG_OBJS,
	SNAP_TAG_EDGS, SNAP_TAG_ROOT, SNAP_TAG_THRD, SNAP_TAG_GC,
	SNAP_TAG_STAT, SNAP_TAG_MALC, SNAP_TAG_SITE, SNAP_TAG_ELBL,
};

static bool section_optional(int k)
{
	return k == SECT_MALC || k == SECT_SITE || k == SECT_ELBL;
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
	if (s->edge_label && r.label_edges != s->nedges) {
		snap_tag_name(SNAP_TAG_ELBL, r.tag);
		rc = bad(&r, "%" PRIu64 " labels for %zu edges", r.label_edges,
			 s->nedges);
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
