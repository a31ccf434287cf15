"""labsem — counting semaphores as a server (labs/sem-server, the reference solution).

A semaphore is a count and a queue.  ``down`` takes one unit; when there is none
the caller waits — here, the server simply does not answer yet: ``ctx.defer()``
keeps the reply for later (MINIX's EDONTREPLY), the caller stays blocked in its
call, and the server goes on serving everyone else.  ``up`` gives a unit back and,
if somebody waits, answers the longest waiter's ``down`` at last (FIFO: nobody is
passed over).  Invariant: a semaphore with waiters has the value 0.

A waiter that dies must not eat a unit: the kernel drops a reply to a process
that is gone, so an ``up`` handed to a dead waiter would be lost.  The server is
privileged and asks the kernel to tell it of every exit (kernel ``watch``); a dead
process's waiting downs leave the queues (``process_exited``).  The same goes for
a timed ``down`` whose time is up: this server answers Timeout itself and the
waiter leaves the queue (a timeout on the client's side alone would leave it
there, to take a unit nobody receives).

Ops:
    create(name, value=0)       -> None   FileExists if it exists
    down(name, timeout=None)    -> None   waits while the value is 0: at most
                                          ``timeout`` s (Timeout), 0 = not at all
                                          (WouldBlock), None = as long as it takes
    up(name, n=1)               -> None   n units back, each wakes one waiter
    value(name)                 -> int
    stat(name)                  -> {value, waiters}

An unknown name is FileNotFound; a negative value, ``n`` below 1, a value past
MAX_VALUE, a bad timeout or name: InvalidArgument.  State is in memory only.
"""

from __future__ import annotations

import math
from collections import deque

from libipc import (
    Deferred,
    FileExists,
    FileNotFound,
    InvalidArgument,
    NoSpace,
    Server,
    Timeout,
    TooManyCalls,
    WouldBlock,
    kernel,
    op,
)
from libipc.message import KERNEL, NOTIFY_EXIT
from libipc.runtime import Timer

MAX_SEMS = 256
MAX_VALUE = 2**31 - 1       # POSIX's SEM_VALUE_MAX
MAX_WAITERS = 1024          # downs waiting at once, every semaphore together
MAX_TIMEOUT = 86400.0       # a day
MAX_NAME = 64


class Waiter:
    """A ``down`` that waits: the reply owed, who asked, and its timer."""

    __slots__ = ("reply", "ep", "timer")

    def __init__(self, reply: Deferred, ep: int) -> None:
        self.reply, self.ep = reply, ep
        self.timer: Timer | None = None


class Sem:
    __slots__ = ("name", "value", "waiters")

    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value
        self.waiters: deque[Waiter] = deque()


class LabSem(Server):
    name = "labsem"

    def __init__(self) -> None:
        super().__init__()
        self.sems: dict[str, Sem] = {}
        self.waiting = 0

    def start(self) -> None:
        kernel().watch(on=True)   # a NOTIFY_EXIT for every exit (privileged)

    @op
    def create(self, ctx, name: str, value: int = 0) -> None:
        _check_name(name)
        if not 0 <= value <= MAX_VALUE:
            raise InvalidArgument(f"create: value must be 0 to {MAX_VALUE}, not {value}")
        if name in self.sems:
            raise FileExists(f"create: semaphore {name!r} exists")
        if len(self.sems) >= MAX_SEMS:
            raise NoSpace(f"create: {MAX_SEMS} semaphores exist already")
        self.sems[name] = Sem(name, value)

    @op
    def down(self, ctx, name: str, timeout: float | None = None) -> None:
        sem = self._sem(name, "down")
        if timeout is not None and not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
            raise InvalidArgument(f"down: timeout must be None or 0 to {MAX_TIMEOUT:g} s, "
                                  f"not {timeout}")
        if sem.value > 0:
            sem.value -= 1
            return
        if timeout == 0:
            raise WouldBlock(f"down: {name!r} is at 0")
        if self.waiting >= MAX_WAITERS:
            raise TooManyCalls(f"down: {MAX_WAITERS} downs are waiting already")
        w = Waiter(ctx.defer(), ctx.sender.endpoint)   # no reply now: the caller waits
        if timeout is not None:
            w.timer = self.runtime.after(timeout, lambda: self._expire(sem, w, timeout))
        sem.waiters.append(w)
        self.waiting += 1

    @op
    def up(self, ctx, name: str, n: int = 1) -> None:
        sem = self._sem(name, "up")
        if n < 1:
            raise InvalidArgument(f"up: n must be at least 1, not {n}")
        if sem.value + n > MAX_VALUE:   # (the value, not the waiters: they take units)
            raise InvalidArgument(f"up: {name!r} would pass {MAX_VALUE}")
        sem.value += n
        while sem.value > 0 and sem.waiters:   # each unit wakes one waiter, oldest first
            w = sem.waiters.popleft()
            self._unwait(w)
            sem.value -= 1
            w.reply.reply(None)

    @op
    def value(self, ctx, name: str) -> int:
        return self._sem(name, "value").value

    @op
    def stat(self, ctx, name: str) -> dict:
        sem = self._sem(name, "stat")
        return {"value": sem.value, "waiters": len(sem.waiters)}

    # -- waiters that go away ----------------------------------------------------------
    def _expire(self, sem: Sem, w: Waiter, timeout: float) -> None:
        """A timed down's time is up: out of the queue, and Timeout to its caller."""
        if w in sem.waiters:
            sem.waiters.remove(w)
            self._unwait(w)
            w.reply.error(Timeout(f"down: {sem.name!r} stayed at 0 for {timeout} s"))

    def on_notify(self, src: int, bits: int) -> None:
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():   # the exit records (200 at most a call:
                self.process_exited(record["ep"])   # another NOTIFY follows if more)

    def process_exited(self, ep: int) -> None:
        """``ep`` is gone: its waiting downs leave the queues (nobody to answer)."""
        for sem in self.sems.values():
            for w in [w for w in sem.waiters if w.ep == ep]:
                sem.waiters.remove(w)
                self._unwait(w)
                w.reply.done = True   # (a reply would be dropped by the kernel anyway)

    def _unwait(self, w: Waiter) -> None:
        self.waiting -= 1
        if w.timer is not None:
            w.timer.cancel()

    def _sem(self, name: str, where: str) -> Sem:
        sem = self.sems.get(name)
        if sem is None:
            raise FileNotFound(f"{where}: no semaphore {name!r:.80} (create makes one)")
        return sem


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidArgument(f"create: a name is 1 to {MAX_NAME} printable characters, "
                              f"not {name!r:.80}")


if __name__ == "__main__":
    LabSem.main()
