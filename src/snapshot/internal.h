/*
 * Private to snapshot/: the reader's state, shared by read.c (framing,
 * checksums, inflating) and decode.c (the sections' payloads).
 */
#ifndef PYHEAP_SNAPSHOT_INTERNAL_H
#define PYHEAP_SNAPSHOT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

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
	SECT_ELBL,      /* 1.5, optional; after STRS and EDGS */
	SECT_SUMM,      /* 1.7, optional */
	SECT_GRPS,      /* 1.8, optional */
	SECT__COUNT
};

struct section {
	uint32_t tag, flags;
	uint64_t clen, ulen;
	uint64_t off;              /* of the stored bytes in the file */
	uint32_t crc;              /* the header's CRC field */
	uint32_t hcrc;             /* crc32 of header bytes 0..23 */
	const unsigned char *data; /* clen stored bytes; NULL until read
				    * when the file is read as needed */
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
	/* The file: in memory (buf), or read from fd as needed (buf NULL:
	 * frame.c). */
	const unsigned char *buf;
	int fd;
	uint64_t len;
	unsigned char header[SNAP_HEADER_LEN];
	unsigned char *scratch;    /* fd: the CRC's slices */
	char tag[SNAP_TAG_BUF]; /* of the section being decoded */
	struct section sect[SECT__COUNT];
	bool have[SECT__COUNT];
	uint64_t edge_objects; /* EDGS's own object count */
	uint64_t label_edges;  /* ELBL's own edge count */
	/* SUMM as the file has it, checked against what the objects give
	 * when they are read too (read.c). */
	struct snap_summary file_sum;
	struct snap_arena *sum_arenas;
	size_t nsum_arenas, sum_arenas_alloc;
	struct snapshot *s;
	struct snap_file_info *info; /* NULL, or the sections to list */
};

static inline size_t cur_left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* The first failure sticks: later reads see an exhausted cursor. */
static inline void cur_fail(struct cursor *c, const char *err)
{
	if (!c->err)
		c->err = err;
	c->p = c->end;
}

/* Little-endian fixed-size fields. */
static inline uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

uint64_t get_varint_slow(struct cursor *c);

/* Most values are below 128: that case stays inline. */
static inline uint64_t get_varint(struct cursor *c)
{
	if (c->p < c->end && *c->p < 0x80)
		return *c->p++;
	return get_varint_slow(c);
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1 ^ (0 - (v & 1)));
}

static inline int64_t get_svarint(struct cursor *c)
{
	return unzigzag(get_varint(c));
}

const unsigned char *get_bytes(struct cursor *c, uint64_t n);
/* "NAME: HEAD...TAIL", -PH_E_FORMAT. */
int reader_failv(struct reader *r, const char *head, const char *tail,
		 const char *fmt, va_list ap);
/* "NAME: section TAG: ..." about the section being decoded. */
int bad(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* frame.c: the known sections' tags in SECT_* order; which may be
 * absent; the file header (r->header), then every section header and
 * CRC; the stored bytes of section k (read now when r->buf is NULL,
 * into *owned, which the caller frees). */
extern const uint32_t snap_known_tags[SECT__COUNT];
bool snap_section_optional(int k);
int snap_check_header(struct reader *r);
int snap_frame(struct reader *r);
int snap_section_bytes(struct reader *r, int k, unsigned char **owned);

/* Decode section k (SECT_*) from its payload (decode.c). */
int decode_section(struct reader *r, int k, struct cursor *c);

#endif
