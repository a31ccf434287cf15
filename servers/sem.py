"""sem — named counting semaphores as a user-space server.

MINIX 3 keeps System V semaphores in its ``ipc`` server, outside the kernel;
this server does the same for POSIX's named semaphores (sem_overview(7):
sem_open, sem_wait, sem_timedwait, sem_trywait, sem_post, sem_getvalue,
sem_close, sem_unlink).  Programs use ``libipc.Semaphore`` (libipc/sem.py).

Semantics:
    acquire   takes one unit when the value is above 0; otherwise the call
              waits (a deferred reply) — at most ``timeout`` seconds, after
              which this server answers Timeout itself (a timer here, not the
              client's call timeout: see servers/named_ipc.py); timeout=0 does
              not wait (WouldBlock)
    release   gives one unit back and wakes exactly one waiter, the one that
              has waited longest (FIFO: no waiter is passed over)
    invariant a semaphore with waiters has the value 0
Dead holders (System V's SEM_UNDO, per handle): each handle counts the units it
took and has not given back (``held``; a release by a handle that holds none —
a producer's — is not counted).  When the handle is closed, or its process
dies, an ``undo`` handle (the default) gives its units back, and the waiters
get them: a waiter never hangs because the process holding the semaphore died.
A handle opened with ``undo=False`` (a semaphore that counts events from a
producer to a consumer, whose acquisitions are never given back) keeps its
units taken.

Ops (``handle`` is a number from ``open``, usable only by the process that opened it):
    open(name, create=False, exclusive=False, initial=0, undo=True)
                                → {handle, name, value}
    acquire(handle, timeout=None, seq=0) → None     (waits; WouldBlock, Timeout)
    release(handle)             → None
    value(handle)               → int
    stat(handle)                → {name, value, waiters, opens, held, undo, unlinked}
    close(handle)               → None   (gives back what an undo handle holds)
    unlink(name)                → None   (the name goes now, the semaphore with its last handle)
    list()                      → [{name, value, waiters, opens}]
    withdraw(handle, seq)       (a SEND from libipc: an acquire the caller gave up on)

Limits: MAX_SEMAPHORES semaphores, MAX_HANDLES open handles, MAX_WAITERS waiting
acquires (every process together), values up to SEM_VALUE_MAX.  Everything is in
this process's memory: if the sem server dies its semaphores die with it —
waiting acquires get ServerDied at once, and the restarted server knows no
semaphore and no handle (libipc says ServerDied for a handle of the old one).
"""

from __future__ import annotations

from collections import deque

from libipc import (
    Deferred,
    FileExists,
    FileNotFound,
    InvalidArgument,
    NoSpace,
    Timeout,
    TooManyCalls,
    WouldBlock,
    op,
)
from servers.named_ipc import Handles, WatchesExits, canonical_name, check_timeout

MAX_SEMAPHORES = 1024
MAX_WAITERS = 4096          # acquires waiting at once, every semaphore together
SEM_VALUE_MAX = 2**31 - 1   # POSIX's SEM_VALUE_MAX (at least 32767)
RECENT = 8                  # grants per handle remembered for a withdraw


class Sem:
    __slots__ = ("name", "value", "waiters", "opens", "unlinked")

    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value
        self.waiters: deque[Waiter] = deque()
        self.opens = 0
        self.unlinked = False


class Handle:
    __slots__ = ("token", "sem", "holder", "undo", "held", "recent")

    def __init__(self, sem: Sem, holder: int, undo: bool) -> None:
        self.token = 0
        self.sem, self.holder, self.undo = sem, holder, undo
        self.held = 0                             # units taken and not given back
        self.recent: deque[int] = deque(maxlen=RECENT)   # seqs of the last grants


class Waiter:
    __slots__ = ("deferred", "handle", "seq", "timer", "timeout")

    def __init__(self, deferred: Deferred, handle: Handle, seq: int,
                 timeout: float | None) -> None:
        self.deferred, self.handle, self.seq, self.timeout = deferred, handle, seq, timeout
        self.timer = None


