"""Live suite for privilege separation (issue 20), registered with run.py.

sandbox  pyheap parses in a child without privileges (pyheap(1) SECURITY).
         On every slot: PYHEAP_TEST_SANDBOX=status=FILE makes the parent
         write the child's /proc status, read while the child is confined,
         and what the child could do: uid and gid those of nobody, no
         groups, every capability set empty, NoNewPrivs 1, Seccomp 2, and
         opening a file, signalling or tracing the target, making a socket
         or a process, becoming root all refused.  The sandboxed snapshot
         holds the same census as one taken with --no-sandbox.  A child
         that crashes (PYHEAP_TEST_SANDBOX=crash) is said in one line,
         exit 2, nothing written, and the target runs on.
         On chroot slots, the container case, with a program in the chroot
         that embeds the chroot's libpython (Py_BytesMain), loaded from a
         copy:
           - crafted DWARF (.debug_info, .debug_abbrev, .debug_str,
             .debug_line of random bytes under a plausible unit header):
             pyheap snapshots it (the DWARF is not used) and it runs on;
           - the same with its symbol table's, string table's, build-id's
             and .PyRuntime's section headers pointing outside the file:
             exit 2, one line saying the file is damaged, nothing written,
             the target runs on;
           - a container that plants its debug file as a symbolic link to
             an absolute path: the link is followed inside the container
             (openat2 RESOLVE_IN_ROOT), never to the host's file of that
             name, which --no-sandbox (open(2) through /proc/PID/root)
             does read: the check can tell.  The same where openat2() is
             missing (PYHEAP_TEST_SANDBOX=walk: the parent resolves the
             path one component at a time), which also takes the same
             census as openat2() on every slot.  And a debug file linked
             by an absolute path inside the container is found there (with
             and without openat2), where --no-sandbox looks on the host.
             And a debug file made by dwz, whose shared types are in an
             alternate file it names: every offset from DWARF as from the
             whole file (pyheap opens the alternate file through the
             parent); without that file, fewer.
"""
import os
import pwd
import random
import shutil
import struct
import subprocess
import tempfile


def status_fields(text):
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def census_rows(snapfile, path):
    """The snapshot and its census by type (suite_core's)."""
    from suite_core import census_of
    s, rows, _ = census_of(snapfile, path)
    return s, rows


def one_line(res, p, what, want_in):
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("pyheap:")]
    res.equal(p.returncode, 2, "%s: exit 2" % what)
    res.check(len(lines) == 1 and want_in in lines[0],
              "%s: one line saying %r" % (what, want_in), p.stderr[-800:])


