"""From the fs server's errors (libipc/errors.py) to the errno a host program sees.

Each IpcError subclass that fs answers has one errno; anything else — a dead fs
that did not come back in time, a damaged disk, a bug — is EIO, so a host
program gets an error it knows and the mount goes on.  ``errno_of`` never raises.
"""

from __future__ import annotations

import errno

from libipc import errors as E

ERRNO: dict[type[BaseException], int] = {
    E.FileNotFound: errno.ENOENT,
    E.FileExists: errno.EEXIST,
    E.NotADirectory: errno.ENOTDIR,
    E.IsADirectory: errno.EISDIR,
    E.DirectoryNotEmpty: errno.ENOTEMPTY,
    E.NameTooLong: errno.ENAMETOOLONG,
    E.NoSpace: errno.ENOSPC,
    E.InvalidPath: errno.EINVAL,
    E.InvalidArgument: errno.EINVAL,
    E.PermissionDenied: errno.EACCES,
    E.Busy: errno.EBUSY,
    E.Interrupted: errno.EINTR,
    E.Timeout: errno.EIO,
    E.ServerDied: errno.EIO,
    E.NoSuchEndpoint: errno.EIO,
    E.CorruptFilesystem: errno.EIO,
    E.DataLost: errno.EIO,
    E.Halted: errno.EIO,
}


def errno_of(exc: BaseException) -> int:
    """The errno for ``exc`` (EIO for anything not in ERRNO)."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    if isinstance(exc, E.InvalidArgument) and "past the largest file" in str(exc):
        return errno.EFBIG   # (fs: a write or truncate beyond MAX_FILE_SIZE)
    for cls in type(exc).__mro__:
        if cls in ERRNO:
            return ERRNO[cls]
    return errno.EIO
