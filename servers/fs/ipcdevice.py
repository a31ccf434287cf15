"""ipcdevice — a BlockDevice whose blocks live in the block server.

The fs server mounts its FileSystem on this device, so every cache miss and
every log write becomes a CALL to the server registered as "block":

    read(block, count)  -> block.read(block=, count=)
    write(block, data)  -> block.write(block=, data=)
    flush()             -> block.flush()

Geometry (block size, number of blocks, the most blocks one message can
carry, and whether the disk is still blank) is asked once with block.info()
when the device is made; the filesystem honours `max_transfer_blocks`, so no
request is ever too big for one message (a block server that does not say
gets the default message limit's worth, `max_blocks_for()`).  Bounds are
checked here too, before anything is sent.  `blank` is True until this
device's first write, if the block server said its disk was all zeros: the
fs server formats such a disk before mounting it.

Reads and writes are idempotent, so a call that failed with ServerDied (the
block server restarted under us) is retried once on the new server.
"""

from __future__ import annotations

from typing import Any

from libipc import InvalidArgument, Proxy, ServerDied, lookup
from servers.blockdev import Geometry, check_transfer, check_write_data, max_blocks_for


class IpcBlockDevice(Geometry):
    """The block server as a BlockDevice (see servers/blockdev.py)."""

    def __init__(self, proxy: Proxy | None = None) -> None:
        self.proxy = proxy if proxy is not None else lookup("block")
        info = self._call("info")
        try:
            self._block_size = int(info["block_size"])
            self._nblocks = int(info["blocks"])
            self.max_transfer_blocks = int(info.get("max_blocks")
                                           or max_blocks_for(block_size=self._block_size))
            self.path = str(info.get("path", "?"))
            self.blank = info.get("blank") is True
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidArgument(f"block: info() gave a malformed answer: {info!r:.80}") from None
        self.reads = self.writes = self.flushes = 0

    def read(self, block: int, count: int = 1) -> bytes:
        check_transfer("block read", block, count, self._nblocks)
        self.reads += 1
        data = self._call("read", block=block, count=count)
        if not isinstance(data, bytes) or len(data) != count * self._block_size:
            raise InvalidArgument(f"block: read of {count} blocks at {block} returned "
                                  f"{len(data) if isinstance(data, bytes) else data!r:.40}")
        return data

    def write(self, block: int, data: bytes) -> None:
        count = check_write_data("block write", data, self._block_size)
        check_transfer("block write", block, count, self._nblocks)
        self.writes += 1
        self.blank = False
        self._call("write", block=block, data=bytes(data))

    def flush(self) -> None:
        self.flushes += 1
        self._call("flush")

    def _call(self, op: str, **args: Any) -> Any:
        try:
            return self.proxy.call(op, **args)
        except ServerDied:
            return self.proxy.call(op, **args)

    def __repr__(self) -> str:
        return f"IpcBlockDevice({self.path!r}, nblocks={self._nblocks})"
