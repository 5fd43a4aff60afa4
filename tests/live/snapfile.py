#!/usr/bin/env python3
"""Read pyheap snapshot files (.snap), format 1.x: standard library only.

Written from the specification (src/snapshot/format.h, pyheap-snapshot(5)),
not from the C reader, so the two check each other.  Verifies the magic,
the major version, every section's CRC32, the END section and the header
checksum, every length and count, and every id.

    import snapfile
    snap = snapfile.load("app.snap")
    snap["objects"][0]      # {"addr", "size", "buffers", "refcnt", "type",
                            #  "flags", "site"}; "type" indexes snap["types"]
    snap["edges"][0]        # object ids the object refers to
    snapfile.site_of(snap, snap["objects"][0])
                            # None, or {"kind": "traced"|"inferred",
                            #  "frames": [(file, line), ...] innermost
                            #  first, "total_frames", "traces",
                            #  "traced_bytes", "unowned_traces",
                            #  "unowned_bytes"}

    python3 snapfile.py FILE           JSON summary on stdout (tests)
    python3 snapfile.py --check FILE   exit 0 if FILE reads, else print the
                                       error on stderr and exit 1

load() returns a dict: meta (dict, strings resolved), strings (list of str;
bytes that are not UTF-8 come back as surrogate escapes), types, objects,
edges (list of lists), roots, threads (each with its frames), gc, stats
(dict name -> value), chunks and arenas (1.1), sites (1.2: a list whose
item k - 1 is site id k; an object's "site" is 0 or such an id; files
before 1.2 read with every site 0), version ((major, minor)) and sections
(tags in file order, unknown ones included).  Errors raise
FormatError("FILE: ...").
"""
import json
import os
import struct
import sys
import zlib

MAGIC = b"PYHEAPSN"
MAJOR = 1
HEADER_LEN = 16
SECTION_HEADER_LEN = 28
SECT_ZLIB = 1
MAX_FILE = 64 << 30
MAX_PAYLOAD = 16 << 30
MAX_RATIO = 1100
MAX_COUNT = (1 << 32) - 2
U32_MAX = (1 << 32) - 1

VAL_UINT, VAL_INT, VAL_F64, VAL_STRING = 1, 2, 3, 4
ENC_U, ENC_S, ENC_D = "U", "S", "D"

REQUIRED = [b"META", b"STRS", b"TYPS", b"OBJS", b"EDGS", b"ROOT", b"THRD",
            b"GC  ", b"STAT"]
OPTIONAL = [b"MALC", b"SITE", b"ELBL", b"SUMM",
            b"GRPS"]  # 1.1, 1.2, 1.5, 1.7, 1.8

# Tables: (column id, field, encoding, bits); bits 32 means the value must
# fit in 32 bits (signed for S columns).
TYPE_COLS = [(1, "addr", ENC_U, 64), (2, "name", ENC_U, 32),
             (3, "module", ENC_U, 32), (4, "flags", ENC_U, 32),
             (5, "object", ENC_U, 32), (6, "basicsize", ENC_S, 64),
             (7, "itemsize", ENC_S, 64)]
OBJECT_COLS = [(1, "addr", ENC_D, 64), (2, "size", ENC_U, 64),
               (3, "buffers", ENC_U, 64), (4, "refcnt", ENC_S, 64),
               (5, "type", ENC_U, 32), (6, "flags", ENC_U, 32),
               (7, "site", ENC_U, 32), (8, "unexplained", ENC_S, 64, 0),
               (9, "gc_refs", ENC_S, 64, 0)]
ROOT_COLS = [(1, "kind", ENC_U, 32), (2, "object", ENC_U, 32),
             (3, "name", ENC_U, 32)]
THREAD_COLS = [(1, "tid", ENC_S, 64), (2, "flags", ENC_U, 32),
               (3, "first_frame", ENC_U, 32), (4, "nframes", ENC_U, 32)]
FRAME_COLS = [(1, "function", ENC_U, 32), (2, "file", ENC_U, 32),
              (3, "line", ENC_S, 32)]
