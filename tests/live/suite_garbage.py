"""Live suite for pyheap garbage (issue 15), registered with run.py.

garbage  targets/garbage.py disables the collector and makes N of each
         kind of garbage the collector knows (instance pairs, lists and
         dicts that hold themselves, closures over their owner, exception
         -> traceback -> frame cycles, suspended generators in a cycle,
         objects with __del__, weakrefs with callbacks) and keeps N live
         cycles.  After the snapshot the target runs
         gc.set_debug(gc.DEBUG_SAVEALL); gc.collect(): pyheap's collectable
         addresses must equal the ids in gc.garbage, and their number what
         gc.collect() returned.  Where the test extension
         (tests/live/ext/nogc.c) builds against the interpreter's own
         headers (pyenv's, Debian's python3-dev, the chroots'
         libpython3.X-dev), N
         requests of nogc.Box (a __dict__, no GC support) decorated with a
         lambda closing over them must be N never-collectable cycles of 5
         objects naming nogc.Box, while the same with nogc.GcBox is
         collected by gc and found collectable; 7 objects whose reference
         the extension leaked and one it holds in a C static show exactly
         one unexplained reference each; no object has more references
         found than counted.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ext",
                   "nogc.c")


def build_ext(exe, tmp, root=""):
    """nogc built for exe in tmp, or None with the reason printed.  root:
    the chroot exe runs in ("" on the host).  A chroot's extension is
    built on the host against the chroot's headers (libpython3.X-dev,
    tests/distro/build.sh): Python.h from its include directory, and
    Debian's multiarch pyconfig.h (<x86_64-linux-gnu/python3.X/...>)
    from its /usr/include searched after the host's own, so the C
    library's headers stay the host's.  It needs only the C API, which
    the chroot's python provides when it loads it from /tmp (bind-mounted
    at the same path)."""
    q = subprocess.run([exe, "-c", "import sysconfig as s; print(s.get_paths()"
                        "['include']); print(s.get_config_var('EXT_SUFFIX'))"],
                       capture_output=True, text=True, timeout=60)
    if q.returncode:
        print("# nogc: cannot ask %s for its headers" % exe)
        return None
    inc, suffix = q.stdout.split()
    inc = root + inc
    if not os.path.exists(os.path.join(inc, "Python.h")):
        pkg = "libpython3.X-dev: tests/distro/build.sh" if root else \
            "apt-get install python3-dev"
        print("# nogc skipped: no Python.h in %s (%s)" % (inc, pkg))
        if os.environ.get("PYHEAP_REQUIRE_PYDEV") == "1":
            raise RuntimeError("PYHEAP_REQUIRE_PYDEV=1 and no Python.h in "
                               "%s (%s)" % (inc, pkg))
        return None
    out = os.path.join(tmp, "nogc" + suffix)
    extra = ["-idirafter", root + "/usr/include"] if root else []
    p = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-I", inc] + extra +
                       [EXT, "-o", out], capture_output=True, text=True,
                       timeout=120)
    if p.returncode:
        print("# nogc: build failed: %s" % p.stderr[-500:])
        return None
    return tmp


def run27(h, pyheap, t, res):
    """2.7: the collectable set, the objects kept for finalizers and
    what gc.garbage lists, each equal to what the target's own collector
    does with them (targets/garbage27.py collect)."""
    out = os.path.join(t.tmp, "g27.snap")
    p = h.run_pyheap(pyheap, "snap", "-o", out, str(t.pid))
    if not res.equal(p.returncode, 0, "2.7: snap exits 0 (%s)"
                     % p.stderr.strip()):
        return
    p = h.run_pyheap(pyheap, "garbage", "--format", "json", "--addresses",
                     "--top", "0", out)
    if not res.equal(p.returncode, 0, "2.7: garbage exits 0 (%s)"
                     % p.stderr.strip()):
        return
    g = json.loads(p.stdout)
    text = h.run_pyheap(pyheap, "garbage", out).stdout
    ans = h.ask(t, "collect", timeout=60)
    if not res.check(ans, "2.7: the target collected"):
        return
    truth = json.loads(ans)
    coll = set(int(a, 16) for a in g["collectable_addresses"])
    kept = set(int(a, 16) for a in g["finalizer_addresses"])
    fin = set(int(a, 16) for a in g["gc_garbage_addresses"])
    unreachable = set(truth["unreachable"])
    want_kept = set(truth["kept"])
    want_coll = unreachable - want_kept
    print("# 2.7: gc.collect() %d; freed %d, kept %d, gc.garbage %d; "
          "pyheap collectable %d, kept %d, finalizers %d"
          % (truth["collected"], len(unreachable - set(truth["kept"])),
             len(truth["kept"]), len(truth["gc_garbage"]), len(coll),
             len(kept), len(fin)))
    res.equal(truth["collected"], len(unreachable),
              "2.7: gc.collect() counts what DEBUG_SAVEALL lists")
    res.equal((len(coll), len(coll - want_coll), len(want_coll - coll)),
              (len(want_coll), 0, 0),
              "2.7: the collectable objects are exactly those the "
              "collector frees (count, only pyheap's, only the target's)")
    res.equal((len(kept), len(kept - want_kept), len(want_kept - kept)),
              (len(want_kept), 0, 0),
              "2.7: the objects kept for finalizers are exactly those the "
              "collector keeps")
    res.equal(sorted(fin), sorted(truth["gc_garbage"]),
              "2.7: the finalizers are exactly what gc.garbage lists (%d)"
              % len(truth["gc_garbage"]))
    n, m = t.expected["n"], t.expected["m"]
    res.equal(len(truth["gc_garbage"]), 4 * m // 10 * 2 - m // 10,
              "2.7: 3 kinds of __del__ pairs and a generator each, "
              "%d times" % (m // 10))
    groups = {gr["shape"]: gr for gr in g["collectable"]["groups"]}
    resp = [gr for sh, gr in groups.items() if "httplib.HTTPResponse" in sh]
    res.check(resp and resp[0]["cycles"] == n and
              "instancemethod" in resp[0]["types"],
              "2.7: urllib2's %d responses are collectable cycles through "
              "their bound method" % n,
              str(sorted(groups))[:600])
    for cls in ("__main__.Node", "__main__.OldNode"):
        sh = "%s -> dict -> %s -> dict -> %s" % (cls, cls, cls)
        res.equal(groups.get(sh, {}).get("cycles"), m,
                  "2.7: %d pairs of %s, collectable" % (m, cls))
    never = {gr["shape"]: gr for gr in g["uncollectable"]["groups"]}
    for cls in ("__main__.Finalized", "__main__.OldFinalized",
                "__main__.OldFinalizedChild"):
        sh = "%s -> dict -> %s -> dict -> %s" % (cls, cls, cls)
        res.equal((never.get(sh, {}).get("cycles"),
                   never.get(sh, {}).get("finalizer_type")), (m // 10, cls),
                  "2.7: %d pairs of %s never collectable, for __del__"
                  % (m // 10, cls))
    res.check("OldFinalizedChild has a legacy finalizer" in text and
              "gc.garbage" in text, "2.7: the text says why", text[-1500:])
    res.equal(g["finalizers"]["gc_garbage_objects"], len(fin),
              "2.7: JSON counts what gc.garbage lists")
    res.check(t.running(), "2.7: target runs after all")


def suite_garbage(h, pyheap, slot, exe, res):
    if slot == "3.6":
        print("# garbage needs CPython 2.7 or 3.7+")
        return
    if slot.split("-")[0] == "2.7":
        with h.Target(exe, "garbage27.py") as t:
            run27(h, pyheap, t, res)
        return
    sys.path.insert(0, h.HERE)
    import snapfile
    tmp = tempfile.mkdtemp(prefix="pyheap-nogc-")
    try:
        ext = build_ext(exe, tmp, h.chroot_root(slot)
                        if h.is_chroot(slot) else "")
        with h.Target(exe, "garbage.py", args=[ext] if ext else []) as t:
            run(h, pyheap, t, ext, res, snapfile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fmt_bytes(n):
    """pyheap's own rendering (output/units.c fmt_bytes)."""
    if n < 1024:
        return "%d B" % n
    v, u = float(n), -1
    while v >= 1024 and u < 4:
        v /= 1024
        u += 1
    unit = ("KiB", "MiB", "GiB", "TiB", "PiB")[u]
    return ("%.2f %s" if v < 10 else "%.1f %s" if v < 100 else "%.0f %s") \
        % (v, unit)


