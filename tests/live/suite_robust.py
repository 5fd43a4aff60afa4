"""Live suites: pyheap never harms its target (issue 8), registered with
run.py.  Every check drives real processes; a target "runs" when none of
its threads is stopped or traced, and "answers" when its heartbeat
counter, read over a pipe, has grown.

signals        SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE while pyheap
               holds the target stopped and at random moments of a whole
               snap; kill -9 while stopped; --max-pause (default 2000):
               fail, and --on-max-pause continue
target_faults  the target exits, execs, forks or spawns threads during
               capture, is a zombie, or is already traced by strace, gdb or
               another pyheap: one line, no hang, no file
files          corrupt, truncated, empty, newer and directory snapshots;
               an output that is a directory, in a missing or read-only
               directory (reported before the target is stopped), or on a
               full disk (a tiny tmpfs): no file left under any name
interpreters   PYTHONMALLOC=malloc and debug, -X dev, Debian's debug build
               (python3.11-dbg, unpacked, not installed), an interpreter
               embedded in a C program, a target in its own PID and mount
               namespace: each counted exactly, or refused in one line
killloop       kill -9 of pyheap at random moments of capture against a
               one-million-object target, PYHEAP_KILL_LOOPS times (200)
memory         pyheap's peak RSS against the bytes it copied and the
               objects it found
"""
import glob
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

H = None  # run.py's module, set by register()
SNAPSHOT_MAGIC = b"PYHEAPSN"


# ---- helpers ----------------------------------------------------------------

def tracer_pids(pid):
    """TracerPid of every thread of pid."""
    out = []
    for st in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith("TracerPid:"):
                        out.append(int(line.split()[1]))
        except OSError:
            pass
    return out


def free_of_us(pid):
    """No thread stopped, none traced: nothing of a stop remains."""
    st = H.thread_states(pid)
    return bool(st) and all(s not in "tT" for s in st.values()) and \
        all(t == 0 for t in tracer_pids(pid))


def all_stopped(pid):
    st = H.thread_states(pid)
    return bool(st) and all(s == "t" for s in st.values())


