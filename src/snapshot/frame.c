/*
 * Framing a snapshot file (format.h): the file header, every section's
 * header and CRC, END and its count.  Nothing is decompressed here, so a
 * truncated or damaged file is reported as such, not as whatever its
 * contents would have failed on.  read.c then inflates and decodes the
 * sections a level asks for.
 *
 * The bytes come from memory (the file read whole, or a fuzzer's input)
 * or, for reports, from the file descriptor as they are needed: every
 * section's stored bytes stream through the CRC in slices, and only the
 * sections decoded are ever held, so `pyheap diff` of two large
 * snapshots holds their summaries, not the files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

/* The CRC of stored bytes read from a file goes through this many bytes
 * at a time. */
#define CRC_SLICE (256u << 10)

const uint32_t snap_known_tags[SECT__COUNT] = {
	SNAP_TAG_META, SNAP_TAG_STRS, SNAP_TAG_TYPS, SNAP_TAG_OBJS,
	SNAP_TAG_EDGS, SNAP_TAG_ROOT, SNAP_TAG_THRD, SNAP_TAG_GC,
	SNAP_TAG_STAT, SNAP_TAG_MALC, SNAP_TAG_SITE, SNAP_TAG_ELBL,
	SNAP_TAG_SUMM, SNAP_TAG_GRPS,
};

bool snap_section_optional(int k)
{
	return k == SECT_MALC || k == SECT_SITE || k == SECT_ELBL ||
	       k == SECT_SUMM || k == SECT_GRPS;
}

