#!/usr/bin/env python3
"""A small worker daemon that leaks at a known rate, for trying pyheap on.

Fake requests go to two worker threads; each gets a helper closure that refers
back to it (a reference cycle), and a cache that is never trimmed keeps every
request: --rate N a second (default 200), each leaking a Request, a function,
a cell, a tuple and an int.  --log FILE writes their sizes, then each second
"UNIX_TIME LEAKED"; --pidfile FILE writes the PID.  See examples/README.md.

    python3 examples/leaky_worker.py --rate 500 --pidfile /tmp/w.pid &
"""
import queue
import threading
import time

CACHE = {}


class Request:
    def __init__(self, n):
        self.n = n
        self.payload = "x" * 200
        # The cycle: the closure holds the request, the request holds it.
        self.helper = lambda: self.n


def handle(req):
    CACHE[req.n] = req  # never evicted: the leak
    return len(req.payload)


def worker(q):
    while True:
        req = q.get()
        handle(req)
        q.task_done()


def main(rate=200, log=None, pidfile=None):
    q = queue.Queue()
    for _ in range(2):
        threading.Thread(target=worker, args=(q,), daemon=True).start()
    n, pace = 0, Pace(rate, log, pidfile)
    while True:
        for _ in range(pace.due(n)):
            q.put(Request(n))
            n += 1
        q.join()
        time.sleep(Pace.TICK)


class Pace:
    """Makes the leak steady: by t seconds after the start, int(rate * t)
    requests have been made and cached, whatever the scheduling."""

    TICK = 0.1

    def __init__(self, rate, log, pidfile):
        self.rate = rate
        self.log = open(log, "a", buffering=1) if log else None
        self.last_log = 0.0
        if self.log:
            import json
            import sys
            probe = Request(10 ** 6)  # an int > 256: not a cached one
            sizes = {"__main__.Request": sys.getsizeof(probe),
                     "function": sys.getsizeof(probe.helper),
                     "cell": sys.getsizeof(probe.helper.__closure__[0]),
                     "tuple": sys.getsizeof(probe.helper.__closure__),
                     "int": sys.getsizeof(probe.n)}
            self.log.write("# rate %s sizes %s\n" % (rate, json.dumps(sizes)))
        if pidfile:
            import os
            with open(pidfile + ".tmp", "w") as f:
                f.write("%d\n" % os.getpid())
            os.replace(pidfile + ".tmp", pidfile)
        self.start = time.monotonic()

    def due(self, made):
        """How many requests to make now; logs what was made so far."""
        now = time.monotonic()
        if self.log and now - self.last_log >= 1.0:
            self.log.write("%.3f %d\n" % (time.time(), made))
            self.last_log = now
        return max(0, int(self.rate * (now - self.start)) - made)


def options():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200,
                    help="requests (leaked) per second (default 200)")
    ap.add_argument("--log", help="append the leaked count each second")
    ap.add_argument("--pidfile", help="write the PID to this file")
    return vars(ap.parse_args())


if __name__ == "__main__":
    main(**options())
