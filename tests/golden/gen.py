#!/usr/bin/env python3
"""Write the golden snapshots a.snap to h.snap, n.snap, o.snap and series/
(see README).

Deterministic: fixed pids, times, paths and contents, encoded as format 1.0
(a, b, c), 1.1 with native memory (n, o), 1.2 with allocation sites (d to
g) or 1.3 (h), a graph with labels as 1.5 (w), native memory classified
by the leak scan as 1.6 (l, l2), with the encoder of
tests/fixtures/snap/gen.py (written from the spec, not from
src/snapshot/write.c).  Only the zlib version may change the
compressed bytes, and with them the section sizes `pyheap info` prints:
after regenerating, run `tests/golden/run.sh --update PYHEAP` and review
the diff.

    python3 tests/golden/gen.py [DIR]
"""
import os
import re
import struct
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snap"))
from gen import (MAGIC, U32_MAX, props, section, svarint, table,  # noqa
                 varint)

TYPE_HEAP, TYPE_GC = 1, 2
OBJ_GC_TRACKED, OBJ_IN_PYMALLOC, OBJ_GARBAGE = 1, 4, 128
VAL_UINT, VAL_INT, VAL_F64, VAL_STRING = 1, 2, 3, 4

# name, module, flags: the types of all three snapshots.  The empty name
# and module show as "[unnamed type]" and "[unknown module]"; the quoted
# name needs CSV quoting.
TYPES = [
    ("dict", "builtins", TYPE_GC),
    ("str", "builtins", 0),
    ("list", "builtins", TYPE_GC),
    ("tuple", "builtins", TYPE_GC),
    ("int", "builtins", 0),
    ("bytes", "builtins", 0),
    ("function", "builtins", TYPE_GC),
    ("__main__.Request", "__main__", TYPE_HEAP | TYPE_GC),
    ("__main__.Session", "__main__", TYPE_HEAP | TYPE_GC),
    ("app.cache.LRUCache", "app.cache", TYPE_HEAP | TYPE_GC),
    ("collections.OrderedDict", "collections", TYPE_HEAP | TYPE_GC),
    ('__main__.Odd, "quoted"', "__main__", TYPE_HEAP),
    ("", "", 0),
    ("bytearray", "builtins", 0),
    ("cell", "builtins", TYPE_GC),
    ("type", "builtins", TYPE_GC),
    ("_io.BufferedReader", "_io", TYPE_GC),
    ("_cffi_backend.buffer", "_cffi_backend", 0),
    ("app.Session", "app", TYPE_HEAP | TYPE_GC),
]

MIB = 1 << 20

# type name -> [(count, size of each)]
A_OBJECTS = {
    "dict": [(120, 232), (10, 1200)],
    "str": [(400, 58), (50, 1000)],
    "list": [(40, 88), (2, 8056)],
    "tuple": [(200, 56)],
    "int": [(150, 28)],
    "bytes": [(3, MIB + 33)],
    "function": [(60, 144)],
    "__main__.Request": [(80, 48)],
    "__main__.Session": [(12, 56)],
    "collections.OrderedDict": [(5, 416)],
    '__main__.Odd, "quoted"': [(2, 32)],
    "": [(1, 16)],
}
# Ten and a half minutes later: Session gone, LRUCache new, tuple shrunk,
# list, int, function and OrderedDict unchanged.
B_OBJECTS = {
    "dict": [(180, 232), (12, 1200)],
    "str": [(520, 58), (50, 1000)],
    "list": [(40, 88), (2, 8056)],
    "tuple": [(190, 56)],
    "int": [(150, 28)],
    "bytes": [(5, MIB + 33)],
    "function": [(60, 144)],
    "__main__.Request": [(140, 48)],
    "app.cache.LRUCache": [(30, 64)],
    "collections.OrderedDict": [(5, 416)],
    '__main__.Odd, "quoted"': [(3, 32)],
    "": [(1, 16)],
}
# Another process on another Python: diff warns, and still diffs.
C_OBJECTS = {
    "dict": [(100, 232)],
    "str": [(300, 58)],
    "__main__.Request": [(10, 48)],
}

T0 = 1795770000.0  # 2026-11-27T09:00:00Z

# Allocation sites (format 1.2): (kind, frames innermost first).
TRACED, INFERRED = 1, 2


def traced(*frames):
    return (TRACED, tuple(frames))


def inferred(file, line):
    return (INFERRED, ((file, line),))


H, SRV, MAIN = "/srv/app/handlers.py", "/srv/app/server.py", \
    "/srv/app/main.py"
CACHE, ADMIN = "/srv/app/cache.py", "/srv/app/admin.py"
REQ = traced((H, 41), (SRV, 120), (MAIN, 12))
REQ_DICT = traced((H, 42), (SRV, 120), (MAIN, 12))
CACHE_H = traced((CACHE, 17), (H, 44), (SRV, 120))   # one line, two
CACHE_ADMIN = traced((CACHE, 17), (ADMIN, 8), (SRV, 131))  # callers
CB_TRACED = traced((H, 50), (H, 44), (SRV, 120))
CB = inferred(H, 50)  # the lambda's line, also traced: kind "mixed"
STARTUP = traced(("/srv/app/startup.py", 5), (MAIN, 3))
ODD = traced(("/srv/app/odd, name.py", 3), (H, 45), (SRV, 120))
CLASS = inferred("__main__", 0)

