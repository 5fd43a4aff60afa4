#!/bin/sh
# A free-threaded CPython 3.13 ("3.13t", PEP 703: configure --disable-gil)
# for the tests of issue 19, built from Debian's own python3.13 source
# package, since Debian ships no free-threaded interpreter.
#
#   tests/distro/build-ft.sh          # builds once, then reuses the cache
#
# The source is sid's (its Sources index names the .dsc, the upstream
# tarball and Debian's patches, each checked against the SHA-256 the
# index gives), unpacked with Debian's patches applied (dpkg-source -x),
# and built with the host's compiler: ./configure --disable-gil, no PGO,
# no LTO, no ensurepip.  It is installed under
# $PYHEAP_DISTRO_CACHE/py313t (default /var/cache/pyheap-distro/py313t),
# with .pyheap-versions naming the version built and how long the build
# took, and a stripped copy, bin/python3.13t-stripped.  Needs curl, xz-utils, dpkg-dev, a C toolchain (build-essential)
# and libffi-dev (ctypes, which the leaks suite loads its library with);
# other modules whose libraries are missing are left out, which the tests
# do not need.  Exit 0 when the interpreter is there, 1 otherwise.
set -eu

cache=${PYHEAP_DISTRO_CACHE:-/var/cache/pyheap-distro}
dest=$cache/py313t
mirror=${PYHEAP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

check='import sys, ctypes; assert not sys._is_gil_enabled()'
# The 3.13t-stripped slot: the same executable without its symbols and
# DWARF, as distributions ship it (next to it, so it finds its library).
stripped() {
	[ -x "$dest/bin/python3.13t-stripped" ] ||
		strip -o "$dest/bin/python3.13t-stripped" "$dest/bin/python3.13t"
}
if [ -x "$dest/bin/python3.13t" ] && "$dest/bin/python3.13t" -c "$check"
then
	stripped
	exit 0
fi

start=$(date +%s)
work=$(mktemp -d /tmp/pyheap-py313t.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The package's entry in sid's Sources index: its directory and the
# SHA-256 of each of its files.
curl -fsS -o Sources.xz "$mirror/dists/sid/main/source/Sources.xz"
xz -dc Sources.xz | awk '
	/^Package: python3\.13$/ { p = 1; next }
	p && /^$/ { exit }
	p && /^Version:/ { print "version", $2 }
	p && /^Directory:/ { print "dir", $2 }
	p && /^Checksums-Sha256:/ { s = 1; next }
	p && s && /^ / { print "file", $1, $3; next }
	p && s { s = 0 }
' > entry
version=$(awk '$1 == "version" { print $2 }' entry)
dir=$(awk '$1 == "dir" { print $2 }' entry)
if [ -z "$version" ] || [ -z "$dir" ]; then
	echo "build-ft: python3.13 not found in sid's Sources index" >&2
	exit 1
fi
awk '$1 == "file" { print $2 "  " $3 }' entry > SHA256SUMS
for f in $(awk '{ print $2 }' SHA256SUMS); do
	curl -fsS -o "$f" "$mirror/$dir/$f"
done
sha256sum -c --quiet SHA256SUMS
dpkg-source --no-check -x ./*.dsc src >/dev/null

cd src
./configure --disable-gil --prefix="$dest" --without-ensurepip \
	>configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
make -j"$(nproc)" >make.log 2>&1 || { tail -40 make.log >&2; exit 1; }
rm -rf "$dest"
make install >install.log 2>&1 || { tail -30 install.log >&2; exit 1; }

"$dest/bin/python3.13t" -c "$check" || {
	echo "build-ft: $dest/bin/python3.13t lacks ctypes or has a GIL" \
		"(apt-get install libffi-dev)" >&2
	exit 1
}
stripped
{
	echo "python3.13t $("$dest/bin/python3.13t" -c 'import platform; print(platform.python_version())')"
	echo "python3.13-deb $version"
	echo "configure --disable-gil, no PGO/LTO, host gcc $(gcc -dumpversion)"
	echo "build_s $(($(date +%s) - start))"
	echo "recorded $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$dest/.pyheap-versions"
cat "$dest/.pyheap-versions"
