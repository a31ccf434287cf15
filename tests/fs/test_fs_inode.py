"""Inodes: block map through direct, indirect and double-indirect blocks; holes; truncate."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.blockdev import DiskImage
from servers.fs.alloc import count_free_blocks
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.inode import InodeTable, bmap
from servers.fs.layout import BPB, BSIZE, DOUBLE_BASE, MAXOPBLOCKS, NDIRECT, NINDIRECT, SINGLE_BASE
from servers.fs.truncate import shrink

MIB = 1024 * 1024


def _inode(fs: FileSystem, path: str):  # noqa: ANN202 - test helper
    table = InodeTable(fs._vol_)
    return table.get(fs.stat(path)["inum"])


class TestBlockMap:
    @pytest.mark.parametrize("lbn", [0, NDIRECT - 1, SINGLE_BASE, DOUBLE_BASE - 1, DOUBLE_BASE,
                                     DOUBLE_BASE + NINDIRECT + 7])
    def test_each_region_maps_and_reads_back(self, ram_fs: FileSystem, lbn: int) -> None:
        """A block written at logical block lbn is found there and nowhere else."""
        ram_fs.write("/f", lbn * BSIZE, b"x" * BSIZE, create=True)
        ip = _inode(ram_fs, "/f")
        assert 0 != bmap(ram_fs._vol_, ip, lbn)
        assert 0 == bmap(ram_fs._vol_, ip, lbn + 1)
        assert b"x" * BSIZE == ram_fs.read("/f", lbn * BSIZE, BSIZE)

    def test_index_blocks_are_counted_in_stat_blocks(self, ram_fs: FileSystem) -> None:
        """One block in the double-indirect region costs 3 blocks: dind, l1, data."""
        ram_fs.write("/f", DOUBLE_BASE * BSIZE, b"y", create=True)
        assert 3 == ram_fs.stat("/f")["blocks"]

    def test_file_over_16_mib_round_trips(self, make_image: Callable[..., Path]) -> None:
        """A 17 MiB file (into the double-indirect region) reads back identical after remount."""
        path = make_image("24M")
        data = os.urandom(17 * MIB)
        with DiskImage(path) as image:
            fs = FileSystem(image)
            fs.mount()
            assert len(data) == fs.write("/big", 0, data, create=True)
            fs.sync()
        with DiskImage(path) as image:
            fs = FileSystem(image)
            fs.mount()
            assert data == fs.read("/big", 0, len(data))
            nblocks = len(data) // BSIZE
            index_blocks = 1 + 1 + -(-(nblocks - DOUBLE_BASE) // NINDIRECT)
            assert nblocks + index_blocks == fs.stat("/big")["blocks"]
        assert fsck(path).clean


class TestHoles:
    def test_holes_read_as_zeros_and_use_no_blocks(self, ram_fs: FileSystem) -> None:
        """Writing far past the end leaves a hole that reads as zeros and costs nothing."""
        ram_fs.write("/h", 100 * BSIZE + 10, b"end", create=True)
        assert 100 * BSIZE + 13 == ram_fs.stat("/h")["size"]
        assert bytes(5000) == ram_fs.read("/h", 50 * BSIZE, 5000)
        assert 2 == ram_fs.stat("/h")["blocks"]  # indirect block + the data block
        assert b"\0\0end" == ram_fs.read("/h", 100 * BSIZE + 8, 100)

    def test_truncate_up_makes_a_hole(self, ram_fs: FileSystem) -> None:
        """Growing with truncate reads as zeros and allocates nothing."""
        ram_fs.write("/h", 0, b"abc", create=True)
        ram_fs.truncate("/h", 3 * MIB)
        assert b"abc" + bytes(10) == ram_fs.read("/h", 0, 13)
        assert 1 == ram_fs.stat("/h")["blocks"]


class TestTruncate:
    def test_truncate_frees_data_and_index_blocks(self, ram_fs: FileSystem) -> None:
        """Cutting a file using all three regions to 0 gives every block back."""
        free = ram_fs.statfs()["free_blocks"]
        ram_fs.write("/t", 0, b"a" * (NDIRECT + 3) * BSIZE, create=True)
        ram_fs.write("/t", (DOUBLE_BASE + 2) * BSIZE, b"b" * BSIZE)
        assert free - (NDIRECT + 3) - 1 - 3 == ram_fs.statfs()["free_blocks"]
        ram_fs.truncate("/t", 0)
        assert free == ram_fs.statfs()["free_blocks"]
        assert 0 == ram_fs.stat("/t")["blocks"]

    def test_shrink_keeps_the_prefix_and_zeroes_the_tail(self, ram_fs: FileSystem) -> None:
        """After cutting mid-block and growing again, the old tail bytes read as zeros."""
        ram_fs.write("/t", 0, b"q" * 3 * BSIZE, create=True)
        ram_fs.truncate("/t", BSIZE + 10)
        assert 2 == ram_fs.stat("/t")["blocks"]
        ram_fs.truncate("/t", 3 * BSIZE)
        assert b"q" * 10 + bytes(BSIZE - 10) == ram_fs.read("/t", BSIZE, BSIZE)

    def test_shrink_into_the_indirect_region_keeps_the_index_block(
            self, ram_fs: FileSystem) -> None:
        """Cutting to inside the indirect region frees only the blocks past the size."""
        ram_fs.write("/t", 0, b"z" * (SINGLE_BASE + 10) * BSIZE, create=True)
        ram_fs.truncate("/t", (SINGLE_BASE + 2) * BSIZE)
        assert SINGLE_BASE + 2 + 1 == ram_fs.stat("/t")["blocks"]
        assert b"z" * BSIZE == ram_fs.read("/t", (SINGLE_BASE + 1) * BSIZE, BSIZE)

    def test_shrink_out_of_log_room_leaves_a_valid_shorter_file(
            self, make_image: Callable[..., Path]) -> None:
        """A shrink step that runs out of op room stops at a valid size, then resumes."""
        path = make_image("160M")  # two bitmap blocks
        with DiskImage(path) as image:
            fs = FileSystem(image)
            fs.mount()
            vol = fs._vol_
            vol.block_hint = BPB - 10  # the file's blocks straddle the two bitmap blocks
            fs.write("/t", 0, b"w" * 40 * BSIZE, create=True)
            fs.sync()
            inum = fs.stat("/t")["inum"]
            table = InodeTable(vol)
            with vol.log.op():
                for b in range(MAXOPBLOCKS - 4):  # leave room for 2 blocks plus reserve
                    vol.log.write_block(vol.sb.inodestart + 100 + b)
                done = shrink(vol, table, table.get(inum), 0)
            assert not done
            assert 10 * BSIZE == fs.stat("/t")["size"]
            fs.sync()
            assert fsck(path).clean
            fs.truncate("/t", 0)
            assert 0 == fs.stat("/t")["blocks"]
            fs.sync()
        assert fsck(path).clean

    def test_unlink_returns_every_block(self, ram_fs: FileSystem) -> None:
        """Deleting a file frees its data and index blocks and its inode."""
        before = ram_fs.statfs()
        ram_fs.write("/u", 0, os.urandom(300 * BSIZE), create=True)
        ram_fs.unlink("/u")
        assert before == ram_fs.statfs()
        assert count_free_blocks(ram_fs._vol_) == before["free_blocks"]