class Big:
    """tests/live/targets/big.py: n ints, a heartbeat, exec and fork on
    request."""

    def __init__(self, exe, n=1000000, churn=False, env=None, argv0=None):
        self.tmp = tempfile.mkdtemp(prefix="pyheap-robust-")
        self.ready = os.path.join(self.tmp, "ready.json")
        e = dict(os.environ)
        e.pop("PYTHONPATH", None)
        e.update(env or {})
        args = [exe, os.path.join(H.TARGETS, "big.py"), self.ready, str(n)]
        if churn:
            args.append("churn")
        self.proc = subprocess.Popen((argv0 or []) + args,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     env=e)
        self.pid = self.proc.pid
        self.last = -1
        self.wait_ready()

    def wait_ready(self, timeout=60):
        if not H.wait_for(lambda: os.path.exists(self.ready) or
                          self.proc.poll() is not None, timeout):
            raise RuntimeError("big.py did not become ready")
        if self.proc.poll() is not None:
            raise RuntimeError("big.py exited with %s" % self.proc.returncode)
        with open(self.ready) as f:
            self.info = json.load(f)

    def command(self, line, timeout=10.0):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if r else None

    def alive(self, timeout=10.0):
        """It answers, and its counter moves on past the last answer
        (within timeout: the counting thread may wait for the GIL)."""
        deadline = time.time() + timeout
        while True:
            ans = self.command("ping", max(deadline - time.time(), 0.1))
            if not ans or not ans.startswith("pong "):
                self.why = "answered %r" % ans
                return False
            n = int(ans.split()[1])
            if n > self.last:
                self.last = n
                return True
            if time.time() > deadline:
                self.why = "counter stuck at %d" % n
                return False
            time.sleep(0.01)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start_pyheap(pyheap, args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([pyheap] + args, env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err
    return p.returncode, out, err


def leftovers(path):
    """Files that a snap to path may leave: path and path.tmp-*."""
    return sorted(glob.glob(path) + glob.glob(path + ".tmp-*"))


def snapshot_ok(path):
    import snapfile
    try:
        snapfile.load(path)
        return True
    except Exception:  # snapfile.FormatError, or anything it trips on
        return False


def one_line(res, err, what):
    res.equal(err.count("\n"), 1, "%s: one line on stderr (%r)" % (what, err))


def released(res, big, what):
    res.check(H.wait_for(lambda: free_of_us(big.pid), 5),
              "%s: target left running, no thread stopped or traced"
              % what, "states %s, tracers %s"
              % (H.thread_states(big.pid), tracer_pids(big.pid)))
    res.check(big.alive(), "%s: target answers its heartbeat" % what)


def hold(pyheap, big, out, sig_name, extra=(), hold_ms=20000):
    """snap with PYHEAP_DEBUG_HOLD_MS, once the target is stopped."""
    p = start_pyheap(pyheap, ["snap", "-q", "--max-pause", "60000"] +
                     list(extra) + ["-o", out, str(big.pid)],
                     env={"PYHEAP_DEBUG_HOLD_MS": str(hold_ms)})
    stopped = H.wait_for(lambda: all_stopped(big.pid), 30, 0.002)
    return p, stopped


# ---- signals (item 1) -----------------------------------------------------------

def suite_signals(h, pyheap, slot, exe, res):
    with Big(exe, 300000) as big:
        out = os.path.join(big.tmp, "s.snap")
        # While pyheap holds the target stopped.
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):
            sig = getattr(signal, name)
            p, stopped = hold(pyheap, big, out, name)
            res.check(stopped, "%s while stopped: target was stopped" % name)
            p.send_signal(sig)
            rc, _, err = finish(p, 20)
            res.equal(rc, -sig, "%s while stopped: pyheap dies of it" % name)
            res.check("target resumed" in err,
                      "%s while stopped: says the target was resumed" % name,
                      err.strip())
            released(res, big, "%s while stopped" % name)
            res.equal(leftovers(out), [], "%s while stopped: no file" % name)
        # SIGPIPE is ignored (a closed pipe shows as EPIPE instead): pyheap
        # finishes, and lets the target go first.
        p, stopped = hold(pyheap, big, out, "SIGPIPE", hold_ms=1500)
        p.send_signal(signal.SIGPIPE)
        res.check(all_stopped(big.pid), "SIGPIPE while stopped: ignored")
        rc, _, err = finish(p, 30)
        res.equal(rc, 0, "SIGPIPE while stopped: snap completes (%s)"
                  % err.strip())
        released(res, big, "SIGPIPE while stopped")
        res.check(snapshot_ok(out), "SIGPIPE: the snapshot is whole")
        os.unlink(out)
        # Its summary line into a closed pipe: a quiet success (EPIPE, as
        # in git), after the target was let go and the snapshot written.
        r, w = os.pipe()
        os.close(r)
        p = subprocess.run([pyheap, "snap", "-o", out, str(big.pid)],
                           stdout=w, stderr=subprocess.PIPE, text=True)
        os.close(w)
        res.equal(p.returncode, 0, "stdout a closed pipe: exit 0 (%s)"
                  % p.stderr.strip())
        res.equal(p.stderr, "", "stdout a closed pipe: nothing on stderr")
        res.check(snapshot_ok(out), "stdout a closed pipe: the snapshot "
                  "is whole")
        released(res, big, "stdout a closed pipe")
        for f in leftovers(out):
            os.unlink(f)

        # kill -9 while stopped: the kernel lets the target go.
        p, stopped = hold(pyheap, big, out, "SIGKILL")
        p.kill()
        finish(p)
        released(res, big, "SIGKILL while stopped")
        res.equal(leftovers(out), [], "SIGKILL while stopped: no file")

        # Every phase: signals at random moments of whole runs (opening,
        # stopping, copying, parsing, writing).
        t0 = time.time()
        p = subprocess.run([pyheap, "snap", "-q", "-o", out, str(big.pid)],
                           capture_output=True, text=True)
        whole = time.time() - t0
        res.equal(p.returncode, 0, "a whole snap exits 0")
        os.unlink(out)
        rnd = random.Random(8)
        bad = []
        outcomes = {"died": 0, "finished": 0}
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):
            for i in range(6):
                p = start_pyheap(pyheap, ["snap", "-q", "-o", out,
                                          str(big.pid)])
                time.sleep(rnd.uniform(0, whole))
                p.send_signal(getattr(signal, name))
                rc, _, err = finish(p, 60)
                left = leftovers(out)
                if rc == 0:
                    outcomes["finished"] += 1
                    if left != [out] or not snapshot_ok(out):
                        bad.append("%s: finished, files %s" % (name, left))
                elif rc == -getattr(signal, name):
                    outcomes["died"] += 1
                    if left and (left != [out] or not snapshot_ok(out)):
                        bad.append("%s: died, left %s" % (name, left))
                else:
                    bad.append("%s: exit %s: %s" % (name, rc, err.strip()))
                if not H.wait_for(lambda: free_of_us(big.pid), 5):
                    bad.append("%s: target left stopped" % name)
                elif not big.alive():
                    bad.append("%s: target does not answer" % name)
                for f in left:
                    os.unlink(f)
        print("# signals at random moments of a %.2f s snap: %s"
              % (whole, outcomes))
        res.check(not bad, "signals at random moments: target always runs; "
                  "no temporary file, the final name only when whole",
                  "; ".join(bad))

        # --max-pause: fail, the default.
        start = time.time()
        p = h.run_pyheap(pyheap, "snap", "--max-pause", "300", "-o", out,
                         str(big.pid), env={"PYHEAP_DEBUG_HOLD_MS": "10000"})
        took = time.time() - start
        res.equal(p.returncode, 2, "--max-pause 300 exceeded: exit 2")
        res.check("pause exceeded 300 ms; target resumed; giving up, "
                  "nothing written" in p.stderr,
                  "--max-pause exceeded: says it resumed and gave up",
                  p.stderr)
        one_line(res, p.stderr, "--max-pause exceeded")
        res.check(took < 5, "--max-pause 300 ends the pause early (%.2f s)"
                  % took)
        res.equal(leftovers(out), [], "--max-pause exceeded: no file")
        released(res, big, "--max-pause exceeded")
        # The default limit is 2000 ms.
        start = time.time()
        p = h.run_pyheap(pyheap, "snap", "-o", out, str(big.pid),
                         env={"PYHEAP_DEBUG_HOLD_MS": "10000"})
        took = time.time() - start
        res.check(p.returncode == 2 and "pause exceeded 2000 ms" in p.stderr
                  and 1.9 < took < 6, "default --max-pause is 2000 ms "
                  "(%.2f s)" % took, p.stderr)
        released(res, big, "default --max-pause exceeded")
        # --on-max-pause continue: copied while it runs, marked so.
        p = h.run_pyheap(pyheap, "snap", "--max-pause", "300",
                         "--on-max-pause", "continue", "-o", out,
                         str(big.pid), env={"PYHEAP_DEBUG_HOLD_MS": "10000"})
        res.equal(p.returncode, 0, "--on-max-pause continue: exit 0 (%s)"
                  % p.stderr.strip())
        res.check("pause exceeded 300 ms; target resumed; reading on "
                  "without stopping it" in p.stderr,
                  "--on-max-pause continue: says it reads on", p.stderr)
        res.check("--max-pause reached" in p.stdout,
                  "--on-max-pause continue: the summary says so", p.stdout)
        if p.returncode == 0:
            import snapfile
            s = snapfile.load(out)
            res.check(s["meta"]["flags"] & 1, "--on-max-pause continue: "
                      "snapshot marked inconsistent")
            res.check(300 <= s["meta"]["pause_ms"] < 1500,
                      "--on-max-pause continue: the pause recorded is the "
                      "real one (%.1f ms)" % s["meta"]["pause_ms"])
            ints = sum(1 for o in s["objects"]
                       if s["types"][o["type"]]["name"] == "int")
            res.check(ints >= big.info["n"], "--on-max-pause continue: "
                      "the census is complete (%d ints)" % ints)
        released(res, big, "--on-max-pause continue")
        p = h.run_pyheap(pyheap, "snap", "--on-max-pause", "maybe",
                         str(big.pid))
        res.equal(p.returncode, 64, "--on-max-pause maybe: usage error")
        p = h.run_pyheap(pyheap, "snap", "--help")
        res.check("(default 2000)" in p.stdout and "--on-max-pause" in
                  p.stdout, "snap --help documents the 2000 ms default")


