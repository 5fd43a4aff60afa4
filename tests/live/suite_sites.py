"""Live suite for allocation sites, registered with run.py.

sites   targets/sites.py allocates N objects at each of three marked lines
        and N closures at a marked lambda, five frames deep, and measures
        its own tracemalloc.get_traced_memory() once it allocates nothing
        more.  Under PYTHONTRACEMALLOC=1 and =10 the snapshot must give
        exactly N objects to each line (innermost frame file:line, kind
        traced), traced sizes that add up to the measure exactly, and for
        one object the very traceback (and total depth, 3.9+) tracemalloc
        itself reports -- and on 3.11 the same for an instance whose
        traceback tracemalloc cannot find itself (managed-dict header).
        With tracemalloc.start(3) called by the target, the same, and
        the N instances made before it have no site.
        Without tracing, the closures, their cells and closure tuples are
        inferred to the lambda's line, the class to its module.
        The line numbers come from markers in the target's source.
"""
import os
import re
import sys
import time

TARGET = "sites.py"


def markers(path):
    """{"SITE-A": line, ...} from "# SITE-X" comments ending a line."""
    found = {}
    with open(path) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"#\s*(SITE-[A-Z]+)\s*$", line)
            if m:
                found[m.group(1)] = i
    return found


def count_at(snap, where, kind, tname=None):
    """Objects whose site is of kind and whose innermost frame is where
    ((file, line)), of type tname if given."""
    import snapfile
    n = 0
    for o in snap["objects"]:
        site = snapfile.site_of(snap, o)
        if (site and site["kind"] == kind and site["frames"][0] == where
                and (tname is None or snapfile.type_name(snap, o) == tname)):
            n += 1
    return n


def take(h, pyheap, exe, env, res, label):
    """Start the target, wait until it sleeps, snapshot it: (expected,
    measured traced memory, snapshot) or None."""
    import snapfile
    t = h.Target(exe, TARGET, env=env)
    try:
        # The ready file appears just before the target's last line:
        # wait until it is asleep there, so nothing is still being freed.
        h.wait_for(lambda: h.thread_states(t.pid).get(t.pid) == "S", 10)
        time.sleep(0.05)
        with open(t.ready + ".mem") as f:
            mem = int(f.read())
        out = os.path.join(t.tmp, "sites.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid))
        if not res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                         % (label, p.stderr.strip())):
            return None
        res.equal(p.stderr, "", "%s: nothing on stderr" % label)
        res.check(h.wait_for(t.running, 5), "%s: target runs after the "
                  "snapshot" % label)
        return t.expected, mem, snapfile.load(out)
    finally:
        t.close()


