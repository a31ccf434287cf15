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
    no reader: the write fails with BrokenPipe (libipc sends the writer
            SIGPIPE first, then raises it)
    a holder that dies: its tokens are closed for it, and a call it left
            waiting is dropped — it takes no data with it

Where the bytes are: each pipe's buffer is a region of shared memory
(libipc/pipe_region.py, csrc/nk_pipe.c) that the kernel makes for this server
at ``create`` (kernel/grants.py) and that this server holds while the pipe
lives.  An end's process maps it by a kernel grant: ``create`` and ``region``
grant the region, read-write, to the endpoint that calls them (ctx.sender) —
one grant per process and pipe, so a child given an end (its token) asks
``region`` and gets a grant of its own — and the process maps it with
``shm_map``; a grant is worth nothing to any other process.  Then it reads
and writes the region directly — no message, no copy through the kernel.
This server brokers: it owns the pipe's reader and writer counts in the
region (end of file, broken pipe), updates them on close, dup and a holder's
death, and wakes the sleepers.  When the pipe is gone it revokes its grants
and lets go of its hold (the kernel frees the region once the ends' processes
have too), so pipes made one after another never pile up against the
kernel's limits on held regions and grants.  ``read`` and ``write`` stay as
ops, on the same region, for an end that cannot map it (a server hosted in
the kernel process, a raw client, a kernel limit reached: the region is then
private memory, or the grant refused); a call of theirs that must wait is
retried every POLL_S, since an end writing the region directly does not tell
this server.

