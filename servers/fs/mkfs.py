"""mkfs — make a new filesystem (xv6: mkfs/mkfs.c).

Writes, in order: the superblock, an empty log header, a zeroed inode table
and a bitmap in which the metadata blocks (and the bits past the end of the
image) are already in use.  Then it builds the root directory through the
ordinary log layer, mounts the result and creates the first contents with
the FileSystem's own operations — `/etc/motd` and an empty `/home` — so an
image straight out of mkfs is one the fs has already accepted.

`format_device` works on any BlockDevice (the fs server formats a blank
`--ramdisk` through the block server with it); `mkfs` creates an image file
first; `main` is `nanokernel mkfs`.

Rules: the superblock is written last, so an interrupted mkfs leaves an
image that mount refuses (no magic) rather than half a filesystem; on a
device that reports itself blank (all zeros, see servers/blockdev.py) blocks
that would be written as zeros are skipped, which keeps a ramdisk boot fast.
The size limits are MIN_SIZE (servers/blockdev.py: the smallest disk the
system serves) and MAX_SIZE (block numbers are 32 bits).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time

from libipc.errors import CorruptFilesystem, InvalidArgument, IpcError
from servers.blockdev import (
    MIN_SIZE,
    BlockDevice,
    DiskImage,
    is_blank,
    max_transfer_blocks,
)
from servers.imagelock import Checking

from . import directory
from .alloc import ialloc
from .filesystem import FileSystem
from .inode import InodeTable
from .layout import (
    BPB,
    BSIZE,
    ROOTINO,
    T_DIR,
    VERSION,
    Superblock,
    compute_geometry,
    logheader_bytes,
    superblock_bytes,
)
from .volume import Volume

KIB = 1024
DEFAULT_SIZE = 32 * KIB * KIB
MAX_SIZE = (2**32 - 1) * BSIZE  # block numbers are 32 bits

DEFAULT_MOTD = """\
Welcome to nanokernel, a microkernel you can read in an afternoon.

Everything here runs as a separate server process that talks over IPC:
this very text came from the fs server, which read it from the block server.

  help        list the shell's commands
  ps          show the running servers and their message counts
  crash fs    make the fs server crash; init restarts it (try ls after)
  kill fs     the same from the outside; watch it come back in ps
  trace on    watch the messages behind the next command

