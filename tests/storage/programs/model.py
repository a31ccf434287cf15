"""The fs model test through the real servers: hypothesis drives fs and a dict model.

argv: RESULT_PATH MAX_EXAMPLES STEPS.  Each example works in its own fresh
directory /tN (holding etc/motd and home like a new image), compares every
result and error with tests/fs/test_fs_model.Model, compares the whole tree
at the end, then removes /tN.
"""

import itertools
import sys
from pathlib import Path

import common

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fs"))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from test_fs_model import DATA, DIR, OFFSETS, PATHS, SIZES, Model  # noqa: E402

from libipc import IpcError, kernel, lookup  # noqa: E402
from libipc.limits import DATA_PER_MESSAGE  # noqa: E402
from servers.fs.layout import BSIZE  # noqa: E402
from servers.fs.mkfs import DEFAULT_MOTD  # noqa: E402

CHUNK = DATA_PER_MESSAGE   # bytes per fs call, as libipc's File sends them
_roots = itertools.count()


class Remote:
    """FileSystem's signatures, served by the fs server under `root`."""

    def __init__(self, root: str) -> None:
        self.fs = lookup("fs")
        self.root = root

    def p(self, path: str) -> str:
        return self.root if path == "/" else self.root + path

    def mkdir(self, path):
        return self.fs.mkdir(path=self.p(path))

    def create(self, path, exclusive=False):
        return self.fs.create(path=self.p(path), exclusive=exclusive)

    def write(self, path, offset, data):
        total = 0
        for start in range(0, max(len(data), 1), CHUNK):
            chunk = data[start:start + CHUNK]
            n = self.fs.write(path=self.p(path), offset=offset + start, data=chunk)
            total += n
        return total

    def read(self, path, offset, size):
        out = self.fs.read(path=self.p(path), offset=offset, size=size)
        while out and len(out) < size:   # reads are clamped to one message
            chunk = self.fs.read(path=self.p(path), offset=offset + len(out),
                                 size=size - len(out))
            if not chunk:
                break
            out += chunk
        return out

    def truncate(self, path, size):
        return self.fs.truncate(path=self.p(path), size=size)

    def unlink(self, path):
        return self.fs.unlink(path=self.p(path))

    def rmdir(self, path):
        return self.fs.rmdir(path=self.p(path))

    def rename(self, src, dst):
        return self.fs.rename(src=self.p(src), dst=self.p(dst))

    def readdir(self, path):
        return self.fs.readdir(path=self.p(path))

    def tree(self, path="/"):
        tree = {path: DIR}
        for e in self.readdir(path):
            child = path.rstrip("/") + "/" + e["name"]
            tree.update(self.tree(child) if e["type"] == "dir"
                        else {child: self.read(child, 0, e["size"])})
        return tree

    def remove_all(self, path="/"):
        for e in self.readdir(path):
            child = path.rstrip("/") + "/" + e["name"]
            if e["type"] == "dir":
                self.remove_all(child)
                self.rmdir(child)
            else:
                self.unlink(child)


class ServerMachine(RuleBasedStateMachine):
    @initialize(data=DATA)
    def fresh_root(self, data):
        root = f"/t{next(_roots)}"
        lookup("fs").mkdir(path=root)
        self.fs = Remote(root)
        self.fs.mkdir("/etc")
        lookup("fs").write(path=root + "/etc/motd", offset=0, data=DEFAULT_MOTD.encode(),
                           create=True)
        self.fs.mkdir("/home")
        self.model = Model()
        self.both("mkdir", "/a")
        self.both("create", "/a/b", False)
        self.both("write", "/a/b", 0, data)

    def both(self, op, *args):
        expected_error = expected = None
        try:
            expected = getattr(self.model, op)(*args)
        except IpcError as e:
            expected_error = type(e)
        try:
            result = getattr(self.fs, op)(*args)
        except IpcError as e:
            assert expected_error is type(e), f"{op}{args}: fs raised {e!r}"
            return
        assert expected_error is None, f"{op}{args}: fs did not raise {expected_error}"
        assert expected == result, f"{op}{args}: {expected!r} != {result!r}"

    @rule(path=PATHS, exclusive=st.booleans())
    def create(self, path, exclusive):
        self.both("create", path, exclusive)

    @rule(path=PATHS)
    def mkdir(self, path):
        self.both("mkdir", path)

    @rule(path=PATHS, offset=OFFSETS, data=DATA)
    def write(self, path, offset, data):
        self.both("write", path, offset, data)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), offset=OFFSETS, chunk=DATA)
    def write_existing(self, data, offset, chunk):
        self.both("write", data.draw(st.sampled_from(self.model.files())), offset, chunk)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), offset=st.integers(0, 3 * BSIZE), blocks=st.integers(15, 40))
    def write_big(self, data, offset, blocks):
        chunk = bytes(range(256)) * (blocks * BSIZE // 256)
        self.both("write", data.draw(st.sampled_from(self.model.files())), offset, chunk)

    @precondition(lambda self: self.model.files())
    @rule(data=st.data(), size=SIZES)
    def truncate_existing(self, data, size):
        self.both("truncate", data.draw(st.sampled_from(self.model.files())), size)

    @rule(path=PATHS, offset=OFFSETS, size=st.integers(0, 3 * BSIZE))
    def read(self, path, offset, size):
        try:
            content = self.model.file(path)
        except IpcError as e:
            expected_error = type(e)
        else:
            expected_error = None
        try:
            got = self.fs.read(path, offset, size)
        except IpcError as e:
            assert expected_error is type(e), f"read {path}: {e!r}"
            return
        assert expected_error is None
        assert content[offset:offset + size] == got

    @rule(path=PATHS, size=SIZES)
    def truncate(self, path, size):
        self.both("truncate", path, size)

    @rule(path=PATHS)
    def unlink(self, path):
        self.both("unlink", path)

    @rule(path=PATHS)
    def rmdir(self, path):
        self.both("rmdir", path)

    @rule(src=PATHS, dst=PATHS)
    def rename(self, src, dst):
        self.both("rename", src, dst)

    @precondition(lambda self: self.model.existing())
    @rule(data=st.data(), dst=PATHS)
    def rename_existing(self, data, dst):
        self.both("rename", data.draw(st.sampled_from(self.model.existing())), dst)

    @rule(path=st.sampled_from(["/", "/a", "/b", "/a/a", "/home"]))
    def readdir(self, path):
        if self.model.kind(path) == "dir":
            assert self.model.children(path) == [e["name"] for e in self.fs.readdir(path)]

    def teardown(self):
        if hasattr(self, "fs"):
            assert self.model.tree == self.fs.tree()
            self.fs.remove_all()
            self.fs.fs.rmdir(path=self.fs.root)


def main():
    examples, steps = int(sys.argv[2]), int(sys.argv[3])
    run_state_machine_as_test(ServerMachine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    fs = lookup("fs")
    fs.sync()
    return {"examples": next(_roots), "root": [e["name"] for e in fs.readdir(path="/")],
            "statfs": fs.statfs(), "messages": kernel().stats()["messages_routed"]}


common.run(main)
