"""upgrade — a format-1 image copied, file by file, into a new format-2 image.

Format 2 (csrc/nk_fs.h) changed one thing on disk: a directory entry grew from
64 bytes (60-byte names) to 256 (252-byte names), so a directory's blocks cannot
be read in place.  Rather than rewrite directories where they lie, the upgrade
reads the old tree (its inodes, block maps and log are as they were; only the
entries are parsed with the old `struct nk_dirent_v1`) and makes the same tree
in a fresh image of the same size through the fs library, which then has a
consistent image by construction.  The old image is kept beside it as
``PATH.v1``; nothing is deleted.

`nanokernel mkfs PATH --upgrade` runs it, and a boot does it by itself for the
default image (nanokernel/disk.py), saying so in one line.  Modification
times are not kept (fs has no op that sets one).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from libipc._nkffi import ffi, lib

from libipc.errors import CorruptFilesystem, InvalidArgument, IpcError, NoSpace
from servers.blockdev import DiskImage
from servers.imagelock import Checking

from .filesystem import FileSystem
from .inode import Inode, InodeTable, readi
from .layout import BSIZE, MAGIC, ROOTINO, T_DIR, T_FIFO, T_FILE, VERSION, parse_superblock
from .mkfs import mkfs
from .volume import Volume

OLD_VERSION = 1
V1_DIRSIZ: int = lib.NK_V1_DIRSIZ
V1_DIRENT_SIZE: int = ffi.sizeof("struct nk_dirent_v1")
CHUNK = 64 * 1024   # bytes of a file copied per read (a chunk of zeros is not written)
HIDDEN = ".nkmount-hidden-"   # (nanokernel/mount/bridge.py's name for them)


def needs_upgrade(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a nanokernel image of format 1."""
    try:
        with open(path, "rb") as f:
            sb = parse_superblock(f.read(BSIZE))
    except (OSError, ValueError):
        return False
    return sb.magic == MAGIC and sb.version == OLD_VERSION


def upgrade_if_old(path: str | os.PathLike[str]) -> Path | None:
    """upgrade() if ``path`` is of format 1, under an exclusive lock (Busy while a boot
    uses it), looked at again once locked (another may have upgraded it meanwhile);
    the old image's new name, or None when there was nothing to upgrade."""
    if not needs_upgrade(path):
        return None
    with Checking(path, exclusive=True):
        return upgrade(path) if needs_upgrade(path) else None


def upgrade(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` a format-2 image holding the same tree; the old image's new name.
    On any failure the image at ``path`` is as it was, and the error says so."""
    path = Path(path)
    kept = _free_name(path.with_name(path.name + ".v1"))
    new = path.with_name(f".{path.name}.{os.getpid()}.upgrade")
    unchanged = f"; {path} is unchanged (nanokernel mkfs PATH --upgrade tries again)"
    try:
        with DiskImage(path) as old:
            mkfs(new, old.nblocks * BSIZE, overwrite=True)
            with DiskImage(new) as image:
                fs = FileSystem(image)
                fs.mount()
                _empty(fs)   # the old tree, not mkfs's, is what the new image holds
                _Format1(old).copy_into(fs)
                fs.unmount()
        os.link(path, kept)        # the old one stays, under its new name,
        os.replace(new, path)      # and the new one takes its place in one step
    except IpcError as exc:
        raise type(exc)(f"upgrade of {path} failed: {exc.message}{unchanged}") from None
    except OSError as exc:
        raise InvalidArgument(f"upgrade of {path} failed: {exc.strerror or exc}"
                              f"{unchanged}") from None
    finally:
        new.unlink(missing_ok=True)
    return kept


def _empty(fs: FileSystem) -> None:
    fs.unlink("/etc/motd")
    fs.rmdir("/etc")
    fs.rmdir("/home")


def _free_name(path: Path) -> Path:
    n, candidate = 1, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


class _Format1:
    """The tree of a format-1 image: inodes as they were, directories of old entries."""

    def __init__(self, device: DiskImage) -> None:
        sb = parse_superblock(device.read(0, 1))
        if sb.magic != MAGIC or sb.version != OLD_VERSION:
            raise CorruptFilesystem(f"{device.path}: not a format-{OLD_VERSION} image "
                                    f"(format {sb.version}; this nanokernel writes {VERSION})")
        self.vol = Volume.open(device, sb)
        self.vol.log.recover()   # what the old fs had committed and not yet installed
        self.table = InodeTable(self.vol)

    def copy_into(self, fs: FileSystem) -> None:
        """The old tree, breadth first (no recursion: a deep tree is fine), each
        directory once (a damaged tree's loop is not followed)."""
        seen = {ROOTINO}
        todo = deque([(self.table.get(ROOTINO), "")])
        while todo:
            dp, path = todo.popleft()
            for name, inum in self._entries(dp):
                if not path and name.startswith(HIDDEN):
                    continue   # a dead mount's unlinked-but-open files: garbage
                ip, target = self.table.get(inum), f"{path}/{name}"
                if ip.type == T_DIR and inum not in seen:
                    seen.add(inum)
                    fs.mkdir(target)
                    todo.append((ip, target))
                elif ip.type == T_FIFO:
                    fs.mkfifo(target)
                elif ip.type == T_FILE:
                    self._copy_file(fs, ip, target)

    def _copy_file(self, fs: FileSystem, ip: Inode, target: str) -> None:
        """The file's bytes; a run of zeros (a hole, most likely) is left a hole."""
        fs.create(target)
        for offset in range(0, ip.size, CHUNK):
            data = readi(self.vol, ip, offset, CHUNK)
            if data.count(0) == len(data):
                continue
            if fs.write(target, offset, data) != len(data):
                raise NoSpace(f"{target}: the new image is full")
        fs.truncate(target, ip.size)
        if fs.stat(target)["size"] != ip.size:
            raise CorruptFilesystem(f"{target}: copied {fs.stat(target)['size']} of "
                                    f"{ip.size} bytes")

    def _entries(self, dp: Inode) -> list[tuple[str, int]]:
        data = readi(self.vol, dp, 0, dp.size)
        usable = len(data) - len(data) % V1_DIRENT_SIZE
        found = []
        for entry in ffi.from_buffer("struct nk_dirent_v1[]", data[:usable]):
            name = ffi.unpack(entry.name, V1_DIRSIZ).rstrip(b"\0").decode("utf-8", "replace")
            if entry.inum and name not in (".", ".."):
                found.append((name, entry.inum))
        return found
