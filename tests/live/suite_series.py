"""Live suite for unattended monitoring, registered with run.py.

series   The demo daemon (examples/leaky_worker.py) leaks a known number
         of requests a second and logs how many it has made; pyheap snap
         with the cron line of examples/crontab (--pidfile, --dir, --keep,
         --prom) takes 6 snapshots: --keep must leave exactly the newest,
         and pyheap trend must rank the type that grows fastest first with
         a rate within 20% of what the daemon really did (its log, times
         the size of each object the daemon reports), and within 20% of
         the count the snapshots hold.  The metrics pass `promtool check
         metrics` and reach Debian's prometheus-node-exporter (on
         127.0.0.1, a free port) through its textfile collector.  The
         daemon restarts: trend shows two segments and analyses the new
         one.  --name (one match, several, none), --all, --min-free, bad
         pidfiles and usage errors.  pyheap watch follows a restart and
         stops at once on SIGTERM at random moments, never leaving its
         target stopped or a temporary file behind.

PYHEAP_REQUIRE_PROM=1 (set by .ci/run) makes a missing promtool or
prometheus-node-exporter a failure instead of a skipped check.
"""
import csv
import glob
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

RATE = 500                      # requests leaked a second
SLEEP = 1.5                     # between the cron runs
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "examples", "leaky_worker.py")
LEAKED = ("function", "__main__.Request", "tuple", "cell", "int")
PROMTOOL = "/usr/bin/promtool"
EXPORTER = "/usr/bin/prometheus-node-exporter"


class Worker:
    """examples/leaky_worker.py with --rate, --log and --pidfile."""

    def __init__(self, exe, tmp, name, pidfile):
        self.log = os.path.join(tmp, name + ".log")
        self.pidfile = pidfile
        old = open(pidfile).read() if os.path.exists(pidfile) else None
        self.proc = subprocess.Popen(
            [exe, WORKER, "--rate", str(RATE), "--log", self.log,
             "--pidfile", pidfile], stdout=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        self.pid = self.proc.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            if (os.path.exists(pidfile) and open(pidfile).read() != old and
                    len(self.samples()) >= 2):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("leaky_worker exited")
            time.sleep(0.05)
        else:
            raise RuntimeError("leaky_worker did not start")

    def header(self):
        """The log's first line: {"rate": R, "sizes": {type: bytes}}."""
        with open(self.log) as f:
            first = f.readline().split()
        return {"rate": float(first[2]),
                "sizes": json.loads(" ".join(first[4:]))}

    def samples(self):
        """(unix time, requests made so far), one a second."""
        out = []
        if not os.path.exists(self.log):
            return out
        with open(self.log) as f:
            for line in f:
                if not line.startswith("#") and line.strip():
                    t, n = line.split()
                    out.append((float(t), int(n)))
        return out

    def rate_between(self, t0, t1):
        """Requests a second by least squares over the log in [t0, t1]."""
        pts = [(t, n) for t, n in self.samples() if t0 <= t <= t1]
        if len(pts) < 2:
            return None
        mt = sum(t for t, _ in pts) / len(pts)
        mn = sum(n for _, n in pts) / len(pts)
        sxx = sum((t - mt) ** 2 for t, _ in pts)
        return sum((t - mt) * (n - mn) for t, n in pts) / sxx

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def series(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".snap"))


def taken(name):
    """Unix time of a series file name."""
    import calendar
    stamp = name.split("-")[2][:15]
    return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S"))


def within(got, want, tol):
    return want and abs(got / want - 1) <= tol


def prom_tools(res):
    missing = [p for p in (PROMTOOL, EXPORTER) if not os.path.exists(p)]
    if missing and os.environ.get("PYHEAP_REQUIRE_PROM") == "1":
        res.check(False, "Prometheus tools installed", " ".join(missing) +
                  " missing (apt-get install prometheus "
                  "prometheus-node-exporter)")
    elif missing:
        print("# skipped: %s missing (apt-get install prometheus "
              "prometheus-node-exporter)" % " ".join(missing))
    return not missing