# type name -> [(count, size of each, site)]: process 6262 tracing with
# PYTHONTRACEMALLOC=3 ...
D_OBJECTS = {
    "dict": [(80, 232, REQ_DICT), (40, 232, None)],
    "str": [(200, 58, CACHE_H), (100, 58, CACHE_ADMIN), (50, 1000, None)],
    "list": [(12, 88, STARTUP)],
    "tuple": [(200, 56, None)],
    "int": [(150, 28, None)],
    "bytes": [(3, MIB + 33, None)],
    "function": [(10, 144, CB_TRACED), (50, 144, CB)],
    "__main__.Request": [(80, 48, REQ)],
    "type": [(2, 1072, CLASS)],
}
# ... ten minutes later: 60 more requests and their dicts, 120 more cache
# strings from the handlers, two more big bytes; the startup lists gone,
# bytearrays new at a file whose name needs CSV quoting.
E_OBJECTS = {
    "dict": [(140, 232, REQ_DICT), (40, 232, None)],
    "str": [(320, 58, CACHE_H), (100, 58, CACHE_ADMIN), (50, 1000, None)],
    "tuple": [(200, 56, None)],
    "int": [(150, 28, None)],
    "bytes": [(5, MIB + 33, None)],
    "bytearray": [(30, 157, ODD)],
    "function": [(10, 144, CB_TRACED), (50, 144, CB)],
    "__main__.Request": [(140, 48, REQ)],
    "type": [(2, 1072, CLASS)],
}
# Process 7373 without tracemalloc: only inferred sites (closures at the
# lambda's line, a class at its module), then 400 more closures.
F_OBJECTS = {
    "dict": [(100, 232, None)],
    "str": [(300, 58, None)],
    "tuple": [(600, 48, CB), (100, 56, None)],
    "function": [(600, 144, CB)],
    "cell": [(600, 40, CB)],
    "__main__.Request": [(600, 48, None)],
    "type": [(2, 1072, CLASS)],
}
G_OBJECTS = {
    "dict": [(100, 232, None)],
    "str": [(300, 58, None)],
    "tuple": [(1000, 48, CB), (100, 56, None)],
    "function": [(1000, 144, CB)],
    "cell": [(1000, 40, CB)],
    "__main__.Request": [(1000, 48, None)],
    "type": [(2, 1072, CLASS)],
}


# Native memory (format 1.1, flag SNAP_NATIVE = 4): process 8484 with
# glibc's malloc walked.  Objects as above; chunks as (count, size, state,
# owner kind, owner), owner a (type name, n): the n-th object of the type.
FLAG_NATIVE = 4
INUSE, FREE, FASTBIN, TCACHE, TOP, MMAPPED = 1, 2, 3, 4, 5, 6
O_NONE, O_OBJECT, O_BUFFER, O_NATIVE, O_UNOWNED, O_ALLOCATOR = range(6)
N_OBJECTS = {
    "dict": [(200, 232), (4, 1200)],
    "str": [(500, 58), (20, 1000)],
    "list": [(30, 88), (2, 8056)],
    "int": [(100, 28)],
    "bytes": [(2, MIB + 33)],
    "__main__.Request": [(120, 48)],
    "_io.BufferedReader": [(3, 184)],
    "_cffi_backend.buffer": [(2, 64)],
}
N_CHUNKS = [
    (1, 0x290, INUSE, O_ALLOCATOR, None),            # the tcache
    (4, 1216, INUSE, O_OBJECT, ("dict", 200)),       # dicts too big for
    (2, 8064, INUSE, O_BUFFER, ("list", 30)),        # pymalloc, list items
    (3, 8208, INUSE, O_NATIVE, ("_io.BufferedReader", 0)),  # its buffer
    (1, 65552, INUSE, O_NATIVE, ("_cffi_backend.buffer", 0)),
    (40, 48, INUSE, O_UNOWNED, None),                # a C library's
    (6, 4112, INUSE, O_UNOWNED, None),
    (5, 64, FREE, O_NONE, None),
    (3, 32, TCACHE, O_NONE, None),
    (1, 132000, TOP, O_NONE, None),
    (2, MIB + 4096, MMAPPED, O_OBJECT, ("bytes", 0)),
]
# Ten minutes later: 80 more requests, the C library's 48-byte chunks
# leak (+60) and 256-byte ones are new; one file closed (its buffer gone).
# Flag 0x40 is one a later pyheap might set: info shows it as a number.
O_OBJECTS = dict(N_OBJECTS, **{
    "__main__.Request": [(200, 48)],
    "_io.BufferedReader": [(2, 184)],
})
O_CHUNKS = [
    (1, 0x290, INUSE, O_ALLOCATOR, None),
    (4, 1216, INUSE, O_OBJECT, ("dict", 200)),
    (2, 8064, INUSE, O_BUFFER, ("list", 30)),
    (2, 8208, INUSE, O_NATIVE, ("_io.BufferedReader", 0)),
    (1, 65552, INUSE, O_NATIVE, ("_cffi_backend.buffer", 0)),
    (100, 48, INUSE, O_UNOWNED, None),
    (6, 4112, INUSE, O_UNOWNED, None),
    (20, 256, INUSE, O_UNOWNED, None),
    (4, 64, FREE, O_NONE, None),
    (1, 131000, TOP, O_NONE, None),
    (2, MIB + 4096, MMAPPED, O_OBJECT, ("bytes", 0)),
]


