"""FileSystem: mounting (and refusing damaged images) and the path-based operations."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from libipc.errors import (
    CorruptFilesystem,
    DirectoryNotEmpty,
    FileExists,
    FileNotFound,
    InvalidPath,
    IsADirectory,
    NotADirectory,
)
from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE, DIRENT_SIZE, DIRSIZ, ROOTINO, T_FILE
from servers.fs.mkfs import DEFAULT_MOTD


def remount(fs: FileSystem) -> FileSystem:
    """A new FileSystem on the same device: what a restarted fs server does."""
    again = FileSystem(fs.device)
    again.mount()
    return again


def _mount(path: Path) -> FileSystem:
    fs = FileSystem(DiskImage(path))
    fs.mount()
    return fs


class TestMount:
    def test_fresh_image_mounts_with_motd_and_home(self, image_path: Path) -> None:
        """mkfs's image mounts and holds /etc/motd and an empty /home."""
        fs = _mount(image_path)
        assert ["etc", "home"] == [e["name"] for e in fs.readdir("/")]
        assert DEFAULT_MOTD.encode() == fs.read("/etc/motd", 0, 10_000)
        assert [] == fs.readdir("/home")

    def test_bad_magic_is_refused(self, image_path: Path, damage: Any) -> None:
        """A wrong magic number refuses to mount with 'bad magic'."""
        damage.superblock(image_path, magic=0x12345678)
        with pytest.raises(CorruptFilesystem, match="bad magic"):
            _mount(image_path)

    def test_wrong_version_is_refused(self, image_path: Path, damage: Any) -> None:
        """An unknown version refuses to mount."""
        damage.superblock(image_path, version=99)
        with pytest.raises(CorruptFilesystem, match="version 99"):
            _mount(image_path)

    def test_wrong_block_size_is_refused(self, image_path: Path, damage: Any) -> None:
        """A superblock claiming another block size refuses to mount."""
        damage.superblock(image_path, bsize=512)
        with pytest.raises(CorruptFilesystem, match="block size 512"):
            _mount(image_path)

    def test_truncated_image_is_refused(self, image_path: Path) -> None:
        """An image cut short (at a block boundary) is beyond the device: refused."""
        size = image_path.stat().st_size
        with open(image_path, "r+b") as f:
            f.truncate(size // 2)
        with pytest.raises(CorruptFilesystem, match="truncated"):
            _mount(image_path)

    def test_inconsistent_geometry_is_refused(self, image_path: Path, damage: Any) -> None:
        """Region starts that do not follow from the sizes refuse to mount."""
        damage.superblock(image_path, bmapstart=5)
        with pytest.raises(CorruptFilesystem, match="bmapstart"):
            _mount(image_path)

    def test_root_that_is_not_a_directory_is_refused(self, image_path: Path,
                                                     damage: Any) -> None:
        """A root inode of type file refuses to mount."""
        damage.inode(image_path, ROOTINO, type=T_FILE)
        with pytest.raises(CorruptFilesystem, match="root inode"):
            _mount(image_path)

    def test_corrupt_inode_type_is_refused(self, image_path: Path, damage: Any) -> None:
        """A root inode with a nonsense type refuses to mount with 'bad type'."""
        damage.inode(image_path, ROOTINO, type=77)
        with pytest.raises(CorruptFilesystem, match="bad type 77"):
            _mount(image_path)

    def test_corrupt_pointer_fails_the_operation_not_the_server(
            self, image_path: Path, damage: Any) -> None:
        """A block pointer into the metadata area makes that read fail cleanly."""
        inum = _mount(image_path).stat("/etc/motd")["inum"]
        damage.inode(image_path, inum, direct0=2)
        fs = _mount(image_path)
        with pytest.raises(CorruptFilesystem, match="outside the data area"):
            fs.read("/etc/motd", 0, 100)
        assert [] == fs.readdir("/home")

    def test_operations_need_a_mount(self, image_path: Path) -> None:
        """Calling an op before mount() is a programming error."""
        with pytest.raises(RuntimeError, match="not mounted"):
            FileSystem(DiskImage(image_path)).stat("/")


class TestStat:
    def test_stat_of_file_and_directory(self, fs: FileSystem) -> None:
        """stat reports type, size, nlink, mtime, inum and blocks."""
        before = time.time()
        fs.write("/f", 0, b"hello", create=True)
        st = fs.stat("/f")
        assert ("file", 5, 1, 1) == (st["type"], st["size"], st["nlink"], st["blocks"])
        assert before - 1 <= st["mtime"] <= time.time() + 1
        root = fs.stat("/")
        assert ("dir", ROOTINO, 4) == (root["type"], root["inum"], root["nlink"])

    def test_write_updates_mtime(self, fs: FileSystem) -> None:
        """A write moves the file's mtime forward."""
        fs.create("/f")
        first = fs.stat("/f")["mtime"]
        time.sleep(0.01)
        fs.write("/f", 0, b"x")
        assert fs.stat("/f")["mtime"] > first


class TestReadWrite:
    def test_read_at_and_past_the_end(self, fs: FileSystem) -> None:
        """Reads stop at the end of the file and return b'' past it."""
        fs.write("/f", 0, b"0123456789", create=True)
        assert b"789" == fs.read("/f", 7, 100)
        assert b"" == fs.read("/f", 10, 5)
        assert b"" == fs.read("/f", 1000, 5)
        assert b"" == fs.read("/f", 3, 0)

    def test_overwrite_in_the_middle_across_blocks(self, fs: FileSystem) -> None:
        """A write spanning a block boundary changes exactly its bytes."""
        fs.write("/f", 0, b"a" * 3 * BSIZE, create=True)
        fs.write("/f", BSIZE - 2, b"XYZW")
        expected = b"a" * (BSIZE - 2) + b"XYZW" + b"a" * (2 * BSIZE - 2)
        assert expected == fs.read("/f", 0, 3 * BSIZE)

    def test_write_without_create_needs_the_file(self, fs: FileSystem) -> None:
        """write(create=False) to a missing file raises FileNotFound."""
        with pytest.raises(FileNotFound):
            fs.write("/missing", 0, b"x")

    def test_write_and_read_of_a_directory_are_refused(self, fs: FileSystem) -> None:
        """Reading or writing a directory raises IsADirectory."""
        with pytest.raises(IsADirectory):
            fs.read("/home", 0, 10)
        with pytest.raises(IsADirectory):
            fs.write("/home", 0, b"x")

    def test_empty_write_changes_nothing(self, fs: FileSystem) -> None:
        """Writing b'' returns 0 and leaves the size alone."""
        fs.create("/f")
        assert 0 == fs.write("/f", 100, b"")
        assert 0 == fs.stat("/f")["size"]

    def test_bytearray_and_memoryview_data(self, fs: FileSystem) -> None:
        """write accepts any bytes-like data."""
        fs.write("/f", 0, bytearray(b"ab"), create=True)
        fs.write("/f", 2, memoryview(b"cd"))
        assert b"abcd" == fs.read("/f", 0, 10)


class TestCreateAndMkdir:
    def test_create_is_idempotent_unless_exclusive(self, fs: FileSystem) -> None:
        """create of an existing file keeps it; exclusive=True raises FileExists."""
        fs.write("/f", 0, b"keep", create=True)
        fs.create("/f")
        assert b"keep" == fs.read("/f", 0, 10)
        with pytest.raises(FileExists):
            fs.create("/f", exclusive=True)

    def test_create_over_a_directory(self, fs: FileSystem) -> None:
        """create on a directory raises IsADirectory (FileExists if exclusive)."""
        with pytest.raises(IsADirectory):
            fs.create("/home")
        with pytest.raises(FileExists):
            fs.create("/home", exclusive=True)

    def test_create_in_missing_or_file_parent(self, fs: FileSystem) -> None:
        """A missing parent is FileNotFound; a file parent is NotADirectory."""
        with pytest.raises(FileNotFound):
            fs.create("/nope/f")
        fs.create("/file")
        with pytest.raises(NotADirectory):
            fs.create("/file/f")

    def test_mkdir_of_existing_names(self, fs: FileSystem) -> None:
        """mkdir over anything existing, the root included, raises FileExists."""
        for path in ("/home", "/etc/motd", "/", "/home/.."):
            with pytest.raises(FileExists):
                fs.mkdir(path)

    def test_names_up_to_dirsiz_bytes(self, fs: FileSystem) -> None:
        """A name of DIRSIZ (252) bytes of UTF-8 works end to end."""
        name = "ü" * (DIRSIZ // 2)
        fs.write(f"/home/{name}", 0, b"x", create=True)
        assert [name] == [e["name"] for e in fs.readdir("/home")]


class TestReaddir:
    def test_listing_is_sorted_with_types_and_sizes(self, fs: FileSystem) -> None:
        """readdir gives {name, type, size} sorted by name, without '.' and '..'."""
        fs.write("/home/b", 0, b"12345", create=True)
        fs.mkdir("/home/a")
        fs.create("/home/c")
        assert [{"name": "a", "type": "dir", "size": 2 * DIRENT_SIZE},
                {"name": "b", "type": "file", "size": 5},
                {"name": "c", "type": "file", "size": 0}] == fs.readdir("/home")

    def test_readdir_of_a_file(self, fs: FileSystem) -> None:
        """readdir of a file raises NotADirectory."""
        with pytest.raises(NotADirectory):
            fs.readdir("/etc/motd")


class TestUnlinkAndRmdir:
    def test_unlink_removes_the_file(self, fs: FileSystem) -> None:
        """After unlink the name is gone and its space is free again."""
        free = fs.statfs()["free_blocks"]
        fs.write("/f", 0, b"x" * 5 * BSIZE, create=True)
        fs.unlink("/f")
        with pytest.raises(FileNotFound):
            fs.stat("/f")
        assert free == fs.statfs()["free_blocks"]

    def test_unlink_of_directory_and_missing(self, fs: FileSystem) -> None:
        """unlink refuses directories (IsADirectory) and missing names (FileNotFound)."""
        with pytest.raises(IsADirectory):
            fs.unlink("/home")
        with pytest.raises(IsADirectory):
            fs.unlink("/")
        with pytest.raises(FileNotFound):
            fs.unlink("/nope")

    def test_rmdir_rules(self, fs: FileSystem) -> None:
        """rmdir: non-empty -> DirectoryNotEmpty, file -> NotADirectory, '/' -> InvalidPath."""
        fs.mkdir("/d")
        fs.create("/d/f")
        with pytest.raises(DirectoryNotEmpty):
            fs.rmdir("/d")
        with pytest.raises(NotADirectory):
            fs.rmdir("/d/f")
        with pytest.raises(InvalidPath):
            fs.rmdir("/")
        with pytest.raises(FileNotFound):
            fs.rmdir("/nope")
        fs.unlink("/d/f")
        fs.rmdir("/d")
        assert ["etc", "home"] == [e["name"] for e in fs.readdir("/")]
        assert 4 == fs.stat("/")["nlink"]


class TestRename:
    def test_rename_file_within_and_across_directories(self, fs: FileSystem) -> None:
        """A renamed file keeps its inode and contents under the new name."""
        fs.write("/a", 0, b"data", create=True)
        inum = fs.stat("/a")["inum"]
        fs.rename("/a", "/b")
        fs.rename("/b", "/home/c")
        assert (inum, b"data") == (fs.stat("/home/c")["inum"], fs.read("/home/c", 0, 10))
        with pytest.raises(FileNotFound):
            fs.stat("/a")

    def test_rename_replaces_an_existing_file(self, fs: FileSystem) -> None:
        """Renaming onto a file replaces it and frees the old one's blocks."""
        free = fs.statfs()["free_blocks"]
        fs.write("/a", 0, b"new", create=True)
        fs.write("/b", 0, b"old" * 5000, create=True)
        fs.rename("/a", "/b")
        assert b"new" == fs.read("/b", 0, 100)
        assert free - 1 == fs.statfs()["free_blocks"]

    def test_rename_directory_updates_dotdot_and_link_counts(self, fs: FileSystem) -> None:
        """Moving a directory re-parents its '..' and moves one link between parents."""
        fs.mkdir("/src")
        fs.mkdir("/src/d")
        fs.create("/src/d/f")
        fs.rename("/src/d", "/home/d")
        assert (2, 3) == (fs.stat("/src")["nlink"], fs.stat("/home")["nlink"])
        assert ["f"] == [e["name"] for e in fs.readdir("/home/d")]
        fs.sync()
        assert fsck(fs.device).clean

    def test_rename_directory_over_an_empty_directory(self, fs: FileSystem) -> None:
        """A directory may replace an empty one; a non-empty target is refused."""
        fs.mkdir("/x")
        fs.create("/x/f")
        fs.mkdir("/home/empty")
        fs.rename("/x", "/home/empty")
        assert ["f"] == [e["name"] for e in fs.readdir("/home/empty")]
        fs.mkdir("/y")
        with pytest.raises(DirectoryNotEmpty):
            fs.rename("/y", "/home/empty")
        fs.sync()
        assert fsck(fs.device).clean

    def test_rename_type_mismatches(self, fs: FileSystem) -> None:
        """File over directory is IsADirectory; directory over file is NotADirectory."""
        fs.create("/f")
        fs.mkdir("/d")
        with pytest.raises(IsADirectory):
            fs.rename("/f", "/d")
        with pytest.raises(NotADirectory):
            fs.rename("/d", "/f")

    def test_rename_into_own_subtree_is_refused(self, fs: FileSystem) -> None:
        """Moving a directory under itself raises InvalidPath."""
        fs.mkdir("/a")
        fs.mkdir("/a/b")
        with pytest.raises(InvalidPath, match="into itself"):
            fs.rename("/a", "/a/b/c")

    def test_rename_root_and_self(self, fs: FileSystem) -> None:
        """The root cannot be renamed; renaming a name to itself does nothing."""
        with pytest.raises(InvalidPath):
            fs.rename("/", "/x")
        with pytest.raises(InvalidPath):
            fs.rename("/home", "/")
        fs.rename("/home", "/home/")
        assert "dir" == fs.stat("/home")["type"]

    def test_rename_missing_source(self, fs: FileSystem) -> None:
        """A missing source raises FileNotFound."""
        with pytest.raises(FileNotFound):
            fs.rename("/nope", "/x")


class TestTruncateOp:
    def test_truncate_shrinks_and_grows(self, fs: FileSystem) -> None:
        """truncate cuts and extends with zeros."""
        fs.write("/f", 0, b"abcdef", create=True)
        fs.truncate("/f", 2)
        fs.truncate("/f", 4)
        assert b"ab\0\0" == fs.read("/f", 0, 10)

    def test_truncate_of_directory_or_missing(self, fs: FileSystem) -> None:
        """truncate refuses directories and missing files."""
        with pytest.raises(IsADirectory):
            fs.truncate("/home", 0)
        with pytest.raises(FileNotFound):
            fs.truncate("/nope", 0)


class TestDurability:
    def test_synced_data_survives_a_remount(self, fs: FileSystem) -> None:
        """After sync, a new FileSystem on the same image sees every change."""
        fs.mkdir("/home/u")
        fs.write("/home/u/f", 0, b"persist" * 1000, create=True)
        fs.sync()
        again = remount(fs)
        assert b"persist" * 1000 == again.read("/home/u/f", 0, 7000)

    def test_unsynced_ops_are_lost_whole_on_crash(self, fs: FileSystem) -> None:
        """Without sync or commit a 'crash' (dropping the object) loses the ops, cleanly."""
        fs.sync()
        fs.write("/lost", 0, b"x", create=True)
        assert fs.pending_blocks > 0
        again = remount(fs)
        with pytest.raises(FileNotFound):
            again.stat("/lost")
        assert fsck(fs.device).clean

    def test_group_commit_off_commits_every_op(self, image_path: Path) -> None:
        """With group_commit=False nothing is ever pending after an op."""
        fs = FileSystem(DiskImage(image_path), group_commit=False)
        fs.mount()
        fs.write("/f", 0, b"x", create=True)
        assert 0 == fs.pending_blocks
        assert b"x" == remount(fs).read("/f", 0, 1)

    def test_unmount_syncs(self, fs: FileSystem) -> None:
        """unmount() commits, so the next mount sees the data."""
        fs.write("/f", 0, b"bye", create=True)
        fs.unmount()
        assert b"bye" == remount(fs).read("/f", 0, 3)


class TestStatfs:
    def test_counts_follow_allocation(self, fs: FileSystem) -> None:
        """statfs's free counts drop by what a new file uses."""
        before = fs.statfs()
        fs.write("/f", 0, b"x" * 2 * BSIZE, create=True)
        after = fs.statfs()
        assert BSIZE == after["block_size"]
        assert before["free_blocks"] - 2 == after["free_blocks"]
        assert before["free_inodes"] - 1 == after["free_inodes"]
        assert before["blocks"] == after["blocks"]


class TestMakeImage:
    def test_make_image_fixture(self, make_image: Callable[..., Path]) -> None:
        """The make_image fixture builds mountable images of a given size."""
        path = make_image("1M", name="one.img")
        assert 1024 * 1024 == path.stat().st_size
        assert _mount(path).statfs()["blocks"] > 0
