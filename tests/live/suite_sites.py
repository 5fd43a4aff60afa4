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

        The reports, through the CLI and read back with Python's json and
        csv modules: `show --by site` has a row per marked line with
        exactly N objects, kind traced (inferred without tracing, with
        the hint to start the target with PYTHONTRACEMALLOC=1 printed
        once in text); `--by site,type` the same per type; `--depth 3`
        the very frames tracemalloc reports (or a note that it kept
        fewer).  `diff --by site` between snapshots before and after the
        target made K more instances at SITE-GROW (SITES_COMMANDS=1, a
        stdin command) has that row growing by exactly K and no other row
        by more than 1% of K; without tracing, K more requests with a
        closure over themselves show the lambda's line growing by K
        functions, cells and closure tuples, kind inferred.
"""
import csv
import io
import json
import os
import re
import shutil
import sys
import tempfile
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


def asleep(h, t):
    """Wait until the target blocks (sleeping or reading stdin), so
    nothing is still being made or freed."""
    h.wait_for(lambda: h.thread_states(t.pid).get(t.pid) == "S", 10)
    time.sleep(0.05)


def snap(h, pyheap, t, res, label, out):
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid))
    if not res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                     % (label, p.stderr.strip())):
        return False
    res.equal(p.stderr, "", "%s: nothing on stderr" % label)
    res.check(h.wait_for(t.running, 5), "%s: target runs after the "
              "snapshot" % label)
    return True


def take(h, pyheap, exe, env, res, label, keep):
    """Start the target, wait until it sleeps, snapshot it into the
    directory keep: (expected, measured traced memory, snapshot, its
    path) or None."""
    import snapfile
    t = h.Target(exe, TARGET, env=env)
    try:
        # The ready file appears just before the target's last line:
        # wait until it is asleep there.
        asleep(h, t)
        with open(t.ready + ".mem") as f:
            mem = int(f.read())
        out = os.path.join(keep, "sites-%s.snap"
                           % re.sub(r"[^a-z0-9]+", "-", label.lower()))
        if not snap(h, pyheap, t, res, label, out):
            return None
        return t.expected, mem, snapfile.load(out), out
    finally:
        t.close()


def report(h, pyheap, res, label, *args):
    """pyheap ARGS with --format json, parsed; None if it failed."""
    p = h.run_pyheap(pyheap, *(args[:1] + ("--format", "json") + args[1:]))
    if not res.equal(p.returncode, 0, "%s: %s exits 0 (%s)"
                     % (label, " ".join(args[:-1]), p.stderr.strip())):
        return None
    return json.loads(p.stdout)


def text(h, pyheap, res, label, *args):
    p = h.run_pyheap(pyheap, *args)
    res.equal(p.returncode, 0, "%s: %s (text) exits 0" % (label,
                                                          " ".join(args)))
    return p.stdout


PY2_NOTE = "sites: Python 2 has no tracemalloc: every site is inferred"
HINT = ("sites are inferred; for allocation sites start the target with "
        "PYTHONTRACEMALLOC=1 (or -X tracemalloc=1)")


def check_reports_traced(h, pyheap, res, label, want, lines, path, nframe):
    """show --by site of a traced snapshot: the marked lines' rows."""
    n, where = want["n"], want["file"]
    js = report(h, pyheap, res, label, "show", "--by", "site", path)
    if js is None:
        return
    rows = {r["key"]: r for r in js["rows"]}
    res.equal(js["by"], "site", "%s: show json by site" % label)
    for mark in ("SITE-A", "SITE-B", "SITE-C"):
        key = "%s:%d" % (where, lines[mark])
        row = rows.get(key, {})
        res.equal((row.get("count"), row.get("site_kind")), (n, "traced"),
                  "%s: show --by site: %d objects at %s, traced"
                  % (label, n, mark))
    res.equal(sum(r["count"] for r in js["rows"]), js["snapshot"]["objects"],
              "%s: site rows add up to every object" % label)
    res.equal(len(rows), len(js["rows"]), "%s: keys unique" % label)

    p = h.run_pyheap(pyheap, "show", "--by", "site", "--format", "csv", path)
    crows = {r["key"]: r for r in csv.DictReader(io.StringIO(p.stdout))}
    key = "%s:%d" % (where, lines["SITE-B"])
    res.equal((crows.get(key, {}).get("count"),
               crows.get(key, {}).get("site_kind")), (str(n), "traced"),
              "%s: show --by site csv: %d at SITE-B" % (label, n))

    js = report(h, pyheap, res, label, "show", "--by", "site,type", path)
    if js:
        st = {(r["site"], r["type"]): r for r in js["rows"]}
        for mark, tname in (("SITE-A", "__main__.Plain"),
                            ("SITE-B", "bytearray"), ("SITE-C", "bytes")):
            row = st.get(("%s:%d" % (where, lines[mark]), tname), {})
            res.equal(row.get("count"), n, "%s: --by site,type: %d %s at %s"
                      % (label, n, tname, mark))

    # --depth 3: tracemalloc's own traceback of the bytearrays, cut to
    # the frames it kept.
    js = report(h, pyheap, res, label, "show", "--by", "site", "--depth",
                "3", path)
    if js:
        res.check(all(1 <= len(r["frames"]) <= min(nframe, 3)
                      if r["site_kind"] else r["frames"] == []
                      for r in js["rows"]),
                  "%s: --depth 3: 1 to %d frames a site row, none for "
                  "[no site]" % (label, min(nframe, 3)))
        tb = want["b0_frames"][:min(nframe, 3)]
        row = [r for r in js["rows"] if r["frames"] and
               [r["frames"][0]["file"], r["frames"][0]["line"]] ==
               [where, lines["SITE-B"]]]
        res.equal([([[f["file"], f["line"]] for f in r["frames"]],
                    r["count"]) for r in row], [(tb, n)],
                  "%s: --depth 3: one SITE-B row, tracemalloc's frames"
                  % label)
    out = text(h, pyheap, res, label, "show", "--by", "site", "--depth", "3",
               path)
    note = "tracemalloc kept 1 frame per allocation; for --depth 3"
    res.equal(note in out, nframe == 1, "%s: text says when tracemalloc "
              "kept fewer frames than --depth" % label)
    res.check(HINT not in out, "%s: traced: no hint" % label)
    res.check(re.search(r"  traced +%s\n" % re.escape(
        "%s:%d" % (where, lines["SITE-B"])), out),
        "%s: text row of SITE-B marked traced" % label, out)


