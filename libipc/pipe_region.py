"""libipc.pipe_region — a pipe's data region: the byte ring (csrc/nk_pipe.c) that
the pipe server makes and every end of the pipe maps, so reads and writes move
bytes without a message.

    region = Region.create()            # the pipe server, at create
    info = region.grant(ep)             # {grant, pid, size, nonce}: what endpoint ep needs
    mine = Region.map(info)             # ep's process (None: it cannot map it)
    mine.write(b"hi", nonblock=False)   # 2
    mine.read(100, nonblock=False)      # b"hi"
    region.revoke(info["grant"])        # the pipe is gone: no new mapping with it
    region.close(); release_held()      # and the server's hold of it goes

The region is kernel-mediated shared memory (kernel/grants.py, libipc/shm.py):
the kernel makes its memfd at the server's ``create``, and an end's process
gets it only through a grant the server made for that process's endpoint,
mapped with ``shm_map`` — a grant is worth nothing to any other process
(PermissionDenied), so the pipe's bytes are guarded by the kernel as its
control ops are by its tokens.  When the kernel gives no region (its limits)
the server's region is private memory and no end can map it: the ends then
move their bytes in messages.  Each holder lets go of its hold when it is
done (``close``, then ``release_held`` at a point where a kernel call is
safe — never from a finalizer); the kernel frees the memfd when the last
holder has, while every mapping made stays valid until it is unmapped.

The region's header names the pipe (a random nonce the server's reply
repeats), so a wrong region is refused, and each end's mapping watches the
server through a pidfd: once the server is gone every read and write raises
ServerDied (within NK_PIPE_SLICE_NS of waiting), never a hang.

Errors: WouldBlock (nonblocking, nothing could move), BrokenPipe (no reader),
ServerDied, RingCorrupted (an end scribbled on the header).  A host signal that
interrupts a wait lets libipc's signal handlers run (libipc/signals.py); the
read or write then goes on, unless a handler stops it.
"""

from __future__ import annotations

import contextlib
import mmap
import os

from libipc import runtime, shm
from libipc._nkffi import ffi, lib
from libipc.client import kernel
from libipc.errors import (
    BrokenPipe,
    InvalidArgument,
    IpcError,
    RingCorrupted,
    ServerDied,
    WouldBlock,
)

PIPE_BUF = lib.NK_PIPE_BUF        # writes up to this size are atomic
CAPACITY = lib.NK_PIPE_CAPACITY   # bytes a pipe buffers (the pipe server's choice)
NONBLOCK = lib.NK_PIPE_NONBLOCK
KERNEL_TIMEOUT_S = 10.0

_unheld: list[int] = []   # kernel regions closed here, their holds not let go yet

_read, _write = lib.nk_pipe_read, lib.nk_pipe_write
_INTR, _EMPTY, _FULL = lib.NK_ERR_INTR, lib.NK_ERR_EMPTY, lib.NK_ERR_FULL


