#!/usr/bin/env bash
# Real Debian userlands for the live tests' chroot slots (README "Tests"):
# the "container case", where the target runs inside a chroot and pyheap,
# on the host, reads its files through /proc/PID/root.
#
#   tests/distro/build.sh [NAME...]      # as root; NAME: sid, trixie (default both)
#
# Builds, with debootstrap --variant=minbase from deb.debian.org, into
# $PYHEAP_DISTRO_CACHE (default /var/cache/pyheap-distro), which survives
# between runs:
#   sid/     Debian unstable: python3.13, python3.14, python3.15, libc6-dbg and
#            python3.1X-dbg (the DWARF of the stripped /usr/bin/python3.1X,
#            under /usr/lib/debug/.build-id: for the sid-3.14-dwarf slot and
#            for tools/gen-tables.sh; the stripped slots tell pyheap not to
#            use debug files)
#   trixie/  Debian 13: python3.13, libc6-dbg and python3.13-dbg
# and in both libjemalloc2 (the allocators suite LD_PRELOADs it in the
# target, inside the chroot) and libpython3.X-dev (the garbage suite builds
# its test extension on the host against the chroot's headers).
# A chroot is complete when its stamp file (NAME/.pyheap-complete) exists;
# the stamp is written last, so a build that was killed is thrown away and
# redone on the next run.  A complete one is kept as it is, but for
# packages added to the lists below since it was built, which are
# installed into it (no rebuild; sid's versions are not updated).  Each chroot
# also gets NAME/.pyheap-versions (python and glibc versions, one
# "key value" a line), read by tests/live/run.py and printed here for logs.
# Measured: sid 71 s and 490 MB, trixie 40 s and 170 MB.  To rebuild one
# (sid moves on), delete its directory.
set -euo pipefail

CACHE=${PYHEAP_DISTRO_CACHE:-/var/cache/pyheap-distro}
MIRROR=http://deb.debian.org/debian
STAMP=.pyheap-complete
VERSIONS=.pyheap-versions

# Packages each chroot gets on top of minbase (no recommends).  sid's
# interpreters are whatever sid has today; a name sid no longer carries is
# reported and the build fails rather than silently losing a slot.
pkgs_for() {
	case $1 in
	sid)    echo python3.13 python3.14 python3.15 libc6-dbg libjemalloc2 \
		     python3.13-dbg python3.14-dbg python3.15-dbg \
		     libpython3.13-dev libpython3.14-dev libpython3.15-dev ;;
	trixie) echo python3.13 libc6-dbg libjemalloc2 python3.13-dbg \
		     libpython3.13-dev ;;
	*)      echo "build.sh: unknown chroot '$1' (sid, trixie)" >&2; return 1 ;;
	esac
}

# The python executables whose versions are recorded.
pythons_for() {
	case $1 in
	sid)    echo python3.13 python3.14 python3.15 ;;
	trixie) echo python3.13 ;;
	esac
}

if [ "$(id -u)" != 0 ]; then
	echo "build.sh: must run as root (debootstrap, chroot)" >&2
	exit 1
fi

# debootstrap on the host, if missing.
if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
	echo "build.sh: installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		debootstrap debian-archive-keyring
fi
export PATH=$PATH:/usr/sbin:/sbin

# apt inside the chroots: sid's Release may be past its Valid-Until date
# (the archive re-signs it regularly, but a stale mirror or a clock ahead
# would break the build for no good reason); signatures are still checked.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false
	-o APT::Install-Suggests=false -o Dpkg::Use-Pty=0 -q)

# Unmounts whatever is still mounted under $1 (a killed build may leave
# debootstrap's /proc or /sys behind), deepest first.
umount_under() {
	local root=$1 m
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts |
		sort -r | while read -r m; do umount -l "$m" || true; done
}

# Runs a shell command in the chroot $1 with /proc mounted, in a private
# mount namespace, so nothing stays mounted whatever happens.
in_chroot() {
	local root=$1; shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 sh -c "$@"' \
		sh "$root" "$@"
}

# Installs the packages $2.. into the chroot $1, after checking that each
# exists in its suite, so a missing one is named rather than lost in apt's
# error.
install_pkgs() {
	local root=$1 p missing=
	shift
	in_chroot "$root" "apt-get ${APT_OPTS[*]} update"
	for p in "$@"; do
		if ! in_chroot "$root" "apt-cache show $p >/dev/null 2>&1"; then
			missing="$missing $p"
		fi
	done
	if [ -n "$missing" ]; then
		echo "build.sh: $(basename "$root"): not in the suite:$missing" >&2
		return 1
	fi
	in_chroot "$root" "apt-get ${APT_OPTS[*]} -y install $*"
	in_chroot "$root" "apt-get ${APT_OPTS[*]} clean"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
}

