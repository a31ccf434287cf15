"""layout — the on-disk format of the nanokernel filesystem, seen through cffi.

Layer 0 of the filesystem (xv6: fs.h and the superblock part of fs.c).  The
structs live in csrc/nk_fs.h and reach Python through cffi; this file adds
the arithmetic around them and nothing else:

    [ superblock | log header | log blocks | inode blocks | bitmap | data ... ]
      block 0      logstart                 inodestart     bmapstart datastart

Invariants (mkfs makes them true, mount and fsck check them):
  - the regions are laid out back to back in that order, as
    `compute_geometry` derives them from (nblocks, ninodes);
  - the bitmap has one bit per block of the whole image; the bits of the
    metadata blocks [0, datastart) and of the padding past nblocks are set;
  - block number 0 is never a data block, so a zero pointer is a hole;
  - inode 0 is never used; inode NK_ROOTINO is the root directory;
  - a directory entry with inum 0 is a free slot and is all zero bytes.

Interface rules: struct layouts are never re-typed here (no `struct` module,
no hard-coded offsets); views over a block buffer (`dinodes`, `dirents`,
`pointers`) alias the buffer, so write through them only to a buffer the log
handed out for writing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from libipc._nkffi import ffi, lib

from libipc.errors import NameTooLong
from servers.blockdev import BSIZE  # the block size, from csrc/nk_fs.h like the rest

MAGIC: int = lib.NK_FS_MAGIC
VERSION: int = lib.NK_FS_VERSION
ROOTINO: int = lib.NK_ROOTINO
NDIRECT: int = lib.NK_NDIRECT
NINDIRECT: int = lib.NK_NINDIRECT
# TODO(lab fs-feature): the doubly-indirect block's NINDIRECT * NINDIRECT blocks are not
# counted yet (csrc/nk_fs.h's NK_MAXFILE_BLOCKS counts them).
MAXFILE_BLOCKS: int = NDIRECT + NINDIRECT
MAX_FILE_SIZE: int = MAXFILE_BLOCKS * BSIZE
DIRSIZ: int = lib.NK_DIRSIZ
LOGSIZE: int = lib.NK_LOGSIZE
MAXOPBLOCKS: int = lib.NK_MAXOPBLOCKS

T_FREE: int = lib.NK_T_FREE
T_DIR: int = lib.NK_T_DIR
T_FILE: int = lib.NK_T_FILE
T_FIFO: int = lib.NK_T_FIFO   # a named pipe: size 0, no blocks (its bytes: the pipe server)
T_SYMLINK: int = lib.NK_T_SYMLINK   # a symbolic link: its data is the target
SYMLINK_MAX: int = lib.NK_SYMLINK_MAX

DINODE_SIZE: int = ffi.sizeof("struct nk_dinode")
DIRENT_SIZE: int = ffi.sizeof("struct nk_dirent")
IPB: int = BSIZE // DINODE_SIZE  # inodes per block
DPB: int = BSIZE // DIRENT_SIZE  # directory entries per block
BPB: int = BSIZE * 8  # bitmap bits per block
DIRENT_NAME_OFFSET: int = ffi.offsetof("struct nk_dirent", "name")

# First logical block of each region of an inode's block map.
SINGLE_BASE: int = NDIRECT
DOUBLE_BASE: int = NDIRECT + NINDIRECT

ZERO_BLOCK: bytes = bytes(BSIZE)
BLOCKS_PER_INODE = 4  # mkfs default: one inode per 16 KiB of image
MIN_DATA_BLOCKS = 16  # below this an image is not worth having


@dataclass(frozen=True)
class Superblock:
    """The fields of block 0, as read (nothing validated yet)."""

    magic: int
    version: int
    bsize: int
    nblocks: int
    ninodes: int
    nlog: int
    logstart: int
    inodestart: int
    bmapstart: int
    datastart: int
    created_ns: int = 0

    @property
    def ninodeblocks(self) -> int:
        return math.ceil(self.ninodes / IPB)

    @property
    def nbitmap(self) -> int:
        return math.ceil(self.nblocks / BPB)

    @property
    def ndata(self) -> int:
        return self.nblocks - self.datastart


def compute_geometry(nblocks: int, ninodes: int | None = None) -> Superblock:
    """The layout mkfs writes for an image of `nblocks` blocks."""
    if ninodes is None:
        ninodes = max(2 * IPB, nblocks // BLOCKS_PER_INODE)
        ninodes = math.ceil(ninodes / IPB) * IPB
    nlog = LOGSIZE + 1
    logstart = 1
    inodestart = logstart + nlog
    bmapstart = inodestart + math.ceil(ninodes / IPB)
    datastart = bmapstart + math.ceil(nblocks / BPB)
    return Superblock(
        magic=MAGIC, version=VERSION, bsize=BSIZE, nblocks=nblocks, ninodes=ninodes,
        nlog=nlog, logstart=logstart, inodestart=inodestart, bmapstart=bmapstart,
        datastart=datastart,
    )


def min_nblocks() -> int:
    """The smallest image mkfs accepts, in blocks."""
    return compute_geometry(1024).datastart + MIN_DATA_BLOCKS


def superblock_bytes(sb: Superblock) -> bytes:
    """Block 0 holding `sb`, padded to a whole block."""
    raw = ffi.new("struct nk_superblock *")
    for f in fields(Superblock):
        setattr(raw, f.name, getattr(sb, f.name))
    return bytes(ffi.buffer(raw)).ljust(BSIZE, b"\0")


def parse_superblock(block: bytes) -> Superblock:
    """Read the superblock fields out of block 0 (no validation)."""
    raw = ffi.new("struct nk_superblock *")
    size = ffi.sizeof(raw[0])
    ffi.memmove(raw, bytes(block[:size]).ljust(size, b"\0"), size)
    return Superblock(**{f.name: getattr(raw, f.name) for f in fields(Superblock)})


# A version-1 image (names of at most 60 bytes, no symbolic links) is not mounted:
# its directory entries are another size.  The hint says how to upgrade it
# (servers/fs/upgrade.py; a boot upgrades the default image by itself).
OLD_VERSION_HINT = ("; made by an older nanokernel: upgrade it with `nanokernel mkfs PATH "
                    "--upgrade` (the old image is kept as PATH.v1)")


def superblock_problems(sb: Superblock, device_nblocks: int) -> list[str]:
    """Why `sb` cannot describe a filesystem on a device of that size ([] if it can)."""
    if sb.magic != MAGIC:
        return [f"superblock: bad magic {sb.magic:#010x} (expected {MAGIC:#010x}); "
                "not a nanokernel filesystem"]
    problems = []
    if sb.version != VERSION:
        problems.append(f"superblock: unsupported version {sb.version} (expected {VERSION})"
                        + (OLD_VERSION_HINT if sb.version < VERSION else ""))
    if sb.bsize != BSIZE:
        problems.append(f"superblock: block size {sb.bsize} (expected {BSIZE})")
    if sb.nblocks > device_nblocks:
        problems.append(f"superblock: filesystem of {sb.nblocks} blocks on a device of "
                        f"{device_nblocks} blocks (image truncated?)")
    if sb.ninodes <= ROOTINO:
        problems.append(f"superblock: {sb.ninodes} inodes leaves no root inode")
    expected = compute_geometry(sb.nblocks, max(sb.ninodes, 0))
    for name in ("nlog", "logstart", "inodestart", "bmapstart", "datastart"):
        if getattr(sb, name) != getattr(expected, name):
            problems.append(f"superblock: {name} is {getattr(sb, name)}, the geometry "
                            f"needs {getattr(expected, name)}")
    if expected.datastart >= sb.nblocks:
        problems.append(f"superblock: no data blocks (datastart {expected.datastart} >= "
                        f"nblocks {sb.nblocks})")
    return problems


# --- inodes ---------------------------------------------------------------
def inode_location(sb: Superblock, inum: int) -> tuple[int, int]:
    """(block, index in that block) of inode `inum`."""
    block, index = divmod(inum, IPB)
    return sb.inodestart + block, index


def dinodes(buf: bytearray | bytes) -> ffi.CData:
    """The IPB `struct nk_dinode` of an inode block, aliasing `buf`."""
    return ffi.from_buffer("struct nk_dinode[]", buf)


# --- bitmap ---------------------------------------------------------------
def bitmap_location(sb: Superblock, block: int) -> tuple[int, int, int]:
    """(bitmap block, byte index, bit mask) of data block `block`'s bit."""
    bblock, bit = divmod(block, BPB)
    return sb.bmapstart + bblock, bit // 8, 1 << (bit % 8)


