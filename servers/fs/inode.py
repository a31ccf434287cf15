"""inode — files as arrays of blocks (xv6: the inode half of fs.c).

Layer 4.  An inode maps logical block n of a file to a disk block:

    n < NDIRECT                      direct[n]
    n < NDIRECT + NINDIRECT          indirect -> [n - NDIRECT]
    otherwise                        dindirect -> [m // NINDIRECT] -> [m % NINDIRECT]

A zero pointer anywhere on that path is a hole, which reads as zeros.

Invariants:
  - no block is allocated at or beyond logical block ceil(size / BSIZE);
  - the bytes of the last block past `size` are zero (truncate clears them),
    so growing a file never exposes old data;
  - every pointer is 0 or inside the data area; anything else raises
    CorruptFilesystem naming the inode, before the pointer is followed.

Interface rules: get inodes from an InodeTable (one Python object per inode
per op, so two paths to the same inode see each other's changes); after
changing an Inode's fields call `table.update(ip)` inside the op.  `writei`
and `shrink` stop early when the op is running out of log room and report how
far they got; the caller finishes in a new op.  Every intermediate state
they leave is a valid file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from libipc.errors import CorruptFilesystem, InvalidArgument, NoSpace

from .alloc import balloc_many, bfree
from .layout import (
    BSIZE,
    DOUBLE_BASE,
    MAX_FILE_SIZE,
    MAXFILE_BLOCKS,
    NDIRECT,
    NINDIRECT,
    SINGLE_BASE,
    T_DIR,
    T_FILE,
    T_FREE,
    ZERO_BLOCK,
    bitmap_location,
    dinodes,
    inode_location,
    pointer_list,
    pointers,
)
from .volume import Volume

# Blocks one more data block can newly touch in an op: the data block, three
# index blocks and the bitmap blocks of those four, plus the inode's block.
WRITE_RESERVE = 9
# Log slots a shrink step keeps free for the inode block and the tail block.
SHRINK_RESERVE = 2


@dataclass
class Inode:
    """The in-memory copy of one on-disk inode."""

    inum: int
    type: int
    nlink: int
    size: int
    mtime_ns: int
    direct: list[int] = field(default_factory=lambda: [0] * NDIRECT)
    indirect: int = 0
    dindirect: int = 0

    @property
    def is_dir(self) -> bool:
        return self.type == T_DIR

    @property
    def nblocks_for_size(self) -> int:
        return math.ceil(self.size / BSIZE)


class InodeTable:
    """The inodes in use by the current op: one object per inode number."""

    def __init__(self, vol: Volume) -> None:
        self.vol = vol
        self._live: dict[int, Inode] = {}

    def get(self, inum: int) -> Inode:
        """The inode `inum` (read from its block the first time in this op)."""
        ip = self._live.get(inum)
        if ip is None:
            ip = self._load(inum)
            self._live[inum] = ip
        return ip

    def update(self, ip: Inode) -> None:
        """Write `ip`'s fields back to its inode block (inside an op)."""
        block, index = inode_location(self.vol.sb, ip.inum)
        d = dinodes(self.vol.log.write_block(block))[index]
        d.type, d.nlink, d.size, d.mtime_ns = ip.type, ip.nlink, ip.size, ip.mtime_ns
        d.direct[0:NDIRECT] = ip.direct
        d.indirect, d.dindirect = ip.indirect, ip.dindirect

    def forget(self, inum: int | None = None) -> None:
        """Drop cached copies (all of them by default); done at each op boundary."""
        if inum is None:
            self._live.clear()
        else:
            self._live.pop(inum, None)

    def _load(self, inum: int) -> Inode:
        sb = self.vol.sb
        if not 1 <= inum < sb.ninodes:
            raise CorruptFilesystem(f"inode {inum}: number outside the inode table")
        block, index = inode_location(sb, inum)
        d = dinodes(self.vol.cache.read(block))[index]
        if d.type not in (T_FREE, T_DIR, T_FILE):
            raise CorruptFilesystem(f"inode {inum}: bad type {d.type}")
        if d.size > MAX_FILE_SIZE:
            raise CorruptFilesystem(f"inode {inum}: size {d.size} beyond the largest file")
        ip = Inode(inum=inum, type=d.type, nlink=d.nlink, size=d.size, mtime_ns=d.mtime_ns,
                   direct=list(d.direct), indirect=d.indirect, dindirect=d.dindirect)
        ptrs = [*ip.direct, ip.indirect, ip.dindirect]
        if max(ptrs) >= sb.nblocks or min(filter(None, ptrs), default=sb.datastart) < sb.datastart:
            for where, ptr in (("indirect", ip.indirect), ("dindirect", ip.dindirect),
                               *((f"direct[{i}]", p) for i, p in enumerate(ip.direct))):
                _check_pointer(self.vol, ip, where, ptr)  # rare: name the bad one
        return ip


