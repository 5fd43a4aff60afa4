#!/bin/sh
# Golden tests of the reports: show, diff and info on the committed
# snapshots a.snap, b.snap and c.snap (written by gen.py), compared with
# expected/ by `diff -u`.  The cases are listed in `cases`.
#
#     tests/golden/run.sh PYHEAP            compare (ctest: golden)
#     tests/golden/run.sh --update PYHEAP   rewrite expected/ from PYHEAP
#
# After --update, review `git diff tests/golden/expected` before committing.
# An expected file is the command's stdout; when the exit status is not 0
# or stderr is not empty, "--- stderr" and "--- exit N" sections follow.
# Expected JSON files of successful runs must also parse as JSON.
set -u

update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--update] PYHEAP" >&2
	exit 64
fi
case $1 in
/*) pyheap=$1 ;;
*) pyheap=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyheap-golden.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
# Nothing from the caller's environment may change the output.
unset NO_COLOR
export TERM=dumb LC_ALL=C TZ=UTC

passed=0
failed=0
while read -r name args; do
	case $name in
	'' | '#'*) continue ;;
	esac
	eval "set -- $args"
	"$pyheap" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" -ne 0 ] || [ -s "$tmp/err" ]; then
		{
			echo "--- stderr"
			cat "$tmp/err"
			echo "--- exit $status"
		} >>"$tmp/out"
	elif [ "${name##*.}" = json ] &&
	     ! python3 -m json.tool "$tmp/out" >/dev/null; then
		echo "FAIL - $name: not JSON"
		failed=$((failed + 1))
		continue
	fi
	if [ "$update" = 1 ]; then
		cp "$tmp/out" "expected/$name"
		echo "updated $name"
	elif diff -u "expected/$name" "$tmp/out"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "FAIL - $name: pyheap $args"
		failed=$((failed + 1))
	fi
done <cases
[ "$update" = 1 ] && exit 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
