"""File: Python-like file objects on top of the fs server's stateless ops.

    from libipc import File

    with File("/home/notes.txt", "w") as f:
        f.write("hello\\n")
    with File("/home/notes.txt") as f:
        print(f.read())

The fs server keeps no open files: every op names its file by path and
carries its own offset (NFS's reason — a restarted fs server loses no client
state).  So the position lives here, in the client, and each method is one
or a few fs calls:

  read(n)   fs.read(path, offset=pos, size=...)   (chunks of at most CHUNK)
  write(d)  fs.write(path, offset=pos, data=...)  (chunks of at most CHUNK)

CHUNK is libipc/limits.py's DATA_PER_MESSAGE (60 KiB): one call, one message.
A read or write of BULK_MIN bytes or more is one call whatever its size: its
bytes go through a shared-memory region this process makes and grants to fs
(libipc/bulk.py, which keeps it for the next one; servers/fs/bulk.py), not
through messages — the kernel checks the grant, and fs reads the file
straight into the region.
  seek/tell only move the client's position; SEEK_END asks fs.stat

``libipc.open(path, mode)`` gives a File — or, for a FIFO (a named pipe), a
pipe end as Python's file objects (libipc/fifo.py): it asks fs what the path is.

Modes are Python's: "r" (must exist), "w" (create or truncate), "a"
(create; every write goes to the end as fs finds it, in the same op: two
appenders never write over each other, as with O_APPEND — each message's
chunk whole, up to 60 KiB), "x" (create, FileExists if
there), each optionally with "+" (read and write) and "b" (bytes instead of
str).  Text mode encodes with `encoding` (UTF-8) and does no newline
translation; tell() and seek() count bytes in both modes.

There is no buffering: a write() has reached the fs server when it returns
(the fs commits it within milliseconds; call sync() to make it durable at
once).  close() therefore only forgets the file.

Write verifiers (libipc/fsclient.py): a File of the fs server keeps the
changes it made (the bytes of its writes by reference) until a sync proves
them durable, and re-sends them when fs restarted before committing them;
after sync() returns, every write made before it through any File of this
process is on disk, across any number of fs and block restarts — or sync()
(or a write) raises DataLost naming the paths it could not re-send.  Past
fsclient.KEEP_MAX (16 MiB) of unsynced bytes a write syncs before it returns.
Calls are carried across an fs restart (they are idempotent): a File's
read, write, stat or sync that met a dead fs waits for the new one and is
re-issued.  Errors are the fs server's
IpcError subclasses (FileNotFound, IsADirectory, NoSpace, …); using a closed
file is ValueError and reading a write-only file io.UnsupportedOperation, as
with Python's own files.
"""

from __future__ import annotations

import codecs
import io
import os
from typing import Any

from libipc.client import Proxy, lookup
from libipc.errors import FileNotFound, InvalidArgument, IsADirectory, NoSpace
from libipc.fsclient import client_for
from libipc.limits import DATA_PER_MESSAGE
from libipc.remote import is_remote

CHUNK = DATA_PER_MESSAGE   # bytes per fs read/write call (one message each)
BULK_MIN = 256 * 1024      # from here on, one call through a granted region: a region
                           # costs three kernel calls, four messages' worth of bytes
BULK_MAX = 1 << 30         # the largest region (kernel/grants.py): one call per GiB

_fs: Proxy | None = None


def _default_fs() -> Proxy:
    global _fs
    if _fs is None:
        _fs = lookup("fs")
    return _fs


def fs_for(path: str) -> tuple[Proxy, str]:
    """The fs that holds ``path``, and the path there: ``/net/a/x`` is ``/x`` of node
    a's fs (libipc/remote.py), any other path this node's."""
    if path.startswith("/net/"):
        from libipc.remote import RemoteProxy, split_net_path, this_node
        node, rest = split_net_path(path)
        if node == this_node():   # (this node's own /net path: here)
            return _default_fs(), rest
        return RemoteProxy("fs", node), rest
    return _default_fs(), path


def _parse_mode(mode: str) -> tuple[str, bool, bool]:
    """(kind, plus, binary) of a Python mode string; ValueError when invalid."""
    if not isinstance(mode, str) or not mode:
        raise ValueError(f"invalid mode: {mode!r}")
    kinds = [c for c in mode if c in "rwax"]
    rest = [c for c in mode if c not in "rwax"]
    if (len(kinds) != 1 or any(c not in "+bt" for c in rest)
            or len(set(mode)) != len(mode) or ("b" in mode and "t" in mode)):
        raise ValueError(f"invalid mode: {mode!r}")
    return kinds[0], "+" in mode, "b" in mode


