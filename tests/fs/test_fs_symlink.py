"""Symbolic links: stored by fs (type "symlink", the target as its data), never
followed by it; kept across a remount, clean for fsck, freed when unlinked."""

from __future__ import annotations

from pathlib import Path

import pytest

from libipc.errors import (
    FileExists,
    FileNotFound,
    InvalidArgument,
    NameTooLong,
    NotADirectory,
)
from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import SYMLINK_MAX


class TestSymlinks:
    def test_a_link_keeps_its_target_and_says_what_it_is(self, fs: FileSystem) -> None:
        fs.symlink("/home/l", "../etc/motd")
        assert "../etc/motd" == fs.readlink("/home/l")
        info = fs.stat("/home/l")
        assert ("symlink", len("../etc/motd"), 1) == (info["type"], info["size"],
                                                      info["nlink"])
        assert [{"name": "l", "type": "symlink", "size": 11}] == fs.readdir("/home")
        long = "/" + "t" * (SYMLINK_MAX - 1)   # a whole block of target
        fs.symlink("/home/long", long)
        assert long == fs.readlink("/home/long")
        assert fsck(fs.device).clean

    def test_fs_does_not_follow_a_link(self, fs: FileSystem) -> None:
        """Reading, writing or truncating a link, or a path through one, is an error
        that says so; the file it names is untouched."""
        fs.mkdir("/home/d")
        fs.write("/home/d/f", 0, b"data", create=True)
        fs.symlink("/home/ld", "/home/d")
        fs.symlink("/home/lf", "/home/d/f")
        for call in (lambda: fs.read("/home/lf"), lambda: fs.write("/home/lf", 0, b"x"),
                     lambda: fs.write("/home/lf", 0, b"x", create=True),
                     lambda: fs.truncate("/home/lf", 0)):
            with pytest.raises(InvalidArgument, match="is a symbolic link"):
                call()
        with pytest.raises(NotADirectory, match="is a symbolic link"):
            fs.read("/home/ld/f")
        with pytest.raises(NotADirectory):
            fs.readdir("/home/ld")
        with pytest.raises(InvalidArgument, match="not a symbolic link"):
            fs.readlink("/home/d/f")
        assert b"data" == fs.read("/home/d/f")

    def test_bad_links_are_refused_and_change_nothing(self, fs: FileSystem) -> None:
        fs.create("/home/there")
        before = (fs.readdir("/home"), fs.statfs())
        with pytest.raises(FileExists):
            fs.symlink("/home/there", "x")
        for target in ("", "a\0b", 7, None):
            with pytest.raises(InvalidArgument):
                fs.symlink("/home/bad", target)
        with pytest.raises(NameTooLong):
            fs.symlink("/home/bad", "t" * (SYMLINK_MAX + 1))
        with pytest.raises(FileNotFound):
            fs.symlink("/nowhere/l", "x")
        assert before == (fs.readdir("/home"), fs.statfs())

    def test_unlink_and_rename_treat_a_link_like_a_file(self, fs: FileSystem) -> None:
        free = fs.statfs()
        fs.symlink("/home/a", "target")
        fs.rename("/home/a", "/b")
        assert "target" == fs.readlink("/b")
        with pytest.raises(FileNotFound):
            fs.readlink("/home/a")
        fs.unlink("/b")
        assert free == fs.statfs()   # its inode and its block are back
        assert fsck(fs.device).clean

    def test_links_are_kept_across_a_remount(self, image_path: Path) -> None:
        with DiskImage(image_path) as image:
            first = FileSystem(image)
            first.mount()
            first.symlink("/home/kept", "/etc/motd")
            first.unmount()
        with DiskImage(image_path) as image:
            second = FileSystem(image)
            second.mount()
            assert "/etc/motd" == second.readlink("/home/kept")
        report = fsck(image_path)
        assert report.clean, report.render()
        assert "1 symbolic links" in report.render()
