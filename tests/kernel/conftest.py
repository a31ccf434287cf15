"""The in-process kernel fixture: a real ``Kernel`` stepped by the test, with real
channels (memfds) and real child processes (`sleep`) behind each table entry.
It runs every test twice: on the forward path in C and on the Python path
(``c_path=False``, what ``NK_ROUTER=python`` boots) — one router, two paths,
the same behaviour."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
from libipc._nkffi import lib

from kernel import endpoint as ep
from kernel.kernel import Kernel
from kernel.proc import Proc
from libipc.channel import PROCESS, Channel

FILLER = b"x" * 1000


@pytest.fixture(params=["c", "python"])
def table(request):
    """``add(name)`` → (Proc, the process side of its channel); all torn down after."""
    k = Kernel(ring_capacity=64 * 1024, c_path=request.param == "c")
    made: list[tuple[subprocess.Popen, Channel]] = []

    def add(name: str) -> tuple[Proc, Channel]:
        slot = ep.FIRST_DYNAMIC + len(made)
        chan = Channel.create(k.ring_capacity, name=name)
        side = Channel(os.dup(chan.fd), PROCESS, owns_fd=True)
        child = subprocess.Popen(["sleep", "60"])
        made.append((child, side))
        proc = Proc(ep.make(slot, 1), slot, name, chan, child, 0, False, frozenset({"*"}))
        k.enter(proc)
        threading.Thread(target=k._reap, args=(proc,), daemon=True).start()
        return proc, side

    yield k, add
    for child, side in made:
        child.kill()
        child.wait()
        side.close()
    k.close()


def fill(ring) -> None:
    while lib.nk_ring_put(ring, FILLER, len(FILLER)) >= 0:
        pass
