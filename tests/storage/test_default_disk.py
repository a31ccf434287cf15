"""Two first boots at once find one default image instead of tripping over each
other's mkfs (nanokernel/disk.py: made under a temporary name, then linked in)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NANOKERNEL
from tests.storage.conftest import fsck_clean

pytestmark = pytest.mark.timeout(120)


def test_two_first_boots_at_once_share_one_default_image(nk_env, tmp_path: Path) -> None:
    """No default image yet, two boots at once: one makes it (one message), and the
    other uses it or, while the first holds it, is refused (one boot per image) —
    never FileExists, a half-made image or a temporary file."""
    procs = [subprocess.Popen([*NANOKERNEL, "boot", "--log", str(tmp_path / f"{i}.log"),
                               "-c", "ls /home"], env=nk_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    results = [(p.returncode, out, err) for p in procs
               for out, err in [p.communicate(timeout=90)]]
    for status, _, err in results:   # both boot, or (overlapping) the second is refused
        assert 0 == status or (2 == status and "in use by another boot" in err), err
        assert "FileExists" not in err, err
    assert any(0 == status for status, _, _ in results), results
    assert 1 == sum("created a 32M disk" in err for _, _, err in results), results
    data = Path(nk_env["XDG_DATA_HOME"]) / "nanokernel"
    assert ["disk.img"] == sorted(os.listdir(data))
    fsck_clean(data / "disk.img")
