"""The descriptor link: how the kernel hands a process a file descriptor.

A ring carries bytes, never descriptors; a shared-memory region is a memfd,
and only the kernel may decide who gets one (MINIX 3's grants, Zircon's VMO
handles).  So each process has, besides its channel, one end of an AF_UNIX
socket pair whose other end the kernel holds: when the kernel grants a
descriptor it sends it there (SCM_RIGHTS) before it replies to the call, and
the process takes it after the reply.  Each descriptor travels with a tag
(the region and grant it is for), so one left behind by an interrupted call is
recognised and closed, never taken for the next one; and libipc.shm empties
the link before each call that will be sent one (discard_stale), so such
leftovers cannot fill it.

The process side only receives; the kernel side only sends, never blocking:
a process that does not take its descriptors gets an error, not a stuck kernel.
"""

from __future__ import annotations

import os
import socket

ENV = "NK_FD_LINK"
MAX_TAG = 64
SNDBUF = 8192   # the kernel end's send buffer: about 20 descriptors queued per process
                # at most (the default held ~280, each one counted against the user's
                # RLIMIT_NOFILE of descriptors in flight, shared by every process)


def pair() -> tuple[socket.socket, socket.socket]:
    """(kernel end, process end); the kernel's never blocks."""
    kernel_end, process_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    kernel_end.setblocking(False)
    kernel_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
    return kernel_end, process_end


def send(kernel_end: socket.socket, tag: str, fd: int) -> bool:
    """Send ``fd`` with ``tag``; False when the process's queue is full (or it is gone)."""
    try:
        socket.send_fds(kernel_end, [tag.encode()], [fd])
        return True
    except (BlockingIOError, OSError):
        return False


_link: list[socket.socket] = []


def receive(tag: str, timeout: float = 10.0) -> int:
    """The descriptor sent with ``tag`` (others, left by interrupted calls, are closed)."""
    link = _process_end()
    link.settimeout(timeout)
    while True:
        data, fds, _, _ = socket.recv_fds(link, MAX_TAG, 1)
        if not fds:
            raise OSError("the kernel closed the descriptor link")
        if data.decode(errors="replace") == tag:
            return fds[0]
        for fd in fds:
            os.close(fd)


def discard_stale() -> None:
    """Close every descriptor waiting on the link: called before a call that will be
    sent one, so what interrupted calls left can never fill the link for good."""
    if not _link and os.environ.get(ENV) is None:
        return   # a server inside the kernel process: descriptors come in replies
    link = _process_end()
    link.settimeout(0)   # (with a timeout, Python would wait out EAGAIN)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(link, MAX_TAG, 1)
        except BlockingIOError:
            return
        if not fds:
            return
        for fd in fds:
            os.close(fd)


def _process_end() -> socket.socket:
    if not _link:
        fd = os.environ.get(ENV)
        if fd is None:
            raise OSError("no descriptor link (not started by the kernel)")
        _link.append(socket.socket(fileno=int(fd)))
    return _link[0]
