"""bench/run's target: a heap of N live objects, a 1 ms heartbeat, and
in-process tools timed on request.  Works on Python 3.7+.

    python target.py N [--tracemalloc] [--shape mix|app]
    python target.py 0 --program mypy:PACKAGE|sphinx:SRCDIR

--shape mix (the default) builds, per 100 objects: 20 int, 20 str,
10 tuple, 10 dict, 10 list, 10 instances of a class with a __dict__, 10
of a class with __slots__, 9 bytes; and one large object (a 100 KiB
bytes) per 10,000.  --shape app is shaped like an application's state
instead: per 100 objects, 12 sessions, each an instance whose __dict__
is materialised and holds a nested dict, a list and a tuple of its own
(with their ints and strs), and 4 instances with __slots__.  --program
runs a program nobody here wrote, from Debian's packages, in this
process and keeps everything it built alive (its peak): mypy type-checking
PACKAGE (mypy.build.build, as `python3 -m mypy -p PACKAGE` does; Debian's
mypy is compiled with mypyc, so most of its objects are C-extension
instances), or Sphinx building SRCDIR to HTML (sphinx-apidoc's output:
autodoc imports and documents the package).  Then prints
one JSON line {"ready": ..., "build_s": ...} and answers commands read
from stdin, one JSON line each:

    mark          reset the heartbeat's longest gap
    gap           the longest gap between two ticks since mark, in ms
    grow K        K more instances of the __dict__ class (a leak)
    gc_hist       time gc.get_objects() and a histogram of their types
    tm_snapshot   time tracemalloc.take_snapshot()
    tm_compare    time take_snapshot() then compare_to() the previous one
    objgraph      time objgraph.show_growth() (the first call is the baseline)
    quit

The heartbeat thread wakes every 1 ms (time.sleep(0.001)) and records the
longest interval between two wake-ups: while pyheap holds the process
stopped, no tick happens, so the longest gap is the pause as the program
saw it (plus up to one tick).
"""
import gc
import json
import os
import sys
import threading
import time

N = int(sys.argv[1])
TRACE = "--tracemalloc" in sys.argv[2:]
SHAPE = "mix"
PROGRAM = None
for i, a in enumerate(sys.argv[2:-1], 2):
    if a == "--shape":
        SHAPE = sys.argv[i + 1]
    elif a == "--program":
        PROGRAM = sys.argv[i + 1]
if TRACE:
    import tracemalloc
    tracemalloc.start()


class Record:
    def __init__(self, i, name):
        self.id = i
        self.name = name
        self.score = 0.5


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Session:
    def __init__(self, i, name):
        self.id = i
        self.name = name
        self.meta = {"user": name + "-u", "hits": i + 7, "ttl": i + 3600}
        self.history = [i + 1, name + "-h"]
        self.key = (i + 2, name + "-k")


def build_app(n):
    units = n // 100
    sessions = []
    for i in range(12 * units):
        s = Session(1000000 + i, "s-%d" % i)
        s.__dict__  # a materialised instance dict, as code that uses
        sessions.append(s)  # vars() or setattr on the fly gets
    points = [Point(2000000 + i, 3000000 + i) for i in range(4 * units)]
    return [sessions, points]


def build_program(spec):
    kind, _, arg = spec.partition(":")
    if kind == "mypy":
        from mypy import build as mypy_build
        from mypy.main import process_options
        files, opts = process_options(["--no-incremental", "-p", arg])
        opts.cache_dir = os.devnull
        return [mypy_build.build(sources=files, options=opts)]
    if kind == "sphinx":
        import io
        from sphinx.application import Sphinx
        app = Sphinx(arg, arg, os.path.join(arg, "_build", "html"),
                     os.path.join(arg, "_build", "doctrees"), "html",
                     status=io.StringIO(), warning=io.StringIO(),
                     freshenv=True)
        app.build()
        return [app]
    raise SystemExit("target.py: unknown program %r" % spec)


def build(n):
    units = n // 100
    ints = [1000000 + i for i in range(20 * units)]
    strs = ["key-%d" % i for i in range(20 * units)]
    tuples = [(ints[i], strs[i]) for i in range(10 * units)]
    dicts = [{"id": ints[i], "name": strs[i]} for i in range(10 * units)]
    lists = [[ints[i], strs[i]] for i in range(10 * units)]
    records = [Record(ints[i], strs[i]) for i in range(10 * units)]
    points = [Point(ints[i], ints[i + 1]) for i in range(10 * units)]
    blobs = [b"blob-%08d" % i for i in range(9 * units)]
    large = [bytes(100 * 1024) for _ in range(max(1, n // 10000))]
    return [ints, strs, tuples, dicts, lists, records, points, blobs, large]


t0 = time.perf_counter()
gc.disable()        # building is not what is measured
HEAP = build_program(PROGRAM) if PROGRAM else \
    build_app(N) if SHAPE == "app" else build(N)
gc.enable()
build_s = time.perf_counter() - t0

lock = threading.Lock()
longest = [0.0]


def heartbeat():
    last = time.perf_counter()
    while True:
        time.sleep(0.001)
        now = time.perf_counter()
        with lock:
            if now - last > longest[0]:
                longest[0] = now - last
        last = now


threading.Thread(target=heartbeat, daemon=True).start()

previous = None
objgraph = None


def load_objgraph():
    # Debian's python3-objgraph, loaded by path so every interpreter can
    # use the one pure-Python module.
    import importlib.util
    path = "/usr/lib/python3/dist-packages/objgraph.py"
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("objgraph", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def timed_snapshot():
    """Seconds tracemalloc.take_snapshot() took, and the snapshot."""
    t = time.perf_counter()
    snap = tracemalloc.take_snapshot()
    return time.perf_counter() - t, snap


def reply(**kw):
    os.write(1, (json.dumps(kw) + "\n").encode())


reply(ready=True, pid=os.getpid(), build_s=build_s, tracing=TRACE,
      python=sys.version.split()[0])
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "mark":
        with lock:
            longest[0] = 0.0
        reply(ok=True)
    elif cmd[0] == "gap":
        with lock:
            reply(gap_ms=longest[0] * 1000)
    elif cmd[0] == "grow":
        k = int(cmd[1])
        HEAP.append([Record(i, "leak") for i in range(k)])
        reply(ok=True)
    elif cmd[0] == "gc_hist":
        def hist():
            counts = {}
            for o in gc.get_objects():
                t = type(o).__name__
                counts[t] = counts.get(t, 0) + 1
        reply(s=timed(hist))
    elif cmd[0] == "tm_snapshot":
        if not TRACE:
            reply(error="not tracing")
            continue
        s, previous = timed_snapshot()
        reply(s=s)
    elif cmd[0] == "tm_compare":
        if not TRACE or previous is None:
            reply(error="no previous tracemalloc snapshot")
            continue
        old = previous
        take_s, previous = timed_snapshot()
        s = timed(lambda: old.compare_to(previous, "lineno"))
        reply(s=s, take_s=take_s)
    elif cmd[0] == "objgraph":
        if objgraph is None:
            objgraph = load_objgraph()
        if objgraph is None:
            reply(error="objgraph not installed (python3-objgraph)")
            continue
        with open(os.devnull, "w") as null:
            s = timed(lambda: objgraph.show_growth(limit=10, file=null))
        reply(s=s)
    elif cmd[0] == "quit":
        break
