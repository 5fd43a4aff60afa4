"""Live checks of the command line's edges (issue 14), run at the end of
run.py's `errors` suite (no interpreter: the golden snapshots and a
`sleep` process) and `diff` suite (a Python target):

errors  pyheap help [COMMAND] prints what --help prints (exit 0; an
        unknown command is a usage error, 64); output into a pipe whose
        reader is gone (closed before pyheap writes, or after reading one
        line while pyheap is blocked writing) is a quiet success: exit 0,
        nothing on stderr, as in git; write errors name the directory of a
        relative path (--dir, trend --prom)
diff    snap into a closed pipe: exit 0, silent, the snapshot whole and the
        target running; a snapshot that cannot be written names its full
        path (the default name in a read-only working directory, -o and
        --prom under a file); a target that exits right after its memory
        was copied: the snapshot is written and its note names the exit,
        not the libc file it could then no longer read
"""
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time

F_GETPIPE_SZ = 1032
GOLDEN = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "golden")
COMMANDS = ("snap", "show", "diff", "trend", "garbage", "leaks", "why",
            "retained", "report", "watch", "info")


def into_closed_pipe(pyheap, args, cwd=None, env=None):
    """Run pyheap with its stdout a pipe whose read end is already closed:
    its first write fails with EPIPE."""
    r, w = os.pipe()
    os.close(r)
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run([pyheap] + list(args), stdout=w,
                              stderr=subprocess.PIPE, text=True, cwd=cwd,
                              env=e, timeout=120)
    finally:
        os.close(w)


def reader_reads_one_line(pyheap, args, cwd=None):
    """`pyheap ARGS | head -1` with pyheap blocked writing when the reader
    goes: the pipe is filled first (a one-line "x" then filler), so
    pyheap's write waits; the reader takes one line and closes.  Returns
    (exit status, stderr, whether pyheap was seen blocked in the write)."""
    r, w = os.pipe()
    filler = b"x\n" + b"y" * fcntl.fcntl(w, F_GETPIPE_SZ)
    os.set_blocking(w, False)
    try:
        while filler:
            filler = filler[os.write(w, filler):]
    except BlockingIOError:
        pass  # full
    os.set_blocking(w, True)
    p = subprocess.Popen([pyheap] + list(args), stdout=w,
                         stderr=subprocess.PIPE, text=True, cwd=cwd)
    os.close(w)
    blocked = False
    deadline = time.time() + 10
    while time.time() < deadline and p.poll() is None and not blocked:
        try:
            with open("/proc/%d/wchan" % p.pid) as f:
                blocked = "pipe" in f.read()  # pipe_write, pipe_wait...
        except OSError:
            break
        time.sleep(0.005)
    line = b""
    while not line.endswith(b"\n"):
        line += os.read(r, 1)
    os.close(r)
    _, err = p.communicate(timeout=60)
    return p.returncode, err, blocked


def help_checks(pyheap, h, res):
    top = h.run_pyheap(pyheap, "--help")
    p = h.run_pyheap(pyheap, "help")
    res.check(p.returncode == 0 and p.stdout == top.stdout and
              p.stderr == "" and "help" in p.stdout,
              "pyheap help: the --help text, exit 0",
              "exit %d: %r" % (p.returncode, p.stderr))
    for cmd in COMMANDS:
        p = h.run_pyheap(pyheap, "help", cmd)
        want = h.run_pyheap(pyheap, cmd, "--help").stdout
        res.check(p.returncode == 0 and p.stdout == want and
                  p.stdout.startswith("usage: pyheap %s " % cmd),
                  "pyheap help %s: its --help, exit 0" % cmd,
                  "exit %d: %r" % (p.returncode, p.stderr))
    for args in (["help", "frobnicate"], ["help", "show", "diff"]):
        p = h.run_pyheap(pyheap, *args)
        res.check(p.returncode == 64 and p.stdout == "" and
                  p.stderr.startswith("pyheap: "),
                  "pyheap %s: usage error 64, nothing on stdout"
                  % " ".join(args), "exit %d: %r" % (p.returncode, p.stderr))


