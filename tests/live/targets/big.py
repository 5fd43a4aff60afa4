# Live-test target with many objects, built fast: N ints (default one
# million, argv[2]) in one list, plus a thread that keeps a counter going.
# It answers on stdin/stdout, one line each:
#   ping       -> "pong N": N is the counter, which grows while the process
#                 runs, so an answer proves it is not stopped
#   exec       -> the process execs itself (same argv), ready again after
#   fork       -> "forked PID" (a child that exits at once)
# and writes its ready file (pid, n, version) last, by rename.
#
# argv[1]: the ready file.  argv[2]: N.  argv[3] (optional): "churn" makes
# the counter thread also start and join a short-lived thread each turn;
# "execloop" makes the process exec itself again within 50 ms, for ever.
import json
import os
import sys
import threading
import time

n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
mode = sys.argv[3] if len(sys.argv) > 3 else ""
churn = mode == "churn"
data = list(range(1000, 1000 + n))  # ints above the small-int cache
if mode == "execloop":
    import random
    time.sleep(random.random() * 0.05)
    os.execv(sys.executable, [sys.executable] + sys.argv)
counter = 0


def tick():
    global counter
    while True:
        counter += 1
        if churn:
            t = threading.Thread(target=len, args=((),))
            t.start()
            t.join()
        time.sleep(0.001)


threading.Thread(target=tick, daemon=True).start()
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "n": n,
               "version": list(sys.version_info)}, f)
os.rename(tmp, sys.argv[1])
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "ping":
        print("pong %d" % counter, flush=True)
    elif cmd == "exec":
        os.unlink(sys.argv[1])
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable] + sys.argv)
    elif cmd == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print("forked %d" % pid, flush=True)
