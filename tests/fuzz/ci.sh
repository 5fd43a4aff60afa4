#!/bin/sh
# Run every fuzzer for a fixed time (CI):  tests/fuzz/ci.sh BUILD [SECONDS]
#
# BUILD is a clang build directory (tests/fuzz/README); each fuzzer runs
# SECONDS (default 60) from the committed corpus, under ASan + UBSan, with
# new inputs kept in a temporary directory.  Exits non-zero on the first
# crash, hang (-timeout) or oversized allocation (-malloc_limit_mb), with
# the input written to BUILD/fuzz-artifacts/ and printed (base64) in the
# log: minimise it and commit it under tests/fuzz/regress/ with the fix.
set -eu
build=$1
secs=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
art=$build/fuzz-artifacts
rm -rf "$art"
mkdir -p "$art"
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT

run() {
	name=$1
	shift
	mkdir -p "$new/$name"
	echo "== fuzz_$name for ${secs}s"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/tests/fuzz_$name" -max_total_time="$secs" -timeout=10 \
		-malloc_limit_mb=1024 -rss_limit_mb=2048 -close_fd_mask=2 \
		-print_final_stats=1 -artifact_prefix="$art/$name-" \
		"$new/$name" "$@" 2>&1 |
		grep -E '^(INFO: seed|stat::|==|SUMMARY|artifact_prefix|Base64)|ERROR|DEDUP' || true
	# grep hides the exit status: a crash leaves an artifact.
	if ls "$art/$name-"* >/dev/null 2>&1; then
		echo "fuzz_$name: found a failure, see $art" >&2
		exit 1
	fi
}

run census "$src/corpus/census"
run snapshot "$src/corpus/snapshot" "$src/../fixtures/snap"
run mimalloc "$src/corpus/mimalloc"
run core "$src/corpus/core"
# What a compromised parsing process could send its privileged parent:
# 30 s, a small protocol.
secs_all=$secs
secs=$((secs / 2))
run broker "$src/corpus/broker"
secs=$secs_all
# The ELF path also starts from the machine's own CPython files: the
# extension modules of each interpreter (real DWARF of CPython's structs,
# a few hundred KiB each), copied so the fuzzer's corpus stays its own.
elfseeds=$(mktemp -d)
trap 'rm -rf "$new" "$elfseeds"' EXIT
for f in $(ls /usr/lib/python3*/lib-dynload/*.so \
	"$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/*/lib/python3*/lib-dynload/_struct*.so \
	2>/dev/null | head -40); do
	[ "$(stat -c %s "$f")" -le 1048576 ] && cp "$f" "$elfseeds/"
done
run elf "$src/corpus/elf" "$elfseeds" -max_len=1048576
