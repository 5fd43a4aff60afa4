#!/usr/bin/env python3
"""Write the golden snapshots a.snap, b.snap and c.snap (see README).

Deterministic: fixed pids, times, paths and contents, encoded as format 1.0
with the encoder of tests/fixtures/snap/gen.py (written from the spec, not
from src/snapshot/write.c).  Only the zlib version may change the
compressed bytes, and with them the section sizes `pyheap info` prints:
after regenerating, run `tests/golden/run.sh --update PYHEAP` and review
the diff.

    python3 tests/golden/gen.py [DIR]
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snap"))
from gen import MAGIC, U32_MAX, props, section, table, varint  # noqa: E402

TYPE_HEAP, TYPE_GC = 1, 2
OBJ_GC_TRACKED, OBJ_IN_PYMALLOC = 1, 4
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


def snapshot(objects, pid, python, taken_at, pause_ms, stats, flags=0):
    strings = [b""]
    index = {b"": 0}

    def sid(s):
        b = s.encode()
        if b not in index:
            index[b] = len(strings)
            strings.append(b)
        return index[b]

    meta = [("pid", VAL_INT, pid),
            ("exe", VAL_STRING, sid("/usr/bin/python" + python[:4])),
            ("cmdline", VAL_STRING, sid("python3 app.py --serve")),
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
    # Only the types this snapshot uses, in TYPES order.
    types, type_id = [], {}
    for n, (name, module, tflags) in enumerate(TYPES):
        if name not in objects:
            continue
        type_id[name] = len(types)
        types.append((0x7f3a00010000 + 0x1a0 * n, sid(name), sid(module),
                      tflags, U32_MAX, 16 + 8 * n, 0))
    objs = []
    addr = 0x7f3a10000000
    for name, _, tflags in TYPES:
        for count, size in objects.get(name, []):
            for _ in range(count):
                flags = OBJ_IN_PYMALLOC if size <= 512 else 0
                if tflags & TYPE_GC:
                    flags |= OBJ_GC_TRACKED
                objs.append((addr, size, 0, 1, type_id[name], flags, 0))
                addr += (size + 15) // 16 * 16
    stat_rows = sorted((sid(k), v) for k, v in stats.items())
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
    header = MAGIC + struct.pack("<HHI", 1, 0, 0)
    body = b"".join(section(t, p) for t, p in secs)
    end = struct.pack("<II", len(secs), zlib.crc32(header))
    return header + body + section(b"END ", end, store=True)


def stats(objects):
    n = sum(c for rows in objects.values() for c, _ in rows)
    small = sum(c for rows in objects.values() for c, s in rows if s <= 512)
    return {"census.objects": n, "census.types": len(objects),
            "census.gc_list_breaks": 0, "census.skipped.bad_type": 3,
            "census.skipped.bad_refcnt": 1, "pymalloc.method": 1,
            "pymalloc.used_blocks": small + 7, "pymalloc.corrupt_pools": 0}


def main(argv):
    out = argv[1] if len(argv) > 1 else HERE
    files = {
        "a.snap": snapshot(A_OBJECTS, 4242, "3.11.2", T0, 12.5,
                           stats(A_OBJECTS)),
        "b.snap": snapshot(B_OBJECTS, 4242, "3.11.2", T0 + 630.0, 9.75,
                           stats(B_OBJECTS)),
        "c.snap": snapshot(C_OBJECTS, 5151, "3.12.1", T0 + 7300.0, 0.0,
                           stats(C_OBJECTS), flags=1),
    }
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-8s %6d bytes" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
