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
  readdir(path)                    -> [{name, type, size}]  (sorted by name)
  readdir(path, after=NAME, limit=N) -> the next N entries after NAME: a page (a big
                                      directory's whole listing does not fit in a message)
  statfs()                         -> {block_size, blocks, free_blocks, inodes, free_inodes}
  create(path, exclusive=False)    mkdir(path)    mkfifo(path)
  symlink(path, target)            readlink(path) -> target  (stored, never followed)
  write(path, offset, data, create=False) -> bytes written
  write(path, offset, data, append=True)  -> at the end of the file (offset ignored)
  truncate(path, size)  unlink(path)  rmdir(path)  rename(src, dst)  sync()
  verifier()                       -> this instance's write verifier (a str)
  write(..., verifier=True)        -> {written, verifier}
  create(..., verifier=True), truncate(..., verifier=True), sync(verifier=True)
                                   -> {verifier}
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

Write verifiers (NFSv3's): `verifier` is a random id of this fs instance —
made at start, made anew at every remount — so it changes exactly when
changes fs acknowledged may have been lost with their group (a SIGKILL of fs,
a log that failed half-way).  A write, create or truncate asked with
verifier=True answers with the verifier it joined the group under; a sync
answered with verifier V means: every change acknowledged under V is on disk.
A client that saw another verifier for a change it has not seen synced re-sends
it (libipc/fsclient.py).  Old callers, without the flag, get the old replies.

Transparent driver recovery (MINIX 3's): when block dies, the device
(ipcdevice.py) waits for its restart and re-issues the call, so a commit or a
read in flight just takes longer.  If block stays away past the device's
deadline, a commit fails half-way; the log refuses further ops (LogFailed)
and the server remounts — recovering the log from the disk — as soon as block
is back, with a new verifier, and re-runs the op that found the failure.  A
missing block server is transient: fs answers errors meanwhile and stays up;
only a damaged disk makes it exit.

Mounting happens at start.  A blank disk (the block server says it is all
zeros: a fresh `--ramdisk`) is formatted first with mkfs's format_device, so
it holds /etc/motd and /home; mkfs belongs to the filesystem, not to the
driver.  A damaged image (bad magic, truncated, a corrupt root inode, a
malformed log) is refused with one log line ("fs: refusing to mount …") and
exit status EXIT_CORRUPT, which is EXIT_WONT_HELP (78): init sees the
difference from a crash and does not restart a server that cannot help.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from libipc import InvalidArgument, IpcError, NoSuchEndpoint, Server, op
from libipc.console import tell_console
from libipc.errors import CorruptFilesystem, FileNotFound, ServerDied, Timeout
from libipc.limits import DATA_PER_MESSAGE, data_per_message
from libipc.ordered import ordered
from servers.blockdev import DiskError, is_blank
from servers.reincarnation import EXIT_WONT_HELP

from .bulk import BulkTransfers
from .filesystem import FileSystem
from .ipcdevice import IpcBlockDevice
from .log import LogFailed
from .mapping import Mappings
from .mkfs import format_device

MAX_READ = DATA_PER_MESSAGE  # bytes per read reply: it fits one message body
ENTRY_FRAMING = 48   # msgpack bytes of one readdir entry besides its name (generous)
COMMIT_DELAY = 0.002        # seconds from the first uncommitted op to its commit
CACHE_BLOCKS = 1024         # 4 MiB of block cache
EXIT_CORRUPT = EXIT_WONT_HELP   # the image cannot be mounted: a restart cannot help


# block is away, or its disk failed one transfer: it will be back (found by `nanokernel
# chaos`: two injected I/O errors in a row — the commit's, then the remount's superblock
# read — made fs exit 78 for good); only a disk that reads back damaged is not transient
TRANSIENT = (NoSuchEndpoint, ServerDied, Timeout, DiskError)
MOUNT_RETRY_S = 5.0   # how long a start waits out a failing disk before it gives up


class MountRefused(SystemExit):
    """The image is damaged: the fs server will not serve it."""


def new_verifier() -> str:
    """A write verifier: random, so no two fs instances (or mounts) share one."""
    return os.urandom(8).hex()


def page_that_fits(listing: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The first entries of a readdir page that fit in ``budget`` bytes (at least one):
    a boot's [limits] max_message may be far below what a page of long names needs."""
    used = 0
    for i, entry in enumerate(listing):
        used += len(entry["name"].encode("utf-8")) + ENTRY_FRAMING
        if used > budget and i:
            return listing[:i]
    return listing


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
        self.write_verifier = new_verifier()
        self._broken = False   # the log failed and a remount could not be done yet

    # --- life cycle -------------------------------------------------------
    def start(self) -> None:
        if self.device is None:
            self.device = self._connect_block()
            self.device.on_recovery = self._block_recovered
        if is_blank(self.device):
            sb = format_device(self.device)
            self.log.info("formatted", disk=getattr(self.device, "path", "?"),
                          blocks=sb.nblocks, inodes=sb.ninodes)
        try:
            self._mount_at_start()
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

    def _mount_at_start(self) -> None:
        """Mount, waiting out a disk that fails for a moment (an I/O error: retried for
        MOUNT_RETRY_S, as a crash-and-restart would, without the restart)."""
        deadline = time.monotonic() + MOUNT_RETRY_S
        while True:
            self.fs = FileSystem(self.device, cache_blocks=CACHE_BLOCKS, group_commit=True)
            try:
                self.fs.mount()
                return
            except DiskError as exc:
                if time.monotonic() > deadline:
                    raise
                self.log.warning("mount_retried", error=str(exc))
                time.sleep(0.05)

    def stop(self) -> None:
        if self.fs is not None and self.fs.mounted:
            try:
                self.stop_mappings()   # a clean halt leaves mapped files written back
                self.fs.unmount()   # sync: commit + block flush
                self.log.info("unmounted")
            except IpcError as exc:
                self.log.error("unmount_failed", error=str(exc))

    def _block_recovered(self, op: str, error: str, waited: float) -> None:
        self.log.warning("block_recovered", op=op, error=error, waited_s=round(waited, 3))

    def _connect_block(self) -> IpcBlockDevice:
        """The block server; while it has not registered yet (init starts fs and block
        together) the device's first call waits for it (naming's ``wait``)."""
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
    def readdir(self, ctx, path: str, after: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        listing = self._run(lambda fs: fs.readdir(path, after, limit))
        if limit is None:
            return listing   # (the whole listing: too big a one is MessageTooLarge)
        return page_that_fits(listing, data_per_message(ctx.runtime.transport.max_body))

    @op
    def statfs(self, ctx) -> dict[str, int]:
        return self._run(lambda fs: fs.statfs())

    # --- changing ops -----------------------------------------------------
    @op
    def create(self, ctx, path: str, exclusive: bool = False,
               verifier: bool = False) -> dict[str, str] | None:
        self._change(lambda fs: fs.create(path, exclusive))
        return self._verified(verifier)

    @op
    def mkdir(self, ctx, path: str) -> None:
        self._change(lambda fs: fs.mkdir(path))

    @op
    def symlink(self, ctx, path: str, target: str) -> None:
        """A symbolic link at ``path`` to ``target``: stored, never followed by fs."""
        self._change(lambda fs: fs.symlink(path, target))

    @op
    def readlink(self, ctx, path: str) -> str:
        return self._run(lambda fs: fs.readlink(path))

    @op
    def mkfifo(self, ctx, path: str) -> None:
        """A named pipe at ``path``: opening it (libipc.open) connects to the pipe server."""
        self._change(lambda fs: fs.mkfifo(path))

    @op
    def write(self, ctx, path: str, offset: int, data: bytes = b"", create: bool = False,
              grant: int | None = None, size: int | None = None,
              verifier: bool = False, append: bool = False) -> int | dict[str, Any]:
        """``append``: at the end of the file, whatever ``offset`` says — found in the
        same op as the write, so two appenders never write over each other (O_APPEND);
        the reply's ``offset`` (with verifier=True) says where it went."""
        at = [offset]

        def place(fs: Any) -> int:
            if append:
                try:
                    at[0] = fs.stat(path)["size"]
                except FileNotFound:
                    at[0] = 0   # (created by the write, or FileNotFound from it)
            return at[0]
        if grant is not None:
            written = self.write_by_grant(path, place, size, grant, create)
        else:
            written = self._change(lambda fs: fs.write(path, place(fs), bytes(data), create))
        if not verifier:
            return written
        reply = {"written": written, "verifier": self.write_verifier}
        return {**reply, "offset": at[0]} if append else reply

    @op
    def truncate(self, ctx, path: str, size: int,
                 verifier: bool = False) -> dict[str, str] | None:
        self._change(lambda fs: fs.truncate(path, size))
        return self._verified(verifier)

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
    def sync(self, ctx, verifier: bool = False) -> dict[str, str] | None:
        """Commit everything and flush the block server: durable from now on.  With
        verifier=True, {verifier}: every change acknowledged under it is on disk."""
        self._cancel_timer()
        self._run(lambda fs: fs.sync())
        return self._verified(verifier)

    @op
    def verifier(self, ctx) -> str:
        """This instance's write verifier (it changes at every start and remount)."""
        return self.write_verifier

    def _verified(self, asked: bool) -> dict[str, str] | None:
        return {"verifier": self.write_verifier} if asked else None

    # --- durability -------------------------------------------------------
    def _change(self, fn: Any) -> Any:
        try:
            return self._run(fn)
        finally:
            self._schedule_commit()

    def _schedule_commit(self) -> None:
        if self._timer is None and self.fs is not None and self.fs.mounted \
                and self.fs.pending_blocks and self.runtime is not None:
            if ordered():   # no host-speed timer in a reproducible run: commit each op
                self._commit_now()
                return
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
        """Run fn(fs).  A commit that failed half-way means remount (recovering the log)
        and run fn once more on the recovered filesystem: every op is idempotent, by
        path and offset, and the new verifier tells clients what to re-send."""
        if self.fs is None:
            raise InvalidArgument("fs: not mounted")
        if self._broken:
            self._remount()   # (block was away: raises while it still is)
        try:
            return fn(self.fs)
        except IpcError as exc:
            if not (isinstance(exc, LogFailed) or self.fs.log_failed):
                raise
            self.log.error("log_failed", error=exc.message)
        self._remount()
        return fn(self.fs)

    def _remount(self) -> None:
        """A fresh FileSystem on the device; MountRefused only for a damaged disk."""
        self._cancel_timer()
        self._broken = True
        self.write_verifier = new_verifier()   # what the old group held may be gone
        fs = FileSystem(self.device, cache_blocks=CACHE_BLOCKS, group_commit=True)
        try:
            fs.mount()
        except TRANSIENT as exc:
            self.log.warning("remount_waits", error=str(exc))
            raise type(exc)(f"fs: the disk is away or failing ({exc.message}); "
                            "try again") from None
        except IpcError as exc:
            self.log.error("remount_failed", error=str(exc))
            raise MountRefused(EXIT_CORRUPT) from None
        self.fs = fs
        self._broken = False
        self.log.warning("remounted", recovered_blocks=fs.recovered_blocks)


def main() -> None:
    Fs.main()
