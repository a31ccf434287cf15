"""faults — block devices that fail on purpose, for crash tests and demos.

`CrashingDevice` wraps a real device and lets exactly N writes through; the
write after that raises `SimulatedCrash` (optionally writing only the first
blocks of a multi-block write first: a torn write), and so does every write
after it, as if the machine had stopped.  Remounting a fresh FileSystem on
the underlying device then shows what a crash at that moment leaves on disk.

`CountingDevice` counts reads and writes, to check that the cache and the
log do the I/O they promise.
"""

from __future__ import annotations

from servers.blockdev import BlockDevice


class SimulatedCrash(Exception):
    """The simulated machine stopped; nothing more reaches the disk."""


class Wrapper:
    """A device in front of ``inner``, with its shape."""

    inner: BlockDevice

    @property
    def block_size(self) -> int:
        return self.inner.block_size

    @property
    def nblocks(self) -> int:
        return self.inner.nblocks


class CrashingDevice(Wrapper):
    """Passes `writes_left` writes to `inner`, then crashes (see module doc)."""

    def __init__(self, inner: BlockDevice, writes_left: int, *, tear: bool = False) -> None:
        self.inner = inner
        self.writes_left = writes_left
        self.tear = tear
        self.crashed = False

    def read(self, block: int, count: int = 1) -> bytes:
        return self.inner.read(block, count)

    def write(self, block: int, data: bytes) -> None:
        if self.writes_left <= 0 or self.crashed:
            self.crashed = True
            nblocks = len(data) // self.block_size
            if self.tear and nblocks > 1 and self.writes_left == 0:
                self.inner.write(block, data[:(nblocks // 2) * self.block_size])
            self.writes_left = -1
            raise SimulatedCrash(f"crash: write of block {block} never reached the disk")
        self.writes_left -= 1
        self.inner.write(block, data)

    def flush(self) -> None:
        if self.crashed:
            raise SimulatedCrash("crash: flush after the crash")
        self.inner.flush()


class CountingDevice(Wrapper):
    """Passes everything to `inner`, counting calls and blocks."""

    def __init__(self, inner: BlockDevice) -> None:
        self.inner = inner
        self.reads = self.writes = self.flushes = 0
        self.blocks_read = self.blocks_written = 0

    def read(self, block: int, count: int = 1) -> bytes:
        self.reads += 1
        self.blocks_read += count
        return self.inner.read(block, count)

    def write(self, block: int, data: bytes) -> None:
        self.writes += 1
        self.blocks_written += len(data) // self.block_size
        self.inner.write(block, data)

    def flush(self) -> None:
        self.flushes += 1
        self.inner.flush()
