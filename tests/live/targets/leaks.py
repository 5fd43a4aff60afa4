# Live-test target for pyheap's native leak classifier: loads
# tests/live/ext/leaklib.c (built by valgrind_truth.build_lib) with ctypes
# and calls leaklib_setup(n), which leaves malloc chunks in each of
# valgrind memcheck's leak kinds, one request size per case (see the head
# of leaklib.c; valgrind_truth.expected(n) gives the counts by chunk size).
# Two threads of leaklib's own (named "leaklib-stack" and "leaklib-reg",
# not Python threads) stay blocked in read() afterwards; a third
# ("leaklib-alloc", which makes the n-sized cases in an arena of its own)
# has exited by then.  Chunk sizes Python itself uses may already be in
# use before setup: compare with a snapshot taken at the ready file.
#
# argv[1]: the ready file (JSON, written by rename before anything is
#   loaded, so a test can take a baseline snapshot);
# argv[2]: the path of leaklib.so; argv[3]: n.
#
# stdin commands, one per line, each answered with one JSON line:
#   ping    {"pong": true}
#   setup   CDLL(argv[2]).leaklib_setup(n): {"setup": its return value (0,
#           or a negative errno), "threads": {thread name: tid} of
#           leaklib's threads}
#   info    {"threads": ...} only
#   held N  N ctypes char buffers of 4000 bytes (each a malloc chunk the
#           ctypes object points to), kept in a list: native memory a
#           live Python object holds: {"held": N}
#   garbage N  the same, each buffer in a cycle with a dict of its own
#           (buf.cycle = {"buf": buf}) that nothing else holds, with the
#           collector disabled: native memory only Python garbage holds:
#           {"garbage": N}
import ctypes
import gc
import json
import os
import sys

ready, lib_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lib = None


def answer(obj):
    os.write(1, (json.dumps(obj) + "\n").encode())


def read_line():
    # One byte at a time, as targets/native.py does: no 8 KiB read buffer
    # is malloc()ed while the target waits for a snapshot.
    line = b""
    while True:
        c = os.read(0, 1)
        if not c or c == b"\n":
            return line.decode()
        line += c


def leaklib_threads():
    """{name: tid} of the threads leaklib started (named by prctl)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/comm" % tid) as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("leaklib-"):
            out[name] = int(tid)
    return out


BUFFER = 4000
HELD = []


def buffers(k, garbage):
    for _ in range(k):
        b = ctypes.create_string_buffer(BUFFER)
        if garbage:
            b.cycle = {"buf": b}
        else:
            HELD.append(b)
    return k


def setup():
    global lib
    if lib is not None:
        return {"error": "setup twice"}
    lib = ctypes.CDLL(lib_path)
    # restype and argtypes int: the call returns a small int and Python
    # never holds an address from leaklib.
    lib.leaklib_setup.restype = ctypes.c_int
    lib.leaklib_setup.argtypes = [ctypes.c_int]
    rc = lib.leaklib_setup(n)
    return {"setup": rc, "threads": leaklib_threads()}


gc.disable()
# Warm up what a command uses before the baseline.
json.dumps({"setup": 0, "threads": leaklib_threads()})
tmp = ready + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "n": n, "lib": lib_path,
               "version": list(sys.version_info)}, f)
os.rename(tmp, ready)
while True:
    line = read_line()
    if not line:
        break
    word = line.split()[0] if line.split() else ""
    if word == "ping":
        answer({"pong": True})
    elif word == "setup":
        answer(setup())
    elif word in ("held", "garbage"):
        answer({word: buffers(int(line.split()[1]), word == "garbage")})
    elif word == "info":
        answer({"threads": leaklib_threads()})
    else:
        answer({"error": "unknown command %r" % line})
