"""One boot at a time on a disk image (servers/imagelock.py): a second boot, a mount,
mkfs or fsck on an image a boot is using is one clear error, and the image is
untouched; the lock goes with the boot, SIGKILL included."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NANOKERNEL, wait_until
from tests.storage.conftest import fsck_clean

pytestmark = pytest.mark.timeout(180)

IN_USE = "in use by another boot or mount"


def _nk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NANOKERNEL, *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=90)


def _hold_a_boot(env: dict[str, str], image: Path, log: Path) -> subprocess.Popen:
    """A boot on ``image`` that stays up (its shell reads a pipe) until its stdin closes."""
    proc = subprocess.Popen([*NANOKERNEL, "boot", "--disk", str(image), "--log", str(log)],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_until(lambda: log.exists() and '"booted"' in log.read_text(), 60,
               what="the first boot up")
    return proc


@pytest.fixture
def image(nk_env, tmp_path: Path) -> Path:
    path = tmp_path / "disk.img"
    assert 0 == _nk(nk_env, "mkfs", str(path), "--size", "4M").returncode
    return path


def test_a_second_boot_mkfs_and_fsck_are_refused_while_a_boot_runs(nk_env, tmp_path, image):
    first = _hold_a_boot(nk_env, image, tmp_path / "first.log")
    try:
        first.stdin.write("echo kept > /home/kept\ncall fs sync\n")
        first.stdin.flush()
        second = _nk(nk_env, "boot", "--disk", str(image), "--log", str(tmp_path / "2.log"),
                     "-c", "echo intruder > /home/intruder")
        assert 2 == second.returncode, second.stdout + second.stderr
        assert f"{image}: {IN_USE}" in second.stderr
        assert "Traceback" not in second.stderr
        formatted = _nk(nk_env, "mkfs", str(image), "--size", "4M", "--force")
        assert 1 == formatted.returncode and IN_USE in formatted.stderr, formatted.stderr
        checked = _nk(nk_env, "fsck", str(image))
        assert 2 == checked.returncode and IN_USE in checked.stderr, checked.stderr
        out, err = first.communicate("", timeout=90)   # EOF: the shell ends, the boot halts
        assert 0 == first.returncode, out + err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    fsck_clean(image)   # mkfs did not format it under the boot
    after = _nk(nk_env, "boot", "--disk", str(image), "--log", str(tmp_path / "3.log"),
                "-c", "cat /home/kept; ls /home")
    assert 0 == after.returncode, after.stdout + after.stderr
    assert "kept\nkept\n" in after.stdout and "intruder" not in after.stdout


def test_the_lock_goes_with_a_killed_boot(nk_env, tmp_path, image):
    first = _hold_a_boot(nk_env, image, tmp_path / "first.log")
    os.kill(first.pid, signal.SIGKILL)   # the kernel process: its descriptors close
    first.communicate(timeout=30)
    again = _nk(nk_env, "boot", "--disk", str(image), "--log", str(tmp_path / "2.log"),
                "-c", "ls /home")
    assert 0 == again.returncode, again.stdout + again.stderr
    assert IN_USE not in again.stderr


def test_a_stopped_boot_still_holds_its_image_and_a_second_is_refused_at_once(
        nk_env, tmp_path, image):
    """SIGSTOP the first boot's kernel: the second is refused (not left waiting for the
    lock); SIGCONT, and the first goes on and halts cleanly."""
    first = _hold_a_boot(nk_env, image, tmp_path / "first.log")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = _nk(nk_env, "boot", "--disk", str(image), "--log", str(tmp_path / "2.log"),
                     "-c", "ls /")
        assert 2 == second.returncode and IN_USE in second.stderr, second.stderr
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out, err = first.communicate("", timeout=90)
    assert 0 == first.returncode, out + err
    fsck_clean(image)