# --- indirect blocks ------------------------------------------------------
def pointers(buf: bytearray | bytes) -> ffi.CData:
    """The NINDIRECT block pointers of an indirect block, aliasing `buf`."""
    return ffi.from_buffer("uint32_t[]", buf)


def pointer_list(buf: bytearray | bytes, start: int = 0, stop: int = NINDIRECT) -> list[int]:
    """Pointers [start, stop) of an indirect block as a list."""
    return ffi.unpack(pointers(buf) + start, stop - start)


# --- directory entries ----------------------------------------------------
def dirents(buf: bytearray | bytes) -> ffi.CData:
    """The DPB `struct nk_dirent` of a directory block, aliasing `buf`."""
    return ffi.from_buffer("struct nk_dirent[]", buf)


def encode_name(name: str) -> bytes:
    """A name as stored in a dirent: UTF-8, NUL-padded to DIRSIZ bytes."""
    raw = name.encode("utf-8")
    if len(raw) > DIRSIZ:
        raise NameTooLong(f"{name[:20]}...: name longer than {DIRSIZ} bytes")
    return raw.ljust(DIRSIZ, b"\0")


def decode_name(raw: bytes) -> str:
    """The name of a dirent (invalid UTF-8 shows as U+FFFD; fsck reports it)."""
    return raw.rstrip(b"\0").decode("utf-8", errors="replace")


def dirent_bytes(inum: int, name: str) -> bytes:
    """One directory entry, ready to write."""
    raw = ffi.new("struct nk_dirent *")
    raw.inum = inum
    encoded = encode_name(name)
    ffi.memmove(raw.name, encoded, len(encoded))
    return bytes(ffi.buffer(raw))


# --- log header -----------------------------------------------------------
def logheader_bytes(blocks: list[int]) -> bytes:
    """The log header block naming the home locations of `blocks`."""
    raw = ffi.new("struct nk_logheader *")
    raw.n = len(blocks)
    for i, b in enumerate(blocks):
        raw.block[i] = b
    return bytes(ffi.buffer(raw)).ljust(BSIZE, b"\0")


def parse_logheader(block: bytes) -> tuple[int, list[int]]:
    """(n, home blocks) of a log header; n is raw and may exceed LOGSIZE."""
    raw = ffi.from_buffer("struct nk_logheader *", block)
    n = raw.n
    return n, ffi.unpack(raw.block, min(n, LOGSIZE))
