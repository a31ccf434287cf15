"""libipc: what a nanokernel process uses to talk to the others.

    from libipc import Server, op, lookup, IpcError

The public surface is the names in ``__all__`` (tests pin it).  They are
imported on first use (PEP 562): every process imports this package — even
``from libipc._nkffi import lib`` runs this file — and most use a few of them
(the kernel no Server, a server no File), so start-up pays only for what the
process touches.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing (~3 ms)

_ERRORS = (
    "AddressInUse", "BadMessage", "BrokenPipe", "ConnectionRefused", "ConnectionReset",
    "DataLost", "Deadlock", "DirectoryNotEmpty", "FileExists", "FileNotFound",
    "Internal", "Interrupted", "InvalidArgument", "InvalidPath", "IpcError", "IsADirectory",
    "MessageTooLarge", "NameTooLong", "NoSpace", "NoSuchEndpoint", "NoSuchOp",
    "NodeDown", "NotADirectory", "PermissionDenied", "ServerDied", "Timeout", "TooManyCalls",
    "WouldBlock",
)
_WHERE = {
    **dict.fromkeys(_ERRORS, "libipc.errors"),
    **dict.fromkeys(("Proxy", "kernel", "lookup"), "libipc.client"),
    "nodes": "libipc.remote",
    **dict.fromkeys(("Context", "Deferred", "Server", "op"), "libipc.server"),
    "File": "libipc.file",
    "open": "libipc.file",
    "pipe": "libipc.pipe",
    "shm": "libipc.shm",          # a module: libipc.shm.create, libipc.shm.map
    "mmap": "libipc.mapfile",
    "Semaphore": "libipc.sem",
    "MessageQueue": "libipc.mq",
    **dict.fromkeys(("connect", "listen"), "libipc.sockets"),
    **dict.fromkeys(("alarm", "getsignal", "kill", "pause", "signal"), "libipc.signals"),
}

__all__ = [
    "AddressInUse", "BadMessage", "BrokenPipe", "ConnectionRefused", "ConnectionReset",
    "Context", "DataLost", "Deadlock", "Deferred", "DirectoryNotEmpty", "File",
    "FileExists", "FileNotFound", "Internal", "Interrupted", "InvalidArgument", "InvalidPath",
    "IpcError", "IsADirectory", "MessageQueue", "MessageTooLarge", "NameTooLong", "NoSpace",
    "NoSuchEndpoint", "NoSuchOp", "NodeDown",
    "NotADirectory", "PermissionDenied", "Proxy", "Semaphore", "Server", "ServerDied", "Timeout",
    "TooManyCalls", "WouldBlock", "alarm", "connect", "getsignal", "kernel", "kill", "listen",
    "lookup", "mmap", "nodes", "op", "open", "pause", "pipe", "shm", "signal",
]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'libipc' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"libipc.{name}" else getattr(imported, name)
    globals()[name] = value   # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:   # for type checkers and IDEs: the names, statically
    from libipc import shm
    from libipc.client import Proxy, kernel, lookup
    from libipc.errors import (
        AddressInUse,
        BadMessage,
        BrokenPipe,
        ConnectionRefused,
        ConnectionReset,
        DataLost,
        Deadlock,
        DirectoryNotEmpty,
        FileExists,
        FileNotFound,
        Internal,
        Interrupted,
        InvalidArgument,
        InvalidPath,
        IpcError,
        IsADirectory,
        MessageTooLarge,
        NameTooLong,
        NodeDown,
        NoSpace,
        NoSuchEndpoint,
        NoSuchOp,
        NotADirectory,
        PermissionDenied,
        ServerDied,
        Timeout,
        TooManyCalls,
        WouldBlock,
    )
    from libipc.file import File, open
    from libipc.mapfile import mmap
    from libipc.mq import MessageQueue
    from libipc.pipe import pipe
    from libipc.remote import nodes
    from libipc.sem import Semaphore
    from libipc.server import Context, Deferred, Server, op
    from libipc.signals import alarm, getsignal, kill, pause, signal
    from libipc.sockets import connect, listen
