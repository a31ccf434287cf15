"""libipc.pipe — a pipe's two ends as Python file objects (servers/pipe.py keeps
the pipe; its bytes are in a region both ends map, libipc/pipe_region.py).

    r, w = libipc.pipe()
    w.write(b"hello")          # a write of at most PIPE_BUF bytes is atomic
    w.close()
    r.read()                   # b"hello" — then b"": every writer closed

Each end is a raw binary stream (``io.RawIOBase``): wrap it in
``io.TextIOWrapper`` or ``io.BufferedReader`` like any other.  An end's
``token`` is the capability: a child given the token (e.g. in its
environment) may use the end — ``PipeEnd.from_token`` — and ``give`` makes it
the end's holder, so the end is closed when that child dies.

Waiting: a read blocks while the pipe is empty and has a writer, a write
while it is full and has a reader — with no time limit, as on any OS (a
pipe whose server dies gives ServerDied, within NK_PIPE_SLICE_NS).
``nonblock=True`` gives WouldBlock instead.  A write with no reader raises
BrokenPipe.

The data path: an end maps the pipe's region on first use and then reads and
writes it in C with no message at all.  The region is the kernel's shared
memory (libipc/shm.py); the pipe server grants it to each process that asks —
``create``'s reply carries the creator's grant, an end made from a token (a
child's, a FIFO's) asks the server's ``region`` op for its own — and the
process maps it with the kernel's ``shm_map`` (a grant made for another
process is PermissionDenied).  The ends of one pipe in one process share one
mapping; when the last of them closes, the process lets go of its hold of the
region.  An end whose process cannot map it (a server hosted in the kernel
process, a grant refused at a kernel limit) moves its bytes in
``read``/``write`` calls to the pipe server instead — the same semantics,
about 4x slower; ``MAP_REGIONS = False`` makes every end do so.
Control — create, dup, give, close, stat — is always a call.
"""

from __future__ import annotations

import io
import sys
import types
import weakref

from libipc.client import Proxy, kernel, lookup
from libipc.errors import BrokenPipe, IpcError
from libipc.limits import DEFAULT_MAX_MESSAGE, data_per_message
from libipc.pipe_region import Region, release_held
from libipc.signals import raise_sigpipe

CONTROL_TIMEOUT_S = 10.0   # create, dup, give, close: answered at once by a live server
MAX_IO = data_per_message(DEFAULT_MAX_MESSAGE)   # bytes one message carries (default limit)
_max_io: list[int] = []
MAP_REGIONS = True         # False: every end of this process moves its bytes in messages
_ASK = object()            # an end's region not known yet: ask the pipe server at first use
_regions: weakref.WeakValueDictionary[int, Region] = weakref.WeakValueDictionary()  # by nonce


def max_io() -> int:
    """Bytes one message carries under this boot's limit (asked once: a boot may set a
    smaller max_message than the default, and a bigger write would be refused)."""
    if not _max_io:
        try:
            _max_io.append(data_per_message(int(kernel(CONTROL_TIMEOUT_S).stats()["max_message"])))
        except (IpcError, KeyError, TypeError, ValueError):
            _max_io.append(MAX_IO)
    return _max_io[0]


def _server(timeout: float | None = None) -> Proxy:
    return lookup("pipe", timeout=timeout)


def _mapping() -> bool:
    """Whether this process's ends map regions (not when MAP_REGIONS is off, nor hosted
    in the kernel process: a wait there would stop the kernel)."""
    from libipc.runtime import _hosted
    return MAP_REGIONS and _hosted.get() is None


def _map(info: dict | None) -> Region | None:
    """The region the pipe server described, mapped once per process (the ends of one
    pipe share it); None: this end moves its bytes in messages."""
    from libipc.runtime import current
    if not isinstance(info, dict) or not _mapping():
        return None
    region = _regions.get(info.get("nonce"))
    if region is None:
        release_held()   # (holds of regions unmapped since: let go of them first)
        region = Region.map(info)
        if region is not None:
            _regions[region.nonce] = region
            ring = getattr(current().transport, "signal_ring", None)
            if ring is not None:   # a signal for a handler ends a wait in the region
                region.watch_signals(ring)
    return region


