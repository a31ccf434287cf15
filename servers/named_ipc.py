"""named_ipc — what the sem and mq servers share: POSIX IPC names, handles, timeouts.

Both servers keep named objects (POSIX's sem_open(3) and mq_open(3) names,
``/name``) that processes open; each open is a *handle*: an unguessable number
that only the process that opened it may use (a call with another process's
handle is refused as if it did not exist), closed for it when it exits — the
server watches every exit (kernel ``watch``, as the pipe server does).

Rules, one place for both servers:
  - a name is 1 to MAX_NAME bytes of UTF-8 without control characters or a
    "/" past the first character; "lock" and "/lock" are the same name, shown
    as "/lock" (POSIX's portable form);
  - a timeout is None (wait as long as it takes) or a number of seconds from
    0 (do not wait: WouldBlock) to MAX_TIMEOUT_S;
  - an object lives while it has a name or an open handle: ``unlink`` takes the
    name away at once (a new one can be made under it), the object goes with
    its last handle (sem_unlink(3), mq_unlink(3)).

Withdrawn calls.  The kernel does not tell a server that a caller gave up (a
CANCEL stays in the kernel), so a reply sent to a caller that timed out on its
own side or was interrupted by a signal is dropped, and what the server did for
it — a semaphore unit taken, a message handed out — would be lost.  libipc
tells the server itself: each blocking call carries a ``seq`` (per handle), and
a call the client gave up on is followed by a one-way ``withdraw(handle, seq)``
SEND, which comes after the call on the same route; the server drops the call
if it still waits, or undoes what it did for it (servers/sem.py, servers/mq.py).
"""

from __future__ import annotations

import os

from libipc import InvalidArgument, NoSpace, Server, kernel
from libipc.limits import MAX_WAIT_S
from libipc.message import KERNEL, NOTIFY_EXIT

MAX_NAME = 255              # bytes of a name (POSIX's NAME_MAX), the "/" included
MAX_TIMEOUT_S = MAX_WAIT_S  # a day: longer waits are a mistake, not a plan
MAX_HANDLES = 8192          # open handles at once, every process together (per server)


def canonical_name(name: str, what: str) -> str:
    """``name`` as "/name", or InvalidArgument saying what is wrong with it."""
    text = name[1:] if name.startswith("/") else name
    if not text:
        raise InvalidArgument(f"{what}: a name needs at least one character after '/'")
    if len(text.encode("utf-8", "replace")) + 1 > MAX_NAME:
        raise InvalidArgument(f"{what}: a name is at most {MAX_NAME} bytes, not "
                              f"{len(text.encode('utf-8', 'replace')) + 1}")
    if "/" in text or not text.isprintable():
        raise InvalidArgument(f"{what}: {name!r:.60} has a '/' past its start or an "
                              "unprintable character")
    return "/" + text


def check_timeout(timeout: float | None, what: str) -> None:
    if timeout is not None and not 0 <= timeout <= MAX_TIMEOUT_S:   # (NaN too)
        raise InvalidArgument(f"{what}: timeout must be None or 0 to {MAX_TIMEOUT_S:.0f} "
                              f"seconds, not {timeout!r:.40}")


def random_token() -> int:
    """62 random bits from the OS: a handle nobody can guess."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


class Handles:
    """Open handles: token -> the server's handle object (with ``.holder``, the
    endpoint that opened it), and each holder's tokens (for its exit)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind             # "semaphore" / "queue": for the error messages
        self.by_token: dict[int, object] = {}
        self.by_holder: dict[int, set[int]] = {}

    def add(self, handle) -> int:
        if len(self.by_token) >= MAX_HANDLES:
            raise NoSpace(f"open: {MAX_HANDLES} {self.kind} handles are open already")
        token = random_token()
        while token in self.by_token:
            token = random_token()
        handle.token = token
        self.by_token[token] = handle
        self.by_holder.setdefault(handle.holder, set()).add(token)
        return token

    def get(self, token: int, sender: int, what: str):
        """The caller's handle ``token``, or InvalidArgument (another process's handle
        is refused the same way as one that never was)."""
        handle = self.by_token.get(token)
        if handle is None or handle.holder != sender:
            raise InvalidArgument(f"{what}: no such {self.kind} handle (closed, opened by "
                                  f"another process, or the server restarted)")
        return handle

    def find(self, token: int, sender: int):
        handle = self.by_token.get(token)
        return handle if handle is not None and handle.holder == sender else None

    def remove(self, handle) -> None:
        self.by_token.pop(handle.token, None)
        tokens = self.by_holder.get(handle.holder)
        if tokens is not None:
            tokens.discard(handle.token)
            if not tokens:
                del self.by_holder[handle.holder]

    def held_by(self, endpoint: int) -> list:
        return [self.by_token[t] for t in self.by_holder.get(endpoint, ())]


class WatchesExits(Server):
    """A server told of every process's exit (it must be privileged in boot.toml):
    ``process_exited(endpoint)`` runs for each."""

    def start(self) -> None:
        kernel().watch(on=True)

    def on_notify(self, src: int, bits: int) -> None:
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():
                self.process_exited(record["ep"])

    def process_exited(self, endpoint: int) -> None:
        """Close what ``endpoint`` had open; drop the calls it left waiting."""