# The native-leak scan (format 1.6, flag SNAP_LEAKS = 32): a chunk spec
# may add (reach, holder, root) -- holder an owner as above, root a string
# -- and ("clique", count, leader size, signature, [(n, size), ...]) makes
# count lost leaders each holding n indirectly lost chunks of each size.
FLAG_LEAKS = 32
REACHABLE, POSSIBLE, GARBAGE, LOST, INDIRECT = 1, 2, 3, 4, 5
LEAK_CLASSES = {REACHABLE: "reachable", POSSIBLE: "possibly_lost",
                GARBAGE: "python_garbage", LOST: "definitely_lost",
                INDIRECT: "indirectly_lost"}


def expand_chunks(chunk_specs):
    """(size, state, kind, owner, k, reach, holder, root, sig, leader)
    rows in address order: leader is the index of the row's leader."""
    rows = []
    for spec in chunk_specs:
        if spec[0] == "clique":
            _, count, lsize, sig, members = spec
            for _ in range(count):
                lead = len(rows)
                rows.append((lsize, INUSE, O_UNOWNED, None, 0, LOST, None,
                             None, sig, None))
                for n, size in members:
                    rows += [(size, INUSE, O_UNOWNED, None, 0, INDIRECT,
                              None, None, None, lead)] * n
            continue
        count, size, state, kind, owner, *leak = spec
        reach, holder, root = (list(leak) + [0, None, None])[:3]
        for k in range(count):
            rows.append((size, state, kind, owner, k, reach, holder, root,
                         None, None))
    return rows


def leak_stats(chunk_specs):
    """The leaks.* stats snap writes with the scan."""
    st = {"leaks.%s.%s" % (c, w): 0 for c in LEAK_CLASSES.values()
          for w in ("chunks", "bytes")}
    for size, _, _, _, _, reach, *_ in expand_chunks(chunk_specs):
        if reach:
            st["leaks.%s.chunks" % LEAK_CLASSES[reach]] += 1
            st["leaks.%s.bytes" % LEAK_CLASSES[reach]] += size
    st.update({"leaks.scan_ms": 3, "leaks.scanned_words": 123456,
               "leaks.root_bytes": 4 * MIB, "leaks.unsigned": 0})
    return st


def native_sections(chunk_specs, objs, first_id, sid, leaks=False):
    """MALC: the chunks (heap from 0x55d000000000; mmapped ones apart) and
    one main arena holding the heap's; with leaks, the scan's columns."""
    rows = expand_chunks(chunk_specs)
    heap, mapped, addr = 0x55D000000000, 0x7F3B00000000, []
    for size, state, *_ in rows:
        if state == MMAPPED:
            addr.append(mapped)
            mapped += size
        else:
            addr.append(heap)
            heap += size
    # Heap rows are in address order already; mmapped ones sort after.
    order = sorted(range(len(rows)), key=lambda i: addr[i])
    row_of = {i: r for r, i in enumerate(order)}
    chunks = []
    for i in order:
        size, state, kind, owner, k, reach, holder, root, sig, lead = \
            rows[i]
        oid = first_id[owner[0]] + owner[1] + k if owner else U32_MAX
        c = (addr[i], size, oid, state, kind,
             U32_MAX if state == MMAPPED else 0)
        if leaks:
            c += (reach, row_of[lead] + 1 if lead is not None else 0,
                  sid(sig) if sig else 0,
                  first_id[holder[0]] + holder[1] + 1 if holder else 0,
                  sid(root) if root else 0)
        chunks.append(c)
    system_mem = heap - 0x55D000000000
    top = sum(c[1] for c in chunks if c[3] == TOP)
    arenas = [(0x7F3A40000000, system_mem + 4096, top, 1)]
    return table(chunks, "DUUUUUUUUUU" if leaks else "DUUUUU") + \
        table(arenas, "UUUU")


# Process 8484 again, with its native memory classified (format 1.6): the
# allocator's, objects' and buffers' chunks, a file buffer its reader
# holds, a C library's chunks held from its data and ones only interior
# pointers hold, buffers only garbage holds, and lost XPath contexts of
# libxml2 (each with its function table, a hash entry and names) and
# small chunks with no signature.  Ten minutes later: 15 more contexts
# lost, 2 more possibly lost chunks, a new lost group, one gone.
XPATH_SIG = ("libxml2.so.2.9.14: functions like xmlXPathFalseFunction; "
             "memory of PyCapsule 'xmlDocPtr'")
