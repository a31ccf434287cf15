"""Bad input to every operation gets its own clear error and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from libipc.errors import InvalidArgument, InvalidPath, IpcError, NameTooLong
from servers.fs.filesystem import FileSystem
from servers.fs.layout import DIRSIZ, MAX_FILE_SIZE

LONG_NAME = "/" + "x" * (DIRSIZ + 1)

# (operation, error, args) — each call must raise exactly that error.
BAD_CALLS: list[tuple[str, type[IpcError], tuple[Any, ...]]] = [
    ("stat", InvalidPath, ("",)),
    ("stat", InvalidPath, ("relative",)),
    ("stat", InvalidPath, ("/a\0b",)),
    ("stat", InvalidArgument, (None,)),
    ("stat", InvalidArgument, (b"/etc",)),
    ("stat", NameTooLong, (LONG_NAME,)),
    ("read", InvalidArgument, ("/etc/motd", -1, 10)),
    ("read", InvalidArgument, ("/etc/motd", 0, -5)),
    ("read", InvalidArgument, ("/etc/motd", "0", 10)),
    ("read", InvalidArgument, ("/etc/motd", 0, 1.5)),
    ("read", InvalidArgument, ("/etc/motd", True, 1)),
    ("write", InvalidArgument, ("/etc/motd", -1, b"x")),
    ("write", InvalidArgument, ("/etc/motd", 0, "text")),
    ("write", InvalidArgument, ("/etc/motd", 0, None)),
    ("write", InvalidArgument, ("/etc/motd", MAX_FILE_SIZE, b"x")),
    ("write", NameTooLong, (LONG_NAME, 0, b"x", True)),
    ("create", InvalidPath, ("",)),
    ("create", NameTooLong, (LONG_NAME,)),
    ("mkdir", InvalidPath, ("home/x",)),
    ("mkdir", NameTooLong, ("/home" + LONG_NAME,)),
    ("readdir", InvalidPath, ("",)),
    ("unlink", InvalidPath, ("x",)),
    ("rmdir", InvalidPath, ("/",)),
    ("rename", InvalidPath, ("/etc", "")),
    ("rename", InvalidPath, ("", "/x")),
    ("rename", NameTooLong, ("/etc/motd", LONG_NAME)),
    ("truncate", InvalidArgument, ("/etc/motd", -1)),
    ("truncate", InvalidArgument, ("/etc/motd", "10")),
    ("truncate", InvalidArgument, ("/etc/motd", MAX_FILE_SIZE + 1)),
]


class TestBadInput:
    @pytest.mark.parametrize(("op", "error", "args"), BAD_CALLS,
                             ids=[f"{op}-{err.__name__}-{i}"
                                  for i, (op, err, _) in enumerate(BAD_CALLS)])
    def test_bad_call_raises_its_error_and_changes_nothing(
            self, ram_fs: FileSystem, op: str, error: type[IpcError],
            args: tuple[Any, ...]) -> None:
        """Each malformed call raises its error; the tree and free counts are unchanged."""
        before = (ram_fs.readdir("/"), ram_fs.statfs(), ram_fs.read("/etc/motd", 0, 4096))
        method: Callable[..., Any] = getattr(ram_fs, op)
        with pytest.raises(error) as info:
            method(*args)
        assert info.value.message
        assert before == (ram_fs.readdir("/"), ram_fs.statfs(),
                          ram_fs.read("/etc/motd", 0, 4096))

    def test_error_messages_start_with_the_path(self, ram_fs: FileSystem) -> None:
        """Messages read 'where: what', the where being the path."""
        with pytest.raises(IpcError) as info:
            ram_fs.stat("/nope/x")
        assert "/nope/x: no such file or directory" == info.value.message
