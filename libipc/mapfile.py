"""libipc.mmap — a file of the nanokernel fs as shared memory (servers/fs/mapping.py).

    with libipc.mmap("/home/data", "r+") as m:
        m.buf[0:5] = b"HELLO"      # seen at once by every other mapper of the file
        m.flush()                  # written back to the file now (also at close)

fs fills a region with the file's bytes and grants it to each mapper
(libipc/shm.py): all mappers of one file share one region.  Modes: "r" maps
read-only (``buf`` is a read-only memoryview), "r+" read-write.  The file's
bytes go back to it on ``flush()``, when its last mapper closes it, and when fs
stops (a clean halt).
"""

from __future__ import annotations

import contextlib

from libipc import shm
from libipc.client import lookup
from libipc.errors import InvalidArgument, IpcError

FS_TIMEOUT_S = 60.0   # filling a mapping of the largest file allowed takes well under this
MODES = {"r": False, "rb": False, "r+": True, "rb+": True, "r+b": True}


class MappedFile:
    """A mapped file: ``buf``, ``size``, ``flush()``, ``close()``."""

    def __init__(self, path: str, mode: str = "r", timeout: float = FS_TIMEOUT_S) -> None:
        if mode not in MODES:
            raise InvalidArgument(f"mmap: mode must be one of {', '.join(MODES)}")
        self.path, self.writable = path, MODES[mode]
        self._fs = lookup("fs", timeout=timeout)   # a hung fs is Timeout, not a hang
        reply = self._fs.mmap(path=path, writable=self.writable)
        self._region = shm.map(reply["grant"])
        self.buf, self.size = self._region.buf, self._region.size
        self.closed = False

    def flush(self) -> None:
        """Write the bytes back to the file now (a read-only mapping has nothing to do)."""
        if self.writable:
            self._fs.msync(path=self.path, region=self._region.id)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._region.close()
        with contextlib.suppress(IpcError):   # fs restarted: its mappings went with it
            self._fs.munmap(path=self.path, region=self._region.id)

    def __enter__(self) -> MappedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MappedFile {self.path!r} {self.size} bytes {'rw' if self.writable else 'r'}>"


def mmap(path: str, mode: str = "r", timeout: float = FS_TIMEOUT_S) -> MappedFile:
    """Map ``path`` of the nanokernel fs ("r": read-only, "r+": read-write); each call
    to fs gives up after ``timeout`` seconds (Timeout)."""
    return MappedFile(path, mode, timeout)
