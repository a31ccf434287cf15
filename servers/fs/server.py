"""server — the fs server: the FileSystem library served over IPC.

Why the system needs it: files are a service like any other.  This process
knows the on-disk format (servers/fs/*), keeps the block cache and the log in
its memory, and stores every block through the block server (ipcdevice.py).
Its ops are the FileSystem methods, with the same keyword arguments:

  stat(path)                       -> {type, size, nlink, mtime, inum, blocks}
                                      (a FIFO's also has "fifo": its key, for the pipe server)
  read(path, offset=0, size=4096)  -> bytes  (size is clamped to MAX_READ)
  read(path, offset, size, grant=G)           -> bytes placed in the granted region
  write(path, offset, grant=G, size=N)        -> bytes written from it  (bulk.py)
  readdir(path)                    -> [{name, type, size}]
  statfs()                         -> {block_size, blocks, free_blocks, inodes, free_inodes}
  create(path, exclusive=False)    mkdir(path)    mkfifo(path)
  write(path, offset, data, create=False) -> bytes written
  truncate(path, size)  unlink(path)  rmdir(path)  rename(src, dst)  sync()
  mmap(path, writable=False) -> {grant, size}   msync(path)   munmap(path)
                                      (memory-mapped files: mapping.py, libipc.mmap)

Every op names its file by path and carries its own offset: the server keeps
no client state, so a restarted fs server loses nothing a client relies on
(NFS's reason).  Errors are the library's IpcError subclasses (FileNotFound,
NoSpace, InvalidPath, …).

Reads are clamped: a read of more than MAX_READ bytes (DATA_PER_MESSAGE of
libipc/limits.py, 60 KiB) returns at most MAX_READ bytes, so the reply always
fits in one message (64 KiB bodies by default); like POSIX read(), a short
result is not end of file — b"" is.

Durability policy (group commit on a short idle timer):
  - an op that changes the disk joins the log's current group in memory and
    is answered at once;
  - the group is committed — written through the log to the block server —
    COMMIT_DELAY (2 ms) after the first op of the group, or earlier when the
    log fills up, at `sync()`, and when the server stops;
  - `sync()` commits and then flushes the block server (fsync of the image):
    a file written and synced survives anything, a SIGKILL of fs included;
  - a SIGKILL of fs loses at most the ops of its last COMMIT_DELAY, never
    part of one (the log makes each op atomic); the next mount recovers;
  - a clean halt (SIGTERM → stop()) syncs: nothing written before it is lost.

Mounting happens at start.  A blank disk (the block server says it is all
zeros: a fresh `--ramdisk`) is formatted first with mkfs's format_device, so
it holds /etc/motd and /home; mkfs belongs to the filesystem, not to the
driver.  A damaged image (bad magic, truncated, a corrupt root inode, a
malformed log) is refused with one log line ("fs: refusing to mount …") and
exit status EXIT_CORRUPT, which is EXIT_WONT_HELP (78): init sees the
difference from a crash and does not restart a server that cannot help.
"""

from __future__ import annotations

import sys
from typing import Any

from libipc import InvalidArgument, IpcError, NoSuchEndpoint, Proxy, Server, op
from libipc.console import tell_console
from libipc.errors import CorruptFilesystem
from libipc.limits import DATA_PER_MESSAGE
from servers.blockdev import is_blank
from servers.reincarnation import EXIT_WONT_HELP

from .bulk import BulkTransfers
from .filesystem import FileSystem
from .ipcdevice import IpcBlockDevice
from .log import LogFailed
from .mapping import Mappings
from .mkfs import format_device

MAX_READ = DATA_PER_MESSAGE  # bytes per read reply: it fits one message body
COMMIT_DELAY = 0.002        # seconds from the first uncommitted op to its commit
CACHE_BLOCKS = 1024         # 4 MiB of block cache
EXIT_CORRUPT = EXIT_WONT_HELP   # the image cannot be mounted: a restart cannot help
BLOCK_WAIT_S = 10.0         # how long to wait at start for "block" to register


class MountRefused(SystemExit):
    """The image is damaged: the fs server will not serve it."""


