"""The fs server SIGKILLed under a mount: the host sees a pause (the request is carried to
the restarted fs, unsynced writes re-sent) or EIO — never a hung mount; then Ctrl-C
halts cleanly, fsck is clean and a boot reads the files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import pids_of_boot
from tests.mount.conftest import Mount, boot_c, fsck, need_fuse

pytestmark = pytest.mark.timeout(150)
HOST_S = 45.0   # a host program on the mount must be done by then (fs restarts in < 1 s)

# What a host program does across the crash; each step prints "ok" or the errno's name.
PROGRAM = r"""
import errno, hashlib, os, sys, time
home, want = sys.argv[1], sys.argv[2]
def step(name, fn):
    try:
        out = fn()
        print(name, "ok", out if out is not None else "", flush=True)
    except OSError as exc:
        print(name, errno.errorcode.get(exc.errno, exc.errno), flush=True)
def writer():
    with open(os.path.join(home, "stream.bin"), "wb") as f:
        for i in range(300):
            f.write(bytes([i % 256]) * 4096)
            time.sleep(0.002)
        f.flush()
        os.fsync(f.fileno())
step("stream", writer)
step("read_a", lambda: hashlib.sha256(open(os.path.join(home, "a.bin"), "rb").read())
     .hexdigest() == want)
step("read_b", lambda: open(os.path.join(home, "b.txt")).read())
def write_c():
    with open(os.path.join(home, "c.txt"), "w") as f:
        f.write("after the crash\n")
        f.flush()
        os.fsync(f.fileno())
step("write_c", write_c)
step("list", lambda: sorted(os.listdir(home)))
"""


def fs_pid(kernel_pid: int) -> int | None:
    for pid in pids_of_boot(kernel_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"servers.fs" in argv[1:3]:
            return pid
    return None


def test_fs_killed_under_the_mount(tmp_path: Path) -> None:
    need_fuse()
    m = Mount(tmp_path)
    try:
        data = os.urandom(1 << 20)
        with open(m.home / "a.bin", "wb") as f:
            f.write(data)
            os.fsync(f.fileno())
        (m.home / "b.txt").write_text("acknowledged, not synced\n")   # kept by the mount
        old = fs_pid(m.proc.pid)
        assert old is not None
        host = subprocess.Popen([sys.executable, "-c", PROGRAM, str(m.home),
                                 hashlib.sha256(data).hexdigest()],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.2)   # the stream is being written
        os.kill(old, signal.SIGKILL)
        try:
            out, _ = host.communicate(timeout=HOST_S)
        except subprocess.TimeoutExpired:
            host.kill()
            out, _ = host.communicate()
            pytest.fail(f"the mount hung after fs was killed:\n{out}\n{m.output()}")
        steps = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        assert 0 == host.returncode, out
        for name in ("stream", "read_a", "read_b", "write_c", "list"):   # a retry, or EIO
            assert steps[name].startswith(("ok", "EIO")), out
        # here fs came back at once: every step was carried over, nothing lost
        assert steps["read_a"] == "ok True", out
        assert "acknowledged, not synced" in steps["read_b"], out
        new = fs_pid(m.proc.pid)
        assert new is not None and new != old
        stream = (m.home / "stream.bin").read_bytes()
        assert b"".join(bytes([i % 256]) * 4096 for i in range(300)) == stream
        # a database under transactions while fs is killed three times: its own check
        db = sqlite3.connect(m.home / "crash.db", timeout=HOST_S)
        db.execute("create table t (id integer primary key, v text)")
        for i in range(40):
            if i in (10, 20, 30):
                pid = fs_pid(m.proc.pid)
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            with db:
                db.executemany("insert into t (v) values (?)",
                               [(f"{i}-{j}" * 20,) for j in range(30)])
        assert [("ok",)] == db.execute("pragma integrity_check").fetchall()
        assert 1200 == db.execute("select count(*) from t").fetchone()[0]
        db.close()
        assert 130 == m.stop(how="int")   # Ctrl-C (SIGINT) to `nanokernel mount`: a clean
        # halt, with the status of an interrupted program (128 + SIGINT)
    except BaseException:
        m.abort()
        raise
    r = fsck(m.image, m.env)
    assert 0 == r.returncode, r.stdout + r.stderr
    out = boot_c(m.image, m.env, "cat /home/c.txt; cat /home/b.txt; ls /home",
                 tmp_path / "boot2.log")
    assert "after the crash" in out and "acknowledged, not synced" in out
    assert "stream.bin" in out


AWAY = r"""
import errno, os, sys, time
home = sys.argv[1]
for name, fn in (("create", lambda: open(os.path.join(home, "new.txt"), "w").close()),
                 ("listdir", lambda: os.listdir(os.path.join(home, "d"))),
                 ("mkdir", lambda: os.mkdir(os.path.join(home, "e")))):
    t = time.monotonic()
    try:
        fn()
        print(name, "ok", round(time.monotonic() - t, 2), flush=True)
    except OSError as exc:
        print(name, errno.errorcode.get(exc.errno, exc.errno), round(time.monotonic() - t, 2),
              flush=True)
