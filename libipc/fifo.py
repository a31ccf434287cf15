"""libipc.fifo — named pipes: a FIFO of the nanokernel fs opened as a pipe end.

    libipc.open("/home/f", "w")     # waits until a process opens it for reading
    libipc.open("/home/f", "rb")    # waits until a process opens it for writing

A FIFO is an inode of the fs (shell ``mkfifo PATH``, fs op ``mkfifo``) that
holds no bytes; ``stat(path)["fifo"]`` is its key at the pipe server, and an
open is the pipe server's ``open_fifo(key, writing, nonblock)``
(servers/pipe_fifo.py), answered with an end of the FIFO's pipe — a PipeEnd,
read and written as any pipe's (libipc/pipe.py).  libipc.open (libipc/file.py)
sends a path here when fs says it is a FIFO.

Modes: "r" reads, "w" and "a" write (the same for a pipe: there is no
position and nothing to truncate), "b" for bytes; a FIFO is read or written,
never both ("r+", "w+" are InvalidArgument).  The file object is Python's:
an ``io.BufferedReader``/``io.BufferedWriter`` over the end in binary mode,
the raw PipeEnd with ``buffering=0``, an ``io.TextIOWrapper`` in text mode.

Waiting: an open waits, with no time limit, for the other side (POSIX's
rule); ``nonblock=True`` does not wait — an open for reading succeeds at once,
one for writing with no reader raises NoReader (POSIX's ENXIO) — and the end
is non-blocking too (reads and writes that would wait raise WouldBlock).  A
pipe server that dies while an open waits gives ServerDied at once.
"""

from __future__ import annotations

import io

from libipc.errors import InvalidArgument
from libipc.pipe import CONTROL_TIMEOUT_S, PipeEnd, _server, max_io


def open_fifo(key: str, writing: bool, nonblock: bool = False) -> PipeEnd:
    """The end of FIFO ``key`` (fs's ``stat(path)["fifo"]``) for reading or writing."""
    server = _server(CONTROL_TIMEOUT_S if nonblock else None)   # a blocking open may wait long
    token = server.open_fifo(key=key, writing=writing, nonblock=nonblock)
    return PipeEnd(token, writing, nonblock)


def open_path(path: str, mode: str, key: str, *, buffering: int = -1,
              encoding: str | None = None, errors: str | None = None,
              nonblock: bool = False) -> io.IOBase:
    """``libipc.open`` of FIFO ``path`` (whose key fs gave): a Python file object."""
    from libipc.file import _parse_mode
    kind, plus, binary = _parse_mode(mode)
    if plus:
        raise InvalidArgument(f"{path}: a fifo is read or written, not both (mode {mode!r})")
    if buffering == 0 and not binary:
        raise ValueError("can't have unbuffered text I/O")
    writing = kind != "r"
    end = open_fifo(key, writing, nonblock)
    end.name, end.mode = path, mode   # (what Python's file objects show)
    if buffering == 0:
        return end
    size = buffering if buffering > 1 else max_io() if writing else io.DEFAULT_BUFFER_SIZE
    buffered = io.BufferedWriter(end, size) if writing else io.BufferedReader(end, size)
    if binary:
        return buffered
    text = io.TextIOWrapper(buffered, encoding=encoding, errors=errors,
                            line_buffering=buffering == 1)
    text.mode = mode
    return text