def confined(h, pyheap, exe, res, snapfile):
    with h.Target(exe, "threads.py") as t:
        st = os.path.join(t.tmp, "status.txt")
        out = os.path.join(t.tmp, "a.snap")
        p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid),
                         env={"PYHEAP_TEST_SANDBOX": "status=" + st})
        if not res.equal(p.returncode, 0, "sandboxed snap exits 0 (%s)"
                         % p.stderr.strip()):
            return
        with open(st) as f:
            text = f.read()
        f = status_fields(text)
        nobody = pwd.getpwnam("nobody")
        uid = str(nobody.pw_uid) if os.geteuid() == 0 else str(os.getuid())
        gid = str(nobody.pw_gid) if os.geteuid() == 0 else str(os.getgid())
        res.equal(f.get("Uid", "").split(), [uid] * 4,
                  "the parsing process runs as uid %s (real, effective, "
                  "saved, filesystem)" % uid)
        res.equal(f.get("Gid", "").split(), [gid] * 4,
                  "the parsing process runs as gid %s" % gid)
        if os.geteuid() == 0:
            res.equal(f.get("Groups"), "", "it has no supplementary groups")
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            res.equal(f.get(cap), "0" * 16, "%s is empty" % cap)
        res.equal(f.get("NoNewPrivs"), "1", "no_new_privs is set")
        res.equal(f.get("Seccomp"), "2", "a seccomp filter is on")
        sanitizer = f.get("sanitizer build") == "yes"
        want = {"open /proc/TARGET/mem": "Permission denied",
                "kill TARGET 0": "Operation not permitted",
                "ptrace TARGET": "Operation not permitted",
                "socket": "Operation not permitted",
                "setuid 0": "Operation not permitted"}
        if not sanitizer:
            # A sanitizer build's filter admits what its leak check needs
            # (open, clone): the plain build is the one these hold for.
            want["open /etc/passwd"] = "Permission denied"
            want["fork"] = "Operation not permitted"
        for k, v in sorted(want.items()):
            res.equal(f.get(k), v, "the parsing process: %s is refused" % k)
        # The same census as pyheap's own process takes, and as the
        # sandbox takes where openat2() is missing (paths walked one
        # component at a time: /lib and the like are links).
        _, a = census_rows(snapfile, out)
        for extra, env, what in ((["--no-sandbox"], None, "--no-sandbox"),
                                 ([], {"PYHEAP_TEST_SANDBOX": "walk"},
                                  "without openat2")):
            out2 = os.path.join(t.tmp, "b.snap")
            p = h.run_pyheap(pyheap, "snap", "-q", "-o", out2,
                             *(extra + [str(t.pid)]), env=env)
            if not res.equal(p.returncode, 0, "%s: snap exits 0 (%s)"
                             % (what, p.stderr.strip())):
                continue
            s2, b = census_rows(snapfile, out2)
            differ = sorted(k for k in set(a) | set(b)
                            if a.get(k) != b.get(k))
            res.check(not differ, "sandboxed and %s snapshots hold the "
                      "same census (%d types)" % (what, len(a)),
                      "; ".join("%s: %s vs %s" % (k, a.get(k), b.get(k))
                                for k in differ[:8]))
            res.equal(s2["meta"]["offsets"],
                      snapfile.load(out)["meta"]["offsets"],
                      "%s: the offsets come from the same places" % what)
        # A crash of the parsing process.
        out3 = os.path.join(t.tmp, "c.snap")
        p = h.run_pyheap(pyheap, "snap", "-o", out3, str(t.pid),
                         env={"PYHEAP_TEST_SANDBOX": "crash"})
        one_line(res, p, "a crashing parser", "the parsing process")
        res.check("died of signal" in p.stderr and
                  "nothing written" in p.stderr,
                  "the line says it died of a signal and nothing was "
                  "written", p.stderr[-400:])
        res.check(not [n for n in os.listdir(t.tmp) if n.startswith("c.")],
                  "no snapshot or temporary file is left")
        res.check(t.ping(), "the target runs on after the crash")


# ---- the container case ------------------------------------------------

EMBED_C = r"""
/* pyheap live tests: a program that embeds libpython (suite_sandbox). */
extern int Py_BytesMain(int argc, char **argv);
int main(int argc, char **argv) { return Py_BytesMain(argc, argv); }
"""


def build_id(data):
    """The GNU build-id note's bytes in an ELF file (by its note header)."""
    i = data.find(b"GNU\0", 0)
    while i >= 12:
        namesz, descsz, ntype = struct.unpack_from("<III", data, i - 12)
        if namesz == 4 and ntype == 3 and descsz == 20:
            return data[i + 4:i + 24]
        i = data.find(b"GNU\0", i + 4)
    return None