def touch(ip: Inode) -> None:
    ip.mtime_ns = time.time_ns()


# --- block map ------------------------------------------------------------
def _check_pointer(vol: Volume, ip: Inode, where: str, ptr: int) -> None:
    if ptr and not vol.sb.datastart <= ptr < vol.sb.nblocks:
        raise CorruptFilesystem(f"inode {ip.inum}: {where} points to block {ptr}, "
                                "outside the data area")


def _read_pointers(vol: Volume, ip: Inode, where: str, block: int,
                   start: int, stop: int) -> list[int]:
    """Pointers [start, stop) of index block `block` (zeros if it is a hole), checked."""
    if block == 0:
        return [0] * (stop - start)
    ptrs = pointer_list(vol.cache.read(block), start, stop)
    lo, hi = vol.sb.datastart, vol.sb.nblocks
    if ptrs and (max(ptrs) >= hi or min(filter(None, ptrs), default=lo) < lo):
        for i, p in enumerate(ptrs):  # rare: find the bad one to name it
            _check_pointer(vol, ip, f"{where}[{start + i}]", p)
    return ptrs


def map_range(vol: Volume, ip: Inode, first: int, count: int) -> list[int]:
    """Disk blocks of logical blocks [first, first+count) of `ip`; 0 for holes."""
    out: list[int] = []
    lbn, end = first, first + count
    if end > MAXFILE_BLOCKS:
        raise InvalidArgument(f"inode {ip.inum}: block {end - 1} beyond the largest file")
    while lbn < end:
        if lbn < SINGLE_BASE:
            stop = min(end, SINGLE_BASE)
            out.extend(ip.direct[lbn:stop])
        elif lbn < DOUBLE_BASE:
            stop = min(end, DOUBLE_BASE)
            out.extend(_read_pointers(vol, ip, "indirect", ip.indirect,
                                      lbn - SINGLE_BASE, stop - SINGLE_BASE))
        else:
            outer, inner = divmod(lbn - DOUBLE_BASE, NINDIRECT)
            stop = min(end, DOUBLE_BASE + (outer + 1) * NINDIRECT)
            (l1,) = _read_pointers(vol, ip, "dindirect", ip.dindirect, outer, outer + 1)
            out.extend(_read_pointers(vol, ip, f"dindirect[{outer}]", l1,
                                      inner, inner + stop - lbn))
        lbn = stop
    return out


def bmap(vol: Volume, ip: Inode, lbn: int) -> int:
    """The disk block of logical block `lbn`, 0 for a hole."""
    return map_range(vol, ip, lbn, 1)[0]


def bmap_alloc(vol: Volume, ip: Inode, lbn: int) -> tuple[int, bool]:
    """(disk block of `lbn`, newly allocated?), allocating the block and any missing
    index blocks on its path all at once; NoSpace leaves the file unchanged."""
    existing = bmap(vol, ip, lbn)
    if existing:
        return existing, False
    if lbn < SINGLE_BASE:
        (data,) = balloc_many(vol, 1)
        ip.direct[lbn] = data
    elif lbn < DOUBLE_BASE:
        need_ind = ip.indirect == 0
        new = balloc_many(vol, 1 + need_ind)
        if need_ind:
            ip.indirect = new.pop()
        data = new[0]
        _set_pointer(vol, ip.indirect, lbn - SINGLE_BASE, data)
    else:
        outer, inner = divmod(lbn - DOUBLE_BASE, NINDIRECT)
        need_dind = ip.dindirect == 0
        l1 = 0 if need_dind else bmap_l1(vol, ip, outer)
        new = balloc_many(vol, 1 + need_dind + (l1 == 0))
        if need_dind:
            ip.dindirect = new.pop()
        if l1 == 0:
            l1 = new.pop()
            _set_pointer(vol, ip.dindirect, outer, l1)
        data = new[0]
        _set_pointer(vol, l1, inner, data)
    return data, True


def bmap_l1(vol: Volume, ip: Inode, outer: int) -> int:
    """The `outer`-th indirect block under ip.dindirect (0 if none)."""
    return _read_pointers(vol, ip, "dindirect", ip.dindirect, outer, outer + 1)[0]


