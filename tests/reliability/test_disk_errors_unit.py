"""A failing disk is a transient fault for fs (found by `nanokernel chaos`): two I/O
errors in a row — the commit's, then the remount's superblock read — made fs exit 78,
which init never restarts.  Now fs answers the error and remounts on a later op."""

from __future__ import annotations

import pytest

from libipc.message import pack
from servers.blockdev import DiskError, RamDisk
from servers.fs.mkfs import format_device
from servers.fs.server import Fs


class FailingDisk(RamDisk):
    """A RamDisk whose next `fail` transfers raise DiskError (as block's inject does)."""

    def __init__(self, nblocks: int) -> None:
        super().__init__(nblocks)
        self.fail = 0

    def _maybe_fail(self, what: str, block: int) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise DiskError(f"{what} at block {block}: I/O error (test)")

    def read(self, block: int, count: int = 1) -> bytes:
        self._maybe_fail("read", block)
        return super().read(block, count)

    def write(self, block: int, data: bytes) -> None:
        self._maybe_fail("write", block)
        super().write(block, data)


class FakeRuntime:
    def after(self, seconds, fn):
        return type("T", (), {"cancel": lambda self: None})()


def call(server: Fs, op: str, **args):
    return server.dispatch(None, pack([op, args]))


def test_io_errors_at_commit_and_remount_are_errors_not_exit_78():
    disk = FailingDisk(512)
    format_device(disk)
    disk.blank = False
    server = Fs(disk)
    server.runtime = FakeRuntime()
    server.start()
    call(server, "write", path="/home/kept", offset=0, data=b"k" * 100, create=True)
    call(server, "sync")
    call(server, "write", path="/home/more", offset=0, data=b"m" * 100, create=True)
    disk.fail = 2   # the commit's write, then the remount's first read
    with pytest.raises(DiskError):   # (before: MountRefused, a SystemExit with 78)
        call(server, "sync")
    assert b"k" * 100 == call(server, "read", path="/home/kept")   # remounted, serving
    call(server, "write", path="/home/more", offset=0, data=b"m" * 100, create=True)
    call(server, "sync")
    assert b"m" * 100 == call(server, "read", path="/home/more")


def test_a_start_waits_out_a_failing_disk():
    """fs restarted onto a disk that fails its first reads mounts once they work (before:
    exit 1 and another restart, seen by the campaign as fs going down again)."""
    disk = FailingDisk(512)
    format_device(disk)
    disk.blank = False
    disk.fail = 3
    server = Fs(disk)
    server.runtime = FakeRuntime()
    server.start()
    assert disk.fail == 0 and server.fs.mounted
