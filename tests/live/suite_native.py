"""Live suites for native memory (glibc malloc), registered with run.py.

native   pyheap's walk against glibc's own mallinfo2(); leaked chunks show
         up as unowned native chunks of the right size; 16 threads with
         their own arenas are walked completely; PYTHONMALLOC=malloc and
         an LD_PRELOADed jemalloc keep the Python census exact.
"""
import json
import os
import select
import subprocess
import sys
import time

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def chunk_size(n):
    """glibc's request2size: user size + 8, rounded up to 16, >= 32."""
    return max(32, (n + 8 + 15) & ~15)


class NativeTarget:
    def __init__(self, h, exe, mode, env=None):
        self.tmp = __import__("tempfile").mkdtemp(prefix="pyheap-native-")
        self.ready = os.path.join(self.tmp, "ready.json")
        e = dict(os.environ)
        e.pop("PYTHONPATH", None)
        e.update(env or {})
        self.proc = subprocess.Popen(
            [exe, os.path.join(h.TARGETS, "native.py"), self.ready, mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=e)
        self.pid = self.proc.pid
        self.read_answer()            # the warm-up answer
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        if not h.wait_for(lambda: os.path.exists(self.ready), 60):
            raise RuntimeError("native target did not become ready")
        with open(self.ready) as f:
            self.expected = json.load(f)

    def read_answer(self, timeout=30):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise RuntimeError("native target did not answer")
        return json.loads(self.proc.stdout.readline())

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read_answer()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)


def snap(h, pyheap, pid, out, res, what):
    p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(pid))
    if not res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                     % (what, p.stderr.strip())):
        return None
    import snapfile
    return snapfile.load(out)


def compare_mallinfo(snapshot, mi, res, what):
    """pyheap's walk against mallinfo2 (malloc/malloc.c int_mallinfo), like
    with like: arena is the sum of the arenas' system_mem; fordblks is
    bin-free + fastbin + top bytes; ordblks counts free chunks plus one top
    per arena; smblks the fastbin chunks; hblks/hblkhd the mmapped chunks;
    uordblks is arena - fordblks (so it counts tcache chunks and the
    arenas' own headers as in use)."""
    st = snapshot["stats"]
    if not res.check("malloc.free_bytes" in st, "%s: malloc was walked"
                     % what, "no malloc stats in the snapshot (flags %#x, "
                     "malloc %r)" % (snapshot["meta"]["flags"],
                                     snapshot["meta"].get("malloc"))):
        return
    arena = sum(a["system_mem"] for a in snapshot["arenas"])
    fordblks = (st["malloc.free_bytes"] + st["malloc.fastbin_bytes"]
                + st["malloc.top_bytes"])
    ours = {
        "arena": arena, "fordblks": fordblks, "uordblks": arena - fordblks,
        "ordblks": st["malloc.free_chunks"] + st["malloc.arenas"],
        "smblks": st["malloc.fastbin_chunks"],
        "hblks": st["malloc.mmapped_chunks"],
        "hblkhd": st["malloc.mmapped_bytes"],
    }
    bad = ["%s: %d vs %d" % (k, v, mi[k]) for k, v in ours.items()
           if v != mi[k]]
    res.check(not bad, "%s: malloc totals equal mallinfo2() exactly"
              % what, "; ".join(bad))
    # Nothing of an arena left unwalked: its chunks cover its system
    # memory but for its own header (heap_info + malloc_state, < 4 KiB).
    walked = {}
    for c in snapshot["chunks"]:
        walked[c["arena"]] = walked.get(c["arena"], 0) + c["size"]
    gaps = ["arena %d: %d of %d bytes" % (i, walked.get(i, 0),
                                           a["system_mem"])
            for i, a in enumerate(snapshot["arenas"])
            if not 0 <= a["system_mem"] - walked.get(i, 0) < 4096]
    res.check(not gaps, "%s: every arena's memory walked" % what,
              "; ".join(gaps))


def unowned(snapshot, size):
    """Unowned chunks malloc may hand out for a request of chunk size
    `size`: carved from the top chunk it is exactly `size`, but a free
    chunk up to MINSIZE-1 (31) bytes bigger is served whole (malloc.c
    _int_malloc: a remainder smaller than MINSIZE is not split off)."""
    return sum(1 for c in snapshot["chunks"]
               if c["owner_kind"] == 4 and size <= c["size"] < size + 32)


def native_count(snapshot, size):
    """In-use native chunks (owner kinds NATIVE and UNOWNED) of one size:
    what diff --by native counts in its [native SIZE] row."""
    return sum(1 for c in snapshot["chunks"]
               if c["owner_kind"] in (3, 4) and c["size"] == size)


def read_addrs(path):
    with open(path, "rb") as f:
        data = f.read()
    return [int.from_bytes(data[i:i + 8], sys.byteorder)
            for i in range(0, len(data) - 7, 8)]