L_CHUNKS = [
    (1, 0x290, INUSE, O_ALLOCATOR, None, REACHABLE),
    (4, 1216, INUSE, O_OBJECT, ("dict", 200), REACHABLE),
    (2, 8064, INUSE, O_BUFFER, ("list", 30), REACHABLE),
    (3, 8208, INUSE, O_NATIVE, ("_io.BufferedReader", 0), REACHABLE,
     ("_io.BufferedReader", 0)),
    (40, 48, INUSE, O_UNOWNED, None, REACHABLE, None, "libfoo.so.1 data"),
    (6, 4112, INUSE, O_UNOWNED, None, POSSIBLE, None, "anonymous memory"),
    (2, 784, INUSE, O_UNOWNED, None, GARBAGE, ("__main__.Request", 0)),
    ("clique", 10, 384, XPATH_SIG, [(1, 48), (1, 12304), (30, 32)]),
    ("clique", 3, 64, None, []),
    (5, 64, FREE, O_NONE, None),
    (1, 132000, TOP, O_NONE, None),
    (2, MIB + 4096, MMAPPED, O_OBJECT, ("bytes", 0), REACHABLE),
]
L2_CHUNKS = [spec for spec in L_CHUNKS if spec[0] != "clique" and
             spec[1] != 4112] + [
    (8, 4112, INUSE, O_UNOWNED, None, POSSIBLE, None, "anonymous memory"),
    ("clique", 25, 384, XPATH_SIG, [(1, 48), (1, 12304), (30, 32)]),
    ("clique", 2, 1024, "vtable _ZTVN3app6WidgetE", [(2, 96)]),
]


CHECKS_UNVERIFIED = (
    "GC lists: unverified, not used: no closed lists of GC objects at the "
    "gc state's +24 or within 64 bytes of it\n"
    "pymalloc state: table +10800, verified\n"
    "tracemalloc state: unverified, not used: no tracemalloc state at "
    "_PyRuntime+10080 or within 256 bytes of it\n")
SITES_NOTE_UNVERIFIED = (
    "the target's tracemalloc state could not be verified (no tracemalloc "
    "state at _PyRuntime+10080 or within 256 bytes of it), so whether it "
    "traces is unknown")


def string_table():
    """A snapshot's strings (id 0 is "") and the function that interns
    one, returning its id."""
    strings, index = [b""], {b"": 0}

    def sid(s):
        b = s.encode()
        if b not in index:
            index[b] = len(strings)
            strings.append(b)
        return index[b]
    return strings, sid


class SiteTable:
    """A snapshot's sites in order of first use (ids count from 1) and
    their frames, for the SITE section."""

    def __init__(self, sid):
        self.sid, self.sites, self.ids, self.frames = sid, [], {}, []

    def id(self, spec):
        if spec is None:
            return 0
        if spec not in self.ids:
            kind, frames = spec
            self.ids[spec] = len(self.sites) + 1
            self.sites.append([kind, len(self.frames), len(frames),
                               len(frames), 0, 0, 0, 0])
            self.frames.extend((self.sid(f), line) for f, line in frames)
        return self.ids[spec]

    def section(self):
        return (b"SITE", table(self.sites, "UUUUUUUU")
                + table(self.frames, "UU"))


