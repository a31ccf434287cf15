"""Helpers for the ring tests: both ends of a ring, raw access to its bytes, children.

A Channel's two rings live in one memfd.  In one process, the kernel-side
Channel and a process-side Channel attached to the same fd hold both ends of
each ring, each end with its own private indices — exactly what two
processes would have.  `RingEnds` names them.

`RawRing` maps the same memfd a third time so a test can scribble on a ring's
shared fields; the offsets come from the C compiler (`nk_ring_layout`), never
from a copy in Python.

`Child` runs a function in a forked process that can never outlive its test:
it arms alarm() on itself, and the parent kills and reaps it on exit.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from libipc._nkffi import ffi, lib

from libipc.channel import Channel
from libipc.ring import Ring
from tests.conftest import wait_until

SMALL_CAPACITY = 4096   # data bytes per ring: max record 2040, wraps come quickly

_fork = multiprocessing.get_context("fork")


def ring_layout() -> tuple[int, int, int]:
    """(head offset, tail offset, data offset) inside one ring's shared bytes."""
    offs = ffi.new("uint64_t[3]")
    lib.nk_ring_layout(offs, offs + 1, offs + 2)
    return offs[0], offs[1], offs[2]


HEAD_OFF, TAIL_OFF, DATA_OFF = ring_layout()


@dataclass
class RingEnds:
    """The two ends of one ring, and the channels that hold them."""

    producer: Ring
    consumer: Ring
    base: int          # offset of this ring inside the memfd
    kernel: Channel
    process: Channel


class Channels:
    """A kernel-side channel and a process-side channel over the same memfd."""

    def __init__(self, capacity: int) -> None:
        self.kernel = Channel.create(capacity)
        self.process = Channel.attach(os.dup(self.kernel.fd))
        half = self.kernel.size // 2
        self.down = RingEnds(self.kernel.send, self.process.recv, half, self.kernel, self.process)
        self.up = RingEnds(self.process.send, self.kernel.recv, 0, self.kernel, self.process)

    def close(self) -> None:
        self.process.close()
        self.kernel.close()


class RawRing:
    """Raw little-endian access to one ring's shared bytes (for corrupting them)."""

    def __init__(self, fd: int, base: int, size: int) -> None:
        self._mm = mmap.mmap(fd, size)
        self.base = base

    def u64(self, off: int) -> int:
        return struct.unpack_from("<Q", self._mm, self.base + off)[0]

    def set_u64(self, off: int, value: int) -> None:
        struct.pack_into("<Q", self._mm, self.base + off, value)

    def set_u32(self, off: int, value: int) -> None:
        struct.pack_into("<I", self._mm, self.base + off, value)

    @property
    def head(self) -> int:
        return self.u64(HEAD_OFF)

    @property
    def tail(self) -> int:
        return self.u64(TAIL_OFF)

    def close(self) -> None:
        self._mm.close()


class Child:
    """``target(*args)`` in a forked process; exit status 0 means it passed.

    The child ends itself after ``limit`` seconds (SIGALRM) even if this
    process dies; leaving the ``with`` block kills and reaps it in any case.
    """

    def __init__(self, target: Callable[..., None], *args, limit: float = 30.0) -> None:
        self.proc = _fork.Process(target=_child_main, args=(target, args, limit), daemon=True)

    def __enter__(self) -> Child:
        self.proc.start()
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def join(self, timeout: float) -> int:
        """Wait for the child to end; fail the test if it has not within ``timeout``."""
        self.proc.join(timeout)
        if self.proc.exitcode is None:
            pytest.fail(f"child {self.pid} still running after {timeout} s")
        return self.proc.exitcode

    def __exit__(self, *exc) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


def _child_main(target: Callable[..., None], args: tuple, limit: float) -> None:
    signal.alarm(max(1, int(limit)))
    target(*args)


def proc_state(pid: int) -> str:
    """The one-letter scheduler state of ``pid`` (R running, S sleeping, …)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far, from /proc (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` until truthy (every 5 ms); fail the test at the deadline."""
    return wait_until(predicate, timeout, interval=0.005, what=what)
