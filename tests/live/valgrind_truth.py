"""valgrind memcheck's verdict on tests/live/ext/leaklib.c, the ground truth
for pyheap's native leak classifier.

leaklib.so leaves malloc chunks in each of memcheck's leak kinds, one request
size per case (the SZ_ lines of leaklib.c); leakdrive (ext/leakdrive.c)
dlopen()s it, calls leaklib_setup(n) and asks memcheck for a full leak
check (VALGRIND_DO_LEAK_CHECK) while leaklib's threads are still blocked --
the check at exit would come after they are gone, and with them the
register and the stack that hold two of the chunks.

truth(tmp, n) builds both in tmp, runs

    valgrind --leak-check=full --show-leak-kinds=all leakdrive leaklib.so n

and returns, for the loss records of that check whose allocating frame (the
one right below malloc/calloc) is in leaklib.c:

    {"definitely_lost": {chunk_size: blocks}, "indirectly_lost": {...},
     "possibly_lost": {...}, "reachable": {...}}

chunk_size is glibc's (request + 8 rounded up to 16, at least 32), as pyheap
sees the chunk; valgrind reports request sizes and its own allocator has no
chunks.  Blocks allocated for leaklib by ld.so and libc (its dynamic TLS
block, the threads' DTVs) are not counted: their allocating frame is in
ld.so.  expected(n) is what the fixture is built to give; run as a script
(python3 tests/live/valgrind_truth.py N) this prints the parsed records,
valgrind's LEAK SUMMARY of the check, the result and whether it matches.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LIB_SRC = os.path.join(HERE, "ext", "leaklib.c")
DRIVE_SRC = os.path.join(HERE, "ext", "leakdrive.c")
MEMCHECK_H = "/usr/include/valgrind/memcheck.h"

KINDS = {"definitely lost": "definitely_lost",
         "indirectly lost": "indirectly_lost",
         "possibly lost": "possibly_lost",
         "still reachable": "reachable"}

# "46,040 (15,000 direct, 31,040 indirect) bytes in 5 blocks are definitely
# lost in loss record 17 of 17": a record with indirect bytes names its own
# (direct) bytes in parentheses; only those belong to its blocks.
RECORD = re.compile(r"^([\d,]+) (?:\(([\d,]+) direct, ([\d,]+) indirect\) )?"
                    r"bytes in ([\d,]+) blocks are (%s) in loss record "
                    r"[\d,]+ of [\d,]+$" % "|".join(KINDS))
FRAME = re.compile(r"^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*)$")
# Markers leakdrive prints with VALGRIND_PRINTF around its leak check.
BEGIN = "leakdrive: leak check begins"
END = "leakdrive: leak check ends"


def chunk_size(n):
    """glibc's request2size: user size + 8, rounded up to 16, >= 32."""
    return max(32, (n + 8 + 15) & ~15)


def sizes():
    """leaklib.c's request sizes, {"LEADER": 3000, ...}: read from the
    source so that the two cannot disagree."""
    with open(LIB_SRC) as f:
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(r"^#define SZ_(\w+) (\d+)$", f.read(), re.M)}


def expected(n):
    """What leaklib_setup(n) is built to leave, by kind and chunk size."""
    s = {k: chunk_size(v) for k, v in sizes().items()}
    want = {"definitely_lost": {s["LEADER"]: n},
            "indirectly_lost": {s["CHILD"]: 2 * n},
            "possibly_lost": {s["POSSIBLE"]: n},
            "reachable": {s["BSS"]: n, s["TLS"]: 1, s["STACK"]: 1,
                          s["REG"]: 1}}
    # n = 0 leaves no block of the first four sizes.
    return {k: {c: b for c, b in v.items() if b} for k, v in want.items()}


def _cc(args, what):
    if not shutil.which("cc"):
        print("# valgrind_truth: no C compiler (cc)")
        return False
    p = subprocess.run(["cc"] + args, capture_output=True, text=True,
                       timeout=120)
    if p.returncode:
        print("# valgrind_truth: %s build failed: %s" % (what,
                                                         p.stderr[-500:]))
        return False
    return True


def build_lib(tmpdir):
    """leaklib.so built in tmpdir (its path), or None with the reason
    printed.  -g: valgrind names leaklib.c's frames from it."""
    out = os.path.join(tmpdir, "leaklib.so")
    if not _cc(["-O2", "-g", "-shared", "-fPIC", "-pthread", LIB_SRC,
                "-o", out], "leaklib.so"):
        return None
    return out