STAT_COLS = [(1, "name", ENC_U, 32), (2, "value", ENC_S, 64)]
# 1.1, section MALC (optional): chunks then arenas.
CHUNK_COLS = [(1, "addr", ENC_D, 64), (2, "size", ENC_U, 64),
              (3, "owner", ENC_U, 32), (4, "state", ENC_U, 32),
              (5, "owner_kind", ENC_U, 32), (6, "arena", ENC_U, 32),
              # 1.6 (flag 32): the native-leak scan's classes.
              (7, "reach", ENC_U, 32, 0), (8, "leader", ENC_U, 32, 0),
              (9, "sig", ENC_U, 32, 0), (10, "holder", ENC_U, 32, 0),
              (11, "root", ENC_U, 32, 0)]
ARENA_COLS = [(1, "addr", ENC_U, 64), (2, "system_mem", ENC_U, 64),
              (3, "top_bytes", ENC_U, 64), (4, "flags", ENC_U, 32)]
# 1.2, section SITE (optional): sites then site frames.
SITE_COLS = [(1, "kind", ENC_U, 32), (2, "first_frame", ENC_U, 32),
             (3, "nframes", ENC_U, 32), (4, "total_frames", ENC_U, 32),
             (5, "traces", ENC_U, 64), (6, "traced_bytes", ENC_U, 64),
             (7, "unowned_traces", ENC_U, 64),
             (8, "unowned_bytes", ENC_U, 64)]
SITE_FRAME_COLS = [(1, "file", ENC_U, 32), (2, "line", ENC_U, 32)]
SITE_KINDS = {1: "traced", 2: "inferred"}

# 1.7, section SUMM (optional): cells, chunk cells, arenas.
CELL_COLS = [(1, "type", ENC_U, 32), (2, "site", ENC_U, 32),
             (3, "count", ENC_U, 64), (4, "bytes", ENC_U, 64),
             (5, "gc_tracked", ENC_U, 64), (6, "garbage_bytes", ENC_U, 64)]
CCELL_COLS = [(1, "state", ENC_U, 32), (2, "owner_kind", ENC_U, 32),
              (3, "owner_type", ENC_U, 32), (4, "flags", ENC_U, 32),
              (5, "size", ENC_U, 64), (6, "count", ENC_U, 64),
              (7, "bytes", ENC_U, 64)]

# 1.8, section GRPS (optional): garbage groups, lost groups.
GGROUP_COLS = [(1, "part", ENC_U, 32), (2, "shape", ENC_U, 32),
               (3, "cycles", ENC_U, 64), (4, "objects", ENC_U, 64),
               (5, "bytes", ENC_U, 64)]
LGROUP_COLS = [(1, "reach", ENC_U, 32), (2, "signature", ENC_U, 32),
               (3, "size", ENC_U, 64), (4, "chunks", ENC_U, 64),
               (5, "bytes", ENC_U, 64), (6, "indirect_chunks", ENC_U, 64),
               (7, "indirect_bytes", ENC_U, 64)]
GARBAGE_PARTS = {1: "collectable", 2: "uncollectable"}
LOST_REACH = {2: "possibly_lost", 3: "python_garbage", 4: "definitely_lost"}

# Property lists: key -> (value type, kind) where kind is "bool", "u32",
# "u64" or None.
META_KEYS = {
    "pid": (VAL_INT, None), "exe": (VAL_STRING, None),
    "cmdline": (VAL_STRING, None), "host": (VAL_STRING, None),
    "python": (VAL_STRING, None), "python_elf": (VAL_STRING, None),
    "offsets": (VAL_STRING, None), "pyheap_version": (VAL_STRING, None),
    "taken_at": (VAL_F64, None), "pause_ms": (VAL_F64, None),
    "capture_ms": (VAL_F64, None), "parse_ms": (VAL_F64, None),
    "image_bytes": (VAL_UINT, "u64"), "flags": (VAL_UINT, "u32"),
    "rss_bytes": (VAL_UINT, "u64"), "malloc": (VAL_STRING, None),
    "malloc_note": (VAL_STRING, None),
    "tracemalloc_tracing": (VAL_UINT, "bool"),
    "tracemalloc_frames": (VAL_UINT, "u32"),
    "traced_memory": (VAL_UINT, "u64"), "sites_note": (VAL_STRING, None),
    "checks": (VAL_STRING, None),
    "parent_pid": (VAL_INT, None), "started_at": (VAL_F64, None),
    "labels": (VAL_STRING, None),
    "core": (VAL_STRING, None),
    "core_missing_bytes": (VAL_UINT, "u64"),
    "core_missing_mappings": (VAL_UINT, "u64"),
}
GC_KEYS = {
    "valid": (VAL_UINT, "bool"), "enabled": (VAL_UINT, "bool"),
    "threshold0": (VAL_INT, None), "threshold1": (VAL_INT, None),
    "threshold2": (VAL_INT, None), "count0": (VAL_INT, None),
    "count1": (VAL_INT, None), "count2": (VAL_INT, None),
}