# ---- faults on the target's side (item 2) ---------------------------------------

def suite_target_faults(h, pyheap, slot, exe, res):
    # It exits while pyheap holds it stopped.
    with Big(exe, 100000) as big:
        out = os.path.join(big.tmp, "x.snap")
        p, stopped = hold(pyheap, big, out, "exit", hold_ms=1500)
        res.check(stopped, "exit during capture: target was stopped")
        big.proc.kill()
        big.proc.wait()
        rc, _, err = finish(p, 30)
        res.equal(rc, 2, "exit during capture: exit 2")
        res.check("no such process" in err, "exit during capture: says the "
                  "process is gone", err)
        one_line(res, err, "exit during capture")
        res.equal(leftovers(out), [], "exit during capture: no file")

    # It exits at a random moment, over and over.
    bad = []
    tmp = tempfile.mkdtemp(prefix="pyheap-robust-")
    try:
        rnd = random.Random(2)
        statuses = {}
        for i in range(10):
            out = os.path.join(tmp, "e%d.snap" % i)
            t = subprocess.Popen([exe, "-c", "import time, random; "
                                  "x = list(range(200000)); "
                                  "time.sleep(random.random() * 0.3)"])
            time.sleep(rnd.uniform(0.05, 0.2))
            p = subprocess.run([pyheap, "snap", "-q", "-o", out, str(t.pid)],
                               capture_output=True, text=True, timeout=60)
            t.wait()
            statuses[p.returncode] = statuses.get(p.returncode, 0) + 1
            if p.returncode == 0:
                if not snapshot_ok(out):
                    bad.append("run %d: exit 0 but no whole snapshot" % i)
            elif p.stderr.count("\n") != 1 or leftovers(out):
                bad.append("run %d: exit %d, %r, files %s"
                           % (i, p.returncode, p.stderr, leftovers(out)))
        print("# target exiting at random moments: exit statuses %s"
              % statuses)
        res.check(not bad, "target exiting at random moments: a snapshot "
                  "or one line, never a partial file", "; ".join(bad))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # It execs itself, at random moments of the capture.
    with Big(exe, 100000) as big:
        out = os.path.join(big.tmp, "x.snap")
        bad, statuses = [], {}
        rnd = random.Random(3)
        for i in range(12):
            p = start_pyheap(pyheap, ["snap", "-q", "-o", out,
                                      str(big.pid)])
            time.sleep(rnd.uniform(0, 0.15))
            big.proc.stdin.write("exec\n")
            big.proc.stdin.flush()
            rc, _, err = finish(p, 60)
            statuses[rc] = statuses.get(rc, 0) + 1
            if rc is None:
                bad.append("run %d: hangs" % i)
            elif rc == 0:
                if not snapshot_ok(out):
                    bad.append("run %d: exit 0, no whole snapshot" % i)
            elif err.count("\n") != 1 or leftovers(out):
                bad.append("run %d: exit %d, %r" % (i, rc, err))
            for f in leftovers(out):
                os.unlink(f)
            try:
                big.wait_ready()
            except RuntimeError as e:
                bad.append("run %d: %s" % (i, e))
                break
            if not H.wait_for(lambda: free_of_us(big.pid), 5):
                bad.append("run %d: target left stopped" % i)
        print("# target execing during capture: exit statuses %s" % statuses)
        res.check(not bad, "target execing during capture: a snapshot or "
                  "one line, no hang, no partial file", "; ".join(bad))
        res.check(big.alive(), "after the execs the target answers")

    # It execs itself over and over, every 50 ms at most.
    tmp = tempfile.mkdtemp(prefix="pyheap-robust-")
    loop = subprocess.Popen([exe, os.path.join(H.TARGETS, "big.py"),
                             os.path.join(tmp, "ready"), "20000",
                             "execloop"])
    try:
        bad, statuses = [], {}
        time.sleep(0.3)
        for i in range(15):
            out = os.path.join(tmp, "l%d.snap" % i)
            p = subprocess.run([pyheap, "snap", "-q", "-o", out,
                                str(loop.pid)], capture_output=True,
                               text=True, timeout=60)
            key = p.stderr.strip()[:60] or "ok"
            statuses[key] = statuses.get(key, 0) + 1
            if p.returncode == 0:
                if not snapshot_ok(out):
                    bad.append("run %d: exit 0, no whole snapshot" % i)
            elif p.stderr.count("\n") != 1 or leftovers(out):
                bad.append("run %d: exit %d, %r" % (i, p.returncode,
                                                    p.stderr))
            if loop.poll() is not None:
                bad.append("run %d: the target died" % i)
                break
        print("# target execing in a loop: %s" % statuses)
        res.check(not bad, "target execing in a loop: a snapshot or one "
                  "line, no hang, no partial file", "; ".join(bad))
        res.check(loop.poll() is None, "the exec loop runs on")
    finally:
        loop.kill()
        loop.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    # It forks while being captured: children are not pyheap's business.
    with Big(exe, 100000) as big:
        out = os.path.join(big.tmp, "x.snap")
        bad = []
        for i in range(8):
            p = start_pyheap(pyheap, ["snap", "-q", "-o", out, str(big.pid)])
            ans = big.command("fork")
            rc, _, err = finish(p, 60)
            if rc != 0 or not snapshot_ok(out):
                bad.append("run %d: exit %s %r" % (i, rc, err))
            if not ans or not ans.startswith("forked"):
                bad.append("run %d: fork answered %r" % (i, ans))
        res.check(not bad, "target forking during capture: every snapshot "
                  "whole", "; ".join(bad))
        released(res, big, "forks during capture")

    # It starts and ends threads all the time.
    with Big(exe, 100000, churn=True) as big:
        out = os.path.join(big.tmp, "x.snap")
        bad = []
        for i in range(8):
            p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(big.pid),
                             timeout=60)
            if p.returncode != 0 or not snapshot_ok(out):
                bad.append("run %d: exit %s %r" % (i, p.returncode, p.stderr))
        res.check(not bad, "target spawning threads during capture: every "
                  "snapshot whole", "; ".join(bad))
        released(res, big, "thread churn")

    # A zombie: exited, not reaped by its parent.
    parent = subprocess.Popen(
        [exe, "-c", "import subprocess, sys, time; p = subprocess.Popen("
         "[sys.executable, '-c', 'pass']); print(p.pid, flush=True); "
         "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        zpid = int(parent.stdout.readline())
        H.wait_for(lambda: H.thread_states(zpid).get(zpid) == "Z", 10)
        for cmd in ("snap", "info"):
            p = h.run_pyheap(pyheap, cmd, str(zpid))
            res.check(p.returncode == 2 and "zombie" in p.stderr,
                      "%s of a zombie: exit 2, says it is a zombie" % cmd,
                      "exit %d: %s" % (p.returncode, p.stderr))
            one_line(res, p.stderr, "%s of a zombie" % cmd)
    finally:
        parent.kill()
        parent.wait()

    # Already traced: by strace, by gdb, by another pyheap.
    with Big(exe, 100000) as big:
        out = os.path.join(big.tmp, "x.snap")

        def refused(tracer, what):
            start = time.time()
            p = h.run_pyheap(pyheap, "snap", "-o", out, str(big.pid),
                             timeout=60)
            res.check(p.returncode == 2 and "already traced by process"
                      in p.stderr and tracer in p.stderr,
                      "traced by %s: exit 2, names the tracer" % what,
                      "exit %d: %s" % (p.returncode, p.stderr))
            one_line(res, p.stderr, "traced by %s" % what)
            res.check(time.time() - start < 10, "traced by %s: no hang"
                      % what)
            res.equal(leftovers(out), [], "traced by %s: no file" % what)

        if shutil.which("strace"):
            st = subprocess.Popen(["strace", "-f", "-o", os.devnull, "-p",
                                   str(big.pid)], stderr=subprocess.DEVNULL)
            H.wait_for(lambda: any(tracer_pids(big.pid)), 10)
            refused("strace", "strace")
            st.terminate()
            st.wait()
            released(res, big, "after strace")
        else:
            print("# no strace: skipping")
        if shutil.which("gdb"):
            g = subprocess.Popen(["gdb", "-p", str(big.pid), "-batch", "-nx",
                                  "-ex", "shell sleep 4"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            H.wait_for(lambda: any(tracer_pids(big.pid)), 20)
            refused("gdb", "gdb")
            g.wait(timeout=60)
            released(res, big, "after gdb detached")
        else:
            print("# no gdb: skipping")
        p1, stopped = hold(pyheap, big, out + ".first", "pyheap")
        refused("pyheap", "another pyheap")
        p1.terminate()
        finish(p1)
        released(res, big, "after the other pyheap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(big.pid))
        res.equal(p.returncode, 0, "untraced again: snap works")


# ---- files (item 5) --------------------------------------------------------------

def suite_files(h, pyheap, slot, exe, res):
    fixtures = os.path.join(os.path.dirname(H.HERE), "fixtures", "snap")
    tmp = tempfile.mkdtemp(prefix="pyheap-files-")
    try:
        empty = os.path.join(tmp, "empty.snap")
        open(empty, "w").close()
        adir = os.path.join(tmp, "dir.snap")
        os.mkdir(adir)
        cases = (
            (os.path.join(fixtures, "bitflip.snap"), "checksum"),
            (os.path.join(fixtures, "truncated.snap"), "truncated"),
            (empty, "empty"),
            (os.path.join(fixtures, "future-major.snap"),
             "newer than this pyheap"),
            (os.path.join(fixtures, "badmagic.snap"),
             "not a pyheap snapshot"),
            (adir, "directory"),
            (os.path.join(tmp, "missing.snap"), "No such file"),
        )
        good = os.path.join(fixtures, "small.snap")
        for path, why in cases:
            name = os.path.basename(path)
            for args in (["show", path], ["info", path],
                         ["info", "--verify", path], ["diff", good, path],
                         ["diff", path, good]):
                p = h.run_pyheap(pyheap, *args)
                res.check(p.returncode == 2 and path in p.stderr and
                          why in p.stderr and p.stdout == "",
                          "%s %s: exit 2, names the file, says '%s'"
                          % (" ".join(args[:-1]), name, why),
                          "exit %d: %r" % (p.returncode, p.stderr))
                one_line(res, p.stderr, "%s %s" % (args[0], name))

        with Big(exe, 200000) as big:
            def before_stop(out, why, what):
                # Were the target stopped, the hold would keep pyheap for
                # five seconds; it must fail at once, never stopping it.
                seen = []
                p = start_pyheap(pyheap, ["snap", "-o", out, str(big.pid)],
                                 env={"PYHEAP_DEBUG_HOLD_MS": "5000"})
                start = time.time()
                while p.poll() is None and time.time() - start < 10:
                    if any(s == "t" for s in
                           H.thread_states(big.pid).values()):
                        seen.append(1)
                    time.sleep(0.002)
                rc, _, err = finish(p)
                res.check(rc == 2 and why in err, "%s: exit 2, says '%s'"
                          % (what, why), "exit %s: %r" % (rc, err))
                one_line(res, err, what)
                res.check(not seen and time.time() - start < 3,
                          "%s: reported before the target is stopped" % what)
                released(res, big, what)

            before_stop(adir, "is a directory", "output is a directory")
            before_stop(os.path.join(tmp, "no", "such", "dir", "x.snap"),
                        "No such file or directory",
                        "output in a missing directory")
            ro = os.path.join(tmp, "ro")
            os.mkdir(ro)
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k",
                               "tmpfs", ro]).returncode == 0:
                try:
                    before_stop(os.path.join(ro, "x.snap"),
                                "Read-only file system",
                                "output on a read-only file system")
                finally:
                    subprocess.run(["umount", ro])
            else:
                print("# cannot mount a tmpfs: skipping read-only and full")
                return
            # A full disk: found while writing; nothing is left.
            full = os.path.join(tmp, "full")
            os.mkdir(full)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs",
                            full], check=True)
            try:
                out = os.path.join(full, "x.snap")
                p = h.run_pyheap(pyheap, "snap", "-o", out, str(big.pid))
                res.check(p.returncode == 2 and "No space left on device" in
                          p.stderr, "full disk: exit 2, says so",
                          "exit %d: %r" % (p.returncode, p.stderr))
                one_line(res, p.stderr, "full disk")
                res.equal(os.listdir(full), [], "full disk: nothing left, "
                          "not even the temporary file")
                released(res, big, "full disk")
            finally:
                subprocess.run(["umount", full])
            # An existing snapshot is replaced whole or not at all.
            out = os.path.join(tmp, "keep.snap")
            shutil.copy(good, out)
            p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(big.pid))
            res.check(p.returncode == 0 and snapshot_ok(out) and
                      os.path.getsize(out) != os.path.getsize(good),
                      "an existing snapshot is replaced by the new one")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- odd interpreters (item 4) ---------------------------------------------------