Ops (every ``end`` is a token):
    create(grant=True)          → {"r": token, "w": token, "region": region or None}
    region(end)                 → {grant, pid, size, nonce} or None: how the caller maps
                                  the pipe's bytes (``grant`` is for its endpoint alone)
    dup(end)                    → token (the same end, another holder's)
    give(end, to)               → None  ``to`` (an endpoint) holds it now
    close(end)                  → None
    read(end, size, nonblock)   → bytes (b"": end of file)
    write(end, data, nonblock)  → int   bytes written (all, unless nonblock)
    stat(end)                   → {buffered, capacity, readers, writers}  (buffered: the region's)
    open_fifo(key, writing, nonblock) → token  a named pipe's end (servers/pipe_fifo.py)
    stat_fifo(key)              → {readers, writers, waiting_readers, waiting_writers}

If the pipe server dies its pipes die with it: every token is then unknown
(InvalidArgument), a waiting call gets ServerDied, and an end that maps the
region gets ServerDied at its next read or write (within NK_PIPE_SLICE_NS of
waiting: the region watches this server's pid) — never a hang.
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
from libipc.pipe_region import CAPACITY, Region, release_held
from servers.pipe_fifo import FifoRendezvous

# PIPE_BUF (atomic writes) and CAPACITY (bytes a pipe buffers): csrc/nk_pipe.h, via
# libipc.pipe_region — the C ring keeps them.
MAX_PIPES = 1024                 # pipes at once (each a region of CAPACITY bytes)
MAX_TOKENS = 8 * MAX_PIPES       # ends at once, all holders together
MAX_IO = data_per_message(DEFAULT_MAX_MESSAGE)   # bytes one read reply can carry (default)
POLL_S = 0.005                   # how often a waiting read/write call looks at the region again


class Waiter:
    """A call the pipe owes an answer: a read (at most ``want`` bytes) or a write
    (``data`` still to go, ``written`` so far)."""

    __slots__ = ("deferred", "want", "data", "written")

    def __init__(self, deferred: Deferred | None, want: int = 0,
                 data: memoryview | None = None) -> None:
        self.deferred, self.want, self.data, self.written = deferred, want, data, 0


class Pipe:
    __slots__ = ("region", "grants", "readers", "writers", "waiting_readers",
                 "waiting_writers")

    def __init__(self) -> None:
        self.region = Region.create(CAPACITY)   # the bytes (shared with the ends that map it)
        self.grants: dict[int, dict] = {}       # endpoint -> the region's grant for it
        self.readers = 0            # open read tokens (the region's copy: set_ends)
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
        self.polled: set[Pipe] = set()   # pipes with read/write calls waiting
        self._poll_timer = None

    def start(self) -> None:
        kernel().watch(on=True)   # a holder's death closes its ends
        try:   # a reply bigger than the boot's limit would be an error: its data lost
            self.max_io = data_per_message(int(kernel().stats()["max_message"]))
        except (IpcError, KeyError, TypeError, ValueError):
            self.max_io = MAX_IO

    # -- ends -------------------------------------------------------------------
    @op
    def create(self, ctx, grant: bool = True) -> dict:
        """A new pipe; the caller holds both ends, and its grant of the region (unless
        ``grant`` is false: a caller that will not map it, e.g. hosted in the kernel)."""
        pipe = self._new_pipe("create")
        return {"r": self._new_end(pipe, False, ctx.sender.endpoint),
                "w": self._new_end(pipe, True, ctx.sender.endpoint),
                "region": self._grant(pipe, ctx.sender.endpoint) if grant else None}

    @op
    def region(self, ctx, end: int) -> dict | None:
        """How the caller maps the end's bytes: a kernel grant of the pipe's region for
        the caller's endpoint (shm_map), this process's pid (to watch), the region's size
        and nonce.  None: map nothing, use read/write."""
        return self._grant(self._end(end).pipe, ctx.sender.endpoint)

    def _grant(self, p: Pipe, endpoint: int) -> dict | None:
        """The region's grant for ``endpoint`` — one per process and pipe, kept until the
        pipe is gone (or that process is: the kernel drops its grants then)."""
        info = p.grants.get(endpoint)
        if info is None:
            info = p.region.grant(endpoint)
            if info is not None:
                p.grants[endpoint] = info
        return info

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
        return {"buffered": p.region.buffered(), "capacity": p.region.capacity,
                "readers": p.readers, "writers": p.writers}

    # -- data (for ends that do not map the region) ---------------------------------
    @op
    def read(self, ctx, end: int, size: int = MAX_IO, nonblock: bool = False) -> bytes | None:
        """Up to ``size`` bytes (at most what one reply carries); waits while the pipe
        is empty and has a writer."""
        e = self._end(end, writing=False)
        if size < 1:
            raise InvalidArgument(f"read: size must be at least 1, not {size}")
        want, p = min(size, self.max_io), e.pipe
        if not p.waiting_readers:   # first come, first served
            data = _take(p, want)
            if data is not None:
                self._serve_writers(p)
                return data
        if nonblock:
            raise WouldBlock("read: the pipe is empty")
        p.waiting_readers.append(Waiter(ctx.defer(), want=want))
        self._poll_soon(p)
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
            self._poll_soon(p)
            return None
        return w.written

    # -- the region, for calls that wait ----------------------------------------------
    def _fill(self, p: Pipe, w: Waiter) -> None:
        """Move what fits of ``w``'s data into the region (all or nothing up to
        PIPE_BUF: an atomic write never lands in two pieces).  Waiting read calls take
        their share at once, which may make room for more of it: again, until no more
        fits (else a writer could wait on an emptied pipe whose readers wait too)."""
        while w.data:
            try:
                n = p.region.write(w.data, nonblock=True)
            except WouldBlock:
                return   # full, or a writer that maps the region is inside it
            w.data, w.written = w.data[n:], w.written + n
            self._serve_readers(p)

    def _serve_readers(self, p: Pipe) -> None:
        while p.waiting_readers:
            r = p.waiting_readers[0]
            try:
                data = _take(p, r.want)
            except IpcError as exc:   # a region scribbled on: this call fails, others go on
                p.waiting_readers.popleft().deferred.error(exc)
                continue
            if data is None:
                return
            p.waiting_readers.popleft()
            r.deferred.reply(data)

    def _serve_writers(self, p: Pipe) -> None:
        while p.waiting_writers:
            w = p.waiting_writers[0]
            try:
                self._fill(p, w)
            except IpcError as exc:
                p.waiting_writers.popleft().deferred.error(exc)
                continue
            if w.data:
                return   # still full: it keeps its place (FIFO), later writers wait too
            p.waiting_writers.popleft()
            w.deferred.reply(w.written)

    def _poll_soon(self, p: Pipe) -> None:
        """Look at ``p``'s region again in POLL_S: the ends that map it move its bytes
        without telling this server, so a waiting call cannot be woken by them."""
        self.polled.add(p)
        if self._poll_timer is None:
            self._poll_timer = self.runtime.after(POLL_S, self._poll)

    def _poll(self) -> None:
        self._poll_timer = None
        for p in list(self.polled):
            try:
                self._serve_readers(p)
                self._serve_writers(p)
            except Exception:   # never the server's end: log it, try again next time
                self.log.exception("pipe_poll_failed")
            if not (p.waiting_readers or p.waiting_writers):
                self.polled.discard(p)
        if self.polled:
            self._poll_timer = self.runtime.after(POLL_S, self._poll)

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
        pipe.region.set_ends(pipe.readers, pipe.writers)
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
        else:
            p.readers -= 1
        p.region.set_ends(p.readers, p.writers)   # sleepers in the region look again
        if e.writing and p.writers == 0:
            self._serve_readers(p)   # what is left, then end of file, for waiting calls
        if not e.writing and p.readers == 0:
            while p.waiting_writers:
                w = p.waiting_writers.popleft()
                w.deferred.error(BrokenPipe(
                    f"write: the last reader closed ({w.written} bytes written)"))
            p.region.drop()   # nobody can read it any more
        if p.readers == 0 and p.writers == 0:
            self.pipes -= 1
            for r in p.waiting_readers:   # (a read call whose own end was closed meanwhile)
                r.deferred.reply(b"")
            p.waiting_readers.clear()
            self.polled.discard(p)
            self._let_go(p)
            self._fifo_unused(p)   # a FIFO's pipe: the FIFO lets go of it

    def _let_go(self, p: Pipe) -> None:
        """The pipe is gone: its grants can map nothing more, and this server no longer
        holds its region (the ends that map it keep their mappings until they close)."""
        for info in p.grants.values():
            Region.revoke(info["grant"])
        p.grants.clear()
        p.region.close()
        release_held()

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
            p.grants.pop(endpoint, None)   # (the kernel dropped it with the process)
            self._serve_writers(p)   # a dead writer's place is free
        self.polled = {p for p in self.polled if p.waiting_readers or p.waiting_writers}


def _take(p: Pipe, want: int) -> bytes | None:
    """At most ``want`` bytes from the region without waiting: b"" at end of file, None
    when there is nothing yet (or a reader that maps the region is inside it)."""
    try:
        return p.region.read(want, nonblock=True)
    except WouldBlock:
        return None


def _random_token() -> int:
    """62 random bits from the OS (unguessable: a token is a capability)."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


if __name__ == "__main__":
    PipeServer.main()
