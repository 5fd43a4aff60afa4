"""Live suite for snapshots from core files (issue 20), registered with
run.py.

core   targets/census.py, idle (blocked reading stdin), is snapshotted
       live and then dumped twice: by gdb's gcore while it runs, and by the
       kernel when SIGABRT kills it (RLIMIT_CORE raised): core_pattern
       "core" writes it into the target's working directory, or, with
       systemd-coredump installed (CI), systemd-coredump stores it
       zstd-compressed and the test decompresses it; a chroot target's core
       names the files as the chroot sees them, so it is read with
       --sysroot: the container case.  Each core's
       snapshot must hold the live one's census exactly: every type's
       count and bytes, the marker classes, the native chunks.  info
       --core gives the same stacks as info of the live process.  And the
       errors: a core read against another executable (--exe) is refused
       in one line, exit 2, naming both build-ids; a core cut short is
       read with a warning that says so; a zstd-compressed core is refused
       with the advice to decompress it; no core at all is one line.
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys


def skip(res, what):
    """A part that cannot run here: said, or, with PYHEAP_REQUIRE_CORES=1
    (CI), a failure."""
    if os.environ.get("PYHEAP_REQUIRE_CORES") == "1":
        res.check(False, "PYHEAP_REQUIRE_CORES=1: %s" % what)
    else:
        print("# SKIP %s" % what)


def census_of(snapfile, path):
    s = snapfile.load(path)
    names = [t["name"] for t in s["types"]]
    rows = {}
    for o in s["objects"]:
        c, b = rows.get(names[o["type"]], (0, 0))
        rows[names[o["type"]]] = (c + 1, b + o["size"])
    native = sorted(c["size"] for c in s["chunks"] if c["owner_kind"] == 4)
    return s, rows, native


def compare(res, label, live, core):
    """The core's census equals the live one's, type by type."""
    (_, a, na), (s, b, nb) = live, core
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    res.check(not differ, "%s: every type's count and bytes equal the live "
              "snapshot's (%d types)" % (label, len(a)),
              "; ".join("%s: live %s, core %s" % (k, a.get(k), b.get(k))
                        for k in differ[:8]))
    res.equal(nb, na, "%s: the same unowned native chunks (%d)"
              % (label, len(na)))
    return s


def stacks(out):
    """The thread lines of pyheap info's text: "Thread N" and frames."""
    return [ln for ln in out.splitlines()
            if ln.startswith("Thread ") or ln.startswith("    ")]


def check_marks(res, label, t, rows):
    for k, n in t.expected["survivors"].items():
        res.equal(rows.get(k, (0, 0))[0], n, "%s: %d %s" % (label, n, k))


def gcore(h, pyheap, slot, exe, res, snapfile):
    if not shutil.which("gcore"):
        skip(res, "gcore: not installed (apt-get install gdb)")
        return
    with h.Target(exe, "census.py") as t:
        live = os.path.join(t.tmp, "live.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", live, str(t.pid))
        if not res.equal(p.returncode, 0, "live snap exits 0 (%s)"
                         % p.stderr.strip()):
            return
        info_live = h.run_pyheap(pyheap, "info", str(t.pid)).stdout
        base = os.path.join(t.tmp, "gcore")
        g = subprocess.run(["gcore", "-o", base, str(t.pid)],
                           capture_output=True, text=True, timeout=300)
        core = "%s.%d" % (base, t.pid)
        if not res.check(g.returncode == 0 and os.path.exists(core),
                         "gcore wrote a core", g.stderr[-500:]):
            return
        res.check(h.wait_for(t.running, 5), "the target runs on after "
                  "gcore")
        out = os.path.join(t.tmp, "core.snap")
        p = h.run_pyheap(pyheap, "snap", "--core", core, "-o", out)
        if not res.equal(p.returncode, 0, "gcore: snap --core exits 0 (%s)"
                         % p.stderr.strip()):
            return
        res.check("from core %s (process %d)" % (core, t.pid) in p.stdout,
                  "gcore: the summary names the core and the process",
                  p.stdout)
        s = compare(res, "gcore", census_of(snapfile, live),
                    census_of(snapfile, out))
        check_marks(res, "gcore", t, census_of(snapfile, out)[1])
        res.equal((s["meta"]["core"], s["meta"]["pid"]), (core, t.pid),
                  "gcore: META names the core and the PID")
        q = h.run_pyheap(pyheap, "info", "--core", core)
        res.equal(stacks(q.stdout), stacks(info_live),
                  "gcore: info --core gives the live stacks")
        q = h.run_pyheap(pyheap, "show", out)
        res.check(("from core %s" % core) in q.stdout,
                  "gcore: show says the snapshot is from a core", q.stdout)
        errors(h, pyheap, slot, res, t, core)


