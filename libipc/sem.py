"""libipc.sem — named counting semaphores, kept by the sem server (servers/sem.py).

    from libipc import Semaphore

    lock = Semaphore("/lock", create=True, initial=1)
    lock.acquire()              # waits while the value is 0 (FIFO: the longest waiter first)
    try:
        ...                     # (or: ``with lock: ...``)
    finally:
        lock.release()          # wakes exactly one waiter
    lock.acquire(timeout=0)     # WouldBlock at 0;  timeout=2.5: Timeout after 2.5 s
    lock.value                  # the value now
    lock.unlink(); lock.close()   # or libipc.sem.unlink("/lock")

POSIX's named semaphores (sem_overview(7)): ``open`` without ``create`` of a
name that does not exist is FileNotFound, ``create=True, exclusive=True`` of one
that does is FileExists, ``initial`` counts only when it is made.  Dead holders:
units a handle took and did not give back are given back when it is closed or
its process dies (``undo=True``, System V's SEM_UNDO) — pass ``undo=False`` for a
semaphore that counts events from a producer to a consumer, which never gives
its units back.  Nothing here touches the value: every operation is a call.
"""

from __future__ import annotations

from libipc import named_handle
from libipc.named_handle import NamedHandle


class Semaphore(NamedHandle):
    """An open of the named semaphore ``name`` (sem_open(3))."""

    server = "sem"

    def __init__(self, name: str, create: bool = False, exclusive: bool = False,
                 initial: int = 0, *, undo: bool = True) -> None:
        self._open(name=name, create=create, exclusive=exclusive, initial=initial, undo=undo)

    def acquire(self, timeout: float | None = None) -> None:
        """Take one unit, waiting while there is none: at most ``timeout`` seconds
        (Timeout), not at all for 0 (WouldBlock), as long as it takes for None."""
        self._wait_call("acquire", timeout)

    def release(self) -> None:
        """Give one unit back; the longest waiter, if any, takes it."""
        self._call("release")

    @property
    def value(self) -> int:
        """The value now (0 while processes wait: ``stat()["waiters"]`` counts them)."""
        return self._call("value")

    def stat(self) -> dict:
        """{name, value, waiters, opens, held, undo, unlinked}."""
        return self._call("stat")

    def unlink(self) -> None:
        """sem_unlink(3): remove its name now; the semaphore goes with its last handle
        (this one stays usable).  ``libipc.sem.unlink(name)`` does it by name."""
        unlink(self.name)

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def unlink(name: str) -> None:
    """sem_unlink(3) by name, without opening it (FileNotFound if there is none)."""
    named_handle.unlink("sem", name)
