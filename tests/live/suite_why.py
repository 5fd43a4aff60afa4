"""Live suite for pyheap why and pyheap retained (issue 15), registered
with run.py.

why  targets/why.py holds Requests in a module global list (each with a
     payload list and a lambda closing over it), Sessions in a dict with
     run-time keys, Jobs in a list only main()'s frame holds, and a cache
     only its global holds.  For each of why --type *Request, *Session,
     *Job, bytearray, cell and --addr of one Request: every example path
     printed is followed in the target, hop by hop, by attribute, key and
     index or by id among gc.get_referents(), and lands on the same
     addresses; its length equals the distance a breadth-first search over
     the snapshot's own edges (snapfile.py, independent of pyheap) gives,
     in the same three rounds (the interpreter's roots, the threads', the
     other holders); the counts add up to the objects selected.  The
     shapes: Requests through sys.modules['__main__'].__dict__['REQUESTS']
     with the list as accumulation point, Jobs from the thread's frame.
     After the target makes 50 more Requests, why --since A B selects
     exactly those 50.
     retained: the cache's retained bytes equal what the target computes
     with sys.getsizeof over the cache and everything only it holds; the
     rows of --by type count each object at most once (their retained
     bytes add up to no more than the snapshot's).
"""
import json
import re
import os
import sys
from collections import deque


def bfs(snap):
    """Distances in the three rounds analysis.h "Why" specifies."""
    objs, edges, roots = snap["objects"], snap["edges"], snap["roots"]
    interp = [r["object"] for r in roots if r["kind"] not in (5, 6)]
    thread = [r["object"] for r in roots if r["kind"] in (5, 6)]
    other = [i for i, o in enumerate(objs)
             if o.get("unexplained", 0) > 0 or o["flags"] & 64]
    dist = [None] * len(objs)
    q = deque()
    for seeds in (interp, thread, other):
        for v in seeds:
            if dist[v] is None:
                dist[v] = 0
                q.append(v)
        while q:
            u = q.popleft()
            for d in edges[u]:
                if dist[d] is None:
                    dist[d] = dist[u] + 1
                    q.append(d)
    return dist


def ask(t, line):
    t.proc.stdin.write(line + "\n")
    t.proc.stdin.flush()
    return json.loads(t.proc.stdout.readline())


def suite_why(h, pyheap, slot, exe, res):
    if slot == "3.6":
        print("# why needs CPython 2.7 or 3.7+")
        return
    sys.path.insert(0, h.HERE)
    import snapfile
    with h.Target(exe, "why.py") as t:
        run(h, pyheap, t, res, snapfile)


def why(h, pyheap, res, snap_file, *args):
    p = h.run_pyheap(pyheap, "why", "--format", "json", *args, snap_file)
    if not res.equal(p.returncode, 0, "why %s exits 0 (%s)"
                     % (" ".join(args), p.stderr.strip())):
        return None
    return json.loads(p.stdout)


def check_diff_why(h, pyheap, res, a_file, b_file, w, n_new):
    """diff --why: the Request row's new objects and the path that holds
    most of them, as why --since says."""
    p = h.run_pyheap(pyheap, "diff", "--why", "--format", "json", "--match",
                     "*Request", a_file, b_file)
    if not res.equal(p.returncode, 0, "diff --why exits 0 (%s)"
                     % p.stderr.strip()):
        return
    rows = json.loads(p.stdout)["rows"]
    dw = rows[0].get("why") if rows else None
    top = w["paths"][0] if w["paths"] else None
    res.check(dw and dw["new_objects"] == n_new and top and
              dw["path"]["objects"] == top["objects"] and
              dw["path"]["example_path"] == top["example_path"] and
              (dw["path"]["accumulation"] or {}).get("step") ==
              top["accumulation"],
              "diff --why: the %d new Requests, held as why --since says "
              "(same path, same accumulation point)" % n_new,
              json.dumps(dw)[:600])
    p = h.run_pyheap(pyheap, "diff", "--why", "--match", "*Request",
                     a_file, b_file)
    res.check(p.returncode == 0 and "accumulation point: " in p.stdout and
              top and top["example_path"] in p.stdout,
              "diff --why text: the accumulation point and an example",
              p.stdout[-800:])