class FormatError(ValueError):
    pass


def tag_name(tag):
    t = tag.rstrip(b" ") or tag[:1]
    return "".join(chr(c) if 0x20 < c < 0x7f else "\\x%02x" % c for c in t)


class Payload:
    """A cursor over one section's payload; errors name file and section."""

    def __init__(self, name, tag, data):
        self.name = name
        self.tag = tag
        self.data = data
        self.pos = 0
        self.end = len(data)

    def fail(self, msg):
        raise FormatError("%s: section %s: %s" % (self.name,
                                                  tag_name(self.tag), msg))

    def left(self):
        return self.end - self.pos

    def varint(self, what="data"):
        data, pos, end = self.data, self.pos, self.end
        v = shift = 0
        while pos < end:
            b = data[pos]
            pos += 1
            if shift == 63 and b > 1:
                self.fail("%s has a varint longer than 64 bits" % what)
            v |= (b & 0x7f) << shift
            if b < 0x80:
                self.pos = pos
                return v
            shift += 7
        self.fail("%s ends early" % what)

    def svarint(self, what="data"):
        v = self.varint(what)
        return (v >> 1) ^ -(v & 1)

    def take(self, n, what="data"):
        if n > self.left():
            self.fail("%s ends early" % what)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def sub(self, n, what):
        return Payload(self.name, self.tag, self.take(n, what))

    def count(self, what):
        n = self.varint(what + " count")
        if n > MAX_COUNT or n > self.left():
            self.fail("%d %s cannot fit in %d bytes" % (n, what, self.left()))
        return n

    def done(self, what):
        if self.pos != self.end:
            self.fail("%d bytes after the %s" % (self.left(), what))


def _column(col, cid, field, enc, bits, n, what):
    vals = []
    append = vals.append
    prev = 0
    where = "column %d (%s)" % (cid, field)
    for i in range(n):
        v = col.varint(where)
        if enc == ENC_D:
            if i:
                if v == 0 or prev + v >= 1 << 64:
                    col.fail("%s %d: %s not above the previous"
                             % (what, i, field))
                v += prev
            prev = v
        elif enc == ENC_S:
            v = (v >> 1) ^ -(v & 1)
            if bits == 32 and not -(1 << 31) <= v < (1 << 31):
                col.fail("%s %d: %s %d does not fit 32 bits"
                         % (what, i, field, v))
            append(v)
            continue
        if bits == 32 and v > U32_MAX:
            col.fail("%s %d: %s %d does not fit 32 bits" % (what, i, field, v))
        append(v)
    if col.left():
        col.fail("%s has bytes after its values" % where)
    return vals


def _table(p, cols, what):
    nrows = p.count(what + "s")
    ncols = p.varint(what + " table")
    known = {c[0]: c for c in cols}
    got = {}
    for _ in range(ncols):
        cid = p.varint(what + " table")
        length = p.varint(what + " table")
        col = p.sub(length, what + " table")
        if cid not in known:
            continue  # a later minor's column
        _, field, enc, bits = known[cid][:4]
        if cid in got:
            p.fail("%s table has column %d (%s) twice" % (what, cid, field))
        got[cid] = (field, _column(col, cid, field, enc, bits, nrows, what))
    for cid, field, *rest in cols:
        if cid not in got and len(rest) > 2:  # optional: a default
            got[cid] = (field, [rest[2]] * nrows)
        elif cid not in got:
            p.fail("%s table has no column %d (%s)" % (what, cid, field))
    fields = [got[c[0]] for c in cols]
    return [{f: v[i] for f, v in fields} for i in range(nrows)]


