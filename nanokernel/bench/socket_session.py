"""The session program of `bench ipc`'s socket rows: ``socket_session.py OUT.json N_BYTES RTTS``.

Inside a small boot (naming, console, net) it listens, spawns this file again as
``child``, which connects, and measures between the two:
    throughput  the child sends N_BYTES in 64 KiB sends; timed from the child's
                first send (its clock value leads the stream) to end of stream here
    rtt         64 B to the child and back, RTTS times, over one stream
"""

from __future__ import annotations

import json
import sys
import time

import libipc
from libipc import kernel

WRITE = 64 * 1024
SMALL = 64
NAME = "bench"
CHILD_ACL = ["@public", "naming"]


def accept_child(listener, *args: str):
    kernel().spawn(argv=[__file__, "child", *args], name="socket-bench", acl=CHILD_ACL)
    return listener.accept(timeout=30)


def throughput(listener, n: int) -> dict:
    s = accept_child(listener, "send", str(n))
    stamp = b""
    while len(stamp) < 8:
        stamp += s.recv(8 - len(stamp))
    t0 = int.from_bytes(stamp, "little")
    buf, got = bytearray(1 << 20), 0
    while k := s.recv_into(buf):
        got += k
    seconds = (time.monotonic_ns() - t0) / 1e9
    s.close()
    return {"bytes": got, "seconds": seconds}


def rtt(listener, count: int) -> list[int]:
    s = accept_child(listener, "echo", str(count))
    msg, samples = b"m" * SMALL, []
    for _ in range(count):
        t = time.perf_counter_ns()
        s.send(msg)
        got = b""
        while len(got) < SMALL:
            got += s.recv(SMALL - len(got))
        samples.append(time.perf_counter_ns() - t)
    s.close()
    return samples


def child(mode: str, n: int) -> None:
    s = libipc.connect(NAME, timeout=30)
    if mode == "send":
        block = b"x" * WRITE
        s.send(time.monotonic_ns().to_bytes(8, "little"))
        sent = 0
        while sent < n:
            sent += s.send(block[:min(WRITE, n - sent)])
    else:
        for _ in range(n):
            got = b""
            while len(got) < SMALL:
                got += s.recv(SMALL - len(got))
            s.send(got)
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    out, n, rtts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with libipc.listen(NAME) as listener:
        result = {"throughput": throughput(listener, n), "rtt_ns": rtt(listener, rtts)}
    with open(out, "w") as f:
        json.dump(result, f)
