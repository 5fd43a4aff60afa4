/*
 * The pyheap snapshot file (.snap), format 1.8.
 *
 * This comment is the specification; man/pyheap-snapshot.5 says the same
 * for users, and tests/live/snapfile.py is an independent reader written
 * from it.  Change all three together.
 *
 * Overview
 * --------
 * A file is a 16-byte file header followed by sections.  Every section has
 * a 28-byte section header, a CRC32 and a payload that is usually
 * zlib-compressed.  The last section is always END.  Integers in fixed-size
 * fields are little-endian; everything inside payloads is varints.
 *
 *     file header                       16 bytes
 *     section META                      28-byte header + payload
 *     section STRS, TYPS, OBJS, EDGS, ROOT, THRD, GC, STAT
 *     section MALC                      (1.1, optional)
 *     section SITE                      (1.2, optional)
 *     section ELBL                      (1.5, optional)
 *     section SUMM                      (1.7, optional)
 *     section GRPS                      (1.8, optional)
 *     section END                       28-byte header + 8 bytes
 *     (nothing after END)
 *
 * File header (SNAP_HEADER_LEN = 16 bytes)
 * ----------------------------------------
 *     offset size
 *          0    8  magic "PYHEAPSN" (SNAP_MAGIC)
 *          8    2  u16 major version (SNAP_MAJOR = 1)
 *         10    2  u16 minor version (SNAP_MINOR = 9)
 *         12    4  u32 flags: reserved, written as 0, ignored by readers
 *
 * Section header (SNAP_SECTION_HEADER_LEN = 28 bytes)
 * ---------------------------------------------------
 *     offset size
 *          0    4  tag: four ASCII bytes in file order ("OBJS"), padded
 *                  with spaces ("GC  "); read as a u32 LE it is SNAP_TAG()
 *          4    4  u32 flags: bit 0 SNAP_SECT_ZLIB, other bits reserved (0)
 *          8    8  u64 stored length: the bytes that follow the header
 *         16    8  u64 payload length: after decompression
 *         24    4  u32 CRC32 (zlib's crc32(), polynomial 0xedb88320) of
 *                  bytes 0..23 of this header followed by the stored bytes
 *         28    -  the stored bytes
 *
 * With SNAP_SECT_ZLIB the stored bytes are one zlib stream (RFC 1950,
 * deflate with the adler32 trailer) that inflates to exactly the payload
 * length, with nothing after the stream.  Without it the stored bytes are
 * the payload and the two lengths are equal.  Writers compress with zlib
 * level SNAP_ZLIB_LEVEL and store a section raw when deflate does not
 * shrink it (END always, tiny sections).  The CRC covers the header so that
 * a damaged tag or length is caught as surely as damaged data.
 *
 * Limits readers enforce before allocating anything: a file is at most
 * SNAP_MAX_FILE (64 GiB); a payload at most SNAP_MAX_PAYLOAD (16 GiB) and,
 * compressed, at most SNAP_MAX_RATIO (1100) times its stored length
 * (deflate cannot exceed about 1032:1); a count of strings, types, objects,
 * edges, roots, threads, frames, stats, chunks, arenas, sites, site
 * frames, cells or chunk cells at most SNAP_MAX_COUNT
 * (2^32 - 2, so every id fits in a u32 and UINT32_MAX can mean "none"),
 * and never more than the bytes left in its payload (every value takes at
 * least one byte).
 *
 * Payload encodings
 * -----------------
 *   varint    unsigned LEB128: 7 bits per byte, least significant group
 *             first, bit 7 set on every byte but the last; at most 10 bytes
 *             and the value must fit in 64 bits
 *   svarint   a signed value v as the varint of its zigzag form
 *             (v << 1) ^ (v >> 63), so 0, -1, 1, -2 are 0, 1, 2, 3
 *   f64       IEEE 754 binary64, 8 bytes little-endian
 *   string id a varint index into the STRS table (0 is "", meaning none)
 *
 * Tables.  TYPS, OBJS, ROOT, THRD, STAT, MALC, SITE and SUMM store rows
 * column
 * by column
 * (all addresses, then all sizes, ...), which compresses far better than
 * rows:
 *
 *     varint nrows
 *     varint ncols
 *     ncols times:  varint column id, varint byte length, the column
 *
 * A column holds exactly nrows values in its encoding and nothing else.
 * Column encodings:
 *   U  varint per row
 *   S  svarint per row
 *   D  strictly increasing: the first value as a varint, then each value
 *      minus the previous one as a varint, which must be at least 1
 * Column ids are unique within a table.  Readers skip ids they do not
 * know and reject a table that lacks a column they know.
 *
 * Property lists.  META and GC are lists of named, typed values:
 *
 *     varint n
 *     n times:  varint key length, key bytes (ASCII), u8 value type,
 *               varint value length, the value
 *
 * Value types: SNAP_VAL_UINT (varint), SNAP_VAL_INT (svarint), SNAP_VAL_F64
 * (f64, length 8), SNAP_VAL_STRING (string id).  The value length must be
 * exactly the encoded value's.  Readers ignore keys they do not know (the
 * value length lets them skip any type), reject a known key that repeats or
 * has another type, and take 0 (or "") for a known key that is absent.
 *
 * Sections of format 1.0 (all required, each exactly once)
 * ----------------------------------------------------------
 * META  property list (struct snap_meta):
 *         pid int, exe string, cmdline string, host string, python string,
 *         python_elf string, offsets string, pyheap_version string,
 *         taken_at f64 (Unix time, s), pause_ms f64, capture_ms f64,
 *         parse_ms f64, image_bytes uint, flags uint (< 2^32, SNAP_*);
 *         1.1 adds rss_bytes uint, malloc string, malloc_note string;
 *         1.2 adds tracemalloc_tracing uint (0 or 1: the target's
 *         tracemalloc was tracing), tracemalloc_frames uint (< 2^32: its
 *         frame limit, 0 unknown), traced_memory uint (its own count of
 *         traced bytes, 0 when not tracing or not found: stripped 3.7-3.11
 *         builds keep it where it cannot be located), sites_note string
 *         (why traced sites are missing although it was tracing, or
 *         why whether it traced is unknown);
 *         1.3 adds checks string (one line per group of interpreter
 *         layout values that _Py_DebugOffsets does not give: "GC lists:
 *         table +24, verified", "... searched: +20", "unverified, not
 *         used: why"), and flags bit SNAP_UNVERIFIED (8): a group could
 *         not be verified and that part was not read;
 *         1.4 adds parent_pid int (the parent's PID at capture, 0
 *         unknown) and started_at f64 (when the process started, Unix
 *         time from /proc/PID/stat to the clock tick, 0 unknown): with
 *         pid, which process it was, for series of prefork workers;
 *         1.5 adds labels string (which str keys label dict edges in
 *         ELBL: "identifiers", "all", or "" when ELBL is absent);
 *         1.9 adds core string (the core file it was read from, "" for
 *         a live process), core_missing_bytes uint and
 *         core_missing_mappings uint (readable data mappings the core
 *         holds no bytes of, as coredump_filter left them out)
 *
 * STRS  the string table:
 *         varint n (at least 1), n varint lengths (each < 2^32), then the
 *         n strings' bytes back to back, nothing after.  String 0 is the
 *         empty string.  Strings are bytes: NULs and non-UTF-8 allowed.
 *
 * TYPS  table, one row per type (struct snap_type):
 *         1 addr U, 2 name U string id, 3 module U string id,
 *         4 flags U (< 2^32, TYPE_*), 5 object U (object id of the type
 *         object, or 4294967295 for none), 6 basicsize S, 7 itemsize S
 *
 * OBJS  table, one row per object, sorted by address (struct snap_object);
 *       an object's id is its row number:
 *         1 addr D, 2 size U, 3 buffers U (at most size), 4 refcnt S,
 *         5 type U (type id: row in TYPS), 6 flags U (< 2^32, OBJ_*),
 *         7 site U (< 2^32, allocation site id: 0 none, else at most the
 *         number of SITE rows; files before 1.2 wrote 0 and did not check
 *         it, so readers take 0 for every object of a 1.0 or 1.1 file);
 *         1.4 adds, both optional (absent: 0) and meaningful only when
 *         META flags has SNAP_REFCOUNTS: 8 unexplained S (refcount minus
 *         the owned references found: edges with multiplicity, roots;
 *         0 where OBJ_NOT_ARITHMETIC), 9 gc_refs S (for a GC-tracked
 *         object, refcount minus the owned references from GC-tracked
 *         objects: what CPython's collector would have left after
 *         subtract_refs; 0 for others)
 *
 * EDGS  the referents of every object, in object order (CSR):
 *         varint nobjects (equal to the OBJS row count)
 *         varint nedges
 *         nobjects varints: each object's number of referents (sum nedges)
 *         nedges svarints: each referent's object id minus the previous
 *           one, where "previous" is the referring object's own id for its
 *           first referent.  Every id must be < nobjects.
 *
 * ROOT  table (struct snap_root):
 *         1 kind U (< 2^32, enum root_kind), 2 object U object id,
 *         3 name U string id
 *
 * THRD  two tables back to back, threads then frames:
 *         threads (struct snap_thread): 1 tid S, 2 flags U (< 2^32),
 *           3 first_frame U, 4 nframes U: frames first_frame ..
 *           first_frame + nframes - 1, innermost first, within the table
 *         frames (struct snap_frame): 1 function U string id,
 *           2 file U string id, 3 line S (int32, -1 unknown)
 *
 * GC    property list (struct snap_gc): valid uint (0 or 1), enabled uint
 *       (0 or 1), threshold0 threshold1 threshold2 int, count0 count1
 *       count2 int
 *
 * STAT  table (struct snap_stat): 1 name U string id, 2 value S
 *
 * MALC  (1.1, optional: present when flags has SNAP_NATIVE) two tables
 *       back to back, chunks then arenas:
 *         chunks (struct snap_chunk), sorted by address, non-overlapping:
 *           1 addr D, 2 size U (>= 16), 3 owner U (object id or
 *           4294967295), 4 state U (1..6, enum chunk_state_snap),
 *           5 owner_kind U (0..5, enum chunk_owner; an owner id is given
 *           exactly for OBJECT, BUFFER and NATIVE), 6 arena U (arena
 *           index or 4294967295); 1.6 adds (with flag SNAP_LEAKS, 32)
 *           7 reach U (enum chunk_reach, 0 for chunks not in use),
 *           8 leader U (indirectly lost: 1 + the row of its clique's
 *           leader, which is definitely lost; else 0), 9 sig U (leaders:
 *           string id of the signature; else 0), 10 holder U (1 + the
 *           object id the scan reached the chunk from, or 0), 11 root U
 *           (string id of the root region that reached it, or 0)
 *         arenas (struct snap_arena): 1 addr U, 2 system_mem U,
 *           3 top_bytes U, 4 flags U (< 2^32; 1 = main arena)
 *
 * SITE  (1.2, optional: absent means no object has a site) two tables
 *       back to back, sites then site frames.  Site id k (k >= 1) is row
 *       k - 1 of the sites table; id 0 means "no site".
 *         sites (struct snap_site): 1 kind U (1 traced: a traceback the
 *           target's tracemalloc recorded; 2 inferred: from the object
 *           itself), 2 first_frame U, 3 nframes U (>= 1): the site's
 *           frames are rows first_frame .. first_frame + nframes - 1 of
 *           the frames table, innermost first, 4 total_frames U (>=
 *           nframes: the stack's depth before tracemalloc cut it),
 *           5 traces U, 6 traced_bytes U (allocations tracemalloc traced
 *           with this traceback and the sizes asked for, objects or not),
 *           7 unowned_traces U (<= traces), 8 unowned_bytes U (<=
 *           traced_bytes: the part that is no object's block and no
 *           buffer an object owns); 5 to 8 are 0 for inferred sites
 *         site frames (struct snap_site_frame): 1 file U string id,
 *           2 line U (< 2^32, 0 unknown)
 *       Traced sites cover every traceback with a readable trace, so
 *       their traced_bytes add up to META traced_memory when nothing was
 *       lost.  An inferred site has one frame: a function, code object,
 *       generator, coroutine or frame object's code (co_filename,
 *       co_firstlineno; a cell or closure tuple takes its function's),
 *       or a class's module name with line 0.
 *
 * ELBL  (1.5, optional: absent means no edge has a label) one label per
 *       edge of EDGS, in EDGS's order:
 *         varint nedges (equal to EDGS's)
 *         nedges varints, each 4x + kind: kind 0 with x = 0 no label,
 *           kind 0 with x >= 1 an attribute or field named by string id
 *           x ("__dict__", "__closure__"), kind 2 the value of a dict
 *           entry whose key is string id x, kind 1 item i of a list,
 *           tuple or deque with x the zigzag form (as svarint) of
 *           i - (p + 1), p the previous item index in the same object's
 *           row (-1 at its first), so that items in order are 0s; kind 3
 *           reserved.  Every x and i < 2^28
 *         A string id must be < the STRS count.  Where a row's duplicate
 *         referents were merged, the smallest label is kept.
 *
 * SUMM  (1.7, optional: absent in older files, whose readers compute the
 *       same from OBJS and MALC) the summary (struct snap_summary), three
 *       tables back to back:
 *         cells (struct snap_cell), sorted strictly by (type, site): the
 *           objects of one type and allocation site: 1 type U (type id),
 *           2 site U (site id or 0), 3 count U (>= 1), 4 bytes U (their
 *           sizes' sum), 5 gc_tracked U (<= count: with OBJ_GC_TRACKED),
 *           6 garbage_bytes U (<= bytes: of those with OBJ_GARBAGE)
 *         chunk cells (struct snap_chunk_cell), sorted strictly by
 *           (state, owner_kind, owner_type, flags, size): 1 state U (as
 *           MALC's), 2 owner_kind U, 3 owner_type U (OWNER_NATIVE: the
 *           type id of the chunks' owner, else 4294967295), 4 flags U
 *           (1: in no arena), 5 size U (native chunks, owner_kind NATIVE
 *           or UNOWNED: their size, at least 16; else 0), 6 count U
 *           (>= 1), 7 bytes U (count x size for native chunks)
 *         arenas: MALC's arenas table again (a few rows), so that the
 *           memory breakdown needs no MALC
 *       Every cell is what OBJS (and MALC) give, exactly: a reader that
 *       decodes those too rejects a SUMM that differs.
 *
 * GRPS  (1.8, optional) the groups snap's analyses found (struct
 *       snap_groups), two tables back to back:
 *         garbage groups (struct snap_garbage_group), pyheap garbage's
 *           groups in its order: 1 part U (1 collectable, 2 never
 *           collectable), 2 shape U (string id), 3 cycles U, 4 objects
 *           U, 5 bytes U
 *         lost groups (struct snap_lost_group), pyheap leaks' groups:
 *           1 reach U (MALC's: 2 possibly lost, 3 held by garbage, 4
 *           definitely lost), 2 signature U (string id, 0 none), 3 size
 *           U (chunk size), 4 chunks U, 5 bytes U, 6 indirect_chunks U,
 *           7 indirect_bytes U
 *       The garbage groups count only when STAT has the garbage totals
 *       and the figures garbage --since compares (garbage.objects,
 *       garbage.unexplained.objects, garbage.unexplained.refs,
 *       garbage.collectable.cycles, garbage.uncollectable.cycles); the
 *       lost groups only with flag 32 and the leaks.* class stats.
 *       Written by snap from its analyses; readers take them as they
 *       are, like those stats: they are not checked against OBJS, EDGS
 *       or MALC.
 *
 * END   stored (flags 0), payload at least 8 bytes:
 *         u32 number of sections before END, unknown ones included
 *         u32 CRC32 of the 16-byte file header
 *       The file ends right after it.  Readers ignore payload bytes
 *       after the first 8.
 *
 * Writers emit the sections in the order above.  Readers accept any order
 * but require END last, require every 1.0 section (MALC, SITE, ELBL,
 * SUMM and GRPS are optional), reject a known section that appears twice, and verify every
 * section's CRC, including sections they skip.
 *
 * Versioning
 * ----------
 * Readers accept every minor version of the majors they know and reject
 * other majors: "FILE: snapshot format 7.x is newer than this pyheap reads
 * (1.x)".  A minor version may add sections (new tags), table columns,
 * property-list keys, value types, header and section flag bits that
 * readers can ignore, and bytes after the first 8 of END; files stay
 * readable by every 1.x reader, which skips what it does not know.
 * Anything else (changing what a field means or how it is encoded,
 * removing a required section, column or key) needs a new major.
 * 1.1 added MALC and the META keys rss_bytes, malloc, malloc_note.  1.2
 * added SITE, gave OBJS site its meaning (checked against SITE), and the
 * META keys tracemalloc_tracing, tracemalloc_frames, traced_memory and
 * sites_note.  1.3 added the META key checks and flag 8; 1.4 the META
 * keys parent_pid and started_at, OBJS columns 8 and 9 and flag 16; 1.5
 * ELBL and the META key labels; 1.6 MALC chunk columns 7 to 11 and flag
 * 32; 1.7 SUMM; 1.8 GRPS.
 */
