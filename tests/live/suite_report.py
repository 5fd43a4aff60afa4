"""Live suite for pyheap report (issue 18), registered with run.py.

report  targets/garbage.py, run with PYTHONTRACEMALLOC=8 (sites with
        frames), holds live objects and garbage of every kind; one
        snapshot of it becomes a page (pyheap report), which Debian's
        chromium opens headless through playwright-core
        (tests/browser/check_report.mjs).  Checked: no console error, no
        request beyond the page itself, no src or href in it; the numbers
        of its tables, memory legend, totals and icicles equal what
        show --format json (by type, module and site), snapfile.py's
        reading of the snapshot's groups and leaks --format json say of
        the same file; clicking the largest cell of each icicle makes it
        fill the width and hides its siblings, clicking the root brings
        them back; the types table sorts by bytes both ways; a 390 px
        phone screen does not scroll sideways; with JavaScript off the
        page holds the same numbers.  The file is mode 0600.  Screenshots
        (1280 px, the zoomed icicle, a phone) go to $PYHEAP_TEST_ARTIFACTS
        (default: test-artifacts/ in the working directory).

Needs node, tests/browser/node_modules (npm ci --prefix tests/browser) and
chromium (apt-get install chromium; $PYHEAP_CHROMIUM for another): without
them the suite is skipped, unless PYHEAP_REQUIRE_BROWSER=1 (CI).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

H = None
BROWSER = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "browser")


def browser_missing():
    chrome = os.environ.get("PYHEAP_CHROMIUM") or shutil.which("chromium")
    if not chrome:
        return "no chromium (apt-get install chromium)"
    if not shutil.which("node"):
        return "no node"
    if not os.path.isdir(os.path.join(BROWSER, "node_modules",
                                      "playwright-core")):
        return "no playwright-core (npm ci --prefix tests/browser)"
    return None


def show_json(pyheap, res, path, *args):
    p = H.run_pyheap(pyheap, "show", "--format", "json", "--top", "200",
                     *args, path)
    if not res.equal(p.returncode, 0, "show %s exits 0 (%s)"
                     % (" ".join(args), p.stderr.strip())):
        return None
    return json.loads(p.stdout)


def rows_of(js, gc):
    return [[r["key"], r["count"], r["bytes"]] +
            ([r["gc_tracked"]] if gc else []) for r in js["rows"]]


def check_numbers(res, seen, types, sites, modules, groups, lost, what):
    """The page's numbers against pyheap's JSON of the same file."""
    res.equal(seen["types"], rows_of(types, True),
              "%s: the types table is show's rows (key, count, bytes, "
              "GC-tracked)" % what)
    res.equal(seen["sites"], rows_of(sites, False),
              "%s: the sites table is show --by site's rows" % what)
    t = types["total"]
    want = {"total-objects": t["objects"],
            "total-object-bytes": t["object_bytes"],
            "total-native-bytes": t["native_bytes"]}
    mem = types.get("memory")
    if mem and mem["rss"]:
        want["total-rss"] = mem["rss"]
    res.equal({k: v for k, v in seen["totals"].items()
               if k.startswith("total-")}, want,
              "%s: the totals are show's" % what)
    if mem:
        m = dict(seen["memory"] or {})
        unowned = m.pop("native_lost", 0) + m.pop("native_unowned_other", 0)
        res.equal(unowned, mem["native_unowned"], "%s: native unowned, "
                  "lost and not, adds up to show's" % what)
        res.equal(seen["memory"].get("native_lost"),
                  min(lost, mem["native_unowned"]),
                  "%s: native lost is leaks' definitely + indirectly lost "
                  "bytes" % what)
        want = {k: mem[k] for k in ("pymalloc_used", "objects_in_malloc",
                                    "buffers", "native_owned", "allocator",
                                    "malloc_free", "malloc_overhead", "rss",
                                    "unaccounted")}
        want["pymalloc_free"] = mem["pymalloc_arenas"] - mem["pymalloc_used"]
        want["malloc_top"] = mem["malloc_top"]
        res.equal(m, want, "%s: the memory legend is show's breakdown"
                  % what)
    ic = seen["icicles"].get("icicle-modules") or []
    root = [c for c in ic if c["d"] == 0]
    res.check(root and root[0]["count"] == t["objects"] and
              root[0]["bytes"] == t["object_bytes"],
              "%s: the module icicle's root is every object" % what,
              repr(root))
    by_mod = {r["key"]: (r["count"], r["bytes"]) for r in modules["rows"]}
    bad = [c for c in ic if c["d"] == 1 and
           by_mod.get(c["name"].rsplit(" (", 1)[0]) !=
           (c["count"], c["bytes"])]
    res.check(len([c for c in ic if c["d"] == 1]) > 0 and not bad,
              "%s: each module cell is show --by module's row" % what,
              repr(bad[:3]))
    si = seen["icicles"].get("icicle-sites") or []
    sroot = [c for c in si if c["d"] == 0]
    res.check(sroot and sroot[0]["bytes"] == t["object_bytes"],
              "%s: the site icicle's root is every object's bytes" % what,
              repr(sroot))
    want = [[g["shape"], "yes" if g["part"] == "collectable" else "never",
             g["cycles"],
             g["objects"], g["bytes"]] for g in groups]
    got = [r[:5] for r in seen["garbage"]] if seen["garbage"] else None
    res.equal(got, want or None,
              "%s: the garbage table is the snapshot's groups (%d)"
              % (what, len(want)))


def suite_report(h, pyheap, slot, exe, res):
    sys.path.insert(0, h.HERE)
    import snapfile
    missing = browser_missing()
    if missing:
        if os.environ.get("PYHEAP_REQUIRE_BROWSER") == "1":
            raise RuntimeError("PYHEAP_REQUIRE_BROWSER=1 and " + missing)
        raise h.Skip("report: " + missing)
    art = os.environ.get("PYHEAP_TEST_ARTIFACTS",
                         os.path.join(os.getcwd(), "test-artifacts"))
    os.makedirs(art, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="pyheap-report-")
    try:
        report_checks(h, pyheap, exe, res, tmp, art, snapfile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


MORE = 3000  # self-referencing lists garbage.py makes between A and B
KEEP = 2000  # and dicts it keeps in its global KEPT


def report_checks(h, pyheap, exe, res, tmp, art, snapfile):
    a = os.path.join(tmp, "a.snap")
    b = os.path.join(tmp, "b.snap")
    with h.Target(exe, "garbage.py",
                  env={"PYTHONTRACEMALLOC": "8"}) as t:
        for path in (a, b):
            if path == b:
                t.proc.stdin.write("more %d\n" % MORE)
                t.proc.stdin.flush()
                made = json.loads(t.proc.stdout.readline())
                t.proc.stdin.write("keep %d\n" % KEEP)
                t.proc.stdin.flush()
                t.proc.stdout.readline()
            p = h.run_pyheap(pyheap, "snap", "-q", "-o", path, str(t.pid))
            if not res.equal(p.returncode, 0, "snap exits 0 (%s)"
                             % p.stderr.strip()):
                return
    one_page(h, pyheap, res, tmp, art, snapfile, a)
    two_pages(h, pyheap, res, tmp, art, a, b, made)
    series_page(h, pyheap, exe, res, tmp, art, snapfile)


def one_page(h, pyheap, res, tmp, art, snapfile, snap):
    page = os.path.join(tmp, "r.html")
    p = h.run_pyheap(pyheap, "report", "-o", page, snap)
    if not res.equal(p.returncode, 0, "report exits 0 (%s)"
                     % p.stderr.strip()):
        return
    size = os.stat(page).st_size
    res.check(p.stdout.startswith(page + ": report of ") and
              p.stdout.count("\n") == 1, "report says what it wrote in "
              "one line", p.stdout)
    res.equal(os.stat(page).st_mode & 0o777, 0o600, "the page is mode 0600")
    print("# page: %d bytes" % size)
    bare = os.path.join(tmp, "bare.html")
    p = h.run_pyheap(pyheap, "report", "--summary-only", "-o", bare, snap)
    with open(bare) as f:
        res.check(p.returncode == 0 and 'id="retainers"' not in f.read(),
                  "report --summary-only: the page without them",
                  p.stderr)
    types = show_json(pyheap, res, snap)
    sites = show_json(pyheap, res, snap, "--by", "site")
    modules = show_json(pyheap, res, snap, "--by", "module")
    p = H.run_pyheap(pyheap, "leaks", "--format", "json", snap)
    lost, js = 0, None
    if res.equal(p.returncode, 0, "leaks exits 0 (%s)" % p.stderr.strip()):
        js = json.loads(p.stdout)
        lost = js["definitely_lost"]["bytes"] + js["indirectly_lost"]["bytes"]
    sf = snapfile.load(snap)
    # snapfile gives string columns as text (or, in older readers, ids).
    groups = [dict(g, shape=g["shape"] if isinstance(g["shape"], str)
                   else sf["strings"][g["shape"]])
              for g in (sf.get("groups") or {"garbage": []})["garbage"]]
    if not (types and sites and modules):
        return
    shot = os.path.join(art, "report-snapshot")
    c = subprocess.run(["node", os.path.join(BROWSER, "check_report.mjs"),
                        page, shot], capture_output=True, text=True,
                       timeout=180)
    if not res.equal(c.returncode, 0, "chromium opened the page (%s)"
                     % c.stderr.strip()[-2000:]):
        return
    out = json.loads(c.stdout)
    res.equal(out["errors"], [], "no console error or warning")
    res.equal(out["requests"], [], "no request beyond the page itself")
    seen = out["seen"]
    res.equal(seen["external"], [], "no src or href in the page")
    res.check(len(groups) > 0, "the target's garbage is in the "
              "snapshot's groups", repr(groups)[:200])
    check_numbers(res, seen, types, sites, modules, groups, lost, "page")
    # With the references read, garbage and lost groups come from the
    # analyses: where each garbage group was allocated, an example chunk.
    q = H.run_pyheap(pyheap, "garbage", "--format", "json", snap)
    if res.equal(q.returncode, 0, "garbage exits 0 (%s)" % q.stderr.strip()):
        gj = json.loads(q.stdout)
        want = [g["site"]["file"] + ":" + str(g["site"]["line"])
                if g.get("site") else ""
                for part in ("collectable", "uncollectable")
                for g in gj[part]["groups"]]
        res.equal([r[5] for r in seen["garbage"] or []], want,
                  "each garbage group's site is garbage's")
    if js:
        want = [[g["state"], g["signature"] or "-", g["size"], g["chunks"],
                 g["bytes"], g["bytes"] + g["indirect_bytes"],
                 g["example"] or ""] for g in js["groups"]]
        res.check(seen["lost"] == (want or None),
                  "the lost-memory table is leaks' groups (%d), each with "
                  "an example chunk" % len(want),
                  "got %r, want %r" % (seen["lost"], want))
    q = H.run_pyheap(pyheap, "retained", "--format", "json", snap)
    if res.equal(q.returncode, 0, "retained exits 0 (%s)" % q.stderr.strip()):
        want = [[r["key"], r["retained_bytes"], r["retained_count"],
                 r["example_path"] or ""]
                for r in json.loads(q.stdout)["rows"]]
        res.check(len(want) == 20 and seen["retained"] == want,
                  "the largest retainers are retained's 20 rows, each with "
                  "its path", "got %r, want %r" % (seen["retained"], want))
        res.equal(out["nojs"]["retained"], want, "JavaScript off: the same "
                  "retainers")
    for name in ("icicle-modules", "icicle-sites"):
        z = out["zoom"].get(name)
        if not res.check(z is not None, "%s: a cell to click" % name):
            continue
        res.check(z["zoomed"] == z["target"] and z["x"] == 0 and
                  abs(z["width"] - (z["w"] - 1)) < 0.05,
                  "%s: the clicked cell fills the width" % name, repr(z))
        res.equal(z["hidden"], z["others"], "%s: its siblings are hidden"
                  % name)
    res.equal(out["zoom"]["icicle-modules"].get("back"), 0,
              "clicking the root shows every cell again")
    s = out["sort"]
    res.check(s["first"] == sorted(s["first"], reverse=True) and
              s["second"] == sorted(s["second"]) and len(s["first"]) > 1,
              "the types table sorts by bytes, down then up", repr(s)[:300])
    res.check(out["phone"]["scrollWidth"] <= out["phone"]["width"] + 1,
              "a phone's screen does not scroll sideways", repr(out["phone"]))
    check_numbers(res, out["nojs"], types, sites, modules, groups, lost,
                  "JavaScript off")
    for suffix in ("", "-top", "-zoom", "-phone"):
        f = shot + suffix + ".png"
        res.check(os.path.getsize(f) > 1000 if os.path.exists(f) else False,
                  "screenshot %s" % f)


def two_pages(h, pyheap, res, tmp, art, a, b, made):
    """report A B: the diff's numbers, growth bars, zoom, no request."""
    page = os.path.join(tmp, "d.html")
    p = h.run_pyheap(pyheap, "report", "-o", page, a, b)
    if not res.equal(p.returncode, 0, "report A B exits 0 (%s)"
                     % p.stderr.strip()):
        return
    res.check(p.stdout.startswith(page + ": report of %s to %s, " % (a, b)),
              "report A B says what it wrote", p.stdout)
    print("# diff page: %d bytes" % os.path.getsize(page))
    want = {}
    for by in ("type", "site", "native"):
        q = h.run_pyheap(pyheap, "diff", "--format", "json", "--top", "200",
                         "--by", by, a, b)
        if not res.equal(q.returncode, 0, "diff --by %s exits 0 (%s)"
                         % (by, q.stderr.strip())):
            return
        want[by] = json.loads(q.stdout)
    shot = os.path.join(art, "report-diff")
    c = subprocess.run(["node", os.path.join(BROWSER, "check_report.mjs"),
                        page, shot, "6"], capture_output=True, text=True,
                       timeout=180)
    if not res.equal(c.returncode, 0, "chromium opened the diff page (%s)"
                     % c.stderr.strip()[-2000:]):
        return
    out = json.loads(c.stdout)
    res.equal(out["errors"], [], "diff page: no console error or warning")
    res.equal(out["requests"], [], "diff page: no request")

    def rows(js):
        return [[r["key"], r["count_a"], r["count_b"], r["count_delta"],
                 r["bytes_a"], r["bytes_b"], r["bytes_delta"],
                 "new" if not r["count_a"] else
                 "gone" if not r["count_b"] else ""] for r in js["rows"]]
    for seen, what in ((out["seen"], "diff page"),
                       (out["nojs"], "diff page, JavaScript off")):
        res.equal(seen["types"], rows(want["type"]), "%s: the types table "
                  "is diff's rows" % what)
        res.equal(seen["sites"], rows(want["site"]), "%s: the sites table "
                  "is diff --by site's rows" % what)
        res.equal(seen["native"], rows(want["native"]), "%s: the native "
                  "table is diff --by native's rows" % what)
        t = want["type"]["total"]
        res.equal((seen["totals"].get("total-objects"),
                   seen["totals"].get("total-object-bytes"),
                   seen["totals"].get("total-native-bytes")),
                  (t["objects_b"], t["object_bytes_b"], t["native_bytes_b"]),
                  "%s: B's totals are diff's" % what)
    q = h.run_pyheap(pyheap, "diff", "--why", "--format", "json", a, b)
    if res.equal(q.returncode, 0, "diff --why exits 0 (%s)"
                 % q.stderr.strip()):
        def cells(r):
            p = r["why"]["path"]
            acc = p and p["accumulation"]
            return [r["key"], r["why"]["new_objects"], p["objects"] if p
                    else 0, r["why"]["unreached"], (acc["type"] + (" " + acc["label"]
                                            if acc["label"] else ""))
                    if acc else "", p["text"] if p else "",
                    p["example_path"] if p else ""]
        wy = [cells(r) for r in json.loads(q.stdout)["rows"] if r.get("why")]
        res.check(out["seen"]["why"] == wy and len(wy) == 5,
                  "where the growth accumulates: diff --why's five rows",
                  "got %r, want %r" % (out["seen"]["why"], wy))
        kept = [r for r in wy if r[0] == "dict"]
        res.check(kept and kept[0][1] >= KEEP and "KEPT" in kept[0][6],
                  "the %d kept dicts hang from KEPT" % KEEP, repr(kept))
        ls = [r for r in wy if r[0] == "list"]
        res.check(ls and ls[0][3] >= MORE, "the %d self-referencing lists "
                  "are garbage" % MORE, repr(ls))
    lists = [r for r in want["type"]["rows"] if r["key"] == "list"]
    res.check(lists and lists[0]["count_delta"] >= made["made"] and
              lists[0]["bytes_delta"] >= made["bytes"],
              "diff: the %d lists the target made between A and B, %d "
              "bytes" % (made["made"], made["bytes"]), repr(lists))
    bars = out["seen"]["bars"].get("growth-types") or []
    top = max((r["bytes_delta"] for r in want["type"]["rows"]), default=0)
    res.check(bars and bars[0] == top,
              "the first growth bar is the type that grew most (%d bytes)"
              % top, repr(bars[:5]))
    for name in ("icicle-modules", "icicle-sites"):
        z = out["zoom"].get(name)
        res.check(z is not None and z["zoomed"] == z["target"] and
                  abs(z["width"] - (z["w"] - 1)) < 0.05 and
                  z["hidden"] == z["others"],
                  "diff page, %s: the clicked cell fills the width, its "
                  "siblings hidden" % name, repr(z))
        root = [c for c in out["seen"]["icicles"].get(name, [])
                if c["d"] == 0]
        t = want["type"]["total"]
        res.check(root and root[0]["bytes"] == t["object_bytes_b"] and
                  root[0]["bytesA"] == t["object_bytes_a"],
                  "diff page, %s: the root holds B's and A's bytes" % name,
                  repr(root))
    s = out["sort"]
    res.check(s["first"] == sorted(s["first"], reverse=True) and
              s["second"] == sorted(s["second"]) and len(s["first"]) > 1,
              "diff page: the types table sorts by bytes delta, down then "
              "up", repr(s)[:300])
    res.check(out["phone"]["scrollWidth"] <= out["phone"]["width"] + 1,
              "diff page: a phone's screen does not scroll sideways",
              repr(out["phone"]))


