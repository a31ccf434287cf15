"""bulk — reads and writes whose bytes travel in a granted region, not in messages.

A message body holds 60 KiB (libipc/limits.py), so a 64 MiB file would be a
thousand read calls, each copied through the rings twice.  Instead the client
(libipc/file.py, above BULK_MIN bytes) makes a shared-memory region, grants
it to fs and names the grant in the op:

    read(path, offset, size, grant=G)          -> bytes placed at region[0:]
    write(path, offset, grant=G, size=N, create=False) -> bytes written

fs maps the grant for the length of the op (the kernel checks it: granted to
fs, by a live holder, writable for a read) and reads the file straight into
it: whole uncached blocks come from block's window (servers/fs/ipcdevice.py),
so a 64 MiB read is one fs call and some sixteen block calls.  A write is
split into log transactions as any write is; the client sees one call.

The region is the client's: fs unmaps it before answering and keeps nothing,
so a client that dies mid-op costs fs nothing, and the kernel's seal on the
region's size means a client cannot shrink it under fs (a SIGBUS).
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from typing import Any

from libipc import InvalidArgument, shm

MAX_BULK = 1 << 30   # the largest region the kernel makes (kernel/grants.py MAX_REGION)
PAGE = mmap.PAGESIZE


@contextlib.contextmanager
def mapped(grant: object, size: object, *, writable: bool, what: str) -> Iterator[memoryview]:
    """region[0:size] of the client's grant, mapped for the length of one op."""
    for name, value in (("grant", grant), ("size", size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{what}: {name} must be an int, not {type(value).__name__}")
    assert isinstance(size, int)
    if not 0 <= size <= MAX_BULK:
        raise InvalidArgument(f"{what}: size must be 0 to {MAX_BULK} bytes, not {size}")
    region_id, total, fd, granted_writable = shm.map_fd(grant)
    try:
        if writable and not granted_writable:
            raise InvalidArgument(f"{what}: the grant must be writable (fs writes into it)")
        if size > total:
            raise InvalidArgument(f"{what}: size {size} is past the granted region's "
                                  f"{total} bytes")
    except BaseException:
        os.close(fd)
        shm.release(region_id)
        raise
    # only the bytes of this op are mapped (and, writable, populated): a client that
    # grants 1 GiB for a 1-byte write costs fs one page, not a gigabyte of page tables
    length = min(total, max(PAGE, -(-size // PAGE) * PAGE))
    try:
        region = shm.Region(region_id, length, fd, granted_writable)   # (closes fd)
    except BaseException:
        shm.release(region_id)
        raise
    try:
        view = region.buf[:size]
        try:
            yield view
        finally:
            view.release()
    finally:
        region.close()


class BulkTransfers:
    """The fs server's by-grant forms of read and write (ops in server.py)."""

    def read_by_grant(self, path: str, offset: int, size: Any, grant: Any) -> int:
        with mapped(grant, size, writable=True, what=f"read {path}") as dest:
            return self._run(lambda fs: fs.read_into(path, offset, dest))

    def write_by_grant(self, path: str, place: Callable[[Any], int], size: Any, grant: Any,
                       create: bool) -> int:
        """``place(fs)``: the offset, found in the op itself (an append's is the end)."""
        with mapped(grant, size, writable=False, what=f"write {path}") as src:
            return self._change(lambda fs: fs.write(path, place(fs), src, create))