def check_traced(h, pyheap, slot, exe, res, nframe, start=False):
    import snapfile
    if start:
        label = "tracemalloc.start(%d)" % nframe
        env = {"SITES_START": str(nframe)}
    else:
        label = "PYTHONTRACEMALLOC=%d" % nframe
        env = {"PYTHONTRACEMALLOC": str(nframe)}
    got = take(h, pyheap, exe, env, res, label)
    if not got:
        return
    want, mem, snap = got
    meta, st = snap["meta"], snap["stats"]
    path, n = want["file"], want["n"]
    lines = markers(os.path.join(h.TARGETS, TARGET))
    res.equal(want["tracing"], True, "%s: the target traces" % label)
    res.equal(meta["tracemalloc_tracing"], True, "%s: META says tracing"
              % label)
    res.equal(meta["tracemalloc_frames"], want["limit"],
              "%s: META frame limit is the target's" % label)
    res.equal(meta["sites_note"], "", "%s: no note" % label)

    # Every byte tracemalloc counts, found.
    res.equal(st.get("sites.traced_bytes"), mem,
              "%s: traced sizes add up to get_traced_memory()[0]" % label)
    res.equal(sum(s["traced_bytes"] for s in snap["sites"]), mem,
              "%s: the sites' traced bytes add up to it too" % label)
    if slot == "debian":
        res.equal(st.get("sites.table_by_heuristic"), 1,
                  "%s: stripped build: table found by the heuristic"
                  % label)
        res.equal(meta["traced_memory"], 0,
                  "%s: stripped build: no traced-memory counter" % label)
    else:
        res.equal(meta["traced_memory"], mem,
                  "%s: META traced_memory is the target's counter" % label)
    for k in ("sites.bad_entries", "sites.bad_chains", "sites.bad_traces",
              "sites.bad_tracebacks", "sites.bad_filenames",
              "sites.walk_truncated", "sites.traces_without_traceback"):
        res.equal(st.get(k), 0, "%s: %s is 0" % (label, k))
    res.equal(st.get("sites.traces"), st.get("sites.table_entries"),
              "%s: as many traces as the table counts" % label)
    if meta["flags"] & 4:
        # tracemalloc's own chunks are the allocators', not unowned
        # native memory: an entry per trace (and a trace_t, 3.9+), the
        # tracebacks, the tables and their bucket arrays.
        per = 2 if want["version"][1] >= 9 else 1
        lo = per * st["sites.traces"]
        hi = lo + st["sites.tracebacks"] + 4
        res.check(lo <= st.get("sites.tracemalloc_chunks", 0) <= hi,
                  "%s: tracemalloc's own chunks marked (%d <= %d <= %d)"
                  % (label, lo, st.get("sites.tracemalloc_chunks", 0), hi))

    # Exactly N objects at each marked line, of the type made there.
    for mark, tname in (("SITE-A", "__main__.Plain"),
                        ("SITE-B", "bytearray"), ("SITE-C", "bytes")):
        where = (path, lines[mark])
        res.equal(count_at(snap, where, "traced"), n,
                  "%s: %d objects at %s (%s)" % (label, n, mark, tname))
        res.equal(count_at(snap, where, "traced", tname), n,
                  "%s: all of them %s" % (label, tname))
    res.equal(count_at(snap, (path, lines["SITE-LAMBDA"]), "traced",
                       "function"), n,
              "%s: %d closures at SITE-LAMBDA" % (label, n))
    if start:
        res.equal(sum(1 for o in snap["objects"]
                      if snapfile.type_name(snap, o) == "__main__.Plain"
                      and o["site"] == 0), n,
                  "%s: the %d instances made before it have no site"
                  % (label, n))
        res.equal(count_at(snap, (path, lines["SITE-EARLY"]), "traced"), 0,
                  "%s: nothing traced at SITE-EARLY" % label)

    # One object's whole traceback, as the target's tracemalloc has it.
    by_addr = {o["addr"]: o for o in snap["objects"]}
    b0 = by_addr.get(want["b0"])
    a0 = by_addr.get(want["a0"])
    if not res.check(b0 is not None and a0 is not None,
                     "%s: the probed objects are in the snapshot" % label):
        return
    sb, sa = snapfile.site_of(snap, b0), snapfile.site_of(snap, a0)
    frames = [tuple(f) for f in want["b0_frames"]]
    res.equal(sb and sb["frames"], frames,
              "%s: bytearray's frames are tracemalloc's own" % label)
    res.equal(len(frames), min(nframe, 5),
              "%s: %d frames stored" % (label, min(nframe, 5)))
    if want["b0_total"] is not None:
        res.equal(sb and sb["total_frames"], want["b0_total"],
                  "%s: total depth is tracemalloc's (%s)"
                  % (label, want["b0_total"]))
    # The instance sits behind a header; 3.11's own tracemalloc misses
    # it, pyheap must not.
    res.equal(sa and (sa["frames"][0], len(sa["frames"])),
              ((path, lines["SITE-A"]), len(frames)),
              "%s: the instance's site, found behind its header" % label)


def check_inferred(h, pyheap, slot, exe, res):
    import snapfile
    label = "no tracing"
    got = take(h, pyheap, exe, {}, res, label)
    if not got:
        return
    want, mem, snap = got
    meta = snap["meta"]
    path, n = want["file"], want["n"]
    lines = markers(os.path.join(h.TARGETS, TARGET))
    res.equal(want["tracing"], False, "%s: the target does not trace"
              % label)
    res.equal(meta["tracemalloc_tracing"], False, "%s: META says so" % label)
    res.equal(meta["traced_memory"], 0, "%s: no traced memory" % label)
    res.equal(sorted(set(s["kind"] for s in snap["sites"])), ["inferred"],
              "%s: every site is inferred" % label)
    where = (path, lines["SITE-LAMBDA"])
    for tname in ("function", "cell", "tuple"):
        res.equal(count_at(snap, where, "inferred", tname), n,
                  "%s: %d closure %ss at the lambda's line"
                  % (label, n, tname))
    by_addr = {o["addr"]: o for o in snap["objects"]}
    f = by_addr.get(want["make_closure"])
    res.equal(f and snapfile.site_of(snap, f)["frames"],
              [(path, lines["SITE-DEF"])],
              "%s: a function: its def line" % label)
    c = by_addr.get(want["plain"])
    res.equal(c and snapfile.site_of(snap, c),
              {"kind": "inferred", "frames": [("__main__", 0)],
               "total_frames": 1, "traces": 0, "traced_bytes": 0,
               "unowned_traces": 0, "unowned_bytes": 0},
              "%s: a class: its module, line 0" % label)
    res.equal(sum(1 for o in snap["objects"]
                  if snapfile.type_name(snap, o) == "__main__.Plain"
                  and o["site"] == 0), n,
              "%s: instances have no site" % label)
    res.equal(snap["stats"].get("sites.inferred_objects"),
              sum(1 for o in snap["objects"] if o["site"]),
              "%s: every object with a site counted" % label)


def suite_sites(h, pyheap, slot, exe, res):
    if slot in ("2.7", "3.6"):
        print("# sites needs CPython 3.7+")
        return
    sys.path.insert(0, h.HERE)
    check_traced(h, pyheap, slot, exe, res, 1)
    check_traced(h, pyheap, slot, exe, res, 10)
    check_traced(h, pyheap, slot, exe, res, 3, start=True)
    check_inferred(h, pyheap, slot, exe, res)


def register(suites, h):
    suites["sites"] = lambda pyheap, slot, exe, res: \
        suite_sites(h, pyheap, slot, exe, res)
