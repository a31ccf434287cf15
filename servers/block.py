"""block — the disk driver: serves one disk image as an array of blocks.

Why the system needs it: the fs server knows the on-disk format but never
touches the host's disk; everything it stores crosses to this server as
messages (`read`, `write`, `flush`), which is the read path xv6 and MINIX
teach (file → inode → block) made visible.

A driver knows blocks, not files: it imports the block devices
(servers/blockdev.py) and nothing of the filesystem above it.

What it serves comes from the boot environment:

  NK_DISK=PATH      a disk-image file (pread/pwrite; `flush` is fsync);
  NK_RAMDISK=BYTES  a throwaway in-memory disk, zero-filled: info() says
                    `blank` until the first write, and the fs server formats
                    it (mkfs belongs to the filesystem).  At least MIN_SIZE.

A missing, unreadable or malformed image, or a ramdisk size that is not a
number or is below MIN_SIZE, is refused at start with one clear log line
("block: cannot serve …") and exit status EXIT_WONT_HELP (78); init reports
it and does not restart a driver that has no disk.

Ops (every request is bounds-checked before anything is touched):

  read(block, count=1) -> bytes     count blocks from `block`
  write(block, data)   -> None      whole blocks of bytes at `block`
  flush()              -> None      make the writes so far durable (fsync)
  info()               -> {block_size, blocks, path, max_blocks, blank}

Bulk transfers go through a window instead (MINIX's grants: the data never
travels in a message).  A client makes a shared-memory region, grants it to
block writable and attaches it (attach_window); then

  attach_window(grant)        -> {blocks}  map the client's window (replaces
                                           its old one; at most MAX_WINDOWS)
  read_window(block, count)   -> None      count blocks into window[0:]
  write_window(block, count)  -> None      window[0:count blocks] to the disk

For fault-injection campaigns (`nanokernel chaos`) a privileged caller may
make the disk slow or failing for a while:

  inject(delay_ms=0, errors=0, count=1) -> None   the next `count` transfers
                                           wait delay_ms first; of them, the first
                                           `errors` fail with DiskError

A window belongs to the endpoint that attached it (ctx.sender, stamped by
the kernel), so no client can read into or write from another's memory.
After a restart of block there is no window: the window ops say NoWindow
(servers/blockdev.py) and the client attaches again.

A negative or past-the-end block, data that is not a whole number of
blocks, and a transfer of more than `max_blocks` blocks (it would not fit in
one message: bodies are limited to the kernel's max_message, see
libipc/limits.py) are InvalidArgument.  The stop() hook (halt, SIGTERM) flushes.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, NoReturn

from libipc import (
    InvalidArgument,
    IpcError,
    NoSuchEndpoint,
    PermissionDenied,
    Server,
    kernel,
    op,
    shm,
)
from libipc.console import tell_console
from libipc.limits import DEFAULT_MAX_MESSAGE
from libipc.server import is_remote
from servers.blockdev import (
    BSIZE,
    MIN_SIZE,
    BlockDevice,
    DiskError,
    DiskImage,
    NoWindow,
    RamDisk,
    check_transfer,
    check_write_data,
    is_blank,
    max_blocks_for,
    read_into,
    write_from,
)

MAX_WINDOWS = 8   # attached windows at once (each client has one; fs is the usual one)


def open_device(env: dict[str, str]) -> tuple[BlockDevice, str]:
    """The device the boot environment names, and how to describe it."""
    path = env.get("NK_DISK")
    ramdisk = env.get("NK_RAMDISK")
    if path:
        return DiskImage(path), path
    if ramdisk:
        try:
            size = int(ramdisk)
        except ValueError:
            raise InvalidArgument(f"NK_RAMDISK={ramdisk!r} is not a size in bytes") from None
        if size < MIN_SIZE:
            raise InvalidArgument(f"NK_RAMDISK={size}: below the minimum {MIN_SIZE} bytes")
        return RamDisk(size // BSIZE), "ramdisk"
    raise InvalidArgument("no disk: set NK_DISK (an image path) or NK_RAMDISK (bytes)")


def refuse(log: Any, exc: Exception) -> NoReturn:
    """Log why there is no disk to serve (one line) and exit with EXIT_WONT_HELP (78)."""
    message = exc.message if isinstance(exc, IpcError) else str(exc)
    log.error("block_no_disk", error=message)
    print(f"block: cannot serve the disk: {message}", file=sys.stderr, flush=True)
    tell_console(f"block: cannot serve the disk: {message}")
    # imported here: the restart policy's module (its dataclasses, and the inspect
    # they import) would cost every boot's block ~15 ms of start-up for one constant
    from servers.reincarnation import EXIT_WONT_HELP
    raise SystemExit(EXIT_WONT_HELP)   # no disk to serve: a restart cannot help


class Block(Server):
    """One disk, bounds-checked block reads and writes."""

    name = "block"

    def __init__(self, device: BlockDevice | None = None, path: str = "ramdisk",
                 max_message: int | None = None) -> None:
        super().__init__()
        self.device = device
        self.path = path
        self.max_message = max_message
        self.max_blocks = 1
        self.reads = self.writes = self.flushes = 0
        self.windows: dict[int, shm.Region] = {}   # endpoint -> its attached window
        self.injected = {"delay_ms": 0, "errors": 0, "count": 0}   # faults to come

    def start(self) -> None:
        if self.device is None:
            try:
                self.device, self.path = open_device(dict(os.environ))
            except (IpcError, OSError) as exc:
                refuse(self.log, exc)
        if self.max_message is None:
            try:
                self.max_message = int(kernel().stats()["max_message"])
            except (IpcError, KeyError, TypeError, ValueError):
                self.max_message = DEFAULT_MAX_MESSAGE
        self.max_blocks = max_blocks_for(self.max_message, self.device.block_size)
        self.log.info("block_serving", path=self.path, blocks=self.device.nblocks,
                      block_size=self.device.block_size, max_blocks=self.max_blocks)

    def stop(self) -> None:
        if self.device is not None:
            self.device.flush()
            self.log.info("block_flushed", path=self.path)

    # --- ops ------------------------------------------------------------------
    @op
    def read(self, ctx, block: int, count: int = 1) -> bytes:
        """`count` blocks starting at `block`."""
        self._check_count("read", count)
        check_transfer("block: read", block, count, self.device.nblocks)
        self._injected_fault("read", block)
        self.reads += 1
        return self.device.read(block, count)

    @op
    def write(self, ctx, block: int, data: bytes) -> None:
        """Write whole blocks of `data` starting at `block`."""
        count = check_write_data("block: write", data, self.device.block_size)
        if count == 0:
            raise InvalidArgument("block: write: no data")
        self._check_count("write", count)
        check_transfer("block: write", block, count, self.device.nblocks)
        self._injected_fault("write", block)
        self.writes += 1
        self.device.write(block, bytes(data))

    @op
    def flush(self, ctx) -> None:
        """Make every write so far durable (fsync of the image)."""
        self.flushes += 1
        self.device.flush()

    @op
    def info(self, ctx) -> dict[str, Any]:
        """{block_size, blocks, path, max_blocks, blank} of the disk served.

        `blank` is True while the disk is known to be all zeros (a ramdisk
        nothing was written to yet): the fs server then formats it.
        """
        return {"block_size": self.device.block_size, "blocks": self.device.nblocks,
                "path": self.path, "max_blocks": self.max_blocks,
                "blank": is_blank(self.device)}

    # --- bulk transfers through a window -----------------------------------
    @op
    def attach_window(self, ctx, grant: int) -> dict[str, int]:
        """Map the caller's window (a writable grant): its read_window/write_window use it."""
        if not isinstance(grant, int) or isinstance(grant, bool):
            raise InvalidArgument(f"block: attach_window: grant must be an int, not "
                                  f"{type(grant).__name__}")
        region = shm.map(grant)
        if not region.writable or region.size < self.device.block_size:
            region.close()
            raise InvalidArgument("block: attach_window: the window must be a writable grant "
                                  "of at least one block")
        self._detach(ctx.sender.endpoint)
        for endpoint in list(self.windows):   # the windows of clients gone (fs restarted)
            try:
                kernel().whoami(ep=endpoint)
            except NoSuchEndpoint:
                self._detach(endpoint)
        while len(self.windows) >= MAX_WINDOWS:   # the oldest client's goes
            self._detach(next(iter(self.windows)))
        self.windows[ctx.sender.endpoint] = region
        return {"blocks": region.size // self.device.block_size}

    @op
    def read_window(self, ctx, block: int, count: int) -> None:
        """`count` blocks from `block` into the caller's window, from its start."""
        dest = self._window_of(ctx.sender.endpoint, "read_window", count)
        check_transfer("block: read_window", block, count, self.device.nblocks)
        self._injected_fault("read", block)
        self.reads += 1
        read_into(self.device, block, count, dest)

    @op
    def write_window(self, ctx, block: int, count: int) -> None:
        """The first `count` blocks of the caller's window, written at `block`."""
        src = self._window_of(ctx.sender.endpoint, "write_window", count)
        check_transfer("block: write_window", block, count, self.device.nblocks)
        self._injected_fault("write", block)
        self.writes += 1
        write_from(self.device, block, src)

    # --- fault injection ------------------------------------------------------
    @op
    def inject(self, ctx, delay_ms: int = 0, errors: int = 0, count: int = 1) -> None:
        """The next `count` transfers wait `delay_ms` first; the first `errors` of them
        fail with DiskError.  Privileged callers only (a fault campaign)."""
        info = kernel().whoami(ep=ctx.sender.endpoint)
        if not info.get("privileged") or is_remote(ctx):
            raise PermissionDenied(f"block: inject: {info.get('name')} is not privileged")
        for name, value, top in (("count", count, 10_000), ("delay_ms", delay_ms, 10_000),
                                 ("errors", errors, count)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise InvalidArgument(f"block: inject: {name} must be an int from 0 to "
                                      f"{top}, not {value!r:.20}")
        self.injected = {"delay_ms": delay_ms, "errors": errors, "count": count}
        self.log.warning("faults_injected", by=info.get("name"), **self.injected)

    def _injected_fault(self, what: str, block: int) -> None:
        faults = self.injected
        if faults["count"] <= 0:
            return
        faults["count"] -= 1
        if faults["delay_ms"]:
            time.sleep(faults["delay_ms"] / 1000)   # a slow disk: block itself waits
        if faults["errors"] > 0:
            faults["errors"] -= 1
            raise DiskError(f"block: {what} at block {block}: I/O error (injected)")

    def _window_of(self, sender: int, what: str, count: object) -> memoryview:
        region = self.windows.get(sender)
        if region is None:
            raise NoWindow(f"block: {what}: no window attached by endpoint {sender}")
        blocks = region.size // self.device.block_size
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= blocks:
            raise InvalidArgument(f"block: {what}: count must be 1 to {blocks} "
                                  f"(the window's blocks), not {count!r:.20}")
        return region.buf[:count * self.device.block_size]

    def _detach(self, endpoint: int) -> None:
        region = self.windows.pop(endpoint, None)
        if region is not None:
            region.close()

    def _check_count(self, what: str, count: int) -> None:
        if count < 1:
            raise InvalidArgument(f"block: {what}: count must be at least 1 ({count})")
        if count > self.max_blocks:
            raise InvalidArgument(f"block: {what}: {count} blocks do not fit in one message "
                                  f"(at most {self.max_blocks})")


if __name__ == "__main__":
    Block.main()
