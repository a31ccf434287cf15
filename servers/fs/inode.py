"""inode — files as arrays of blocks (xv6: the inode half of fs.c).

Layer 4.  An inode maps logical block n of a file to a disk block:

    n < NDIRECT                      direct[n]
    n < NDIRECT + NINDIRECT          indirect -> [n - NDIRECT]
    otherwise                        dindirect -> [m // NINDIRECT] -> [m % NINDIRECT]

A zero pointer anywhere on that path is a hole, which reads as zeros.

Invariants:
  - no data block is allocated at or beyond logical block ceil(size / BSIZE)
    (an empty index block may be, for a moment, while truncate.py works);
  - the bytes of the last block past `size` are zero (truncate.py clears
    them), so growing a file never exposes old data;
  - every pointer is 0 or inside the data area; anything else raises
    CorruptFilesystem naming the inode, before the pointer is followed.
  - a FIFO (T_FIFO) has size 0 and no blocks: its bytes live in the pipe
    server, and readi/writei are never called on it (filesystem.py refuses).

Interface rules: get inodes from an InodeTable (one Python object per inode
per op, so two paths to the same inode see each other's changes); after
changing an Inode's fields call `table.update(ip)` inside the op.  `writei`
stops early when the op is running out of log room and reports how far it
got; the caller goes on in a new op.  Freeing blocks lives in truncate.py.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from libipc.errors import CorruptFilesystem, InvalidArgument, NoSpace
from servers.blockdev import read_into

from .alloc import balloc_many
from .layout import (
    BSIZE,
    DOUBLE_BASE,
    MAX_FILE_SIZE,
    MAXFILE_BLOCKS,
    NDIRECT,
    NINDIRECT,
    SINGLE_BASE,
    T_DIR,
    T_FIFO,
    T_FILE,
    T_FREE,
    T_SYMLINK,
    ZERO_BLOCK,
    dinodes,
    inode_location,
    pointer_list,
    pointers,
)
from .volume import Volume

# Blocks one more data block can newly touch in an op: the data block, three
# index blocks and the bitmap blocks of those four, plus the inode's block.
WRITE_RESERVE = 9


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
    def is_fifo(self) -> bool:
        return self.type == T_FIFO

    @property
    def is_symlink(self) -> bool:
        return self.type == T_SYMLINK

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
        if d.type not in (T_FREE, T_DIR, T_FILE, T_FIFO, T_SYMLINK):
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


def read_pointers(vol: Volume, ip: Inode, where: str, block: int,
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
            out.extend(read_pointers(vol, ip, "indirect", ip.indirect,
                                      lbn - SINGLE_BASE, stop - SINGLE_BASE))
        else:
            outer, inner = divmod(lbn - DOUBLE_BASE, NINDIRECT)
            stop = min(end, DOUBLE_BASE + (outer + 1) * NINDIRECT)
            (l1,) = read_pointers(vol, ip, "dindirect", ip.dindirect, outer, outer + 1)
            out.extend(read_pointers(vol, ip, f"dindirect[{outer}]", l1,
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
        set_pointer(vol, ip.indirect, lbn - SINGLE_BASE, data)
    else:
        outer, inner = divmod(lbn - DOUBLE_BASE, NINDIRECT)
        need_dind = ip.dindirect == 0
        l1 = 0 if need_dind else bmap_l1(vol, ip, outer)
        new = balloc_many(vol, 1 + need_dind + (l1 == 0))
        if need_dind:
            ip.dindirect = new.pop()
        if l1 == 0:
            l1 = new.pop()
            set_pointer(vol, ip.dindirect, outer, l1)
        data = new[0]
        set_pointer(vol, l1, inner, data)
    return data, True


def bmap_l1(vol: Volume, ip: Inode, outer: int) -> int:
    """The `outer`-th indirect block under ip.dindirect (0 if none)."""
    return read_pointers(vol, ip, "dindirect", ip.dindirect, outer, outer + 1)[0]


def set_pointer(vol: Volume, index_block: int, i: int, value: int) -> None:
    pointers(vol.log.write_block(index_block))[i] = value


def count_blocks(vol: Volume, ip: Inode) -> int:
    """Blocks the inode holds: data blocks plus index blocks."""
    total = sum(1 for p in ip.direct if p)
    if ip.indirect:
        total += 1 + _count_nonzero(vol, ip, "indirect", ip.indirect)
    if ip.dindirect:
        total += 1
        for outer, l1 in enumerate(read_pointers(vol, ip, "dindirect", ip.dindirect,
                                                  0, NINDIRECT)):
            if l1:
                total += 1 + _count_nonzero(vol, ip, f"dindirect[{outer}]", l1)
    return total


def _count_nonzero(vol: Volume, ip: Inode, where: str, block: int) -> int:
    return NINDIRECT - read_pointers(vol, ip, where, block, 0, NINDIRECT).count(0)


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


def readi_into(vol: Volume, ip: Inode, offset: int, size: int, dest: memoryview) -> int:
    """readi() into `dest` (a granted region): the bytes placed at dest[0:].

    Runs of whole blocks that are on disk and not in the cache go from the
    device straight into `dest` (block's window, then one copy) and do not pass
    through — nor evict — the cache; cached blocks (the log's dirty ones
    among them) and the partial blocks at either end come from the cache."""
    if offset >= ip.size or size <= 0:
        return 0
    size = min(size, ip.size - offset, dest.nbytes)
    first, end = offset // BSIZE, math.ceil((offset + size) / BSIZE)
    blocks = map_range(vol, ip, first, end - first)
    cache, whole_end = vol.cache, (offset + size) // BSIZE - first   # blocks[i] whole: i < this
    pos, i = 0, 0
    while i < len(blocks):
        b = blocks[i]
        whole = (i > 0 or offset % BSIZE == 0) and i < whole_end
        if whole and b and b not in cache:
            j = i + 1
            while j < whole_end and blocks[j] == blocks[j - 1] + 1 and blocks[j] not in cache:
                j += 1
            read_into(vol.device, b, j - i, dest[pos:pos + (j - i) * BSIZE])
            pos, i = pos + (j - i) * BSIZE, j
            continue
        lo = offset - first * BSIZE if i == 0 else 0
        hi = min(BSIZE, offset + size - (first + i) * BSIZE)
        dest[pos:pos + hi - lo] = memoryview(cache.read(b))[lo:hi] if b else ZERO_BLOCK[lo:hi]
        pos, i = pos + hi - lo, i + 1
    return size


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