#ifndef PYHEAP_SNAPSHOT_FORMAT_H
#define PYHEAP_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

#define SNAP_MAGIC "PYHEAPSN"
#define SNAP_MAGIC_LEN 8
#define SNAP_MAJOR 1
#define SNAP_MINOR 9
#define SNAP_HEADER_LEN 16
#define SNAP_SECTION_HEADER_LEN 28

/* Section header flags. */
#define SNAP_SECT_ZLIB 1u

/* Chosen for speed.  On a synthetic 1M-object heap (test_snapshot.c
 * "large", 12.8 MB of payload) level 1 deflates at ~70 MB/s to 6.98
 * bytes/object; level 3 gains 2.5% for 1.5x the time, the default (6)
 * 4.5% for 4.6x. */
#define SNAP_ZLIB_LEVEL 1

#define SNAP_MAX_FILE (64ull << 30)
#define SNAP_MAX_PAYLOAD (16ull << 30)
#define SNAP_MAX_RATIO 1100u
#define SNAP_MAX_COUNT (UINT32_MAX - 1u)
/* The longest varint (64 bits in 7-bit groups). */
#define SNAP_VARINT_MAX 10

/* Tags: the four bytes in file order, read as a little-endian u32. */
#define SNAP_TAG(a, b, c, d)                                            \
	((uint32_t)(unsigned char)(a) | (uint32_t)(unsigned char)(b) << 8 | \
	 (uint32_t)(unsigned char)(c) << 16 |                              \
	 (uint32_t)(unsigned char)(d) << 24)
