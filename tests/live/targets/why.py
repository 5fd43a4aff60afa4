# Live-test target for pyheap why and pyheap retained (issue 15): objects
# held in known ways, so that every path pyheap prints can be followed in
# here, and a cache whose retained size this process computes itself.
#
# argv[1]: the ready file (JSON, written last, by rename):
#   {"pid", "version", "n", "cache": id(CACHE), "cache_retained": the sum
#    of sys.getsizeof over CACHE and everything only it holds,
#    "requests": [id of each Request], "jobs": id of main()'s local list}
#
# stdin commands, one per line, each answered with one JSON line:
#   ping          {"pong": true}
#   follow JSON   JSON is a why example path ([{addr, type, label}, ...]):
#                 follow it from its first object, by attribute, key or
#                 index where the hop has a label, else by id among
#                 gc.get_referents(); {"ok": true} when every hop lands on
#                 its address, else {"ok": false, "hop": k, "why": text}
#   grow          N more Requests: {"requests": [their ids]}
import gc
import json
import os
import re
import sys
import time

N = 300


class Request(object):  # new-style in 2.7 as well
    def __init__(self, i):
        self.payload = [bytearray(64)]
        self.helper = lambda: self  # a closure over the request
        self.number = i


class Session(object):
    pass


class Job(object):
    pass


class Holder(object):
    pass


class Ticket(object):
    pass


class Slotted(object):
    __slots__ = ("ticket",)


class Pending(object):
    pass


class Failed(object):
    pass


def waiting():
    pending = Pending()  # held only by this suspended generator's frame
    yield 1
    yield pending


def failing():
    failed = Failed()  # held only by this frame, which a traceback keeps
    raise ValueError(failed.__class__.__name__)


GEN = waiting()
next(GEN)
try:
    failing()
except ValueError as e:
    ERR = e


REQUESTS = []
HOLDER = Holder()
# A slot: its edge is labelled by the member's name (.ticket).
SLOTTED = Slotted()
SLOTTED.ticket = Ticket()
# Keys made at run time: not interned, so not labelled by default.
HOLDER.sessions = dict(("s-%d" % i, Session()) for i in range(N))


def make_requests(n):
    new = [Request(i) for i in range(n)]
    REQUESTS.extend(new)
    return [id(r) for r in new]


def build_cache():
    # Only CACHE holds these: unique keys, lists, bytearrays, tuples,
    # ints above the small-int cache and strs.
    return dict(("k%d" % i, [bytearray(100), (i + 10 ** 6, "v%d" % i * 3)])
                for i in range(N))


def cache_retained(cache):
    total = sys.getsizeof(cache)
    for k, v in cache.items():
        total += sys.getsizeof(k) + sys.getsizeof(v)
        total += sys.getsizeof(v[0]) + sys.getsizeof(v[1])
        total += sys.getsizeof(v[1][0]) + sys.getsizeof(v[1][1])
    return total


def find(addr):
    for o in gc.get_objects():
        if id(o) == addr:
            return o
        for r in gc.get_referents(o):
            if id(r) == addr:
                return r
    return None


def first(hop):
    roots = {"sys.modules": sys.modules, "sys.__dict__": sys.__dict__,
             "builtins": __builtins__.__dict__
             if hasattr(__builtins__, "__dict__") else __builtins__}
    o = roots.get(hop["label"])
    if o is not None and id(o) == hop["addr"]:
        return o
    # A thread's root up to 3.10 is its frame: not always a tracked
    # object, but in the thread's frame chain.
    for f in sys._current_frames().values():
        while f is not None:
            if id(f) == hop["addr"]:
                return f
            f = f.f_back
    return find(hop["addr"])


# A label is a Python expression from one object to the next: .attr,
# ['key'], [index], or several (".gi_frame.f_locals['x']").
TOKEN = re.compile(r"\.(\w+)|\['([^']*)'\]|\[(\d+)\]")


def step(cur, hop):
    label = hop["label"]
    if label is None:
        for r in gc.get_referents(cur):
            if id(r) == hop["addr"]:
                return r
        return None
    if label == ".__dict__" and isinstance(cur, type):
        # A class's namespace (tp_dict): Python code sees it only
        # through a mappingproxy, gc.get_referents() gives the dict.
        for r in gc.get_referents(cur):
            if id(r) == hop["addr"]:
                return r
        return None
    pos = 0
    while pos < len(label):
        m = TOKEN.match(label, pos)
        if not m:
            return None
        attr, key, index = m.groups()
        if attr is not None:
            cur = getattr(cur, attr)
        elif key is not None:
            cur = cur[key]
        else:
            cur = cur[int(index)]
        pos = m.end()
    return cur


def follow(path):
    cur = first(path[0])
    if cur is None:
        return {"ok": False, "hop": 0, "why": "no object at the start"}
    for k, hop in enumerate(path[1:], 1):
        try:
            nxt = step(cur, hop)
        except Exception as e:  # a label that does not apply here
            return {"ok": False, "hop": k, "why": repr(e)}
        if nxt is None or id(nxt) != hop["addr"]:
            return {"ok": False, "hop": k, "why": "%r lands on %s, not %#x"
                    % (hop["label"], hex(id(nxt)) if nxt is not None
                       else None, hop["addr"])}
        cur = nxt
    return {"ok": True}


CACHE = build_cache()


def main():
    jobs = [Job() for _ in range(N)]  # held by this frame only
    report = {"pid": os.getpid(), "version": list(sys.version_info),
              "n": N, "cache": id(CACHE),
              "cache_retained": cache_retained(CACHE),
              "requests": make_requests(N), "jobs": id(jobs)}
    ready = sys.argv[1]
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.rename(tmp, ready)
    for line in iter(sys.stdin.readline, ""):  # 2.7 reads ahead
        words = line.split(None, 1)
        if words[:1] == ["follow"]:
            answer = follow(json.loads(words[1]))
        elif words[:1] == ["grow"]:
            answer = {"requests": make_requests(50)}
        else:
            answer = {"pong": True}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    while True:
        time.sleep(100000)


main()