def owner_note(snapshot, chunk):
    """For a failure: the object a chunk is said to belong to."""
    o = chunk.get("owner", 0xffffffff)
    if o >= len(snapshot["objects"]):
        return ""
    ob = snapshot["objects"][o]
    return ", owner %s at %#x (flags %#x, refcnt %d, size %d)" % (
        snapshot["types"][ob["type"]]["name"], ob["addr"], ob["flags"],
        ob["refcnt"], ob["size"])


def gone_note(a, b, cs):
    """For a failure: the unowned chunks of the leak's sizes in A that B no
    longer has as such."""
    now = {c["addr"] for c in b["chunks"]
           if c["owner_kind"] == 4 and cs <= c["size"] < cs + 32}
    return "gone since A: " + ", ".join(
        "%#x (%d bytes)" % (c["addr"], c["size"]) for c in a["chunks"]
        if c["owner_kind"] == 4 and cs <= c["size"] < cs + 32
        and c["addr"] not in now)


def suite_native(h, pyheap, slot, exe, res):
    if slot == "3.6":
        print("# native needs CPython 2.7 or 3.7+")
        return
    t = NativeTarget(h, exe, "basic")
    try:
        a = snap(h, pyheap, t.pid, os.path.join(t.tmp, "a.snap"), res,
                 "baseline")
        if a:
            res.check(a["meta"]["flags"] & 4, "baseline walked malloc")
            res.equal(a["meta"]["malloc"].split(" ")[0], "glibc",
                      "malloc is glibc")
            compare_mallinfo(a, t.expected["mallinfo"], res, "baseline")
            for k in ("malloc.corrupt_regions", "malloc.bad_lists"):
                res.equal(a["stats"].get(k), 0, "baseline: %s is 0" % k)
            if h.is_chroot(slot):
                # The chroot has libc6-dbg: its debug file, found through
                # /proc/PID/root, names main_arena in the -dwarf slot;
                # the stripped slots must not look for it.
                dbg = h.has_debug_info(slot)
                res.equal(a["stats"].get("malloc.main_arena_by_symbol"),
                          1 if dbg else 0, "main_arena found by %s"
                          % ("the chroot's libc6-dbg" if dbg
                             else "the heuristic (PYHEAP_NO_DEBUG_FILES)"))
        # Each leaked chunk, found by the address malloc returned: in use,
        # unowned, of the request's chunk size (carved from the top
        # chunk) or a free chunk up to MINSIZE-1 bytes bigger served
        # whole.  Once in 150 runs on trixie one was "owned" by a static
        # type: the census read ht_cached_keys past a static type, where
        # python3.13's convmultmax_base[] holds 10**9, an address inside
        # the chunk when the heap has grown past 0x3b9aca00.  diff's
        # growth is checked against the snapshots' own chunk lists.
        n, size = 1234, 5000
        mi = t.command("leak %d %d" % (n, size))
        leaked = read_addrs(os.path.join(t.tmp, "addrs"))
        b = snap(h, pyheap, t.pid, os.path.join(t.tmp, "b.snap"), res,
                 "after leak")
        if a and b:
            compare_mallinfo(b, mi, res, "after leak")
            cs = chunk_size(size)
            res.equal(len(leaked), n, "the target wrote %d addresses" % n)
            byaddr = {c["addr"] + 16: c for c in b["chunks"]}
            bad = ["%#x: %s" % (p, "no chunk" if p not in byaddr else
                                "owner kind %d, %d bytes%s" % (
                                    byaddr[p]["owner_kind"],
                                    byaddr[p]["size"],
                                    owner_note(b, byaddr[p])))
                   for p in leaked if p not in byaddr or
                   byaddr[p]["owner_kind"] != 4 or
                   not cs <= byaddr[p]["size"] < cs + 32]
            res.check(not bad, "each of the %d leaked malloc(%d) chunks is "
                      "an unowned chunk of %d to %d bytes"
                      % (n, size, cs, cs + 31), "; ".join(bad[:5]))
            p = h.run_pyheap(pyheap, "diff", "--by", "native", "--format",
                             "json", os.path.join(t.tmp, "a.snap"),
                             os.path.join(t.tmp, "b.snap"))
            rows = {r["key"]: r for r in json.loads(p.stdout)["rows"]} \
                if p.returncode == 0 else {}
            for k in range(0, 32, 16):
                want = native_count(b, cs + k) - native_count(a, cs + k)
                res.equal(rows.get("[native %d]" % (cs + k), {})
                          .get("count_delta", 0), want,
                          "diff --by native: [native %d] grew as the "
                          "snapshots' chunk lists say" % (cs + k))
            grew = unowned(b, cs) - unowned(a, cs)
            res.equal(grew, n, "%d leaked malloc(%d) chunks are %d more "
                      "unowned [native %d-%d] chunks" % (n, size, n, cs,
                                                         cs + 16))
            if grew != n:
                print("# " + gone_note(a, b, cs))
            p = h.run_pyheap(pyheap, "show", "--format", "json",
                             os.path.join(t.tmp, "b.snap"))
            js = json.loads(p.stdout) if p.returncode == 0 else {}
            typ = {r["key"]: r for r in js.get("rows", [])}
            res.check(typ.get("[native]", {}).get("count", 0) >= n,
                      "show --by type has a [native] row with the leak")
            res.check(js.get("snapshot", {}).get("native_bytes", 0) >= n * cs,
                      "show JSON native_bytes counts the leak")
            res.check("memory" in js and js["memory"]["native_unowned"] >=
                      n * cs, "show JSON memory breakdown holds it")
        res.check(h.wait_for(lambda: h.thread_states(t.pid) and all(
            s not in "tT" for s in h.thread_states(t.pid).values()), 5),
            "target runs after snapshots")
    finally:
        t.close()

    # Without libc's debug file pyheap finds main_arena by its heuristic.
    t = NativeTarget(h, exe, "basic")
    try:
        e = dict(PYHEAP_NO_DEBUG_FILES="1")
        out = os.path.join(t.tmp, "h.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid), env=e)
        res.equal(p.returncode, 0, "snap without debug files exits 0")
        if p.returncode == 0:
            import snapfile
            s = snapfile.load(out)
            res.equal(s["stats"].get("malloc.main_arena_by_symbol"), 0,
                      "main_arena found by the heuristic")
            compare_mallinfo(s, t.expected["mallinfo"], res, "heuristic")
    finally:
        t.close()

    # 16 threads, each with an arena of its own.
    t = NativeTarget(h, exe, "threads",
                     env={"GLIBC_TUNABLES": "glibc.malloc.arena_max=64"})
    try:
        s = snap(h, pyheap, t.pid, os.path.join(t.tmp, "t.snap"), res,
                 "16 threads")
        if s:
            res.check(len(s["arenas"]) >= 17, "16 threads: %d arenas "
                      "walked (main + one per thread)" % len(s["arenas"]))
            compare_mallinfo(s, t.expected["mallinfo"], res, "16 threads")
            res.equal(s["stats"].get("malloc.corrupt_regions"), 0,
                      "16 threads: no corruption")
    finally:
        t.close()


def census_other_allocator(h, pyheap, slot, exe, res, label, env):
    """The census suite's exact checks, on a target whose malloc is not
    (only) glibc's."""
    import snapfile
    with h.Target(exe, "census.py", env=env) as t:
        out = os.path.join(t.tmp, "census.snap")
        p = h.run_pyheap(pyheap, "snap", "-o", out, str(t.pid))
        if not res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                         % (label, p.stderr.strip())):
            return None
        snap_ = snapfile.load(out)
        names = [ty["name"] for ty in snap_["types"]]
        count = {}
        for o in snap_["objects"]:
            k = names[o["type"]]
            count[k] = count.get(k, 0) + 1
        for k, n in t.expected["survivors"].items():
            res.equal(count.get(k), n, "%s: %s counted exactly" % (label, k))
        return p


