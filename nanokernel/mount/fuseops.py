"""The pyfuse3 side of the mount: each FUSE request is one Bridge method (bridge.py).

Handlers never await: each runs its fs calls to the end, so requests are served
one at a time, in the order the host kernel sent them (the fs server serves
one at a time too).  Every exception becomes a FUSEError — an unexpected one
is logged and answered EIO — so no host request can end the mount.

Operations the fs lacks answer an errno, never a crash: symlink, hard link and
mknod of a device: EPERM (POSIX's "the filesystem does not support it");
readlink: EINVAL (nothing here is a link); extended attributes: ENOTSUP;
RENAME_EXCHANGE and RENAME_WHITEOUT: EINVAL; a FIFO made by mknod: EPERM (the
fs's FIFOs are nanokernel pipes, not the host's).
"""

from __future__ import annotations

import errno
import os
import stat as st
from collections.abc import Callable
from typing import Any, TypeVar

import pyfuse3

from libipc import jsonlog
from nanokernel.mount.bridge import NAME_MAX, Attr, Bridge, MountError

log = jsonlog.get_logger()
T = TypeVar("T")
ENTRY_TIMEOUT = 1.0      # seconds the host kernel may keep names and attributes
RENAME_NOREPLACE = 1     # linux/fs.h
SETATTR_FIELDS = ("update_size", "update_mode", "update_uid", "update_gid",
                  "update_atime", "update_mtime")


def run(what: str, fn: Callable[[], T]) -> T:
    """fn(), its failure a FUSEError with its errno (EIO, logged, for a bug)."""
    try:
        return fn()
    except MountError as exc:
        raise pyfuse3.FUSEError(exc.errno) from None
    except pyfuse3.FUSEError:
        raise
    except Exception as exc:   # never let one request end the mount
        log.error("mount_request_failed", op=what, error=repr(exc))
        raise pyfuse3.FUSEError(errno.EIO) from None


def entry(attr: Attr) -> pyfuse3.EntryAttributes:
    e = pyfuse3.EntryAttributes()
    e.st_ino = attr.ino
    e.generation = 0
    e.entry_timeout = ENTRY_TIMEOUT
    e.attr_timeout = ENTRY_TIMEOUT
    e.st_mode = attr.mode
    e.st_nlink = attr.nlink
    e.st_uid = attr.uid
    e.st_gid = attr.gid
    e.st_rdev = 0
    e.st_size = attr.size
    e.st_blksize = 4096
    e.st_blocks = attr.blocks
    e.st_atime_ns = attr.atime_ns
    e.st_mtime_ns = attr.mtime_ns
    e.st_ctime_ns = attr.ctime_ns
    return e


