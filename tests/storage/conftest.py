"""Fixtures for the storage tests: boot naming + block + fs with a session program.

`run_session(program, *args, disk=PATH | ramdisk=BYTES)` boots the real system
with tests/storage/storage_init.py as init (python -m kernel.boot), runs
tests/storage/programs/PROGRAM.py as the session program and returns
Session(returncode, log, result): `result` is the JSON the program wrote to
the path it got as its first argument (None if it wrote nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import pids_of_boot, wait_until

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROGRAMS = HERE / "programs"


@dataclass
class Session:
    returncode: int
    log: str
    result: Any
    stderr: str


def _read_log(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.fixture
def run_session(tmp_path: Path, nk_env: dict[str, str]):
    counter = iter(range(1000))

    def run(program: str, *args: str, disk: Path | None = None, ramdisk: int | None = None,
            timeout: float = 60.0) -> Session:
        n = next(counter)
        out = tmp_path / f"result-{n}.json"
        env = dict(nk_env)
        log_path = tmp_path / f"boot-{n}.log"
        if disk is not None:
            env["NK_DISK"] = str(disk)
        else:
            env["NK_RAMDISK"] = str(ramdisk or 8 * 1024 * 1024)
        argv = [sys.executable, "-m", "kernel.boot", "--log", str(log_path),
                str(HERE / "storage_init.py"),
                str(PROGRAMS / f"{program}.py"), str(out), *args]
        proc = subprocess.Popen(argv, env=env, cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            log = _read_log(log_path)
            pytest.fail(f"boot did not finish in {timeout} s\nstderr:\n{err}\nlog:\n{log[-4000:]}")
        wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
        log = _read_log(log_path)
        result = json.loads(out.read_text()) if out.exists() else None
        return Session(proc.returncode, log, result, err)

    return run


def fsck_clean(image: Path) -> None:
    from servers.fs.fsck import fsck
    report = fsck(image)
    assert report.clean, report.render()


def now() -> float:
    return time.monotonic()
