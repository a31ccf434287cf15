"""The block server's ops, in process: bounds, sizes, flush, the device it opens.

Also pinned here: the driver imports nothing of the filesystem above it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from libipc import InvalidArgument
from libipc.errors import CorruptFilesystem, FileNotFound
from libipc.limits import DATA_PER_MESSAGE, DEFAULT_MAX_MESSAGE
from libipc.message import pack
from servers.block import Block, open_device
from servers.blockdev import MIN_SIZE, DiskImage, RamDisk, max_blocks_for
from servers.fs.mkfs import mkfs

BS = 4096


@pytest.fixture
def block() -> Block:
    server = Block(RamDisk(64), "ramdisk", max_message=DEFAULT_MAX_MESSAGE)
    server.max_blocks = max_blocks_for(server.max_message)
    return server


def call(server: Block, op: str, **args):
    return server.dispatch(None, pack([op, args]))


class TestBlockOps:
    def test_write_then_read_round_trips(self, block: Block) -> None:
        """Blocks written come back unchanged, singly and in runs."""
        data = bytes(range(256)) * 32
        call(block, "write", block=3, data=data)
        assert data[:BS] == call(block, "read", block=3)
        assert data == call(block, "read", block=3, count=2)

    def test_info_describes_the_disk(self, block: Block) -> None:
        """info() gives block size, block count, path, the per-message limit, blankness."""
        assert {"block_size": BS, "blocks": 64, "path": "ramdisk", "max_blocks": 15,
                "blank": True} == call(block, "info")

    def test_a_ramdisk_is_blank_until_written(self, block: Block) -> None:
        """A fresh ramdisk is all zeros and says so; the first write ends that."""
        assert call(block, "info")["blank"] and bytes(15 * BS) == call(block, "read",
                                                                       block=0, count=15)
        call(block, "write", block=9, data=bytes(BS))
        assert not call(block, "info")["blank"]

    @pytest.mark.parametrize("args", [
        {"block": -1}, {"block": 64}, {"block": 63, "count": 2}, {"block": 0, "count": 0},
        {"block": 0, "count": -3}, {"block": 0, "count": 16}, {"block": "1"},
        {"block": True}, {"block": 1.5},
    ])
    def test_bad_reads_are_invalid_arguments(self, block: Block, args: dict) -> None:
        """Out-of-range, mistyped or too-big reads are refused before touching the disk."""
        with pytest.raises(InvalidArgument):
            call(block, "read", **args)

    @pytest.mark.parametrize("args", [
        {"block": 0, "data": b"x"}, {"block": 0, "data": b""}, {"block": -1, "data": bytes(BS)},
        {"block": 64, "data": bytes(BS)}, {"block": 63, "data": bytes(2 * BS)},
        {"block": 0, "data": bytes(16 * BS)}, {"block": 0, "data": "text"},
    ])
    def test_bad_writes_are_invalid_arguments(self, block: Block, args: dict) -> None:
        """Partial blocks, empty data, out-of-range or too-big writes change nothing."""
        before = bytes(block.device.data)
        with pytest.raises(InvalidArgument):
            call(block, "write", **args)
        assert before == bytes(block.device.data)

    def test_max_blocks_fits_a_message(self) -> None:
        """15 blocks fit a 64 KiB body with framing; 16 do not."""
        assert 15 == max_blocks_for(64 * 1024) == DATA_PER_MESSAGE // BS
        assert 1 == max_blocks_for(100)


class TestOpenDevice:
    def test_ramdisk_is_blank(self) -> None:
        """NK_RAMDISK gives a zero-filled in-memory disk; formatting it is fs's job."""
        device, path = open_device({"NK_RAMDISK": str(2 * 1024 * 1024)})
        assert ("ramdisk", 512, True) == (path, device.nblocks, device.blank)
        assert bytes(BS) == device.read(0, 1)

    def test_ramdisk_minimum_is_the_shared_one(self) -> None:
        """The driver's smallest ramdisk is MIN_SIZE, the same minimum mkfs keeps."""
        from servers.fs.mkfs import MIN_SIZE as MKFS_MIN_SIZE
        assert MIN_SIZE is MKFS_MIN_SIZE
        open_device({"NK_RAMDISK": str(MIN_SIZE)})
        with pytest.raises(InvalidArgument, match="below the minimum"):
            open_device({"NK_RAMDISK": str(MIN_SIZE - 1)})

    def test_disk_image_is_opened(self, tmp_path: Path) -> None:
        """NK_DISK opens the image read-write."""
        mkfs(tmp_path / "d.img", "1M")
        device, _ = open_device({"NK_DISK": str(tmp_path / "d.img")})
        assert isinstance(device, DiskImage) and 256 == device.nblocks

    @pytest.mark.parametrize("env,error", [
        ({}, InvalidArgument), ({"NK_RAMDISK": "lots"}, InvalidArgument),
        ({"NK_RAMDISK": "1000"}, InvalidArgument), ({"NK_DISK": "/nonexistent/x.img"},
                                                     FileNotFound),
    ])
    def test_no_usable_disk_is_a_clear_error(self, env: dict, error: type) -> None:
        """No disk, a bad ramdisk size, a missing image: each its error."""
        with pytest.raises(error):
            open_device(env)

    def test_truncated_image_is_refused(self, tmp_path: Path) -> None:
        """An image that is not whole blocks is CorruptFilesystem, not served."""
        (tmp_path / "t.img").write_bytes(b"\0" * 5000)
        with pytest.raises(CorruptFilesystem, match="truncated"):
            open_device({"NK_DISK": str(tmp_path / "t.img")})

    def test_the_driver_imports_nothing_of_the_fs(self) -> None:
        """servers.block (and the block devices it uses) import no servers.fs module."""
        import subprocess
        import sys
        code = ("import sys, servers.block; "
                "print([m for m in sys.modules if m.startswith('servers.fs')])")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=Path(__file__).resolve().parents[2])
        assert "[]" == out.stdout.strip()

    def test_stop_flushes(self, block: Block) -> None:
        """stop() (halt, SIGTERM) flushes the device."""
        flushed = []
        block.device.flush = lambda: flushed.append(True)
        block.stop()
        assert [True] == flushed