def snapshot(objects, pid, python, taken_at, pause_ms, stats, flags=0,
             tracing=None, unverified=False, chunks=None, worker_of=None,
             cmdline="python3 app.py --serve"):
    """Format 1.0, or 1.2 with sites when tracing is given: (tracing,
    frame limit) of the target's tracemalloc; 1.3 when unverified: the GC
    lists and tracemalloc failed their checks (flag 8, META checks); 1.1
    with native memory when chunks are given (flag 4, MALC); 1.4 when
    worker_of is (parent PID, start time): META parent_pid, started_at."""
    strings, sid = string_table()

    meta = [("pid", VAL_INT, pid),
            ("exe", VAL_STRING, sid("/usr/bin/python" + python[:4])),
            ("cmdline", VAL_STRING, sid(cmdline)),
            ("host", VAL_STRING, sid("web-1")),
            ("python", VAL_STRING, sid(python)),
            ("python_elf", VAL_STRING, sid("/usr/bin/python" + python[:4])),
            ("offsets", VAL_STRING, sid("built-in tables (%s)" % python[:4])),
            ("pyheap_version", VAL_STRING, sid("0.1.0")),
            ("taken_at", VAL_F64, taken_at),
            ("pause_ms", VAL_F64, pause_ms),
            ("capture_ms", VAL_F64, pause_ms * 0.75),
            ("parse_ms", VAL_F64, 48.5),
            ("image_bytes", VAL_UINT, 24 * MIB),
            ("flags", VAL_UINT, flags)]
    minor = 0 if tracing is None else 3 if unverified else 2
    leaks = bool(flags & FLAG_LEAKS)
    if leaks:  # 1.6: the keys of 1.2 to 1.5 too
        worker_of = worker_of or (0, 0.0)
    if worker_of is not None:
        minor = 4
        tracing = tracing or (False, 1)
    if chunks is not None:
        minor = max(minor, 6 if flags & FLAG_LEAKS else 1)
        meta += [("rss_bytes", VAL_UINT, 48 * MIB),
                 ("malloc", VAL_STRING, sid("glibc 2.36")),
                 ("malloc_note", VAL_STRING, 0)]
    elif minor >= 2:
        meta += [("rss_bytes", VAL_UINT, 0), ("malloc", VAL_STRING, 0),
                 ("malloc_note", VAL_STRING, 0)]
    if minor >= 2:
        meta += [("tracemalloc_tracing", VAL_UINT, int(tracing[0])),
                 ("tracemalloc_frames", VAL_UINT, tracing[1]),
                 ("traced_memory", VAL_UINT, 0),
                 ("sites_note", VAL_STRING,
                  sid(SITES_NOTE_UNVERIFIED) if unverified else 0)]
    if minor >= 3:
        meta += [("checks", VAL_STRING,
                  sid(CHECKS_UNVERIFIED) if unverified else 0)]
    if minor >= 4:
        meta += [("parent_pid", VAL_INT, worker_of[0]),
                 ("started_at", VAL_F64, worker_of[1])]
    st = SiteTable(sid)
    sites = st.sites

    # Only the types this snapshot uses, in TYPES order.
    types, type_id = [], {}
    for n, (name, module, tflags) in enumerate(TYPES):
        if name not in objects:
            continue
        type_id[name] = len(types)
        types.append((0x7f3a00010000 + 0x1a0 * n, sid(name), sid(module),
                      tflags, U32_MAX, 16 + 8 * n, 0))
    objs, first_id = [], {}
    addr = 0x7f3a10000000
    for name, _, tflags in TYPES:
        first_id[name] = len(objs)
        for count, size, *where in objects.get(name, []):
            sid_ = st.id(where[0] if where else None)
            if sid_ and sites[sid_ - 1][0] == TRACED:
                sites[sid_ - 1][4] += count         # traces
                sites[sid_ - 1][5] += count * size  # traced_bytes
            for _ in range(count):
                flags = OBJ_IN_PYMALLOC if size <= 512 else 0
                if tflags & TYPE_GC:
                    flags |= OBJ_GC_TRACKED
                objs.append((addr, size, 0, 1, type_id[name], flags, sid_))
                addr += (size + 15) // 16 * 16
    stat_rows = sorted((sid(k), v) for k, v in stats.items())
    # Before the string table is written: the scan's columns add strings.
    malc = None if chunks is None else \
        native_sections(chunks, objs, first_id, sid, leaks)
    strs = varint(len(strings)) + b"".join(varint(len(s)) for s in strings)
    strs += b"".join(strings)
    # No referents, roots or threads: reports do not use them.
    edges = varint(len(objs)) + varint(0) + b"\0" * len(objs)
    gc = [("valid", VAL_UINT, 1), ("enabled", VAL_UINT, 1),
          ("threshold0", VAL_INT, 700), ("threshold1", VAL_INT, 10),
          ("threshold2", VAL_INT, 10), ("count0", VAL_INT, 12),
          ("count1", VAL_INT, 3), ("count2", VAL_INT, 1)]
    secs = [(b"META", props(meta)),
            (b"STRS", strs),
            (b"TYPS", table(types, "UUUUUSS")),
            (b"OBJS", table(objs, "DUUSUUU")),
            (b"EDGS", edges),
            (b"ROOT", table([], "UUU")),
            (b"THRD", table([], "SUUU") + table([], "UUS")),
            (b"GC  ", props(gc)),
            (b"STAT", table(stat_rows, "US"))]
    if chunks is not None:
        secs.append((b"MALC", malc))
    if sites:
        secs.append(st.section())
    header = MAGIC + struct.pack("<HHI", 1, minor, 0)
    body = b"".join(section(t, p) for t, p in secs)
    end = struct.pack("<II", len(secs), zlib.crc32(header))
    return header + body + section(b"END ", end, store=True)


def stats(objects, native=False):
    n = sum(r[0] for rows in objects.values() for r in rows)
    small = sum(r[0] for rows in objects.values() for r in rows
                if r[1] <= 512)
    st = {"census.objects": n, "census.types": len(objects),
          "census.gc_list_breaks": 0, "census.skipped.bad_type": 3,
          "census.skipped.bad_refcnt": 1, "pymalloc.method": 1,
          "pymalloc.used_blocks": small + 7, "pymalloc.corrupt_pools": 0}
    if native:  # what the memory breakdown reads
        st.update({"pymalloc.pool_size": 16384, "pymalloc.arenas": 1,
                   "pymalloc.used_bytes": sum(
                       r[0] * r[1] for rows in objects.values()
                       for r in rows if r[1] <= 512)})
    return st