def check_promtool(res, path, what):
    p = subprocess.run([PROMTOOL, "check", "metrics"], stdin=open(path, "rb"),
                       capture_output=True, text=True, timeout=60)
    res.check(p.returncode == 0 and not p.stdout.strip() and
              not p.stderr.strip(), "promtool check metrics: %s" % what,
              "exit %d: %s %s" % (p.returncode, p.stdout, p.stderr))


def scrape_exporter(h, res, textdir):
    """Start node_exporter on 127.0.0.1 with the textfile collector only;
    the text of its /metrics."""
    port = free_port()
    ne = subprocess.Popen(
        [EXPORTER, "--web.listen-address=127.0.0.1:%d" % port,
         "--collector.disable-defaults", "--collector.textfile",
         "--collector.textfile.directory=" + textdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    body = None
    try:
        deadline = time.time() + 20
        while time.time() < deadline and ne.poll() is None:
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/metrics" % port,
                        timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.05)
    finally:
        ne.terminate()
        try:
            ne.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ne.kill()
            ne.wait()
        err = ne.stderr.read()
        ne.stderr.close()
    res.check(body is not None, "node_exporter answered on 127.0.0.1:%d"
              % port, err[-500:])
    return body or ""


def sample_value(body, name, **labels):
    for line in body.splitlines():
        if not line.startswith(name + "{"):
            continue
        ok = all('%s="%s"' % kv in line for kv in labels.items())
        if ok:
            return float(line.rsplit(" ", 1)[1])
    return None


def suite_series(h, pyheap, slot, exe, res):
    tmp = tempfile.mkdtemp(prefix="pyheap-series-")
    workers = []
    try:
        run_series(h, pyheap, exe, res, tmp, workers)
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_series(h, pyheap, exe, res, tmp, workers):
    snaps = os.path.join(tmp, "snaps")
    promdir = os.path.join(tmp, "textfile")
    os.mkdir(promdir)
    pidfile = os.path.join(tmp, "leaky_worker.pid")
    snap_prom = os.path.join(promdir, "pyheap-leaky_worker.prom")
    trend_prom = os.path.join(promdir, "pyheap-leaky_worker-trend.prom")
    # examples/crontab's line, with this test's paths.
    cron = ["snap", "-q", "--pidfile", pidfile, "--dir", snaps, "--keep", "5",
            "--prom", snap_prom]
    a = Worker(exe, tmp, "a", pidfile)
    workers.append(a)
    sizes = a.header()["sizes"]
    res.equal(a.header()["rate"], RATE, "the daemon runs at --rate")

    # Six cron runs: --keep 5 leaves the newest five.
    written = []
    for i in range(6):
        before = set(series(snaps)) if os.path.isdir(snaps) else set()
        t0 = time.time()
        p = h.run_pyheap(pyheap, *cron)
        if not res.check(p.returncode == 0 and not p.stderr,
                         "cron run %d exits 0, quietly" % (i + 1),
                         "exit %d: %s" % (p.returncode, p.stderr)):
            return
        new = sorted(set(series(snaps)) - before)
        res.equal(len(new), 1, "cron run %d wrote one snapshot" % (i + 1))
        written += new
        res.equal(series(snaps), sorted(written[-5:]),
                  "after run %d the directory holds the newest %d"
                  % (i + 1, min(i + 1, 5)))
        if i < 5:
            time.sleep(max(0.0, SLEEP - (time.time() - t0)))
    res.check(all(n.startswith("leaky_worker-%d-" % a.pid) for n in written),
              "files are named leaky_worker-PID-...", str(written))
    res.check(not os.path.exists(os.path.join(snaps, written[0])),
              "--keep 5 removed the oldest")
    res.equal(oct(os.stat(os.path.join(snaps, written[-1])).st_mode & 0o777),
              "0o600", "snapshots are private")

    # The trend: the fastest-growing leaked type first, at the true rate.
    p = h.run_pyheap(pyheap, "trend", "--format", "json", snaps)
    if not res.equal(p.returncode, 0, "trend exits 0 (%s)" % p.stderr.strip()):
        return
    tj = json.loads(p.stdout)
    res.equal(len(tj["segments"]), 1, "one process: one segment")
    res.equal(tj["program"], "leaky_worker", "program")
    seg = tj["segments"][0]
    res.equal([os.path.basename(s["file"]) for s in seg["snapshots"]],
              sorted(written[-5:]), "trend read the five snapshots in order")
    # The garbage totals snap counted, as trend's garbage series.
    import snapfile
    gb = []
    for s in seg["snapshots"]:
        st = snapfile.load(s["file"])["stats"]
        gb.append(sum(st.get("garbage.%s.bytes" % k, 0)
                      for k in ("collectable", "uncollectable")))
    res.equal(tj["garbage"] and (tj["garbage"]["bytes_first"],
                                 tj["garbage"]["bytes_last"]),
              (gb[0], gb[-1]), "trend's garbage series: the first and last "
              "snapshots' garbage totals (%s)" % gb)
    t_first = taken(written[-5])
    t_last = taken(written[-1]) + 1
    rate = a.rate_between(t_first - 1, t_last + 1)
    res.check(rate and within(rate, RATE, 0.05),
              "the daemon's log shows it leaks at --rate", repr(rate))
    top = max(LEAKED, key=lambda k: sizes[k])
    rows = {r["key"]: r for r in tj["rows"]}
    first = tj["rows"][0]
    res.equal(first["key"], top, "the fastest-growing type ranks first")
    res.check(first["suspect"], "and is a leak suspect")
    true_rate = rate * sizes[top] * 3600
    got = first["bytes_per_hour"]
    print("# %s: trend %.0f bytes/h, true %.0f bytes/h (%.0f requests/s "
          "logged x %d bytes), %+.1f%%" % (top, got, true_rate, rate,
                                           sizes[top],
                                           100 * (got / true_rate - 1)))
    res.check(within(got, true_rate, 0.2), "its rate is within 20% of the "
              "daemon's real leak", "%.0f vs %.0f" % (got, true_rate))
    res.check(within(got, RATE * sizes[top] * 3600, 0.2),
              "and of the rate the daemon was built with")
    for key in LEAKED:
        r = rows.get(key, {})
        res.check(r.get("suspect") and r.get("grew") == r.get("intervals")
                  == 4 and within(r.get("count_per_hour", 0),
                                  rate * 3600, 0.2) and
                  within(r.get("bytes_per_hour", 0),
                         rate * sizes[key] * 3600, 0.2),
                  "%s grew in every interval at the daemon's rate" % key,
                  str(r))
    # Counts in the snapshots themselves: count_last - count_first over the
    # snapshots' own times.
    snap_rate = ((first["count_last"] - first["count_first"]) /
                 (taken(written[-1]) - taken(written[-5]) or 1))
    res.check(within(first["count_per_hour"] / 3600, snap_rate, 0.35),
              "rate agrees with the snapshots' counts",
              "%.1f/s vs %.1f/s" % (first["count_per_hour"] / 3600,
                                     snap_rate))
    res.check(all(r["suspect"] or not r2["suspect"] for r, r2 in
                  zip(tj["rows"], tj["rows"][1:])), "suspects come first")

    p = h.run_pyheap(pyheap, "trend", snaps)
    res.check(p.returncode == 0 and "\u2581" in p.stdout and
              "\u2588" in p.stdout and "Leak suspects" in p.stdout,
              "text: a sparkline of the suspects", p.stdout[-800:])
    p = h.run_pyheap(pyheap, "trend", "--format", "csv", "--top", "3", snaps)
    crow = list(csv.DictReader(io.StringIO(p.stdout)))
    res.check(p.returncode == 0 and len(crow) == 3 and
              crow[0]["key"] == top and crow[0]["suspect"] == "1" and
              abs(float(crow[0]["bytes_per_hour"]) - got) < 1,
              "csv: the same first row", p.stdout[:300])
    p = h.run_pyheap(pyheap, "trend", "--since", "1h", "--format", "json",
                     snaps)
    res.check(p.returncode == 0 and
              json.loads(p.stdout)["rows"][0]["key"] == top,
              "--since 1h reads them all")
    p = h.run_pyheap(pyheap, "trend", "--since", "0.01s", snaps)
    res.equal(p.returncode, 2, "--since 0.01s: no snapshot that recent: exit 2")

    # Alerts: exit 1 past the rate, the report still printed.
    for args, status, what in (
            (["--fail-if-key-growth-rate", "%d/h" % (got / 2)], 1,
             "half the top rate"),
            (["--fail-if-key-growth-rate", "%d/h" % (got * 2)], 0,
             "twice the top rate"),
            (["--fail-if-growth-rate", "%dK/d" % (got * 24 / 2048)], 1,
             "total, per day"),
            (["--fail-if-growth-rate", "1T"], 0, "total 1T an hour")):
        p = h.run_pyheap(pyheap, "trend", "--format", "json", *(args + [snaps]))
        res.check(p.returncode == status and json.loads(p.stdout)["rows"],
                  "%s: exit %d, report printed" % (what, status),
                  "exit %d: %s" % (p.returncode, p.stderr))
        if status:
            res.check(p.stderr.startswith("pyheap: ") and
                      (top in p.stderr or "total" in p.stderr),
                      "%s: stderr says what crossed" % what, p.stderr)

    # Metrics.
    p = h.run_pyheap(pyheap, "trend", "-q" if False else "--prom", trend_prom,
                     "--prom-top", "5", snaps)
    res.equal(p.returncode, 0, "trend --prom exits 0")
    with open(snap_prom) as f:
        sp = f.read()
    res.check(('pyheap_bytes{program="leaky_worker",pid="%d",type="%s"}'
               % (a.pid, top)) in sp and "# TYPE pyheap_bytes gauge" in sp
              and 'type="[other]"' in sp, "snap --prom: bytes per type",
              sp[:500])
    ntypes = len([ln for ln in sp.splitlines()
                  if ln.startswith("pyheap_bytes{")])
    res.equal(ntypes, 21, "snap --prom: 20 types and [other]")
    res.check(all(('pyheap_garbage_bytes{program="leaky_worker",pid="%d",'
                   'kind="%s"}' % (a.pid, k)) in sp
                  for k in ("collectable", "uncollectable")),
              "snap --prom: garbage bytes of both kinds", sp[-600:])
    res.equal(oct(os.stat(snap_prom).st_mode & 0o777), "0o644",
              "metrics are readable by the exporter")
    res.check(not glob.glob(os.path.join(promdir, "*.tmp-*")),
              "no temporary metrics file left")
    if prom_tools(res):
        check_promtool(res, snap_prom, "snap --prom")
        check_promtool(res, trend_prom, "trend --prom")
        body = scrape_exporter(h, res, promdir)
        v = sample_value(body, "pyheap_bytes", program="leaky_worker",
                         pid=str(a.pid), type=top)
        res.check(v and v > 0, "node_exporter serves pyheap_bytes", repr(v))
        v = sample_value(body, "pyheap_growth_bytes_per_hour",
                         program="leaky_worker", type=top)
        res.check(v and within(v, got, 0.001),
                  "node_exporter serves pyheap_growth_bytes_per_hour",
                  repr(v))
        for name in ("pyheap_rss_bytes", "pyheap_pause_seconds",
                     "pyheap_last_snapshot_timestamp_seconds",
                     "pyheap_native_bytes", "pyheap_objects"):
            res.check(sample_value(body, name, program="leaky_worker")
                      is not None, "node_exporter serves %s" % name)
        res.check("node_textfile_scrape_error 0" in body,
                  "the textfile collector read both files cleanly")

    # A full disk: nothing written, one line.
    p = h.run_pyheap(pyheap, *(cron + ["--min-free", "100%"]))
    res.check(p.returncode == 2 and "--min-free" in p.stderr and
              p.stderr.count("\n") == 1 and series(snaps) ==
              sorted(written[-5:]), "--min-free 100%: exit 2, nothing "
              "written", p.stderr)

    # The daemon restarts: a second segment, analysed alone.
    a.stop()
    b = Worker(exe, tmp, "b", pidfile)
    workers.append(b)
    for i in range(2):
        if i:
            time.sleep(SLEEP)
        p = h.run_pyheap(pyheap, *cron)
        res.equal(p.returncode, 0, "cron after the restart exits 0 (%s)"
                  % p.stderr.strip())
    p = h.run_pyheap(pyheap, "trend", "--format", "json", snaps)
    res.equal(p.returncode, 0, "trend over the restart exits 0 (%s)"
              % p.stderr.strip())
    tj = json.loads(p.stdout)
    res.equal([(s["pid"], s["analysed"], len(s["snapshots"]))
               for s in tj["segments"]],
              [(a.pid, False, 3), (b.pid, True, 2)],
              "two segments: the old process's 3, the new one's 2")
    res.equal(tj["rows"][0]["key"], top, "the new process: same suspect")
    p = h.run_pyheap(pyheap, "trend", snaps)
    res.check("segment 2: process %d" % b.pid in p.stdout and
              "in 2 segments" in p.stdout, "text names both segments",
              p.stdout[:600])
    p = h.run_pyheap(pyheap, "trend", "--segments", "all", "--format",
                     "json", snaps)
    tj = json.loads(p.stdout)
    r0 = tj["rows"][0]
    res.check(r0["key"] == top and r0["intervals"] == 3 and
              within(r0["bytes_per_hour"], true_rate, 0.2),
              "--segments all: each process against itself, pooled",
              str(r0))

    # --name: one match, several, none; --all.
    tag = "*leaky_worker.py*--log %s/*" % tmp
    out = os.path.join(tmp, "one.snap")
    p = h.run_pyheap(pyheap, "snap", "-q", "--name", tag, "-o", out)
    res.check(p.returncode == 0 and os.path.exists(out),
              "--name GLOB on the command line: one match", p.stderr)
    c = Worker(exe, tmp, "c", os.path.join(tmp, "c.pid"))
    workers.append(c)
    p = h.run_pyheap(pyheap, "snap", "-q", "--name", tag, "-o", out)
    res.check(p.returncode == 2 and str(b.pid) in p.stderr and
              str(c.pid) in p.stderr and "--all" in p.stderr and
              p.stderr.count("\n") == 1,
              "two matches: exit 2, both listed in one line", p.stderr)
    alld = os.path.join(tmp, "all")
    p = h.run_pyheap(pyheap, "snap", "-q", "--name", tag, "--all", "--dir",
                     alld)
    res.check(p.returncode == 0 and sorted(int(n.split("-")[1])
                                           for n in series(alld)) ==
              sorted([b.pid, c.pid]), "--all: a snapshot of each",
              p.stderr + str(series(alld)))
    p = h.run_pyheap(pyheap, "snap", "-q", "--all", "--name",
                     "leaky_worker.py", "--dir", alld, "--program", "lw")
    res.check(p.returncode == 0 and
              any(n.startswith("lw-%d-" % c.pid) for n in series(alld)),
              "--name SCRIPT matches the script; --program names it",
              p.stderr)
    c.stop()
    bad_pidfile = os.path.join(tmp, "bad.pid")
    with open(bad_pidfile, "w") as f:
        f.write("not a pid\n")
    for args, status, what in (
            (["--name", "no-such-program-%d" % os.getpid(), "-o", out], 2,
             "--name without a match"),
            (["--pidfile", os.path.join(tmp, "none.pid"), "-o", out], 2,
             "missing pidfile"),
            (["--pidfile", bad_pidfile, "-o", out], 2, "pidfile without a PID"),
            (["--pidfile", c.pidfile, "-o", out], 2, "pidfile of a gone "
             "process"),
            (["--pidfile", pidfile, str(b.pid)], 64, "a PID and --pidfile"),
            (["--keep", "3", str(b.pid)], 64, "--keep without --dir"),
            (["--all", str(b.pid)], 64, "--all without --name"),
            (["--dir", alld, "-o", out, str(b.pid)], 64, "-o and --dir"),
            (["--dir", alld, "--min-free", "lots", str(b.pid)], 64,
             "bad --min-free")):
        p = h.run_pyheap(pyheap, "snap", *args)
        res.check(p.returncode == status and p.stdout == "" and
                  p.stderr.strip().splitlines()[-1].startswith("pyheap: "),
                  "%s: exit %d" % (what, status),
                  "exit %d: %s" % (p.returncode, p.stderr))
    for args, what in ((["--since", "10", snaps], "--since without a unit"),
                       (["--fail-if-growth-rate", "10M/w", snaps],
                        "rate per week"),
                       (["--segments", "some", snaps], "bad --segments"),
                       ([snaps, snaps], "two directories"),
                       ([], "nothing to read")):
        p = h.run_pyheap(pyheap, "trend", *args)
        res.equal(p.returncode, 64, "trend %s: exit 64" % what)
    p = h.run_pyheap(pyheap, "trend", alld)
    res.check(p.returncode == 2 and "--program" in p.stderr,
              "a directory of two programs: choose with --program",
              p.stderr)
    p = h.run_pyheap(pyheap, "trend", "--program", "lw", alld)
    res.equal(p.returncode, 0, "--program chooses one")

    run_watch(h, pyheap, exe, res, tmp, workers, pidfile, b)


def run_watch(h, pyheap, exe, res, tmp, workers, pidfile, b):
    """watch follows a restart, stops on SIGTERM at once, and never leaves
    its target stopped."""
    wd = os.path.join(tmp, "watch")
    err = open(os.path.join(tmp, "watch.err"), "w+")
    w = subprocess.Popen([pyheap, "watch", "--interval", "0.5s",
                          "--pidfile", pidfile, "--dir", wd, "--keep", "4"],
                         stdout=subprocess.DEVNULL, stderr=err)

    def files_of(pid):
        return [n for n in (series(wd) if os.path.isdir(wd) else [])
                if n.split("-")[1] == str(pid)]

    res.check(h.wait_for(lambda: len(files_of(b.pid)) >= 2, 20, 0.05),
              "watch takes snapshots every --interval")
    b.stop()
    d = Worker(exe, tmp, "d", pidfile)
    workers.append(d)
    res.check(h.wait_for(lambda: len(files_of(d.pid)) >= 2, 20, 0.05),
              "watch follows the restarted process (--pidfile)")
    res.check(len(series(wd)) <= 4, "watch --keep 4", str(series(wd)))
    t0 = time.time()
    w.send_signal(signal.SIGTERM)
    try:
        rc = w.wait(timeout=10)
    except subprocess.TimeoutExpired:
        w.kill()
        rc = w.wait()
    err.seek(0)
    text = err.read()
    res.check(rc == 0 and time.time() - t0 < 3, "SIGTERM: watch exits 0 "
              "promptly", "exit %s after %.1f s" % (rc, time.time() - t0))
    res.check("following process %d" % d.pid in text and
              "stopped by" in text, "watch says whom it follows and why "
              "it stopped", text)
    res.check(h.wait_for(lambda: all(s not in "tT" for s in
                                     h.thread_states(d.pid).values()), 5),
              "the target runs after watch")

    # SIGTERM or SIGINT at random moments, snapshots under way included.
    rnd = random.Random(7)
    for i in range(6):
        sig = (signal.SIGTERM, signal.SIGINT)[i % 2]
        w = subprocess.Popen([pyheap, "watch", "-q", "--interval", "0.1s",
                              "--pidfile", pidfile, "--dir", wd,
                              "--keep", "4"],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(rnd.uniform(0.05, 0.6))
        t0 = time.time()
        w.send_signal(sig)
        try:
            _, e = w.communicate(timeout=10)
            rc = w.returncode
        except subprocess.TimeoutExpired:
            w.kill()
            _, e = w.communicate()
            rc = None
        states = h.thread_states(d.pid)
        res.check(rc == 0 and time.time() - t0 < 3 and
                  all(s not in "tT" for s in states.values()),
                  "%s at a random moment (%d): exit 0 at once, target "
                  "running" % (signal.Signals(sig).name, i),
                  "exit %s, %.1f s, states %s, %s"
                  % (rc, time.time() - t0, states, e))
    res.check(not [n for n in os.listdir(wd) if ".tmp-" in n],
              "no temporary snapshot left", str(os.listdir(wd)))
    # A PID that exits ends watch, status 0.
    w = subprocess.Popen([pyheap, "watch", "--interval", "0.2s", "--dir", wd,
                          str(d.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    d.stop()
    try:
        _, e = w.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        w.kill()
        _, e = w.communicate()
    res.check(w.returncode == 0 and "has exited" in e,
              "watch PID: the process exits, watch ends with 0",
              "exit %s: %s" % (w.returncode, e))


def register(suites, h):
    suites["series"] = lambda pyheap, slot, exe, res: \
        suite_series(h, pyheap, slot, exe, res)
