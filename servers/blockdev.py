"""blockdev — block devices: what the disk driver serves and the filesystem stores on.

The bottom layer of storage, below both the block server (servers/block.py)
and the filesystem (servers/fs/), which each import it and nothing of the
other.  A BlockDevice is an array of fixed-size blocks that can be read and
written in runs; the same code runs on

  - DiskImage: a real disk-image file (what the block server serves and what
    mkfs/fsck open), read and written with pread/pwrite;
  - RamDisk: a zero-filled bytearray, for `--ramdisk` and fast tests;
  - an IPC-backed device in the fs server (servers/fs/ipcdevice.py), which
    forwards to the block server.

The block size BSIZE comes from csrc/nk_fs.h through cffi (defined there
once); MIN_SIZE is the smallest disk the system serves or formats.

Rules every implementation keeps:
  - `read(block, count)` returns exactly count * block_size bytes;
  - `write(block, data)` takes a whole number of blocks;
  - both refuse any block outside [0, nblocks) with InvalidArgument, before
    touching anything (`check_transfer`, `check_write_data`);
  - a write that returned is visible to every later read; `flush()` makes the
    writes so far durable (fsync for a file).
A device may also have
  - `read_into(block, count, dest)` / `write_from(block, src)`: the same transfers
    into / out of a buffer the caller has (a granted region, for bulk reads by
    grant); `read_into()` and `write_from()` here fall back to read/write;
  - an int attribute `max_transfer_blocks`: the filesystem then never reads
    or writes more blocks than that in one call (an IPC-backed device sets it
    to `max_blocks_for(max_message)`, so that one call fits in one message);
  - a bool attribute `blank`: True while every block is known to be zeros
    (nothing was ever written to it); mkfs then skips writing zero blocks,
    and the fs server formats a blank disk before mounting it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from libipc._nkffi import lib

from libipc.errors import (
    CorruptFilesystem,
    FileExists,
    FileNotFound,
    InvalidArgument,
    IpcError,
    PermissionDenied,
)
from libipc.limits import DEFAULT_MAX_MESSAGE, data_per_message

BSIZE: int = lib.NK_BSIZE       # bytes per block (csrc/nk_fs.h)
MIN_SIZE = 512 * 1024           # smallest disk: ~60 data blocks; less is not worth storing


@runtime_checkable
class BlockDevice(Protocol):
    """An array of `nblocks` blocks of `block_size` bytes."""

    @property
    def block_size(self) -> int: ...

    @property
    def nblocks(self) -> int: ...

    def read(self, block: int, count: int) -> bytes: ...

    def write(self, block: int, data: bytes) -> None: ...

    def flush(self) -> None: ...


DEFAULT_MAX_TRANSFER = 16  # blocks per call when the device sets no limit


def max_transfer_blocks(device: BlockDevice) -> int:
    """Most blocks to move in one read/write call to `device`."""
    limit = getattr(device, "max_transfer_blocks", DEFAULT_MAX_TRANSFER)
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_TRANSFER


def max_blocks_for(max_message: int = DEFAULT_MAX_MESSAGE, block_size: int = BSIZE) -> int:
    """Most blocks one read reply or write call can carry in a message body."""
    return max(1, data_per_message(max_message) // block_size)


class NoWindow(IpcError):
    """The block server has no window of this client: it restarted since the client
    attached one (servers/block.py), or the client never did.  Attach again."""


class DiskError(IpcError):
    """The disk failed a transfer (an I/O error); the data may not have been moved."""


def read_into(device: BlockDevice, block: int, count: int, dest: memoryview) -> None:
    """Read `count` blocks at `block` into `dest` (count * block_size bytes)."""
    method = getattr(device, "read_into", None)
    if method is not None:
        method(block, count, dest)
        return
    step, size = max_transfer_blocks(device), device.block_size
    for at in range(0, count, step):
        n = min(step, count - at)
        dest[at * size:(at + n) * size] = device.read(block + at, n)


def write_from(device: BlockDevice, block: int, src: memoryview) -> None:
    """Write the whole blocks of `src` at `block`."""
    method = getattr(device, "write_from", None)
    if method is not None:
        method(block, src)
        return
    step, size = max_transfer_blocks(device) * device.block_size, device.block_size
    for at in range(0, len(src), step):
        device.write(block + at // size, src[at:at + step])


def _check_dest(where: str, dest: memoryview, count: int, block_size: int) -> None:
    if dest.nbytes != count * block_size:
        raise InvalidArgument(f"{where}: a buffer of {dest.nbytes} bytes for "
                              f"{count} blocks")


def is_blank(device: BlockDevice) -> bool:
    """True when `device` says every block is still zeros (it was never written)."""
    return getattr(device, "blank", False) is True


def check_transfer(where: str, block: object, count: object, nblocks: int) -> None:
    """Refuse a read/write of `count` blocks at `block` that leaves [0, nblocks)."""
    for name, value in (("block", block), ("count", count)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{where}: {name} must be an int, not {type(value).__name__}")
    assert isinstance(block, int) and isinstance(count, int)
    if block < 0 or count < 0 or block + count > nblocks:
        raise InvalidArgument(f"{where}: blocks [{block}, {block + count}) outside the "
                              f"{nblocks}-block device")


def check_write_data(where: str, data: object, block_size: int) -> int:
    """The number of blocks in `data`; InvalidArgument unless whole blocks of bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidArgument(f"{where}: data must be bytes, not {type(data).__name__}")
    size = memoryview(data).nbytes
    if size % block_size:
        raise InvalidArgument(f"{where}: {size} bytes is not a whole number of "
                              f"{block_size}-byte blocks")
    return size // block_size


