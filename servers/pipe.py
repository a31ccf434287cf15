"""pipe — anonymous pipes as a user-space server (MINIX 3 keeps them in VFS/PFS).

A pipe is a bounded byte buffer with a read end and a write end.  An end is
a *token*: an unguessable number that works for whoever presents it (a
capability; passing it to a child, e.g. in its environment, passes the end).
Each token has a holder — the process it is closed for when that process
dies; ``give`` makes another process the holder (the shell gives a stage its
ends right after spawning it).  ``dup`` makes a second token for the same
end, so each holder closes its own.

Semantics (POSIX, as MINIX's ``vfs/pipe.c``):
    read    blocks (a deferred reply) while the pipe is empty and a writer
            is open; b"" is end of file — only once every writer is closed
    write   a write of at most PIPE_BUF bytes is atomic (never interleaved
            with another); a larger one may be split; a full pipe defers the
            reply until all is written, or gives WouldBlock (nonblock)
    no reader: the write fails with BrokenPipe (libipc raises it and the
            writer gets SIGPIPE once signals exist)
    a holder that dies: its tokens are closed for it, and a call it left
            waiting is dropped — it takes no data with it

Ops (every ``end`` is a token):
    create()                    → {"r": token, "w": token}
    dup(end)                    → token (the same end, another holder's)
    give(end, to)               → None  ``to`` (an endpoint) holds it now
    close(end)                  → None
    read(end, size, nonblock)   → bytes (b"": end of file)
    write(end, data, nonblock)  → int   bytes written (all, unless nonblock)
    stat(end)                   → {buffered, capacity, readers, writers}
    open_fifo(key, writing, nonblock) → token  a named pipe's end (servers/pipe_fifo.py)
    stat_fifo(key)              → {readers, writers, waiting_readers, waiting_writers}

If the pipe server dies its pipes die with it: every token is then unknown
(InvalidArgument) and a waiting call gets ServerDied — never a hang.
"""

from __future__ import annotations

import os
from collections import deque

from libipc import (
    Deferred,
    InvalidArgument,
    IpcError,
    NoSuchEndpoint,
    Server,
    TooManyCalls,
    WouldBlock,
    kernel,
    op,
)
from libipc.errors import BrokenPipe
from libipc.limits import DEFAULT_MAX_MESSAGE, data_per_message
from libipc.message import KERNEL, NOTIFY_EXIT
from servers.pipe_fifo import FifoRendezvous

PIPE_BUF = 4096                  # writes up to this size are atomic (Linux's value)
CAPACITY = 256 * 1024            # bytes a pipe buffers before writers wait
MAX_PIPES = 1024                 # pipes at once (each holds up to CAPACITY)
MAX_TOKENS = 8 * MAX_PIPES       # ends at once, all holders together
MAX_IO = data_per_message(DEFAULT_MAX_MESSAGE)   # bytes one read reply can carry (default)


class Waiter:
    """A call the pipe owes an answer: a read (at most ``want`` bytes) or a write
    (``data`` still to go, ``written`` so far)."""

    __slots__ = ("deferred", "want", "data", "written")

    def __init__(self, deferred: Deferred | None, want: int = 0,
                 data: memoryview | None = None) -> None:
        self.deferred, self.want, self.data, self.written = deferred, want, data, 0


class Pipe:
    __slots__ = ("buf", "readers", "writers", "waiting_readers", "waiting_writers")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.readers = 0            # open read tokens
        self.writers = 0            # open write tokens
        self.waiting_readers: deque[Waiter] = deque()
        self.waiting_writers: deque[Waiter] = deque()


class End:
    __slots__ = ("pipe", "writing", "holder")

    def __init__(self, pipe: Pipe, writing: bool, holder: int) -> None:
        self.pipe, self.writing = pipe, writing
        self.holder = holder        # the endpoint it is closed for when it dies


