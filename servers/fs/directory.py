"""directory — directories as files of fixed-size entries (xv6: dirlookup/dirlink).

Layer 5.  A directory's data is an array of `struct nk_dirent` (inum + a
NUL-padded name of up to NK_DIRSIZ bytes).  Every directory holds "." (itself)
and ".." (its parent; the root's ".." is the root) as its first two entries.

Invariants:
  - a directory's size is a multiple of the entry size; it only grows (a
    removed entry becomes a free slot, reused by the next link);
  - a free slot is all zero bytes, so a lookup by name can never hit one;
  - names in one directory are unique;
  - an inode's nlink equals the number of entries naming it, "." and ".."
    included (so a directory has 2 + its number of subdirectories).
    Keeping nlink right is the caller's job (filesystem.py), as in xv6's
    sysfile.c; this layer only edits entries.
"""

from __future__ import annotations

from collections.abc import Iterator

from libipc.errors import CorruptFilesystem

from .inode import Inode, InodeTable, map_range, touch, writei
from .layout import (
    BSIZE,
    DIRENT_NAME_OFFSET,
    DIRENT_SIZE,
    DPB,
    decode_name,
    dirent_bytes,
    dirents,
    encode_name,
)
from .volume import Volume

FREE_SLOT = bytes(DIRENT_SIZE)


def _blocks(vol: Volume, dp: Inode) -> Iterator[tuple[int, bytearray | bytes]]:
    """(byte offset, buffer) of each block of directory `dp`; holes read as empty."""
    if dp.size % DIRENT_SIZE:
        raise CorruptFilesystem(f"inode {dp.inum}: directory size {dp.size} is not a "
                                f"multiple of {DIRENT_SIZE}")
    nblocks = -(-dp.size // BSIZE)
    for lbn, block in enumerate(map_range(vol, dp, 0, nblocks)):
        buf = vol.cache.read(block) if block else FREE_SLOT * DPB
        used = min(BSIZE, dp.size - lbn * BSIZE)
        yield lbn * BSIZE, memoryview(buf)[:used]


def lookup(vol: Volume, dp: Inode, name: str) -> tuple[int, int] | None:
    """(inum, byte offset of its entry) for `name` in `dp`, or None."""
    needle = encode_name(name)
    for base, buf in _blocks(vol, dp):
        raw = bytes(buf)
        pos = raw.find(needle)
        while pos >= 0:
            entry, rest = divmod(pos - DIRENT_NAME_OFFSET, DIRENT_SIZE)
            if rest == 0 and entry >= 0:
                inum = dirents(raw)[entry].inum
                if inum:
                    return inum, base + entry * DIRENT_SIZE
            pos = raw.find(needle, pos + 1)
    return None


def link(vol: Volume, table: InodeTable, dp: Inode, name: str, inum: int) -> int:
    """Add entry `name` -> `inum` to `dp` (a free slot or a new one at the end); its offset.

    The caller has checked that `name` is not there yet.  NoSpace if the
    directory must grow and the disk is full (nothing changed then)."""
    entry = dirent_bytes(inum, name)
    offset = _free_slot(vol, dp)
    if offset is None:
        offset = dp.size
        writei(vol, table, dp, offset, entry)
    else:
        _write_entry(vol, dp, offset, entry)
        touch(dp)
        table.update(dp)
    return offset


def unlink(vol: Volume, table: InodeTable, dp: Inode, offset: int) -> None:
    """Turn the entry at `offset` of `dp` into a free slot."""
    _write_entry(vol, dp, offset, FREE_SLOT)
    touch(dp)
    table.update(dp)


def repoint(vol: Volume, table: InodeTable, dp: Inode, offset: int, inum: int) -> None:
    """Make the entry at `offset` of `dp` name inode `inum` (rename over, "..")."""
    block = map_range(vol, dp, offset // BSIZE, 1)[0]
    if not block:
        raise CorruptFilesystem(f"inode {dp.inum}: directory entry at {offset} in a hole")
    dirents(vol.log.write_block(block))[(offset % BSIZE) // DIRENT_SIZE].inum = inum
    touch(dp)
    table.update(dp)


def entries(vol: Volume, dp: Inode) -> list[tuple[str, int, int]]:
    """(name, inum, offset) of every used entry of `dp`, "." and ".." included."""
    found = []
    for base, buf in _blocks(vol, dp):
        arr = dirents(buf)
        for i in range(len(buf) // DIRENT_SIZE):
            if arr[i].inum:
                name = decode_name(bytes(buf[i * DIRENT_SIZE + DIRENT_NAME_OFFSET:
                                             (i + 1) * DIRENT_SIZE]))
                found.append((name, arr[i].inum, base + i * DIRENT_SIZE))
    return found


def is_empty(vol: Volume, dp: Inode) -> bool:
    """True if `dp` holds nothing but "." and ".."."""
    return all(name in (".", "..") for name, _, _ in entries(vol, dp))


def _free_slot(vol: Volume, dp: Inode) -> int | None:
    for base, buf in _blocks(vol, dp):
        raw = bytes(buf)
        pos = raw.find(FREE_SLOT)
        while pos >= 0:
            if pos % DIRENT_SIZE == 0:
                return base + pos
            pos = raw.find(FREE_SLOT, pos - pos % DIRENT_SIZE + DIRENT_SIZE)
    return None


def _write_entry(vol: Volume, dp: Inode, offset: int, entry: bytes) -> None:
    block = map_range(vol, dp, offset // BSIZE, 1)[0]
    if not block:
        raise CorruptFilesystem(f"inode {dp.inum}: directory entry at {offset} in a hole")
    boff = offset % BSIZE
    vol.log.write_block(block)[boff:boff + DIRENT_SIZE] = entry