def _props(p, keys):
    n = p.count("keys")
    out = {}
    for i in range(n):
        klen = p.varint("key %d" % i)
        key = p.take(klen, "key %d" % i).decode("ascii", "replace")
        vtype = p.take(1, "key %d" % i)[0]
        val = p.sub(p.varint("key %d" % i), "key %d" % i)
        if key not in keys:
            continue  # a later minor's key
        if key in out:
            p.fail("key %s appears twice" % key)
        want, kind = keys[key]
        if vtype != want:
            p.fail("key %s has value type %d, not %d" % (key, vtype, want))
        if vtype == VAL_F64:
            v = struct.unpack("<d", val.take(8, "value of " + key))[0]
        elif vtype == VAL_INT:
            v = val.svarint("value of " + key)
        else:
            v = val.varint("value of " + key)
            if kind == "bool":
                if v > 1:
                    p.fail("%s is %d, not 0 or 1" % (key, v))
                v = bool(v)
            elif (kind == "u32" or vtype == VAL_STRING) and v > U32_MAX:
                p.fail("%s: %d does not fit 32 bits" % (key, v))
        if val.left():
            p.fail("value of %s has bytes after the value" % key)
        out[key] = v
    for key, (vtype, kind) in keys.items():
        if key not in out:
            out[key] = {VAL_F64: 0.0, VAL_INT: 0}.get(vtype, 0)
            if kind == "bool":
                out[key] = False
    return out


def _strings(p):
    n = p.count("strings")
    if n == 0:
        p.fail('no strings (string 0 must be "")')
    lens = [p.varint("string lengths") for _ in range(n)]
    total = 0
    for i, ln in enumerate(lens):
        total += ln
        if ln > U32_MAX or total > p.left():
            p.fail("string %d: %d bytes go past the end" % (i, ln))
    if total != p.left():
        p.fail("%d bytes after the strings" % (p.left() - total))
    out = []
    for ln in lens:
        out.append(p.take(ln).decode("utf-8", "surrogateescape"))
    return out


def _edges(p):
    nobj = p.count("objects")
    nedges = p.count("edges")
    if nobj + nedges > p.left():
        p.fail("%d objects and %d edges cannot fit in %d bytes"
               % (nobj, nedges, p.left()))
    counts = [p.varint("edge counts") for _ in range(nobj)]
    if sum(counts) != nedges:
        p.fail("edge counts add up to %d, not %d" % (sum(counts), nedges))
    edges = []
    for i, k in enumerate(counts):
        prev = i
        row = []
        for _ in range(k):
            v = prev + p.svarint("referents")
            if not 0 <= v < nobj:
                p.fail("object %d: referent out of range (%d objects)"
                       % (i, nobj))
            row.append(v)
            prev = v
        edges.append(row)
    p.done("referents")
    return nobj, nedges, edges


def _payload(name, tag, flags, stored, ulen):
    if not flags & SECT_ZLIB:
        return stored
    d = zlib.decompressobj()
    try:
        # max_length bounds memory: one byte more than declared shows a lie.
        out = d.decompress(stored, ulen + 1)
    except zlib.error as e:
        raise FormatError("%s: section %s: corrupt compressed data (%s)"
                          % (name, tag_name(tag), e))
    if len(out) > ulen:
        raise FormatError("%s: section %s: inflates to more than %d bytes"
                          % (name, tag_name(tag), ulen))
    if not d.eof:
        raise FormatError("%s: section %s: compressed data ends early"
                          % (name, tag_name(tag)))
    if len(out) < ulen:
        raise FormatError("%s: section %s: inflates to fewer than %d bytes"
                          % (name, tag_name(tag), ulen))
    if d.unused_data:
        raise FormatError("%s: section %s: bytes after the compressed data"
                          % (name, tag_name(tag)))
    return out