class PipeEnd(io.RawIOBase):
    """One end of a pipe: readable or writable, never both."""

    def __init__(self, token: int, writing: bool, nonblock: bool = False,
                 region: Region | dict | None | object = _ASK) -> None:
        super().__init__()
        self.token, self.writing, self.nonblock = token, writing, nonblock
        self.discard = False   # set once the reader is gone and the writer gives up
        self._data = _server()                      # reads and writes may wait
        self._control = _server(CONTROL_TIMEOUT_S)
        self._region = region   # a Region, its description (not mapped yet), None or _ASK

    @classmethod
    def from_token(cls, token: int, writing: bool) -> PipeEnd:
        """An end handed over by another process (its token)."""
        return cls(int(token), writing)

    def readable(self) -> bool:
        return not self.writing

    def writable(self) -> bool:
        return self.writing

    def _path(self) -> Region | None:
        """This end's region (mapped on first use), or None: messages."""
        region = self._region
        if region is _ASK or isinstance(region, dict):
            info = region
            if region is _ASK and not _mapping():
                info = None   # (no grant asked that would not be used)
            elif region is _ASK:
                try:
                    info = self._control.region(end=self.token)
                except IpcError as exc:
                    if exc.code != "NoSuchOp":
                        raise   # (a closed or forged token: what a read or write would say)
                    info = None   # a pipe server without regions
            region = self._region = _map(info)
        return region

    def read(self, size: int | None = -1) -> bytes:
        """What is there, at most ``size`` bytes (b"": end of file); waits while empty."""
        self._check_reading()
        if size is None or size < 0:
            return self.readall()
        if not size:
            return b""
        region = self._path()
        if region is not None:
            return region.read(size, self.nonblock)
        return self._data.read(end=self.token, size=min(size, max_io()), nonblock=self.nonblock)

    def readinto(self, b) -> int:
        self._check_reading()
        view = memoryview(b).cast("B")
        if not len(view):
            return 0
        region = self._path()
        if region is not None:
            return region.readinto(view, self.nonblock)
        data = self._data.read(end=self.token, size=min(len(view), max_io()),
                               nonblock=self.nonblock)
        view[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        """Everything until every writer has closed."""
        self._check_reading()
        region, chunks = self._path(), []
        if region is not None:
            while data := region.read(region.capacity, self.nonblock):
                chunks.append(data)
        else:
            while data := self._data.read(end=self.token, size=max_io(),
                                          nonblock=self.nonblock):
                chunks.append(data)
        return b"".join(chunks)

    def _check_reading(self) -> None:
        self._checkClosed()
        if self.writing:
            raise io.UnsupportedOperation("read: this is the write end")

    def write(self, b) -> int:
        self._checkClosed()
        if not self.writing:
            raise io.UnsupportedOperation("write: this is the read end")
        if self.discard:
            return len(b)
        try:
            region = self._path()
            if region is not None:
                return self._write_region(region, memoryview(b).cast("B"))
            return self._write_messages(bytes(b))
        except BrokenPipe:
            raise_sigpipe()   # its default action ends this process here
            raise

    def _write_region(self, region: Region, view: memoryview) -> int:
        written = region.write(view, self.nonblock)
        while written < len(view) and not self.nonblock:   # cut short: the next call says why
            written += region.write(view[written:])
        return written

    def _write_messages(self, data: bytes) -> int:
        written, step = 0, max_io()
        while written < len(data):
            chunk = data[written:written + step]
            n = self._data.write(end=self.token, data=chunk, nonblock=self.nonblock)
            written += n
            if n < len(chunk):
                break   # a partial non-blocking write: say how much went
        return written

    def dup(self) -> PipeEnd:
        """A second token for this end (each holder closes its own)."""
        return PipeEnd(self._control.dup(end=self.token), self.writing, self.nonblock,
                       self._region)

    def blocked(self) -> tuple[int, int]:
        """(readers, writers) of this pipe waiting in its region now, as they count
        themselves — a hint for tools and tests (one killed while it waits stays
        counted; calls waiting at the server are not in it)."""
        region = self._path()
        return region.blocked() if region is not None else (0, 0)

    def give(self, endpoint: int) -> None:
        """Make ``endpoint`` the holder: the end closes when that process exits."""
        self._control.give(end=self.token, to=endpoint)

    def stat(self) -> dict:
        return self._control.stat(end=self.token)

    def close(self) -> None:
        if not self.closed:
            try:
                self._control.close(end=self.token)
            finally:
                self._region = None   # unmapped once no end of this process holds it
                super().close()
                release_held()        # then this process holds the region no more

    def __del__(self) -> None:
        # Not a call to the server from a finalizer (the runtime may be gone): an end
        # dropped unclosed stays open until this process exits, which closes it.
        self._region = None
        io.RawIOBase.close(self)

    def __repr__(self) -> str:
        return f"<PipeEnd {'w' if self.writing else 'r'} {self.token:#x}>"


def pipe() -> tuple[PipeEnd, PipeEnd]:
    """A new pipe: (read end, write end), both held by this process."""
    ends = _server(CONTROL_TIMEOUT_S).create(grant=_mapping())   # (no grant it will not use)
    info = ends.get("region") or None   # mapped at first use (the shell gives most ends away)
    return PipeEnd(ends["r"], False, region=info), PipeEnd(ends["w"], True, region=info)


class _CallableModule(types.ModuleType):
    """``libipc.pipe()`` makes a pipe whichever object ``libipc.pipe`` is now.  Python
    binds a package's submodule to the package attribute of the same name once anyone
    imports it (``from libipc.pipe import PipeEnd``), which used to turn ``libipc.pipe``
    from the documented function into this module: ``libipc.pipe()`` then raised
    "'module' object is not callable".  So the module itself can be called."""

    def __call__(self) -> tuple[PipeEnd, PipeEnd]:
        return pipe()


sys.modules[__name__].__class__ = _CallableModule
