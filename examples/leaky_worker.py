#!/usr/bin/env python3
"""A small worker daemon that leaks, for trying pyheap on.

It handles fake requests on two worker threads.  Each request object gets a
helper closure that refers back to the request (a reference cycle) and the
results go into a module-level cache that is never trimmed, so memory grows
a little with every request, the way real services leak.

    python3 examples/leaky_worker.py &
    pyheap info $!
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


def main():
    q = queue.Queue()
    for _ in range(2):
        threading.Thread(target=worker, args=(q,), daemon=True).start()
    n = 0
    while True:
        for _ in range(100):
            q.put(Request(n))
            n += 1
        q.join()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
