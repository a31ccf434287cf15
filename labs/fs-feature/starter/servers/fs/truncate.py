"""truncate — freeing a file's blocks, one log op's worth at a time (xv6: itrunc).

Layer 4, beside inode.py.  `shrink(ip, size)` frees the blocks at or past
logical block ceil(size / BSIZE), highest first: the double-indirect tree,
then the indirect block's entries, then the direct pointers; an index block
goes when its last entry has gone.  An index block that goes whole is not
rewritten (only the bitmap changes), so deleting even a large file usually
touches just the inode block and a few bitmap blocks.

Freeing touches the bitmap blocks of the freed blocks and any index block
whose entries are cleared; before each step `_room` checks that the op can
still take them (keeping SHRINK_RESERVE slots for the inode block and the
tail block).  When it cannot, shrink stops and sets the size to where the
freeing got: every allocated block is still below the size, so the file is
valid, just not yet as short as asked, and the caller goes on in a new op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .alloc import bfree
from .inode import Inode, InodeTable, bmap, read_pointers, set_pointer, touch
from .layout import (
    BSIZE,
    DOUBLE_BASE,
    NDIRECT,
    NINDIRECT,
    SINGLE_BASE,
    ZERO_BLOCK,
    bitmap_location,
    inode_location,
)
from .volume import Volume

# Log slots a shrink step keeps free for the inode block and the tail block.
SHRINK_RESERVE = 2


def shrink(vol: Volume, table: InodeTable, ip: Inode, size: int) -> bool:
    """Free the blocks past `size`, last first, while the op has room.

    Returns True when the file is down to `size` (and its tail block is
    zeroed past it); False when the op ran out of room — the file is then a
    valid, shorter-than-before file and the caller goes on in a new op."""
    step = _Shrink(vol, ip, math.ceil(size / BSIZE))
    done = step.run()
    if done:
        ip.size = min(ip.size, size)
        _zero_tail(vol, ip)
    else:
        ip.size = min(ip.size, step.lowest_freed * BSIZE)
    touch(ip)
    table.update(ip)
    return done


def _zero_tail(vol: Volume, ip: Inode) -> None:
    """Zero the bytes of the last block past ip.size (the invariant growing relies on)."""
    boff = ip.size % BSIZE
    if boff:
        block = bmap(vol, ip, ip.size // BSIZE)
        if block:
            buf = vol.log.write_block(block)
            buf[boff:] = ZERO_BLOCK[boff:]


class _Shrink:
    """One op's worth of freeing blocks at logical numbers >= keep, highest first."""

    def __init__(self, vol: Volume, ip: Inode, keep: int) -> None:
        self.vol, self.ip, self.keep = vol, ip, keep
        self.lowest_freed = math.ceil(ip.size / BSIZE)
        self.inode_block = inode_location(vol.sb, ip.inum)[0]

    def run(self) -> bool:
        ip = self.ip
        # TODO(lab fs-feature): free the doubly-indirect tree first (it holds the
        # highest blocks): write _free_double, below.
        if ip.indirect and self.keep < DOUBLE_BASE:
            done, freed = self._free_single(ip.indirect, SINGLE_BASE, "indirect", parent=0)
            if freed:
                ip.indirect = 0
            if not done:
                return False
        for lbn in range(NDIRECT - 1, self.keep - 1, -1):
            if ip.direct[lbn]:
                if not self._room(frees=[ip.direct[lbn]]):
                    return False
                self._free(ip.direct[lbn], lbn)
                ip.direct[lbn] = 0
        return True

    def _free_double(self) -> bool:
        """Free the blocks >= keep under ip.dindirect, and ip.dindirect itself when
        keep <= DOUBLE_BASE; False when the op ran out of room part-way."""
        # TODO(lab fs-feature): each indirect block under ip.dindirect, last first, is a
        # job for _free_single (its entries map DOUBLE_BASE + outer * NINDIRECT ...);
        # clear its entry in ip.dindirect when it went.  Stop early (return False) the
        # moment _free_single or _room says the op is full.
        return True

    def _free_single(self, block: int, base: int, where: str,
                     parent: int) -> tuple[bool, bool]:
        """Free the data blocks >= keep under index block `block`, whose entries
        map logical blocks base..., and `block` itself once it is empty (then
        the caller clears its pointer, in `parent` if that is an index block).
        Returns (finished, block freed)."""
        start = max(self.keep - base, 0)
        ptrs = read_pointers(self.vol, self.ip, where, block, 0, NINDIRECT)
        victims = [(i, p) for i, p in enumerate(ptrs) if p and i >= start]
        parent_writes = [parent] if parent else []
        if start == 0 and self._room(frees=[block, *(p for _, p in victims)],
                                     writes=parent_writes):
            for i, p in reversed(victims):  # the whole index block goes: skip its entries
                self._free(p, base + i)
            self._free(block, base)
            return True, True
        for i, p in reversed(victims):
            if not self._room(frees=[p], writes=[block]):
                return False, False
            self._free(p, base + i)
            set_pointer(self.vol, block, i, 0)
        if start > 0:
            return True, False
        if not self._room(frees=[block], writes=parent_writes):
            return False, False
        self._free(block, base)
        return True, True

    def _room(self, *, frees: list[int], writes: Sequence[int] = ()) -> bool:
        """Can this op still free `frees` and write `writes` (and the inode)?"""
        touched = {bitmap_location(self.vol.sb, b)[0] for b in frees}
        touched.update(writes)
        touched.add(self.inode_block)
        return self.vol.log.new_in_op(touched) <= self.vol.log.op_room() - SHRINK_RESERVE

    def _free(self, block: int, lbn: int) -> None:
        bfree(self.vol, block)
        self.lowest_freed = min(self.lowest_freed, lbn)