def errors(h, pyheap, slot, res, t, core):
    # Another program's executable for this core's.
    other = os.path.realpath(shutil.which("true") or "/bin/true")
    if os.path.exists(other):
        p = h.run_pyheap(pyheap, "snap", "--core", core, "--exe", other,
                         "-o", os.path.join(t.tmp, "x.snap"))
        res.check(p.returncode == 2 and p.stderr.count("\n") == 1 and
                  "is not the file the process mapped" in p.stderr and
                  "build-id" in p.stderr,
                  "another executable: refused in one line, exit 2",
                  "%d %s" % (p.returncode, p.stderr))
    # Cut short: half of the core.
    cut = os.path.join(t.tmp, "cut.core")
    with open(core, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(os.path.getsize(core) // 2))
    p = h.run_pyheap(pyheap, "snap", "--core", cut, "-o",
                     os.path.join(t.tmp, "cut.snap"))
    res.check(p.returncode in (0, 2) and "cut short" in p.stderr,
              "a core cut in half: said, no crash", "%d %s"
              % (p.returncode, p.stderr[-400:]))
    os.unlink(cut)
    if shutil.which("zstd"):
        z = core + ".zst"
        subprocess.run(["zstd", "-q", "-1", core, "-o", z], check=True)
        p = h.run_pyheap(pyheap, "snap", "--core", z, "-o",
                         os.path.join(t.tmp, "z.snap"))
        res.check(p.returncode == 2 and "zstd" in p.stderr and
                  "decompress" in p.stderr and p.stderr.count("\n") == 1,
                  "a zstd core: refused with the advice", p.stderr)
        os.unlink(z)
    else:
        print("# SKIP zstd core: no zstd (apt-get install zstd)")
    p = h.run_pyheap(pyheap, "snap", "--core", os.path.join(t.tmp, "none"))
    res.check(p.returncode == 2 and p.stderr.count("\n") == 1,
              "no core file: one line, exit 2", p.stderr)
    p = h.run_pyheap(pyheap, "snap", "--core", os.path.join(t.tmp,
                                                              "ready.json"))
    res.check(p.returncode == 2 and "not an ELF file" in p.stderr,
              "not a core: one line, exit 2", p.stderr)


SD_SOCKET = "/run/systemd/coredump"
SD_DIR = "/var/lib/systemd/coredump"
SD_HELPER = "/lib/systemd/systemd-coredump"


class Coredump:
    """Where the kernel's core of a process goes: a file in its working
    directory (core_pattern "core"), or systemd-coredump (core_pattern
    "|.../systemd-coredump ..."), which stores it zstd-compressed under
    /var/lib/systemd/coredump.  Without systemd as init (a CI container)
    nothing listens on its socket: systemd-socket-activate stands in for
    systemd-coredump.socket while the test runs."""

    def __init__(self):
        with open("/proc/sys/kernel/core_pattern") as f:
            self.pattern = f.read().strip()
        self.systemd = self.pattern.startswith("|") and \
            "systemd-coredump" in self.pattern
        self.listener = None
        self.why = None
        if not self.systemd and (self.pattern.startswith("|") or
                                 "/" in self.pattern):
            self.why = ("core_pattern is %r: neither a file name in the "
                        "working directory nor systemd-coredump"
                        % self.pattern)
        elif self.systemd and not shutil.which("zstd"):
            self.why = "systemd-coredump stores zstd cores: no zstd"
        elif self.systemd and not os.path.exists(SD_SOCKET):
            act = shutil.which("systemd-socket-activate")
            if not act:
                self.why = "no systemd-coredump socket, no " \
                           "systemd-socket-activate"
            else:
                os.makedirs(os.path.dirname(SD_SOCKET), exist_ok=True)
                self.listener = subprocess.Popen(
                    [act, "-l", SD_SOCKET, "--seqpacket", "--accept",
                     SD_HELPER], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                __import__("time").sleep(0.5)

    def label(self):
        return "systemd-coredump" if self.systemd else "kernel core"

    def fetch(self, h, pid, tmp):
        """The core of pid, uncompressed, in tmp; None if none came."""
        if not self.systemd:
            cores = [n for n in os.listdir(tmp) if n.startswith("core")]
            return os.path.join(tmp, cores[0]) if cores else None
        found = []

        def stored():
            found[:] = [n for n in os.listdir(SD_DIR)
                        if ".%d." % pid in n] if os.path.isdir(SD_DIR) \
                else []
            return bool(found)
        if not h.wait_for(stored, 60, 0.2):
            return None
        src = os.path.join(SD_DIR, found[0])
        out = os.path.join(tmp, "core")
        if src.endswith(".zst"):
            subprocess.run(["zstd", "-q", "-d", "-f", src, "-o", out],
                           check=True)
        else:
            shutil.copy(src, out)
        os.unlink(src)
        return out

    def close(self):
        if self.listener:
            self.listener.kill()
            self.listener.wait()
            try:
                os.unlink(SD_SOCKET)
            except OSError:
                pass


def kernel_core(h, pyheap, slot, exe, res, snapfile):
    """SIGABRT with RLIMIT_CORE raised: the kernel's own dump, or the one
    systemd-coredump stores."""
    cd = Coredump()
    try:
        if cd.why:
            skip(res, "kernel core: %s" % cd.why)
            return
        kernel_core_run(h, pyheap, slot, exe, res, snapfile, cd)
    finally:
        cd.close()


def kernel_core_run(h, pyheap, slot, exe, res, snapfile, cd):
    label = cd.label()
    tmp = __import__("tempfile").mkdtemp(prefix="pyheap-core-")
    ready = os.path.join(tmp, "ready.json")
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)

    def limits():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))
    proc = subprocess.Popen([exe, os.path.join(h.TARGETS, "census.py"),
                             ready], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=e,
                            cwd=tmp, preexec_fn=limits)
    try:
        if not h.wait_for(lambda: os.path.exists(ready) or
                          proc.poll() is not None, 60):
            res.check(False, "%s: the target became ready" % label)
            return
        with open(ready) as f:
            meta = json.load(f)[0]
        live = os.path.join(tmp, "live.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", live, str(proc.pid))
        if not res.equal(p.returncode, 0, "%s: live snap exits 0 (%s)"
                         % (label, p.stderr.strip())):
            return
        os.kill(proc.pid, signal.SIGABRT)
        proc.wait(timeout=120)
        core = cd.fetch(h, proc.pid, tmp)
        if not res.check(proc.returncode == -signal.SIGABRT and core,
                         "%s: SIGABRT left a core" % label,
                         "%s %s" % (proc.returncode, os.listdir(tmp))):
            return
        out = os.path.join(tmp, "core.snap")
        args = ["snap", "--core", core, "-o", out]
        if h.is_chroot(slot):
            # The chroot's process named its files as the chroot sees
            # them: read them from there.
            args += ["--sysroot", h.chroot_root(slot)]
        p = h.run_pyheap(pyheap, *args)
        if not res.equal(p.returncode, 0, "%s: snap --core exits 0 (%s)"
                         % (label, p.stderr.strip())):
            return
        compare(res, label, census_of(snapfile, live),
                census_of(snapfile, out))
        rows = census_of(snapfile, out)[1]
        for k, n in meta["survivors"].items():
            res.equal(rows.get(k, (0, 0))[0], n, "%s: %d %s"
                      % (label, n, k))
        if h.is_chroot(slot):
            p = h.run_pyheap(pyheap, "snap", "--core", core, "-o", out)
            res.check(p.returncode == 2 and p.stderr.count("\n") == 1,
                      "%s of a chroot without --sysroot: one line, exit 2"
                      % label, p.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def suite_core(h, pyheap, slot, exe, res):
    if slot == "3.6":
        print("# core needs CPython 2.7 or 3.7+")
        return
    sys.path.insert(0, h.HERE)
    import snapfile
    gcore(h, pyheap, slot, exe, res, snapfile)
    kernel_core(h, pyheap, slot, exe, res, snapfile)


def register(suites, h):
    suites["core"] = lambda pyheap, slot, exe, res: \
        suite_core(h, pyheap, slot, exe, res)
