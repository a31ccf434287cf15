"""The mount's core: host file operations, by inode, as fs server calls, by path.

The fs server names files by path and keeps no open files (servers/fs/server.py);
the host kernel names them by inode number.  This class is the translation, with
no FUSE in it (nanokernel/mount/fuseops.py is the pyfuse3 side), so it can be
tested against a booted fs without a mount:

  * inode numbers are the fs's own (``stat``'s ``inum``; the root is 1 on both
    sides); ``paths`` remembers the path of every inode the host was told of,
    and a rename moves the paths under it;
  * every call goes through one ``FsClient`` (libipc/fsclient.py): a write is
    kept until a sync proves it, and re-sent if fs restarted before committing
    it; a call that met a dead fs waits for the new one (RECOVERY_S) — so a
    crash of fs under the mount is a pause, or EIO when fs stays away;
  * before a rename, unlink or rmdir of a path that has kept (unsynced) changes,
    those are synced: a re-send after an fs crash must not bring back a file
    under a name that is gone, nor write a replaced file's bytes into its
    successor;
  * an open file that is unlinked is renamed to ``/.nkmount-hidden-INO`` instead
    (NFS's "silly rename"), left out of readdir, and unlinked at its last close (or
    at unmount, or by the next mount if this one died): the fs has no open files, and
    the Unix idiom of using a file after unlinking it must still work;
  * errors become ``MountError(errno)`` (nanokernel/mount/errors.py).

What fs does not store — permission bits, owner, access and change times, a
modification time set by hand — the host still asks for (tar, cp -a and rsync
set them).  By default such a change is kept in this process's memory (the
"session attributes": visible until unmount, never on the disk); with
``strict_attrs`` a change is EPERM unless it asks for what is already so.
"""

from __future__ import annotations

import errno
import os
import stat as st
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from libipc.errors import IpcError
from libipc.fsclient import FsClient
from libipc.readdir import whole_listing
from nanokernel.mount.errors import errno_of
from servers.fs.layout import DIRSIZ

ROOT = 1                 # the root's inode: NK_ROOTINO, and FUSE's ROOT_INODE
NAME_MAX = DIRSIZ        # NK_DIRSIZ: bytes of UTF-8 in one name (252)
BLOCK = 4096
FILE_MODE = 0o644
DIR_MODE = 0o755
LINK_MODE = 0o777        # (a link's own mode means nothing on Linux: 0777, as ext4's)
TYPES = {"file": st.S_IFREG, "dir": st.S_IFDIR, "fifo": st.S_IFIFO, "symlink": st.S_IFLNK}
READ_CHUNK = 60 * 1024   # what one fs read answers at most (MAX_READ)
HIDDEN = ".nkmount-hidden-"   # an open file unlinked: renamed so, removed at its last close

T = TypeVar("T")


class MountError(Exception):
    """A host request failed with ``errno``."""

    def __init__(self, err: int, why: str = "") -> None:
        super().__init__(err, why or os.strerror(err))
        self.errno = err
        self.why = why or os.strerror(err)

    def __str__(self) -> str:
        return f"{errno.errorcode.get(self.errno, self.errno)}: {self.why}"


@dataclass(frozen=True)
class Attr:
    """What the host's stat() shows of one inode."""

    ino: int
    mode: int
    nlink: int
    size: int
    blocks: int          # 512-byte units (st_blocks)
    uid: int
    gid: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int

    @property
    def is_dir(self) -> bool:
        return st.S_ISDIR(self.mode)