"""


def test_fs_that_stays_away_is_eio_not_a_hang(tmp_path: Path) -> None:
    """fs killed for good (restart = "never"): each host request fails with EIO once
    --recovery (1 s) is over; the mount still unmounts, and says the last sync failed."""
    need_fuse()
    from servers.bootconfig import default_path
    text = default_path().read_text()
    assert text.count('module = "servers.fs"\n') == 1
    config = tmp_path / "boot.toml"
    config.write_text(text.replace('module = "servers.fs"\n',
                                   'module = "servers.fs"\nrestart = "never"\n'))
    m = Mount(tmp_path, "--config", str(config), "--recovery", "1")
    try:
        (m.home / "d").mkdir()
        with open(m.home / "kept.txt", "w") as f:
            f.write("synced before the end\n")
            f.flush()
            os.fsync(f.fileno())
        pid = fs_pid(m.proc.pid)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        time.sleep(1.1)   # (the host kernel's cached names and attributes expire)
        r = subprocess.run([sys.executable, "-c", AWAY, str(m.home)], capture_output=True,
                           text=True, timeout=HOST_S)
        lines = [line.split() for line in r.stdout.splitlines()]
        assert [["create", "EIO"], ["listdir", "EIO"], ["mkdir", "EIO"]] == \
            [w[:2] for w in lines], r.stdout + r.stderr
        assert all(float(w[2]) < 10 for w in lines), r.stdout
        assert 1 == m.stop()   # the session's last sync could not be done: status 1
        assert "the last sync failed" in m.output()
    except BaseException:
        m.abort()
        raise
    r = fsck(m.image, m.env)
    assert 0 == r.returncode, r.stdout + r.stderr
    out = boot_c(m.image, m.env, "cat /home/kept.txt", tmp_path / "boot2.log")
    assert "synced before the end" in out


def test_a_directory_change_survives_fs_killed_right_after(tmp_path: Path) -> None:
    """unlink, rename and mkdir are durable when they return (dirsync): fs commits ~2 ms
    after a change, and killed within that time it would undo them on restart — sqlite's
    deleted journal coming back rolls a committed transaction back."""
    need_fuse()
    m = Mount(tmp_path)
    try:
        for i in range(5):
            (m.home / f"gone{i}").write_text("x")
            (m.home / f"old{i}").write_text("y")
            os.sync()
            pid = fs_pid(m.proc.pid)   # (first: looking through /proc takes milliseconds)
            assert pid is not None
            os.unlink(m.home / f"gone{i}")
            os.rename(m.home / f"old{i}", m.home / f"new{i}")
            os.mkdir(m.home / f"dir{i}")
            os.kill(pid, signal.SIGKILL)   # at once: within fs's commit delay
            names = set(os.listdir(m.home))   # (carried to the restarted fs)
            assert f"gone{i}" not in names and f"old{i}" not in names, names
            assert {f"new{i}", f"dir{i}"} <= names, names
        assert 130 == m.stop(how="int")
    except BaseException:
        m.abort()
        raise


def test_fs_stopped_under_the_mount(tmp_path: Path) -> None:
    """fs SIGSTOPped (a hang, not a death) while a host program writes and reads: init's
    heartbeats find it, kill and restart it, and the host's requests go on to the new fs
    (or fail with EIO) — never a hung mount; every byte written is there after the halt."""
    need_fuse()
    m = Mount(tmp_path)
    try:
        data = os.urandom(1 << 20)
        with open(m.home / "a.bin", "wb") as f:
            f.write(data)
            os.fsync(f.fileno())
        (m.home / "b.txt").write_text("acknowledged, not synced\n")
        old = fs_pid(m.proc.pid)
        assert old is not None
        host = subprocess.Popen([sys.executable, "-c", PROGRAM, str(m.home),
                                 hashlib.sha256(data).hexdigest()],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.2)   # the stream is being written
        os.kill(old, signal.SIGSTOP)
        try:
            out, _ = host.communicate(timeout=HOST_S)
        except subprocess.TimeoutExpired:
            host.kill()
            out, _ = host.communicate()
            pytest.fail(f"the mount hung while fs was stopped:\n{out}\n{m.output()}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(old, signal.SIGCONT)   # (a no-op once init has killed it)
        steps = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        assert 0 == host.returncode, out
        for name in ("stream", "read_a", "read_b", "write_c", "list"):
            assert steps[name].startswith(("ok", "EIO")), out
        new = fs_pid(m.proc.pid)
        assert new is not None and new != old, "init did not replace the stopped fs"
        assert "fs did not answer heartbeats" in m.log.read_text()
        if steps["stream"].startswith("ok"):   # carried over: nothing lost
            stream = (m.home / "stream.bin").read_bytes()
            assert b"".join(bytes([i % 256]) * 4096 for i in range(300)) == stream
        assert steps["read_a"] == "ok True", out
        assert 130 == m.stop(how="int")
    except BaseException:
        m.abort()
        raise
    r = fsck(m.image, m.env)
    assert 0 == r.returncode, r.stdout + r.stderr
    out = boot_c(m.image, m.env, "cat /home/b.txt; ls /home", tmp_path / "boot2.log")
    assert "acknowledged, not synced" in out
