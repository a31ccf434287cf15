"""paths — from a path name to an inode (xv6: namei, nameiparent, skipelem).

Layer 6.  Every path the filesystem accepts is absolute.  Paths are
normalised lexically before use: repeated and trailing slashes go, "."
components go, and ".." removes the previous component (".." of "/" is "/").
With links not followed, that is exactly what walking ".." entries would give,
and it means a walk never follows "..", so a corrupted tree with a loop in it
cannot make a lookup run forever.

Errors: InvalidArgument (not a str), InvalidPath (empty, relative, NUL, not UTF-8-encodable),
NameTooLong (a component over NK_DIRSIZ bytes of UTF-8, or the whole path
over MAX_PATH bytes), FileNotFound (a component is missing), NotADirectory
(a component before the last is a file, or a symbolic link: fs does not follow
links, see filesystem.py).  Messages start with the path.
"""

from __future__ import annotations

from libipc.errors import (
    CorruptFilesystem,
    FileNotFound,
    InvalidArgument,
    InvalidPath,
    NameTooLong,
    NotADirectory,
)

from . import directory
from .inode import Inode, InodeTable
from .layout import DIRSIZ, ROOTINO, T_FREE
from .volume import Volume

MAX_PATH = 4096  # bytes of UTF-8


def normalise(path: object) -> str:
    """The canonical form of absolute path `path` ("/a/./b/../c//" -> "/a/c")."""
    if not isinstance(path, str):
        raise InvalidArgument(f"{path!r:.60}: a path must be a str, not {type(path).__name__}")
    if not path:
        raise InvalidPath("'': empty path")
    if not path.startswith("/"):
        raise InvalidPath(f"{path}: not an absolute path (must start with /)")
    if "\0" in path:
        raise InvalidPath(f"{path!r}: NUL character in path")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidPath(f"{path!r}: not encodable as UTF-8") from None
    if size > MAX_PATH:
        raise NameTooLong(f"{path[:40]}...: path longer than {MAX_PATH} bytes")
    parts: list[str] = []
    for name in path.split("/"):
        if name in ("", "."):
            continue
        if name == "..":
            if parts:
                parts.pop()
            continue
        if len(name.encode("utf-8")) > DIRSIZ:
            raise NameTooLong(f"{path}: component {name[:20]}... is longer than "
                              f"{DIRSIZ} bytes")
        parts.append(name)
    return "/" + "/".join(parts)


def split(path: str) -> list[str]:
    """The components of normalised `path` ("/" has none)."""
    return [p for p in path.split("/") if p]


def parent_and_name(path: str) -> tuple[str, str]:
    """("/a/b", "c") for normalised "/a/b/c"; ("/", "") for "/"."""
    head, _, name = path.rpartition("/")
    return head or "/", name


def namei(vol: Volume, table: InodeTable, path: str) -> Inode:
    """The inode normalised `path` names."""
    return _walk(vol, table, path, split(path))


def nameiparent(vol: Volume, table: InodeTable, path: str) -> tuple[Inode, str]:
    """(directory inode, last name) for normalised `path`; path must not be "/"."""
    parts = split(path)
    if not parts:
        raise InvalidPath(f"{path}: the root has no parent")
    dp = _walk(vol, table, path, parts[:-1])
    if not dp.is_dir:
        raise NotADirectory(f"{path}: {parent_and_name(path)[0]} is not a directory")
    return dp, parts[-1]


def _walk(vol: Volume, table: InodeTable, path: str, parts: list[str]) -> Inode:
    ip = table.get(ROOTINO)
    for depth, name in enumerate(parts):
        if not ip.is_dir:
            prefix = "/" + "/".join(parts[:depth])
            if ip.is_symlink:
                raise NotADirectory(f"{path}: {prefix} is a symbolic link, which fs does "
                                    "not follow")
            raise NotADirectory(f"{path}: {prefix} is not a directory")
        found = directory.lookup(vol, ip, name)
        if found is None:
            raise FileNotFound(f"{path}: no such file or directory")
        ip = table.get(found[0])
        if ip.type == T_FREE:
            raise CorruptFilesystem(f"{path}: entry {name!r} names free inode {ip.inum}")
    return ip
