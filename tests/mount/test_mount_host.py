"""`nanokernel mount` from the host's side: files and directories against a model, the
errno of each failure, real programs (tar, git, sqlite) with their own checks, and after
the unmount: fsck clean and a boot that reads what the host wrote.

One mount for the module (a boot costs seconds); the last test unmounts it."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.conftest import NANOKERNEL
from tests.mount.conftest import Mount, boot_c, fsck

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


def oserror(fn, *args) -> int:
    with pytest.raises(OSError) as info:
        fn(*args)
    return info.value.errno


def test_files_and_directories(mounted: Mount) -> None:
    d = mounted.home / "basic"
    d.mkdir()
    (d / "a").write_bytes(b"hello")
    assert b"hello" == (d / "a").read_bytes()
    with open(d / "a", "ab") as f:   # O_APPEND: the host kernel passes the offsets
        f.write(b" world")
    assert b"hello world" == (d / "a").read_bytes()
    with open(d / "a", "r+b") as f:
        f.seek(2)
        f.write(b"LL")
        f.truncate(8)
        f.flush()
        os.fsync(f.fileno())
    assert b"heLLo wo" == (d / "a").read_bytes()
    big = os.urandom(300_000)   # FUSE's 128 KiB requests, by grant to fs
    (d / "big").write_bytes(big)
    assert big == (d / "big").read_bytes()
    assert 300_000 == (d / "big").stat().st_size
    (d / "new").write_bytes(b"replacement")
    os.rename(d / "new", d / "a")   # over an existing file: atomic replace
    assert b"replacement" == (d / "a").read_bytes()
    (d / "sub").mkdir()
    (d / "sub" / "x").write_text("x")
    os.rename(d / "sub", d / "sub2")
    assert "x" == (d / "sub2" / "x").read_text()
    assert ["a", "big", "sub2"] == sorted(os.listdir(d))
    s = (d / "a").stat()
    assert s.st_mtime > 0 and s.st_nlink == 1 and s.st_blocks >= 1
    v = os.statvfs(mounted.mp)
    assert 4096 == v.f_bsize and 252 == v.f_namemax and 0 < v.f_bfree < v.f_blocks
    # an open file unlinked lives on until its last close (tempfile.TemporaryFile does it)
    with open(d / "open", "w+b") as f:
        f.write(b"kept while open")
        os.unlink(d / "open")
        shutil.rmtree(d)   # (its directory too)
        f.seek(0)
        assert b"kept while open" == f.read()
        assert 0 == os.fstat(f.fileno()).st_nlink
    assert not d.exists()
    assert not [n for n in os.listdir(mounted.mp) if n.startswith(".nkmount")]
    with tempfile.TemporaryFile(dir=mounted.home) as t:
        t.write(b"x" * 10000)
        t.seek(0)
        assert 10000 == len(t.read())


def test_a_directory_bigger_than_a_message(mounted: Mount) -> None:
    """900 long names: fs's listing (~72 KiB) is over one message, so the mount reads it
    in pages; the host sees every name once, then removes them all."""
    d = mounted.home / "big"
    d.mkdir()
    names = [f"{i:04d}-{'y' * 51}" for i in range(900)]
    for name in names:
        (d / name).touch()
    assert names == sorted(os.listdir(d))
    assert 900 == len(list(os.scandir(d)))
    shutil.rmtree(d)
    assert not d.exists()


def test_errno_of_each_failure(mounted: Mount) -> None:
    d = mounted.home / "errs"
    d.mkdir()
    (d / "f").write_text("f")
    (d / "full").mkdir()
    (d / "full" / "x").write_text("x")
    assert errno.ENOENT == oserror(open, d / "missing")
    assert errno.EEXIST == oserror(os.mkdir, d / "f")
    assert errno.EEXIST == oserror(os.open, d / "f", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    assert errno.ENOTDIR == oserror(os.listdir, d / "f")
    assert errno.ENOTDIR == oserror(open, d / "f" / "below")
    assert errno.EISDIR == oserror(open, d / "full", "w")
    assert errno.EISDIR == oserror(os.unlink, d / "full")
    assert errno.ENOTEMPTY == oserror(os.rmdir, d / "full")
    assert errno.ENAMETOOLONG == oserror(open, d / ("n" * 253), "w")
    (d / ("n" * 252)).write_text("the longest name")
    assert "the longest name" == (d / ("n" * 252)).read_text()
    os.unlink(d / ("n" * 252))
    # what the fs lacks: an errno, never a crash (the mount goes on below)
    assert errno.EPERM == oserror(os.link, d / "f", d / "hard")
    assert errno.EPERM == oserror(os.mkfifo, d / "fifo")
    assert oserror(os.setxattr, d / "f", "user.x", b"1") in (errno.ENOTSUP, errno.EOPNOTSUPP)
    assert [] == os.listxattr(d / "f")
    assert "f" == (d / "f").read_text()
    # a full disk: ENOSPC (the 16 MiB image), and the space comes back with the file
    free = os.statvfs(mounted.mp).f_bfree
    with open(d / "fill", "wb") as f:
        chunk = b"\0" * (1 << 20)
        with pytest.raises(OSError) as info:
            for _ in range(64):
                f.write(chunk)
                f.flush()
    assert errno.ENOSPC == info.value.errno
    os.unlink(d / "fill")
    assert os.statvfs(mounted.mp).f_bfree >= free - 2
    shutil.rmtree(d)


DIR = None   # the model's value for a directory (a file's is its bytes)
PATHS = ["a", "b", "c", "a/x", "a/y", "b/x", "a/x/z"]


class Tree:
    """The Python model: path -> bytes (a file) or DIR, and the errno POSIX gives."""

    def __init__(self) -> None:
        self.nodes: dict[str, bytes | None] = {}

    def parent_error(self, path: str) -> int | None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            up = "/".join(parts[:i])
            if up not in self.nodes:
                return errno.ENOENT
            if self.nodes[up] is not DIR:
                return errno.ENOTDIR
        return None

    def children(self, path: str) -> list[str]:
        return [p for p in self.nodes if p.startswith(path + "/")]


@pytest.mark.timeout(180)
def test_operations_against_a_model(mounted: Mount) -> None:
    """Random writes, appends, truncates, renames (of trees too), unlinks, mkdirs and
    rmdirs from the host, each result and each errno the same as a Python model's."""
    base = mounted.home / "model"
    base.mkdir()
    paths = st.sampled_from(PATHS)

    class Model(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.root = base / f"run{os.urandom(4).hex()}"
            self.root.mkdir()
            self.t = Tree()

        def p(self, path: str) -> Path:
            return self.root / path

        @initialize(tree=st.booleans())
        def start(self, tree: bool) -> None:
            """Often a small tree to begin with: trees get renamed and emptied."""
            if tree:
                for path in ("a", "a/x"):
                    os.mkdir(self.p(path))
                    self.t.nodes[path] = DIR
                for path in ("a/x/z", "b"):
                    self.p(path).write_bytes(path.encode())
                    self.t.nodes[path] = path.encode()

        @rule(path=paths, offset=st.integers(0, 9000), data=st.binary(max_size=5000),
              append=st.booleans())
        def write(self, path: str, offset: int, data: bytes, append: bool) -> None:
            code = self.t.parent_error(path)
            if code is None and self.t.nodes.get(path, b"") is DIR:
                code = errno.EISDIR
            mode = "ab" if append else "r+b" if path in self.t.nodes else "wb"
            if code is not None:
                assert code == oserror(open, self.p(path), mode)
                return
            with open(self.p(path), mode) as f:
                if not append:
                    f.seek(offset)
                f.write(data)
            old = self.t.nodes.get(path, b"")
            if append:
                offset = len(old)
            if data:
                old = old.ljust(offset, b"\0")
                old = old[:offset] + data + old[offset + len(data):]
            self.t.nodes[path] = old

        @rule(path=paths, size=st.integers(0, 12000))
        def truncate(self, path: str, size: int) -> None:
            node = self.t.nodes.get(path, b"")
            if path not in self.t.nodes or node is DIR:
                code = self.t.parent_error(path) or (
                    errno.EISDIR if node is DIR else errno.ENOENT)
                assert code == oserror(os.truncate, self.p(path), size)
                return
            os.truncate(self.p(path), size)
            self.t.nodes[path] = node[:size].ljust(size, b"\0")

        @rule(src=paths, dst=paths)
        def rename(self, src: str, dst: str) -> None:
            n = self.t.nodes
            code = self.t.parent_error(src) or self.t.parent_error(dst)
            if code is None and src not in n:
                code = errno.ENOENT
            if code is None and src != dst:
                if dst.startswith(src + "/"):
                    code = errno.EINVAL
                elif src.startswith(dst + "/"):   # (the host kernel's own check, as for
                    code = errno.ENOTEMPTY          # any fs: dst is an ancestor of src)
                elif n[src] is not DIR and n.get(dst, b"") is DIR:
                    code = errno.EISDIR
                elif n[src] is DIR and dst in n and n[dst] is not DIR:
                    code = errno.ENOTDIR
                elif n[src] is DIR and dst in n and self.t.children(dst):
                    code = errno.ENOTEMPTY
            if code is not None:
                assert code == oserror(os.rename, self.p(src), self.p(dst))
                return
            os.rename(self.p(src), self.p(dst))
            if src == dst:
                return
            moved = {q: n.pop(q) for q in [src, *self.t.children(src)]}
            n.pop(dst, None)
            for q, v in moved.items():
                n[dst + q[len(src):]] = v

        @rule(path=paths)
        def unlink(self, path: str) -> None:
            code = self.t.parent_error(path)
            if code is None and path not in self.t.nodes:
                code = errno.ENOENT
            if code is None and self.t.nodes[path] is DIR:
                code = errno.EISDIR
            if code is not None:
                assert code == oserror(os.unlink, self.p(path))
                return
            os.unlink(self.p(path))
            del self.t.nodes[path]

        @rule(path=paths)
        def mkdir(self, path: str) -> None:
            code = self.t.parent_error(path)
            if code is None and path in self.t.nodes:
                code = errno.EEXIST
            if code is not None:
                assert code == oserror(os.mkdir, self.p(path))
                return
            os.mkdir(self.p(path))
            self.t.nodes[path] = DIR

        @rule(path=paths)
        def rmdir(self, path: str) -> None:
            n = self.t.nodes
            code = self.t.parent_error(path)
            if code is None and path not in n:
                code = errno.ENOENT
            if code is None and n[path] is not DIR:
                code = errno.ENOTDIR
            if code is None and self.t.children(path):
                code = errno.ENOTEMPTY
            if code is not None:
                assert code == oserror(os.rmdir, self.p(path))
                return
            os.rmdir(self.p(path))
            del n[path]

        @invariant()
        def same(self) -> None:
            seen = {}
            for dirpath, dirnames, filenames in os.walk(self.root):
                rel = os.path.relpath(dirpath, self.root)
                for name in dirnames:
                    seen[os.path.normpath(os.path.join(rel, name))] = DIR
                for name in filenames:
                    path = os.path.normpath(os.path.join(rel, name))
                    seen[path] = (self.root / path).read_bytes()
            assert self.t.nodes == seen

    Model.TestCase.settings = settings(max_examples=15, stateful_step_count=20,
                                       deadline=None,
                                       suppress_health_check=list(HealthCheck))
    Model.TestCase().runTest()


def test_symbolic_links(mounted: Mount, tmp_path: Path) -> None:
    """fs stores links; the host kernel follows them: relative and absolute, to files
    and directories, dangling; lstat, readlink, rename, unlink; tar keeps them."""
    d = mounted.home / "links"
    (d / "real").mkdir(parents=True)
    (d / "real" / "f").write_text("through the link")
    os.symlink("real/f", d / "rel")
    os.symlink(str(d / "real"), d / "abs-dir")
    os.symlink("nowhere", d / "dangling")
    assert "real/f" == os.readlink(d / "rel")
    assert "through the link" == (d / "rel").read_text()
    assert "through the link" == (d / "abs-dir" / "f").read_text()
    assert ["f"] == os.listdir(d / "abs-dir")
    s = os.lstat(d / "rel")
    assert stat.S_ISLNK(s.st_mode) and len("real/f") == s.st_size
    assert stat.S_ISREG(os.stat(d / "rel").st_mode)
    assert errno.ENOENT == oserror(open, d / "dangling")
    assert errno.EEXIST == oserror(os.symlink, "x", d / "rel")
    with open(d / "rel", "a") as f:   # writing through a link writes the file
        f.write(", and more")
    assert "through the link, and more" == (d / "real" / "f").read_text()
    os.rename(d / "rel", d / "moved")
    assert "real/f" == os.readlink(d / "moved")
    os.unlink(d / "dangling")
    assert sorted(os.listdir(d)) == ["abs-dir", "moved", "real"]
    # tar stores links as links, and its own compare checks them
    out = mounted.home / "links-copy"
    tar_round_trip(tmp_path / "links.tar", d, ".", out)
    assert "real/f" == os.readlink(out / "moved")


def tar_round_trip(archive: Path, src: Path, what: str, out: Path) -> None:
    """tar -c of SRC/WHAT into ARCHIVE, tar -x into OUT, then tar's own compare
    (contents, sizes, modes, times, link targets) of OUT against the archive."""
    subprocess.run(["tar", "-cf", str(archive), "-C", str(src), what], check=True,
                   timeout=60)
    out.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(out)], check=True, timeout=60)
    r = subprocess.run(["tar", "-df", str(archive), "-C", str(out)], capture_output=True,
                       text=True, timeout=60)
    assert 0 == r.returncode, r.stdout + r.stderr


