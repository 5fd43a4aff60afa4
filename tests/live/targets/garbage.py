# Live-test target for pyheap garbage (issue 15): with the collector
# disabled, it builds garbage of every kind the collector knows -- instance
# cycles, self-referencing lists and dicts, closures over themselves,
# exception -> traceback -> frame cycles, finished and suspended
# generators, objects with __del__, weakrefs with callbacks to cyclic
# garbage -- plus live cycles held by a module global, then writes the
# ready file and waits.
#
# argv[1]: the ready file (JSON, written last, by rename).
# argv[2] (optional): a directory holding the test extension nogc
#   (tests/live/ext/nogc.c, built for this interpreter): then N requests of
#   nogc.Box (no GC support) and N of nogc.GcBox, each decorated with a
#   lambda that closes over it, become garbage; K objects get a reference
#   leaked by nogc.leak and one is held by nogc.hold (a C static).
#
# stdin commands, one per line, each answered with one JSON line:
#   ping     {"pong": true}
#   more K   K more self-referencing lists: {"made": K, "bytes": their
#            sys.getsizeof() sum}
#   keep K   K more dicts kept in the module global KEPT (live growth
#            with an accumulation point): {"kept": K}
#   collect  gc.set_debug(gc.DEBUG_SAVEALL); n = gc.collect():
#            {"collected": n, "garbage": [id of each object in gc.garbage]}
import gc
import json
import os
import sys
import time
import weakref

gc.disable()
N = 200


class Node:
    def __init__(self):
        self.peer = None


class Finalized:
    def __del__(self):
        pass


def pair():
    a, b = Node(), Node()
    a.peer, b.peer = b, a


def self_list():
    x = []
    x.append(x)


def self_dict():
    d = {}
    d["self"] = d


def closure():
    class Req:
        pass
    r = Req()
    r.helper = lambda: r


def exc_cycle():
    try:
        raise ValueError("x")
    except ValueError as e:
        err = e
    err.keep = err.__traceback__  # exception -> traceback -> frame -> err


def gen_cycle():
    def g():
        yield 1
    it = g()
    next(it)
    holder = [it]
    holder.append(holder)


def finalized():
    f = Finalized()
    f.me = f


def weak():
    n = Node()
    n.peer = n
    n.ref = weakref.ref(n, lambda r: None)


for make in (pair, self_list, self_dict, closure, exc_cycle, gen_cycle,
             finalized, weak):
    for _ in range(N):
        make()

report = {"pid": os.getpid(), "version": list(sys.version_info), "n": N}
if len(sys.argv) > 2:
    sys.path.insert(0, sys.argv[2])
    import nogc

    def request(cls):
        req = cls()
        req.external_redirect = lambda location: (req, location)

    for _ in range(N):
        request(nogc.Box)
        request(nogc.GcBox)
    LEAKED = [Node() for _ in range(7)]
    for o in LEAKED:
        nogc.leak(o)
    HELD = Node()
    nogc.hold(HELD)
    report["leaked"] = [id(o) for o in LEAKED]
    report["held"] = id(HELD)

# Cycles that stay alive: held by this module.
KEEP = []
for _ in range(N):
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    KEEP.append(a)

ready = sys.argv[1]
tmp = ready + ".tmp"
with open(tmp, "w") as f:
    json.dump(report, f)
os.rename(tmp, ready)
KEPT = []
for line in sys.stdin:
    words = line.split()
    if words[:1] == ["collect"]:
        gc.set_debug(gc.DEBUG_SAVEALL)
        n = gc.collect()
        answer = {"collected": n, "garbage": [id(o) for o in gc.garbage]}
    elif words[:1] == ["keep"]:
        k = int(words[1])
        KEPT.extend({"n": i} for i in range(k))
        answer = {"kept": k}
    elif words[:1] == ["more"]:
        k = int(words[1])
        size = 0
        for _ in range(k):
            x = []
            x.append(x)
            size += sys.getsizeof(x)
        del x
        answer = {"made": k, "bytes": size}
    else:
        answer = {"pong": True}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
while True:
    time.sleep(100000)