def build_drive(tmpdir):
    """leakdrive built in tmpdir (its path), or None with the reason
    printed.  It needs memcheck.h, which Debian's valgrind package ships."""
    if not os.path.exists(MEMCHECK_H):
        print("# valgrind_truth: no %s (the valgrind package's client "
              "request header)" % MEMCHECK_H)
        return None
    out = os.path.join(tmpdir, "leakdrive")
    if not _cc(["-O2", "-g", DRIVE_SRC, "-o", out, "-ldl"], "leakdrive"):
        return None
    return out


def parse(log):
    """The loss records and LEAK SUMMARY of the check between leakdrive's
    markers: (records, summary lines).  Each record is a dict with kind,
    blocks, bytes (its own, without indirect) and frames (the allocation
    stack, innermost first)."""
    lines = []
    inside = False
    for line in log.splitlines():
        if BEGIN in line:
            inside = True
        elif END in line:
            break
        elif inside:
            # Strip the "==PID== " prefix of valgrind's own lines.
            lines.append(re.sub(r"^==\d+== ?", "", line))
    if not inside:
        raise RuntimeError("no leak check between leakdrive's markers")
    records, summary, rec = [], [], None
    for i, line in enumerate(lines):
        m = RECORD.match(line)
        if m:
            total, direct, _, blocks, kind = m.groups()
            rec = {"kind": KINDS[kind], "blocks": int(blocks.replace(",", "")),
                   "bytes": int((direct or total).replace(",", "")),
                   "frames": [], "header": line}
            records.append(rec)
            continue
        f = FRAME.match(line)
        if f and rec is not None:
            rec["frames"].append(f.group(1))
            continue
        rec = None
        if line.startswith("LEAK SUMMARY"):
            summary = [l for l in lines[i:i + 6] if l.strip()]
    return records, summary


def is_leaklib(rec):
    """The block was allocated by leaklib.c itself: the frame right below
    the allocator (valgrind's malloc/calloc replacement) is in leaklib.c.
    Blocks ld.so and libc allocate on its behalf (its TLS block, the
    threads' DTVs) have ld.so's frames there."""
    return len(rec["frames"]) > 1 and ("(leaklib.c:" in rec["frames"][1]
                                       or "leaklib.so)" in rec["frames"][1])


def classify(records):
    """{kind: {chunk_size: blocks}} over leaklib's own records."""
    out = {k: {} for k in KINDS.values()}
    for r in records:
        if not is_leaklib(r):
            continue
        if r["bytes"] % r["blocks"]:
            # One allocation site, one size: anything else means a record
            # mixes sizes and the per-size count cannot be read from it.
            raise RuntimeError("mixed sizes in one record: " + r["header"])
        c = chunk_size(r["bytes"] // r["blocks"])
        out[r["kind"]][c] = out[r["kind"]].get(c, 0) + r["blocks"]
    return out


def run(tmpdir, n):
    """Builds and runs; (result, records, summary) or None with the reason
    printed."""
    if not shutil.which("valgrind"):
        print("# valgrind_truth: no valgrind")
        return None
    lib = build_lib(tmpdir)
    drive = lib and build_drive(tmpdir)
    if not drive:
        return None
    log = os.path.join(tmpdir, "valgrind.log")
    p = subprocess.run(["valgrind", "--leak-check=full",
                        "--show-leak-kinds=all", "--log-file=" + log,
                        drive, lib, str(n)],
                       capture_output=True, text=True, timeout=600)
    if p.returncode:
        print("# valgrind_truth: leakdrive exited %d: %s"
              % (p.returncode, p.stderr[-500:]))
        return None
    with open(log) as f:
        records, summary = parse(f.read())
    return classify(records), records, summary


def truth(cc_tmpdir, n):
    """valgrind's {kind: {chunk_size: blocks}} for leaklib_setup(n), or
    None with the reason printed (no valgrind, no compiler, no
    memcheck.h)."""
    r = run(cc_tmpdir, n)
    return r and r[0]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    tmp = tempfile.mkdtemp(prefix="pyheap-vgtruth-")
    try:
        r = run(tmp, n)
        if r is None:
            return 2
        result, records, summary = r
        for rec in records:
            print("%s %s" % ("*" if is_leaklib(rec) else " ", rec["header"]))
            print("      allocated by %s" % (rec["frames"][1]
                                             if len(rec["frames"]) > 1
                                             else "?"))
        print("(* = allocated by leaklib.c)")
        print("\n".join(summary))
        print("result:", result)
        want = expected(n)
        if result == want:
            print("matches leaklib's design for n=%d" % n)
            return 0
        print("DIFFERS from leaklib's design for n=%d: %s" % (n, want))
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