def test_python_venv(mounted: Mount) -> None:
    """python -m venv makes links (lib64 -> lib, bin/python -> the interpreter)."""
    venv = mounted.home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    assert os.path.islink(venv / "bin" / "python")
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                       capture_output=True, text=True, timeout=60, check=True)
    assert str(venv) == r.stdout.strip()


def test_tar_create_extract_compare(mounted: Mount, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "libipc", src / "libipc",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    out = mounted.home / "untar"
    tar_round_trip(mounted.home / "src.tar", src, "libipc", out)   # (the archive on it too)
    # and the other way: an archive made on the mount, extracted on the host
    subprocess.run(["tar", "-czf", str(mounted.home / "back.tgz"), "-C", str(out), "libipc"],
                   check=True, timeout=60)
    host = tmp_path / "host"
    host.mkdir()
    subprocess.run(["tar", "-xzf", str(mounted.home / "back.tgz"), "-C", str(host)],
                   check=True, timeout=60)
    r = subprocess.run(["diff", "-r", str(src / "libipc"), str(host / "libipc")],
                       capture_output=True, text=True, timeout=60)
    assert 0 == r.returncode, r.stdout


def test_git_init_commit_fsck(mounted: Mount) -> None:
    repo = mounted.home / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x", "HOME": str(mounted.root)}

    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                           env=env, timeout=60)
        assert 0 == r.returncode, f"git {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    repo.mkdir()
    git("init", "-q")
    for i in range(5):
        (repo / f"f{i}.txt").write_text(f"file {i}\n" * (i + 1))
    (repo / "dir").mkdir()
    (repo / "dir" / "nested.py").write_text("print('hi')\n")
    git("add", ".")
    git("commit", "-qm", "first")
    (repo / "f0.txt").write_text("changed\n")
    os.unlink(repo / "f1.txt")
    git("commit", "-qam", "second")
    git("gc", "-q")   # packs everything (temporary pack names are 66 bytes long)
    git("fsck", "--full", "--strict")
    assert 2 == len(git("log", "--oneline").splitlines())
    assert "" == git("status", "--porcelain")