class Fs(BulkTransfers, Mappings, Server):
    """The filesystem server (bulk transfers by grant: bulk.py; memory-mapped files:
    mapping.py)."""

    name = "fs"

    def __init__(self, device: Any = None) -> None:
        super().__init__()
        self.device = device
        self.fs: FileSystem | None = None
        self._timer: Any = None
        self.commits = 0

    # --- life cycle -------------------------------------------------------
    def start(self) -> None:
        if self.device is None:
            self.device = self._connect_block()
        if is_blank(self.device):
            sb = format_device(self.device)
            self.log.info("formatted", disk=getattr(self.device, "path", "?"),
                          blocks=sb.nblocks, inodes=sb.ninodes)
        self.fs = FileSystem(self.device, cache_blocks=CACHE_BLOCKS, group_commit=True)
        try:
            self.fs.mount()
        except CorruptFilesystem as exc:
            self.log.error("mount_refused", error=exc.message)
            line = (f"fs: refusing to mount {getattr(self.device, 'path', 'the disk')}: "
                    f"{exc.message} (run nanokernel fsck)")
            print(line, file=sys.stderr, flush=True)
            tell_console(line)
            raise MountRefused(EXIT_CORRUPT) from None
        self.log.info("mounted", disk=getattr(self.device, "path", "?"),
                      recovered_blocks=self.fs.recovered_blocks,
                      reclaimed_orphans=self.fs.reclaimed_orphans)

    def stop(self) -> None:
        if self.fs is not None and self.fs.mounted:
            try:
                self.stop_mappings()   # a clean halt leaves mapped files written back
                self.fs.unmount()   # sync: commit + block flush
                self.log.info("unmounted")
            except IpcError as exc:
                self.log.error("unmount_failed", error=str(exc))

    def _connect_block(self) -> IpcBlockDevice:
        """The block server, waiting (naming's ``wait``) while it has not registered yet:
        init starts fs and block together."""
        try:
            return IpcBlockDevice()
        except NoSuchEndpoint:
            from libipc.naming import NAMING, forget
            forget("block")
            Proxy(NAMING, timeout=BLOCK_WAIT_S).wait(name="block")
            return IpcBlockDevice()

    # --- reading ops ------------------------------------------------------
    @op
    def stat(self, ctx, path: str) -> dict[str, Any]:
        return self._run(lambda fs: fs.stat(path))

    @op
    def read(self, ctx, path: str, offset: int = 0, size: int = 4096,
             grant: int | None = None) -> bytes | int:
        if grant is not None:
            return self.read_by_grant(path, offset, size, grant)
        if isinstance(size, int) and size > MAX_READ:
            size = MAX_READ
        return self._run(lambda fs: fs.read(path, offset, size))

    @op
    def readdir(self, ctx, path: str) -> list[dict[str, Any]]:
        return self._run(lambda fs: fs.readdir(path))

    @op
    def statfs(self, ctx) -> dict[str, int]:
        return self._run(lambda fs: fs.statfs())

    # --- changing ops -----------------------------------------------------
    @op
    def create(self, ctx, path: str, exclusive: bool = False) -> None:
        self._change(lambda fs: fs.create(path, exclusive))

    @op
    def mkdir(self, ctx, path: str) -> None:
        self._change(lambda fs: fs.mkdir(path))

    @op
    def mkfifo(self, ctx, path: str) -> None:
        """A named pipe at ``path``: opening it (libipc.open) connects to the pipe server."""
        self._change(lambda fs: fs.mkfifo(path))

    @op
    def write(self, ctx, path: str, offset: int, data: bytes = b"", create: bool = False,
              grant: int | None = None, size: int | None = None) -> int:
        if grant is not None:
            return self.write_by_grant(path, offset, size, grant, create)
        return self._change(lambda fs: fs.write(path, offset, bytes(data), create))

    @op
    def truncate(self, ctx, path: str, size: int) -> None:
        self._change(lambda fs: fs.truncate(path, size))

    @op
    def unlink(self, ctx, path: str) -> None:
        self._change(lambda fs: fs.unlink(path))
        self.forget_unlinked()

    @op
    def rmdir(self, ctx, path: str) -> None:
        self._change(lambda fs: fs.rmdir(path))

    @op
    def rename(self, ctx, src: str, dst: str) -> None:
        self._change(lambda fs: fs.rename(src, dst))
        self.forget_unlinked()

    @op
    def sync(self, ctx) -> None:
        """Commit everything and flush the block server: durable from now on."""
        self._cancel_timer()
        self._run(lambda fs: fs.sync())

    # --- durability -------------------------------------------------------
    def _change(self, fn: Any) -> Any:
        try:
            return self._run(fn)
        finally:
            self._schedule_commit()

    def _schedule_commit(self) -> None:
        if self._timer is None and self.fs is not None and self.fs.mounted \
                and self.fs.pending_blocks and self.runtime is not None:
            self._timer = self.runtime.after(COMMIT_DELAY, self._commit_now)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _commit_now(self) -> None:
        self._timer = None
        try:
            self._run(lambda fs: fs.commit())
            self.commits += 1
        except IpcError as exc:
            self.log.error("commit_failed", error=str(exc))

    def _run(self, fn: Any) -> Any:
        """Run fn(fs); a failed commit means remount (recovering the log) and re-raise."""
        if self.fs is None or not self.fs.mounted:
            raise InvalidArgument("fs: not mounted")
        try:
            return fn(self.fs)
        except LogFailed as exc:
            self.log.error("log_failed", error=exc.message)
            self._remount()
            raise

    def _remount(self) -> None:
        self._cancel_timer()
        fs = FileSystem(self.device, cache_blocks=CACHE_BLOCKS, group_commit=True)
        try:
            fs.mount()
        except IpcError as exc:
            self.log.error("remount_failed", error=str(exc))
            raise MountRefused(EXIT_CORRUPT) from None
        self.fs = fs
        self.log.warning("remounted", recovered_blocks=fs.recovered_blocks)


def main() -> None:
    Fs.main()