def _frame(name, data):
    """The section walk: headers, CRCs, END.  Returns (tag, flags, stored,
    ulen) for every section before END."""
    sections = []
    pos = HEADER_LEN
    while True:
        left = len(data) - pos
        if left == 0:
            raise FormatError("%s: truncated snapshot (no END section)" % name)
        if left < SECTION_HEADER_LEN:
            if left < 4:
                raise FormatError("%s: truncated snapshot (section header "
                                  "at offset %d)" % (name, pos))
            raise FormatError("%s: truncated snapshot (section %s)"
                              % (name, tag_name(data[pos:pos + 4])))
        hdr = data[pos:pos + SECTION_HEADER_LEN]
        tag = hdr[:4]
        flags, clen, ulen, crc = struct.unpack("<IQQI", hdr[4:])
        if clen > left - SECTION_HEADER_LEN:
            raise FormatError("%s: truncated snapshot (section %s)"
                              % (name, tag_name(tag)))
        start = pos + SECTION_HEADER_LEN
        stored = data[start:start + clen]
        if zlib.crc32(stored, zlib.crc32(hdr[:24])) != crc:
            raise FormatError("%s: bad checksum in section %s"
                              % (name, tag_name(tag)))
        pos = start + clen
        if tag == b"END ":
            if flags or clen != ulen or ulen < 8:
                raise FormatError("%s: section END: must be stored and at "
                                  "least 8 bytes" % name)
            count, hcrc = struct.unpack("<II", stored[:8])
            if count != len(sections):
                raise FormatError("%s: section END: counts %d sections, the "
                                  "file has %d" % (name, count, len(sections)))
            if hcrc != zlib.crc32(data[:HEADER_LEN]):
                raise FormatError("%s: bad checksum in file header" % name)
            break
        sections.append((tag, flags, stored, ulen))
    if pos != len(data):
        raise FormatError("%s: %d bytes of garbage after the END section"
                          % (name, len(data) - pos))
    return sections


