"""The write-ahead log: nothing reaches home before commit; recovery; undo; grouping."""

from __future__ import annotations

import pytest

from servers.blockdev import RamDisk
from servers.fs.faults import CountingDevice
from servers.fs.layout import BSIZE, LOGSIZE, MAXOPBLOCKS, parse_logheader, parse_superblock
from servers.fs.log import Log
from servers.fs.mkfs import format_device
from servers.fs.volume import Volume


def _volume(group_commit: bool = True) -> tuple[Volume, CountingDevice]:
    disk = RamDisk(512)
    format_device(disk)
    dev = CountingDevice(disk)
    sb = parse_superblock(disk.read(0, 1))
    return Volume.open(dev, sb, group_commit=group_commit), dev


class TestLog:
    def test_nothing_reaches_the_device_before_commit(self) -> None:
        """A finished op stays in the cache until commit() installs it."""
        vol, dev = _volume()
        home = vol.sb.datastart + 5
        with vol.log.op():
            vol.log.write_block(home)[:3] = b"abc"
        assert 0 == dev.writes
        assert b"abc" != dev.read(home, 1)[:3]
        assert b"abc" == vol.cache.read(home)[:3]
        vol.log.commit()
        assert b"abc" == dev.read(home, 1)[:3]
        assert 0 == parse_logheader(dev.read(vol.sb.logstart, 1))[0]

    def test_commit_writes_log_header_install_and_clear_in_order(self) -> None:
        """Commit is: log blocks, header (commit point), home blocks, empty header."""
        vol, _ = _volume()
        order: list[tuple[int, int]] = []
        real_write = vol.device.write
        vol.device.write = lambda b, d: (order.append((b, len(d) // BSIZE)), real_write(b, d))
        home = vol.sb.datastart + 1
        with vol.log.op():
            vol.log.write_block(home)[0] = 1
        vol.log.commit()
        logstart = vol.sb.logstart
        assert [(logstart + 1, 1), (logstart, 1), (home, 1), (logstart, 1)] == order

    def test_recover_installs_a_committed_transaction(self) -> None:
        """A header left behind by a crash after the commit point is replayed at mount."""
        vol, dev = _volume()
        home = vol.sb.datastart + 3
        with vol.log.op():
            vol.log.write_block(home)[:5] = b"hello"
        vol.log._write_log([home])
        vol.log._write_header([home])  # crash here: committed, not installed
        fresh = Log(dev, vol.cache.__class__(dev), vol.sb)
        assert 1 == fresh.recover()
        assert b"hello" == dev.read(home, 1)[:5]
        assert 0 == parse_logheader(dev.read(vol.sb.logstart, 1))[0]

    def test_an_uncommitted_op_is_lost_whole(self) -> None:
        """Blocks of an op whose header was never written never reach home."""
        vol, dev = _volume()
        home = vol.sb.datastart + 3
        with vol.log.op():
            vol.log.write_block(home)[:5] = b"hello"
        vol.log._write_log([home])  # crash before the header
        assert 0 == Log(dev, vol.cache.__class__(dev), vol.sb).recover()
        assert b"hello" != dev.read(home, 1)[:5]

    def test_abort_undoes_every_change_of_the_op(self) -> None:
        """abort_op restores blocks changed earlier in the group and drops new ones."""
        vol, _ = _volume()
        a, b = vol.sb.datastart + 1, vol.sb.datastart + 2
        b_before = bytes(vol.cache.read(b))
        with vol.log.op():
            vol.log.write_block(a)[0] = 1
        with pytest.raises(ZeroDivisionError), vol.log.op():
            vol.log.write_block(a)[0] = 2
            vol.log.write_block(b)[0] = 3
            raise ZeroDivisionError
        assert 1 == vol.cache.read(a)[0]
        assert b_before == vol.cache.read(b)
        assert 1 == vol.log.pending

    def test_rewriting_a_block_takes_one_log_slot(self) -> None:
        """A block written by many ops of one group is logged once (absorption)."""
        vol, _ = _volume()
        for i in range(10):
            with vol.log.op():
                vol.log.write_block(vol.sb.datastart)[0] = i
        assert 1 == vol.log.pending

    def test_group_commits_before_the_log_could_overflow(self) -> None:
        """begin_op commits when another op might not fit in the log."""
        vol, _ = _volume()
        block = vol.sb.datastart
        for _ in range(LOGSIZE):
            with vol.log.op():
                vol.log.write_block(block)
            block += 1
        assert vol.log.commits >= 1
        assert vol.log.pending + MAXOPBLOCKS <= LOGSIZE + MAXOPBLOCKS

    def test_without_group_commit_every_op_commits(self) -> None:
        """group_commit=False commits at each end_op, like xv6."""
        vol, _ = _volume(group_commit=False)
        with vol.log.op():
            vol.log.write_block(vol.sb.datastart)
        assert (1, 0) == (vol.log.commits, vol.log.pending)

    def test_an_op_may_not_touch_more_than_maxopblocks(self) -> None:
        """Touching block MAXOPBLOCKS+1 in one op is a programming error."""
        vol, _ = _volume()
        with pytest.raises(RuntimeError, match="more than"), vol.log.op():
            for i in range(MAXOPBLOCKS + 1):
                vol.log.write_block(vol.sb.datastart + i)
        assert 0 == vol.log.pending

    def test_superblock_and_log_area_cannot_be_written_through_the_log(self) -> None:
        """Only the home area (inodes, bitmap, data) is written through the log."""
        vol, _ = _volume()
        with pytest.raises(RuntimeError, match="outside the home area"), vol.log.op():
            vol.log.write_block(0)

    def test_barriers_flush_between_commit_steps(self) -> None:
        """With barriers=True a commit flushes after each of its four steps."""
        disk = RamDisk(512)
        format_device(disk)
        dev = CountingDevice(disk)
        vol = Volume.open(dev, parse_superblock(disk.read(0, 1)), barriers=True)
        with vol.log.op():
            vol.log.write_block(vol.sb.datastart)
        vol.log.commit()
        assert 4 == dev.flushes
