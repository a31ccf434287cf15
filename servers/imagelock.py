"""One boot at a time on a disk image: the boot's kernel process holds a lock on it.

Two boots on one image would be two block servers and two fs servers writing the
same blocks, each replaying and committing its own log over the other's: the image
is soon corrupt, and neither says why.  So a boot (or ``nanokernel mount``) takes an
exclusive flock(2) on its image before anything is spawned, and a second one is
refused with ``Busy``.  ``mkfs`` over an image in use is refused the same way, and
``fsck`` holds a shared lock while it reads (a live fs's image is mid-change: its
report would show problems that are not there).

The lock is on a descriptor the kernel process opens close-on-exec, so no server
inherits it: it lasts exactly as long as the boot — block and fs may restart under
it — and goes with the kernel process however that ends, SIGKILL included.  A RAM
disk needs none: nobody else can open it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from libipc.errors import Busy

_held: dict[str, int] = {}   # path → the locked descriptor, kept open for the boot


def in_use_message(path: str | os.PathLike[str]) -> str:
    return (f"{path}: in use by another boot or mount (halt it first, or use "
            f"--disk OTHER or --ramdisk)")


def hold(path: str | os.PathLike[str]) -> None:
    """Lock ``path`` for this process's lifetime; Busy when another boot has it."""
    key = os.fspath(path)
    if key in _held or not os.path.isfile(key):
        return   # no such image (or not a file): the block server's open says so
    try:
        _held[key] = _lock(key, fcntl.LOCK_EX)
    except PermissionError:
        return   # unreadable: the block server's open says so


class Checking:
    """``with Checking(path):`` — a shared lock for a check or a format (Busy if booted)."""

    def __init__(self, path: str | os.PathLike[str], exclusive: bool = False) -> None:
        self._path = os.fspath(path)
        self._how = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        self._fd: int | None = None

    def __enter__(self) -> Checking:
        if os.path.isfile(self._path):   # nothing to lock yet: mkfs creates it
            # unreadable: the check's or the format's own open says so
            with contextlib.suppress(PermissionError):
                self._fd = _lock(self._path, self._how)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)


def _lock(path: str, how: int) -> int:
    # read-only is enough for flock, and does not need write permission on the image
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Busy(in_use_message(path)) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
