"""pipe_fifo — named pipes (FIFOs): the open rendezvous of the pipe server.

A FIFO is two things: a name in the filesystem (an inode of type fifo, made by
fs's ``mkfifo``; it holds no bytes) and a pipe here.  fs gives each FIFO a key
(``stat(path)["fifo"]``: its volume, inode and creation time — the same after
a rename or a remount, another for a FIFO made later in a reused inode).
Opening the FIFO is ``open_fifo(key, writing, nonblock)`` here; the answer is
a pipe end's token, the same kind ``create`` gives, held by the opener — from
then on it is an ordinary pipe end (servers/pipe.py).

Per key one rendezvous: the pipe its ends share, while any end of it is open,
and the opens still waiting.  The rules are POSIX's (open(2), fifo(7)):
  - an open for reading waits (a deferred reply) until the FIFO has a writer,
    an open for writing until it has a reader; a waiting open is answered as
    soon as an open of the other kind arrives (both get their ends at once);
  - nonblock: an open for reading succeeds at once, with or without writers;
    an open for writing without a reader fails with NoReader (ENXIO);
  - the pipe lives while any end of it is open (a writer that comes later
    reaches a reader still there); once its last end is closed the FIFO keeps
    nothing, and the next opens make a fresh pipe;
  - an opener that dies while it waits is dropped (its exit reaches us through
    the kernel's watch, as for pipe.py's waiting calls); one that dies after
    its answer holds an end like any holder, closed for it at its exit.
Known limit (the one pipe.py's reads have): an opener that withdraws its call
(a raw client's timeout, a signal's Interrupted) is not heard of, so an end may
be made for it later; it is closed when that process exits.
If the pipe server dies, a waiting open gets ServerDied at once (the kernel
tells every caller of a dead server): never a hang.  The inode is untouched,
so the next open meets the restarted server.

Ops:
    open_fifo(key, writing, nonblock=False) → token   (waits for the other side)
    stat_fifo(key) → {readers, writers, waiting_readers, waiting_writers}
"""

from __future__ import annotations

from libipc import Deferred, InvalidArgument, IpcError, TooManyCalls, op
from libipc.errors import NoReader

MAX_KEY = 128            # bytes of a key (fs's are about 40)
MAX_OPENERS = 4096       # opens waiting at once, every FIFO together


class Opener:
    """An open that waits for the other side."""

    __slots__ = ("deferred", "writing", "holder")

    def __init__(self, deferred: Deferred, writing: bool, holder: int) -> None:
        self.deferred, self.writing, self.holder = deferred, writing, holder


class Rendezvous:
    """One FIFO: its pipe (None while no end is open) and its waiting opens."""

    __slots__ = ("pipe", "waiting")

    def __init__(self) -> None:
        self.pipe = None
        self.waiting: list[Opener] = []


class FifoRendezvous:
    """The FIFO half of the pipe server, mixed into PipeServer, whose pipes and ends it
    uses (``_new_pipe``, ``_new_end``, ``pipes``); PipeServer calls ``_fifo_unused``
    when a pipe's last end closes and ``_forget_openers`` when a process exits."""

    def __init__(self) -> None:
        super().__init__()
        self.fifos: dict[str, Rendezvous] = {}
        self.fifo_of: dict[object, str] = {}   # a FIFO's pipe -> its key
        self.openers = 0

    @op
    def open_fifo(self, ctx, key: str, writing: bool, nonblock: bool = False) -> int | None:
        """An end of FIFO ``key``, once it has an end of the other kind (see above)."""
        if not key or len(key.encode()) > MAX_KEY:
            raise InvalidArgument(f"open_fifo: a key of 1 to {MAX_KEY} bytes, not {key!r:.40}")
        r = self.fifos.get(key) or Rendezvous()
        p = r.pipe
        other_open = p is not None and (p.readers if writing else p.writers) > 0
        other_waits = any(o.writing != writing for o in r.waiting)
        if not (other_open or other_waits or (nonblock and not writing)):
            if nonblock:
                raise NoReader("open_fifo: no process has the fifo open for reading")
            if self.openers >= MAX_OPENERS:
                raise TooManyCalls(f"open_fifo: {MAX_OPENERS} opens are waiting already")
            r.waiting.append(Opener(ctx.defer(), writing, ctx.sender.endpoint))
            self.openers += 1
            self.fifos[key] = r
            return None
        if p is None:
            p = self._fifo_pipe(key, r)
        try:
            token = self._new_end(p, writing, ctx.sender.endpoint)
        except IpcError:
            if not (p.readers or p.writers):
                self.pipes -= 1
                self._fifo_unused(p)
            raise
        self._answer_openers(r)
        return token

    @op
    def stat_fifo(self, ctx, key: str) -> dict:
        r = self.fifos.get(key) or Rendezvous()
        p = r.pipe
        return {"readers": p.readers if p else 0, "writers": p.writers if p else 0,
                "waiting_readers": sum(not o.writing for o in r.waiting),
                "waiting_writers": sum(o.writing for o in r.waiting)}

    # -- the rendezvous ------------------------------------------------------------
    def _fifo_pipe(self, key: str, r: Rendezvous):
        """A fresh pipe for FIFO ``key`` (pipe.py's, counted like ``create``'s)."""
        r.pipe = self._new_pipe("open_fifo")
        self.fifos[key] = r
        self.fifo_of[r.pipe] = key
        return r.pipe

    def _answer_openers(self, r: Rendezvous) -> None:
        """Give an end to every waiting open whose other side is open now."""
        p = r.pipe
        for o in [o for o in r.waiting if (p.readers if o.writing else p.writers)]:
            r.waiting.remove(o)
            self.openers -= 1
            try:
                o.deferred.reply(self._new_end(p, o.writing, o.holder))
            except IpcError as exc:   # (too many ends: this open fails, the others go on)
                o.deferred.error(exc)

    def _fifo_unused(self, p) -> None:
        """Hook of pipe.py's close: pipe ``p`` has no end left.  If it was a FIFO's,
        the FIFO lets go of it (the next opens make a fresh one)."""
        key = self.fifo_of.pop(p, None)
        if key is None:
            return
        r = self.fifos[key]
        r.pipe = None
        if not r.waiting:
            del self.fifos[key]

    def _forget_openers(self, endpoint: int) -> None:
        """Hook of pipe.py's exit handling: a dead process's waiting opens are dropped."""
        for key, r in list(self.fifos.items()):
            kept = [o for o in r.waiting if o.deferred.dst != endpoint]
            self.openers -= len(r.waiting) - len(kept)
            r.waiting = kept
            if r.pipe is None and not kept:
                del self.fifos[key]
