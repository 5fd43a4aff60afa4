"""Live suite for pyheap leaks (issue 16), registered with run.py.

leaks  Native memory classified as valgrind memcheck would, checked against
       valgrind itself:
       - parity: tests/live/ext/leaklib.c leaves, in one request size per
         case, N definitely lost chunks each holding 2 indirectly lost ones
         (a cycle), N possibly lost (interior pointer from .bss), N
         reachable from .bss, and one each held from a thread-local, a
         blocked thread's stack and a blocked thread's register.  The same
         library driven by ext/leakdrive.c under valgrind --leak-check=full
         is the ground truth (valgrind_truth.py); loaded with ctypes into
         the slot's interpreter (targets/leaks.py), pyheap's classes of the
         chunks of those sizes, between a snapshot before and one after,
         must equal valgrind's exactly;
       - Python garbage: ctypes buffers held only by garbage cycles are
         "held by Python garbage", held ones reachable, and --by holder
         names the ctypes type that holds them;
       - no false leaks: the other suites' targets at rest (census,
         threads, why, sites, owned, garbage, stress with eight threads
         allocating, big) have no definitely or indirectly lost chunk;
       - the libxml2 seed (debian slot, Debian's python3-libxml2): N
         failing doc.xpathEval() calls add N definitely lost 384-byte
         leaders (valgrind: xmlXPathNewContext's 376-byte block) whose
         signature names libxml2's XPath functions and the document's
         capsule, and indirectly lost chunks per call within 2.5% of what
         valgrind reports for the same script (each varies by about 1%
         from run to run: hash collisions); N successful calls add no
         lost chunk.
PYHEAP_REQUIRE_VALGRIND=1 and PYHEAP_REQUIRE_LIBXML2=1 (CI) make a missing
valgrind or python3-libxml2 a failure instead of a skip.
"""
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

N = 20          # leaklib_setup(N)
BUFFERS = 7     # ctypes buffers in garbage (and 5 held)
XPATH_N = 100   # failing xpathEval calls in the pyheap run
VG_XPATH_N = 50  # ... and under valgrind (its indirect blocks per call
                 # vary with the hash tables' seeds: 32.9-33.6 at 20)
CLASSES = ("reachable", "possibly_lost", "python_garbage",
           "definitely_lost", "indirectly_lost")
REACH = {1: "reachable", 2: "possibly_lost", 3: "python_garbage",
         4: "definitely_lost", 5: "indirectly_lost"}


def ask(t, line, timeout=60.0):
    t.proc.stdin.write(line + "\n")
    t.proc.stdin.flush()
    r, _, _ = select.select([t.proc.stdout], [], [], timeout)
    if not r:
        raise RuntimeError("target did not answer %r" % line)
    return json.loads(t.proc.stdout.readline())


def snap(h, pyheap, pid, out, res, what):
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(pid))
    return res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                     % (what, p.stderr.strip()[-300:]))


def leaks_json(h, pyheap, res, what, *args):
    p = h.run_pyheap(pyheap, "leaks", "--format", "json", "--top", "0",
                     *args)
    if not res.equal(p.returncode, 0, "%s: leaks exits 0 (%s)"
                     % (what, p.stderr.strip()[-300:])):
        return None
    return json.loads(p.stdout)


def check_groups(h, pyheap, res, snapfile, path):
    """The file's GRPS (1.8) holds pyheap leaks' groups of the same file,
    in its order."""
    js = leaks_json(h, pyheap, res, "groups", path)
    if not js:
        return
    want = [(g["state"], g["size"], g["signature"], g["chunks"], g["bytes"],
             g["indirect_chunks"], g["indirect_bytes"]) for g in js["groups"]]
    grps = snapfile.load(path)["groups"]
    got = [(g["reach"], g["size"], g["signature"], g["chunks"], g["bytes"],
            g["indirect_chunks"], g["indirect_bytes"])
           for g in (grps or {}).get("lost", [])]
    res.check(grps is not None and got == want, "GRPS: the %d lost groups "
              "pyheap leaks finds in the same file" % len(want),
              "%r vs %r" % (got[:3], want[:3]))


def moved_cliques(got, truth, leader, child):
    """How many whole cliques (a leader and its two children) got has as
    possibly lost instead of definitely and indirectly lost, with every
    other class as truth has it; None if got differs otherwise."""
    def sub(d, k, sz, n):
        d = {c: dict(v) for c, v in d.items()}
        d.setdefault(k, {})
        d[k][sz] = d[k].get(sz, 0) + n
        if not d[k][sz]:
            del d[k][sz]
        if not d[k]:
            del d[k]
        return d
    m = truth.get("definitely_lost", {}).get(leader, 0) - \
        got.get("definitely_lost", {}).get(leader, 0)
    if m < 0:
        return None
    want = sub(sub(sub(sub(truth, "definitely_lost", leader, -m),
                       "indirectly_lost", child, -2 * m),
                   "possibly_lost", leader, m), "possibly_lost", child, 2 * m)
    return m if got == want else None


