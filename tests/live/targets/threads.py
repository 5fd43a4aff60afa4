# Live-test target: three worker threads, each blocked in a known function at
# a known line (the "MARK:" comments), and the main thread blocked reading
# stdin.  Once every worker is blocked, the target writes what CPython itself
# says about the stacks (sys._current_frames) to the file named in argv[1]
# and answers "ping" lines on stdin with "pong" so a test can prove it runs.
import json
import os
import select
import sys
import threading
import time
import traceback

# Python 2.7 as well: its thread module has get_ident, and
# traceback.extract_stack gives (file, line, name, text) tuples.
try:
    get_ident = threading.get_ident
except AttributeError:
    import thread
    get_ident = thread.get_ident

HERE = os.path.abspath(__file__)


def marks():
    found = {}
    with open(HERE) as f:
        for n, text in enumerate(f, 1):
            if "# MARK:" in text and "found[" not in text:
                found[text.split("# MARK:")[1].strip()] = n
    return found


def leaf_sleep():
    time.sleep(3600)  # MARK:sleep


def worker_sleep():
    leaf_sleep()


def worker_lock(lock):
    lock.acquire()  # MARK:lock


def worker_select(fd):
    select.select([fd], [], [])  # MARK:select


def frames_of(frame):
    # innermost first, as pyheap prints them
    return [[fs[2], fs[0], fs[1]]
            for fs in reversed(traceback.extract_stack(frame))]


def main_block(out_path, expected):
    here = frames_of(sys._getframe())
    here[0][2] = MARKS["main"]
    expected["threads"].append({
        "name": "main", "ident": get_ident(),
        "native_id": getattr(threading, "get_native_id", lambda: None)(),
        "frames": here})
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(expected, f)
    os.rename(tmp, out_path)
    while True:
        line = sys.stdin.readline()  # MARK:main
        if not line:
            return
        sys.stdout.write("pong\n")
        sys.stdout.flush()


def main():
    out_path = sys.argv[1]
    lock = threading.Lock()
    lock.acquire()
    r, w = os.pipe()
    workers = {
        "sleep": threading.Thread(target=worker_sleep, name="sleep"),
        "lock": threading.Thread(target=worker_lock, args=(lock,), name="lock"),
        "select": threading.Thread(target=worker_select, args=(r,), name="select"),
    }
    for t in workers.values():
        t.daemon = True
        t.start()
    # Wait until each worker's innermost frame is at its MARK line: then it
    # is inside the blocking C call and will not move again.
    deadline = time.time() + 30
    while True:
        frames = sys._current_frames()
        ready = all(t.ident in frames and frames[t.ident].f_lineno == MARKS[n]
                    for n, t in workers.items())
        if ready:
            break
        if time.time() > deadline:
            sys.exit("workers did not block")
        time.sleep(0.01)
    expected = {"pid": os.getpid(), "version": list(sys.version_info),
                "threads": []}
    for n, t in workers.items():
        expected["threads"].append({
            "name": n, "ident": t.ident,
            "native_id": getattr(t, "native_id", None),
            "frames": frames_of(frames[t.ident])})
    main_block(out_path, expected)


MARKS = marks()
main()