class File:
    """An open file of the fs server, read and written by path and offset."""

    def __init__(self, path: str, mode: str = "r", *, encoding: str = "utf-8",
                 errors: str = "strict", fs: Proxy | None = None) -> None:
        kind, plus, binary = _parse_mode(mode)
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, not {type(path).__name__}")
        self.name = path
        self.mode = mode
        self.encoding = None if binary else encoding
        self.errors = errors
        self._path = path      # the path on its fs (for /net/a/x: a's /x)
        if fs is None:
            fs, self._path = fs_for(path)
        self._fs = fs
        self._bulk = BULK_MIN if isinstance(fs, Proxy) and not is_remote(fs) else 1 << 62
        # (grants: to a server of this node; an fs object in this process — tests'
        # LocalFs — and a remote fs get messages' chunks)
        self._io: Any = client_for(self._fs) if isinstance(self._fs, Proxy) else \
            _Direct(self._fs)   # (verifiers and fs restarts: a server's, not LocalFs's)
        self._binary = binary
        self._readable = kind == "r" or plus
        self._writable = kind != "r" or plus
        self._append = kind == "a"
        self._pos = 0
        self._closed = True
        if kind == "r":
            info = self._io.call("stat", path=self._path)
            if info["type"] == "dir":
                raise IsADirectory(f"{path}: is a directory")
            if info["type"] == "symlink":
                raise InvalidArgument(f"{path}: is a symbolic link (fs does not follow "
                                      "links: readlink gives its target)")
        else:
            self._io.create(self._path, exclusive=kind == "x")
            if kind == "w":
                self._io.truncate(self._path, 0)
        self._closed = False
        if self._append:
            self._pos = self._size()

    # --- state --------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def readable(self) -> bool:
        self._check_open()
        return self._readable

    def writable(self) -> bool:
        self._check_open()
        return self._writable

    def seekable(self) -> bool:
        self._check_open()
        return True

    def close(self) -> None:
        """Forget the file (nothing is buffered, so nothing to write)."""
        self._closed = True

    def __enter__(self) -> File:
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed " if self._closed else ""
        return f"<{state}File {self.name!r} mode={self.mode!r} pos={self._pos}>"

    # --- position -------------------------------------------------------------
    def tell(self) -> int:
        """The current position, in bytes from the start."""
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to `offset` from the start, the current position or the end."""
        self._check_open()
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise TypeError(f"offset must be an int, not {type(offset).__name__}")
        if whence == os.SEEK_SET:
            base = 0
        elif whence == os.SEEK_CUR:
            base = self._pos
        elif whence == os.SEEK_END:
            base = self._size()
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    # --- reading --------------------------------------------------------------
    def read(self, n: int = -1) -> Any:
        """Up to `n` bytes (binary) or characters (text); everything left if n < 0."""
        self._check_open()
        if not self._readable:
            raise io.UnsupportedOperation("not readable")
        if n is None or n < 0:
            data = self._read_bytes(max(0, self._size() - self._pos), to_end=True)
            return data if self._binary else data.decode(self.encoding, self.errors)
        if self._binary:
            return self._read_bytes(n)
        return self._read_chars(n)

    def readline(self) -> Any:
        """Up to and including the next b"\\n" / "\\n" ("" or b"" at the end)."""
        self._check_open()
        if not self._readable:
            raise io.UnsupportedOperation("not readable")
        line = bytearray()
        while True:
            chunk = self._io.call("read", path=self._path, offset=self._pos, size=4096)
            if not chunk:
                break
            cut = chunk.find(b"\n")
            if cut >= 0:
                chunk = chunk[:cut + 1]
            line += chunk
            self._pos += len(chunk)
            if cut >= 0:
                break
        return bytes(line) if self._binary else line.decode(self.encoding, self.errors)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def _read_bytes(self, n: int, *, to_end: bool = False) -> bytes:
        parts = []
        left = n
        while left > 0 or to_end:
            if left >= self._bulk:
                want = min(left, BULK_MAX)
                chunk = self._read_by_grant(want)
                if len(chunk) < want:   # the end of the file (or of what it holds now)
                    parts.append(chunk)
                    break
            else:
                chunk = self._io.call("read", path=self._path, offset=self._pos,
                                      size=min(left, CHUNK) if left > 0 else CHUNK)
                self._pos += len(chunk)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    def _read_by_grant(self, n: int) -> bytes:
        data = self._io.read_by_grant(self._path, self._pos, n)
        self._pos += len(data)
        return data

    def _read_chars(self, n: int) -> str:
        decoder = codecs.getincrementaldecoder(self.encoding)(self.errors)
        text = []
        got = 0
        while got < n:
            chunk = self._read_bytes(n - got)   # n - got bytes decode to <= n - got chars
            final = not chunk
            piece = decoder.decode(chunk, final=final)
            text.append(piece)
            got += len(piece)
            if final:
                break
        # bytes of a character cut in two belong to the next read: give them back
        pending = decoder.getstate()[0]
        self._pos -= len(pending)
        return "".join(text)

    # --- writing --------------------------------------------------------------
    def write(self, data: Any) -> int:
        """Write `data` (bytes or str by mode) at the position; returns len(data)."""
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation("not writable")
        if self._binary:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"a bytes-like object is required, not {type(data).__name__}")
            raw = bytes(data)
        else:
            if not isinstance(data, str):
                raise TypeError(f"write() argument must be str, not {type(data).__name__}")
            raw = data.encode(self.encoding, self.errors)
        view = memoryview(raw)   # (kept by the client until a sync: no copy)
        step = BULK_MAX if len(raw) >= self._bulk else CHUNK   # (by grant: fsclient.py)
        for start in range(0, len(raw), step):
            chunk = view[start:start + step]
            if self._append:   # at the end as fs finds it: each chunk whole (O_APPEND)
                at, done = self._io.append(self._path, chunk)
                self._pos = at + done
            else:
                done = self._io.write(self._path, self._pos, chunk)
                self._pos += done
            if done < len(chunk):
                raise NoSpace(f"{self.name}: disk full after {start + done} of "
                              f"{len(raw)} bytes")
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        """Cut (or zero-extend) the file to `size` bytes (default: the position)."""
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation("not writable")
        size = self._pos if size is None else size
        self._io.truncate(self._path, size)
        return size

    def flush(self) -> None:
        """Nothing is buffered here; see sync() for durability."""
        self._check_open()

    def sync(self) -> None:
        """Make everything written so far durable (the fs server's sync): when it returns,
        every write through this process's Files is on disk, re-sent first if an fs
        restart lost it (DataLost, naming the paths, when that could not be done)."""
        self._check_open()
        self._io.sync()

    # --- helpers --------------------------------------------------------------
    def _size(self) -> int:
        return int(self._io.call("stat", path=self._path)["size"])

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file")


class _Direct:
    """A File's calls to an fs object in this process (tests' LocalFs): as they are."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    def call(self, op: str, /, **args: Any) -> Any:
        return getattr(self.fs, op)(**args)

    def write(self, path: str, offset: int, data: memoryview, create: bool = False) -> int:
        return self.fs.write(path=path, offset=offset, data=bytes(data))

    def append(self, path: str, data: memoryview) -> tuple[int, int]:
        at = self.fs.stat(path=path)["size"]   # (one caller in this process: no race)
        return at, self.fs.write(path=path, offset=at, data=bytes(data))

    def create(self, path: str, exclusive: bool = False) -> None:
        if exclusive:
            self.fs.create(path=path, exclusive=True)
        else:
            self.fs.create(path=path)

    def truncate(self, path: str, size: int) -> None:
        self.fs.truncate(path=path, size=size)

    def sync(self) -> None:
        self.fs.sync()


