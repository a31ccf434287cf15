"""libipc.pipe — a pipe's two ends as Python file objects (servers/pipe.py holds
the bytes).

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
pipe whose server dies gives ServerDied at once).  ``nonblock=True`` gives
WouldBlock instead.  A write with no reader raises BrokenPipe.
"""

from __future__ import annotations

import io

from libipc.client import Proxy, kernel, lookup
from libipc.errors import IpcError
from libipc.limits import DEFAULT_MAX_MESSAGE, data_per_message

CONTROL_TIMEOUT_S = 10.0   # create, dup, give, close: answered at once by a live server
MAX_IO = data_per_message(DEFAULT_MAX_MESSAGE)   # bytes one message carries (default limit)
_max_io: list[int] = []


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


class PipeEnd(io.RawIOBase):
    """One end of a pipe: readable or writable, never both."""

    def __init__(self, token: int, writing: bool, nonblock: bool = False) -> None:
        super().__init__()
        self.token, self.writing, self.nonblock = token, writing, nonblock
        self.discard = False   # set once the reader is gone and the writer gives up
        self._data = _server()                      # reads and writes may wait
        self._control = _server(CONTROL_TIMEOUT_S)

    @classmethod
    def from_token(cls, token: int, writing: bool) -> PipeEnd:
        """An end handed over by another process (its token)."""
        return cls(int(token), writing)

    def readable(self) -> bool:
        return not self.writing

    def writable(self) -> bool:
        return self.writing

    def readinto(self, b) -> int:
        self._checkClosed()
        if self.writing:
            raise io.UnsupportedOperation("read: this is the write end")
        view = memoryview(b).cast("B")
        if not len(view):
            return 0
        data = self._data.read(end=self.token, size=min(len(view), max_io()),
                               nonblock=self.nonblock)
        view[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        """Everything until every writer has closed."""
        chunks = []
        while data := self._data.read(end=self.token, size=max_io(), nonblock=self.nonblock):
            chunks.append(data)
        return b"".join(chunks)

    def write(self, b) -> int:
        self._checkClosed()
        if not self.writing:
            raise io.UnsupportedOperation("write: this is the read end")
        if self.discard:
            return len(b)
        data = bytes(b)
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
        return PipeEnd(self._control.dup(end=self.token), self.writing, self.nonblock)

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
                super().close()

    def __del__(self) -> None:
        # Not a call to the server from a finalizer (the runtime may be gone): an end
        # dropped unclosed stays open until this process exits, which closes it.
        io.RawIOBase.close(self)

    def __repr__(self) -> str:
        return f"<PipeEnd {'w' if self.writing else 'r'} {self.token:#x}>"


def pipe() -> tuple[PipeEnd, PipeEnd]:
    """A new pipe: (read end, write end), both held by this process."""
    ends = _server(CONTROL_TIMEOUT_S).create()
    return PipeEnd(ends["r"], False), PipeEnd(ends["w"], True)
