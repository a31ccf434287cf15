"""Block and inode allocation over the bitmap and the inode table."""

from __future__ import annotations

import pytest

from libipc.errors import CorruptFilesystem, NoSpace
from servers.fs import alloc
from servers.fs.alloc import _first_zero_bit
from servers.fs.layout import BSIZE, T_FILE, T_FREE, dinodes, inode_location
from servers.fs.volume import Volume


class TestFirstZeroBit:
    @pytest.mark.parametrize(("data", "start", "limit", "expected"), [
        (b"\x00", 0, 8, 0),
        (b"\x01", 0, 8, 1),
        (b"\xff\xff\x7f", 0, 24, 23),
        (b"\xff\xff\xff", 0, 24, None),
        (b"\x00\x00", 3, 16, 3),
        (b"\xef\xff", 5, 16, None),
        (b"\xff\x00", 0, 8, None),
        (b"\xff\x00", 0, 9, 8),
    ])
    def test_finds_the_first_clear_bit_in_range(self, data: bytes, start: int, limit: int,
                                                expected: int | None) -> None:
        """The first 0 bit at or after start and before limit, or None."""
        assert expected == _first_zero_bit(bytearray(data), start, limit)


class TestBlockAllocator:
    def test_allocates_zeroed_data_blocks_and_marks_them(self, volume: Volume) -> None:
        """balloc returns a zeroed data block, and the bitmap counts it used."""
        free = alloc.count_free_blocks(volume)
        with volume.log.op():
            block = alloc.balloc(volume)
        assert volume.sb.datastart <= block < volume.sb.nblocks
        assert bytes(BSIZE) == volume.cache.read(block)
        assert free - 1 == alloc.count_free_blocks(volume)

    def test_free_makes_the_block_available_again(self, volume: Volume) -> None:
        """bfree returns a block to the pool."""
        free = alloc.count_free_blocks(volume)
        with volume.log.op():
            block = alloc.balloc(volume)
        with volume.log.op():
            alloc.bfree(volume, block)
        assert free == alloc.count_free_blocks(volume)

    def test_freeing_a_free_block_is_corruption(self, volume: Volume) -> None:
        """Double free raises CorruptFilesystem (xv6 panics 'freeing free block')."""
        with pytest.raises(CorruptFilesystem, match="already free"), volume.log.op():
            alloc.bfree(volume, volume.sb.nblocks - 1)

    def test_metadata_blocks_cannot_be_freed(self, volume: Volume) -> None:
        """bfree of a block below datastart raises CorruptFilesystem."""
        with pytest.raises(CorruptFilesystem, match="not a data block"), volume.log.op():
            alloc.bfree(volume, volume.sb.bmapstart)

    def test_full_disk_raises_nospace_and_balloc_many_is_all_or_nothing(
            self, volume: Volume) -> None:
        """Asking for more blocks than are free allocates none of them."""
        free = alloc.count_free_blocks(volume)
        with pytest.raises(NoSpace), volume.log.op():
            alloc.balloc_many(volume, free + 1)
        assert free == alloc.count_free_blocks(volume)
        blocks: list[int] = []
        for _ in range(free):
            with volume.log.op():
                blocks.append(alloc.balloc(volume))
        with pytest.raises(NoSpace), volume.log.op():
            alloc.balloc(volume)
        assert 0 == alloc.count_free_blocks(volume)
        assert len(set(blocks)) == len(blocks)

    def test_allocation_wraps_around_to_freed_blocks(self, volume: Volume) -> None:
        """After the hint passes the end, freed blocks near the start are found."""
        with volume.log.op():
            first = alloc.balloc(volume)
        with volume.log.op():
            alloc.bfree(volume, first)
        volume.block_hint = volume.sb.nblocks - 1
        with volume.log.op():
            alloc.balloc_many(volume, 2)  # the last block, then wrap to `first`
        assert alloc.count_free_blocks(volume) >= 0
        assert first == volume.block_hint - 1

    def test_metadata_is_never_allocated_even_if_marked_free(self, volume: Volume) -> None:
        """A bitmap that calls a metadata block free is not obeyed: search starts at data."""
        volume.cache.read(volume.sb.bmapstart)[0] &= 0xFE  # block 0 'free'
        volume.block_hint = 0
        with volume.log.op():
            assert alloc.balloc(volume) >= volume.sb.datastart


class TestInodeAllocator:
    def test_ialloc_returns_an_initialised_inode(self, volume: Volume) -> None:
        """A new inode has the asked type, no links, size 0 and no blocks."""
        with volume.log.op():
            inum = alloc.ialloc(volume, T_FILE)
        block, index = inode_location(volume.sb, inum)
        d = dinodes(volume.cache.read(block))[index]
        assert (T_FILE, 0, 0, 0) == (d.type, d.nlink, d.size, d.direct[0])
        assert inum > 1

    def test_inodes_run_out_with_nospace(self, volume: Volume) -> None:
        """When every inode is used, ialloc raises NoSpace; ifree gives one back."""
        free = alloc.count_free_inodes(volume)
        taken = []
        for _ in range(free):
            with volume.log.op():
                taken.append(alloc.ialloc(volume, T_FILE))
        with pytest.raises(NoSpace), volume.log.op():
            alloc.ialloc(volume, T_FILE)
        with volume.log.op():
            alloc.ifree(volume, taken[5])
        with volume.log.op():
            assert taken[5] == alloc.ialloc(volume, T_FILE)
        assert 0 == alloc.count_free_inodes(volume)

    def test_ifree_marks_the_inode_free(self, volume: Volume) -> None:
        """After ifree the inode's type is NK_T_FREE."""
        with volume.log.op():
            inum = alloc.ialloc(volume, T_FILE)
        with volume.log.op():
            alloc.ifree(volume, inum)
        block, index = inode_location(volume.sb, inum)
        assert T_FREE == dinodes(volume.cache.read(block))[index].type