def test_sqlite_integrity(mounted: Mount) -> None:
    path = mounted.home / "test.db"
    db = sqlite3.connect(path)
    db.execute("create table t (id integer primary key, v text, n real)")
    for batch in range(10):
        with db:   # a transaction each: journal written, fsync'd, deleted
            db.executemany("insert into t (v, n) values (?, ?)",
                           [(f"row {batch}-{i}" * 5, i / 3) for i in range(100)])
    with db:
        db.execute("delete from t where id % 3 = 0")
        db.execute("update t set v = upper(v) where id % 5 = 0")
    db.execute("vacuum")
    assert [("ok",)] == db.execute("pragma integrity_check").fetchall()
    count = db.execute("select count(*) from t").fetchone()[0]
    db.execute("pragma journal_mode=wal").fetchall()   # WAL: a shared-memory -shm file
    with db:
        db.execute("insert into t (v) values ('wal')")
    assert [("ok",)] == db.execute("pragma integrity_check").fetchall()
    db.close()
    db = sqlite3.connect(path)
    assert count + 1 == db.execute("select count(*) from t").fetchone()[0]
    db.close()


def test_a_boot_or_fsck_on_the_mounted_image_is_refused(mounted: Mount) -> None:
    """One boot per image (servers/imagelock.py): the mount holds its image."""
    r = subprocess.run([*NANOKERNEL, "boot", "--disk", str(mounted.image), "--log",
                        str(mounted.root / "refused.log"), "-c", "echo no > /home/refused"],
                       env=mounted.env, capture_output=True, text=True, timeout=90,
                       stdin=subprocess.DEVNULL)
    assert 2 == r.returncode and "in use by another boot or mount" in r.stderr, r.stderr
    r = fsck(mounted.image, mounted.env)
    assert 2 == r.returncode and "in use by another boot or mount" in r.stderr, r.stderr
    assert not (mounted.home / "refused").exists()


def test_unmount_then_fsck_clean_and_a_boot_reads_the_files(mounted: Mount) -> None:
    (mounted.home / "last.txt").write_text("written by the host\n")
    head = (mounted.home / "repo" / ".git" / "HEAD").read_text()
    assert 0 == mounted.stop()   # fusermount3 -u: the session syncs and the system halts
    r = fsck(mounted.image, mounted.env)
    assert 0 == r.returncode, r.stdout + r.stderr
    out = boot_c(mounted.image, mounted.env,
                 "cat /home/last.txt; cat /home/repo/.git/HEAD; ls /home/untar/libipc",
                 mounted.root / "boot2.log")
    assert "written by the host" in out and head.strip() in out and "file.py" in out
    # every host request was fs messages from the mount's session process: in the trace
    ops = {(e.get("src_name"), e.get("dst_name"), e.get("op"))
           for e in map(json.loads, (mounted.root / "trace.jsonl").read_text().splitlines())}
    for op in ("stat", "readdir", "create", "write", "read", "rename", "unlink", "sync"):
        assert ("nkmount", "fs", op) in ops, op
    assert any(src == "fs" and dst == "block" for src, dst, _ in ops)