def check_reports_inferred(h, pyheap, res, label, want, lines, path):
    n, where = want["n"], want["file"]
    js = report(h, pyheap, res, label, "show", "--by", "site,type", path)
    if js:
        st = {(r["site"], r["type"]): r for r in js["rows"]}
        key = "%s:%d" % (where, lines["SITE-LAMBDA"])
        for tname in ("function", "cell", "tuple"):
            row = st.get((key, tname), {})
            res.equal((row.get("count"), row.get("site_kind")),
                      (n, "inferred"), "%s: --by site,type: %d %ss at the "
                      "lambda, inferred" % (label, n, tname))
        row = st.get(("__main__:0", "type"), {})
        res.check(row.get("count", 0) >= 1 and
                  row.get("site_kind") == "inferred",
                  "%s: classes at __main__:0" % label, str(row))
    out = text(h, pyheap, res, label, "show", "--by", "site", path)
    check_hint(res, label, want, out)


def check_hint(res, label, want, out):
    """The advice to start tracemalloc, once; on 2.7, which has none, a
    note that says so instead."""
    if want["version"][0] == 2:
        res.equal((out.count(HINT), out.count(PY2_NOTE)), (0, 1),
                  "%s: text: no hint, the 2.7 note once" % label)
    else:
        res.equal(out.count(HINT), 1, "%s: text: the hint, once" % label)