def series_objects(seg, i):
    """The series (series/): program "app" snapshotted every 10 minutes,
    3 times as process 4242, then restarted as 4343 and snapshotted 4
    times.  __main__.Request leaks 250 a snapshot (12,000 bytes: 72,000 an
    hour) in both processes from a lower level after the restart; dict
    holds a cache that resizes once in each process (a step); str goes up
    and down; bytes grows in 2 of 3 intervals of the new process; the
    rest stays."""
    k = i
    base = 2000 if seg == 1 else 400
    return {
        "__main__.Request": [(base + 250 * k, 48)],
        "dict": [(120, 232), (1, 36960 if k < 2 else 73824)],
        "str": [(400 + (60 if k % 2 else 0), 58)],
        "bytes": [(3 + [0, 4, 4, 8][k] if seg == 2 else 3, 1033)],
        "function": [(60, 144)],
        "type": [(40, 1072)],
    }


def series_files():
    files = {}
    for seg, pid, start, n in ((1, 4242, T0, 3), (2, 4343, T0 + 2400, 4)):
        for i in range(n):
            when = start + 600.0 * i
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
            objs = series_objects(seg, i)
            files["series/app-%d-%s.snap" % (pid, stamp)] = snapshot(
                objs, pid, "3.11.2", when + 0.25, 5.5, stats(objs))
    return files


def worker_files():
    """A prefork server (workers/): gunicorn master 5000 with workers
    5001-5003, snapshotted in rounds every 10 minutes (snap --workers),
    the workers a second apart.  Each leaks 100 app.Session a round (4,800
    bytes: 28,800 an hour); 5003 leaks nothing.  5002 reaches
    max_requests after round 2 and 5010 replaces it from round 3."""
    files = {}
    cmd = "/usr/bin/python3 /usr/bin/gunicorn -w 3 app:app"
    for r in range(5):
        for w, pid in enumerate((5001, 5002 if r < 3 else 5010, 5003)):
            born = 3 if pid == 5010 else 0
            k = r - born
            when = T0 + 600.0 * r + w
            objs = {
                "app.Session": [((100 * k + 50) if pid != 5003 else 50,
                                 48)],
                "dict": [(300 + (100 * k if pid != 5003 else 0), 104)],
                "str": [(2000 + (7 if r % 2 else 0), 60)],
                "function": [(900, 144)],
            }
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
            files["workers/gunicorn-%d-%s.snap" % (pid, stamp)] = snapshot(
                objs, pid, "3.11.2", when + 0.25, 6.0, stats(objs),
                worker_of=(5000, (T0 + 1500.0 if born else T0 - 3600.0)
                           + w), cmdline=cmd)
    return files


# w.snap (format 1.5): a small object graph with roots, refcount
# arithmetic and edge labels, for why and retained.  Objects in address
# order: (name, type, size, gc-tracked, unexplained); edges: (from, to,
# label) with label ("attr", s), ("key", s), ("index", i) or None.
W_TYPES = [("dict", "builtins", TYPE_GC), ("module", "builtins", TYPE_GC),
           ("list", "builtins", TYPE_GC),
           ("__main__.Request", "__main__", TYPE_HEAP | TYPE_GC),
           ("bytearray", "builtins", 0), ("function", "builtins", TYPE_GC),
           ("cell", "builtins", TYPE_GC), ("__main__.Job", "__main__",
                                          TYPE_HEAP | TYPE_GC),
           ("tuple", "builtins", TYPE_GC), ("str", "builtins", 0)]
W_OBJECTS = [("modules", "dict", 1176, 1, 0), ("main", "module", 72, 1, 0),
             ("globals", "dict", 2264, 1, 0), ("requests", "list", 88, 1, 0),
             ("cache", "dict", 640, 1, 0)]
for _i in range(3):
    W_OBJECTS += [("req%d" % _i, "__main__.Request", 56, 1, 0),
                  ("payload%d" % _i, "list", 64, 1, 0),
                  ("buf%d" % _i, "bytearray", 121, 0, 0),
                  ("fn%d" % _i, "function", 152, 1, 0),
                  ("cell%d" % _i, "cell", 40, 1, 0),
                  ("clos%d" % _i, "tuple", 48, 1, 0)]
W_OBJECTS += [("jobs", "list", 72, 1, 0), ("job0", "__main__.Job", 48, 1, 0),
              ("job1", "__main__.Job", 48, 1, 0),
              ("held", "str", 60, 0, 1),      # a C static holds it
              ("lost", "list", 56, 1, 0)]     # garbage: holds itself
W_EDGES = [("modules", "main", ("key", "__main__")),
           ("main", "globals", ("attr", "__dict__")),
           ("globals", "requests", ("key", "REQUESTS")),
           ("globals", "cache", ("key", "CACHE")),
           ("cache", "req2", None),            # a key no label names
           ("lost", "lost", ("index", 0)),
           ("jobs", "job0", ("index", 0)), ("jobs", "job1", ("index", 1))]
