"""filesystem — the path-based operations the fs server serves (xv6: sysfile.c).

Layer 7, the top.  `FileSystem(device)` mounts an image and offers stateless,
path-based operations: each call names its file by path and carries its own
offset, so a restarted server has no client state to lose (NFS's reason).

  stat read write create mkdir mkfifo symlink readlink readdir unlink rmdir rename
  truncate sync statfs

A FIFO (named pipe, `mkfifo`) is an inode of type T_FIFO with size 0 and no
blocks: a name in the tree and nothing more.  Its bytes live in the pipe
server (servers/pipe_fifo.py), which a client reaches with the FIFO's key —
`stat(path)["fifo"]`, "VOLUME.INUM.CREATED": the volume's mkfs time, the
inode number and the inode's creation time (a FIFO's mtime, which nothing
changes: read, write and truncate of a FIFO are InvalidArgument).  The key
survives a rename and a remount, and a FIFO made later in a reused inode gets
another one.  unlink, rename and readdir treat a FIFO like a file.

A symbolic link (`symlink`) is an inode of type T_SYMLINK whose data is its
target.  fs stores it and never follows it — read, write and truncate of a
link, and a path through one, are errors that say so — because its paths are
normalised lexically (paths.py: ".." is the previous component), which a link
inside the walk would make wrong.  The host kernel follows links on the mount
(nanokernel/mount) as it does on any filesystem.  unlink and rename treat a
link like a file.

Every operation that changes the disk is one log op, or — when it is too big
for one (a long write, truncating or deleting a big file) — a sequence of
ops each of which leaves a valid filesystem:
  - a long write commits chunk by chunk; a crash may keep a prefix of it;
  - freeing a big file's blocks happens after its directory entry is gone;
    if a crash interrupts that, the inode is left with nlink 0 and the next
    mount frees it ("orphan"), so no space leaks.
An op that fails (NoSpace, a bad path, a corrupt block found half-way) is
undone completely by the log; the only partial result is a write that filled
the disk, which returns the number of bytes it did write.

Durability: finished ops are grouped and reach the disk when the log is
nearly full or at `sync()`/`commit()`.  A crash loses the ops since the last
commit, never part of one.  Call `sync()` before a clean halt.

Rules: one caller at a time (the fs server is single-threaded); arguments are
validated before anything else (InvalidArgument / InvalidPath /
NameTooLong); error messages start with the path they are about.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from libipc.errors import (
    CorruptFilesystem,
    DirectoryNotEmpty,
    FileExists,
    FileNotFound,
    InvalidArgument,
    InvalidPath,
    IsADirectory,
    NameTooLong,
    NoSpace,
    NotADirectory,
)
from servers.blockdev import BlockDevice

from . import directory
from .alloc import count_free_blocks, count_free_inodes, ialloc, ifree
from .inode import Inode, InodeTable, count_blocks, readi, readi_into, touch, writei
from .layout import (
    BSIZE,
    IPB,
    MAX_FILE_SIZE,
    ROOTINO,
    SYMLINK_MAX,
    T_DIR,
    T_FIFO,
    T_FILE,
    T_FREE,
    T_SYMLINK,
    dinodes,
    parse_superblock,
    superblock_problems,
)
from .paths import namei, nameiparent, normalise
from .truncate import shrink
from .volume import Volume

MAX_NLINK = 0xFFFF  # nlink is a uint16 on disk
TYPE_NAMES = {T_DIR: "dir", T_FILE: "file", T_FIFO: "fifo", T_SYMLINK: "symlink"}


class FileSystem:
    """A mounted nanokernel filesystem on a BlockDevice."""

    def __init__(self, device: BlockDevice, *, cache_blocks: int = 1024,
                 group_commit: bool = True, barriers: bool = False) -> None:
        self.device = device
        self._options = {"cache_blocks": cache_blocks, "group_commit": group_commit,
                         "barriers": barriers}
        self._vol: Volume | None = None
        self._table: InodeTable | None = None
        self.recovered_blocks = 0
        self.reclaimed_orphans = 0

    # --- mounting ---------------------------------------------------------
    def mount(self) -> None:
        """Check the superblock, recover the log, free orphans; CorruptFilesystem if damaged."""
        if self.device.block_size != BSIZE:
            raise CorruptFilesystem(f"mount: device block size {self.device.block_size}, "
                                    f"the filesystem needs {BSIZE}")
        sb = parse_superblock(self.device.read(0, 1))
        problems = superblock_problems(sb, self.device.nblocks)
        if problems:
            raise CorruptFilesystem("mount: " + "; ".join(problems))
        vol = Volume.open(self.device, sb, **self._options)
        table = InodeTable(vol)
        self.recovered_blocks = vol.log.recover()
        root = table.get(ROOTINO)
        if not root.is_dir:
            raise CorruptFilesystem(f"mount: root inode {ROOTINO} is not a directory")
        self._vol, self._table = vol, table
        try:
            self.reclaimed_orphans = self._reclaim_orphans()
            self.sync()
        except BaseException:
            self._vol = self._table = None
            raise

    def unmount(self) -> None:
        """Sync and let go of the device; further calls need a new mount()."""
        if self._vol is not None:
            self.sync()
        self._vol = self._table = None

    @property
    def mounted(self) -> bool:
        return self._vol is not None

    @property
    def log_failed(self) -> bool:
        """A commit failed half-way (the device went away): remount to go on."""
        return self._vol is not None and self._vol.log.failed

    @property
    def pending_blocks(self) -> int:
        """Blocks changed by finished ops that a crash now would lose."""
        return self._mounted().log.pending

    # --- reading ----------------------------------------------------------
    def stat(self, path: str) -> dict[str, Any]:
        """{type, size, nlink, mtime, inum, blocks} of `path` (blocks: 4 KiB blocks held)."""
        p = normalise(path)
        with self._reading() as table:
            return self._stat_of(namei(self._vol_, table, p))

    def read(self, path: str, offset: int = 0, size: int = BSIZE) -> bytes:
        """Up to `size` bytes of file `path` from `offset` (b"" at or past the end)."""
        p = normalise(path)
        _check_count("read", p, "offset", offset)
        _check_count("read", p, "size", size)
        with self._reading() as table:
            ip = namei(self._vol_, table, p)
            if ip.is_dir:
                raise IsADirectory(f"{p}: is a directory")
            _refuse_special(p, ip)
            return readi(self._vol_, ip, offset, size)

    def read_into(self, path: str, offset: int, dest: memoryview) -> int:
        """read() of up to len(dest) bytes into `dest`; how many were placed (0: the end)."""
        p = normalise(path)
        _check_count("read", p, "offset", offset)
        with self._reading() as table:
            ip = namei(self._vol_, table, p)
            if ip.is_dir:
                raise IsADirectory(f"{p}: is a directory")
            _refuse_special(p, ip)
            return readi_into(self._vol_, ip, offset, dest.nbytes, dest)

    def readdir(self, path: str, after: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """[{name, type, size}] of directory `path`, sorted by name ("." and ".." left out);
        a page of it: the first ``limit`` names sorted after ``after`` (a big directory's
        listing does not fit in one message: its reader asks page by page)."""
        p = normalise(path)
        if limit is not None and limit < 1:
            raise InvalidArgument(f"readdir: limit must be 1 or more, got {limit}")
        with self._reading() as table:
            dp = namei(self._vol_, table, p)
            if not dp.is_dir:
                raise NotADirectory(f"{p}: not a directory")
            names = sorted((name, inum) for name, inum, _ in directory.entries(self._vol_, dp)
                           if name not in (".", "..") and (after is None or name > after))
            listing = []
            for name, inum in names[:limit]:
                ip = table.get(inum)
                if ip.type == T_FREE:
                    raise CorruptFilesystem(f"{p}: entry {name!r} names free inode {inum}")
                listing.append({"name": name, "type": TYPE_NAMES[ip.type], "size": ip.size})
        return listing

    def statfs(self) -> dict[str, int]:
        """{block_size, blocks, free_blocks, inodes, free_inodes} of the data area."""
        vol = self._mounted()
        return {"block_size": BSIZE, "blocks": vol.sb.ndata,
                "free_blocks": count_free_blocks(vol), "inodes": vol.sb.ninodes - 1,
                "free_inodes": count_free_inodes(vol)}

    # --- creating ---------------------------------------------------------
    def create(self, path: str, exclusive: bool = False) -> None:
        """Create empty file `path` if missing (FileExists if there and `exclusive`)."""
        p = normalise(path)
        with self._op() as table:
            self._create(table, p, T_FILE, exclusive=bool(exclusive))

    def mkdir(self, path: str) -> None:
        """Create directory `path` (FileExists if anything is there)."""
        p = normalise(path)
        with self._op() as table:
            self._create(table, p, T_DIR, exclusive=True)

    def symlink(self, path: str, target: str) -> None:
        """Create symbolic link `path` to `target` (FileExists if anything is there).
        fs stores the target and never follows it: a path through a link is an error
        here; the host kernel follows links on the mount (nanokernel/mount)."""
        p = normalise(path)
        raw = _link_target(p, target)
        with self._op() as table:
            ip = self._create(table, p, T_SYMLINK, exclusive=True)
            writei(self._vol_, table, ip, 0, raw)

    def readlink(self, path: str) -> str:
        """The target of symbolic link `path`."""
        p = normalise(path)
        with self._reading() as table:
            ip = namei(self._vol_, table, p)
            if not ip.is_symlink:
                raise InvalidArgument(f"{p}: not a symbolic link")
            return readi(self._vol_, ip, 0, ip.size).decode("utf-8", "replace")

    def mkfifo(self, path: str) -> None:
        """Create FIFO `path` (FileExists if anything is there): a named pipe."""
        p = normalise(path)
        with self._op() as table:
            self._create(table, p, T_FIFO, exclusive=True)

    def _create(self, table: InodeTable, p: str, itype: int, *, exclusive: bool) -> Inode:
        vol = self._vol_
        try:
            existing = namei(vol, table, p)
        except FileNotFound:
            pass
        else:
            if exclusive:
                raise FileExists(f"{p}: already exists")
            if existing.is_dir:
                raise IsADirectory(f"{p}: is a directory")
            _refuse_link(p, existing)   # (a file "made" there would be the link)
            return existing
        dp, name = nameiparent(vol, table, p)
        if itype == T_DIR and dp.nlink >= MAX_NLINK:
            raise NoSpace(f"{p}: too many subdirectories in the parent")
        inum = ialloc(vol, itype)
        table.forget(inum)
        ip = table.get(inum)
        if itype == T_DIR:
            directory.link(vol, table, ip, ".", inum)
            directory.link(vol, table, ip, "..", dp.inum)
            ip.nlink, dp.nlink = 1, dp.nlink + 1
        directory.link(vol, table, dp, name, inum)
        ip.nlink += 1
        table.update(ip)
        table.update(dp)
        return ip

    # --- writing ----------------------------------------------------------
    def write(self, path: str, offset: int, data: bytes, create: bool = False) -> int:
        """Write `data` at `offset` of file `path`; the number of bytes written.

        Fewer than len(data) only when the disk filled up part-way; NoSpace
        when not a byte fit.  create=True makes the file if it is missing."""
        p = normalise(path)
        _check_count("write", p, "offset", offset)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgument(f"write {p}: data must be bytes, not {type(data).__name__}")
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError):
            raise InvalidArgument(f"write {p}: data must be one contiguous buffer") from None
        if offset + len(view) > MAX_FILE_SIZE:
            raise InvalidArgument(f"write {p}: would grow the file past the largest file "
                                  f"({MAX_FILE_SIZE} bytes)")
        inum = self._file_inum(p, create=bool(create))
        total = 0
        while total < len(view):
            try:
                with self._op() as table:
                    n = writei(self._vol_, table, table.get(inum), offset + total, view[total:])
            except NoSpace:
                if total:
                    break
                raise
            total += n
        return total

    def truncate(self, path: str, size: int) -> None:
        """Make file `path` `size` bytes long: cut it, or extend it with zeros."""
        p = normalise(path)
        _check_count("truncate", p, "size", size)
        if size > MAX_FILE_SIZE:
            raise InvalidArgument(f"truncate {p}: {size} is past the largest file "
                                  f"({MAX_FILE_SIZE} bytes)")
        inum = self._file_inum(p, create=False)
        done = False
        while not done:
            with self._op() as table:
                ip = table.get(inum)
                if size >= ip.size:
                    ip.size = size
                    touch(ip)
                    table.update(ip)
                    done = True
                else:
                    done = shrink(self._vol_, table, ip, size)

    def _file_inum(self, p: str, *, create: bool) -> int:
        if create:
            with self._op() as table:
                ip = self._create(table, p, T_FILE, exclusive=False)
                _refuse_special(p, ip)
                return ip.inum
        with self._reading() as table:
            ip = namei(self._vol_, table, p)
            if ip.is_dir:
                raise IsADirectory(f"{p}: is a directory")
            _refuse_special(p, ip)
            return ip.inum

    # --- by inode number (memory-mapped files: servers/fs/mapping.py) -------
    def linked(self, inum: int) -> bool:
        """Whether inode `inum` is still a file that some name leads to."""
        with self._reading() as table:
            ip = table.get(inum)
            return ip.type == T_FILE and ip.nlink > 0

    def write_inode(self, inum: int, offset: int, data: bytes) -> int:
        """write() to the file that is inode `inum`, whatever its name is now (a
        mapping follows its file through renames); FileNotFound once it is gone."""
        with self._op() as table:
            ip = table.get(inum)
            if ip.type != T_FILE or ip.nlink == 0:
                raise FileNotFound(f"inode {inum}: no longer a file")
            return writei(self._vol_, table, ip, offset, data)

    # --- removing ---------------------------------------------------------
    def unlink(self, path: str) -> None:
        """Remove file `path` (IsADirectory for a directory: use rmdir)."""
        p = normalise(path)
        with self._op() as table:
            ip = namei(self._vol_, table, p)
            if ip.is_dir:
                raise IsADirectory(f"{p}: is a directory (use rmdir)")
            self._remove_entry(table, p)
            ip.nlink -= 1
            table.update(ip)
            unfinished = ip.nlink == 0 and not self._release_step(table, ip)
        if unfinished:
            self._release(ip.inum)

    def rmdir(self, path: str) -> None:
        """Remove empty directory `path`."""
        p = normalise(path)
        if p == "/":
            raise InvalidPath("/: cannot remove the root directory")
        with self._op() as table:
            ip = namei(self._vol_, table, p)
            if not ip.is_dir:
                raise NotADirectory(f"{p}: not a directory")
            if not directory.is_empty(self._vol_, ip):
                raise DirectoryNotEmpty(f"{p}: directory not empty")
            dp = self._remove_entry(table, p)
            dp.nlink -= 1  # the child's ".." is gone
            table.update(dp)
            ip.nlink = 0
            unfinished = not self._release_step(table, ip)
        if unfinished:
            self._release(ip.inum)

    def _remove_entry(self, table: InodeTable, p: str) -> Inode:
        dp, name = nameiparent(self._vol_, table, p)
        found = directory.lookup(self._vol_, dp, name)
        if found is None:  # namei found it a moment ago, in this same op
            raise CorruptFilesystem(f"{p}: entry vanished during the operation")
        directory.unlink(self._vol_, table, dp, found[1])
        return dp

    def _release_step(self, table: InodeTable, ip: Inode) -> bool:
        """Free as much of unlinked inode `ip` as this op allows; True when it is gone."""
        if not shrink(self._vol_, table, ip, 0):
            return False
        ifree(self._vol_, ip.inum)
        table.forget(ip.inum)
        return True

    def _release(self, inum: int) -> None:
        """Finish freeing an unlinked inode, one op at a time."""
        done = False
        while not done:
            with self._op() as table:
                ip = table.get(inum)
                done = ip.type == T_FREE or self._release_step(table, ip)

    # --- renaming ---------------------------------------------------------
    def rename(self, src: str, dst: str) -> None:
        """Move `src` to `dst`, replacing a file or empty directory already at `dst`."""
        s, d = normalise(src), normalise(dst)
        if "/" in (s, d):
            raise InvalidPath(f"{s} -> {d}: cannot rename the root directory")
        with self._op() as table:
            replaced = self._rename(table, s, d)
            unfinished = (replaced is not None and replaced.nlink == 0
                          and not self._release_step(table, replaced))
        if unfinished and replaced is not None:
            self._release(replaced.inum)

    def _rename(self, table: InodeTable, s: str, d: str) -> Inode | None:
        vol = self._vol_
        ip = namei(vol, table, s)
        ddp, dname = nameiparent(vol, table, d)
        if s == d:
            return None
        if ip.is_dir and d.startswith(s + "/"):
            raise InvalidPath(f"{s} -> {d}: cannot move a directory into itself")
        sdp, sname = nameiparent(vol, table, s)
        source = directory.lookup(vol, sdp, sname)
        if source is None:  # namei found it a moment ago, in this same op
            raise CorruptFilesystem(f"{s}: entry vanished during the operation")
        soff = source[1]
        replaced = self._replace_target(table, ip, ddp, dname, d)
        if replaced is None:
            directory.link(vol, table, ddp, dname, ip.inum)
        directory.unlink(vol, table, sdp, soff)
        if ip.is_dir and sdp.inum != ddp.inum:
            if ddp.nlink >= MAX_NLINK:
                raise NoSpace(f"{d}: too many subdirectories in the parent")
            dotdot = directory.lookup(vol, ip, "..")
            if dotdot is None:
                raise CorruptFilesystem(f"{s}: directory has no '..' entry")
            directory.repoint(vol, table, ip, dotdot[1], ddp.inum)
            sdp.nlink -= 1
            ddp.nlink += 1
        table.update(sdp)
        table.update(ddp)
        return replaced

    def _replace_target(self, table: InodeTable, ip: Inode, ddp: Inode, dname: str,
                        d: str) -> Inode | None:
        """If `d` exists, point its entry at `ip` and return the inode it named."""
        vol = self._vol_
        found = directory.lookup(vol, ddp, dname)
        if found is None:
            return None
        old = table.get(found[0])
        if old.is_dir and not ip.is_dir:
            raise IsADirectory(f"{d}: is a directory")
        if ip.is_dir and not old.is_dir:
            raise NotADirectory(f"{d}: not a directory")
        if old.is_dir and not directory.is_empty(vol, old):
            raise DirectoryNotEmpty(f"{d}: directory not empty")
        directory.repoint(vol, table, ddp, found[1], ip.inum)
        if old.is_dir:
            ddp.nlink -= 1  # the replaced directory's ".." is gone
            old.nlink = 0
        else:
            old.nlink -= 1
        table.update(old)
        return old

    # --- durability -------------------------------------------------------
    def commit(self) -> None:
        """Commit the finished ops to the log and install them (no device flush)."""
        self._mounted().log.commit()

    def sync(self) -> None:
        """Make everything done so far durable: commit, then flush the device."""
        self.commit()
        self.device.flush()

    # --- internals --------------------------------------------------------
    def _mounted(self) -> Volume:
        if self._vol is None:
            raise RuntimeError("fs: not mounted (call mount() first)")
        return self._vol

    @property
    def _vol_(self) -> Volume:
        return self._mounted()

    @contextmanager
    def _op(self) -> Iterator[InodeTable]:
        """One log op; undone entirely if the body raises."""
        vol = self._mounted()
        assert self._table is not None
        self._table.forget()
        try:
            with vol.log.op():
                yield self._table
        finally:
            self._table.forget()

    @contextmanager
    def _reading(self) -> Iterator[InodeTable]:
        self._mounted()
        assert self._table is not None
        self._table.forget()
        try:
            yield self._table
        finally:
            self._table.forget()

    def _stat_of(self, ip: Inode) -> dict[str, Any]:
        info = {"type": TYPE_NAMES[ip.type], "size": ip.size, "nlink": ip.nlink,
                "mtime": ip.mtime_ns / 1e9, "inum": ip.inum,
                "blocks": count_blocks(self._vol_, ip)}
        if ip.is_fifo:   # the pipe server's name for it (see the module's comment)
            info["fifo"] = f"{self._vol_.sb.created_ns:x}.{ip.inum}.{ip.mtime_ns:x}"
        return info

    def _reclaim_orphans(self) -> int:
        """Free inodes in use with no directory entry (left by a crash mid-delete)."""
        vol = self._vol_
        orphans = []
        for i in range(vol.sb.ninodeblocks):
            arr = dinodes(vol.cache.read(vol.sb.inodestart + i))
            for k in range(IPB):
                inum = i * IPB + k
                if (1 <= inum < vol.sb.ninodes and inum != ROOTINO
                        and arr[k].type != T_FREE and arr[k].nlink == 0):
                    orphans.append(inum)
        for inum in orphans:
            self._release(inum)
        return len(orphans)


def _refuse_special(p: str, ip: Inode) -> None:
    """A FIFO holds no bytes here: they are the pipe server's; a symbolic link's bytes
    are its target, which fs does not follow (the host does, through the mount)."""
    if ip.is_fifo:
        raise InvalidArgument(f"{p}: is a fifo: open it with libipc.open")
    _refuse_link(p, ip)


def _refuse_link(p: str, ip: Inode) -> None:
    if ip.is_symlink:
        raise InvalidArgument(f"{p}: is a symbolic link (fs does not follow links: "
                              "readlink gives its target)")


def _link_target(p: str, target: object) -> bytes:
    """A symbolic link's target as stored: 1 to SYMLINK_MAX bytes of UTF-8, no NUL."""
    if not isinstance(target, str):
        raise InvalidArgument(f"symlink {p}: target must be a str, not {type(target).__name__}")
    try:
        raw = target.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"symlink {p}: target not encodable as UTF-8") from None
    if not raw or b"\0" in raw:
        raise InvalidArgument(f"symlink {p}: target must be non-empty, without NUL")
    if len(raw) > SYMLINK_MAX:
        raise NameTooLong(f"symlink {p}: target longer than {SYMLINK_MAX} bytes")
    return raw


def _check_count(op: str, path: str, name: str, value: object) -> None:
    """InvalidArgument unless `value` is a non-negative int."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{op} {path}: {name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgument(f"{op} {path}: {name} must not be negative ({value})")
