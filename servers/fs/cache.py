"""cache — the block cache (xv6: bio.c), so repeated reads stay off the device.

Layer 1.  Each cached block is one `bytearray` of block_size bytes.  Blocks
are either

  - clean: equal to the device's copy; kept in LRU order and evicted when
    there are more than `capacity` of them;
  - pinned (dirty): modified by a log transaction that is not installed yet;
    never evicted, never counted against capacity.  Only the log pins and
    unpins, so at most NK_LOGSIZE blocks are pinned.

Reads of runs of uncached blocks go to the device as one multi-block read.

Interface rules: use a buffer from `read`/`read_many` at once, for reading
only; to modify a block, ask the log for it (log.write_block), which pins it.
A buffer you hold may be evicted under you, but an evicted buffer is never
modified again, so what you read from it stays what it was.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from servers.blockdev import BlockDevice, max_transfer_blocks

DEFAULT_CAPACITY = 1024  # blocks (4 MiB)


class BlockCache:
    """LRU cache of device blocks; pinned blocks stay until unpinned."""

    def __init__(self, device: BlockDevice, capacity: int = DEFAULT_CAPACITY) -> None:
        self.device = device
        self.block_size = device.block_size
        self.max_run = max_transfer_blocks(device)
        self.capacity = max(1, capacity)
        self._clean: OrderedDict[int, bytearray] = OrderedDict()
        self._pinned: dict[int, bytearray] = {}
        self.hits = 0
        self.misses = 0

    def __contains__(self, block: int) -> bool:
        return block in self._pinned or block in self._clean

    def read(self, block: int) -> bytearray:
        """The current contents of `block` (from the cache when possible)."""
        buf = self._lookup(block)
        if buf is None:
            self.misses += 1
            buf = bytearray(self.device.read(block, 1))
            self._insert_clean(block, buf)
        return buf

    def read_many(self, blocks: Sequence[int]) -> list[bytearray]:
        """Buffers for `blocks`, fetching uncached runs in multi-block reads."""
        found: dict[int, bytearray] = {}
        missing = []
        for b in blocks:
            buf = self._lookup(b)
            if buf is None:
                missing.append(b)
            else:
                found[b] = buf
        for start, count in runs(sorted(set(missing)), self.max_run):
            data = self.device.read(start, count)
            self.misses += count
            for i in range(count):
                buf = bytearray(data[i * self.block_size:(i + 1) * self.block_size])
                found[start + i] = buf
                self._insert_clean(start + i, buf)
        return [found[b] for b in blocks]

    def zeroed(self, block: int) -> bytearray:
        """A fresh all-zero buffer for `block`, replacing any cached one (no device read)."""
        buf = bytearray(self.block_size)
        if block in self._pinned:
            self._pinned[block] = buf
        else:
            self._insert_clean(block, buf)
        return buf

    def pin(self, block: int) -> bytearray:
        """Keep `block` in the cache until `unpin` (it has unwritten changes)."""
        buf = self._pinned.get(block)
        if buf is None:
            buf = self._clean.pop(block, None)
            if buf is None:
                buf = self.read(block)
                self._clean.pop(block)
            self._pinned[block] = buf
        return buf

    def unpin(self, block: int) -> None:
        """`block` now matches the device again; it may be evicted."""
        buf = self._pinned.pop(block, None)
        if buf is not None:
            self._insert_clean(block, buf)

    def drop(self, block: int) -> None:
        """Forget `block` (pinned or not); the next read fetches the device's copy."""
        self._pinned.pop(block, None)
        self._clean.pop(block, None)

    def drop_all(self, blocks: Iterable[int]) -> None:
        for b in blocks:
            self.drop(b)

    @property
    def pinned(self) -> frozenset[int]:
        """The dirty blocks: modified in memory, not yet installed on the device."""
        return frozenset(self._pinned)

    def __len__(self) -> int:
        return len(self._clean) + len(self._pinned)

    def _lookup(self, block: int) -> bytearray | None:
        buf = self._pinned.get(block)
        if buf is not None:
            self.hits += 1
            return buf
        buf = self._clean.get(block)
        if buf is not None:
            self.hits += 1
            self._clean.move_to_end(block)
        return buf

    def _insert_clean(self, block: int, buf: bytearray) -> None:
        self._clean[block] = buf
        self._clean.move_to_end(block)
        while len(self._clean) > self.capacity:
            self._clean.popitem(last=False)


def runs(blocks: list[int], max_run: int) -> list[tuple[int, int]]:
    """(start, count) runs of consecutive numbers in sorted `blocks`, at most max_run long."""
    found: list[tuple[int, int]] = []
    for b in blocks:
        if found and found[-1][0] + found[-1][1] == b and found[-1][1] < max_run:
            found[-1] = (found[-1][0], found[-1][1] + 1)
        else:
            found.append((b, 1))
    return found