static int truncated(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int truncated(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = reader_failv(r, "truncated snapshot (", ")", fmt, ap);
	va_end(ap);
	return rc;
}

/* n bytes at off of the file into dst.  The length was known when the
 * file was opened: a short read means it shrank meanwhile. */
static int src_read(struct reader *r, uint64_t off, void *dst, size_t n)
{
	unsigned char *p = dst;

	if (r->buf) {
		memcpy(dst, r->buf + off, n);
		return 0;
	}
	while (n) {
		ssize_t got = pread(r->fd, p, PH_MIN(n, (size_t)1 << 30),
				    (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return ph_error(PH_E_IO, "cannot read %s: %s", r->name,
					strerror(errno));
		if (!got)
			return ph_error(PH_E_FORMAT, "%s: the file shrank "
					"while it was read", r->name);
		p += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return 0;
}

/* The CRC of n bytes at off, continuing crc. */
static int src_crc(struct reader *r, uint64_t off, uint64_t n,
		   uint32_t *crc)
{
	if (r->buf) {
		*crc = (uint32_t)crc32_z(*crc, r->buf + off, (size_t)n);
		return 0;
	}
	if (!r->scratch)
		r->scratch = xmalloc(CRC_SLICE);
	while (n) {
		size_t k = (size_t)PH_MIN(n, (uint64_t)CRC_SLICE);
		int rc = src_read(r, off, r->scratch, k);

		if (rc)
			return rc;
		*crc = (uint32_t)crc32_z(*crc, r->scratch, k);
		off += k;
		n -= k;
	}
	return 0;
}

static int check_end(struct reader *r, const struct section *sc,
		     uint32_t nsections)
{
	unsigned char end[SNAP_END_LEN];
	uint32_t count, crc;
	int rc;

	if (sc->flags || sc->clen != sc->ulen || sc->ulen < SNAP_END_LEN)
		return bad(r, "must be stored and at least %d bytes",
			   SNAP_END_LEN);
	if ((rc = src_read(r, sc->off, end, sizeof(end))))
		return rc;
	count = get_le32(end);
	crc = get_le32(end + 4);
	if (count != nsections)
		return bad(r, "counts %" PRIu32 " sections, the file has %"
			   PRIu32, count, nsections);
	if (crc != (uint32_t)crc32(0, r->header, SNAP_HEADER_LEN))
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

static void list_section(struct reader *r, const struct section *sc,
			 uint64_t pos)
{
	struct snap_file_info *fi = r->info;
	struct snap_section_info *si;

	if (!fi)
		return;
	PH_GROW(fi->sections, fi->sections_alloc, fi->nsections + 1);
	si = &fi->sections[fi->nsections++];
	si->tag = sc->tag;
	si->flags = sc->flags;
	si->offset = pos;
	si->stored = sc->clen;
	si->size = sc->ulen;
}

/*
 * Walk the section headers, verify every CRC, find END and the known
 * sections (r->sect, r->have).
 */
int snap_frame(struct reader *r)
{
	uint64_t pos = SNAP_HEADER_LEN, len = r->len;
	uint32_t nsections = 0;
	int k, rc;

	for (;;) {
		unsigned char h[SNAP_SECTION_HEADER_LEN];
		uint64_t left = len - pos;
		struct section sc;

		if (!left)
			return truncated(r, "no END section");
		if (left < SNAP_SECTION_HEADER_LEN) {
			if (left < 4)
				return truncated(r, "section header at offset "
						 "%" PRIu64, pos);
			if ((rc = src_read(r, pos, h, 4)))
				return rc;
			return truncated(r, "section %s",
					 snap_tag_name(get_le32(h), r->tag));
		}
		if ((rc = src_read(r, pos, h, sizeof(h))))
			return rc;
		memset(&sc, 0, sizeof(sc));
		sc.tag = get_le32(h);
		sc.flags = get_le32(h + 4);
		sc.clen = get_le64(h + 8);
		sc.ulen = get_le64(h + 16);
		sc.crc = get_le32(h + 24);
		sc.off = pos + SNAP_SECTION_HEADER_LEN;
		sc.data = r->buf ? r->buf + sc.off : NULL;
		sc.hcrc = (uint32_t)crc32(0, h, 24);
		snap_tag_name(sc.tag, r->tag);
		if (sc.clen > left - SNAP_SECTION_HEADER_LEN)
			return truncated(r, "section %s", r->tag);
		{
			uint32_t crc = sc.hcrc;

			if ((rc = src_crc(r, sc.off, sc.clen, &crc)))
				return rc;
			if (crc != sc.crc)
				return ph_error(PH_E_FORMAT,
						"%s: bad checksum in section %s",
						r->name, r->tag);
		}
		list_section(r, &sc, pos);
		pos += SNAP_SECTION_HEADER_LEN + sc.clen;
		if (sc.tag == SNAP_TAG_END) {
			rc = check_end(r, &sc, nsections);
			if (rc)
				return rc;
			break;
		}
		nsections++;
		for (k = 0; k < SECT__COUNT; k++)
			if (snap_known_tags[k] == sc.tag)
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
				"%s: %" PRIu64 " bytes of garbage after the END "
				"section", r->name, len - pos);
	for (k = 0; k < SECT__COUNT; k++)
		if (!r->have[k] && !snap_section_optional(k))
			return ph_error(PH_E_FORMAT, "%s: missing section %s",
					r->name,
					snap_tag_name(snap_known_tags[k], r->tag));
	return 0;
}

/*
 * The stored bytes of section k in memory (r->sect[k].data).  From a
 * file they are read now, into *owned (the caller frees it), and their
 * CRC checked again: what is decoded must be what was checked, even if
 * the file changed in between.
 */
int snap_section_bytes(struct reader *r, int k, unsigned char **owned)
{
	struct section *sc = &r->sect[k];
	uint32_t crc;
	int rc;

	*owned = NULL;
	if (sc->data)
		return 0;
	*owned = xmalloc(sc->clen ? sc->clen : 1);
	if ((rc = src_read(r, sc->off, *owned, (size_t)sc->clen)))
		return rc;
	crc = (uint32_t)crc32_z(sc->hcrc, *owned, (size_t)sc->clen);
	if (crc != sc->crc)
		return ph_error(PH_E_FORMAT, "%s: section %s changed while "
				"the file was read", r->name, r->tag);
	sc->data = *owned;
	return 0;
}

int snap_check_header(struct reader *r)
{
	unsigned major;
	size_t n = (size_t)PH_MIN(r->len, (uint64_t)SNAP_HEADER_LEN);
	int rc;

	if (!r->len)
		return ph_error(PH_E_FORMAT,
				"%s: empty file, not a pyheap snapshot",
				r->name);
	if ((rc = src_read(r, 0, r->header, n)))
		return rc;
	if (memcmp(r->header, SNAP_MAGIC, PH_MIN(n, (size_t)SNAP_MAGIC_LEN)))
		return ph_error(PH_E_FORMAT, "%s: not a pyheap snapshot",
				r->name);
	if (r->len < SNAP_HEADER_LEN)
		return ph_error(PH_E_FORMAT,
				"%s: truncated snapshot (file header)", r->name);
	major = get_le16(r->header + 8);
	if (major > SNAP_MAJOR)
		return ph_error(PH_E_FORMAT,
				"%s: snapshot format %u.x is newer than this "
				"pyheap reads (%d.x)", r->name, major,
				SNAP_MAJOR);
	if (major != SNAP_MAJOR)
		return ph_error(PH_E_FORMAT,
				"%s: snapshot format %u.x is not supported "
				"(this pyheap reads %d.x)", r->name, major,
				SNAP_MAJOR);
	return 0;
}