def loads(data, name="<snapshot>"):
    """Parse a snapshot held in bytes; name is used in error messages."""
    if len(data) > MAX_FILE:
        raise FormatError("%s: over the 64 GiB snapshot limit" % name)
    if not data:
        raise FormatError("%s: empty file, not a pyheap snapshot" % name)
    if data[:len(MAGIC)] != MAGIC[:len(data)]:
        raise FormatError("%s: not a pyheap snapshot" % name)
    if len(data) < HEADER_LEN:
        raise FormatError("%s: truncated snapshot (file header)" % name)
    major, minor = struct.unpack("<HH", data[8:12])
    if major > MAJOR:
        raise FormatError("%s: snapshot format %d.x is newer than this "
                          "pyheap reads (%d.x)" % (name, major, MAJOR))
    if major != MAJOR:
        raise FormatError("%s: snapshot format %d.x is not supported (this "
                          "pyheap reads %d.x)" % (name, major, MAJOR))

    sections = _frame(name, data)
    payloads = {}
    for tag, flags, stored, ulen in sections:
        if tag not in REQUIRED and tag not in OPTIONAL:
            continue  # a later minor's section
        if tag in payloads:
            raise FormatError("%s: section %s: appears twice"
                              % (name, tag_name(tag)))
        if flags & ~SECT_ZLIB:
            raise FormatError("%s: section %s: unknown flags %#x"
                              % (name, tag_name(tag), flags))
        if ulen > MAX_PAYLOAD:
            raise FormatError("%s: section %s: payload of %d bytes is over "
                              "the 16 GiB limit" % (name, tag_name(tag), ulen))
        if not flags & SECT_ZLIB and len(stored) != ulen:
            raise FormatError("%s: section %s: stored length %d differs from "
                              "payload length %d"
                              % (name, tag_name(tag), len(stored), ulen))
        if flags & SECT_ZLIB and ulen > len(stored) * MAX_RATIO:
            raise FormatError("%s: section %s: %d bytes cannot inflate to %d"
                              % (name, tag_name(tag), len(stored), ulen))
        payloads[tag] = (flags, stored, ulen)
    for tag in REQUIRED:
        if tag not in payloads:
            raise FormatError("%s: missing section %s" % (name, tag_name(tag)))

    def payload(tag):
        flags, stored, ulen = payloads[tag]
        return Payload(name, tag, _payload(name, tag, flags, stored, ulen))

    p = payload(b"STRS")
    strings = _strings(p)
    p = payload(b"META")
    meta = _props(p, META_KEYS)
    p.done("keys")
    p = payload(b"GC  ")
    gc_props = _props(p, GC_KEYS)
    p.done("keys")
    p = payload(b"TYPS")
    types = _table(p, TYPE_COLS, "type")
    p.done("table")
    p = payload(b"OBJS")
    objects = _table(p, OBJECT_COLS, "object")
    p.done("table")
    nedge_objects, nedges, edges = _edges(payload(b"EDGS"))
    p = payload(b"ROOT")
    roots = _table(p, ROOT_COLS, "root")
    p.done("table")
    p = payload(b"THRD")
    threads = _table(p, THREAD_COLS, "thread")
    frames = _table(p, FRAME_COLS, "frame")
    p.done("table")
    p = payload(b"STAT")
    stats = _table(p, STAT_COLS, "stat")
    p.done("table")
    chunks, arenas = [], []
    if b"MALC" in payloads:
        p = payload(b"MALC")
        chunks = _table(p, CHUNK_COLS, "chunk")
        arenas = _table(p, ARENA_COLS, "arena")
        p.done("table")
    summ = None
    if b"SUMM" in payloads:
        p = payload(b"SUMM")
        summ = {"cells": _table(p, CELL_COLS, "cell"),
                "chunk_cells": _table(p, CCELL_COLS, "chunk cell"),
                "arenas": _table(p, ARENA_COLS, "arena")}
        p.done("table")
    grps = None
    if b"GRPS" in payloads:
        p = payload(b"GRPS")
        grps = {"garbage": _table(p, GGROUP_COLS, "garbage group"),
                "lost": _table(p, LGROUP_COLS, "lost group")}
        p.done("table")
    sites, site_frames = [], []
    if b"SITE" in payloads:
        p = payload(b"SITE")
        sites = _table(p, SITE_COLS, "site")
        site_frames = _table(p, SITE_FRAME_COLS, "site frame")
        p.done("table")
    # 1.5, section ELBL (optional): one label per edge, in EDGS order:
    # 4x + kind: 0 none or attribute string x, 1 index x, 2 dict key
    # string x.  Decoded to None, ("attr", str), ("index", int) or
    # ("key", str).
    labels = None
    if b"ELBL" in payloads:
        p = payload(b"ELBL")
        n = p.count("labels")
        if n != nedges:
            p.fail("%d labels for %d edges" % (n, nedges))
        labels = [p.varint("labels") for _ in range(n)]
        p.done("labels")
        # Kind 1 holds zigzag(i - (p + 1)), p the row's previous index.
        e = 0
        for row in edges:
            prev = -1
            for _ in row:
                if labels[e] & 3 == 1:
                    z = labels[e] >> 2
                    i = prev + 1 + ((z >> 1) ^ -(z & 1))
                    if not 0 <= i < 1 << 28:
                        p.fail("edge %d: index %d out of range" % (e, i))
                    prev = i
                    labels[e] = 4 * i + 1
                e += 1
    if minor < 2:
        for o in objects:  # before 1.2 the column meant nothing
            o["site"] = 0

    def fail(tag, msg):
        raise FormatError("%s: section %s: %s" % (name, tag, msg))

    def string(tag, what, sid):
        if sid >= len(strings):
            fail(tag, "%s: string %d out of range (%d strings)"
                 % (what, sid, len(strings)))
        return strings[sid]

    if strings[0] != "":
        fail("STRS", 'string 0 is not ""')
    if labels is not None:
        for i, v in enumerate(labels):
            x, kind = v >> 2, v & 3
            if kind == 3 or x >= 1 << 28:
                fail("ELBL", "edge %d: bad label %d" % (i, v))
            if kind == 1:
                labels[i] = ("index", x)
            elif v:
                labels[i] = ("key" if kind == 2 else "attr",
                             string("ELBL", "edge %d" % i, x))
            else:
                labels[i] = None
    for key, (vtype, _) in META_KEYS.items():
        if vtype == VAL_STRING:
            meta[key] = string("META", key, meta[key])
    for i, t in enumerate(types):
        t["name"] = string("TYPS", "type %d: name" % i, t["name"])
        t["module"] = string("TYPS", "type %d: module" % i, t["module"])
        if t["object"] != U32_MAX and t["object"] >= len(objects):
            fail("TYPS", "type %d: object %d out of range (%d objects)"
                 % (i, t["object"], len(objects)))
    for i, o in enumerate(objects):
        if o["buffers"] > o["size"]:
            fail("OBJS", "object %d: buffers %d larger than size %d"
                 % (i, o["buffers"], o["size"]))
        if o["type"] >= len(types):
            fail("OBJS", "object %d: type %d out of range (%d types)"
                 % (i, o["type"], len(types)))
    if nedge_objects != len(objects):
        fail("EDGS", "covers %d objects, OBJS has %d"
             % (nedge_objects, len(objects)))
    for i, r in enumerate(roots):
        if r["object"] >= len(objects):
            fail("ROOT", "root %d: object %d out of range (%d objects)"
                 % (i, r["object"], len(objects)))
        r["name"] = string("ROOT", "root %d: name" % i, r["name"])
    for i, f in enumerate(frames):
        f["function"] = string("THRD", "frame %d: function" % i,
                               f["function"])
        f["file"] = string("THRD", "frame %d: file" % i, f["file"])
    for i, t in enumerate(threads):
        first, n = t.pop("first_frame"), t.pop("nframes")
        if first + n > len(frames):
            fail("THRD", "thread %d: frames %d+%d out of range (%d frames)"
                 % (i, first, n, len(frames)))
        t["frames"] = frames[first:first + n]
    stat = {}
    for i, st in enumerate(stats):
        stat[string("STAT", "stat %d: name" % i, st["name"])] = st["value"]
    if len(sites) > MAX_COUNT - 1:
        fail("SITE", "too many rows")
    for i, f in enumerate(site_frames):
        f["file"] = string("SITE", "site frame %d: file" % i, f["file"])
    for i, x in enumerate(sites):
        first, n = x.pop("first_frame"), x.pop("nframes")
        if x["kind"] not in SITE_KINDS:
            why = "bad kind"
        elif n == 0 or first + n > len(site_frames):
            why = "frames out of range"
        elif x["total_frames"] < n:
            why = "total_frames below nframes"
        elif (x["unowned_traces"] > x["traces"]
              or x["unowned_bytes"] > x["traced_bytes"]):
            why = "more unowned than traced"
        elif x["kind"] == 2 and (x["traces"] or x["traced_bytes"]):
            why = "an inferred site with traces"
        else:
            why = None
        if why:
            fail("SITE", "site %d: %s" % (i + 1, why))
        x["kind"] = SITE_KINDS[x["kind"]]
        x["frames"] = [(f["file"], f["line"])
                       for f in site_frames[first:first + n]]
    for i, g in enumerate((grps or {}).get("garbage", [])):
        if g["part"] not in GARBAGE_PARTS or not g["objects"] or \
                g["cycles"] > g["objects"]:
            fail("GRPS", "garbage group %d: bad part or counts" % i)
        g["part"] = GARBAGE_PARTS[g["part"]]
        g["shape"] = string("GRPS", "garbage group %d shape" % i,
                            g["shape"])
    for i, g in enumerate((grps or {}).get("lost", [])):
        if g["reach"] not in LOST_REACH or not g["chunks"] or \
                g["size"] < 16 or g["bytes"] != g["chunks"] * g["size"]:
            fail("GRPS", "lost group %d: bad class or counts" % i)
        g["reach"] = LOST_REACH[g["reach"]]
        g["signature"] = string("GRPS", "lost group %d signature" % i,
                                g["signature"])
    for i, o in enumerate(objects):
        if o["site"] > len(sites):
            fail("OBJS", "object %d: site %d out of range (%d sites)"
                 % (i, o["site"], len(sites)))
    gc = {"valid": gc_props["valid"], "enabled": gc_props["enabled"],
          "threshold": [gc_props["threshold%d" % i] for i in range(3)],
          "count": [gc_props["count%d" % i] for i in range(3)]}
    return {
        "version": (major, minor),
        "sections": [tag_name(s[0]) for s in sections],
        "meta": meta,
        "strings": strings,
        "types": types,
        "objects": objects,
        "nedges": nedges,
        "edges": edges,
        "labels": labels,
        "roots": roots,
        "threads": threads,
        "gc": gc,
        "stats": stat,
        "chunks": chunks,
        "arenas": arenas,
        "sites": sites,
        "summ": summ,
        "groups": grps,
    }