def check_diff_traced(h, pyheap, slot, exe, res, nframe, keep):
    """K more instances at SITE-GROW between two snapshots."""
    K = 5000
    label = "diff PYTHONTRACEMALLOC=%d" % nframe
    lines = markers(os.path.join(h.TARGETS, TARGET))
    t = h.Target(exe, TARGET, env={"PYTHONTRACEMALLOC": str(nframe),
                                    "SITES_COMMANDS": "1"})
    try:
        where = t.expected["file"]
        # Whatever a first command makes once is made before A.
        res.equal(h.ask(t, "grow 1"), "done", "%s: warm-up" % label)
        res.equal(h.ask(t, "requests 1"), "done", "%s: warm-up" % label)
        asleep(h, t)
        a = os.path.join(keep, "grow-a-%d.snap" % nframe)
        b = os.path.join(keep, "grow-b-%d.snap" % nframe)
        if not snap(h, pyheap, t, res, label + " A", a):
            return
        res.equal(h.ask(t, "grow %d" % K), "done", "%s: grew" % label)
        asleep(h, t)
        if not snap(h, pyheap, t, res, label + " B", b):
            return
    finally:
        t.close()
    js = report(h, pyheap, res, label, "diff", "--by", "site", a, b)
    if js is None:
        return
    key = "%s:%d" % (where, lines["SITE-GROW"])
    rows = {r["key"]: r for r in js["rows"]}
    row = rows.get(key, {})
    # The interpreter may also allocate an object of its own on that line
    # and free it later (3.14 with 10 frames: an int, alive in A, gone in
    # B): the row moves by K Plain instances plus exactly those.
    stj = report(h, pyheap, res, label, "diff", "--by", "site,type", a, b)
    st = {(r["site"], r["type"]): r for r in (stj or {}).get("rows", [])}
    extra = sum(r["count_delta"] for (k, ty), r in st.items()
                if k == key and ty != "__main__.Plain")
    res.check(abs(extra) * 100 <= K, "%s: other types on SITE-GROW's line "
              "moved by at most 1%% of %d" % (label, K), str(extra))
    res.equal(st.get((key, "__main__.Plain"), {}).get("count_delta"), K,
              "%s: --by site,type: %d more __main__.Plain" % (label, K))
    res.equal((row.get("count_delta"), row.get("site_kind")),
              (K + extra, "traced"), "%s: SITE-GROW grew by exactly %d "
              "(%+d of other types), traced" % (label, K, extra))
    others = [(r["key"], r["count_delta"]) for r in js["rows"]
              if r["key"] != key and abs(r["count_delta"]) * 100 > K]
    res.equal(others, [], "%s: no other row moved by over 1%% of %d"
              % (label, K))
    p = h.run_pyheap(pyheap, "diff", "--by", "site", "--format", "csv", a, b)
    crows = {r["key"]: r for r in csv.DictReader(io.StringIO(p.stdout))}
    res.equal(crows.get(key, {}).get("count_delta"), str(K + extra),
              "%s: csv: SITE-GROW grew by %d" % (label, K + extra))
    out = text(h, pyheap, res, label, "diff", "--by", "site", a, b)
    res.check(any(re.search(r"  traced +%s$" % re.escape(key), ln) and
                  (" {:+,} ".format(K + extra)) in ln
                  for ln in out.splitlines()),
              "%s: text: SITE-GROW row with %+d, traced" % (label, K + extra),
              out)


