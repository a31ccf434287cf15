"""A process's channel to the kernel: one memfd holding two rings.

    offset 0            ring "up":   process → kernel (process produces)
    offset size/2       ring "down": kernel → process (kernel produces)

The kernel creates the memfd, formats both rings, seals its size and passes
the fd to the new process (``pass_fds``); the process attaches by fd.  Nothing
else is shared.  Each side's waits read the other side's "running" word
(``nk_ring_pair``) to decide whether spinning can pay.  Attaching validates
both ring headers (``RingCorrupted``).
Each side closes its mapping in ``close()``: the cffi buffer is released before
the mmap closes, so no ``BufferError`` and no leaked mapping.
"""

from __future__ import annotations

import fcntl
import mmap
import os

from libipc._nkffi import ffi, lib
from libipc.ring import CONSUMER, PRODUCER, Ring, format_ring, ring_bytes

DEFAULT_RING_CAPACITY = 256 * 1024   # data bytes per direction; max record = half

KERNEL, PROCESS = "kernel", "process"


def _pow2_at_least(n: int) -> int:
    p = 64
    while p < n:
        p *= 2
    return p


class Channel:
    """Both rings of one process, seen from ``side`` (``"kernel"`` or ``"process"``).

    ``send`` is the ring this side produces into, ``recv`` the one it consumes.
    """

    def __init__(self, fd: int, side: str, *, owns_fd: bool) -> None:
        if side not in (KERNEL, PROCESS):
            raise ValueError(f"channel: side must be {KERNEL!r} or {PROCESS!r}")
        self.fd = fd
        self.side = side
        self._owns_fd = owns_fd
        size = os.fstat(fd).st_size
        if size <= 0 or size % 2:
            raise ValueError(f"channel: fd {fd} has size {size}, not two rings")
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._cbuf = ffi.from_buffer(self._mm, require_writable=True)
        half = size // 2
        try:
            up = Ring(self._cbuf, self._cbuf, half,
                      PRODUCER if side == PROCESS else CONSUMER, "up")
            down = Ring(self._cbuf, self._cbuf + half, half,
                        CONSUMER if side == PROCESS else PRODUCER, "down")
        except BaseException:   # a corrupt header: unmap, leave the fd to the caller
            ffi.release(self._cbuf)
            self._mm.close()
            raise
        self.up, self.down = up, down
        self.send, self.recv = (up, down) if side == PROCESS else (down, up)
        # Our waits on `recv` spin only while the other end runs elsewhere: its running
        # word is kept on the ring it consumes, our `send` (csrc/nk_wait_any.c).
        lib.nk_ring_pair(self.recv.cdata, self.send.cdata)
        self.size = size

    @classmethod
    def create(cls, capacity: int = DEFAULT_RING_CAPACITY, name: str = "nk-channel") -> Channel:
        """Make a new memfd with two formatted rings; the creator is the kernel side."""
        capacity = _pow2_at_least(capacity)
        half = ring_bytes(capacity)
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, 2 * half)
            # Nobody may resize it: a shrunk memfd would turn the other side's
            # accesses into SIGBUS, whatever the ring code validates.
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                        fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
            with mmap.mmap(fd, 2 * half) as mm:
                cbuf = ffi.from_buffer(mm, require_writable=True)
                format_ring(cbuf, half)
                format_ring(cbuf + half, half)
                ffi.release(cbuf)
            return cls(fd, KERNEL, owns_fd=True)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def attach(cls, fd: int, side: str = PROCESS) -> Channel:
        """Map an existing channel by fd (the process side does this at start)."""
        return cls(fd, side, owns_fd=True)

    def close(self) -> None:
        """Unmap and close the fd; idempotent."""
        if self._mm is None:
            return
        self.up.close()
        self.down.close()
        ffi.release(self._cbuf)
        self._cbuf = None
        self._mm.close()
        self._mm = None
        if self._owns_fd:
            os.close(self.fd)

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
