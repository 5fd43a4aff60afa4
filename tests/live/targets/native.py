# Live-test target for native (glibc malloc) memory.  Reports mallinfo2()
# -- glibc's own accounting -- and on request leaks malloc chunks through
# ctypes, so a test can compare pyheap's walk with both.
#
# argv[1]: the ready file; argv[2]: "basic" or "threads" (16 threads, each
# allocating from an arena of its own; start it with a high arena_max).
#
# stdin commands, one per line, each answered with one JSON line:
#   info          mallinfo2() now
#   leak N S      malloc(S) N times (N <= 8192) and drop the pointers; then
#                 mallinfo2().  The chunks' addresses go to the file
#                 "addrs" next to the ready file (8-byte native words), so a
#                 test can find each leaked chunk in a snapshot.
import ctypes
import json
import os
import sys
import threading


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                 "fsmblks", "uordblks", "fordblks", "keepcost")]


libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]


def mallinfo():
    m = libc.mallinfo2()
    return {n: getattr(m, n) for n, _ in MallInfo2._fields_}


def answer(obj):
    os.write(1, (json.dumps(obj) + "\n").encode())


def read_line():
    # One byte at a time: each read's result is a tiny bytes object from
    # pymalloc, so blocking here allocates nothing from glibc (a buffered
    # readline would malloc an 8 KiB read buffer before it blocks).
    line = b""
    while True:
        c = os.read(0, 1)
        if not c or c == b"\n":
            return line.decode()
        line += c


mode = sys.argv[2] if len(sys.argv) > 2 else "basic"
ready = sys.argv[1]
threads = []
if mode == "threads":
    # A semaphore, not threading.Barrier: 2.7 has none.
    allocated = threading.Semaphore(0)
    done = threading.Event()

    def worker(i):
        # The first malloc of a new thread takes an arena of its own
        # (malloc/arena.c arena_get2) while the arena limit allows.
        keep = [libc.malloc(64 + 16 * (n % 40)) for n in range(200)]
        allocated.release()
        done.wait()
        return keep

    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(16)]
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        allocated.acquire()

# Where "leak" keeps the addresses it drops: allocated now, before the
# baseline, and written out through a raw descriptor and a memoryview of
# the array itself (no copy: nothing from glibc).
MAX_LEAK = 8192
addrs = (ctypes.c_uint64 * MAX_LEAK)()
addrs_path = os.path.join(os.path.dirname(ready), "addrs")


def write_addrs(n):
    fd = os.open(addrs_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    if sys.version_info[0] == 2:
        # 2.7's memoryview has no cast; its buffer() views the array
        # without a copy just the same.
        os.write(fd, buffer(addrs, 0, 8 * n))  # noqa: F821
    else:
        os.write(fd, memoryview(addrs).cast("B")[:8 * n])
    os.close(fd)


# Warm up everything a command uses, so answering allocates nothing new
# from glibc.
write_addrs(0)
answer(mallinfo())
line = read_line()
# Nothing below may call glibc's malloc before the snapshot: the ready
# file goes out through raw descriptors, never a buffered file object.
tmp = ready + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.close(fd)
os.rename(tmp, tmp)


def ready_text(info):
    return json.dumps({"pid": os.getpid(), "mallinfo": info,
                       "threads": len(threads),
                       "version": list(sys.version_info)}).encode()


# Once before the count too: 3.8 and 3.9 keep about 600 bytes of malloc
# memory from the first encoding of this shape (measured: mallinfo2's
# fordblks 592-624 bytes lower after it).
ready_text(mallinfo())
info = mallinfo()
text = ready_text(info)
# 2.7 keeps a few hundred bytes of malloc memory from each of the first
# encodings (its int blocks and list item arrays are malloc's): encode
# until one leaves glibc's totals as they were measured.
for _ in range(50):
    if mallinfo() == info:
        break
    info = mallinfo()
    text = ready_text(info)
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, text)
os.close(fd)
os.rename(tmp, ready)
while True:
    line = read_line()
    if not line:
        break
    words = line.split()
    if words and words[0] == "leak":
        n, size = int(words[1]), int(words[2])
        for i in range(min(n, MAX_LEAK)):
            addrs[i] = libc.malloc(size)
        write_addrs(min(n, MAX_LEAK))
    answer(mallinfo())