def epipe_checks(pyheap, res):
    for args in (["show", "a.snap"], ["show", "--format", "json", "n.snap"],
                 ["show", "--format", "csv", "b.snap"],
                 ["diff", "n.snap", "o.snap"],
                 ["diff", "--format", "json", "a.snap", "b.snap"],
                 ["info", "n.snap"], ["info", "--format", "json", "h.snap"],
                 ["trend", "series"], ["help"], ["help", "show"],
                 ["show", "--help"]):
        p = into_closed_pipe(pyheap, args, cwd=GOLDEN)
        res.check(p.returncode == 0 and p.stderr == "",
                  "%s into a closed pipe: exit 0, nothing on stderr"
                  % " ".join(args), "exit %d: %r" % (p.returncode, p.stderr))
    # A threshold crossed still says so, whoever reads stdout.
    p = into_closed_pipe(pyheap, ["diff", "--fail-if-growth", "1M",
                                  "a.snap", "b.snap"], cwd=GOLDEN)
    res.check(p.returncode == 1 and "--fail-if-growth" in p.stderr,
              "diff into a closed pipe, growth past the limit: exit 1, "
              "the reason on stderr", "exit %d: %r"
              % (p.returncode, p.stderr))
    rc, err, blocked = reader_reads_one_line(
        pyheap, ["diff", "--by", "site,type", "--depth", "3", "--top", "0",
                 "d.snap", "e.snap"], cwd=GOLDEN)
    print("# pyheap %s blocked in its write when the reader went"
          % ("was" if blocked else "was not seen"))
    res.check(rc == 0 and err == "", "a reader that reads one line and "
              "goes (| head -1): exit 0, nothing on stderr",
              "exit %d: %r" % (rc, err))


def path_checks(pyheap, h, res):
    """Relative paths that cannot be written: the message has the working
    directory in it.  (A file where a directory should be: ENOTDIR, the
    same for root.)"""
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="pyheap-cli-"))
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        open(os.path.join(tmp, "afile"), "w").close()
        p = subprocess.run([pyheap, "snap", "--dir", "afile/sub",
                            str(sleeper.pid)], capture_output=True,
                           text=True, cwd=tmp, timeout=60)
        want = "cannot create --dir %s/afile/sub: Not a directory" % tmp
        res.check(p.returncode == 2 and want in p.stderr,
                  "snap --dir under a file: exit 2, names the full path",
                  "exit %d: %r" % (p.returncode, p.stderr))
        p = subprocess.run([pyheap, "trend", "--prom", "afile/t.prom",
                            os.path.join(GOLDEN, "series")],
                            capture_output=True, text=True, cwd=tmp,
                            timeout=60)
        want = "cannot write %s/afile/t.prom: Not a directory" % tmp
        res.check(p.returncode == 2 and want in p.stderr,
                  "trend --prom under a file: exit 2, names the full path",
                  "exit %d: %r" % (p.returncode, p.stderr))
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def cli_errors(h, pyheap, slot, exe, res):
    help_checks(pyheap, h, res)
    epipe_checks(pyheap, res)
    path_checks(pyheap, h, res)


# ---- with a Python target ---------------------------------------------------

