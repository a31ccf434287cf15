"""The session program of `nanokernel bench ipc`: ``pipe_session.py OUT.json N_BYTES RTTS``.

It runs inside a small boot (naming, console, pipe) and measures, between
itself and a user process it spawns (this file again, as ``child``):
    throughput  the child writes N_BYTES in 64 KiB writes; timed from the child's
                first write (its clock value leads the stream) to end of file here
    rtt         64 B to the child and back, RTTS times, through two pipes
"""

from __future__ import annotations

import json
import sys
import time

from libipc import kernel
from libipc.pipe import PipeEnd, pipe

WRITE = 64 * 1024
SMALL = 64
CHILD_ACL = ["@public", "naming"]


def spawn(*args: str, ends: tuple[PipeEnd, ...]) -> dict:
    proc = kernel().spawn(argv=[__file__, "child", *args], name="pipe-bench", acl=CHILD_ACL)
    for end in ends:
        end.give(proc["ep"])
    return proc


def throughput(n: int) -> dict:
    r, w = pipe()
    spawn("write", str(w.token), str(n), ends=(w,))
    stamp = b""
    while len(stamp) < 8:
        stamp += r.read(8 - len(stamp))
    t0 = int.from_bytes(stamp, "little")
    got = 0
    while data := r.read(1 << 20):
        got += len(data)
    seconds = (time.monotonic_ns() - t0) / 1e9
    return {"bytes": got, "seconds": seconds, "writes": -(-got // WRITE)}


def rtt(count: int) -> list[int]:
    (r1, w1), (r2, w2) = pipe(), pipe()
    spawn("echo", str(r1.token), str(w2.token), str(count), ends=(r1, w2))
    msg, samples = b"m" * SMALL, []
    for _ in range(count):
        t = time.perf_counter_ns()
        w1.write(msg)
        got = b""
        while len(got) < SMALL:
            got += r2.read(SMALL - len(got))
        samples.append(time.perf_counter_ns() - t)
    return samples


def child(args: list[str]) -> None:
    if args[0] == "write":
        w, n = PipeEnd.from_token(args[1], True), int(args[2])
        block = b"x" * WRITE
        w.write(time.monotonic_ns().to_bytes(8, "little"))
        sent = 0
        while sent < n:
            sent += w.write(block[:min(WRITE, n - sent)])
        w.close()
    else:
        r, w, count = PipeEnd.from_token(args[1], False), PipeEnd.from_token(args[2], True), \
            int(args[3])
        for _ in range(count):
            got = b""
            while len(got) < SMALL:
                got += r.read(SMALL - len(got))
            w.write(got)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2:])
        sys.exit(0)
    out, n, rtts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    result = {"throughput": throughput(n), "rtt_ns": rtt(rtts)}
    with open(out, "w") as f:
        json.dump(result, f)