class Geometry:
    """A device's fixed shape: ``block_size`` and ``nblocks``, set when it is opened."""

    _block_size: int
    _nblocks: int

    @property
    def block_size(self) -> int:
        return self._block_size

    @property
    def nblocks(self) -> int:
        return self._nblocks


class DiskImage(Geometry):
    """A disk-image file as a BlockDevice (pread/pwrite, bounds-checked)."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False,
                 block_size: int = BSIZE) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.blank = False          # an existing image: its contents are unknown
        self._block_size = block_size
        self._fd = self._open(readonly)
        try:
            self._nblocks = self._check_size()
        except BaseException:
            os.close(self._fd)
            raise

    def _open(self, readonly: bool) -> int:
        if self.path.exists() and not self.path.is_file():  # a FIFO would block open()
            raise InvalidArgument(f"{self.path}: not a regular file, not a disk image")
        flags = (os.O_RDONLY if readonly else os.O_RDWR) | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags)
        except FileNotFoundError:
            raise FileNotFound(f"{self.path}: no such disk image") from None
        except IsADirectoryError:
            raise InvalidArgument(f"{self.path}: is a directory, not a disk image") from None
        except PermissionError:
            mode = "reading" if readonly else "reading and writing"
            raise PermissionDenied(f"{self.path}: not allowed to open for {mode}") from None
        except OSError as e:
            raise InvalidArgument(f"{self.path}: cannot open: {e.strerror}") from None

    def _check_size(self) -> int:
        size = os.fstat(self._fd).st_size
        if size == 0:
            raise CorruptFilesystem(f"{self.path}: empty disk image (0 bytes)")
        if size % self._block_size:
            raise CorruptFilesystem(f"{self.path}: size {size} is not a multiple of "
                                    f"{self._block_size} (truncated image?)")
        return size // self._block_size

    @classmethod
    def create(cls, path: str | os.PathLike[str], nblocks: int, *,
               overwrite: bool = False, block_size: int = BSIZE) -> DiskImage:
        """Create a zero-filled (sparse) image of `nblocks` blocks and open it."""
        if not isinstance(nblocks, int) or nblocks <= 0:
            raise InvalidArgument(f"{path}: image size must be a positive number of blocks")
        flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise FileExists(f"{path}: already exists (refusing to overwrite)") from None
        except FileNotFoundError:
            raise FileNotFound(f"{path}: directory does not exist") from None
        except PermissionError:
            raise PermissionDenied(f"{path}: not allowed to create") from None
        try:
            os.ftruncate(fd, nblocks * block_size)
        finally:
            os.close(fd)
        image = cls(path, block_size=block_size)
        image.blank = True          # just created: all zeros
        return image

    def read(self, block: int, count: int = 1) -> bytes:
        check_transfer(f"{self.path}: read", block, count, self._nblocks)
        size = count * self._block_size
        data = os.pread(self._fd, size, block * self._block_size)
        if len(data) != size:
            raise CorruptFilesystem(f"{self.path}: short read at block {block} "
                                    "(image shrank while open?)")
        return data

    def read_into(self, block: int, count: int, dest: memoryview) -> None:
        check_transfer(f"{self.path}: read", block, count, self._nblocks)
        _check_dest(f"{self.path}: read", dest, count, self._block_size)
        offset, view = block * self._block_size, dest.cast("B")
        while view:   # preadv straight into the caller's (shared) memory: no copy here
            done = os.preadv(self._fd, [view], offset)
            if done <= 0:
                raise CorruptFilesystem(f"{self.path}: short read at block {block} "
                                        "(image shrank while open?)")
            view, offset = view[done:], offset + done

    def write_from(self, block: int, src: memoryview) -> None:
        self.write(block, src)

    def write(self, block: int, data: bytes) -> None:
        if self.readonly:
            raise PermissionDenied(f"{self.path}: opened read-only")
        count = check_write_data(f"{self.path}: write", data, self._block_size)
        check_transfer(f"{self.path}: write", block, count, self._nblocks)
        self.blank = False
        view = memoryview(data).cast("B")
        offset = block * self._block_size
        while view:
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done

    def flush(self) -> None:
        if not self.readonly:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DiskImage({str(self.path)!r}, nblocks={self._nblocks})"


class RamDisk(Geometry):
    """A zero-filled BlockDevice in memory: a throwaway disk (`--ramdisk`), fast tests.

    `blank` stays True until the first write: a fresh RamDisk is all zeros.
    """

    def __init__(self, nblocks: int, *, block_size: int = BSIZE) -> None:
        if not isinstance(nblocks, int) or nblocks <= 0:
            raise InvalidArgument("ramdisk: size must be a positive number of blocks")
        self._block_size = block_size
        self._nblocks = nblocks
        self.data = bytearray(nblocks * block_size)
        self.blank = True

    def read(self, block: int, count: int = 1) -> bytes:
        check_transfer("ramdisk: read", block, count, self._nblocks)
        start = block * self._block_size
        return bytes(self.data[start:start + count * self._block_size])

    def read_into(self, block: int, count: int, dest: memoryview) -> None:
        check_transfer("ramdisk: read", block, count, self._nblocks)
        _check_dest("ramdisk: read", dest, count, self._block_size)
        start = block * self._block_size
        dest.cast("B")[:] = memoryview(self.data)[start:start + count * self._block_size]

    def write_from(self, block: int, src: memoryview) -> None:
        self.write(block, src)

    def write(self, block: int, data: bytes) -> None:
        count = check_write_data("ramdisk: write", data, self._block_size)
        check_transfer("ramdisk: write", block, count, self._nblocks)
        start = block * self._block_size
        self.data[start:start + count * self._block_size] = data
        self.blank = False

    def flush(self) -> None:
        pass