def check_flags(res, snapfile, out, g):
    """snap marks the objects the totals count (flags 128, 256)."""
    snap = snapfile.load(out)
    objs = snap["objects"]
    marked = {o["addr"] for o in objs if o["flags"] & 128
              and not o["flags"] & 256}
    never = [o for o in objs if o["flags"] & 256]
    res.equal(sorted(marked), sorted(int(a, 16) for a in
                                     g["collectable_addresses"]),
              "flag 128 alone: exactly the collectable objects")
    res.equal((len(never), sum(o["size"] for o in never)),
              (g["uncollectable"]["objects"], g["uncollectable"]["bytes"]),
              "flag 256: the never-collectable objects and bytes")
    res.equal(sum(1 for o in objs if o["flags"] & 256
                  and not o["flags"] & 128), 0, "256 only with 128")


def check_groups(h, pyheap, res, path):
    """The file's GRPS (1.8) holds pyheap garbage's groups of the same
    file, in its order, and its stats the figures --since compares."""
    import snapfile
    snap = snapfile.load(path)
    p = h.run_pyheap(pyheap, "garbage", "--format", "json", "--top", "0",
                     path)
    if not res.equal(p.returncode, 0, "garbage exits 0 (%s)"
                     % p.stderr.strip()):
        return
    g = json.loads(p.stdout)
    want = [(part, gr["shape"], gr["cycles"], gr["objects"], gr["bytes"])
            for part in ("collectable", "uncollectable")
            for gr in g[part]["groups"]]
    got = [(x["part"], x["shape"], x["cycles"], x["objects"], x["bytes"])
           for x in (snap["groups"] or {}).get("garbage", [])]
    res.check(snap["groups"] is not None and got == want,
              "GRPS: the %d garbage groups pyheap garbage finds in the "
              "same file" % len(want), "%r vs %r" % (got[:3], want[:3]))
    st = snap["stats"]
    res.equal((st.get("garbage.collectable.cycles"),
               st.get("garbage.uncollectable.cycles"),
               st.get("garbage.unexplained.objects"),
               st.get("garbage.unexplained.refs")),
              (g["collectable"]["cycles"], g["uncollectable"]["cycles"],
               g["unexplained"]["objects"], g["unexplained"]["references"]),
              "STAT: garbage's cycles and unexplained references")