def census_exact(h, pyheap, res, label, argv, env=None, pid_of=None,
                 cwd=None, debug_hooks=False):
    """Run tests/live/targets/census.py with argv (its path and the ready
    file are appended), snapshot it and compare with what it reports:
    every survivor count exact, the GC-tracked counts per type exact.
    pid_of(popen) gives the PID to snapshot (for a wrapper such as
    unshare).  Returns the snapshot, or None if it was refused."""
    import snapfile
    tmp = tempfile.mkdtemp(prefix="pyheap-interp-")
    ready = os.path.join(tmp, "ready.json")
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)
    e.update(env or {})
    proc = subprocess.Popen(argv + [os.path.join(H.TARGETS, "census.py"),
                                    ready], env=e, cwd=cwd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pid = None
    try:
        if not H.wait_for(lambda: os.path.exists(ready) or
                          proc.poll() is not None, 120):
            res.check(False, "%s: target ready" % label)
            return None
        if not res.check(proc.poll() is None, "%s: target runs" % label,
                         "exit %s" % proc.returncode):
            return None
        with open(ready) as f:
            meta, counts, sizes = json.load(f)
        pid = pid_of(proc) if pid_of else proc.pid
        out = os.path.join(tmp, "c.snap")
        p = h.run_pyheap(pyheap, "snap", "-o", out, str(pid))
        if p.returncode != 0:
            res.check(p.returncode in (2, 3) and p.stderr.count("\n") == 1,
                      "%s: refused in one line" % label, p.stderr)
            print("# %s refused: %s" % (label, p.stderr.strip()))
            return None
        s = snapfile.load(out)
        names = [ty["name"] for ty in s["types"]]
        count, tracked = {}, {}
        for o in s["objects"]:
            k = names[o["type"]]
            count[k] = count.get(k, 0) + 1
            if o["flags"] & 1:
                tracked[k] = tracked.get(k, 0) + 1
        for k, n in meta["survivors"].items():
            res.equal(count.get(k), n, "%s: %s counted exactly" % (label, k))
        wrong = ["%s: %s vs %d" % (k, tracked.get(k), n)
                 for k, n in sorted(counts.items()) if tracked.get(k) != n]
        res.check(not wrong, "%s: GC-tracked objects per type equal "
                  "gc.get_objects()" % label, "; ".join(wrong))
        res.equal(s["stats"].get("census.debug_hooks"), int(debug_hooks),
                  "%s: allocator debug hooks %s" % (label, "found" if
                                                    debug_hooks else "none"))
        res.check(H.wait_for(lambda: free_of_us(pid), 5),
                  "%s: target left running" % label)
        return s
    finally:
        # The init of a PID namespace outlives the unshare that made it.
        for k in ([pid] if pid and pid != proc.pid else []) + \
                (children(proc.pid) if pid_of else []):
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def debian_dbg():
    """Debian's debug interpreter, python3.11d from package python3.11-dbg,
    unpacked under PYHEAP_PYDBG_ROOT (.ci/run does it) but not installed:
    installing it would also give /usr/bin/python3.11 debug symbols, and
    the "debian" slot must stay the stripped production case."""
    root = os.environ.get("PYHEAP_PYDBG_ROOT", "/opt/pyheap-ci/python3.11-dbg")
    exe = os.path.join(root, "usr", "bin", "python3.11d")
    if os.path.exists("/usr/bin/python3.11d"):
        return "/usr/bin/python3.11d"
    return exe if os.path.exists(exe) else None


def embedded_program(tmp):
    """A C program that embeds pyenv's libpython3.11 and runs a script
    (argv[1]) with argv[2:] as its sys.argv[1:]."""
    try:
        exe = H.find_interpreter("3.11")
    except H.Skip:
        return None
    config = exe + "-config"
    if not os.path.exists(config):
        return None
    src = os.path.join(tmp, "embed.c")
    with open(src, "w") as f:
        f.write(r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char **argv)
{
	PyConfig config;
	PyStatus st;
	FILE *f;

	if (argc < 2)
		return 2;
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0; /* sys.argv is argv[1:] as it is */
	st = PyConfig_SetBytesArgv(&config, argc - 1, argv + 1);
	if (PyStatus_Exception(st))
		return 2;
	st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st))
		return 2;
	f = fopen(argv[1], "r");
	if (!f)
		return 2;
	PyRun_SimpleFile(f, argv[1]);
	return Py_FinalizeEx() < 0 ? 1 : 0;
}
""")
    flags = subprocess.run([config, "--cflags", "--ldflags", "--embed"],
                           capture_output=True, text=True).stdout.split()
    libdir = [f[2:] for f in flags if f.startswith("-L")]
    out = os.path.join(tmp, "embedded-app")
    cmd = ["cc", "-o", out, src] + flags + \
        ["-Wl,-rpath," + d for d in libdir]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print("# cannot build the embedding program: %s" % p.stderr)
        return None
    return out


def children(pid):
    out = []
    for f in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(f) as fh:
                out += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return out


def child_of(proc):
    """The PID (in our namespace) of the one child of proc."""
    H.wait_for(lambda: children(proc.pid), 10)
    return children(proc.pid)[0]


def suite_interpreters(h, pyheap, slot, exe, res):
    debian = "/usr/bin/python3.11"
    if not os.path.exists(debian):
        raise H.Skip("no Debian /usr/bin/python3.11")
    census_exact(h, pyheap, res, "PYTHONMALLOC=malloc", [debian],
                 env={"PYTHONMALLOC": "malloc"})
    for name, env in (("PYTHONMALLOC=debug", {"PYTHONMALLOC": "debug"}),
                      ("PYTHONMALLOC=pymalloc_debug",
                       {"PYTHONMALLOC": "pymalloc_debug"}),
                      ("PYTHONMALLOC=malloc_debug",
                       {"PYTHONMALLOC": "malloc_debug"})):
        census_exact(h, pyheap, res, name, [debian], env=env,
                     debug_hooks=True)
    census_exact(h, pyheap, res, "python -X dev", [debian, "-X", "dev"],
                 debug_hooks=True)
    # The debug hooks' header is the same in every version pyheap reads.
    for minor in range(7, 14):
        try:
            py = H.find_interpreter("3.%d" % minor)
        except H.Skip as e:
            print("# %s" % e)
            continue
        census_exact(h, pyheap, res, "pyenv 3.%d -X dev" % minor,
                     [py, "-X", "dev"], debug_hooks=True)
    dbg = debian_dbg()
    if dbg:
        census_exact(h, pyheap, res, "Debian python3.11-dbg", [dbg],
                     debug_hooks=True)
    elif os.environ.get("PYHEAP_PYDBG_ROOT"):
        res.check(False, "Debian's python3.11-dbg unpacked under "
                  "PYHEAP_PYDBG_ROOT (.ci/run does it)")
    else:
        print("# no python3.11-dbg under /opt/pyheap-ci/python3.11-dbg "
              "(see .ci/run): skipping the debug build")
    tmp = tempfile.mkdtemp(prefix="pyheap-embed-")
    try:
        app = embedded_program(tmp)
        if app:
            s = census_exact(h, pyheap, res, "Python embedded in a C program",
                             [app])
            if s:
                res.check(s["meta"]["exe"].endswith("embedded-app"),
                          "embedded: the process is the C program")
        else:
            print("# no pyenv 3.11 with python3.11-config: skipping the "
                  "embedded interpreter")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if shutil.which("unshare"):
        s = census_exact(h, pyheap, res, "in its own PID and mount namespace",
                         ["unshare", "--fork", "--pid", "--mount-proc",
                          debian], pid_of=child_of)
        if s:
            res.check(s["meta"]["pid"] != 1, "namespace: the snapshot has "
                      "the PID as pyheap sees it")
    else:
        print("# no unshare: skipping the namespace")


# ---- kill -9 loop -------------------------------------------------------------------

def suite_killloop(h, pyheap, slot, exe, res):
    loops = int(os.environ.get("PYHEAP_KILL_LOOPS", "200"))
    with Big(exe, 1000000) as big:
        out = os.path.join(big.tmp, "k.snap")
        # Whole runs, watched: when is the target stopped, when is it
        # released, how long does the rest take (the first run reads the
        # files cold; the later ones are what the loop meets).
        runs = []
        for k in range(3):
            start = time.time()
            p = start_pyheap(pyheap, ["snap", "-q", "-o", out, str(big.pid)])
            first = last = None
            while p.poll() is None:
                if any(s == "t" for s in H.thread_states(big.pid).values()):
                    now = time.time() - start
                    first = first if first is not None else now
                    last = now
                time.sleep(0.0005)
            whole = time.time() - start
            rc, _, err = finish(p)
            if not res.equal(rc, 0, "a whole snap of one million objects "
                             "exits 0 (%s)" % err.strip()):
                return
            os.unlink(out)
            runs.append((whole, first, last))
            print("# whole snap %.3f s; target seen stopped from %s to %s s"
                  % (whole, first, last))
        whole = max(r[0] for r in runs[1:])
        release = max(r[2] if r[2] is not None else r[0] / 4
                      for r in runs[1:]) + 0.005
        pause = max((r[2] - r[1]) if r[1] is not None else 0.01
                    for r in runs[1:])
        # Kill at random moments: 7 in 10 up to a little past the release
        # (opening, seizing thread after thread, copying); 2 in 10 at a
        # random moment of the stop itself, once it is seen; 1 in 10
        # anywhere (parsing, writing).
        rnd = random.Random(int(os.environ.get("PYHEAP_KILL_SEED", "9")))
        bad = []
        during = finished = 0
        t0 = time.time()
        for i in range(loops):
            r = rnd.random()
            p = start_pyheap(pyheap, ["snap", "-q", "-o", out, str(big.pid)])
            if r < 0.7:
                at = rnd.uniform(0, release * 1.2)
                time.sleep(at)
            elif r < 0.9:
                H.wait_for(lambda: p.poll() is not None or any(
                    s == "t" for s in H.thread_states(big.pid).values()),
                    5, 0.0002)
                at = rnd.uniform(0, pause)
                time.sleep(at)
            else:
                at = rnd.uniform(0, whole)
                time.sleep(at)
            if any(s == "t" for s in H.thread_states(big.pid).values()):
                during += 1
            p.kill()
            rc, _, _ = finish(p)
            if rc == 0:
                finished += 1
            if not H.wait_for(lambda: free_of_us(big.pid), 5, 0.001):
                bad.append("kill %d at %.3f s: target left stopped (%s, "
                           "tracers %s)" % (i, at, H.thread_states(big.pid),
                                            tracer_pids(big.pid)))
                break
            if not big.alive(5):
                bad.append("kill %d at %.3f s: no heartbeat (%s)"
                           % (i, at, big.why))
                break
            for f in leftovers(out):
                if f == out and not snapshot_ok(out):
                    bad.append("kill %d: a partial file under the final "
                               "name" % i)
                os.unlink(f)
        took = time.time() - t0
        print("# %d kills in %.1f s: %d while the target was stopped, %d "
              "after pyheap had finished" % (loops, took, during, finished))
        res.check(not bad, "%d kill -9 of pyheap during capture: the target "
                  "always runs on and answers" % loops, "; ".join(bad))
        res.check(during >= loops // 8, "at least one kill in eight "
                  "landed while the target was stopped (%d of %d)"
                  % (during, loops))


# ---- memory bound (item 6) ----------------------------------------------------------

# pyheap's own memory, as pyheap(1) states it: the copy, plus at most this
# much per object found, plus a fixed part (the binary, libelf/libdw, the
# interpreter's symbols and DWARF, zlib).  Measured: about 180 bytes per
# object and 30-50 MiB.
BYTES_PER_OBJECT = 300
FIXED_BYTES = 64 << 20


def sanitized(pyheap):
    """Built with ASan: its shadow memory and quarantine are not pyheap's."""
    p = subprocess.run(["ldd", pyheap], capture_output=True, text=True)
    return "libasan" in p.stdout


