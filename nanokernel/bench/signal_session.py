"""The session program of `bench ipc`'s signal-rtt: ``signal_session.py OUT.json COUNT``.

Inside a small boot it spawns this file again as ``child``, whose SIGUSR1
handler answers with SIGUSR2; each sample is one libipc.kill to the child until
the session's own SIGUSR2 handler has run.  The child is privileged only so that
it may signal its parent back (kernel/signals.py: a child may not, by default).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback

import libipc
from libipc import kernel
from libipc.runtime import current

WAIT_S = 5.0   # a lost answer fails the run instead of hanging it


def session(out: str, count: int) -> None:
    answers = [0]
    libipc.signal(signal.SIGUSR2, lambda n, f: answers.__setitem__(0, answers[0] + 1))
    rt, me = current(), kernel().whoami()["ep"]
    child = kernel().spawn(argv=[__file__, "child", str(me)], name="signal-bench",
                           privileged=True, acl=["@public", "naming"])["ep"]
    _wait_for(rt, answers, 0)   # the child's first USR2: its handler is installed
    samples = []
    for _ in range(count):
        before = answers[0]
        t = time.perf_counter_ns()
        libipc.kill(child, signal.SIGUSR1)
        _wait_for(rt, answers, before)
        samples.append(time.perf_counter_ns() - t)
    libipc.kill(child, signal.SIGKILL)
    with open(out, "w") as f:
        json.dump({"rtt_ns": samples}, f)


def _wait_for(rt, answers: list[int], before: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while answers[0] == before:   # next_event runs the handler when the NOTIFY comes
        if time.monotonic() > deadline:
            raise TimeoutError("no SIGUSR2 from the child")
        rt.next_event(WAIT_S)


def child(parent: int) -> None:
    libipc.signal(signal.SIGUSR1, lambda n, f: libipc.kill(parent, signal.SIGUSR2))
    libipc.kill(parent, signal.SIGUSR2)   # ready
    rt = current()
    while True:
        rt.next_event(None)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(int(sys.argv[2]))
    else:
        try:
            session(sys.argv[1], int(sys.argv[2]))
        except BaseException:   # the bench reports the missing result; the log says why
            traceback.print_exc()
            sys.stdout.flush()
            os._exit(1)