for _i in range(3):
    W_EDGES += [("requests", "req%d" % _i, ("index", _i)),
                ("req%d" % _i, "payload%d" % _i, ("attr", "payload")),
                ("payload%d" % _i, "buf%d" % _i, ("index", 0)),
                ("req%d" % _i, "fn%d" % _i, ("attr", "helper")),
                ("fn%d" % _i, "clos%d" % _i, ("attr", "__closure__")),
                ("fn%d" % _i, "globals", ("attr", "__globals__")),
                ("clos%d" % _i, "cell%d" % _i, ("index", 0)),
                ("cell%d" % _i, "req%d" % _i, ("attr", "cell_contents"))]
W_ROOTS = [(1, "modules", "sys.modules"), (6, "jobs", "thread 4242")]


# ws.snap, ws2.snap: w.snap and w2.snap with allocation sites, for diff
# --why --by site (by object name; the rest have none).
W_SITES = [(r"req\d", REQ), (r"payload\d", inferred(H, 43)),
           (r"lost\d*$", traced((H, 60), (SRV, 120), (MAIN, 12)))]


def graph_snapshot(lost=1, taken_at=T0, with_sites=False):
    """w.snap; with lost > 1, w2.snap: the same later, with more garbage
    (self-holding lists), and the garbage totals snap counts in STAT.
    with_sites: objects get W_SITES' sites (a SITE section)."""
    strings, sid = string_table()
    st = SiteTable(sid)

    def site(name):
        spec = next((s for p, s in W_SITES if re.match(p, name)), None)
        return st.id(spec) if with_sites else 0
    objects = W_OBJECTS + [("lost%d" % k, "list", 56, 1, 0)
                           for k in range(1, lost)]
    edges = W_EDGES + [("lost%d" % k, "lost%d" % k, ("index", 0))
                       for k in range(1, lost)]

    meta = [("pid", VAL_INT, 4242), ("exe", VAL_STRING, sid("/usr/bin/python3.12")),
            ("cmdline", VAL_STRING, sid("python3 app.py")),
            ("host", VAL_STRING, sid("web-1")),
            ("python", VAL_STRING, sid("3.12.8")),
            ("python_elf", VAL_STRING, sid("/usr/bin/python3.12")),
            ("offsets", VAL_STRING, sid("_Py_DebugOffsets")),
            ("pyheap_version", VAL_STRING, sid("0.1.0")),
            ("taken_at", VAL_F64, taken_at), ("pause_ms", VAL_F64, 3.0),
            ("capture_ms", VAL_F64, 2.0), ("parse_ms", VAL_F64, 9.0),
            ("image_bytes", VAL_UINT, 8 * MIB), ("flags", VAL_UINT, 16),
            ("labels", VAL_STRING, sid("identifiers"))]
    tid = {name: k for k, (name, _, _) in enumerate(W_TYPES)}
    types = [(0x7f3a00010000 + 0x1a0 * k, sid(n), sid(m), f, U32_MAX, 16, 0)
             for k, (n, m, f) in enumerate(W_TYPES)]
    oid = {o[0]: k for k, o in enumerate(objects)}
    addr, objs = 0x7f3a20000000, []
    rows = [[] for _ in objects]
    for a, b, label in edges:
        rows[oid[a]].append((oid[b], label))
    owned = [0] * len(objects)
    for a, b, _ in edges:
        owned[oid[b]] += 1
    for _, name, _ in W_ROOTS:
        owned[oid[name]] += 1
    for k, (name, ty, size, tracked, unexplained) in enumerate(objects):
        refcnt = owned[k] + unexplained
        from_tracked = sum(1 for a, b, _ in edges
                           if oid[b] == k and objects[oid[a]][3])
        gc_refs = refcnt - from_tracked if tracked else 0
        flags = OBJ_IN_PYMALLOC | (OBJ_GC_TRACKED if tracked else 0)
        if name.startswith("lost"):
            flags |= OBJ_GARBAGE    # what the garbage totals count
        objs.append((addr, size, 0, refcnt, tid[ty], flags, site(name),
                     unexplained, gc_refs))
        addr += (size + 15) // 16 * 16
    edges, labels = b"", []
    for k, row in enumerate(rows):
        row.sort(key=lambda x: x[0])
    edges = varint(len(objs)) + varint(sum(map(len, rows)))
    edges += b"".join(varint(len(r)) for r in rows)
    for k, row in enumerate(rows):
        prev, prev_index = k, -1
        for d, label in row:
            edges += svarint(d - prev)
            prev = d
            if label is None:
                labels.append(0)
            elif label[0] == "index":
                # zigzag of the difference from the row's previous + 1
                delta = label[1] - (prev_index + 1)
                prev_index = label[1]
                labels.append(4 * (2 * delta if delta >= 0
                                   else -2 * delta - 1) + 1)
            else:
                labels.append(4 * sid(label[1]) + (2 if label[0] == "key"
                                                   else 0))
    roots = [(kind, oid[name], sid(text)) for kind, name, text in W_ROOTS]
    # What pyheap garbage finds (the self-holding lists), as snap counts.
    stat_rows = sorted([(sid("garbage.collectable.objects"), lost),
                        (sid("garbage.collectable.bytes"), 56 * lost),
                        (sid("garbage.uncollectable.objects"), 0),
                        (sid("garbage.uncollectable.bytes"), 0)])
    strs = varint(len(strings)) + b"".join(varint(len(s)) for s in strings)
    strs += b"".join(strings)
    gc = [("valid", VAL_UINT, 1), ("enabled", VAL_UINT, 1),
          ("threshold0", VAL_INT, 700), ("threshold1", VAL_INT, 10),
          ("threshold2", VAL_INT, 10), ("count0", VAL_INT, 12),
          ("count1", VAL_INT, 3), ("count2", VAL_INT, 1)]
    secs = [(b"META", props(meta)), (b"STRS", strs),
            (b"TYPS", table(types, "UUUUUSS")),
            (b"OBJS", table(objs, "DUUSUUUSS")),
            (b"EDGS", edges), (b"ROOT", table(roots, "UUU")),
            (b"THRD", table([], "SUUU") + table([], "UUS")),
            (b"GC  ", props(gc)),
            (b"STAT", table(stat_rows, "US")),
            (b"ELBL", varint(len(labels)) +
             b"".join(varint(v) for v in labels))]
    if st.sites:
        secs.append(st.section())
    header = MAGIC + struct.pack("<HHI", 1, 5, 0)
    body = b"".join(section(t, p) for t, p in secs)
    end = struct.pack("<II", len(secs), zlib.crc32(header))
    return header + body + section(b"END ", end, store=True)