def suite_memory(h, pyheap, slot, exe, res):
    import snapfile
    with Big(exe, 1000000) as big:
        if sanitized(pyheap):
            print("# pyheap is built with ASan: its memory is not measured")
            jobs_checks(pyheap, big, res)
            return
        out = os.path.join(big.tmp, "m.snap")
        p = subprocess.Popen([pyheap, "snap", "-q", "-o", out, str(big.pid)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode()
        p.stderr.close()
        if not res.equal(p.returncode, 0, "snap exits 0 (%s)" % err.strip()):
            return
        s = snapfile.load(out)
        image = s["meta"]["image_bytes"]
        nobj = len(s["objects"])
        peak = ru.ru_maxrss * 1024
        per = (peak - image - FIXED_BYTES) / max(nobj, 1)
        print("# peak RSS %.1f MiB for %d objects and %.1f MiB copied: "
              "%.0f bytes per object beyond copy + %d MiB"
              % (peak / 2**20, nobj, image / 2**20, per, FIXED_BYTES >> 20))
        res.check(peak <= image + nobj * BYTES_PER_OBJECT + FIXED_BYTES,
                  "peak RSS within copied bytes + %d bytes per object + "
                  "%d MiB" % (BYTES_PER_OBJECT, FIXED_BYTES >> 20),
                  "%.1f MiB" % (peak / 2**20))
        jobs_checks(pyheap, big, res)


def jobs_checks(pyheap, big, res):
    """snap --jobs: the memory copied by 1, 2 and 8 threads, each a run
    of it (runs of at least 8 MiB: the 1M ints copy about 45 MiB), gives
    the same objects; the list of n ints is whole in each."""
    import snapfile
    n = big.info["n"]
    for j in (1, 2, 8):
        out = os.path.join(big.tmp, "j%d.snap" % j)
        p = subprocess.run([pyheap, "snap", "-q", "-j", str(j), "-o", out,
                            str(big.pid)], capture_output=True, text=True)
        if not res.equal(p.returncode, 0, "snap -j %d exits 0 (%s)"
                         % (j, p.stderr.strip())):
            continue
        released(res, big, "snap -j %d" % j)
        s = snapfile.load(out)
        threads = s["stats"].get("capture.threads")
        most = min(j, s["meta"]["image_bytes"] // (8 << 20))
        if j == 1:
            res.equal(threads, 1, "snap -j 1: one thread copied")
        else:
            res.check(threads is not None and 2 <= threads <= most,
                      "snap -j %d: 2 to %d threads copied" % (j, most),
                      repr(threads))
        names = [ty["name"] for ty in s["types"]]
        objs = s["objects"]
        whole = [i for i, o in enumerate(objs)
                 if names[o["type"]] == "list" and len(s["edges"][i]) == n
                 and all(names[objs[d]["type"]] == "int"
                         for d in s["edges"][i])]
        res.equal(len(whole), 1, "snap -j %d: the list of %d ints, each "
                  "an int" % (j, n))
        os.unlink(out)


def register(suites, helpers):
    global H
    H = helpers
    for name, fn in (("signals", suite_signals),
                     ("target_faults", suite_target_faults),
                     ("files", suite_files),
                     ("interpreters", suite_interpreters),
                     ("killloop", suite_killloop),
                     ("memory", suite_memory)):
        suites[name] = (lambda fn: lambda pyheap, slot, exe, res:
                        fn(helpers, pyheap, slot, exe, res))(fn)