#define SNAP_TAG_META SNAP_TAG('M', 'E', 'T', 'A')
#define SNAP_TAG_STRS SNAP_TAG('S', 'T', 'R', 'S')
#define SNAP_TAG_TYPS SNAP_TAG('T', 'Y', 'P', 'S')
#define SNAP_TAG_OBJS SNAP_TAG('O', 'B', 'J', 'S')
#define SNAP_TAG_EDGS SNAP_TAG('E', 'D', 'G', 'S')
#define SNAP_TAG_ROOT SNAP_TAG('R', 'O', 'O', 'T')
#define SNAP_TAG_THRD SNAP_TAG('T', 'H', 'R', 'D')
#define SNAP_TAG_GC SNAP_TAG('G', 'C', ' ', ' ')
#define SNAP_TAG_STAT SNAP_TAG('S', 'T', 'A', 'T')
#define SNAP_TAG_MALC SNAP_TAG('M', 'A', 'L', 'C')
#define SNAP_TAG_SITE SNAP_TAG('S', 'I', 'T', 'E')
#define SNAP_TAG_ELBL SNAP_TAG('E', 'L', 'B', 'L')
#define SNAP_TAG_SUMM SNAP_TAG('S', 'U', 'M', 'M')
#define SNAP_TAG_GRPS SNAP_TAG('G', 'R', 'P', 'S')
#define SNAP_TAG_END SNAP_TAG('E', 'N', 'D', ' ')
/* END's payload: section count and header CRC. */
#define SNAP_END_LEN 8

