# Live-test target for native leaks through a real extension: the libxml2
# seed (LEAKS.md E3, leaks-kit/xl.py).  Debian's python3-libxml2 2.9.14
# leaks the xmlXPathContext of every failing doc.xpathEval(): libxml2mod's
# xpathEval makes it with xmlXPathNewContext, and the exception is raised
# before it is freed.  Each leak is one definitely lost block (the
# context, a 376-byte request) holding about 33 indirectly lost ones (its
# XPath function hash table and what hangs off it); a successful
# xpathEval frees its context (the control).  Needs python3-libxml2 for
# this interpreter (apt-get install python3-libxml2: /usr/bin/python3).
#
# argv[1]: the ready file (JSON, written by rename once the document is
#   parsed).
#
# stdin commands, one per line, each answered with one JSON line:
#   fail N   N xpathEval calls with an invalid expression, each raising
#            libxml2.xpathError (caught): {"fail": N, "raised": how many}
#   ok N     N valid xpathEval calls: {"ok": N, "nodes": nodes per call}
#   info     {"pid": ...} only
# At EOF, like xl.py: gc.collect() and the document is freed, so that under
# valgrind only the leaked contexts (and what they hold) stay lost.
import gc
import json
import os
import sys

import libxml2

# The failing calls print parse errors through libxml2's error handler.
libxml2.registerErrorHandler(lambda ctx, msg: None, None)
doc = libxml2.parseDoc("<foo>" + "<bar>x</bar>" * 20 + "</foo>")
BAD = "/foo//bar["
GOOD = "/foo//bar"


def answer(obj):
    os.write(1, (json.dumps(obj) + "\n").encode())


def read_line():
    """The next line, or None at EOF.  One byte at a time, as
    targets/native.py does: no buffered reader."""
    line = b""
    while True:
        c = os.read(0, 1)
        if not c:
            return line.decode() if line else None
        if c == b"\n":
            return line.decode()
        line += c


def fail(n):
    raised = 0
    for _ in range(n):
        try:
            doc.xpathEval(BAD)
        except libxml2.xpathError:
            raised += 1
    return {"fail": n, "raised": raised}


def ok(n):
    nodes = 0
    for _ in range(n):
        nodes = len(doc.xpathEval(GOOD))
    return {"ok": n, "nodes": nodes}


tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "version": list(sys.version_info)}, f)
os.rename(tmp, sys.argv[1])
while True:
    line = read_line()
    if line is None:
        break
    words = line.split()
    if not words:
        continue
    cmd = words[0]
    if cmd == "fail" and len(words) == 2:
        answer(fail(int(words[1])))
    elif cmd == "ok" and len(words) == 2:
        answer(ok(int(words[1])))
    elif cmd == "info":
        answer({"pid": os.getpid()})
    else:
        answer({"error": "unknown command %r" % " ".join(words)})
gc.collect()
doc.freeDoc()