def snap_write_errors(pyheap, t, res):
    tmp = os.path.realpath(t.tmp)
    open(os.path.join(tmp, "afile"), "w").close()
    for args, what, want in (
            (["-o", "afile/x.snap"], "-o under a file",
             "cannot write %s/afile/x.snap: Not a directory" % tmp),
            (["-o", "ok.snap", "--prom", "afile/m.prom"],
             "--prom under a file",
             "cannot write %s/afile/m.prom: Not a directory" % tmp)):
        p = subprocess.run([pyheap, "snap"] + args + [str(t.pid)],
                           capture_output=True, text=True, cwd=tmp,
                           timeout=120)
        res.check(p.returncode == 2 and want in p.stderr and
                  p.stderr.count("\n") == 1,
                  "snap %s: exit 2, one line naming the full path" % what,
                  "exit %d: %r" % (p.returncode, p.stderr))
    # The case: the default name, in a working directory that
    # cannot be written (a read-only tmpfs; root writes anywhere else).
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                       ro], stderr=subprocess.DEVNULL).returncode:
        print("# cannot mount a tmpfs: skipping the read-only directory")
        os.rmdir(ro)
        return
    try:
        p = subprocess.run([pyheap, "snap", str(t.pid)], capture_output=True,
                           text=True, cwd=ro, timeout=120)
        want = "cannot write %s/pyheap-%d-" % (ro, t.pid)
        res.check(p.returncode == 2 and want in p.stderr and
                  "Read-only file system" in p.stderr,
                  "snap in a read-only directory: names the directory",
                  "exit %d: %r" % (p.returncode, p.stderr))
    finally:
        subprocess.run(["umount", ro])
        os.rmdir(ro)


def snap_epipe(pyheap, h, t, res):
    out = os.path.join(t.tmp, "pipe.snap")
    p = into_closed_pipe(pyheap, ["snap", "-o", out, str(t.pid)])
    res.check(p.returncode == 0 and p.stderr == "",
              "snap with its stdout a closed pipe: exit 0, nothing on "
              "stderr", "exit %d: %r" % (p.returncode, p.stderr))
    q = h.run_pyheap(pyheap, "info", out)
    res.check(q.returncode == 0, "snap into a closed pipe: the snapshot is "
              "whole", q.stderr)
    res.check(h.wait_for(lambda: all(s not in "tT" for s in
                                     h.thread_states(t.pid).values()), 5)
              and t.ping(), "snap into a closed pipe: target running")


def exit_after_copy(pyheap, h, exe, res):
    """SIGTERM while pyheap holds the target stopped stays pending until
    pyheap lets it go: the target dies right after the copy, and stays a
    zombie (nobody waits for it yet) while pyheap parses."""
    with h.Target(exe, "grow.py") as t:
        out = os.path.join(t.tmp, "exit.snap")
        env = dict(os.environ, PYHEAP_DEBUG_HOLD_MS="500")
        p = subprocess.Popen([pyheap, "snap", "--max-pause", "60000", "-o",
                              out, str(t.pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)

        def stopped():
            st = h.thread_states(t.pid)
            return bool(st) and all(s in "tT" for s in st.values())
        if not res.check(h.wait_for(stopped, 30, 0.002),
                         "exit after the copy: target was stopped"):
            p.kill()
            p.communicate()
            return
        os.kill(t.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        res.check(h.wait_for(lambda: t.proc.poll() is not None, 10),
                  "exit after the copy: the target exited")
        res.equal(p.returncode, 0, "exit after the copy: snap exits 0 (%s)"
                  % err.strip())
        q = h.run_pyheap(pyheap, "show", out)
        res.check(q.returncode == 0, "exit after the copy: the snapshot is "
                  "whole", q.stderr)
        if "note:" not in err:
            print("# exit after the copy: no note (the malloc walk was done "
                  "before the target went)")
            return
        cause = "process %d exited during the snapshot" % t.pid
        res.check(cause in err and err.count("\n") == 1,
                  "exit after the copy: the note names the exit", err)
        res.check(cause in q.stdout, "exit after the copy: show's note "
                  "names the exit", q.stdout)


def cli_diff(h, pyheap, slot, exe, res):
    if slot.split("-")[0] in ("2.7", "3.6"):
        return
    with h.Target(exe, "grow.py") as t:
        snap_write_errors(pyheap, t, res)
        snap_epipe(pyheap, h, t, res)
        res.check(t.ping(), "target answers after the write errors")
    exit_after_copy(pyheap, h, exe, res)


def register(suites, h):
    """Run after run.py's own errors and diff suites."""
    for name, more in (("errors", cli_errors), ("diff", cli_diff)):
        def chained(pyheap, slot, exe, res, first=suites[name], more=more):
            first(pyheap, slot, exe, res)
            more(h, pyheap, slot, exe, res)
        suites[name] = chained
