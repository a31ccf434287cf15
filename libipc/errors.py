"""Errors: one class per failure, each with a stable string ``code``.

The code is what travels in an ERROR message (``{code, message}``) and what
the shell prints (``cat: /nope: FileNotFound``).  A client receiving an ERROR
gets back an instance of the class registered for that code, so
``except FileNotFound`` works across process boundaries.  A server defines its
own error by subclassing ``IpcError``; the subclass registers itself under its
``code`` (the class name unless set).  An unknown code arrives as a plain
``IpcError`` carrying that code.

Naming follows who caused the failure: ``ServerDied`` (the other side went
away), ``Timeout`` (you gave up waiting), ``WouldBlock`` (a ``*_nowait`` call
that would have had to wait).
"""

from __future__ import annotations

from typing import Any, ClassVar

_registry: dict[str, type[IpcError]] = {}


class IpcError(Exception):
    """Base of every nanokernel error; ``code`` is stable across releases."""

    code: ClassVar[str] = "IpcError"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__
        _registry.setdefault(cls.code, cls)

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None and code != type(self).code:
            self.code = code  # an unknown remote code carried by the base class

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def to_body(self) -> dict[str, str]:
        """The body of the ERROR message that carries this error."""
        return {"code": self.code, "message": self.message}


def error_from_body(body: object) -> IpcError:
    """Rebuild the error an ERROR message describes; tolerate junk bodies."""
    if not isinstance(body, dict):
        return BadMessage(f"malformed error reply: {body!r:.80}")
    code = body.get("code")
    message = body.get("message", "")
    if not isinstance(code, str):
        return BadMessage(f"error reply without a code: {body!r:.80}")
    message = message if isinstance(message, str) else repr(message)
    cls = _registry.get(code)
    return cls(message) if cls is not None else IpcError(message, code=code)


def error_class(code: str) -> type[IpcError] | None:
    """The class registered for ``code``, if any."""
    return _registry.get(code)


# --- IPC failures (raised by libipc or the kernel) -------------------------
class NoSuchEndpoint(IpcError):
    """The destination does not exist (never did, or exited)."""


class NoSuchOp(IpcError):
    """The server has no operation of that name."""


class PermissionDenied(IpcError):
    """The caller's ACL or privilege does not allow this."""


class ServerDied(IpcError):
    """The server exited while the call was outstanding."""


class Timeout(IpcError):
    """The caller stopped waiting."""


class MessageTooLarge(IpcError):
    """The message exceeds the configured maximum size."""


class BadMessage(IpcError):
    """The message could not be decoded or has the wrong shape."""


class InvalidArgument(IpcError):
    """An argument is missing, unexpected, of the wrong type or out of range."""


class Deadlock(IpcError):
    """The call would close a cycle of processes waiting on each other."""


class WouldBlock(IpcError):
    """A non-blocking operation could not complete without waiting."""


class TooManyCalls(IpcError):
    """The caller has the maximum number of calls outstanding."""


class Internal(IpcError):
    """The server hit an unexpected exception; details are in its log."""


class RingCorrupted(IpcError):
    """A shared ring's indices or record lengths are invalid."""


class Halted(IpcError):
    """The system is halting; no new work is accepted."""


class Interrupted(IpcError):
    """A caught signal's handler ran while the call waited (POSIX's EINTR); the call
    was cancelled.  A handler installed with ``restart=True`` lets it go on instead."""


class BrokenPipe(IpcError):
    """A write to a pipe (or FIFO) that no process has open for reading."""


class NoReader(IpcError):
    """A non-blocking open of a FIFO for writing found no process that has it open for
    reading (POSIX's ENXIO): open it blocking to wait for one, or try again later."""


class Busy(IpcError):
    """The resource is taken by another process (POSIX's EBUSY): a message queue's
    notification registered by another process."""


# --- sockets (raised by the net server, libipc/sockets.py) -------------------
class ConnectionRefused(IpcError):
    """A connect to a name that nobody listens on (POSIX's ECONNREFUSED)."""


class ConnectionReset(IpcError):
    """The peer closed its end, or died, with bytes it had not read — or the listener
    went away before accepting this connection (POSIX's ECONNRESET).  Raised once by
    ``recv`` after the bytes that did arrive; end of stream follows."""


class AddressInUse(IpcError):
    """A listen on a name another listener holds (POSIX's EADDRINUSE)."""


# --- filesystem errors (raised by the fs server) ---------------------------
class FileNotFound(IpcError):
    """No file or directory at that path."""


class FileExists(IpcError):
    """Something already exists at that path."""


class NotADirectory(IpcError):
    """A path component, or the target, is not a directory."""


class IsADirectory(IpcError):
    """The operation needs a file, the path names a directory."""


class DirectoryNotEmpty(IpcError):
    """rmdir of a directory that still has entries."""


class NameTooLong(IpcError):
    """A path component is longer than the on-disk limit."""


class NoSpace(IpcError):
    """The disk has no free block or inode left."""


class InvalidPath(IpcError):
    """The path is empty, relative where absolute is needed, or malformed."""


class CorruptFilesystem(IpcError):
    """The on-disk structures are inconsistent; run fsck."""


class DataLost(IpcError):
    """Changes the fs acknowledged died with an fs instance before a sync proved them
    durable, and could not be re-sent (libipc/fsclient.py).  ``paths`` names the files
    (across processes: the message does)."""

    def __init__(self, message: str = "", *, code: str | None = None,
                 paths: list[str] | None = None) -> None:
        super().__init__(message, code=code)
        self.paths = list(paths or [])


# --- the network (servers/bridge, libipc/remote.py) --------------------------
class NodeDown(IpcError):
    """The node a remote call went to is unreachable, went silent, or restarted (a new
    incarnation): the call failed without an answer.  It ran at most once — maybe not
    at all; the bridge never re-sends it."""
