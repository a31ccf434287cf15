"""servers/blockdev.py: DiskImage (a file) and RamDisk keep the BlockDevice rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from libipc.errors import CorruptFilesystem, FileExists, FileNotFound, InvalidArgument
from servers.blockdev import BSIZE, BlockDevice, DiskImage, RamDisk


class TestDiskImage:
    def test_create_makes_a_zeroed_image_of_the_right_size(self, tmp_path: Path) -> None:
        """A new image has nblocks blocks of zeros."""
        with DiskImage.create(tmp_path / "d.img", 8) as image:
            assert 8 == image.nblocks
            assert BSIZE == image.block_size
            assert bytes(8 * BSIZE) == image.read(0, 8)
        assert 8 * BSIZE == (tmp_path / "d.img").stat().st_size

    def test_write_then_read_round_trips(self, tmp_path: Path) -> None:
        """Blocks written at one place read back identical, also after reopening."""
        data = bytes(range(256)) * (2 * BSIZE // 256)
        with DiskImage.create(tmp_path / "d.img", 8) as image:
            image.write(3, data)
            image.flush()
        with DiskImage(tmp_path / "d.img") as image:
            assert data == image.read(3, 2)
            assert bytes(BSIZE) == image.read(5, 1)

    def test_is_a_block_device(self, tmp_path: Path) -> None:
        """DiskImage and RamDisk satisfy the BlockDevice protocol."""
        with DiskImage.create(tmp_path / "d.img", 1) as image:
            assert isinstance(image, BlockDevice)
        assert isinstance(RamDisk(1), BlockDevice)

    @pytest.mark.parametrize(("block", "count"), [(-1, 1), (7, 2), (8, 1), (0, 9), (0, -1)])
    def test_read_outside_the_image_is_refused(self, tmp_path: Path, block: int,
                                               count: int) -> None:
        """A read that leaves [0, nblocks) raises InvalidArgument."""
        with DiskImage.create(tmp_path / "d.img", 8) as image, \
                pytest.raises(InvalidArgument, match="outside"):
            image.read(block, count)

    def test_write_outside_the_image_is_refused(self, tmp_path: Path) -> None:
        """A write past the end raises InvalidArgument and does not grow the file."""
        with DiskImage.create(tmp_path / "d.img", 8) as image, \
                pytest.raises(InvalidArgument, match="outside"):
            image.write(7, bytes(2 * BSIZE))
        assert 8 * BSIZE == (tmp_path / "d.img").stat().st_size

    def test_partial_block_write_is_refused(self, tmp_path: Path) -> None:
        """Data that is not a whole number of blocks raises InvalidArgument."""
        with DiskImage.create(tmp_path / "d.img", 8) as image, \
                pytest.raises(InvalidArgument, match="whole number"):
            image.write(0, b"abc")

    def test_wrong_types_are_refused(self, tmp_path: Path) -> None:
        """Non-int block numbers and non-bytes data raise InvalidArgument."""
        with DiskImage.create(tmp_path / "d.img", 8) as image:
            with pytest.raises(InvalidArgument):
                image.read("0", 1)  # type: ignore[arg-type]
            with pytest.raises(InvalidArgument):
                image.write(0, "x" * BSIZE)  # type: ignore[arg-type]

    def test_missing_image_is_a_clear_error(self, tmp_path: Path) -> None:
        """Opening a missing file raises FileNotFound naming it."""
        with pytest.raises(FileNotFound, match="no such disk image"):
            DiskImage(tmp_path / "nope.img")

    def test_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        """A FIFO is not a disk image: refused at once instead of hanging in open()."""
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(InvalidArgument, match="not a regular file"):
            DiskImage(tmp_path / "fifo")

    def test_empty_image_is_a_clear_error(self, tmp_path: Path) -> None:
        """A zero-length file is refused as CorruptFilesystem."""
        (tmp_path / "e.img").write_bytes(b"")
        with pytest.raises(CorruptFilesystem, match="empty"):
            DiskImage(tmp_path / "e.img")

    def test_truncated_image_is_a_clear_error(self, tmp_path: Path) -> None:
        """A file that is not a whole number of blocks is refused as truncated."""
        (tmp_path / "t.img").write_bytes(bytes(BSIZE + 100))
        with pytest.raises(CorruptFilesystem, match="truncated"):
            DiskImage(tmp_path / "t.img")

    def test_create_refuses_to_overwrite(self, tmp_path: Path) -> None:
        """create() on an existing path raises FileExists unless overwrite=True."""
        DiskImage.create(tmp_path / "d.img", 2).close()
        with pytest.raises(FileExists):
            DiskImage.create(tmp_path / "d.img", 2)
        DiskImage.create(tmp_path / "d.img", 4, overwrite=True).close()
        assert 4 * BSIZE == (tmp_path / "d.img").stat().st_size

    def test_readonly_image_refuses_writes(self, tmp_path: Path) -> None:
        """A read-only DiskImage reads but refuses to write."""
        DiskImage.create(tmp_path / "d.img", 2).close()
        with DiskImage(tmp_path / "d.img", readonly=True) as image:
            assert bytes(BSIZE) == image.read(1, 1)
            with pytest.raises(Exception, match="read-only"):
                image.write(0, bytes(BSIZE))


class TestRamDisk:
    def test_round_trip_and_bounds(self) -> None:
        """RamDisk stores blocks and refuses out-of-range access."""
        disk = RamDisk(4)
        disk.write(1, b"x" * BSIZE)
        assert b"x" * BSIZE == disk.read(1, 1)
        with pytest.raises(InvalidArgument):
            disk.read(4, 1)

    def test_blank_until_the_first_write(self) -> None:
        """A new RamDisk (and a newly created image) is blank: zeros, never written."""
        disk = RamDisk(4)
        assert disk.blank and bytes(4 * BSIZE) == disk.read(0, 4)
        disk.write(3, bytes(BSIZE))
        assert not disk.blank

    def test_a_created_image_is_blank_an_opened_one_is_not(self, tmp_path: Path) -> None:
        """DiskImage.create knows its zeros; an existing image's contents are unknown."""
        with DiskImage.create(tmp_path / "d.img", 4) as image:
            assert image.blank
            image.write(0, bytes(BSIZE))
            assert not image.blank
        with DiskImage(tmp_path / "d.img") as image:
            assert not image.blank


class _SmallTransfers(RamDisk):
    """A RamDisk that, like an IPC device, takes at most 3 blocks per call."""

    max_transfer_blocks = 3

    def read(self, block: int, count: int = 1) -> bytes:
        assert count <= 3
        return super().read(block, count)

    def write(self, block: int, data: bytes) -> None:
        assert len(data) <= 3 * BSIZE
        super().write(block, data)


class TestMaxTransfer:
    def test_filesystem_respects_the_device_transfer_limit(self) -> None:
        """mkfs, cache reads, log writes and installs never exceed max_transfer_blocks."""
        from servers.fs.filesystem import FileSystem
        from servers.fs.mkfs import format_device
        disk = _SmallTransfers(512)
        format_device(disk)
        fs = FileSystem(disk)
        fs.mount()
        data = bytes(range(256)) * 400
        fs.write("/f", 0, data, create=True)
        fs.sync()
        again = FileSystem(disk)
        again.mount()
        assert data == again.read("/f", 0, len(data))