/* Property-list value types. */
#define SNAP_VAL_UINT 1
#define SNAP_VAL_INT 2
#define SNAP_VAL_F64 3
#define SNAP_VAL_STRING 4

/* Column encodings. */
enum snap_enc {
	SNAP_ENC_U = 1, /* varint */
	SNAP_ENC_S,     /* svarint */
	SNAP_ENC_D,     /* strictly increasing deltas */
};

/* Column ids, per table. */
#define SNAP_TYPE_ADDR 1
#define SNAP_TYPE_NAME 2
#define SNAP_TYPE_MODULE 3
#define SNAP_TYPE_FLAGS 4
#define SNAP_TYPE_OBJECT 5
#define SNAP_TYPE_BASICSIZE 6
#define SNAP_TYPE_ITEMSIZE 7

#define SNAP_OBJ_ADDR 1
#define SNAP_OBJ_SIZE 2
#define SNAP_OBJ_BUFFERS 3
#define SNAP_OBJ_REFCNT 4
#define SNAP_OBJ_TYPE 5
#define SNAP_OBJ_FLAGS 6
#define SNAP_OBJ_SITE 7
#define SNAP_OBJ_UNEXPLAINED 8   /* 1.4, optional */
#define SNAP_OBJ_GC_REFS 9       /* 1.4, optional */

