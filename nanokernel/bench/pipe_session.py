"""The session program of `nanokernel bench ipc`: ``pipe_session.py OUT.json N_BYTES RTTS CPUS``.

It runs inside a small boot (naming, console, pipe) and measures, between
itself and a user process it spawns (this file again, as ``child``):
    throughput  the child writes N_BYTES in 64 KiB writes; timed from the child's
                first write (its clock value leads the stream) to end of file here
    rtt         64 B to the child and back, RTTS times, through two pipes
each twice: with the ends mapping the pipe's region ("region", what libipc.pipe
does) and with every byte in read/write calls to the pipe server ("calls",
libipc.pipe.MAP_REGIONS = False).  CPUS is "-" (nothing to pin: the bench
pinned the whole boot, or nothing) or "R:W", the CPU lists this process (the
reader, the timing side) and the child (the writer, the echo) pin themselves to.
"""

from __future__ import annotations

import json
import sys
import time

import libipc.pipe
from libipc import kernel
from libipc.pipe import PipeEnd, pipe
from nanokernel.bench.placement import pin

WRITE = 64 * 1024
SMALL = 64
CHILD_ACL = ["@public", "naming"]


def spawn(*args: str, ends: tuple[PipeEnd, ...]) -> dict:
    proc = kernel().spawn(argv=[__file__, "child", *args], name="pipe-bench", acl=CHILD_ACL)
    for end in ends:
        end.give(proc["ep"])
    return proc


def throughput(n: int, path: str, cpus: str) -> dict:
    r, w = pipe()
    spawn(path, cpus, "write", str(w.token), str(n), ends=(w,))
    stamp = b""
    while len(stamp) < 8:
        stamp += r.read(8 - len(stamp))
    t0 = int.from_bytes(stamp, "little")
    got = 0
    while data := r.read(1 << 20):
        got += len(data)
    seconds = (time.monotonic_ns() - t0) / 1e9
    return {"bytes": got, "seconds": seconds, "writes": -(-got // WRITE)}


def rtt(count: int, path: str, cpus: str) -> list[int]:
    (r1, w1), (r2, w2) = pipe(), pipe()
    spawn(path, cpus, "echo", str(r1.token), str(w2.token), str(count), ends=(r1, w2))
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
    path, cpus, mode = args[0], args[1], args[2]
    libipc.pipe.MAP_REGIONS = path == "region"
    if cpus != "-":
        pin(0, _cpus(cpus.split(":")[1]))
    if mode == "write":
        w, n = PipeEnd.from_token(args[3], True), int(args[4])
        block = b"x" * WRITE
        warm(w)
        w.write(time.monotonic_ns().to_bytes(8, "little"))
        sent = 0
        while sent < n:
            sent += w.write(block[:min(WRITE, n - sent)])
        w.close()
    else:
        r, w, count = PipeEnd.from_token(args[3], False), PipeEnd.from_token(args[4], True), \
            int(args[5])
        warm(r)
        warm(w)
        for _ in range(count):
            got = b""
            while len(got) < SMALL:
                got += r.read(SMALL - len(got))
            w.write(got)


def warm(end: PipeEnd) -> None:
    """An end's one-time costs before the clock starts, as the host peers' fds have none:
    the pipe server looked up and, on the region path, the region mapped (a zero-byte
    write maps it; docs/ipc.md gives what this first use costs)."""
    end.stat()
    if end.writing:
        end.write(b"")
    else:
        end.blocked()


def _cpus(text: str) -> set[int]:
    return {int(c) for c in text.split(",")}


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2:])
        sys.exit(0)
    out, n, rtts, cpus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if cpus != "-":
        pin(0, _cpus(cpus.split(":")[0]))
    result = {}
    for path in ("region", "calls"):
        libipc.pipe.MAP_REGIONS = path == "region"
        result[path] = {"throughput": throughput(n, path, cpus), "rtt_ns": rtt(rtts, path, cpus)}
    with open(out, "w") as f:
        json.dump(result, f)
