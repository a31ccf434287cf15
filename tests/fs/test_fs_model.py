"""Model-based test: random operation sequences against a dict model, on a real image."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from libipc.errors import (
    DirectoryNotEmpty,
    FileExists,
    FileNotFound,
    InvalidArgument,
    InvalidPath,
    IpcError,
    IsADirectory,
    NotADirectory,
)
from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE, DOUBLE_BASE, SINGLE_BASE
from servers.fs.mkfs import DEFAULT_MOTD, mkfs

PATH_LIST = ["/a", "/b", "/c", "/a/a", "/a/b", "/b/a", "/a/a/a", "/a/b/c", "/home/h"]
PATHS = st.sampled_from(PATH_LIST)
OFFSETS = st.one_of(
    st.integers(0, 3 * BSIZE),
    st.sampled_from([BSIZE - 1, BSIZE, SINGLE_BASE * BSIZE - 3, (SINGLE_BASE + 3) * BSIZE,
                     (DOUBLE_BASE + 1) * BSIZE + 7]),
)
DATA = st.binary(max_size=2 * BSIZE + 10)
SIZES = st.one_of(st.integers(0, 3 * BSIZE), st.just((SINGLE_BASE + 1) * BSIZE + 5))

DIR = None  # the model's value for a directory; files map to their bytes
FIFO = "fifo"  # the model's value for a named pipe (no bytes: they are the pipe server's)
LINK = "link:"  # a symbolic link's value is LINK + its target (fs stores it, never follows)
TARGETS = st.sampled_from(["/a", "b", "../etc/motd", "nowhere", "/a/b/c"])
NOT_DIRS = ("file", "fifo", "symlink")   # what a path cannot go through
Tree = dict[str, bytes | str | None]


class Model:
    """The filesystem as a dict: path -> bytes (file), None (directory) or FIFO."""

    def __init__(self) -> None:
        self.tree: Tree = {"/": DIR, "/etc": DIR, "/etc/motd": DEFAULT_MOTD.encode(),
                           "/home": DIR}

    def kind(self, path: str) -> str | None:
        if path not in self.tree:
            return None
        value = self.tree[path]
        if isinstance(value, str) and value.startswith(LINK):
            return "symlink"
        return "dir" if value is DIR else "fifo" if value == FIFO else "file"

    def walk_error(self, path: str) -> type[IpcError] | None:
        """What namei(path) raises, or None."""
        parts = [p for p in path.split("/") if p]
        current = "/"
        for name in parts:
            if self.kind(current) in NOT_DIRS:
                return NotADirectory
            current = current.rstrip("/") + "/" + name
            if self.kind(current) is None:
                return FileNotFound
        return None

    def parent_error(self, path: str) -> type[IpcError] | None:
        """What nameiparent(path) raises, or None."""
        parent = path.rsplit("/", 1)[0] or "/"
        error = self.walk_error(parent)
        if error is None and self.kind(parent) in NOT_DIRS:
            return NotADirectory
        return error

    def files(self) -> list[str]:
        """The files among PATH_LIST (so rules can aim at something that exists)."""
        return [p for p in PATH_LIST if self.kind(p) == "file"]

    def existing(self) -> list[str]:
        return [p for p in PATH_LIST if p in self.tree]

    def children(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in self.tree
                      if p.startswith(prefix) and "/" not in p[len(prefix):] and p != path)

    # --- the operations, as the model sees them -----------------------------
    def mkdir(self, path: str) -> None:
        self.create(path, exclusive=True, new=DIR)

    def mkfifo(self, path: str) -> None:
        self.create(path, exclusive=True, new=FIFO)

    def symlink(self, path: str, target: str) -> None:
        self.create(path, exclusive=True, new=LINK + target)

    def readlink(self, path: str) -> str:
        error = self.walk_error(path)
        if error:
            raise error
        if self.kind(path) != "symlink":
            raise InvalidArgument
        return self.tree[path][len(LINK):]

    def create(self, path: str, exclusive: bool = False, new: bytes | str | None = b"") -> None:
        error = self.walk_error(path)
        if error is NotADirectory:
            raise error
        if error is None:
            if exclusive or new != b"":
                raise FileExists
            if self.kind(path) == "dir":
                raise IsADirectory
            if self.kind(path) == "symlink":
                raise InvalidArgument
            return
        error = self.parent_error(path)
        if error:
            raise error
        self.tree[path] = new

    def file(self, path: str) -> bytes:
        error = self.walk_error(path)
        if error:
            raise error
        if self.kind(path) == "dir":
            raise IsADirectory
        if self.kind(path) in ("fifo", "symlink"):
            raise InvalidArgument
        content = self.tree[path]
        assert isinstance(content, bytes)
        return content

    def write(self, path: str, offset: int, data: bytes) -> int:
        old = self.file(path)
        if data:
            padded = old.ljust(offset, b"\0")
            self.tree[path] = padded[:offset] + data + padded[offset + len(data):]
        return len(data)

    def truncate(self, path: str, size: int) -> None:
        self.tree[path] = self.file(path)[:size].ljust(size, b"\0")

    def unlink(self, path: str) -> None:
        if self.kind(path) not in ("fifo", "symlink"):
            self.file(path)
        del self.tree[path]

    def rmdir(self, path: str) -> None:
        if path == "/":
            raise InvalidPath
        error = self.walk_error(path)
        if error:
            raise error
        if self.kind(path) != "dir":
            raise NotADirectory
        if self.children(path):
            raise DirectoryNotEmpty
        del self.tree[path]

    def rename(self, src: str, dst: str) -> None:
        error = self.walk_error(src) or self.parent_error(dst)
        if error:
            raise error
        if src == dst:
            return
        src_dir = self.kind(src) == "dir"
        if src_dir and dst.startswith(src + "/"):
            raise InvalidPath
        dst_kind = self.kind(dst)
        if dst_kind == "dir" and not src_dir:
            raise IsADirectory
        if src_dir and dst_kind in NOT_DIRS:
            raise NotADirectory
        if dst_kind == "dir" and self.children(dst):
            raise DirectoryNotEmpty
        self.tree.pop(dst, None)
        for path in [p for p in self.tree if p == src or p.startswith(src + "/")]:
            self.tree[dst + path[len(src):]] = self.tree.pop(path)


def read_tree(fs: FileSystem, path: str = "/") -> Tree:
    """Everything in the filesystem under `path`, as the model's dict."""
    tree: Tree = {path: DIR}
    for entry in fs.readdir(path):
        child = path.rstrip("/") + "/" + entry["name"]
        if entry["type"] == "dir":
            tree.update(read_tree(fs, child))
        elif entry["type"] == "fifo":
            tree[child] = FIFO
        elif entry["type"] == "symlink":
            tree[child] = LINK + fs.readlink(child)
        else:
            tree[child] = fs.read(child, 0, entry["size"])
    return tree


