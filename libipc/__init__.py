"""libipc: what a nanokernel process uses to talk to the others.

    from libipc import Server, op, lookup, IpcError

The public surface is the names in ``__all__`` (tests pin it).
"""

from libipc.client import Proxy, kernel, lookup
from libipc.errors import (
    BadMessage,
    Deadlock,
    DirectoryNotEmpty,
    FileExists,
    FileNotFound,
    Internal,
    InvalidArgument,
    InvalidPath,
    IpcError,
    IsADirectory,
    MessageTooLarge,
    NameTooLong,
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
from libipc.file import File
from libipc.server import Context, Deferred, Server, op

__all__ = [
    "BadMessage", "Context", "Deadlock", "Deferred", "DirectoryNotEmpty", "File",
    "FileExists", "FileNotFound", "Internal", "InvalidArgument", "InvalidPath", "IpcError",
    "IsADirectory", "MessageTooLarge", "NameTooLong", "NoSpace", "NoSuchEndpoint", "NoSuchOp",
    "NotADirectory", "PermissionDenied", "Proxy", "Server", "ServerDied", "Timeout",
    "TooManyCalls", "WouldBlock", "kernel", "lookup", "op",
]