def classes(snapfile, path):
    """{(class, chunk size): chunks} of a snapshot."""
    out = {}
    for c in snapfile.load(path)["chunks"]:
        if c["reach"]:
            k = (REACH[c["reach"]], c["size"])
            out[k] = out.get(k, 0) + 1
    return out


def held_by(snapfile, path, size):
    """What holds the chunks of one size, for messages: {(class, holder
    type or root): chunks}."""
    s = snapfile.load(path)
    out = {}
    for c in s["chunks"]:
        if c["size"] != size or not c["reach"]:
            continue
        who = s["strings"][c["root"]] if c["root"] else "-"
        if c["holder"]:
            who = s["types"][s["objects"][c["holder"] - 1]["type"]]["name"]
        k = "%s/%s" % (REACH[c["reach"]], who)
        out[k] = out.get(k, 0) + 1
    return out


def required(var, what):
    if os.environ.get(var) == "1":
        raise RuntimeError("%s=1 and %s" % (var, what))
    print("# leaks: skipped: %s" % what)


def parity(h, pyheap, exe, res, tmp, snapfile):
    sys.path.insert(0, h.HERE)
    import valgrind_truth as vt
    truth = vt.truth(tmp, N)
    if not truth:
        required("PYHEAP_REQUIRE_VALGRIND", "no valgrind ground truth "
                 "(valgrind, cc and memcheck.h: apt-get install valgrind "
                 "build-essential)")
        return
    res.equal(truth, vt.expected(N), "valgrind classifies leaklib's chunks "
              "as leaklib.c is built to leave them")
    lib = os.path.join(tmp, "leaklib.so")
    sizes = sorted({sz for kind in truth.values() for sz in kind})
    with h.Target(exe, "leaks.py", args=[lib, str(N)]) as t:
        a = os.path.join(tmp, "a.snap")
        b = os.path.join(tmp, "b.snap")
        c = os.path.join(tmp, "c.snap")
        if not snap(h, pyheap, t.pid, a, res, "before setup"):
            return
        r = ask(t, "setup")
        if not res.equal(r.get("setup"), 0, "leaklib_setup(%d) returns 0"
                         % N):
            return
        if not snap(h, pyheap, t.pid, b, res, "after setup"):
            return
        ca, cb = classes(snapfile, a), classes(snapfile, b)
        got = {}
        for k in CLASSES:
            for sz in sizes:
                d = cb.get((k, sz), 0) - ca.get((k, sz), 0)
                if d:
                    got.setdefault(k, {})[sz] = d
        # A word of the target's own memory that happens to point inside
        # a leader makes its clique possibly lost, as valgrind's scan
        # would in a run with the same word (seen on pyenv's 3.13 about
        # once in 30 runs: two leaders, from words in used pymalloc
        # blocks, 0x7fXX0000YYYY; on pyenv's 3.7 once in 60: three, from
        # libpython3.7m's data).  Such a clique still counts exactly: its
        # leader and children move to possibly lost together, and at
        # most a quarter of them may.
        leader = vt.chunk_size(vt.sizes()["LEADER"])
        child = vt.chunk_size(vt.sizes()["CHILD"])
        moved = moved_cliques(got, truth, leader, child)
        if moved:
            print("# %d clique(s) held by a stale interior word: possibly "
                  "lost (leaders by holder or root: %r)"
                  % (moved, held_by(snapfile, b, leader)))
        res.check(moved is not None and moved <= N // 4,
                  "every class of leaklib's chunks equals valgrind's "
                  "(definitely/indirectly/possibly lost, reachable from "
                  ".bss, TLS, a stack and a register), but for at most %d "
                  "whole cliques a stale word makes possibly lost" % (N // 4),
                  "got %r, want %r" % (got, truth))
        js = leaks_json(h, pyheap, res, "parity", "--since", a, b)
        if js:
            g = [x for x in js["groups"] if x["state"] == "definitely_lost"
                 and x["size"] == leader]
            m = moved or 0
            res.equal([(x["chunks_delta"], x["indirect_chunks_delta"])
                       for x in g], [(N - m, 2 * (N - m))],
                      "leaks --since: one group of %d %d-byte leaders "
                      "holding %d indirect chunks" % (N - m, leader,
                                                      2 * (N - m)))
        check_groups(h, pyheap, res, snapfile, b)
        h.check_since_groups(pyheap, res, tmp, "leaks", a, b)

        # Native memory that only Python garbage holds.  The held ones
        # last: the words the making of the last garbage buffer leaves in
        # the interpreter's live stack frames are overwritten (a stale
        # pointer there would hold it as valgrind's scan would too).
        if "mimalloc.walked" in snapfile.load(b)["stats"]:
            # A free-threaded build's PyMem_Malloc, which ctypes uses for
            # its buffers, is mimalloc's: no malloc chunk to classify.
            print("# SKIP ctypes buffers: mimalloc's on a free-threaded "
                  "build, not malloc chunks")
            return
        ask(t, "garbage %d" % BUFFERS)
        ask(t, "held 5")
        if not snap(h, pyheap, t.pid, c, res, "buffers"):
            return
        cc = classes(snapfile, c)
        buf = vt.chunk_size(4000)
        res.equal(cc.get(("python_garbage", buf), 0) -
                  cb.get(("python_garbage", buf), 0), BUFFERS,
                  "%d ctypes buffers in garbage cycles: held by Python "
                  "garbage (%s)" % (BUFFERS, held_by(snapfile, c, buf)))
        res.equal(cc.get(("reachable", buf), 0) -
                  cb.get(("reachable", buf), 0), 5,
                  "5 held ctypes buffers: reachable")
        js = leaks_json(h, pyheap, res, "holders", "--by", "holder", c)
        if js:
            rows = [x for x in js["holders"]
                    if "c_char_Array_4000" in x["holder"]]
            res.check(rows and rows[0]["chunks"] >= 5 + BUFFERS,
                      "--by holder: the ctypes array type holds the "
                      "buffers (%s)" % rows)
            res.check(js["python_garbage"]["chunks"] >= BUFFERS,
                      "python_garbage in the summary counts them")


def at_rest(h, pyheap, exe, res, tmp):
    """No false leaks: healthy targets have nothing lost."""
    for script, args in (("census.py", []), ("threads.py", []),
                         ("why.py", []), ("sites.py", []),
                         ("owned.py", []), ("garbage.py", []),
                         ("stress.py", []), ("big.py", ["20000"])):
        with h.Target(exe, script, args=args) as t:
            out = os.path.join(tmp, "rest.snap")
            if not snap(h, pyheap, t.pid, out, res, script):
                continue
            js = leaks_json(h, pyheap, res, script, out)
            if not js:
                continue
            lost = [(g["size"], g["chunks"], g["signature"])
                    for g in js["groups"] if g["state"] ==
                    "definitely_lost"]
            res.equal((js["definitely_lost"]["chunks"],
                       js["indirectly_lost"]["chunks"]), (0, 0),
                      "%s at rest: no chunk definitely or indirectly "
                      "lost %s" % (script, lost[:5]))


# "indirectly lost: 126,678 bytes in 331 blocks"
VG_SUMMARY = re.compile(r"(definitely|indirectly) lost: ([\d,]+) bytes in "
                        r"([\d,]+) blocks")


def valgrind_xpath(h, exe, tmp):
    """valgrind's definitely and indirectly lost blocks for VG_XPATH_N
    failing calls of targets/xpath.py: {kind: (blocks, bytes)}."""
    log = os.path.join(tmp, "xpath.log")
    env = dict(os.environ, PYTHONMALLOC="malloc")
    env.pop("PYTHONPATH", None)
    p = subprocess.run(["valgrind", "--leak-check=full",
                        "--show-leak-kinds=definite,indirect",
                        "--log-file=" + log, exe,
                        os.path.join(h.TARGETS, "xpath.py"),
                        os.path.join(tmp, "vg.ready")],
                       input="fail %d\n" % VG_XPATH_N, capture_output=True,
                       text=True, timeout=600, env=env)
    if p.returncode:
        return None
    with open(log) as f:
        text = f.read()
    return {m.group(1): (int(m.group(3).replace(",", "")),
                         int(m.group(2).replace(",", "")))
            for m in VG_SUMMARY.finditer(text)}


def libxml2_seed(h, pyheap, exe, res, tmp):
    if subprocess.run([exe, "-c", "import libxml2"],
                      capture_output=True).returncode:
        required("PYHEAP_REQUIRE_LIBXML2", "no libxml2 module for %s "
                 "(apt-get install python3-libxml2)" % exe)
        return
    vg = shutil.which("valgrind") and valgrind_xpath(h, exe, tmp)
    if not vg or "definitely" not in vg:
        required("PYHEAP_REQUIRE_VALGRIND", "no valgrind figures for the "
                 "libxml2 seed")
        return
    res.equal(vg["definitely"], (VG_XPATH_N, 376 * VG_XPATH_N),
              "valgrind: %d failing xpathEval leave %d definitely lost "
              "376-byte blocks" % (VG_XPATH_N, VG_XPATH_N))
    vg_per_call = vg["indirectly"][0] / VG_XPATH_N
    with h.Target(exe, "xpath.py") as t:
        x0, x1, x2 = (os.path.join(tmp, "x%d.snap" % i) for i in range(3))
        if not snap(h, pyheap, t.pid, x0, res, "xpath baseline"):
            return
        ask(t, "ok %d" % XPATH_N)
        if not snap(h, pyheap, t.pid, x1, res, "after ok"):
            return
        ask(t, "fail %d" % XPATH_N)
        if not snap(h, pyheap, t.pid, x2, res, "after fail"):
            return
    js = leaks_json(h, pyheap, res, "ok", "--since", x0, x1)
    if js:
        res.equal((js["definitely_lost"]["chunks_delta"],
                   js["indirectly_lost"]["chunks_delta"]), (0, 0),
                  "%d successful xpathEval: nothing lost" % XPATH_N)
    js = leaks_json(h, pyheap, res, "fail", "--since", x1, x2)
    if not js:
        return
    # A stale word can hold a context too (1 run in 12 here, one context):
    # it is then possibly lost or reachable, not gone from the count.
    dl = js["definitely_lost"]["chunks_delta"]
    res.check(XPATH_N - 2 <= dl <= XPATH_N,
              "%d failing xpathEval: %d more definitely lost chunks (%d "
              "to %d: at most two held by a stale word)"
              % (XPATH_N, dl, XPATH_N - 2, XPATH_N))
    groups = [g for g in js["groups"] if g["state"] == "definitely_lost"
              and g["chunks_delta"] > 0]
    # The signature names the lowest libxml2 function the clique points
    # to: xmlXPathFalseFunction from the XPath function table, unless a
    # stale word in one of the clique's chunks points lower (seen once:
    # 17 of 100 named xmlFreeDocElementContent).  Every group must name
    # libxml2 and the document's capsule.
    ctx = [g for g in groups if g["size"] == 384 and
           re.match(r"libxml2\.so[.\d]*: functions like xml",
                    g["signature"]) and "PyCapsule 'xmlDocPtr'" in
           g["signature"]]
    # A stale word can make one clique's leader another of its chunks,
    # or hold one of its chunks by an interior pointer (as it can under
    # valgrind): the rest must be the contexts.
    res.check(sum(g["chunks_delta"] for g in ctx) >= XPATH_N - 2,
              "the failing calls' leaders: 384-byte chunks whose signatures "
              "name libxml2's functions and the document's capsule "
              "(%s)" % [(g["size"], g["chunks_delta"], g["signature"])
                        for g in groups[:4]])
    # A word of data that reads as an address inside a lost hash table
    # (bytecode such as LOAD_FAST 0, LOAD_ATTR 2 is 0x26a007c, and a
    # non-PIE python3.11's heap starts near 0x1000000) makes that table
    # and what hangs off it possibly lost, about 33 chunks: seen in 1 run
    # in 3 here, once twice in one run.  Under valgrind the heap is
    # elsewhere and the same words miss.  They are still in the growth,
    # as possibly lost: count them there.
    held = js["possibly_lost"]["chunks_delta"]
    per_call = (js["indirectly_lost"]["chunks_delta"] + max(held, 0)) / \
        XPATH_N
    # Both figures vary from run to run with libxml2's hash collisions:
    # valgrind's 50-call figure was seen from 32.62 to 33.64 per call,
    # pyheap's from 32.97 to 33.55; one run of each is compared.
    res.check(abs(per_call / vg_per_call - 1) <= 0.04,
              "indirectly (or, through a stale interior word, possibly) "
              "lost per failing call: %.2f chunks (%d possibly), valgrind "
              "%.2f (within 4%%: each varies by up to 3%% from run to run)"
              % (per_call, held, vg_per_call))


def suite_leaks(h, pyheap, slot, exe, res):
    if slot.split("-")[0] in ("2.7", "3.6"):
        print("# leaks needs CPython 3.7+ (the native walk)")
        return
    sys.path.insert(0, h.HERE)
    import snapfile
    tmp = tempfile.mkdtemp(prefix="pyheap-leaks-")
    try:
        parity(h, pyheap, exe, res, tmp, snapfile)
        at_rest(h, pyheap, exe, res, tmp)
        if slot == "debian":
            libxml2_seed(h, pyheap, exe, res, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def register(suites, h):
    suites["leaks"] = lambda pyheap, slot, exe, res: \
        suite_leaks(h, pyheap, slot, exe, res)
