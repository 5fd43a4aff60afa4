"""Live suite for prefork servers (issue 14), registered with run.py.

prefork  Debian's gunicorn (the gunicorn package, on Debian's python3.11)
         serves examples/gunicorn/leaky_app.py with 3 sync workers and
         --max-requests; a load generator requests /leak steadily, and each
         answer says which worker kept how many Sessions.  Rounds of
         `snap -q --pidfile master.pid --workers --dir D --keep 5 --prom F`
         (the README's cron line for prefork servers) write one snapshot
         per worker and none of the master; META parent_pid is the master.
         `--name gunicorn` lists the master as parent of its workers;
         `--name gunicorn --workers` picks the master's workers.  Then one
         worker is made to reach max_requests (two workers held busy by
         slow requests, the third flooded) and gunicorn replaces it; more
         rounds.  trend: three workers in parallel, no restart but the
         replaced worker's, whose series continues in a new segment;
         leaky_app.Session is a leak suspect of every worker; its summed
         growth is the sum of the workers'.  Exact: after the load stops,
         each worker's snapshot counts as many leaky_app.Session objects as
         that worker last said it keeps.  trend's metrics carry a bounded
         worker label (1..3) and pass promtool.

gunicorn is a Debian package (apt-get install gunicorn); without it the
suite is skipped, unless PYHEAP_REQUIRE_GUNICORN=1 (set by .ci/run) makes
that a failure.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

GUNICORN = "/usr/bin/gunicorn"
APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "examples", "gunicorn")
WORKERS = 3
MAX_REQUESTS = 1000
LEAKED = "leaky_app.Session"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.read().decode()
    finally:
        c.close()


def children(pid):
    """The live children of pid, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            out.append(int(d))
    return sorted(out)


class Load(threading.Thread):
    """Requests /leak at a steady pace; keeps, per worker PID, the last
    count of Sessions it answered."""

    def __init__(self, port, per_second, kept):
        super().__init__(daemon=True)
        self.port = port
        self.pause = 1.0 / per_second
        self.stop_flag = threading.Event()
        self.kept = kept
        self.sent = 0
        self.errors = []

    def run(self):
        while not self.stop_flag.is_set():
            try:
                pid, n = get(self.port, "/leak").split()
                self.kept[int(pid)] = int(n)
                self.sent += 1
            except Exception as e:  # kept for the report
                self.errors.append(repr(e))
            time.sleep(self.pause)

    def stop(self):
        self.stop_flag.set()
        self.join(30)


