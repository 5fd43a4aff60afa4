# Live-test target for pyheap garbage on Python 2.7 (tests/live/
# suite_garbage.py): with the collector disabled it makes the garbage 2.7
# knows, then writes the ready file and waits.
#
#   - urllib2's cycle, the seed of this project: each urlopen() of a local
#     HTTP server leaves its httplib.HTTPResponse (an old-style instance)
#     in a cycle through its own bound method (urllib2 do_open: r.recv =
#     r.read), with what the response holds;
#   - new-style and old-style instance pairs, self-referencing lists;
#   - cycles with __del__, new-style and old-style, each holding a list,
#     and a generator suspended in a try block in a cycle: 2.7's collector
#     leaves those in gc.garbage (gcmodule.c has_finalizer);
#   - a live cycle held by a module global.
#
# argv[1]: the ready file (JSON, written last, by rename).
#
# stdin commands, one per line, each answered with one JSON line:
#   ping     {"pong": true}
#   collect  three collections, each telling one set apart:
#            1. gc.DEBUG_SAVEALL: every unreachable object goes to
#               gc.garbage ("unreachable": their ids, "collected": n);
#            2. gc.garbage emptied, no debug flag: the objects without a
#               finalizer among them are freed, and gc.garbage lists the
#               ones with a finalizer ("gc_garbage": ids);
#            3. gc.garbage emptied again, DEBUG_SAVEALL: what 2 kept, the
#               finalizers and what they reach ("kept": ids).
import BaseHTTPServer
import gc
import json
import os
import sys
import threading
import urllib2

gc.disable()
N = 40       # HTTP requests
M = 150      # of each other kind


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"pyheap" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Node(object):
    def __init__(self):
        self.peer = None


class OldNode:
    def __init__(self):
        self.peer = None


class Finalized(object):
    def __init__(self):
        self.peer = None
        self.held = [1, 2, 3]

    def __del__(self):
        pass


class OldFinalized:
    def __init__(self):
        self.peer = None
        self.held = [4, 5, 6]

    def __del__(self):
        pass


class OldFinalizedChild(OldFinalized):
    # __del__ from its base class (classobject.c class_lookup)
    pass


def pair(cls):
    a, b = cls(), cls()
    a.peer, b.peer = b, a


def self_list():
    x = []
    x.append(x)


def in_try(box):
    try:
        yield box
    finally:
        pass


def generator_cycle():
    box = []
    g = in_try(box)
    next(g)              # suspended inside try/finally
    box.append(g)        # box -> g -> frame -> box


server = BaseHTTPServer.HTTPServer(("127.0.0.1", 0), Handler)
thread = threading.Thread(target=server.serve_forever)
thread.daemon = True
thread.start()
url = "http://127.0.0.1:%d/" % server.server_address[1]
for _ in range(N):
    urllib2.urlopen(url).read()
server.shutdown()
server.server_close()
thread.join()

for _ in range(M):
    pair(Node)
    pair(OldNode)
    self_list()
for _ in range(M // 10):
    pair(Finalized)
    pair(OldFinalized)
    pair(OldFinalizedChild)
    generator_cycle()

KEPT = []
live = [KEPT]
KEPT.append(live)


def answer(obj):
    os.write(1, (json.dumps(obj) + "\n").encode())


def read_line():
    line = b""
    while True:
        c = os.read(0, 1)
        if not c or c == b"\n":
            return line
        line += c


def collect():
    # map(id, ...), not [id(o) for o in ...]: 2.7's list comprehension
    # leaves o bound to the last object, which would keep it alive.
    gc.set_debug(gc.DEBUG_SAVEALL)
    n = gc.collect()
    unreachable = list(map(id, gc.garbage))
    del gc.garbage[:]
    gc.set_debug(0)
    gc.collect()
    fin = list(map(id, gc.garbage))
    del gc.garbage[:]
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    kept = list(map(id, gc.garbage))
    del gc.garbage[:]
    gc.set_debug(0)
    return {"collected": n, "unreachable": unreachable, "gc_garbage": fin,
            "kept": kept}


ready = sys.argv[1]
tmp = ready + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "version": list(sys.version_info),
               "n": N, "m": M}, f)
os.rename(tmp, ready)
while True:
    line = read_line()
    if not line:
        break
    if line == b"collect":
        answer(collect())
    else:
        answer({"pong": True})