def main(argv):
    out = argv[1] if len(argv) > 1 else HERE
    os.makedirs(os.path.join(out, "series"), exist_ok=True)
    os.makedirs(os.path.join(out, "workers"), exist_ok=True)
    files = {
        "a.snap": snapshot(A_OBJECTS, 4242, "3.11.2", T0, 12.5,
                           stats(A_OBJECTS)),
        "b.snap": snapshot(B_OBJECTS, 4242, "3.11.2", T0 + 630.0, 9.75,
                           stats(B_OBJECTS)),
        "c.snap": snapshot(C_OBJECTS, 5151, "3.12.1", T0 + 7300.0, 0.0,
                           stats(C_OBJECTS), flags=1),
        "d.snap": snapshot(D_OBJECTS, 6262, "3.12.1", T0, 8.5,
                           stats(D_OBJECTS), tracing=(True, 3)),
        "e.snap": snapshot(E_OBJECTS, 6262, "3.12.1", T0 + 600.0, 7.25,
                           stats(E_OBJECTS), tracing=(True, 3)),
        "f.snap": snapshot(F_OBJECTS, 7373, "3.11.2", T0, 6.0,
                           stats(F_OBJECTS), tracing=(False, 1)),
        "g.snap": snapshot(G_OBJECTS, 7373, "3.11.2", T0 + 3600.0, 6.5,
                           stats(G_OBJECTS), tracing=(False, 1)),
        # f's process later, read with offsets that failed their checks.
        # ... and objects whose owned memory could not be sized.
        "h.snap": snapshot(G_OBJECTS, 7373, "3.13.18", T0 + 7200.0, 6.5,
                           dict(stats(G_OBJECTS), **{
                               "census.sizeof_not_modelled.numpy.ndarray": 3,
                               "census.sizeof_not_modelled.array.array": 1}),
                           flags=8, tracing=(False, 1), unverified=True),
        "n.snap": snapshot(N_OBJECTS, 8484, "3.11.2", T0, 7.5,
                           stats(N_OBJECTS, True), flags=FLAG_NATIVE,
                           chunks=N_CHUNKS),
        "o.snap": snapshot(O_OBJECTS, 8484, "3.11.2", T0 + 600.0, 8.0,
                           stats(O_OBJECTS, True),
                           flags=FLAG_NATIVE | 0x40, chunks=O_CHUNKS),
        "l.snap": snapshot(N_OBJECTS, 8484, "3.11.2", T0, 7.5,
                           dict(stats(N_OBJECTS, True),
                                **leak_stats(L_CHUNKS)),
                           flags=FLAG_NATIVE | FLAG_LEAKS, chunks=L_CHUNKS),
        "l2.snap": snapshot(O_OBJECTS, 8484, "3.11.2", T0 + 600.0, 8.0,
                            dict(stats(O_OBJECTS, True),
                                 **leak_stats(L2_CHUNKS)),
                            flags=FLAG_NATIVE | FLAG_LEAKS,
                            chunks=L2_CHUNKS),
    }
    files["w.snap"] = graph_snapshot()
    files["w2.snap"] = graph_snapshot(lost=4, taken_at=T0 + 600.0)
    files["ws.snap"] = graph_snapshot(with_sites=True)
    files["ws2.snap"] = graph_snapshot(lost=4, taken_at=T0 + 600.0,
                                       with_sites=True)
    files.update(series_files())
    files.update(worker_files())
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-8s %6d bytes" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
