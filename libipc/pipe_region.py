"""libipc.pipe_region — a pipe's data region: the byte ring (csrc/nk_pipe.c) that
the pipe server makes and every end of the pipe maps, so reads and writes move
bytes without a message.

    region = Region.create()            # the pipe server, at create
    info = region.share()               # {pid, fd, size, nonce}: what an end needs
    mine = Region.map(info)             # an end's process (None: it cannot map it)
    mine.write(b"hi", nonblock=False)   # 2
    mine.read(100, nonblock=False)      # b"hi"

The broker is interim: the server keeps the region's memfd open and an end's
process opens it as /proc/<server pid>/fd/<fd> — any process of the same user
could, so the pipe's tokens guard its control ops, not its bytes.  Issue 15's
kernel grants will hand the memfd over instead.  The region's header names the
pipe (a random nonce the server's reply repeats), so a stale or wrong fd is
refused, and each mapping watches the server through a pidfd: once the server
is gone every read and write raises ServerDied (within NK_PIPE_SLICE_NS of
waiting), never a hang.

Errors: WouldBlock (nonblocking, nothing could move), BrokenPipe (no reader),
ServerDied, RingCorrupted (an end scribbled on the header).  A host signal that
interrupts a wait lets libipc's signal handlers run (libipc/signals.py); the
read or write then goes on, unless a handler stops it.
"""

from __future__ import annotations

import contextlib
import mmap
import os

from libipc import runtime
from libipc._nkffi import ffi, lib
from libipc.errors import (
    BrokenPipe,
    InvalidArgument,
    RingCorrupted,
    ServerDied,
    WouldBlock,
)

PIPE_BUF = lib.NK_PIPE_BUF        # writes up to this size are atomic
CAPACITY = lib.NK_PIPE_CAPACITY   # bytes a pipe buffers (the pipe server's choice)
NONBLOCK = lib.NK_PIPE_NONBLOCK

_read, _write = lib.nk_pipe_read, lib.nk_pipe_write
_INTR, _EMPTY, _FULL = lib.NK_ERR_INTR, lib.NK_ERR_EMPTY, lib.NK_ERR_FULL