Your files can live in /home. Break things: that is what it is for.
"""

_UNITS = {"": 1, "K": KIB, "M": KIB**2, "G": KIB**3, "T": KIB**4}
_SIZE_RE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(size: str | int) -> int:
    """Bytes in a size such as 33554432, "32M", "512K", "1G", "64MiB" (binary units)."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size < 0:
            raise InvalidArgument(f"size {size}: must not be negative")
        return size
    if not isinstance(size, str):
        raise InvalidArgument(f"size {size!r}: must be a number or a string like 32M")
    match = _SIZE_RE.fullmatch(size)
    if match is None:
        raise InvalidArgument(f"size {size!r}: not a size (try 32M, 512K or 1G)")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def mkfs(path: str | os.PathLike[str], size_bytes: int | str = DEFAULT_SIZE, *,
         motd: str = DEFAULT_MOTD, overwrite: bool = False) -> Superblock:
    """Create image `path` of `size_bytes` (rounded down to whole blocks) and format it."""
    size = parse_size(size_bytes)
    if size < MIN_SIZE:
        raise InvalidArgument(f"mkfs {path}: {size} bytes is too small; the minimum is "
                              f"{MIN_SIZE // KIB}K")
    if size > MAX_SIZE:
        raise InvalidArgument(f"mkfs {path}: {size} bytes is too big; the maximum is "
                              f"{MAX_SIZE} bytes")
    with DiskImage.create(path, size // BSIZE, overwrite=overwrite) as image:
        sb = format_device(image, motd=motd)
        image.flush()
    return sb


def format_device(device: BlockDevice, *, motd: str = DEFAULT_MOTD) -> Superblock:
    """Write an empty filesystem holding /etc/motd and /home onto `device`."""
    if device.block_size != BSIZE:
        raise InvalidArgument(f"mkfs: device block size {device.block_size}, need {BSIZE}")
    if device.nblocks * BSIZE < MIN_SIZE:
        raise InvalidArgument(f"mkfs: device of {device.nblocks} blocks is below the "
                              f"minimum {MIN_SIZE // BSIZE}")
    sb = dataclasses.replace(compute_geometry(device.nblocks), created_ns=time.time_ns())
    blank = is_blank(device)    # asked before the first write clears it
    if not blank:
        device.write(sb.logstart, logheader_bytes([]))   # an empty log is a zero block
        _zero(device, sb.inodestart, sb.ninodeblocks)
    _write_bitmap(device, sb, blank)
    _make_root(device, sb)
    device.write(0, superblock_bytes(sb))
    fs = FileSystem(device)
    fs.mount()
    fs.mkdir("/etc")
    fs.write("/etc/motd", 0, motd.encode("utf-8"), create=True)
    fs.mkdir("/home")
    fs.unmount()
    return sb


def _zero(device: BlockDevice, start: int, count: int) -> None:
    run = max_transfer_blocks(device)
    for first in range(start, start + count, run):
        n = min(run, start + count - first)
        device.write(first, bytes(n * BSIZE))


def _write_bitmap(device: BlockDevice, sb: Superblock, blank: bool = False) -> None:
    """Bitmap with [0, datastart) and the padding past nblocks marked in use.

    On a blank device a bitmap block with no bit set is already there.
    """
    for i in range(sb.nbitmap):
        base = i * BPB
        used = [(0, min(sb.datastart, base + BPB) - base),
                (max(sb.nblocks - base, 0), BPB)]
        bits = 0
        for lo, hi in used:
            if lo < hi:
                bits |= ((1 << hi) - 1) ^ ((1 << lo) - 1)
        if bits or not blank:
            device.write(sb.bmapstart + i, bits.to_bytes(BSIZE, "little"))


def _make_root(device: BlockDevice, sb: Superblock) -> None:
    vol = Volume.open(device, sb)
    table = InodeTable(vol)
    with vol.log.op():
        inum = ialloc(vol, T_DIR)
        if inum != ROOTINO:
            raise CorruptFilesystem(f"mkfs: root got inode {inum}, not {ROOTINO}")
        root = table.get(inum)
        directory.link(vol, table, root, ".", inum)
        directory.link(vol, table, root, "..", inum)
        root.nlink = 2
        table.update(root)
    vol.log.commit()


def _upgrade(path: str) -> int:
    from .upgrade import upgrade_if_old  # (here: upgrade imports this module)
    try:
        kept = upgrade_if_old(path)   # (never under a running boot: Busy)
    except IpcError as e:
        print(f"mkfs: {e.message}", file=sys.stderr)
        return 1
    if kept is None:
        print(f"mkfs: {path}: not an image of an older format; nothing to upgrade",
              file=sys.stderr)
        return 1
    print(f"mkfs: {path}: upgraded to format {VERSION}; the old image is kept as {kept}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`nanokernel mkfs PATH [--size 32M] [--force] [--upgrade]`; 0 on success, 1 on error."""
    import argparse  # here: the fs server imports this module, and never parses
    parser = argparse.ArgumentParser(prog="nanokernel mkfs",
                                     description="Create a nanokernel disk image.")
    parser.add_argument("path", help="image file to create")
    parser.add_argument("--size", default="32M", help="image size, e.g. 32M, 512K, 1G")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--upgrade", action="store_true",
                        help="copy an image of an older format into a new one in its place "
                             "(the old one is kept as PATH.v1)")
    args = parser.parse_args(argv)
    if args.upgrade:
        return _upgrade(args.path)
    try:
        with Checking(args.path, exclusive=True):   # never under a running boot
            sb = mkfs(args.path, args.size, overwrite=args.force)
    except IpcError as e:
        print(f"mkfs: {e.message}", file=sys.stderr)
        return 1
    print(f"mkfs: {args.path}: {sb.nblocks * BSIZE // KIB} KiB, {sb.nblocks} blocks "
          f"({sb.ndata} for data), {sb.ninodes - 1} inodes")
    return 0