class Region:
    """A pipe's region mapped into this process, and this process's view of it."""

    __slots__ = ("_mm", "_mem", "_p", "_pidfd", "_scratch", "_down", "shm_id", "size",
                 "nonce", "capacity", "__weakref__")

    def __init__(self, mm: mmap.mmap, nonce: int, pidfd: int = -1, shm_id: int = 0) -> None:
        self._mm, self._pidfd, self.size, self.nonce = mm, pidfd, len(mm), nonce
        self.shm_id = shm_id   # the kernel's region this process holds (0: none)
        self._mem = ffi.from_buffer(mm, require_writable=True)   # kept: the pointer's owner
        self._p = ffi.new("nk_pipe *")
        self._scratch = self._down = None
        rc = lib.nk_pipe_attach(self._p, self._mem, self.size, nonce, pidfd)
        if rc != lib.NK_OK:
            self._pidfd, self.shm_id = -1, 0   # (the caller's still: it lets go of them)
            self.close()
            raise InvalidArgument("pipe region: not the pipe's region (wrong grant or nonce)")
        self.capacity = self._p.cap

    # -- making and mapping ----------------------------------------------------------
    @classmethod
    def create(cls, capacity: int = CAPACITY, fd: int | None = None) -> Region:
        """The pipe server's side: a new formatted region — in a region of the kernel's
        (libipc.shm) that ``grant`` hands to ends; in private memory when the kernel
        gives none, or ``fd`` is -1 (then no end can map it); or in the memfd ``fd``
        (the caller's, which it keeps: tests pass it to forked ends, ``attach``)."""
        size = lib.nk_pipe_bytes_for(capacity)
        if not size:
            raise InvalidArgument(f"pipe region: capacity {capacity} is not a power of two "
                                  f">= {PIPE_BUF}")
        nonce = int.from_bytes(os.urandom(8), "little") >> 1 | 1
        shm_id, mm = 0, None
        if fd is None:
            with contextlib.suppress(IpcError, OSError):   # (its limits: messages it is)
                shm_id, _, kfd = shm.create_fd(size)
                try:
                    mm = mmap.mmap(kfd, size)
                except OSError:
                    shm.release(shm_id)
                    shm_id = 0
                finally:
                    os.close(kfd)
        elif fd >= 0:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        if mm is None:
            mm = mmap.mmap(-1, size)
        mem = ffi.from_buffer(mm, require_writable=True)
        rc = lib.nk_pipe_format(mem, size, capacity, os.getpid(), nonce)
        ffi.release(mem)
        if rc != lib.NK_OK:
            mm.close()
            if shm_id:
                shm.release(shm_id)
            raise InvalidArgument("pipe region: cannot set up its locks")
        return cls(mm, nonce, -1, shm_id)

    @property
    def shared(self) -> bool:
        """Whether ends can map it (a region of the kernel's), or it is private."""
        return bool(self.shm_id)

    def grant(self, endpoint: int) -> dict | None:
        """The pipe server's side: let the process at ``endpoint`` map this region,
        read-write — what it needs (``map``'s ``info``), or None when it cannot (a
        private region, or the kernel refuses: its limits) and must use messages."""
        if not self.shm_id or self._mem is None:
            return None
        try:
            grant = kernel(KERNEL_TIMEOUT_S).shm_grant(region=self.shm_id, ep=int(endpoint),
                                                       writable=True)
        except IpcError:
            return None
        return {"grant": grant, "pid": os.getpid(), "size": self.size, "nonce": self.nonce}

    @staticmethod
    def revoke(grant: int) -> None:
        """The pipe server's side: ``grant`` (one of its) can map nothing any more (a
        mapping made with it stays).  Quiet when the grant is gone already (its grantee
        exited, or the region was freed)."""
        with contextlib.suppress(IpcError):
            kernel(KERNEL_TIMEOUT_S).shm_revoke(grant=grant)

    @classmethod
    def map(cls, info: dict | None) -> Region | None:
        """An end's side: map the region the server's reply describes (its grant for
        this process); None when this process cannot (a grant that is not its own, a
        kernel limit, no pidfd): the end uses messages."""
        if not isinstance(info, dict):
            return None
        try:
            grant, pid, nonce = int(info["grant"]), int(info["pid"]), int(info["nonce"])
        except (KeyError, TypeError, ValueError):
            return None
        pidfd = shm_id = -1
        try:
            pidfd = os.pidfd_open(pid)   # first: the server we watch is the one that granted
            shm_id, size, fd, writable = shm.map_fd(grant)
            try:
                if not writable:
                    raise InvalidArgument("pipe region: a read-only grant")
                mm = mmap.mmap(fd, size)
            finally:
                os.close(fd)
            return cls(mm, nonce, pidfd, shm_id)
        except (IpcError, OSError, ValueError, AttributeError):
            if pidfd >= 0:
                os.close(pidfd)
            if shm_id != -1:
                shm.release(shm_id)
            return None

    @classmethod
    def attach(cls, fd: int, nonce: int, server_pid: int) -> Region:
        """Map the region in memfd ``fd`` (which stays the caller's) as an end does,
        watching the server ``server_pid`` — for a region made with ``create(fd=...)``."""
        pidfd = os.pidfd_open(server_pid)
        try:
            mm = mmap.mmap(fd, os.fstat(fd).st_size)
            return cls(mm, nonce, pidfd)
        except BaseException:
            os.close(pidfd)
            raise

    def close(self) -> None:
        """Unmap, and let go of this process's hold of the kernel's region (at the next
        ``release_held``).  Idempotent.  Not while another thread is inside a call of
        this region: ends drop their reference instead (the mapping goes with the last
        one)."""
        if self._mem is not None:
            self._p = ffi.new("nk_pipe *")   # no region: C answers NK_ERR_CORRUPT, touches nothing
            ffi.release(self._mem)
            self._mem = None
            self._scratch = self._down = None
        with contextlib.suppress(BufferError, ValueError):
            self._mm.close()
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        if self.shm_id:
            _unheld.append(self.shm_id)   # (no kernel call here: close runs in finalizers)
            self.shm_id = 0

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


def release_held() -> None:
    """Let go of the kernel's regions whose mappings this process closed (a kernel call
    each): called where a call is safe — an end's close, the server's pipe gone."""
    while _unheld:
        shm.release(_unheld.pop())


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
