"""crash NAME shows what isolation buys: the same fault restarts a server process
but halts a monolithic kernel — and data synced before survives either way."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import isolated_env, run_boot


def mkfs(path) -> None:
    subprocess.run([sys.executable, "-m", "nanokernel", "mkfs", str(path), "--size", "4M"],
                   check=True, capture_output=True)


def fsck(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nanokernel", "fsck", str(path)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("flags", [[], ["--hybrid"], ["--monolithic"]],
                         ids=["microkernel", "hybrid", "monolithic"])
def test_crash_fs_keeps_synced_data(tmp_path, flags):
    env = isolated_env(tmp_path / "home")
    img = tmp_path / "disk.img"
    mkfs(img)
    r = run_boot(tmp_path, env, "--disk", str(img), *flags, "-c",
                 "echo synced > /home/s; call fs sync; crash fs; echo after crash")
    if flags:
        assert 70 == r.returncode, r.output
        assert "KERNEL PANIC: unhandled fault in fs" in r.stderr
        assert "after crash" not in r.stdout
        assert "kernel_panic" in r.log
    else:
        assert 0 == r.returncode, r.output
        assert "after crash" in r.stdout
    report = fsck(img)
    assert 0 == report.returncode, report.stdout
    again = run_boot(tmp_path, env, "--disk", str(img), "-c", "cat /home/s")
    assert 0 == again.returncode, again.output
    assert "synced" in again.stdout
