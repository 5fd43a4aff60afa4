"""Live suite for what objects own (issue 14), registered with run.py.

owned   targets/owned.py holds groups of subclasses of built-in containers
        (defaultdict, OrderedDict, Python subclasses of dict, list, set,
        bytearray, deque) and extension objects with buffers (array.array
        of several sizes, _struct.Struct): per group, pyheap's count and
        bytes of the list's referents of the group's type equal the
        target's count and sys.getsizeof sum (bytes within 1%); the
        malloc chunks of large arrays are owned by their array, not
        "native, unowned".  io.BytesIO's buffer is a bytes object of its
        own, counted as bytes: its own size is checked apart.  A leak of
        N arrays of S bytes (numpy's when it imports, else array.array)
        reads in `diff` by type as +N objects and +N*S bytes (and the
        headers) and trips --fail-if-growth.
"""
import os
import sys

OWNER_BUFFER = 2   # snapshot.h enum chunk_owner


def suite_owned(h, pyheap, slot, exe, res):
    if slot.split("-")[0] in ("2.7", "3.6"):
        print("# owned needs CPython 3.7+")
        return
    sys.path.insert(0, h.HERE)
    import snapfile
    with h.Target(exe, "owned.py") as t:
        want = t.expected
        out = os.path.join(t.tmp, "owned.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid))
        if not res.equal(p.returncode, 0, "snap exits 0 (stderr: %s)"
                         % p.stderr.strip()):
            return
        snap = snapfile.load(out)
        names = [ty["name"] for ty in snap["types"]]
        objs = snap["objects"]
        by_addr = {o["addr"]: i for i, o in enumerate(objs)}
        print("# %-20s %-26s %5s %12s %12s" % ("group", "type", "count",
                                               "pyheap", "getsizeof"))
        members = {}
        for name, g in sorted(want["groups"].items()):
            i = by_addr.get(g["id"])
            if not res.check(i is not None, "%s: the list is found" % name):
                continue
            mine = [d for d in snap["edges"][i]
                    if names[objs[d]["type"]] == g["type"]]
            members[name] = mine
            got = sum(objs[d]["size"] for d in mine)
            print("# %-20s %-26s %5d %12d %12d" % (name, g["type"],
                                                   len(mine), got,
                                                   g["bytes"]))
            res.equal(len(mine), g["count"], "%s: %s objects counted"
                      % (name, g["type"]))
            if name == "BytesIO":
                res.equal(got, g["count"] * want["bytesio_own"],
                          "io.BytesIO: each its struct and GC head (its "
                          "buffer is a bytes object of its own)")
                continue
            res.check(abs(got - g["bytes"]) <= 0.01 * g["bytes"],
                      "%s: %s bytes within 1%% of sys.getsizeof" %
                      (name, g["type"]), "%d vs %d" % (got, g["bytes"]))
        # A defaultdict's default_factory, a field it adds to dict's, is
        # still a referent (the scan of the added fields).
        lam = members.get("defaultdict_lambda", [])
        res.check(lam and all(any(names[objs[d]["type"]] == "function"
                                  for d in snap["edges"][i]) for i in lam),
                  "each defaultdict refers to its default_factory")
        unsized = sorted(k for k in snap["stats"]
                         if k.startswith("census.sizeof_not_modelled."))
        res.check(not unsized, "no object left unsized",
                  ", ".join("%s %d" % (k, snap["stats"][k]) for k in unsized))
        if snap["meta"]["flags"] & 4:  # SNAP_NATIVE: chunks walked
            owned = {}
            for ch in snap["chunks"]:
                if ch["owner_kind"] == OWNER_BUFFER:
                    owned[ch["owner"]] = owned.get(ch["owner"], 0) + 1
            # A free-threaded build's PyMem_Malloc is mimalloc's, big
            # blocks too (pycore_mimalloc.h heap 0): no glibc chunk.
            ft = "mimalloc.walked" in snap["stats"]
            for name in ("array_big", "array_q", "array_grown"):
                ids = members.get(name, [])
                if ft:
                    res.check(ids and not any(d in owned for d in ids),
                              "%s: free-threaded: the items are in no "
                              "malloc chunk" % name)
                    continue
                res.check(ids and all(owned.get(d) == 1 for d in ids),
                          "%s: each array's items are a malloc chunk it "
                          "owns" % name,
                          "%d of %d" % (sum(1 for d in ids
                                            if owned.get(d) == 1), len(ids)))
            numpy_data(res, snap, members, want)
        print("# numpy: %s" % want.get("numpy"))
        # CI installs Debian's python3-numpy: there the numpy checks must
        # run on Debian's python3.11, not be skipped.
        if os.environ.get("PYHEAP_REQUIRE_NUMPY") and slot == "debian":
            res.check(not str(want.get("numpy")).startswith("numpy does not"),
                      "numpy imports (PYHEAP_REQUIRE_NUMPY)",
                      str(want.get("numpy")))
        leak_diff(h, pyheap, t, out, res)


def leak_diff(h, pyheap, t, before, res):
    import json
    n, size = 50, 1 << 20
    t.proc.stdin.write("leak %d %d\n" % (n, size))
    t.proc.stdin.flush()
    leak = json.loads(t.proc.stdout.readline())
    after = os.path.join(t.tmp, "owned-leak.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", after, str(t.pid))
    if not res.equal(p.returncode, 0, "second snap exits 0 (stderr: %s)"
                     % p.stderr.strip()):
        return
    p = h.run_pyheap(pyheap, "diff", "--format", "json", before, after)
    rows = {r["key"]: r for r in json.loads(p.stdout)["rows"]}
    row = rows.get(leak["type"], {})
    print("# leak of %d x %d bytes: %s %+d objects, %+d bytes (getsizeof "
          "%d)" % (n, size, leak["type"], row.get("count_delta", 0),
                   row.get("bytes_delta", 0), leak["bytes"]))
    res.equal(row.get("count_delta"), n, "diff: %s +%d objects"
              % (leak["type"], n))
    res.check(abs(row.get("bytes_delta", 0) - leak["bytes"])
              <= 0.01 * leak["bytes"], "diff: %s + the leaked bytes"
              % leak["type"], "%s vs %d" % (row.get("bytes_delta"),
                                            leak["bytes"]))
    p = h.run_pyheap(pyheap, "diff", "--fail-if-growth", "10M", before,
                     after)
    res.equal(p.returncode, 1, "diff --fail-if-growth 10M exits 1")


def numpy_data(res, snap, members, want):
    """Each numpy array that owns its data owns one chunk at least its
    nbytes (its dimensions are a small chunk of their own); a view owns
    no chunk that large: the data is counted once, by its owner."""
    big = {}
    for ch in snap["chunks"]:
        if ch["owner_kind"] == OWNER_BUFFER:
            big[ch["owner"]] = max(big.get(ch["owner"], 0), ch["size"])
    for name in ("ndarray_own", "ndarray_view"):
        if name not in want["groups"] or name not in members:
            continue
        # the list's referents in address order, the target's in list
        # order: compare the multisets of data sizes
        objs = snap["objects"]
        data = sorted(d for d in want["groups"][name]["data"] if d > 64)
        got = sorted(big.get(i, 0) for i in members[name])
        if name == "ndarray_own":
            bad = sum(1 for d, g in zip(data, sorted(got)[-len(data):])
                      if g < d) if data else 0
            res.check(len(data) and not bad, "ndarray_own: each array's "
                      "data is a malloc chunk it owns", "%d short" % bad)
        else:
            res.check(all(g <= 64 for g in got), "ndarray_view: views own "
                      "no data chunk", "largest %d" % max(got or [0]))


def register(suites, h):
    suites["owned"] = lambda pyheap, slot, exe, res: \
        suite_owned(h, pyheap, slot, exe, res)
