#!/bin/sh
# Build pyheap, snapshot the demo worker (examples/leaky_worker.py) and show
# its biggest types.
# Run as root on Debian 12: it installs the build dependencies if missing,
# and pyheap needs ptrace rights over the target.
set -eu
cd "$(dirname "$0")/.."

need=""
command -v cc >/dev/null || need="$need build-essential"
command -v cmake >/dev/null || need="$need cmake"
command -v pkg-config >/dev/null || need="$need pkg-config"
command -v python3 >/dev/null || need="$need python3"
for pc in libelf:libelf-dev libdw:libdw-dev zlib:zlib1g-dev check:check; do
	pkg-config --exists "${pc%%:*}" 2>/dev/null || need="$need ${pc#*:}"
done
if [ -n "$need" ]; then
	echo "installing:$need"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y $need
fi

cmake -S . -B build
cmake --build build -j"$(nproc)"

# The distribution's interpreter if there is one: stripped, no debug info,
# the production case.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
"$py" examples/leaky_worker.py &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT INT TERM
sleep 2
echo "\$ pyheap snap -o demo.snap $pid"
./build/src/pyheap snap -o demo.snap "$pid"
echo "\$ pyheap show --top 10 demo.snap"
./build/src/pyheap show --top 10 demo.snap