#define SNAP_ROOT_KIND 1
#define SNAP_ROOT_OBJECT 2
#define SNAP_ROOT_NAME 3

#define SNAP_THREAD_TID 1
#define SNAP_THREAD_FLAGS 2
#define SNAP_THREAD_FIRST_FRAME 3
#define SNAP_THREAD_NFRAMES 4

#define SNAP_FRAME_FUNCTION 1
#define SNAP_FRAME_FILE 2
#define SNAP_FRAME_LINE 3

#define SNAP_STAT_NAME 1
#define SNAP_STAT_VALUE 2

#define SNAP_CHUNK_ADDR 1
#define SNAP_CHUNK_SIZE 2
#define SNAP_CHUNK_OWNER 3
#define SNAP_CHUNK_STATE 4
#define SNAP_CHUNK_OWNER_KIND 5
#define SNAP_CHUNK_ARENA 6
#define SNAP_CHUNK_REACH 7
#define SNAP_CHUNK_LEADER 8
#define SNAP_CHUNK_SIG 9
#define SNAP_CHUNK_HOLDER 10
#define SNAP_CHUNK_ROOT 11

#define SNAP_ARENA_ADDR 1
#define SNAP_ARENA_SYSTEM_MEM 2
#define SNAP_ARENA_TOP 3
#define SNAP_ARENA_FLAGS 4

