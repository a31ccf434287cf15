"""The nanokernel filesystem: an xv6-like on-disk format as a plain library.

Layers, bottom up, one file each (read them in this order):

    servers/blockdev.py  (below the fs, shared with the block driver):
                  BlockDevice protocol; DiskImage (a file), RamDisk; BSIZE
    ipcdevice.py  the block server as a BlockDevice (what the fs server mounts)
    layout.py     the on-disk structs (via cffi) and the geometry
    cache.py      block cache: LRU of clean blocks, pinned dirty ones
    log.py        write-ahead log: atomic multi-block ops, group commit
    volume.py     what a mounted image's layers share
    alloc.py      bitmap block allocator, inode allocator
    inode.py      inodes: block map (direct/indirect/double), read, write
    truncate.py   freeing a file's blocks, bounded by the log
    directory.py  directory entries: lookup, link, unlink
    paths.py      path names: normalise, namei, nameiparent
    filesystem.py FileSystem: the path-based ops the fs server serves
    mkfs.py       make an image; fsck.py: check one; faults.py: failing devices

The fs server (server.py) is a thin IPC wrapper around FileSystem.  The
block devices are re-exported here for convenience; they live in
servers/blockdev.py, which imports nothing of the fs.
"""

from servers.blockdev import BlockDevice, DiskImage, RamDisk

from .filesystem import FileSystem
from .fsck import FsckReport, fsck
from .mkfs import DEFAULT_MOTD, format_device, mkfs, parse_size

__all__ = [
    "DEFAULT_MOTD",
    "BlockDevice",
    "DiskImage",
    "FileSystem",
    "FsckReport",
    "RamDisk",
    "format_device",
    "fsck",
    "mkfs",
    "parse_size",
]
