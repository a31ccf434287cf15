"""FIFO inodes (NK_T_FIFO): a name in the tree with no bytes, made by mkfifo, removed by
unlink, refused by read/write/truncate, and checked by fsck."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from libipc.errors import FileExists, FileNotFound, InvalidArgument, NotADirectory
from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE, T_FIFO


def _mount(path: Path) -> FileSystem:
    fs = FileSystem(DiskImage(path))
    fs.mount()
    return fs


class TestMkfifo:
    def test_a_fifo_is_an_inode_of_its_own_type_with_no_bytes(self, fs: FileSystem) -> None:
        """stat and readdir say "fifo"; size 0, no blocks, one link, and a key."""
        fs.mkfifo("/home/f")
        st = fs.stat("/home/f")
        assert ("fifo", 0, 0, 1) == (st["type"], st["size"], st["blocks"], st["nlink"])
        assert st["fifo"].split(".")[1] == str(st["inum"])
        assert [{"name": "f", "type": "fifo", "size": 0}] == fs.readdir("/home")
        assert "fifo" not in fs.stat("/etc/motd")

    def test_mkfifo_where_something_is_or_no_parent_is(self, fs: FileSystem) -> None:
        """FileExists on any name taken (a fifo too); the path rules of create."""
        fs.mkfifo("/home/f")
        for taken in ("/home/f", "/etc/motd", "/home"):
            with pytest.raises(FileExists):
                fs.mkfifo(taken)
        with pytest.raises(FileNotFound):
            fs.mkfifo("/nope/f")
        with pytest.raises(NotADirectory):
            fs.mkfifo("/home/f/g")

    def test_its_bytes_are_not_the_filesystems(self, fs: FileSystem) -> None:
        """read, write (create=True too) and truncate of a fifo are InvalidArgument."""
        fs.mkfifo("/home/f")
        for attempt in (lambda: fs.read("/home/f", 0, 10),
                        lambda: fs.write("/home/f", 0, b"x"),
                        lambda: fs.write("/home/f", 0, b"x", create=True),
                        lambda: fs.truncate("/home/f", 5)):
            with pytest.raises(InvalidArgument, match="/home/f: is a fifo"):
                attempt()
        fs.create("/home/f")   # O_CREAT of what is there: nothing happens
        assert ("fifo", 0) == (fs.stat("/home/f")["type"], fs.stat("/home/f")["size"])

    def test_unlink_removes_it_and_frees_the_inode(self, fs: FileSystem) -> None:
        """rm of a fifo gives its inode back."""
        free = fs.statfs()["free_inodes"]
        fs.mkfifo("/home/f")
        assert free - 1 == fs.statfs()["free_inodes"]
        fs.unlink("/home/f")
        assert free == fs.statfs()["free_inodes"]
        with pytest.raises(FileNotFound):
            fs.stat("/home/f")

    def test_the_key_survives_rename_and_remount_but_not_reuse(self, image_path: Path) -> None:
        """The pipe server's key names the inode: the same after mv and a remount, another
        for a fifo made later in the same (reused) inode."""
        fs = _mount(image_path)
        fs.mkfifo("/home/f")
        key = fs.stat("/home/f")["fifo"]
        fs.rename("/home/f", "/g")
        assert key == fs.stat("/g")["fifo"]
        fs.unmount()
        fs.device.close()
        fs = _mount(image_path)
        assert key == fs.stat("/g")["fifo"]
        inum = fs.stat("/g")["inum"]
        fs.unlink("/g")
        fs.mkfifo("/h")
        assert inum == fs.stat("/h")["inum"]   # the inode is reused ...
        assert key != fs.stat("/h")["fifo"]    # ... its key is not
        fs.unmount()
        fs.device.close()


class TestFsckFifo:
    def test_an_image_with_fifos_is_clean(self, image_path: Path) -> None:
        """A fifo is an inode type fsck knows; the summary counts fifos."""
        fs = _mount(image_path)
        fs.mkfifo("/home/f")
        fs.mkfifo("/g")
        fs.unmount()
        fs.device.close()
        report = fsck(image_path)
        assert [] == report.problems
        assert "2 fifos" in report.notes[-1]

    def test_a_fifo_holding_blocks_or_bytes_is_damage(self, image_path: Path,
                                                      damage: Any) -> None:
        """A fifo has no blocks and size 0: anything else is reported."""
        fs = _mount(image_path)
        fs.write("/home/a", 0, b"a" * 10, create=True)
        a = fs.stat("/home/a")["inum"]
        fs.unmount()
        fs.device.close()
        damage.inode(image_path, a, type=T_FIFO)
        report = fsck(image_path)
        assert any(f"inode {a}: fifo holding 1 block" in p for p in report.problems), \
            report.render()
        assert any(f"inode {a}: fifo of size 10" in p for p in report.problems), report.render()
        assert not any("past its size" in p for p in report.problems), report.render()
        damage.inode(image_path, a, size=0, direct0=0)
        problems = fsck(image_path).problems   # the block is still marked in use
        assert all("fifo" not in p for p in problems), problems
        assert any("marked in use in the bitmap, but unused" in p for p in problems), problems

    def test_mount_reads_a_fifo_made_by_an_older_run(self, image_path: Path) -> None:
        """The type is on disk: a remounted fs lists the fifo and refuses its bytes."""
        fs = _mount(image_path)
        fs.mkfifo("/home/f")
        fs.sync()
        fs.device.close()
        fs = _mount(image_path)
        assert "fifo" == fs.stat("/home/f")["type"]
        with pytest.raises(InvalidArgument):
            fs.read("/home/f", 0, BSIZE)
        fs.device.close()
