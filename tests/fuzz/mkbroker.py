#!/usr/bin/env python3
"""Seeds for fuzz_broker (tests/fuzz/fuzz_broker.c): conversations a
parsing process has with its parent, in the fuzzer's framing (each
datagram a little-endian u16 length and its bytes; a datagram is the
header struct msg {u32 type, u32 len, i64 a, i64 b} and its payload).

    tests/fuzz/mkbroker.py tests/fuzz/corpus/broker
"""
import os
import struct
import sys

ROOT = b"/tmp/pyheap-fuzz-broker"  # fuzz_broker.c make_root()
OPEN, READ, PUT, ERROR, STATUS, DONE, ALIVE, STOP, RESUME = range(1, 10)


def msg(t, payload=b"", a=0, b=0):
    return struct.pack("<IIqq", t, len(payload), a, b) + payload


def frame(*msgs):
    return b"".join(struct.pack("<H", len(m)) + m for m in msgs)


def main(out):
    os.makedirs(out, exist_ok=True)
    prom = (b"pyheap_objects\0Objects.\0"
            b"pyheap_objects{program=\"x\",pid=\"1\"} 5\n\0")
    seeds = {
        "open-root": frame(msg(OPEN, ROOT + b"/lib.so"), msg(DONE)),
        "open-null": frame(msg(OPEN, b"/dev/null"), msg(DONE)),
        "open-escape": frame(msg(OPEN, ROOT + b"/escape"),
                             msg(OPEN, ROOT + b"/up"),
                             msg(OPEN, ROOT + b"/../../etc/passwd"),
                             msg(OPEN, ROOT + b"/secret"),
                             msg(OPEN, ROOT + b"/fifo"), msg(DONE)),
        "read": frame(msg(READ, a=0x1000, b=64), msg(DONE)),
        "put-prom": frame(msg(PUT, prom, a=1), msg(PUT, b"x\n", a=0),
                          msg(DONE)),
        "error": frame(msg(ERROR, b"cannot read: something", a=3)),
        "alive-stop": frame(msg(ALIVE), msg(STOP), msg(RESUME)),
        "truncated": frame(msg(OPEN, b"/x")[:20]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