def run(h, pyheap, t, res, snapfile):
    want = t.expected
    n = want["n"]
    a_file = os.path.join(t.tmp, "a.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", a_file, str(t.pid))
    if not res.equal(p.returncode, 0, "snap exits 0 (%s)" % p.stderr.strip()):
        return
    snap = snapfile.load(a_file)
    res.check(snap["labels"] is not None and snap["meta"]["labels"] ==
              "identifiers", "the snapshot has edge labels (identifiers)")
    ids = {o["addr"]: i for i, o in enumerate(snap["objects"])}
    dist = bfs(snap)
    queries = [("--type", "*Request"), ("--type", "*Session"),
               ("--type", "*Job"), ("--type", "bytearray"),
               ("--type", "cell"), ("--type", "*Ticket"),
               ("--type", "*Pending"), ("--type", "*Failed"),
               ("--addr", hex(want["requests"][7]))]
    results = {}
    for q in queries:
        w = why(h, pyheap, res, a_file, *q)
        if w is None:
            return
        results[q] = w
        followed = bad = 0
        for path in w["paths"]:
            ex = path["example"]
            ans = ask(t, "follow " + json.dumps(
                [{"addr": int(x["addr"], 16), "type": x["type"],
                  "label": x["label"]} for x in ex]))
            followed += 1
            if not ans["ok"]:
                bad += 1
                print("# %s: %s: hop %d: %s" % (" ".join(q),
                      path["example_path"], ans["hop"], ans["why"]))
            last = ids.get(int(ex[-1]["addr"], 16))
            res.check(last is not None and dist[last] == len(ex) - 1,
                      "%s: example path of %d hops is a shortest path "
                      "(BFS over the snapshot)" % (" ".join(q), len(ex) - 1),
                      "BFS distance %r" % (dist[last] if last is not None
                                           else None))
        res.check(followed and not bad, "%s: all %d example paths followed "
                  "in the target land on their addresses" % (" ".join(q),
                                                             followed))
        total = sum(pa["objects"] for pa in w["paths"]) + \
            w["other_objects"] + w["unreached"]
        res.equal(total, w["objects"], "%s: paths, others and unreached add "
                  "up to the %d objects selected" % (" ".join(q),
                                                     w["objects"]))
    req = results[("--type", "*Request")]
    res.equal(req["objects"], n, "why --type *Request selects %d" % n)
    top = req["paths"][0] if req["paths"] else {}
    steps = [(s["type"], s["label"]) for s in top.get("steps", [])]
    res.equal(steps[:4], [("dict", "sys.modules"),
                          ("module", "['__main__']"), ("dict", ".__dict__"),
                          ("list", "['REQUESTS']")],
              "Requests: sys.modules['__main__'].__dict__['REQUESTS']")
    res.check(top.get("objects") == n and top.get("accumulation") == 3,
              "all %d on one path, the REQUESTS list its accumulation point"
              % n, repr({k: top.get(k) for k in ("objects", "accumulation")}))
    job = results[("--type", "*Job")]
    jtop = job["paths"][0] if job["paths"] else {}
    # 3.11+: the list is the root (a slot of the thread's running
    # frame); up to 3.10 the root is the frame object, then the list.
    res.check(jtop.get("objects") == n and
              jtop["steps"][0]["label"].startswith("thread ") and
              hex(want["jobs"]) in [x["addr"] for x in jtop["example"][:2]],
              "Jobs: held by main()'s frame (a thread root, its list)",
              repr(jtop.get("steps")))
    if tuple(want["version"][:2]) >= (3, 11):
        # The root is named by the variable (co_localsplusnames).
        res.check(jtop and re.match(r"thread \d+: main\(\) local jobs$",
                                    jtop["steps"][0]["label"] or ""),
                  "3.11+: the frame's root names the local: 'thread T: "
                  "main() local jobs'", repr(jtop and jtop["steps"][0]))
    tick = results[("--type", "*Ticket")]["paths"]
    res.equal(tick and tick[0]["example_path"],
              "sys.modules['__main__'].__dict__['SLOTTED'].ticket",
              "a __slots__ member: its edge labelled by its name")
    # Locals of frames nothing runs: labelled by name, as an expression
    # the target evaluated above (3.11+ a generator embeds its frame:
    # one step; up to 3.10 two, through its frame object: the same text).
    for q, tail in ((("--type", "*Pending"),
                     r"\['GEN'\]\.gi_frame\.f_locals\['pending'\]$"),
                    (("--type", "*Failed"),
                     r"\.tb_frame\.f_locals\['failed'\]$")):
        pa = results[q]["paths"]
        res.check(pa and re.search(tail, pa[0]["example_path"]),
                  "%s: held by a local of a frame nothing runs, labelled "
                  "by its name" % " ".join(q),
                  pa and pa[0]["example_path"])
    one = results[("--addr", hex(want["requests"][7]))]
    res.equal(one["objects"], 1, "--addr selects one object")

    # --since: the 50 Requests made after A.
    new = ask(t, "grow")["requests"]
    b_file = os.path.join(t.tmp, "b.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", b_file, str(t.pid))
    if res.equal(p.returncode, 0, "second snap exits 0"):
        w = why(h, pyheap, res, b_file, "--since", a_file, "--type",
                "*Request")
        if w is not None:
            addrs = {int(x["example"][-1]["addr"], 16) for x in w["paths"]}
            res.check(w["objects"] == len(new) and addrs <= set(new),
                      "why --since A B --type *Request: exactly the %d new "
                      "ones" % len(new), "%d selected" % w["objects"])
            check_diff_why(h, pyheap, res, a_file, b_file, w, len(new))

    # retained: the cache, as the target sums it.
    p = h.run_pyheap(pyheap, "retained", "--format", "json", "--top", "0",
                     a_file)
    if not res.equal(p.returncode, 0, "retained exits 0 (%s)"
                     % p.stderr.strip()):
        return
    r = json.loads(p.stdout)
    row = [x for x in r["rows"] if x["example_addr"] == hex(want["cache"])]
    res.check(row and row[0]["retained_bytes"] == want["cache_retained"] and
              row[0]["retained_count"] == 1 + 6 * n,
              "the cache retains %d bytes in %d objects, as the target "
              "computes with sys.getsizeof" % (want["cache_retained"],
                                               1 + 6 * n),
              repr(row[0] if row else None))
    res.check(row and row[0]["example_path"] ==
              "sys.modules['__main__'].__dict__['CACHE']",
              "the cache's example path", repr(row[0]["example_path"]
                                               if row else None))
    p = h.run_pyheap(pyheap, "retained", "--by", "type", "--format", "json",
                     "--top", "0", a_file)
    if res.equal(p.returncode, 0, "retained --by type exits 0"):
        rt = json.loads(p.stdout)
        res.check(sum(x["retained_bytes"] for x in rt["rows"]) <=
                  rt["reachable_bytes"] * len(rt["rows"]) and
                  all(x["retained_bytes"] <= rt["reachable_bytes"]
                      for x in rt["rows"]),
                  "--by type: no row retains more than the snapshot holds")
        byk = {x["key"]: x for x in rt["rows"]}
        req_row = byk.get("__main__.Request", {})
        res.equal(req_row.get("count"), n,
                  "--by type: the Request row counts the %d Requests" % n)
    for fmt in ("text", "csv"):
        p = h.run_pyheap(pyheap, "why", "--format", fmt, "--type",
                         "*Request", a_file)
        res.check(p.returncode == 0 and ("REQUESTS" in p.stdout),
                  "why --format %s names the REQUESTS global" % fmt,
                  p.stdout[-400:])


def register(suites, h):
    suites["why"] = lambda pyheap, slot, exe, res: \
        suite_why(h, pyheap, slot, exe, res)