def craft(src, dst, rnd, sections):
    """A copy of src with crafted DWARF; with sections, its symbol and
    string tables', build-id's and .PyRuntime's headers pointing outside
    the file (what the loader never reads: it uses program headers)."""
    tmp = tempfile.mkdtemp(prefix="pyheap-craft-")
    args = ["objcopy"]
    for name, size in ((".debug_info", 65536), (".debug_abbrev", 4096),
                       (".debug_str", 8192), (".debug_line", 4096)):
        b = bytearray(rnd.getrandbits(8) for _ in range(size))
        if name == ".debug_info":  # DWARF 5 compile unit header
            struct.pack_into("<IHBBI", b, 0, size - 4, 5, 1, 8, 0)
        p = os.path.join(tmp, name[1:])
        with open(p, "wb") as f:
            f.write(b)
        args += ["--add-section", "%s=%s" % (name, p)]
    subprocess.run(args + [src, dst], check=True, capture_output=True)
    shutil.rmtree(tmp, True)
    if not sections:
        return
    with open(dst, "rb") as f:
        data = bytearray(f.read())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    stroff, = struct.unpack_from("<Q", data,
                                 shoff + shstrndx * shentsize + 0x18)
    for i in range(shnum):
        base = shoff + i * shentsize
        n, = struct.unpack_from("<I", data, base)
        name = data[stroff + n:data.index(b"\0", stroff + n)].decode()
        if name in (".dynsym", ".dynstr", ".symtab", ".strtab",
                    ".note.gnu.build-id", ".gnu_debuglink", ".PyRuntime"):
            struct.pack_into("<Q", data, base + 0x18,
                             len(data) + rnd.getrandbits(20))
            struct.pack_into("<Q", data, base + 0x20,
                             1 << 40 | rnd.getrandbits(16))
            struct.pack_into("<I", data, base + 0x28, 0xfff0)
    with open(dst, "wb") as f:
        f.write(data)


def with_new_id(rnd, mine, data, old, debug):
    """Write the library data as mine with a new build-id in place of old;
    return the id and debug (a debug file's bytes) given the same."""
    nid = bytes(rnd.getrandbits(8) for _ in range(20))
    with open(mine, "wb") as f:
        f.write(bytes(data).replace(old, nid))
    return nid, debug.replace(old, nid)


def three_ways(res, pyheap, snapfile, t, label):
    """META offsets of snap sandboxed, sandboxed resolving paths without
    openat2, and --no-sandbox, with the target's debug files allowed;
    None if one failed."""
    offs = []
    for extra, walk in (([], False), ([], True), (["--no-sandbox"], False)):
        out = os.path.join(t.tmp, "%s%d.snap" % (label, len(offs)))
        e = dict(os.environ)
        e.pop("PYHEAP_NO_DEBUG_FILES", None)
        if walk:
            e["PYHEAP_TEST_SANDBOX"] = "walk"
        p = subprocess.run([pyheap, "snap", "-q", "-o", out] + extra +
                           [str(t.pid)], capture_output=True, text=True,
                           env=e, timeout=120)
        if not res.equal(p.returncode, 0, "%s: snap %s%sexits 0 (%s)"
                         % (label, "".join(x + " " for x in extra),
                            "(walk) " if walk else "", p.stderr.strip())):
            return None
        offs.append(snapfile.load(out)["meta"]["offsets"])
    return offs