def _set_pointer(vol: Volume, index_block: int, i: int, value: int) -> None:
    pointers(vol.log.write_block(index_block))[i] = value


def count_blocks(vol: Volume, ip: Inode) -> int:
    """Blocks the inode holds: data blocks plus index blocks."""
    total = sum(1 for p in ip.direct if p)
    if ip.indirect:
        total += 1 + _count_nonzero(vol, ip, "indirect", ip.indirect)
    if ip.dindirect:
        total += 1
        for outer, l1 in enumerate(_read_pointers(vol, ip, "dindirect", ip.dindirect,
                                                  0, NINDIRECT)):
            if l1:
                total += 1 + _count_nonzero(vol, ip, f"dindirect[{outer}]", l1)
    return total


def _count_nonzero(vol: Volume, ip: Inode, where: str, block: int) -> int:
    return NINDIRECT - _read_pointers(vol, ip, where, block, 0, NINDIRECT).count(0)


# --- reading and writing --------------------------------------------------
def readi(vol: Volume, ip: Inode, offset: int, size: int) -> bytes:
    """Up to `size` bytes at `offset` (fewer at end of file; holes read as zeros)."""
    if offset >= ip.size or size <= 0:
        return b""
    size = min(size, ip.size - offset)
    first, end = offset // BSIZE, math.ceil((offset + size) / BSIZE)
    blocks = map_range(vol, ip, first, end - first)
    bufs = iter(vol.cache.read_many([b for b in blocks if b]))
    parts: list[memoryview | bytes] = []
    for i, b in enumerate(blocks):
        lo = offset - (first + i) * BSIZE if i == 0 else 0
        hi = min(BSIZE, offset + size - (first + i) * BSIZE)
        parts.append(memoryview(next(bufs))[lo:hi] if b else ZERO_BLOCK[lo:hi])
    return b"".join(parts)


def writei(vol: Volume, table: InodeTable, ip: Inode, offset: int, data: bytes) -> int:
    """Write `data` at `offset` as far as this op's log room allows; bytes written.

    NoSpace is raised only if nothing could be written; otherwise the write
    stops at the full disk and the count says how far it got."""
    if offset + len(data) > MAX_FILE_SIZE:
        raise InvalidArgument(f"inode {ip.inum}: write beyond the largest file "
                              f"({MAX_FILE_SIZE} bytes)")
    view = memoryview(data).cast("B")
    written = 0
    while written < len(view) and vol.log.op_room() >= WRITE_RESERVE:
        pos = offset + written
        lbn, boff = divmod(pos, BSIZE)
        n = min(BSIZE - boff, len(view) - written)
        try:
            block, _ = bmap_alloc(vol, ip, lbn)
        except NoSpace:
            if written:
                break
            raise
        buf = vol.log.write_block(block, fresh=(n == BSIZE))
        buf[boff:boff + n] = view[written:written + n]
        written += n
    if written:
        ip.size = max(ip.size, offset + written)
        touch(ip)
        table.update(ip)
    return written


# --- truncation -----------------------------------------------------------
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
        if ip.dindirect and not self._free_double():
            return False
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
        ip = self.ip
        l1s = _read_pointers(self.vol, ip, "dindirect", ip.dindirect, 0, NINDIRECT)
        for outer in range(NINDIRECT - 1, -1, -1):
            base = DOUBLE_BASE + outer * NINDIRECT
            if base + NINDIRECT <= self.keep:
                break
            if not l1s[outer]:
                continue
            done, freed = self._free_single(l1s[outer], base, f"dindirect[{outer}]",
                                            parent=ip.dindirect)
            if freed:
                _set_pointer(self.vol, ip.dindirect, outer, 0)
            if not done:
                return False
        if self.keep <= DOUBLE_BASE:
            if not self._room(frees=[ip.dindirect]):
                return False
            self._free(ip.dindirect, DOUBLE_BASE)
            ip.dindirect = 0
        return True

    def _free_single(self, block: int, base: int, where: str,
                     parent: int) -> tuple[bool, bool]:
        """Free the data blocks >= keep under index block `block`, whose entries
        map logical blocks base..., and `block` itself once it is empty (then
        the caller clears its pointer, in `parent` if that is an index block).
        Returns (finished, block freed)."""
        start = max(self.keep - base, 0)
        ptrs = _read_pointers(self.vol, self.ip, where, block, 0, NINDIRECT)
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
            _set_pointer(self.vol, block, i, 0)
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
