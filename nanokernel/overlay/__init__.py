"""``nanokernel boot --lab DIR``: boot with DIR's files in front of the package's.

A lab's working copy (labs/, docs/labs.md) holds only the modules a student
changes or adds, at their package paths: ``DIR/servers/kv.py`` adds
``servers.kv``, ``DIR/servers/fs/inode.py`` replaces ``servers.fs.inode`` and
the rest of ``servers.fs`` stays the package's.  Every process of the boot —
the kernel's own included — must see the same files, and before its first
import: so the boot re-executes itself with ``NK_LAB=DIR`` and this package's
``site/`` directory on PYTHONPATH, whose ``sitecustomize`` puts the finder
(finder.py) first on ``sys.meta_path``.  Children inherit both variables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "NK_LAB"
SITE = Path(__file__).resolve().parent / "site"


def active() -> Path | None:
    """The working copy this process runs with, or None."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def installed_for(lab_dir: Path) -> bool:
    """Is this process already running with ``lab_dir``'s files in front?"""
    return active() == lab_dir and "_nk_overlay_finder" in sys.modules


def check(lab_dir: str) -> Path:
    """The working copy's absolute path; ValueError with the line to show."""
    path = Path(lab_dir).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"--lab {lab_dir}: no such directory")
    return path


def env_for(lab_dir: Path) -> dict[str, str]:
    """The variables that give any Python process the overlay (for a host command
    such as ``nanokernel fsck`` run against a working copy: graders use it)."""
    path = os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH", "")) if p)
    return {ENV: str(lab_dir), "PYTHONPATH": path}


def reexec_with(lab_dir: Path, argv: list[str]) -> None:
    """Run ``python -m nanokernel ARGV`` again, this time with the overlay in place
    from the first import on (does not return)."""
    env = {**os.environ, **env_for(lab_dir)}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "nanokernel", *argv], env)
