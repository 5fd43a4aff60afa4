# Live-test target for the sizes of objects that own memory (issue 14):
# subclasses of built-in containers (collections.defaultdict, OrderedDict,
# Python subclasses of dict, list, set, bytearray, deque) and extension
# objects with separate buffers (array.array, _struct.Struct, io.BytesIO).
# Each group is held in a list of its own; the target reports, per group,
# the list's id, the type's key, how many objects and the sum of their
# sys.getsizeof -- over its own objects, since arrays and Structs are not
# GC-tracked in every version -- then sleeps without allocating.
#
# argv[1]: the ready file (JSON, written last, by rename).
#
# stdin commands, one per line, each answered with one JSON line:
#   ping          {"pong": true}
#   leak N S      keep N more arrays of S bytes each (numpy arrays that own
#                 their data when numpy imports, else array.array("d")):
#                 {"type": TYPE, "count": N, "bytes": sum of getsizeof}
import array
import collections
import gc
import io
import json
import os
import struct
import sys
import time

gc.disable()


class D(dict):
    pass


class L(list):
    pass


class S(set):
    pass


class BA(bytearray):
    pass


class DQ(collections.deque):
    pass


class DD(collections.defaultdict):  # a Python class over a static one
    pass


def filled_dict(cls, i, *args):
    d = cls(*args)
    for k in range(i % 40 if i % 7 else 200):  # some keys tables > 512 B
        d["k%d" % k] = k
    return d


N = 120
groups = {
    "defaultdict": [filled_dict(collections.defaultdict, i, list)
                    for i in range(N)],
    "defaultdict_lambda": [filled_dict(collections.defaultdict, i,
                                       lambda: 0) for i in range(N)],
    "DD": [filled_dict(DD, i, int) for i in range(N)],
    "OrderedDict": [filled_dict(collections.OrderedDict, i)
                    for i in range(N)],
    "D": [filled_dict(D, i) for i in range(N)],
    "L": [L(range(i % 90)) for i in range(N)],
    "S": [S(range(i % 30)) for i in range(N)],
    "BA": [BA(b"x" * (7 if i % 3 else 1500)) for i in range(N)],
    "deque": [collections.deque(range(i % 150)) for i in range(N)],
    "DQ": [DQ(range(i % 70)) for i in range(N)],
    # array.array: small ones in pymalloc (<= 512 bytes), big ones in
    # malloc chunks, empty ones with no buffer, and one grown by append.
    "array_small": [array.array("b", b"a" * (i % 50 + 1))
                    for i in range(N)],
    "array_h": [array.array("H", range(i % 200)) for i in range(N)],
    "array_big": [array.array("d", [0.5] * (1000 + i)) for i in range(N)],
    "array_q": [array.array("q", range(5000)) for i in range(10)],
    "Struct": [struct.Struct("<%dsI%dH" % (i, i % 9 + 1) + "q" * (i % 5))
               for i in range(N)],
    "Struct_long": [struct.Struct(">" + "bhiqBHIQ" * (i + 1))
                    for i in range(20)],
}
grown = array.array("i")
for i in range(3000):
    grown.append(i)
groups["array_grown"] = [grown]

# io.BytesIO: its buffer is a bytes object that pyheap counts as such, so
# its own size is compared apart (see the suite).
bios = []
for i in range(N):
    b = io.BytesIO()
    b.write(b"y" * (i * 20))
    bios.append(b)
groups["BytesIO"] = bios


def type_key(t):
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else mod + "." + t.__qualname__


report = {"pid": os.getpid(), "version": list(sys.version_info),
          "groups": {}}
for name, objs in groups.items():
    report["groups"][name] = {
        "id": id(objs), "type": type_key(type(objs[0])), "count": len(objs),
        "bytes": sum(sys.getsizeof(o) for o in objs),
    }
# What an io.BytesIO is by itself: basicsize plus the GC head.
report["bytesio_own"] = io.BytesIO.__basicsize__ + (
    sys.getsizeof([]) - [].__sizeof__())
# numpy, when it imports: arrays that own their data (1 MiB ones, small
# ones, 0-d and empty ones, Fortran order) and views of them, which own
# nothing: each owner's data is one malloc chunk, counted once.
# Debian's python3-numpy is built for Debian's python3.11; a pyenv 3.11
# finds it in dist-packages too.
if sys.version_info[:2] == (3, 11) and \
        "/usr/lib/python3/dist-packages" not in sys.path:
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    import numpy
except ImportError as e:
    numpy = None
    report["numpy"] = "numpy does not import: %s" % e
else:
    report["numpy"] = numpy.__version__
    own = [numpy.zeros(1 << 17) for i in range(8)]               # 1 MiB
    own += [numpy.arange(i * 10, dtype=numpy.int32) for i in range(N)]
    own += [numpy.zeros(()) for i in range(10)]
    own += [numpy.zeros((0, 4)) for i in range(10)]
    own += [numpy.asfortranarray(numpy.ones((30, 20), dtype=numpy.int16))
            for i in range(10)]
    views = [a[1:] for a in own if a.ndim == 1]
    views += [a[::2, 1] for a in own if a.ndim == 2 and a.size]
    views += [a.T for a in own[:8]]
    for name, objs in (("ndarray_own", own), ("ndarray_view", views)):
        report["groups"][name] = {
            "id": id(objs), "type": type_key(type(objs[0])),
            "count": len(objs),
            "bytes": sum(sys.getsizeof(o) for o in objs),
            "data": [o.nbytes if o.flags.owndata else 0 for o in objs],
        }
    groups["ndarray_own"] = own
    groups["ndarray_view"] = views

ready = sys.argv[1]
tmp = ready + ".tmp"
with open(tmp, "w") as f:
    json.dump(report, f)
os.rename(tmp, ready)
leaked = []
for line in sys.stdin:
    words = line.split()
    if words[:1] == ["leak"]:
        n, size = int(words[1]), int(words[2])
        new = [numpy.zeros(size // 8) if numpy else
               array.array("d", bytes(size)) for i in range(n)]
        leaked.extend(new)
        answer = {"type": type_key(type(new[0])), "count": n,
                  "bytes": sum(sys.getsizeof(o) for o in new)}
    else:
        answer = {"pong": True}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
while True:
    time.sleep(100000)