def suite_allocators(h, pyheap, slot, exe, res):
    if slot.split("-")[0] in ("2.7", "3.6"):
        print("# allocators needs CPython 3.7+")
        return
    # A chroot target preloads the chroot's jemalloc (tests/distro/build.sh
    # installs libjemalloc2 there).
    root = h.chroot_root(slot) if h.is_chroot(slot) else ""
    if os.path.exists(root + JEMALLOC):
        p = census_other_allocator(h, pyheap, slot, exe, res, "jemalloc",
                                   {"LD_PRELOAD": JEMALLOC})
        if p:
            res.check("note:" in p.stderr and "jemalloc" in p.stderr and
                      p.stderr.count("\n") == 1,
                      "jemalloc: a one-line note says so", p.stderr)
    else:
        print("# SKIP jemalloc: %s missing (%s)" % (
            root + JEMALLOC, "rerun tests/distro/build.sh" if root
            else "apt-get install libjemalloc2"))
    if h.free_threaded(slot):
        # A free-threaded build allocates with mimalloc only
        # (PYTHONMALLOC=malloc and pymalloc are refused): its debug
        # hooks are the other allocator.
        census_other_allocator(h, pyheap, slot, exe, res,
                               "PYTHONMALLOC=mimalloc_debug",
                               {"PYTHONMALLOC": "mimalloc_debug"})
        return
    census_other_allocator(h, pyheap, slot, exe, res, "PYTHONMALLOC=malloc",
                           {"PYTHONMALLOC": "malloc"})


def register(suites, h):
    suites["native"] = lambda pyheap, slot, exe, res: \
        suite_native(h, pyheap, slot, exe, res)
    suites["allocators"] = lambda pyheap, slot, exe, res: \
        suite_allocators(h, pyheap, slot, exe, res)