#define SNAP_SITE_KIND 1
#define SNAP_SITE_FIRST_FRAME 2
#define SNAP_SITE_NFRAMES 3
#define SNAP_SITE_TOTAL_FRAMES 4
#define SNAP_SITE_TRACES 5
#define SNAP_SITE_TRACED_BYTES 6
#define SNAP_SITE_UNOWNED_TRACES 7
#define SNAP_SITE_UNOWNED_BYTES 8

#define SNAP_SITE_FRAME_FILE 1
#define SNAP_SITE_FRAME_LINE 2

#define SNAP_CELL_TYPE 1
#define SNAP_CELL_SITE 2
#define SNAP_CELL_COUNT 3
#define SNAP_CELL_BYTES 4
#define SNAP_CELL_GC_TRACKED 5
#define SNAP_CELL_GARBAGE_BYTES 6

#define SNAP_CCELL_STATE 1
#define SNAP_CCELL_OWNER_KIND 2
#define SNAP_CCELL_OWNER_TYPE 3
#define SNAP_CCELL_FLAGS 4
#define SNAP_CCELL_SIZE 5
#define SNAP_CCELL_COUNT 6
#define SNAP_CCELL_BYTES 7

#define SNAP_GGROUP_PART 1
#define SNAP_GGROUP_SHAPE 2
#define SNAP_GGROUP_CYCLES 3
#define SNAP_GGROUP_OBJECTS 4
#define SNAP_GGROUP_BYTES 5