U64_MAX = (1 << 64) - 1
NATIVE_OWNERS = (3, 4)  # chunk owner kinds NATIVE, UNOWNED


def summarize(snap):
    """The summary (SUMM) as the format defines it, computed from the
    objects and chunks: what a 1.7 file's SUMM must equal."""
    cells = {}
    for o in snap["objects"]:
        c = cells.setdefault((o["type"], o["site"]), [0, 0, 0, 0])
        c[0] += 1
        c[1] = min(c[1] + o["size"], U64_MAX)
        c[2] += o["flags"] & 1
        if o["flags"] & 128:
            c[3] = min(c[3] + o["size"], U64_MAX)
    ccells = {}
    for ch in snap["chunks"]:
        native = ch["owner_kind"] in NATIVE_OWNERS
        key = (ch["state"], ch["owner_kind"],
               snap["objects"][ch["owner"]]["type"]
               if ch["owner_kind"] == 3 else U32_MAX,
               1 if ch["arena"] == U32_MAX else 0,
               ch["size"] if native else 0)
        c = ccells.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += ch["size"]
    return {
        "cells": [dict(zip(("type", "site", "count", "bytes", "gc_tracked",
                            "garbage_bytes"), k + tuple(v)))
                  for k, v in sorted(cells.items())],
        "chunk_cells": [dict(zip(("state", "owner_kind", "owner_type",
                                  "flags", "size", "count", "bytes"),
                                 k + tuple(v)))
                        for k, v in sorted(ccells.items())],
        "arenas": snap["arenas"],
    }


