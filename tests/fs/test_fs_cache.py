"""The block cache: repeated reads stay off the device; pinned blocks stay put."""

from __future__ import annotations

from servers.blockdev import RamDisk
from servers.fs.cache import BlockCache
from servers.fs.faults import CountingDevice
from servers.fs.layout import BSIZE


def _device(nblocks: int = 64) -> CountingDevice:
    disk = RamDisk(nblocks)
    for b in range(nblocks):
        disk.write(b, bytes([b]) * BSIZE)
    return CountingDevice(disk)


class TestBlockCache:
    def test_repeated_reads_hit_the_cache(self) -> None:
        """Reading a block twice costs one device read."""
        dev = _device()
        cache = BlockCache(dev, capacity=8)
        assert bytes([5]) * BSIZE == cache.read(5)
        assert bytes([5]) * BSIZE == cache.read(5)
        assert 1 == dev.reads
        assert (1, 1) == (cache.hits, cache.misses)

    def test_least_recently_used_block_is_evicted(self) -> None:
        """With capacity 2, reading a third block evicts the one used longest ago."""
        cache = BlockCache(_device(), capacity=2)
        cache.read(1)
        cache.read(2)
        cache.read(1)
        cache.read(3)
        assert (True, False, True) == (1 in cache, 2 in cache, 3 in cache)

    def test_pinned_blocks_are_never_evicted(self) -> None:
        """A pinned block survives any number of other reads and keeps its changes."""
        cache = BlockCache(_device(), capacity=2)
        cache.pin(7)[0] = 99
        for b in range(20, 40):
            cache.read(b)
        assert 99 == cache.read(7)[0]
        assert frozenset({7}) == cache.pinned

    def test_unpinned_block_becomes_evictable(self) -> None:
        """After unpin a block is an ordinary clean block again."""
        cache = BlockCache(_device(), capacity=1)
        cache.pin(7)
        cache.unpin(7)
        cache.read(8)
        assert 7 not in cache
        assert frozenset() == cache.pinned

    def test_read_many_fetches_runs_in_one_device_read(self) -> None:
        """Consecutive uncached blocks come from the device in one multi-block read."""
        dev = _device()
        cache = BlockCache(dev)
        cache.read(12)
        bufs = cache.read_many([10, 11, 12, 13, 14, 30])
        assert [10, 11, 12, 13, 14, 30] == [buf[0] for buf in bufs]
        assert 1 + 3 == dev.reads  # 12 first, then [10,11], [13,14], [30]

    def test_zeroed_replaces_without_a_device_read(self) -> None:
        """zeroed() gives an all-zero buffer and reads nothing from the device."""
        dev = _device()
        cache = BlockCache(dev)
        assert bytes(BSIZE) == cache.zeroed(9)
        assert bytes(BSIZE) == cache.read(9)
        assert 0 == dev.reads

    def test_drop_forgets_the_cached_copy(self) -> None:
        """After drop the next read returns the device's contents again."""
        cache = BlockCache(_device())
        cache.pin(4)[0] = 200
        cache.drop(4)
        assert 4 == cache.read(4)[0]
