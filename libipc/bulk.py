"""bulk — the shared-memory region a process's large file reads and writes go through.

A File read or write of BULK_MIN bytes or more (libipc/file.py) puts its bytes
in a region this process made (libipc.shm) and granted to fs, and fs reads the
file straight into it (servers/fs/bulk.py) — one call, no data in messages.

Making a region is the dear part: the host allocates and zeroes its pages
(about 1 ms per MiB here, more than fs's whole read), so a process keeps its
last region, up to KEEP_MAX bytes, and the grant of it to each fs endpoint,
for its next bulk transfer.  A bigger transfer gets a region of its own, freed
after it.  What stays held: at most KEEP_MAX bytes of memory per process until
it exits (the kernel frees a dead process's regions) or calls ``release()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from libipc import shm

KEEP_MAX = 64 << 20      # the largest region kept for the next transfer
ROUND = 1 << 20          # kept regions grow in whole MiB (fewer re-makes as reads grow)

_kept: shm.Region | None = None
_grants: dict[tuple[int, bool], int] = {}   # (endpoint, writable) -> a grant of _kept
_busy = False   # a transfer is using _kept (a signal handler's nested one gets its own)


@contextlib.contextmanager
def staged(size: int, endpoint: int, writable: bool = True
           ) -> Iterator[tuple[memoryview, int]]:
    """(region[0:size], a grant of the region to ``endpoint``) for one transfer: writable
    for a read (fs writes into it), read-only for a write (fs only reads it)."""
    global _busy
    if size > KEEP_MAX or _busy:
        with shm.create(size) as region:   # (its close frees the grant too)
            view = region.buf[:size]
            try:
                yield view, region.grant(endpoint, writable=writable)
            finally:
                view.release()
        return
    region = _region_for(size)
    grant = _grants.get((endpoint, writable))
    if grant is None:
        grant = _grants[endpoint, writable] = region.grant(endpoint, writable=writable)
    view = region.buf[:size]
    _busy = True
    try:
        yield view, grant
    except BaseException:
        # The call did not end cleanly (Timeout, an interrupt, fs died): fs may still be
        # reading or writing the region — the next transfer must not share it.
        view.release()
        release()
        raise
    finally:
        _busy = False
        view.release()


def _region_for(size: int) -> shm.Region:
    global _kept
    if _kept is None or _kept.size < size:
        release()
        _kept = shm.create(min(KEEP_MAX, -(-size // ROUND) * ROUND))
    return _kept


def release() -> None:
    """Free the kept region (the next bulk transfer makes a new one)."""
    global _kept
    if _kept is not None:
        _kept.close()   # its grants die with it
        _kept = None
    _grants.clear()
