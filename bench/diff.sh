#!/bin/sh
# How long show and diff take on large snapshots.
#
#     bench/diff.sh [PYHEAP [OBJECTS [RUNS]]]
#
# Starts python3 with OBJECTS live objects of its own (default 1000000: a
# quarter each of a __slots__ class, int, str and tuple; the interpreter
# adds some 20,000 more), snapshots it (A),
# makes it allocate 10% more instances of the class, snapshots it again
# (B), then times `pyheap show A`, `pyheap diff A B` and
# `pyheap diff --format json A B` RUNS times each (default 5) and prints
# the best and the median wall time of each.  Needs ptrace rights (root).
set -eu

pyheap=${1:-build/src/pyheap}
objects=${2:-1000000}
runs=${3:-5}
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyheap-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat >"$tmp/target.py" <<'PY'
import gc, os, sys
gc.disable()
class Node:
    __slots__ = ("a", "b")
    def __init__(self):
        self.a = self.b = None
n = int(sys.argv[1]) // 4
nodes = [Node() for _ in range(n)]
ints = list(range(1 << 20, (1 << 20) + n))
strs = ["s%d" % i for i in range(n)]
tuples = [(s,) for s in strs]
os.write(1, b"ready\n")
for line in sys.stdin:
    nodes.extend(Node() for _ in range(int(line)))
    os.write(1, b"done\n")
PY

mkfifo "$tmp/in" "$tmp/out"
"$python" "$tmp/target.py" "$objects" <"$tmp/in" >"$tmp/out" &
pid=$!
exec 3>"$tmp/in" 4<"$tmp/out"
read -r line <&4
"$pyheap" snap -o "$tmp/a.snap" "$pid"
echo $((objects / 10)) >&3
read -r line <&4
"$pyheap" snap -o "$tmp/b.snap" "$pid"
exec 3>&- 4<&-

# Wall time in ms of one run of "$@", output discarded.
now_ns() { date +%s%N; }
time_ms() {
	t0=$(now_ns)
	"$@" >/dev/null
	t1=$(now_ns)
	echo $(((t1 - t0) / 1000000))
}
bench() {
	what=$1
	shift
	i=0
	: >"$tmp/times"
	while [ "$i" -lt "$runs" ]; do
		time_ms "$@" >>"$tmp/times"
		i=$((i + 1))
	done
	sort -n "$tmp/times" | awk -v what="$what" '
		{ t[NR] = $1 }
		END { printf "%-28s best %5d ms, median %5d ms (%d runs)\n",
		      what, t[1], t[int((NR + 1) / 2)], NR }'
}
bench "show A" "$pyheap" show "$tmp/a.snap"
bench "diff A B" "$pyheap" diff "$tmp/a.snap" "$tmp/b.snap"
bench "diff --format json A B" "$pyheap" diff --format json "$tmp/a.snap" \
	"$tmp/b.snap"
