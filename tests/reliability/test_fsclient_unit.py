"""libipc/fsclient.py against an fs in this process whose "crash" loses the uncommitted
group, as a SIGKILL of the fs server does: re-sends, DataLost, the memory bound."""

from __future__ import annotations

import os

import pytest

from libipc import fsclient
from libipc.errors import DataLost, FileNotFound, ServerDied
from libipc.fsclient import FsClient
from servers.blockdev import RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.mkfs import format_device


class CrashingFs:
    """The fs server's ops with verifiers, on a FileSystem with group commit: crash()
    is a SIGKILL (a new instance mounts what the disk holds; the group is gone)."""

    _name = None   # (a proxy by endpoint: FsClient does not wait on naming)

    def __init__(self) -> None:
        self.device = RamDisk(2048)
        format_device(self.device)
        self.die_in: dict[str, int] = {}   # op -> die (after running it) on its n-th call
        self.boots = 0
        self.boot()

    def boot(self) -> None:
        self.fs = FileSystem(self.device, group_commit=True)
        self.fs.mount()
        self.verifier = os.urandom(8).hex()
        self.boots += 1

    crash = boot

    def call(self, op: str, /, **args):
        if op == "verifier":
            return self.verifier
        asked = args.pop("verifier", False)
        result = getattr(self.fs, op)(**args)
        n = self.die_in.get(op)
        if n is not None:
            self.die_in[op] = n - 1
            if n == 1:
                self.crash()
                raise ServerDied(f"fs died under {op}")
        if not asked:
            return result
        if op == "write":
            return {"written": result, "verifier": self.verifier}
        return {"verifier": self.verifier}

    def contents(self, path: str) -> bytes:
        return self.fs.read(path, 0, 1 << 20)


@pytest.fixture
def fs() -> CrashingFs:
    return CrashingFs()


def write(client: FsClient, path: str, data: bytes, offset: int = 0) -> int:
    return client.write(path, offset, memoryview(data), create=True)


class TestReSends:
    def test_a_sync_after_a_crash_re_sends_what_the_crash_lost(self, fs: CrashingFs) -> None:
        """Acknowledged, then lost with fs: the sync re-sends it before answering."""
        client = FsClient(fs)
        write(client, "/home/a", b"alpha" * 100)
        fs.crash()
        with pytest.raises(FileNotFound):
            fs.fs.stat("/home/a")
        client.sync()
        fs.crash()   # synced: on disk whatever happens next
        assert b"alpha" * 100 == fs.contents("/home/a")
        assert ([], 0) == (client.kept, client.kept_bytes)

    def test_a_write_answered_by_a_new_instance_re_sends_the_older_ones_first(
            self, fs: CrashingFs) -> None:
        """A verifier change seen in a write's reply: everything kept goes again, in order."""
        client = FsClient(fs)
        write(client, "/home/a", b"1" * 50)
        write(client, "/home/a", b"2" * 10)   # the same bytes, later: must win
        fs.crash()
        write(client, "/home/b", b"b" * 10)
        assert 3 == client.resent
        client.sync()
        fs.crash()
        assert (b"2" * 10 + b"1" * 40, b"b" * 10) == (fs.contents("/home/a"),
                                                     fs.contents("/home/b"))

    def test_a_sync_with_the_same_verifier_drops_what_was_kept(self, fs: CrashingFs) -> None:
        """No restart in between: nothing is re-sent and nothing stays kept."""
        client = FsClient(fs)
        write(client, "/home/a", b"x")
        client.sync()
        assert (0, []) == (client.resent, client.kept)

    def test_a_truncate_is_re_sent_in_its_place(self, fs: CrashingFs) -> None:
        """write 100, truncate to 10, write 5 at 20: the replay gives the same file."""
        client = FsClient(fs)
        write(client, "/home/t", b"a" * 100)
        client.sync()
        client.truncate("/home/t", 10)
        write(client, "/home/t", b"z" * 5, offset=20)
        fs.crash()
        client.sync()
        fs.crash()
        assert b"a" * 10 + bytes(10) + b"z" * 5 == fs.contents("/home/t")

    def test_fs_dying_under_a_write_is_transparent(self, fs: CrashingFs) -> None:
        """ServerDied on a write (it ran; its group died): re-issued, then synced."""
        client = FsClient(fs)
        write(client, "/home/early", b"e" * 3000)
        fs.die_in["write"] = 1
        assert 7000 == write(client, "/home/w", b"w" * 7000)
        client.sync()
        fs.crash()
        assert (b"e" * 3000, b"w" * 7000) == (fs.contents("/home/early"),
                                             fs.contents("/home/w"))

    def test_fs_dying_under_a_sync_is_transparent(self, fs: CrashingFs) -> None:
        """The sync that died is asked again of the new instance, which is told everything."""
        client = FsClient(fs)
        write(client, "/home/s", b"s" * 5000)
        fs.die_in["sync"] = 1   # (the sync ran: durable; re-sending is harmless)
        client.sync()
        fs.crash()
        assert b"s" * 5000 == fs.contents("/home/s")


class TestDataLost:
    def test_a_change_that_cannot_be_re_sent_is_data_lost_naming_the_path(
            self, fs: CrashingFs) -> None:
        """Its directory died with the group (made around the client): DataLost, never
        a plain success."""
        client = FsClient(fs)
        fs.fs.mkdir("/home/d")
        write(client, "/home/d/f", b"f" * 100)
        fs.crash()
        with pytest.raises(DataLost) as caught:
            client.sync()
        assert ["/home/d/f"] == caught.value.paths
        assert "/home/d/f" in str(caught.value)
        assert [] == client.kept   # (given up on: reported once)


class TestMemoryBound:
    def test_past_keep_max_a_write_syncs_before_it_returns(
            self, fs: CrashingFs, monkeypatch) -> None:
        """KEEP_MAX bytes kept at most: the write past it is an implicit sync."""
        monkeypatch.setattr(fsclient, "KEEP_MAX", 10_000)
        client = FsClient(fs)
        write(client, "/home/a", b"a" * 6000)
        assert 6000 == client.kept_bytes
        write(client, "/home/b", b"b" * 6000)
        assert (0, []) == (client.kept_bytes, client.kept)
        fs.crash()
        assert b"b" * 6000 == fs.contents("/home/b")

    def test_past_keep_max_changes_small_writes_sync_too(
            self, fs: CrashingFs, monkeypatch) -> None:
        """Many small writes are bounded by count as well as by bytes."""
        monkeypatch.setattr(fsclient, "KEEP_MAX_CHANGES", 5)
        client = FsClient(fs)
        for i in range(5):
            write(client, "/home/small", b"s", offset=i)
        assert 5 == len(client.kept)
        write(client, "/home/small", b"s", offset=5)
        assert [] == client.kept