def check_diff_inferred(h, pyheap, slot, exe, res, keep):
    """Tracing off: K more requests with a closure over themselves."""
    K = 3000
    label = "diff without tracing"
    lines = markers(os.path.join(h.TARGETS, TARGET))
    t = h.Target(exe, TARGET, env={"SITES_COMMANDS": "1"})
    try:
        where = t.expected["file"]
        res.equal(h.ask(t, "grow 1"), "done", "%s: warm-up" % label)
        res.equal(h.ask(t, "requests 1"), "done", "%s: warm-up" % label)
        asleep(h, t)
        a = os.path.join(keep, "req-a.snap")
        b = os.path.join(keep, "req-b.snap")
        if not snap(h, pyheap, t, res, label + " A", a):
            return
        res.equal(h.ask(t, "requests %d" % K), "done", "%s: made requests"
                  % label)
        asleep(h, t)
        if not snap(h, pyheap, t, res, label + " B", b):
            return
    finally:
        t.close()
    key = "%s:%d" % (where, lines["SITE-CB"])
    js = report(h, pyheap, res, label, "diff", "--by", "site", a, b)
    if js is None:
        return
    row = {r["key"]: r for r in js["rows"]}.get(key, {})
    res.equal((row.get("count_delta"), row.get("site_kind")),
              (3 * K, "inferred"), "%s: the lambda's line grew by %d "
              "(closures, cells, closure tuples), inferred" % (label, 3 * K))
    # On 2.7 each Req's own dict (280 bytes there, against the closure's
    # 240) puts the rows without a site (instances, their dicts) first:
    # the lambda's line must lead the rows that have one.
    sited = [r for r in js["rows"]
             if t.expected["version"][0] == 3 or r["key"] != "[no site]"]
    res.equal(sited[0]["key"] if sited else None, key,
              "%s: the lambda's line grew most%s (%s)" % (
                  label, "" if t.expected["version"][0] == 3
                  else " of the rows with a site",
                  [(r["key"], r["bytes_delta"]) for r in js["rows"][:3]]))
    js = report(h, pyheap, res, label, "diff", "--by", "site,type", a, b)
    if js:
        st = {(r["site"], r["type"]): r for r in js["rows"]}
        for tname in ("function", "cell", "tuple"):
            res.equal(st.get((key, tname), {}).get("count_delta"), K,
                      "%s: %d more %ss at the lambda" % (label, K, tname))
    out = text(h, pyheap, res, label, "diff", "--by", "site", a, b)
    check_hint(res, label, t.expected, out)
    res.check(any(re.search(r"  inferred +%s$" % re.escape(key), ln) and
                  (" +{:,} ".format(3 * K)) in ln for ln in out.splitlines()),
              "%s: text: the lambda's row growing, inferred" % label, out)


def check_traced(h, pyheap, slot, exe, res, nframe, keep, start=False):
    import snapfile
    if start:
        label = "tracemalloc.start(%d)" % nframe
        env = {"SITES_START": str(nframe)}
    else:
        label = "PYTHONTRACEMALLOC=%d" % nframe
        env = {"PYTHONTRACEMALLOC": str(nframe)}
    got = take(h, pyheap, exe, env, res, label, keep)
    if not got:
        return
    want, mem, snap, snap_path = got
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
    # A stripped 3.7-3.11 keeps tracemalloc's tables in file-local
    # statics: found by a heuristic, without the traced-memory counter;
    # 3.12+ keep them in _PyRuntime, found through the layout.
    if not h.has_debug_info(slot) and want["version"][1] <= 11:
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
    check_reports_traced(h, pyheap, res, label, want, lines, snap_path,
                         nframe)


def check_inferred(h, pyheap, slot, exe, res, keep):
    import snapfile
    label = "no tracing"
    got = take(h, pyheap, exe, {}, res, label, keep)
    if not got:
        return
    want, mem, snap, snap_path = got
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
    check_reports_inferred(h, pyheap, res, label, want, lines, snap_path)


def suite_sites(h, pyheap, slot, exe, res):
    if slot == "3.6":
        print("# sites needs CPython 2.7 or 3.7+")
        return
    sys.path.insert(0, h.HERE)
    keep = tempfile.mkdtemp(prefix="pyheap-sites-")
    try:
        if slot.split("-")[0] == "2.7":
            # No tracemalloc in 2.7: the inferred sites only.
            print("# 2.7: no tracemalloc, so inferred sites only")
            check_inferred(h, pyheap, slot, exe, res, keep)
            check_diff_inferred(h, pyheap, slot, exe, res, keep)
            return
        check_traced(h, pyheap, slot, exe, res, 1, keep)
        check_traced(h, pyheap, slot, exe, res, 10, keep)
        check_traced(h, pyheap, slot, exe, res, 3, keep, start=True)
        check_inferred(h, pyheap, slot, exe, res, keep)
        check_diff_traced(h, pyheap, slot, exe, res, 1, keep)
        check_diff_traced(h, pyheap, slot, exe, res, 10, keep)
        check_diff_inferred(h, pyheap, slot, exe, res, keep)
    finally:
        shutil.rmtree(keep, ignore_errors=True)


def register(suites, h):
    suites["sites"] = lambda pyheap, slot, exe, res: \
        suite_sites(h, pyheap, slot, exe, res)