def without_sections(data, tags):
    """The file in bytes with the sections of tags left out, END's count
    fixed: a snapshot as an older pyheap wrote it."""
    out, pos, n = bytearray(data[:HEADER_LEN]), HEADER_LEN, 0
    while pos < len(data):
        tag = data[pos:pos + 4]
        stored = struct.unpack("<Q", data[pos + 8:pos + 16])[0]
        end = pos + SECTION_HEADER_LEN + stored
        if tag == b"END ":
            payload = struct.pack("<II", n, zlib.crc32(data[:HEADER_LEN]))
            hdr = tag + struct.pack("<IQQ", 0, len(payload), len(payload))
            out += hdr + struct.pack("<I", zlib.crc32(
                payload, zlib.crc32(hdr))) + payload
            break
        if tag not in tags:
            out += data[pos:end]
            n += 1
        pos = end
    return bytes(out)


def load(path):
    """Parse the snapshot file at path (FormatError, OSError)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > MAX_FILE:
            raise FormatError("%s: over the 64 GiB snapshot limit" % path)
        data = f.read()
    return loads(data, path)


def site_of(snap, obj):
    """The allocation site of an object (a dict, see the module doc), or
    None."""
    return snap["sites"][obj["site"] - 1] if obj["site"] else None


def type_name(snap, obj):
    """The report key of an object's type ("dict", "__main__.Request")."""
    return snap["types"][obj["type"]]["name"]


def summary(snap):
    """A small JSON-able digest the C unit test compares with its own."""
    return {
        "counts": {
            "strings": len(snap["strings"]), "types": len(snap["types"]),
            "objects": len(snap["objects"]), "edges": snap["nedges"],
            "roots": len(snap["roots"]), "threads": len(snap["threads"]),
            "sites": len(snap["sites"]),
            "frames": sum(len(t["frames"]) for t in snap["threads"]),
            "stats": len(snap["stats"]),
        },
        "meta": {k: snap["meta"][k]
                 for k in ("pid", "python", "flags", "taken_at",
                           "tracemalloc_tracing", "tracemalloc_frames",
                           "traced_memory")},
        "objects": [[o["addr"], o["size"], o["buffers"], o["refcnt"],
                     type_name(snap, o), o["flags"], o["site"]]
                    for o in snap["objects"][:8]],
        "edges": snap["edges"][:8],
        "sites": [[{"traced": 1, "inferred": 2}[x["kind"]],
                   x["total_frames"], x["traces"], x["traced_bytes"],
                   x["unowned_traces"], x["unowned_bytes"],
                   [list(f) for f in x["frames"]]]
                  for x in snap["sites"][:8]],
        "threads": [[t["tid"], [f["function"] for f in t["frames"]]]
                    for t in snap["threads"]],
        "gc": snap["gc"],
        "stats": snap["stats"],
    }


def main(argv):
    check = len(argv) == 3 and argv[1] == "--check"
    if not check and len(argv) != 2:
        print("usage: snapfile.py [--check] FILE", file=sys.stderr)
        return 64
    try:
        snap = load(argv[-1])
    except (FormatError, OSError) as e:
        print(e, file=sys.stderr)
        return 1
    if not check:
        json.dump(summary(snap), sys.stdout, sort_keys=True,
                  separators=(",", ":"))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
