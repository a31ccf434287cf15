"""ipcdevice — a BlockDevice whose blocks live in the block server.

The fs server mounts its FileSystem on this device, so every cache miss and
every log write becomes a CALL to the server registered as "block":

    read(block, count)  -> block.read(block=, count=)
    write(block, data)  -> block.write(block=, data=)
    flush()             -> block.flush()

Bulk transfers — more blocks than one message holds — go through a window
instead: a shared-memory region of WINDOW_BYTES this device makes, grants
to block writable and attaches (block's `attach_window`); then block's
`read_window` / `write_window` move the blocks between the disk and the
window, and only the block numbers travel in messages (MINIX's
grants and safecopies).  `read_into(block, count, dest)` fills a buffer of
the caller's from the window (the fs's bulk reads by grant: a 64 MiB read is
some sixteen calls, not a thousand).  When the window cannot be made or
attached (a block server without window ops) the device stays on messages.

Geometry (block size, number of blocks, the most blocks one message can
carry, and whether the disk is still blank) is asked once with block.info()
when the device is made; the filesystem honours `max_transfer_blocks` (the
window's blocks once attached, else what one message holds), so no request
is ever too big.  Bounds are checked here too, before anything is sent.
`blank` is True until this device's first write, if the block server said
its disk was all zeros: the fs server formats such a disk before mounting it.

Transparent driver recovery (MINIX 3's): reads, writes and flushes are
idempotent, so a call that failed because the block server died under it
(ServerDied: it may have run; NoSuchEndpoint: the name still led to the dead
one, or to nobody yet) waits for the restarted server (naming's `wait`) and is
re-issued, again and again, until RECOVERY_S has passed since the first
failure: only then does the error reach the filesystem.  A write that reached
the old server reached the image file (block's pwrite precedes its reply), so
a flush through the new server makes it durable too.  A window op answered
NoWindow (a new block server has none of ours) attaches the same window again
— its bytes are this process's, still in place — and is re-issued.

A restarted server whose disk came back blank while ours was not (a ramdisk:
its contents died with the old server) is not a transient failure: the
device raises CorruptFilesystem and the filesystem cannot go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from libipc import InvalidArgument, IpcError, NoSuchEndpoint, Proxy, ServerDied, lookup, shm
from libipc.errors import CorruptFilesystem, Timeout
from servers.blockdev import (
    Geometry,
    NoWindow,
    check_transfer,
    check_write_data,
    max_blocks_for,
)

WINDOW_BYTES = 4 << 20   # 1024 blocks: a 64 MiB read is 16 window calls
RECOVERY_S = 30.0        # how long a call waits for a dead block server's successor
GONE = (ServerDied, NoSuchEndpoint)   # the block server died (or is not back yet)


class IpcBlockDevice(Geometry):
    """The block server as a BlockDevice (see servers/blockdev.py)."""

    def __init__(self, proxy: Proxy | None = None, window: bool = True) -> None:
        self._own_proxy = proxy is None
        self.proxy = proxy if proxy is not None else lookup("block")
        self._waited: int | None = None   # the endpoint naming's last wait gave
        self.recoveries = 0   # calls re-issued to a restarted block server
        self.on_recovery: Callable[[str, str, float], None] | None = None   # (op, the
        # error the first try met, seconds waited): the fs server logs it
        info = self._call("info")
        try:
            self._block_size = int(info["block_size"])
            self._nblocks = int(info["blocks"])
            self.message_blocks = int(info.get("max_blocks")
                                      or max_blocks_for(block_size=self._block_size))
            self.path = str(info.get("path", "?"))
            self.blank = info.get("blank") is True
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidArgument(f"block: info() gave a malformed answer: {info!r:.80}") from None
        self.reads = self.writes = self.flushes = 0
        self.window: shm.Region | None = None
        self.window_blocks = 0
        if window:
            self._attach()

    @property
    def max_transfer_blocks(self) -> int:
        return max(self.window_blocks, self.message_blocks)

    # --- BlockDevice --------------------------------------------------------
    def read(self, block: int, count: int = 1) -> bytes:
        check_transfer("block read", block, count, self._nblocks)
        if count > self.message_blocks:
            out = bytearray(count * self._block_size)
            self.read_into(block, count, memoryview(out))
            return bytes(out)
        self.reads += 1
        data = self._call("read", block=block, count=count)
        if not isinstance(data, bytes) or len(data) != count * self._block_size:
            raise InvalidArgument(f"block: read of {count} blocks at {block} returned "
                                  f"{len(data) if isinstance(data, bytes) else data!r:.40}")
        return data

    def read_into(self, block: int, count: int, dest: memoryview) -> None:
        """`count` blocks at `block` into `dest`, through the window when there is one."""
        check_transfer("block read", block, count, self._nblocks)
        size = self._block_size
        if self.window is None:   # (no window: one message's worth at a time)
            for at in range(0, count, self.message_blocks):
                n = min(self.message_blocks, count - at)
                dest[at * size:(at + n) * size] = self.read(block + at, n)
            return
        for at in range(0, count, self.window_blocks):
            n = min(self.window_blocks, count - at)
            self.reads += 1
            self._window_call("read_window", block=block + at, count=n)
            dest[at * size:(at + n) * size] = self.window.buf[:n * size]

    def write(self, block: int, data: bytes) -> None:
        count = check_write_data("block write", data, self._block_size)
        check_transfer("block write", block, count, self._nblocks)
        self.blank = False
        if count > self.message_blocks:
            self.write_from(block, memoryview(data).cast("B"))
            return
        self.writes += 1
        self._call("write", block=block, data=bytes(data))

    def write_from(self, block: int, src: memoryview) -> None:
        """The whole blocks of `src` written at `block`, through the window."""
        size = self._block_size
        if self.window is None:   # (no window: one message's worth at a time)
            step = self.message_blocks * size
            for at in range(0, len(src), step):
                self.writes += 1
                self._call("write", block=block + at // size, data=bytes(src[at:at + step]))
            return
        step = self.window_blocks * size
        for at in range(0, len(src), step):
            piece = src[at:at + step]
            self.window.buf[:len(piece)] = piece
            self.writes += 1
            self._window_call("write_window", block=block + at // size,
                              count=len(piece) // size)

    def flush(self) -> None:
        self.flushes += 1
        self._call("flush")

    # --- the window -----------------------------------------------------------
    def _attach(self) -> None:
        """Make (once) and attach the window; on any failure stay on messages."""
        try:
            if self.window is None:
                self.window = shm.create(WINDOW_BYTES)
            grant = self.window.grant(self.proxy.endpoint, writable=True)
            try:
                reply = self.proxy.call("attach_window", grant=grant)
            finally:
                self.window.revoke(grant)   # mapped (or refused): the id is spent
            self.window_blocks = min(int(reply["blocks"]), WINDOW_BYTES // self._block_size)
        except (IpcError, KeyError, TypeError, ValueError):
            self.window_blocks = 0
            if self.window is not None:
                self.window.close()
                self.window = None

    def _window_call(self, op: str, **args: Any) -> Any:
        try:
            return self._call(op, **args)
        except NoWindow:
            self._attach()   # a restarted block server: it has no window of ours
            if self.window is None:
                raise
            return self._call(op, **args)

    # --- calls, and recovery from a dead block server ----------------------------
    def _call(self, op: str, **args: Any) -> Any:
        """One block call; re-issued to the restarted server while block is gone."""
        deadline = first = None
        while True:
            try:
                reply = self.proxy.call(op, **args)
                break
            except GONE as exc:
                now = time.monotonic()
                if first is None:
                    first, deadline = exc, now + RECOVERY_S
                if now >= deadline:
                    raise
            self._await_block(deadline)
        if first is not None:
            self.recoveries += 1
            if self.on_recovery is not None:
                self.on_recovery(op, first.code, RECOVERY_S - (deadline - time.monotonic()))
        return reply

    def _await_block(self, deadline: float) -> None:
        """Wait (until `deadline`) for a block server registered under "block"."""
        from libipc.naming import NAMING, forget
        forget("block")
        if self._own_proxy:
            self.proxy = lookup("block")   # (a fresh proxy resolves the name afresh)
        try:
            ep = Proxy(NAMING, timeout=max(0.01, deadline - time.monotonic())).wait(name="block")
        except (Timeout, *GONE):
            return   # (the next call fails again, and the deadline decides)
        if ep == self._waited:   # naming has not heard of its death yet: do not spin
            time.sleep(0.005)
            return
        self._waited = ep
        self._check_same_disk()

    def _check_same_disk(self) -> None:
        """The restarted server must serve the disk we mounted (not a new blank one)."""
        try:
            info = self.proxy.call("info")
        except IpcError:
            return   # (the call that follows will tell)
        if isinstance(info, dict) and info.get("blank") is True \
                and getattr(self, "blank", True) is False:
            raise CorruptFilesystem("block: the restarted block server's disk is blank "
                                    "(a ramdisk's contents died with the old server)")

    def __repr__(self) -> str:
        return f"IpcBlockDevice({self.path!r}, nblocks={self._nblocks})"