class Server:
    def __init__(self, tmp):
        self.port = free_port()
        self.pidfile = os.path.join(tmp, "master.pid")
        self.log = open(os.path.join(tmp, "gunicorn.log"), "w")
        self.proc = subprocess.Popen(
            [GUNICORN, "-w", str(WORKERS), "--max-requests",
             str(MAX_REQUESTS), "--pid", self.pidfile, "-b",
             "127.0.0.1:%d" % self.port, "--chdir", APP_DIR,
             "leaky_app:app"], stdout=self.log, stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        deadline = time.time() + 30
        while time.time() < deadline:
            if (os.path.exists(self.pidfile) and
                    len(children(self.proc.pid)) == WORKERS):
                try:
                    get(self.port, "/ok", timeout=2)
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def workers(self):
        return children(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def suite_prefork(h, pyheap, slot, exe, res):
    if not os.path.exists(GUNICORN):
        if os.environ.get("PYHEAP_REQUIRE_GUNICORN") == "1":
            res.check(False, "Debian's gunicorn installed",
                      "%s missing (apt-get install gunicorn)" % GUNICORN)
            return
        raise h.Skip("%s missing (apt-get install gunicorn)" % GUNICORN)
    tmp = tempfile.mkdtemp(prefix="pyheap-prefork-")
    server = load = None
    try:
        server = Server(tmp)
        load = Load(server.port, 40, {})
        run_prefork(h, pyheap, res, tmp, server, load)
    finally:
        if load:
            load.stop()
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def snap_pids(d):
    return sorted({int(n.split("-")[1]) for n in os.listdir(d)
                   if n.endswith(".snap")})


def run_prefork(h, pyheap, res, tmp, server, load):
    snaps = os.path.join(tmp, "snaps")
    prom = os.path.join(tmp, "gunicorn.prom")
    cron = ["snap", "-q", "--pidfile", server.pidfile, "--workers", "--dir",
            snaps, "--keep", "5", "--prom", prom]
    master = server.proc.pid
    first = server.workers()
    res.equal(len(first), WORKERS, "gunicorn runs %d workers" % WORKERS)

    # --name: the master and its identical workers, told apart.
    p = h.run_pyheap(pyheap, "snap", "-q", "--name", "gunicorn", "--dir",
                     os.path.join(tmp, "x"))
    res.check(p.returncode == 2 and "%d [parent of %s]" % (
        master, " ".join(map(str, first))) in p.stderr and
        all("%d (child of %d)" % (w, master) in p.stderr for w in first) and
        "--workers" in p.stderr, "--name lists the master as parent of its "
        "workers, and suggests --workers", p.stderr)
    named = os.path.join(tmp, "named")
    p = h.run_pyheap(pyheap, "snap", "-q", "--name", "gunicorn", "--workers",
                     "--dir", named)
    res.check(p.returncode == 0 and snap_pids(named) == first,
              "--name gunicorn --workers: one snapshot per worker",
              "%s %s" % (p.stderr, os.listdir(named)
                         if os.path.isdir(named) else "-"))
    p = h.run_pyheap(pyheap, "snap", "-q", "--pidfile", server.pidfile,
                     "--workers", "-o", os.path.join(tmp, "one.snap"))
    res.check(p.returncode == 64 and "--dir" in p.stderr,
              "--workers with -o: a usage error", p.stderr)

    load.start()
    time.sleep(1)

    def rounds(n, what):
        for i in range(n):
            t0 = time.time()
            p = h.run_pyheap(pyheap, *cron)
            if not res.check(p.returncode == 0 and not p.stderr,
                             "%s: round %d exits 0, quietly" % (what, i + 1),
                             "exit %d: %s" % (p.returncode, p.stderr)):
                return False
            time.sleep(max(0.0, 2.0 - (time.time() - t0)))
        return True

    if not rounds(4, "before the restart"):
        return
    res.equal(snap_pids(snaps), first, "the workers are snapshotted, not the "
              "master")
    res.equal(len(os.listdir(snaps)), 12, "4 rounds of 3 workers: --keep 5 "
              "keeps them all (5 per worker)")
    newest = sorted(os.path.join(snaps, n) for n in os.listdir(snaps))[-1]
    p = h.run_pyheap(pyheap, "info", "--format", "json", newest)
    meta = json.loads(p.stdout)["meta"] if p.returncode == 0 else {}
    started = meta.get("started_at") or ""
    res.check(meta.get("parent_pid") == master and
              started[:10] == time.strftime("%Y-%m-%d", time.gmtime()),
              "META: parent_pid is the master, started_at is set",
              repr({k: meta.get(k) for k in ("parent_pid", "started_at")}))

    # gunicorn's max_requests: hold two workers with slow requests, flood
    # the third until gunicorn replaces it.
    load.stop_flag.set()
    load.join(30)
    busy = [threading.Thread(target=get, args=(server.port, "/sleep?s=12"),
                             daemon=True) for _ in range(WORKERS - 1)]
    for b in busy:
        b.start()
        time.sleep(0.3)
    flooded = None
    deadline = time.time() + 10
    while time.time() < deadline and flooded is None:
        pid, n = get(server.port, "/leak").split()
        load.kept[int(pid)] = int(n)
        if int(pid) not in first:
            flooded = int(pid)  # the replacement answered
    for b in busy:
        b.join(20)
    now = server.workers()
    replaced = sorted(set(first) - set(now))
    res.check(len(replaced) == 1 and flooded in now and len(now) == WORKERS,
              "max_requests: gunicorn replaced one worker",
              "before %s, now %s, answered by %s" % (first, now, flooded))
    errors = load.errors
    load = Load(server.port, 40, load.kept)
    load.errors = errors
    load.start()
    time.sleep(1)
    if not rounds(3, "after the restart"):
        load.stop()
        return
    load.stop()
    res.check(not load.errors, "no failed request during the snapshots",
              "; ".join(load.errors[:3]))
    res.equal(len(os.listdir(snaps)), 15, "--keep 5 with 3 workers keeps "
              "the newest 15")

    # The trend: three parallel workers; only the replaced one restarted.
    p = h.run_pyheap(pyheap, "trend", "--format", "json", "--prom",
                     os.path.join(tmp, "trend.prom"), snaps)
    if not res.equal(p.returncode, 0, "trend exits 0 (%s)" % p.stderr.strip()):
        return
    tj = json.loads(p.stdout)
    ws = tj["workers"]
    res.equal(len(ws), WORKERS, "trend: %d workers in parallel" % WORKERS)
    pids = {w["worker"]: w["pids"] for w in ws}
    restarted = [w for w in ws if len(w["pids"]) > 1]
    res.check(len(restarted) == 1 and restarted[0]["pids"] ==
              [replaced[0] if replaced else None, flooded],
              "the replaced worker's series goes on in a new segment of its "
              "own", repr(pids))
    res.check(all(len(w["pids"]) == 1 and w["pids"][0] in first
                  for w in ws if w not in restarted),
              "the other workers: one process each, no restart", repr(pids))
    res.check(all(w["analysed"] and not w["gone"] for w in ws),
              "every worker analysed")
    rows = {r["key"]: r for r in tj["rows"]}
    row = rows.get(LEAKED)
    res.check(row is not None and row["suspect"] and
              len(row["workers"]) == WORKERS and
              all(w["suspect"] and w["bytes_per_hour"] > 0
                  for w in row["workers"]),
              "%s is a leak suspect of every worker" % LEAKED,
              json.dumps(row)[:600])
    if row:
        total = sum(w["bytes_per_hour"] for w in row["workers"])
        res.check(abs(row["bytes_per_hour"] - total) < 1e-3 * total,
                  "the summed growth is the sum of the workers'",
                  "%s vs %s" % (row["bytes_per_hour"], total))
    res.check(all(w["leaks"] for w in ws), "every worker is flagged as "
              "leaking", repr([(w["worker"], w["top"]) for w in ws]))
    p = h.run_pyheap(pyheap, "trend", snaps)
    res.check(p.returncode == 0 and "3 workers in parallel" in p.stdout and
              ", replaced %d" % (replaced[0] if replaced else 0) in p.stdout
              and "LEAKS" in p.stdout, "text: workers, the replacement "
              "named, the workers table", p.stdout[:1500])
    print("\n".join("# " + line for line in p.stdout.splitlines()[:12]))
    report_page(h, pyheap, res, tmp, snaps, tj, restarted)

    # Metrics: one series per worker number, never per PID.
    body = open(os.path.join(tmp, "trend.prom")).read()
    wl = sorted({line.split('worker="')[1].split('"')[0]
                 for line in body.splitlines()
                 if line.startswith("pyheap_worker_pid{")})
    res.equal(wl, ["1", "2", "3"], "trend metrics: worker labels 1..3")
    res.check(all(("%d" % pid) in body for pid in now),
              "pyheap_worker_pid gives the current PIDs", body[-600:])
    if os.path.exists("/usr/bin/promtool"):
        for f in (prom, os.path.join(tmp, "trend.prom")):
            q = subprocess.run(["/usr/bin/promtool", "check", "metrics"],
                               stdin=open(f, "rb"), capture_output=True,
                               text=True, timeout=60)
            res.check(q.returncode == 0 and not q.stdout.strip(),
                      "promtool check metrics: %s" % os.path.basename(f),
                      q.stdout + q.stderr)

    # Exact: with the load stopped, each worker holds as many Sessions as
    # it last said it keeps.
    exact = os.path.join(tmp, "exact")
    p = h.run_pyheap(pyheap, "snap", "-q", "--pidfile", server.pidfile,
                     "--workers", "--dir", exact)
    res.equal(p.returncode, 0, "snap after the load (%s)" % p.stderr.strip())
    for n in sorted(os.listdir(exact)):
        pid = int(n.split("-")[1])
        q = h.run_pyheap(pyheap, "show", "--format", "json", "--match",
                         LEAKED, os.path.join(exact, n))
        got = {r["key"]: r["count"] for r in json.loads(q.stdout)["rows"]} \
            if q.returncode == 0 else {}
        res.equal(got.get(LEAKED, 0), load.kept.get(pid, 0),
                  "worker %d: %s objects as many as it said it keeps"
                  % (pid, LEAKED))


def report_page(h, pyheap, res, tmp, snaps, tj, restarted):
    """pyheap report DIR of the three workers (live_report opens such pages
    in chromium; here the HTML is read as it is): a memory chart per
    worker, the restart marked in the replaced worker's alone, every
    worker's points, trend's first rows charted (the leak among them),
    trend's rows."""
    import re
    page = os.path.join(tmp, "series.html")
    p = h.run_pyheap(pyheap, "report", "-o", page, snaps)
    if not res.equal(p.returncode, 0, "report DIR exits 0 (%s)"
                     % p.stderr.strip()):
        return
    html = open(page).read()
    charts = re.findall(r'<svg class="chart" id="chart-(\d+)"(.*?)</svg>',
                        html, re.S)
    res.equal([int(c[0]) for c in charts], list(range(1, WORKERS + 1)),
              "report DIR: a memory chart per worker")
    segs = {w["worker"]: w for w in tj["workers"]}
    for num, body in charts:
        w = segs.get(int(num))
        n = sum(len(sg["snapshots"]) for sg in tj["segments"]
                if sg["worker"] == int(num))
        res.equal(len(re.findall(r'<circle class="pt"', body)), n,
                  "worker %s's chart has its %d snapshots" % (num, n))
        want = w["pids"][1:] if w else None
        res.equal([int(x) for x in
                   re.findall(r'<g class="restart" data-pid="(\d+)"', body)],
                  want, "worker %s's chart marks %s" % (num, "its restart"
                                                        if want else
                                                        "no restart"))
    keys = re.findall(r'<div class="key-chart" data-key="([^"]*)"', html)
    res.equal(keys, [r["key"] for r in tj["rows"]][:len(keys)],
              "report DIR: the first rows of trend charted over time")
    res.check(LEAKED in keys, "report DIR: %s among them" % LEAKED,
              repr(keys))
    body = re.search(r'id="trend-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    got = re.findall(r'<tr><td class="key">([^<]*)</td>',
                     body.group(1) if body else "")
    res.equal(got, [r["key"] for r in tj["rows"]][:200],
              "report DIR: trend's rows, in its order")


def register(suites, h):
    suites["prefork"] = lambda pyheap, slot, exe, res: \
        suite_prefork(h, pyheap, slot, exe, res)
