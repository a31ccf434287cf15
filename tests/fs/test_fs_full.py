"""A full disk: NoSpace, nothing already written is damaged, space comes back."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from libipc.errors import NoSpace
from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE, DIRENT_SIZE


def _fill(fs: FileSystem, path: str) -> int:
    """Write 64 KiB chunks to `path` until the disk is full; bytes written."""
    total = 0
    chunk = b"f" * 16 * BSIZE
    fs.create(path)
    while True:
        try:
            n = fs.write(path, total, chunk)
        except NoSpace:
            return total
        total += n
        if n < len(chunk):
            return total


@pytest.fixture
def small_fs(make_image: Callable[..., Path]) -> FileSystem:
    fs = FileSystem(DiskImage(make_image("1M")))
    fs.mount()
    return fs


class TestFullDisk:
    def test_nospace_leaves_earlier_data_intact(self, small_fs: FileSystem) -> None:
        """Filling the disk raises NoSpace; files written before read back identical."""
        keep = os.urandom(10 * BSIZE)
        small_fs.write("/keep", 0, keep, create=True)
        written = _fill(small_fs, "/filler")
        assert 0 == small_fs.statfs()["free_blocks"]
        with pytest.raises(NoSpace):
            small_fs.write("/filler", written, b"more")
        assert keep == small_fs.read("/keep", 0, len(keep))
        assert written == small_fs.stat("/filler")["size"]
        small_fs.sync()
        assert fsck(small_fs.device).clean

    def test_partial_write_returns_the_count_and_is_consistent(
            self, small_fs: FileSystem) -> None:
        """A write bigger than the free space writes what fits and says how much."""
        free = small_fs.statfs()["free_blocks"]
        data = os.urandom((free + 20) * BSIZE)
        n = small_fs.write("/big", 0, data, create=True)
        assert 0 < n < len(data)
        assert 0 == n % BSIZE
        assert data[:n] == small_fs.read("/big", 0, n)
        small_fs.sync()
        assert fsck(small_fs.device).clean

    def test_space_comes_back_after_unlink(self, small_fs: FileSystem) -> None:
        """After deleting the filler, the same amount can be written again."""
        free = small_fs.statfs()["free_blocks"]
        written = _fill(small_fs, "/filler")
        small_fs.unlink("/filler")
        assert free == small_fs.statfs()["free_blocks"]
        assert written == _fill(small_fs, "/again")

    def test_metadata_ops_on_a_full_disk_fail_without_leaks(self, fs: FileSystem) -> None:
        """mkdir/create that need a block on a full disk raise NoSpace and leak nothing."""
        small_fs = fs  # 2 MiB: enough inodes to fill a directory block
        for i in range(BSIZE // DIRENT_SIZE - 5):  # with /filler: fills the root's block
            small_fs.create(f"/f{i:02d}")
        _fill(small_fs, "/filler")
        inodes = small_fs.statfs()["free_inodes"]
        with pytest.raises(NoSpace):
            small_fs.mkdir("/home/newdir")  # needs a block for '.' and '..'
        with pytest.raises(NoSpace):
            small_fs.create("/one-too-many")  # root directory must grow
        assert inodes == small_fs.statfs()["free_inodes"]
        small_fs.sync()
        assert fsck(small_fs.device).clean

    def test_running_out_of_inodes(self, small_fs: FileSystem) -> None:
        """Creating files until inodes run out raises NoSpace; unlink frees one."""
        small_fs.mkdir("/d")
        created = 0
        with pytest.raises(NoSpace, match="inode"):
            while True:
                small_fs.create(f"/d/{created}")
                created += 1
        assert 0 == small_fs.statfs()["free_inodes"]
        small_fs.unlink("/d/0")
        small_fs.create("/d/again")
        small_fs.sync()
        assert fsck(small_fs.device).clean
