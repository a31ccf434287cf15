"""alloc — free-block bitmap and inode table allocation (xv6: balloc/bfree/ialloc).

Layer 3.  Blocks: one bit per block in the bitmap, 1 = in use.  Inodes: an
inode is free when its type is NK_T_FREE.  Both allocators search first-fit
from a hint (where the last allocation ended) and wrap around once, so a
large file gets mostly consecutive blocks and a full scan only happens when
the disk is nearly full.

Invariants kept here:
  - a block is handed out zeroed (through the log, without a device read);
  - only data-area blocks are ever allocated or freed: the search starts at
    datastart whatever the bitmap says below it, and freeing anything else
    (or a block already free) is CorruptFilesystem, never "fixed" silently;
  - `balloc_many` allocates all blocks it was asked for or none, so a caller
    never has to undo half an allocation;
  - every change goes through the current log op.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from libipc.errors import CorruptFilesystem, NoSpace

from .layout import BPB, DINODE_SIZE, IPB, T_FREE, bitmap_location, dinodes, inode_location
from .volume import Volume


# --- blocks ---------------------------------------------------------------
def balloc(vol: Volume) -> int:
    """Allocate one zeroed data block; NoSpace when the disk is full."""
    return balloc_many(vol, 1)[0]


def balloc_many(vol: Volume, count: int) -> list[int]:
    """Allocate `count` zeroed data blocks, all or none; NoSpace if not that many free."""
    found: list[int] = []
    if count > 0:
        for b in _free_blocks(vol):
            found.append(b)
            if len(found) == count:
                break
    if len(found) < count:
        raise NoSpace("balloc: no free data block left")
    for b in found:
        _set_bit(vol, b, used=True)
        vol.log.write_block(b, fresh=True)
    if found:
        vol.block_hint = found[-1] + 1
    return found


def bfree(vol: Volume, block: int) -> None:
    """Mark data block `block` free."""
    _set_bit(vol, block, used=False)


def count_free_blocks(vol: Volume) -> int:
    """Free blocks in the data area, from the bitmap."""
    sb = vol.sb
    used = 0
    for i in range(sb.nbitmap):
        lo = max(sb.datastart - i * BPB, 0)
        hi = min(sb.nblocks - i * BPB, BPB)
        if lo >= hi:
            continue
        bits = int.from_bytes(vol.cache.read(sb.bmapstart + i), "little")
        used += (bits & (((1 << hi) - 1) ^ ((1 << lo) - 1))).bit_count()
    return sb.ndata - used


def _set_bit(vol: Volume, block: int, *, used: bool) -> None:
    sb = vol.sb
    if not sb.datastart <= block < sb.nblocks:
        raise CorruptFilesystem(f"bitmap: block {block} is not a data block")
    bblock, byte, mask = bitmap_location(sb, block)
    buf = vol.log.write_block(bblock)
    if bool(buf[byte] & mask) == used:
        state = "in use" if used else "free"
        raise CorruptFilesystem(f"bitmap: block {block} is already {state}")
    buf[byte] ^= mask


def _free_blocks(vol: Volume) -> Iterator[int]:
    """Free data blocks in allocation order: from the hint to the end, then from the start."""
    sb = vol.sb
    hint = min(max(vol.block_hint, sb.datastart), sb.nblocks)
    yield from _free_in_range(vol, hint, sb.nblocks)
    yield from _free_in_range(vol, sb.datastart, hint)


def _free_in_range(vol: Volume, start: int, stop: int) -> Iterator[int]:
    sb = vol.sb
    b = start
    while b < stop:
        base = b - b % BPB
        buf = vol.cache.read(sb.bmapstart + base // BPB)
        bit = _first_zero_bit(buf, b - base, min(stop - base, BPB))
        if bit is None:
            b = base + BPB
            continue
        yield base + bit
        b = base + bit + 1


def _first_zero_bit(buf: bytearray, start: int, limit: int) -> int | None:
    """The first 0 bit in [start, limit) of `buf` (bit i = bit i%8 of byte i//8)."""
    i = start
    while i < limit:
        byte = i // 8
        value = buf[byte] | ((1 << (i % 8)) - 1)  # bits below i count as used
        if value != 0xFF:
            bit = byte * 8 + (~value & (value + 1)).bit_length() - 1
            return bit if bit < limit else None
        rest = buf[byte + 1:(limit + 7) // 8]
        i = (byte + 1 + len(rest) - len(rest.lstrip(b"\xff"))) * 8
    return None


# --- inodes ---------------------------------------------------------------
def ialloc(vol: Volume, itype: int) -> int:
    """Allocate an inode of type `itype` (nlink 0, empty); NoSpace when none is free."""
    sb = vol.sb
    hint = min(max(vol.inode_hint, 1), sb.ninodes)
    for start, stop in ((hint, sb.ninodes), (1, hint)):
        inum = _find_free_inode(vol, start, stop)
        if inum is not None:
            _init_dinode(vol, inum, itype)
            vol.inode_hint = inum + 1
            return inum
    raise NoSpace("ialloc: no free inode left")


def ifree(vol: Volume, inum: int) -> None:
    """Mark inode `inum` free (its blocks must already be freed)."""
    _init_dinode(vol, inum, T_FREE, mtime_ns=0)


def count_free_inodes(vol: Volume) -> int:
    sb = vol.sb
    free = 0
    for i in range(sb.ninodeblocks):
        arr = dinodes(vol.cache.read(sb.inodestart + i))
        first = i * IPB
        free += sum(1 for k in range(IPB)
                    if 1 <= first + k < sb.ninodes and arr[k].type == T_FREE)
    return free


def _find_free_inode(vol: Volume, start: int, stop: int) -> int | None:
    inum = start
    while inum < stop:
        block, index = inode_location(vol.sb, inum)
        arr = dinodes(vol.cache.read(block))
        for k in range(index, min(IPB, index + stop - inum)):
            if arr[k].type == T_FREE:
                return inum + k - index
        inum += IPB - index
    return None


def _init_dinode(vol: Volume, inum: int, itype: int, *, mtime_ns: int | None = None) -> None:
    block, index = inode_location(vol.sb, inum)
    buf = vol.log.write_block(block)
    buf[index * DINODE_SIZE:(index + 1) * DINODE_SIZE] = bytes(DINODE_SIZE)
    d = dinodes(buf)[index]
    d.type = itype
    d.mtime_ns = time.time_ns() if mtime_ns is None else mtime_ns
