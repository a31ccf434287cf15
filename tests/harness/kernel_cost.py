"""Python cost of the kernel's router per routed round trip, in one process.

    .venv/bin/python tests/harness/kernel_cost.py [N]

A real ``Kernel`` with two table entries over real channels (no processes behind
them: the harness plays both ends).  One round trip: a CALL put on A's ring, one
kernel step routes it to B; B's REPLY put on B's ring, one step routes it back.
Nothing waits (each step finds its message), so what is left is the kernel's own
Python: the loop, the admission checks, the forward, the book-keeping.  Prints the
best of several runs in µs per round trip.  Not a test: nothing is asserted.
"""

from __future__ import annotations

import gc
import os
import sys
import time

from libipc._nkffi import ffi, lib

from kernel import endpoint as ep
from kernel.kernel import Kernel
from kernel.proc import Proc
from libipc.channel import Channel
from libipc.message import CALL, REPLY, pack


def entry(k: Kernel, slot: int, name: str) -> tuple[Proc, Channel]:
    chan = Channel.create(k.ring_capacity, name=name)
    k.generation[slot] += 1
    proc = Proc(ep.make(slot, k.generation[slot]), slot, name, chan, None, 0, False,
                frozenset(["*"]), False)
    k.enter(proc)
    return proc, Channel.attach(os.dup(chan.fd))


def main(n: int, c_path: bool) -> None:
    k = Kernel(c_path=c_path)
    a, a_side = entry(k, ep.FIRST_DYNAMIC, "a")
    b, b_side = entry(k, ep.FIRST_DYNAMIC + 1, "b")
    call, reply = pack(["ping", {"text": "x" * 64}]), pack("x" * 64)
    hdr, buf = ffi.new("nk_msg_header *"), ffi.new("uint8_t[]", 70000)
    ids = iter(range(1, 1 << 62))

    def round_trip() -> None:
        i = next(ids)
        lib.nk_msg_put(a_side.send.cdata, b.endpoint, CALL, 0, i, call, len(call))
        k.step(timeout=0)   # (no wait: nk_route_loop would wait for the next message)
        assert lib.nk_msg_get(b_side.recv.cdata, hdr, buf, 70000) > 0
        lib.nk_msg_put(b_side.send.cdata, a.endpoint, REPLY, 0, i, reply, len(reply))
        k.step(timeout=0)   # (no wait: nk_route_loop would wait for the next message)
        assert lib.nk_msg_get(a_side.recv.cdata, hdr, buf, 70000) > 0 and hdr.kind == REPLY

    gc.disable()
    for _ in range(n // 10):
        round_trip()
    best = min(_timed(round_trip, n) for _ in range(5))
    path = "C forward path" if c_path else "Python path (NK_ROUTER=python)"
    print(f"kernel per routed round trip, {path}: {best:.2f} µs (best of 5 × {n})")


def _timed(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for c_path in (False, True):
        main(rounds, c_path)