class Bridge:
    """Host requests (by inode) carried out as fs calls (by path)."""

    def __init__(self, client: FsClient, *, strict_attrs: bool = False,
                 uid: int | None = None, gid: int | None = None) -> None:
        self.fs = client
        self.strict_attrs = strict_attrs
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.paths: dict[int, str] = {ROOT: "/"}
        self.inodes: dict[str, int] = {"/": ROOT}
        self.session_attrs: dict[int, dict[str, int]] = {}   # ino -> mode/uid/gid/atime/mtime
        self.opens: dict[int, int] = {}    # ino -> open handles the host holds
        self.hidden: set[int] = set()      # unlinked while open: removed at the last close
        self.calls = 0            # fs calls made (for tests and the log)

    # --- names ----------------------------------------------------------------
    def path_of(self, ino: int) -> str:
        try:
            return self.paths[ino]
        except KeyError:
            raise MountError(errno.ESTALE, f"inode {ino} is not known here") from None

    def child(self, parent: int, name: bytes | str) -> str:
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError:
                raise MountError(errno.EINVAL, "names on this fs are UTF-8") from None
        if name in ("", ".", "..") or "/" in name:
            raise MountError(errno.EINVAL, f"{name!r}: not a name")
        if len(name.encode("utf-8")) > NAME_MAX:
            raise MountError(errno.ENAMETOOLONG)
        base = self.path_of(parent)
        return base + name if base == "/" else f"{base}/{name}"

    def _remember(self, path: str, ino: int) -> None:
        old = self.paths.get(ino)
        if old is not None and old != path and self.inodes.get(old) == ino:
            del self.inodes[old]   # (an inode number used again by fs: its new file)
        other = self.inodes.get(path)
        if other is not None and other != ino:
            self._forget(other)
        self.paths[ino] = path
        self.inodes[path] = ino

    def _forget(self, ino: int) -> None:
        path = self.paths.pop(ino, None)
        if path is not None and self.inodes.get(path) == ino:
            del self.inodes[path]
        self.session_attrs.pop(ino, None)

    # --- calls ------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except MountError:
            raise
        except IpcError as exc:
            raise MountError(errno_of(exc), str(exc)) from exc

    def _call(self, op: str, **args: Any) -> Any:
        self.calls += 1
        with self._errors():
            return self.fs.call(op, **args)

    def _do(self, fn: Callable[[], T]) -> T:
        self.calls += 1
        with self._errors():
            return fn()

    def _attr(self, path: str, info: dict[str, Any]) -> Attr:
        ino = int(info["inum"])
        self._remember(path, ino)
        kind = info.get("type", "file")
        perm = {"dir": DIR_MODE, "symlink": LINK_MODE}.get(kind, FILE_MODE)
        mtime = int(float(info.get("mtime", 0)) * 1e9)
        attr = Attr(ino=ino, mode=TYPES.get(kind, st.S_IFREG) | perm,
                    nlink=int(info.get("nlink", 1)), size=int(info.get("size", 0)),
                    blocks=int(info.get("blocks", 0)) * (BLOCK // 512),
                    uid=self.uid, gid=self.gid, atime_ns=mtime, mtime_ns=mtime,
                    ctime_ns=mtime)
        if ino in self.hidden:
            attr = replace(attr, nlink=0)
        extra = self.session_attrs.get(ino)
        if extra:
            mode = extra.get("mode")
            attr = replace(attr, uid=extra.get("uid", attr.uid), gid=extra.get("gid", attr.gid),
                           mode=attr.mode if mode is None else st.S_IFMT(attr.mode) | mode,
                           atime_ns=extra.get("atime", attr.atime_ns),
                           mtime_ns=extra.get("mtime", attr.mtime_ns),
                           ctime_ns=extra.get("ctime", attr.ctime_ns))
        return attr

    def stat_path(self, path: str) -> Attr:
        return self._attr(path, self._call("stat", path=path))

    # --- reading ------------------------------------------------------------------
    def getattr(self, ino: int) -> Attr:
        return self.stat_path(self.path_of(ino))

    def lookup(self, parent: int, name: bytes | str) -> Attr:
        return self.stat_path(self.child(parent, name))

    def _listing(self, path: str) -> Iterator[dict[str, Any]]:
        return whole_listing(lambda **args: self._call("readdir", **args), path)

    def readdir(self, ino: int) -> list[tuple[str, Attr]]:
        """Every entry of directory ``ino`` with its attributes (one stat each: the
        host's readdirplus wants them), sorted by name."""
        path = self.path_of(ino)
        out = []
        for entry in self._listing(path):
            if entry["name"].startswith(HIDDEN):
                continue
            child = (path.rstrip("/") or "") + "/" + entry["name"]
            try:
                out.append((entry["name"], self.stat_path(child)))
            except MountError as exc:
                if exc.errno != errno.ENOENT:   # (gone meanwhile: left out)
                    raise
        return out

    def read(self, ino: int, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, fewer only at the end of the file."""
        path = self.path_of(ino)
        if size > READ_CHUNK:   # one call, through a granted region (libipc/bulk.py)
            data = self._do(lambda: self.fs.read_by_grant(path, offset, size))
            if len(data) == size or not data:
                return data
            parts, got = [data], len(data)
        else:
            parts, got = [], 0
        while got < size:
            chunk = self._call("read", path=path, offset=offset + got,
                               size=min(size - got, READ_CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def statfs(self) -> dict[str, int]:
        return self._call("statfs")

    # --- changing -------------------------------------------------------------------
    def write(self, ino: int, offset: int, data: bytes) -> int:
        path = self.path_of(ino)
        view = memoryview(bytes(data))   # (kept by the client until a sync: its own copy)
        written = self._do(lambda: self.fs.write(path, offset, view))
        if written == 0 and len(view):   # (a short write is the host's to retry: then this)
            raise MountError(errno.ENOSPC)
        return written

    def create(self, parent: int, name: bytes | str, exclusive: bool = True) -> Attr:
        path = self.child(parent, name)
        self._do(lambda: self.fs.create(path, exclusive=exclusive))
        attr = self.stat_path(path)
        self.session_attrs.pop(attr.ino, None)
        return attr

    def mkdir(self, parent: int, name: bytes | str) -> Attr:
        path = self.child(parent, name)
        self._call("mkdir", path=path)
        self._dirsync()
        attr = self.stat_path(path)
        self.session_attrs.pop(attr.ino, None)
        return attr

    def symlink(self, parent: int, name: bytes | str, target: bytes) -> Attr:
        """A symbolic link: fs stores the target; the host kernel follows it."""
        path = self.child(parent, name)
        try:
            text = target.decode("utf-8") if isinstance(target, bytes) else target
        except UnicodeDecodeError:
            raise MountError(errno.EINVAL, "link targets on this fs are UTF-8") from None
        self._call("symlink", path=path, target=text)
        self._dirsync()
        attr = self.stat_path(path)
        self.session_attrs.pop(attr.ino, None)
        return attr

    def readlink(self, ino: int) -> bytes:
        return self._call("readlink", path=self.path_of(ino)).encode("utf-8")

    def truncate(self, ino: int, size: int) -> None:
        path = self.path_of(ino)
        self._do(lambda: self.fs.truncate(path, size))

    def unlink(self, parent: int, name: bytes | str) -> None:
        path = self.child(parent, name)
        ino = self.inodes.get(path)
        if ino is not None and self.opens.get(ino) and ino not in self.hidden:
            hidden = f"/{HIDDEN}{ino}"   # (in the root: the directory may go meanwhile)
            self._settle(path)
            self._call("rename", src=path, dst=hidden)
            self._moved(path, hidden)
            self.hidden.add(ino)
            return
        self._remove("unlink", path)

    def remove_hidden(self) -> int:
        """Unlink every hidden file (at unmount, and at mount: a dead mount's); how many."""
        self.hidden.clear()
        gone = 0
        for entry in list(self._listing("/")):   # (whole, before any is removed)
            if entry["name"].startswith(HIDDEN):
                self._remove("unlink", "/" + entry["name"])
                gone += 1
        return gone

    def opened(self, ino: int) -> None:
        """The host opened ``ino`` (create or open)."""
        self.opens[ino] = self.opens.get(ino, 0) + 1

    def released(self, ino: int) -> None:
        """The host closed one handle of ``ino``: the last one removes a hidden file."""
        left = self.opens.get(ino, 0) - 1
        if left > 0:
            self.opens[ino] = left
            return
        self.opens.pop(ino, None)
        if ino in self.hidden:
            self.hidden.discard(ino)
            path = self.paths.get(ino)
            if path is not None:
                self._remove("unlink", path)

    def rmdir(self, parent: int, name: bytes | str) -> None:
        self._remove("rmdir", self.child(parent, name))

    def _remove(self, op: str, path: str) -> None:
        self._settle(path)
        self._call(op, path=path)
        self._dirsync()
        ino = self.inodes.get(path)
        if ino is not None:
            self._forget(ino)

    def rename(self, parent: int, name: bytes | str, new_parent: int, new_name: bytes | str,
               noreplace: bool = False) -> None:
        src, dst = self.child(parent, name), self.child(new_parent, new_name)
        if noreplace:   # RENAME_NOREPLACE: fs's rename replaces, so look first
            try:
                self._call("stat", path=dst)
            except MountError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            else:
                raise MountError(errno.EEXIST)
        self._settle(src, dst)
        self._call("rename", src=src, dst=dst)
        self._dirsync()
        replaced = self.inodes.get(dst)
        if replaced is not None and self.paths.get(replaced) == dst and src != dst:
            self._forget(replaced)
        self._moved(src, dst)

    def _moved(self, src: str, dst: str) -> None:
        """The remembered paths at and under ``src`` now start with ``dst``."""
        moved = [(ino, p) for ino, p in self.paths.items()
                 if p == src or p.startswith(src + "/")]
        for ino, p in moved:
            if self.inodes.get(p) == ino:
                del self.inodes[p]
        for ino, p in moved:
            new = dst + p[len(src):]
            self.paths[ino] = new
            self.inodes[new] = ino

    def setattr(self, ino: int, *, size: int | None = None, mode: int | None = None,
                uid: int | None = None, gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None) -> Attr:
        """Change what is asked; fs stores the size (truncate), the rest is a session
        attribute — or, with strict_attrs, EPERM unless it is already so."""
        path = self.path_of(ino)
        if size is not None:
            self._do(lambda: self.fs.truncate(path, size))
        now = self.stat_path(path)
        wanted = {}
        if mode is not None and st.S_IMODE(mode) != st.S_IMODE(now.mode):
            wanted["mode"] = st.S_IMODE(mode)
        if uid is not None and uid != now.uid:
            wanted["uid"] = uid
        if gid is not None and gid != now.gid:
            wanted["gid"] = gid
        if atime_ns is not None and atime_ns != now.atime_ns:
            wanted["atime"] = atime_ns
        if mtime_ns is not None and mtime_ns != now.mtime_ns:
            wanted["mtime"] = mtime_ns
        if not wanted:
            return now
        if self.strict_attrs:
            raise MountError(errno.EPERM, "this fs stores no " + ", ".join(sorted(wanted)))
        wanted["ctime"] = time.time_ns()
        self.session_attrs.setdefault(ino, {}).update(wanted)
        return self.stat_path(path)

    def _dirsync(self) -> None:
        """A directory change durable at once (as ``mount -o dirsync``).  fs commits about
        2 ms after a change, and FsClient re-sends only writes, creates and truncates
        across an fs restart: an unlink, rename or mkdir fs had not committed when it
        was killed would be undone — and a program that trusted it loses data (sqlite
        deletes its journal to commit a transaction; a journal back from the dead rolls
        that transaction back: 1170 of 1200 rows after three fs kills, in CI)."""
        self.sync()

    def sync(self) -> None:
        """Everything written so far durable (re-sent first if an fs restart lost it)."""
        self._do(self.fs.sync)

    def _settle(self, *paths: str) -> None:
        """Sync first when a kept change names one of ``paths`` or a path under it."""
        def under(p: str) -> bool:
            return any(p == q or p.startswith(q.rstrip("/") + "/") for q in paths)
        if any(under(c.path) for c in self.fs.kept):
            self.sync()