def check_growth(h, pyheap, t, res):
    """After gc.collect() (DEBUG_SAVEALL keeps what it found in
    gc.garbage): K more self-holding lists between two snapshots are,
    on diff's list row, K lists' bytes of garbage growth."""
    out = os.path.join(t.tmp, "g1.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid))
    if not res.equal(p.returncode, 0, "snap exits 0 (%s)" % p.stderr.strip()):
        return
    k = 37
    t.proc.stdin.write("more %d\n" % k)
    t.proc.stdin.flush()
    made = json.loads(t.proc.stdout.readline())
    out2 = os.path.join(t.tmp, "g2.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out2, str(t.pid))
    if not res.equal(p.returncode, 0, "second snap exits 0 (%s)"
                     % p.stderr.strip()):
        return
    p = h.run_pyheap(pyheap, "diff", "--format", "json", "--top", "0",
                     out, out2)
    if not res.equal(p.returncode, 0, "diff exits 0 (%s)"
                     % p.stderr.strip()):
        return
    d = json.loads(p.stdout)
    rows = {r["key"]: r for r in d["rows"]}
    res.equal(rows.get("list", {}).get("garbage_bytes_delta"), made["bytes"],
              "diff: the list row's garbage grew by the %d lists' bytes" % k)
    res.equal(sum(r["garbage_bytes_delta"] for r in d["rows"]),
              made["bytes"], "diff: no other row's garbage changed")
    res.equal(sum(r["garbage_bytes_b"] for r in d["rows"]),
              d["garbage"]["b"]["bytes"],
              "diff: the rows' garbage adds up to B's garbage total")
    p = h.run_pyheap(pyheap, "garbage", "--format", "json", "--since", out,
                     out2)
    if res.equal(p.returncode, 0, "garbage --since exits 0 (%s)"
                 % p.stderr.strip()):
        gj = json.loads(p.stdout)
        lists = [gr for gr in gj["collectable"]["groups"]
                 if gr["shape"] == "list -> list"]
        res.equal((gj["since"], gj["collectable"]["objects_delta"],
                   gj["collectable"]["bytes_delta"],
                   lists and lists[0]["objects_delta"]),
                  (out, k, made["bytes"], k),
                  "garbage --since: %d more collectable objects, all in "
                  "the list -> list group" % k)
        check_groups(h, pyheap, res, out2)
    h.check_since_groups(pyheap, res, t.tmp, "garbage", out, out2)
    p = h.run_pyheap(pyheap, "garbage", "--format", "csv", "--since", out,
                     out2)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    res.check(p.returncode == 0 and any(
        r["shape"] == "list -> list" and r["objects_delta"] == str(k)
        for r in rows), "garbage --format csv --since: the list row's "
        "objects_delta", p.stdout[:600])
    # trend over the pair: the list row's garbage grows at the lists'
    # bytes over the interval (two points: the slope is exactly that).
    p = h.run_pyheap(pyheap, "trend", "--format", "json", "--top", "0",
                     out, out2)
    if res.equal(p.returncode, 0, "trend exits 0 (%s)" % p.stderr.strip()):
        tj = json.loads(p.stdout)
        lrow = [r for r in tj["rows"] if r["key"] == "list"]
        rate = lrow[0]["garbage_bytes_per_hour"] if lrow else None
        import snapfile
        dt = snapfile.load(out2)["meta"]["taken_at"] - \
            snapfile.load(out)["meta"]["taken_at"]
        res.check(rate is not None and dt > 0 and
                  abs(rate * dt / 3600 - made["bytes"]) < 0.01,
                  "trend: the list row's garbage grows by the %d lists' "
                  "bytes over the interval" % k, "%r x %r s" % (rate, dt))
    p = h.run_pyheap(pyheap, "diff", "--match", "list", out, out2)
    res.check(p.returncode == 0 and re.search(
        r"\+%s +list\n" % re.escape(fmt_bytes(made["bytes"])), p.stdout),
        "diff text: a GARBAGE column, the lists' growth on list's row",
        p.stdout[-1500:])


def run(h, pyheap, t, ext, res, snapfile):
    want = t.expected
    n = want["n"]
    out = os.path.join(t.tmp, "g.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid))
    if not res.equal(p.returncode, 0, "snap exits 0 (%s)" % p.stderr.strip()):
        return
    check_groups(h, pyheap, res, out)
    p = h.run_pyheap(pyheap, "garbage", "--format", "json", "--addresses",
                     out)
    if not res.equal(p.returncode, 0, "garbage exits 0 (%s)"
                     % p.stderr.strip()):
        return
    g = json.loads(p.stdout)
    # snap counted the same in the snapshot's stats (for diff, metrics).
    st = snapfile.load(out)["stats"]
    res.equal([st.get("garbage.%s.%s" % (part, what))
               for part in ("collectable", "uncollectable")
               for what in ("objects", "bytes")],
              [g[part][what] for part in ("collectable", "uncollectable")
               for what in ("objects", "bytes")],
              "snap's garbage totals (stats) are what garbage reports")
    check_flags(res, snapfile, out, g)
    t.proc.stdin.write("collect\n")
    t.proc.stdin.flush()
    ans = json.loads(t.proc.stdout.readline())
    check_growth(h, pyheap, t, res)
    mine = {int(a, 16) for a in g["collectable_addresses"]}
    theirs = set(ans["garbage"])
    version = tuple(want["version"][:3])
    print("# gc.collect() %d, gc.garbage %d; pyheap collectable %d (%d "
          "groups), only pyheap %d, only gc %d; never collectable %d; "
          "unexplained %d objects" % (
              ans["collected"], len(theirs), len(mine),
              len(g["collectable"]["groups"]), len(mine - theirs),
              len(theirs - mine), g["uncollectable"]["objects"],
              g["unexplained"]["objects"]))
    if mine != theirs:
        snap = snapfile.load(out)
        names = [ty["name"] for ty in snap["types"]]
        by_addr = {o["addr"]: o for o in snap["objects"]}
        miss = {}
        for a in theirs - mine:
            o = by_addr.get(a)
            k = (names[o["type"]], o["unexplained"], o["gc_refs"]) if o \
                else ("not in the snapshot",)
            miss[k] = miss.get(k, 0) + 1
        print("# only in gc.garbage (type, unexplained, gc_refs): %s"
              % sorted(miss.items(), key=lambda kv: -kv[1])[:8])
    res.check(mine == theirs, "collectable objects are exactly "
              "gc.garbage's (DEBUG_SAVEALL)",
              "only pyheap %d, only gc %d" % (len(mine - theirs),
                                              len(theirs - mine)))
    res.equal(g["collectable"]["objects"], ans["collected"],
              "collectable count is what gc.collect() returned")
    if g["negative_objects"]:
        snap = snapfile.load(out)
        names = [ty["name"] for ty in snap["types"]]
        print("# more references found than counted: %s" % [
            (names[o["type"]], hex(o["addr"]), o["refcnt"], o["unexplained"],
             o["flags"]) for o in snap["objects"] if o["unexplained"] < 0][:8])
    res.equal(g["negative_objects"], 0, "self-check: no object with more "
              "references found than counted")
    shapes = {gr["shape"]: gr for gr in g["collectable"]["groups"]}
    # 3.11+ keep an instance's attributes inline, earlier ones in a dict.
    pair = ("__main__.Node -> __main__.Node -> __main__.Node",
            "__main__.Node -> dict -> __main__.Node -> dict -> __main__.Node")
    res.check(sum(shapes.get(k, {}).get("cycles", 0) for k in pair) >= n,
              "instance pairs grouped by shape: %s" % " or ".join(pair),
              repr(sorted(shapes)[:8]))
    res.check(shapes.get("list -> list", {}).get("cycles", 0) >= n,
              "self-referencing lists: list -> list")
    if not ext:
        res.equal(g["uncollectable"]["objects"], 0, "no never-collectable "
                  "garbage without the extension")
        return
    box = [gr for gr in g["uncollectable"]["groups"]
           if gr["invisible_type"] == "nogc.Box"]
    res.check(len(box) == 1 and box[0]["cycles"] == n and
              box[0]["objects"] == 5 * n and
              sorted(box[0]["types"][:-1]) == sorted(
                  ["nogc.Box", "dict", "function", "tuple", "cell"]),
              "never collectable: %d cycles nogc.Box -> __dict__ -> "
              "function -> closure -> cell, naming nogc.Box" % n,
              json.dumps(g["uncollectable"]["groups"][:3]))
    res.equal(g["uncollectable"]["objects"], 5 * n, "nothing else is never "
              "collectable")
    # The group's site: the one most members have, the lambda's line
    # (function, closure tuple and cell are inferred there).
    src = os.path.join(h.TARGETS, "garbage.py")
    with open(src) as f:
        line = [k + 1 for k, ln in enumerate(f)
                if "req.external_redirect = lambda" in ln]
    site = box[0]["site"] if box else None
    res.check(site and site["file"].endswith("garbage.py") and
              [site["line"]] == line and site["kind"] == "inferred" and
              site["objects"] == 3 * n,
              "the never-collectable group's site: the lambda's line %s, "
              "inferred, %d objects" % (line, 3 * n), repr(site))
    gcbox = [gr for gr in g["collectable"]["groups"]
             if "nogc.GcBox" in gr["types"]]
    res.check(len(gcbox) == 1 and gcbox[0]["cycles"] == n,
              "the same with GC support: %d collectable cycles" % n)
    p = h.run_pyheap(pyheap, "garbage", out)
    res.check(p.returncode == 0 and "nogc.Box has no GC support" in p.stdout,
              "text names the type without GC support", p.stdout[-800:])
    snap = snapfile.load(out)
    by_addr = {o["addr"]: o for o in snap["objects"]}
    got = [by_addr.get(a, {}).get("unexplained") for a in want["leaked"]]
    res.equal(got, [1] * len(want["leaked"]), "each leaked reference: one "
              "unexplained reference on its object")
    res.equal(by_addr.get(want["held"], {}).get("unexplained"), 1,
              "the object a C static holds: one unexplained reference")


def register(suites, h):
    suites["garbage"] = lambda pyheap, slot, exe, res: \
        suite_garbage(h, pyheap, slot, exe, res)