def series_page(h, pyheap, exe, res, tmp, art, snapfile):
    """report DIR and trend --html: a series of two processes of one
    program (a restart), three snapshots each, lists growing."""
    import time
    d = os.path.join(tmp, "series")
    pids = []
    for proc in range(2):
        with h.Target(exe, "garbage.py") as t:
            pids.append(t.pid)
            for k in range(3):
                if k:
                    t.proc.stdin.write("more %d\n" % MORE)
                    t.proc.stdin.flush()
                    t.proc.stdout.readline()
                    time.sleep(1.05)  # series names have 1 s resolution
                p = h.run_pyheap(pyheap, "snap", "-q", "--dir", d,
                                 str(t.pid))
                if not res.equal(p.returncode, 0, "snap --dir exits 0 "
                                 "(%s)" % p.stderr.strip()):
                    return
        time.sleep(1.05)
    page = os.path.join(tmp, "s.html")
    p = h.run_pyheap(pyheap, "report", "-o", page, d)
    if not res.equal(p.returncode, 0, "report DIR exits 0 (%s)"
                     % p.stderr.strip()):
        return
    res.equal(p.stdout.split(", ")[0], "%s: report of the series in %s"
              % (page, d), "report DIR says what it wrote")
    print("# series page: %d bytes" % os.path.getsize(page))
    other = os.path.join(tmp, "t.html")
    q = h.run_pyheap(pyheap, "trend", "--html", other, d)
    res.equal(q.returncode, 0, "trend --html exits 0 (%s)"
              % q.stderr.strip())
    with open(page, "rb") as f1, open(other, "rb") as f2:
        res.check(f1.read() == f2.read(), "trend --html writes the page "
                  "report DIR writes")
    res.equal(os.stat(other).st_mode & 0o777, 0o600,
              "trend --html's page is mode 0600")
    q = h.run_pyheap(pyheap, "trend", "--format", "json", "--top", "200", d)
    if not res.equal(q.returncode, 0, "trend --format json exits 0"):
        return
    tr = json.loads(q.stdout)
    newest = sorted(os.path.join(d, f) for f in os.listdir(d)
                    if f.endswith(".snap") and str(pids[1]) in f)[-1]
    shot = os.path.join(art, "report-series")
    c = subprocess.run(["node", os.path.join(BROWSER, "check_report.mjs"),
                        page, shot], capture_output=True, text=True,
                       timeout=180)
    if not res.equal(c.returncode, 0, "chromium opened the series page "
                     "(%s)" % c.stderr.strip()[-2000:]):
        return
    out = json.loads(c.stdout)
    res.equal(out["errors"], [], "series page: no console error or warning")
    res.equal(out["requests"], [], "series page: no request")
    seen = out["seen"]
    want = [[r["key"], "yes" if r["suspect"] else "", r["bytes_first"],
             r["bytes_last"], round(r["bytes_per_hour"], 3), r["grew"],
             r["intervals"]] for r in tr["rows"]]
    got = [[r[0], r[1], r[2], r[3], round(r[4], 3) if r[4] != "" else None,
            r[5], r[6]] for r in (seen.get("trend") or [])]
    res.equal(got, want, "the trend table is trend's rows (%d)" % len(want))
    res.equal((round(seen["totals"].get("rate-total", 0), 3),
               seen["totals"].get("suspects")),
              (round(tr["total"]["bytes_per_hour"], 3),
               sum(1 for r in tr["rows"] if r["suspect"])),
              "the series totals are trend's rate and suspects")
    res.equal([s["pid"] for s in tr["segments"]], pids,
              "trend: two segments, one per process")
    ch = seen["charts"].get("chart-1") or {}
    pts = [sn["bytes"] for sg in tr["segments"] for sn in sg["snapshots"]]
    res.equal([p["objects"] + p["native"] for p in ch.get("points", [])],
              pts, "the memory chart has every snapshot, objects + native "
              "= trend's bytes")
    res.equal(ch.get("restarts"), [pids[1]], "the chart marks the restart "
              "(the second process's PID)")
    res.check(seen["keycharts"][:1] == ["list"], "the first chart over "
              "time is list's, the suspect", repr(seen["keycharts"][:3]))
    ls = [r for r in tr["rows"] if r["key"] == "list"]
    res.check(ls and ls[0]["suspect"], "trend: list is a leak suspect",
              repr(ls[:1]))
    types = show_json(pyheap, res, newest)
    sites = show_json(pyheap, res, newest, "--by", "site")
    modules = show_json(pyheap, res, newest, "--by", "module")
    q = h.run_pyheap(pyheap, "leaks", "--format", "json", newest)
    js = json.loads(q.stdout) if q.returncode == 0 else None
    lost = js["definitely_lost"]["bytes"] + js["indirectly_lost"]["bytes"] \
        if js else 0
    sf = snapfile.load(newest)
    groups = [dict(g, shape=g["shape"] if isinstance(g["shape"], str)
                   else sf["strings"][g["shape"]])
              for g in (sf.get("groups") or {"garbage": []})["garbage"]]
    if types and sites and modules:
        check_numbers(res, seen, types, sites, modules, groups, lost,
                      "series page's newest snapshot")


def register(suites, h):
    global H
    H = h
    suites["report"] = lambda pyheap, slot, exe, res: \
        suite_report(h, pyheap, slot, exe, res)