#define SNAP_LGROUP_REACH 1
#define SNAP_LGROUP_SIGNATURE 2
#define SNAP_LGROUP_SIZE 3
#define SNAP_LGROUP_CHUNKS 4
#define SNAP_LGROUP_BYTES 5
#define SNAP_LGROUP_INDIRECT_CHUNKS 6
#define SNAP_LGROUP_INDIRECT_BYTES 7

/*
 * The tables above as data, shared by write.c and read.c so the two cannot
 * disagree: each column maps an id and encoding to a field of the row
 * struct (width 4 or 8 bytes; S columns of width 4 are int32).
 */
struct snap_column {
	uint8_t id;
	const char *name; /* the field's: for messages */
	uint8_t enc;   /* enum snap_enc */
	uint8_t width; /* bytes of the field: 4 or 8 */
	size_t offset; /* of the field in the row struct */
	bool optional; /* a later minor's: absent reads as 0 */
};

struct snap_table {
	const char *what;    /* "type", "object": for messages */
	size_t row_size;
	const struct snap_column *cols;
	size_t ncols;
};

extern const struct snap_table snap_types_table, snap_objects_table,
	snap_roots_table, snap_threads_table, snap_frames_table,
	snap_stats_table, snap_chunks_table, snap_arenas_table,
	snap_sites_table, snap_site_frames_table, snap_cells_table,
	snap_chunk_cells_table, snap_garbage_groups_table,
	snap_lost_groups_table;

/* Property lists as data: key, value type, and the field it fills (width
 * 1 means a bool, 4 a u32 or string id, 8 a u64, int64 or double). */
struct snap_prop {
	const char *key;
	uint8_t type;  /* SNAP_VAL_* */
	uint8_t width;
	size_t offset; /* in struct snap_meta or struct snap_gc */
};

extern const struct snap_prop snap_meta_props[], snap_gc_props[];
extern const size_t snap_nmeta_props, snap_ngc_props;

/*
 * Check everything a reader promises about a struct snapshot: string 0 is
 * "", every string, type, object and frame id is in range, objects are
 * strictly sorted by address with buffers <= size, edge_start is monotone
 * from 0 to nedges (edge_start may be NULL when nedges is 0), counts are
 * at most SNAP_MAX_COUNT, gc bools are 0 or 1, every object's site is 0
 * or a site id, every site's frames lie in site_frames.  The writer runs it too,
 * so it never produces a file the reader rejects.  Returns 0 or
 * -PH_E_FORMAT with "NAME: section OBJS: object 7: type 12 out of range
 * (3 types)".
 */
int snapshot_check(const struct snapshot *s, const char *name);

/*
 * Encode s as a complete snapshot file into out (appended).  Flags:
 * SNAP_ENCODE_UNCHECKED skips snapshot_check() (tests craft files whose
 * contents are wrong but whose framing and CRCs are right);
 * SNAP_ENCODE_STORED stores every section uncompressed (fuzzing seeds);
 * SNAP_ENCODE_NO_SUMMARY leaves SUMM out, as files before 1.7 did.
 * Returns 0 or what snapshot_check() returns; name is for its messages.
 */
#define SNAP_ENCODE_UNCHECKED 1u
#define SNAP_ENCODE_STORED 2u
#define SNAP_ENCODE_NO_SUMMARY 4u
int snapshot_encode(const struct snapshot *s, struct strbuf *out,
		    const char *name, unsigned flags);
/* The same with the sections built and compressed on up to jobs threads
 * (at most 8); the bytes are the same whatever jobs is. */
int snapshot_encode_jobs(const struct snapshot *s, struct strbuf *out,
			 const char *name, unsigned flags, int jobs);

/* "OBJS", "GC", or "\x01BJS" for a damaged tag: printable, trailing blanks
 * dropped, other bytes as \xNN.  buf holds at least 17 bytes. */
#define SNAP_TAG_BUF 17
const char *snap_tag_name(uint32_t tag, char *buf);

#endif
