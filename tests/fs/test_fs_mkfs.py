"""mkfs: size parsing, the first contents, limits, and the command-line entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from libipc.errors import FileExists, InvalidArgument
from servers.blockdev import DiskImage, RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE
from servers.fs.mkfs import (
    DEFAULT_MOTD,
    DEFAULT_SIZE,
    MIN_SIZE,
    format_device,
    main,
    mkfs,
    parse_size,
)

KIB, MIB, GIB = 1024, 1024**2, 1024**3


class TestParseSize:
    @pytest.mark.parametrize(("text", "expected"), [
        ("32M", 32 * MIB), ("512K", 512 * KIB), ("1G", GIB), ("1g", GIB), ("4096", 4096),
        ("64MiB", 64 * MIB), ("2 MB", 2 * MIB), (" 8k ", 8 * KIB), ("1T", 1024 * GIB),
        (12345, 12345),
    ])
    def test_sizes(self, text: str | int, expected: int) -> None:
        """Numbers with K/M/G/T suffixes (binary units, optional iB/B) parse to bytes."""
        assert expected == parse_size(text)

    @pytest.mark.parametrize("text", ["", "M", "12X", "-5", "1.5G", "ten", None, -1, True])
    def test_bad_sizes(self, text: object) -> None:
        """Anything else raises InvalidArgument."""
        with pytest.raises(InvalidArgument):
            parse_size(text)  # type: ignore[arg-type]


class TestMkfs:
    def test_default_image(self, tmp_path: Path) -> None:
        """The default image is 32 MiB, holds /etc/motd and /home, and fsck finds it clean."""
        path = tmp_path / "disk.img"
        sb = mkfs(path)
        assert DEFAULT_SIZE == path.stat().st_size
        assert DEFAULT_SIZE // BSIZE == sb.nblocks
        assert sb.created_ns > 0
        with DiskImage(path) as image:
            fs = FileSystem(image)
            fs.mount()
            assert DEFAULT_MOTD.encode() == fs.read("/etc/motd", 0, 4096)
            assert "dir" == fs.stat("/home")["type"]
        assert fsck(path).clean

    def test_motd_talks_about_help_ps_and_restarts(self) -> None:
        """The welcome text points at help, ps, and crashing/killing fs."""
        for word in ("help", "ps", "crash fs", "kill fs", "nanokernel"):
            assert word in DEFAULT_MOTD

    def test_custom_motd(self, tmp_path: Path) -> None:
        """motd= replaces the welcome text."""
        mkfs(tmp_path / "d.img", "1M", motd="hi\n")
        with DiskImage(tmp_path / "d.img") as image:
            fs = FileSystem(image)
            fs.mount()
            assert b"hi\n" == fs.read("/etc/motd", 0, 100)

    def test_below_the_minimum_is_refused(self, tmp_path: Path) -> None:
        """An image smaller than MIN_SIZE is refused with a message naming the minimum."""
        with pytest.raises(InvalidArgument, match="minimum is 512K"):
            mkfs(tmp_path / "d.img", MIN_SIZE - BSIZE)
        assert not (tmp_path / "d.img").exists()
        mkfs(tmp_path / "d.img", MIN_SIZE)
        assert fsck(tmp_path / "d.img").clean

    def test_existing_file_is_not_overwritten(self, tmp_path: Path) -> None:
        """mkfs refuses an existing path unless overwrite=True."""
        mkfs(tmp_path / "d.img", "1M")
        with pytest.raises(FileExists):
            mkfs(tmp_path / "d.img", "1M")
        mkfs(tmp_path / "d.img", "2M", overwrite=True)
        assert 2 * MIB == (tmp_path / "d.img").stat().st_size

    def test_size_rounds_down_to_whole_blocks(self, tmp_path: Path) -> None:
        """A size that is not a block multiple is rounded down."""
        mkfs(tmp_path / "d.img", MIB + 100)
        assert MIB == (tmp_path / "d.img").stat().st_size

    def test_format_device_on_a_ramdisk(self) -> None:
        """format_device works on any BlockDevice, e.g. for --ramdisk."""
        disk = RamDisk(512)
        format_device(disk)
        fs = FileSystem(disk)
        fs.mount()
        assert ["etc", "home"] == [e["name"] for e in fs.readdir("/")]

    def test_format_overwrites_garbage(self) -> None:
        """Formatting a device full of junk gives a clean filesystem."""
        disk = RamDisk(256)
        disk.write(0, b"\xa5" * len(disk.data))
        format_device(disk)
        assert fsck(disk).clean

    def test_a_blank_device_gets_no_zero_blocks_written(self) -> None:
        """On a device that says it is all zeros, mkfs skips the zero blocks: same result."""
        blank, dirty = RamDisk(4096), RamDisk(4096)
        dirty.write(0, bytes(len(dirty.data)))      # zeros, but no longer known to be
        written = {id(blank): 0, id(dirty): 0}
        for disk in (blank, dirty):
            real = disk.write
            disk.write = lambda b, d, disk=disk, real=real: (  # type: ignore[method-assign]
                written.__setitem__(id(disk), written[id(disk)] + len(d) // BSIZE), real(b, d))
            format_device(disk)
            assert fsck(disk).clean
        assert written[id(blank)] < written[id(dirty)]
        for disk in (blank, dirty):
            fs = FileSystem(disk)
            fs.mount()
            assert (["etc", "home"], DEFAULT_MOTD.encode()) == (
                [e["name"] for e in fs.readdir("/")], fs.read("/etc/motd", 0, 10**4))


class TestMkfsMain:
    def test_main_creates_and_reports(self, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        """`nanokernel mkfs PATH --size 2M` makes the image and prints one line; 0."""
        assert 0 == main([str(tmp_path / "d.img"), "--size", "2M"])
        assert "2048 KiB" in capsys.readouterr().out
        assert 1 == main([str(tmp_path / "d.img"), "--size", "2M"])
        assert "already exists" in capsys.readouterr().err
        assert 0 == main([str(tmp_path / "d.img"), "--size", "1M", "--force"])
        assert 1 == main([str(tmp_path / "e.img"), "--size", "lots"])
