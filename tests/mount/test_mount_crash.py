"""The fs server SIGKILLed under a mount: the host sees a pause (the request is carried to
the restarted fs, unsynced writes re-sent) or EIO — never a hung mount; then Ctrl-C
halts cleanly, fsck is clean and a boot reads the files."""

from __future__ import annotations

import hashlib
import os
import signal
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
