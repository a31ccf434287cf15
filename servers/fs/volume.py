"""volume — the parts of a mounted filesystem that every layer above the log uses.

A Volume bundles the device, its validated superblock, the block cache and
the log, so that the allocator, inode, directory and path layers are plain
functions of a volume (xv6 keeps these as globals; we may mount several
images in one process, e.g. in tests).  It holds no state of its own beyond
the allocators' search hints.
"""

from __future__ import annotations

from dataclasses import dataclass

from servers.blockdev import BlockDevice

from .cache import BlockCache
from .layout import Superblock
from .log import Log


@dataclass
class Volume:
    device: BlockDevice
    sb: Superblock
    cache: BlockCache
    log: Log
    block_hint: int = 0  # where balloc starts looking (a block number)
    inode_hint: int = 0  # where ialloc starts looking (an inode number)

    @classmethod
    def open(cls, device: BlockDevice, sb: Superblock, *, cache_blocks: int = 1024,
             group_commit: bool = True, barriers: bool = False) -> Volume:
        cache = BlockCache(device, cache_blocks)
        log = Log(device, cache, sb, group_commit=group_commit, barriers=barriers)
        return cls(device=device, sb=sb, cache=cache, log=log,
                   block_hint=sb.datastart, inode_hint=1)
