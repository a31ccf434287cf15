"""Spinning that fits the machine: a waiter spins only while its peer runs on another CPU.

Each side of a channel publishes a "running" word (CPU + 1 while it runs, 0 while
it waits) on the ring it consumes; ``nk_wait_any`` reads the peer's word before
and while it spins (csrc/nk_wait_any.c).  These tests give the waiter a spin
budget far longer than the wait and measure what matters — the waiter's CPU
time, from /proc — with the peer asleep, with the peer busy on another CPU (the
control: spinning does happen), and with both on one CPU.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

import pytest
from libipc._nkffi import ffi, lib

from libipc.channel import Channel
from tests.ring.ringtools import Child

WAIT_S = 1.0
SPIN_BUDGET_NS = 10_000_000_000   # 10 s of allowed spinning: only the peer's word limits it


def wait_once(chan: Channel, timeout_s: float) -> dict:
    """One nk_wait_any on the channel's receive ring with a huge spin budget."""
    rd = ffi.new("nk_ring *[1]", [chan.recv.cdata])
    bell, ready = ffi.new("uint32_t *"), ffi.new("uint32_t[1]")
    cpu0, t0 = time.process_time(), time.monotonic()
    lib.nk_wait_any(rd, 1, ffi.NULL, ffi.NULL, 0, bell, 0, SPIN_BUDGET_NS,
                    int(timeout_s * 1e9), ready)
    return {"cpu": time.process_time() - cpu0, "wall": time.monotonic() - t0,
            "spins": chan.recv.cdata.spins}


def child_waits(fd: int, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    chan = Channel.attach(os.dup(fd))
    chan.send.put(json.dumps({"ready": True}).encode(), timeout=10)
    chan.recv.get(timeout=10)                    # "go": the peer's word is set by now
    facts = wait_once(chan, WAIT_S)
    chan.send.put(json.dumps(facts).encode(), timeout=10)


def run_peer(chan: Channel, busy: bool) -> dict:
    """The kernel side: mark itself running (one wait that returns), then either
    spin on the CPU (busy) or go to sleep in a wait (not running)."""
    assert {"ready": True} == json.loads(chan.recv.get(timeout=10))
    chan.send.put(b"go")
    if busy:
        wait_once_returning_at_once(chan)          # publishes "running on my CPU"
        end = time.monotonic() + WAIT_S + 0.5
        while time.monotonic() < end:
            pass
    facts = chan.recv.get(timeout=WAIT_S + 10)     # a waiting peer: its word is 0
    return json.loads(facts)


def wait_once_returning_at_once(chan: Channel) -> None:
    rd = ffi.new("nk_ring *[1]", [chan.recv.cdata])
    bell, ready = ffi.new("uint32_t *"), ffi.new("uint32_t[1]")
    lib.nk_bell_ring(bell)   # the bell moved: the wait returns after publishing the word
    lib.nk_wait_any(rd, 1, ffi.NULL, ffi.NULL, 0, bell, 0, 0, 1_000_000, ready)


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@contextmanager
def pinned(cpu: int):
    """This process on ``cpu`` for the block (the peer side of the channel)."""
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


def peer_busy_with_waiter_on(mine: int, theirs: int) -> dict:
    """The peer busy on CPU ``mine`` while the waiter waits on CPU ``theirs``."""
    with pinned(mine), Channel.create(4096) as chan, \
            Child(child_waits, chan.fd, theirs) as child:
        facts = run_peer(chan, busy=True)
        assert 0 == child.join(10)
    return facts


class TestRunningWord:
    def test_a_waiter_whose_peer_waits_sleeps_at_once(self):
        """Peer asleep: a one-second wait with a 10 s spin budget costs almost no CPU."""
        with Channel.create(4096) as chan, Child(child_waits, chan.fd, None) as child:
            facts = run_peer(chan, busy=False)
            assert 0 == child.join(10)
        assert WAIT_S <= facts["wall"] + 0.01
        assert facts["cpu"] < 0.1 * facts["wall"], facts
        assert 0 == facts["spins"]

    def test_a_waiter_whose_peer_shares_its_cpu_sleeps_at_once(self):
        """Peer busy on the waiter's own CPU: spinning could only delay it, so no spin."""
        cpu = cpus()[0]
        facts = peer_busy_with_waiter_on(cpu, cpu)
        assert facts["cpu"] < 0.1 * facts["wall"], facts

    @pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
    def test_a_waiter_whose_peer_runs_elsewhere_spins(self):
        """The control: with the peer busy on another CPU the waiter does spin (so the
        tests above could fail), and stops once the peer stops running."""
        facts = peer_busy_with_waiter_on(cpus()[0], cpus()[1])
        assert facts["cpu"] > 0.5 * facts["wall"], facts
