"""Path names: normalisation, validation, and walking them to inodes."""

from __future__ import annotations

import pytest

from libipc.errors import FileNotFound, InvalidArgument, InvalidPath, NameTooLong, NotADirectory
from servers.fs.filesystem import FileSystem
from servers.fs.inode import InodeTable
from servers.fs.layout import DIRSIZ, ROOTINO
from servers.fs.paths import MAX_PATH, namei, nameiparent, normalise, parent_and_name


class TestNormalise:
    @pytest.mark.parametrize(("path", "expected"), [
        ("/", "/"),
        ("//", "/"),
        ("/a/b/", "/a/b"),
        ("/a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/..", "/"),
        ("/../../a", "/a"),
        ("/a/b/../..", "/"),
        ("/ünï/cödé", "/ünï/cödé"),
    ])
    def test_canonical_form(self, path: str, expected: str) -> None:
        """Slashes, '.' and '..' are resolved lexically."""
        assert expected == normalise(path)

    @pytest.mark.parametrize("path", ["", "a", "a/b", "./a", "/a\0b", "/\udc80"])
    def test_invalid_paths(self, path: str) -> None:
        """Empty, relative, NUL-containing and unencodable paths raise InvalidPath."""
        with pytest.raises(InvalidPath):
            normalise(path)

    @pytest.mark.parametrize("path", [None, b"/a", 3, ["/"]])
    def test_non_string_paths(self, path: object) -> None:
        """A path that is not a str raises InvalidArgument."""
        with pytest.raises(InvalidArgument):
            normalise(path)

    def test_component_limit_is_in_utf8_bytes(self) -> None:
        """DIRSIZ (252) bytes is fine; one more (even as two-byte chars) is NameTooLong."""
        assert "/" + "a" * DIRSIZ == normalise("/" + "a" * DIRSIZ)
        with pytest.raises(NameTooLong):
            normalise("/" + "a" * (DIRSIZ + 1))
        with pytest.raises(NameTooLong):
            normalise("/" + "é" * (DIRSIZ // 2 + 1))

    def test_whole_path_limit(self) -> None:
        """A path over MAX_PATH bytes is NameTooLong even with short components."""
        with pytest.raises(NameTooLong):
            normalise("/a" * (MAX_PATH // 2 + 1))

    def test_parent_and_name(self) -> None:
        """The last component splits off; the root has an empty name."""
        assert ("/a/b", "c") == parent_and_name("/a/b/c")
        assert ("/", "a") == parent_and_name("/a")
        assert ("/", "") == parent_and_name("/")


class TestNamei:
    def test_walks_to_the_named_inode(self, ram_fs: FileSystem) -> None:
        """namei of a nested path returns that file's inode; '/' is the root."""
        ram_fs.mkdir("/a")
        ram_fs.create("/a/f")
        table = InodeTable(ram_fs._vol_)
        assert ram_fs.stat("/a/f")["inum"] == namei(ram_fs._vol_, table, "/a/f").inum
        assert ROOTINO == namei(ram_fs._vol_, table, "/").inum

    def test_missing_component_is_filenotfound(self, ram_fs: FileSystem) -> None:
        """A missing directory on the way raises FileNotFound naming the path."""
        with pytest.raises(FileNotFound, match="/x/y"):
            namei(ram_fs._vol_, InodeTable(ram_fs._vol_), "/x/y")

    def test_file_in_the_middle_is_notadirectory(self, ram_fs: FileSystem) -> None:
        """Walking through a file raises NotADirectory naming the file."""
        ram_fs.create("/f")
        with pytest.raises(NotADirectory, match="/f is not a directory"):
            namei(ram_fs._vol_, InodeTable(ram_fs._vol_), "/f/x")

    def test_nameiparent_returns_directory_and_name(self, ram_fs: FileSystem) -> None:
        """nameiparent gives the parent directory's inode and the last name."""
        ram_fs.mkdir("/d")
        dp, name = nameiparent(ram_fs._vol_, InodeTable(ram_fs._vol_), "/d/new")
        assert (ram_fs.stat("/d")["inum"], "new") == (dp.inum, name)

    def test_nameiparent_of_root_is_invalid(self, ram_fs: FileSystem) -> None:
        """The root has no parent."""
        with pytest.raises(InvalidPath):
            nameiparent(ram_fs._vol_, InodeTable(ram_fs._vol_), "/")