class NkOperations(pyfuse3.Operations):
    """FUSE requests → Bridge → fs messages."""

    supports_dot_lookup = True
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.b = bridge
        self._dirs: dict[int, list[tuple[str, Attr]]] = {}
        self._next_fh = 1

    # --- names and attributes -------------------------------------------------
    async def lookup(self, parent_inode: int, name: bytes, ctx: Any = None) -> Any:
        if name == b".":
            return entry(run("lookup", lambda: self.b.getattr(parent_inode)))
        if name == b"..":
            def up() -> Attr:
                path = self.b.path_of(parent_inode)
                return self.b.stat_path(path.rsplit("/", 1)[0] or "/")
            return entry(run("lookup", up))
        return entry(run("lookup", lambda: self.b.lookup(parent_inode, name)))

    async def getattr(self, inode: int, ctx: Any = None) -> Any:
        return entry(run("getattr", lambda: self.b.getattr(inode)))

    async def setattr(self, inode: int, attr: Any, fields: Any, fh: int | None,
                      ctx: Any) -> Any:
        args: dict[str, int] = {}
        if fields.update_size:
            args["size"] = attr.st_size
        if fields.update_mode:
            args["mode"] = attr.st_mode
        if fields.update_uid:
            args["uid"] = attr.st_uid
        if fields.update_gid:
            args["gid"] = attr.st_gid
        if fields.update_atime:
            args["atime_ns"] = attr.st_atime_ns
        if fields.update_mtime:
            args["mtime_ns"] = attr.st_mtime_ns
        return entry(run("setattr", lambda: self.b.setattr(inode, **args)))

    async def forget(self, inode_list: Any) -> None:
        return None   # (paths are kept: a later request by inode still finds its file)

    async def statfs(self, ctx: Any) -> Any:
        info = run("statfs", self.b.statfs)
        s = pyfuse3.StatvfsData()
        s.f_bsize = s.f_frsize = int(info["block_size"])
        s.f_blocks = int(info["blocks"])
        s.f_bfree = s.f_bavail = int(info["free_blocks"])
        s.f_files = int(info["inodes"])
        s.f_ffree = s.f_favail = int(info["free_inodes"])
        s.f_namemax = NAME_MAX
        return s

    # --- directories -----------------------------------------------------------
    async def opendir(self, inode: int, ctx: Any) -> int:
        listing = run("readdir", lambda: self.b.readdir(inode))   # one snapshot per open
        fh = self._new_fh()
        self._dirs[fh] = listing
        return fh

    async def readdir(self, fh: int, start_id: int, token: Any) -> None:
        listing = self._dirs.get(fh, [])
        for i in range(start_id, len(listing)):
            name, attr = listing[i]
            if not pyfuse3.readdir_reply(token, os.fsencode(name), entry(attr), i + 1):
                return

    async def releasedir(self, fh: int) -> None:
        self._dirs.pop(fh, None)

    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        run("fsyncdir", self.b.sync)

    async def mkdir(self, parent_inode: int, name: bytes, mode: int, ctx: Any) -> Any:
        return entry(run("mkdir", lambda: self.b.mkdir(parent_inode, name)))

    async def rmdir(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        run("rmdir", lambda: self.b.rmdir(parent_inode, name))

    async def unlink(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        run("unlink", lambda: self.b.unlink(parent_inode, name))

    async def rename(self, parent_inode_old: int, name_old: bytes, parent_inode_new: int,
                     name_new: bytes, flags: int, ctx: Any) -> None:
        if flags & ~RENAME_NOREPLACE:   # RENAME_EXCHANGE, RENAME_WHITEOUT
            raise pyfuse3.FUSEError(errno.EINVAL)
        run("rename", lambda: self.b.rename(parent_inode_old, name_old, parent_inode_new,
                                            name_new, noreplace=bool(flags & RENAME_NOREPLACE)))

    # --- files -------------------------------------------------------------------
    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int,
                     ctx: Any) -> Any:
        if not st.S_ISREG(mode) and st.S_IFMT(mode) != 0:
            raise pyfuse3.FUSEError(errno.EPERM)
        def created() -> Attr:
            made = self.b.create(parent_inode, name, exclusive=bool(flags & os.O_EXCL))
            if flags & os.O_TRUNC and made.size:   # (it was there after all: O_TRUNC)
                self.b.truncate(made.ino, 0)
                made = self.b.getattr(made.ino)
            return made
        attr = run("create", created)
        self.b.opened(attr.ino)
        return pyfuse3.FileInfo(fh=attr.ino), entry(attr)

    async def mknod(self, parent_inode: int, name: bytes, mode: int, rdev: int,
                    ctx: Any) -> Any:
        if not st.S_ISREG(mode):   # devices, sockets, host FIFOs: not on this fs
            raise pyfuse3.FUSEError(errno.EPERM)
        return entry(run("mknod", lambda: self.b.create(parent_inode, name, exclusive=True)))

    async def open(self, inode: int, flags: int, ctx: Any) -> Any:
        def opened() -> Attr:
            attr = self.b.getattr(inode)
            if attr.is_dir:
                raise MountError(errno.EISDIR)
            if flags & os.O_TRUNC and flags & os.O_ACCMODE != os.O_RDONLY:
                self.b.truncate(inode, 0)
            return attr
        run("open", opened)
        self.b.opened(inode)
        return pyfuse3.FileInfo(fh=inode)

    async def read(self, fh: int, off: int, size: int) -> bytes:
        return run("read", lambda: self.b.read(fh, off, size))

    async def write(self, fh: int, off: int, buf: bytes) -> int:
        return run("write", lambda: self.b.write(fh, off, buf))

    async def flush(self, fh: int) -> None:
        return None   # (nothing is buffered here: fsync is what makes it durable)

    async def release(self, fh: int) -> None:
        run("release", lambda: self.b.released(fh))   # (the last close of a hidden file)

    async def fsync(self, fh: int, datasync: bool) -> None:
        run("fsync", self.b.sync)

    async def symlink(self, parent_inode: int, name: bytes, target: bytes, ctx: Any) -> Any:
        return entry(run("symlink", lambda: self.b.symlink(parent_inode, name, target)))

    async def readlink(self, inode: int, ctx: Any) -> bytes:
        return run("readlink", lambda: self.b.readlink(inode))

    # --- what the fs lacks: errors, never crashes ----------------------------------

    async def link(self, inode: int, new_parent_inode: int, new_name: bytes, ctx: Any) -> Any:
        raise pyfuse3.FUSEError(errno.EPERM)

    async def setxattr(self, inode: int, name: bytes, value: bytes, ctx: Any) -> None:
        raise pyfuse3.FUSEError(errno.ENOTSUP)

    async def getxattr(self, inode: int, name: bytes, ctx: Any) -> bytes:
        raise pyfuse3.FUSEError(errno.ENOTSUP)

    async def listxattr(self, inode: int, ctx: Any) -> list[bytes]:
        return []

    async def removexattr(self, inode: int, name: bytes, ctx: Any) -> None:
        raise pyfuse3.FUSEError(errno.ENOTSUP)

    async def access(self, inode: int, mode: int, ctx: Any) -> bool:
        run("access", lambda: self.b.getattr(inode))
        return True

    def _new_fh(self) -> int:
        self._next_fh += 1
        return self._next_fh