def open(path: str, mode: str = "r", buffering: int = -1, *, encoding: str = "utf-8",
         errors: str = "strict", nonblock: bool = False) -> Any:
    """``libipc.open(path, mode)``: a file of the nanokernel fs, with the modes of Python's
    own ``open`` ("r", "w", "a", "x", "+", "b", "t") — a ``File``; or, when fs says the path
    is a FIFO, the pipe end it connects to, as Python's file objects (libipc/fifo.py;
    ``buffering`` and ``nonblock`` are for FIFOs: a File is never buffered nor waits).

    One fs ``stat`` says which (FileNotFound: a File's mode decides what that means)."""
    _parse_mode(mode)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    fs, local_path = fs_for(path)
    if is_remote(fs):   # (a remote FIFO would need a pipe across nodes: files only)
        return File(local_path, mode, encoding=encoding, errors=errors, fs=fs)
    try:
        info = client_for(fs).call("stat", path=path)   # (across fs restarts)
    except FileNotFound:
        info = {}
    if info.get("type") == "fifo" and "x" not in mode:   # (x: File says FileExists)
        from libipc.fifo import open_path
        return open_path(path, mode, info["fifo"], buffering=buffering, encoding=encoding,
                         errors=errors, nonblock=nonblock)
    return File(path, mode, encoding=encoding, errors=errors)
