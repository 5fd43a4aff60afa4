# Live-test target for allocation sites (tests/live/suite_sites.py).
#
# Allocates N objects at each of three marked lines (SITE-A: instances of
# a plain class, whose block starts at a GC or managed-dict header before
# the object; SITE-B: bytearrays, no header and a buffer of their own;
# SITE-C: bytes too big for pymalloc) and N closures at SITE-LAMBDA, five
# frames deep.  None of these types has a free list, so every object is a
# fresh allocation at its line.  Then it records what it knows -- its own
# tracemalloc's traceback of one object and its frame limit -- measures
# tracemalloc.get_traced_memory() and allocates nothing more: the bytes a
# snapshot finds traced must equal that measure.
#
# argv[1]: the ready file (JSON, renamed into place last); the traced
# memory is written to argv[1] + ".mem" just before.  Tracing is whatever
# the environment asks for (PYTHONTRACEMALLOC), or with SITES_START=K the
# target makes N instances at SITE-EARLY first and then calls
# tracemalloc.start(K): those have no trace.
#
# With SITES_COMMANDS=1 it then reads commands on stdin instead of
# sleeping, one a line, each answered "done" (for diffs between two
# snapshots; the traced-memory measure no longer holds):
#   grow K       K more instances at SITE-GROW, kept
#   requests K   K more requests, each with a closure over itself
#                (req.cb = lambda: req, SITE-CB), kept
# Commands are read one byte at a time with os.read and answered with
# os.write: a buffered file would keep buffers and objects of its own.
import gc
import json
import os
import sys
import time
try:
    import tracemalloc
except ImportError:  # 2.7: no tracemalloc, sites are inferred only
    tracemalloc = None

gc.disable()  # no collection may free or move anything once measured

N = 2345
BA_LEN = 100   # a bytearray and its 101-byte buffer
BIG_LEN = 700  # over 512 bytes: malloc's, not pymalloc's


class Plain(object):
    pass


keep_a = []
keep_b = []
keep_c = []
closures = []
early = []

if os.environ.get("SITES_START"):
    for _ in range(N):
        early.append(Plain())  # SITE-EARLY
    tracemalloc.start(int(os.environ["SITES_START"]))


def alloc_a(n):
    for _ in range(n):
        keep_a.append(Plain())  # SITE-A


def alloc_b(n):
    for _ in range(n):
        keep_b.append(bytearray(BA_LEN))  # SITE-B


def alloc_c(n):
    for _ in range(n):
        keep_c.append(bytes(BIG_LEN))  # SITE-C


def make_closure(i):  # SITE-DEF
    return lambda: i  # SITE-LAMBDA


grown = []
requests = []


class Req(object):
    pass


def grow(n):
    for _ in range(n):
        grown.append(Plain())  # SITE-GROW


def make_request():
    req = Req()
    req.cb = lambda: req  # SITE-CB
    return req


def add_requests(n):
    for _ in range(n):
        requests.append(make_request())


def serve():
    """The command loop (SITES_COMMANDS=1).  Only the objects a command
    is about stay; a line read and its words are replaced by the next."""
    line = b""
    while True:
        c = os.read(0, 1)
        if not c:
            return
        if c != b"\n":
            line += c
            continue
        words = line.split()
        line = b""
        if words[:1] == [b"grow"]:
            grow(int(words[1]))
        elif words[:1] == [b"requests"]:
            add_requests(int(words[1]))
        os.write(1, b"done\n")


def alloc_closures(n):
    for i in range(n):
        closures.append(make_closure(i))


def level3(n):
    alloc_a(n)
    alloc_b(n)
    alloc_c(n)
    alloc_closures(n)


def level2(n):
    level3(n)


def level1(n):
    level2(n)


# A first run makes whatever caches a first call makes; its objects go.
level1(20)
del keep_a[:], keep_b[:], keep_c[:], closures[:]
level1(N)


def traceback_of(obj):
    """tracemalloc's own traceback of obj, innermost frame first."""
    if tracemalloc is None:
        return None, None
    tb = tracemalloc.get_object_traceback(obj)
    if tb is None:
        return None, None
    frames = [[f.filename, f.lineno] for f in reversed(list(tb))]
    return frames, getattr(tb, "total_nframe", None)


ready = sys.argv[1]
tmp = ready + ".tmp"
mem = ready + ".mem"
mem_tmp = mem + ".tmp"


def write_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)


def measure(path):
    write_file(path, b"%d" % (tracemalloc.get_traced_memory()[0]
                              if tracemalloc else 0))


commands = bool(os.environ.get("SITES_COMMANDS"))
frames, total = traceback_of(keep_b[0])
info = {
    "pid": os.getpid(),
    "version": list(sys.version_info),
    "file": alloc_a.__code__.co_filename,
    "n": N,
    "tracing": bool(tracemalloc and tracemalloc.is_tracing()),
    "limit": tracemalloc.get_traceback_limit() if tracemalloc else 0,
    "a0": id(keep_a[0]), "b0": id(keep_b[0]), "c0": id(keep_c[0]),
    "make_closure": id(make_closure), "plain": id(Plain),
    "b0_frames": frames, "b0_total": total,
}
write_file(tmp, json.dumps(info).encode())
del frames, total, info

# Everything used from the measure on is called once before it (3.7's
# argument parsers, for one, keep a tuple made on the first call).
measure(mem_tmp)
os.rename(mem_tmp, mem_tmp)
time.sleep(0)
measure(mem_tmp)
os.rename(mem_tmp, mem_tmp)
time.sleep(0)
# From here on nothing that stays is allocated.
measure(mem)
os.rename(tmp, ready)
if commands:
    serve()
while True:
    time.sleep(100000)
