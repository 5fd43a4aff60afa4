# Live-test target for `pyheap snap`: builds objects in known numbers,
# deletes some, then records what the interpreter itself knows -- per-type
# counts and sys.getsizeof sums over gc.get_objects(), and pymalloc's
# blocks in use (sys._debugmallocstats) -- and sleeps without allocating
# anything more, so a snapshot taken now must match exactly.
#
# argv[1]: the ready file (JSON, written last, by rename).
import gc
import json
import os
import signal
import sys
import time

gc.disable()  # no collection may change the heap between count and snap

N, M, K, L = 12345, 2345, 3456, 456
STR_LEN = 377     # distinctive str length, small enough for pymalloc
BYTES_LEN = 1000  # bytes over 512 bytes: allocated with malloc


class WithDict(object):  # new-style in 2.7 as well
    def __init__(self, i):
        self.i = i
        self.name = "obj"


class WithSlots(object):
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = i
        self.b = None


with_dict = [WithDict(i) for i in range(N)]
with_slots = [WithSlots(i) for i in range(M)]
strs = [("s%07d" % i) + "q" * (STR_LEN - 8) for i in range(K)]
blobs = [(b"%06d" % i) + b"b" * (BYTES_LEN - 6) for i in range(L)]
del with_dict[::3]
del with_slots[::5]
del strs[::7]
del blobs[::4]
# A memoryview of a bytearray: memoryview -> managedbuffer -> bytearray,
# each reference owned (memory_traverse, mbuf_traverse), and one view
# released (its stale view.obj no reference).
# (3.x: 2.7's memoryview has another layout and no release.)
VIEWED = bytearray(b"v" * 100)
if sys.version_info[0] >= 3:
    VIEW = memoryview(VIEWED)
    GONE = memoryview(bytearray(b"g" * 50))
    GONE.release()
else:
    VIEW = GONE = None


def class_of(o):
    """type(o), or an old-style instance's class (2.7), as pyheap keys
    it."""
    t = type(o)
    return o.__class__ if t.__name__ == "instance" and \
        t.__module__ == "__builtin__" else t


def type_key(t):
    mod = t.__module__
    name = getattr(t, "__qualname__", t.__name__)  # 2.7: no qualname
    return name if mod in ("builtins", "__builtin__") else mod + "." + name


ready = sys.argv[1]
tmp = ready + ".tmp"
# Some interpreters build caches on the first call of a function (3.7's
# argument parsers keep a keyword tuple): call everything used after the
# count once now.
warm = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(warm, json.dumps([{"a": 1}]).encode())
os.close(os.dup(warm))
os.dup2(warm, warm)
os.close(warm)
os.rename(tmp, tmp)
time.sleep(0)
# Everything this records is created before the count and kept alive.
meta = {
    "pid": os.getpid(),
    "version": list(sys.version_info),
    "survivors": {"__main__.WithDict": len(with_dict),
                  "__main__.WithSlots": len(with_slots)},
    "str_size": sys.getsizeof(strs[0]), "str_count": len(strs),
    "strs_id": id(strs),
    "bytes_size": sys.getsizeof(blobs[0]), "bytes_count": len(blobs),
    "blobs_id": id(blobs),
}
if VIEW is not None:
    meta.update(view_id=id(VIEW), viewed_id=id(VIEWED), gone_id=id(GONE))


def census():
    objs = gc.get_objects()  # before the dicts below, which die later
    counts = {}
    sizes = {}
    for o in objs:
        k = type_key(class_of(o))
        counts[k] = counts.get(k, 0) + 1
        sizes[k] = sizes.get(k, 0) + sys.getsizeof(o)
    # 2.7's running frame is a tracked object in objs (it is gone once
    # this returns) and a cycle with them, which the disabled collector
    # would leave behind.
    me = sys._getframe()
    for x in objs:
        if x is me:
            counts[type_key(type(me))] -= 1
            sizes[type_key(type(me))] -= sys.getsizeof(me)
    del objs, o, me, x
    return counts, sizes


# What the GC sees.  The objects made from here on are deleted before the
# snapshot (json.dumps is one-shot C code: no cycles left behind).  3.15's
# standard library imports lazily (PEP 810): touching a lazy object while
# counting can import modules (about 30, measured), which would then be
# alive in the snapshot but not counted.  Count until counting imports
# nothing more, then count.
for _ in range(5):
    before = len(sys.modules)
    census()
    if len(sys.modules) == before:
        break
counts, sizes = census()
text = json.dumps([meta, counts, sizes]).encode()
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, text)
os.close(fd)
del counts, sizes, text

# pymalloc's own count of blocks in use, now that every temporary is gone.
stats_fd = os.open(ready + ".malloc", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
saved = os.dup(2)
os.dup2(stats_fd, 2)
if hasattr(sys, "_debugmallocstats"):  # 3.3+
    sys._debugmallocstats()
os.dup2(saved, 2)
os.close(stats_fd)
os.close(saved)
# The allocator's own count of blocks in use: on a free-threaded build,
# the sum of mi_page_t.used over every heap and abandoned segment
# (Objects/obmalloc.c, count_blocks).  Its int and bytes are freed again.
blocks_fd = os.open(ready + ".blocks", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
# (No lambda for 2.7's want of it: on a free-threaded build a module-level
# function is freed by the collector only.)
os.write(blocks_fd, b"%d" % (sys.getallocatedblocks()
                             if hasattr(sys, "getallocatedblocks") else -1))
os.close(blocks_fd)
os.rename(tmp, ready)
# Allocates nothing while the snapshot is taken: signal.pause takes no
# arguments (2.7's time.sleep(n) holds an args tuple on the C stack).
while True:
    signal.pause()
