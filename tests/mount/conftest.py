"""A real `nanokernel mount` for the FUSE tests: started as a subprocess on a disk image,
with its own HOME; skipped (with the one line saying what to install) on a host without
pyfuse3, libfuse3/fusermount3 or /dev/fuse."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanokernel.mount.command import fuse_missing
from tests.conftest import NANOKERNEL, isolated_env, pids_of_boot

MOUNT = [sys.executable, "-m", "nanokernel.mount"]
BOOT_S = 90.0      # a boot on a loaded 2-core machine takes ~8 s; the deadline is generous


def need_fuse() -> None:
    why = fuse_missing()
    if why:
        pytest.skip(why)


class Mount:
    """`nanokernel mount MP --disk IMAGE` running; ``stop()`` unmounts and waits."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.mp = root / "mnt"
        self.mp.mkdir(exist_ok=True)
        self.image = root / "disk.img"
        self.log = root / "boot.log"
        self.env = isolated_env(root / "home")
        if not self.image.exists():
            subprocess.run([*NANOKERNEL, "mkfs", str(self.image), "--size", "16M"],
                           env=self.env, check=True, capture_output=True, timeout=60)
        self.out = open(root / "mount.out", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([*MOUNT, str(self.mp), "--disk", str(self.image),
                                      "--log", str(self.log), *args],
                                     env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + BOOT_S
        while not os.path.ismount(self.mp):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.abort()
                pytest.fail(f"no mount on {self.mp} (status {self.proc.returncode}):\n"
                            f"{self.output()}")
            time.sleep(0.05)

    @property
    def home(self) -> Path:
        return self.mp / "home"

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return (self.root / "mount.out").read_text()

    def stop(self, how: str = "fusermount", timeout: float = 30.0) -> int:
        """Unmount (``fusermount3 -u``, or SIGTERM/SIGINT to `nanokernel mount`), wait for
        the halt; its exit status.  The mount is gone and no process is left."""
        if how == "fusermount":
            subprocess.run(["fusermount3", "-u", str(self.mp)], check=True, timeout=30)
        else:
            self.proc.send_signal(signal.SIGINT if how == "int" else signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.abort()
            pytest.fail(f"nanokernel mount did not halt in {timeout} s:\n{self.output()}")
        assert not os.path.ismount(self.mp)
        deadline = time.monotonic() + 10
        while pids_of_boot(self.proc.pid):
            assert time.monotonic() < deadline, "processes left after the halt"
            time.sleep(0.05)
        self.out.close()
        return status

    def abort(self) -> None:
        """Whatever state it is in: no mount, no process (a failed test's clean-up)."""
        subprocess.run(["fusermount3", "-u", "-z", str(self.mp)], capture_output=True,
                       timeout=30)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for pid in pids_of_boot(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):   # (this test's own boot)
                os.kill(pid, signal.SIGKILL)
        if not self.out.closed:
            self.out.close()


def fsck(image: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*NANOKERNEL, "fsck", str(image)], env=env, capture_output=True,
                          text=True, timeout=60)


def boot_c(image: Path, env: dict[str, str], commands: str, log: Path) -> str:
    """`nanokernel boot --disk IMAGE -c COMMANDS`: its stdout (status 0 asserted)."""
    r = subprocess.run([*NANOKERNEL, "boot", "--disk", str(image), "--log", str(log),
                        "-c", commands], env=env, capture_output=True, text=True,
                       timeout=90, stdin=subprocess.DEVNULL)
    assert 0 == r.returncode, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory):
    """One mount for a whole test module (a boot costs seconds)."""
    need_fuse()
    root = tmp_path_factory.mktemp("mount")
    m = Mount(root, "--trace", str(root / "trace.jsonl"))   # (a test reads the messages)
    yield m
    if m.proc.poll() is None or os.path.ismount(m.mp):
        m.abort()
