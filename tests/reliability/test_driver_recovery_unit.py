"""Transparent driver recovery in process: IpcBlockDevice re-issues calls that met a dead
block server; the fs server treats a missing block server as transient (never exit 78),
remounts when it is back, and changes its write verifier when acknowledged changes may
have been lost."""

from __future__ import annotations

import pytest

from libipc.errors import NoSuchEndpoint, ServerDied
from libipc.message import pack
from servers.blockdev import RamDisk
from servers.fs import ipcdevice
from servers.fs.ipcdevice import IpcBlockDevice
from servers.fs.mkfs import format_device
from servers.fs.server import Fs, MountRefused


class FlakyBlock:
    """A block server as a proxy: `down` makes every call fail as a dead server's would;
    `die_in` makes the n-th call from now die after doing its work (ServerDied)."""

    endpoint = 7

    def __init__(self, nblocks: int = 512) -> None:
        self.disk = RamDisk(nblocks)
        format_device(self.disk)
        self.down = False
        self.die_in = 0
        self.calls: list[str] = []

    def call(self, op: str, /, **args):
        self.calls.append(op)
        if self.down:
            raise NoSuchEndpoint("lookup: no server is registered as 'block'")
        if op == "info":
            result = {"block_size": 4096, "blocks": self.disk.nblocks, "path": "ram",
                      "max_blocks": 15, "blank": False}
        elif op == "read":
            result = self.disk.read(args["block"], args["count"])
        elif op == "write":
            result = self.disk.write(args["block"], args["data"])
        elif op == "flush":
            result = None
        else:
            raise AssertionError(op)
        if self.die_in:
            self.die_in -= 1
            if self.die_in == 0:
                raise ServerDied("block died")
        return result


@pytest.fixture
def block(monkeypatch) -> FlakyBlock:
    flaky = FlakyBlock()
    waits = []

    def await_block(self, deadline):   # (naming's wait, without a naming server)
        waits.append(deadline)
        if len(waits) > 3:
            flaky.down = False   # init restarted it
    monkeypatch.setattr(IpcBlockDevice, "_await_block", await_block)
    flaky.waits = waits
    return flaky


class FakeRuntime:
    def after(self, seconds, fn):
        return type("T", (), {"cancel": lambda self: None})()


def call(server: Fs, op: str, **args):
    return server.dispatch(None, pack([op, args]))


class TestIpcBlockDevice:
    def test_a_call_that_met_a_dying_block_is_re_issued(self, block: FlakyBlock) -> None:
        """ServerDied (the call may have run): the same call again, and it succeeds."""
        device = IpcBlockDevice(block, window=False)
        block.die_in = 1
        device.write(20, b"w" * 4096)
        assert (b"w" * 4096, 1) == (block.disk.read(20, 1), device.recoveries)
        assert ["write", "write"] == block.calls[-2:]

    def test_a_call_waits_while_block_is_away(self, block: FlakyBlock) -> None:
        """NoSuchEndpoint while block restarts: waited for, then answered."""
        device = IpcBlockDevice(block, window=False)
        seen = []
        device.on_recovery = lambda op, error, waited: seen.append((op, error))
        block.down = True
        assert 4096 == len(device.read(3))
        assert [("read", "NoSuchEndpoint")] == seen
        assert 4 == len(block.waits)

    def test_past_the_deadline_the_error_reaches_the_filesystem(
            self, block: FlakyBlock, monkeypatch) -> None:
        """A block server that never comes back: the call fails, it does not hang."""
        monkeypatch.setattr(ipcdevice, "RECOVERY_S", 0.0)
        device = IpcBlockDevice(block, window=False)
        block.down = True   # (and stays down: no wait brings it back)
        monkeypatch.setattr(IpcBlockDevice, "_await_block", lambda self, deadline: None)
        with pytest.raises(NoSuchEndpoint):
            device.flush()


class TestFsServer:
    def make(self, block: FlakyBlock) -> Fs:
        server = Fs(IpcBlockDevice(block, window=False))
        server.runtime = FakeRuntime()
        server.start()
        return server

    def test_a_commit_that_outlived_the_deadline_waits_for_block_not_exit_78(
            self, block: FlakyBlock, monkeypatch) -> None:
        """block gone past the deadline under a commit: fs answers errors and stays up
        (no MountRefused); once block is back the next op remounts and works, and the
        verifier is new — the group that died is for clients to re-send."""
        server = self.make(block)
        call(server, "write", path="/home/kept", offset=0, data=b"k" * 100, create=True)
        call(server, "sync")
        before = call(server, "verifier")
        call(server, "write", path="/home/lost", offset=0, data=b"l" * 100, create=True)
        monkeypatch.setattr(ipcdevice, "RECOVERY_S", 0.0)
        monkeypatch.setattr(IpcBlockDevice, "_await_block", lambda self, deadline: None)
        block.down = True
        with pytest.raises(NoSuchEndpoint):   # (not MountRefused: a SystemExit)
            call(server, "sync")
        with pytest.raises(NoSuchEndpoint):
            call(server, "stat", path="/home/kept")
        block.down = False
        reply = call(server, "sync", verifier=True)
        assert before != reply["verifier"] == call(server, "verifier")
        assert b"k" * 100 == call(server, "read", path="/home/kept")

    def test_a_damaged_disk_still_exits_78_at_remount(self, block: FlakyBlock,
                                                      monkeypatch) -> None:
        """What a restart cannot fix keeps its exit status."""
        server = self.make(block)
        call(server, "write", path="/home/x", offset=0, data=b"x", create=True)
        monkeypatch.setattr(ipcdevice, "RECOVERY_S", 0.0)
        monkeypatch.setattr(IpcBlockDevice, "_await_block", lambda self, deadline: None)
        block.down = True
        with pytest.raises(NoSuchEndpoint):
            call(server, "sync")
        block.down = False
        block.disk.data[0:8] = b"JUNKJUNK"   # the superblock
        with pytest.raises(MountRefused) as refused:
            call(server, "sync")
        assert 78 == refused.value.code

    def test_write_and_sync_replies_carry_the_verifier_only_when_asked(
            self, block: FlakyBlock) -> None:
        """Old callers get an int and None; verifier=True gets the dicts."""
        server = self.make(block)
        v = call(server, "verifier")
        assert 3 == call(server, "write", path="/home/a", offset=0, data=b"abc", create=True)
        assert {"written": 3, "verifier": v} == call(server, "write", path="/home/a",
                                                     offset=0, data=b"abc", verifier=True)
        assert None is call(server, "sync")
        assert {"verifier": v} == call(server, "sync", verifier=True)
        assert {"verifier": v} == call(server, "truncate", path="/home/a", size=1,
                                       verifier=True)
        assert {"verifier": v} == call(server, "create", path="/home/b", verifier=True)
        assert v != Fs(server.device).write_verifier   # every instance its own