def container(h, pyheap, slot, res, snapfile):
    root = h.chroot_root(slot)
    minor = h.CHROOT_SLOTS[slot][1]
    libname = "libpython%s.so.1.0" % minor
    lib = os.path.join(root, "usr/lib/x86_64-linux-gnu", libname)
    if not os.path.exists(lib):
        res.check(False, "the chroot has %s" % lib)
        return
    for tool in ("cc", "objcopy"):
        if not shutil.which(tool):
            res.check(False, "%s is installed (build-essential)" % tool)
            return
    # Inside the chroot tree, so that the paths are the same from inside
    # and from the host.
    inner = "/opt/pyheap-sandbox-%d" % os.getpid()
    base = root + inner
    planted = []
    try:
        os.makedirs(base + "/lib")
        with open(base + "/embed.c", "w") as f:
            f.write(EMBED_C)
        p = subprocess.run(
            ["cc", "-o", base + "/embed", base + "/embed.c",
             "-L" + os.path.dirname(lib), "-l:" + libname,
             "-Wl,--allow-shlib-undefined"], capture_output=True, text=True)
        if not res.equal(p.returncode, 0, "an embedding program links "
                         "against the chroot's %s (%s)" % (libname,
                                                          p.stderr[-300:])):
            return
        exe = h.chroot_interpreter(
            slot, program=inner + "/embed",
            env=["LD_LIBRARY_PATH=" + inner + "/lib"])
        rnd = random.Random(20)
        mine = base + "/lib/" + libname

        # 1. Crafted DWARF only: not used; the census is taken.
        craft(lib, mine, rnd, sections=False)
        with h.Target(exe, "threads.py") as t:
            out = os.path.join(t.tmp, "dwarf.snap")
            p = h.run_pyheap(pyheap, "snap", "-q", "-o", out, str(t.pid),
                             env={"PYHEAP_NO_DEBUG_FILES": "1"})
            res.equal(p.returncode, 0, "crafted DWARF in the container's "
                      "libpython: snap exits 0 (%s)" % p.stderr.strip())
            if p.returncode == 0:
                s, rows = census_rows(snapfile, out)
                res.check("DWARF" not in s["meta"]["offsets"],
                          "the crafted DWARF is not used",
                          s["meta"]["offsets"])
                res.check(rows.get("threading.Thread", (0,))[0] >= 3,
                          "the census has the target's threads")
            res.check(t.ping(), "the target runs on")

        # 2. And section headers pointing outside the file.
        craft(lib, mine, rnd, sections=True)
        with h.Target(exe, "threads.py") as t:
            out = os.path.join(t.tmp, "bad.snap")
            p = h.run_pyheap(pyheap, "snap", "-o", out, str(t.pid),
                             env={"PYHEAP_NO_DEBUG_FILES": "1"})
            one_line(res, p, "corrupt sections and DWARF in the "
                     "container's libpython", "the file is damaged")
            res.check(not [n for n in os.listdir(t.tmp)
                           if n.startswith("bad.")],
                      "nothing is written")
            res.check(t.ping(), "the target runs on")

        # 3. A debug file planted as a link out of the container.
        with open(lib, "rb") as f:
            data = bytearray(f.read())
        old = build_id(data)
        dbg = os.path.join(root, "usr/lib/debug/.build-id", old[:1].hex(),
                           old[1:].hex() + ".debug")
        if not os.path.exists(dbg):
            res.check(False, "the chroot has %s's debug file %s"
                      % (libname, dbg))
            return
        with open(dbg, "rb") as f:
            dorig = f.read()
        new, ddata = with_new_id(rnd, mine, data, old, dorig)
        host_dir = tempfile.mkdtemp(prefix="pyheap-host-", dir="/var/tmp")
        planted.append(host_dir)
        host_file = os.path.join(host_dir, "libpython.debug")
        with open(host_file, "wb") as f:
            f.write(ddata)
        link = os.path.join(root, "usr/lib/debug/.build-id", new[:1].hex(),
                            new[1:].hex() + ".debug")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(host_file, link)
        planted.append(link)
        with h.Target(exe, "threads.py") as t:
            offs = three_ways(res, pyheap, snapfile, t, "planted link")
            if not offs:
                return
            res.check("DWARF" not in offs[0],
                      "sandboxed: the container's link to %s is resolved "
                      "inside the container, where nothing is" % host_file,
                      offs[0])
            res.check("DWARF" not in offs[1],
                      "and so it is without openat2 (paths walked one "
                      "component at a time)", offs[1])
            res.check("DWARF" in offs[2],
                      "--no-sandbox follows it to the host's file (so the "
                      "check above can fail)", offs[1])
            res.check(t.ping(), "the target runs on")

        # 4. A debug file the container links to by an absolute path
        # inside it: found there (the path does not exist on the host).
        other, odata = with_new_id(rnd, mine, data, old, dorig)
        with open(base + "/real.debug", "wb") as f:
            f.write(odata)
        link2 = os.path.join(root, "usr/lib/debug/.build-id",
                             other[:1].hex(), other[1:].hex() + ".debug")
        os.makedirs(os.path.dirname(link2), exist_ok=True)
        os.symlink(inner + "/real.debug", link2)
        planted.append(link2)
        with h.Target(exe, "threads.py") as t:
            offs = three_ways(res, pyheap, snapfile, t, "link inside")
            if not offs:
                return
            res.check("DWARF" in offs[0] and "DWARF" in offs[1],
                      "a link to %s inside the container is followed "
                      "there, with and without openat2" % (inner +
                                                           "/real.debug"),
                      "%s | %s" % (offs[0], offs[1]))
            res.check("DWARF" not in offs[2], "--no-sandbox looks for it "
                      "on the host, where it is not", offs[2])
            ref = offs[0]

        # 5. dwz: the debug file's shared types moved to an alternate file
        # it names (.gnu_debugaltlink), as Fedora's and Debian's dbgsym
        # packages are built; libdw would open it itself, which the
        # sandbox refuses: pyheap opens it through the parent.
        if not shutil.which("dwz"):
            res.check(False, "dwz is installed (apt-get install dwz)")
            return
        work = tempfile.mkdtemp(prefix="pyheap-dwz-")
        planted.append(work)
        a, b = work + "/a.debug", work + "/b.debug"
        shutil.copy(dbg, a)
        subprocess.run(["objcopy", "--decompress-debug-sections", a],
                       check=True)
        shutil.copy(a, b)
        altname = "/usr/lib/debug/.dwz/pyheap-sandbox-%d.debug" % os.getpid()
        p = subprocess.run(["dwz", "-m", work + "/common.debug", "-M",
                            altname, a, b], capture_output=True, text=True)
        if not res.equal(p.returncode, 0, "dwz makes an alternate file (%s)"
                         % p.stderr.strip()):
            return
        with open(a, "rb") as f:
            id5, adata = with_new_id(rnd, mine, data, old, f.read())
        link5 = os.path.join(root, "usr/lib/debug/.build-id", id5[:1].hex(),
                             id5[1:].hex() + ".debug")
        os.makedirs(os.path.dirname(link5), exist_ok=True)
        with open(link5, "wb") as f:
            f.write(adata)
        planted.append(link5)
        alt = root + altname
        os.makedirs(os.path.dirname(alt), exist_ok=True)
        shutil.copy(work + "/common.debug", alt)
        planted.append(alt)
        with h.Target(exe, "threads.py") as t:
            got = []
            for label in ("dwz", "dwz without its alternate file"):
                offs = three_ways(res, pyheap, snapfile, t, label)
                if not offs:
                    return
                got.append(offs)
                if os.path.exists(alt):
                    os.unlink(alt)
            print("# whole debug file: %s; dwz'd: %s; without its "
                  "alternate file: %s" % (ref, got[0][0], got[1][0]))
            res.equal(got[0][:2], [ref, ref], "a debug file made by dwz: "
                      "every offset from DWARF, as from the whole file, "
                      "with and without openat2")
            res.check(got[1][0] != ref, "without its alternate file "
                      "fewer come from DWARF (so the check above can "
                      "fail)", got[1][0])
    finally:
        for x in planted:
            if os.path.islink(x) or os.path.isfile(x):
                os.unlink(x)
            else:
                shutil.rmtree(x, True)
        shutil.rmtree(base, True)


def suite_sandbox(h, pyheap, slot, exe, res):
    import snapfile
    confined(h, pyheap, exe, res, snapfile)
    if h.is_chroot(slot):
        container(h, pyheap, slot, res, snapfile)


def register(suites, h):
    suites["sandbox"] = lambda pyheap, slot, exe, res: \
        suite_sandbox(h, pyheap, slot, exe, res)
