# Live-test target: eight threads allocate and free without pause (lists,
# dicts, instances, strings; pymalloc and malloc sizes) while a fixed set of
# objects stays alive.  Snapshots taken in stop mode must be complete and
# consistent however the threads are caught.
#
# argv[1]: the ready file.
import json
import os
import random
import sys
import threading

STABLE = 5000


class Stable(object):  # new-style in 2.7 as well
    def __init__(self, i):
        self.i = i


class Churn(object):
    def __init__(self, n):
        self.items = [n] * (n % 64)
        self.meta = {"n": n, "s": "x" * (n % 700)}


keep = [Stable(i) for i in range(STABLE)]


def worker(seed):
    rnd = random.Random(seed)
    live = []
    while True:
        live.append(Churn(rnd.randrange(100000)))
        if len(live) > 300:
            live.pop(rnd.randrange(len(live)))
        if rnd.random() < 0.01:
            live = [c for c in live if c.items]


threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
for t in threads:
    t.daemon = True  # (2.7's Thread takes no daemon argument)
    t.start()
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "stable": STABLE,
               "version": list(sys.version_info)}, f)
os.rename(tmp, sys.argv[1])
for t in threads:
    t.join()