class Region:
    """A pipe's region mapped into this process, and this process's view of it."""

    __slots__ = ("_mm", "_mem", "_p", "_pidfd", "_scratch", "_down", "fd", "size", "nonce",
                 "capacity", "__weakref__")

    def __init__(self, mm: mmap.mmap, nonce: int, pidfd: int = -1, fd: int = -1) -> None:
        self._mm, self._pidfd, self.fd, self.size, self.nonce = mm, pidfd, fd, len(mm), nonce
        self._mem = ffi.from_buffer(mm, require_writable=True)   # kept: the pointer's owner
        self._p = ffi.new("nk_pipe *")
        self._scratch = self._down = None
        rc = lib.nk_pipe_attach(self._p, self._mem, self.size, nonce, pidfd)
        if rc != lib.NK_OK:
            self._pidfd = self.fd = -1   # (the caller's still: it closes them)
            self.close()
            raise InvalidArgument("pipe region: not the pipe's region (stale fd or nonce)")
        self.capacity = self._p.cap

    # -- making and mapping ----------------------------------------------------------
    @classmethod
    def create(cls, capacity: int = CAPACITY) -> Region:
        """The pipe server's side: a new formatted region in a memfd it keeps open (in
        private memory when no memfd can be had — then no end can map it)."""
        size = lib.nk_pipe_bytes_for(capacity)
        if not size:
            raise InvalidArgument(f"pipe region: capacity {capacity} is not a power of two "
                                  f">= {PIPE_BUF}")
        nonce = int.from_bytes(os.urandom(8), "little") >> 1 | 1
        fd = -1
        try:
            fd = os.memfd_create("nk-pipe", os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        except OSError:
            if fd >= 0:
                os.close(fd)
            fd, mm = -1, mmap.mmap(-1, size)
        mem = ffi.from_buffer(mm, require_writable=True)
        rc = lib.nk_pipe_format(mem, size, capacity, os.getpid(), nonce)
        ffi.release(mem)
        if rc != lib.NK_OK:
            mm.close()
            if fd >= 0:
                os.close(fd)
            raise InvalidArgument("pipe region: cannot set up its locks")
        return cls(mm, nonce, -1, fd)

    def share(self) -> dict | None:
        """What an end's process needs to map this region (None: it is private)."""
        if self.fd < 0:
            return None
        return {"pid": os.getpid(), "fd": self.fd, "size": self.size, "nonce": self.nonce}

    @classmethod
    def map(cls, info: dict | None) -> Region | None:
        """An end's side: map the region the server's reply describes; None when this
        process cannot (no such fd, no permission, no pidfd): the end uses messages."""
        if not isinstance(info, dict):
            return None
        try:
            pid, fd, nonce = int(info["pid"]), int(info["fd"]), int(info["nonce"])
        except (KeyError, TypeError, ValueError):
            return None
        pidfd = -1
        try:
            pidfd = os.pidfd_open(pid)   # first: the server we watch is the one we map
            f = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR | os.O_CLOEXEC)
            try:
                mm = mmap.mmap(f, os.fstat(f).st_size)
            finally:
                os.close(f)
            return cls(mm, nonce, pidfd)
        except (OSError, ValueError, InvalidArgument, AttributeError):
            if pidfd >= 0:
                os.close(pidfd)
            return None

    def close(self) -> None:
        """Unmap (and, in the server, close the memfd).  Idempotent.  Not while another
        thread is inside a call of this region: ends drop their reference instead (the
        mapping goes with the last one)."""
        if self._mem is not None:
            self._p = ffi.new("nk_pipe *")   # no region: C answers NK_ERR_CORRUPT, touches nothing
            ffi.release(self._mem)
            self._mem = None
            self._scratch = self._down = None
        with contextlib.suppress(BufferError, ValueError):
            self._mm.close()
        for name in ("_pidfd", "fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- data ----------------------------------------------------------------------
    def read(self, n: int, nonblock: bool = False) -> bytes:
        """What is there, at most ``n`` bytes; b"" at end of file; waits while empty."""
        k = min(n, self.capacity)
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = ffi.new("uint8_t[]", self.capacity)
        got = self._io(_read, scratch, k, nonblock, False)
        return ffi.buffer(scratch, got)[:]

    def readinto(self, view, nonblock: bool = False) -> int:
        """Like read, into a writable buffer."""
        return self._io(_read, ffi.from_buffer(view, require_writable=True), len(view),
                        nonblock, False)

    def write(self, data, nonblock: bool = False) -> int:
        """Append ``data`` (bytes-like): whole when at most PIPE_BUF bytes; a blocking
        write returns when all is in, a nonblocking one says how much went."""
        n = len(data)
        if not n:
            return 0
        return self._io(_write, ffi.from_buffer(data), n, nonblock, True)

    def _io(self, fn, buf, n: int, nonblock: bool, writing: bool) -> int:
        rt = None if nonblock else _catching()
        if rt is None:
            return self._calls(fn, buf, n, NONBLOCK if nonblock else 0, writing)
        with rt.waiting_outside():   # a signal's handlers are run from here, not by SIGURG
            return self._calls(fn, buf, n, 0, writing)

    def _calls(self, fn, buf, n: int, flags: int, writing: bool) -> int:
        """C's ``fn`` until it has an answer: a count (a write's, once all is in unless
        nonblocking or cut short by an error), or the error raised."""
        p, done, deaf = self._p, 0, False
        try:
            while True:
                rc = fn(p, buf + done, n - done, flags)
                if rc >= 0:
                    done += rc
                    if not writing or flags or done == n:
                        return done
                    continue
                if done:
                    return done   # say how much went; the next call reports the condition
                if rc == _INTR and not _signal_came() and self._down is not None:
                    deaf = True   # nobody took the posted signals (a handler runs now):
                    lib.nk_pipe_watch(p, ffi.NULL)   # do not wake for them again, this call
                    continue
                self._raise(rc, writing)
        finally:
            if deaf:
                lib.nk_pipe_watch(p, self._down)

    def watch_signals(self, down_ring) -> None:
        """Let this process's waits here end when a signal is posted to it (its down
        ring's ``nk_ring *``, Port.signal_ring), so that its handlers run."""
        self._down = down_ring
        lib.nk_pipe_watch(self._p, down_ring)

    def _raise(self, rc: int, writing: bool) -> None:
        """Raise the error of C's ``rc``; return (to try again) after a signal."""
        if rc == _INTR:
            return   # a signal's handlers ran (_signal_came): the call goes on
        if rc == _EMPTY:
            raise WouldBlock("read: the pipe is empty")
        if rc == _FULL:
            raise WouldBlock("write: the pipe is full")
        if rc == lib.NK_PIPE_BROKEN:
            raise BrokenPipe("write: the pipe has no reader")
        if rc == lib.NK_PIPE_DEAD:
            raise ServerDied("the pipe server died: its pipes died with it")
        if rc == lib.NK_ERR_CORRUPT:
            raise RingCorrupted("pipe region: its indices were scribbled on")
        raise InvalidArgument(f"pipe region: {'write' if writing else 'read'} failed ({rc})")

    # -- the pipe server's side, and queries --------------------------------------------
    def set_ends(self, readers: int, writers: int) -> None:
        """Publish the pipe's open ends (wakes every sleeper to look)."""
        lib.nk_pipe_set_ends(self._p, readers, writers)

    def drop(self) -> None:
        """Discard what is buffered (the last reader is gone)."""
        lib.nk_pipe_drop(self._p)

    def buffered(self) -> int:
        return lib.nk_pipe_buffered(self._p)

    def blocked(self) -> tuple[int, int]:
        """(readers, writers) inside a read or write that has had to wait — as they count
        themselves, so a hint: one killed while it waits stays counted."""
        r, w = ffi.new("uint32_t *"), ffi.new("uint32_t *")
        lib.nk_pipe_blocked(self._p, r, w)
        return r[0], w[0]

    def server_gone(self) -> bool:
        return bool(lib.nk_pipe_server_gone(self._p))

    def set_slice(self, seconds: float) -> None:
        """How long one wait of this process lasts before it checks that the server
        lives (NK_PIPE_SLICE_NS by default; tests lengthen it)."""
        self._p.slice_ns = int(seconds * 1e9)


def _catching():
    """This process's runtime if it catches signals (libipc/signals.py set on_signal)."""
    rt = runtime._current
    return rt if getattr(rt, "on_signal", None) is not None else None


def _signal_came() -> bool:
    """A wait ended for a signal (one posted to this process, or a host one): run
    libipc's handlers now and stop the read or write (Interrupted) unless they ask for
    restart.  False: no handler ran (none, or one is running already)."""
    rt = _catching()
    if rt is None:
        return False
    restart = rt.on_signal()
    if restart is False and not getattr(rt, "_uninterrupted", 0):
        from libipc.errors import Interrupted
        raise Interrupted("a signal handler ran while a pipe read or write waited")
    return restart is not None
