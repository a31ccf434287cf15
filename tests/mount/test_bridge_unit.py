"""The mount's core (nanokernel/mount/bridge.py) and errno map on the real filesystem
code, in this process: no FUSE, no boot — these run on every host."""

from __future__ import annotations

import errno

import pytest

from libipc import errors as E
from libipc.fsclient import FsClient
from nanokernel.mount.bridge import ROOT, Bridge, MountError
from nanokernel.mount.errors import errno_of
from servers.blockdev import RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.mkfs import format_device
from servers.fs.server import MAX_READ

pytestmark = pytest.mark.timeout(30)


class LocalFsProxy:
    """What FsClient calls on a Proxy, answered by a FileSystem in this process the way
    the fs server answers (reads clamped, verifier=True replies)."""

    _name = None   # (FsClient: a proxy for one endpoint — no naming to wait on)
    remote = False

    def __init__(self, nblocks: int = 2048) -> None:
        device = RamDisk(nblocks)
        format_device(device)
        self.fs = FileSystem(device)
        self.fs.mount()
        self.ops: list[str] = []

    def call(self, op: str, **args):
        self.ops.append(op)
        verifier = args.pop("verifier", False)
        if op == "read":
            args["size"] = min(args.get("size", 4096), MAX_READ)
        if op == "verifier":
            return "v1"
        result = getattr(self.fs, op)(**args)
        if not verifier:
            return result
        return {"written": result, "verifier": "v1"} if op == "write" else {"verifier": "v1"}


@pytest.fixture
def bridge() -> Bridge:
    return Bridge(FsClient(LocalFsProxy()), uid=1000, gid=1000)


def err(fn, *args, **kw) -> int:
    with pytest.raises(MountError) as info:
        fn(*args, **kw)
    return info.value.errno


@pytest.mark.parametrize(("exc", "code"), [
    (E.FileNotFound("x"), errno.ENOENT), (E.NoSpace("x"), errno.ENOSPC),
    (E.FileExists("x"), errno.EEXIST), (E.NotADirectory("x"), errno.ENOTDIR),
    (E.IsADirectory("x"), errno.EISDIR), (E.DirectoryNotEmpty("x"), errno.ENOTEMPTY),
    (E.InvalidArgument("x"), errno.EINVAL), (E.ServerDied("x"), errno.EIO),
    (E.NoSuchEndpoint("x"), errno.EIO), (E.NameTooLong("x"), errno.ENAMETOOLONG),
    (E.DataLost("x", paths=[]), errno.EIO), (E.CorruptFilesystem("x"), errno.EIO),
    (E.InvalidArgument("write /a: would grow the file past the largest file size"),
     errno.EFBIG), (RuntimeError("a bug"), errno.EIO),
])
def test_errno_of(exc: BaseException, code: int) -> None:
    assert code == errno_of(exc)


def test_errors_from_the_real_filesystem(bridge: Bridge) -> None:
    home = bridge.lookup(ROOT, "home").ino
    assert errno.ENOENT == err(bridge.lookup, home, "missing")
    f = bridge.create(home, "f")
    assert errno.EEXIST == err(bridge.create, home, "f", exclusive=True)
    assert errno.EEXIST == err(bridge.mkdir, home, "f")
    assert errno.ENOTDIR == err(bridge.lookup, f.ino, "below")
    assert errno.ENOTDIR == err(bridge.readdir, f.ino)
    assert errno.EISDIR == err(bridge.unlink, ROOT, "home")
    assert errno.EISDIR == err(bridge.read, home, 0, 10)
    d = bridge.mkdir(home, "d")
    bridge.create(d.ino, "inside")
    assert errno.ENOTEMPTY == err(bridge.rmdir, home, "d")
    assert errno.EISDIR == err(bridge.rename, home, "f", ROOT, "home")
    bridge.mkdir(home, "empty")
    assert errno.ENOTEMPTY == err(bridge.rename, home, "empty", home, "d")
    assert errno.ENOTDIR == err(bridge.rename, home, "empty", home, "f")
    assert errno.EINVAL == err(bridge.rename, home, "d", d.ino, "into-itself")
    assert errno.ENAMETOOLONG == err(bridge.create, home, "n" * 253)
    assert errno.EINVAL == err(bridge.lookup, home, b"\xff\xfe")
    assert errno.EEXIST == err(bridge.rename, home, "f", home, "d", noreplace=True)
    assert errno.ESTALE == err(bridge.getattr, 99999)


