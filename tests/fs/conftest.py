"""Fixtures for the filesystem tests: images, mounted filesystems, volumes.

Hypothesis profiles (used as `@settings(settings.get_profile("nk-fs"))`):
  nk-fs        the stateful model test and other costly properties
  nk-fs-quick  cheap properties
Both are modest by default and the same under CI=true, so the whole
tests/fs run stays well under a minute on two cores; NK_STRESS=long
multiplies the examples for a soak run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from libipc._nkffi import ffi

from servers.blockdev import DiskImage, RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.layout import (
    BSIZE,
    Superblock,
    bitmap_location,
    dinodes,
    dirents,
    encode_name,
    inode_location,
    parse_superblock,
    superblock_bytes,
)
from servers.fs.mkfs import format_device, mkfs
from servers.fs.volume import Volume

_LONG = os.environ.get("NK_STRESS") == "long"
_COMMON = {
    "deadline": None,
    "derandomize": os.environ.get("CI") == "true",
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                              HealthCheck.data_too_large],
}
settings.register_profile("nk-fs", max_examples=1000 if _LONG else 200, **_COMMON)
settings.register_profile("nk-fs-quick", max_examples=2000 if _LONG else 150, **_COMMON)

SMALL_IMAGE = 2 * 1024 * 1024


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    """A freshly made 2 MiB image file."""
    path = tmp_path / "disk.img"
    mkfs(path, SMALL_IMAGE)
    return path


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Factory: make_image(size_bytes, name="disk.img") -> path of a new image."""
    def make(size: int | str = SMALL_IMAGE, name: str = "disk.img") -> Path:
        path = tmp_path / name
        mkfs(path, size, overwrite=True)
        return path
    return make


@pytest.fixture
def fs(image_path: Path) -> Iterator[FileSystem]:
    """A mounted FileSystem on a 2 MiB image file."""
    with DiskImage(image_path) as image:
        filesystem = FileSystem(image)
        filesystem.mount()
        yield filesystem


@pytest.fixture
def ram_fs() -> FileSystem:
    """A mounted FileSystem on a 2 MiB RamDisk."""
    disk = RamDisk(SMALL_IMAGE // BSIZE)
    format_device(disk)
    filesystem = FileSystem(disk)
    filesystem.mount()
    return filesystem


@pytest.fixture
def volume() -> Volume:
    """The lower layers (cache, log, allocators) of a freshly formatted 2 MiB RamDisk."""
    disk = RamDisk(SMALL_IMAGE // BSIZE)
    format_device(disk)
    return Volume.open(disk, parse_superblock(disk.read(0, 1)))


class Damage:
    """Deliberate damage to an image file, through the cffi layouts (for mount/fsck tests)."""

    def superblock(self, path: Path, **fields: int) -> None:
        with DiskImage(path) as image:
            sb = dataclasses.replace(parse_superblock(image.read(0, 1)), **fields)
            image.write(0, superblock_bytes(sb))

    def inode(self, path: Path, inum: int, **fields: int) -> None:
        """Set dinode fields; `direct0=` etc. set direct[0]."""
        with DiskImage(path) as image:
            sb = parse_superblock(image.read(0, 1))
            block, index = inode_location(sb, inum)
            buf = bytearray(image.read(block, 1))
            d = dinodes(buf)[index]
            for name, value in fields.items():
                if name.startswith("direct"):
                    d.direct[int(name[len("direct"):])] = value
                else:
                    setattr(d, name, value)
            image.write(block, bytes(buf))

    def dinode(self, path: Path, inum: int) -> dict[str, int]:
        with DiskImage(path, readonly=True) as image:
            sb = parse_superblock(image.read(0, 1))
            block, index = inode_location(sb, inum)
            d = dinodes(image.read(block, 1))[index]
            return {"type": d.type, "nlink": d.nlink, "size": d.size, "direct0": d.direct[0],
                    "indirect": d.indirect}

    def bitmap_bit(self, path: Path, block: int, used: bool) -> None:
        with DiskImage(path) as image:
            sb = parse_superblock(image.read(0, 1))
            bblock, byte, mask = bitmap_location(sb, block)
            buf = bytearray(image.read(bblock, 1))
            buf[byte] = buf[byte] | mask if used else buf[byte] & ~mask
            image.write(bblock, bytes(buf))

    def dirent(self, path: Path, dir_inum: int, index: int, inum: int,
               name: str | None = None) -> None:
        """Overwrite entry `index` of directory `dir_inum`'s first block."""
        block = self.dinode(path, dir_inum)["direct0"]
        with DiskImage(path) as image:
            buf = bytearray(image.read(block, 1))
            entry = dirents(buf)[index]
            entry.inum = inum
            if name is not None:
                raw = encode_name(name)
                ffi.memmove(entry.name, raw, len(raw))
            image.write(block, bytes(buf))

    def write_block(self, path: Path, block: int, data: bytes) -> None:
        with DiskImage(path) as image:
            image.write(block, data.ljust(BSIZE, b"\0"))

    def geometry(self, path: Path) -> Superblock:
        with DiskImage(path, readonly=True) as image:
            return parse_superblock(image.read(0, 1))


@pytest.fixture
def damage() -> Damage:
    return Damage()
