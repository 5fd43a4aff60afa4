#!/usr/bin/env python3
"""Write the seeds of fuzz_core (tests/fuzz/corpus/core): small x86_64 ELF
cores made from the layouts target/core.c reads, so the fuzzer starts
from files that open.  python3 tests/fuzz/mkcore.py [DIR]

  full.core    notes NT_PRSTATUS (2 threads), NT_PRPSINFO, NT_AUXV
               (AT_ENTRY in the executable, AT_SYSINFO_EHDR), NT_FILE (the
               executable, twice, and a library); segments: the
               executable's first page (an ELF header with a build-id
               note), its data (held), an anonymous heap (held), a stack
               (held) and a mapping the core does not hold
  gdb.core     the same without segments for the file mappings it does
               not hold (as gcore writes them): NT_FILE alone names them
  bare.core    one thread, one held segment, no NT_FILE
"""
import os
import struct
import sys

PAGE = 4096


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def prstatus(tid, sp):
    regs = [0] * 27
    regs[19] = sp
    regs[21] = 0x7f0000001740 + tid
    b = bytearray(336)
    struct.pack_into("<I", b, 32, tid)
    struct.pack_into("<27Q", b, 112, *regs)
    return bytes(b)


def prpsinfo(pid, args):
    b = bytearray(136)
    struct.pack_into("<I", b, 24, pid)
    b[40:40 + 7] = b"python3"
    b[56:56 + len(args)] = args
    return bytes(b)


def elf_header_page(build_id):
    """An ET_DYN ELF header, two program headers (PT_LOAD, PT_NOTE) and a
    GNU build-id note, in one page."""
    page = bytearray(PAGE)
    eh = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9,
                     3, 62, 1, 0x1000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    page[:64] = eh
    desc = note("GNU", 3, build_id)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, 0x3000, 0x3000, PAGE)
    pnote = struct.pack("<IIQQQQQQ", 4, 4, 176, 176, 176, len(desc), len(desc), 4)
    page[64:120] = load
    page[120:176] = pnote
    page[176:176 + len(desc)] = desc
    return bytes(page)


def core(segments, notes):
    """segments: (vaddr, memsz, flags, data or None)."""
    phnum = 1 + len(segments)
    off = 64 + 56 * phnum
    body = b"".join(notes)
    ph = [struct.pack("<IIQQQQQQ", 4, 4, off, 0, 0, len(body), 0, 1)]
    off += len(body)
    datas = []
    for vaddr, memsz, flags, data in segments:
        n = len(data) if data else 0
        ph.append(struct.pack("<IIQQQQQQ", 1, flags, off, vaddr, 0, n,
                              memsz, 1))
        datas.append(data or b"")
        off += n
    # Past 65534 program headers: PN_XNUM, the count in section 0.
    xnum = phnum >= 0xffff
    shoff = off if xnum else 0
    eh = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9,
                     4, 62, 1, 0, 64, shoff, 0, 64, 56,
                     0xffff if xnum else phnum, 64, 1 if xnum else 0, 0)
    sh = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, phnum, 0, 0) \
        if xnum else b""
    return eh + b"".join(ph) + body + b"".join(datas) + sh


def nt_file(entries):
    head = struct.pack("<QQ", len(entries), PAGE)
    tri = b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _ in entries)
    names = b"".join(p.encode() + b"\0" for _, _, _, p in entries)
    return head + tri + names


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "core")
    os.makedirs(out, exist_ok=True)
    exe, lib = 0x555555554000, 0x7f0000100000
    heap, stack = 0x555556000000, 0x7ffd00000000
    files = [(exe, exe + PAGE, 0, "/usr/bin/python3"),
             (exe + PAGE, exe + 3 * PAGE, 1, "/usr/bin/python3"),
             (lib, lib + 2 * PAGE, 0, "/usr/lib/libpython3.so")]
    auxv = struct.pack("<6Q", 9, exe + 0x1000, 33, 0x7ffd10000000, 0, 0)
    notes = [note("CORE", 1, prstatus(100, stack + 0x800)),
             note("CORE", 1, prstatus(101, heap + 0x100)),
             note("CORE", 3, prpsinfo(100, b"python3 app.py")),
             note("CORE", 6, auxv),
             note("CORE", 0x46494c45, nt_file(files))]
    hdr = elf_header_page(bytes(range(20)))
    heapdata = bytes((i * 7) & 0xff for i in range(2 * PAGE))
    full = core([(exe, PAGE, 4, hdr),
                 (exe + PAGE, 2 * PAGE, 6, b"\x11" * (2 * PAGE)),
                 (heap, 2 * PAGE, 6, heapdata),
                 (lib, 2 * PAGE, 4, None),
                 (stack, PAGE, 6, b"\x22" * PAGE)], notes)
    gdb = core([(exe, PAGE, 4, hdr), (heap, 2 * PAGE, 6, heapdata),
                (stack, PAGE, 6, b"\x22" * PAGE)], notes)
    bare = core([(heap, PAGE, 6, heapdata[:PAGE])],
                [note("CORE", 1, prstatus(7, heap + 8))])
    for name, data in (("full.core", full), ("gdb.core", gdb),
                       ("bare.core", bare)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-10s %6d bytes" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