def test_files_by_inode(bridge: Bridge) -> None:
    home = bridge.lookup(ROOT, "home").ino
    f = bridge.create(home, "f")
    assert 5 == bridge.write(f.ino, 0, b"hello")
    assert 3 == bridge.write(f.ino, 10, b"end")
    assert b"hello\0\0\0\0\0end" == bridge.read(f.ino, 0, 4096)
    assert 13 == bridge.getattr(f.ino).size
    bridge.truncate(f.ino, 4)
    assert b"hell" == bridge.read(f.ino, 0, 100)
    big = bytes(range(256)) * 600   # 150 KiB: more than one fs read answers
    for at in range(0, len(big), 50_000):   # (more than a message holds goes by grant)
        bridge.write(f.ino, at, big[at:at + 50_000])
    assert big[:60_000] == bridge.read(f.ino, 0, 60_000)
    assert big[1000:61000] == bridge.read(f.ino, 1000, 60_000)
    # a rename moves the inode's path (and those under a directory's)
    d = bridge.mkdir(home, "d")
    g = bridge.create(d.ino, "g")
    bridge.rename(home, "d", ROOT, "moved")
    assert "/moved/g" == bridge.path_of(g.ino)
    bridge.write(g.ino, 0, b"still me")
    assert b"still me" == bridge.read(bridge.lookup(d.ino, "g").ino, 0, 100)
    # rename over an existing file replaces it; the replaced inode is forgotten
    other = bridge.create(home, "other")
    bridge.rename(home, "f", home, "other")
    assert errno.ESTALE == err(bridge.getattr, other.ino) or other.ino == f.ino
    assert big[:10] == bridge.read(f.ino, 0, 10)
    names = [n for n, _ in bridge.readdir(home)]
    assert ["other"] == names
    st = bridge.statfs()
    assert st["block_size"] == 4096 and 0 < st["free_blocks"] < st["blocks"]


def test_unlink_syncs_kept_changes_first(bridge: Bridge) -> None:
    """A re-send after an fs restart must not bring back a file that is gone: a rename
    or an unlink of a path with unsynced changes syncs before it."""
    home = bridge.lookup(ROOT, "home").ino
    f = bridge.create(home, "tmp")
    bridge.write(f.ino, 0, b"data")
    assert bridge.fs.kept
    bridge.rename(home, "tmp", home, "final")
    assert not bridge.fs.kept
    bridge.write(f.ino, 0, b"DATA")
    bridge.unlink(home, "final")
    assert not bridge.fs.kept


def test_session_attributes_and_strict(bridge: Bridge) -> None:
    home = bridge.lookup(ROOT, "home").ino
    f = bridge.create(home, "f")
    assert 0o100644 == f.mode and 1000 == f.uid
    a = bridge.setattr(f.ino, mode=0o100755, mtime_ns=123_000_000_000, uid=0)
    assert 0o100755 == a.mode and 123_000_000_000 == a.mtime_ns and 0 == a.uid
    assert 0o100755 == bridge.getattr(f.ino).mode   # kept until unmount
    bridge.unlink(home, "f")
    strict = Bridge(bridge.fs, strict_attrs=True, uid=1000, gid=1000)
    g = strict.create(strict.lookup(ROOT, "home").ino, "g")
    assert g.mode == strict.setattr(g.ino, mode=0o644, uid=1000).mode   # already so: fine
    assert errno.EPERM == err(strict.setattr, g.ino, mode=0o600)
    assert errno.EPERM == err(strict.setattr, g.ino, mtime_ns=1)
    assert 7 == strict.setattr(g.ino, size=7).size


def test_an_open_file_unlinked_lives_until_its_last_close(bridge: Bridge) -> None:
    home = bridge.lookup(ROOT, "home").ino
    f = bridge.create(home, "tmp")
    bridge.opened(f.ino)
    bridge.opened(f.ino)
    bridge.write(f.ino, 0, b"still here")
    bridge.unlink(home, "tmp")
    assert errno.ENOENT == err(bridge.lookup, home, "tmp")
    assert [] == [n for n, _ in bridge.readdir(ROOT) if n.startswith(".nkmount")]
    assert b"still here" == bridge.read(f.ino, 0, 100)
    assert 0 == bridge.getattr(f.ino).nlink
    bridge.released(f.ino)
    assert b"still here" == bridge.read(f.ino, 0, 100)
    bridge.released(f.ino)   # the last close: gone
    assert errno.ESTALE == err(bridge.getattr, f.ino)
    assert not any(e["name"].startswith(".nkmount") for e in bridge.fs.call("readdir", path="/"))
    g = bridge.create(home, "g")
    bridge.opened(g.ino)
    bridge.unlink(home, "g")
    assert 1 == bridge.remove_hidden()   # (at unmount)
