"""Shared test helpers: boot the real system in a subprocess, find orphans.

Every boot runs with its own HOME/XDG directories under tmp_path, so tests
never touch the user's disk image or logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from nanokernel.procfs import boot_pids

NANOKERNEL = [sys.executable, "-m", "nanokernel"]


@dataclass
class BootResult:
    returncode: int
    stdout: str
    stderr: str
    log: str
    kernel_pid: int

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def isolated_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(root / sub)
    for var in list(env):
        if var.startswith("NK_"):
            del env[var]
    return env


def pids_of_boot(kernel_pid: int) -> list[int]:
    """Live processes started by the boot whose kernel had ``kernel_pid``."""
    return boot_pids(kernel_pid, with_kernel=False)


def wait_until(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it returns truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def nk_env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "nkhome")


def run_boot(tmp_path: Path, env: dict[str, str], *args: str, stdin: str | None = None,
             timeout: float = 60.0, ramdisk: bool = True) -> BootResult:
    """Run ``nanokernel boot ARGS`` to its end; check that it left no process behind."""
    log = tmp_path / f"boot-{time.monotonic_ns()}.log"
    argv = [*NANOKERNEL, "boot", "--log", str(log)]
    if ramdisk and "--disk" not in args and "--ramdisk" not in args:
        argv.append("--ramdisk")
    proc = subprocess.Popen([*argv, *args], env=env, text=True,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"boot did not finish in {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
    text = log.read_text() if log.exists() else ""
    return BootResult(proc.returncode, out, err, text, proc.pid)


@pytest.fixture
def boot(tmp_path: Path, nk_env: dict[str, str]):
    """``boot("-c", "ls /", stdin=None, timeout=60)`` → BootResult (ramdisk unless --disk)."""

    def run(*args: str, stdin: str | None = None, timeout: float = 60.0,
            ramdisk: bool = True) -> BootResult:
        return run_boot(tmp_path, nk_env, *args, stdin=stdin, timeout=timeout, ramdisk=ramdisk)

    return run