class SemServer(WatchesExits):
    name = "sem"

    def __init__(self) -> None:
        super().__init__()
        self.sems: dict[str, Sem] = {}   # by name (an unlinked one lives on in its handles)
        self.handles = Handles("semaphore")
        self.waiting = 0

    # -- opening ---------------------------------------------------------------------
    @op
    def open(self, ctx, name: str, create: bool = False, exclusive: bool = False,
             initial: int = 0, undo: bool = True) -> dict:
        """sem_open(3): the semaphore ``name``, made with ``initial`` if ``create``."""
        key = canonical_name(name, "open")
        if exclusive and not create:
            raise InvalidArgument("open: exclusive=True needs create=True")
        if not 0 <= initial <= SEM_VALUE_MAX:
            raise InvalidArgument(f"open: initial must be 0 to {SEM_VALUE_MAX}, not {initial}")
        sem = self.sems.get(key)
        if sem is not None and exclusive:
            raise FileExists(f"open: semaphore {key} exists")
        if sem is None and not create:
            raise FileNotFound(f"open: no semaphore {key} (create=True makes it)")
        if sem is None and len(self.sems) >= MAX_SEMAPHORES:
            raise NoSpace(f"open: {MAX_SEMAPHORES} semaphores exist already")
        handle = Handle(sem or Sem(key, initial), ctx.sender.endpoint, undo)
        token = self.handles.add(handle)   # (NoSpace before anything is made)
        sem = self.sems[key] = handle.sem
        sem.opens += 1
        return {"handle": token, "name": key, "value": sem.value}

    # -- waiting and waking ----------------------------------------------------------
    @op
    def acquire(self, ctx, handle: int, timeout: float | None = None, seq: int = 0) -> None:
        """sem_wait / sem_timedwait / sem_trywait (timeout=0)."""
        h = self.handles.get(handle, ctx.sender.endpoint, "acquire")
        check_timeout(timeout, "acquire")
        sem = h.sem
        if sem.value > 0:   # (nobody waits then: the invariant)
            self._grant(h, seq)
            return None
        if timeout == 0:
            raise WouldBlock(f"acquire: {sem.name} is at 0")
        if self.waiting >= MAX_WAITERS:
            raise TooManyCalls(f"acquire: {MAX_WAITERS} acquires are waiting already")
        w = Waiter(ctx.defer(), h, seq, timeout)
        if timeout is not None:
            w.timer = self.runtime.after(timeout, lambda: self._expire(w))
        sem.waiters.append(w)
        self.waiting += 1
        return None

    @op
    def release(self, ctx, handle: int) -> None:
        """sem_post(3): one unit back; the longest waiter, if any, takes it."""
        h = self.handles.get(handle, ctx.sender.endpoint, "release")
        if h.sem.value >= SEM_VALUE_MAX:
            raise InvalidArgument(f"release: {h.sem.name} is at SEM_VALUE_MAX "
                                  f"({SEM_VALUE_MAX})")
        if h.held:
            h.held -= 1
        self._give(h.sem, 1)

    def _grant(self, h: Handle, seq: int) -> None:
        h.sem.value -= 1
        h.held += 1
        if seq:
            h.recent.append(seq)

    def _give(self, sem: Sem, n: int) -> None:
        """``n`` units back to ``sem``; each wakes one waiter, oldest first."""
        sem.value = min(SEM_VALUE_MAX, sem.value + n)
        while sem.value > 0 and sem.waiters:
            w = sem.waiters.popleft()
            self._unwait(w)
            self._grant(w.handle, w.seq)
            w.deferred.reply(None)

    def _unwait(self, w: Waiter) -> None:
        self.waiting -= 1
        if w.timer is not None:
            w.timer.cancel()

    def _expire(self, w: Waiter) -> None:
        """A timed acquire's time is up: this server answers Timeout itself."""
        waiters = w.handle.sem.waiters
        if w in waiters:
            waiters.remove(w)
            self._unwait(w)
            w.deferred.error(Timeout(f"acquire: {w.handle.sem.name} stayed at 0 for "
                                     f"{w.timeout} s"))

    @op
    def withdraw(self, ctx, handle: int, seq: int) -> None:
        """libipc's word that the caller gave up on acquire ``seq`` (its own timeout, a
        signal): dropped if it still waits, its unit given back if it was granted —
        the caller never saw that reply."""
        h = self.handles.find(handle, ctx.sender.endpoint)
        if h is None or not seq:
            return
        for w in h.sem.waiters:
            if w.handle is h and w.seq == seq:
                h.sem.waiters.remove(w)
                self._unwait(w)
                w.deferred.done = True   # (its caller is gone: no answer)
                return
        if seq in h.recent:
            h.recent.remove(seq)
            h.held = max(0, h.held - 1)
            self._give(h.sem, 1)

    # -- looking ---------------------------------------------------------------------
    @op
    def value(self, ctx, handle: int) -> int:
        """sem_getvalue(3) (never below 0: waiters are counted in ``stat``)."""
        return self.handles.get(handle, ctx.sender.endpoint, "value").sem.value

    @op
    def stat(self, ctx, handle: int) -> dict:
        h = self.handles.get(handle, ctx.sender.endpoint, "stat")
        s = h.sem
        return {"name": s.name, "value": s.value, "waiters": len(s.waiters), "opens": s.opens,
                "held": h.held, "undo": h.undo, "unlinked": s.unlinked}

    @op
    def list(self, ctx) -> list:
        """Every named semaphore (not the unlinked ones still open)."""
        return [{"name": s.name, "value": s.value, "waiters": len(s.waiters), "opens": s.opens}
                for s in sorted(self.sems.values(), key=lambda s: s.name)]

    # -- closing ---------------------------------------------------------------------
    @op
    def close(self, ctx, handle: int) -> None:
        """sem_close(3); an undo handle gives back the units it holds."""
        self._close(self.handles.get(handle, ctx.sender.endpoint, "close"))

    @op
    def unlink(self, ctx, name: str) -> None:
        """sem_unlink(3): the name goes now; the semaphore when its last handle closes."""
        key = canonical_name(name, "unlink")
        sem = self.sems.pop(key, None)
        if sem is None:
            raise FileNotFound(f"unlink: no semaphore {key}")
        sem.unlinked = True

    def _close(self, h: Handle, dead: bool = False) -> None:
        self.handles.remove(h)
        sem = h.sem
        for w in [w for w in sem.waiters if w.handle is h]:   # (another thread's call)
            sem.waiters.remove(w)
            self._unwait(w)
            if dead:
                w.deferred.done = True   # (nobody to answer)
            else:
                w.deferred.error(InvalidArgument(f"acquire: {sem.name}'s handle was closed"))
        sem.opens -= 1
        if h.undo and h.held:
            self._give(sem, h.held)   # SEM_UNDO: what it held goes to the waiters
        h.held = 0   # (an unlinked semaphore goes with its last handle: nothing refers to it)

    def process_exited(self, endpoint: int) -> None:
        """A process died: its handles close for it (an undo handle's units go back),
        its waiting acquires are dropped."""
        for h in self.handles.held_by(endpoint):
            self._close(h, dead=True)


if __name__ == "__main__":
    SemServer.main()
