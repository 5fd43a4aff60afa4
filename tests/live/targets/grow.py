# Live-test target for `pyheap diff`: N instances of a class, then K more
# on each "grow K" line on stdin (kept alive; answered "done"), so a diff
# of snapshots taken before and after must show exactly K more instances
# and K * sys.getsizeof(instance) more bytes for the class.  "ping" lines
# are answered "pong".
#
# argv[1]: the ready file (JSON, written last, by rename).
import gc
import json
import os
import sys

gc.disable()  # no collection may change the heap between snapshots

N = 2345


class Grown(object):  # new-style in 2.7 as well
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


kept = [Grown(i) for i in range(N)]
ready = sys.argv[1]
with open(ready + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "version": list(sys.version_info),
               "n": N, "key": "__main__.Grown",
               "size": sys.getsizeof(kept[0])}, f)
os.rename(ready + ".tmp", ready)

# readline, not iteration: 2.7's file iterator reads ahead.
for line in iter(sys.stdin.readline, ""):
    words = line.split()
    if words[:1] == ["grow"]:
        kept.extend(Grown(i) for i in range(int(words[1])))
        sys.stdout.write("done\n")
    else:
        sys.stdout.write("pong\n")
    sys.stdout.flush()