class FileSystemMachine(RuleBasedStateMachine):
    """Drives a FileSystem on a real image file and the Model with the same calls."""

    @initialize(data=DATA)
    def make_image(self, data: bytes) -> None:
        """A fresh image holding a small tree, so that most rules have something to act on."""
        self.dir = Path(tempfile.mkdtemp(prefix="nk-fs-model-"))
        self.path = self.dir / "disk.img"
        mkfs(self.path, "4M")
        self.image = DiskImage(self.path)
        self.fs = FileSystem(self.image)
        self.fs.mount()
        self.model = Model()
        self.durable = [dict(self.model.tree)]  # states a crash now could leave
        self.both("mkdir", "/a")
        self.both("create", "/a/b", False)
        self.both("write", "/a/b", 0, data)
        self.both("create", "/b", False)
        self.both("write", "/b", BSIZE - 5, data)

    def both(self, op: str, *args: Any) -> Any:
        """Run `op` on model and fs; the same error class or the same result."""
        expected_error: type[Exception] | None = None
        expected = None
        try:
            expected = getattr(self.model, op)(*args)
        except IpcError as e:
            expected_error = type(e)
        try:
            result = getattr(self.fs, op)(*args)
        except IpcError as e:
            assert expected_error is type(e), f"{op}{args}: fs raised {e!r}"
            return None
        assert expected_error is None, f"{op}{args}: fs did not raise {expected_error}"
        assert expected == result, f"{op}{args}"
        self.remember()
        return result

    def remember(self) -> None:
        if self.fs.pending_blocks == 0:
            self.durable = [dict(self.model.tree)]
        else:
            self.durable.append(dict(self.model.tree))

    @rule(path=PATHS, data=DATA)
    def create_with_data(self, path: str, data: bytes) -> None:
        self.create(path, False)
        if self.model.kind(path) == "file":
            self.both("write", path, 0, data)

    @rule(path=PATHS, exclusive=st.booleans())
    def create(self, path: str, exclusive: bool) -> None:
        self.both("create", path, exclusive)

    @rule(path=PATHS)
    def mkdir(self, path: str) -> None:
        self.both("mkdir", path)

    @rule(path=PATHS)
    def mkfifo(self, path: str) -> None:
        self.both("mkfifo", path)

    @rule(path=PATHS, to=TARGETS)   # ("target" is rule's own keyword)
    def symlink(self, path: str, to: str) -> None:
        self.both("symlink", path, to)

    @rule(path=PATHS)
    def readlink(self, path: str) -> None:
        self.both("readlink", path)

    @rule(path=PATHS, offset=OFFSETS, data=DATA)
    def write(self, path: str, offset: int, data: bytes) -> None:
        self.both("write", path, offset, data)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), offset=OFFSETS, chunk=DATA)
    def write_existing(self, data: st.DataObject, offset: int, chunk: bytes) -> None:
        self.both("write", data.draw(st.sampled_from(self.model.files())), offset, chunk)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), size=SIZES)
    def truncate_existing(self, data: st.DataObject, size: int) -> None:
        self.both("truncate", data.draw(st.sampled_from(self.model.files())), size)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), offset=OFFSETS, size=st.integers(0, 3 * BSIZE))
    def read_existing(self, data: st.DataObject, offset: int, size: int) -> None:
        self.read(data.draw(st.sampled_from(self.model.files())), offset, size)

    @precondition(lambda self: self.model.existing())
    @rule(data=st.data(), dst=PATHS)
    def rename_existing(self, data: st.DataObject, dst: str) -> None:
        self.both("rename", data.draw(st.sampled_from(self.model.existing())), dst)

    @precondition(lambda self: self.model.existing())
    @rule(data=st.data())
    def remove_existing(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(self.model.existing()))
        self.both("rmdir" if self.model.kind(path) == "dir" else "unlink", path)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), offset=OFFSETS, blocks=st.integers(15, 60), fill=st.binary(
        min_size=1, max_size=7))
    def write_big_then_sync(self, data: st.DataObject, offset: int, blocks: int,
                            fill: bytes) -> None:
        """A write of many blocks takes several log ops; sync so a crash test stays exact."""
        chunk = (fill * (blocks * BSIZE // len(fill) + 1))[:blocks * BSIZE - 3]
        self.both("write", data.draw(st.sampled_from(self.model.files())), offset, chunk)
        self.fs.sync()
        self.durable = [dict(self.model.tree)]

    @rule(path=PATHS, offset=OFFSETS, size=st.integers(0, 3 * BSIZE))
    def read(self, path: str, offset: int, size: int) -> None:
        try:
            content = self.model.file(path)
        except IpcError as e:
            expected_error: type[IpcError] | None = type(e)
        else:
            expected_error = None
        try:
            got = self.fs.read(path, offset, size)
        except IpcError as e:
            assert expected_error is type(e)
            return
        assert expected_error is None
        assert content[offset:offset + size] == got

    @rule(path=PATHS, size=SIZES)
    def truncate(self, path: str, size: int) -> None:
        self.both("truncate", path, size)

    @rule(path=PATHS)
    def unlink(self, path: str) -> None:
        self.both("unlink", path)

    @rule(path=PATHS)
    def rmdir(self, path: str) -> None:
        self.both("rmdir", path)

    @rule(src=PATHS, dst=PATHS)
    def rename(self, src: str, dst: str) -> None:
        self.both("rename", src, dst)

    @rule(path=st.sampled_from(["/", "/a", "/b", "/a/a", "/home"]))
    def readdir(self, path: str) -> None:
        if self.model.kind(path) != "dir":
            return
        assert self.model.children(path) == [e["name"] for e in self.fs.readdir(path)]

    @rule()
    def sync_and_remount(self) -> None:
        self.fs.sync()
        self.remount()
        assert self.model.tree == read_tree(self.fs)
        self.durable = [dict(self.model.tree)]

    @rule(now=st.integers(0, 3))
    def crash_and_remount(self, now: int) -> None:
        """Drop the fs without syncing: the image holds one of the durable states."""
        if now:  # crash in one of four draws, so that state can build up
            return
        self.remount()
        state = read_tree(self.fs)
        assert state in self.durable
        assert fsck(self.path).clean
        self.model.tree = dict(state)
        self.durable = [dict(state)]

    def remount(self) -> None:
        self.image.close()
        self.image = DiskImage(self.path)
        self.fs = FileSystem(self.image)
        self.fs.mount()

    def teardown(self) -> None:
        if not hasattr(self, "fs"):
            return
        try:
            self.fs.sync()
            assert self.model.tree == read_tree(self.fs)
            report = fsck(self.path)
            assert report.clean, report.render()
        finally:
            self.image.close()
            shutil.rmtree(self.dir, ignore_errors=True)


class TestFileSystemModel:
    def test_random_operation_sequences_match_the_model(self) -> None:
        """Any sequence of ops gives the model's results and errors; fsck stays clean."""
        from hypothesis.stateful import run_state_machine_as_test
        run_state_machine_as_test(
            FileSystemMachine,
            settings=settings(settings.get_profile("nk-fs"), stateful_step_count=40),
        )
