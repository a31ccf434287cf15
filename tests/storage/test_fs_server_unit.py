"""The fs server class in process: durability policy, read clamp, formatting and mount refusal."""

from __future__ import annotations

import pytest

from libipc.message import pack
from servers.blockdev import RamDisk
from servers.fs.mkfs import DEFAULT_MOTD, format_device
from servers.fs.server import COMMIT_DELAY, EXIT_CORRUPT, MAX_READ, Fs, MountRefused


class FakeRuntime:
    """Just enough Runtime for the server: timers are recorded, run by the test."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, object]] = []

    def after(self, seconds, fn):
        timer = type("T", (), {"cancel": lambda self: None})()
        self.timers.append((seconds, fn))
        return timer


def make_server(nblocks: int = 512) -> Fs:
    device = RamDisk(nblocks)
    format_device(device)
    server = Fs(device)
    server.runtime = FakeRuntime()
    server.start()
    return server


def call(server: Fs, op: str, **args):
    return server.dispatch(None, pack([op, args]))


class TestDurability:
    def test_a_change_is_committed_by_the_idle_timer(self) -> None:
        """A write is answered with its group pending; the timer commits it."""
        server = make_server()
        call(server, "write", path="/home/f", offset=0, data=b"abc", create=True)
        assert server.fs.pending_blocks > 0
        [(delay, commit)] = server.runtime.timers
        assert COMMIT_DELAY == delay
        commit()
        assert 0 == server.fs.pending_blocks

    def test_one_timer_serves_a_burst_of_changes(self) -> None:
        """Several changes before the commit share one timer (group commit)."""
        server = make_server()
        for i in range(5):
            call(server, "create", path=f"/home/f{i}")
        assert 1 == len(server.runtime.timers)

    def test_reads_schedule_no_commit(self) -> None:
        """Reading ops never arm the timer."""
        server = make_server()
        call(server, "stat", path="/etc/motd")
        call(server, "readdir", path="/")
        assert [] == server.runtime.timers

    def test_sync_commits_and_flushes(self) -> None:
        """sync() leaves nothing pending and flushes the device."""
        server = make_server()
        flushed = []
        server.device.flush = lambda: flushed.append(1)
        call(server, "mkdir", path="/home/d")
        call(server, "sync")
        assert (0, [1]) == (server.fs.pending_blocks, flushed)

    def test_stop_unmounts_with_a_sync(self) -> None:
        """The stop hook (halt, SIGTERM) writes everything out."""
        server = make_server()
        call(server, "write", path="/home/f", offset=0, data=b"x" * 9000, create=True)
        server.stop()
        assert not server.fs.mounted
        again = Fs(server.device)
        again.runtime = FakeRuntime()
        again.start()
        assert b"x" * 9000 == call(again, "read", path="/home/f", size=9000)


class TestLimits:
    def test_big_reads_are_clamped_to_one_message(self) -> None:
        """size > MAX_READ returns MAX_READ bytes; the rest needs another read."""
        server = make_server()
        call(server, "write", path="/home/big", offset=0, data=bytes(MAX_READ + 100),
             create=True)
        assert MAX_READ == len(call(server, "read", path="/home/big", size=10**9))
        assert 100 == len(call(server, "read", path="/home/big", offset=MAX_READ, size=10**9))


class TestMount:
    def test_a_blank_disk_is_formatted_at_start(self) -> None:
        """A zero-filled disk (a fresh ramdisk) gets a filesystem: /etc/motd and /home."""
        device = RamDisk(256)
        server = Fs(device)
        server.runtime = FakeRuntime()
        server.start()
        assert ["etc", "home"] == [e["name"] for e in call(server, "readdir", path="/")]
        assert DEFAULT_MOTD.encode() == call(server, "read", path="/etc/motd", size=10**4)
        assert not device.blank

    def test_a_formatted_disk_is_mounted_as_it_is(self) -> None:
        """A disk that is not blank is never formatted: its files stay."""
        server = make_server()
        call(server, "write", path="/home/keep", offset=0, data=b"kept", create=True)
        server.stop()
        again = Fs(server.device)
        again.runtime = FakeRuntime()
        again.start()
        assert b"kept" == call(again, "read", path="/home/keep")

    def test_a_damaged_image_is_refused_with_exit_status_78(self) -> None:
        """Bad magic: start() raises MountRefused(78, EXIT_WONT_HELP) instead of serving."""
        device = RamDisk(256)
        format_device(device)
        device.data[0:8] = b"JUNKJUNK"
        server = Fs(device)
        server.runtime = FakeRuntime()
        with pytest.raises(MountRefused) as info:
            server.start()
        assert EXIT_CORRUPT == info.value.code == 78