# The packages of $2.. not installed in the chroot $1.
not_installed() {
	local root=$1 p
	shift
	for p in "$@"; do
		in_chroot "$root" "dpkg-query -W -f '\${Status}' $p 2>/dev/null" |
			grep -q 'install ok installed' || echo "$p"
	done
}

# NAME/.pyheap-versions: versions, for the test driver and for the logs
# (written aside and renamed, so a reader never sees half of it).
write_versions() {
	local name=$1 root=$CACHE/$1 p
	{
		for p in $(pythons_for "$name"); do
			echo "$p $(in_chroot "$root" "$p -c 'import sys; print(sys.version.split()[0])'")"
			echo "$p-deb $(in_chroot "$root" "dpkg-query -W -f '\${Version}' $p")"
		done
		echo "glibc $(in_chroot "$root" "ldd --version" | sed -n '1s/.* //p')"
		echo "libc6-deb $(in_chroot "$root" "dpkg-query -W -f '\${Version}' libc6")"
		echo "recorded $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$root/$VERSIONS.new"
	mv "$root/$VERSIONS.new" "$root/$VERSIONS"
	sed "s/^/build.sh: $name: /" "$root/$VERSIONS"
}

build_one() {
	local name=$1 root=$CACHE/$1 start pkgs missing
	pkgs=$(pkgs_for "$name")
	start=$(date +%s)
	if [ -e "$root/$STAMP" ]; then
		# shellcheck disable=SC2086
		missing=$(not_installed "$root" $pkgs)
		if [ -z "$missing" ]; then
			echo "build.sh: $name: complete, kept ($root)"
			return 0
		fi
		echo "build.sh: $name: complete; adding $(echo "$missing" | tr '\n' ' ')"
		# shellcheck disable=SC2086
		install_pkgs "$root" $missing
		write_versions "$name"
		echo "build.sh: $name: done in $(($(date +%s) - start)) s"
		return 0
	fi
	echo "build.sh: $name: building in $root"
	mkdir -p "$CACHE"
	if [ -e "$root" ]; then
		echo "build.sh: $name: removing an incomplete build"
		umount_under "$root"
		rm -rf --one-file-system "$root"
	fi

	# The base system.  Signatures are checked against the host's
	# debian-archive-keyring; if it is too old to know the key that signs
	# the suite, say so and go on without the check (the packages' hashes
	# still come from the Release file).
	local dbs_opts=(--variant=minbase --arch=amd64)
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	local log=$CACHE/$name.debootstrap.log
	if ! debootstrap "${dbs_opts[@]}" --keyring="$keyring" "$name" "$root" "$MIRROR" \
		2>&1 | tee "$log"; then
		if ! grep -qiE 'signature|unknown key|keyring|gpgv' "$log"; then
			echo "build.sh: $name: debootstrap failed (see $log)" >&2
			return 1
		fi
		echo "build.sh: $name: debootstrap could not check the Release" \
			"signature with the host's keyring; retrying with --no-check-gpg" >&2
		umount_under "$root"
		rm -rf --one-file-system "$root"
		debootstrap "${dbs_opts[@]}" --no-check-gpg "$name" "$root" "$MIRROR"
		# apt inside cannot check them either, then.
		echo 'APT::Get::AllowUnauthenticated "true"; Acquire::AllowInsecureRepositories "true";' \
			>"$root/etc/apt/apt.conf.d/99pyheap-insecure"
	fi
	# Keep the chroot small: no recommends, no documentation.
	cat >"$root/etc/apt/apt.conf.d/99pyheap" <<-'EOF'
	Acquire::Check-Valid-Until "false";
	APT::Install-Recommends "false";
	APT::Install-Suggests "false";
	EOF
	cat >"$root/etc/dpkg/dpkg.cfg.d/99pyheap-nodoc" <<-'EOF'
	path-exclude=/usr/share/doc/*
	path-exclude=/usr/share/man/*
	path-exclude=/usr/share/info/*
	path-exclude=/usr/share/locale/*
	path-include=/usr/share/locale/locale.alias
	EOF
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

	# shellcheck disable=SC2086
	install_pkgs "$root" $pkgs
	write_versions "$name"

	# Last: the stamp that makes it complete.
	date -u +%Y-%m-%dT%H:%M:%SZ >"$root/$STAMP"
	echo "build.sh: $name: done in $(($(date +%s) - start)) s," \
		"$(du -sh --one-file-system "$root" | cut -f1)"
}

# sid first: the newest interpreters, and the chroot others wait for.
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(sid trixie)
for n in "${names[@]}"; do
	pkgs_for "$n" >/dev/null
done
total=$(date +%s)
for n in "${names[@]}"; do
	build_one "$n"
done
echo "build.sh: all done in $(($(date +%s) - total)) s"
