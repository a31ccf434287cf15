"""Has every process stopped to wait?  What a one-message-at-a-time kernel waits for.

Seeded and replayed delivery (kernel/ordering.py) hands out the next message only
when no process is still running: otherwise a process that is still computing
would put its next message in a ready set that depends on the host's speed.  A
process waits when every one of its threads sleeps ('S', e.g. on its ring's
futex) or is stopped ('T', SIGSTOPped: it will not act either), and it sleeps
on one of its rings — for a message, or for room for a SEND (the rings' waiter
counts say so, csrc/nk_ring.h) — not in a time.sleep() or on the way out.  The
kernel reads the thread states from /proc, as ``ps`` does: no process has to
say anything, so a student's program needs no change to run deterministically.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from libipc._nkffi import lib

if TYPE_CHECKING:
    from kernel.proc import Proc

WAITING = frozenset("ST")   # sleeping (interruptibly) or stopped; R, D, Z: not yet
POLL_S = 0.0002


def thread_states(pid: int) -> str | None:
    """One letter per thread of ``pid`` (R, S, D, T, Z, ...); None once it is gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    states = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue   # a thread that just ended
        states.append(chr(stat[stat.rindex(b")") + 2]))   # the field after "(comm)"
    return "".join(states)


def process_waits(proc: Proc) -> bool:
    """Does ``proc`` wait for the kernel (or stand stopped)?  (False once it is gone:
    its exit has to be collected before anything else happens.)"""
    states = thread_states(proc.pid)
    if not states or not set(states) <= WAITING:
        return False
    if "S" not in states:
        return True   # every thread stopped
    return lib.nk_ring_waiters(proc.down) + lib.nk_ring_waiters(proc.up) > 0


def settle(procs: Iterable[Proc], deadline_s: float, stop: Callable[[], bool]) -> bool:
    """Wait until every process in ``procs`` waits (True), ``stop()`` holds or
    ``deadline_s`` passed (False).  Two whole passes must find them all waiting:
    processes can wake each other without the kernel (a pipe's or a semaphore's
    futex in memory they share), so one seen asleep may be woken by one seen later."""
    end = time.monotonic() + deadline_s
    everyone = list(procs)
    running, clear_passes = everyone, 0
    while True:
        running = [p for p in running if not process_waits(p)]
        if not running:
            clear_passes += 1
            if clear_passes == 2:
                return True
            running = everyone
            continue
        clear_passes = 0
        if stop() or time.monotonic() > end:
            return False
        time.sleep(POLL_S)