class PipeServer(FifoRendezvous, Server):   # FifoRendezvous: named pipes' open_fifo
    name = "pipe"

    def __init__(self) -> None:
        super().__init__()
        self.ends: dict[int, End] = {}
        self.pipes = 0
        self.max_io = MAX_IO

    def start(self) -> None:
        kernel().watch(on=True)   # a holder's death closes its ends
        try:   # a reply bigger than the boot's limit would be an error: its data lost
            self.max_io = data_per_message(int(kernel().stats()["max_message"]))
        except (IpcError, KeyError, TypeError, ValueError):
            self.max_io = MAX_IO

    # -- ends -------------------------------------------------------------------
    @op
    def create(self, ctx) -> dict:
        """A new pipe; the caller holds both ends."""
        pipe = self._new_pipe("create")
        return {"r": self._new_end(pipe, False, ctx.sender.endpoint),
                "w": self._new_end(pipe, True, ctx.sender.endpoint)}

    @op
    def dup(self, ctx, end: int) -> int:
        """Another token for the same end (held by the caller until given away)."""
        e = self._end(end)
        return self._new_end(e.pipe, e.writing, ctx.sender.endpoint)

    @op
    def give(self, ctx, end: int, to: int) -> None:
        """Make process ``to`` the holder: the end is closed when it dies."""
        e = self._end(end)
        try:
            who = kernel().whoami(ep=to)
        except NoSuchEndpoint:
            who = {"state": "dead"}
        if who["state"] != "running":
            self._close(end)   # its holder-to-be is gone: nobody will close it
            raise NoSuchEndpoint(f"give: no process at endpoint {to}")
        e.holder = who["ep"]   # (not a well-known slot's bare number: exits name the endpoint)

    @op
    def close(self, ctx, end: int) -> None:
        self._end(end)
        self._close(end)

    @op
    def stat(self, ctx, end: int) -> dict:
        p = self._end(end).pipe
        return {"buffered": len(p.buf), "capacity": CAPACITY, "readers": p.readers,
                "writers": p.writers}

    # -- data -------------------------------------------------------------------
    @op
    def read(self, ctx, end: int, size: int = MAX_IO, nonblock: bool = False) -> bytes | None:
        """Up to ``size`` bytes (at most what one reply carries); waits while the pipe
        is empty and has a writer."""
        e = self._end(end, writing=False)
        if size < 1:
            raise InvalidArgument(f"read: size must be at least 1, not {size}")
        want, p = min(size, self.max_io), e.pipe
        if p.buf:
            data = self._take(p, want)
            self._serve_writers(p)
            return data
        if p.writers == 0:
            return b""
        if nonblock:
            raise WouldBlock("read: the pipe is empty")
        p.waiting_readers.append(Waiter(ctx.defer(), want=want))
        return None

    @op
    def write(self, ctx, end: int, data: bytes, nonblock: bool = False) -> int | None:
        """Append ``data``: atomically when it is at most PIPE_BUF bytes."""
        e = self._end(end, writing=True)
        p = e.pipe
        if p.readers == 0:
            raise BrokenPipe("write: the pipe has no reader")
        w = Waiter(None, data=memoryview(data))
        if not p.waiting_writers:
            self._fill(p, w)
        if w.data:
            if nonblock:
                if w.written:
                    return w.written   # a partial write: POSIX's answer without O_NONBLOCK wait
                raise WouldBlock("write: the pipe is full")
            w.deferred = ctx.defer()
            p.waiting_writers.append(w)
            return None
        return w.written

    # -- the buffer ---------------------------------------------------------------
    @staticmethod
    def _take(p: Pipe, want: int) -> bytes:
        data = bytes(p.buf[:want])
        del p.buf[:want]
        return data

    def _fill(self, p: Pipe, w: Waiter) -> None:
        """Move what fits of ``w``'s data into the buffer (all or nothing up to
        PIPE_BUF: an atomic write never lands in two pieces).  Waiting readers take
        their share at once, which may make room for more of it: again, until no more
        fits (else a writer could wait on an emptied pipe whose readers wait too)."""
        while w.data:
            room = CAPACITY - len(p.buf)
            left = len(w.data)
            n = left if left <= room else 0 if left <= PIPE_BUF else room
            if not n:
                return
            p.buf += w.data[:n]
            w.data, w.written = w.data[n:], w.written + n
            self._serve_readers(p)

    def _serve_readers(self, p: Pipe) -> None:
        while p.buf and p.waiting_readers:
            r = p.waiting_readers.popleft()
            r.deferred.reply(self._take(p, r.want))

    def _serve_writers(self, p: Pipe) -> None:
        while p.waiting_writers:
            w = p.waiting_writers[0]
            self._fill(p, w)
            if w.data:
                return   # still full: it keeps its place (FIFO), later writers wait too
            p.waiting_writers.popleft()
            w.deferred.reply(w.written)

    # -- closing ------------------------------------------------------------------
    def _new_pipe(self, what: str) -> Pipe:
        """A pipe with no end yet (``create``'s, or a FIFO's: servers/pipe_fifo.py)."""
        if self.pipes >= MAX_PIPES:
            raise TooManyCalls(f"{what}: {MAX_PIPES} pipes are open already")
        self.pipes += 1
        return Pipe()

    def _new_end(self, pipe: Pipe, writing: bool, holder: int) -> int:
        if len(self.ends) >= MAX_TOKENS:
            raise TooManyCalls(f"{MAX_TOKENS} pipe ends are open already")
        token = _random_token()
        while token in self.ends:
            token = _random_token()
        self.ends[token] = End(pipe, writing, holder)
        if writing:
            pipe.writers += 1
        else:
            pipe.readers += 1
        return token

    def _end(self, token: int, writing: bool | None = None) -> End:
        e = self.ends.get(token)
        if e is None:
            raise InvalidArgument("no such pipe end (closed, or the pipe server restarted)")
        if writing is not None and e.writing != writing:
            which = "write" if writing else "read"
            raise InvalidArgument(f"this is the {'write' if e.writing else 'read'} end, "
                                  f"not the {which} end")
        return e

    def _close(self, token: int) -> None:
        e = self.ends.pop(token)
        p = e.pipe
        if e.writing:
            p.writers -= 1
            if p.writers == 0:   # end of file for whoever waits (the buffer is empty)
                while p.waiting_readers:
                    p.waiting_readers.popleft().deferred.reply(b"")
        else:
            p.readers -= 1
            if p.readers == 0:
                while p.waiting_writers:
                    w = p.waiting_writers.popleft()
                    w.deferred.error(BrokenPipe(
                        f"write: the last reader closed ({w.written} bytes written)"))
                p.buf.clear()   # nobody can read it any more
        if p.readers == 0 and p.writers == 0:
            self.pipes -= 1
            self._fifo_unused(p)   # a FIFO's pipe: the FIFO lets go of it

    def on_notify(self, src: int, bits: int) -> None:
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():
                self._forget(record["ep"])

    def _forget(self, endpoint: int) -> None:
        """A process died: drop the calls it left waiting, close the ends it held."""
        self._forget_openers(endpoint)   # its opens of FIFOs still waiting
        for p in {e.pipe for e in self.ends.values()}:
            for queue in (p.waiting_readers, p.waiting_writers):
                kept = [w for w in queue if w.deferred.dst != endpoint]
                if len(kept) != len(queue):
                    queue.clear()
                    queue.extend(kept)
        for token in [t for t, e in self.ends.items() if e.holder == endpoint]:
            self._close(token)
        for p in {e.pipe for e in self.ends.values()}:
            self._serve_writers(p)   # a dead writer's place is free


def _random_token() -> int:
    """62 random bits from the OS (unguessable: a token is a capability)."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


if __name__ == "__main__":
    PipeServer.main()
